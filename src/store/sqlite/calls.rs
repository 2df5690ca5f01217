//! Calls, their source links, versions and change events.
//!
//! Identity of an incoming listing, in this order:
//! 1. its id (the hash of its canonical URL);
//! 2. a URL already linked to a stored call (its own or one of its `links`);
//! 3. `title_key(title, funder)` of a stored call that this source does not
//!    list yet, and whose external id (if both have one) is the same, only when
//!    the funder is known on both sides (sites reuse titles across funders). A
//!    source never lists one programme under two URLs, so two of its own entries
//!    with the same title stay two calls (EU topics often share titles across
//!    years); a card listed twice under one URL is one call by step 1.
//!
//! Content of a call listed by several sources: the source whose listing
//! supplies the stored content (`content_source`) may always update it. Another
//! source takes over only with a strictly richer listing (more fields stated,
//! see [`richness`]). Two sources with stable but different texts therefore
//! never flip the content back and forth between passes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};

use super::{
    ROWS_PER_STATEMENT, begin_write, from_json, multi_row_insert, query, query_as, query_built, query_scalar, to_json,
    ts,
};
use crate::model::text::title_key;
use crate::model::{Call, CallId, CallStatus, DeadlineKind};
use crate::store::{
    CallFilter, ChangeEvent, ListedCall, StoreError, StoreResult, UpsertOutcome, batch, count_calls_read,
    title_key_rule,
};

/// `SELECT` of a full call: its current content (the JSON of its current version, stored
/// once, see migration 0015) plus its links in first-seen order. `CROSS JOIN` keeps
/// `calls` the outer loop, so each filter runs on the narrow rows first.
macro_rules! select_call {
    ($rest:expr) => {
        select_call!("", $rest)
    };
    ($columns:expr, $rest:expr) => {
        concat!(
            "SELECT v.json, ",
            call_last_seen!(),
            " AS last_seen, ",
            "(SELECT json_group_array(json_object('source', source, 'url', url)) FROM ",
            "(SELECT source, url FROM call_links l WHERE l.call_id = c.id ORDER BY l.first_seen, l.rowid)) AS links",
            $columns,
            " FROM calls c CROSS JOIN call_versions v ON v.call_id = c.id AND v.version = c.version ",
            $rest
        )
    };
}

// Lookups of the hot paths (collect, match, notify); `HOT_QUERIES` lists them for the
// test that checks each one uses an index.
/// Steps 1 and 2 of the identity for a whole run: which of its ids are stored, and the
/// call of every link of its URLs (with its rowid: the oldest link of a URL wins).
const LOOKUP: &str = "SELECT 0 AS link, id AS key, id AS call_id, 0 AS position FROM calls \
         WHERE id IN (SELECT value FROM json_each(?1)) \
         UNION ALL \
         SELECT 1, url, call_id, rowid FROM call_links WHERE url IN (SELECT value FROM json_each(?2))";
/// Step 3: stored calls with one of the title keys, oldest first, each with whether the
/// run's source lists it already.
const BY_TITLE_KEYS: &str = "SELECT c.title_key, c.id, c.external_id, \
         EXISTS (SELECT 1 FROM call_links l WHERE l.call_id = c.id AND l.source = ?2) \
         FROM calls c WHERE c.title_key IN (SELECT value FROM json_each(?1)) ORDER BY c.first_seen, c.id";
const HEADS: &str = concat!(
    "SELECT c.id, c.fingerprint, c.content_source, c.version, ",
    call_last_seen!(),
    " FROM calls c WHERE c.id IN (SELECT value FROM json_each(?1))"
);
const CONTENTS: &str = "SELECT c.id, v.json FROM calls c CROSS JOIN call_versions v \
         ON v.call_id = c.id AND v.version = c.version WHERE c.id IN (SELECT value FROM json_each(?1))";
/// What some sources listed before, without the calls' content ([`listings`]): each
/// (source, call) once, however many links of the source the call has.
const LISTINGS: &str = "SELECT s.source, c.id, c.url, c.fingerprint, \
         (SELECT json_group_array(json_object('source', source, 'url', url)) FROM \
         (SELECT source, url FROM call_links l WHERE l.call_id = c.id ORDER BY l.first_seen, l.rowid)) AS links \
         FROM call_links s CROSS JOIN calls c ON c.id = s.call_id \
         WHERE s.source IN (SELECT value FROM json_each(?1)) GROUP BY s.source, c.id";
const TOUCH: &str = "UPDATE calls SET last_seen = max(last_seen, ?1) WHERE id IN (SELECT value FROM json_each(?2))";
const GET: &str = select_call!("WHERE c.id = ?");
const GET_MANY: &str = select_call!("WHERE c.id IN (SELECT value FROM json_each(?1)) ORDER BY c.id");
/// Listings of any sources seen again: `?2` is a JSON array of `[source, url]` pairs.
const SEEN_LINKS: &str = "UPDATE call_links SET last_seen = ?1 WHERE last_seen < ?1 AND (source, url) IN \
         (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))";
const SOURCE_SEEN_LINKS: &str = "UPDATE call_links SET last_seen = ?1 WHERE source = ?2 AND last_seen < ?1 \
         AND last_seen = (SELECT max(last_seen) FROM call_links WHERE source = ?2)";
const LIST_BY_SOURCE: &str = select_call!(concat!(
    "WHERE c.id IN (SELECT l.call_id FROM call_links l WHERE l.source = ?1) \
     AND (?2 IS NULL OR ",
    call_last_seen!(),
    " >= ?2) \
     AND (?3 IS NULL OR (c.status != ?5 \
          AND (c.deadline_kind != ?6 OR c.deadline_annual = 1 OR c.deadline_last >= ?3))) \
     ORDER BY c.first_seen DESC, c.id LIMIT ?4"
));

#[cfg(test)]
pub(super) const HOT_QUERIES: &[&str] = &[
    LOOKUP,
    BY_TITLE_KEYS,
    HEADS,
    CONTENTS,
    LISTINGS,
    TOUCH,
    GET,
    GET_MANY,
    SEEN_LINKS,
    SOURCE_SEEN_LINKS,
    LIST_BY_SOURCE,
];

pub(super) async fn upsert(pool: &SqlitePool, call: &Call) -> StoreResult<UpsertOutcome> {
    let mut outcomes = upsert_many(pool, std::slice::from_ref(call)).await?;
    Ok(outcomes.remove(0))
}

/// Upserts a batch (one source's pass) in one transaction, in order: per run of one
/// source, at most four reads and one write per table (see `store/batch.rs`).
pub(super) async fn upsert_many(pool: &SqlitePool, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    let outcomes = upsert_in(&mut tx, calls).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// [`upsert_many`] inside the caller's transaction.
pub(super) async fn upsert_in(conn: &mut SqliteConnection, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
    let mut outcomes = Vec::with_capacity(calls.len());
    for run in batch::runs(calls) {
        let plan = plan_run(conn, run).await?;
        write_plan(conn, &plan).await?;
        outcomes.extend(plan.outcomes);
    }
    Ok(outcomes)
}

/// Records that `source` listed these calls (id, listing URL) again, unchanged, at
/// `at`: two set-based statements, whatever the number of calls.
pub(super) async fn mark_seen(
    pool: &SqlitePool,
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
/// caller's transaction: one statement, whatever the number of sources and calls. The
/// calls are seen again through their listings (`call_last_seen!`).
pub(super) async fn seen_in(
    conn: &mut SqliteConnection,
    listings: &[(&str, &str, &str)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if listings.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(&str, &str)> = listings.iter().map(|(source, _, url)| (*source, *url)).collect();
    let pairs = to_json("call_links", "url", &pairs)?;
    let at = ts(at);
    query(SEEN_LINKS).bind(&at).bind(&pairs).execute(&mut *conn).await?;
    Ok(())
}

/// The listings of `source`'s last pass (those with its latest `last_seen`) and their
/// calls are seen again at `at` (through them, see `call_last_seen!`). One statement.
pub(super) async fn mark_source_seen(pool: &SqlitePool, source: &str, at: DateTime<Utc>) -> StoreResult<u32> {
    // One statement is atomic by itself: no transaction around it.
    let links = query(SOURCE_SEEN_LINKS).bind(ts(at)).bind(source).execute(pool).await?;
    Ok(u32::try_from(links.rows_affected()).unwrap_or(u32::MAX))
}

/// Each call each of `sources` listed: id, URL, fingerprint and links, in one statement.
pub(super) async fn listings(pool: &SqlitePool, sources: &[&str]) -> StoreResult<HashMap<String, Vec<ListedCall>>> {
    if sources.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, String, String, String)> = query_as(LISTINGS)
        .bind(to_json("call_links", "source", &sources)?)
        .fetch_all(pool)
        .await?;
    let mut by_source: HashMap<String, Vec<ListedCall>> = HashMap::new();
    for (source, id, url, fingerprint, links) in rows {
        by_source.entry(source).or_default().push(ListedCall {
            id: CallId(id),
            url,
            fingerprint,
            links: from_json("call_links", "url", &links)?,
        });
    }
    Ok(by_source)
}

pub(super) async fn per_source(pool: &SqlitePool) -> StoreResult<std::collections::HashMap<String, usize>> {
    let rows: Vec<(String, i64)> = query_as("SELECT source, count(DISTINCT call_id) FROM call_links GROUP BY source")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(source, n)| (source, usize::try_from(n).unwrap_or(0)))
        .collect())
}

/// Up to `limit` calls whose stored matches were not computed with `key` from their
/// current content, after `after` in id order, each with its content version.
pub(super) async fn to_match(
    pool: &SqlitePool,
    key: &str,
    after: Option<&CallId>,
    limit: u32,
) -> StoreResult<Vec<(Call, i64)>> {
    let rows = query(select_call!(
        ", c.version AS version",
        "WHERE (c.matched_key IS NOT ?1 OR c.matched_version IS NOT c.version) \
         AND c.id > ?2 ORDER BY c.id LIMIT ?3"
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

/// Every call is matched again by the next pass.
pub(super) async fn forget_match_keys(pool: &SqlitePool) -> StoreResult<()> {
    query("UPDATE calls SET matched_key = NULL WHERE matched_key IS NOT NULL")
        .execute(pool)
        .await?;
    Ok(())
}

/// Recomputes `title_key` of every stored call whose key was made by an older
/// folding rule, so that listings keep joining stored calls after the rule
/// changes. Writes (and takes the write lock) only when a key differs.
pub(super) async fn refresh_title_keys(pool: &SqlitePool) -> StoreResult<()> {
    // The keys were made with today's rule: nothing to read.
    let rule = title_key_rule();
    let stored: Option<String> = query_scalar("SELECT value FROM meta WHERE key = 'title_key_rule'")
        .fetch_optional(pool)
        .await?;
    if stored.as_deref() == Some(rule.as_str()) {
        return Ok(());
    }
    recompute_title_keys(pool).await?;
    query("INSERT INTO meta (key, value) VALUES ('title_key_rule', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(rule)
        .execute(pool)
        .await?;
    Ok(())
}

async fn recompute_title_keys(pool: &SqlitePool) -> StoreResult<()> {
    let rows: Vec<(String, String, Option<String>, String)> =
        query_as("SELECT id, title, funder, title_key FROM calls")
            .fetch_all(pool)
            .await?;
    let stale: Vec<(String, String)> = rows
        .into_iter()
        .filter_map(|(id, title, funder, stored)| {
            let key = title_key(&title, funder.as_deref());
            (key != stored).then_some((id, key))
        })
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    let mut tx = begin_write(pool).await?;
    for (id, key) in &stale {
        query("UPDATE calls SET title_key = ? WHERE id = ?")
            .bind(key)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(
        calls = stale.len(),
        "title keys recomputed after a change of the folding rules"
    );
    Ok(())
}

/// Reads what a run of one source needs and plans its writes.
async fn plan_run(conn: &mut SqliteConnection, run: &[Call]) -> StoreResult<batch::Plan> {
    let source = run[0].source.as_str();
    let lookup = lookup(conn, run).await?;
    let titles = title_candidates(conn, &batch::wanted_title_keys(run, &lookup), source).await?;
    let targets = batch::resolve(run, lookup, &titles);
    let heads = heads(conn, &batch::joined_ids(&targets)).await?;
    let fingerprints = batch::fingerprints(run);
    let contents = contents(conn, &batch::contents_needed(&fingerprints, &targets, &heads)).await?;
    batch::plan(run, fingerprints, targets, heads, contents)
}

async fn lookup(conn: &mut SqliteConnection, run: &[Call]) -> StoreResult<batch::Lookup> {
    let ids: Vec<&str> = run.iter().map(|c| c.id.as_str()).collect();
    let urls: Vec<&str> = run.iter().flat_map(batch::listing_urls).collect();
    let rows: Vec<batch::LookupRow> = query_as(LOOKUP)
        .bind(to_json("calls", "id", &ids)?)
        .bind(to_json("call_links", "url", &urls)?)
        .fetch_all(&mut *conn)
        .await?;
    Ok(batch::Lookup::from_rows(rows))
}

async fn title_candidates(
    conn: &mut SqliteConnection,
    keys: &[String],
    source: &str,
) -> StoreResult<HashMap<String, Vec<batch::TitleCandidate>>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<batch::TitleRow> = query_as(BY_TITLE_KEYS)
        .bind(to_json("calls", "title_key", &keys)?)
        .bind(source)
        .fetch_all(&mut *conn)
        .await?;
    Ok(batch::title_candidates(rows))
}

async fn heads(conn: &mut SqliteConnection, ids: &[&str]) -> StoreResult<HashMap<String, batch::Head>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<batch::HeadRow> = query_as(HEADS)
        .bind(to_json("calls", "id", &ids)?)
        .fetch_all(&mut *conn)
        .await?;
    Ok(batch::heads(rows))
}

async fn contents(conn: &mut SqliteConnection, ids: &[String]) -> StoreResult<HashMap<String, Call>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = query_as(CONTENTS)
        .bind(to_json("calls", "id", &ids)?)
        .fetch_all(&mut *conn)
        .await?;
    count_calls_read(rows.len());
    rows.into_iter()
        .map(|(id, json)| Ok((id, from_json("calls", "json", &json)?)))
        .collect()
}

/// Writes a run's plan: new calls, changed calls, calls seen again, versions, changes, links.
async fn write_plan(conn: &mut SqliteConnection, plan: &batch::Plan) -> StoreResult<()> {
    for rows in plan.inserts.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO calls (id, source, url, title_key, content_source, title, funder, external_id, status, \
             deadline_kind, deadline_first, deadline_last, deadline_annual, fingerprint, version, first_seen, last_seen)",
            17,
            rows.len(),
            "",
        );
        let mut insert = query_built(sql);
        for row in rows {
            insert = insert
                .bind(row.call.id.as_str())
                .bind(&row.call.source)
                .bind(&row.call.url);
            insert = bind_content(insert, row)
                .bind(row.version)
                .bind(ts(row.call.first_seen))
                .bind(ts(row.last_seen));
        }
        insert.execute(&mut *conn).await?;
    }
    for row in &plan.updates {
        let update = query(
            "UPDATE calls SET title_key = ?, content_source = ?, title = ?, funder = ?, external_id = ?, status = ?, \
             deadline_kind = ?, deadline_first = ?, deadline_last = ?, deadline_annual = ?, fingerprint = ?, version = ?, \
             last_seen = ? WHERE id = ?",
        );
        bind_content(update, row)
            .bind(row.version)
            .bind(ts(row.last_seen))
            .bind(row.call.id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    touch(conn, &plan.touches).await?;
    for rows in plan.versions.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO call_versions (call_id, version, recorded_at, source, fingerprint, json)",
            6,
            rows.len(),
            "",
        );
        let mut insert = query_built(sql);
        for v in rows {
            insert = insert
                .bind(v.call_id.as_str())
                .bind(v.version)
                .bind(ts(v.recorded_at))
                .bind(&v.source)
                .bind(&v.fingerprint)
                .bind(&v.json);
        }
        insert.execute(&mut *conn).await?;
    }
    for rows in plan.changes.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO call_changes (call_id, version, at, field, old, new)",
            6,
            rows.len(),
            "",
        );
        let mut insert = query_built(sql);
        for c in rows {
            insert = insert
                .bind(c.call_id.as_str())
                .bind(c.version)
                .bind(ts(c.at))
                .bind(c.change.field.as_str())
                .bind(&c.change.old)
                .bind(&c.change.new);
        }
        insert.execute(&mut *conn).await?;
    }
    for rows in plan.links.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO call_links (call_id, source, url, first_seen, last_seen)",
            5,
            rows.len(),
            " ON CONFLICT (source, url) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
        );
        let mut insert = query_built(sql);
        for l in rows {
            insert = insert
                .bind(l.call_id.as_str())
                .bind(&l.source)
                .bind(&l.url)
                .bind(ts(l.first_seen))
                .bind(ts(l.last_seen));
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Calls seen again: one statement per distinct time (a pass lists all at one time).
async fn touch(conn: &mut SqliteConnection, touches: &[(CallId, DateTime<Utc>)]) -> StoreResult<()> {
    let mut by_time: Vec<(DateTime<Utc>, Vec<&str>)> = Vec::new();
    for (id, at) in touches {
        match by_time.iter_mut().find(|(t, _)| t == at) {
            Some((_, ids)) => ids.push(id.as_str()),
            None => by_time.push((*at, vec![id.as_str()])),
        }
    }
    for (at, ids) in by_time {
        query(TOUCH)
            .bind(ts(at))
            .bind(to_json("calls", "id", &ids)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Binds the content columns shared by INSERT and UPDATE, in their order: title_key,
/// content_source, title, funder, external_id, status, deadline_kind, deadline_first,
/// deadline_last, deadline_annual, fingerprint.
fn bind_content<'q>(query: SqliteQuery<'q>, row: &'q batch::Row) -> SqliteQuery<'q> {
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

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

fn call_from_row(row: &SqliteRow) -> StoreResult<Call> {
    let json: String = row.try_get("json")?;
    let links: String = row.try_get("links")?;
    let mut call: Call = from_json("calls", "json", &json)?;
    count_calls_read(1);
    call.last_seen = row.try_get("last_seen")?;
    call.links = from_json("call_links", "url", &links)?;
    Ok(call)
}

pub(super) async fn get(pool: &SqlitePool, id: &CallId) -> StoreResult<Option<Call>> {
    let row = query(GET).bind(id.as_str()).fetch_optional(pool).await?;
    row.as_ref().map(call_from_row).transpose()
}

/// The stored calls among `ids`, in id order; one statement for the whole set.
pub(super) async fn get_many(pool: &SqlitePool, ids: &[CallId]) -> StoreResult<Vec<Call>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ids.iter().map(CallId::as_str).collect();
    let rows = query(GET_MANY)
        .bind(to_json("calls", "id", &ids)?)
        .fetch_all(pool)
        .await?;
    rows.iter().map(call_from_row).collect()
}

/// Exact id, else a unique prefix; the `c-` of ids may be left out.
pub(super) async fn find(pool: &SqlitePool, id_or_prefix: &str) -> StoreResult<Option<Call>> {
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
        let ids: Vec<String> =
            query_scalar("SELECT id FROM calls WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 5")
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

/// Newest first. "Open on" mirrors [`Call::is_open`]: not closed, and a
/// cut-off on or after the day (yearly dates always recur), or no date stated.
pub(super) async fn list(pool: &SqlitePool, filter: &CallFilter) -> StoreResult<Vec<Call>> {
    // With a source, the listing starts from that source's links (index on
    // call_links (source, url)) instead of testing every stored call.
    let sql = match filter.source {
        Some(_) => LIST_BY_SOURCE,
        None => select_call!(concat!(
            "WHERE ?1 IS NULL AND (?2 IS NULL OR ",
            call_last_seen!(),
            " >= ?2) \
             AND (?3 IS NULL OR (c.status != ?5 \
                  AND (c.deadline_kind != ?6 OR c.deadline_annual = 1 OR c.deadline_last >= ?3))) \
             ORDER BY c.first_seen DESC, c.id LIMIT ?4"
        )),
    };
    let mut rows = query(sql)
        .bind(&filter.source)
        .bind(filter.seen_since.map(ts))
        .bind(filter.open_on)
        .bind(filter.limit.map_or(-1, i64::from))
        .bind(CallStatus::Closed.as_str())
        .bind(DeadlineKind::Date.as_str())
        .fetch(pool);
    // Row by row: each row's JSON is dropped once its call is built, so a listing of
    // thousands of calls never holds every row and every call at once.
    let mut calls = Vec::new();
    while let Some(row) = rows.try_next().await? {
        calls.push(call_from_row(&row)?);
    }
    Ok(calls)
}

pub(super) async fn fingerprint(pool: &SqlitePool) -> StoreResult<(i64, Option<String>)> {
    Ok(query_as(
        "SELECT COUNT(*), max(MAX(last_seen), coalesce((SELECT MAX(last_seen) FROM call_links), MAX(last_seen))) FROM calls",
    )
        .fetch_one(pool)
        .await?)
}

pub(super) async fn versions(pool: &SqlitePool, id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>> {
    let rows: Vec<(DateTime<Utc>, String)> =
        query_as("SELECT recorded_at, json FROM call_versions WHERE call_id = ? ORDER BY version")
            .bind(id.as_str())
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|(at, json)| Ok((at, from_json("call_versions", "json", &json)?)))
        .collect()
}

pub(super) async fn changes_since(pool: &SqlitePool, since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>> {
    let rows: Vec<crate::store::content::ChangeRow> =
        query_as("SELECT id, call_id, at, field, old, new FROM call_changes WHERE at >= ? ORDER BY id")
            .bind(ts(since))
            .fetch_all(pool)
            .await?;
    crate::store::content::change_events(rows)
}

pub(super) async fn changes_of(pool: &SqlitePool, id: &CallId) -> StoreResult<Vec<ChangeEvent>> {
    let rows: Vec<crate::store::content::ChangeRow> =
        query_as("SELECT id, call_id, at, field, old, new FROM call_changes WHERE call_id = ? ORDER BY id")
            .bind(id.as_str())
            .fetch_all(pool)
            .await?;
    crate::store::content::change_events(rows)
}
