//! The pipeline stages, each reading and writing the store so that any stage
//! can be rerun alone: collect → match → notify (plan digests, deliver the outbox).
//!
//! [`App`] holds a loaded config, the store and the evaluation day. The CLI and
//! the daemon call these stages; so do the integration tests.

pub mod feedback;
pub mod stats;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use self::stats::{Meter, Stage, StageStats};
use crate::collect::{self, Fetcher, Priors, SourceOutcome, Wanted};
use crate::config::Config;
use crate::matching::Matcher;
use crate::model::source::SourceState;
use crate::model::{Call, CallId, Match};
use crate::notify::admin::{self, AdminNotice};
use crate::notify::{self, DeliveryReport, DigestPlan, FailedMail, PlanMode, Transport};
use crate::store::{
    AnyStore, CallFilter, InstanceInfo, Lease, RunKind, SourceHealth, SourcePass, SourceRun, Store, UpsertOutcome,
};

/// A loaded deployment: validated config, compiled matcher, open store.
///
/// Generic over the [`Store`] backend; the CLI and the daemon open the store the
/// config names ([`App::open`]), a test or bench brings one through [`App::with_store`].
pub struct App<S: Store = AnyStore> {
    pub config: Config,
    /// The compiled rules; `None` until the first match (a pass in which nothing changed
    /// matches nothing) and after [`App::release_matcher`].
    matcher: Mutex<Option<Arc<Matcher>>>,
    pub store: S,
    pub data_dir: PathBuf,
    /// Evaluate deadlines as of this day instead of the real today (`--today`).
    pub today_override: Option<NaiveDate>,
    /// This process, as it claims work and records its heartbeat in the store.
    pub instance: InstanceInfo,
    /// Built on the first delivery and kept for the life of the app (until a reload), so
    /// the SMTP connection pool is not dropped and rebuilt on every delivery.
    transport: OnceLock<Transport>,
    /// Hash of everything in the config that matching depends on (see [`App::matching_key`]).
    rules_hash: String,
    /// Costs of the stages run since the last [`App::take_stage_stats`].
    stage_stats: Mutex<Vec<StageStats>>,
}

impl App<AnyStore> {
    /// Opens the store the config names (`[store] url`, else `foerderradar.sqlite` under
    /// `data_dir`) and compiles the rules.
    pub async fn open(config: Config, data_dir: &Path, today_override: Option<NaiveDate>) -> anyhow::Result<App> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let store = crate::store::open(config.service.store.as_ref(), data_dir)
            .await
            .with_context(|| {
                format!(
                    "opening the store {}",
                    crate::store::location(config.service.store.as_ref(), data_dir)
                )
            })?;
        App::with_store(config, store, data_dir, today_override)
    }
}

impl<S: Store> App<S> {
    /// An app over an already opened store. The rules are compiled when a pass first
    /// has calls to match: loading the config checked everything compiling could refuse.
    pub fn with_store(
        config: Config,
        store: S,
        data_dir: &Path,
        today_override: Option<NaiveDate>,
    ) -> anyhow::Result<App<S>> {
        Ok(App {
            rules_hash: rules_hash(&config),
            config,
            matcher: Mutex::new(None),
            store,
            data_dir: data_dir.to_path_buf(),
            today_override,
            instance: InstanceInfo::new(&host_name(), std::process::id(), Utc::now()),
            transport: OnceLock::new(),
            stage_stats: Mutex::new(Vec::new()),
        })
    }

    /// The evaluation day in the deployment's time zone.
    pub fn today(&self) -> NaiveDate {
        self.today_override
            .unwrap_or_else(|| Utc::now().with_timezone(&self.config.service.timezone).date_naive())
    }

    /// This instance's claims: its id and `[daemon] lease_secs`.
    pub fn lease(&self) -> Lease {
        Lease {
            holder: self.instance.id.clone(),
            // Bounded by the config check; the fallback only guards the conversion.
            length: chrono::TimeDelta::from_std(self.config.service.lease).unwrap_or(chrono::TimeDelta::seconds(120)),
        }
    }

    /// The costs of the stages run since the last call, oldest first.
    pub fn take_stage_stats(&self) -> Vec<StageStats> {
        std::mem::take(&mut *self.stage_stats.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn record(&self, meter: Meter) {
        let stats = meter.finish();
        self.stage_stats.lock().unwrap_or_else(|e| e.into_inner()).push(stats);
    }

    /// The compiled rules, compiled on first use and again after [`App::release_matcher`].
    pub fn matcher(&self) -> Arc<Matcher> {
        let mut slot = self.matcher.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| {
            // Config::load refuses what Matcher::new would (a project's unknown Handlungsfeld).
            Arc::new(Matcher::new(&self.config).expect("a loaded config compiles"))
        })
        .clone()
    }

    /// Drops the compiled rules until they are needed again. The daemon calls it after
    /// each job: their automaton is about 4 MB, held for nothing between jobs hours apart,
    /// and compiling it again takes milliseconds.
    pub fn release_matcher(&self) {
        *self.matcher.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Replaces config and matcher (SIGHUP); the caller validated both.
    pub fn reload(&mut self, config: Config, matcher: Matcher) {
        self.rules_hash = rules_hash(&config);
        self.config = config;
        self.matcher = Mutex::new(Some(Arc::new(matcher)));
        // The SMTP settings may have changed.
        self.transport = OnceLock::new();
    }

    /// Collects all enabled sources (or only `only`), stores the calls and the
    /// source health. A failing source is reported in the summary, never fatal.
    pub async fn collect(&self, only: &[String]) -> anyhow::Result<CollectSummary> {
        self.collect_reporting(only, None).await
    }

    /// [`App::collect`], sending each source's id on `stored` as soon as its outcome is
    /// stored (the daemon marks that source's claim done then, while the others run).
    pub async fn collect_reporting(
        &self,
        only: &[String],
        stored: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    ) -> anyhow::Result<CollectSummary> {
        let meter = Meter::start(Stage::Collect);
        let now = Utc::now();
        let run = self.store.start_run(RunKind::Collect, now).await?;
        let sources: Vec<_> = self
            .config
            .sources
            .iter()
            .filter(|s| {
                if only.is_empty() {
                    s.enabled
                } else {
                    only.contains(&s.id)
                }
            })
            .cloned()
            .collect();
        let fetcher = Fetcher::new(&self.config.service.http, &self.config.sources)?;
        let broken_before: Vec<String> = self
            .store
            .source_health()
            .await?
            .into_iter()
            .filter(|h| h.broken)
            .map(|h| h.source)
            .collect();
        let mut all_states = self.store.source_states().await?;
        let states: HashMap<String, SourceState> = sources
            .iter()
            .map(|s| (s.id.clone(), all_states.remove(&s.id).unwrap_or_default()))
            .collect();
        drop(all_states);
        let (priors, mut requests) = Priors::on_request(self.store.calls_per_source().await?);
        // A source's state is written back only when its pass changed it (new validators,
        // memo, `SourceOutcome::state_changed`): an unchanged source, every source of a
        // warm pass, writes no state.
        let mut collecting = collect::start_all(&fetcher, &sources, states, priors, now);
        // Earlier calls are read only for the sources that ask (a changed page); what was
        // read serves again to tell unchanged listings when the outcome is stored. Outcomes
        // are stored in batches as they come, while the later sources are still collected.
        let mut known: HashMap<String, HashMap<String, Known>> = HashMap::new();
        let mut summary = CollectSummary::default();
        let mut unchanged = UnchangedSources::default();
        let mut changed = ChangedSources::default();
        loop {
            tokio::select! {
                outcome = collecting.next() => {
                    let Some(outcome) = outcome else { break };
                    let source_id = outcome.source.clone();
                    if outcome.unchanged && outcome.error.is_none() && outcome.calls.is_empty() {
                        if outcome.state_changed {
                            self.store.save_source_state(&outcome.source, &outcome.state).await?;
                        }
                        unchanged.add(&outcome, now, &mut summary);
                        if unchanged.runs.len() >= UNCHANGED_BATCH {
                            self.record_unchanged(&mut unchanged, &mut summary, stored.as_ref()).await?;
                        }
                        continue;
                    }
                    changed.add(outcome, known.remove(&source_id), &mut summary);
                    if changed.is_full() {
                        self.record_changed(&mut changed, &mut summary, now, stored.as_ref()).await?;
                    }
                }
                Some(request) = requests.recv() => match request.wants {
                    Wanted::Calls(reply) => {
                        let calls = self.prior_calls(&request.source).await;
                        if let Ok(calls) = &calls {
                            known.insert(request.source.clone(), calls.values().map(|c| (c.url.clone(), Known::of(c))).collect());
                        }
                        let _ = reply.send(calls.map_err(|e| e.to_string()));
                    }
                    Wanted::Fields(reply) => {
                        let fields = self.store.extracted_fields(&request.source).await;
                        let _ = reply.send(fields.map_err(|e| e.to_string()));
                    }
                },
            }
        }
        self.record_changed(&mut changed, &mut summary, now, stored.as_ref())
            .await?;
        self.record_unchanged(&mut unchanged, &mut summary, stored.as_ref())
            .await?;
        summary.newly_broken = summary
            .sources
            .iter()
            .filter_map(|s| s.health.clone())
            .filter(|h| h.broken && !broken_before.contains(&h.source))
            .collect();
        self.store
            .finish_run(run, Utc::now(), summary.failed() == 0, &summary.to_json())
            .await?;
        self.record(meter);
        Ok(summary)
    }

    /// Records the buffered unchanged sources in one go and fills in their reports.
    async fn record_unchanged(
        &self,
        unchanged: &mut UnchangedSources,
        summary: &mut CollectSummary,
        stored: Option<&tokio::sync::mpsc::UnboundedSender<String>>,
    ) -> anyhow::Result<()> {
        let runs = std::mem::take(&mut unchanged.runs);
        let healths = self
            .store
            .record_unchanged_sources(&runs, self.config.service.http.broken_after)
            .await?;
        for (index, health) in std::mem::take(&mut unchanged.reports).into_iter().zip(healths) {
            let report = &mut summary.sources[index];
            report.unchanged = health.items_last_pass;
            report.health = Some(health);
            if let Some(stored) = stored {
                // The receiver only goes away when the daemon stops the collect.
                let _ = stored.send(report.source.clone());
            }
        }
        Ok(())
    }

    /// The calls a source listed before, by canonical URL.
    async fn prior_calls(&self, source: &str) -> anyhow::Result<HashMap<String, Call>> {
        let filter = CallFilter {
            source: Some(source.to_string()),
            ..CallFilter::default()
        };
        let calls = self.store.list_calls(&filter).await?;
        Ok(calls.into_iter().map(|c| (c.url.clone(), c)).collect())
    }

    /// Records the buffered changed (or failed) sources in one transaction and fills in
    /// their reports. A listing identical to what its source delivered last time only
    /// refreshes when it was seen; the rest is upserted. What tells the two apart is read
    /// for all sources of the batch at once, unless a source's collector read its calls.
    async fn record_changed(
        &self,
        changed: &mut ChangedSources,
        summary: &mut CollectSummary,
        now: DateTime<Utc>,
        stored: Option<&tokio::sync::mpsc::UnboundedSender<String>>,
    ) -> anyhow::Result<()> {
        let buffered = std::mem::take(&mut changed.sources);
        changed.calls = 0;
        if buffered.is_empty() {
            return Ok(());
        }
        let unread: Vec<&str> = buffered
            .iter()
            .filter(|b| b.known.is_none() && !b.outcome.calls.is_empty())
            .map(|b| b.outcome.source.as_str())
            .collect();
        // Only what tells an unchanged listing: no call's content is read.
        let mut listed = self.store.source_listings(&unread).await?;
        let mut reports = Vec::with_capacity(buffered.len());
        let passes: Vec<SourcePass> = buffered
            .into_iter()
            .map(|b| {
                let known = b.known.unwrap_or_else(|| {
                    let listed = listed.remove(&b.outcome.source).unwrap_or_default();
                    listed.into_iter().map(|l| (l.url.clone(), Known::listed(l))).collect()
                });
                reports.push(b.report);
                source_pass(b.outcome, &known, now)
            })
            .collect();
        let recorded = self
            .store
            .record_source_passes(&passes, self.config.service.http.broken_after)
            .await?;
        for ((index, pass), (outcomes, health)) in reports.into_iter().zip(passes).zip(recorded) {
            let report = &mut summary.sources[index];
            report.unchanged = pass.seen.len() as u32;
            for upserted in outcomes {
                match upserted {
                    UpsertOutcome::New(_) => report.new += 1,
                    UpsertOutcome::Changed(..) => report.changed += 1,
                    UpsertOutcome::Unchanged(_) => report.unchanged += 1,
                }
            }
            report.error = pass.run.error;
            report.health = Some(health);
            if let Some(stored) = stored {
                // The receiver only goes away when the daemon stops the collect.
                let _ = stored.send(report.source.clone());
            }
        }
        Ok(())
    }

    /// Matches the calls that are new or changed since their last match, or every call
    /// when the rules, the Kommunen or the evaluation day changed (see [`App::matching_key`]),
    /// in batches of [`MATCH_BATCH`] calls, each stored in one transaction.
    pub async fn match_calls(&self) -> anyhow::Result<MatchSummary> {
        let meter = Meter::start(Stage::Match);
        let now = Utc::now();
        let run = self.store.start_run(RunKind::Match, now).await?;
        let today = self.today();
        let key = self.matching_key(today);
        let mut summary = MatchSummary::default();
        let mut after: Option<CallId> = None;
        // Compiled only when some call is to be matched.
        let mut matcher: Option<Arc<Matcher>> = None;
        loop {
            let batch = self.store.calls_to_match(&key, after.as_ref(), MATCH_BATCH).await?;
            let Some((last, _)) = batch.last() else { break };
            after = Some(last.id.clone());
            let matcher = matcher.get_or_insert_with(|| self.matcher());
            let results: Vec<(CallId, i64, Vec<Match>)> = batch
                .into_iter()
                .map(|(call, version)| {
                    let matches = matcher.match_call(&call, today);
                    let passed = matches.iter().filter(|m| m.passed).count();
                    summary.calls += 1;
                    summary.passed += passed;
                    summary.calls_matched += usize::from(passed > 0);
                    (call.id, version, matches)
                })
                .collect();
            self.store.save_matches(&key, &results).await?;
        }
        self.store
            .finish_run(run, Utc::now(), true, &json!(summary.to_json()))
            .await?;
        self.record(meter);
        Ok(summary)
    }

    /// Matches every stored call again, whatever was matched before (`match --all`).
    pub async fn match_all_calls(&self) -> anyhow::Result<MatchSummary> {
        self.store.forget_match_keys().await?;
        self.match_calls().await
    }

    /// What stored matches depend on besides the call: the strategy (rules, criteria,
    /// thresholds), the Kommunen and regions, the evaluation day (deadline criteria)
    /// and the program version. A call is matched again when this key changes.
    pub fn matching_key(&self, today: NaiveDate) -> String {
        format!("{}:{today}", self.rules_hash)
    }

    /// Plans the due digests and delivers the due outbox (`notify`, `run --once`, the daemon).
    pub async fn notify(&self) -> anyhow::Result<(DigestPlan, DeliveryReport)> {
        self.notify_with(PlanMode::Due).await
    }

    /// Plans digests in `mode` (`notify --now`: every pending item regardless of
    /// cadence) and delivers the due outbox.
    pub async fn notify_with(&self, mode: PlanMode) -> anyhow::Result<(DigestPlan, DeliveryReport)> {
        let now = Utc::now();
        let meter = Meter::start(Stage::Plan);
        let run = self.store.start_run(RunKind::Notify, now).await?;
        let plan = notify::plan(&self.store, &self.config, self.today(), now, mode).await?;
        self.record(meter);
        let delivery = self.deliver(now).await?;
        let summary = json!({ "planned": plan.to_string(), "delivery": delivery.to_string() });
        self.store
            .finish_run(run, Utc::now(), delivery.failed == 0, &summary)
            .await?;
        Ok((plan, delivery))
    }

    /// Sends due outbox mails (first attempts and retries) once. Mails given up here are in
    /// the report and must reach the admin: callers pass them to [`App::tell_admin`].
    pub async fn deliver(&self, now: DateTime<Utc>) -> anyhow::Result<DeliveryReport> {
        let meter = Meter::start(Stage::Deliver);
        let report = notify::deliver(
            &self.store,
            self.transport()?,
            &self.config.service.notify,
            &self.lease(),
            now,
        )
        .await?;
        self.record(meter);
        Ok(report)
    }

    fn transport(&self) -> anyhow::Result<&Transport> {
        if let Some(transport) = self.transport.get() {
            return Ok(transport);
        }
        let transport = Transport::from_config(&self.config.service, &self.data_dir)?;
        Ok(self.transport.get_or_init(|| transport))
    }

    /// One whole pass: collect → match → notify, then tell the admin what broke.
    pub async fn pass(&self) -> anyhow::Result<PassSummary> {
        let collect = self.collect(&[]).await?;
        // Each stage's working memory goes back before the next grows its own: the pass
        // peaks at its largest stage, not at their sum. No later stage extracts fields, so
        // the extraction patterns' programs go as well.
        crate::model::pattern::release_compiled();
        return_freed_memory();
        let matching = self.match_calls().await?;
        self.release_matcher();
        return_freed_memory();
        let (plan, delivery) = self.notify().await?;
        let notice = AdminNotice {
            newly_broken: collect.newly_broken.clone(),
            given_up: delivery.failures.clone(),
        };
        let given_up_later = self.tell_admin(&notice).await?;
        Ok(PassSummary {
            collect,
            matching,
            plan,
            delivery,
            given_up_later,
        })
    }

    /// Queues a notice to the admin (sources that broke, mails given up) and delivers the
    /// due outbox with it. That delivery may give up further mails (retries that fell due
    /// in the meantime); they go into a further notice, until a delivery gives up nothing
    /// new, so every given-up mail is reported exactly once. Returns those further mails.
    pub async fn tell_admin(&self, notice: &AdminNotice) -> anyhow::Result<Vec<FailedMail>> {
        let mut notice = notice.clone();
        let mut given_up_later = Vec::new();
        loop {
            let now = Utc::now();
            let Some(id) = admin::enqueue(&self.store, &self.config.service, &notice, now).await? else {
                break;
            };
            tracing::warn!(mail = id, subject = %notice.subject(), "admin notified");
            let delivery = self.deliver(now).await?;
            if delivery.failures.is_empty() {
                break;
            }
            given_up_later.extend(delivery.failures.iter().cloned());
            notice = AdminNotice {
                given_up: delivery.failures,
                ..AdminNotice::default()
            };
        }
        Ok(given_up_later)
    }
}

/// Hands freed heap back to the system. glibc keeps freed blocks in its arenas for reuse,
/// but a block freed in one arena (a parser thread's) is not reused by another (the main
/// thread's digest planning), so without this a pass or job sits at the sum of its stages.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Calls per batch of a matching pass: bounds the call texts held at once.
pub const MATCH_BATCH: u32 = 200;

/// Hash of the config parts matching depends on, and of the program version (a new
/// matcher may decide differently). The debug form is complete and ordered: the config
/// types hold no hash maps.
fn rules_hash(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;

    /// Feeds formatted text straight into the hash: the debug form of a strategy runs to
    /// hundreds of KB, and it is never needed as a string.
    struct Hashing(Sha256);
    impl Write for Hashing {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.update(s);
            Ok(())
        }
    }
    let mut hasher = Hashing(Sha256::new());
    hasher.0.update(env!("CARGO_PKG_VERSION"));
    write!(
        hasher,
        "{:?}\n{:?}\n{:?}",
        config.strategy, config.kommunen, config.member_regions
    )
    .expect("hashing does not fail");
    hex::encode(&hasher.0.finalize()[..16])
}

/// What the store holds of a call a source listed last time: enough to tell an
/// unchanged listing without a store round trip.
struct Known {
    id: CallId,
    fingerprint: String,
    links: Vec<crate::model::SourceLink>,
}

impl Known {
    fn of(call: &Call) -> Known {
        Known {
            id: call.id.clone(),
            fingerprint: call.fingerprint.clone(),
            links: call.links.clone(),
        }
    }

    fn listed(listed: crate::store::ListedCall) -> Known {
        Known {
            id: listed.id,
            fingerprint: listed.fingerprint,
            links: listed.links,
        }
    }

    /// Same call, same content, and every listing of it already recorded. A parsed call
    /// is sealed ([`Call::seal`]) as its parser's last step, so its fingerprint is current.
    fn unchanged(&self, call: &Call, source: &str) -> bool {
        debug_assert_eq!(call.fingerprint, call.compute_fingerprint(), "a parsed call is sealed");
        let own = crate::model::SourceLink {
            source: source.to_string(),
            url: call.url.clone(),
        };
        self.id == call.id
            && self.links.contains(&own)
            && call.links.iter().all(|l| self.links.contains(l))
            && self.fingerprint == call.fingerprint
    }
}

/// A changed source's pass to store: its listings as they were last time are only seen
/// again (same call, same content, every listing recorded), the rest is upserted.
fn source_pass(outcome: SourceOutcome, known: &HashMap<String, Known>, now: DateTime<Utc>) -> SourcePass {
    let listed = outcome.calls.len() as u32;
    // The calls move out of the outcome: none is copied.
    let (seen, calls): (Vec<Call>, Vec<Call>) = outcome
        .calls
        .into_iter()
        .partition(|call| known.get(&call.url).is_some_and(|k| k.unchanged(call, &outcome.source)));
    SourcePass {
        run: SourceRun {
            source: outcome.source,
            at: now,
            items: listed,
            error: outcome.error,
            requests: outcome.requests,
            not_modified: outcome.not_modified,
            duration_ms: outcome.duration.as_millis() as u64,
        },
        seen: seen.into_iter().map(|c| (c.id, c.url)).collect(),
        calls,
        fields: outcome.fields,
        state: outcome.state_changed.then_some(outcome.state),
    }
}

/// Changed sources stored together, up to this many: one transaction with a few
/// statements for their listings seen, memos, states, runs and healths, instead of
/// about fifteen statements in five transactions per source.
const CHANGED_BATCH: usize = 32;
/// ... or once their outcomes hold this many calls (bounds the calls held at once).
const CHANGED_BATCH_CALLS: usize = 640;

/// Changed (or failed) sources not yet stored, with what their collectors read of their
/// earlier calls.
#[derive(Default)]
struct ChangedSources {
    sources: Vec<BufferedOutcome>,
    calls: usize,
}

struct BufferedOutcome {
    outcome: SourceOutcome,
    /// The earlier calls the collector read, if it read them.
    known: Option<HashMap<String, Known>>,
    /// The place of the source's report in the summary.
    report: usize,
}

impl ChangedSources {
    fn add(&mut self, outcome: SourceOutcome, known: Option<HashMap<String, Known>>, summary: &mut CollectSummary) {
        self.calls += outcome.calls.len();
        summary.sources.push(SourceReport {
            source: outcome.source.clone(),
            ..SourceReport::default()
        });
        self.sources.push(BufferedOutcome {
            outcome,
            known,
            report: summary.sources.len() - 1,
        });
    }

    fn is_full(&self) -> bool {
        self.sources.len() >= CHANGED_BATCH || self.calls >= CHANGED_BATCH_CALLS
    }
}

/// Unchanged sources recorded together: a warm pass is 200 such sources, and one
/// transaction of a few statements for all of them costs a fraction of two per source.
const UNCHANGED_BATCH: usize = 64;

/// Sources that found everything as in their last pass, not yet recorded, with the
/// places of their reports in the summary.
#[derive(Default)]
struct UnchangedSources {
    runs: Vec<SourceRun>,
    reports: Vec<usize>,
}

impl UnchangedSources {
    fn add(&mut self, outcome: &SourceOutcome, now: DateTime<Utc>, summary: &mut CollectSummary) {
        self.runs.push(SourceRun {
            source: outcome.source.clone(),
            at: now,
            // The store counts the listings seen again.
            items: 0,
            error: None,
            requests: outcome.requests,
            not_modified: outcome.not_modified,
            duration_ms: outcome.duration.as_millis() as u64,
        });
        self.reports.push(summary.sources.len());
        summary.sources.push(SourceReport {
            source: outcome.source.clone(),
            ..SourceReport::default()
        });
    }
}

/// What one source did in a collect pass.
#[derive(Debug, Clone, Default)]
pub struct SourceReport {
    pub source: String,
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub error: Option<String>,
    pub health: Option<SourceHealth>,
}

#[derive(Debug, Clone, Default)]
pub struct CollectSummary {
    pub sources: Vec<SourceReport>,
    /// Sources flagged broken in this pass that were not before (the admin hears about them).
    pub newly_broken: Vec<SourceHealth>,
}

impl CollectSummary {
    pub fn failed(&self) -> usize {
        self.sources.iter().filter(|s| s.error.is_some()).count()
    }

    fn to_json(&self) -> serde_json::Value {
        let sources: Vec<_> = self
            .sources
            .iter()
            .map(|s| json!({"source": s.source, "new": s.new, "changed": s.changed, "unchanged": s.unchanged, "error": s.error}))
            .collect();
        json!({ "sources": sources, "failed": self.failed() })
    }
}

impl fmt::Display for CollectSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.sources {
            match &s.error {
                None => writeln!(
                    f,
                    "  ok      {:<28} {} new, {} changed, {} unchanged",
                    s.source, s.new, s.changed, s.unchanged
                )?,
                Some(e) => writeln!(f, "  FAILED  {:<28} {e}", s.source)?,
            }
            if s.health.as_ref().is_some_and(|h| h.broken) {
                writeln!(f, "          {:<28} flagged broken (see `foerderradar sources`)", "")?;
            }
        }
        write!(f, "collect: {} sources, {} failed", self.sources.len(), self.failed())
    }
}

#[derive(Debug, Clone, Default)]
pub struct MatchSummary {
    pub calls: usize,
    pub calls_matched: usize,
    pub passed: usize,
}

impl MatchSummary {
    fn to_json(&self) -> serde_json::Value {
        json!({"calls": self.calls, "calls_matched": self.calls_matched, "passed": self.passed})
    }
}

impl fmt::Display for MatchSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "match: {} calls, {} with a match, {} matches passed",
            self.calls, self.calls_matched, self.passed
        )
    }
}

pub struct PassSummary {
    pub collect: CollectSummary,
    pub matching: MatchSummary,
    pub plan: DigestPlan,
    pub delivery: DeliveryReport,
    /// Mails given up while the admin notice went out (reported in a further notice).
    pub given_up_later: Vec<FailedMail>,
}

impl PassSummary {
    /// True when something needs attention: a source failed or mail is waiting for a retry.
    pub fn has_problems(&self) -> bool {
        self.collect.failed() > 0
            || self.delivery.failed > 0
            || self.delivery.retried > 0
            || !self.given_up_later.is_empty()
    }
}

impl fmt::Display for PassSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.collect)?;
        writeln!(f, "{}", self.matching)?;
        writeln!(f, "{}", self.plan)?;
        write!(f, "{}", self.delivery)?;
        for m in &self.given_up_later {
            write!(
                f,
                "\n  given up: #{} {} after {} attempt(s): {}",
                m.id, m.contact, m.attempts, m.error
            )?;
        }
        Ok(())
    }
}

/// The machine's name, part of the instance id (`status` shows it).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streamed hash is the hash of the whole debug text, as before: stored matching
    /// keys stay valid across the change, so no call is matched again for it.
    #[test]
    fn rules_hash_streams_the_same_bytes_as_the_formatted_text() {
        use sha2::{Digest, Sha256};
        let config = Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap();
        let mut whole = Sha256::new();
        whole.update(env!("CARGO_PKG_VERSION"));
        whole.update(format!(
            "{:?}\n{:?}\n{:?}",
            config.strategy, config.kommunen, config.member_regions
        ));
        assert_eq!(rules_hash(&config), hex::encode(&whole.finalize()[..16]));
    }

    /// Where a rule stands is no part of what it decides: the same rules in a moved config
    /// folder, below an added comment line, keep their stored matches.
    #[test]
    fn rules_hash_ignores_where_the_rules_stand() {
        let shipped = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let moved = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(shipped).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, moved.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        let strategy = moved.path().join("strategy.toml");
        let text = std::fs::read_to_string(&strategy).unwrap();
        std::fs::write(&strategy, format!("# a note for the next admin\n{text}")).unwrap();
        let (before, after) = (Config::load(shipped).unwrap(), Config::load(moved.path()).unwrap());
        assert_ne!(
            before.strategy.projects[0].profile.rules[0].line,
            after.strategy.projects[0].profile.rules[0].line
        );
        assert_eq!(rules_hash(&before), rules_hash(&after));

        // A changed weight is a change.
        std::fs::write(&strategy, text.replacen("weight = 2.0", "weight = 2.5", 1)).unwrap();
        assert_ne!(rules_hash(&before), rules_hash(&Config::load(moved.path()).unwrap()));
    }
}
