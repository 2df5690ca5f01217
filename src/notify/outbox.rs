//! Delivering the outbox: send what is due, back off on failure, give up only
//! after `max_attempts`, once a mail has been failing for `max_retry_age`, or on a
//! permanent rejection.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{NotifyError, SendErrorKind, Transport};
use crate::config::NotifySettings;
use crate::store::{Lease, OutboxMail, Store};

/// Longest wait between two attempts, however many failed before.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryReport {
    pub sent: usize,
    /// Failed this time, pending for a later attempt.
    pub retried: usize,
    /// Given up (permanent rejection or `max_attempts` reached); reported to the admin.
    pub failed: usize,
    /// The mails given up in this pass.
    pub failures: Vec<FailedMail>,
}

/// A mail given up in this pass.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedMail {
    pub id: i64,
    pub contact: String,
    pub subject: String,
    pub attempts: u32,
    pub error: String,
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sent, {} to retry later, {} failed",
            self.sent, self.retried, self.failed
        )?;
        for m in &self.failures {
            write!(
                f,
                "\n  #{} {} after {} attempt(s): {}",
                m.id, m.contact, m.attempts, m.error
            )?;
        }
        Ok(())
    }
}

/// Sends due outbox mails. A failure keeps the mail pending with exponential
/// backoff (`retry_base × 2^attempts`, plus up to 10 % jitter) until
/// `max_attempts`, then marks it failed; a permanent 5xx rejection fails at once.
/// A mail queued `max_retry_age` ago or longer is given up at its next failure,
/// and its last retry is brought forward to that age, so no mail waits longer.
/// Once the server turns out unreachable, the remaining due mails are deferred
/// without another connection attempt each.
///
/// Each mail is claimed under `lease` before it is sent and released once its attempt
/// is recorded: another instance sending the same outbox skips it meanwhile, so a mail
/// two senders saw due goes out once.
pub async fn deliver<S: Store>(
    store: &S,
    transport: &Transport,
    settings: &NotifySettings,
    lease: &Lease,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, NotifyError> {
    let mut report = DeliveryReport::default();
    let mut outage: Option<super::SendError> = None;
    // One message in memory at a time: digests can be megabytes each.
    for id in store.due_mail_ids(now).await? {
        // The clock, not only `now`: a long pass must not hand out claims already expired.
        if !store
            .claim_mail(id, &lease.holder, lease.length, now.max(Utc::now()))
            .await?
        {
            tracing::debug!(mail = id, "another instance is sending this mail");
            continue;
        }
        let result = deliver_claimed(store, transport, settings, id, &mut outage, now, &mut report).await;
        store.release_mail(id, &lease.holder).await?;
        result?;
    }
    Ok(report)
}

/// Sends one claimed mail, if it is still pending and due (another sender may have
/// sent it, or recorded a failed attempt, since the list of due mails was read).
async fn deliver_claimed<S: Store>(
    store: &S,
    transport: &Transport,
    settings: &NotifySettings,
    id: i64,
    outage: &mut Option<super::SendError>,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), NotifyError> {
    let Some(mail) = store.pending_mail(id).await?.filter(|m| m.next_attempt <= now) else {
        return Ok(());
    };
    let result = match &outage {
        Some(e) => Err(e.clone()),
        None => transport.send(&mail).await,
    };
    match result {
        Ok(()) => {
            store.mark_sent(mail.id, now).await?;
            tracing::info!(mail = mail.id, contact = %mail.contact, "digest sent");
            report.sent += 1;
        }
        Err(error) => {
            if error.kind == SendErrorKind::Unreachable {
                *outage = Some(error.clone());
            }
            record_failure(store, settings, &mail, &error, now, report).await?;
        }
    }
    Ok(())
}

async fn record_failure<S: Store>(
    store: &S,
    settings: &NotifySettings,
    mail: &OutboxMail,
    error: &super::SendError,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), NotifyError> {
    let attempts = mail.attempts + 1;
    let age_limit = retry_deadline(mail.created, settings.max_retry_age);
    let give_up = match () {
        () if error.kind == SendErrorKind::Permanent => Some(error.message.clone()),
        () if attempts >= settings.max_attempts => Some(error.message.clone()),
        () if now >= age_limit => Some(format!(
            "{} (still failing {} h after it was queued; max_retry_age_hours reached)",
            error.message,
            settings.max_retry_age.as_secs() / 3600
        )),
        () => None,
    };
    if let Some(message) = give_up {
        store.mark_attempt_failed(mail.id, &message, None).await?;
        tracing::error!(mail = mail.id, contact = %mail.contact, attempts, error = %message, "digest given up");
        report.failed += 1;
        report.failures.push(FailedMail {
            id: mail.id,
            contact: mail.contact.clone(),
            subject: mail.subject.clone(),
            attempts,
            error: message,
        });
    } else {
        let delay = with_jitter(retry_delay(settings.retry_base, mail.attempts));
        // The last attempt falls on the age limit, not a day of backoff after it.
        let next = now
            .checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .min(age_limit);
        store.mark_attempt_failed(mail.id, &error.message, Some(next)).await?;
        tracing::warn!(mail = mail.id, contact = %mail.contact, attempts, next_attempt = %next, error = %error, "digest not sent; will retry");
        report.retried += 1;
    }
    Ok(())
}

/// When a mail queued at `created` is given up if it still fails.
fn retry_deadline(created: DateTime<Utc>, max_age: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(max_age)
        .ok()
        .and_then(|age| created.checked_add_signed(age))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `base × 2^failed_attempts`, capped at one day.
pub fn retry_delay(base: Duration, failed_attempts: u32) -> Duration {
    base.checked_mul(1u32 << failed_attempts.min(20))
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

/// Adds up to 10 % so that mails failed together do not all retry in the same second.
fn with_jitter(delay: Duration) -> chrono::Duration {
    let jitter_ms = rand::rng().random_range(0..=delay.as_millis() as u64 / 10);
    chrono::Duration::from_std(delay + Duration::from_millis(jitter_ms)).unwrap_or(chrono::Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_is_capped() {
        let base = Duration::from_secs(60);
        assert_eq!(retry_delay(base, 0), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 3), Duration::from_secs(480));
        assert_eq!(retry_delay(base, 40), MAX_DELAY);
    }

    /// A mail that fails with a 4xx-like error on every attempt, retried at each due time.
    #[tokio::test]
    async fn a_mail_failing_past_its_max_age_is_given_up_at_that_age() {
        use crate::store::{NewMail, SqliteStore};
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let mut service = crate::config::Config::load(dir).unwrap().service;
        // Nobody listens on this port: every attempt fails as unreachable (retried).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        service.smtp = Some(crate::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: crate::config::SmtpTls::None,
            user: None,
            password_env: None,
            timeout: Duration::from_secs(2),
        });
        let transport = Transport::from_config(&service, std::path::Path::new("/nonexistent")).unwrap();
        let settings = NotifySettings {
            max_attempts: 100,
            retry_base: Duration::from_secs(60),
            max_retry_age: Duration::from_secs(72 * 3600),
            silent_after_days: 14,
        };
        let store = SqliteStore::memory().await.unwrap();
        let queued: DateTime<Utc> = "2026-12-01T06:00:00Z".parse().unwrap();
        let mail = NewMail {
            contact: "a@ahlen.example.org".into(),
            kommune: "ahlen".into(),
            subject: "Förderradar".into(),
            message: b"Subject: x\r\n\r\nx".to_vec(),
            calls: Vec::new(),
        };
        let id = store.enqueue_mail(&mail, queued).await.unwrap();
        let lease = Lease {
            holder: "test".into(),
            length: chrono::Duration::seconds(120),
        };
        let limit = queued + chrono::Duration::hours(72);
        let mut now = queued;
        let mut attempts = 0;
        let given_up = loop {
            let report = deliver(&store, &transport, &settings, &lease, now).await.unwrap();
            attempts += 1;
            if report.failed == 1 {
                break report.failures[0].clone();
            }
            assert_eq!(report.retried, 1, "attempt {attempts}");
            let pending = store.outbox(None).await.unwrap().remove(0);
            assert!(pending.next_attempt <= limit, "no retry later than the age limit");
            now = pending.next_attempt;
        };
        // Backoff alone (capped at a day) would have retried on day 4; the last attempt
        // falls on the limit itself.
        assert_eq!(now, limit);
        assert_eq!(given_up.id, id);
        assert!(given_up.error.contains("max_retry_age_hours"), "{}", given_up.error);
        assert!(attempts > 3 && attempts < 20, "{attempts}");
        let failed = store.outbox(Some(crate::store::OutboxStatus::Failed)).await.unwrap();
        assert_eq!(failed.len(), 1);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(100));
            assert!(
                d >= chrono::Duration::seconds(100) && d <= chrono::Duration::seconds(110),
                "{d}"
            );
        }
    }
}
