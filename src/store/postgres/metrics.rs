//! What `/metrics` and `/health` of `foerderradar serve` read: counts grouped in SQL,
//! so a scrape costs a few index lookups and never loads the calls.

use chrono::{DateTime, Utc};

use sqlx::PgPool;

use super::count;
use crate::store::{JobMetric, OutboxStatus, RunKind, StoreMetrics, StoreResult};

/// Whether the database answers at all.
pub(super) async fn ping(pool: &PgPool) -> StoreResult<()> {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM runs")
        .fetch_one(pool)
        .await?;
    Ok(())
}

/// The newest run of any job that finished (whether every source and mail went
/// through is the job's outcome, shown in the metrics).
pub(super) async fn last_finished_run(pool: &PgPool) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT max(finished) FROM runs WHERE finished IS NOT NULL")
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn metrics(pool: &PgPool) -> StoreResult<StoreMetrics> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT source, status, count(*) FROM calls GROUP BY source, status ORDER BY source, status")
            .fetch_all(pool)
            .await?;
    let calls = rows
        .into_iter()
        .map(|(source, status, n)| Ok((source, status, count("calls", "status", n)?)))
        .collect::<StoreResult<Vec<_>>>()?;
    let passed: i64 = sqlx::query_scalar("SELECT count(*) FROM matches WHERE passed")
        .fetch_one(pool)
        .await?;
    let outbox = |sql: &'static str| async move {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
        count("outbox", "status", n)
    };
    let mails_sent = outbox_with(pool, OutboxStatus::Sent).await?;
    let mails_pending = outbox_with(pool, OutboxStatus::Pending).await?;
    let mails_given_up = outbox_with(pool, OutboxStatus::Failed).await?;
    let mails_failed =
        outbox("SELECT count(*) FROM outbox WHERE status = 'pending' AND last_error IS NOT NULL").await?;
    let mut jobs = Vec::new();
    for kind in [RunKind::Collect, RunKind::Match, RunKind::Notify, RunKind::Pass] {
        let run: Option<(DateTime<Utc>, DateTime<Utc>, bool)> = sqlx::query_as(
            "SELECT started, finished, coalesce(ok, false) FROM runs WHERE kind = $1 AND finished IS NOT NULL \
             ORDER BY finished DESC LIMIT 1",
        )
        .bind(kind.as_str())
        .fetch_optional(pool)
        .await?;
        if let Some((started, finished, ok)) = run {
            jobs.push(JobMetric {
                kind,
                started,
                finished,
                ok,
            });
        }
    }
    Ok(StoreMetrics {
        calls,
        matches_passed: count("matches", "passed", passed)?,
        mails_sent,
        mails_pending,
        mails_failed,
        mails_given_up,
        jobs,
    })
}

async fn outbox_with(pool: &PgPool, status: OutboxStatus) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = $1")
        .bind(status.as_str())
        .fetch_one(pool)
        .await?;
    count("outbox", "status", n)
}
