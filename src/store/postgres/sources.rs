//! Per-source state, runs and health.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool};

use super::{JsonText, begin_write, calls, count, from_json, query, query_as, query_scalar, to_json};
use crate::model::source::SourceState;
use crate::store::{
    FieldsToStore, SourceHealth, SourcePass, SourceRun, StoreResult, UpsertOutcome, fresh_health, healths_after,
    next_health, passes_by_time, runs_by_time, runs_with_seen,
};

/// The state of `source` (empty before its first pass).
pub(super) async fn state(pool: &PgPool, source: &str) -> StoreResult<SourceState> {
    let json: Option<JsonText> = query_scalar("SELECT json FROM source_state WHERE source = $1")
        .bind(source)
        .fetch_optional(pool)
        .await?;
    json.map_or_else(|| Ok(SourceState::default()), |j| from_json("source_state", "json", j))
}

/// Every stored state, by source; a state that does not load is an error naming its source.
pub(super) async fn states(pool: &PgPool) -> StoreResult<HashMap<String, SourceState>> {
    let rows: Vec<(String, JsonText)> = query_as("SELECT source, json FROM source_state")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|(source, json)| {
            let state = from_json("source_state", "json", json).map_err(|e| e.naming_source(&source))?;
            Ok((source, state))
        })
        .collect()
}

pub(super) async fn save_state(pool: &PgPool, source: &str, state: &SourceState) -> StoreResult<()> {
    query(
        "INSERT INTO source_state (source, json, updated) VALUES ($1, $2, $3) \
         ON CONFLICT (source) DO UPDATE SET json = excluded.json, updated = excluded.updated",
    )
    .bind(source)
    .bind(to_json("source_state", "json", state)?)
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

/// A source's field memo: fields as JSON by entry key.
pub(super) async fn extracted_fields(pool: &PgPool, source: &str) -> StoreResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = query_as("SELECT entry, fields FROM extracted_fields WHERE source = $1")
        .bind(source)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Stores the field memos of passes (see the SQLite store): one statement for all their
/// entries, two with a replacement.
async fn save_fields(conn: &mut PgConnection, passes: &[SourcePass]) -> StoreResult<()> {
    let memos: Vec<(&str, &FieldsToStore)> = passes
        .iter()
        .filter_map(|p| Some((p.run.source.as_str(), p.fields.as_ref()?)))
        .collect();
    let replaced: Vec<&str> = memos.iter().filter(|(_, f)| f.replace).map(|(s, _)| *s).collect();
    if !replaced.is_empty() {
        query("DELETE FROM extracted_fields WHERE source = ANY($1)")
            .bind(&replaced)
            .execute(&mut *conn)
            .await?;
    }
    let entries = memos.iter().flat_map(|(source, f)| {
        f.entries
            .iter()
            .map(move |(entry, fields)| (*source, entry.as_str(), fields.as_str()))
    });
    let (mut sources, mut keys, mut fields) = (Vec::new(), Vec::new(), Vec::new());
    for (source, key, field) in entries {
        sources.push(source);
        keys.push(key);
        fields.push(field);
    }
    if sources.is_empty() {
        return Ok(());
    }
    query(
        "INSERT INTO extracted_fields (source, entry, fields) \
         SELECT e.source, e.entry, e.fields FROM unnest($1::text[], $2::text[], $3::text[]) AS e(source, entry, fields) \
         ON CONFLICT DO NOTHING",
    )
    .bind(sources)
    .bind(keys)
    .bind(fields)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores the states of passes that changed them, in one statement.
async fn save_states(conn: &mut PgConnection, passes: &[SourcePass]) -> StoreResult<()> {
    let (mut sources, mut states) = (Vec::new(), Vec::new());
    for pass in passes {
        if let Some(state) = &pass.state {
            sources.push(pass.run.source.as_str());
            states.push(to_json("source_state", "json", state)?);
        }
    }
    if sources.is_empty() {
        return Ok(());
    }
    query(
        "INSERT INTO source_state (source, json, updated) \
         SELECT s.source, s.json::jsonb, $3 FROM unnest($1::text[], $2::text[]) AS s(source, json) \
         ON CONFLICT (source) DO UPDATE SET json = excluded.json, updated = excluded.updated",
    )
    .bind(sources)
    .bind(states)
    .bind(Utc::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// See [`crate::store::Store::record_source_passes`] and the SQLite store.
pub(super) async fn record_passes(
    pool: &PgPool,
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

pub(super) async fn record_run(pool: &PgPool, run: &SourceRun, broken_after: u32) -> StoreResult<SourceHealth> {
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

async fn insert_run(conn: &mut PgConnection, run: &SourceRun) -> StoreResult<()> {
    query(
        "INSERT INTO source_runs (source, at, items, error, requests, not_modified, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&run.source)
    .bind(run.at)
    .bind(i64::from(run.items))
    .bind(&run.error)
    .bind(i64::from(run.requests))
    .bind(i64::from(run.not_modified))
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

async fn load(conn: &mut PgConnection, source: &str) -> StoreResult<Option<SourceHealth>> {
    let row: Option<HealthRow> = query_as(select_health!(" WHERE source = $1"))
        .bind(source)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(health_from_row).transpose()
}

pub(super) async fn health(pool: &PgPool) -> StoreResult<Vec<SourceHealth>> {
    let rows: Vec<HealthRow> = query_as(select_health!(" ORDER BY source")).fetch_all(pool).await?;
    rows.into_iter().map(health_from_row).collect()
}

async fn save(conn: &mut PgConnection, h: &SourceHealth) -> StoreResult<()> {
    query(
        "INSERT INTO source_health (source, last_attempt, last_success, consecutive_failures, items_last_pass, \
         items_before, last_error, broken) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (source) DO UPDATE SET last_attempt = excluded.last_attempt, last_success = excluded.last_success, \
         consecutive_failures = excluded.consecutive_failures, items_last_pass = excluded.items_last_pass, \
         items_before = excluded.items_before, last_error = excluded.last_error, broken = excluded.broken",
    )
    .bind(&h.source)
    .bind(h.last_attempt)
    .bind(h.last_success)
    .bind(i64::from(h.consecutive_failures))
    .bind(i64::from(h.items_last_pass))
    .bind(i64::from(h.items_before))
    .bind(&h.last_error)
    .bind(h.broken)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The listings of each source's last pass (those with its latest `last_seen`) seen again
/// at `$1`; one row per listing, naming its source.
const LATEST_LINKS_SEEN: &str = "UPDATE call_links SET last_seen = $1 \
         FROM (SELECT source AS s, max(last_seen) AS m FROM call_links WHERE source = ANY($2) GROUP BY source) AS latest \
         WHERE call_links.source = latest.s AND call_links.last_seen = latest.m AND call_links.last_seen < $1 \
         RETURNING call_links.source";
/// The calls of those listings seen again too.
const LATEST_CALLS_SEEN: &str = "UPDATE calls SET last_seen = $1 WHERE last_seen < $1 \
         AND id IN (SELECT call_id FROM call_links WHERE source = ANY($2) AND last_seen = $1)";

/// See [`crate::store::Store::record_unchanged_sources`]: seven statements for any number of sources.
pub(super) async fn record_unchanged(
    pool: &PgPool,
    runs: &[SourceRun],
    broken_after: u32,
) -> StoreResult<Vec<SourceHealth>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    let mut seen: HashMap<String, u32> = HashMap::new();
    for (at, sources) in runs_by_time(runs) {
        let listed: Vec<(String,)> = query_as(LATEST_LINKS_SEEN)
            .bind(at)
            .bind(&sources)
            .fetch_all(&mut *tx)
            .await?;
        for (source,) in listed {
            *seen.entry(source).or_default() += 1;
        }
        query(LATEST_CALLS_SEEN)
            .bind(at)
            .bind(&sources)
            .execute(&mut *tx)
            .await?;
    }
    let runs = runs_with_seen(runs, &seen);
    let after = record_runs(&mut tx, &runs, broken_after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Inserts the runs (one per source) and writes each source's health after its run:
/// three statements for any number of runs.
async fn record_runs(conn: &mut PgConnection, runs: &[SourceRun], broken_after: u32) -> StoreResult<Vec<SourceHealth>> {
    let names: Vec<&str> = runs.iter().map(|r| r.source.as_str()).collect();
    let rows: Vec<HealthRow> = query_as(select_health!(" WHERE source = ANY($1)"))
        .bind(&names)
        .fetch_all(&mut *conn)
        .await?;
    let before: HashMap<String, SourceHealth> = rows
        .into_iter()
        .map(|row| health_from_row(row).map(|h| (h.source.clone(), h)))
        .collect::<StoreResult<_>>()?;
    let after = healths_after(runs, before, broken_after);
    query(
        "INSERT INTO source_runs (source, at, items, error, requests, not_modified, duration_ms) \
         SELECT r.source, r.at, r.items, r.error, r.requests, r.not_modified, r.duration_ms \
         FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], \
         $7::bigint[]) WITH ORDINALITY AS r(source, at, items, error, requests, not_modified, duration_ms, n) \
         ORDER BY r.n",
    )
    .bind(&names)
    .bind(runs.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind(runs.iter().map(|r| i64::from(r.items)).collect::<Vec<_>>())
    .bind(runs.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>())
    .bind(runs.iter().map(|r| i64::from(r.requests)).collect::<Vec<_>>())
    .bind(runs.iter().map(|r| i64::from(r.not_modified)).collect::<Vec<_>>())
    .bind(
        runs.iter()
            .map(|r| i64::try_from(r.duration_ms).unwrap_or(i64::MAX))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    query(
        "INSERT INTO source_health (source, last_attempt, last_success, consecutive_failures, items_last_pass, \
         items_before, last_error, broken) \
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[], \
         $6::bigint[], $7::text[], $8::boolean[]) \
         ON CONFLICT (source) DO UPDATE SET last_attempt = excluded.last_attempt, last_success = excluded.last_success, \
         consecutive_failures = excluded.consecutive_failures, items_last_pass = excluded.items_last_pass, \
         items_before = excluded.items_before, last_error = excluded.last_error, broken = excluded.broken",
    )
    .bind(after.iter().map(|h| h.source.as_str()).collect::<Vec<_>>())
    .bind(after.iter().map(|h| h.last_attempt).collect::<Vec<_>>())
    .bind(after.iter().map(|h| h.last_success).collect::<Vec<_>>())
    .bind(after.iter().map(|h| i64::from(h.consecutive_failures)).collect::<Vec<_>>())
    .bind(after.iter().map(|h| i64::from(h.items_last_pass)).collect::<Vec<_>>())
    .bind(after.iter().map(|h| i64::from(h.items_before)).collect::<Vec<_>>())
    .bind(after.iter().map(|h| h.last_error.as_deref()).collect::<Vec<_>>())
    .bind(after.iter().map(|h| h.broken).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(after)
}
