//! Match results, replaced per call by each matching pass.

use futures::TryStreamExt;
use sqlx::postgres::{PgConnection, PgPool};

use super::{JsonText, begin_write, from_json, query, query_as, query_scalar};
use crate::model::{CallId, Match};
use crate::store::{StoreError, StoreResult};

type MatchRow = (String, String, Option<String>, f64, f64, bool, JsonText, JsonText);

macro_rules! select_match {
    ($rest:literal) => {
        concat!(
            "SELECT call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons FROM matches ",
            $rest
        )
    };
}

const MARK_MATCHED: &str = "UPDATE calls SET matched_key = $1, matched_version = v.version \
     FROM unnest($2::text[], $3::bigint[]) AS v(id, version) WHERE calls.id = v.id";
/// Inserts the matches given as parallel arrays, in their order (their ids keep it).
const INSERT_MATCHES: &str = "INSERT INTO matches (call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons) \
     SELECT m.call_id, m.handlungsfeld, m.project, m.score, m.threshold, m.passed, m.kommunen::jsonb, m.reasons::jsonb \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::bool[], $7::text[], $8::text[]) \
     WITH ORDINALITY AS m(call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons, n) ORDER BY m.n";
const PENDING: &str = select_match!(
    "m WHERE m.passed \
     AND NOT EXISTS (SELECT 1 FROM notified n WHERE n.contact = $1 AND n.call_id = m.call_id) \
     ORDER BY m.call_id, m.score DESC, m.id"
);

pub(super) async fn replace(pool: &PgPool, call: &CallId, matches: &[Match]) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    let known: Option<i32> = query_scalar("SELECT 1 FROM calls WHERE id = $1")
        .bind(call.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("call {call}")));
    }
    query("DELETE FROM matches WHERE call_id = $1")
        .bind(call.as_str())
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(&CallId, &Match)> = matches.iter().map(|m| (call, m)).collect();
    insert(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn save_batch(pool: &PgPool, key: &str, results: &[(CallId, i64, Vec<Match>)]) -> StoreResult<()> {
    if results.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = results.iter().map(|(id, _, _)| id.as_str()).collect();
    let versions: Vec<i64> = results.iter().map(|(_, v, _)| *v).collect();
    let mut tx = begin_write(pool).await?;
    // Set-based: three statements per batch, whatever its size.
    let marked = query(MARK_MATCHED)
        .bind(key)
        .bind(&ids)
        .bind(&versions)
        .execute(&mut *tx)
        .await?;
    if marked.rows_affected() != results.len() as u64 {
        let missing = find_missing(&mut tx, &ids).await?;
        return Err(StoreError::NotFound(format!("call {missing}")));
    }
    query("DELETE FROM matches WHERE call_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(&CallId, &Match)> = results
        .iter()
        .flat_map(|(id, _, matches)| matches.iter().map(move |m| (id, m)))
        .collect();
    insert(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(())
}

/// One INSERT for all rows, whatever their number (PostgreSQL arrays have no
/// parameter limit to chunk for).
async fn insert(conn: &mut PgConnection, rows: &[(&CallId, &Match)]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut columns = MatchColumns::default();
    for (call, m) in rows {
        columns.push(call, m)?;
    }
    query(INSERT_MATCHES)
        .bind(&columns.call_id)
        .bind(&columns.handlungsfeld)
        .bind(&columns.project)
        .bind(&columns.score)
        .bind(&columns.threshold)
        .bind(&columns.passed)
        .bind(&columns.kommunen)
        .bind(&columns.reasons)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Matches as parallel arrays, one per column of [`INSERT_MATCHES`].
#[derive(Default)]
struct MatchColumns<'a> {
    call_id: Vec<&'a str>,
    handlungsfeld: Vec<&'a str>,
    project: Vec<Option<&'a str>>,
    score: Vec<f64>,
    threshold: Vec<f64>,
    passed: Vec<bool>,
    kommunen: Vec<String>,
    reasons: Vec<String>,
}

impl<'a> MatchColumns<'a> {
    fn push(&mut self, call: &'a CallId, m: &'a Match) -> StoreResult<()> {
        let json = |column: &'static str, v: serde_json::Result<String>| {
            v.map_err(|e| StoreError::Corrupt {
                table: "matches",
                column,
                message: e.to_string(),
            })
        };
        self.kommunen
            .push(json("kommunen", serde_json::to_string(&m.kommunen))?);
        self.reasons.push(json("reasons", serde_json::to_string(&m.reasons))?);
        self.call_id.push(call.as_str());
        self.handlungsfeld.push(&m.handlungsfeld);
        self.project.push(m.project.as_deref());
        self.score.push(m.score);
        self.threshold.push(m.threshold);
        self.passed.push(m.passed);
        Ok(())
    }
}

async fn find_missing(conn: &mut PgConnection, ids: &[&str]) -> StoreResult<String> {
    let missing: Option<String> = query_scalar(
        "SELECT i.id FROM unnest($1::text[]) WITH ORDINALITY AS i(id, n) \
         WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = i.id) ORDER BY i.n LIMIT 1",
    )
    .bind(ids)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(missing.unwrap_or_else(|| ids.join(", ")))
}

pub(super) async fn pending(pool: &PgPool, contact: &str) -> StoreResult<Vec<Match>> {
    let rows: Vec<MatchRow> = query_as(PENDING).bind(contact).fetch_all(pool).await?;
    rows.into_iter().map(match_from_row).collect()
}

/// Best first.
pub(super) async fn for_call(pool: &PgPool, call: &CallId) -> StoreResult<Vec<Match>> {
    let rows: Vec<MatchRow> = query_as(select_match!("WHERE call_id = $1 ORDER BY passed DESC, score DESC, id"))
        .bind(call.as_str())
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(match_from_row).collect()
}

const PASSED: &str = select_match!("WHERE passed ORDER BY call_id, score DESC, id");

/// Grouped by call, best first within a call.
pub(super) async fn passed(pool: &PgPool) -> StoreResult<Vec<Match>> {
    fetch_rows(pool, PASSED).await
}

/// The reasons column left out: an empty list in its place.
const PASSED_HEADS: &str = "SELECT call_id, handlungsfeld, project, score, threshold, passed, kommunen, '[]'::jsonb AS reasons \
     FROM matches WHERE passed ORDER BY call_id, score DESC, id";
const PASSED_OF: &str =
    select_match!("WHERE passed AND call_id = ANY($1) AND kommunen ?| $2::text[] ORDER BY call_id, score DESC, id");

/// Grouped by call, best first within a call.
pub(super) async fn passed_heads(pool: &PgPool) -> StoreResult<Vec<Match>> {
    fetch_rows(pool, PASSED_HEADS).await
}

/// Row by row, so that the rows and the matches are never held at once.
async fn fetch_rows(pool: &PgPool, sql: &'static str) -> StoreResult<Vec<Match>> {
    let mut rows = query_as::<MatchRow>(sql).fetch(pool);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(match_from_row(row)?);
    }
    Ok(out)
}

pub(super) async fn passed_of(pool: &PgPool, calls: &[CallId], kommunen: &[String]) -> StoreResult<Vec<Match>> {
    if calls.is_empty() || kommunen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = calls.iter().map(CallId::as_str).collect();
    let rows: Vec<MatchRow> = query_as(PASSED_OF).bind(&ids).bind(kommunen).fetch_all(pool).await?;
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
        kommunen: from_json("matches", "kommunen", kommunen)?,
        reasons: from_json("matches", "reasons", reasons)?,
    })
}
