//! On-demand reports: which calls fit the strategy, as of a day.
//!
//! [`build`] reads calls and their passed matches from the store and applies
//! the [`ReportQuery`]; [`render`] turns the [`Report`] into one of five
//! formats, each a [`ReportFormatter`]. JSON is for machines (its shape is a
//! contract); Markdown, CSV, HTML and iCalendar speak German to their readers.
//! [`overview`] condenses a report into the Lenkungskreis table
//! (Kommunen × Handlungsfelder).

mod csv;
mod html;
mod ics;
mod json;
mod markdown;
pub mod overview;
mod timeline;
mod view;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

pub use self::csv::CsvFormatter;
pub use self::html::HtmlFormatter;
pub use self::ics::IcsFormatter;
pub use self::json::JsonFormatter;
pub use self::markdown::MarkdownFormatter;

use crate::config::Config;
use crate::model::closure::call_closed_by_wording;
use crate::model::feedback::{FeedbackEntry, FeedbackSet};
use crate::model::text::sort_key_de;
use crate::model::{ApplicantCategory, Call, CallId, CallStatus, Deadline, DeadlineKind, Match, Region};
use crate::store::{CallFilter, FeedbackFilter, Store, StoreError};

/// What to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// The day the report is about: open calls and days left are counted from it.
    pub as_of: NaiveDate,
    /// Every stored call, closed or open, with or without matches.
    pub all: bool,
    /// Id or name of a Kommune, case-insensitive ("Telgte", "telgte").
    pub kommune: Option<String>,
    /// Id or name of a project, case-insensitive.
    pub project: Option<String>,
    /// Id or name of a Handlungsfeld, case-insensitive.
    pub handlungsfeld: Option<String>,
    /// Only calls whose next cut-off lies within this many days of `as_of`
    /// (0: closing on `as_of`); calls without a dated cut-off drop out.
    pub closing_within: Option<u32>,
    /// Only calls first seen on or after this day.
    pub since: Option<NaiveDate>,
    /// Keep calls a Kommune dismissed as a whole ("passt nicht" for all its contacts);
    /// by default they are left out for that Kommune.
    pub include_dismissed: bool,
}

impl ReportQuery {
    /// The default report: open calls with a passed match, no filters.
    pub fn new(as_of: NaiveDate) -> ReportQuery {
        ReportQuery {
            as_of,
            all: false,
            kommune: None,
            project: None,
            handlungsfeld: None,
            closing_within: None,
            since: None,
            include_dismissed: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown {what} '{id}' (known: {})", known.join(", "))]
    UnknownId {
        what: &'static str,
        id: String,
        known: Vec<String>,
    },
    #[error("the overview comes as html, md or json, not {0}")]
    OverviewFormat(ReportFormat),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read report template {}: {source}", path.display())]
    TemplateFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("report template {}: {source:#}", path.display())]
    Template {
        path: std::path::PathBuf,
        source: minijinja::Error,
    },
}

/// The report. Serialises to the JSON contract: `as_of` and `calls` only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub as_of: NaiveDate,
    pub calls: Vec<ReportCall>,
    /// Whether closed and unmatched calls were included.
    #[serde(skip)]
    pub all: bool,
    /// The filters applied, in German ("Kommune: Ahlen").
    #[serde(skip)]
    pub filters: Vec<String>,
    /// Whom the report is for, in German ("Kommune Telgte", "alle Kommunen").
    #[serde(skip)]
    pub audience: String,
    /// The Handlungsfelder in strategy order (sections, colours, overview columns).
    #[serde(skip)]
    pub handlungsfelder: Vec<Named>,
    /// The Kommunen the report is about, in config order (overview rows).
    #[serde(skip)]
    pub kommunen: Vec<Named>,
}

/// An id with its display name from the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// One call of the report with its passed matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportCall {
    pub id: CallId,
    pub title: String,
    /// The call's page, when it is a web link (see [`crate::model::safe_link`]).
    pub url: Option<String>,
    pub source: String,
    pub funder: Option<String>,
    /// The next cut-off on or after `as_of`.
    pub deadline: Option<NaiveDate>,
    pub deadline_kind: DeadlineKind,
    /// Every stated cut-off, in date order, with its stage label where the source gives one.
    pub deadlines: Vec<ReportDeadline>,
    /// Open, forthcoming or closed as of `as_of` (see [`ReportStatus`]).
    pub status: ReportStatus,
    pub applicants: Vec<ApplicantCategory>,
    pub regions: Vec<Region>,
    pub funding_rate_max: Option<f64>,
    pub amount_max_eur: Option<u64>,
    pub matches: Vec<ReportMatch>,
    /// The whole call, for the human-readable formats.
    #[serde(skip)]
    pub call: Call,
}

/// One cut-off of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDeadline {
    /// For a date that recurs every year, its next occurrence on or after `as_of`.
    pub date: NaiveDate,
    /// Time of day (local German time) where the source gives one.
    pub time: Option<chrono::NaiveTime>,
    /// The stage or module ("Phase 1", "Modul A"), if stated.
    pub label: Option<String>,
    /// The date recurs every year.
    pub annual: bool,
}

/// Whether a call can be applied for on `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// Neither closed nor announced as not yet open.
    Open,
    /// The source says the call has not opened yet.
    Forthcoming,
    /// The source says closed, every cut-off has passed, or the wording says the call is over.
    Closed,
}

impl ReportStatus {
    fn of(call: &Call, as_of: NaiveDate) -> ReportStatus {
        if call.status == CallStatus::Closed
            || !call.deadline.is_open(as_of)
            || call_closed_by_wording(call, as_of).is_some()
        {
            ReportStatus::Closed
        } else if call.status == CallStatus::Forthcoming {
            ReportStatus::Forthcoming
        } else {
            ReportStatus::Open
        }
    }
}

fn report_deadlines(deadline: &Deadline, as_of: NaiveDate) -> Vec<ReportDeadline> {
    let Deadline::Dates(dates) = deadline else {
        return Vec::new();
    };
    let mut out: Vec<ReportDeadline> = dates
        .iter()
        .map(|d| ReportDeadline {
            date: if d.annual {
                d.next_occurrence(as_of).unwrap_or(d.date)
            } else {
                d.date
            },
            time: d.time,
            label: d.label.clone(),
            annual: d.annual,
        })
        .collect();
    out.sort_by_key(|d| (d.date, d.time));
    out
}

/// A passed match, with display names resolved from the config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportMatch {
    pub handlungsfeld: String,
    pub project: Option<String>,
    pub score: f64,
    pub kommunen: Vec<String>,
    pub reasons: Vec<String>,
    #[serde(skip)]
    pub handlungsfeld_name: String,
    #[serde(skip)]
    pub project_name: Option<String>,
    #[serde(skip)]
    pub kommunen_names: Vec<String>,
}

/// Builds the report: by default the calls open on `as_of` with at least one
/// passed match; with `all` every stored call. Filters keep only the matches
/// they name, and only calls with such a match; with a Kommune filter each
/// match lists only that Kommune. `closing_within` and `since` narrow by the
/// call's next cut-off and first sighting. Ordered by next deadline (dated,
/// then rolling, then unknown, then expired), then title.
pub async fn build<S: Store>(store: &S, config: &Config, q: &ReportQuery) -> Result<Report, ReportError> {
    let filters = Filters::resolve(config, q)?;
    let dismissed = if q.include_dismissed {
        Dismissed::default()
    } else {
        Dismissed::load(store).await?
    };
    let mut passed: HashMap<CallId, Vec<Match>> = HashMap::new();
    for m in store.passed_matches().await? {
        if filters.keeps(&m)
            && let Some(m) = dismissed.withdraw(filters.narrow_kommunen(m))
        {
            passed.entry(m.call_id.clone()).or_default().push(m);
        }
    }
    let mut rows = Vec::new();
    for call in listed_calls(store, q, &filters, &passed).await? {
        let mut matches = passed.remove(&call.id).unwrap_or_default();
        let wanted = !matches.is_empty() || (q.all && !filters.narrows());
        let listed = q.all || (call.is_open(q.as_of) && ReportStatus::of(&call, q.as_of) != ReportStatus::Closed);
        if wanted && listed && in_window(&call, q) {
            matches.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then_with(|| a.handlungsfeld.cmp(&b.handlungsfeld))
            });
            rows.push(report_call(call, matches, config, q.as_of));
        }
    }
    rows.sort_by_cached_key(order_key);
    Ok(Report {
        as_of: q.as_of,
        calls: rows,
        all: q.all,
        filters: filters.describe(config, q),
        audience: filters.audience(config),
        handlungsfelder: config
            .strategy
            .handlungsfelder
            .iter()
            .map(|h| Named::new(&h.id, &h.name))
            .collect(),
        kommunen: config
            .kommunen
            .iter()
            .filter(|k| filters.kommune.as_ref().is_none_or(|id| *id == k.id))
            .map(|k| Named::new(&k.id, &k.name))
            .collect(),
    })
}

/// Above this many matched calls, one listing query is cheaper than a point read per call.
const POINT_READS_MAX: usize = 400;

/// The calls a report may list. A report that lists only matched calls reads just those
/// (a Kommune's report over 3,000 stored calls reads its 200, not all open ones); a
/// report of every call, or with more matched calls than point reads pay for, lists.
async fn listed_calls<S: Store>(
    store: &S,
    q: &ReportQuery,
    filters: &Filters,
    passed: &HashMap<CallId, Vec<Match>>,
) -> Result<Vec<Call>, ReportError> {
    let every_call = q.all && !filters.narrows();
    if every_call || passed.len() > POINT_READS_MAX {
        let open_on = (!q.all).then_some(q.as_of);
        return Ok(store
            .list_calls(&CallFilter {
                open_on,
                ..CallFilter::default()
            })
            .await?);
    }
    let mut calls = Vec::with_capacity(passed.len());
    for id in passed.keys() {
        calls.extend(store.get_call(id).await?);
    }
    Ok(calls)
}

impl Named {
    fn new(id: &str, name: &str) -> Named {
        Named {
            id: id.to_string(),
            name: name.to_string(),
        }
    }
}

/// The `closing_within` and `since` filters.
fn in_window(call: &Call, q: &ReportQuery) -> bool {
    let closing = q.closing_within.is_none_or(|days| {
        call.deadline
            .days_left(q.as_of)
            .is_some_and(|left| left <= i64::from(days))
    });
    let new_enough = q.since.is_none_or(|since| call.first_seen.date_naive() >= since);
    closing && new_enough
}

/// Dated first (soonest first), then rolling, then unknown, then expired; then title.
fn order_key(c: &ReportCall) -> (u8, Option<NaiveDate>, String, CallId) {
    let group = match (c.deadline, c.deadline_kind) {
        (Some(_), _) => 0,
        (None, DeadlineKind::Rolling) => 1,
        (None, DeadlineKind::Unknown) => 2,
        (None, DeadlineKind::Date) => 3,
    };
    let closed_on = c.call.deadline.last_date().filter(|_| group == 3);
    (group, c.deadline.or(closed_on), sort_key_de(&c.title), c.id.clone())
}

fn report_call(call: Call, matches: Vec<Match>, config: &Config, as_of: NaiveDate) -> ReportCall {
    ReportCall {
        id: call.id.clone(),
        title: call.title.clone(),
        url: crate::model::safe_link(&call.url),
        source: call.source.clone(),
        funder: call.funder.clone(),
        deadline: call.deadline.next_date(as_of),
        deadline_kind: call.deadline.kind(),
        deadlines: report_deadlines(&call.deadline, as_of),
        status: ReportStatus::of(&call, as_of),
        applicants: call.applicants.categories.iter().copied().collect(),
        regions: call.regions.clone(),
        funding_rate_max: call.funding_rate.map(|r| r.max),
        amount_max_eur: call.amount_max_eur,
        matches: matches.into_iter().map(|m| report_match(m, config)).collect(),
        call,
    }
}

fn report_match(m: Match, config: &Config) -> ReportMatch {
    let strategy = &config.strategy;
    ReportMatch {
        handlungsfeld_name: strategy
            .handlungsfeld(&m.handlungsfeld)
            .map_or_else(|| m.handlungsfeld.clone(), |h| h.name.clone()),
        project_name: m
            .project
            .as_ref()
            .map(|p| strategy.project(p).map_or_else(|| p.clone(), |p| p.name.clone())),
        kommunen_names: m
            .kommunen
            .iter()
            .map(|k| config.kommune(k).map_or_else(|| k.clone(), |k| k.name.clone()))
            .collect(),
        handlungsfeld: m.handlungsfeld,
        project: m.project,
        score: m.score,
        kommunen: m.kommunen,
        reasons: m.reasons.iter().map(ToString::to_string).collect(),
    }
}

/// Calls dismissed by whole Kommunen, per call.
#[derive(Default)]
struct Dismissed(HashMap<CallId, Vec<String>>);

impl Dismissed {
    /// Folds the Kommune-wide entries per Kommune (a later "passt" undoes a dismissal).
    async fn load<S: Store>(store: &S) -> Result<Dismissed, ReportError> {
        let mut by_kommune: HashMap<String, Vec<FeedbackEntry>> = HashMap::new();
        for e in store.feedback(&FeedbackFilter::default()).await? {
            if let (None, Some(k)) = (&e.contact, &e.kommune) {
                by_kommune.entry(k.clone()).or_default().push(e);
            }
        }
        let mut out: HashMap<CallId, Vec<String>> = HashMap::new();
        for (kommune, entries) in by_kommune {
            for call in FeedbackSet::from_entries(&entries).dismissed {
                out.entry(call).or_default().push(kommune.clone());
            }
        }
        Ok(Dismissed(out))
    }

    /// The match without the Kommunen that dismissed its call; `None` when none is left.
    fn withdraw(&self, mut m: Match) -> Option<Match> {
        let Some(kommunen) = self.0.get(&m.call_id) else {
            return Some(m);
        };
        let before = m.kommunen.len();
        m.kommunen.retain(|k| !kommunen.contains(k));
        (m.kommunen.len() == before || !m.kommunen.is_empty()).then_some(m)
    }
}

/// The query's filters, resolved to config ids.
struct Filters {
    kommune: Option<String>,
    project: Option<String>,
    handlungsfeld: Option<String>,
}

impl Filters {
    fn resolve(config: &Config, q: &ReportQuery) -> Result<Filters, ReportError> {
        let strategy = &config.strategy;
        let kommunen = config.kommunen.iter().map(|k| (k.id.as_str(), k.name.as_str()));
        let projects = strategy.projects.iter().map(|p| (p.id.as_str(), p.name.as_str()));
        let felder = strategy
            .handlungsfelder
            .iter()
            .map(|h| (h.id.as_str(), h.name.as_str()));
        Ok(Filters {
            kommune: known("Kommune", q.kommune.as_deref(), kommunen)?,
            project: known("project", q.project.as_deref(), projects)?,
            handlungsfeld: known("Handlungsfeld", q.handlungsfeld.as_deref(), felder)?,
        })
    }

    fn narrows(&self) -> bool {
        self.kommune.is_some() || self.project.is_some() || self.handlungsfeld.is_some()
    }

    fn keeps(&self, m: &Match) -> bool {
        self.kommune.as_ref().is_none_or(|k| m.kommunen.contains(k))
            && self.project.as_ref().is_none_or(|p| m.project.as_ref() == Some(p))
            && self.handlungsfeld.as_ref().is_none_or(|h| m.handlungsfeld == *h)
    }

    /// A report for one Kommune does not name the others a match is routed to.
    fn narrow_kommunen(&self, mut m: Match) -> Match {
        if let Some(k) = &self.kommune {
            m.kommunen.retain(|x| x == k);
        }
        m
    }

    fn audience(&self, config: &Config) -> String {
        match self.kommune.as_deref().and_then(|k| config.kommune(k)) {
            Some(k) => format!("Kommune {}", k.name),
            None => "alle Kommunen".to_string(),
        }
    }

    fn describe(&self, config: &Config, q: &ReportQuery) -> Vec<String> {
        let strategy = &config.strategy;
        let mut out = Vec::new();
        if let Some(k) = self.kommune.as_deref().and_then(|k| config.kommune(k)) {
            out.push(format!("Kommune: {}", k.name));
        }
        if let Some(h) = self.handlungsfeld.as_deref().and_then(|h| strategy.handlungsfeld(h)) {
            out.push(format!("Handlungsfeld: {}", h.name));
        }
        if let Some(p) = self.project.as_deref().and_then(|p| strategy.project(p)) {
            out.push(format!("Projekt: {}", p.name));
        }
        if let Some(days) = q.closing_within {
            out.push(format!("Frist in höchstens {days} Tagen"));
        }
        if let Some(since) = q.since {
            out.push(format!("neu seit {}", crate::model::german::format_date_de(since)));
        }
        if q.include_dismissed {
            out.push("einschließlich der als „passt nicht“ markierten Aufrufe".to_string());
        }
        out
    }
}

/// The config id that `given` names by id or by name, ignoring case.
fn known<'c>(
    what: &'static str,
    given: Option<&str>,
    entries: impl Iterator<Item = (&'c str, &'c str)>,
) -> Result<Option<String>, ReportError> {
    let Some(given) = given else { return Ok(None) };
    let wanted = given.trim().to_lowercase();
    let entries: Vec<(&str, &str)> = entries.collect();
    if let Some((id, _)) = entries
        .iter()
        .find(|(id, name)| id.to_lowercase() == wanted || name.to_lowercase() == wanted)
    {
        return Ok(Some(id.to_string()));
    }
    Err(ReportError::UnknownId {
        what,
        id: given.to_string(),
        known: entries.into_iter().map(|(id, _)| id.to_string()).collect(),
    })
}

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Markdown,
    Csv,
    Html,
    Ics,
}

impl ReportFormat {
    pub const NAMES: [&'static str; 5] = ["json", "md", "csv", "html", "ics"];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "md",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
            ReportFormat::Ics => "ics",
        }
    }

    fn formatter(self) -> Box<dyn ReportFormatter> {
        match self {
            ReportFormat::Json => Box::new(JsonFormatter),
            ReportFormat::Markdown => Box::new(MarkdownFormatter),
            ReportFormat::Csv => Box::new(CsvFormatter),
            ReportFormat::Html => Box::new(HtmlFormatter),
            ReportFormat::Ics => Box::new(IcsFormatter),
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(ReportFormat::Json),
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            "csv" => Ok(ReportFormat::Csv),
            "html" | "htm" => Ok(ReportFormat::Html),
            "ics" | "ical" => Ok(ReportFormat::Ics),
            other => Err(format!(
                "unknown report format '{other}' (known: {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// Renders a report in one format.
pub trait ReportFormatter {
    fn format(&self, report: &Report) -> String;
}

/// Renders with the embedded templates.
pub fn render(report: &Report, format: ReportFormat) -> String {
    format.formatter().format(report)
}

/// Renders like [`render`], with the HTML template replaced by
/// `<config_dir>/templates/report.html.j2` where that file exists.
pub fn render_with_overrides(
    report: &Report,
    format: ReportFormat,
    config_dir: &std::path::Path,
) -> Result<String, ReportError> {
    match format {
        ReportFormat::Html => html::format_with_override(report, config_dir),
        other => Ok(render(report, other)),
    }
}
