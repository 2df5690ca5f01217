//! Admin UI state: log-in sessions with an expiry, and the audit log of changes.

use chrono::{DateTime, Utc};
use sqlx::Row;

use sqlx::SqlitePool;

use super::{query, ts};
use crate::store::{AdminSession, AuditEntry, StoreError, StoreResult};

fn parse_at(column: &'static str, text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            table: "admin",
            column,
            message: e.to_string(),
        })
}

/// Stores a session under the hash of its cookie value; expired ones are dropped.
pub(super) async fn create_admin_session(
    pool: &SqlitePool,
    token_hash: &str,
    session: &AdminSession,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    query("DELETE FROM admin_sessions WHERE expires_at <= ?")
        .bind(ts(now))
        .execute(pool)
        .await?;
    query("INSERT INTO admin_sessions (token_hash, admin, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(token_hash)
        .bind(&session.admin)
        .bind(&session.csrf)
        .bind(ts(now))
        .bind(ts(session.expires_at))
        .execute(pool)
        .await?;
    Ok(())
}

/// The session of a cookie hash, when it has not expired at `now`.
pub(super) async fn admin_session(
    pool: &SqlitePool,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<AdminSession>> {
    let row = query("SELECT admin, csrf, expires_at FROM admin_sessions WHERE token_hash = ? AND expires_at > ?")
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        Ok(AdminSession {
            admin: r.try_get("admin")?,
            csrf: r.try_get("csrf")?,
            expires_at: parse_at("expires_at", &r.try_get::<String, _>("expires_at")?)?,
        })
    })
    .transpose()
}

pub(super) async fn delete_admin_session(pool: &SqlitePool, token_hash: &str) -> StoreResult<()> {
    query("DELETE FROM admin_sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn record_audit(
    pool: &SqlitePool,
    at: DateTime<Utc>,
    admin: &str,
    target: &str,
    old_text: &str,
    new_text: &str,
) -> StoreResult<i64> {
    let row =
        query("INSERT INTO admin_audit (at, admin, target, old_text, new_text) VALUES (?, ?, ?, ?, ?) RETURNING id")
            .bind(ts(at))
            .bind(admin)
            .bind(target)
            .bind(old_text)
            .bind(new_text)
            .fetch_one(pool)
            .await?;
    Ok(row.try_get("id")?)
}

/// Newest first.
pub(super) async fn audit_log(pool: &SqlitePool, limit: u32) -> StoreResult<Vec<AuditEntry>> {
    let rows = query("SELECT id, at, admin, target, old_text, new_text FROM admin_audit ORDER BY id DESC LIMIT ?")
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: parse_at("at", &r.try_get::<String, _>("at")?)?,
                admin: r.try_get("admin")?,
                target: r.try_get("target")?,
                old_text: r.try_get("old_text")?,
                new_text: r.try_get("new_text")?,
            })
        })
        .collect()
}

/// The file of the main database (None for an in-memory one).
pub(super) async fn database_file(pool: &SqlitePool) -> StoreResult<Option<std::path::PathBuf>> {
    let row = query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .fetch_optional(pool)
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<String, _>("file").ok())
        .filter(|f| !f.is_empty())
        .map(std::path::PathBuf::from))
}
