//! Notices to the admin at the Kreis (`admin` in `foerderradar.toml`): a source
//! that has just turned broken, and digests that were given up. They go through
//! the outbox like digests, so an SMTP outage delays them but loses none.
//!
//! Only transitions are reported (a source that *becomes* broken, a mail that is
//! *given up* in this pass), so a dead source does not mail the admin every day.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::{Mailbox, SinglePart};

use super::{FailedMail, NotifyError};
use crate::config::ServiceConfig;
use crate::store::{NewMail, SourceHealth, Store};

/// What the admin should hear about after a pass.
#[derive(Debug, Clone, Default)]
pub struct AdminNotice {
    /// Sources flagged broken in this pass (they were not before).
    pub newly_broken: Vec<SourceHealth>,
    /// Digests given up in this pass.
    pub given_up: Vec<FailedMail>,
}

impl AdminNotice {
    pub fn is_empty(&self) -> bool {
        self.newly_broken.is_empty() && self.given_up.is_empty()
    }

    /// German subject line.
    pub fn subject(&self) -> String {
        let mut parts = Vec::new();
        match self.newly_broken.len() {
            0 => {}
            1 => parts.push("1 Quelle gestört".to_string()),
            n => parts.push(format!("{n} Quellen gestört")),
        }
        match self.given_up.len() {
            0 => {}
            1 => parts.push("1 E-Mail nicht zustellbar".to_string()),
            n => parts.push(format!("{n} E-Mails nicht zustellbar")),
        }
        format!("Förderradar: {}", parts.join(", "))
    }

    /// German plain-text body.
    pub fn body(&self) -> String {
        let mut text = String::from("Guten Tag,\n\nbeim letzten Lauf des Förderradars ist Folgendes aufgefallen.\n");
        if !self.newly_broken.is_empty() {
            text.push_str("\nGestörte Quellen (liefern nichts mehr oder schlagen wiederholt fehl):\n");
            for h in &self.newly_broken {
                let last = h
                    .last_success
                    .map_or("nie".into(), |t| t.format("%d.%m.%Y %H:%M UTC").to_string());
                let failures = match h.consecutive_failures {
                    1 => "1 Fehlversuch".to_string(),
                    n => format!("{n} Fehlversuche in Folge"),
                };
                let _ = writeln!(
                    text,
                    "- {}: {failures}, letzter Erfolg: {last}\n  Fehler: {}",
                    h.source,
                    h.last_error
                        .as_deref()
                        .unwrap_or("keine Einträge mehr gefunden (Seitenaufbau geändert?)")
                );
            }
            text.push_str("\nBitte prüfen Sie die Quelle in config/sources.toml; `foerderradar sources` zeigt den Zustand aller Quellen.\n");
        }
        if !self.given_up.is_empty() {
            text.push_str(
                "\nNicht zustellbare E-Mails (vom Mailserver abgelehnt, oder nach allen Versuchen aufgegeben):\n",
            );
            for m in &self.given_up {
                let attempts = match m.attempts {
                    1 => "1 Versuch".to_string(),
                    n => format!("{n} Versuchen"),
                };
                let _ = writeln!(
                    text,
                    "- an {}: „{}“ nach {attempts}\n  Fehler: {}",
                    m.contact, m.subject, m.error
                );
            }
            // The calls stay marked as notified for these contacts, so no later pass sends them:
            // the admin has to pass them on.
            text.push_str(
                "\nDie Empfänger haben diese Förderaufrufe nicht erhalten, und das Förderradar sendet sie \
                 nicht erneut. Bitte leiten Sie sie weiter; `foerderradar outbox --status failed` listet sie.\n",
            );
        }
        text.push_str(
            "\n-- \nDiese Nachricht wurde automatisch vom Förderradar der Smart Region Kreis Warendorf erzeugt.\n",
        );
        text
    }
}

/// Puts the notice into the outbox (addressed to `service.admin`); `None` when there is nothing to say.
pub async fn enqueue<S: Store>(
    store: &S,
    service: &ServiceConfig,
    notice: &AdminNotice,
    now: DateTime<Utc>,
) -> Result<Option<i64>, NotifyError> {
    // A notice that the admin's own notice was given up could not reach the admin either;
    // queuing it would only start a chain of undeliverable notices.
    let notice = &AdminNotice {
        newly_broken: notice.newly_broken.clone(),
        given_up: notice
            .given_up
            .iter()
            .filter(|m| !m.contact.eq_ignore_ascii_case(&service.admin))
            .cloned()
            .collect(),
    };
    if notice.is_empty() {
        return Ok(None);
    }
    let address = |role: &'static str, value: &str| {
        value.parse::<Mailbox>().map_err(|source| NotifyError::Address {
            address: value.to_string(),
            role,
            source,
        })
    };
    let from = address("sender", &service.sender)?;
    let (subject, body) = (notice.subject(), notice.body());
    let id = super::render::message_id(
        now,
        &super::render::content_key(&[&service.admin, &subject, &body]),
        &from,
    );
    let message = Message::builder()
        .from(from)
        .to(address("admin", &service.admin)?)
        .subject(subject)
        .date(now.into())
        .message_id(Some(id))
        .singlepart(SinglePart::plain(body))
        .map_err(|source| NotifyError::Message {
            contact: service.admin.clone(),
            source,
        })?;
    let mail = NewMail {
        contact: service.admin.to_lowercase(),
        kommune: "admin".into(),
        subject: notice.subject(),
        message: message.formatted(),
        calls: Vec::new(),
    };
    Ok(Some(store.enqueue_mail(&mail, now).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(source: &str) -> SourceHealth {
        SourceHealth {
            source: source.into(),
            last_attempt: None,
            last_success: None,
            consecutive_failures: 3,
            items_last_pass: 0,
            items_before: 12,
            last_error: Some("HTTP 500".into()),
            broken: true,
        }
    }

    #[test]
    fn subject_and_body_speak_german_and_name_the_source() {
        let notice = AdminNotice {
            newly_broken: vec![broken("fdb-kommune-nrw")],
            given_up: Vec::new(),
        };
        assert_eq!(notice.subject(), "Förderradar: 1 Quelle gestört");
        let body = notice.body();
        assert!(
            body.contains("fdb-kommune-nrw: 3 Fehlversuche in Folge, letzter Erfolg: nie"),
            "{body}"
        );
        assert!(body.contains("HTTP 500"));
        assert!(AdminNotice::default().is_empty());
    }

    #[tokio::test]
    async fn a_given_up_admin_notice_is_not_reported_to_the_admin() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let service = crate::config::Config::load(dir).unwrap().service;
        let store = crate::store::SqliteStore::memory().await.unwrap();
        let own = FailedMail {
            id: 7,
            contact: service.admin.to_uppercase(),
            subject: "Förderradar: 1 Quelle gestört".into(),
            attempts: 8,
            error: "550".into(),
        };
        let notice = AdminNotice {
            newly_broken: Vec::new(),
            given_up: vec![own.clone()],
        };
        assert_eq!(enqueue(&store, &service, &notice, Utc::now()).await.unwrap(), None);
        let digest = FailedMail {
            contact: "kontakt@ahlen.example.org".into(),
            ..own.clone()
        };
        let notice = AdminNotice {
            newly_broken: Vec::new(),
            given_up: vec![own, digest],
        };
        enqueue(&store, &service, &notice, Utc::now()).await.unwrap().unwrap();
        let queued = store.outbox(None).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].subject, "Förderradar: 1 E-Mail nicht zustellbar");
    }

    #[test]
    fn plural_subject_for_several_problems() {
        let failed = FailedMail {
            id: 1,
            contact: "a@b.example".into(),
            subject: "s".into(),
            attempts: 8,
            error: "550".into(),
        };
        let notice = AdminNotice {
            newly_broken: vec![broken("a"), broken("b")],
            given_up: vec![failed.clone(), failed],
        };
        assert_eq!(
            notice.subject(),
            "Förderradar: 2 Quellen gestört, 2 E-Mails nicht zustellbar"
        );
        // Given-up calls are not planned again; the admin must not read that they will be.
        assert!(notice.body().contains("sendet sie nicht erneut"), "{}", notice.body());
    }
}
