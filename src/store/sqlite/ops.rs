//! Operations on the whole store: what `foerderradar status` reads (runs, outbox
//! counts, the newest call, the last error), the schema-version guard and backups.

use std::path::Path;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::ts;
use crate::store::{JobRuns, LastError, OutboxStatus, RunKind, SourceRun, StoreError, StoreResult};

/// The latest runs of `kind`.
pub(super) async fn job_runs(pool: &SqlitePool, kind: RunKind) -> StoreResult<JobRuns> {
    let last_started: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT max(started) FROM runs WHERE kind = ?")
        .bind(kind.as_str())
        .fetch_one(pool)
        .await?;
    let last_finished: Option<(DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT finished, coalesce(ok, 0) FROM runs WHERE kind = ? AND finished IS NOT NULL \
         ORDER BY finished DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .fetch_optional(pool)
    .await?;
    let last_ok: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT max(finished) FROM runs WHERE kind = ? AND ok = 1")
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
pub(super) async fn outbox_counts(pool: &SqlitePool) -> StoreResult<Vec<(OutboxStatus, u32)>> {
    let mut counts = Vec::new();
    for status in [OutboxStatus::Pending, OutboxStatus::Sent, OutboxStatus::Failed] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = ?")
            .bind(status.as_str())
            .fetch_one(pool)
            .await?;
        counts.push((status, super::count("outbox", "status", n)?));
    }
    Ok(counts)
}

/// Mails given up (status failed) whose last attempt was at or after `since`.
pub(super) async fn given_up_since(pool: &SqlitePool, since: DateTime<Utc>) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = ? AND next_attempt >= ?")
        .bind(OutboxStatus::Failed.as_str())
        .bind(ts(since))
        .fetch_one(pool)
        .await?;
    super::count("outbox", "status", n)
}

/// Pending mails that failed at least once and wait for their next attempt.
pub(super) async fn retrying_mails(pool: &SqlitePool) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = ? AND attempts > 0")
        .bind(OutboxStatus::Pending.as_str())
        .fetch_one(pool)
        .await?;
    super::count("outbox", "attempts", n)
}

/// The newest `limit` passes of every source, newest first per source.
pub(super) async fn recent_source_runs(pool: &SqlitePool, limit: u32) -> StoreResult<Vec<SourceRun>> {
    let rows: Vec<crate::store::content::SourceRunRow> = sqlx::query_as(
        "SELECT source, at, items, error, requests, not_modified, duration_ms FROM ( \
           SELECT *, row_number() OVER (PARTITION BY source ORDER BY at DESC, id DESC) AS n FROM source_runs \
         ) WHERE n <= ? ORDER BY source, at DESC, id DESC",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    crate::store::content::source_runs(rows)
}

/// When the newest call was first seen; `None` for an empty store.
pub(super) async fn newest_call_seen(pool: &SqlitePool) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar("SELECT max(first_seen) FROM calls")
        .fetch_one(pool)
        .await?)
}

/// The newest error of a source run or of a mail attempt.
pub(super) async fn last_error(pool: &SqlitePool) -> StoreResult<Option<LastError>> {
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

/// Writes a consistent copy of the whole store to `target` (`VACUUM INTO`), also
/// while other connections write: the copy is one read transaction's snapshot.
/// An existing `target` is never overwritten.
pub(super) async fn backup_into(pool: &SqlitePool, target: &Path) -> StoreResult<()> {
    if target.exists() {
        return Err(StoreError::Backup {
            path: target.to_path_buf(),
            message: "the file exists already; choose a new name (a backup never overwrites)".into(),
        });
    }
    let name = target.to_str().ok_or_else(|| StoreError::Backup {
        path: target.to_path_buf(),
        message: "the path is not valid UTF-8".into(),
    })?;
    sqlx::query("VACUUM INTO ?")
        .bind(name)
        .execute(pool)
        .await
        .map_err(|e| StoreError::Backup {
            path: target.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(())
}

/// Refuses a store migrated by a newer foerderradar: its tables may not mean what this
/// binary expects, and sqlx would only report an unknown migration.
pub(super) async fn refuse_newer_schema(pool: &SqlitePool, path: &Path) -> StoreResult<()> {
    let has_table: bool =
        sqlx::query_scalar("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(pool)
            .await?;
    if !has_table {
        return Ok(());
    }
    let applied: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success = 1")
        .fetch_one(pool)
        .await?;
    let known = super::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > known => Err(StoreError::NewerSchema {
            store: path.display().to_string(),
            found,
            known,
        }),
        _ => Ok(()),
    }
}
