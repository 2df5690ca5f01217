//! Operations on the whole store: what `foerderradar status` reads (runs, outbox
//! counts, the newest call, the last error), the schema-version guard and backups.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::store::{JobRuns, LastError, OutboxStatus, RunKind, SourceRun, StoreError, StoreResult};

/// The latest runs of `kind`.
pub(super) async fn job_runs(pool: &PgPool, kind: RunKind) -> StoreResult<JobRuns> {
    let last_started: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT max(started) FROM runs WHERE kind = $1")
        .bind(kind.as_str())
        .fetch_one(pool)
        .await?;
    let last_finished: Option<(DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT finished, coalesce(ok, false) FROM runs WHERE kind = $1 AND finished IS NOT NULL \
         ORDER BY finished DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .fetch_optional(pool)
    .await?;
    let last_ok: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT max(finished) FROM runs WHERE kind = $1 AND ok")
        .bind(kind.as_str())
        .fetch_one(pool)
        .await?;
    Ok(JobRuns {
        kind,
        last_started,
        last_finished,
        last_ok,
    })
}

/// How many outbox mails are in each state (every state listed, zeros included).
pub(super) async fn outbox_counts(pool: &PgPool) -> StoreResult<Vec<(OutboxStatus, u32)>> {
    let mut counts = Vec::new();
    for status in [OutboxStatus::Pending, OutboxStatus::Sent, OutboxStatus::Failed] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = $1")
            .bind(status.as_str())
            .fetch_one(pool)
            .await?;
        counts.push((status, super::count("outbox", "status", n)?));
    }
    Ok(counts)
}

/// Mails given up (status failed) whose last attempt was at or after `since`.
pub(super) async fn given_up_since(pool: &PgPool, since: DateTime<Utc>) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = $1 AND next_attempt >= $2")
        .bind(OutboxStatus::Failed.as_str())
        .bind(since)
        .fetch_one(pool)
        .await?;
    super::count("outbox", "status", n)
}

/// When the newest call was first seen; `None` for an empty store.
pub(super) async fn newest_call_seen(pool: &PgPool) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar("SELECT max(first_seen) FROM calls")
        .fetch_one(pool)
        .await?)
}

/// The newest error of a source run or of a mail attempt.
pub(super) async fn last_error(pool: &PgPool) -> StoreResult<Option<LastError>> {
    let source: Option<(DateTime<Utc>, String, String)> = sqlx::query_as(
        "SELECT at, source, error FROM source_runs WHERE error IS NOT NULL ORDER BY at DESC, id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    // A failed attempt sets next_attempt to the retry time (or keeps the last one when
    // the mail is given up): the closest recorded time of the failure.
    let mail: Option<(DateTime<Utc>, i64, String)> = sqlx::query_as(
        "SELECT next_attempt, id, last_error FROM outbox WHERE last_error IS NOT NULL \
         ORDER BY next_attempt DESC, id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let source = source.map(|(at, id, message)| LastError {
        at,
        origin: format!("source {id}"),
        message,
    });
    let mail = mail.map(|(at, id, message)| LastError {
        at,
        origin: format!("mail #{id}"),
        message,
    });
    Ok(match (source, mail) {
        (Some(s), Some(m)) => Some(if m.at > s.at { m } else { s }),
        (s, m) => s.or(m),
    })
}

/// Refuses a store migrated by a newer foerderradar: its tables may not mean what this
/// binary expects, and sqlx would only report an unknown migration.
pub(super) async fn refuse_newer_schema(pool: &PgPool) -> StoreResult<()> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_table {
        return Ok(());
    }
    let applied: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await?;
    let known = super::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > known => {
            let store: Option<String> = sqlx::query_scalar("SELECT current_database()::text")
                .fetch_one(pool)
                .await?;
            Err(StoreError::NewerSchema {
                store: format!("PostgreSQL database {}", store.unwrap_or_default()),
                found,
                known,
            })
        }
        _ => Ok(()),
    }
}

/// Pending mails that failed at least once and wait for their next attempt.
pub(super) async fn retrying_mails(pool: &PgPool) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = $1 AND attempts > 0")
        .bind(OutboxStatus::Pending.as_str())
        .fetch_one(pool)
        .await?;
    super::count("outbox", "attempts", n)
}

/// The newest `limit` passes of every source, newest first per source.
pub(super) async fn recent_source_runs(pool: &PgPool, limit: u32) -> StoreResult<Vec<SourceRun>> {
    let rows: Vec<crate::store::content::SourceRunRow> = sqlx::query_as(
        "SELECT source, at, items, error, requests, not_modified, duration_ms FROM ( \
           SELECT *, row_number() OVER (PARTITION BY source ORDER BY at DESC, id DESC) AS n FROM source_runs \
         ) AS r WHERE n <= $1 ORDER BY source, at DESC, id DESC",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    crate::store::content::source_runs(rows)
}
