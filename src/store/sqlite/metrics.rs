//! What `/metrics` and `/health` of `foerderradar serve` read: counts grouped in SQL,
//! so a scrape costs a few index lookups and never loads the calls.

use chrono::{DateTime, Utc};

use super::{SqliteStore, count};
use crate::store::{OutboxStatus, RunKind, StoreResult};

/// Counts for the Prometheus endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreMetrics {
    /// Stored calls per (source, status).
    pub calls: Vec<(String, String, u32)>,
    /// Passed matches (call × Handlungsfeld or project).
    pub matches_passed: u32,
    pub mails_sent: u32,
    pub mails_pending: u32,
    /// Pending mails whose last attempt failed (they wait for a retry).
    pub mails_failed: u32,
    /// Mails given up after `max_attempts`.
    pub mails_given_up: u32,
    pub jobs: Vec<JobMetric>,
}

/// The newest finished run of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobMetric {
    pub kind: RunKind,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub ok: bool,
}

impl SqliteStore {
    /// Whether the database answers at all.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM runs")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest run of any job that finished (whether every source and mail went
    /// through is the job's outcome, shown in the metrics).
    pub async fn last_finished_run(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(
            sqlx::query_scalar("SELECT max(finished) FROM runs WHERE finished IS NOT NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn metrics(&self) -> StoreResult<StoreMetrics> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT source, status, count(*) FROM calls GROUP BY source, status ORDER BY source, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let calls = rows
            .into_iter()
            .map(|(source, status, n)| Ok((source, status, count("calls", "status", n)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let passed: i64 = sqlx::query_scalar("SELECT count(*) FROM matches WHERE passed = 1")
            .fetch_one(&self.pool)
            .await?;
        let outbox = |sql: &'static str| async move {
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await?;
            count("outbox", "status", n)
        };
        let mails_sent = self.outbox_with(OutboxStatus::Sent).await?;
        let mails_pending = self.outbox_with(OutboxStatus::Pending).await?;
        let mails_given_up = self.outbox_with(OutboxStatus::Failed).await?;
        let mails_failed =
            outbox("SELECT count(*) FROM outbox WHERE status = 'pending' AND last_error IS NOT NULL").await?;
        let mut jobs = Vec::new();
        for kind in [RunKind::Collect, RunKind::Match, RunKind::Notify, RunKind::Pass] {
            let run: Option<(DateTime<Utc>, DateTime<Utc>, bool)> = sqlx::query_as(
                "SELECT started, finished, coalesce(ok, 0) FROM runs WHERE kind = ? AND finished IS NOT NULL \
                 ORDER BY finished DESC LIMIT 1",
            )
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
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

    async fn outbox_with(&self, status: OutboxStatus) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = ?")
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await?;
        count("outbox", "status", n)
    }
}
