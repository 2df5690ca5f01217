//! Job slot and outbox claims, and the instance heartbeats (migration 0012). SQLite
//! keeps one process per store (the data lock), so these rows record what that one
//! daemon holds; the rules are those of the PostgreSQL functions in `pg_leases.rs`.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::sqlite::SqlitePool;

use super::{begin_write, count, query, query_as, query_scalar, ts};
use crate::store::{FORGET_INSTANCE_AFTER, HeldJob, InstanceInfo, InstanceStatus, JobClaim, StoreError, StoreResult};

pub(super) async fn claim_job(
    pool: &SqlitePool,
    job: &str,
    slot: DateTime<Utc>,
    instance: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> StoreResult<JobClaim> {
    let mut tx = begin_write(pool).await?;
    // Free, expired or already ours: the upsert's WHERE decides, in one statement.
    let won: Option<String> = query_scalar(
        "INSERT INTO job_claims (job, slot, instance, lease_until) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (job, slot) DO UPDATE SET instance = excluded.instance, lease_until = excluded.lease_until \
         WHERE job_claims.done_at IS NULL AND (job_claims.lease_until <= ?5 OR job_claims.instance = ?3) \
         RETURNING instance",
    )
    .bind(job)
    .bind(ts(slot))
    .bind(instance)
    .bind(ts(until(now, lease)))
    .bind(ts(now))
    .fetch_optional(&mut *tx)
    .await?;
    let claim = match won {
        Some(_) => JobClaim::Claimed,
        None => {
            let (by, lease_until, done): (String, DateTime<Utc>, bool) = query_as(
                "SELECT instance, lease_until, done_at IS NOT NULL FROM job_claims WHERE job = ? AND slot = ?",
            )
            .bind(job)
            .bind(ts(slot))
            .fetch_one(&mut *tx)
            .await?;
            match done {
                true => JobClaim::Done,
                false => JobClaim::Held { by, until: lease_until },
            }
        }
    };
    tx.commit().await?;
    Ok(claim)
}

pub(super) async fn renew_job_lease(
    pool: &SqlitePool,
    job: &str,
    slot: DateTime<Utc>,
    instance: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let renewed =
        query("UPDATE job_claims SET lease_until = ? WHERE job = ? AND slot = ? AND instance = ? AND done_at IS NULL")
            .bind(ts(until(now, lease)))
            .bind(job)
            .bind(ts(slot))
            .bind(instance)
            .execute(pool)
            .await?;
    Ok(renewed.rows_affected() == 1)
}

pub(super) async fn finish_job(
    pool: &SqlitePool,
    job: &str,
    slot: DateTime<Utc>,
    instance: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    query("UPDATE job_claims SET done_at = ? WHERE job = ? AND slot = ? AND instance = ? AND done_at IS NULL")
        .bind(ts(now))
        .bind(job)
        .bind(ts(slot))
        .bind(instance)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn claim_mail(
    pool: &SqlitePool,
    id: i64,
    instance: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let won: Option<i64> = query_scalar(
        "INSERT INTO mail_claims (mail_id, instance, claimed_until) VALUES (?1, ?2, ?3) \
         ON CONFLICT (mail_id) DO UPDATE SET instance = excluded.instance, claimed_until = excluded.claimed_until \
         WHERE mail_claims.claimed_until <= ?4 OR mail_claims.instance = ?2 \
         RETURNING mail_id",
    )
    .bind(id)
    .bind(instance)
    .bind(ts(until(now, lease)))
    .bind(ts(now))
    .fetch_optional(pool)
    .await?;
    Ok(won.is_some())
}

pub(super) async fn release_mail(pool: &SqlitePool, id: i64, instance: &str) -> StoreResult<()> {
    query("DELETE FROM mail_claims WHERE mail_id = ? AND instance = ?")
        .bind(id)
        .bind(instance)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn heartbeat(pool: &SqlitePool, instance: &InstanceInfo, now: DateTime<Utc>) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    query(
        "INSERT INTO instances (id, host, pid, started, heartbeat) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat",
    )
    .bind(&instance.id)
    .bind(&instance.host)
    .bind(i64::from(instance.pid))
    .bind(ts(instance.started))
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    query("DELETE FROM instances WHERE heartbeat < ?")
        .bind(ts(now - FORGET_INSTANCE_AFTER))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn instances(pool: &SqlitePool, now: DateTime<Utc>) -> StoreResult<Vec<InstanceStatus>> {
    type Row = (String, String, i64, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> =
        query_as("SELECT id, host, pid, started, heartbeat FROM instances ORDER BY heartbeat DESC, id")
            .fetch_all(pool)
            .await?;
    let held: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = query_as(
        "SELECT instance, job, slot, lease_until FROM job_claims \
         WHERE done_at IS NULL AND lease_until > ? ORDER BY job, slot",
    )
    .bind(ts(now))
    .fetch_all(pool)
    .await?;
    let mails: Vec<(String, i64)> =
        query_as("SELECT instance, count(*) FROM mail_claims WHERE claimed_until > ? GROUP BY instance")
            .bind(ts(now))
            .fetch_all(pool)
            .await?;
    let mut jobs: HashMap<String, Vec<HeldJob>> = HashMap::new();
    for (instance, job, slot, lease_until) in held {
        jobs.entry(instance)
            .or_default()
            .push(HeldJob { job, slot, lease_until });
    }
    let mails: HashMap<String, i64> = mails.into_iter().collect();
    rows.into_iter()
        .map(|(id, host, pid, started, last_heartbeat)| {
            let pid = u32::try_from(pid).map_err(|_| StoreError::Corrupt {
                table: "instances",
                column: "pid",
                message: format!("{pid} is not a process id"),
            })?;
            Ok(InstanceStatus {
                jobs: jobs.remove(&id).unwrap_or_default(),
                mails: count("mail_claims", "count", mails.get(&id).copied().unwrap_or(0))?,
                instance: InstanceInfo { id, host, pid, started },
                last_heartbeat,
            })
        })
        .collect()
}

/// When a lease taken at `now` runs out (saturating: the config bounds `lease`).
fn until(now: DateTime<Utc>, lease: TimeDelta) -> DateTime<Utc> {
    now.checked_add_signed(lease).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
