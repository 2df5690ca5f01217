//! Per-source state, runs and health.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{
    ROWS_PER_STATEMENT, begin_write, count, from_json, multi_row_insert, query, query_as, query_built, query_scalar,
    to_json, ts,
};
use crate::model::source::SourceState;
use crate::store::{
    SourceHealth, SourceRun, StoreResult, fresh_health, healths_after, next_health, runs_by_time, runs_with_seen,
};

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

/// A source's field memo: fields as JSON by entry key.
pub(super) async fn extracted_fields(pool: &SqlitePool, source: &str) -> StoreResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = query_as("SELECT entry, fields FROM extracted_fields WHERE source = ?")
        .bind(source)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Stores a source's field memo, replacing the stored one with `replace`: the entries
/// travel as one JSON object, so any number of them is one statement. No transaction:
/// the memo is a cache, and a pass cut off between the two statements leaves at worst an
/// empty memo (one full parse next time).
pub(super) async fn save_extracted_fields(
    pool: &SqlitePool,
    source: &str,
    entries: &BTreeMap<String, String>,
    replace: bool,
) -> StoreResult<()> {
    if replace {
        query("DELETE FROM extracted_fields WHERE source = ?")
            .bind(source)
            .execute(pool)
            .await?;
    }
    query("INSERT OR IGNORE INTO extracted_fields (source, entry, fields) SELECT ?, key, value FROM json_each(?)")
        .bind(source)
        .bind(to_json("extracted_fields", "fields", entries)?)
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
    save(&mut tx, std::slice::from_ref(&after)).await?;
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

/// Upserts the health rows of `healths`, up to [`ROWS_PER_STATEMENT`] per statement.
async fn save(conn: &mut SqliteConnection, healths: &[SourceHealth]) -> StoreResult<()> {
    for chunk in healths.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO source_health (source, last_attempt, last_success, consecutive_failures, items_last_pass, \
             items_before, last_error, broken)",
            8,
            chunk.len(),
            " ON CONFLICT (source) DO UPDATE SET last_attempt = excluded.last_attempt, \
             last_success = excluded.last_success, consecutive_failures = excluded.consecutive_failures, \
             items_last_pass = excluded.items_last_pass, items_before = excluded.items_before, \
             last_error = excluded.last_error, broken = excluded.broken",
        );
        let mut upsert = query_built(sql);
        for h in chunk {
            upsert = upsert
                .bind(&h.source)
                .bind(h.last_attempt.map(ts))
                .bind(h.last_success.map(ts))
                .bind(h.consecutive_failures)
                .bind(h.items_last_pass)
                .bind(h.items_before)
                .bind(&h.last_error)
                .bind(h.broken);
        }
        upsert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The listings of each source's last pass (those with its latest `last_seen`) seen again
/// at `?1`; one row per listing, naming its source.
const LATEST_LINKS_SEEN: &str = "UPDATE call_links SET last_seen = ?1 \
         FROM (SELECT source AS s, max(last_seen) AS m FROM call_links \
               WHERE source IN (SELECT value FROM json_each(?2)) GROUP BY source) AS latest \
         WHERE call_links.source = latest.s AND call_links.last_seen = latest.m AND call_links.last_seen < ?1 \
         RETURNING call_links.source";
/// The calls of those listings seen again too.
const LATEST_CALLS_SEEN: &str = "UPDATE calls SET last_seen = ?1 WHERE last_seen < ?1 \
         AND id IN (SELECT call_id FROM call_links WHERE source IN (SELECT value FROM json_each(?2)) AND last_seen = ?1)";

/// See [`crate::store::Store::record_unchanged_sources`]: seven statements for any number of sources.
pub(super) async fn record_unchanged(
    pool: &SqlitePool,
    runs: &[SourceRun],
    broken_after: u32,
) -> StoreResult<Vec<SourceHealth>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    let mut seen: HashMap<String, u32> = HashMap::new();
    for (at, sources) in runs_by_time(runs) {
        let (at, sources) = (ts(at), to_json("source_runs", "source", &sources)?);
        let listed: Vec<(String,)> = query_as(LATEST_LINKS_SEEN)
            .bind(&at)
            .bind(&sources)
            .fetch_all(&mut *tx)
            .await?;
        for (source,) in listed {
            *seen.entry(source).or_default() += 1;
        }
        query(LATEST_CALLS_SEEN)
            .bind(&at)
            .bind(&sources)
            .execute(&mut *tx)
            .await?;
    }
    let runs = runs_with_seen(runs, &seen);
    let names: Vec<&str> = runs.iter().map(|r| r.source.as_str()).collect();
    let rows: Vec<HealthRow> = query_as(select_health!(" WHERE source IN (SELECT value FROM json_each(?1))"))
        .bind(to_json("source_health", "source", &names)?)
        .fetch_all(&mut *tx)
        .await?;
    let before: HashMap<String, SourceHealth> = rows
        .into_iter()
        .map(|row| health_from_row(row).map(|h| (h.source.clone(), h)))
        .collect::<StoreResult<_>>()?;
    let after = healths_after(&runs, before, broken_after);
    for chunk in runs.chunks(ROWS_PER_STATEMENT) {
        let mut insert = query_built(multi_row_insert(
            "INSERT INTO source_runs (source, at, items, error, requests, not_modified, duration_ms)",
            7,
            chunk.len(),
            "",
        ));
        for run in chunk {
            insert = insert
                .bind(&run.source)
                .bind(ts(run.at))
                .bind(run.items)
                .bind(&run.error)
                .bind(run.requests)
                .bind(run.not_modified)
                .bind(i64::try_from(run.duration_ms).unwrap_or(i64::MAX));
        }
        insert.execute(&mut *tx).await?;
    }
    save(&mut tx, &after).await?;
    tx.commit().await?;
    Ok(after)
}
