//! From feedback to rule: the calls recipients marked "passt nicht" that a project's
//! rules let through, with the terms that carried them, shown beside the rules.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::CallId;
use crate::model::feedback::{FeedbackAction, FeedbackTargetKind};
use crate::model::reason::Reason;
use crate::store::{FeedbackFilter, Store};
use crate::web::WebState;

/// Calls shown at most.
const LIMIT: usize = 30;

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub call_id: String,
    pub title: String,
    /// How many recipients said "passt nicht".
    pub votes: usize,
    pub score: f64,
    pub threshold: f64,
    /// The strongest terms first.
    pub hits: Vec<String>,
}

/// The rejected calls whose stored match for `project` passed. A store error leaves
/// the list empty (logged): the editor stays usable without it.
pub async fn rejected(state: &WebState, project: &str) -> Vec<Rejected> {
    let store = &state.0.store;
    let entries = match store.feedback(&FeedbackFilter::default()).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "admin: cannot read feedback");
            return Vec::new();
        }
    };
    let mut votes: BTreeMap<String, usize> = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.action == FeedbackAction::PasstNicht && e.target_kind == FeedbackTargetKind::Call)
    {
        *votes.entry(e.target.clone()).or_default() += 1;
    }
    let mut out = Vec::new();
    for (call_id, n) in votes {
        let id = CallId(call_id.clone());
        let (Ok(Some(call)), Ok(matches)) = (store.get_call(&id).await, store.matches_for(&id).await) else {
            continue;
        };
        let Some(m) = matches
            .iter()
            .find(|m| m.passed && m.project.as_deref() == Some(project))
        else {
            continue;
        };
        let hits = m
            .reasons
            .iter()
            .filter_map(|r| match r {
                Reason::Hits { hits } => Some(hits),
                _ => None,
            })
            .flatten()
            .map(|h| h.term.clone())
            .take(5)
            .collect();
        out.push(Rejected {
            call_id,
            title: call.title.clone(),
            votes: n,
            score: m.score,
            threshold: m.threshold,
            hits,
        });
        if out.len() >= LIMIT {
            break;
        }
    }
    out
}
