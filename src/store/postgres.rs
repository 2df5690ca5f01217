//! The PostgreSQL store: the same [`Store`] as [`super::SqliteStore`], for
//! deployments that outgrow one process and one file (see the README, "PostgreSQL").
//!
//! Migrations of its own (`migrations/postgres`), in PostgreSQL's types: `timestamptz`,
//! `date`, `jsonb`, `boolean`, `bytea`, `bigserial`. Lists of ids travel as arrays
//! (`= ANY($1)`, `unnest`) instead of SQLite's JSON arrays.
//!
//! Write transactions take one transaction-scoped advisory lock first
//! ([`begin_write`]): writers queue as they do on SQLite's file lock, so that a
//! read-then-write transaction (an upsert, a health update, a digest) never sees
//! another writer's half and never fails on a unique key another one just took.
//! Every other statement reads committed data and runs in parallel.

mod admin;
mod calls;
mod contacts;
mod digest;
mod feedback;
mod jobs;
mod matches;
mod metrics;
mod ops;
mod outbox;
mod sources;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Executor, FromRow, Postgres, Transaction};

use super::{
    AdminSession, AuditEntry, CallFilter, ChangeEvent, DeadLetter, DigestState, DigestUpdate, FeedbackFilter,
    InstanceInfo, InstanceStatus, JobClaim, JobRuns, LastError, ListedCall, NewMail, OutboxMail, OutboxStatus, RunKind,
    ScheduledRuns, SourceHealth, SourcePass, SourceRun, SourceYield, Store, StoreError, StoreMetrics, StoreResult,
    UpsertOutcome, pg_leases,
};
use crate::model::contact::ContactSettings;
use crate::model::feedback::{FeedbackCount, FeedbackEntry, FeedbackSet};
use crate::model::source::SourceState;
use crate::model::{Call, CallId, Match};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process: the daemon's stages and the web server share them.
const MAX_CONNECTIONS: u32 = 8;
/// How long a statement may wait for a connection or a lock before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The advisory lock every write transaction takes (see the module docs).
const WRITE_LOCK: i64 = 0x666f_6572_6472_6164; // "foerdrad"

/// Session settings of every connection. JIT compilation is off: the store's queries
/// are short and many, and PostgreSQL's cost estimate after a bulk insert (before
/// autovacuum analysed the table) made it compile each query for about a second
/// (measured at Land scale: 1.2 s of JIT for a 0.14 s query).
fn tuned(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("jit", "off")])
}

/// The PostgreSQL store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and migrates. `options` carries the URL and the password (never logged).
    pub async fn connect(options: PgConnectOptions) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(tuned(options))
            .await?;
        Self::migrated(pool).await
    }

    /// Connects with every connection's `search_path` set to `schema` (created if
    /// missing): one database holds several stores, e.g. one per test.
    pub async fn connect_in_schema(options: PgConnectOptions, schema: &str) -> StoreResult<PgStore> {
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || schema.is_empty() {
            return Err(StoreError::Invalid(format!("'{schema}' is not a schema name")));
        }
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        let search_path = format!("SET search_path TO {schema}");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                let (create, search_path) = (create.clone(), search_path.clone());
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(create)).await?;
                    conn.execute(sqlx::AssertSqlSafe(search_path)).await?;
                    Ok(())
                })
            })
            .connect_with(tuned(options))
            .await?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: PgPool) -> StoreResult<PgStore> {
        ops::refuse_newer_schema(&pool).await?;
        MIGRATOR.run(&pool).await?;
        calls::refresh_title_keys(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The pool, for copying a store into this one (`migrate-store`).
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

// Every statement goes through these wrappers, so that the store can say how many
// it ran (`StoreCounters`), as the SQLite store does.

fn query<'q>(sql: &'static str) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    super::count_statement();
    sqlx::query(sql)
}

fn query_as<'q, O>(sql: &'static str) -> sqlx::query::QueryAs<'q, Postgres, O, PgArguments>
where
    O: for<'r> FromRow<'r, PgRow>,
{
    super::count_statement();
    sqlx::query_as(sql)
}

fn query_scalar<'q, O>(sql: &'static str) -> sqlx::query::QueryScalar<'q, Postgres, O, PgArguments>
where
    (O,): for<'r> FromRow<'r, PgRow>,
{
    super::count_statement();
    sqlx::query_scalar(sql)
}

/// A transaction that holds the store's write lock (see the module docs). Counts the
/// BEGIN, the lock and the COMMIT or ROLLBACK that ends it.
async fn begin_write(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
    super::count_statement();
    super::count_statement();
    let mut tx = pool.begin().await?;
    query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A value for a `jsonb` column.
fn to_json<T: Serialize>(table: &'static str, column: &'static str, value: &T) -> StoreResult<Json<serde_json::Value>> {
    serde_json::to_value(value).map(Json).map_err(|e| StoreError::Corrupt {
        table,
        column,
        message: e.to_string(),
    })
}

/// A `jsonb` column as read: its JSON text, turned into the typed value by
/// [`from_json`] without a `serde_json::Value` tree in between (several times the
/// text's size, for every row of a listing).
type JsonText = Json<Box<serde_json::value::RawValue>>;

/// A `jsonb` column read as text, turned into `T` with the place named on failure.
fn from_json<T: DeserializeOwned>(table: &'static str, column: &'static str, value: JsonText) -> StoreResult<T> {
    serde_json::from_str(value.0.get()).map_err(|e| StoreError::Corrupt {
        table,
        column,
        message: e.to_string(),
    })
}

use super::content::count;

impl Store for PgStore {
    async fn upsert_call(&self, call: &Call) -> StoreResult<UpsertOutcome> {
        calls::upsert(&self.pool, call).await
    }

    async fn upsert_calls(&self, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
        calls::upsert_many(&self.pool, calls).await
    }

    async fn mark_seen(&self, source: &str, seen: &[(CallId, String)], at: DateTime<Utc>) -> StoreResult<()> {
        calls::mark_seen(&self.pool, source, seen, at).await
    }

    async fn mark_source_seen(&self, source: &str, at: DateTime<Utc>) -> StoreResult<u32> {
        calls::mark_source_seen(&self.pool, source, at).await
    }

    async fn source_listings(&self, sources: &[&str]) -> StoreResult<HashMap<String, Vec<ListedCall>>> {
        calls::listings(&self.pool, sources).await
    }

    async fn calls_per_source(&self) -> StoreResult<std::collections::HashMap<String, usize>> {
        calls::per_source(&self.pool).await
    }

    async fn get_call(&self, id: &CallId) -> StoreResult<Option<Call>> {
        calls::get(&self.pool, id).await
    }

    async fn get_calls(&self, ids: &[CallId]) -> StoreResult<Vec<Call>> {
        calls::get_many(&self.pool, ids).await
    }

    async fn find_call(&self, id_or_prefix: &str) -> StoreResult<Option<Call>> {
        calls::find(&self.pool, id_or_prefix).await
    }

    async fn list_calls(&self, filter: &CallFilter) -> StoreResult<Vec<Call>> {
        calls::list(&self.pool, filter).await
    }

    async fn calls_fingerprint(&self) -> StoreResult<(i64, Option<String>)> {
        calls::fingerprint(&self.pool).await
    }

    async fn call_changes(&self, id: &CallId) -> StoreResult<Vec<ChangeEvent>> {
        calls::changes_of(&self.pool, id).await
    }

    async fn call_versions(&self, id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>> {
        calls::versions(&self.pool, id).await
    }

    async fn changes_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>> {
        calls::changes_since(&self.pool, since).await
    }

    async fn source_state(&self, source: &str) -> StoreResult<SourceState> {
        sources::state(&self.pool, source).await
    }

    async fn source_states(&self) -> StoreResult<std::collections::HashMap<String, SourceState>> {
        sources::states(&self.pool).await
    }

    async fn save_source_state(&self, source: &str, state: &SourceState) -> StoreResult<()> {
        sources::save_state(&self.pool, source, state).await
    }

    async fn extracted_fields(&self, source: &str) -> StoreResult<std::collections::HashMap<String, String>> {
        sources::extracted_fields(&self.pool, source).await
    }

    async fn record_source_run(&self, run: &SourceRun, broken_after: u32) -> StoreResult<SourceHealth> {
        sources::record_run(&self.pool, run, broken_after).await
    }

    async fn record_unchanged_sources(&self, runs: &[SourceRun], broken_after: u32) -> StoreResult<Vec<SourceHealth>> {
        sources::record_unchanged(&self.pool, runs, broken_after).await
    }

    async fn record_source_passes(
        &self,
        passes: &[SourcePass],
        broken_after: u32,
    ) -> StoreResult<Vec<(Vec<UpsertOutcome>, SourceHealth)>> {
        sources::record_passes(&self.pool, passes, broken_after).await
    }

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        sources::health(&self.pool).await
    }

    async fn replace_matches(&self, call: &CallId, matches: &[Match]) -> StoreResult<()> {
        matches::replace(&self.pool, call, matches).await
    }

    async fn calls_to_match(&self, key: &str, after: Option<&CallId>, limit: u32) -> StoreResult<Vec<(Call, i64)>> {
        calls::to_match(&self.pool, key, after, limit).await
    }

    async fn save_matches(&self, key: &str, results: &[(CallId, i64, Vec<Match>)]) -> StoreResult<()> {
        matches::save_batch(&self.pool, key, results).await
    }

    async fn forget_match_keys(&self) -> StoreResult<()> {
        calls::forget_match_keys(&self.pool).await
    }

    async fn pending_matches(&self, contact: &str) -> StoreResult<Vec<Match>> {
        matches::pending(&self.pool, contact).await
    }

    async fn matches_for(&self, call: &CallId) -> StoreResult<Vec<Match>> {
        matches::for_call(&self.pool, call).await
    }

    async fn passed_matches(&self) -> StoreResult<Vec<Match>> {
        matches::passed(&self.pool).await
    }

    async fn passed_match_heads(&self) -> StoreResult<Vec<Match>> {
        matches::passed_heads(&self.pool).await
    }

    async fn passed_matches_of(&self, calls: &[CallId], kommunen: &[String]) -> StoreResult<Vec<Match>> {
        matches::passed_of(&self.pool, calls, kommunen).await
    }

    async fn notified_calls(&self, contact: &str) -> StoreResult<Vec<CallId>> {
        outbox::notified_calls(&self.pool, contact).await
    }

    async fn enqueue_mail(&self, mail: &NewMail, now: DateTime<Utc>) -> StoreResult<i64> {
        outbox::enqueue_with(&self.pool, mail, None, now).await
    }

    async fn enqueue_digest(&self, mail: &NewMail, update: &DigestUpdate, now: DateTime<Utc>) -> StoreResult<i64> {
        outbox::enqueue_with(&self.pool, mail, Some(update), now).await
    }

    async fn digest_state(&self, contact: &str) -> StoreResult<DigestState> {
        digest::state(&self.pool, contact).await
    }

    async fn begin_plan(&self, stamp: &str) -> StoreResult<bool> {
        digest::begin_plan(&self.pool, stamp).await
    }

    async fn mark_plan_quiet(&self, stamp: &str) -> StoreResult<()> {
        digest::mark_plan_quiet(&self.pool, stamp).await
    }

    async fn due_mails(&self, now: DateTime<Utc>) -> StoreResult<Vec<OutboxMail>> {
        outbox::due(&self.pool, now).await
    }

    async fn due_mail_ids(&self, now: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        outbox::due_ids(&self.pool, now).await
    }

    async fn pending_mail(&self, id: i64) -> StoreResult<Option<OutboxMail>> {
        outbox::pending_mail(&self.pool, id).await
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        outbox::mark_sent(&self.pool, id, at).await
    }

    async fn mark_attempt_failed(&self, id: i64, error: &str, next_attempt: Option<DateTime<Utc>>) -> StoreResult<()> {
        outbox::mark_attempt_failed(&self.pool, id, error, next_attempt).await
    }

    async fn outbox(&self, status: Option<OutboxStatus>) -> StoreResult<Vec<OutboxMail>> {
        outbox::list(&self.pool, status).await
    }

    async fn record_feedback(&self, entry: &FeedbackEntry) -> StoreResult<i64> {
        feedback::record(&self.pool, entry).await
    }

    async fn feedback(&self, filter: &FeedbackFilter) -> StoreResult<Vec<FeedbackEntry>> {
        feedback::list(&self.pool, filter).await
    }

    async fn feedback_set(&self, contact: &str, kommunen: &[String]) -> StoreResult<FeedbackSet> {
        feedback::set_for(&self.pool, contact, kommunen).await
    }

    async fn feedback_counts(&self, since: Option<DateTime<Utc>>) -> StoreResult<Vec<FeedbackCount>> {
        feedback::counts(&self.pool, since).await
    }

    async fn contact_settings(&self, contact: &str) -> StoreResult<Option<ContactSettings>> {
        contacts::get(&self.pool, contact).await
    }

    async fn all_contact_settings(&self) -> StoreResult<Vec<ContactSettings>> {
        contacts::all(&self.pool).await
    }

    async fn save_contact_settings(&self, settings: &ContactSettings) -> StoreResult<()> {
        contacts::save(&self.pool, settings).await
    }

    async fn start_run(&self, kind: RunKind, at: DateTime<Utc>) -> StoreResult<i64> {
        Ok(
            query_scalar("INSERT INTO runs (kind, started) VALUES ($1, $2) RETURNING id")
                .bind(kind.as_str())
                .bind(at)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn finish_run(&self, id: i64, at: DateTime<Utc>, ok: bool, summary: &serde_json::Value) -> StoreResult<()> {
        let done = query("UPDATE runs SET finished = $1, ok = $2, summary = $3 WHERE id = $4")
            .bind(at)
            .bind(ok)
            .bind(Json(summary))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("run {id}")));
        }
        Ok(())
    }

    async fn start_job_run(&self, job: &str, at: DateTime<Utc>) -> StoreResult<i64> {
        jobs::start_job_run(&self.pool, job, at).await
    }

    async fn finish_job_run(&self, id: i64, at: DateTime<Utc>, ok: bool) -> StoreResult<()> {
        jobs::finish_job_run(&self.pool, id, at, ok).await
    }

    async fn scheduled_runs(&self, job: &str) -> StoreResult<ScheduledRuns> {
        jobs::scheduled_runs(&self.pool, job).await
    }

    async fn last_ok_job_start(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
        jobs::last_ok_job_start(&self.pool, job).await
    }

    async fn source_yields(&self) -> StoreResult<Vec<SourceYield>> {
        jobs::source_yields(&self.pool).await
    }

    async fn dead_letters_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<DeadLetter>> {
        jobs::dead_letters_since(&self.pool, since).await
    }

    async fn ping(&self) -> StoreResult<()> {
        metrics::ping(&self.pool).await
    }

    async fn last_finished_run(&self) -> StoreResult<Option<DateTime<Utc>>> {
        metrics::last_finished_run(&self.pool).await
    }

    async fn metrics(&self) -> StoreResult<StoreMetrics> {
        metrics::metrics(&self.pool).await
    }

    async fn job_runs(&self, kind: RunKind) -> StoreResult<JobRuns> {
        ops::job_runs(&self.pool, kind).await
    }

    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxStatus, u32)>> {
        ops::outbox_counts(&self.pool).await
    }

    async fn given_up_since(&self, since: DateTime<Utc>) -> StoreResult<u32> {
        ops::given_up_since(&self.pool, since).await
    }

    async fn retrying_mails(&self) -> StoreResult<u32> {
        ops::retrying_mails(&self.pool).await
    }

    async fn recent_source_runs(&self, limit: u32) -> StoreResult<Vec<SourceRun>> {
        ops::recent_source_runs(&self.pool, limit).await
    }

    async fn claim_job(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<JobClaim> {
        pg_leases::claim_job(&self.pool, job, slot, instance, lease, now).await
    }

    async fn renew_job_lease(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        pg_leases::renew_job_lease(&self.pool, job, slot, instance, lease, now).await
    }

    async fn finish_job(&self, job: &str, slot: DateTime<Utc>, instance: &str, now: DateTime<Utc>) -> StoreResult<()> {
        pg_leases::finish_job(&self.pool, job, slot, instance, now).await
    }

    async fn claim_mail(
        &self,
        id: i64,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        pg_leases::claim_mail(&self.pool, id, instance, lease, now).await
    }

    async fn release_mail(&self, id: i64, instance: &str) -> StoreResult<()> {
        pg_leases::release_mail(&self.pool, id, instance).await
    }

    async fn heartbeat(&self, instance: &InstanceInfo, now: DateTime<Utc>) -> StoreResult<()> {
        pg_leases::heartbeat(&self.pool, instance, now).await
    }

    async fn instances(&self, now: DateTime<Utc>) -> StoreResult<Vec<InstanceStatus>> {
        pg_leases::instances(&self.pool, now).await
    }

    async fn newest_call_seen(&self) -> StoreResult<Option<DateTime<Utc>>> {
        ops::newest_call_seen(&self.pool).await
    }

    async fn last_error(&self) -> StoreResult<Option<LastError>> {
        ops::last_error(&self.pool).await
    }

    /// PostgreSQL is backed up with its own tools, which also copy a running store.
    async fn backup_into(&self, target: &Path) -> StoreResult<()> {
        Err(StoreError::Backup {
            path: target.to_path_buf(),
            message: "the store is in PostgreSQL; back it up with pg_dump (see the README, \"PostgreSQL\")".into(),
        })
    }

    async fn database_file(&self) -> StoreResult<Option<std::path::PathBuf>> {
        Ok(None)
    }

    async fn create_admin_session(
        &self,
        token_hash: &str,
        session: &AdminSession,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        admin::create_admin_session(&self.pool, token_hash, session, now).await
    }

    async fn admin_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<AdminSession>> {
        admin::admin_session(&self.pool, token_hash, now).await
    }

    async fn delete_admin_session(&self, token_hash: &str) -> StoreResult<()> {
        admin::delete_admin_session(&self.pool, token_hash).await
    }

    async fn record_audit(
        &self,
        at: DateTime<Utc>,
        admin: &str,
        target: &str,
        old_text: &str,
        new_text: &str,
    ) -> StoreResult<i64> {
        admin::record_audit(&self.pool, at, admin, target, old_text, new_text).await
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        admin::audit_log(&self.pool, limit).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
