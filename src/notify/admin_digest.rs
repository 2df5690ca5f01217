//! The weekly report to the admin (`[schedule] admin_digest`, `foerderradar
//! admin-digest`): sources that are broken or silent, mails given up (dead letters),
//! addresses that do not accept mail, and the recipients' feedback per project and
//! Handlungsfeld, so the admin sees which rules to tune. German, HTML and text,
//! rendered from `admin_digest.{txt,html}.j2` (embedded; a file of the same name in
//! `<config>/templates/` overrides it). It goes through the outbox like every mail.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Duration, Utc};
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use minijinja::Environment;
use serde::Serialize;

use super::NotifyError;
use super::render::render_one;
use crate::config::Config;
use crate::model::feedback::{FeedbackAction, FeedbackCount};
use crate::store::{NewMail, OutboxStatus, Store};

pub const TEXT_TEMPLATE: &str = "admin_digest.txt.j2";
pub const HTML_TEMPLATE: &str = "admin_digest.html.j2";

const EMBEDDED: [(&str, &str); 2] = [
    (TEXT_TEMPLATE, include_str!("templates/admin_digest.txt.j2")),
    (HTML_TEMPLATE, include_str!("templates/admin_digest.html.j2")),
];

/// The job's name in `job_runs` and `status` (the daemon's job, `foerderradar admin-digest`).
pub const JOB: &str = "admin_digest";

/// Dead letters and bouncing addresses listed at most; the rest is counted, so that a
/// week of a broken mail server does not turn the report into a megabyte.
pub const LISTED_AT_MOST: usize = 30;

/// A week without an earlier admin digest to count from.
pub const DEFAULT_PERIOD_DAYS: i64 = 7;

/// Everything the admin digest says, ready for the templates.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AdminDigest {
    pub subject: String,
    /// "27.11.2026 – 04.12.2026", in the deployment's time zone.
    pub period: String,
    /// Problems to look at: broken and silent sources, dead letters.
    pub attention: usize,
    pub broken: Vec<SourceLine>,
    pub silent: Vec<SourceLine>,
    pub silent_after_days: u32,
    /// The newest [`LISTED_AT_MOST`] mails given up in the period.
    pub dead_letters: Vec<DeadLetterLine>,
    /// All mails given up in the period (listed or not).
    pub dead_letters_total: usize,
    /// At most [`LISTED_AT_MOST`] addresses, most mails first.
    pub bouncing: Vec<BounceLine>,
    pub bouncing_total: usize,
    pub feedback: Vec<FeedbackLine>,
    pub outbox_pending: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceLine {
    pub source: String,
    pub label: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterLine {
    /// When it was given up (local date and time).
    pub when: String,
    pub contact: String,
    pub subject: String,
    pub attempts: u32,
    pub error: String,
}

/// A contact address whose mails were given up in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BounceLine {
    pub address: String,
    pub mails: usize,
    pub last_error: String,
}

/// The answers to the calls of one project (or a Handlungsfeld's own profile).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackLine {
    /// "Kulturförderung (Kultur und Tourismus)" for a project; the Handlungsfeld's name otherwise.
    pub label: String,
    pub passt_nicht: u64,
    /// Of those, recorded in the period.
    pub passt_nicht_week: u64,
    pub passt: u64,
}

impl AdminDigest {
    /// Reads the store: the period runs from `since` to `now`.
    pub async fn gather(
        store: &impl Store,
        config: &Config,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<AdminDigest, NotifyError> {
        let tz = config.service.timezone;
        let day = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d.%m.%Y").to_string();
        let (broken, silent) = sources(store, config, now).await?;
        let dead = store.dead_letters_since(since).await?;
        let admin = config.service.admin.to_lowercase();
        let dead_letters: Vec<DeadLetterLine> = dead
            .iter()
            .take(LISTED_AT_MOST)
            .map(|d| DeadLetterLine {
                when: d.given_up.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string(),
                contact: d.contact.clone(),
                subject: d.subject.clone(),
                attempts: d.attempts,
                error: d.error.clone().unwrap_or_else(|| "unbekannt".into()),
            })
            .collect();
        // Newest first, so the first error seen per address is its latest.
        let mut bouncing: BTreeMap<String, BounceLine> = BTreeMap::new();
        for d in dead.iter().filter(|d| d.contact != admin) {
            bouncing
                .entry(d.contact.clone())
                .or_insert_with(|| BounceLine {
                    address: d.contact.clone(),
                    mails: 0,
                    last_error: d.error.clone().unwrap_or_else(|| "unbekannt".into()),
                })
                .mails += 1;
        }
        let feedback = feedback_lines(
            config,
            &store.feedback_counts(None).await?,
            &store.feedback_counts(Some(since)).await?,
        );
        let outbox_pending = store
            .outbox_counts()
            .await?
            .into_iter()
            .find(|(s, _)| *s == OutboxStatus::Pending)
            .map_or(0, |(_, n)| n);
        let attention = broken.len() + silent.len() + dead.len();
        let bouncing_total = bouncing.len();
        let mut bouncing: Vec<BounceLine> = bouncing.into_values().collect();
        bouncing.sort_by(|a, b| b.mails.cmp(&a.mails).then_with(|| a.address.cmp(&b.address)));
        bouncing.truncate(LISTED_AT_MOST);
        let mut digest = AdminDigest {
            subject: String::new(),
            period: format!("{} – {}", day(since), day(now)),
            attention,
            broken,
            silent,
            silent_after_days: config.service.notify.silent_after_days,
            dead_letters,
            dead_letters_total: dead.len(),
            bouncing,
            bouncing_total,
            feedback,
            outbox_pending,
        };
        digest.subject = digest.subject_line();
        Ok(digest)
    }

    fn subject_line(&self) -> String {
        match self.attention {
            0 => format!("Förderradar: Wochenbericht {} – alles in Ordnung", self.period),
            1 => format!("Förderradar: Wochenbericht {} – 1 Punkt zu prüfen", self.period),
            n => format!("Förderradar: Wochenbericht {} – {n} Punkte zu prüfen", self.period),
        }
    }
}

/// Broken and silent enabled sources. Silent: no pass returned an item for
/// `silent_after_days` (counted from the first pass for a source that never did).
async fn sources(
    store: &impl Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<(Vec<SourceLine>, Vec<SourceLine>), NotifyError> {
    let tz = config.service.timezone;
    let stamp = |t: Option<DateTime<Utc>>| {
        t.map_or("nie".to_string(), |t| {
            t.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
        })
    };
    let health = store.source_health().await?;
    let yields = store.source_yields().await?;
    let quiet_for = Duration::days(config.service.notify.silent_after_days.into());
    let (mut broken, mut silent) = (Vec::new(), Vec::new());
    for source in config.sources.iter().filter(|s| s.enabled) {
        let line = |detail: String| SourceLine {
            source: source.id.clone(),
            label: source.label.clone(),
            detail,
        };
        if let Some(h) = health.iter().find(|h| h.source == source.id && h.broken) {
            let failures = match h.consecutive_failures {
                1 => "1 Fehlversuch".to_string(),
                n => format!("{n} Fehlversuche in Folge"),
            };
            broken.push(line(format!(
                "{failures}, letzter Erfolg: {}; Fehler: {}",
                stamp(h.last_success),
                h.last_error
                    .as_deref()
                    .unwrap_or("keine Einträge mehr gefunden (Seitenaufbau geändert?)")
            )));
            continue;
        }
        let Some(y) = yields.iter().find(|y| y.source == source.id) else {
            continue;
        };
        if now - y.last_items.unwrap_or(y.first_run) >= quiet_for {
            silent.push(line(match y.last_items {
                Some(t) => format!("letzte Einträge am {}", stamp(Some(t))),
                None => format!("noch nie Einträge geliefert (erster Lauf {})", stamp(Some(y.first_run))),
            }));
        }
    }
    Ok((broken, silent))
}

/// One line per project (or Handlungsfeld profile) with answers, most "passt nicht" first.
fn feedback_lines(config: &Config, total: &[FeedbackCount], period: &[FeedbackCount]) -> Vec<FeedbackLine> {
    let strategy = &config.strategy;
    let label = |hf: &str, project: Option<&str>| {
        let hf_name = strategy.handlungsfeld(hf).map_or(hf, |h| h.name.as_str());
        match project {
            Some(p) => {
                let name = strategy.project(p).map_or(p, |p| p.name.as_str());
                format!("{name} ({hf_name})")
            }
            None => hf_name.to_string(),
        }
    };
    let mut lines: BTreeMap<(String, Option<String>), FeedbackLine> = BTreeMap::new();
    let mut add = |c: &FeedbackCount, in_period: bool| {
        let line = lines
            .entry((c.handlungsfeld.clone(), c.project.clone()))
            .or_insert_with(|| FeedbackLine {
                label: label(&c.handlungsfeld, c.project.as_deref()),
                passt_nicht: 0,
                passt_nicht_week: 0,
                passt: 0,
            });
        match (c.action, in_period) {
            (FeedbackAction::PasstNicht, false) => line.passt_nicht += c.count,
            (FeedbackAction::PasstNicht, true) => line.passt_nicht_week += c.count,
            (FeedbackAction::Passt, false) => line.passt += c.count,
            _ => {}
        }
    };
    total.iter().for_each(|c| add(c, false));
    period.iter().for_each(|c| add(c, true));
    let mut lines: Vec<FeedbackLine> = lines.into_values().collect();
    lines.sort_by(|a, b| b.passt_nicht.cmp(&a.passt_nicht).then_with(|| a.label.cmp(&b.label)));
    lines
}

/// The admin digest templates, embedded or overridden from `<config>/templates/`.
pub struct AdminTemplates {
    env: Environment<'static>,
}

impl AdminTemplates {
    pub fn load(config_dir: &Path) -> Result<AdminTemplates, NotifyError> {
        let mut env = crate::config::templates::environment();
        for (name, embedded) in EMBEDDED {
            let path = config_dir.join("templates").join(name);
            match std::fs::read_to_string(&path) {
                Ok(source) => env
                    .add_template_owned(name, source)
                    .map_err(|source| NotifyError::Template {
                        name: path.display().to_string(),
                        source,
                    })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => env
                    .add_template(name, embedded)
                    .expect("embedded admin digest templates compile"),
                Err(source) => return Err(NotifyError::TemplateFile { path, source }),
            }
        }
        Ok(AdminTemplates { env })
    }

    /// Renders a sample with every section filled: an override naming a field the
    /// digest does not have fails here (at `check`), not on a Monday morning.
    pub fn check(&self) -> Result<(), NotifyError> {
        self.render(&AdminDigest::sample()).map(|_| ())
    }

    /// Plain text and HTML body.
    pub fn render(&self, digest: &AdminDigest) -> Result<(String, String), NotifyError> {
        Ok((
            render_one(&self.env, TEXT_TEMPLATE, digest)?,
            render_one(&self.env, HTML_TEMPLATE, digest)?,
        ))
    }
}

impl AdminDigest {
    /// A digest with one entry in every section (template checks, snapshots).
    pub fn sample() -> AdminDigest {
        let mut digest = AdminDigest {
            subject: String::new(),
            period: "27.11.2026 – 04.12.2026".into(),
            attention: 3,
            broken: vec![SourceLine {
                source: "fdb-kommune-nrw".into(),
                label: "Förderdatenbank: Kommunen in NRW".into(),
                detail: "4 Fehlversuche in Folge, letzter Erfolg: 30.11.2026 02:00; Fehler: HTTP 503".into(),
            }],
            silent: vec![SourceLine {
                source: "kreis-presse".into(),
                label: "Pressemitteilungen des Kreises".into(),
                detail: "letzte Einträge am 02.11.2026 06:00".into(),
            }],
            silent_after_days: 14,
            dead_letters: vec![DeadLetterLine {
                when: "01.12.2026 07:04".into(),
                contact: "foerdermittel@beelen.example.org".into(),
                subject: "Förderradar: 3 passende Förderprogramme für Beelen".into(),
                attempts: 1,
                error: "550 5.1.1 mailbox unavailable".into(),
            }],
            dead_letters_total: 1,
            bouncing: vec![BounceLine {
                address: "foerdermittel@beelen.example.org".into(),
                mails: 1,
                last_error: "550 5.1.1 mailbox unavailable".into(),
            }],
            bouncing_total: 1,
            feedback: vec![FeedbackLine {
                label: "Kulturförderung (Kultur und Tourismus)".into(),
                passt_nicht: 9,
                passt_nicht_week: 2,
                passt: 1,
            }],
            outbox_pending: 0,
        };
        digest.subject = digest.subject_line();
        digest
    }
}

/// The complete message to the admin, as stored in the outbox.
pub fn build_message(
    config: &Config,
    digest: &AdminDigest,
    text: &str,
    html: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, NotifyError> {
    let address = |role: &'static str, value: &str| {
        value.parse::<Mailbox>().map_err(|source| NotifyError::Address {
            address: value.to_string(),
            role,
            source,
        })
    };
    let mut from = address("sender", &config.service.sender)?;
    if from.name.is_none() {
        from.name = Some("Förderradar".into());
    }
    let key = super::render::content_key(&[&config.service.admin, &digest.subject, text]);
    let id = super::render::message_id(now, &key, &from);
    Message::builder()
        .from(from)
        .to(address("admin", &config.service.admin)?)
        .subject(digest.subject.clone())
        .date(SystemTime::from(now))
        .message_id(Some(id))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            text.replace('\n', "\r\n"),
            html.replace('\n', "\r\n"),
        ))
        .map(|m| m.formatted())
        .map_err(|source| NotifyError::Message {
            contact: config.service.admin.clone(),
            source,
        })
}

/// Gathers, renders and queues the admin digest for the period `since`..`now`.
pub async fn enqueue(
    store: &impl Store,
    config: &Config,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(i64, AdminDigest), NotifyError> {
    let digest = AdminDigest::gather(store, config, since, now).await?;
    let (text, html) = AdminTemplates::load(&config.dir)?.render(&digest)?;
    let message = build_message(config, &digest, &text, &html, now)?;
    let mail = NewMail {
        contact: config.service.admin.to_lowercase(),
        kommune: "admin".into(),
        subject: digest.subject.clone(),
        message,
        calls: Vec::new(),
    };
    Ok((store.enqueue_mail(&mail, now).await?, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_renders_german_text_and_outlook_safe_html() {
        let templates = AdminTemplates::load(Path::new("/nonexistent")).unwrap();
        let (text, html) = templates.render(&AdminDigest::sample()).unwrap();
        for needle in [
            "Wochenbericht des Förderradars für 27.11.2026 – 04.12.2026",
            "GESTÖRTE QUELLEN (1)",
            "- fdb-kommune-nrw (Förderdatenbank: Kommunen in NRW): 4 Fehlversuche",
            "seit mindestens 14 Tagen keine Einträge (1)",
            "an foerdermittel@beelen.example.org: „Förderradar: 3 passende Förderprogramme für Beelen“ nach 1 Versuch\n",
            "- foerdermittel@beelen.example.org: 1 E-Mail aufgegeben, zuletzt: 550 5.1.1",
            "- Kulturförderung (Kultur und Tourismus): 9 × passt nicht (2 in diesem Zeitraum), 1 × passt",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
        assert!(html.contains("width=\"640\"") && html.contains("role=\"presentation\""));
        assert!(html.contains("9 ×"));
        for banned in ["<script", "<img", "max-width", "<link", "<style"] {
            assert!(!html.contains(banned), "{banned} in the HTML");
        }
        assert_eq!(
            AdminDigest::sample().subject,
            "Förderradar: Wochenbericht 27.11.2026 – 04.12.2026 – 3 Punkte zu prüfen"
        );
    }

    #[test]
    fn scraped_strings_are_escaped_in_the_html() {
        let mut digest = AdminDigest::sample();
        digest.broken[0].detail = "<script>alert(1)</script>".into();
        let (_, html) = AdminTemplates::load(Path::new("/nonexistent"))
            .unwrap()
            .render(&digest)
            .unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let mut digest = AdminDigest::sample();
        digest.dead_letters = vec![digest.dead_letters[0].clone(); LISTED_AT_MOST];
        digest.dead_letters_total = 500;
        digest.bouncing_total = 31;
        let (text, html) = AdminTemplates::load(Path::new("/nonexistent"))
            .unwrap()
            .render(&digest)
            .unwrap();
        assert!(text.contains("UNZUSTELLBARE E-MAILS (500)"), "{text}");
        assert!(
            text.contains("… und 470 weitere; `foerderradar outbox --status failed` listet alle."),
            "{text}"
        );
        assert!(text.contains("… und 30 weitere Adressen."), "{text}");
        assert!(html.contains("… und 470 weitere"));
        assert!(html.len() < 100_000, "{}", html.len());
    }

    #[test]
    fn an_all_clear_week_says_so() {
        let mut digest = AdminDigest {
            period: "27.11.2026 – 04.12.2026".into(),
            silent_after_days: 14,
            ..AdminDigest::default()
        };
        digest.subject = digest.subject_line();
        assert!(digest.subject.ends_with("alles in Ordnung"));
        let (text, _) = AdminTemplates::load(Path::new("/nonexistent"))
            .unwrap()
            .render(&digest)
            .unwrap();
        assert!(text.contains("Alles in Ordnung"), "{text}");
        assert!(
            text.contains("RÜCKMELDUNGEN JE PROJEKT UND HANDLUNGSFELD\nbisher keine"),
            "{text}"
        );
    }

    #[test]
    fn an_override_with_an_unknown_field_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates").join(TEXT_TEMPLATE), "{{ quellen }}").unwrap();
        let error = AdminTemplates::load(dir.path())
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(error.contains(TEXT_TEMPLATE), "{error}");
    }
}
