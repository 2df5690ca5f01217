//! Which calls go to whom, and how a digest reads.
//!
//! A digest is built for an e-mail address, not for a config entry: should one
//! address be listed for two Kommunen, it still gets one mail per pass.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::NotifyError;
use crate::config::{Config, Contact, Interests, Kommune};
use crate::model::german::{format_amount, format_date_de, format_days_left, format_rate};
use crate::model::{Call, CallId, Deadline, DeadlineDate, DeadlineKind, Match, safe_link};
use crate::store::Store;

/// Calls closing within this many days are flagged as urgent (and named in the subject).
pub const URGENT_DAYS: i64 = 14;

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
    fn covers(&self, m: &Match) -> bool {
        self.roles
            .iter()
            .any(|(k, c)| m.kommunen.contains(&k.id) && c.interests.covers(&m.handlungsfeld, m.project.as_deref()))
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

/// New calls for one recipient, each with the matches that concern the recipient.
pub(crate) struct PendingDigest<'a> {
    pub recipient: Recipient<'a>,
    pub entries: Vec<(Call, Vec<Match>)>,
}

pub(crate) struct Selection<'a> {
    pub digests: Vec<PendingDigest<'a>>,
    pub closed_skipped: usize,
}

/// Picks, per recipient, the open calls with passed matches it has not been sent yet.
pub(crate) async fn select<'a, S: Store>(
    store: &S,
    config: &'a Config,
    today: NaiveDate,
) -> Result<Selection<'a>, NotifyError> {
    let mut selector = Selector::new(today);
    let mut digests = Vec::new();
    for recipient in recipients(config) {
        if let Some(digest) = selector.pending(store, recipient).await? {
            digests.push(digest);
        }
    }
    Ok(Selection {
        digests,
        closed_skipped: selector.closed_skipped(),
    })
}

/// Selects one recipient's digest at a time, so that a caller can render and queue it
/// before the next one is built. Remembers the calls read for earlier recipients.
pub(crate) struct Selector {
    today: NaiveDate,
    calls: HashMap<CallId, Option<Call>>,
    closed: HashSet<CallId>,
}

impl Selector {
    pub(crate) fn new(today: NaiveDate) -> Selector {
        Selector {
            today,
            calls: HashMap::new(),
            closed: HashSet::new(),
        }
    }

    /// Closed calls met so far that had passed matches (not sent).
    pub(crate) fn closed_skipped(&self) -> usize {
        self.closed.len()
    }

    /// The open calls with passed matches `recipient` has not been sent yet, if any.
    pub(crate) async fn pending<'a, S: Store>(
        &mut self,
        store: &S,
        recipient: Recipient<'a>,
    ) -> Result<Option<PendingDigest<'a>>, NotifyError> {
        // Only what this address has not been sent yet is read.
        let pending = store.pending_matches(&recipient.email).await?;
        let mut by_call: BTreeMap<CallId, Vec<Match>> = BTreeMap::new();
        for m in pending.into_iter().filter(|m| m.passed && recipient.covers(m)) {
            by_call.entry(m.call_id.clone()).or_default().push(m);
        }
        let mut entries = Vec::new();
        for (id, matches) in by_call {
            if !self.calls.contains_key(&id) {
                // A digest shows title, summary and facts, never the full text: it is
                // not kept, so the calls of all digests fit in little memory.
                let call = store.get_call(&id).await?.map(|call| Call {
                    text: String::new(),
                    ..call
                });
                self.calls.insert(id.clone(), call);
            }
            match &self.calls[&id] {
                None => tracing::warn!(call = %id, "passed match refers to a call that is not stored; skipped"),
                Some(call) if !call.is_open(self.today) => {
                    self.closed.insert(id);
                }
                Some(call) => entries.push((call.clone(), matches)),
            }
        }
        Ok((!entries.is_empty()).then_some(PendingDigest { recipient, entries }))
    }
}

/// Everything a digest template sees.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    /// Lower-cased e-mail address.
    pub contact: String,
    /// Name or role of the contact as configured (may be empty).
    pub contact_name: String,
    /// Id of the first Kommune the address is listed for.
    pub kommune: String,
    /// "Ahlen" or "Ahlen und Beckum".
    pub kommune_names: String,
    pub subject: String,
    /// Calls closing within [`URGENT_DAYS`].
    pub urgent: usize,
    pub urgent_days: i64,
    /// Most urgent first: next deadline ascending, then rolling, then unknown.
    pub calls: Vec<DigestCall>,
    /// Why the contact gets this mail, one line per Kommune.
    pub subscriptions: Vec<SubscriptionLine>,
    /// Address of the Kreis admin who changes subscriptions.
    pub admin: String,
}

/// One call in a digest, formatted for German readers.
#[derive(Debug, Clone, Serialize)]
pub struct DigestCall {
    pub id: CallId,
    pub title: String,
    /// The call's page, when it is a web link (see [`crate::model::safe_link`]).
    pub url: Option<String>,
    pub funder: Option<String>,
    /// "31.03.2026, 14:00 Uhr (noch 12 Tage)", "laufend (ohne Frist)" or "nicht angegeben".
    pub deadline: String,
    pub deadline_kind: DeadlineKind,
    pub days_left: Option<i64>,
    pub urgent: bool,
    /// Later cut-offs of the same call.
    pub further_dates: Option<String>,
    pub rate: Option<String>,
    pub amount: Option<String>,
    pub applicants: String,
    pub summary: Option<String>,
    /// Handlungsfeld and project names the call fits.
    pub fits: Vec<String>,
    /// Match reasons, strongest match first, without repeats.
    pub reasons: Vec<String>,
    /// Other listings of the same call.
    pub other_links: Vec<OtherListing>,
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

impl Digest {
    pub(crate) fn build(config: &Config, pending: &PendingDigest<'_>, today: NaiveDate) -> Digest {
        let mut calls: Vec<DigestCall> = pending
            .entries
            .iter()
            .map(|(call, matches)| DigestCall::build(config, call, matches, today))
            .collect();
        // The key lower-cases the title: computed once per call, not per comparison.
        calls.sort_by_cached_key(urgency_key);
        let mut names: Vec<&str> = Vec::new();
        for (k, _) in &pending.recipient.roles {
            if !names.contains(&k.name.as_str()) {
                names.push(&k.name);
            }
        }
        let kommune_names = join_de(&names);
        let urgent = calls.iter().filter(|c| c.urgent).count();
        let subject = subject(&kommune_names, &calls);
        Digest {
            contact: pending.recipient.email.clone(),
            contact_name: pending.recipient.name.clone(),
            kommune: pending.recipient.roles[0].0.id.clone(),
            kommune_names,
            subject,
            urgent,
            urgent_days: URGENT_DAYS,
            calls,
            subscriptions: pending
                .recipient
                .roles
                .iter()
                .map(|(k, c)| SubscriptionLine {
                    kommune: k.name.clone(),
                    interests: describe_interests(config, &c.interests),
                })
                .collect(),
            admin: config.service.admin.clone(),
        }
    }
}

impl Digest {
    /// A digest with every optional field filled, so that rendering it touches each
    /// branch of a template: `check` finds a misspelt field in an override before a pass does.
    pub(crate) fn sample() -> Digest {
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
            summary: Some("Worum es geht.".into()),
            fits: vec!["Handlungsfeld „Verwaltung“".into()],
            reasons: vec!["Treffer: Serviceportal".into()],
            other_links: vec![OtherListing {
                source: "rss".into(),
                url: "https://example.org/auch".into(),
            }],
        };
        Digest {
            contact: "kontakt@example.org".into(),
            contact_name: "Kontakt".into(),
            kommune: "ahlen".into(),
            kommune_names: "Ahlen".into(),
            subject: "Förderradar: 1 neuer Förderaufruf für Ahlen".into(),
            urgent: 1,
            urgent_days: URGENT_DAYS,
            calls: vec![call],
            subscriptions: vec![SubscriptionLine {
                kommune: "Ahlen".into(),
                interests: "alle Handlungsfelder der Smart-Region-Strategie".into(),
            }],
            admin: "admin@example.org".into(),
        }
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

/// "Förderradar: 3 neue Förderaufrufe für Ahlen – Frist in 5 Tagen".
fn subject(kommune_names: &str, calls: &[DigestCall]) -> String {
    let count = match calls.len() {
        1 => "1 neuer Förderaufruf".to_string(),
        n => format!("{n} neue Förderaufrufe"),
    };
    let mut subject = format!("Förderradar: {count} für {kommune_names}");
    if let Some(days) = calls
        .iter()
        .filter_map(|c| c.days_left)
        .filter(|d| *d <= URGENT_DAYS)
        .min()
    {
        subject.push_str(" – ");
        subject.push_str(&deadline_hint(days));
    }
    subject
}

fn deadline_hint(days: i64) -> String {
    match days {
        0 => "Frist endet heute".into(),
        1 => "Frist endet morgen".into(),
        n => format!("Frist in {n} Tagen"),
    }
}

impl DigestCall {
    fn build(config: &Config, call: &Call, matches: &[Match], today: NaiveDate) -> DigestCall {
        let days_left = call.deadline.days_left(today);
        let mut ordered: Vec<&Match> = matches.iter().collect();
        ordered.sort_by(|a, b| b.score.total_cmp(&a.score));
        DigestCall {
            id: call.id.clone(),
            title: call.title.trim().to_string(),
            url: safe_link(&call.url),
            funder: call.funder.clone().filter(|f| !f.trim().is_empty()),
            deadline: deadline_text(&call.deadline, today),
            deadline_kind: call.deadline.kind(),
            days_left,
            urgent: days_left.is_some_and(|d| d <= URGENT_DAYS),
            further_dates: further_dates(&call.deadline, today),
            rate: call.funding_rate.map(|r| format_rate(Some(r))),
            amount: call.amount_max_eur.map(|a| format_amount(Some(a))),
            applicants: call.applicants.describe_de(),
            summary: shorten(&call.summary),
            fits: fits(config, &ordered),
            reasons: dedup(ordered.iter().flat_map(|m| m.reasons.iter().map(ToString::to_string))),
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
                .collect(),
        }
    }
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

/// What the call fits; a Handlungsfeld is not named again when one of its projects is.
fn fits(config: &Config, matches: &[&Match]) -> Vec<String> {
    let with_project: BTreeSet<&str> = matches
        .iter()
        .filter(|m| m.project.is_some())
        .map(|m| m.handlungsfeld.as_str())
        .collect();
    dedup(
        matches
            .iter()
            .filter(|m| m.project.is_some() || !with_project.contains(m.handlungsfeld.as_str()))
            .map(|m| fit_label(config, m)),
    )
}

/// "Projekt „Smarte Parkraumbewirtschaftung“ (Handlungsfeld Mobilität)" or "Handlungsfeld „Mobilität“".
fn fit_label(config: &Config, m: &Match) -> String {
    let field = config
        .strategy
        .handlungsfeld(&m.handlungsfeld)
        .map_or(m.handlungsfeld.as_str(), |h| h.name.as_str());
    match &m.project {
        Some(p) => {
            let project = config.strategy.project(p).map_or(p.as_str(), |p| p.name.as_str());
            format!("Projekt „{project}“ (Handlungsfeld {field})")
        }
        None => format!("Handlungsfeld „{field}“"),
    }
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

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
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
