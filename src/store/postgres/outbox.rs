//! The outbox of rendered digests and the record of who was told about which call.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{begin_write, count, from_json, query, query_scalar, to_json};
use crate::model::CallId;
use crate::store::{DigestUpdate, NewMail, OutboxMail, OutboxStatus, StoreError, StoreResult};

macro_rules! select_mail {
    ($rest:literal) => {
        concat!(
            "SELECT id, contact, kommune, subject, message, calls, status, attempts, next_attempt, last_error, ",
            "created, sent FROM outbox ",
            $rest
        )
    };
}

/// Records calls as notified for a contact; a call recorded before is left as it was.
pub(super) const INSERT_NOTIFIED: &str = "INSERT INTO notified (contact, call_id, at, mail_id) \
     SELECT $1, c, $2, $3 FROM unnest($4::text[]) AS c ON CONFLICT DO NOTHING";

pub(super) async fn notified_calls(pool: &PgPool, contact: &str) -> StoreResult<Vec<CallId>> {
    let ids: Vec<String> = query_scalar("SELECT call_id FROM notified WHERE contact = $1 ORDER BY at, call_id")
        .bind(contact)
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().map(CallId).collect())
}

/// Queues the mail, due at once, records its calls as notified for the contact and
/// writes the digest state `update`, in one transaction; a call already queued for
/// the contact queues nothing ([`StoreError::AlreadyNotified`]).
pub(super) async fn enqueue_with(
    pool: &PgPool,
    mail: &NewMail,
    update: Option<&DigestUpdate>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let mut tx = begin_write(pool).await?;
    let id: i64 = query_scalar(
        "INSERT INTO outbox (contact, kommune, subject, message, calls, status, attempts, next_attempt, created) \
         VALUES ($1, $2, $3, $4, $5, $7, 0, $6, $6) RETURNING id",
    )
    .bind(&mail.contact)
    .bind(&mail.kommune)
    .bind(&mail.subject)
    .bind(&mail.message)
    .bind(to_json("outbox", "calls", &mail.calls)?)
    .bind(now)
    .bind(OutboxStatus::Pending.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let mut calls: Vec<&str> = mail.calls.iter().map(CallId::as_str).collect();
    calls.sort_unstable();
    calls.dedup();
    let inserted = query(INSERT_NOTIFIED)
        .bind(&mail.contact)
        .bind(now)
        .bind(id)
        .bind(&calls)
        .execute(&mut *tx)
        .await?;
    if inserted.rows_affected() != calls.len() as u64 {
        let repeated: String = query_scalar(
            "SELECT call_id FROM notified WHERE contact = $1 AND mail_id <> $2 \
             AND call_id = ANY($3) ORDER BY call_id LIMIT 1",
        )
        .bind(&mail.contact)
        .bind(id)
        .bind(&calls)
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
        // Only this transaction's mark: another writer's stays (see `DigestUpdate::own_plan`).
        if update.own_plan {
            query("DELETE FROM plan_changes WHERE txid = txid_current()")
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn due_ids(pool: &PgPool, now: DateTime<Utc>) -> StoreResult<Vec<i64>> {
    Ok(
        query_scalar("SELECT id FROM outbox WHERE status = $1 AND next_attempt <= $2 ORDER BY next_attempt, id")
            .bind(OutboxStatus::Pending.as_str())
            .bind(now)
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn pending_mail(pool: &PgPool, id: i64) -> StoreResult<Option<OutboxMail>> {
    let row = query(select_mail!("WHERE id = $1 AND status = $2"))
        .bind(id)
        .bind(OutboxStatus::Pending.as_str())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(mail_from_row).transpose()
}

pub(super) async fn due(pool: &PgPool, now: DateTime<Utc>) -> StoreResult<Vec<OutboxMail>> {
    let rows = query(select_mail!(
        "WHERE status = $1 AND next_attempt <= $2 ORDER BY next_attempt, id"
    ))
    .bind(OutboxStatus::Pending.as_str())
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter().map(mail_from_row).collect()
}

pub(super) async fn mark_sent(pool: &PgPool, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    let done = query(
        "UPDATE outbox SET status = $1, sent = $2, attempts = attempts + 1, last_error = NULL \
         WHERE id = $3 AND status = $4",
    )
    .bind(OutboxStatus::Sent.as_str())
    .bind(at)
    .bind(id)
    .bind(OutboxStatus::Pending.as_str())
    .execute(pool)
    .await?;
    expect_pending(done.rows_affected(), id)
}

pub(super) async fn mark_attempt_failed(
    pool: &PgPool,
    id: i64,
    error: &str,
    next_attempt: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let done = query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
         status = CASE WHEN $2::timestamptz IS NULL THEN $4 ELSE $5 END, \
         next_attempt = coalesce($2, next_attempt) \
         WHERE id = $3 AND status = $5",
    )
    .bind(error)
    .bind(next_attempt)
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
pub(super) async fn list(pool: &PgPool, status: Option<OutboxStatus>) -> StoreResult<Vec<OutboxMail>> {
    let rows = query(select_mail!(
        "WHERE $1::text IS NULL OR status = $1 ORDER BY created DESC, id DESC"
    ))
    .bind(status.map(OutboxStatus::as_str))
    .fetch_all(pool)
    .await?;
    rows.iter().map(mail_from_row).collect()
}

fn mail_from_row(row: &PgRow) -> StoreResult<OutboxMail> {
    let status: String = row.try_get("status")?;
    Ok(OutboxMail {
        id: row.try_get("id")?,
        contact: row.try_get("contact")?,
        kommune: row.try_get("kommune")?,
        subject: row.try_get("subject")?,
        message: row.try_get("message")?,
        calls: from_json("outbox", "calls", row.try_get("calls")?)?,
        status: status.parse().map_err(|message| StoreError::Corrupt {
            table: "outbox",
            column: "status",
            message,
        })?,
        attempts: count("outbox", "attempts", row.try_get("attempts")?)?,
        next_attempt: row.try_get("next_attempt")?,
        last_error: row.try_get("last_error")?,
        created: row.try_get("created")?,
        sent: row.try_get("sent")?,
    })
}
