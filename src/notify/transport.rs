//! Where outbox mails go: an SMTP server, or `.eml` files when `[smtp]` is absent.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::NotifyError;
use crate::config::{ServiceConfig, SmtpConfig, SmtpTls};
use crate::store::OutboxMail;

/// SMTP replies that reject this one recipient or message (501: bad address syntax,
/// 55x: mailbox unavailable or refused); resending the same bytes cannot help.
/// Other 5xx replies (500/502–504 protocol errors, 530/534/535 authentication) point at
/// the server or our configuration and are retried, so a misconfiguration does not lose mail.
const PERMANENT_FOR_MAIL: [&str; 6] = ["501", "550", "551", "552", "553", "554"];

/// How a mail is sent.
pub enum Transport {
    Smtp(SmtpTransport),
    /// Writes `<dir>/<timestamp>-<mail id>-<contact>.eml`.
    File {
        dir: PathBuf,
    },
}

/// A configured SMTP relay and the envelope sender.
pub struct SmtpTransport {
    /// Replaced after a stalled send, whose half-spoken connection lettre would otherwise
    /// return to its pool for the next mail.
    mailer: Mutex<AsyncSmtpTransport<Tokio1Executor>>,
    config: SmtpConfig,
    sender: Address,
    /// `host:port`, for messages.
    server: String,
}

impl fmt::Debug for Transport {
    // lettre's transport holds the credentials: show only where mail goes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Smtp(s) => write!(f, "Transport::Smtp({} from {})", s.server, s.sender),
            Transport::File { dir } => write!(f, "Transport::File({})", dir.display()),
        }
    }
}

/// Whether a failed send is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendErrorKind {
    /// The server could not be reached (refused, timed out, TLS) or stalled past
    /// `[smtp] timeout_secs`: other mails would fail too, and are deferred.
    Unreachable,
    /// Try again later (4xx replies, I/O errors, server-side 5xx command errors).
    Transient,
    /// The server rejected this mail or recipient (5xx).
    Permanent,
}

/// A failed send with the server's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub kind: SendErrorKind,
    pub message: String,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

impl Transport {
    /// SMTP when `[smtp]` is configured, else `.eml` files in `<data_dir>/outbox`.
    pub fn from_config(service: &ServiceConfig, data_dir: &Path) -> Result<Transport, NotifyError> {
        let Some(smtp) = &service.smtp else {
            return Ok(Transport::File {
                dir: data_dir.join("outbox"),
            });
        };
        let sender: lettre::message::Mailbox = service.sender.parse().map_err(|source| NotifyError::Address {
            address: service.sender.clone(),
            role: "sender",
            source,
        })?;
        Ok(Transport::Smtp(SmtpTransport {
            mailer: Mutex::new(smtp_mailer(smtp)?),
            config: smtp.clone(),
            sender: sender.email,
            server: format!("{}:{}", smtp.host, smtp.port),
        }))
    }

    /// Sends the stored message bytes unchanged.
    pub async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        match self {
            Transport::Smtp(smtp) => smtp.send(mail).await,
            Transport::File { dir } => write_eml(dir, mail).await,
        }
    }
}

fn smtp_mailer(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
    let setup_error = |source| NotifyError::SmtpSetup {
        host: smtp.host.clone(),
        port: smtp.port,
        source,
    };
    let builder = match smtp.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(setup_error)?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(setup_error)?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(smtp.timeout));
    if let (Some(user), Some(password)) = (&smtp.user, smtp.password()) {
        builder = builder.credentials(Credentials::new(user.clone(), password));
    } else if smtp.user.is_some() {
        tracing::warn!(host = %smtp.host, env = ?smtp.password_env, "SMTP user set but no password in the environment; sending without authentication");
    }
    Ok(builder.build())
}

impl SmtpTransport {
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let recipient: Address = mail.contact.parse().map_err(|e| SendError {
            kind: SendErrorKind::Permanent,
            message: format!("invalid recipient address '{}': {e}", mail.contact),
        })?;
        let envelope = Envelope::new(Some(self.sender.clone()), vec![recipient]).map_err(|e| SendError {
            kind: SendErrorKind::Permanent,
            message: format!("invalid envelope: {e}"),
        })?;
        let mailer = self.mailer.lock().unwrap_or_else(PoisonError::into_inner).clone();
        // lettre applies its timeout to the TCP connect only; the greeting, EHLO, STARTTLS,
        // AUTH, MAIL, RCPT, DATA and the reply to DATA are bounded by this deadline.
        let deadline = self.config.timeout;
        let Ok(result) = tokio::time::timeout(deadline, mailer.send_raw(&envelope, &mail.message)).await else {
            self.discard_pool();
            return Err(SendError {
                kind: SendErrorKind::Unreachable,
                message: format!(
                    "SMTP {}: no complete answer within {} s ([smtp] timeout_secs); the server stalls",
                    self.server,
                    deadline.as_secs()
                ),
            });
        };
        // lettre returns the connection to its pool in a spawned task; yielding lets that
        // task run, so the next mail reuses the connection instead of opening another one.
        tokio::task::yield_now().await;
        result.map(drop).map_err(|e| classify(&e, &self.server))
    }

    /// Starts over with an empty pool, so a connection cut off mid-dialogue is never reused.
    fn discard_pool(&self) {
        match smtp_mailer(&self.config) {
            Ok(fresh) => *self.mailer.lock().unwrap_or_else(PoisonError::into_inner) = fresh,
            Err(error) => tracing::error!(%error, "cannot rebuild the SMTP transport"),
        }
    }
}

/// Sorts a lettre error into retry or give up.
fn classify(error: &lettre::transport::smtp::Error, server: &str) -> SendError {
    let message = format!("SMTP {server}: {error}");
    let kind = match error.status() {
        Some(code) if error.is_permanent() && PERMANENT_FOR_MAIL.contains(&code.to_string().as_str()) => {
            SendErrorKind::Permanent
        }
        Some(_) => SendErrorKind::Transient,
        None if error.is_response() => SendErrorKind::Transient,
        None => SendErrorKind::Unreachable,
    };
    SendError { kind, message }
}

/// Writes the message atomically (temp file + rename), so a reader never sees half a mail.
async fn write_eml(dir: &Path, mail: &OutboxMail) -> Result<(), SendError> {
    let io_error = |what: &str, path: &Path, e: std::io::Error| SendError {
        kind: SendErrorKind::Transient,
        message: format!("cannot {what} {}: {e}", path.display()),
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io_error("create", dir, e))?;
    let name = eml_name(mail);
    let target = dir.join(&name);
    let temp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&temp, &mail.message)
        .await
        .map_err(|e| io_error("write", &temp, e))?;
    tokio::fs::rename(&temp, &target)
        .await
        .map_err(|e| io_error("rename into", &target, e))
}

/// `<created>-<mail id>-<contact>.eml`, contact reduced to file-name-safe characters. Named
/// after creation, not delivery, so a repeated delivery overwrites instead of duplicating.
pub(crate) fn eml_name(mail: &OutboxMail) -> String {
    let contact: String = mail
        .contact
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{}-{contact}.eml", mail.created.format("%Y%m%dT%H%M%SZ"), mail.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[tokio::test]
    async fn debug_output_never_shows_the_password() {
        // PATH is always set: it stands in for the password, without touching the environment.
        let password = std::env::var("PATH").unwrap();
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/config-min"));
        let mut service = crate::config::Config::load(dir).unwrap().service;
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: SmtpTls::None,
            user: Some("foerderradar".into()),
            password_env: Some("PATH".into()),
            timeout: std::time::Duration::from_secs(5),
        };
        assert_eq!(smtp.password().as_deref(), Some(password.as_str()));
        service.smtp = Some(smtp.clone());
        let transport = Transport::from_config(&service, Path::new("data")).unwrap();
        for shown in [format!("{smtp:?}"), format!("{transport:?}"), format!("{service:?}")] {
            assert!(!shown.contains(&password), "{shown}");
        }
    }

    #[test]
    fn eml_names_are_file_safe_and_ordered_by_time() {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap();
        let mail = OutboxMail {
            id: 42,
            contact: "digital/../ahlen@example.org".into(),
            kommune: "ahlen".into(),
            subject: String::new(),
            message: Vec::new(),
            calls: Vec::new(),
            status: crate::store::OutboxStatus::Pending,
            attempts: 0,
            next_attempt: at,
            last_error: None,
            created: at,
            sent: None,
        };
        assert_eq!(eml_name(&mail), "20260302T070000Z-42-digital_.._ahlen@example.org.eml");
    }
}
