//! Admin UI state: log-in sessions with an expiry, and the audit log of changes.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

use super::query;
use crate::store::{AdminSession, AuditEntry, StoreResult};

/// Stores a session under the hash of its cookie value; expired ones are dropped.
pub(super) async fn create_admin_session(
    pool: &PgPool,
    token_hash: &str,
    session: &AdminSession,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    query("DELETE FROM admin_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    query("INSERT INTO admin_sessions (token_hash, admin, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash)
        .bind(&session.admin)
        .bind(&session.csrf)
        .bind(now)
        .bind(session.expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// The session of a cookie hash, when it has not expired at `now`.
pub(super) async fn admin_session(
    pool: &PgPool,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<AdminSession>> {
    let row = query("SELECT admin, csrf, expires_at FROM admin_sessions WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        Ok(AdminSession {
            admin: r.try_get("admin")?,
            csrf: r.try_get("csrf")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

pub(super) async fn delete_admin_session(pool: &PgPool, token_hash: &str) -> StoreResult<()> {
    query("DELETE FROM admin_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn record_audit(
    pool: &PgPool,
    at: DateTime<Utc>,
    admin: &str,
    target: &str,
    old_text: &str,
    new_text: &str,
) -> StoreResult<i64> {
    let row = query(
        "INSERT INTO admin_audit (at, admin, target, old_text, new_text) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(at)
    .bind(admin)
    .bind(target)
    .bind(old_text)
    .bind(new_text)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// Newest first.
pub(super) async fn audit_log(pool: &PgPool, limit: u32) -> StoreResult<Vec<AuditEntry>> {
    let rows = query("SELECT id, at, admin, target, old_text, new_text FROM admin_audit ORDER BY id DESC LIMIT $1")
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                admin: r.try_get("admin")?,
                target: r.try_get("target")?,
                old_text: r.try_get("old_text")?,
                new_text: r.try_get("new_text")?,
            })
        })
        .collect()
}
