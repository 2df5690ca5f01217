//! Rules on stored content (call identity, source health) that every backend applies
//! the same way.

use super::{SourceHealth, SourceRun};
use crate::model::text::title_key;
use crate::model::{Call, DeadlineKind};

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
