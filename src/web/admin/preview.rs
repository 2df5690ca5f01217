//! The live preview of a rules edit: every stored open call matched with the rules
//! in force and with the candidate, and the difference for the edited profile: which
//! calls newly pass, which stop passing, and for which Kommunen; how many new calls
//! each contact's next digest would carry; and the edited profile's precision,
//! recall and F1 on the labelled set (`[web] labelled_set`).
//!
//! Speed: the stored open calls, their matches under the rules in force and the
//! labelled set stay in memory between previews ([`Baseline`]), so a preview
//! compiles and matches only the candidate. The baseline is rebuilt when the rules
//! in force, the stored calls (count or latest `last_seen`) or the day change, and
//! dropped after [`IDLE`] without a preview, so the idle server stays lean. The
//! candidate is matched in full: the relative rule and the full-text cap weigh every
//! profile's score, so one profile's rules cannot be re-run alone.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;

use super::compiled::Compiled;
use super::strategy_edit::ProfileKind;
use crate::config::Config;
use crate::matching::eval::{self, Expected, LabelScore};
use crate::matching::{Doc, Matcher};
use crate::model::contact::ContactSettings;
use crate::model::{Call, CallId, Match};
use crate::store::{CallFilter, Store};
use crate::web::WebState;

/// Calls listed per direction at most (the counts cover all).
const LISTED: usize = 50;
/// A baseline unused this long is dropped.
pub const IDLE: Duration = Duration::from_secs(10 * 60);
/// More open calls than this are not kept between previews (read per preview instead).
pub const MAX_KEPT_CALLS: usize = 20_000;

#[derive(Debug, Default, Serialize)]
pub struct Preview {
    pub calls: usize,
    pub passed_before: usize,
    pub passed_after: usize,
    pub newly: Vec<Changed>,
    pub dropped: Vec<Changed>,
    pub newly_total: usize,
    pub dropped_total: usize,
    /// Calls passing per Kommune before and after, only Kommunen whose count changed.
    pub kommunen: Vec<KommuneDelta>,
    /// New calls per contact's next digest, only contacts whose count changed.
    pub mails: Vec<MailDelta>,
    /// The edited profile on the labelled set; `None` without `[web] labelled_set`.
    pub eval: Option<EvalDelta>,
    /// Why the configured labelled set could not be read.
    pub eval_problem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Changed {
    pub call_id: String,
    pub title: String,
    pub score_before: f64,
    pub score_after: f64,
    pub kommunen: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct KommuneDelta {
    pub kommune: String,
    pub before: usize,
    pub after: usize,
}

/// New calls the contact's next digest would carry before and after the edit.
#[derive(Debug, Serialize)]
pub struct MailDelta {
    pub contact: String,
    pub kommune: String,
    pub before: usize,
    pub after: usize,
}

#[derive(Debug, Serialize)]
pub struct EvalDelta {
    /// The label scored: the project id, or the Handlungsfeld id.
    pub label: String,
    pub calls: usize,
    pub before: Figures,
    pub after: Figures,
}

/// Precision, recall and F1 in percent, with the counts behind them.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub precision: String,
    pub recall: String,
    pub f1: String,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl From<&LabelScore> for Figures {
    fn from(s: &LabelScore) -> Figures {
        let pct = |x: f64| crate::model::german::format_decimal(100.0 * x, 1);
        Figures {
            precision: pct(s.precision()),
            recall: pct(s.recall()),
            f1: pct(s.f1()),
            tp: s.tp,
            fp: s.fp,
            fn_: s.fn_,
        }
    }
}

/// What a contact's next digest starts from: the calls it already got, its
/// Kommune, its subscription and its own settings.
pub struct Recipient {
    pub email: String,
    pub kommune: String,
    pub kommune_name: String,
    pub interests: crate::config::Interests,
    pub settings: Option<ContactSettings>,
    pub notified: HashSet<CallId>,
}

impl Recipient {
    /// Passed matches of a call that the contact would get as a new call.
    fn takes(&self, matches: &[Match], today: NaiveDate) -> bool {
        if self.settings.as_ref().is_some_and(|s| s.silenced(today)) {
            return false;
        }
        matches.iter().any(|m| {
            m.passed
                && m.kommunen.contains(&self.kommune)
                && self.interests.covers(&m.handlungsfeld, m.project.as_deref())
                && self.settings.as_ref().is_none_or(|s| s.follows(&m.handlungsfeld))
        })
    }
}

/// The labelled set and its matches under the rules in force.
pub struct Labelled {
    pub calls: Vec<Call>,
    pub expected: Vec<Expected>,
    pub day: NaiveDate,
    pub before: Vec<Vec<Match>>,
    /// `calls` folded for matching, once.
    pub docs: Vec<Doc>,
}

/// The stored open calls and their matches under the rules in force.
pub struct Baseline {
    /// The rules in force the matches come from.
    pub rules: Arc<Compiled>,
    pub day: NaiveDate,
    /// `Store::calls_fingerprint` when the calls were read.
    pub fingerprint: (i64, Option<String>),
    pub calls: Vec<Call>,
    /// `calls` folded for matching, once: a preview then only searches them. Costs about
    /// the calls' text size again while the baseline lives, saves folding 3,000 texts
    /// per preview.
    pub docs: Vec<Doc>,
    pub matches: Vec<Vec<Match>>,
    /// The labelled set, or why it could not be read; `None` without one configured.
    pub labelled: Option<Result<Labelled, String>>,
}

impl Baseline {
    /// Matches the calls and the labelled set under `rules`.
    pub fn new(
        rules: Arc<Compiled>,
        day: NaiveDate,
        fingerprint: (i64, Option<String>),
        calls: Vec<Call>,
        mut labelled: Option<Result<Labelled, String>>,
    ) -> Baseline {
        let docs = fold_all(&calls);
        let matches = match_all(&rules.matcher, &calls, &docs, day);
        if let Some(Ok(l)) = &mut labelled {
            l.docs = fold_all(&l.calls);
            l.before = match_all(&rules.matcher, &l.calls, &l.docs, l.day);
        }
        Baseline {
            rules,
            day,
            fingerprint,
            calls,
            docs,
            matches,
            labelled,
        }
    }

    /// Whether this baseline still describes the rules, calls and day given.
    pub fn fits(&self, rules: &Arc<Compiled>, day: NaiveDate, fingerprint: &(i64, Option<String>)) -> bool {
        Arc::ptr_eq(&self.rules, rules) && self.day == day && self.fingerprint == *fingerprint
    }
}

/// Runs `work` over `items` in chunks, split over the available cores, in order.
fn on_cores<T: Sync, R: Send>(items: &[T], work: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let chunk = items.len().div_ceil(threads).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, item)| work(n * chunk + i, item))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("matching does not panic"))
            .collect()
    })
}

/// Every call folded for matching.
pub fn fold_all(calls: &[Call]) -> Vec<Doc> {
    on_cores(calls, |_, call| Doc::new(call))
}

/// Every call matched (with its folded `docs`, same order).
pub fn match_all(matcher: &Matcher, calls: &[Call], docs: &[Doc], today: NaiveDate) -> Vec<Vec<Match>> {
    on_cores(calls, |i, call| matcher.match_folded(call, &docs[i], today))
}

/// The last baseline and when a preview last used it.
#[derive(Default)]
pub struct BaselineCache(Mutex<Option<(Arc<Baseline>, Instant)>>);

impl BaselineCache {
    /// The kept baseline when it still fits.
    pub fn get(
        &self,
        rules: &Arc<Compiled>,
        day: NaiveDate,
        fingerprint: &(i64, Option<String>),
    ) -> Option<Arc<Baseline>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (baseline, used) = kept.as_mut()?;
        if !baseline.fits(rules, day, fingerprint) {
            return None;
        }
        *used = Instant::now();
        Some(baseline.clone())
    }

    pub fn keep(&self, baseline: Arc<Baseline>) {
        if baseline.calls.len() <= MAX_KEPT_CALLS {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((baseline, Instant::now()));
        }
    }

    /// Drops the baseline when no preview used it for [`IDLE`].
    pub fn drop_idle(&self) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.as_ref().is_some_and(|(_, used)| used.elapsed() >= IDLE) {
            *kept = None;
        }
    }
}

/// The edited profile's match of a call, if it passed, with its score.
fn profile_match<'a>(matches: &'a [Match], kind: ProfileKind, id: &str) -> Option<&'a Match> {
    matches.iter().find(|m| match kind {
        ProfileKind::Project => m.project.as_deref() == Some(id),
        ProfileKind::Handlungsfeld => m.project.is_none() && m.handlungsfeld == id,
    })
}

/// Compares the candidate's matches (`after`, one per baseline call) with the
/// baseline's for one profile.
pub fn compare(
    baseline: &Baseline,
    after: &[Vec<Match>],
    recipients: &[Recipient],
    kind: ProfileKind,
    id: &str,
) -> Preview {
    let mut preview = Preview {
        calls: baseline.calls.len(),
        ..Preview::default()
    };
    let mut per_kommune: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for ((call, olds), news) in baseline.calls.iter().zip(&baseline.matches).zip(after) {
        let (old, new) = (profile_match(olds, kind, id), profile_match(news, kind, id));
        let passed = |m: Option<&Match>| m.filter(|m| m.passed).map(|m| m.kommunen.clone());
        let (was, is) = (passed(old), passed(new));
        for k in was.iter().flatten() {
            per_kommune.entry(k.clone()).or_default().0 += 1;
        }
        for k in is.iter().flatten() {
            per_kommune.entry(k.clone()).or_default().1 += 1;
        }
        preview.passed_before += usize::from(was.is_some());
        preview.passed_after += usize::from(is.is_some());
        let changed = |kommunen: &Vec<String>| Changed {
            call_id: call.id.0.clone(),
            title: call.title.clone(),
            score_before: old.map_or(0.0, |m| round(m.score)),
            score_after: new.map_or(0.0, |m| round(m.score)),
            kommunen: kommunen.clone(),
        };
        match (&was, &is) {
            (None, Some(k)) => {
                preview.newly_total += 1;
                if preview.newly.len() < LISTED {
                    preview.newly.push(changed(k));
                }
            }
            (Some(k), None) => {
                preview.dropped_total += 1;
                if preview.dropped.len() < LISTED {
                    preview.dropped.push(changed(k));
                }
            }
            // A call routed to other Kommunen shows in the counts per Kommune.
            _ => {}
        }
    }
    preview.kommunen = per_kommune
        .into_iter()
        .filter(|(_, (b, a))| b != a)
        .map(|(kommune, (before, after))| KommuneDelta { kommune, before, after })
        .collect();
    preview.mails = mails(baseline, after, recipients);
    preview
}

/// New calls per contact's next digest under both rule sets: open calls not yet
/// sent to the contact with a passed match for its Kommune and subscription.
/// Feedback that hides calls and the first digest's cap are not applied.
fn mails(baseline: &Baseline, after: &[Vec<Match>], recipients: &[Recipient]) -> Vec<MailDelta> {
    recipients
        .iter()
        .map(|r| {
            let count = |matches: &[Vec<Match>]| {
                baseline
                    .calls
                    .iter()
                    .zip(matches)
                    .filter(|(call, ms)| !r.notified.contains(&call.id) && r.takes(ms, baseline.day))
                    .count()
            };
            MailDelta {
                contact: r.email.clone(),
                kommune: r.kommune_name.clone(),
                before: count(&baseline.matches),
                after: count(after),
            }
        })
        .filter(|m| m.before != m.after)
        .collect()
}

/// The edited profile's label on the labelled set before (the baseline's matches)
/// and after (`after`, the candidate's matcher).
pub fn evaluate(labelled: &Labelled, after: &Matcher, kind: ProfileKind, id: &str) -> EvalDelta {
    let score = |matches: &[Vec<Match>]| {
        let mut s = LabelScore::default();
        for (ms, expected) in matches.iter().zip(&labelled.expected) {
            let got = ms.iter().filter(|m| m.passed).any(|m| match kind {
                ProfileKind::Project => m.project.as_deref() == Some(id),
                // A Handlungsfeld counts when its profile or one of its projects passes (as `eval`).
                ProfileKind::Handlungsfeld => m.handlungsfeld == id,
            });
            let want = match kind {
                ProfileKind::Project => expected.projects.contains(id),
                ProfileKind::Handlungsfeld => expected.handlungsfelder.contains(id),
            };
            match (got, want) {
                (true, true) => s.tp += 1,
                (true, false) => s.fp += 1,
                (false, true) => s.fn_ += 1,
                (false, false) => {}
            }
        }
        s
    };
    let after = match_all(after, &labelled.calls, &labelled.docs, labelled.day);
    EvalDelta {
        label: id.to_string(),
        calls: labelled.calls.len(),
        before: Figures::from(&score(&labelled.before)),
        after: Figures::from(&score(&after)),
    }
}

/// The calls written in the labelled set at `path` (calls it names from the store
/// are left out: the preview scores the set's own texts).
pub fn load_labelled(path: &std::path::Path, day: NaiveDate) -> Result<Labelled, eval::EvalError> {
    let (mut calls, mut expected) = (Vec::new(), Vec::new());
    for part in eval::parts(path)? {
        for (call, labels) in eval::load_labelled(&part)?.inline() {
            calls.push(call);
            expected.push(labels);
        }
    }
    Ok(Labelled {
        calls,
        expected,
        day,
        before: Vec::new(),
        docs: Vec::new(),
    })
}

impl Preview {
    /// Kommunen by their names, as the page shows them (ids are the config's business).
    pub fn named(mut self, config: &Config) -> Preview {
        let name = |id: &String| config.kommune(id).map_or_else(|| id.clone(), |k| k.name.clone());
        for delta in &mut self.kommunen {
            delta.kommune = name(&delta.kommune);
        }
        for changed in self.newly.iter_mut().chain(&mut self.dropped) {
            changed.kommunen = changed.kommunen.iter().map(name).collect();
        }
        self
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The baseline for the rules in force: the kept one when it still fits, else
/// read and matched again (and kept, dropped after [`IDLE`] unused).
pub async fn baseline(state: &WebState, rules: Arc<Compiled>) -> anyhow::Result<Arc<Baseline>> {
    let today = state.today();
    let store = &state.0.store;
    let fingerprint = store.calls_fingerprint().await?;
    if let Some(kept) = state.0.preview.get(&rules, today, &fingerprint) {
        return Ok(kept);
    }
    let filter = CallFilter {
        open_on: Some(today),
        ..CallFilter::default()
    };
    let calls = store.list_calls(&filter).await?;
    let web = &rules.config.service.web;
    let labelled = web.labelled_set.as_ref().map(|path| {
        let path = rules.config.dir.join(path);
        load_labelled(&path, web.labelled_day.unwrap_or(today)).map_err(|e| e.to_string())
    });
    let baseline =
        tokio::task::spawn_blocking(move || Arc::new(Baseline::new(rules, today, fingerprint, calls, labelled)))
            .await?;
    state.0.preview.keep(baseline.clone());
    let later = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(IDLE).await;
        later.0.preview.drop_idle();
    });
    Ok(baseline)
}

/// Every contact of the config with its own settings and the calls it already got.
pub async fn recipients(state: &WebState, config: &Config) -> anyhow::Result<Vec<Recipient>> {
    let store = &state.0.store;
    let mut settings: std::collections::HashMap<String, ContactSettings> = store
        .all_contact_settings()
        .await?
        .into_iter()
        .map(|s| (s.contact.clone(), s))
        .collect();
    let mut out = Vec::new();
    for kommune in &config.kommunen {
        for contact in &kommune.contacts {
            out.push(Recipient {
                email: contact.email.clone(),
                kommune: kommune.id.clone(),
                kommune_name: kommune.name.clone(),
                interests: contact.interests.clone(),
                settings: settings.remove(&contact.email.to_lowercase()),
                notified: store.notified_calls(&contact.email).await?.into_iter().collect(),
            });
        }
    }
    Ok(out)
}
