//! Rules on stored content (call identity, source health) that every backend applies
//! the same way.

use chrono::{DateTime, Utc};

use super::{ChangeEvent, SourceHealth, SourceRun, StoreError, StoreResult};
use crate::model::text::title_key;
use crate::model::{Call, CallId, ChangedField, DeadlineKind, FieldChange};

/// A fingerprint of the title-key rule: the keys of probe titles that exercise case,
/// umlauts, ß, punctuation, spacing and the funder. A change of the rule changes it.
pub(super) fn title_key_rule() -> String {
    use sha2::{Digest, Sha256};
    const PROBES: &[(&str, Option<&str>)] = &[
        (
            "Förderaufruf „Smarte Dörfer“ 2026 – Straßen & Plätze",
            Some("Ministerium für Heimat NRW"),
        ),
        ("  KOMMUNALRICHTLINIE:  Klimaschutz-Projekte (Teil II) ", None),
        ("Digitalisierung/OZG-Umsetzung; 3. Aufruf!", Some("Bund")),
        ("Ærø Ça va? Œuvre Ångström naïve", Some("EU-Kommission (GD REGIO)")),
    ];
    let mut hash = Sha256::new();
    for (title, funder) in PROBES {
        hash.update(title_key(title, *funder).as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

/// How many facts a listing states. Decides which source's content a shared call shows.
pub(super) fn richness(call: &Call) -> usize {
    [
        call.funder.is_some(),
        call.deadline.kind() != DeadlineKind::Unknown,
        !call.applicants.is_unstated(),
        call.funding_rate.is_some(),
        call.amount_max_eur.is_some(),
        !call.regions.is_empty(),
        !call.summary.trim().is_empty(),
        !call.text.trim().is_empty(),
        !call.funding_types.is_empty(),
        !call.topics.is_empty(),
        call.published.is_some(),
        call.external_id.is_some(),
    ]
    .into_iter()
    .filter(|stated| *stated)
    .count()
}

/// Health after one more pass.
///
/// - A failed pass counts; `broken_after` failures in a row flag the source.
/// - A clean pass with no calls, from a source that delivered calls before,
///   flags it too: the page answered but the selectors found nothing (drift).
///   All-304 passes (`not_modified > 0`) deliver nothing new by design and
///   leave the flag as it was.
/// - A pass with calls clears the flag.
pub(super) fn next_health(mut h: SourceHealth, run: &SourceRun, broken_after: u32) -> SourceHealth {
    h.last_attempt = Some(run.at);
    h.items_last_pass = run.items;
    if run.items > 0 {
        h.items_before = run.items;
    }
    match &run.error {
        Some(error) => {
            h.consecutive_failures += 1;
            h.last_error = Some(error.clone());
            h.broken = h.broken || h.consecutive_failures >= broken_after.max(1);
        }
        None => {
            h.last_success = Some(run.at);
            h.consecutive_failures = 0;
            h.last_error = None;
            h.broken = if run.items > 0 {
                false
            } else {
                h.items_before > 0 && (run.not_modified == 0 || h.broken)
            };
            if h.broken {
                h.last_error = Some(format!(
                    "the pass found no calls although the last productive one found {}; the page layout may have changed",
                    h.items_before
                ));
            }
        }
    }
    h
}

/// Unchanged sources' runs grouped by the runs' time (a pass records all at one time).
pub(super) fn runs_by_time(runs: &[SourceRun]) -> Vec<(DateTime<Utc>, Vec<&str>)> {
    let mut groups: Vec<(DateTime<Utc>, Vec<&str>)> = Vec::new();
    for run in runs {
        match groups.iter_mut().find(|(at, _)| *at == run.at) {
            Some((_, sources)) => sources.push(&run.source),
            None => groups.push((run.at, vec![&run.source])),
        }
    }
    groups
}

/// Passes grouped by their run's time, in order of first appearance (a collect pass has one).
pub(super) fn passes_by_time(passes: &[super::SourcePass]) -> Vec<(DateTime<Utc>, Vec<&super::SourcePass>)> {
    let mut groups: Vec<(DateTime<Utc>, Vec<&super::SourcePass>)> = Vec::new();
    for pass in passes {
        match groups.iter_mut().find(|(at, _)| *at == pass.run.at) {
            Some((_, group)) => group.push(pass),
            None => groups.push((pass.run.at, vec![pass])),
        }
    }
    groups
}

/// Unchanged sources' runs with the listings each saw again as its items.
pub(super) fn runs_with_seen(runs: &[SourceRun], seen: &std::collections::HashMap<String, u32>) -> Vec<SourceRun> {
    runs.iter()
        .map(|run| SourceRun {
            items: seen.get(&run.source).copied().unwrap_or(0),
            ..run.clone()
        })
        .collect()
}

/// Each run's source health after it, from the stored health `before` (taken from it).
pub(super) fn healths_after(
    runs: &[SourceRun],
    mut before: std::collections::HashMap<String, SourceHealth>,
    broken_after: u32,
) -> Vec<SourceHealth> {
    runs.iter()
        .map(|run| {
            let health = before.remove(&run.source).unwrap_or_else(|| fresh_health(&run.source));
            next_health(health, run, broken_after)
        })
        .collect()
}

pub(super) fn fresh_health(source: &str) -> SourceHealth {
    SourceHealth {
        source: source.to_string(),
        last_attempt: None,
        last_success: None,
        consecutive_failures: 0,
        items_last_pass: 0,
        items_before: 0,
        last_error: None,
        broken: false,
    }
}

/// A stored count as `u32`; a negative or huge value is a corrupt store.
pub(super) fn count(table: &'static str, column: &'static str, v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        table,
        column,
        message: format!("{v} is not a count"),
    })
}

/// A `call_changes` row: id, call, time, field, old and new value.
pub(super) type ChangeRow = (i64, String, DateTime<Utc>, String, String, String);

pub(super) fn change_events(rows: Vec<ChangeRow>) -> StoreResult<Vec<ChangeEvent>> {
    rows.into_iter()
        .map(|(id, call_id, at, field, old, new)| {
            let field: ChangedField =
                serde_json::from_value(serde_json::Value::String(field)).map_err(|e| StoreError::Corrupt {
                    table: "call_changes",
                    column: "field",
                    message: e.to_string(),
                })?;
            Ok(ChangeEvent {
                id,
                call_id: CallId(call_id),
                at,
                change: FieldChange { field, old, new },
            })
        })
        .collect()
}

/// A `source_runs` row: source, time, items, error, requests, 304 answers, duration.
pub(super) type SourceRunRow = (String, DateTime<Utc>, i64, Option<String>, i64, i64, i64);

pub(super) fn source_runs(rows: Vec<SourceRunRow>) -> StoreResult<Vec<SourceRun>> {
    rows.into_iter()
        .map(|(source, at, items, error, requests, not_modified, duration_ms)| {
            Ok(SourceRun {
                source,
                at,
                items: count("source_runs", "items", items)?,
                error,
                requests: count("source_runs", "requests", requests)?,
                not_modified: count("source_runs", "not_modified", not_modified)?,
                duration_ms: u64::try_from(duration_ms).unwrap_or(0),
            })
        })
        .collect()
}
