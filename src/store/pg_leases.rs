//! Job slot and outbox claims, and the instance heartbeats, on PostgreSQL: the
//! [`Store`](super::Store) coordination methods as functions over a pool, for the
//! PostgreSQL store to call. Tables: `migrations/postgres/0002_leases.sql`.
//!
//! A claim is one `INSERT … ON CONFLICT … DO UPDATE … WHERE` statement: PostgreSQL
//! serialises two claimers of one (job, slot) on the primary key, the second sees the
//! first's row and its WHERE (lease expired, or already the claimer's) decides, so
//! exactly one of them gets the row back.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

use super::{FORGET_INSTANCE_AFTER, HeldJob, InstanceInfo, InstanceStatus, JobClaim, StoreError, StoreResult};

/// The table definitions (the PostgreSQL migration 0002), for tests that set up only these.
pub const SCHEMA: &str = include_str!("../../migrations/postgres/0002_leases.sql");

/// See [`Store::claim_job`](super::Store::claim_job).
pub async fn claim_job(
    pool: &PgPool,
    job: &str,
    slot: DateTime<Utc>,
    instance: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> StoreResult<JobClaim> {
    super::count_statement();
    let won: Option<String> = sqlx::query_scalar(
        "INSERT INTO job_claims (job, slot, instance, lease_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (job, slot) DO UPDATE SET instance = excluded.instance, lease_until = excluded.lease_until \
         WHERE job_claims.done_at IS NULL AND (job_claims.lease_until <= $5 OR job_claims.instance = $3) \
         RETURNING instance",
    )
    .bind(job)
    .bind(slot)
    .bind(instance)
    .bind(until(now, lease))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    if won.is_some() {
        return Ok(JobClaim::Claimed);
    }
    // Lost: the row exists (rows are never deleted); report who holds it or that it ran.
    super::count_statement();
    let (by, lease_until, done): (String, DateTime<Utc>, bool) = sqlx::query_as(
        "SELECT instance, lease_until, done_at IS NOT NULL FROM job_claims WHERE job = $1 AND slot = $2",
    )
    .bind(job)
    .bind(slot)
    .fetch_one(pool)
    .await?;
    Ok(match done {
        true => JobClaim::Done,
        false => JobClaim::Held { by, until: lease_until },
    })
}

/// See [`Store::renew_job_lease`](super::Store::renew_job_lease).
pub async fn renew_job_lease(
    pool: &PgPool,
    job: &str,
    slot: DateTime<Utc>,
    instance: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    super::count_statement();
    let renewed = sqlx::query(
        "UPDATE job_claims SET lease_until = $1 WHERE job = $2 AND slot = $3 AND instance = $4 AND done_at IS NULL",
    )
    .bind(until(now, lease))
    .bind(job)
    .bind(slot)
    .bind(instance)
    .execute(pool)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// See [`Store::finish_job`](super::Store::finish_job).
pub async fn finish_job(
    pool: &PgPool,
    job: &str,
    slot: DateTime<Utc>,
    instance: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::count_statement();
    sqlx::query(
        "UPDATE job_claims SET done_at = $1 WHERE job = $2 AND slot = $3 AND instance = $4 AND done_at IS NULL",
    )
    .bind(now)
    .bind(job)
    .bind(slot)
    .bind(instance)
    .execute(pool)
    .await?;
    Ok(())
}

/// See [`Store::claim_mail`](super::Store::claim_mail).
pub async fn claim_mail(
    pool: &PgPool,
    id: i64,
    instance: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    super::count_statement();
    let won: Option<i64> = sqlx::query_scalar(
        "INSERT INTO mail_claims (mail_id, instance, claimed_until) VALUES ($1, $2, $3) \
         ON CONFLICT (mail_id) DO UPDATE SET instance = excluded.instance, claimed_until = excluded.claimed_until \
         WHERE mail_claims.claimed_until <= $4 OR mail_claims.instance = $2 \
         RETURNING mail_id",
    )
    .bind(id)
    .bind(instance)
    .bind(until(now, lease))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(won.is_some())
}

/// See [`Store::release_mail`](super::Store::release_mail).
pub async fn release_mail(pool: &PgPool, id: i64, instance: &str) -> StoreResult<()> {
    super::count_statement();
    sqlx::query("DELETE FROM mail_claims WHERE mail_id = $1 AND instance = $2")
        .bind(id)
        .bind(instance)
        .execute(pool)
        .await?;
    Ok(())
}

/// See [`Store::heartbeat`](super::Store::heartbeat).
pub async fn heartbeat(pool: &PgPool, instance: &InstanceInfo, now: DateTime<Utc>) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    super::count_statement();
    sqlx::query(
        "INSERT INTO instances (id, host, pid, started, heartbeat) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat",
    )
    .bind(&instance.id)
    .bind(&instance.host)
    .bind(i64::from(instance.pid))
    .bind(instance.started)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    super::count_statement();
    sqlx::query("DELETE FROM instances WHERE heartbeat < $1")
        .bind(now - FORGET_INSTANCE_AFTER)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// See [`Store::instances`](super::Store::instances).
pub async fn instances(pool: &PgPool, now: DateTime<Utc>) -> StoreResult<Vec<InstanceStatus>> {
    type Row = (String, String, i64, DateTime<Utc>, DateTime<Utc>);
    super::count_statement();
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, host, pid, started, heartbeat FROM instances ORDER BY heartbeat DESC, id")
            .fetch_all(pool)
            .await?;
    super::count_statement();
    let held: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT instance, job, slot, lease_until FROM job_claims \
         WHERE done_at IS NULL AND lease_until > $1 ORDER BY job, slot",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    super::count_statement();
    let mails: Vec<(String, i64)> =
        sqlx::query_as("SELECT instance, count(*) FROM mail_claims WHERE claimed_until > $1 GROUP BY instance")
            .bind(now)
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
            let corrupt = |column: &'static str, v: i64| StoreError::Corrupt {
                table: "instances",
                column,
                message: format!("{v} is out of range"),
            };
            let pid = u32::try_from(pid).map_err(|_| corrupt("pid", pid))?;
            let mail_count = mails.get(&id).copied().unwrap_or(0);
            Ok(InstanceStatus {
                jobs: jobs.remove(&id).unwrap_or_default(),
                mails: u32::try_from(mail_count).map_err(|_| corrupt("mail_claims", mail_count))?,
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
