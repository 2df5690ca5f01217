//! SQLite implementation of [`Store`]: one file, WAL journal, embedded
//! migrations from `migrations/sqlite`, runtime queries only (no `query!`
//! macros, so building needs no database).
//!
//! Writes that read before they write (upserts, run records, the outbox) run
//! in `BEGIN IMMEDIATE` transactions: they take the write lock up front and
//! wait on the busy timeout, instead of failing with `SQLITE_BUSY` when two
//! tasks upgrade from reading to writing at once.

mod admin;
mod calls;
mod contacts;
mod digest;
mod feedback;
mod jobs;
mod leases;
mod matches;
mod metrics;
mod ops;
mod outbox;
mod sources;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Sqlite, Transaction};

use super::{
    AdminSession, AuditEntry, CallFilter, ChangeEvent, DeadLetter, DigestState, DigestUpdate, FeedbackFilter,
    InstanceInfo, InstanceStatus, JobClaim, JobRuns, LastError, ListedCall, NewMail, OutboxMail, OutboxStatus, RunKind,
    ScheduledRuns, SourceHealth, SourcePass, SourceRun, SourceYield, Store, StoreError, StoreMetrics, StoreResult,
    UpsertOutcome,
};
use crate::model::contact::ContactSettings;
use crate::model::feedback::{FeedbackCount, FeedbackEntry, FeedbackSet};
use crate::model::source::SourceState;
use crate::model::{Call, CallId, Match};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Page cache per connection, in KiB as SQLite counts a negative `cache_size`. SQLite's
/// default is 2,000 KiB per connection; with up to eight connections that is memory the
/// process keeps for good. The database file is in the OS page cache anyway, so a small
/// per-connection cache costs little time (issue 9: `serve` stays under 40 MB).
const PAGE_CACHE_KIB: i64 = -512;
/// Pages the page cache may grow to with a write transaction's dirty pages before SQLite
/// writes them to the WAL ahead of the commit (its default: as many as `cache_size` allows,
/// 128 pages here). A batch of collected calls or a queued digest dirties a few MB; spilled
/// early, pages were written again by the transaction's later statements. SQLite also reads
/// this number as on/off by its lowest byte (`getSafetyLevel` in pragma.c), so it must not
/// be a multiple of 256: that would turn spilling off, and a transaction's memory with it
/// would have no bound.
const SPILL_PAGES: i64 = 2000;
/// Readers run in parallel under WAL; writers queue on the file lock.
const MAX_CONNECTIONS: u32 = 8;

/// The embedded SQLite store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (or creates) the database file and its directory, and migrates it.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", PAGE_CACHE_KIB.to_string())
            .pragma("cache_spill", SPILL_PAGES.to_string())
            // Statement journals (a multi-row statement inside a transaction keeps one, to
            // undo itself alone) and sorts in memory, not in temporary files.
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .idle_timeout(super::IDLE_CONNECTION)
            .connect_with(options)
            .await?;
        ops::refuse_newer_schema(&pool, path).await?;
        Self::migrated(pool).await
    }

    /// A private in-memory database, for tests. One connection, kept for the
    /// life of the pool, because every new in-memory connection is a new database.
    pub async fn memory() -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    /// The pool, for copying this store into another (`migrate-store`).
    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn migrated(pool: SqlitePool) -> StoreResult<SqliteStore> {
        MIGRATOR.run(&pool).await?;
        calls::refresh_title_keys(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

// Every statement is built through these wrappers, so that the store can say how
// many it ran (`StoreCounters`, shown per stage by `--timings`). sqlx caches the
// prepared statement per connection by its SQL text, so a wrapper costs nothing.

fn query<'q>(sql: &'static str) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    super::count_statement();
    sqlx::query(sql)
}

/// A statement whose text is built at run time from placeholders only (a multi-row
/// VALUES list); never from data.
fn query_built<'q>(sql: String) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    super::count_statement();
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

/// Rows per multi-row statement; SQLite allows 32,766 bound values per statement.
const ROWS_PER_STATEMENT: usize = 500;

/// `INSERT INTO <table> (<columns>) VALUES (?, …), …` for `rows` rows, then `tail`.
fn multi_row_insert(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    format!("{head} VALUES {}{tail}", vec![row; rows].join(", "))
}

fn query_as<'q, O>(sql: &'static str) -> sqlx::query::QueryAs<'q, Sqlite, O, SqliteArguments>
where
    O: for<'r> FromRow<'r, SqliteRow>,
{
    super::count_statement();
    sqlx::query_as(sql)
}

fn query_scalar<'q, O>(sql: &'static str) -> sqlx::query::QueryScalar<'q, Sqlite, O, SqliteArguments>
where
    (O,): for<'r> FromRow<'r, SqliteRow>,
{
    super::count_statement();
    sqlx::query_scalar(sql)
}

/// `BEGIN IMMEDIATE`: takes the write lock up front (see the module docs). Counts the
/// BEGIN and the COMMIT or ROLLBACK that ends it.
async fn begin_write(pool: &SqlitePool) -> StoreResult<Transaction<'static, Sqlite>> {
    super::count_statement();
    super::count_statement();
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// UTC timestamp as fixed-width text, so that text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn to_json<T: Serialize>(table: &'static str, column: &'static str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        table,
        column,
        message: e.to_string(),
    })
}

fn from_json<T: DeserializeOwned>(table: &'static str, column: &'static str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table,
        column,
        message: e.to_string(),
    })
}

use super::content::count;

impl Store for SqliteStore {
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

    async fn source_listings(
        &self,
        sources: &[&str],
    ) -> StoreResult<std::collections::HashMap<String, Vec<ListedCall>>> {
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

    async fn call_versions(&self, id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>> {
        calls::versions(&self.pool, id).await
    }

    async fn changes_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>> {
        calls::changes_since(&self.pool, since).await
    }

    async fn call_changes(&self, id: &CallId) -> StoreResult<Vec<ChangeEvent>> {
        calls::changes_of(&self.pool, id).await
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
        outbox::enqueue(&self.pool, mail, now).await
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

    async fn claim_job(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<JobClaim> {
        leases::claim_job(&self.pool, job, slot, instance, lease, now).await
    }

    async fn renew_job_lease(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        leases::renew_job_lease(&self.pool, job, slot, instance, lease, now).await
    }

    async fn finish_job(&self, job: &str, slot: DateTime<Utc>, instance: &str, now: DateTime<Utc>) -> StoreResult<()> {
        leases::finish_job(&self.pool, job, slot, instance, now).await
    }

    async fn claim_mail(
        &self,
        id: i64,
        instance: &str,
        lease: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        leases::claim_mail(&self.pool, id, instance, lease, now).await
    }

    async fn release_mail(&self, id: i64, instance: &str) -> StoreResult<()> {
        leases::release_mail(&self.pool, id, instance).await
    }

    async fn heartbeat(&self, instance: &InstanceInfo, now: DateTime<Utc>) -> StoreResult<()> {
        leases::heartbeat(&self.pool, instance, now).await
    }

    async fn instances(&self, now: DateTime<Utc>) -> StoreResult<Vec<InstanceStatus>> {
        leases::instances(&self.pool, now).await
    }

    async fn start_run(&self, kind: RunKind, at: DateTime<Utc>) -> StoreResult<i64> {
        let id = query_scalar("INSERT INTO runs (kind, started) VALUES (?, ?) RETURNING id")
            .bind(kind.as_str())
            .bind(ts(at))
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    async fn finish_run(&self, id: i64, at: DateTime<Utc>, ok: bool, summary: &serde_json::Value) -> StoreResult<()> {
        let done = query("UPDATE runs SET finished = ?, ok = ?, summary = ? WHERE id = ?")
            .bind(ts(at))
            .bind(ok)
            .bind(summary.to_string())
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

    async fn newest_call_seen(&self) -> StoreResult<Option<DateTime<Utc>>> {
        ops::newest_call_seen(&self.pool).await
    }

    async fn last_error(&self) -> StoreResult<Option<LastError>> {
        ops::last_error(&self.pool).await
    }

    async fn backup_into(&self, target: &Path) -> StoreResult<()> {
        ops::backup_into(&self.pool, target).await
    }

    async fn database_file(&self) -> StoreResult<Option<std::path::PathBuf>> {
        admin::database_file(&self.pool).await
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

    /// Waits for connections to finish (checkpoints the WAL).
    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of a statement, one line per step (`SEARCH c USING INDEX …`).
    async fn plan(pool: &SqlitePool, sql: &str) -> Vec<String> {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().map(|(_, _, _, detail)| detail).collect()
    }

    fn is_json_each(step: &str) -> bool {
        step.contains("json_each") || step.contains("VIRTUAL TABLE")
    }

    #[tokio::test]
    async fn hot_queries_use_an_index_never_a_full_scan() {
        let store = SqliteStore::memory().await.unwrap();
        let hot = calls::HOT_QUERIES.iter().chain(matches::HOT_QUERIES);
        for sql in hot {
            let steps = plan(&store.pool, sql).await;
            // Scanning the JSON array of bound ids (json_each) or a subquery's few rows
            // (`SCAN (subquery-1)`) reads the input, not a table.
            let scans: Vec<&String> = steps
                .iter()
                .filter(|s| s.starts_with("SCAN ") && !s.starts_with("SCAN (") && !is_json_each(s))
                .collect();
            assert!(scans.is_empty(), "full scan in\n{sql}\nplan: {steps:#?}");
            assert!(
                steps.iter().any(|s| s.contains("USING") && s.contains("INDEX")),
                "no index used by\n{sql}\nplan: {steps:#?}"
            );
        }
    }

    #[tokio::test]
    async fn the_check_sees_a_full_scan() {
        // The check above must be able to fail: a lookup on an unindexed column scans.
        let store = SqliteStore::memory().await.unwrap();
        let steps = plan(&store.pool, "SELECT id FROM calls WHERE fingerprint = ?").await;
        assert!(steps.iter().any(|s| s.starts_with("SCAN")), "{steps:?}");
    }

    /// Migration 0017 on a store with a queued mail: the message moves to `outbox_messages`,
    /// the marks stay, and the rewritten triggers still record a change once.
    #[tokio::test]
    async fn migration_0017_keeps_messages_and_marks() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let run = |version_below: i64| {
            let pool = pool.clone();
            async move {
                for m in MIGRATOR.iter().filter(|m| m.version < version_below) {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql.as_str().to_owned()))
                        .execute(&pool)
                        .await
                        .unwrap_or_else(|e| panic!("migration {}: {e}", m.version));
                }
            }
        };
        run(17).await;
        let sql = "INSERT INTO outbox (contact, kommune, subject, message, calls, status, next_attempt, created) \
                   VALUES ('a@example.org', 'telgte', 'Fördermittel', x'0102', '[\"c1\"]', 'pending', 't', 't'); \
                   INSERT INTO notified (contact, call_id, at, mail_id) VALUES ('a@example.org', 'c1', 't', 1); \
                   DELETE FROM plan_changes;";
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        for m in MIGRATOR.iter().filter(|m| m.version == 17) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql.as_str().to_owned()))
                .execute(&pool)
                .await
                .unwrap();
        }
        let message: Vec<u8> = sqlx::query_scalar("SELECT message FROM outbox_messages WHERE mail_id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(message, vec![1, 2]);
        let marks: i64 =
            sqlx::query_scalar("SELECT count(*) FROM notified WHERE contact = 'a@example.org' AND mail_id = 1")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(marks, 1);
        sqlx::raw_sql(
            "INSERT INTO notified (contact, call_id, at, mail_id) VALUES ('a@example.org', 'c2', 't', 1), \
             ('a@example.org', 'c3', 't', 1)",
        )
        .execute(&pool)
        .await
        .unwrap();
        let changes: i64 = sqlx::query_scalar("SELECT count(*) FROM plan_changes")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(changes, 1, "two marks in one statement record one change");
    }

    #[tokio::test]
    async fn file_store_runs_in_wal_mode_with_synchronous_normal_and_spills_late() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.sqlite")).await.unwrap();
        let mut settings = Vec::new();
        for pragma in ["journal_mode", "synchronous", "cache_spill", "temp_store"] {
            let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT CAST({pragma} AS TEXT) FROM pragma_{pragma}"
            )))
            .fetch_one(&store.pool)
            .await
            .unwrap();
            settings.push(value);
        }
        // synchronous 1 = NORMAL, temp_store 2 = MEMORY
        assert_eq!(settings, ["wal", "1", &SPILL_PAGES.to_string(), "2"]);
    }
}
