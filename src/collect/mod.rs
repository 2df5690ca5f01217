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
//! Parse fetched bodies in [`CollectContext::parse_blocking`] (off the runtime, within the
//! budget, checking its guard between items) and respect `max_items_per_page`/`_feed`.
//! A numeric option gets a range (`deserialize_with = "bounded::<_, MIN, MAX>"`, a row in
//! config/README.md "Numeric ranges"). Anything checked or compiled at load (selectors)
//! is kept in the kind, not redone per pass. What the kind remembers between passes
//! beyond validators is a typed struct in the same model file and a variant of
//! [`Memo`](crate::model::source::Memo), never string keys.
//!
//! A source's time budget starts with its first request, when it has its host's
//! politeness slot; queueing for that slot is bounded by `http.host_wait_secs`.

pub mod extract;
pub mod fields;
pub mod foerderdatenbank;
pub mod html;
mod http;
pub mod identity;
mod page;
pub mod prior;
pub mod rss;
pub mod sedia;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::Instrument;

pub use fields::{FieldMemo, FieldsToStore};
pub use http::{FetchError, Fetched, Fetcher, RequestTally};
pub use prior::{Prior, PriorRequest, Priors, Wanted};

use crate::config::SourceConfig;
use crate::model::Call;
use crate::model::source::{SourceKind, SourceState, Validators};
use extract::{MarkupError, ParseGuard};

/// Log target of the warnings about a failing source and its failing requests:
/// `collect` and `run --once` print the same error in their summary, so the CLI
/// keeps these off the log at default verbosity (the daemon logs them).
pub const REPEATED_IN_SUMMARY: &str = "foerderradar::collect::failure";

/// Bodies are parsed on a fixed set of threads, one per core, over all sources. More
/// would not finish sooner (parsing is CPU-bound), and each thread that runs the
/// extraction regexes gets its own copy of every one's lazy-DFA cache (the regex crate
/// keeps one per thread): on the blocking pool, whose threads come and go with the
/// requests in flight, the shared harness's cold pass held the caches of up to five
/// threads.
static PARSERS: std::sync::LazyLock<ParserThreads> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    ParserThreads::start(cores)
});

type ParseJob = Box<dyn FnOnce() + Send>;

/// A queue of parse jobs and the threads that take them in turn.
struct ParserThreads {
    queue: std::sync::mpsc::Sender<ParseJob>,
}

impl ParserThreads {
    fn start(threads: usize) -> ParserThreads {
        let (queue, jobs) = std::sync::mpsc::channel::<ParseJob>();
        let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
        for n in 0..threads {
            let jobs = std::sync::Arc::clone(&jobs);
            let spawned = std::thread::Builder::new().name(format!("parse-{n}")).spawn(move || {
                // The lock is held only while waiting for the next job.
                while let Ok(job) = jobs.lock().map_err(drop).and_then(|j| j.recv().map_err(drop)) {
                    job();
                }
            });
            if let Err(error) = spawned {
                tracing::warn!(%error, "cannot start a parser thread");
            }
        }
        ParserThreads { queue }
    }

    /// Queues `work`; its result (or its panic) arrives on the receiver. `None` when no
    /// parser thread could take it.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<tokio::sync::oneshot::Receiver<std::thread::Result<T>>> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: ParseJob = Box::new(move || {
            // A panicking parse (a hostile page) must not take its thread with it.
            let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
        });
        self.queue.send(job).is_ok().then_some(outcome)
    }
}

/// Everything a kind's parser gets for one pass.
pub struct CollectContext<'a> {
    pub fetcher: &'a Fetcher,
    pub source: &'a SourceConfig,
    /// State from the last pass; the kind updates it in place.
    pub state: SourceState,
    /// Calls this source delivered before, by canonical URL, so that unchanged
    /// detail pages need not be fetched again (304 or unchanged list card). Counted
    /// up front; a kind calls [`CollectContext::load_prior`] before it reads them.
    pub prior: Prior,
    /// The fields this pass extracted or took from the source's memo (see [`fields`]).
    pub fields: FieldMemo,
    /// Set by a kind that found everything as in its last pass (a 304 for the feed or
    /// for every list page, no detail to refresh): it returns no calls, and the store
    /// marks the source's last listing as seen again.
    pub unchanged: bool,
    pub now: DateTime<Utc>,
    /// Soft time budget: past it, kinds stop fetching detail pages and keep what they
    /// have, so the hard budget (which discards the pass) is rarely hit.
    pub soft_budget: Duration,
    /// The source's time budget; it runs from the first request (see [`RequestTally::started`]).
    pub budget: Duration,
    /// Requests of this source and the start of its budget.
    pub tally: Arc<RequestTally>,
}

/// Why a source failed in a pass.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The page or feed was fetched but is not what the kind expects.
    #[error("{url}: cannot parse: {message}")]
    Parse { url: String, message: String },
    #[error("time budget of {budget:?} exhausted{}", .during.as_ref().map(|d| format!(" while {d}")).unwrap_or_default())]
    Budget { budget: Duration, during: Option<String> },
    /// The source never got a request slot: other sources of its host held it.
    #[error("cannot read the calls stored for the source: {message}")]
    Prior { message: String },
    #[error("waited {} s for host {host} behind other sources (http.host_wait_secs = {})", waited.as_secs(), waited.as_secs())]
    HostWait { host: String, waited: Duration },
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
        prior: Prior,
        now: DateTime<Utc>,
    ) -> Self {
        let budget = source.budget.unwrap_or(fetcher.settings().source_budget);
        CollectContext {
            fetcher,
            source,
            state,
            prior,
            fields: FieldMemo::default(),
            unchanged: false,
            now,
            soft_budget: budget.mul_f64(SOFT_BUDGET_SHARE),
            budget,
            tally: Arc::default(),
        }
    }

    /// Loads the source's earlier calls if they were only counted.
    pub async fn load_prior(&mut self) -> Result<(), CollectError> {
        self.prior.load(&self.source.id).await
    }

    /// Loads the source's field memo (a changed feed or list page is about to be read).
    pub async fn load_fields(&mut self) -> Result<(), CollectError> {
        self.fields = self.prior.fields(&self.source.id).await?;
        Ok(())
    }

    /// Ends a pass in which nothing changed since the last one (see [`CollectContext::unchanged`]).
    pub fn all_unchanged(&mut self) -> Vec<Call> {
        self.unchanged = true;
        Vec::new()
    }

    /// Time spent of the budget (zero before the first request).
    pub fn elapsed(&self) -> Duration {
        self.tally.started().map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// A guard that stops parsing when the source's budget runs out.
    pub fn parse_guard(&self) -> ParseGuard {
        let started = self.tally.started().unwrap_or_else(Instant::now);
        ParseGuard::until(started + self.budget)
    }

    /// Runs CPU-heavy parsing of `url` on a parser thread: the async runtime stays
    /// free for the other sources, and the work counts against this source's budget.
    /// `work` gets a guard to check between items; when the budget runs out (or the
    /// pass is dropped) the guard fails and the work stops early.
    pub async fn parse_blocking<T: Send + 'static>(
        &self,
        url: &str,
        work: impl FnOnce(&ParseGuard) -> T + Send + 'static,
    ) -> Result<T, CollectError> {
        let guard = self.parse_guard();
        let _stop_when_dropped = CancelOnDrop(guard.clone());
        self.tally.set_activity(Some(format!("parsing {url}")));
        // A parser thread does not inherit the task's span; carry it, so that warnings name the source.
        let span = tracing::Span::current();
        let joined = match PARSERS.submit(move || span.in_scope(|| work(&guard))) {
            Some(outcome) => outcome.await.ok(),
            None => None,
        };
        self.tally.set_activity(None);
        match joined {
            Some(Ok(value)) => Ok(value),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(CollectError::parse(url, "no parser thread is running".to_string())),
        }
    }

    /// A parse error of `url` naming this source; running out of time is a budget error.
    pub fn markup_error(&self, url: &str, error: MarkupError) -> CollectError {
        match error {
            MarkupError::OutOfTime => CollectError::Budget {
                budget: self.budget,
                during: Some(format!("parsing {url}")),
            },
            MarkupError::TooDeep { .. } => CollectError::parse(url, format!("source '{}': {error}", self.source.id)),
        }
    }

    /// The error of page `url` naming this source; running out of time is a budget error.
    pub fn page_error(&self, url: &str, error: PageError) -> CollectError {
        match error {
            PageError::Markup(e) => self.markup_error(url, e),
            PageError::Invalid(message) => CollectError::parse(url, format!("source '{}': {message}", self.source.id)),
        }
    }
}

/// Why a fetched page or feed gave nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// Not what the kind expects (not a feed, not a result list, ...).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Markup(#[from] MarkupError),
}

/// Cancels a guard when the future awaiting the blocking work is dropped (budget
/// spent, shutdown): the blocking thread cannot be aborted, but it stops at its next check.
struct CancelOnDrop(ParseGuard);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The result of one source in one pass.
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    pub source: String,
    pub calls: Vec<Call>,
    pub state: SourceState,
    /// The pass changed `state` (new validators, memo): only then is it written back.
    pub state_changed: bool,
    /// Set when the source failed. `calls` is then empty and `state` the old one:
    /// the store keeps the calls of earlier passes, and the next pass starts afresh.
    pub error: Option<String>,
    /// Everything as in the last pass: `calls` is empty, and the calls the source
    /// listed last time are still listed (see [`CollectContext::unchanged`]).
    pub unchanged: bool,
    /// The source's field memo to store (fields as JSON by entry key), when this pass
    /// changed it.
    pub fields: Option<FieldsToStore>,
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
    prior: Prior,
    now: DateTime<Utc>,
) -> SourceOutcome {
    let started = Instant::now();
    let mut ctx = CollectContext::new(fetcher, source, state.clone(), prior, now);
    let tally = ctx.tally.clone();
    let watch = watchdog(&tally, fetcher.settings().host_wait, ctx.budget);
    let result = tokio::select! {
        result = http::count_requests(tally.clone(), run_kind(&mut ctx)) => result,
        error = watch => Err(error),
    };
    let (calls, state, state_changed, error, unchanged, fields) = match result {
        Ok(calls) => {
            let changed = ctx.state != state;
            (calls, ctx.state, changed, None, ctx.unchanged, ctx.fields.to_store())
        }
        Err(e) => {
            tracing::warn!(target: REPEATED_IN_SUMMARY, source = %source.id, error = %e, "source failed");
            (Vec::new(), state, false, Some(e.to_string()), false, None)
        }
    };
    SourceOutcome {
        source: source.id.clone(),
        calls,
        state,
        state_changed,
        error,
        unchanged,
        fields,
        requests: tally.requests.load(Ordering::Relaxed),
        not_modified: tally.not_modified.load(Ordering::Relaxed),
        duration: started.elapsed(),
    }
}

/// Ends a source's pass: `host_wait` after entering when no request got a host slot
/// by then, else `budget` after the first request started.
async fn watchdog(tally: &RequestTally, host_wait: Duration, budget: Duration) -> CollectError {
    let queued = Instant::now();
    if tokio::time::timeout(host_wait, tally.wait_started()).await.is_err() {
        return CollectError::HostWait {
            host: tally.host().unwrap_or_else(|| "?".into()),
            waited: host_wait,
        };
    }
    let started = tally.started().unwrap_or(queued);
    tokio::time::sleep_until((started + budget).into()).await;
    CollectError::Budget {
        budget,
        during: tally.activity(),
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

/// Collects the given sources concurrently; the fetcher throttles per host,
/// so sources on different hosts proceed in parallel. One source failing (or
/// panicking) never stops the others. Outcomes come in the order of `sources`.
///
/// The caller chooses the sources (the enabled ones, or those named with
/// `collect --source`, disabled or not); none is filtered out here.
pub async fn collect_all(
    fetcher: &Fetcher,
    sources: &[SourceConfig],
    states: HashMap<String, SourceState>,
    priors: Priors,
    now: DateTime<Utc>,
) -> Vec<SourceOutcome> {
    let mut collecting = start_all(fetcher, sources, states, priors, now);
    let mut outcomes = Vec::with_capacity(sources.len());
    while let Some(outcome) = collecting.next().await {
        outcomes.push(outcome);
    }
    outcomes
}

/// Starts the collectors of `sources`, as [`collect_all`] does, and hands their outcomes
/// out one at a time in source order, so that a caller stores each source while the later
/// ones still run and never holds the calls of all sources at once.
pub fn start_all(
    fetcher: &Fetcher,
    sources: &[SourceConfig],
    mut states: HashMap<String, SourceState>,
    mut priors: Priors,
    now: DateTime<Utc>,
) -> Collecting {
    let waiting = sources
        .iter()
        .map(|source| {
            let state = states.remove(&source.id).unwrap_or_default();
            let prior = priors.take(&source.id);
            (source.clone(), state, prior)
        })
        .collect();
    let mut collecting = Collecting {
        fetcher: fetcher.clone(),
        now,
        window: (2 * fetcher.settings().per_host_concurrency).max(MIN_WINDOW),
        waiting,
        started: 0,
        running: tokio::task::JoinSet::new(),
        running_ids: HashMap::new(),
        done: std::collections::BTreeMap::new(),
        next: 0,
    };
    collecting.top_up();
    collecting
}

/// Collectors that run at once, at least. Each is a task whose future holds a whole source
/// pass (~8 KB): 200 sources started together were 1.6 MB of a warm pass's heap. Twice the
/// per-host concurrency keeps every request slot of a host busy (four times measured no
/// faster at 100 ms latency: 2.40–2.43 s against 2.42–2.44 s for the mutated collect).
const MIN_WINDOW: usize = 32;

/// The collectors of a pass (see [`start_all`]): a window of running tasks, refilled in
/// source order as any of them ends, so that a slow source holds one place only.
pub struct Collecting {
    fetcher: Fetcher,
    now: DateTime<Utc>,
    window: usize,
    /// Sources not started yet, in order.
    waiting: std::collections::VecDeque<(SourceConfig, SourceState, prior::Prior)>,
    /// Sources started so far (the index of the next one to start).
    started: usize,
    running: tokio::task::JoinSet<(usize, SourceOutcome)>,
    /// Index and id of each running task's source, for a task that panicked.
    running_ids: HashMap<tokio::task::Id, (usize, String)>,
    /// Outcomes that ended before an earlier source's, by source index.
    done: std::collections::BTreeMap<usize, SourceOutcome>,
    /// The index of the next outcome to hand out.
    next: usize,
}

impl Collecting {
    /// The next outcome in the order of the sources; `None` when all were handed out.
    /// Cancel-safe: dropped inside a `select!`, it loses no outcome.
    pub async fn next(&mut self) -> Option<SourceOutcome> {
        loop {
            // Ended tasks give their place to the next sources at once, also while earlier
            // outcomes are still handed out one by one.
            while let Some(ended) = self.running.try_join_next_with_id() {
                self.take(ended);
            }
            self.top_up();
            if let Some(outcome) = self.done.remove(&self.next) {
                self.next += 1;
                return Some(outcome);
            }
            let ended = self.running.join_next_with_id().await?;
            self.take(ended);
        }
    }

    /// Keeps the outcome of an ended task until its turn.
    fn take(&mut self, ended: Result<(tokio::task::Id, (usize, SourceOutcome)), tokio::task::JoinError>) {
        let (index, outcome) = match ended {
            Ok((id, ended)) => {
                self.running_ids.remove(&id);
                ended
            }
            Err(e) => {
                let (index, source) = self.running_ids.remove(&e.id()).expect("every task is registered");
                (index, panicked(source, &e))
            }
        };
        self.done.insert(index, outcome);
    }

    fn top_up(&mut self) {
        while self.running.len() < self.window {
            let Some((source, state, prior)) = self.waiting.pop_front() else {
                return;
            };
            let index = self.started;
            self.started += 1;
            let (fetcher, now) = (self.fetcher.clone(), self.now);
            let span = tracing::info_span!("collect", source = %source.id, kind = source.kind.name());
            let id = source.id.clone();
            let task = self.running.spawn(
                async move { (index, collect_source(&fetcher, &source, state, prior, now).await) }.instrument(span),
            );
            self.running_ids.insert(task.id(), (index, id));
        }
    }
}

/// A panicking collector changes no state: the stored one stays, so nothing of the last
/// pass is lost (the outcome carries none, and says so with `state_changed`).
fn panicked(source: String, e: &tokio::task::JoinError) -> SourceOutcome {
    tracing::error!(source = %source, error = %e, "source collector panicked");
    SourceOutcome {
        source,
        calls: Vec::new(),
        state: SourceState::default(),
        state_changed: false,
        error: Some(format!("collector panicked: {e}")),
        unchanged: false,
        fields: None,
        requests: 0,
        not_modified: 0,
        duration: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_parser_thread_survives_a_panicking_parse() {
        let threads = ParserThreads::start(1);
        let panicked = threads
            .submit(|| -> u32 { panic!("hostile page") })
            .unwrap()
            .await
            .unwrap();
        assert!(panicked.is_err());
        let next = threads.submit(|| 7).unwrap().await.unwrap();
        assert_eq!(next.ok(), Some(7));
    }

    fn table(src: &str) -> toml::Table {
        src.parse().unwrap()
    }

    #[test]
    fn html_selector_that_does_not_parse_is_a_config_error() {
        let err = SourceKind::from_table("html", table("item = 'div.call['\ntitle = 'h3'")).unwrap_err();
        assert!(err.contains("div.call["), "{err}");
        assert!(SourceKind::from_table("html", table("item = 'div.call'\ntitle = 'h3'")).is_ok());
    }

    #[tokio::test]
    async fn watchdog_names_the_host_wait_and_what_the_budget_ran_out_on() {
        let tally = RequestTally::default();
        let queued = watchdog(&tally, Duration::from_millis(10), Duration::from_secs(3600)).await;
        assert_eq!(
            queued.to_string(),
            "waited 0 s for host ? behind other sources (http.host_wait_secs = 0)"
        );
        tally.mark_started();
        tally.set_activity(Some("parsing http://127.0.0.1:1/feed.xml".into()));
        let spent = watchdog(&tally, Duration::from_secs(3600), Duration::from_millis(10)).await;
        assert_eq!(
            spent.to_string(),
            "time budget of 10ms exhausted while parsing http://127.0.0.1:1/feed.xml"
        );
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
