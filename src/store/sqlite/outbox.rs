//! The outbox of rendered digests and the record of who was told about which call.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use super::{begin_write, count, from_json, query, query_scalar, to_json, ts};
use crate::model::CallId;
use crate::store::{DigestUpdate, NewMail, OutboxMail, OutboxStatus, StoreError, StoreResult};

macro_rules! select_mail {
    ($rest:literal) => {
        concat!(
            "SELECT id, contact, kommune, subject, m.message, calls, status, attempts, next_attempt, last_error, ",
            "created, sent FROM outbox JOIN outbox_messages m ON m.mail_id = outbox.id ",
            $rest
        )
    };
}

pub(super) async fn notified_calls(pool: &SqlitePool, contact: &str) -> StoreResult<Vec<CallId>> {
    let ids: Vec<String> = query_scalar("SELECT call_id FROM notified WHERE contact = ? ORDER BY at, call_id")
        .bind(contact)
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().map(CallId).collect())
}

/// Queues the mail, due at once, and records its calls as notified for the
/// contact. If any call was already queued for the contact, nothing is
/// queued ([`StoreError::AlreadyNotified`]): the mail as rendered would repeat it.
pub(super) async fn enqueue(pool: &SqlitePool, mail: &NewMail, now: DateTime<Utc>) -> StoreResult<i64> {
    enqueue_with(pool, mail, None, now).await
}

/// [`enqueue`] plus the digest state `update`, in one transaction.
pub(super) async fn enqueue_with(
    pool: &SqlitePool,
    mail: &NewMail,
    update: Option<&DigestUpdate>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let mut tx = begin_write(pool).await?;
    // Writers take turns, so a mark present now is another writer's (see `DigestUpdate::own_plan`).
    let own_plan = match update {
        Some(u) if u.own_plan => {
            !query_scalar::<bool>("SELECT EXISTS (SELECT 1 FROM plan_changes)")
                .fetch_one(&mut *tx)
                .await?
        }
        _ => false,
    };
    let id: i64 = query_scalar(
        "INSERT INTO outbox (contact, kommune, subject, calls, status, attempts, next_attempt, created) \
         VALUES (?1, ?2, ?3, ?4, ?6, 0, ?5, ?5) RETURNING id",
    )
    .bind(&mail.contact)
    .bind(&mail.kommune)
    .bind(&mail.subject)
    .bind(to_json("outbox", "calls", &mail.calls)?)
    .bind(ts(now))
    .bind(OutboxStatus::Pending.as_str())
    .fetch_one(&mut *tx)
    .await?;
    query("INSERT INTO outbox_messages (mail_id, message) VALUES (?, ?)")
        .bind(id)
        .bind(&mail.message)
        .execute(&mut *tx)
        .await?;
    // A call the digest lists twice is one notification, not a repeat of an earlier mail.
    let mut calls: Vec<&str> = mail.calls.iter().map(CallId::as_str).collect();
    calls.sort_unstable();
    calls.dedup();
    // One statement for all calls of the digest.
    let inserted = query(
        "INSERT INTO notified (contact, call_id, at, mail_id) \
         SELECT ?1, value, ?2, ?3 FROM json_each(?4) WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(&mail.contact)
    .bind(ts(now))
    .bind(id)
    .bind(to_json("notified", "call_id", &calls)?)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != calls.len() as u64 {
        let repeated: String = query_scalar(
            "SELECT call_id FROM notified WHERE contact = ?1 AND mail_id != ?2 \
             AND call_id IN (SELECT value FROM json_each(?3)) ORDER BY call_id LIMIT 1",
        )
        .bind(&mail.contact)
        .bind(id)
        .bind(to_json("notified", "call_id", &calls)?)
        .fetch_one(&mut *tx)
        .await?;
        // Dropping the transaction rolls the mail back.
        return Err(StoreError::AlreadyNotified {
            contact: mail.contact.clone(),
            call: CallId(repeated),
        });
    }
    if let Some(update) = update {
        super::digest::write(&mut tx, &mail.contact, id, update, now).await?;
    }
    if own_plan {
        query("DELETE FROM plan_changes").execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Ids of the pending mails whose next attempt is due, oldest due first.
pub(super) async fn due_ids(pool: &SqlitePool, now: DateTime<Utc>) -> StoreResult<Vec<i64>> {
    Ok(
        query_scalar("SELECT id FROM outbox WHERE status = ? AND next_attempt <= ? ORDER BY next_attempt, id")
            .bind(OutboxStatus::Pending.as_str())
            .bind(ts(now))
            .fetch_all(pool)
            .await?,
    )
}

/// One mail, if it is still pending.
pub(super) async fn pending_mail(pool: &SqlitePool, id: i64) -> StoreResult<Option<OutboxMail>> {
    let row = query(select_mail!("WHERE id = ? AND status = ?"))
        .bind(id)
        .bind(OutboxStatus::Pending.as_str())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(mail_from_row).transpose()
}

/// Pending mails whose next attempt is due, oldest due first.
pub(super) async fn due(pool: &SqlitePool, now: DateTime<Utc>) -> StoreResult<Vec<OutboxMail>> {
    let rows = query(select_mail!(
        "WHERE status = ? AND next_attempt <= ? ORDER BY next_attempt, id"
    ))
    .bind(OutboxStatus::Pending.as_str())
    .bind(ts(now))
    .fetch_all(pool)
    .await?;
    rows.iter().map(mail_from_row).collect()
}

pub(super) async fn mark_sent(pool: &SqlitePool, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    let done = query(
        "UPDATE outbox SET status = ?, sent = ?, attempts = attempts + 1, last_error = NULL \
         WHERE id = ? AND status = ?",
    )
    .bind(OutboxStatus::Sent.as_str())
    .bind(ts(at))
    .bind(id)
    .bind(OutboxStatus::Pending.as_str())
    .execute(pool)
    .await?;
    expect_pending(done.rows_affected(), id)
}

pub(super) async fn mark_attempt_failed(
    pool: &SqlitePool,
    id: i64,
    error: &str,
    next_attempt: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let done = query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, \
         status = CASE WHEN ?2 IS NULL THEN ?4 ELSE ?5 END, \
         next_attempt = coalesce(?2, next_attempt) \
         WHERE id = ?3 AND status = ?5",
    )
    .bind(error)
    .bind(next_attempt.map(ts))
    .bind(id)
    .bind(OutboxStatus::Failed.as_str())
    .bind(OutboxStatus::Pending.as_str())
    .execute(pool)
    .await?;
    expect_pending(done.rows_affected(), id)
}

fn expect_pending(rows: u64, id: i64) -> StoreResult<()> {
    if rows == 0 {
        return Err(StoreError::NotFound(format!("pending outbox mail {id}")));
    }
    Ok(())
}

/// Newest first.
pub(super) async fn list(pool: &SqlitePool, status: Option<OutboxStatus>) -> StoreResult<Vec<OutboxMail>> {
    let rows = query(select_mail!(
        "WHERE ?1 IS NULL OR status = ?1 ORDER BY created DESC, id DESC"
    ))
    .bind(status.map(OutboxStatus::as_str))
    .fetch_all(pool)
    .await?;
    rows.iter().map(mail_from_row).collect()
}

fn parse_status(s: &str) -> StoreResult<OutboxStatus> {
    s.parse().map_err(|message| StoreError::Corrupt {
        table: "outbox",
        column: "status",
        message,
    })
}

fn mail_from_row(row: &SqliteRow) -> StoreResult<OutboxMail> {
    let calls: String = row.try_get("calls")?;
    let status: String = row.try_get("status")?;
    Ok(OutboxMail {
        id: row.try_get("id")?,
        contact: row.try_get("contact")?,
        kommune: row.try_get("kommune")?,
        subject: row.try_get("subject")?,
        message: row.try_get("message")?,
        calls: from_json("outbox", "calls", &calls)?,
        status: parse_status(&status)?,
        attempts: count("outbox", "attempts", row.try_get("attempts")?)?,
        next_attempt: row.try_get("next_attempt")?,
        last_error: row.try_get("last_error")?,
        created: row.try_get("created")?,
        sent: row.try_get("sent")?,
    })
}
