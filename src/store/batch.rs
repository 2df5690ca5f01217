//! One source's listings stored with a few set-based statements instead of several per call.
//!
//! [`upsert_calls`](super::Store::upsert_calls) used to run the identity lookups, the
//! insert, the version and the links of every call one statement at a time (4.5 statements
//! per new call, 18,004 in the harness's cold pass). Both backends now read what a batch
//! needs in at most four statements ([`Lookup`], title-key candidates, heads, contents),
//! plan every write here, in memory and in the batch's order, and write the plan with one
//! multi-row statement per table.
//!
//! The plan is exactly what the one-call-at-a-time upsert did (see the identity and
//! content rules in `store/sqlite/calls.rs`). A batch is planned in runs of consecutive
//! calls of one source (a source's pass is one run), and within a run the effects of
//! earlier calls on later ones are few and kept here: an inserted call is found again by
//! its id and URLs; a call joined by the run's source is listed by that source, so no
//! later call of the run joins it by title; a call written twice carries its first write.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{StoreError, StoreResult, UpsertOutcome, count_call_written, richness};
use crate::model::text::{fold_words, title_key};
use crate::model::{Call, CallId, Deadline, FieldChange, diff_calls};

/// The listing URLs of an incoming call: its own, then its further links, in order.
pub(super) fn listing_urls(call: &Call) -> impl Iterator<Item = &str> {
    std::iter::once(call.url.as_str()).chain(call.links.iter().map(|l| l.url.as_str()))
}

/// The title key under which a listing may join a stored call of another source: only
/// with a title and a known funder (sites reuse titles across funders).
pub(super) fn joinable_title_key(call: &Call) -> Option<String> {
    let funder_known = call.funder.as_deref().is_some_and(|f| !fold_words(f).is_empty());
    (!call.title.trim().is_empty() && funder_known).then(|| title_key(&call.title, call.funder.as_deref()))
}

/// What the store holds of a run's ids and URLs (steps 1 and 2 of the identity).
#[derive(Debug, Default)]
pub(super) struct Lookup {
    /// Ids of the run's calls that are stored.
    pub ids: HashSet<String>,
    /// Each of the run's URLs that is linked, with the call of its oldest link.
    pub urls: HashMap<String, String>,
}

/// A row of the lookup query: whether it is a link (else a stored id), the id or URL,
/// the call it belongs to, and its position (rowid or link order).
pub(super) type LookupRow = (bool, String, String, i64);

impl Lookup {
    /// The lookup from its query's rows, read in position order: the oldest link of a
    /// URL wins, as the old per-call lookup's index scan found it first.
    pub fn from_rows(mut rows: Vec<LookupRow>) -> Lookup {
        rows.sort_by_key(|row| row.3);
        let mut lookup = Lookup::default();
        for (link, key, call_id, _) in rows {
            if link {
                lookup.urls.entry(key).or_insert(call_id);
            } else {
                lookup.ids.insert(key);
            }
        }
        lookup
    }

    /// Whether step 1 or 2 finds a stored call for `call`.
    fn finds(&self, call: &Call) -> bool {
        self.ids.contains(call.id.as_str()) || listing_urls(call).any(|u| self.urls.contains_key(u))
    }
}

/// A stored call with a title key some listing of the run has, oldest first.
#[derive(Debug)]
pub(super) struct TitleCandidate {
    pub id: String,
    pub external_id: Option<String>,
    /// The run's source lists it already.
    pub listed: bool,
}

/// A row of the title-key query: key, call id, external id, listed by the run's source.
pub(super) type TitleRow = (String, String, Option<String>, bool);

/// The title-key query's rows, grouped by key in the order read.
pub(super) fn title_candidates(rows: Vec<TitleRow>) -> HashMap<String, Vec<TitleCandidate>> {
    let mut by_key: HashMap<String, Vec<TitleCandidate>> = HashMap::new();
    for (key, id, external_id, listed) in rows {
        by_key.entry(key).or_default().push(TitleCandidate {
            id,
            external_id,
            listed,
        });
    }
    by_key
}

/// The title keys whose stored candidates the run needs: those of listings that steps
/// 1 and 2 cannot place in the store (a listing placed inside the run needs none).
pub(super) fn wanted_title_keys(run: &[Call], lookup: &Lookup) -> Vec<String> {
    let mut keys: Vec<String> = run
        .iter()
        .filter(|c| !lookup.finds(c))
        .filter_map(joinable_title_key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Steps 1–3 of the identity for each call of a run of one source, in order: the call
/// it joins, or `None` for a new call.
pub(super) fn resolve(
    run: &[Call],
    mut lookup: Lookup,
    titles: &HashMap<String, Vec<TitleCandidate>>,
) -> Vec<Option<CallId>> {
    // Calls the run's source joined or inserted: listed by it from then on.
    let mut listed_now: HashSet<String> = HashSet::new();
    run.iter()
        .map(|call| {
            let found = if lookup.ids.contains(call.id.as_str()) {
                Some(call.id.0.clone())
            } else {
                listing_urls(call).find_map(|u| lookup.urls.get(u).cloned())
            };
            let found = found.or_else(|| {
                let candidates = titles.get(&joinable_title_key(call)?)?;
                let same_programme = |ext: &Option<String>| match (ext, &call.external_id) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                candidates
                    .iter()
                    .find(|c| !c.listed && !listed_now.contains(&c.id) && same_programme(&c.external_id))
                    .map(|c| c.id.clone())
            });
            let id = found.clone().unwrap_or_else(|| call.id.0.clone());
            for url in listing_urls(call) {
                lookup.urls.entry(url.to_string()).or_insert_with(|| id.clone());
            }
            lookup.ids.insert(id.clone());
            listed_now.insert(id);
            found.map(CallId)
        })
        .collect()
}

/// The fingerprint of each call of a run, computed once (the incoming one may be stale).
pub(super) fn fingerprints(run: &[Call]) -> Vec<String> {
    run.iter().map(Call::compute_fingerprint).collect()
}

/// The stored state of a call the run joins.
#[derive(Debug)]
pub(super) struct Head {
    pub fingerprint: String,
    pub content_source: String,
    pub version: i64,
    pub last_seen: DateTime<Utc>,
}

/// A row of the heads query: id, fingerprint, content source, version, last seen.
pub(super) type HeadRow = (String, String, String, i64, DateTime<Utc>);

/// The heads query's rows by call id.
pub(super) fn heads(rows: Vec<HeadRow>) -> HashMap<String, Head> {
    rows.into_iter()
        .map(|(id, fingerprint, content_source, version, last_seen)| {
            let head = Head {
                fingerprint,
                content_source,
                version,
                last_seen,
            };
            (id, head)
        })
        .collect()
}

/// The stored calls a run joins, each once, sorted: whose heads it reads.
pub(super) fn joined_ids(targets: &[Option<CallId>]) -> Vec<&str> {
    let mut joined: Vec<&str> = targets.iter().flatten().map(CallId::as_str).collect();
    joined.sort_unstable();
    joined.dedup();
    joined
}

/// The stored calls the run joins whose content an incoming listing may replace (its
/// fingerprint differs): their content is read, the others' is not.
pub(super) fn contents_needed(
    fingerprints: &[String],
    targets: &[Option<CallId>],
    heads: &HashMap<String, Head>,
) -> Vec<String> {
    let mut ids: Vec<String> = fingerprints
        .iter()
        .zip(targets)
        .filter_map(|(fingerprint, target)| {
            let id = target.as_ref()?;
            let head = heads.get(id.as_str())?;
            (head.fingerprint != *fingerprint).then(|| id.0.clone())
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The filter and sort columns derived from a call's content.
pub(super) struct Columns {
    pub title_key: String,
    pub deadline_kind: &'static str,
    pub deadline_first: Option<NaiveDate>,
    pub deadline_last: Option<NaiveDate>,
    pub deadline_annual: bool,
}

impl Columns {
    pub fn of(call: &Call) -> Columns {
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

/// A call row to insert or to update: its content as of the run's last write of it.
pub(super) struct Row {
    /// The content (links empty); `last_seen` as the JSON records it.
    pub call: Call,
    pub cols: Columns,
    pub content_source: String,
    pub version: i64,
    /// The `last_seen` column: the newest listing of the run, or the stored one.
    pub last_seen: DateTime<Utc>,
    pub json: String,
}

pub(super) struct VersionRow {
    pub call_id: CallId,
    pub version: i64,
    pub recorded_at: DateTime<Utc>,
    pub source: String,
    pub fingerprint: String,
    pub json: String,
}

pub(super) struct ChangeRow {
    pub call_id: CallId,
    pub version: i64,
    pub at: DateTime<Utc>,
    pub change: FieldChange,
}

/// One listing (source, URL) of a call; a listing named twice in a run is one row, first
/// seen at its first naming and last seen at its latest.
pub(super) struct LinkRow {
    pub call_id: CallId,
    pub source: String,
    pub url: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Every write of a run, in the order the statements must run: calls, versions, changes, links.
#[derive(Default)]
pub(super) struct Plan {
    pub outcomes: Vec<UpsertOutcome>,
    pub inserts: Vec<Row>,
    pub updates: Vec<Row>,
    /// Stored calls whose content stays, with the newest time they were listed.
    pub touches: Vec<(CallId, DateTime<Utc>)>,
    pub versions: Vec<VersionRow>,
    pub changes: Vec<ChangeRow>,
    pub links: Vec<LinkRow>,
}

/// A call as the run leaves it.
struct Slot {
    fingerprint: String,
    content_source: String,
    version: i64,
    last_seen: DateTime<Utc>,
    /// The content: read for a stored call whose content may change, set for a written one.
    current: Option<Call>,
    /// `current` as JSON, for a written call.
    json: String,
    state: SlotState,
}

#[derive(PartialEq)]
enum SlotState {
    /// Stored and not written yet.
    Stored,
    /// Stored; only seen again.
    Touched,
    /// Stored; its content changed.
    Updated,
    /// New in this run.
    Inserted,
}

/// Plans the writes of a run from its resolved targets, the heads of the stored calls
/// it joins and the contents read for [`contents_needed`].
pub(super) fn plan(
    run: &[Call],
    fingerprints: Vec<String>,
    targets: Vec<Option<CallId>>,
    heads: HashMap<String, Head>,
    mut contents: HashMap<String, Call>,
) -> StoreResult<Plan> {
    let mut slots: HashMap<CallId, Slot> = HashMap::new();
    let mut order: Vec<CallId> = Vec::new();
    let mut plan = Plan::default();
    let mut links: HashMap<(String, String), usize> = HashMap::new();
    for ((call, fingerprint), target) in run.iter().zip(fingerprints).zip(targets) {
        let outcome = match target {
            None => insert(call, fingerprint, &mut slots, &mut order, &mut plan)?,
            Some(id) => {
                if !slots.contains_key(&id) {
                    let slot = stored_slot(&id, &heads, &mut contents)?;
                    slots.insert(id.clone(), slot);
                    order.push(id.clone());
                }
                let slot = slots.get_mut(&id).expect("slot inserted above");
                merge(call, id, fingerprint, slot, &mut plan)?
            }
        };
        record_links(call, outcome.id(), &mut links, &mut plan.links);
        plan.outcomes.push(outcome);
    }
    for id in order {
        let slot = slots.remove(&id).expect("every ordered id has a slot");
        match slot.state {
            SlotState::Stored => {}
            SlotState::Touched => plan.touches.push((id, slot.last_seen)),
            SlotState::Inserted | SlotState::Updated => {
                let inserted = slot.state == SlotState::Inserted;
                let call = slot.current.expect("a written call has content");
                let row = Row {
                    cols: Columns::of(&call),
                    json: slot.json,
                    call,
                    content_source: slot.content_source,
                    version: slot.version,
                    last_seen: slot.last_seen,
                };
                if inserted { &mut plan.inserts } else { &mut plan.updates }.push(row);
            }
        }
    }
    Ok(plan)
}

fn stored_slot(id: &CallId, heads: &HashMap<String, Head>, contents: &mut HashMap<String, Call>) -> StoreResult<Slot> {
    let head = heads
        .get(id.as_str())
        .ok_or_else(|| StoreError::NotFound(format!("call {id} vanished during upsert")))?;
    Ok(Slot {
        fingerprint: head.fingerprint.clone(),
        content_source: head.content_source.clone(),
        version: head.version,
        last_seen: head.last_seen,
        current: contents.remove(id.as_str()),
        json: String::new(),
        state: SlotState::Stored,
    })
}

fn insert(
    call: &Call,
    fingerprint: String,
    slots: &mut HashMap<CallId, Slot>,
    order: &mut Vec<CallId>,
    plan: &mut Plan,
) -> StoreResult<UpsertOutcome> {
    count_call_written();
    let mut stored = call.clone();
    stored.fingerprint = fingerprint.clone();
    stored.links.clear();
    let json = to_json(&stored)?;
    plan.versions.push(VersionRow {
        call_id: call.id.clone(),
        version: 1,
        recorded_at: call.last_seen,
        source: call.source.clone(),
        fingerprint: fingerprint.clone(),
        json: json.clone(),
    });
    slots.insert(
        call.id.clone(),
        Slot {
            fingerprint,
            content_source: call.source.clone(),
            version: 1,
            last_seen: call.last_seen,
            current: Some(stored),
            json,
            state: SlotState::Inserted,
        },
    );
    order.push(call.id.clone());
    Ok(UpsertOutcome::New(call.id.clone()))
}

/// A listing of a call the run found: seen again, or its content replaces the call's
/// when its source supplies the content or it states strictly more.
fn merge(
    incoming: &Call,
    id: CallId,
    fingerprint: String,
    slot: &mut Slot,
    plan: &mut Plan,
) -> StoreResult<UpsertOutcome> {
    count_call_written();
    let may_update = fingerprint != slot.fingerprint && {
        let current = slot.current.as_ref().ok_or_else(|| StoreError::Corrupt {
            table: "calls",
            column: "json",
            message: format!("content of call {id} was not read"),
        })?;
        slot.content_source == incoming.source || richness(incoming) > richness(current)
    };
    if !may_update {
        slot.last_seen = slot.last_seen.max(incoming.last_seen);
        if slot.state == SlotState::Stored {
            slot.state = SlotState::Touched;
        }
        return Ok(UpsertOutcome::Unchanged(id));
    }
    let mut current = slot.current.take().expect("checked above");
    current.last_seen = slot.last_seen;
    let new = Call {
        id: id.clone(),
        source: current.source.clone(),
        url: current.url.clone(),
        links: Vec::new(),
        first_seen: current.first_seen,
        last_seen: current.last_seen.max(incoming.last_seen),
        fingerprint: fingerprint.clone(),
        ..incoming.clone()
    };
    let changes = diff_calls(&current, &new);
    let version = slot.version + 1;
    let json = to_json(&new)?;
    plan.versions.push(VersionRow {
        call_id: id.clone(),
        version,
        recorded_at: new.last_seen,
        source: incoming.source.clone(),
        fingerprint: fingerprint.clone(),
        json: json.clone(),
    });
    plan.changes.extend(changes.iter().map(|change| ChangeRow {
        call_id: id.clone(),
        version,
        at: new.last_seen,
        change: change.clone(),
    }));
    slot.fingerprint = fingerprint;
    slot.content_source = incoming.source.clone();
    slot.version = version;
    slot.last_seen = new.last_seen;
    slot.current = Some(new);
    slot.json = json;
    if slot.state != SlotState::Inserted {
        slot.state = SlotState::Updated;
    }
    Ok(UpsertOutcome::Changed(id, changes))
}

/// Records the incoming call's listings (its own and its links) as rows of `id`.
fn record_links(call: &Call, id: &CallId, seen: &mut HashMap<(String, String), usize>, rows: &mut Vec<LinkRow>) {
    let own = std::iter::once((call.source.as_str(), call.url.as_str()));
    for (source, url) in own.chain(call.links.iter().map(|l| (l.source.as_str(), l.url.as_str()))) {
        match seen.get(&(source.to_string(), url.to_string())) {
            Some(&at) => rows[at].last_seen = rows[at].last_seen.max(call.last_seen),
            None => {
                seen.insert((source.to_string(), url.to_string()), rows.len());
                rows.push(LinkRow {
                    call_id: id.clone(),
                    source: source.to_string(),
                    url: url.to_string(),
                    first_seen: call.last_seen,
                    last_seen: call.last_seen,
                });
            }
        }
    }
}

fn to_json(call: &Call) -> StoreResult<String> {
    serde_json::to_string(call).map_err(|e| StoreError::Corrupt {
        table: "calls",
        column: "json",
        message: e.to_string(),
    })
}

/// The runs of a batch: maximal slices of consecutive calls of one source.
pub(super) fn runs(calls: &[Call]) -> impl Iterator<Item = &[Call]> {
    calls.chunk_by(|a, b| a.source == b.source)
}
