//! Match results, replaced per call by each matching pass.

use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{begin_write, from_json, query, query_as, query_built, query_scalar, to_json};
use crate::model::{CallId, Match};
use crate::store::{StoreError, StoreResult};

type MatchRow = (String, String, Option<String>, f64, f64, bool, String, String);

macro_rules! select_match {
    ($rest:literal) => {
        concat!(
            "SELECT call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons FROM matches ",
            $rest
        )
    };
}

const MARK_MATCHED: &str = "UPDATE calls SET matched_key = ?1, matched_version = json_extract(j.value, '$[1]') \
     FROM json_each(?2) AS j WHERE calls.id = json_extract(j.value, '$[0]')";
const DELETE_FOR_CALLS: &str = "DELETE FROM matches WHERE call_id IN (SELECT value FROM json_each(?1))";
const PENDING: &str = select_match!(
    "m WHERE m.passed = 1 \
     AND NOT EXISTS (SELECT 1 FROM notified n WHERE n.contact = ?1 AND n.call_id = m.call_id) \
     ORDER BY m.call_id, m.score DESC, m.id"
);
const DELETE_FOR_CALL: &str = "DELETE FROM matches WHERE call_id = ?";
const FOR_CALL: &str = select_match!("WHERE call_id = ? ORDER BY passed DESC, score DESC, id");

#[cfg(test)]
pub(super) const HOT_QUERIES: &[&str] = &[
    MARK_MATCHED,
    DELETE_FOR_CALLS,
    PENDING,
    DELETE_FOR_CALL,
    FOR_CALL,
    PASSED_HEADS,
    PASSED_OF,
];

pub(super) async fn replace(pool: &SqlitePool, call: &CallId, matches: &[Match]) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    let known: Option<i64> = query_scalar("SELECT 1 FROM calls WHERE id = ?")
        .bind(call.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("call {call}")));
    }
    insert_matches(&mut tx, call, matches).await?;
    tx.commit().await?;
    Ok(())
}

/// Stores the matches of a batch of calls in one transaction, replacing their earlier
/// ones, and records per call the matching `key` and the content `version` matched.
pub(super) async fn save_batch(pool: &SqlitePool, key: &str, results: &[(CallId, i64, Vec<Match>)]) -> StoreResult<()> {
    if results.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = results.iter().map(|(id, _, _)| id.as_str()).collect();
    let versions: Vec<(&str, i64)> = results.iter().map(|(id, v, _)| (id.as_str(), *v)).collect();
    let mut tx = begin_write(pool).await?;
    // Set-based: three statements per batch plus one per MATCH_ROWS matches.
    let marked = query(MARK_MATCHED)
        .bind(key)
        .bind(to_json("calls", "matched_version", &versions)?)
        .execute(&mut *tx)
        .await?;
    if marked.rows_affected() != results.len() as u64 {
        let missing = find_missing(&mut tx, &ids).await?;
        return Err(StoreError::NotFound(format!("call {missing}")));
    }
    query(DELETE_FOR_CALLS)
        .bind(to_json("matches", "call_id", &ids)?)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(&CallId, &Match)> = results
        .iter()
        .flat_map(|(id, _, matches)| matches.iter().map(move |m| (id, m)))
        .collect();
    for chunk in rows.chunks(MATCH_ROWS) {
        let placeholders = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut insert = query_built(format!(
            "INSERT INTO matches (call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons) \
             VALUES {placeholders}"
        ));
        for (call, m) in chunk {
            insert = bind_match(insert, call, m)?;
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Matches per INSERT: 8 parameters each, well below SQLite's parameter limit.
const MATCH_ROWS: usize = 100;

async fn find_missing(conn: &mut SqliteConnection, ids: &[&str]) -> StoreResult<String> {
    for id in ids {
        let known: Option<i64> = query_scalar("SELECT 1 FROM calls WHERE id = ?")
            .bind(*id)
            .fetch_optional(&mut *conn)
            .await?;
        if known.is_none() {
            return Ok((*id).to_string());
        }
    }
    Ok(ids.join(", "))
}

/// Passed matches of calls not yet sent (or queued) to `contact`, grouped by call.
pub(super) async fn pending(pool: &SqlitePool, contact: &str) -> StoreResult<Vec<Match>> {
    let rows: Vec<MatchRow> = query_as(PENDING).bind(contact).fetch_all(pool).await?;
    rows.into_iter().map(match_from_row).collect()
}

/// Replaces the stored matches of one call.
async fn insert_matches(conn: &mut SqliteConnection, call: &CallId, matches: &[Match]) -> StoreResult<()> {
    query(DELETE_FOR_CALL).bind(call.as_str()).execute(&mut *conn).await?;
    for m in matches {
        bind_match(query(INSERT_MATCH), call, m)?.execute(&mut *conn).await?;
    }
    Ok(())
}

const INSERT_MATCH: &str = "INSERT INTO matches (call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds one match row in the column order of [`INSERT_MATCH`].
fn bind_match<'q>(query: SqliteQuery<'q>, call: &'q CallId, m: &'q Match) -> StoreResult<SqliteQuery<'q>> {
    Ok(query
        .bind(call.as_str())
        .bind(&m.handlungsfeld)
        .bind(&m.project)
        .bind(m.score)
        .bind(m.threshold)
        .bind(m.passed)
        .bind(to_json("matches", "kommunen", &m.kommunen)?)
        .bind(to_json("matches", "reasons", &m.reasons)?))
}

/// Best first.
pub(super) async fn for_call(pool: &SqlitePool, call: &CallId) -> StoreResult<Vec<Match>> {
    let rows: Vec<MatchRow> = query_as(FOR_CALL).bind(call.as_str()).fetch_all(pool).await?;
    rows.into_iter().map(match_from_row).collect()
}

const PASSED: &str = select_match!("WHERE passed = 1 ORDER BY call_id, score DESC, id");

/// Grouped by call, best first within a call.
pub(super) async fn passed(pool: &SqlitePool) -> StoreResult<Vec<Match>> {
    fetch_rows(pool, PASSED).await
}

/// The reasons column left out: an empty list in its place.
const PASSED_HEADS: &str = "SELECT call_id, handlungsfeld, project, score, threshold, passed, kommunen, '[]' AS reasons \
     FROM matches WHERE passed = 1 ORDER BY call_id, score DESC, id";
const PASSED_OF: &str = select_match!(
    "WHERE passed = 1 AND call_id IN (SELECT value FROM json_each(?1)) \
     AND EXISTS (SELECT 1 FROM json_each(kommunen) k WHERE k.value IN (SELECT value FROM json_each(?2))) \
     ORDER BY call_id, score DESC, id"
);

/// Grouped by call, best first within a call.
pub(super) async fn passed_heads(pool: &SqlitePool) -> StoreResult<Vec<Match>> {
    fetch_rows(pool, PASSED_HEADS).await
}

/// Row by row, so that the rows and the matches are never held at once.
async fn fetch_rows(pool: &SqlitePool, sql: &'static str) -> StoreResult<Vec<Match>> {
    let mut rows = query_as::<MatchRow>(sql).fetch(pool);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(match_from_row(row)?);
    }
    Ok(out)
}

pub(super) async fn passed_of(pool: &SqlitePool, calls: &[CallId], kommunen: &[String]) -> StoreResult<Vec<Match>> {
    if calls.is_empty() || kommunen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = calls.iter().map(CallId::as_str).collect();
    let rows: Vec<MatchRow> = query_as(PASSED_OF)
        .bind(to_json("matches", "call_id", &ids)?)
        .bind(to_json("matches", "kommunen", &kommunen)?)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(match_from_row).collect()
}

fn match_from_row(row: MatchRow) -> StoreResult<Match> {
    let (call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons) = row;
    Ok(Match {
        call_id: CallId(call_id),
        handlungsfeld,
        project,
        score,
        threshold,
        passed,
        kommunen: from_json("matches", "kommunen", &kommunen)?,
        reasons: from_json("matches", "reasons", &reasons)?,
    })
}
