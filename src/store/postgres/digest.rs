//! Digest state: what each contact was last told about each call, and the day of
//! its last regular digest.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, Row, Transaction};

use super::outbox::INSERT_NOTIFIED;
use super::{begin_write, from_json, query, query_scalar, to_json};
use crate::model::CallId;
use crate::store::{DigestState, DigestUpdate, SentCall, StoreResult};

pub(super) async fn state(pool: &sqlx::PgPool, contact: &str) -> StoreResult<DigestState> {
    let last_digest: Option<NaiveDate> = query_scalar("SELECT last_digest FROM digest_contacts WHERE contact = $1")
        .bind(contact)
        .fetch_optional(pool)
        .await?;
    let notified: Vec<String> = query_scalar("SELECT call_id FROM notified WHERE contact = $1")
        .bind(contact)
        .fetch_all(pool)
        .await?;
    let rows = query("SELECT call_id, received, facts, seen, reminders FROM digest_calls WHERE contact = $1")
        .bind(contact)
        .fetch_all(pool)
        .await?;
    let mut calls = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let id = CallId(row.try_get("call_id")?);
        calls.insert(
            id.clone(),
            SentCall {
                call_id: id,
                received: row.try_get("received")?,
                facts: from_json("digest_calls", "facts", row.try_get("facts")?)?,
                seen: from_json("digest_calls", "seen", row.try_get("seen")?)?,
                reminders: from_json("digest_calls", "reminders", row.try_get("reminders")?)?,
            },
        );
    }
    Ok(DigestState {
        last_digest,
        notified: notified.into_iter().map(CallId).collect(),
        calls,
    })
}

/// Writes `update` inside the transaction that queues mail `mail_id`.
pub(super) async fn write(
    tx: &mut Transaction<'static, Postgres>,
    contact: &str,
    mail_id: i64,
    update: &DigestUpdate,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if !update.known.is_empty() {
        let known: Vec<&str> = update.known.iter().map(CallId::as_str).collect();
        query(INSERT_NOTIFIED)
            .bind(contact)
            .bind(now)
            .bind(mail_id)
            .bind(&known)
            .execute(&mut **tx)
            .await?;
    }
    for call in &update.calls {
        query(
            "INSERT INTO digest_calls (contact, call_id, received, facts, seen, reminders, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (contact, call_id) DO UPDATE SET \
             received = digest_calls.received OR excluded.received, facts = excluded.facts, seen = excluded.seen, \
             reminders = excluded.reminders, updated = excluded.updated",
        )
        .bind(contact)
        .bind(call.call_id.as_str())
        .bind(call.received)
        .bind(to_json("digest_calls", "facts", &call.facts)?)
        .bind(to_json("digest_calls", "seen", &call.seen)?)
        .bind(to_json("digest_calls", "reminders", &call.reminders)?)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(day) = update.digest_day {
        query(
            "INSERT INTO digest_contacts (contact, last_digest) VALUES ($1, $2) \
             ON CONFLICT (contact) DO UPDATE SET last_digest = excluded.last_digest",
        )
        .bind(contact)
        .bind(day)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// See [`crate::store::Store::begin_plan`]. Clearing deletes only the marks this
/// statement sees: a change committed later keeps its own mark.
pub(super) async fn begin_plan(pool: &sqlx::PgPool, stamp: &str) -> StoreResult<bool> {
    let quiet: Option<i32> = query_scalar(
        "SELECT 1 FROM meta WHERE key = 'plan_quiet' AND value = $1 AND NOT EXISTS (SELECT 1 FROM plan_changes)",
    )
    .bind(stamp)
    .fetch_optional(pool)
    .await?;
    if quiet.is_some() {
        return Ok(true);
    }
    let mut tx = begin_write(pool).await?;
    query("DELETE FROM plan_changes").execute(&mut *tx).await?;
    query("DELETE FROM meta WHERE key = 'plan_quiet'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(false)
}

/// See [`crate::store::Store::mark_plan_quiet`].
pub(super) async fn mark_plan_quiet(pool: &sqlx::PgPool, stamp: &str) -> StoreResult<()> {
    query("INSERT INTO meta (key, value) VALUES ('plan_quiet', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(stamp)
        .execute(pool)
        .await?;
    Ok(())
}
