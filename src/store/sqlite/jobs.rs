//! Scheduled jobs (`job_runs`) and what the weekly admin digest reads: silent
//! sources, given-up mails and the addresses they were meant for.

use chrono::{DateTime, Utc};

use sqlx::SqlitePool;

use super::{count, ts};
use crate::store::{DeadLetter, OutboxStatus, ScheduledRuns, SourceYield, StoreResult};

/// Records the start of a scheduled job; returns the run's id for `finish_job_run`.
pub(super) async fn start_job_run(pool: &SqlitePool, job: &str, at: DateTime<Utc>) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("INSERT INTO job_runs (job, started) VALUES (?, ?) RETURNING id")
            .bind(job)
            .bind(ts(at))
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn finish_job_run(pool: &SqlitePool, id: i64, at: DateTime<Utc>, ok: bool) -> StoreResult<()> {
    sqlx::query("UPDATE job_runs SET finished = ?, ok = ? WHERE id = ?")
        .bind(ts(at))
        .bind(ok)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The last start and the last finish of `job`.
pub(super) async fn scheduled_runs(pool: &SqlitePool, job: &str) -> StoreResult<ScheduledRuns> {
    let last_started: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT max(started) FROM job_runs WHERE job = ?")
        .bind(job)
        .fetch_one(pool)
        .await?;
    let last_finished: Option<(DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT finished, coalesce(ok, 0) FROM job_runs WHERE job = ? AND finished IS NOT NULL \
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
pub(super) async fn last_ok_job_start(pool: &SqlitePool, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT max(started) FROM job_runs WHERE job = ? AND finished IS NOT NULL AND ok = 1")
            .bind(job)
            .fetch_one(pool)
            .await?,
    )
}

/// Per source with recorded passes: its first pass and its newest pass with items.
pub(super) async fn source_yields(pool: &SqlitePool) -> StoreResult<Vec<SourceYield>> {
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
pub(super) async fn dead_letters_since(pool: &SqlitePool, since: DateTime<Utc>) -> StoreResult<Vec<DeadLetter>> {
    type Row = (i64, String, String, i64, Option<String>, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, contact, subject, attempts, last_error, created, next_attempt FROM outbox \
         WHERE status = ? AND next_attempt >= ? ORDER BY next_attempt DESC, id DESC",
    )
    .bind(OutboxStatus::Failed.as_str())
    .bind(ts(since))
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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::store::{NewMail, SourceRun, Store};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn job_runs_report_the_last_start_and_finish_per_job() {
        let store = SqliteStore::memory().await.unwrap();
        assert_eq!(
            store.scheduled_runs("collect:nightly").await.unwrap().last_started,
            None
        );
        let first = store
            .start_job_run("collect:nightly", at("2026-12-01T01:00:00Z"))
            .await
            .unwrap();
        store
            .finish_job_run(first, at("2026-12-01T01:05:00Z"), true)
            .await
            .unwrap();
        store
            .start_job_run("collect:nightly", at("2026-12-02T01:00:00Z"))
            .await
            .unwrap();
        store.start_job_run("notify", at("2026-12-03T06:00:00Z")).await.unwrap();
        let runs = store.scheduled_runs("collect:nightly").await.unwrap();
        assert_eq!(runs.last_started, Some(at("2026-12-02T01:00:00Z")));
        assert_eq!(runs.last_finished, Some((at("2026-12-01T01:05:00Z"), true)));
        // The period of the next admin digest starts at the last one that was queued.
        let ok = store
            .start_job_run("admin_digest", at("2026-11-30T06:00:00Z"))
            .await
            .unwrap();
        store
            .finish_job_run(ok, at("2026-11-30T06:00:05Z"), true)
            .await
            .unwrap();
        let failed = store
            .start_job_run("admin_digest", at("2026-12-07T06:00:00Z"))
            .await
            .unwrap();
        store
            .finish_job_run(failed, at("2026-12-07T06:00:01Z"), false)
            .await
            .unwrap();
        store
            .start_job_run("admin_digest", at("2026-12-14T06:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            store.last_ok_job_start("admin_digest").await.unwrap(),
            Some(at("2026-11-30T06:00:00Z"))
        );
    }

    #[tokio::test]
    async fn source_yields_and_dead_letters() {
        let store = SqliteStore::memory().await.unwrap();
        let run = |source: &str, at_: &str, items: u32| SourceRun {
            source: source.into(),
            at: at(at_),
            items,
            error: None,
            requests: 1,
            not_modified: 0,
            duration_ms: 1,
        };
        for r in [
            run("bund", "2026-11-01T05:00:00Z", 3),
            run("bund", "2026-11-20T05:00:00Z", 0),
            run("leer", "2026-11-01T05:00:00Z", 0),
        ] {
            store.record_source_run(&r, 3).await.unwrap();
        }
        let yields = store.source_yields().await.unwrap();
        assert_eq!(yields.len(), 2);
        assert_eq!(yields[0].last_items, Some(at("2026-11-01T05:00:00Z")));
        assert_eq!((yields[1].source.as_str(), yields[1].last_items), ("leer", None));

        let t0 = at("2026-11-30T06:00:00Z");
        let mail = NewMail {
            contact: "a@ahlen.example.org".into(),
            kommune: "ahlen".into(),
            subject: "Förderradar".into(),
            message: b"x".to_vec(),
            calls: Vec::new(),
        };
        let old = store.enqueue_mail(&mail, t0 - Duration::days(30)).await.unwrap();
        store.mark_attempt_failed(old, "550 no such user", None).await.unwrap();
        let new = store.enqueue_mail(&mail, t0).await.unwrap();
        store.mark_attempt_failed(new, "550 no such user", None).await.unwrap();
        let pending = store.enqueue_mail(&mail, t0).await.unwrap();
        store
            .mark_attempt_failed(pending, "451 later", Some(t0 + Duration::hours(1)))
            .await
            .unwrap();
        let dead = store.dead_letters_since(t0 - Duration::days(7)).await.unwrap();
        assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), [new]);
        assert_eq!(dead[0].error.as_deref(), Some("550 no such user"));
        assert_eq!(dead[0].attempts, 1);
    }
}
