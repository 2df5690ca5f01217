//! Calls, their source links, versions and change events: the identity and content
//! rules of `store/sqlite/calls.rs` (read its module docs), in PostgreSQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};

use super::{JsonText, begin_write, from_json, query, query_as, query_scalar};
use crate::model::text::title_key;
use crate::model::{Call, CallId, CallStatus, DeadlineKind};
use crate::store::{
    CallFilter, ChangeEvent, ListedCall, StoreError, StoreResult, UpsertOutcome, batch, count_calls_read,
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

/// Steps 1 and 2 of the identity for a whole run: which of its ids are stored, and the
/// call of every link of its URLs (with its id: the oldest link of a URL wins).
const LOOKUP: &str = "SELECT false AS link, id AS key, id AS call_id, 0::bigint AS position FROM calls \
         WHERE id = ANY($1) \
         UNION ALL \
         SELECT true, url, call_id, id FROM call_links WHERE url = ANY($2)";
/// Step 3: stored calls with one of the title keys, oldest first, each with whether the
/// run's source lists it already.
const BY_TITLE_KEYS: &str = "SELECT c.title_key, c.id, c.external_id, \
         EXISTS (SELECT 1 FROM call_links l WHERE l.call_id = c.id AND l.source = $2) \
         FROM calls c WHERE c.title_key = ANY($1) ORDER BY c.first_seen, c.id";
const HEADS: &str = "SELECT id, fingerprint, content_source, version, last_seen FROM calls WHERE id = ANY($1)";
const CONTENTS: &str = "SELECT id, json FROM calls WHERE id = ANY($1)";
/// What a source listed before, without the calls' content ([`listings`]).
const LISTINGS: &str = "SELECT s.lister, c.id, c.url, c.fingerprint, \
         (SELECT coalesce(jsonb_agg(jsonb_build_object('source', l.source, 'url', l.url) \
         ORDER BY l.first_seen, l.id), '[]'::jsonb) FROM call_links l WHERE l.call_id = c.id) AS links \
         FROM (SELECT DISTINCT source AS lister, call_id FROM call_links WHERE source = ANY($1)) s \
         JOIN calls c ON c.id = s.call_id";
const TOUCH: &str = "UPDATE calls SET last_seen = greatest(last_seen, $1) WHERE id = ANY($2)";
const INSERT_CALLS: &str = "INSERT INTO calls (id, source, url, title_key, content_source, title, funder, external_id, \
         status, deadline_kind, deadline_first, deadline_last, deadline_annual, fingerprint, version, first_seen, \
         last_seen, json) \
         SELECT r.id, r.source, r.url, r.title_key, r.content_source, r.title, r.funder, r.external_id, r.status, \
         r.deadline_kind, r.deadline_first, r.deadline_last, r.deadline_annual, r.fingerprint, r.version, \
         r.first_seen, r.last_seen, r.json::jsonb \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
         $9::text[], $10::text[], $11::date[], $12::date[], $13::boolean[], $14::text[], $15::bigint[], \
         $16::timestamptz[], $17::timestamptz[], $18::text[]) \
         AS r(id, source, url, title_key, content_source, title, funder, external_id, status, deadline_kind, \
         deadline_first, deadline_last, deadline_annual, fingerprint, version, first_seen, last_seen, json)";
const INSERT_VERSIONS: &str = "INSERT INTO call_versions (call_id, version, recorded_at, source, fingerprint, json) \
         SELECT v.call_id, v.version, v.recorded_at, v.source, v.fingerprint, v.json::jsonb \
         FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) \
         AS v(call_id, version, recorded_at, source, fingerprint, json)";
const INSERT_CHANGES: &str = "INSERT INTO call_changes (call_id, version, at, field, old, new) \
         SELECT c.call_id, c.version, c.at, c.field, c.old, c.new \
         FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) \
         WITH ORDINALITY AS c(call_id, version, at, field, old, new, n) ORDER BY c.n";
/// A run's listings in one statement (each named once: PostgreSQL refuses to update one
/// row twice in a statement); a listing already recorded is seen again.
const INSERT_LINKS: &str = "INSERT INTO call_links (call_id, source, url, first_seen, last_seen) \
         SELECT l.call_id, l.source, l.url, l.first_seen, l.last_seen \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) \
         WITH ORDINALITY AS l(call_id, source, url, first_seen, last_seen, n) ORDER BY l.n \
         ON CONFLICT (source, url) DO UPDATE SET last_seen = greatest(call_links.last_seen, excluded.last_seen)";
const GET: &str = select_call!("WHERE c.id = $1");
const GET_MANY: &str = select_call!("WHERE c.id = ANY($1) ORDER BY c.id");
const SEEN_CALLS: &str = "UPDATE calls SET last_seen = $1 WHERE id = ANY($2) AND last_seen < $1";
/// Listings of any sources seen again: `$2` and `$3` are their sources and URLs, pairwise.
const SEEN_LINKS: &str = "UPDATE call_links l SET last_seen = $1 FROM unnest($2::text[], $3::text[]) AS s(source, url) \
         WHERE l.source = s.source AND l.url = s.url AND l.last_seen < $1";
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

/// Upserts a batch (one source's pass) in one transaction, in order: per run of one
/// source, at most four reads and one write per table (see `store/batch.rs`).
pub(super) async fn upsert_many(pool: &PgPool, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    let outcomes = upsert_in(&mut tx, calls).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// [`upsert_many`] inside the caller's transaction.
pub(super) async fn upsert_in(conn: &mut PgConnection, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
    let mut outcomes = Vec::with_capacity(calls.len());
    for run in batch::runs(calls) {
        let plan = plan_run(conn, run).await?;
        write_plan(conn, &plan).await?;
        outcomes.extend(plan.outcomes);
    }
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
    let listings: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(id, url)| (source, id.as_str(), url.as_str()))
        .collect();
    let mut tx = begin_write(pool).await?;
    seen_in(&mut tx, &listings, at).await?;
    tx.commit().await?;
    Ok(())
}

/// Listings (source, call id, listing URL) of any sources seen again at `at`, inside the
/// caller's transaction: two statements, whatever the number of sources and calls.
pub(super) async fn seen_in(
    conn: &mut PgConnection,
    listings: &[(&str, &str, &str)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if listings.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = listings.iter().map(|(_, id, _)| *id).collect();
    let sources: Vec<&str> = listings.iter().map(|(source, _, _)| *source).collect();
    let urls: Vec<&str> = listings.iter().map(|(_, _, url)| *url).collect();
    query(SEEN_CALLS).bind(at).bind(&ids).execute(&mut *conn).await?;
    query(SEEN_LINKS)
        .bind(at)
        .bind(&sources)
        .bind(&urls)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn mark_source_seen(pool: &PgPool, source: &str, at: DateTime<Utc>) -> StoreResult<u32> {
    let mut tx = begin_write(pool).await?;
    let links = query(SOURCE_SEEN_LINKS).bind(at).bind(source).execute(&mut *tx).await?;
    query(SOURCE_SEEN_CALLS).bind(at).bind(source).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(u32::try_from(links.rows_affected()).unwrap_or(u32::MAX))
}

/// Each call each of `sources` listed: id, URL, fingerprint and links, in one statement.
pub(super) async fn listings(pool: &PgPool, sources: &[&str]) -> StoreResult<HashMap<String, Vec<ListedCall>>> {
    if sources.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, String, String, JsonText)> =
        query_as(LISTINGS).bind(sources).fetch_all(pool).await?;
    let mut by_source: HashMap<String, Vec<ListedCall>> = HashMap::new();
    for (source, id, url, fingerprint, links) in rows {
        by_source.entry(source).or_default().push(ListedCall {
            id: CallId(id),
            url,
            fingerprint,
            links: from_json("call_links", "url", links)?,
        });
    }
    Ok(by_source)
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

/// Reads what a run of one source needs and plans its writes.
async fn plan_run(conn: &mut PgConnection, run: &[Call]) -> StoreResult<batch::Plan> {
    let source = run[0].source.as_str();
    let lookup = lookup(conn, run).await?;
    let titles = title_candidates(conn, &batch::wanted_title_keys(run, &lookup), source).await?;
    let targets = batch::resolve(run, lookup, &titles);
    let heads = heads(conn, &batch::joined_ids(&targets)).await?;
    let fingerprints = batch::fingerprints(run);
    let contents = contents(conn, &batch::contents_needed(&fingerprints, &targets, &heads)).await?;
    batch::plan(run, fingerprints, targets, heads, contents)
}

async fn lookup(conn: &mut PgConnection, run: &[Call]) -> StoreResult<batch::Lookup> {
    let ids: Vec<&str> = run.iter().map(|c| c.id.as_str()).collect();
    let urls: Vec<&str> = run.iter().flat_map(batch::listing_urls).collect();
    let rows: Vec<batch::LookupRow> = query_as(LOOKUP).bind(&ids).bind(&urls).fetch_all(&mut *conn).await?;
    Ok(batch::Lookup::from_rows(rows))
}

async fn title_candidates(
    conn: &mut PgConnection,
    keys: &[String],
    source: &str,
) -> StoreResult<HashMap<String, Vec<batch::TitleCandidate>>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<batch::TitleRow> = query_as(BY_TITLE_KEYS)
        .bind(keys)
        .bind(source)
        .fetch_all(&mut *conn)
        .await?;
    Ok(batch::title_candidates(rows))
}

async fn heads(conn: &mut PgConnection, ids: &[&str]) -> StoreResult<HashMap<String, batch::Head>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<batch::HeadRow> = query_as(HEADS).bind(ids).fetch_all(&mut *conn).await?;
    Ok(batch::heads(rows))
}

async fn contents(conn: &mut PgConnection, ids: &[String]) -> StoreResult<HashMap<String, Call>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, JsonText)> = query_as(CONTENTS).bind(ids).fetch_all(&mut *conn).await?;
    count_calls_read(rows.len());
    rows.into_iter()
        .map(|(id, json)| Ok((id, from_json("calls", "json", json)?)))
        .collect()
}

/// Writes a run's plan: new calls, changed calls, calls seen again, versions, changes,
/// links; each table in one statement (arrays unnested), changed calls one by one.
async fn write_plan(conn: &mut PgConnection, plan: &batch::Plan) -> StoreResult<()> {
    insert_calls(conn, &plan.inserts).await?;
    for row in &plan.updates {
        let update = query(
            "UPDATE calls SET title_key = $1, content_source = $2, title = $3, funder = $4, external_id = $5, \
             status = $6, deadline_kind = $7, deadline_first = $8, deadline_last = $9, deadline_annual = $10, \
             fingerprint = $11, version = $12, last_seen = $13, json = $14::text::jsonb WHERE id = $15",
        );
        bind_content(update, row)
            .bind(row.version)
            .bind(row.last_seen)
            .bind(&row.json)
            .bind(row.call.id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    touch(conn, &plan.touches).await?;
    if !plan.versions.is_empty() {
        let v = &plan.versions;
        query(INSERT_VERSIONS)
            .bind(v.iter().map(|v| v.call_id.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|v| v.version).collect::<Vec<_>>())
            .bind(v.iter().map(|v| v.recorded_at).collect::<Vec<_>>())
            .bind(v.iter().map(|v| v.source.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|v| v.fingerprint.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|v| v.json.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
    }
    if !plan.changes.is_empty() {
        let c = &plan.changes;
        query(INSERT_CHANGES)
            .bind(c.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.version).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.at).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.change.field.as_str()).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.change.old.as_str()).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.change.new.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
    }
    if !plan.links.is_empty() {
        let l = &plan.links;
        query(INSERT_LINKS)
            .bind(l.iter().map(|l| l.call_id.as_str()).collect::<Vec<_>>())
            .bind(l.iter().map(|l| l.source.as_str()).collect::<Vec<_>>())
            .bind(l.iter().map(|l| l.url.as_str()).collect::<Vec<_>>())
            .bind(l.iter().map(|l| l.first_seen).collect::<Vec<_>>())
            .bind(l.iter().map(|l| l.last_seen).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_calls(conn: &mut PgConnection, rows: &[batch::Row]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&batch::Row) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let optional = |f: fn(&batch::Row) -> Option<&str>| rows.iter().map(f).collect::<Vec<Option<&str>>>();
    query(INSERT_CALLS)
        .bind(text(|r| r.call.id.as_str()))
        .bind(text(|r| r.call.source.as_str()))
        .bind(text(|r| r.call.url.as_str()))
        .bind(text(|r| r.cols.title_key.as_str()))
        .bind(text(|r| r.content_source.as_str()))
        .bind(text(|r| r.call.title.as_str()))
        .bind(optional(|r| r.call.funder.as_deref()))
        .bind(optional(|r| r.call.external_id.as_deref()))
        .bind(text(|r| r.call.status.as_str()))
        .bind(text(|r| r.cols.deadline_kind))
        .bind(rows.iter().map(|r| r.cols.deadline_first).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cols.deadline_last).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cols.deadline_annual).collect::<Vec<_>>())
        .bind(text(|r| r.call.fingerprint.as_str()))
        .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.call.first_seen).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.last_seen).collect::<Vec<_>>())
        .bind(text(|r| r.json.as_str()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Calls seen again: one statement per distinct time (a pass lists all at one time).
async fn touch(conn: &mut PgConnection, touches: &[(CallId, DateTime<Utc>)]) -> StoreResult<()> {
    let mut by_time: Vec<(DateTime<Utc>, Vec<&str>)> = Vec::new();
    for (id, at) in touches {
        match by_time.iter_mut().find(|(t, _)| t == at) {
            Some((_, ids)) => ids.push(id.as_str()),
            None => by_time.push((*at, vec![id.as_str()])),
        }
    }
    for (at, ids) in by_time {
        query(TOUCH).bind(at).bind(&ids).execute(&mut *conn).await?;
    }
    Ok(())
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the content columns of an UPDATE, in their order: title_key, content_source,
/// title, funder, external_id, status, deadline_kind, deadline_first, deadline_last,
/// deadline_annual, fingerprint.
fn bind_content<'q>(query: PgQuery<'q>, row: &'q batch::Row) -> PgQuery<'q> {
    let (call, cols) = (&row.call, &row.cols);
    query
        .bind(&cols.title_key)
        .bind(&row.content_source)
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
