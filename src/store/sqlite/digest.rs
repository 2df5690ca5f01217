//! Digest state: what each contact was last told about each call, and the day of
//! its last regular digest.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite, Transaction};

use super::{begin_write, from_json, query, query_scalar, to_json, ts};
use crate::model::CallId;
use crate::store::{DigestState, DigestUpdate, SentCall, StoreError, StoreResult};

pub(super) async fn state(pool: &SqlitePool, contact: &str) -> StoreResult<DigestState> {
    let last: Option<String> = query_scalar("SELECT last_digest FROM digest_contacts WHERE contact = ?")
        .bind(contact)
        .fetch_optional(pool)
        .await?;
    let last_digest = last
        .map(|d| {
            d.parse::<NaiveDate>().map_err(|e| StoreError::Corrupt {
                table: "digest_contacts",
                column: "last_digest",
                message: e.to_string(),
            })
        })
        .transpose()?;
    // One row with a JSON array, not a row per call: a contact's record holds every
    // call it was ever told about (thousands after an overview), and each row would
    // cross from the database thread on its own.
    let notified: String =
        query_scalar("SELECT coalesce(json_group_array(call_id), '[]') FROM notified WHERE contact = ?")
            .bind(contact)
            .fetch_one(pool)
            .await?;
    let notified: Vec<String> = from_json("notified", "call_id", &notified)?;
    let rows = query("SELECT call_id, received, facts, seen, reminders FROM digest_calls WHERE contact = ?")
        .bind(contact)
        .fetch_all(pool)
        .await?;
    let mut calls = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let id = CallId(row.try_get("call_id")?);
        let facts: String = row.try_get("facts")?;
        let seen: String = row.try_get("seen")?;
        let reminders: String = row.try_get("reminders")?;
        calls.insert(
            id.clone(),
            SentCall {
                call_id: id,
                received: row.try_get("received")?,
                facts: from_json("digest_calls", "facts", &facts)?,
                seen: from_json("digest_calls", "seen", &seen)?,
                reminders: from_json("digest_calls", "reminders", &reminders)?,
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
    tx: &mut Transaction<'static, Sqlite>,
    contact: &str,
    mail_id: i64,
    update: &DigestUpdate,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if !update.known.is_empty() {
        let known: Vec<&str> = update.known.iter().map(CallId::as_str).collect();
        query(
            "INSERT INTO notified (contact, call_id, at, mail_id) \
             SELECT ?1, value, ?2, ?3 FROM json_each(?4) WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(contact)
        .bind(ts(now))
        .bind(mail_id)
        .bind(to_json("notified", "call_id", &known)?)
        .execute(&mut **tx)
        .await?;
    }
    for call in &update.calls {
        query(
            "INSERT INTO digest_calls (contact, call_id, received, facts, seen, reminders, updated) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contact, call_id) DO UPDATE SET \
             received = max(received, excluded.received), facts = excluded.facts, seen = excluded.seen, \
             reminders = excluded.reminders, updated = excluded.updated",
        )
        .bind(contact)
        .bind(call.call_id.as_str())
        .bind(call.received)
        .bind(to_json("digest_calls", "facts", &call.facts)?)
        .bind(to_json("digest_calls", "seen", &call.seen)?)
        .bind(to_json("digest_calls", "reminders", &call.reminders)?)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
    }
    if let Some(day) = update.digest_day {
        query(
            "INSERT INTO digest_contacts (contact, last_digest) VALUES (?, ?) \
             ON CONFLICT (contact) DO UPDATE SET last_digest = excluded.last_digest",
        )
        .bind(contact)
        .bind(day.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// See [`crate::store::Store::begin_plan`]. The quiet check only reads; clearing the
/// marks is a write, done only when a full plan follows.
pub(super) async fn begin_plan(pool: &SqlitePool, stamp: &str) -> StoreResult<bool> {
    let quiet: Option<i64> = query_scalar(
        "SELECT 1 FROM meta WHERE key = 'plan_quiet' AND value = ? AND NOT EXISTS (SELECT 1 FROM plan_changes)",
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
pub(super) async fn mark_plan_quiet(pool: &SqlitePool, stamp: &str) -> StoreResult<()> {
    query(
        "INSERT INTO meta (key, value) VALUES ('plan_quiet', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(stamp)
    .execute(pool)
    .await?;
    Ok(())
}
