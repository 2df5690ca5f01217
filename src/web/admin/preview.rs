//! The live preview of a rules edit: every stored open call matched with the rules
//! in force and with the candidate, and the difference for the edited profile: which
//! calls newly pass, which stop passing, and for which Kommunen.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::strategy_edit::ProfileKind;
use crate::config::Config;
use crate::matching::Matcher;
use crate::model::{Call, Match};

/// Calls listed per direction at most (the counts cover all).
const LISTED: usize = 50;

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

/// The edited profile's match of a call, if it passed, with its score.
fn profile_match<'a>(matches: &'a [Match], kind: ProfileKind, id: &str) -> Option<&'a Match> {
    matches.iter().find(|m| match kind {
        ProfileKind::Project => m.project.as_deref() == Some(id),
        ProfileKind::Handlungsfeld => m.project.is_none() && m.handlungsfeld == id,
    })
}

/// Compares the two matchers over `calls` for one profile.
pub fn compare(
    before: &Matcher,
    after: &Matcher,
    calls: &[Call],
    today: NaiveDate,
    kind: ProfileKind,
    id: &str,
) -> Preview {
    let mut preview = Preview {
        calls: calls.len(),
        ..Preview::default()
    };
    let mut per_kommune: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    // The two rule sets match on two threads: the preview's cost is matching every
    // stored call twice.
    let outcome = |matcher: &Matcher| -> Vec<Option<Match>> {
        calls
            .iter()
            .map(|call| profile_match(&matcher.match_call(call, today), kind, id).cloned())
            .collect()
    };
    let (olds, news) = std::thread::scope(|scope| {
        let old = scope.spawn(|| outcome(before));
        let new = outcome(after);
        (old.join().expect("matching does not panic"), new)
    });
    for ((call, old), new) in calls.iter().zip(&olds).zip(&news) {
        let (old, new) = (old.as_ref(), new.as_ref());
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
    preview
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
