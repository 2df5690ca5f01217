//! Scheduled jobs (`job_runs`) and what the weekly admin digest reads: silent
//! sources, given-up mails and the addresses they were meant for.

use chrono::{DateTime, Utc};

use sqlx::PgPool;

use super::count;
use crate::store::{DeadLetter, OutboxStatus, ScheduledRuns, SourceYield, StoreResult};

/// Records the start of a scheduled job; returns the run's id for `finish_job_run`.
pub(super) async fn start_job_run(pool: &PgPool, job: &str, at: DateTime<Utc>) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("INSERT INTO job_runs (job, started) VALUES ($1, $2) RETURNING id")
            .bind(job)
            .bind(at)
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn finish_job_run(pool: &PgPool, id: i64, at: DateTime<Utc>, ok: bool) -> StoreResult<()> {
    sqlx::query("UPDATE job_runs SET finished = $1, ok = $2 WHERE id = $3")
        .bind(at)
        .bind(ok)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The last start and the last finish of `job`.
pub(super) async fn scheduled_runs(pool: &PgPool, job: &str) -> StoreResult<ScheduledRuns> {
    let last_started: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT max(started) FROM job_runs WHERE job = $1")
        .bind(job)
        .fetch_one(pool)
        .await?;
    let last_finished: Option<(DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT finished, coalesce(ok, false) FROM job_runs WHERE job = $1 AND finished IS NOT NULL \
         ORDER BY finished DESC LIMIT 1",
    )
    .bind(job)
    .fetch_optional(pool)
    .await?;
    Ok(ScheduledRuns {
        job: job.to_string(),
        last_started,
        last_finished,
    })
}

/// When the newest run of `job` that finished ok started (a run still going, or one
/// that failed, is left out).
pub(super) async fn last_ok_job_start(pool: &PgPool, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT max(started) FROM job_runs WHERE job = $1 AND finished IS NOT NULL AND ok")
            .bind(job)
            .fetch_one(pool)
            .await?,
    )
}

/// Per source with recorded passes: its first pass and its newest pass with items.
pub(super) async fn source_yields(pool: &PgPool) -> StoreResult<Vec<SourceYield>> {
    let rows: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT source, min(at), max(CASE WHEN items > 0 THEN at END) FROM source_runs \
         GROUP BY source ORDER BY source",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(source, first_run, last_items)| SourceYield {
            source,
            first_run,
            last_items,
        })
        .collect())
}

/// Mails given up whose last attempt was at or after `since`, newest first.
pub(super) async fn dead_letters_since(pool: &PgPool, since: DateTime<Utc>) -> StoreResult<Vec<DeadLetter>> {
    type Row = (i64, String, String, i64, Option<String>, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, contact, subject, attempts, last_error, created, next_attempt FROM outbox \
         WHERE status = $1 AND next_attempt >= $2 ORDER BY next_attempt DESC, id DESC",
    )
    .bind(OutboxStatus::Failed.as_str())
    .bind(since)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, contact, subject, attempts, error, created, given_up)| {
            Ok(DeadLetter {
                id,
                contact,
                subject,
                attempts: count("outbox", "attempts", attempts)?,
                error,
                created,
                given_up,
            })
        })
        .collect()
}
