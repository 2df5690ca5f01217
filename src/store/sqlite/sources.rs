//! Per-source state, runs and health.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{begin_write, count, from_json, query, query_as, query_scalar, to_json, ts};
use crate::model::source::SourceState;
use crate::store::{SourceHealth, SourceRun, StoreResult, fresh_health, next_health};

/// The state of `source` (empty before its first pass). A memo this version
/// cannot read, such as the string map of earlier versions, loads as empty
/// (see `model::source::memo`); damage elsewhere in the JSON is an error.
pub(super) async fn state(pool: &SqlitePool, source: &str) -> StoreResult<SourceState> {
    let json: Option<String> = query_scalar("SELECT json FROM source_state WHERE source = ?")
        .bind(source)
        .fetch_optional(pool)
        .await?;
    json.map_or_else(|| Ok(SourceState::default()), |j| from_json("source_state", "json", &j))
}

/// Every stored state, by source; a state that does not load is an error naming its source.
pub(super) async fn states(pool: &SqlitePool) -> StoreResult<HashMap<String, SourceState>> {
    let rows: Vec<(String, String)> = query_as("SELECT source, json FROM source_state")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|(source, json)| {
            let state = from_json("source_state", "json", &json).map_err(|e| e.naming_source(&source))?;
            Ok((source, state))
        })
        .collect()
}

pub(super) async fn save_state(pool: &SqlitePool, source: &str, state: &SourceState) -> StoreResult<()> {
    query(
        "INSERT INTO source_state (source, json, updated) VALUES (?, ?, ?) \
         ON CONFLICT (source) DO UPDATE SET json = excluded.json, updated = excluded.updated",
    )
    .bind(source)
    .bind(to_json("source_state", "json", state)?)
    .bind(ts(Utc::now()))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn record_run(pool: &SqlitePool, run: &SourceRun, broken_after: u32) -> StoreResult<SourceHealth> {
    let mut tx = begin_write(pool).await?;
    insert_run(&mut tx, run).await?;
    let before = load(&mut tx, &run.source)
        .await?
        .unwrap_or_else(|| fresh_health(&run.source));
    let after = next_health(before, run, broken_after);
    save(&mut tx, &after).await?;
    tx.commit().await?;
    Ok(after)
}

async fn insert_run(conn: &mut SqliteConnection, run: &SourceRun) -> StoreResult<()> {
    query(
        "INSERT INTO source_runs (source, at, items, error, requests, not_modified, duration_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&run.source)
    .bind(ts(run.at))
    .bind(run.items)
    .bind(&run.error)
    .bind(run.requests)
    .bind(run.not_modified)
    .bind(i64::try_from(run.duration_ms).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

type HealthRow = (
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    i64,
    i64,
    i64,
    Option<String>,
    bool,
);

macro_rules! select_health {
    ($rest:literal) => {
        concat!(
            "SELECT source, last_attempt, last_success, consecutive_failures, items_last_pass, items_before, ",
            "last_error, broken FROM source_health",
            $rest
        )
    };
}

fn health_from_row(row: HealthRow) -> StoreResult<SourceHealth> {
    let (source, last_attempt, last_success, failures, items, before, last_error, broken) = row;
    Ok(SourceHealth {
        source,
        last_attempt,
        last_success,
        consecutive_failures: count("source_health", "consecutive_failures", failures)?,
        items_last_pass: count("source_health", "items_last_pass", items)?,
        items_before: count("source_health", "items_before", before)?,
        last_error,
        broken,
    })
}

async fn load(conn: &mut SqliteConnection, source: &str) -> StoreResult<Option<SourceHealth>> {
    let row: Option<HealthRow> = query_as(select_health!(" WHERE source = ?"))
        .bind(source)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(health_from_row).transpose()
}

pub(super) async fn health(pool: &SqlitePool) -> StoreResult<Vec<SourceHealth>> {
    let rows: Vec<HealthRow> = query_as(select_health!(" ORDER BY source")).fetch_all(pool).await?;
    rows.into_iter().map(health_from_row).collect()
}

async fn save(conn: &mut SqliteConnection, h: &SourceHealth) -> StoreResult<()> {
    query(
        "INSERT INTO source_health (source, last_attempt, last_success, consecutive_failures, items_last_pass, \
         items_before, last_error, broken) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (source) DO UPDATE SET last_attempt = excluded.last_attempt, last_success = excluded.last_success, \
         consecutive_failures = excluded.consecutive_failures, items_last_pass = excluded.items_last_pass, \
         items_before = excluded.items_before, last_error = excluded.last_error, broken = excluded.broken",
    )
    .bind(&h.source)
    .bind(h.last_attempt.map(ts))
    .bind(h.last_success.map(ts))
    .bind(h.consecutive_failures)
    .bind(h.items_last_pass)
    .bind(h.items_before)
    .bind(&h.last_error)
    .bind(h.broken)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
