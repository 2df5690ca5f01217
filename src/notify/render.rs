//! Rendering a [`Digest`] into text, HTML and the final RFC 5322 message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use minijinja::{Environment, Value};
use sha2::{Digest as _, Sha256};

use super::{Digest, FullList, NotifyError, quoted_printable};
use crate::config::ServiceConfig;

/// Name of the plain-text digest template (and of its override file in `<config>/templates/`).
pub const TEXT_TEMPLATE: &str = "digest.txt.j2";
/// Name of the HTML digest template; HTML auto-escaping applies to it.
pub const HTML_TEMPLATE: &str = "digest.html.j2";

/// The full list attached to a digest whose new calls did not all fit.
pub const LIST_TEMPLATE: &str = "digest-list.html.j2";

// The defaults ship in `config/templates/` and are compiled in, so that a deployment
// without that directory still renders.
const EMBEDDED: [(&str, &str); 3] = [
    (TEXT_TEMPLATE, include_str!("../../config/templates/digest.txt.j2")),
    (HTML_TEMPLATE, include_str!("../../config/templates/digest.html.j2")),
    (
        LIST_TEMPLATE,
        include_str!("../../config/templates/digest-list.html.j2"),
    ),
];

/// Display name used when `sender` is a bare address.
const SENDER_NAME: &str = "Förderradar";

/// The digest templates, embedded or overridden from `<config>/templates/`.
pub struct Templates {
    env: Environment<'static>,
    /// Override files in use, for the log.
    pub overrides: Vec<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The templates compiled into the binary.
    pub fn embedded() -> Templates {
        let mut env = crate::config::templates::environment();
        for (name, source) in EMBEDDED {
            env.add_template(name, source)
                .expect("embedded digest templates compile");
        }
        Templates {
            env,
            overrides: Vec::new(),
        }
    }

    /// The embedded templates, each replaced by `<config_dir>/templates/<name>` where that file exists.
    pub fn load(config_dir: &Path) -> Result<Templates, NotifyError> {
        let mut env = crate::config::templates::environment();
        let mut overrides = Vec::new();
        for (name, embedded) in EMBEDDED {
            let path = config_dir.join("templates").join(name);
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => source,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    env.add_template(name, embedded)
                        .expect("embedded digest templates compile");
                    continue;
                }
                Err(source) => return Err(NotifyError::TemplateFile { path, source }),
            };
            env.add_template_owned(name, source)
                .map_err(|source| NotifyError::Template {
                    name: path.display().to_string(),
                    source,
                })?;
            tracing::info!(template = %path.display(), "using digest template override");
            overrides.push(path);
        }
        Ok(Templates { env, overrides })
    }

    /// Renders a sample digest with both templates: an override that names a field
    /// the digest does not have fails here (at `check`) instead of in a pass.
    pub fn check(&self) -> Result<(), NotifyError> {
        let (digest, list) = Digest::sample();
        self.render(&digest)?;
        // An overview with links names the contact's page instead of an attachment.
        let mut linked = digest.clone();
        linked.overview = true;
        linked.attachment = None;
        self.render(&linked)?;
        let mut overview = digest;
        overview.overview = true;
        overview.links = super::FooterLinks::default();
        self.render(&overview)?;
        self.render_list(&list).map(|_| ())
    }

    /// The attached full list.
    pub fn render_list(&self, list: &FullList) -> Result<String, NotifyError> {
        render_one(&self.env, LIST_TEMPLATE, list)
    }

    /// Plain text and HTML body of a digest.
    pub fn render(&self, digest: &Digest) -> Result<(String, String), NotifyError> {
        Ok((
            render_one(&self.env, TEXT_TEMPLATE, digest)?,
            render_one(&self.env, HTML_TEMPLATE, digest)?,
        ))
    }
}

/// Renders template `name` of `env` with `value` as its context; a failure names the template.
pub(crate) fn render_one<T: serde::Serialize>(env: &Environment, name: &str, value: &T) -> Result<String, NotifyError> {
    env.get_template(name)
        .and_then(|t| t.render(Value::from(minijinja::value::Serde(value))))
        .map_err(|source| NotifyError::Template {
            name: name.to_string(),
            source,
        })
}

/// A rendered full list with its MIME body, encoded once however many digests attach it.
#[derive(Clone)]
pub(crate) struct ListAttachment {
    pub html: Arc<str>,
    body: Body,
}

impl ListAttachment {
    pub(crate) fn new(html: String) -> ListAttachment {
        let body = quoted_printable::body(crlf(&html));
        ListAttachment {
            html: html.into(),
            body,
        }
    }
}

/// The complete multipart/alternative message, as stored in the outbox.
pub(crate) fn build_message(
    digest: &Digest,
    text: &str,
    html: &str,
    attachment: Option<&ListAttachment>,
    service: &ServiceConfig,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, NotifyError> {
    let from = sender_mailbox(&service.sender)?;
    let to = Mailbox::new(
        Some(digest.contact_name.clone()).filter(|n| !n.trim().is_empty()),
        digest
            .contact
            .parse()
            .map_err(|source| address_error(&digest.contact, "contact", source))?,
    );
    let reply_to: Mailbox = service
        .admin
        .parse()
        .map_err(|source| address_error(&service.admin, "admin", source))?;
    let message_id = message_id(now, &mail_key(digest), &from);
    let mut builder = Message::builder()
        .from(from)
        .reply_to(reply_to)
        .to(to)
        .subject(digest.subject.clone())
        .date(SystemTime::from(now))
        .message_id(Some(message_id))
        // RFC 3834: keeps out-of-office replies away from the sender.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    if let Some(link) = &digest.links.unsubscribe {
        // RFC 8058: one-click unsubscribe by POST to the signed link.
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{link}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let part = |content_type, text| {
        SinglePart::builder()
            .header(content_type)
            .body(quoted_printable::body(crlf(text)))
    };
    let body = MultiPart::alternative()
        .singlepart(part(ContentType::TEXT_PLAIN, text))
        .singlepart(part(ContentType::TEXT_HTML, html));
    let built = match attachment {
        None => builder.multipart(body),
        Some(list) => builder.multipart(MultiPart::mixed().multipart(body).singlepart(
            Attachment::new(super::ATTACHMENT_NAME.to_string()).body(
                list.body.clone(),
                ContentType::parse("text/html; charset=utf-8").expect("valid content type"),
            ),
        )),
    };
    built.map(|m| m.formatted()).map_err(|source| NotifyError::Message {
        contact: digest.contact.clone(),
        source,
    })
}

/// Line endings as CRLF, in one linear pass. lettre converts bare LFs itself, but by
/// inserting one `\r` at a time, which is quadratic: seconds of CPU for a long digest.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut rest = text;
    while let Some(i) = rest.find('\n') {
        let line = &rest[..i];
        out.push_str(line);
        if !line.ends_with('\r') {
            out.push('\r');
        }
        out.push('\n');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out
}

/// `sender` as configured; a bare address gets the display name "Förderradar".
fn sender_mailbox(sender: &str) -> Result<Mailbox, NotifyError> {
    let mut mailbox: Mailbox = sender
        .parse()
        .map_err(|source| address_error(sender, "sender", source))?;
    if mailbox.name.is_none() {
        mailbox.name = Some(SENDER_NAME.to_string());
    }
    Ok(mailbox)
}

fn address_error(address: &str, role: &'static str, source: lettre::address::AddressError) -> NotifyError {
    NotifyError::Address {
        address: address.to_string(),
        role,
        source,
    }
}

/// `<time.key@sender-domain>`: every mail the service writes carries one, so that a
/// mail sent twice (a retry, a second instance) is recognisable as the same mail.
pub(super) fn message_id(now: DateTime<Utc>, key: &str, from: &Mailbox) -> String {
    format!("<{}.{key}@{}>", now.format("%Y%m%d%H%M%S"), from.email.domain())
}

/// Short hash over the parts of a mail that make it this mail, for [`message_id`].
pub(super) fn content_key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\0");
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

/// Short hash over contact and calls: makes the Message-ID unique per digest.
fn mail_key(digest: &Digest) -> String {
    let mut hasher = Sha256::new();
    hasher.update(digest.contact.as_bytes());
    for call in &digest.calls {
        hasher.update(b"\0");
        hasher.update(call.id.as_str().as_bytes());
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_converts_bare_line_feeds_only() {
        assert_eq!(crlf("a\nb\r\nc\n\nd"), "a\r\nb\r\nc\r\n\r\nd");
        assert_eq!(crlf("\nÄ\n"), "\r\nÄ\r\n");
        assert_eq!(crlf("ohne"), "ohne");
    }

    #[test]
    fn check_passes_the_embedded_templates_and_catches_a_misspelt_field() {
        Templates::embedded().check().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(
            dir.path().join("templates").join(HTML_TEMPLATE),
            "{% for call in calls %}{% if call.urgent %}{{ call.titel }}{% endif %}{% endfor %}",
        )
        .unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        let error = templates.check().unwrap_err().to_string();
        assert!(error.contains(HTML_TEMPLATE), "{error}");
    }
}
