//! The one place that speaks SQL.
//!
//! [`Store`] is the interface every stage uses; [`SqliteStore`] is the embedded
//! default (sqlx, migrations embedded from `migrations/sqlite`), [`PgStore`] the
//! PostgreSQL backend (`migrations/postgres`). [`AnyStore`] is the one the config
//! chose ([`open`]); nothing outside this module knows which.

/// SQL (SQLite) of when call `c` was last seen: the latest of its listings' `last_seen`,
/// or its own (written with its content, never by a pass that merely sees it again).
/// Keeping the seen times on the narrow `call_links` rows alone spares every pass an
/// update of each listed call's wide row and of the `calls_last_seen` index. Defined
/// before the modules so that the SQLite store and `copy` share it.
macro_rules! call_last_seen {
    () => {
        "max(c.last_seen, coalesce((SELECT max(l.last_seen) FROM call_links l WHERE l.call_id = c.id), c.last_seen))"
    };
}

mod any;
mod batch;
mod content;
pub mod copy;
pub mod pg_leases;
mod postgres;
mod records;

mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use any::AnyStore;
use content::{
    fresh_health, healths_after, next_health, passes_by_time, richness, runs_by_time, runs_with_seen, title_key_rule,
};
pub use postgres::PgStore;
pub use records::{
    AdminSession, AuditEntry, DeadLetter, JobMetric, JobRuns, LastError, ScheduledRuns, SourceYield, StoreMetrics,
};
pub use sqlite::SqliteStore;

pub use crate::config::StoreSettings;

/// An idle SQLite connection is closed after this long. Each one keeps its page cache, its
/// prepared statements and a worker thread; a daemon that sleeps for hours between jobs
/// would hold them for nothing (sqlx's default is 10 minutes). Reopening a connection to a
/// local file costs about a millisecond.
pub const IDLE_CONNECTION: std::time::Duration = std::time::Duration::from_secs(20);
use crate::model::contact::ContactSettings;
use crate::model::facts::CallFacts;
use crate::model::feedback::{FeedbackCount, FeedbackEntry, FeedbackSet};
use crate::model::source::SourceState;
use crate::model::{Call, CallId, FieldChange, Match, string_enum};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt stored value in {table}.{column}: {message}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        message: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    /// A value the store refuses to record (an invalid feedback entry).
    #[error("{0}")]
    Invalid(String),
    /// An id prefix that fits more than one call.
    #[error("ambiguous id prefix '{prefix}': matches {}", candidates.join(", "))]
    Ambiguous { prefix: String, candidates: Vec<String> },
    /// A mail would queue a call to a contact that already had it; nothing was queued.
    #[error("call {call} was already queued for {contact}")]
    AlreadyNotified { contact: String, call: CallId },
    /// A backup could not be started (its target exists, or its path is unusable).
    #[error("cannot back up the store to {}: {message}", path.display())]
    Backup { path: std::path::PathBuf, message: String },
    /// The store was migrated by a newer release than this binary.
    #[error(
        "the store at {store} was written by a newer foerderradar (schema {found}, this binary knows up to {known}); \
         upgrade foerderradar or restore a backup taken before the upgrade"
    )]
    NewerSchema {
        /// The file, or the URL of a PostgreSQL store.
        store: String,
        found: i64,
        known: i64,
    },
    #[error("cannot create the database directory {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A corrupt stored value of one source names the source.
    fn naming_source(self, source: &str) -> StoreError {
        match self {
            StoreError::Corrupt { table, column, message } => StoreError::Corrupt {
                table,
                column,
                message: format!("source '{source}': {message}"),
            },
            other => other,
        }
    }
}

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static CALLS_READ: AtomicU64 = AtomicU64::new(0);
static CALLS_WRITTEN: AtomicU64 = AtomicU64::new(0);

/// Work the store did since the process started: SQL statements executed, call rows
/// read and call rows written. Process-wide (one store per process in the CLI and the
/// daemon); a stage's share is the difference of two snapshots, see [`StoreCounters::since`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounters {
    pub statements: u64,
    pub calls_read: u64,
    pub calls_written: u64,
}

impl StoreCounters {
    pub fn snapshot() -> StoreCounters {
        StoreCounters {
            statements: STATEMENTS.load(Ordering::Relaxed),
            calls_read: CALLS_READ.load(Ordering::Relaxed),
            calls_written: CALLS_WRITTEN.load(Ordering::Relaxed),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: StoreCounters) -> StoreCounters {
        StoreCounters {
            statements: self.statements.saturating_sub(earlier.statements),
            calls_read: self.calls_read.saturating_sub(earlier.calls_read),
            calls_written: self.calls_written.saturating_sub(earlier.calls_written),
        }
    }
}

fn count_statement() {
    STATEMENTS.fetch_add(1, Ordering::Relaxed);
}

fn count_calls_read(n: usize) {
    CALLS_READ.fetch_add(n as u64, Ordering::Relaxed);
}

fn count_call_written() {
    CALLS_WRITTEN.fetch_add(1, Ordering::Relaxed);
}

/// What `upsert_call` did.
#[derive(Debug, Clone, PartialEq)]
pub enum UpsertOutcome {
    New(CallId),
    /// A new version was recorded, with the field-level changes.
    Changed(CallId, Vec<FieldChange>),
    /// Same fingerprint: only `last_seen` (and links) were updated.
    Unchanged(CallId),
}

impl UpsertOutcome {
    pub fn id(&self) -> &CallId {
        match self {
            UpsertOutcome::New(id) | UpsertOutcome::Changed(id, _) | UpsertOutcome::Unchanged(id) => id,
        }
    }
}

/// A stored call as a source's earlier listing of it ([`Store::source_listings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedCall {
    pub id: CallId,
    /// The call's canonical URL.
    pub url: String,
    pub fingerprint: String,
    /// Every listing of the call, by any source, in first-seen order.
    pub links: Vec<crate::model::SourceLink>,
}

/// A recorded change of one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub id: i64,
    pub call_id: CallId,
    pub at: DateTime<Utc>,
    pub change: FieldChange,
}

/// Health of one source, as shown by `foerderradar sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    pub source: String,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub items_last_pass: u32,
    /// Items of the last pass that yielded any.
    pub items_before: u32,
    pub last_error: Option<String>,
    pub broken: bool,
}

/// One result of a source in one pass, to be recorded.
#[derive(Debug, Clone)]
pub struct SourceRun {
    pub source: String,
    pub at: DateTime<Utc>,
    pub items: u32,
    pub error: Option<String>,
    pub requests: u32,
    pub not_modified: u32,
    pub duration_ms: u64,
}

/// A changed source's pass as the collect stage records it, with others, in one
/// transaction ([`Store::record_source_passes`]).
#[derive(Debug, Clone)]
pub struct SourcePass {
    /// The run; its `at` is also when the listings in `seen` were seen again.
    pub run: SourceRun,
    /// Listings (call id, listing URL) as the source delivered them last time: only seen again.
    pub seen: Vec<(CallId, String)>,
    /// Listings to upsert, in the source's order.
    pub calls: Vec<Call>,
    /// The source's field memo, when the pass changed it.
    pub fields: Option<FieldsToStore>,
    /// The source's state, when the pass changed it.
    pub state: Option<SourceState>,
}

/// A source's field memo to write (`collect::fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsToStore {
    /// Fields as JSON, by entry key.
    pub entries: std::collections::BTreeMap<String, String>,
    /// The stored entries are dropped first; otherwise `entries` are only added (a key
    /// names its fields: an entry already stored is kept).
    pub replace: bool,
}

string_enum! {
    /// Status of an outbox mail (`outbox.status`).
    pub enum OutboxStatus ("outbox status") {
        Pending = "pending",
        Sent = "sent",
        /// Gave up after `max_attempts`.
        Failed = "failed",
    }
}

/// A digest waiting in (or gone through) the outbox. The message is stored
/// fully rendered, so a retry sends exactly what was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMail {
    pub id: i64,
    pub contact: String,
    pub kommune: String,
    pub subject: String,
    /// The complete RFC 5322 message.
    pub message: Vec<u8>,
    pub calls: Vec<CallId>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
}

/// A new digest to enqueue.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub contact: String,
    pub kommune: String,
    pub subject: String,
    pub message: Vec<u8>,
    pub calls: Vec<CallId>,
}

/// What a contact was last told about one call (digest state, migration 0008).
#[derive(Debug, Clone, PartialEq)]
pub struct SentCall {
    pub call_id: CallId,
    /// Listed in a digest (true), or only recorded as known by an overview (false):
    /// reminders and change notices go to received calls only.
    pub received: bool,
    /// The facts as last sent.
    pub facts: CallFacts,
    /// Versions of the facts already announced or known: a call flipping back to one
    /// of them is not announced again.
    pub seen: Vec<CallFacts>,
    /// Reminders sent, as "YYYY-MM-DD:<days before>".
    pub reminders: Vec<String>,
}

/// A contact's digest state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestState {
    /// Day of the last regular (not urgent-only) digest.
    pub last_digest: Option<NaiveDate>,
    /// Calls ever queued to the contact as new or known (the `notified` record).
    pub notified: HashSet<CallId>,
    pub calls: HashMap<CallId, SentCall>,
}

impl DigestState {
    /// The contact never had a digest: the next one is an overview.
    pub fn is_first(&self) -> bool {
        self.last_digest.is_none() && self.notified.is_empty()
    }
}

/// What a digest changes in its contact's state, written with the mail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestUpdate {
    /// Calls recorded as known without being listed (the rest of an overview).
    pub known: Vec<CallId>,
    /// Rows to write (insert or replace).
    pub calls: Vec<SentCall>,
    /// Set for a regular digest: the day it was planned on.
    pub digest_day: Option<NaiveDate>,
    /// The digest comes from a plan begun with [`Store::begin_plan`]: what it writes is that
    /// plan's own doing, not a change the plan has to read again. Unless another writer left
    /// a mark since the plan began, its marks are removed with it (the plan then decides
    /// whether to record itself quiet).
    pub own_plan: bool,
}

/// Which calls to list.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub source: Option<String>,
    /// Only calls seen on or after this time.
    pub seen_since: Option<DateTime<Utc>>,
    /// Only calls open on this day (deadline ahead, rolling or unknown; not closed).
    pub open_on: Option<NaiveDate>,
    pub limit: Option<u32>,
}

string_enum! {
    /// Kind of a pipeline run, for the `runs` table.
    pub enum RunKind ("run kind") {
        Collect = "collect",
        Match = "match",
        Notify = "notify",
        Pass = "pass",
    }
}

/// Which feedback entries [`Store::feedback`] lists; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct FeedbackFilter {
    pub contact: Option<String>,
    pub kommune: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// The SQLite file in a data directory.
pub const SQLITE_FILE: &str = "foerderradar.sqlite";

/// Opens the store `settings` names: PostgreSQL for a `[store]` table, else the SQLite
/// file in `data_dir`. Both are migrated to this binary's schema.
pub async fn open(settings: Option<&StoreSettings>, data_dir: &std::path::Path) -> StoreResult<AnyStore> {
    Ok(match settings {
        Some(settings) => PgStore::connect(pg_options(settings)?).await?.into(),
        None => SqliteStore::open(&data_dir.join(SQLITE_FILE)).await?.into(),
    })
}

/// Where [`open`] looks, for messages: the URL (it carries no password) or the file.
pub fn location(settings: Option<&StoreSettings>, data_dir: &std::path::Path) -> String {
    match settings {
        Some(settings) => settings.url.to_string(),
        None => data_dir.join(SQLITE_FILE).display().to_string(),
    }
}

/// Connection options from `[store]`: the URL, and the password from its variable.
pub fn pg_options(settings: &StoreSettings) -> StoreResult<sqlx::postgres::PgConnectOptions> {
    let options: sqlx::postgres::PgConnectOptions = settings.url.as_str().parse()?;
    let options = options.application_name("foerderradar");
    Ok(match settings.password() {
        Some(password) => options.password(&password),
        None => options,
    })
}

/// The answer to a claim on one slot of a cron job ([`Store::claim_job`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobClaim {
    /// The claiming instance holds the slot now: it was free, its holder's lease had
    /// expired (a take-over), or the claimer held it already.
    Claimed,
    /// Another instance holds the slot until `until`; once that passes without a
    /// renewal, the slot can be taken over.
    Held { by: String, until: DateTime<Utc> },
    /// The slot ran; nobody runs it again.
    Done,
}

/// The claim name (`job_claims.job`) of one source's collect in a slot of its schedule:
/// `source:<id>`. Not `collect:<id>`, which names a schedule group's job (a group may
/// be named like a source).
pub fn source_claim(source: &str) -> String {
    format!("{SOURCE_CLAIM_PREFIX}{source}")
}

/// The source a claim name of [`source_claim`] stands for; `None` for a cron job's name.
pub fn claimed_source(job: &str) -> Option<&str> {
    job.strip_prefix(SOURCE_CLAIM_PREFIX)
}

const SOURCE_CLAIM_PREFIX: &str = "source:";

/// A running instance, as it records itself with [`Store::heartbeat`]. Its id is
/// made from host, process id and start time, so a restart is a new instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub started: DateTime<Utc>,
}

impl InstanceInfo {
    pub fn new(host: &str, pid: u32, started: DateTime<Utc>) -> InstanceInfo {
        InstanceInfo {
            id: format!("{host}:{pid}:{}", started.format("%Y%m%dT%H%M%S%.3fZ")),
            host: host.to_string(),
            pid,
            started,
        }
    }
}

/// Who claims work in the store and how long a claim lasts without renewal: the
/// instance's id and `[daemon] lease_secs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub length: chrono::TimeDelta,
}

/// A job slot an instance holds a live lease on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldJob {
    pub job: String,
    pub slot: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// An instance with its last heartbeat and what it holds ([`Store::instances`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub instance: InstanceInfo,
    pub last_heartbeat: DateTime<Utc>,
    /// Job slots under a lease that has not expired and that did not finish yet.
    pub jobs: Vec<HeldJob>,
    /// Outbox mails it is sending right now (claims not expired).
    pub mails: u32,
}

/// Instances silent this long are dropped from the list by the next heartbeat.
pub const FORGET_INSTANCE_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The store interface. All methods are async and safe to call concurrently.
#[allow(async_fn_in_trait)]
pub trait Store: Send + Sync {
    /// Inserts or updates a call. Identity: the canonical URL first, then the
    /// normalised title + funder when the funder is known on both sides (one
    /// programme listed by several sources becomes one call whose `links` grow). Keeps `first_seen`; records a
    /// version and change events when the fingerprint changes.
    /// A listing from a source other than the one whose content is stored
    /// replaces the content only when it states strictly more (see
    /// `store/sqlite/calls.rs`), so sources never flip-flop a shared call.
    async fn upsert_call(&self, call: &Call) -> StoreResult<UpsertOutcome>;
    /// [`Store::upsert_call`] for a batch (one source's pass), in one transaction.
    async fn upsert_calls(&self, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>>;
    /// Records that `source` listed these calls (id, listing URL) again, unchanged, at
    /// `at` (their `last_seen`); touches nothing else.
    async fn mark_seen(&self, source: &str, seen: &[(CallId, String)], at: DateTime<Utc>) -> StoreResult<()>;
    /// Records that `source` listed the same calls as in its last pass (the listings
    /// it saw last, not those it dropped earlier) again at `at`; returns how many.
    async fn mark_source_seen(&self, source: &str, at: DateTime<Utc>) -> StoreResult<u32>;
    /// What each of `sources` listed before, call by call: id, canonical URL, fingerprint
    /// and every listing of the call (what tells an unchanged listing), without reading
    /// its content; one statement for all of them. A source without calls is absent.
    async fn source_listings(&self, sources: &[&str]) -> StoreResult<HashMap<String, Vec<ListedCall>>>;
    /// Number of stored calls each source has listed (a source without calls is absent).
    async fn calls_per_source(&self) -> StoreResult<std::collections::HashMap<String, usize>>;
    async fn get_call(&self, id: &CallId) -> StoreResult<Option<Call>>;
    /// The stored calls among `ids` (unknown ids are left out), in id order, read in
    /// one statement: planning reads a digest's calls at once, not one by one.
    async fn get_calls(&self, ids: &[CallId]) -> StoreResult<Vec<Call>>;
    /// Looks a call up by id, or by a unique id prefix.
    async fn find_call(&self, id_or_prefix: &str) -> StoreResult<Option<Call>>;
    async fn list_calls(&self, filter: &CallFilter) -> StoreResult<Vec<Call>>;
    /// How many calls are stored and the latest `last_seen`: changes whenever a call
    /// is added, updated or seen again (the admin preview reloads its calls then).
    async fn calls_fingerprint(&self) -> StoreResult<(i64, Option<String>)>;
    /// Versions of a call, oldest first.
    async fn call_versions(&self, id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>>;
    async fn changes_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>>;
    /// One call's changes, oldest first.
    async fn call_changes(&self, id: &CallId) -> StoreResult<Vec<ChangeEvent>>;

    async fn source_state(&self, source: &str) -> StoreResult<SourceState>;
    async fn save_source_state(&self, source: &str, state: &SourceState) -> StoreResult<()>;
    /// The states of all sources with one, by source (one statement for a whole pass).
    async fn source_states(&self) -> StoreResult<HashMap<String, SourceState>>;
    /// A source's field memo (`collect::fields`): the fields of its entries as JSON, by
    /// entry key. Read only for a source whose feed or list page changed.
    async fn extracted_fields(&self, source: &str) -> StoreResult<HashMap<String, String>>;
    /// Records one pass of a source and updates its health; `broken_after`
    /// consecutive failures, or zero items where there were some, flag it broken.
    async fn record_source_run(&self, run: &SourceRun, broken_after: u32) -> StoreResult<SourceHealth>;
    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>>;
    /// Records passes of sources that found everything as in their last pass, all in one
    /// transaction and a few statements: each source's listings of its last pass and their
    /// calls are seen again at its run's time (as [`Store::mark_source_seen`]), and its run
    /// is recorded with `items` set to the number of those listings (as
    /// [`Store::record_source_run`]). One run per source; healths come in the runs' order.
    async fn record_unchanged_sources(&self, runs: &[SourceRun], broken_after: u32) -> StoreResult<Vec<SourceHealth>>;
    /// Records passes of changed (or failed) sources, one pass per source, all in one
    /// transaction: per pass as [`Store::mark_seen`] its `seen` listings, then
    /// [`Store::upsert_calls`] its calls, its field memo and state when given, and its run
    /// as [`Store::record_source_run`]. The listings seen, the memos, the states and the
    /// runs with their healths are written with a few statements for all passes; only the
    /// upserts run per source. Returns each pass's upsert outcomes and health, in order.
    async fn record_source_passes(
        &self,
        passes: &[SourcePass],
        broken_after: u32,
    ) -> StoreResult<Vec<(Vec<UpsertOutcome>, SourceHealth)>>;

    /// Replaces all stored matches of a call (passed and near misses).
    async fn replace_matches(&self, call: &CallId, matches: &[Match]) -> StoreResult<()>;
    /// Up to `limit` calls, in id order after `after`, whose stored matches were not
    /// computed with the matching `key` from their current content; each with its
    /// content version. Matching reads them in batches, never all at once.
    async fn calls_to_match(&self, key: &str, after: Option<&CallId>, limit: u32) -> StoreResult<Vec<(Call, i64)>>;
    /// Replaces the matches of each (call, content version matched, matches) in one
    /// transaction and records `key` with the call.
    async fn save_matches(&self, key: &str, results: &[(CallId, i64, Vec<Match>)]) -> StoreResult<()>;
    /// Makes the next matching pass match every call again.
    async fn forget_match_keys(&self) -> StoreResult<()>;
    /// Passed matches of the calls not yet sent (or queued) to `contact`, grouped by call.
    async fn pending_matches(&self, contact: &str) -> StoreResult<Vec<Match>>;
    async fn matches_for(&self, call: &CallId) -> StoreResult<Vec<Match>>;
    /// All matches that passed.
    async fn passed_matches(&self) -> StoreResult<Vec<Match>>;
    /// All matches that passed, without their reasons (`reasons` is empty), grouped by
    /// call: what choosing every contact's digest needs, at a fraction of the memory.
    /// [`Store::passed_matches_of`] reads the reasons for the calls one digest shows.
    async fn passed_match_heads(&self) -> StoreResult<Vec<Match>>;
    /// The passed matches of `calls` routed to any of `kommunen`, with their reasons,
    /// grouped by call, best first within a call.
    async fn passed_matches_of(&self, calls: &[CallId], kommunen: &[String]) -> StoreResult<Vec<Match>>;

    /// Calls already sent (or queued) to this contact.
    async fn notified_calls(&self, contact: &str) -> StoreResult<Vec<CallId>>;
    /// Enqueues a digest and marks its calls as notified for the contact, in one transaction.
    async fn enqueue_mail(&self, mail: &NewMail, now: DateTime<Utc>) -> StoreResult<i64>;
    /// Like [`Store::enqueue_mail`], and writes the contact's digest state in the same
    /// transaction: the `known` calls join the `notified` record (never new again).
    async fn enqueue_digest(&self, mail: &NewMail, update: &DigestUpdate, now: DateTime<Utc>) -> StoreResult<i64>;
    /// What `contact` was told so far.
    async fn digest_state(&self, contact: &str) -> StoreResult<DigestState>;
    /// Starts planning digests under `stamp` (the day and what of the configuration a plan
    /// depends on). `true`: the last plan under the same stamp left nothing due and nothing
    /// a plan reads has changed since, so this one would find nothing either. `false`: the
    /// marks of earlier changes are cleared and the caller plans in full; a change made from
    /// now on leaves a new mark (store triggers, whichever writer makes it).
    async fn begin_plan(&self, stamp: &str) -> StoreResult<bool>;
    /// Records that the plan begun with [`Store::begin_plan`] under `stamp` left nothing due.
    async fn mark_plan_quiet(&self, stamp: &str) -> StoreResult<()>;
    /// Pending mails whose `next_attempt` is due.
    async fn due_mails(&self, now: DateTime<Utc>) -> StoreResult<Vec<OutboxMail>>;
    /// Ids of the pending mails whose `next_attempt` is due, oldest due first; a sender
    /// loads one message at a time with [`Store::pending_mail`].
    async fn due_mail_ids(&self, now: DateTime<Utc>) -> StoreResult<Vec<i64>>;
    /// One mail, if it is still pending.
    async fn pending_mail(&self, id: i64) -> StoreResult<Option<OutboxMail>>;
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records a failed attempt; `next_attempt = None` gives up (status failed).
    async fn mark_attempt_failed(&self, id: i64, error: &str, next_attempt: Option<DateTime<Utc>>) -> StoreResult<()>;
    async fn outbox(&self, status: Option<OutboxStatus>) -> StoreResult<Vec<OutboxMail>>;

    /// Records a feedback entry (validated, see [`FeedbackEntry::validate`]); returns its id.
    async fn record_feedback(&self, entry: &FeedbackEntry) -> StoreResult<i64>;
    /// Feedback entries, oldest first.
    async fn feedback(&self, filter: &FeedbackFilter) -> StoreResult<Vec<FeedbackEntry>>;
    /// What `contact`'s digests leave out: its own entries and the Kommune-wide ones of `kommunen`.
    async fn feedback_set(&self, contact: &str, kommunen: &[String]) -> StoreResult<FeedbackSet>;
    /// Answers on calls per Handlungsfeld and project of their passed matches, since `since`.
    async fn feedback_counts(&self, since: Option<DateTime<Utc>>) -> StoreResult<Vec<FeedbackCount>>;

    /// A contact's own settings, if it changed any.
    async fn contact_settings(&self, contact: &str) -> StoreResult<Option<ContactSettings>>;
    /// Every contact's own settings, by address.
    async fn all_contact_settings(&self) -> StoreResult<Vec<ContactSettings>>;
    /// Replaces a contact's own settings.
    async fn save_contact_settings(&self, settings: &ContactSettings) -> StoreResult<()>;

    /// Claims slot `slot` of cron job `job` for `instance` until `now + lease` (see
    /// [`JobClaim`]). A row per (job, slot): two instances never both get `Claimed`
    /// for one slot while its lease runs.
    async fn claim_job(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<JobClaim>;
    /// Extends `instance`'s lease on a slot it holds to `now + lease`; false when it lost
    /// the slot (taken over after its lease expired) or the slot is done.
    async fn renew_job_lease(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks a slot `instance` holds as done, so that it runs exactly once; a slot it
    /// lost to another instance stays with that one.
    async fn finish_job(&self, job: &str, slot: DateTime<Utc>, instance: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Claims outbox mail `id` for sending until `now + lease`; false while another
    /// instance's claim on it runs. A sender claims before it sends, so a mail two
    /// instances saw pending goes out once.
    async fn claim_mail(
        &self,
        id: i64,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Drops `instance`'s claim on mail `id` once its attempt is recorded.
    async fn release_mail(&self, id: i64, instance: &str) -> StoreResult<()>;
    /// Records that `instance` is alive at `now`; forgets instances silent for
    /// [`FORGET_INSTANCE_AFTER`].
    async fn heartbeat(&self, instance: &InstanceInfo, now: DateTime<Utc>) -> StoreResult<()>;
    /// The recorded instances, newest heartbeat first, with what each holds at `now`.
    async fn instances(&self, now: DateTime<Utc>) -> StoreResult<Vec<InstanceStatus>>;

    async fn start_run(&self, kind: RunKind, at: DateTime<Utc>) -> StoreResult<i64>;
    /// Closes a run with a JSON summary (counts, failures).
    async fn finish_run(&self, id: i64, at: DateTime<Utc>, ok: bool, summary: &serde_json::Value) -> StoreResult<()>;

    /// Records the start of a scheduled job; returns the run's id for [`Store::finish_job_run`].
    async fn start_job_run(&self, job: &str, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn finish_job_run(&self, id: i64, at: DateTime<Utc>, ok: bool) -> StoreResult<()>;
    /// The last start and the last finish of `job`.
    async fn scheduled_runs(&self, job: &str) -> StoreResult<ScheduledRuns>;
    /// When the newest run of `job` that finished ok started (a run still going, or one
    /// that failed, is left out).
    async fn last_ok_job_start(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// Per source with recorded passes: its first pass and its newest pass with items.
    async fn source_yields(&self) -> StoreResult<Vec<SourceYield>>;
    /// Mails given up whose last attempt was at or after `since`, newest first.
    async fn dead_letters_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<DeadLetter>>;

    /// Whether the database answers at all.
    async fn ping(&self) -> StoreResult<()>;
    /// The newest run of any job that finished.
    async fn last_finished_run(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Counts for the Prometheus endpoint, grouped in SQL.
    async fn metrics(&self) -> StoreResult<StoreMetrics>;

    /// The latest runs of `kind`.
    async fn job_runs(&self, kind: RunKind) -> StoreResult<JobRuns>;
    /// How many outbox mails are in each state (every state listed, zeros included).
    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxStatus, u32)>>;
    /// Mails given up (status failed) whose last attempt was at or after `since`.
    async fn given_up_since(&self, since: DateTime<Utc>) -> StoreResult<u32>;
    /// Pending mails that failed at least once and wait for their next attempt.
    async fn retrying_mails(&self) -> StoreResult<u32>;
    /// The newest `limit` passes of every source, newest first per source.
    async fn recent_source_runs(&self, limit: u32) -> StoreResult<Vec<SourceRun>>;
    /// When the newest call was first seen; `None` for an empty store.
    async fn newest_call_seen(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// The newest error of a source run or of a mail attempt.
    async fn last_error(&self) -> StoreResult<Option<LastError>>;
    /// Writes a consistent copy of the whole store to the new file `target`; a backend
    /// that is backed up by its own tools says so in the error.
    async fn backup_into(&self, target: &std::path::Path) -> StoreResult<()>;
    /// The file of the database, for a store that is one file (SQLite); `None` otherwise.
    async fn database_file(&self) -> StoreResult<Option<std::path::PathBuf>>;

    /// Stores a session under the hash of its cookie value; expired ones are dropped.
    async fn create_admin_session(
        &self,
        token_hash: &str,
        session: &AdminSession,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The session of a cookie hash, when it has not expired at `now`.
    async fn admin_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<AdminSession>>;
    async fn delete_admin_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn record_audit(
        &self,
        at: DateTime<Utc>,
        admin: &str,
        target: &str,
        old_text: &str,
        new_text: &str,
    ) -> StoreResult<i64>;
    /// Newest first.
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;

    /// Closes the connections, waiting for those in use to finish.
    async fn close(&self);
}
