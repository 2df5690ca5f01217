//! Which calls go to whom, and how a digest reads.
//!
//! A digest is built for an e-mail address, not for a config entry: should one
//! address be listed for two Kommunen, it still gets one mail per pass.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::links::{LinkAction, LinkSigner};
use super::reasons;
use super::select::{Candidate, PendingDigest};
use crate::config::{Config, Contact, Interests, Kommune};
use crate::model::contact::Cadence;
use crate::model::facts::{FactChange, FactKind};
use crate::model::german::{format_amount, format_date_de, format_days_left, format_rate};
use crate::model::reason::Reason;
use crate::model::{Call, CallId, Deadline, DeadlineDate, DeadlineKind, Match, safe_link};

/// Longest summary shown per call; the link leads to the rest.
const SUMMARY_CHARS: usize = 280;

/// One e-mail address with every (Kommune, contact entry) it stands for.
pub(crate) struct Recipient<'a> {
    /// Lower-cased address: the key under which the store remembers notified calls.
    pub email: String,
    pub name: String,
    pub roles: Vec<(&'a Kommune, &'a Contact)>,
}

impl Recipient<'_> {
    /// The match is routed to one of the recipient's Kommunen and that entry subscribes to it.
    pub(crate) fn covers(&self, m: &Match) -> bool {
        self.roles
            .iter()
            .any(|(k, c)| m.kommunen.contains(&k.id) && c.interests.covers(&m.handlungsfeld, m.project.as_deref()))
    }

    /// An admin paused the address in `kommunen.toml` (any of its entries) up to and
    /// including `today`.
    pub(crate) fn paused(&self, today: chrono::NaiveDate) -> bool {
        self.roles
            .iter()
            .any(|(_, c)| c.paused_until.is_some_and(|until| today <= until))
    }
}

/// All recipients in config order, one per address.
pub(crate) fn recipients(config: &Config) -> Vec<Recipient<'_>> {
    let mut out: Vec<Recipient<'_>> = Vec::new();
    for kommune in &config.kommunen {
        for contact in &kommune.contacts {
            let email = contact.email.trim().to_lowercase();
            match out.iter_mut().find(|r| r.email == email) {
                Some(r) => {
                    if r.name.is_empty() {
                        r.name = contact.name.clone();
                    }
                    r.roles.push((kommune, contact));
                }
                None => out.push(Recipient {
                    email,
                    name: contact.name.clone(),
                    roles: vec![(kommune, contact)],
                }),
            }
        }
    }
    out
}

impl Recipient<'_> {
    /// The configured cadence: the most frequent of the address's entries.
    pub(crate) fn cadence(&self) -> Cadence {
        let rank = |c: &Cadence| match c {
            Cadence::Sofort => 0,
            Cadence::Taeglich => 1,
            Cadence::Woechentlich(_) => 2,
        };
        self.roles
            .iter()
            .map(|(_, c)| c.cadence)
            .min_by_key(rank)
            .unwrap_or_default()
    }

    pub(crate) fn kommune_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.roles.iter().map(|(k, _)| k.id.clone()).collect();
        ids.dedup();
        ids
    }

    /// "Ahlen" or "Ahlen und Beckum".
    fn kommune_names(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for (k, _) in &self.roles {
            if !names.contains(&k.name.as_str()) {
                names.push(&k.name);
            }
        }
        join_de(&names)
    }

    /// Names of the recipient's Kommunen a match set is routed to; empty for a contact
    /// of one Kommune (the mail is about it anyway).
    fn concerned(&self, matches: &[Arc<Match>]) -> String {
        if self.roles.iter().all(|(k, _)| k.id == self.roles[0].0.id) {
            return String::new();
        }
        let mut names: Vec<&str> = Vec::new();
        for (k, _) in &self.roles {
            if matches.iter().any(|m| m.kommunen.contains(&k.id)) && !names.contains(&k.name.as_str()) {
                names.push(&k.name);
            }
        }
        join_de(&names)
    }
}

/// Signed links of one digest; all `None` unless a link signer is configured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FooterLinks {
    pub settings: Option<String>,
    pub unsubscribe: Option<String>,
    /// The full list on the web (`[web] public_url`).
    pub report: Option<String>,
}

/// Everything a digest template sees.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    /// Lower-cased e-mail address.
    pub contact: String,
    /// Name or role of the contact as configured (may be empty).
    pub contact_name: String,
    /// Id of the first Kommune the address is listed for (not shown in the mail).
    #[serde(skip)]
    pub kommune: String,
    /// "Ahlen" or "Ahlen und Beckum".
    pub kommune_names: String,
    pub subject: String,
    /// The first digest of the contact: an overview, not news.
    pub overview: bool,
    /// "3 neu · 1 Friständerung · 2 Erinnerungen · nächste Frist 15.01.2027".
    pub summary: String,
    pub urgent_days: i64,
    /// Listed new calls, by Handlungsfeld, then project, each ordered by deadline.
    pub groups: Vec<DigestGroup>,
    /// The listed new calls in the order shown.
    pub calls: Vec<DigestCall>,
    pub changes: Vec<ChangeLine>,
    pub reminders: Vec<ReminderLine>,
    /// New calls not listed (in the attachment).
    pub more: usize,
    /// File name of the attached full list, when one is attached.
    pub attachment: Option<String>,
    /// Why the contact gets this mail, one line per Kommune.
    pub subscriptions: Vec<SubscriptionLine>,
    pub links: FooterLinks,
    pub admin: String,
}

/// A Handlungsfeld with its projects' calls.
#[derive(Debug, Clone, Serialize)]
pub struct DigestGroup {
    /// "Mobilität".
    pub name: String,
    pub projects: Vec<ProjectGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectGroup {
    /// "Smarte Parkraumbewirtschaftung"; `None` for calls of the Handlungsfeld itself.
    pub name: Option<String>,
    /// "Nichts mehr zu diesem Projekt".
    pub mute_link: Option<String>,
    pub calls: Vec<DigestCall>,
}

/// One call as a digest shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DigestCall {
    /// Internal; never rendered.
    #[serde(skip)]
    pub id: CallId,
    pub title: String,
    /// Only http(s) URLs survive ([`safe_link`]); `None` renders no link.
    pub url: Option<String>,
    pub funder: Option<String>,
    /// "31.03.2026 (noch 5 Tage)", "laufend (ohne Frist)", "nicht angegeben".
    pub deadline: String,
    pub deadline_kind: DeadlineKind,
    pub days_left: Option<i64>,
    pub urgent: bool,
    pub further_dates: Option<String>,
    pub rate: Option<String>,
    pub amount: Option<String>,
    pub applicants: String,
    /// The contact's Kommunen the call concerns.
    pub kommunen: String,
    pub summary: Option<String>,
    /// At most three reasons in plain German, each labelled with its Handlungsfeld or project.
    pub reasons: Vec<String>,
    pub other_links: Vec<OtherListing>,
    /// "Passt" / "Passt nicht".
    pub fit_link: Option<String>,
    pub unfit_link: Option<String>,
    /// Handlungsfeld and project of the strongest match (grouping).
    #[serde(skip)]
    group: GroupKey,
}

/// Strategy order and name of the Handlungsfeld, strategy order, name and id of the project.
type GroupKey = (usize, String, usize, Option<String>, Option<String>);

/// "Geändert: Frist 31.03.2026 → 30.04.2026" for a call the contact received.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeLine {
    pub title: String,
    pub url: Option<String>,
    /// "Frist 31.03.2026 → 30.04.2026".
    pub changes: Vec<String>,
    pub deadline: String,
}

/// "Fristen-Erinnerung": a received call whose deadline is near.
#[derive(Debug, Clone, Serialize)]
pub struct ReminderLine {
    pub title: String,
    pub url: Option<String>,
    pub deadline: String,
    pub days_left: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OtherListing {
    pub source: String,
    pub url: String,
}

/// "Ahlen: alle Handlungsfelder" style explanation of one subscription.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionLine {
    pub kommune: String,
    pub interests: String,
}

/// The full list attached to a digest whose calls did not all fit. Its rows carry no
/// signed links (`fit_link`, `unfit_link` are empty): an attachment gets forwarded, and
/// the rows are shared by every list of the pass that shows the call.
#[derive(Debug, Clone, Serialize)]
pub struct FullList {
    pub kommune_names: String,
    pub date: String,
    pub calls: Vec<ListRow>,
}

/// A row of a full list, shared by the lists of one pass (read like a [`DigestCall`]).
#[derive(Debug, Clone)]
pub struct ListRow(Arc<DigestCall>);

impl std::ops::Deref for ListRow {
    type Target = DigestCall;
    fn deref(&self) -> &DigestCall {
        &self.0
    }
}

impl Serialize for ListRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Digest {
    /// The digest of `pending`; with `links` (a signer and the time of signing) every
    /// link slot is filled, without it none is. With `with_list`, also the full list to
    /// attach when not every new call is listed.
    pub(crate) fn build(
        config: &Config,
        pending: &PendingDigest<'_>,
        today: NaiveDate,
        links: Links<'_>,
        with_list: bool,
        rows: &mut RowCache,
    ) -> (Digest, Option<FullList>) {
        let recipient = &pending.recipient;
        let contact = recipient.email.as_str();
        let settings = &config.service.digest;
        let sign = |action: LinkAction| links.map(|(signer, now)| signer.url(contact, &action, now));
        let mut row = |c: &Candidate| rows.row(config, recipient, c, today, settings.urgent_days);
        let mut calls: Vec<DigestCall> = pending
            .new
            .iter()
            .map(|c| {
                let mut call = DigestCall::clone(&row(c));
                call.fit_link = sign(LinkAction::Passt(call.id.clone()));
                call.unfit_link = sign(LinkAction::PasstNicht(call.id.clone()));
                call
            })
            .collect();
        calls.sort_by_cached_key(|c| (c.group.clone(), urgency_key(c)));
        let groups = group(&calls, contact, links);
        let calls: Vec<DigestCall> = groups
            .iter()
            .flat_map(|g| g.projects.iter().flat_map(|p| p.calls.iter().cloned()))
            .collect();
        let changes: Vec<ChangeLine> = pending
            .changes
            .iter()
            .map(|c| ChangeLine {
                title: clean_title(&c.call.title),
                url: safe_link(&c.call.url),
                changes: c.changes.iter().map(FactChange::describe_de).collect(),
                deadline: deadline_text(&c.call.deadline, today),
            })
            .collect();
        let reminders: Vec<ReminderLine> = pending
            .reminders
            .iter()
            .map(|r| ReminderLine {
                title: clean_title(&r.call.title),
                url: safe_link(&r.call.url),
                deadline: deadline_text(&r.call.deadline, today),
                days_left: r.days_left,
            })
            .collect();
        let kommune_names = recipient.kommune_names();
        let deadline_changes = pending
            .changes
            .iter()
            .filter(|c| c.changes.iter().any(|f| f.kind == FactKind::Deadline))
            .count();
        let next_deadline = pending
            .new
            .iter()
            .map(|c| &c.call)
            .chain(pending.changes.iter().map(|c| &c.call))
            .chain(pending.reminders.iter().map(|r| &r.call))
            .filter_map(|c| c.deadline.next_date(today))
            .min();
        let attached = attaches_list(pending, links.is_some());
        let counts = Counts {
            attached,
            overview: pending.overview,
            new: pending.new.len(),
            more: pending.rest.len(),
            deadline_changes,
            other_changes: pending.changes.len() - deadline_changes,
            reminders: pending.reminders.len(),
        };
        let urgent_days = calls
            .iter()
            .filter_map(|c| c.days_left)
            .chain(pending.reminders.iter().map(|r| r.days_left))
            .filter(|d| *d <= settings.urgent_days)
            .min();
        let full = (with_list && attached).then(|| {
            let mut all: Vec<ListRow> = pending
                .new
                .iter()
                .chain(&pending.rest)
                .map(|c| ListRow(row(c)))
                .collect();
            all.sort_by_cached_key(|c| (c.group.clone(), urgency_key(c)));
            FullList {
                kommune_names: kommune_names.clone(),
                date: format_date_de(today),
                calls: all,
            }
        });
        let digest = Digest {
            contact: recipient.email.clone(),
            contact_name: recipient.name.clone(),
            kommune: recipient.roles[0].0.id.clone(),
            subject: counts.subject(&kommune_names, urgent_days),
            summary: counts.summary(next_deadline),
            kommune_names,
            overview: pending.overview,
            urgent_days: settings.urgent_days,
            groups,
            calls,
            changes,
            reminders,
            more: pending.rest.len(),
            attachment: attached.then(|| ATTACHMENT_NAME.to_string()),
            subscriptions: recipient
                .roles
                .iter()
                .map(|(k, c)| SubscriptionLine {
                    kommune: k.name.clone(),
                    interests: describe_interests(config, &c.interests),
                })
                .collect(),
            links: FooterLinks {
                settings: sign(LinkAction::Settings),
                unsubscribe: sign(LinkAction::Unsubscribe),
                // The contact page lists the contact's calls.
                report: sign(LinkAction::Settings),
            },
            admin: config.service.admin.clone(),
        };
        (digest, full)
    }
}

/// Digest rows of one pass by call and shown matches. A Bund call is routed to every
/// Kommune, so the digests and full lists of one pass show mostly the same rows: each
/// is built once, not once per digest and list (with thousands of calls per list,
/// building them was most of the planning time).
#[derive(Default)]
pub(crate) struct RowCache {
    rows: HashMap<RowKey, Arc<DigestCall>>,
}

/// Rows kept at most; beyond that the cache starts afresh (a Land's calls × matches).
const ROWS_MAX: usize = 20_000;

/// A call and the matches a row shows, by identity: within a pass, the selector hands
/// out one `Arc` per call and per match. The key holds them, so that no other call or
/// match can take their address while the row is cached.
struct RowKey {
    call: Arc<Call>,
    matches: Vec<Arc<Match>>,
}

impl PartialEq for RowKey {
    fn eq(&self, other: &RowKey) -> bool {
        Arc::ptr_eq(&self.call, &other.call)
            && self.matches.len() == other.matches.len()
            && self.matches.iter().zip(&other.matches).all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl Eq for RowKey {}

impl std::hash::Hash for RowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.call).hash(state);
        for m in &self.matches {
            Arc::as_ptr(m).hash(state);
        }
    }
}

impl RowCache {
    /// The row of `c` for `recipient`, without the contact's signed links. Rows that
    /// depend on the recipient (a contact of several Kommunen sees which of them a call
    /// concerns; a partial membership is named for the contact's own Kommune only) are
    /// built each time.
    fn row(
        &mut self,
        config: &Config,
        recipient: &Recipient<'_>,
        c: &Candidate,
        today: NaiveDate,
        urgent_days: i64,
    ) -> Arc<DigestCall> {
        let build = || {
            Arc::new(DigestCall::build(
                config,
                recipient,
                &c.call,
                &c.matches,
                today,
                urgent_days,
            ))
        };
        let personal = recipient.roles.iter().any(|(k, _)| k.id != recipient.roles[0].0.id)
            || c.matches
                .iter()
                .flat_map(|m| &m.reasons)
                .any(|r| matches!(r, Reason::PartialMember { .. }));
        if personal {
            return build();
        }
        if self.rows.len() >= ROWS_MAX {
            self.rows.clear();
        }
        let key = RowKey {
            call: Arc::clone(&c.call),
            matches: c.matches.clone(),
        };
        Arc::clone(self.rows.entry(key).or_insert_with(build))
    }
}

/// A link signer and the time links are signed at; `None` writes no link.
pub(crate) type Links<'s> = Option<(&'s LinkSigner, DateTime<Utc>)>;

/// Whether `pending`'s digest attaches the full list: when not every new call is
/// listed. An overview with signed links (`[web] public_url`) links to the contact's
/// page instead, which lists every open call that concerns the contact: the overview's
/// list holds every matching call (thousands for a Kreis, in every contact's mail).
/// Later digests attach the calls they could not list, which the page does not single out.
pub(crate) fn attaches_list(pending: &PendingDigest<'_>, with_links: bool) -> bool {
    let linked_overview = pending.overview && with_links;
    !pending.rest.is_empty() && !linked_overview
}

/// File name of the attached full list.
pub const ATTACHMENT_NAME: &str = "foerderradar-liste.html";

/// What a digest holds, for its subject and summary line.
struct Counts {
    /// The calls not listed are in the attachment (else on the contact's page).
    attached: bool,
    overview: bool,
    new: usize,
    more: usize,
    deadline_changes: usize,
    other_changes: usize,
    reminders: usize,
}

impl Counts {
    /// "Förderradar: Übersicht – 10 passende Förderprogramme für Ahlen" or
    /// "Förderradar für Ahlen: 3 neu im Radar, 1 Änderung – Frist in 5 Tagen".
    fn subject(&self, kommune_names: &str, urgent_days: Option<i64>) -> String {
        let mut subject = if self.overview {
            let programmes = match self.new {
                1 => "1 passendes Förderprogramm".to_string(),
                n => format!("{n} passende Förderprogramme"),
            };
            format!("Förderradar: Übersicht – {programmes} für {kommune_names}")
        } else {
            let mut parts = Vec::new();
            if self.new + self.more > 0 {
                parts.push(format!("{} neu im Radar", self.new + self.more));
            }
            let changes = self.deadline_changes + self.other_changes;
            match changes {
                0 => {}
                1 => parts.push("1 Änderung".into()),
                n => parts.push(format!("{n} Änderungen")),
            }
            match self.reminders {
                0 => {}
                1 => parts.push("1 Fristen-Erinnerung".into()),
                n => parts.push(format!("{n} Fristen-Erinnerungen")),
            }
            format!("Förderradar für {kommune_names}: {}", parts.join(", "))
        };
        if let Some(days) = urgent_days {
            subject.push_str(" – ");
            subject.push_str(&deadline_hint(days));
        }
        subject
    }

    /// "3 neu · 1 Friständerung · 2 Erinnerungen · nächste Frist 15.01.2027".
    fn summary(&self, next_deadline: Option<NaiveDate>) -> String {
        let mut parts = Vec::new();
        if self.overview {
            parts.push(format!("{} passend", self.new));
            if self.more > 0 {
                let place = if self.attached {
                    "in der Anlage"
                } else {
                    "im Förderradar"
                };
                parts.push(format!("{} weitere {place}", self.more));
            }
        } else if self.new + self.more > 0 {
            parts.push(format!("{} neu", self.new + self.more));
        }
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if self.deadline_changes > 0 {
            parts.push(plural(self.deadline_changes, "Friständerung", "Friständerungen"));
        }
        if self.other_changes > 0 {
            parts.push(plural(self.other_changes, "Änderung", "Änderungen"));
        }
        if self.reminders > 0 {
            parts.push(plural(self.reminders, "Erinnerung", "Erinnerungen"));
        }
        if let Some(d) = next_deadline {
            parts.push(format!("nächste Frist {}", format_date_de(d)));
        }
        parts.join(" · ")
    }
}

/// Groups calls already sorted by (Handlungsfeld, project, deadline).
fn group(calls: &[DigestCall], contact: &str, links: Links<'_>) -> Vec<DigestGroup> {
    let mut groups: Vec<DigestGroup> = Vec::new();
    let mut last: Option<&GroupKey> = None;
    for call in calls {
        let (_, field, _, project, project_id) = &call.group;
        let same_field = last.is_some_and(|l| l.1 == *field);
        let same_project = same_field && last.is_some_and(|l| l.3 == *project);
        if !same_field {
            groups.push(DigestGroup {
                name: field.clone(),
                projects: Vec::new(),
            });
        }
        let g = groups.last_mut().expect("pushed above");
        if !same_project {
            g.projects.push(ProjectGroup {
                name: project.clone(),
                mute_link: project_id.as_ref().and_then(|id| {
                    links.map(|(signer, now)| signer.url(contact, &LinkAction::MuteProject(id.clone()), now))
                }),
                calls: Vec::new(),
            });
        }
        g.projects.last_mut().expect("pushed above").calls.push(call.clone());
        last = Some(&call.group);
    }
    groups
}

impl Digest {
    /// A digest with every optional field filled, so that rendering it touches each
    /// branch of a template: `check` finds a misspelt field in an override before a pass does.
    pub(crate) fn sample() -> (Digest, FullList) {
        let call = DigestCall {
            id: CallId("c-sample".into()),
            title: "Beispielaufruf".into(),
            url: Some("https://example.org/aufruf".into()),
            funder: Some("Beispielministerium".into()),
            deadline: "31.03.2026 (noch 5 Tage)".into(),
            deadline_kind: DeadlineKind::Date,
            days_left: Some(5),
            urgent: true,
            further_dates: Some("30.09.2026".into()),
            rate: Some("bis zu 90 %".into()),
            amount: Some("bis zu 100.000 €".into()),
            applicants: "Kommunen".into(),
            kommunen: "Ahlen".into(),
            summary: Some("Worum es geht.".into()),
            reasons: vec!["Projekt „Serviceportal“: „Serviceportal“ im Titel".into()],
            other_links: vec![OtherListing {
                source: "rss".into(),
                url: "https://example.org/auch".into(),
            }],
            fit_link: Some("https://example.org/l/passt".into()),
            unfit_link: Some("https://example.org/l/passt-nicht".into()),
            group: (
                0,
                "Verwaltung".into(),
                0,
                Some("Serviceportal".into()),
                Some("serviceportal".into()),
            ),
        };
        let digest = Digest {
            contact: "kontakt@example.org".into(),
            contact_name: "Kontakt".into(),
            kommune: "ahlen".into(),
            kommune_names: "Ahlen".into(),
            subject: "Förderradar für Ahlen: 1 neu im Radar".into(),
            overview: false,
            summary: "1 neu · nächste Frist 31.03.2026".into(),
            urgent_days: 14,
            groups: vec![DigestGroup {
                name: "Verwaltung".into(),
                projects: vec![ProjectGroup {
                    name: Some("Serviceportal".into()),
                    mute_link: Some("https://example.org/l/projekt".into()),
                    calls: vec![call.clone()],
                }],
            }],
            calls: vec![call.clone()],
            changes: vec![ChangeLine {
                title: "Geänderter Aufruf".into(),
                url: Some("https://example.org/g".into()),
                changes: vec!["Frist 31.03.2026 → 30.04.2026".into()],
                deadline: "30.04.2026 (noch 40 Tage)".into(),
            }],
            reminders: vec![ReminderLine {
                title: "Bald endender Aufruf".into(),
                url: Some("https://example.org/b".into()),
                deadline: "08.03.2026 (noch 7 Tage)".into(),
                days_left: 7,
            }],
            more: 3,
            attachment: Some(ATTACHMENT_NAME.into()),
            subscriptions: vec![SubscriptionLine {
                kommune: "Ahlen".into(),
                interests: "alle Handlungsfelder der Smart-Region-Strategie".into(),
            }],
            links: FooterLinks {
                settings: Some("https://example.org/l/einstellungen".into()),
                unsubscribe: Some("https://example.org/l/abbestellen".into()),
                report: Some("https://example.org/l/liste".into()),
            },
            admin: "admin@example.org".into(),
        };
        let full = FullList {
            kommune_names: "Ahlen".into(),
            date: "02.03.2026".into(),
            calls: vec![ListRow(Arc::new(call))],
        };
        (digest, full)
    }
}

/// Dated calls by next deadline, then rolling, then unknown; ties by title.
fn urgency_key(c: &DigestCall) -> (u8, i64, String) {
    let class = match (c.days_left, c.deadline_kind) {
        (Some(_), _) => 0,
        (None, DeadlineKind::Rolling) => 1,
        (None, _) => 2,
    };
    (class, c.days_left.unwrap_or(i64::MAX), c.title.to_lowercase())
}

fn deadline_hint(days: i64) -> String {
    match days {
        0 => "Frist endet heute".into(),
        1 => "Frist endet morgen".into(),
        n => format!("Frist in {n} Tagen"),
    }
}

/// Longest title shown; a scraped page may put a whole paragraph there.
const TITLE_CHARS: usize = 240;

/// The title on one line: control characters (line breaks, tabs, escapes) become
/// spaces, runs of spaces one.
pub(crate) fn clean_title(title: &str) -> String {
    let spaced: String = title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= TITLE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(TITLE_CHARS).collect();
    format!("{} …", cut.trim_end())
}

impl DigestCall {
    fn build(
        config: &Config,
        recipient: &Recipient<'_>,
        call: &Call,
        matches: &[Arc<Match>],
        today: NaiveDate,
        urgent_days: i64,
    ) -> DigestCall {
        let days_left = call.deadline.days_left(today);
        let strongest = matches.first();
        DigestCall {
            id: call.id.clone(),
            title: clean_title(&call.title),
            url: safe_link(&call.url),
            funder: call.funder.as_deref().map(clean_title).filter(|f| !f.is_empty()),
            deadline: deadline_text(&call.deadline, today),
            deadline_kind: call.deadline.kind(),
            days_left,
            urgent: days_left.is_some_and(|d| d <= urgent_days),
            further_dates: further_dates(&call.deadline, today),
            rate: call.funding_rate.map(|r| format_rate(Some(r))),
            amount: call.amount_max_eur.map(|a| format_amount(Some(a))),
            applicants: call.applicants.describe_de(),
            kommunen: recipient.concerned(matches),
            summary: shorten(&call.summary),
            reasons: reasons::plain(config, recipient, matches),
            other_links: call
                .links
                .iter()
                .filter(|l| l.url != call.url)
                .filter_map(|l| {
                    Some(OtherListing {
                        source: l.source.clone(),
                        url: safe_link(&l.url)?,
                    })
                })
                .take(3)
                .collect(),
            fit_link: None,
            unfit_link: None,
            group: strongest.map_or((usize::MAX, String::new(), usize::MAX, None, None), |m| {
                group_key(config, m)
            }),
        }
    }
}

/// Handlungsfeld and project as (strategy order, name): groups follow the strategy.
fn group_key(config: &Config, m: &Match) -> GroupKey {
    let strategy = &config.strategy;
    let field = strategy.handlungsfelder.iter().position(|h| h.id == m.handlungsfeld);
    let field_name = strategy
        .handlungsfeld(&m.handlungsfeld)
        .map_or_else(|| m.handlungsfeld.clone(), |h| h.name.clone());
    let (project, project_name) = match &m.project {
        Some(p) => (
            strategy
                .projects
                .iter()
                .position(|x| x.id == *p)
                .unwrap_or(usize::MAX - 1),
            Some(strategy.project(p).map_or_else(|| p.clone(), |x| x.name.clone())),
        ),
        // The Handlungsfeld's own calls after its projects.
        None => (usize::MAX, None),
    };
    (
        field.unwrap_or(usize::MAX),
        field_name,
        project,
        project_name,
        m.project.clone(),
    )
}

/// The next cut-off with its countdown, or what the source says instead of a date.
fn deadline_text(deadline: &Deadline, today: NaiveDate) -> String {
    match deadline {
        Deadline::Rolling => "laufend (ohne Frist)".into(),
        Deadline::Dates(dates) => match next_cutoff(dates, today) {
            Some((date, cutoff)) => {
                let countdown = format_days_left((date - today).num_days());
                format!("{} ({countdown})", cutoff_text(date, cutoff))
            }
            None => "nicht angegeben".into(),
        },
        Deadline::Unknown => "nicht angegeben".into(),
    }
}

/// The earliest cut-off on or after `today`, with its date this time round.
fn next_cutoff(dates: &[DeadlineDate], today: NaiveDate) -> Option<(NaiveDate, &DeadlineDate)> {
    dates
        .iter()
        .filter_map(|d| d.next_occurrence(today).map(|n| (n, d)))
        .min_by_key(|(n, _)| *n)
}

/// "Phase 1: 31.03.2026, 14:00 Uhr".
fn cutoff_text(date: NaiveDate, cutoff: &DeadlineDate) -> String {
    let mut s = format_date_de(date);
    if let Some(t) = cutoff.time {
        s.push_str(&format!(", {} Uhr", t.format("%H:%M")));
    }
    if let Some(label) = cutoff.label.as_deref().filter(|l| !l.trim().is_empty()) {
        s = format!("{label}: {s}");
    }
    s
}

/// Later cut-offs than the next one, e.g. for calls with several rounds.
fn further_dates(deadline: &Deadline, today: NaiveDate) -> Option<String> {
    let Deadline::Dates(dates) = deadline else { return None };
    let (next, _) = next_cutoff(dates, today)?;
    let mut later: Vec<(NaiveDate, &DeadlineDate)> = dates
        .iter()
        .filter_map(|d| d.next_occurrence(today).map(|n| (n, d)))
        .filter(|(n, _)| *n > next)
        .collect();
    later.sort_by_key(|(n, _)| *n);
    (!later.is_empty()).then(|| {
        later
            .iter()
            .map(|(n, d)| cutoff_text(*n, d))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The summary cut at a word boundary, so one long call does not bury the others.
fn shorten(summary: &str) -> Option<String> {
    let text = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= SUMMARY_CHARS {
        return Some(text);
    }
    let cut: String = text.chars().take(SUMMARY_CHARS).collect();
    let end = cut.rfind(' ').unwrap_or(cut.len());
    Some(format!("{} …", cut[..end].trim_end_matches([',', ';', ':', '.', ' '])))
}

/// German wording of a subscription.
fn describe_interests(config: &Config, interests: &Interests) -> String {
    let all_fields = config
        .strategy
        .handlungsfelder
        .iter()
        .all(|h| interests.handlungsfelder.contains(&h.id));
    let fields: Vec<&str> = config
        .strategy
        .handlungsfelder
        .iter()
        .filter(|h| interests.handlungsfelder.contains(&h.id))
        .map(|h| h.name.as_str())
        .collect();
    // Projects inside a subscribed Handlungsfeld are covered anyway; name only the extra ones.
    let extra_projects: Vec<String> = interests
        .projects
        .iter()
        .filter(|p| {
            config
                .strategy
                .project(p)
                .is_none_or(|pr| !interests.handlungsfelder.contains(&pr.handlungsfeld))
        })
        .map(|p| {
            format!(
                "„{}“",
                config.strategy.project(p).map_or(p.as_str(), |pr| pr.name.as_str())
            )
        })
        .collect();
    let mut text = if all_fields && !fields.is_empty() {
        "alle Handlungsfelder der Smart-Region-Strategie".to_string()
    } else if fields.is_empty() {
        String::new()
    } else {
        format!(
            "Handlungsfeld{} {}",
            if fields.len() == 1 { "" } else { "er" },
            join_de(&fields)
        )
    };
    if !extra_projects.is_empty() {
        let refs: Vec<&str> = extra_projects.iter().map(String::as_str).collect();
        let projects = format!("Projekt{} {}", if refs.len() == 1 { "" } else { "e" }, join_de(&refs));
        text = if text.is_empty() {
            projects
        } else {
            format!("{text} sowie {projects}")
        };
    }
    text
}

/// "A", "A und B", "A, B und C".
fn join_de(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} und {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn deadline_text_counts_days_and_names_time_and_label() {
        let today = d(2026, 3, 2);
        let mut cutoff = DeadlineDate::on(d(2026, 3, 14));
        cutoff.time = chrono::NaiveTime::from_hms_opt(14, 0, 0);
        cutoff.label = Some("Phase 1".into());
        let dl = Deadline::Dates(vec![
            DeadlineDate::on(d(2026, 1, 1)),
            cutoff,
            DeadlineDate::on(d(2026, 9, 30)),
        ]);
        assert_eq!(
            deadline_text(&dl, today),
            "Phase 1: 14.03.2026, 14:00 Uhr (noch 12 Tage)"
        );
        assert_eq!(further_dates(&dl, today).as_deref(), Some("30.09.2026"));
        assert_eq!(
            deadline_text(&Deadline::Dates(vec![DeadlineDate::on(today)]), today),
            "02.03.2026 (endet heute)"
        );
        assert_eq!(
            deadline_text(&Deadline::Dates(vec![DeadlineDate::on(d(2026, 3, 3))]), today),
            "03.03.2026 (noch 1 Tag)"
        );
        assert_eq!(deadline_text(&Deadline::Rolling, today), "laufend (ohne Frist)");
        assert_eq!(deadline_text(&Deadline::Unknown, today), "nicht angegeben");
    }

    #[test]
    fn annual_deadline_shows_next_occurrence() {
        let dl = Deadline::Dates(vec![DeadlineDate {
            annual: true,
            ..DeadlineDate::on(d(2025, 9, 30))
        }]);
        assert_eq!(deadline_text(&dl, d(2026, 3, 2)), "30.09.2026 (noch 212 Tage)");
    }

    #[test]
    fn german_lists_and_subject_plural() {
        assert_eq!(join_de(&["Ahlen"]), "Ahlen");
        assert_eq!(join_de(&["Ahlen", "Beckum", "Oelde"]), "Ahlen, Beckum und Oelde");
        assert_eq!(deadline_hint(0), "Frist endet heute");
        assert_eq!(deadline_hint(5), "Frist in 5 Tagen");
    }

    #[test]
    fn long_summaries_are_cut_at_a_word() {
        let long = "Förderung digitaler Verwaltungsleistungen, ".repeat(20);
        let short = shorten(&long).unwrap();
        assert!(short.chars().count() <= SUMMARY_CHARS + 2, "{short}");
        assert!(short.ends_with(" …"));
        assert_eq!(shorten("  kurz \n und gut "), Some("kurz und gut".into()));
        assert_eq!(shorten(" "), None);
    }
}
