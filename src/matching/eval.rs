//! Measuring the rules against a labelled development set.
//!
//! A labelled set lists calls with the Handlungsfelder and projects they
//! should match (empty for hard negatives). Files are TOML, CSV or JSON,
//! chosen by extension; a directory loads every such file in it, sorted by
//! name. The format is documented in `tests/fixtures/devset/README.md`;
//! the access labels (`kommune_eligible`, `kreis_eligible`, `expired`) in
//! `tests/fixtures/labelled/README.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::Matcher;
use crate::config::{Interests, KommuneKind};
use crate::model::german::format_decimal;
use crate::model::reason::{Criterion, CriterionTopic};
use crate::model::{
    ApplicantCategory, Applicants, Call, CallId, CallStatus, Deadline, DeadlineDate, FundingRate, Region,
};

/// The labels a call should get.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub handlungsfelder: BTreeSet<String>,
    pub projects: BTreeSet<String>,
    /// Who may use the call and whether it is still open; `None` where not labelled.
    pub access: AccessLabels<Option<bool>>,
}

/// The three yes/no facts about a call besides its topics: may a Stadt or
/// Gemeinde of the Kreis apply, may the Kreis apply, and is the call over
/// (deadline passed or closed) on the evaluation day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessLabels<T> {
    pub kommune_eligible: T,
    pub kreis_eligible: T,
    pub expired: T,
}

impl<T: Copy> AccessLabels<T> {
    /// (German row label, value) in display order.
    fn rows(&self) -> [(&'static str, T); 3] {
        [
            ("Kommune antragsberechtigt", self.kommune_eligible),
            ("Kreis antragsberechtigt", self.kreis_eligible),
            ("abgelaufen", self.expired),
        ]
    }
}

/// Where a labelled call comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelledCall {
    /// Written in the file; its id comes from a synthetic URL.
    Inline(Box<Call>),
    /// A call in the store, to be resolved by the caller.
    Stored(CallId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelledItem {
    /// The item's id in the file.
    pub id: String,
    pub call: LabelledCall,
    pub expected: Expected,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelledSet {
    pub items: Vec<LabelledItem>,
}

impl LabelledSet {
    /// The inline items, ready for [`evaluate`].
    pub fn inline(&self) -> Vec<(Call, Expected)> {
        self.items
            .iter()
            .filter_map(|i| match &i.call {
                LabelledCall::Inline(c) => Some(((**c).clone(), i.expected.clone())),
                LabelledCall::Stored(_) => None,
            })
            .collect()
    }

    /// The items that reference stored calls.
    pub fn stored(&self) -> impl Iterator<Item = (&CallId, &Expected)> {
        self.items.iter().filter_map(|i| match &i.call {
            LabelledCall::Stored(id) => Some((id, &i.expected)),
            LabelledCall::Inline(_) => None,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: item '{item}': {message}")]
    Item {
        path: PathBuf,
        item: String,
        message: String,
    },
    #[error("{path}: unknown extension (use .toml, .csv or .json)")]
    Extension { path: PathBuf },
}

/// One item as written in TOML or JSON (CSV rows are mapped onto it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    /// A stored call id instead of the inline fields.
    call: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    text: String,
    funder: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    applicants: Vec<String>,
    #[serde(default)]
    applicants_raw: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    /// ISO dates, "laufend" or "unbekannt" (default).
    #[serde(default)]
    deadline: Vec<String>,
    status: Option<String>,
    funding_rate: Option<f64>,
    amount_max_eur: Option<u64>,
    /// Day the call was first seen (ISO); defaults to 2026-01-01.
    first_seen: Option<NaiveDate>,
    #[serde(default)]
    expect_handlungsfelder: Vec<String>,
    #[serde(default)]
    expect_projects: Vec<String>,
    kommune_eligible: Option<bool>,
    kreis_eligible: Option<bool>,
    expired: Option<bool>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    item: Vec<RawItem>,
}

/// Loads a labelled set from a `.toml`, `.csv` or `.json` file, or from every such file in a directory.
pub fn load_labelled(path: &Path) -> Result<LabelledSet, EvalError> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_item_file(p))
            .collect();
        files.sort();
        let mut set = LabelledSet::default();
        for f in files {
            set.items.extend(load_labelled(&f)?.items);
        }
        return Ok(set);
    }
    let content = std::fs::read_to_string(path).map_err(io)?;
    let parse = |message: String| EvalError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let raw: Vec<RawItem> = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => {
            toml::from_str::<RawFile>(&content)
                .map_err(|e| parse(e.to_string()))?
                .item
        }
        Some("json") => {
            serde_json::from_str::<RawFile>(&content)
                .map_err(|e| parse(e.to_string()))?
                .item
        }
        Some("csv") => csv_items(&content).map_err(parse)?,
        _ => {
            return Err(EvalError::Extension {
                path: path.to_path_buf(),
            });
        }
    };
    let items = raw.into_iter().map(|r| convert(r, path)).collect::<Result<_, _>>()?;
    Ok(LabelledSet { items })
}

/// The parts `path` stands for: itself, or, for a directory without item
/// files of its own, each subdirectory (sorted), e.g. `tune` and `measured`.
pub fn parts(path: &Path) -> Result<Vec<PathBuf>, EvalError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    if entries.iter().any(|p| p.is_file() && is_item_file(p)) {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut dirs: Vec<PathBuf> = entries.into_iter().filter(|p| p.is_dir()).collect();
    dirs.sort();
    if dirs.is_empty() {
        return Ok(vec![path.to_path_buf()]);
    }
    Ok(dirs)
}

fn is_item_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("toml" | "csv" | "json"))
}

/// CSV: one row per item, header names as in TOML; list cells are separated by `;`.
fn csv_items(content: &str) -> Result<Vec<RawItem>, String> {
    let mut reader = csv::Reader::from_reader(content.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| e.to_string())?;
        let mut item = RawItem::default();
        for (h, v) in headers.iter().zip(row.iter()) {
            set_csv_field(&mut item, h.trim(), v.trim()).map_err(|m| format!("row {}: {m}", n + 2))?;
        }
        out.push(item);
    }
    Ok(out)
}

fn set_csv_field(item: &mut RawItem, header: &str, v: &str) -> Result<(), String> {
    let list = || {
        v.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let opt = || (!v.is_empty()).then(|| v.to_string());
    let num = |what: &str| v.parse::<f64>().map_err(|_| format!("{what} '{v}' is not a number"));
    let flag = |what: &str| match v {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(format!("{what} '{v}' is not true or false")),
    };
    match header {
        "id" => item.id = v.into(),
        "call" => item.call = opt(),
        "title" => item.title = v.into(),
        "summary" => item.summary = v.into(),
        "text" => item.text = v.into(),
        "funder" => item.funder = opt(),
        "topics" => item.topics = list(),
        "applicants" => item.applicants = list(),
        "applicants_raw" => item.applicants_raw = list(),
        "regions" => item.regions = list(),
        "deadline" => item.deadline = list(),
        "status" => item.status = opt(),
        "funding_rate" if !v.is_empty() => item.funding_rate = Some(num("funding_rate")?),
        "amount_max_eur" if !v.is_empty() => item.amount_max_eur = Some(num("amount_max_eur")? as u64),
        "first_seen" if !v.is_empty() => {
            item.first_seen = Some(
                v.parse()
                    .map_err(|_| format!("first_seen '{v}' is not a date (YYYY-MM-DD)"))?,
            )
        }
        "expect_handlungsfelder" => item.expect_handlungsfelder = list(),
        "expect_projects" => item.expect_projects = list(),
        "kommune_eligible" => item.kommune_eligible = flag("kommune_eligible")?,
        "kreis_eligible" => item.kreis_eligible = flag("kreis_eligible")?,
        "expired" => item.expired = flag("expired")?,
        "note" => item.note = opt(),
        "funding_rate" | "amount_max_eur" | "first_seen" => {}
        other => return Err(format!("unknown column '{other}'")),
    }
    Ok(())
}

fn convert(r: RawItem, path: &Path) -> Result<LabelledItem, EvalError> {
    let fail = |message: String| EvalError::Item {
        path: path.to_path_buf(),
        item: r.id.clone(),
        message,
    };
    if r.id.trim().is_empty() {
        return Err(fail("missing id".into()));
    }
    let expected = Expected {
        handlungsfelder: r.expect_handlungsfelder.iter().cloned().collect(),
        projects: r.expect_projects.iter().cloned().collect(),
        access: AccessLabels {
            kommune_eligible: r.kommune_eligible,
            kreis_eligible: r.kreis_eligible,
            expired: r.expired,
        },
    };
    let call = match &r.call {
        Some(id) if id.starts_with("c-") => LabelledCall::Stored(CallId(id.clone())),
        Some(id) => return Err(fail(format!("call '{id}' is not a call id (c-…)"))),
        None if r.title.trim().is_empty() => {
            return Err(fail("an inline call needs a title".into()));
        }
        None => LabelledCall::Inline(Box::new(inline_call(&r).map_err(fail)?)),
    };
    Ok(LabelledItem {
        id: r.id.clone(),
        call,
        expected,
        note: r.note.clone(),
    })
}

fn inline_call(r: &RawItem) -> Result<Call, String> {
    let seen: DateTime<Utc> = r
        .first_seen
        .unwrap_or(NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"))
        .and_time(Default::default())
        .and_utc();
    let mut c = Call::new(
        "devset",
        format!("https://devset.foerderradar.invalid/{}", r.id),
        r.title.trim(),
        seen,
    );
    c.summary = r.summary.trim().to_string();
    c.text = r.text.trim().to_string();
    c.funder = r.funder.clone();
    c.topics = r.topics.clone();
    let categories = r
        .applicants
        .iter()
        .map(|a| a.parse::<ApplicantCategory>())
        .collect::<Result<_, _>>()?;
    c.applicants = Applicants {
        categories,
        raw: r.applicants_raw.clone(),
    };
    c.regions = r
        .regions
        .iter()
        .map(|s| Region::try_from(s.clone()))
        .collect::<Result<_, _>>()?;
    c.deadline = deadline(&r.deadline)?;
    c.status = r.status.as_deref().map_or(Ok(CallStatus::Unknown), str::parse)?;
    c.funding_rate = r.funding_rate.map(|max| FundingRate { min: None, max });
    c.amount_max_eur = r.amount_max_eur;
    Ok(c.seal())
}

fn deadline(values: &[String]) -> Result<Deadline, String> {
    match values {
        [] => Ok(Deadline::Unknown),
        [one] if one == "unbekannt" => Ok(Deadline::Unknown),
        [one] if one == "laufend" => Ok(Deadline::Rolling),
        dates => dates
            .iter()
            .map(|d| {
                d.parse::<NaiveDate>()
                    .map(DeadlineDate::on)
                    .map_err(|_| format!("deadline '{d}': use YYYY-MM-DD, 'laufend' or 'unbekannt'"))
            })
            .collect::<Result<_, _>>()
            .map(Deadline::Dates),
    }
}

/// Counts for one label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelScore {
    pub label: String,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl LabelScore {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

/// An empty denominator means nothing to get wrong: 1.0.
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissKind {
    FalsePositive,
    FalseNegative,
}

/// A wrong label with the matcher's own account of it.
#[derive(Debug, Clone)]
pub struct EvalMiss {
    pub call: String,
    pub label: String,
    pub kind: MissKind,
    /// One line per relevant profile: score, hits, failed criteria.
    pub explanation: Vec<String>,
}

/// Agreement on one yes/no access label, over the items that carry it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BinaryScore {
    pub label: String,
    /// Said yes and labelled yes.
    pub tp: usize,
    /// Said yes, labelled no.
    pub fp: usize,
    /// Said no, labelled yes.
    pub fn_: usize,
    /// Said no and labelled no.
    pub tn: usize,
}

impl BinaryScore {
    pub fn labelled(&self) -> usize {
        self.tp + self.fp + self.fn_ + self.tn
    }
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.labelled())
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

/// An access label the matcher got wrong.
#[derive(Debug, Clone)]
pub struct AccessMiss {
    pub call: String,
    pub label: &'static str,
    pub expected: bool,
}

#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    pub calls: usize,
    pub handlungsfelder: Vec<LabelScore>,
    pub projects: Vec<LabelScore>,
    pub misses: Vec<EvalMiss>,
    /// Kommune eligibility, Kreis eligibility and expiry; rows without labels count zero.
    pub access: Vec<BinaryScore>,
    pub access_misses: Vec<AccessMiss>,
}

impl EvalReport {
    fn micro(rows: &[LabelScore]) -> LabelScore {
        rows.iter().fold(
            LabelScore {
                label: "Mikro".into(),
                ..Default::default()
            },
            |mut acc, r| {
                acc.tp += r.tp;
                acc.fp += r.fp;
                acc.fn_ += r.fn_;
                acc
            },
        )
    }

    pub fn micro_handlungsfelder(&self) -> LabelScore {
        Self::micro(&self.handlungsfelder)
    }

    pub fn micro_projects(&self) -> LabelScore {
        Self::micro(&self.projects)
    }

    /// Micro average over Handlungsfeld and project labels together.
    pub fn micro_all(&self) -> LabelScore {
        let mut all = self.handlungsfelder.clone();
        all.extend(self.projects.iter().cloned());
        Self::micro(&all)
    }
}

/// Runs the matcher over labelled calls and scores its passed matches.
/// A Handlungsfeld counts as predicted when its own profile or one of its projects passes.
pub fn evaluate(matcher: &Matcher, items: &[(Call, Expected)], today: NaiveDate) -> EvalReport {
    let mut hf_rows: BTreeMap<String, LabelScore> = matcher
        .profiles
        .iter()
        .map(|p| (p.handlungsfeld.clone(), LabelScore::default()))
        .collect();
    let mut project_rows: BTreeMap<String, LabelScore> = matcher
        .profiles
        .iter()
        .filter_map(|p| p.project.clone())
        .map(|p| (p, LabelScore::default()))
        .collect();
    let mut misses = Vec::new();
    let mut access: Vec<BinaryScore> = AccessLabels::<()>::default()
        .rows()
        .iter()
        .map(|(label, ())| BinaryScore {
            label: (*label).into(),
            ..Default::default()
        })
        .collect();
    let mut access_misses = Vec::new();
    for (call, expected) in items {
        if expected.access.rows().iter().any(|(_, v)| v.is_some()) {
            let got = predict_access(matcher, call, today);
            for ((row, (label, want)), (_, said)) in access.iter_mut().zip(expected.access.rows()).zip(got.rows()) {
                let Some(want) = want else { continue };
                match (said, want) {
                    (true, true) => row.tp += 1,
                    (true, false) => row.fp += 1,
                    (false, true) => row.fn_ += 1,
                    (false, false) => row.tn += 1,
                }
                if said != want {
                    access_misses.push(AccessMiss {
                        call: format!("{} ({})", call.title, call.id),
                        label,
                        expected: want,
                    });
                }
            }
        }
        let passed: Vec<_> = matcher
            .match_call(call, today)
            .into_iter()
            .filter(|m| m.passed)
            .collect();
        let got_hf: BTreeSet<String> = passed.iter().map(|m| m.handlungsfeld.clone()).collect();
        let got_projects: BTreeSet<String> = passed.iter().filter_map(|m| m.project.clone()).collect();
        tally(&mut hf_rows, &got_hf, &expected.handlungsfelder, |label, kind| {
            misses.push(miss(matcher, call, today, label, kind, true));
        });
        tally(&mut project_rows, &got_projects, &expected.projects, |label, kind| {
            misses.push(miss(matcher, call, today, label, kind, false));
        });
    }
    let finish =
        |rows: BTreeMap<String, LabelScore>| rows.into_iter().map(|(label, s)| LabelScore { label, ..s }).collect();
    EvalReport {
        calls: items.len(),
        handlungsfelder: finish(hf_rows),
        projects: finish(project_rows),
        misses,
        access,
        access_misses,
    }
}

/// What the matcher's criteria say about a call, independent of its topics:
/// a Stadt or Gemeinde (resp. the Kreis) is eligible when the strategy's
/// applicant and region criteria hold and a Handlungsfeld profile would route
/// the call to at least one of them (membership regions count); the call is
/// expired when a deadline criterion fails for any reason but a too short lead
/// time. Read from [`Matcher::explain`], so it follows whatever the criteria
/// and the routing decide.
pub fn predict_access(matcher: &Matcher, call: &Call, today: NaiveDate) -> AccessLabels<bool> {
    let explanation = matcher.explain(call, today, None, None);
    let profiles: Vec<_> = explanation.profiles.iter().filter(|p| p.project.is_none()).collect();
    let Some(first) = profiles.first() else {
        return AccessLabels::default();
    };
    let holds = |topic: CriterionTopic| {
        first
            .criteria
            .iter()
            .filter(|c| c.criterion.topic() == topic)
            .all(|c| c.passed)
    };
    let usable = holds(CriterionTopic::Applicants) && holds(CriterionTopic::Region);
    let is_kreis = |id: &str| {
        matcher
            .kommunen
            .iter()
            .any(|k| k.id == id && k.kind == KommuneKind::Kreis)
    };
    let routed = |kreis: bool| {
        usable
            && profiles
                .iter()
                .any(|p| p.kommunen.iter().any(|k| k.routed && is_kreis(&k.id) == kreis))
    };
    let expired = first.criteria.iter().any(|c| {
        !c.passed
            && c.criterion.topic() == CriterionTopic::Deadline
            && !matches!(c.criterion, Criterion::DeadlineTooSoon { .. })
    });
    AccessLabels {
        kommune_eligible: routed(false),
        kreis_eligible: routed(true),
        expired,
    }
}

fn tally(
    rows: &mut BTreeMap<String, LabelScore>,
    got: &BTreeSet<String>,
    want: &BTreeSet<String>,
    mut on_miss: impl FnMut(&str, MissKind),
) {
    for label in got.union(want) {
        let row = rows.entry(label.clone()).or_default();
        match (got.contains(label), want.contains(label)) {
            (true, true) => row.tp += 1,
            (true, false) => {
                row.fp += 1;
                on_miss(label, MissKind::FalsePositive);
            }
            (false, true) => {
                row.fn_ += 1;
                on_miss(label, MissKind::FalseNegative);
            }
            (false, false) => {}
        }
    }
}

fn miss(matcher: &Matcher, call: &Call, today: NaiveDate, label: &str, kind: MissKind, is_hf: bool) -> EvalMiss {
    let explanation = matcher.explain(call, today, Some(label), None);
    let lines = explanation
        .profiles
        .iter()
        .filter(|p| !is_hf || kind == MissKind::FalseNegative || p.passed)
        .map(|p| p.summary_line())
        .collect();
    EvalMiss {
        call: format!("{} ({})", call.title, call.id),
        label: label.to_string(),
        kind,
        explanation: lines,
    }
}

/// One recipient's last word on one call ("passt" or "passt nicht"), with the
/// subscription it was given under.
#[derive(Debug, Clone)]
pub struct Judgment {
    pub call: Call,
    /// Who said it: a contact's address, or the Kommune for a Kommune-wide entry.
    pub who: String,
    /// The Kommune whose routing counts.
    pub kommune: String,
    /// The subscription: the contact's (or the Kommune's) interests …
    pub interests: Interests,
    /// … narrowed to the Handlungsfelder the contact still follows (`None`: all).
    pub follows: Option<BTreeSet<String>>,
    /// "passt" (true) or "passt nicht" (false).
    pub fits: bool,
}

/// The rules measured on what recipients said.
#[derive(Debug, Clone, Default)]
pub struct FeedbackReport {
    pub passt: usize,
    pub passt_nicht: usize,
    /// Per Handlungsfeld: TP = matched and "passt", FP = matched and "passt nicht".
    pub handlungsfelder: Vec<LabelScore>,
    /// "passt", but the rules no longer deliver the call to that recipient.
    pub lost: Vec<String>,
    /// "passt nicht", and the rules no longer deliver it: the complaint is fixed.
    pub fixed: usize,
    /// One line per (call, Handlungsfeld) the rules still deliver against a "passt nicht".
    pub false_positives: Vec<String>,
    /// Entries that could not be judged (call or contact gone), with why.
    pub skipped: Vec<String>,
}

impl FeedbackReport {
    pub fn micro(&self) -> LabelScore {
        EvalReport::micro(&self.handlungsfelder)
    }
}

/// Turns stored feedback into labels: for each judgment, the Handlungsfelder the
/// current rules deliver to that recipient (passed, routed to the Kommune,
/// subscribed) are correct after "passt" and false positives after "passt nicht".
pub fn evaluate_feedback(matcher: &Matcher, judgments: &[Judgment], today: NaiveDate) -> FeedbackReport {
    let mut rows: BTreeMap<String, LabelScore> = matcher
        .profiles
        .iter()
        .map(|p| (p.handlungsfeld.clone(), LabelScore::default()))
        .collect();
    let mut r = FeedbackReport::default();
    for j in judgments {
        let delivered: BTreeSet<String> = matcher
            .match_call(&j.call, today)
            .into_iter()
            .filter(|m| m.passed && m.kommunen.contains(&j.kommune))
            .filter(|m| j.interests.covers(&m.handlungsfeld, m.project.as_deref()))
            .filter(|m| j.follows.as_ref().is_none_or(|f| f.contains(&m.handlungsfeld)))
            .map(|m| m.handlungsfeld)
            .collect();
        let who = format!("{} ({}) für {}", j.call.title, j.call.id, j.who);
        if j.fits {
            r.passt += 1;
            if delivered.is_empty() {
                r.lost.push(who);
            }
            for hf in &delivered {
                rows.entry(hf.clone()).or_default().tp += 1;
            }
        } else {
            r.passt_nicht += 1;
            if delivered.is_empty() {
                r.fixed += 1;
            }
            for hf in &delivered {
                rows.entry(hf.clone()).or_default().fp += 1;
                r.false_positives.push(format!("{who} → {hf}"));
            }
        }
    }
    r.handlungsfelder = rows.into_iter().map(|(label, s)| LabelScore { label, ..s }).collect();
    r
}

impl fmt::Display for FeedbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passt + self.passt_nicht == 0 {
            writeln!(f, "Keine „passt“- oder „passt nicht“-Rückmeldungen gespeichert.")?;
            for line in &self.skipped {
                writeln!(f, "- nicht ausgewertet: {line}")?;
            }
            return Ok(());
        }
        writeln!(
            f,
            "Rückmeldungen: {} × „passt“, {} × „passt nicht“",
            self.passt, self.passt_nicht
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<32} {:>6} {:>12} {:>9}",
            "Handlungsfeld", "passt", "passt nicht", "Präzision"
        )?;
        for r in self.handlungsfelder.iter().chain([&self.micro()]) {
            writeln!(f, "{:<32} {:>6} {:>12} {:>9}", r.label, r.tp, r.fp, pct(r.precision()))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Präzision nach Rückmeldungen: {} über (Aufruf, Handlungsfeld)-Paare, die die Regeln heute zustellen",
            pct(self.micro().precision())
        )?;
        writeln!(
            f,
            "„passt nicht“, heute nicht mehr zugestellt: {}; „passt“, heute nicht mehr zugestellt: {}",
            self.fixed,
            self.lost.len()
        )?;
        for (heading, list) in [
            ("Heute zugestellt trotz „passt nicht“", &self.false_positives),
            ("Nicht mehr zugestellt trotz „passt“", &self.lost),
            ("Nicht ausgewertet", &self.skipped),
        ] {
            if !list.is_empty() {
                writeln!(f)?;
                writeln!(f, "{heading} ({}):", list.len())?;
                for line in list {
                    writeln!(f, "- {line}")?;
                }
            }
        }
        Ok(())
    }
}

fn pct(v: f64) -> String {
    format_decimal(v, 2)
}

fn table(f: &mut fmt::Formatter<'_>, heading: &str, rows: &[LabelScore], micro: &LabelScore) -> fmt::Result {
    writeln!(
        f,
        "{heading:<32} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6}",
        "TP", "FP", "FN", "Präzision", "Recall", "F1"
    )?;
    for r in rows.iter().chain([micro]) {
        writeln!(
            f,
            "{:<32} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6}",
            r.label,
            r.tp,
            r.fp,
            r.fn_,
            pct(r.precision()),
            pct(r.recall()),
            pct(r.f1())
        )?;
    }
    Ok(())
}

impl EvalReport {
    /// The tables only, without the list of wrong labels.
    pub fn tables(&self) -> Tables<'_> {
        Tables(self)
    }

    fn write_tables(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Auswertung über {} Aufrufe", self.calls)?;
        writeln!(f)?;
        table(f, "Handlungsfeld", &self.handlungsfelder, &self.micro_handlungsfelder())?;
        writeln!(f)?;
        table(f, "Projekt", &self.projects, &self.micro_projects())?;
        let all = self.micro_all();
        writeln!(f)?;
        writeln!(
            f,
            "Mikro-Mittel gesamt: Präzision {}, Recall {}, F1 {}",
            pct(all.precision()),
            pct(all.recall()),
            pct(all.f1())
        )?;
        if self.access.iter().any(|r| r.labelled() > 0) {
            writeln!(f)?;
            access_table(f, &self.access)?;
        }
        Ok(())
    }

    fn write_misses(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, heading) in [
            (MissKind::FalsePositive, "Falsch positiv"),
            (MissKind::FalseNegative, "Falsch negativ"),
        ] {
            let list: Vec<_> = self.misses.iter().filter(|m| m.kind == kind).collect();
            writeln!(f)?;
            writeln!(f, "{heading} ({}):", list.len())?;
            for m in list {
                writeln!(f, "- {} → {}", m.call, m.label)?;
                for line in &m.explanation {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        if !self.access_misses.is_empty() {
            writeln!(f)?;
            writeln!(f, "Zugang falsch ({}):", self.access_misses.len())?;
            for m in &self.access_misses {
                let (said, want) = if m.expected { ("nein", "ja") } else { ("ja", "nein") };
                writeln!(f, "- {} → {}: erkannt {said}, erwartet {want}", m.call, m.label)?;
            }
        }
        Ok(())
    }
}

/// One line per part: the Handlungsfeld-pair figures and the access accuracies.
pub struct Overview<'a>(pub &'a [(String, EvalReport)]);

impl fmt::Display for Overview<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.0.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(4).max(4);
        write!(
            f,
            "{:<width$} {:>8} {:>9} {:>7} {:>6} {:>10}",
            "Teil", "Aufrufe", "Präzision", "Recall", "F1", "F1 gesamt"
        )?;
        // Accuracy of the access labels (items labelled).
        for label in ["Kommune ber.", "Kreis ber.", "abgelaufen"] {
            write!(f, " {label:>12}")?;
        }
        writeln!(f)?;
        for (name, r) in self.0 {
            let hf = r.micro_handlungsfelder();
            write!(
                f,
                "{name:<width$} {:>8} {:>9} {:>7} {:>6} {:>10}",
                r.calls,
                pct(hf.precision()),
                pct(hf.recall()),
                pct(hf.f1()),
                pct(r.micro_all().f1())
            )?;
            for row in &r.access {
                let cell = if row.labelled() == 0 {
                    "–".to_string()
                } else {
                    format!("{} ({})", pct(row.accuracy()), row.labelled())
                };
                write!(f, " {cell:>12}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// [`EvalReport::tables`]: the report without its list of wrong labels.
pub struct Tables<'a>(&'a EvalReport);

impl fmt::Display for Tables<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_tables(f)
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_tables(f)?;
        self.write_misses(f)
    }
}

fn access_table(f: &mut fmt::Formatter<'_>, rows: &[BinaryScore]) -> fmt::Result {
    writeln!(
        f,
        "{:<32} {:>5} {:>4} {:>4} {:>4} {:>4} {:>11} {:>9} {:>7}",
        "Zugang", "Items", "TP", "FP", "FN", "TN", "Genauigkeit", "Präzision", "Recall"
    )?;
    for r in rows.iter().filter(|r| r.labelled() > 0) {
        writeln!(
            f,
            "{:<32} {:>5} {:>4} {:>4} {:>4} {:>4} {:>11} {:>9} {:>7}",
            r.label,
            r.labelled(),
            r.tp,
            r.fp,
            r.fn_,
            r.tn,
            pct(r.accuracy()),
            pct(r.precision()),
            pct(r.recall())
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn loads_toml_json_and_csv_alike() {
        let dir = tempfile::tempdir().unwrap();
        let toml = write(
            dir.path(),
            "a.toml",
            r#"
[[item]]
id = "gigabit"
title = "Gigabitförderung"
applicants = ["kommune"]
regions = ["bundesweit"]
deadline = ["2026-06-30"]
funding_rate = 90
expect_handlungsfelder = ["digitale-infrastruktur"]

[[item]]
id = "stored"
call = "c-0123456789abcdef"
"#,
        );
        let json = write(
            dir.path(),
            "b.json",
            r#"{"item": [{"id": "gigabit", "title": "Gigabitförderung", "applicants": ["kommune"], "regions": ["bundesweit"],
                "deadline": ["2026-06-30"], "funding_rate": 90, "expect_handlungsfelder": ["digitale-infrastruktur"]}]}"#,
        );
        let csv = write(
            dir.path(),
            "c.csv",
            "id,title,applicants,regions,deadline,funding_rate,expect_handlungsfelder\ngigabit,Gigabitförderung,kommune,bundesweit,2026-06-30,90,digitale-infrastruktur\n",
        );
        let t = load_labelled(&toml).unwrap();
        assert_eq!(t.items.len(), 2);
        assert_eq!(t.stored().next().unwrap().0.as_str(), "c-0123456789abcdef");
        let inline = t.inline();
        assert_eq!(inline.len(), 1);
        assert_eq!(
            inline[0].0.deadline,
            Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap())])
        );
        assert_eq!(
            inline[0].0.id,
            CallId::from_url("https://devset.foerderradar.invalid/gigabit")
        );
        assert_eq!(load_labelled(&json).unwrap().inline(), inline);
        assert_eq!(load_labelled(&csv).unwrap().inline(), inline);
        assert_eq!(load_labelled(dir.path()).unwrap().items.len(), 4);
    }

    #[test]
    fn bad_items_name_file_and_item() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "x.toml",
            "[[item]]\nid = \"x\"\ntitle = \"T\"\ndeadline = [\"31.03.2026\"]\n",
        );
        let e = load_labelled(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("x.toml: item 'x': deadline '31.03.2026': use YYYY-MM-DD, 'laufend' or 'unbekannt'"),
            "{e}"
        );
        let p = write(
            dir.path(),
            "y.toml",
            "[[item]]\nid = \"y\"\ntitle = \"T\"\napplicants = [\"gemeinde\"]\n",
        );
        assert!(
            load_labelled(&p)
                .unwrap_err()
                .to_string()
                .contains("unknown applicant category 'gemeinde'")
        );
        let p = write(dir.path(), "z.yaml", "");
        assert!(matches!(load_labelled(&p), Err(EvalError::Extension { .. })));
    }

    #[test]
    fn access_labels_load_from_toml_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let toml = write(
            dir.path(),
            "a.toml",
            "[[item]]\nid = \"a\"\ntitle = \"T\"\nkommune_eligible = true\nkreis_eligible = false\nexpired = false\n\n[[item]]\nid = \"b\"\ntitle = \"U\"\n",
        );
        let set = load_labelled(&toml).unwrap();
        let want = AccessLabels {
            kommune_eligible: Some(true),
            kreis_eligible: Some(false),
            expired: Some(false),
        };
        assert_eq!(set.items[0].expected.access, want);
        assert_eq!(set.items[1].expected.access, AccessLabels::default());
        let csv = write(
            dir.path(),
            "b.csv",
            "id,title,kommune_eligible,kreis_eligible,expired\na,T,true,false,false\n",
        );
        assert_eq!(load_labelled(&csv).unwrap().items[0].expected.access, want);
        let bad = write(dir.path(), "c.csv", "id,title,expired\na,T,ja\n");
        let e = load_labelled(&bad).unwrap_err().to_string();
        assert!(e.ends_with("c.csv: row 2: expired 'ja' is not true or false"), "{e}");
    }

    fn matcher() -> Matcher {
        Matcher::new(&super::super::tests::config_with(
            vec![],
            super::super::tests::criteria(),
        ))
        .unwrap()
    }

    fn call_for(applicants: &[ApplicantCategory], region: &str, deadline: Deadline) -> Call {
        let mut c = Call::new("t", "https://t.example/access", "Gigabitförderung", Utc::now());
        c.applicants.categories = applicants.iter().copied().collect();
        c.regions = vec![Region::try_from(region.to_string()).unwrap()];
        c.deadline = deadline;
        c
    }

    fn access(c: &Call) -> (bool, bool, bool) {
        let a = predict_access(&matcher(), c, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        (a.kommune_eligible, a.kreis_eligible, a.expired)
    }

    #[test]
    fn the_kreis_is_not_eligible_when_the_summary_names_only_towns() {
        use ApplicantCategory::{Kommune, Kreis};
        let with = |categories: &[ApplicantCategory], summary: &str, raw: &[&str]| {
            let mut c = call_for(categories, "Nordrhein-Westfalen", Deadline::Rolling);
            c.summary = summary.into();
            c.applicants.raw = raw.iter().map(|r| r.to_string()).collect();
            access(&c)
        };
        let towns = "Städte und Gemeinden erhalten Zuschüsse für ihre Ortskerne.";
        assert_eq!(with(&[Kommune], towns, &[]), (true, false, false));
        assert_eq!(
            with(&[Kommune], "Gemeinden erhalten eine Pauschale.", &[]),
            (true, false, false)
        );
        // A wider body next to them, in the summary or the source's phrases, keeps the Kreis.
        assert_eq!(
            with(&[Kommune], "Städte, Gemeinden und Kreise erhalten Zuschüsse.", &[]),
            (true, true, false)
        );
        assert_eq!(
            with(&[Kommune], towns, &["Gemeinden und Gemeindeverbände"]),
            (true, true, false)
        );
        assert_eq!(
            with(&[Kommune], "Kommunen erhalten Zuschüsse.", &[]),
            (true, true, false)
        );
        // "in Städten" is a place; a record that names the Kreis decides by itself.
        assert_eq!(
            with(&[Kommune], "Projekte in Städten werden gefördert.", &[]),
            (true, true, false)
        );
        assert_eq!(with(&[Kommune, Kreis], towns, &[]), (true, true, false));
        // In a LEADER region the Kreis is a member of the LAG.
        let mut leader = call_for(&[Kommune], "LEADER-Region 9Plus", Deadline::Rolling);
        leader.summary = "Vereine und Gemeinden reichen Kleinprojekte ein.".into();
        assert_eq!(access(&leader), (true, true, false));
    }

    #[test]
    fn the_kreis_is_not_eligible_when_the_texts_applicant_sentence_names_only_towns() {
        use ApplicantCategory::Kommune;
        let with = |summary: &str, text: &str| {
            let mut c = call_for(&[Kommune], "Nordrhein-Westfalen", Deadline::Rolling);
            c.summary = summary.into();
            c.text = text.into();
            access(&c)
        };
        let summary = "Kommunen erhalten Zuschüsse für Masten in unterversorgten Ortsteilen.";
        // The applicant sentence decides over the summary's "Kommunen".
        assert_eq!(
            with(
                summary,
                "Gefördert werden Grundstücke. Antragsberechtigt sind Städte und Gemeinden."
            ),
            (true, false, false)
        );
        // Places and roles do not widen it: "im Kreis", "in den Kreisen", "als Träger".
        for text in [
            "Antragsberechtigt sind die 13 Städte und Gemeinden im Kreis Warendorf.",
            "Antragsberechtigt sind die Städte und Gemeinden im Verbandsgebiet, also in den Kreisen Borken und Warendorf.",
            "Antragsberechtigt sind Gemeinden als Träger des Brandschutzes.",
            "Antragsberechtigt sind Gemeinden und Städte; Kreise sind nicht antragsberechtigt.",
        ] {
            assert_eq!(with(summary, text), (true, false, false), "{text}");
        }
        // A wider body among the applicants keeps the Kreis, whatever the summary says.
        for text in [
            "Antragsberechtigt sind Gemeinden und Kreise für eigene Gebäude.",
            "Antragsberechtigt sind Städte, Gemeinden und Gemeindeverbände.",
            "Antragsberechtigt sind Kommunen und gemeinnützige Träger.",
        ] {
            assert_eq!(
                with("Städte und Gemeinden erhalten Zuschüsse.", text),
                (true, true, false),
                "{text}"
            );
        }
        // Without an applicant sentence the summary decides as before.
        assert_eq!(with(summary, "Gefördert werden Masten."), (true, true, false));
    }

    #[test]
    fn a_city_size_floor_in_the_wording_keeps_smaller_kommunen_and_the_kreis_out() {
        use ApplicantCategory::Kommune;
        let with = |text: &str| {
            let mut c = call_for(&[Kommune], "bundesweit", Deadline::Rolling);
            c.text = text.into();
            access(&c)
        };
        // Above every Kommune of the Kreis (Ahlen, the largest, has about 53,000).
        for text in [
            "Eligibility: cities of EU Member States and associated countries with more than 100,000 inhabitants.",
            "Antragsberechtigt sind Städte mit mehr als 100.000 Einwohnern.",
        ] {
            assert_eq!(with(text), (false, false, false), "{text}");
        }
        // A floor that Ahlen passes: the Kommune is eligible, the Kreis is no town.
        assert_eq!(
            with("Antragsberechtigt sind Gemeinden ab 20.000 Einwohnern."),
            (true, false, false)
        );
        // A floor for Kommunen: the Kreis counts by its own population.
        assert_eq!(
            with("Antragsberechtigt sind Kommunen mit mehr als 50.000 Einwohnern."),
            (true, true, false)
        );
        // A region's size is no floor.
        assert_eq!(
            with("Die Region hat mehr als 200.000 Einwohner. Antragsberechtigt sind Kommunen."),
            (true, true, false)
        );
    }

    #[test]
    fn access_follows_the_criteria_and_the_routing() {
        use ApplicantCategory::{Kommune, Kreis, Unternehmen};
        let on = |d: u32| Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2026, 12, d).unwrap())]);
        assert_eq!(
            access(&call_for(&[Kommune], "Nordrhein-Westfalen", Deadline::Rolling)),
            (true, true, false)
        );
        assert_eq!(
            access(&call_for(&[Kreis], "bundesweit", Deadline::Rolling)),
            (false, true, false)
        );
        assert_eq!(
            access(&call_for(&[Unternehmen], "bundesweit", Deadline::Rolling)),
            (false, false, false)
        );
        assert_eq!(
            access(&call_for(&[Kommune], "Bayern", Deadline::Unknown)),
            (false, false, false)
        );
        // A LEADER call reaches its members: Beelen and the Kreis are, Ahlen is not.
        assert_eq!(
            access(&call_for(&[Kommune], "LEADER-Region 9Plus", Deadline::Rolling)),
            (true, true, false)
        );
        // Past is expired; closing in three days is too soon but not expired.
        let past = Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2025, 6, 30).unwrap())]);
        assert!(access(&call_for(&[Kommune], "bundesweit", past)).2);
        assert!(!access(&call_for(&[Kommune], "bundesweit", on(4))).2);
        let mut closed = call_for(&[Kommune], "bundesweit", Deadline::Unknown);
        closed.status = CallStatus::Closed;
        assert!(access(&closed).2);
    }

    #[test]
    fn evaluate_scores_access_labels_where_given() {
        let labelled = |kommune, kreis, expired| Expected {
            access: AccessLabels {
                kommune_eligible: Some(kommune),
                kreis_eligible: Some(kreis),
                expired: Some(expired),
            },
            ..Default::default()
        };
        let items = vec![
            (
                call_for(&[ApplicantCategory::Kommune], "Bayern", Deadline::Rolling),
                labelled(false, false, false),
            ),
            // Labelled as a Kreis-only call, but the record says Kommune: one miss.
            (
                call_for(&[ApplicantCategory::Kommune], "bundesweit", Deadline::Rolling),
                labelled(false, true, false),
            ),
            (
                call_for(&[ApplicantCategory::Kommune], "bundesweit", Deadline::Rolling),
                Expected::default(),
            ),
        ];
        let r = evaluate(&matcher(), &items, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        let kommune = &r.access[0];
        assert_eq!((kommune.labelled(), kommune.tn, kommune.fp), (2, 1, 1));
        assert_eq!(r.access[2].labelled(), 2);
        assert_eq!(r.access_misses.len(), 1);
        assert_eq!(r.access_misses[0].label, "Kommune antragsberechtigt");
        let text = r.to_string();
        assert!(text.contains("Zugang falsch (1):"), "{text}");
        assert!(!r.tables().to_string().contains("Zugang falsch"));
    }

    #[test]
    fn feedback_counts_what_the_rules_deliver_to_that_recipient() {
        let all = |hs: &[&str]| Interests {
            handlungsfelder: hs.iter().map(|h| h.to_string()).collect(),
            projects: BTreeSet::new(),
        };
        let gigabit = call_for(&[ApplicantCategory::Kommune], "bundesweit", Deadline::Rolling);
        let mut leader = call_for(&[ApplicantCategory::Kommune], "LEADER-Region 9Plus", Deadline::Rolling);
        leader.id = CallId::from_url("https://t.example/leader");
        let judge = |call: &Call, kommune: &str, interests: Interests, follows: Option<&[&str]>, fits| Judgment {
            call: call.clone(),
            who: kommune.into(),
            kommune: kommune.into(),
            interests,
            follows: follows.map(|f| f.iter().map(|h| h.to_string()).collect()),
            fits,
        };
        let both = ["digitale-infrastruktur", "verwaltung"];
        let judgments = vec![
            judge(&gigabit, "ahlen", all(&both), None, true),
            // Not subscribed to Digitale Infrastruktur: nothing delivered, the complaint is fixed.
            judge(&gigabit, "wadersloh", all(&["verwaltung"]), None, false),
            // Subscribed, but no longer following it: nothing delivered although "passt".
            judge(&gigabit, "warendorf", all(&both), Some(&["verwaltung"]), true),
            // A 9Plus call reaches Beelen but not Ahlen.
            judge(&leader, "beelen", all(&both), None, false),
            judge(&leader, "ahlen", all(&both), None, true),
        ];
        let r = evaluate_feedback(&matcher(), &judgments, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!((r.passt, r.passt_nicht, r.fixed, r.lost.len()), (3, 2, 1, 2));
        let di = r
            .handlungsfelder
            .iter()
            .find(|x| x.label == "digitale-infrastruktur")
            .unwrap();
        assert_eq!((di.tp, di.fp), (1, 1));
        assert_eq!(r.micro().precision(), 0.5);
        assert_eq!(r.false_positives.len(), 1);
        assert!(
            r.false_positives[0].ends_with("für beelen → digitale-infrastruktur"),
            "{:?}",
            r.false_positives
        );
    }

    #[test]
    fn a_directory_of_part_directories_stands_for_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tune")).unwrap();
        std::fs::create_dir(dir.path().join("measured")).unwrap();
        write(dir.path(), "README.md", "");
        assert_eq!(
            parts(dir.path()).unwrap(),
            vec![dir.path().join("measured"), dir.path().join("tune")]
        );
        write(dir.path(), "x.toml", "");
        assert_eq!(parts(dir.path()).unwrap(), vec![dir.path().to_path_buf()]);
        let file = dir.path().join("x.toml");
        assert_eq!(parts(&file).unwrap(), vec![file]);
    }

    #[test]
    fn scores_are_computed_per_label() {
        let s = LabelScore {
            label: "x".into(),
            tp: 8,
            fp: 2,
            fn_: 0,
        };
        assert_eq!((s.precision(), s.recall()), (0.8, 1.0));
        assert!((s.f1() - 16.0 / 18.0).abs() < 1e-9);
    }
}
