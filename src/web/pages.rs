//! The German pages: minijinja templates, auto-escaped (every `*.html.j2`), built
//! into the binary and replaceable file by file in `<config>/templates/web/`.

use std::path::Path;

use anyhow::Context;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

const EMBEDDED: [(&str, &str); 18] = [
    ("base.html.j2", include_str!("templates/base.html.j2")),
    ("error.html.j2", include_str!("templates/error.html.j2")),
    ("confirm.html.j2", include_str!("templates/confirm.html.j2")),
    ("done.html.j2", include_str!("templates/done.html.j2")),
    ("contact.html.j2", include_str!("templates/contact.html.j2")),
    ("call.html.j2", include_str!("templates/call.html.j2")),
    ("admin/nav.html.j2", include_str!("templates/admin/nav.html.j2")),
    ("admin/login.html.j2", include_str!("templates/admin/login.html.j2")),
    (
        "admin/overview.html.j2",
        include_str!("templates/admin/overview.html.j2"),
    ),
    ("admin/audit.html.j2", include_str!("templates/admin/audit.html.j2")),
    (
        "admin/rules_list.html.j2",
        include_str!("templates/admin/rules_list.html.j2"),
    ),
    (
        "admin/rules_edit.html.j2",
        include_str!("templates/admin/rules_edit.html.j2"),
    ),
    // Übersicht, Quellen and Kontakte.
    (
        "admin/source_health.html.j2",
        include_str!("templates/admin/source_health.html.j2"),
    ),
    ("admin/sources.html.j2", include_str!("templates/admin/sources.html.j2")),
    (
        "admin/contacts.html.j2",
        include_str!("templates/admin/contacts.html.j2"),
    ),
    (
        "admin/contact_edit.html.j2",
        include_str!("templates/admin/contact_edit.html.j2"),
    ),
    ("admin/calls.html.j2", include_str!("templates/admin/calls.html.j2")),
    ("admin/call.html.j2", include_str!("templates/admin/call.html.j2")),
];

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// The embedded templates, each replaced by `<config_dir>/templates/web/<name>`
    /// where that file exists. A broken override fails at start-up, naming the file.
    pub fn load(config_dir: &Path) -> anyhow::Result<Pages> {
        let mut env = crate::config::templates::environment();
        for (name, embedded) in EMBEDDED {
            let path = config_dir.join("templates").join("web").join(name);
            match std::fs::read_to_string(&path) {
                Ok(source) => {
                    env.add_template_owned(name, source)
                        .with_context(|| format!("template {}", path.display()))?;
                    tracing::info!(template = %path.display(), "using web template override");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    env.add_template(name, embedded)
                        .expect("embedded web templates compile");
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            }
        }
        Ok(Pages { env })
    }

    /// Renders a page; a template error is logged and becomes a plain 500.
    pub fn render(&self, status: StatusCode, name: &str, context: impl Serialize) -> Response {
        let rendered = self
            .env
            .get_template(name)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))));
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "cannot render web page");
                server_error()
            }
        }
    }

    /// A German error page with a heading, the message and a hint.
    pub fn error(&self, status: StatusCode, heading: &str, message: &str, hint: Option<&str>) -> Response {
        #[derive(Serialize)]
        struct Ctx<'a> {
            heading: &'a str,
            message: &'a str,
            hint: Option<&'a str>,
        }
        self.render(status, "error.html.j2", Ctx { heading, message, hint })
    }

    /// A wrong, tampered or expired link: the same page whatever the reason.
    pub fn forbidden(&self, admin: &str) -> Response {
        let hint = format!(
            "Bitte nutzen Sie den Link aus Ihrer neuesten E-Mail des Förderradars. Hilft das nicht, schreiben Sie an {admin}."
        );
        self.error(
            StatusCode::FORBIDDEN,
            "Link ungültig",
            "Dieser Link ist ungültig oder abgelaufen.",
            Some(&hint),
        )
    }

    pub fn unauthorized(&self) -> Response {
        let mut response = self.error(
            StatusCode::UNAUTHORIZED,
            "Anmeldung nötig",
            "Diese Seite ist nur mit dem Admin-Token erreichbar (Authorization: Bearer …).",
            None,
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        response
    }

    pub fn too_many(&self) -> Response {
        self.error(
            StatusCode::TOO_MANY_REQUESTS,
            "Zu viele Anfragen",
            "Bitte versuchen Sie es in einer Minute noch einmal.",
            None,
        )
    }

    pub fn bad_request(&self, message: &str) -> Response {
        self.error(StatusCode::BAD_REQUEST, "Anfrage nicht verstanden", message, None)
    }

    pub fn not_found(&self, message: &str) -> Response {
        self.error(StatusCode::NOT_FOUND, "Nicht gefunden", message, None)
    }

    /// Logs the cause (never shown to the visitor) and answers 500.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) -> Response {
        tracing::error!(error = %error, "{what}");
        self.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Fehler",
            "Das hat nicht geklappt. Bitte versuchen Sie es später noch einmal.",
            None,
        )
    }
}

fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Interner Fehler",
    )
        .into_response()
}

/// Unknown paths.
pub async fn not_found(axum::extract::State(state): axum::extract::State<super::WebState>) -> Response {
    state.0.pages.not_found("Diese Seite gibt es nicht.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scraped_strings_are_escaped() {
        let pages = Pages::load(Path::new("/nonexistent")).unwrap();
        let response = pages.error(StatusCode::OK, "<script>alert(1)</script>", "a & b", None);
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;") && html.contains("a &amp; b"));
    }
}
