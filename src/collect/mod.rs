//! Collecting calls from sources.
//!
//! Sources are data (`[[source]]` in `sources.toml`); there is one shared,
//! polite fetcher ([`Fetcher`]: per-host limits, robots.txt, retries for
//! transient errors, conditional GET, body cap) and one small parser per kind:
//! `rss`, `foerderdatenbank`, `eu-sedia`, `html`. A failing source is reported
//! in its [`SourceOutcome`] and never stops the others.
//!
//! Adding a kind: write its options struct (serde, `deny_unknown_fields`) in
//! `src/model/source/<kind>.rs` (config checks it, so it lives below config),
//! add a variant to [`SourceKind`], write `src/collect/<kind>.rs` with an
//! `async fn collect(ctx) -> Result<Vec<Call>, CollectError>`, and a fixture test in `tests/`.

pub mod extract;
pub mod foerderdatenbank;
pub mod html;
mod http;
pub mod identity;
mod page;
pub mod rss;
pub mod sedia;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::Instrument;

pub use http::{FetchError, Fetched, Fetcher};

use crate::config::SourceConfig;
use crate::model::Call;
use crate::model::source::{SourceKind, SourceState, Validators};

/// Everything a kind's parser gets for one pass.
pub struct CollectContext<'a> {
    pub fetcher: &'a Fetcher,
    pub source: &'a SourceConfig,
    /// State from the last pass; the kind updates it in place.
    pub state: SourceState,
    /// Calls this source delivered before, by canonical URL, so that unchanged
    /// detail pages need not be fetched again (304 or unchanged list card).
    pub prior: HashMap<String, Call>,
    pub now: DateTime<Utc>,
    /// Soft time budget: past it, kinds stop fetching detail pages and keep what they
    /// have, so the hard budget (which discards the pass) is rarely hit.
    pub soft_budget: Duration,
}

/// Why a source failed in a pass.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The page or feed was fetched but is not what the kind expects.
    #[error("{url}: cannot parse: {message}")]
    Parse { url: String, message: String },
    #[error("time budget of {0:?} exhausted")]
    Budget(Duration),
}

impl CollectError {
    /// The page or feed at `url` is not what the kind expects.
    pub fn parse(url: impl Into<String>, message: impl Into<String>) -> CollectError {
        CollectError::Parse {
            url: url.into(),
            message: message.into(),
        }
    }
}

/// The fetcher turns every other status into an error, but a 304 can still arrive
/// where no earlier copy is left to reuse; such a response has no body to read.
fn ensure_ok(fetched: &Fetched, url: &str) -> Result<(), CollectError> {
    if (200..300).contains(&fetched.status) {
        return Ok(());
    }
    Err(CollectError::Fetch(FetchError::Other {
        url: url.to_string(),
        message: format!("HTTP status {}", fetched.status),
    }))
}

impl<'a> CollectContext<'a> {
    /// A context whose soft budget is a share of the source's (or the global) budget.
    pub fn new(
        fetcher: &'a Fetcher,
        source: &'a SourceConfig,
        state: SourceState,
        prior: HashMap<String, Call>,
        now: DateTime<Utc>,
    ) -> Self {
        let budget = source.budget.unwrap_or(fetcher.settings().source_budget);
        CollectContext {
            fetcher,
            source,
            state,
            prior,
            now,
            soft_budget: budget.mul_f64(SOFT_BUDGET_SHARE),
        }
    }
}

/// The result of one source in one pass.
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    pub source: String,
    pub calls: Vec<Call>,
    pub state: SourceState,
    /// Set when the source failed. `calls` is then empty and `state` the old one:
    /// the store keeps the calls of earlier passes, and the next pass starts afresh.
    pub error: Option<String>,
    pub requests: u32,
    pub not_modified: u32,
    pub duration: Duration,
}

/// Today as the sources mean it: German and EU deadlines end at local midnight
/// (Berlin and Brussels share a time zone), not at midnight UTC.
pub(crate) fn berlin_today(now: DateTime<Utc>) -> chrono::NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

/// Share of a source's budget after which detail fetching stops.
const SOFT_BUDGET_SHARE: f64 = 0.8;

/// Collects one source within its time budget. Never fails: errors land in the outcome.
///
/// On failure the outcome keeps the old `state`, so the next pass fetches
/// everything again instead of trusting validators of a page that did not parse.
pub async fn collect_source(
    fetcher: &Fetcher,
    source: &SourceConfig,
    state: SourceState,
    prior: HashMap<String, Call>,
    now: DateTime<Utc>,
) -> SourceOutcome {
    let started = Instant::now();
    let budget = source.budget.unwrap_or(fetcher.settings().source_budget);
    let tally = Arc::new(http::RequestTally::default());
    let mut ctx = CollectContext::new(fetcher, source, state.clone(), prior, now);
    let pass = tokio::time::timeout(budget, run_kind(&mut ctx));
    let result = match http::count_requests(tally.clone(), pass).await {
        Ok(result) => result,
        Err(_) => Err(CollectError::Budget(budget)),
    };
    let (calls, state, error) = match result {
        Ok(calls) => (calls, ctx.state, None),
        Err(e) => {
            tracing::warn!(source = %source.id, error = %e, "source failed");
            (Vec::new(), state, Some(e.to_string()))
        }
    };
    SourceOutcome {
        source: source.id.clone(),
        calls,
        state,
        error,
        requests: tally.requests.load(Ordering::Relaxed),
        not_modified: tally.not_modified.load(Ordering::Relaxed),
        duration: started.elapsed(),
    }
}

async fn run_kind(ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    match &ctx.source.kind {
        SourceKind::Rss(_) => rss::collect(ctx).await,
        SourceKind::Foerderdatenbank(_) => foerderdatenbank::collect(ctx).await,
        SourceKind::EuSedia(_) => sedia::collect(ctx).await,
        SourceKind::Html(_) => html::collect(ctx).await,
    }
}

/// Collects every enabled source concurrently; the fetcher throttles per host,
/// so sources on different hosts proceed in parallel. One source failing (or
/// panicking) never stops the others. Outcomes come in the order of `sources`.
pub async fn collect_all(
    fetcher: &Fetcher,
    sources: &[SourceConfig],
    mut states: HashMap<String, SourceState>,
    mut priors: HashMap<String, HashMap<String, Call>>,
    now: DateTime<Utc>,
) -> Vec<SourceOutcome> {
    let tasks: Vec<_> = sources
        .iter()
        .filter(|s| s.enabled)
        .map(|source| {
            let (fetcher, source) = (fetcher.clone(), source.clone());
            let state = states.remove(&source.id).unwrap_or_default();
            let prior = priors.remove(&source.id).unwrap_or_default();
            let span = tracing::info_span!("collect", source = %source.id, kind = source.kind.name());
            let fallback = (source.id.clone(), state.clone());
            let task = tokio::spawn(
                async move { collect_source(&fetcher, &source, state, prior, now).await }.instrument(span),
            );
            (fallback, task)
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for ((id, state), task) in tasks {
        outcomes.push(task.await.unwrap_or_else(|e| panicked(id, state, &e)));
    }
    outcomes
}

/// A panicking collector keeps its old state, so nothing of the last pass is lost.
fn panicked(source: String, state: SourceState, e: &tokio::task::JoinError) -> SourceOutcome {
    tracing::error!(source = %source, error = %e, "source collector panicked");
    SourceOutcome {
        source,
        calls: Vec::new(),
        state,
        error: Some(format!("collector panicked: {e}")),
        requests: 0,
        not_modified: 0,
        duration: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(src: &str) -> toml::Table {
        src.parse().unwrap()
    }

    #[test]
    fn html_selector_that_does_not_parse_is_a_config_error() {
        let err = SourceKind::from_table("html", table("item = 'div.call['\ntitle = 'h3'")).unwrap_err();
        assert!(err.contains("div.call["), "{err}");
        assert!(SourceKind::from_table("html", table("item = 'div.call'\ntitle = 'h3'")).is_ok());
    }

    #[test]
    fn unknown_kind_and_unknown_key_are_errors() {
        assert!(
            SourceKind::from_table("ftp", table(""))
                .unwrap_err()
                .contains("unknown kind 'ftp'")
        );
        assert!(
            SourceKind::from_table("rss", table("selektor = 'x'"))
                .unwrap_err()
                .contains("selektor")
        );
    }
}
