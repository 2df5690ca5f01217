//! Recipients' feedback: stored as entries, folded per contact when a digest is planned.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{query, query_scalar};
use crate::model::feedback::{FeedbackAction, FeedbackCount, FeedbackEntry, FeedbackSet, FeedbackTargetKind};
use crate::store::{FeedbackFilter, StoreError, StoreResult};

macro_rules! select_feedback {
    ($rest:literal) => {
        concat!(
            "SELECT id, at, actor, contact, kommune, action, target_kind, target, reason FROM feedback ",
            $rest
        )
    };
}

pub(super) async fn record(pool: &PgPool, entry: &FeedbackEntry) -> StoreResult<i64> {
    entry.validate().map_err(StoreError::Invalid)?;
    Ok(query_scalar(
        "INSERT INTO feedback (at, actor, contact, kommune, action, target_kind, target, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(entry.contact.as_deref().map(str::to_lowercase))
    .bind(&entry.kommune)
    .bind(entry.action.as_str())
    .bind(entry.target_kind.as_str())
    .bind(entry.target.trim())
    .bind(&entry.reason)
    .fetch_one(pool)
    .await?)
}

/// Oldest first.
pub(super) async fn list(pool: &PgPool, filter: &FeedbackFilter) -> StoreResult<Vec<FeedbackEntry>> {
    let rows = query(select_feedback!(
        "WHERE ($1::text IS NULL OR contact = $1) AND ($2::text IS NULL OR kommune = $2) \
         AND ($3::timestamptz IS NULL OR at >= $3) ORDER BY id"
    ))
    .bind(filter.contact.as_deref().map(str::to_lowercase))
    .bind(&filter.kommune)
    .bind(filter.since)
    .fetch_all(pool)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The contact's own entries and the Kommune-wide ones of its Kommunen, folded.
pub(super) async fn set_for(pool: &PgPool, contact: &str, kommunen: &[String]) -> StoreResult<FeedbackSet> {
    let rows = query(select_feedback!(
        "WHERE contact = $1 OR (contact IS NULL AND kommune = ANY($2)) ORDER BY id"
    ))
    .bind(contact.to_lowercase())
    .bind(kommunen)
    .fetch_all(pool)
    .await?;
    let entries = rows.iter().map(entry_from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(FeedbackSet::from_entries(&entries))
}

/// Answers on calls per Handlungsfeld and project of the calls' passed matches.
pub(super) async fn counts(pool: &PgPool, since: Option<DateTime<Utc>>) -> StoreResult<Vec<FeedbackCount>> {
    let rows = query(
        "SELECT m.handlungsfeld, m.project, f.action, COUNT(DISTINCT f.id) AS n \
         FROM feedback f JOIN matches m ON m.call_id = f.target AND m.passed \
         WHERE f.target_kind = 'call' AND ($1::timestamptz IS NULL OR f.at >= $1) \
         GROUP BY m.handlungsfeld, m.project, f.action \
         ORDER BY n DESC, m.handlungsfeld, m.project NULLS FIRST",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let action: String = row.try_get("action")?;
            let n: i64 = row.try_get("n")?;
            Ok(FeedbackCount {
                handlungsfeld: row.try_get("handlungsfeld")?,
                project: row.try_get("project")?,
                action: parse("action", &action)?,
                count: n.max(0) as u64,
            })
        })
        .collect()
}

fn parse<T: std::str::FromStr<Err = String>>(column: &'static str, s: &str) -> StoreResult<T> {
    s.parse().map_err(|message| StoreError::Corrupt {
        table: "feedback",
        column,
        message,
    })
}

fn entry_from_row(row: &PgRow) -> StoreResult<FeedbackEntry> {
    let action: String = row.try_get("action")?;
    let kind: String = row.try_get("target_kind")?;
    Ok(FeedbackEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        contact: row.try_get("contact")?,
        kommune: row.try_get("kommune")?,
        action: parse::<FeedbackAction>("action", &action)?,
        target_kind: parse::<FeedbackTargetKind>("target_kind", &kind)?,
        target: row.try_get("target")?,
        reason: row.try_get("reason")?,
    })
}
