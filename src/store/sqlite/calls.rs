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

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};

use super::{begin_write, from_json, query, query_as, query_scalar, to_json, ts};
use crate::model::text::{fold_words, title_key};
use crate::model::{Call, CallId, CallStatus, Deadline, DeadlineKind, FieldChange, SourceLink, diff_calls};
use crate::store::{
    CallFilter, ChangeEvent, StoreError, StoreResult, UpsertOutcome, count_call_written, count_calls_read, richness,
    title_key_rule,
};

/// `SELECT` of a full call: its current content plus its links in first-seen order.
macro_rules! select_call {
    ($rest:literal) => {
        select_call!("", $rest)
    };
    ($columns:literal, $rest:literal) => {
        concat!(
            "SELECT c.json, c.last_seen, ",
            "(SELECT json_group_array(json_object('source', source, 'url', url)) FROM ",
            "(SELECT source, url FROM call_links l WHERE l.call_id = c.id ORDER BY l.first_seen, l.rowid)) AS links",
            $columns,
            " FROM calls c ",
            $rest
        )
    };
}

// Per-call lookups of the hot paths (collect, match, notify); `HOT_QUERIES` lists
// them for the test that checks each one uses an index.
/// Steps 1 and 2 of the identity in one statement: the call with the listing's id, else
/// the call of the first of its URLs (own URL, then further links, in order) already linked.
const BY_ID_OR_LINK: &str = "SELECT found FROM (\
         SELECT id AS found, -1 AS rank FROM calls WHERE id = ?1 \
         UNION ALL \
         SELECT (SELECT call_id FROM call_links WHERE url = j.value LIMIT 1), j.key FROM json_each(?2) j\
         ) WHERE found IS NOT NULL ORDER BY rank LIMIT 1";
/// Records a call's listings (own URL and further links, a JSON array of [source, url])
/// in one statement; a listing already recorded is seen again.
const INSERT_LINKS: &str = "INSERT INTO call_links (call_id, source, url, first_seen, last_seen) \
         SELECT ?1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), ?2, ?2 FROM json_each(?3) j WHERE true \
         ON CONFLICT (source, url) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)";
const BY_TITLE_KEY: &str = "SELECT id, external_id FROM calls c WHERE title_key = ?1 \
         AND NOT EXISTS (SELECT 1 FROM call_links l WHERE l.call_id = c.id AND l.source = ?2) \
         ORDER BY first_seen, id";
const STORED_FINGERPRINT: &str = "SELECT fingerprint, content_source FROM calls WHERE id = ?";
const TOUCH: &str = "UPDATE calls SET last_seen = max(last_seen, ?) WHERE id = ?";
const LOAD_CURRENT: &str = "SELECT json, last_seen, version FROM calls WHERE id = ?";
const GET: &str = select_call!("WHERE c.id = ?");
const GET_MANY: &str = select_call!("WHERE c.id IN (SELECT value FROM json_each(?1)) ORDER BY c.id");
const SEEN_CALLS: &str =
    "UPDATE calls SET last_seen = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND last_seen < ?1";
const SEEN_LINKS: &str = "UPDATE call_links SET last_seen = ?1 WHERE source = ?2 AND url IN (SELECT value FROM json_each(?3)) \
         AND last_seen < ?1";
const SOURCE_SEEN_LINKS: &str = "UPDATE call_links SET last_seen = ?1 WHERE source = ?2 AND last_seen < ?1 \
         AND last_seen = (SELECT max(last_seen) FROM call_links WHERE source = ?2)";
const SOURCE_SEEN_CALLS: &str = "UPDATE calls SET last_seen = ?1 WHERE last_seen < ?1 \
         AND id IN (SELECT call_id FROM call_links WHERE source = ?2 AND last_seen = ?1)";
const LIST_BY_SOURCE: &str = select_call!(
    "WHERE c.id IN (SELECT l.call_id FROM call_links l WHERE l.source = ?1) \
     AND (?2 IS NULL OR c.last_seen >= ?2) \
     AND (?3 IS NULL OR (c.status != ?5 \
          AND (c.deadline_kind != ?6 OR c.deadline_annual = 1 OR c.deadline_last >= ?3))) \
     ORDER BY c.first_seen DESC, c.id LIMIT ?4"
);

#[cfg(test)]
pub(super) const HOT_QUERIES: &[&str] = &[
    BY_ID_OR_LINK,
    BY_TITLE_KEY,
    STORED_FINGERPRINT,
    TOUCH,
    LOAD_CURRENT,
    GET,
    GET_MANY,
    SEEN_CALLS,
    SEEN_LINKS,
    SOURCE_SEEN_LINKS,
    SOURCE_SEEN_CALLS,
    LIST_BY_SOURCE,
];

pub(super) async fn upsert(pool: &SqlitePool, call: &Call) -> StoreResult<UpsertOutcome> {
    let mut outcomes = upsert_many(pool, std::slice::from_ref(call)).await?;
    Ok(outcomes.remove(0))
}

/// Upserts a batch (one source's pass) in one transaction, in order.
pub(super) async fn upsert_many(pool: &SqlitePool, calls: &[Call]) -> StoreResult<Vec<UpsertOutcome>> {
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
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    let urls: Vec<&str> = seen.iter().map(|(_, url)| url.as_str()).collect();
    let (ids, urls) = (to_json("calls", "id", &ids)?, to_json("call_links", "url", &urls)?);
    let at = ts(at);
    let mut tx = begin_write(pool).await?;
    query(SEEN_CALLS).bind(&at).bind(&ids).execute(&mut *tx).await?;
    query(SEEN_LINKS)
        .bind(&at)
        .bind(source)
        .bind(&urls)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The listings of `source`'s last pass (those with its latest `last_seen`) and their
/// calls are seen again at `at`. Two statements, whatever the number of calls.
pub(super) async fn mark_source_seen(pool: &SqlitePool, source: &str, at: DateTime<Utc>) -> StoreResult<u32> {
    let at = ts(at);
    let mut tx = begin_write(pool).await?;
    let links = query(SOURCE_SEEN_LINKS)
        .bind(&at)
        .bind(source)
        .execute(&mut *tx)
        .await?;
    query(SOURCE_SEEN_CALLS)
        .bind(&at)
        .bind(source)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(u32::try_from(links.rows_affected()).unwrap_or(u32::MAX))
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

async fn find_existing(conn: &mut SqliteConnection, call: &Call) -> StoreResult<Option<CallId>> {
    let urls: Vec<&str> = std::iter::once(&call.url)
        .chain(call.links.iter().map(|l| &l.url))
        .map(String::as_str)
        .collect();
    let known: Option<String> = query_scalar(BY_ID_OR_LINK)
        .bind(call.id.as_str())
        .bind(to_json("call_links", "url", &urls)?)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = known {
        return Ok(Some(CallId(id)));
    }
    by_title_key(conn, call).await
}

/// Step 3 of the identity. Titles alone are reused across funders and years, so a
/// listing joins a stored call by title only when the funder is known on both sides
/// and agrees (the key holds both; a stored call without funder has an empty funder
/// part and can never share the key of a listing with one).
async fn by_title_key(conn: &mut SqliteConnection, call: &Call) -> StoreResult<Option<CallId>> {
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

async fn insert_new(conn: &mut SqliteConnection, call: &Call) -> StoreResult<UpsertOutcome> {
    count_call_written();
    let mut stored = call.clone();
    stored.fingerprint = call.compute_fingerprint();
    stored.links.clear();
    let cols = Columns::of(&stored);
    let json = to_json("calls", "json", &stored)?;
    let query = query(
        "INSERT INTO calls (id, source, url, title_key, content_source, title, funder, external_id, status, \
         deadline_kind, deadline_first, deadline_last, deadline_annual, fingerprint, version, first_seen, last_seen, json) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
    )
    .bind(stored.id.as_str())
    .bind(&stored.source)
    .bind(&stored.url);
    bind_content(query, &stored, &cols, &stored.source)
        .bind(ts(stored.first_seen))
        .bind(ts(stored.last_seen))
        .bind(&json)
        .execute(&mut *conn)
        .await?;
    insert_version(conn, &stored, 1, &json, &stored.source).await?;
    insert_links(conn, &stored.id, call).await?;
    Ok(UpsertOutcome::New(stored.id))
}

/// The stored side of a call being merged.
struct Current {
    call: Call,
    version: i64,
}

async fn merge(conn: &mut SqliteConnection, id: CallId, incoming: &Call) -> StoreResult<UpsertOutcome> {
    let (stored_fingerprint, content_source): (String, String) = query_as(STORED_FINGERPRINT)
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    insert_links(conn, &id, incoming).await?;
    let fingerprint = incoming.compute_fingerprint();
    // The common case, an unchanged listing, decides without reading the stored content.
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
            .bind(ts(incoming.last_seen))
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

async fn load_current(conn: &mut SqliteConnection, id: &CallId) -> StoreResult<Current> {
    let (json, last_seen, version): (String, DateTime<Utc>, i64) =
        query_as(LOAD_CURRENT).bind(id.as_str()).fetch_one(&mut *conn).await?;
    let mut call: Call = from_json("calls", "json", &json)?;
    count_calls_read(1);
    call.last_seen = last_seen;
    Ok(Current { call, version })
}

async fn update_content(
    conn: &mut SqliteConnection,
    call: &Call,
    content_source: &str,
    version: i64,
) -> StoreResult<()> {
    count_call_written();
    let cols = Columns::of(call);
    let json = to_json("calls", "json", call)?;
    let query = query(
        "UPDATE calls SET title_key = ?, content_source = ?, title = ?, funder = ?, external_id = ?, status = ?, \
         deadline_kind = ?, deadline_first = ?, deadline_last = ?, deadline_annual = ?, fingerprint = ?, version = ?, \
         last_seen = ?, json = ? WHERE id = ?",
    );
    bind_content(query, call, &cols, content_source)
        .bind(version)
        .bind(ts(call.last_seen))
        .bind(&json)
        .bind(call.id.as_str())
        .execute(&mut *conn)
        .await?;
    insert_version(conn, call, version, &json, content_source).await
}

/// Binds the content columns shared by INSERT and UPDATE, in their order: title_key,
/// content_source, title, funder, external_id, status, deadline_kind, deadline_first,
/// deadline_last, deadline_annual, fingerprint.
fn bind_content<'q>(
    query: SqliteQuery<'q>,
    call: &'q Call,
    cols: &'q Columns,
    content_source: &'q str,
) -> SqliteQuery<'q> {
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

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

async fn insert_version(
    conn: &mut SqliteConnection,
    call: &Call,
    version: i64,
    json: &str,
    source: &str,
) -> StoreResult<()> {
    query(
        "INSERT INTO call_versions (call_id, version, recorded_at, source, fingerprint, json) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(call.id.as_str())
    .bind(version)
    .bind(ts(call.last_seen))
    .bind(source)
    .bind(&call.fingerprint)
    .bind(json)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_changes(
    conn: &mut SqliteConnection,
    id: &CallId,
    version: i64,
    at: DateTime<Utc>,
    changes: &[FieldChange],
) -> StoreResult<()> {
    for change in changes {
        query("INSERT INTO call_changes (call_id, version, at, field, old, new) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id.as_str())
            .bind(version)
            .bind(ts(at))
            .bind(change.field.as_str())
            .bind(&change.old)
            .bind(&change.new)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Records every listing of the incoming call (its own URL and its links).
async fn insert_links(conn: &mut SqliteConnection, id: &CallId, call: &Call) -> StoreResult<()> {
    let own = SourceLink {
        source: call.source.clone(),
        url: call.url.clone(),
    };
    let links: Vec<(&str, &str)> = std::iter::once(&own)
        .chain(&call.links)
        .map(|l| (l.source.as_str(), l.url.as_str()))
        .collect();
    query(INSERT_LINKS)
        .bind(id.as_str())
        .bind(ts(call.last_seen))
        .bind(to_json("call_links", "url", &links)?)
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
        None => select_call!(
            "WHERE ?1 IS NULL AND (?2 IS NULL OR c.last_seen >= ?2) \
             AND (?3 IS NULL OR (c.status != ?5 \
                  AND (c.deadline_kind != ?6 OR c.deadline_annual = 1 OR c.deadline_last >= ?3))) \
             ORDER BY c.first_seen DESC, c.id LIMIT ?4"
        ),
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
    Ok(query_as("SELECT COUNT(*), MAX(last_seen) FROM calls")
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
