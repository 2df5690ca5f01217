//! Match results, replaced per call by each matching pass.

use sqlx::sqlite::SqlitePool;

use super::{begin_write, from_json, query, query_as, query_scalar, to_json};
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

pub(super) async fn replace(pool: &SqlitePool, call: &CallId, matches: &[Match]) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    let known: Option<i64> = query_scalar("SELECT 1 FROM calls WHERE id = ?")
        .bind(call.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("call {call}")));
    }
    query("DELETE FROM matches WHERE call_id = ?")
        .bind(call.as_str())
        .execute(&mut *tx)
        .await?;
    for m in matches {
        query(
            "INSERT INTO matches (call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(call.as_str())
        .bind(&m.handlungsfeld)
        .bind(&m.project)
        .bind(m.score)
        .bind(m.threshold)
        .bind(m.passed)
        .bind(to_json("matches", "kommunen", &m.kommunen)?)
        .bind(to_json("matches", "reasons", &m.reasons)?)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Best first.
pub(super) async fn for_call(pool: &SqlitePool, call: &CallId) -> StoreResult<Vec<Match>> {
    let rows: Vec<MatchRow> = query_as(select_match!("WHERE call_id = ? ORDER BY passed DESC, score DESC, id"))
        .bind(call.as_str())
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(match_from_row).collect()
}

/// Grouped by call, best first within a call.
pub(super) async fn passed(pool: &SqlitePool) -> StoreResult<Vec<Match>> {
    let rows: Vec<MatchRow> = query_as(select_match!("WHERE passed = 1 ORDER BY call_id, score DESC, id"))
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
