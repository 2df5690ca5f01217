//! Admin UI state: log-in sessions with an expiry, and the audit log of changes.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, query, ts};
use crate::store::{StoreError, StoreResult};

/// A live session: who is logged in and the CSRF token of their forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub admin: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// One change an admin made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub admin: String,
    pub target: String,
    pub old_text: String,
    pub new_text: String,
}

fn parse_at(column: &'static str, text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            table: "admin",
            column,
            message: e.to_string(),
        })
}

impl SqliteStore {
    /// Stores a session under the hash of its cookie value; expired ones are dropped.
    pub async fn create_admin_session(
        &self,
        token_hash: &str,
        session: &AdminSession,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("DELETE FROM admin_sessions WHERE expires_at <= ?")
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        query("INSERT INTO admin_sessions (token_hash, admin, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash)
            .bind(&session.admin)
            .bind(&session.csrf)
            .bind(ts(now))
            .bind(ts(session.expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session of a cookie hash, when it has not expired at `now`.
    pub async fn admin_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<AdminSession>> {
        let row = query("SELECT admin, csrf, expires_at FROM admin_sessions WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash)
            .bind(ts(now))
            .fetch_optional(&self.pool)
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

    pub async fn delete_admin_session(&self, token_hash: &str) -> StoreResult<()> {
        query("DELETE FROM admin_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn record_audit(
        &self,
        at: DateTime<Utc>,
        admin: &str,
        target: &str,
        old_text: &str,
        new_text: &str,
    ) -> StoreResult<i64> {
        let row = query(
            "INSERT INTO admin_audit (at, admin, target, old_text, new_text) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(ts(at))
        .bind(admin)
        .bind(target)
        .bind(old_text)
        .bind(new_text)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Newest first.
    pub async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = query("SELECT id, at, admin, target, old_text, new_text FROM admin_audit ORDER BY id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
}

impl SqliteStore {
    /// The file of the main database (None for an in-memory one).
    pub async fn database_file(&self) -> StoreResult<Option<std::path::PathBuf>> {
        let row = query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<String, _>("file").ok())
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from))
    }
}
