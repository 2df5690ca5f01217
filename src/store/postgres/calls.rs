//! Calls, their source links, versions and change events: the identity and content
//! rules of `store/sqlite/calls.rs` (read its module docs), in PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::types::Json;

use super::{JsonText, begin_write, from_json, query, query_as, query_scalar, to_json};
use crate::model::text::{fold_words, title_key};
use crate::model::{Call, CallId, CallStatus, Deadline, DeadlineKind, FieldChange, diff_calls};
use crate::store::{
    CallFilter, ChangeEvent, StoreError, StoreResult, UpsertOutcome, count_call_written, count_calls_read, richness,
    title_key_rule,
};

/// `SELECT` of a full call: its current content plus its links in recorded order.
macro_rules! select_call {
    ($rest:literal) => {
        select_call!("", $rest)
    };
    ($columns:literal, $rest:literal) => {
        concat!(
            "SELECT c.json, c.last_seen, ",
            "(SELECT coalesce(jsonb_agg(jsonb_build_object('source', l.source, 'url', l.url) ",
            "ORDER BY l.first_seen, l.id), '[]'::jsonb) FROM call_links l WHERE l.call_id = c.id) AS links",
            $columns,
            " FROM calls c ",
            $rest
        )
    };
}

/// Steps 1 and 2 of the identity: the call with the listing's id, else the call of the
/// first of its URLs (own URL, then further links, in order) already linked.
const BY_ID_OR_LINK: &str = "SELECT found FROM (\
         SELECT id AS found, 0::bigint AS rank FROM calls WHERE id = $1 \
         UNION ALL \
         SELECT (SELECT call_id FROM call_links WHERE url = u.url LIMIT 1), u.rank \
         FROM unnest($2::text[]) WITH ORDINALITY AS u(url, rank)\
         ) f WHERE found IS NOT NULL ORDER BY rank LIMIT 1";
/// Records a call's listings in one statement; a listing already recorded is seen again.
const INSERT_LINKS: &str = "INSERT INTO call_links (call_id, source, url, first_seen, last_seen) \
         SELECT $1, l.source, l.url, $2, $2 FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS l(source, url, n) \
         ORDER BY l.n \
         ON CONFLICT (source, url) DO UPDATE SET last_seen = greatest(call_links.last_seen, excluded.last_seen)";
const BY_TITLE_KEY: &str = "SELECT id, external_id FROM calls c WHERE title_key = $1 \
         AND NOT EXISTS (SELECT 1 FROM call_links l WHERE l.call_id = c.id AND l.source = $2) \
         ORDER BY first_seen, id";
const STORED_FINGERPRINT: &str = "SELECT fingerprint, content_source FROM calls WHERE id = $1";
const TOUCH: &str = "UPDATE calls SET last_seen = greatest(last_seen, $1) WHERE id = $2";
const LOAD_CURRENT: &str = "SELECT json, last_seen, version FROM calls WHERE id = $1";
const GET: &str = select_call!("WHERE c.id = $1");
const GET_MANY: &str = select_call!("WHERE c.id = ANY($1) ORDER BY c.id");
const SEEN_CALLS: &str = "UPDATE calls SET last_seen = $1 WHERE id = ANY($2) AND last_seen < $1";
const SEEN_LINKS: &str = "UPDATE call_links SET last_seen = $1 WHERE source = $2 AND url = ANY($3) AND last_seen < $1";
const SOURCE_SEEN_LINKS: &str = "UPDATE call_links SET last_seen = $1 WHERE source = $2 AND last_seen < $1 \
         AND last_seen = (SELECT max(last_seen) FROM call_links WHERE source = $2)";
const SOURCE_SEEN_CALLS: &str = "UPDATE calls SET last_seen = $1 WHERE last_seen < $1 \
         AND id IN (SELECT call_id FROM call_links WHERE source = $2 AND last_seen = $1)";
const LIST_BY_SOURCE: &str = select_call!(
    "WHERE c.id IN (SELECT l.call_id FROM call_links l WHERE l.source = $1) \
     AND ($2::timestamptz IS NULL OR c.last_seen >= $2) \
     AND ($3::date IS NULL OR (c.status <> $5 \
          AND (c.deadline_kind <> $6 OR c.deadline_annual OR c.deadline_last >= $3))) \
     ORDER BY c.first_seen DESC, c.id LIMIT $4"
);
const LIST_ALL: &str = select_call!(
    "WHERE $1::text IS NULL AND ($2::timestamptz IS NULL OR c.last_seen >= $2) \
     AND ($3::date IS NULL OR (c.status <> $5 \
          AND (c.deadline_kind <> $6 OR c.deadline_annual OR c.deadline_last >= $3))) \
     ORDER BY c.first_seen DESC, c.id LIMIT $4"
);

pub(super) async fn upsert(pool: &PgPool, call: &Call) -> StoreResult<UpsertOutcome> {
    let mut outcomes = upsert_many(pool, std::slice::from_ref(call)).await?;
    Ok(outcomes.remove(0))
}

/// Upserts a batch (one source's pass) in one transaction, in order.
pub(super) async fn upsert_many(pool: &PgPool, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    let mut outcomes = Vec::with_capacity(calls.len());
    for call in calls {
        outcomes.push(match find_existing(&mut tx, call).await? {
            None => insert_new(&mut tx, call).await?,
            Some(id) => merge(&mut tx, id, call).await?,
        });
    }
    tx.commit().await?;
    Ok(outcomes)
}

pub(super) async fn mark_seen(
    pool: &PgPool,
    source: &str,
    seen: &[(CallId, String)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if seen.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    let urls: Vec<&str> = seen.iter().map(|(_, url)| url.as_str()).collect();
    let mut tx = begin_write(pool).await?;
    query(SEEN_CALLS).bind(at).bind(&ids).execute(&mut *tx).await?;
    query(SEEN_LINKS)
        .bind(at)
        .bind(source)
        .bind(&urls)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn mark_source_seen(pool: &PgPool, source: &str, at: DateTime<Utc>) -> StoreResult<u32> {
    let mut tx = begin_write(pool).await?;
    let links = query(SOURCE_SEEN_LINKS).bind(at).bind(source).execute(&mut *tx).await?;
    query(SOURCE_SEEN_CALLS).bind(at).bind(source).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(u32::try_from(links.rows_affected()).unwrap_or(u32::MAX))
}

pub(super) async fn per_source(pool: &PgPool) -> StoreResult<std::collections::HashMap<String, usize>> {
    let rows: Vec<(String, i64)> = query_as("SELECT source, count(DISTINCT call_id) FROM call_links GROUP BY source")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(source, n)| (source, usize::try_from(n).unwrap_or(0)))
        .collect())
}

pub(super) async fn to_match(
    pool: &PgPool,
    key: &str,
    after: Option<&CallId>,
    limit: u32,
) -> StoreResult<Vec<(Call, i64)>> {
    let rows = query(select_call!(
        ", c.version AS version",
        "WHERE (c.matched_key IS DISTINCT FROM $1 OR c.matched_version IS DISTINCT FROM c.version) \
         AND c.id > $2 ORDER BY c.id LIMIT $3"
    ))
    .bind(key)
    .bind(after.map_or("", CallId::as_str))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((call_from_row(row)?, row.try_get("version")?)))
        .collect()
}

pub(super) async fn forget_match_keys(pool: &PgPool) -> StoreResult<()> {
    query("UPDATE calls SET matched_key = NULL WHERE matched_key IS NOT NULL")
        .execute(pool)
        .await?;
    Ok(())
}

/// Recomputes `title_key` of the stored calls after a change of the folding rule.
pub(super) async fn refresh_title_keys(pool: &PgPool) -> StoreResult<()> {
    let rule = title_key_rule();
    let stored: Option<String> = query_scalar("SELECT value FROM meta WHERE key = 'title_key_rule'")
        .fetch_optional(pool)
        .await?;
    if stored.as_deref() == Some(rule.as_str()) {
        return Ok(());
    }
    let rows: Vec<(String, String, Option<String>, String)> =
        query_as("SELECT id, title, funder, title_key FROM calls")
            .fetch_all(pool)
            .await?;
    let (ids, keys): (Vec<String>, Vec<String>) = rows
        .into_iter()
        .filter_map(|(id, title, funder, stored)| {
            let key = title_key(&title, funder.as_deref());
            (key != stored).then_some((id, key))
        })
        .unzip();
    let mut tx = begin_write(pool).await?;
    if !ids.is_empty() {
        query(
            "UPDATE calls SET title_key = k.key FROM unnest($1::text[], $2::text[]) AS k(id, key) \
             WHERE calls.id = k.id",
        )
        .bind(&ids)
        .bind(&keys)
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            calls = ids.len(),
            "title keys recomputed after a change of the folding rules"
        );
    }
    query("INSERT INTO meta (key, value) VALUES ('title_key_rule', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(rule)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn find_existing(conn: &mut PgConnection, call: &Call) -> StoreResult<Option<CallId>> {
    let urls: Vec<&str> = std::iter::once(&call.url)
        .chain(call.links.iter().map(|l| &l.url))
        .map(String::as_str)
        .collect();
    let known: Option<String> = query_scalar(BY_ID_OR_LINK)
        .bind(call.id.as_str())
        .bind(&urls)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = known {
        return Ok(Some(CallId(id)));
    }
    by_title_key(conn, call).await
}

/// Step 3 of the identity, only when the funder is known on both sides.
async fn by_title_key(conn: &mut PgConnection, call: &Call) -> StoreResult<Option<CallId>> {
    let funder_known = call.funder.as_deref().is_some_and(|f| !fold_words(f).is_empty());
    if call.title.trim().is_empty() || !funder_known {
        return Ok(None);
    }
    let candidates: Vec<(String, Option<String>)> = query_as(BY_TITLE_KEY)
        .bind(title_key(&call.title, call.funder.as_deref()))
        .bind(&call.source)
        .fetch_all(&mut *conn)
        .await?;
    let same_programme = |ext: &Option<String>| match (ext, &call.external_id) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    Ok(candidates
        .into_iter()
        .find(|(_, ext)| same_programme(ext))
        .map(|(id, _)| CallId(id)))
}

async fn insert_new(conn: &mut PgConnection, call: &Call) -> StoreResult<UpsertOutcome> {
    count_call_written();
    let mut stored = call.clone();
    stored.fingerprint = call.compute_fingerprint();
    stored.links.clear();
    let cols = Columns::of(&stored);
    let json = to_json("calls", "json", &stored)?;
    let query = query(
        "INSERT INTO calls (id, source, url, title_key, content_source, title, funder, external_id, status, \
         deadline_kind, deadline_first, deadline_last, deadline_annual, fingerprint, version, first_seen, last_seen, json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16, $17)",
    )
    .bind(stored.id.as_str())
    .bind(&stored.source)
    .bind(&stored.url);
    bind_content(query, &stored, &cols, &stored.source)
        .bind(stored.first_seen)
        .bind(stored.last_seen)
        .bind(&json)
        .execute(&mut *conn)
        .await?;
    insert_version(conn, &stored, 1, &json, &stored.source).await?;
    insert_links(conn, &stored.id, call).await?;
    Ok(UpsertOutcome::New(stored.id))
}

struct Current {
    call: Call,
    version: i64,
}

async fn merge(conn: &mut PgConnection, id: CallId, incoming: &Call) -> StoreResult<UpsertOutcome> {
    let (stored_fingerprint, content_source): (String, String) = query_as(STORED_FINGERPRINT)
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    insert_links(conn, &id, incoming).await?;
    let fingerprint = incoming.compute_fingerprint();
    let current = if fingerprint == stored_fingerprint {
        None
    } else {
        let current = load_current(conn, &id).await?;
        let may_update = content_source == incoming.source || richness(incoming) > richness(&current.call);
        may_update.then_some(current)
    };
    let Some(current) = current else {
        count_call_written();
        query(TOUCH)
            .bind(incoming.last_seen)
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
        return Ok(UpsertOutcome::Unchanged(id));
    };
    let new = Call {
        id: id.clone(),
        source: current.call.source.clone(),
        url: current.call.url.clone(),
        links: Vec::new(),
        first_seen: current.call.first_seen,
        last_seen: current.call.last_seen.max(incoming.last_seen),
        fingerprint,
        ..incoming.clone()
    };
    let changes = diff_calls(&current.call, &new);
    let version = current.version + 1;
    update_content(conn, &new, &incoming.source, version).await?;
    insert_changes(conn, &id, version, new.last_seen, &changes).await?;
    Ok(UpsertOutcome::Changed(id, changes))
}

async fn load_current(conn: &mut PgConnection, id: &CallId) -> StoreResult<Current> {
    let (json, last_seen, version): (JsonText, DateTime<Utc>, i64) =
        query_as(LOAD_CURRENT).bind(id.as_str()).fetch_one(&mut *conn).await?;
    let mut call: Call = from_json("calls", "json", json)?;
    count_calls_read(1);
    call.last_seen = last_seen;
    Ok(Current { call, version })
}

async fn update_content(conn: &mut PgConnection, call: &Call, content_source: &str, version: i64) -> StoreResult<()> {
    count_call_written();
    let cols = Columns::of(call);
    let json = to_json("calls", "json", call)?;
    let query = query(
        "UPDATE calls SET title_key = $1, content_source = $2, title = $3, funder = $4, external_id = $5, status = $6, \
         deadline_kind = $7, deadline_first = $8, deadline_last = $9, deadline_annual = $10, fingerprint = $11, \
         version = $12, last_seen = $13, json = $14 WHERE id = $15",
    );
    bind_content(query, call, &cols, content_source)
        .bind(version)
        .bind(call.last_seen)
        .bind(&json)
        .bind(call.id.as_str())
        .execute(&mut *conn)
        .await?;
    insert_version(conn, call, version, &json, content_source).await
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the content columns shared by INSERT and UPDATE, in their order: title_key,
/// content_source, title, funder, external_id, status, deadline_kind, deadline_first,
/// deadline_last, deadline_annual, fingerprint.
fn bind_content<'q>(query: PgQuery<'q>, call: &'q Call, cols: &'q Columns, content_source: &'q str) -> PgQuery<'q> {
    query
        .bind(&cols.title_key)
        .bind(content_source)
        .bind(&call.title)
        .bind(&call.funder)
        .bind(&call.external_id)
        .bind(call.status.as_str())
        .bind(cols.deadline_kind)
        .bind(cols.deadline_first)
        .bind(cols.deadline_last)
        .bind(cols.deadline_annual)
        .bind(&call.fingerprint)
}

async fn insert_version(
    conn: &mut PgConnection,
    call: &Call,
    version: i64,
    json: &Json<serde_json::Value>,
    source: &str,
) -> StoreResult<()> {
    query(
        "INSERT INTO call_versions (call_id, version, recorded_at, source, fingerprint, json) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(call.id.as_str())
    .bind(version)
    .bind(call.last_seen)
    .bind(source)
    .bind(&call.fingerprint)
    .bind(json)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_changes(
    conn: &mut PgConnection,
    id: &CallId,
    version: i64,
    at: DateTime<Utc>,
    changes: &[FieldChange],
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    let old: Vec<&str> = changes.iter().map(|c| c.old.as_str()).collect();
    let new: Vec<&str> = changes.iter().map(|c| c.new.as_str()).collect();
    query(
        "INSERT INTO call_changes (call_id, version, at, field, old, new) \
         SELECT $1, $2, $3, c.field, c.old, c.new FROM unnest($4::text[], $5::text[], $6::text[]) \
         WITH ORDINALITY AS c(field, old, new, n) ORDER BY c.n",
    )
    .bind(id.as_str())
    .bind(version)
    .bind(at)
    .bind(&fields)
    .bind(&old)
    .bind(&new)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records every listing of the incoming call (its own URL and its links). A listing
/// named twice is recorded once: PostgreSQL refuses to update one row twice in a statement.
async fn insert_links(conn: &mut PgConnection, id: &CallId, call: &Call) -> StoreResult<()> {
    let mut links: Vec<(&str, &str)> = Vec::with_capacity(call.links.len() + 1);
    let all = std::iter::once((call.source.as_str(), call.url.as_str()))
        .chain(call.links.iter().map(|l| (l.source.as_str(), l.url.as_str())));
    for link in all {
        if !links.contains(&link) {
            links.push(link);
        }
    }
    let (sources, urls): (Vec<&str>, Vec<&str>) = links.into_iter().unzip();
    query(INSERT_LINKS)
        .bind(id.as_str())
        .bind(call.last_seen)
        .bind(&sources)
        .bind(&urls)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The filter and sort columns derived from a call's content.
struct Columns {
    title_key: String,
    deadline_kind: &'static str,
    deadline_first: Option<NaiveDate>,
    deadline_last: Option<NaiveDate>,
    deadline_annual: bool,
}

impl Columns {
    fn of(call: &Call) -> Columns {
        let dates = match &call.deadline {
            Deadline::Dates(dates) => dates.as_slice(),
            _ => &[],
        };
        Columns {
            title_key: title_key(&call.title, call.funder.as_deref()),
            deadline_kind: call.deadline.kind().as_str(),
            deadline_first: dates.iter().map(|d| d.date).min(),
            deadline_last: dates.iter().map(|d| d.date).max(),
            deadline_annual: dates.iter().any(|d| d.annual),
        }
    }
}

fn call_from_row(row: &PgRow) -> StoreResult<Call> {
    let mut call: Call = from_json("calls", "json", row.try_get("json")?)?;
    count_calls_read(1);
    call.last_seen = row.try_get("last_seen")?;
    call.links = from_json("call_links", "url", row.try_get("links")?)?;
    Ok(call)
}

pub(super) async fn get(pool: &PgPool, id: &CallId) -> StoreResult<Option<Call>> {
    let row = query(GET).bind(id.as_str()).fetch_optional(pool).await?;
    row.as_ref().map(call_from_row).transpose()
}

/// The stored calls among `ids`, in id order; one statement for the whole set.
pub(super) async fn get_many(pool: &PgPool, ids: &[CallId]) -> StoreResult<Vec<Call>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ids.iter().map(CallId::as_str).collect();
    let rows = query(GET_MANY).bind(&ids).fetch_all(pool).await?;
    rows.iter().map(call_from_row).collect()
}

/// Exact id, else a unique prefix; the `c-` of ids may be left out.
pub(super) async fn find(pool: &PgPool, id_or_prefix: &str) -> StoreResult<Option<Call>> {
    let wanted = id_or_prefix.trim();
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut prefixes = vec![wanted.to_string()];
    if !wanted.starts_with("c-") {
        prefixes.push(format!("c-{wanted}"));
    }
    for prefix in prefixes {
        if let Some(call) = get(pool, &CallId(prefix.clone())).await? {
            return Ok(Some(call));
        }
        let ids: Vec<String> = query_scalar("SELECT id FROM calls WHERE starts_with(id, $1) ORDER BY id LIMIT 5")
            .bind(&prefix)
            .fetch_all(pool)
            .await?;
        match ids.as_slice() {
            [] => continue,
            [one] => return get(pool, &CallId(one.clone())).await,
            _ => {
                return Err(StoreError::Ambiguous {
                    prefix,
                    candidates: ids,
                });
            }
        }
    }
    Ok(None)
}

/// Newest first; "open on" as in the SQLite store.
pub(super) async fn list(pool: &PgPool, filter: &CallFilter) -> StoreResult<Vec<Call>> {
    let sql = match filter.source {
        Some(_) => LIST_BY_SOURCE,
        None => LIST_ALL,
    };
    let mut rows = query(sql)
        .bind(&filter.source)
        .bind(filter.seen_since)
        .bind(filter.open_on)
        .bind(filter.limit.map(i64::from))
        .bind(CallStatus::Closed.as_str())
        .bind(DeadlineKind::Date.as_str())
        .fetch(pool);
    // Row by row, as in the SQLite store: each row's JSON is dropped once its call is built.
    let mut calls = Vec::new();
    while let Some(row) = rows.try_next().await? {
        calls.push(call_from_row(&row)?);
    }
    Ok(calls)
}

pub(super) async fn versions(pool: &PgPool, id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>> {
    let rows: Vec<(DateTime<Utc>, JsonText)> =
        query_as("SELECT recorded_at, json FROM call_versions WHERE call_id = $1 ORDER BY version")
            .bind(id.as_str())
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|(at, json)| Ok((at, from_json("call_versions", "json", json)?)))
        .collect()
}

pub(super) async fn changes_since(pool: &PgPool, since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>> {
    let rows: Vec<crate::store::content::ChangeRow> =
        query_as("SELECT id, call_id, at, field, old, new FROM call_changes WHERE at >= $1 ORDER BY id")
            .bind(since)
            .fetch_all(pool)
            .await?;
    crate::store::content::change_events(rows)
}

pub(super) async fn changes_of(pool: &PgPool, id: &CallId) -> StoreResult<Vec<ChangeEvent>> {
    let rows: Vec<crate::store::content::ChangeRow> =
        query_as("SELECT id, call_id, at, field, old, new FROM call_changes WHERE call_id = $1 ORDER BY id")
            .bind(id.as_str())
            .fetch_all(pool)
            .await?;
    crate::store::content::change_events(rows)
}

/// How many calls are stored and the latest `last_seen`, as text (see the trait).
pub(super) async fn fingerprint(pool: &PgPool) -> StoreResult<(i64, Option<String>)> {
    Ok(query_as("SELECT count(*), max(last_seen)::text FROM calls")
        .fetch_one(pool)
        .await?)
}
