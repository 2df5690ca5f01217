//! Notifications: German digests for the contacts of the Kommunen, the outbox,
//! and its delivery over SMTP or into `.eml` files.
//!
//! Two steps, each rerunnable on its own:
//! - [`plan`] turns new passed matches into at most one digest per contact and
//!   enqueues it. The rendered RFC 5322 message is stored in the outbox together
//!   with the calls it names, in one transaction, so no contact ever gets a call twice.
//! - [`deliver`] sends due outbox mails through a [`Transport`]. A failure keeps
//!   the mail pending with exponential backoff until `max_attempts`; an SMTP
//!   outage never loses a mail.
//!
//! Templates are embedded (`src/notify/templates/*.j2`); a deployment may
//! override them by placing files of the same name in `<config>/templates/`.

pub mod admin;
pub mod admin_digest;
mod digest;
pub mod links;
mod outbox;
mod quoted_printable;
mod reasons;
mod render;
mod select;
mod transport;

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::model::CallId;
use crate::store::{DigestUpdate, NewMail, Store, StoreError};

pub use digest::{
    ATTACHMENT_NAME, ChangeLine, Digest, DigestCall, DigestGroup, FooterLinks, FullList, ListRow, OtherListing,
    ProjectGroup, ReminderLine, SubscriptionLine,
};
pub use outbox::{DeliveryReport, FailedMail, deliver, retry_delay};
pub use render::{HTML_TEMPLATE, LIST_TEMPLATE, TEXT_TEMPLATE, Templates};
pub use select::PlanMode;
pub use transport::{SendError, SendErrorKind, SmtpTransport, Transport};

/// Errors of planning and delivering digests. Send failures of single mails are
/// not errors: they are recorded on the outbox mail.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template {name}: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("cannot read template override {}: {source}", path.display())]
    TemplateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Links(#[from] links::LinkSetupError),
    #[error("invalid e-mail address '{address}' ({role}): {source}")]
    Address {
        address: String,
        role: &'static str,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("cannot build the digest for {contact}: {source}")]
    Message {
        contact: String,
        #[source]
        source: lettre::error::Error,
    },
    #[error("SMTP setup for {host}:{port}: {source}")]
    SmtpSetup {
        host: String,
        port: u16,
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

/// One digest that [`plan`] put into the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMail {
    /// Outbox id.
    pub id: i64,
    /// E-mail address of the contact.
    pub contact: String,
    /// Id of the contact's Kommune (the first one, should an address serve several).
    pub kommune: String,
    pub subject: String,
    /// The calls named as new in the digest (listed or counted).
    pub calls: Vec<CallId>,
    /// Change notices and reminders in the digest.
    pub notices: usize,
}

/// What one planning pass enqueued.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestPlan {
    pub mails: Vec<PlannedMail>,
    /// Calls with new matches that were left out because they closed.
    pub closed_skipped: usize,
    /// Digests that could not be built (bad contact address), with the reason.
    pub skipped: Vec<String>,
    /// Nothing was read: the last plan of the day found nothing due, and nothing a plan
    /// reads has changed since.
    pub unchanged: bool,
}

impl DigestPlan {
    /// Number of call mentions over all digests.
    pub fn call_count(&self) -> usize {
        self.mails.iter().map(|m| m.calls.len()).sum()
    }

    /// Number of change notices and reminders over all digests.
    pub fn notice_count(&self) -> usize {
        self.mails.iter().map(|m| m.notices).sum()
    }
}

impl fmt::Display for DigestPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} digest(s) enqueued with {} call(s)",
            self.mails.len(),
            self.call_count()
        )?;
        if self.notice_count() > 0 {
            write!(f, " and {} change notice(s)/reminder(s)", self.notice_count())?;
        }
        if self.closed_skipped > 0 {
            write!(f, ", {} closed call(s) skipped", self.closed_skipped)?;
        }
        if self.unchanged {
            write!(f, " (nothing changed since the last plan of the day)")?;
        }
        for m in &self.mails {
            write!(
                f,
                "\n  #{} {} ({}): {} call(s) - {}",
                m.id,
                m.contact,
                m.kommune,
                m.calls.len(),
                m.subject
            )?;
        }
        for reason in &self.skipped {
            write!(f, "\n  skipped: {reason}")?;
        }
        Ok(())
    }
}

/// Builds each contact's next digest (see [`select`] for what goes in and when),
/// renders it, and enqueues it together with the contact's digest state in one
/// transaction. At most one e-mail per contact per pass; no contact ever gets the
/// same call twice as new. Calls no longer open on `today` are not sent as new.
pub async fn plan<S: Store>(
    store: &S,
    config: &Config,
    today: NaiveDate,
    now: DateTime<Utc>,
    mode: PlanMode,
) -> Result<DigestPlan, NotifyError> {
    // A plan reads every contact's record and the passed matches. When the last plan of
    // the day left nothing due and nothing it reads changed since, this one cannot find
    // anything either (due-ness depends on the day, the configuration and the store only).
    let stamp = (mode == PlanMode::Due).then(|| plan_stamp(config, today));
    if let Some(stamp) = &stamp
        && store.begin_plan(stamp).await?
    {
        return Ok(DigestPlan {
            unchanged: true,
            ..DigestPlan::default()
        });
    }
    let templates = Templates::load(&config.dir)?;
    let signer = links::LinkSigner::from_config(&config.service.web)?;
    let mut shared = Shared::default();
    let mut selector = select::Selector::new(config, today, mode);
    let mut plan = DigestPlan::default();
    let mut held_back = false;
    // One digest at a time: selected, rendered, queued, dropped, so that only one
    // digest's calls and one full message are held at once.
    let mut lists_of: Option<&str> = None;
    for recipient in digest::recipients(config) {
        // Equal lists have equal Kommunen, and recipients come by (first) Kommune: a new
        // Kommune drops the lists of the last one, so at most one Kommune's are held.
        let kommune = recipient.roles.first().map(|&(k, _)| k.id.as_str());
        if kommune != lists_of {
            shared.lists.clear();
            lists_of = kommune;
        }
        let Some(pending) = selector.pending(store, recipient).await? else {
            continue;
        };
        held_back |= pending.held_back;
        let mail = match prepare(config, &templates, &pending, signer.as_ref(), &mut shared, today, now)? {
            Ok(mail) => mail,
            Err(skipped) => {
                plan.skipped.push(skipped);
                continue;
            }
        };
        let new = NewMail {
            contact: mail.digest.contact,
            kommune: mail.digest.kommune,
            subject: mail.digest.subject,
            message: mail.message,
            calls: pending.new_calls(),
        };
        let id = match store.enqueue_digest(&new, &mail.update, now).await {
            Ok(id) => id,
            // Another pass queued one of these calls in the meantime; the next pass
            // renders a digest without it.
            Err(error @ StoreError::AlreadyNotified { .. }) => {
                tracing::warn!(contact = %new.contact, %error, "digest not enqueued");
                plan.skipped.push(error.to_string());
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let notices = pending.changes.len() + pending.reminders.len();
        tracing::info!(mail = id, contact = %new.contact, kommune = %new.kommune, calls = new.calls.len(), notices, "digest enqueued");
        plan.mails.push(PlannedMail {
            id,
            contact: new.contact,
            kommune: new.kommune,
            subject: new.subject,
            calls: new.calls,
            notices,
        });
    }
    plan.closed_skipped = selector.closed_skipped();
    // A plan right after this one reads what this one left: its own digests (their writes
    // removed their marks, see `DigestUpdate::own_plan`) took every item due today except
    // notices held back by the cap. A skipped digest (bad address) is said again on every
    // pass until it is fixed.
    if let Some(stamp) = stamp.filter(|_| !held_back && plan.skipped.is_empty()) {
        store.mark_plan_quiet(&stamp).await?;
    }
    Ok(plan)
}

/// What besides the store decides which digests are due: the day, the Kommunen with their
/// contacts, roles and pauses, the digest settings, and the program version.
fn plan_stamp(config: &Config, today: NaiveDate) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    hasher.update(format!("\n{today}\n{:?}\n{:?}", config.kommunen, config.service.digest));
    hex::encode(&hasher.finalize()[..16])
}

/// What the digests of one pass share.
#[derive(Default)]
struct Shared {
    /// Rendered and encoded full lists by [`select::PendingDigest::list_key`]: contacts
    /// of one Kommune with the same interests share their list.
    lists: std::collections::HashMap<u64, render::ListAttachment>,
    rows: digest::RowCache,
}

/// Builds and renders one digest. The inner error is a digest skipped for an unusable
/// contact address (with the reason): it must not hold back everybody else's digest;
/// its calls stay un-notified and go out once the address is fixed.
fn prepare(
    config: &Config,
    templates: &Templates,
    pending: &select::PendingDigest<'_>,
    signer: Option<&links::LinkSigner>,
    shared: &mut Shared,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Result<PreparedMail, String>, NotifyError> {
    let key = digest::attaches_list(pending, signer.is_some()).then(|| pending.list_key(today));
    let cached = key.and_then(|k| shared.lists.get(&k).cloned());
    let with_list = key.is_some() && cached.is_none();
    let links = signer.map(|s| (s, now));
    let (digest, full) = Digest::build(config, pending, today, links, with_list, &mut shared.rows);
    let (text, html) = templates.render(&digest)?;
    let attachment = match (cached, full) {
        (Some(list), _) => Some(list),
        (None, Some(full)) => {
            let list = render::ListAttachment::new(templates.render_list(&full)?);
            drop(full);
            if let Some(k) = key {
                shared.lists.insert(k, list.clone());
            }
            Some(list)
        }
        (None, None) => None,
    };
    match render::build_message(&digest, &text, &html, attachment.as_ref(), &config.service, now) {
        Ok(message) => Ok(Ok(PreparedMail {
            digest,
            text,
            html,
            attachment: attachment.map(|a| a.html),
            message,
            update: pending.update.clone(),
        })),
        Err(error @ NotifyError::Address { role: "contact", .. }) => {
            tracing::error!(contact = %digest.contact, %error, "digest skipped");
            Ok(Err(error.to_string()))
        }
        Err(error) => Err(error),
    }
}

/// A rendered digest that has not been enqueued.
#[derive(Debug, Clone)]
pub struct PreparedMail {
    pub digest: Digest,
    pub text: String,
    pub html: String,
    /// The attached full list (HTML), when not every new call is listed; shared by the
    /// digests of one pass that attach the same list.
    pub attachment: Option<std::sync::Arc<str>>,
    /// The complete RFC 5322 message.
    pub message: Vec<u8>,
    /// What enqueuing the digest would record.
    pub update: DigestUpdate,
}

/// The digests [`plan`] would enqueue, rendered but not stored (for a dry run).
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub mails: Vec<PreparedMail>,
    pub closed_skipped: usize,
    /// Digests that could not be built (bad contact address), with the reason.
    pub skipped: Vec<String>,
}

/// Renders the digests [`plan`] would enqueue, without changing the store.
pub async fn preview<S: Store>(
    store: &S,
    config: &Config,
    templates: &Templates,
    today: NaiveDate,
    now: DateTime<Utc>,
    mode: PlanMode,
) -> Result<Preview, NotifyError> {
    let (digests, closed_skipped) = select::select(store, config, today, mode).await?;
    let mut preview = Preview {
        mails: Vec::new(),
        closed_skipped,
        skipped: Vec::new(),
    };
    let signer = links::LinkSigner::from_config(&config.service.web)?;
    let mut shared = Shared::default();
    for pending in digests {
        match prepare(config, templates, &pending, signer.as_ref(), &mut shared, today, now)? {
            Ok(mail) => preview.mails.push(mail),
            Err(skipped) => preview.skipped.push(skipped),
        }
    }
    Ok(preview)
}
