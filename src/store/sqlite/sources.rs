//! Per-source state, runs and health.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::calls;
use super::{
    ROWS_PER_STATEMENT, begin_write, count, from_json, multi_row_insert, query, query_as, query_built, query_scalar,
    to_json, ts,
};
use crate::model::source::SourceState;
use crate::store::{
    FieldsToStore, SourceHealth, SourcePass, SourceRun, StoreResult, UpsertOutcome, fresh_health, healths_after,
    next_health, passes_by_time, runs_by_time, runs_with_seen,
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

/// Stores the field memos of passes, each replacing its source's stored one with
/// `replace`: the entries of all sources travel as one JSON array of `[source, entry,
/// fields]`, so any number of them is one statement (two with a replacement).
async fn save_fields(conn: &mut SqliteConnection, passes: &[SourcePass]) -> StoreResult<()> {
    let memos: Vec<(&str, &FieldsToStore)> = passes
        .iter()
        .filter_map(|p| Some((p.run.source.as_str(), p.fields.as_ref()?)))
        .collect();
    let replaced: Vec<&str> = memos.iter().filter(|(_, f)| f.replace).map(|(s, _)| *s).collect();
    if !replaced.is_empty() {
        query("DELETE FROM extracted_fields WHERE source IN (SELECT value FROM json_each(?))")
            .bind(to_json("extracted_fields", "source", &replaced)?)
            .execute(&mut *conn)
            .await?;
    }
    let entries: Vec<(&str, &str, &str)> = memos
        .iter()
        .flat_map(|(source, f)| {
            f.entries
                .iter()
                .map(move |(entry, fields)| (*source, entry.as_str(), fields.as_str()))
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    query(
        "INSERT OR IGNORE INTO extracted_fields (source, entry, fields) \
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)",
    )
    .bind(to_json("extracted_fields", "fields", &entries)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores the states of passes that changed them, up to [`ROWS_PER_STATEMENT`] per statement.
async fn save_states(conn: &mut SqliteConnection, passes: &[SourcePass]) -> StoreResult<()> {
    let states: Vec<(&str, String)> = passes
        .iter()
        .filter_map(|p| Some((p.run.source.as_str(), p.state.as_ref()?)))
        .map(|(source, state)| Ok((source, to_json("source_state", "json", state)?)))
        .collect::<StoreResult<_>>()?;
    let updated = ts(Utc::now());
    for chunk in states.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = query_built(multi_row_insert(
            "INSERT INTO source_state (source, json, updated)",
            3,
            chunk.len(),
            " ON CONFLICT (source) DO UPDATE SET json = excluded.json, updated = excluded.updated",
        ));
        for (source, json) in chunk {
            upsert = upsert.bind(*source).bind(json).bind(&updated);
        }
        upsert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// See [`crate::store::Store::record_source_passes`]: one transaction; per pass only its
/// upsert's statements, the rest a few for all passes.
pub(super) async fn record_passes(
    pool: &SqlitePool,
    passes: &[SourcePass],
    broken_after: u32,
) -> StoreResult<Vec<(Vec<UpsertOutcome>, SourceHealth)>> {
    if passes.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    for (at, group) in passes_by_time(passes) {
        let listings: Vec<(&str, &str, &str)> = group
            .iter()
            .flat_map(|p| {
                p.seen
                    .iter()
                    .map(|(id, url)| (p.run.source.as_str(), id.as_str(), url.as_str()))
            })
            .collect();
        calls::seen_in(&mut tx, &listings, at).await?;
    }
    let mut outcomes = Vec::with_capacity(passes.len());
    for pass in passes {
        outcomes.push(calls::upsert_in(&mut tx, &pass.calls).await?);
    }
    save_fields(&mut tx, passes).await?;
    save_states(&mut tx, passes).await?;
    let runs: Vec<SourceRun> = passes.iter().map(|p| p.run.clone()).collect();
    let healths = record_runs(&mut tx, &runs, broken_after).await?;
    tx.commit().await?;
    Ok(outcomes.into_iter().zip(healths).collect())
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

/// See [`crate::store::Store::record_unchanged_sources`]: a fixed number of statements for any number of sources (the calls are seen again through their listings, see `call_last_seen!` in `calls.rs`).
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
    }
    let runs = runs_with_seen(runs, &seen);
    let after = record_runs(&mut tx, &runs, broken_after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Inserts the runs (one per source) and writes each source's health after its run:
/// three statements for up to [`ROWS_PER_STATEMENT`] runs.
async fn record_runs(
    conn: &mut SqliteConnection,
    runs: &[SourceRun],
    broken_after: u32,
) -> StoreResult<Vec<SourceHealth>> {
    let names: Vec<&str> = runs.iter().map(|r| r.source.as_str()).collect();
    let rows: Vec<HealthRow> = query_as(select_health!(" WHERE source IN (SELECT value FROM json_each(?1))"))
        .bind(to_json("source_health", "source", &names)?)
        .fetch_all(&mut *conn)
        .await?;
    let before: HashMap<String, SourceHealth> = rows
        .into_iter()
        .map(|row| health_from_row(row).map(|h| (h.source.clone(), h)))
        .collect::<StoreResult<_>>()?;
    let after = healths_after(runs, before, broken_after);
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
        insert.execute(&mut *conn).await?;
    }
    save(conn, &after).await?;
    Ok(after)
}
