//! The backend a deployment chose: SQLite in the data directory (no `[store]`
//! table) or PostgreSQL (`[store] url`). The rest of the program holds an
//! [`AnyStore`] and speaks only the [`Store`] trait.

use chrono::{DateTime, Utc};

use super::{
    AdminSession, AuditEntry, CallFilter, ChangeEvent, DeadLetter, DigestState, DigestUpdate, FeedbackFilter,
    InstanceInfo, InstanceStatus, JobClaim, JobRuns, LastError, ListedCall, NewMail, OutboxMail, OutboxStatus, PgStore,
    RunKind, ScheduledRuns, SourceHealth, SourcePass, SourceRun, SourceYield, SqliteStore, Store, StoreMetrics,
    StoreResult, UpsertOutcome,
};
use crate::model::contact::ContactSettings;
use crate::model::feedback::{FeedbackCount, FeedbackEntry, FeedbackSet};
use crate::model::source::SourceState;
use crate::model::{Call, CallId, Match};

/// One of the store backends. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// The backend's name, for logs and `status`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> AnyStore {
        AnyStore::Sqlite(store)
    }
}

impl From<PgStore> for AnyStore {
    fn from(store: PgStore) -> AnyStore {
        AnyStore::Postgres(store)
    }
}

/// Implements [`Store`] for [`AnyStore`] by handing each method to the backend.
macro_rules! delegate {
    ($(async fn $name:ident(&self $(, $arg:ident: $ty:ty)*) $(-> $ret:ty)?;)*) => {
        impl Store for AnyStore {
            $(
                async fn $name(&self $(, $arg: $ty)*) $(-> $ret)? {
                    match self {
                        AnyStore::Sqlite(store) => store.$name($($arg),*).await,
                        AnyStore::Postgres(store) => store.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
    async fn upsert_call(&self, call: &Call) -> StoreResult<UpsertOutcome>;
    async fn upsert_calls(&self, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>>;
    async fn mark_seen(&self, source: &str, seen: &[(CallId, String)], at: DateTime<Utc>) -> StoreResult<()>;
    async fn mark_source_seen(&self, source: &str, at: DateTime<Utc>) -> StoreResult<u32>;
    async fn source_listings(&self, sources: &[&str]) -> StoreResult<std::collections::HashMap<String, Vec<ListedCall>>>;
    async fn calls_per_source(&self) -> StoreResult<std::collections::HashMap<String, usize>>;
    async fn get_call(&self, id: &CallId) -> StoreResult<Option<Call>>;
    async fn get_calls(&self, ids: &[CallId]) -> StoreResult<Vec<Call>>;
    async fn find_call(&self, id_or_prefix: &str) -> StoreResult<Option<Call>>;
    async fn list_calls(&self, filter: &CallFilter) -> StoreResult<Vec<Call>>;
    async fn calls_fingerprint(&self) -> StoreResult<(i64, Option<String>)>;
    async fn call_changes(&self, id: &CallId) -> StoreResult<Vec<ChangeEvent>>;
    async fn call_versions(&self, id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>>;
    async fn changes_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>>;
    async fn source_state(&self, source: &str) -> StoreResult<SourceState>;
    async fn save_source_state(&self, source: &str, state: &SourceState) -> StoreResult<()>;
    async fn source_states(&self) -> StoreResult<std::collections::HashMap<String, SourceState>>;
    async fn extracted_fields(&self, source: &str) -> StoreResult<std::collections::HashMap<String, String>>;
    async fn record_source_run(&self, run: &SourceRun, broken_after: u32) -> StoreResult<SourceHealth>;
    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>>;
    async fn record_unchanged_sources(&self, runs: &[SourceRun], broken_after: u32) -> StoreResult<Vec<SourceHealth>>;
    async fn record_source_passes(&self, passes: &[SourcePass], broken_after: u32) -> StoreResult<Vec<(Vec<UpsertOutcome>, SourceHealth)>>;
    async fn replace_matches(&self, call: &CallId, matches: &[Match]) -> StoreResult<()>;
    async fn calls_to_match(&self, key: &str, after: Option<&CallId>, limit: u32) -> StoreResult<Vec<(Call, i64)>>;
    async fn save_matches(&self, key: &str, results: &[(CallId, i64, Vec<Match>)]) -> StoreResult<()>;
    async fn forget_match_keys(&self) -> StoreResult<()>;
    async fn pending_matches(&self, contact: &str) -> StoreResult<Vec<Match>>;
    async fn matches_for(&self, call: &CallId) -> StoreResult<Vec<Match>>;
    async fn passed_matches(&self) -> StoreResult<Vec<Match>>;
    async fn passed_match_heads(&self) -> StoreResult<Vec<Match>>;
    async fn passed_matches_of(&self, calls: &[CallId], kommunen: &[String]) -> StoreResult<Vec<Match>>;
    async fn notified_calls(&self, contact: &str) -> StoreResult<Vec<CallId>>;
    async fn enqueue_mail(&self, mail: &NewMail, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn enqueue_digest(&self, mail: &NewMail, update: &DigestUpdate, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn digest_state(&self, contact: &str) -> StoreResult<DigestState>;
    async fn begin_plan(&self, stamp: &str) -> StoreResult<bool>;
    async fn mark_plan_quiet(&self, stamp: &str) -> StoreResult<()>;
    async fn due_mails(&self, now: DateTime<Utc>) -> StoreResult<Vec<OutboxMail>>;
    async fn due_mail_ids(&self, now: DateTime<Utc>) -> StoreResult<Vec<i64>>;
    async fn pending_mail(&self, id: i64) -> StoreResult<Option<OutboxMail>>;
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    async fn mark_attempt_failed(&self, id: i64, error: &str, next_attempt: Option<DateTime<Utc>>) -> StoreResult<()>;
    async fn outbox(&self, status: Option<OutboxStatus>) -> StoreResult<Vec<OutboxMail>>;
    async fn record_feedback(&self, entry: &FeedbackEntry) -> StoreResult<i64>;
    async fn feedback(&self, filter: &FeedbackFilter) -> StoreResult<Vec<FeedbackEntry>>;
    async fn feedback_set(&self, contact: &str, kommunen: &[String]) -> StoreResult<FeedbackSet>;
    async fn feedback_counts(&self, since: Option<DateTime<Utc>>) -> StoreResult<Vec<FeedbackCount>>;
    async fn contact_settings(&self, contact: &str) -> StoreResult<Option<ContactSettings>>;
    async fn all_contact_settings(&self) -> StoreResult<Vec<ContactSettings>>;
    async fn save_contact_settings(&self, settings: &ContactSettings) -> StoreResult<()>;
    async fn start_run(&self, kind: RunKind, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn finish_run(&self, id: i64, at: DateTime<Utc>, ok: bool, summary: &serde_json::Value) -> StoreResult<()>;
    async fn start_job_run(&self, job: &str, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn finish_job_run(&self, id: i64, at: DateTime<Utc>, ok: bool) -> StoreResult<()>;
    async fn scheduled_runs(&self, job: &str) -> StoreResult<ScheduledRuns>;
    async fn last_ok_job_start(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>>;
    async fn source_yields(&self) -> StoreResult<Vec<SourceYield>>;
    async fn dead_letters_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<DeadLetter>>;
    async fn ping(&self) -> StoreResult<()>;
    async fn last_finished_run(&self) -> StoreResult<Option<DateTime<Utc>>>;
    async fn metrics(&self) -> StoreResult<StoreMetrics>;
    async fn job_runs(&self, kind: RunKind) -> StoreResult<JobRuns>;
    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxStatus, u32)>>;
    async fn given_up_since(&self, since: DateTime<Utc>) -> StoreResult<u32>;
    async fn retrying_mails(&self) -> StoreResult<u32>;
    async fn recent_source_runs(&self, limit: u32) -> StoreResult<Vec<SourceRun>>;
    async fn claim_job(&self, job: &str, slot: DateTime<Utc>, instance: &str, lease: chrono::TimeDelta, now: DateTime<Utc>) -> StoreResult<JobClaim>;
    async fn renew_job_lease(&self, job: &str, slot: DateTime<Utc>, instance: &str, lease: chrono::TimeDelta, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn finish_job(&self, job: &str, slot: DateTime<Utc>, instance: &str, now: DateTime<Utc>) -> StoreResult<()>;
    async fn claim_mail(&self, id: i64, instance: &str, lease: chrono::TimeDelta, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn release_mail(&self, id: i64, instance: &str) -> StoreResult<()>;
    async fn heartbeat(&self, instance: &InstanceInfo, now: DateTime<Utc>) -> StoreResult<()>;
    async fn instances(&self, now: DateTime<Utc>) -> StoreResult<Vec<InstanceStatus>>;
    async fn newest_call_seen(&self) -> StoreResult<Option<DateTime<Utc>>>;
    async fn last_error(&self) -> StoreResult<Option<LastError>>;
    async fn backup_into(&self, target: &std::path::Path) -> StoreResult<()>;
    async fn database_file(&self) -> StoreResult<Option<std::path::PathBuf>>;
    async fn create_admin_session(&self, token_hash: &str, session: &AdminSession, now: DateTime<Utc>) -> StoreResult<()>;
    async fn admin_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<AdminSession>>;
    async fn delete_admin_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn record_audit(&self, at: DateTime<Utc>, admin: &str, target: &str, old_text: &str, new_text: &str) -> StoreResult<i64>;
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    async fn close(&self);
}
