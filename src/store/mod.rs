//! The one place that speaks SQL.
//!
//! [`Store`] is the interface every stage uses; [`SqliteStore`] is the embedded
//! default (sqlx, migrations embedded from `migrations/sqlite`). A PostgreSQL
//! backend would be a second implementation behind the same trait.

mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use sqlite::{
    AdminSession, AuditEntry, DeadLetter, JobMetric, JobRuns, LastError, ScheduledRuns, SourceYield, SqliteStore,
    StoreMetrics,
};

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
        "the store at {} was written by a newer foerderradar (schema {found}, this binary knows up to {known}); \
         upgrade foerderradar or restore a backup taken before the upgrade",
        path.display()
    )]
    NewerSchema {
        path: std::path::PathBuf,
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
    /// Number of stored calls each source has listed (a source without calls is absent).
    async fn calls_per_source(&self) -> StoreResult<std::collections::HashMap<String, usize>>;
    async fn get_call(&self, id: &CallId) -> StoreResult<Option<Call>>;
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
    /// Records one pass of a source and updates its health; `broken_after`
    /// consecutive failures, or zero items where there were some, flag it broken.
    async fn record_source_run(&self, run: &SourceRun, broken_after: u32) -> StoreResult<SourceHealth>;
    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>>;

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

    /// Calls already sent (or queued) to this contact.
    async fn notified_calls(&self, contact: &str) -> StoreResult<Vec<CallId>>;
    /// Enqueues a digest and marks its calls as notified for the contact, in one transaction.
    async fn enqueue_mail(&self, mail: &NewMail, now: DateTime<Utc>) -> StoreResult<i64>;
    /// Like [`Store::enqueue_mail`], and writes the contact's digest state in the same
    /// transaction: the `known` calls join the `notified` record (never new again).
    async fn enqueue_digest(&self, mail: &NewMail, update: &DigestUpdate, now: DateTime<Utc>) -> StoreResult<i64>;
    /// What `contact` was told so far.
    async fn digest_state(&self, contact: &str) -> StoreResult<DigestState>;
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

    async fn start_run(&self, kind: RunKind, at: DateTime<Utc>) -> StoreResult<i64>;
    /// Closes a run with a JSON summary (counts, failures).
    async fn finish_run(&self, id: i64, at: DateTime<Utc>, ok: bool, summary: &serde_json::Value) -> StoreResult<()>;
}
