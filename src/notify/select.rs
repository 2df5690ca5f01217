//! What goes into a contact's next digest: calls new to the contact, change notices
//! and reminders for calls it received, the cadence and urgency that decide whether
//! anything goes out today, and the state the digest leaves behind.
//!
//! Rules (issue 8):
//! - The first digest of a contact is an overview of the `first_digest_max` most
//!   relevant open calls; every other matching call is recorded as known.
//! - A regular digest goes out when the cadence says so (or with `notify --now`);
//!   on other runs only urgent items go out: new or changed calls closing within
//!   `urgent_days`, and reminders inside the last reminder offset.
//! - Change notices compare the call's facts with those last sent; a version already
//!   announced once is never announced again (a flip-flopping call), and a change
//!   that reverts before the next digest is never seen.
//! - Feedback hides calls everywhere: dismissed calls, muted funders, and calls whose
//!   every match for the contact is in a muted project or Handlungsfeld.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use super::NotifyError;
use super::digest::Recipient;
use crate::config::{Config, DigestSettings};
use crate::model::contact::ContactSettings;
use crate::model::facts::{CallFacts, FactChange, FactKind};
use crate::model::feedback::FeedbackSet;
use crate::model::{Call, CallId, Match};
use crate::store::{DigestUpdate, SentCall, Store};

/// Versions of a call's facts remembered per contact for the debounce.
const SEEN_VERSIONS: usize = 8;
/// Calls whose matches' reasons are read in one query (each call has up to one match
/// per followed profile and Kommune).
const REASONS_CHUNK: usize = 200;
/// Calls read in one statement.
const CALLS_CHUNK: usize = 500;
/// Matches with reasons kept between digests of one pass (about 1 KB each).
const FULL_MATCHES_MAX: usize = 50_000;

/// Which items a pass sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanMode {
    /// Digests whose cadence is due, plus urgent items for everybody (`notify`, `run`).
    #[default]
    Due,
    /// Every pending item regardless of cadence (`notify --now`).
    Now,
}

/// A call with the matches that concern the recipient (strongest first).
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub call: Arc<Call>,
    /// Shared with the pass's cache of passed matches: a match is read once, not copied per contact.
    pub matches: Vec<Arc<Match>>,
    pub score: f64,
    pub days_left: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct ChangeNotice {
    pub call: Arc<Call>,
    pub changes: Vec<FactChange>,
}

#[derive(Debug, Clone)]
pub(crate) struct Reminder {
    pub call: Arc<Call>,
    pub days_left: i64,
}

/// One recipient's next digest, before rendering.
pub(crate) struct PendingDigest<'a> {
    pub recipient: Recipient<'a>,
    pub overview: bool,
    /// Listed new calls.
    pub new: Vec<Candidate>,
    /// New calls not listed: counted, and in the attachment.
    pub rest: Vec<Candidate>,
    pub changes: Vec<ChangeNotice>,
    pub reminders: Vec<Reminder>,
    pub update: DigestUpdate,
    /// Change notices or reminders beyond the cap wait for the next digest: a plan right
    /// after this one would find them.
    pub held_back: bool,
}

impl PendingDigest<'_> {
    /// What the attached full list depends on: the recipient's Kommunen and interests,
    /// and each call with the matches shown for it. Contacts with equal keys get the same
    /// list, rendered once per pass.
    pub fn list_key(&self, today: NaiveDate) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        today.hash(&mut h);
        for (k, c) in &self.recipient.roles {
            k.id.hash(&mut h);
            format!("{:?}", c.interests).hash(&mut h);
        }
        for c in self.new.iter().chain(&self.rest) {
            c.call.id.hash(&mut h);
            for m in &c.matches {
                m.handlungsfeld.hash(&mut h);
                m.project.hash(&mut h);
                m.score.to_bits().hash(&mut h);
            }
        }
        h.finish()
    }

    /// Calls named as new (listed or counted), for the outbox record.
    pub fn new_calls(&self) -> Vec<CallId> {
        let mut ids: Vec<CallId> = self.new.iter().map(|c| c.call.id.clone()).collect();
        if !self.overview {
            ids.extend(self.rest.iter().map(|c| c.call.id.clone()));
        }
        ids
    }
}

/// Selects one recipient's digest at a time; remembers calls and matches across recipients.
pub(crate) struct Selector<'c> {
    today: NaiveDate,
    mode: PlanMode,
    settings: &'c DigestSettings,
    calls: HashMap<CallId, Option<Arc<Call>>>,
    /// Passed matches (without reasons), read once per pass.
    passed: Option<Passed>,
    closed: HashSet<CallId>,
    /// Passed matches with their reasons, read for earlier digests of this pass.
    full: HashMap<MatchKey, Arc<Match>>,
}

/// A match's identity within a pass: its call and what it is a match of.
#[derive(PartialEq, Eq, Hash)]
struct MatchKey(CallId, String, Option<String>);

impl MatchKey {
    fn of(m: &Match) -> MatchKey {
        MatchKey(m.call_id.clone(), m.handlungsfeld.clone(), m.project.clone())
    }
}

/// The pass's passed matches, without their reasons (a Land's million and a half
/// matches would take gigabytes with them), by call and by Kommune.
#[derive(Default)]
struct Passed {
    /// Sorted by call id; each call's matches strongest first.
    calls: Vec<(CallId, Vec<Arc<Match>>)>,
    /// Positions in `calls` of the calls routed to each Kommune, ascending: a contact's
    /// candidates are read from its Kommunen's lists, not from every passed match.
    by_kommune: HashMap<String, Vec<u32>>,
}

impl Passed {
    fn new(mut heads: Vec<Match>) -> Passed {
        heads.retain(|m| m.passed);
        // The store reads them by call: sorting sorted rows is one pass, and a stable sort
        // keeps each call's matches in the order they came.
        heads.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        let mut calls: Vec<(CallId, Vec<Arc<Match>>)> = Vec::new();
        for m in heads {
            match calls.last_mut() {
                Some((id, ms)) if *id == m.call_id => ms.push(Arc::new(m)),
                _ => calls.push((m.call_id.clone(), vec![Arc::new(m)])),
            }
        }
        let mut by_kommune: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, (_, ms)) in calls.iter_mut().enumerate() {
            ms.sort_by(|a, b| b.score.total_cmp(&a.score));
            let i = u32::try_from(i).expect("fewer than 4 billion calls");
            for k in ms.iter().flat_map(|m| &m.kommunen) {
                // A Kommune's name is copied once, not once per match routed to it.
                let list = match by_kommune.get_mut(k) {
                    Some(list) => list,
                    None => by_kommune.entry(k.clone()).or_default(),
                };
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        Passed { calls, by_kommune }
    }

    fn of(&self, call: &CallId) -> Option<&[Arc<Match>]> {
        let i = self.calls.binary_search_by(|(id, _)| id.cmp(call)).ok()?;
        Some(&self.calls[i].1)
    }

    /// Calls routed to any of `kommunen`, in call id order.
    fn routed_to(&self, kommunen: &[String]) -> impl Iterator<Item = &(CallId, Vec<Arc<Match>>)> {
        let mut positions: Vec<u32> = kommunen
            .iter()
            .filter_map(|k| self.by_kommune.get(k))
            .flatten()
            .copied()
            .collect();
        positions.sort_unstable();
        positions.dedup();
        positions.into_iter().map(|i| &self.calls[i as usize])
    }
}

impl<'c> Selector<'c> {
    pub(crate) fn new(config: &'c Config, today: NaiveDate, mode: PlanMode) -> Selector<'c> {
        Selector {
            today,
            mode,
            settings: &config.service.digest,
            calls: HashMap::new(),
            passed: None,
            closed: HashSet::new(),
            full: HashMap::new(),
        }
    }

    pub(crate) fn closed_skipped(&self) -> usize {
        self.closed.len()
    }

    /// Reads the calls of `ids` that this pass has not read yet, [`CALLS_CHUNK`] per
    /// statement. A digest shows title, summary and facts, never the full text, so
    /// the text is dropped at once.
    async fn load_calls<S: Store>(&mut self, store: &S, ids: &[&CallId]) -> Result<(), NotifyError> {
        let missing: Vec<CallId> = ids
            .iter()
            .filter(|id| !self.calls.contains_key(**id))
            .map(|id| (*id).clone())
            .collect();
        for chunk in missing.chunks(CALLS_CHUNK) {
            for call in store.get_calls(chunk).await? {
                let call = Call {
                    text: String::new(),
                    ..call
                };
                self.calls.insert(call.id.clone(), Some(Arc::new(call)));
            }
            for id in chunk {
                if !self.calls.contains_key(id) {
                    tracing::warn!(call = %id, "passed match refers to a call that is not stored; skipped");
                    self.calls.insert(id.clone(), None);
                }
            }
        }
        Ok(())
    }

    /// A call read by [`Selector::load_calls`]; `None` when it is not stored.
    fn loaded(&self, id: &CallId) -> Option<Arc<Call>> {
        self.calls.get(id).cloned().flatten()
    }

    async fn passed<S: Store>(&mut self, store: &S) -> Result<&Passed, NotifyError> {
        if self.passed.is_none() {
            self.passed = Some(Passed::new(store.passed_match_heads().await?));
        }
        Ok(self.passed.as_ref().expect("just filled"))
    }

    /// The selector holds matches without their reasons; the calls of one digest get
    /// theirs here, just before it is rendered. Read matches are kept for the next
    /// digests (contacts of one Kommune share most calls) up to [`FULL_MATCHES_MAX`];
    /// beyond that the cache starts afresh, so that a Land's matches never all sit in
    /// memory with their reasons.
    async fn add_reasons<S: Store>(&mut self, store: &S, pending: &mut PendingDigest<'_>) -> Result<(), NotifyError> {
        let kommunen = pending.recipient.kommune_ids();
        let mut candidates: Vec<&mut Candidate> = pending.new.iter_mut().chain(pending.rest.iter_mut()).collect();
        let mut missing: Vec<CallId> = candidates
            .iter()
            .filter(|c| c.matches.iter().any(|m| !self.full.contains_key(&MatchKey::of(m))))
            .map(|c| c.call.id.clone())
            .collect();
        // A call brings a few matches routed to the contact's Kommunen.
        if self.full.len() + missing.len() * 4 > FULL_MATCHES_MAX {
            self.full.clear();
            missing = candidates.iter().map(|c| c.call.id.clone()).collect();
        }
        for chunk in missing.chunks(REASONS_CHUNK) {
            for m in store.passed_matches_of(chunk, &kommunen).await? {
                self.full.insert(MatchKey::of(&m), Arc::new(m));
            }
        }
        for c in &mut candidates {
            for m in &mut c.matches {
                if let Some(full) = self.full.get(&MatchKey::of(m)) {
                    *m = Arc::clone(full);
                }
            }
        }
        Ok(())
    }

    /// The recipient's next digest, if one goes out on this run.
    pub(crate) async fn pending<'a, S: Store>(
        &mut self,
        store: &S,
        recipient: Recipient<'a>,
    ) -> Result<Option<PendingDigest<'a>>, NotifyError> {
        let own = store.contact_settings(&recipient.email).await?;
        if recipient.paused(self.today) || own.as_ref().is_some_and(|s| s.silenced(self.today)) {
            return Ok(None);
        }
        let cadence = own
            .as_ref()
            .and_then(|s| s.cadence)
            .unwrap_or_else(|| recipient.cadence());
        let kommunen = recipient.kommune_ids();
        let feedback = store.feedback_set(&recipient.email, &kommunen).await?;
        let state = store.digest_state(&recipient.email).await?;
        let first = state.is_first();
        let view = View {
            recipient: &recipient,
            own: own.as_ref(),
            feedback: &feedback,
        };

        // Calls new to the contact.
        let passed = self.passed(store).await?;
        let fresh: Vec<(CallId, Vec<Arc<Match>>)> = passed
            .routed_to(&kommunen)
            .filter(|(id, _)| !state.notified.contains(id))
            .filter_map(|(id, ms)| {
                let visible = view.visible(ms);
                (!visible.is_empty()).then(|| (id.clone(), visible))
            })
            .collect();
        let ids: Vec<&CallId> = fresh.iter().map(|(id, _)| id).collect();
        self.load_calls(store, &ids).await?;
        let mut new = Vec::new();
        for (id, matches) in fresh {
            let Some(call) = self.loaded(&id) else {
                continue;
            };
            if feedback.hides_call(&call) {
                continue;
            }
            if !call.is_open(self.today) {
                self.closed.insert(id);
                continue;
            }
            new.push(Candidate {
                score: matches.first().map_or(0.0, |m| m.score),
                days_left: call.deadline.days_left(self.today),
                call,
                matches,
            });
        }
        new.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.days_left.unwrap_or(i64::MAX).cmp(&b.days_left.unwrap_or(i64::MAX)))
                .then_with(|| a.call.title.cmp(&b.call.title))
        });

        let mut rows: HashMap<CallId, SentCall> = HashMap::new();
        // Rows that only follow a call back to a version already announced.
        let mut silent: HashSet<CallId> = HashSet::new();
        let mut changes = Vec::new();
        let mut reminders = Vec::new();
        if !first {
            let mut received: Vec<&SentCall> = state.calls.values().filter(|s| s.received).collect();
            received.sort_by(|a, b| a.call_id.cmp(&b.call_id));
            let ids: Vec<&CallId> = received.iter().map(|s| &s.call_id).collect();
            self.load_calls(store, &ids).await?;
            for sent in received {
                let Some(call) = self.loaded(&sent.call_id) else {
                    continue;
                };
                let all = self.passed.as_ref().and_then(|p| p.of(&sent.call_id));
                let covering: Vec<&Arc<Match>> = all.into_iter().flatten().filter(|m| view.covers(m)).collect();
                let matches: Vec<Arc<Match>> = covering
                    .iter()
                    .filter(|m| !feedback.hides_match(m))
                    .map(|m| Arc::clone(m))
                    .collect();
                // Dismissed, muted funder, or every match muted: never back.
                if feedback.hides_call(&call) || (!covering.is_empty() && matches.is_empty()) {
                    continue;
                }
                let facts = CallFacts::of(&call);
                if facts != sent.facts {
                    let mut row = sent.clone();
                    row.facts = facts.clone();
                    if sent.seen.contains(&facts) {
                        silent.insert(sent.call_id.clone());
                    } else {
                        let mut found = facts.changes_since(&sent.facts);
                        // A call closed after its last deadline did not close early.
                        if !call.deadline.is_open(self.today) {
                            found.retain(|c| c.kind != FactKind::ClosedEarly);
                        }
                        if found.is_empty() {
                            silent.insert(sent.call_id.clone());
                        } else {
                            changes.push(ChangeNotice {
                                call: call.clone(),
                                changes: found,
                            });
                        }
                        row.seen.push(facts);
                        if row.seen.len() > SEEN_VERSIONS {
                            row.seen.remove(0);
                        }
                    }
                    rows.insert(row.call_id.clone(), row);
                }
                if let Some((days, keys)) = self.reminder_due(&call, sent) {
                    reminders.push(Reminder {
                        call: call.clone(),
                        days_left: days,
                    });
                    silent.remove(&sent.call_id);
                    let row = rows.entry(sent.call_id.clone()).or_insert_with(|| sent.clone());
                    row.reminders.extend(keys);
                }
            }
        }

        let due = first || self.mode == PlanMode::Now || cadence.is_due(self.today, state.last_digest);
        if !due {
            // Only urgent items go out; the rest waits for the contact's day.
            let urgent_days = self.settings.urgent_days;
            let urgent = |d: Option<i64>| d.is_some_and(|d| d <= urgent_days);
            new.retain(|c| urgent(c.days_left));
            let changed: HashSet<CallId> = changes
                .iter()
                .filter(|c| urgent(c.call.deadline.days_left(self.today)))
                .map(|c| c.call.id.clone())
                .collect();
            changes.retain(|c| changed.contains(&c.call.id));
            let last_offset = self.settings.reminder_days.iter().copied().min().unwrap_or(0);
            let reminded: HashSet<CallId> = reminders
                .iter()
                .filter(|r| r.days_left <= last_offset)
                .map(|r| r.call.id.clone())
                .collect();
            reminders.retain(|r| reminded.contains(&r.call.id));
            // Rows of items held back stay as they are, so that they come on the due day.
            rows.retain(|id, _| changed.contains(id) || reminded.contains(id) || silent.contains(id));
        }
        if new.is_empty() && changes.is_empty() && reminders.is_empty() {
            return Ok(None);
        }

        let max = if first {
            self.settings.first_digest_max
        } else {
            self.settings.max_items
        };
        let notices = changes.len() + reminders.len();
        changes.truncate(max);
        reminders.truncate(max - changes.len());
        let held_back = changes.len() + reminders.len() < notices;
        // Notices beyond the cap come in the next digest: their rows stay as they are.
        let kept: HashSet<&CallId> = changes
            .iter()
            .map(|c| &c.call.id)
            .chain(reminders.iter().map(|r| &r.call.id))
            .collect();
        rows.retain(|id, _| kept.contains(id) || silent.contains(id));
        let room = max - changes.len() - reminders.len();
        let rest = if new.len() > room {
            new.split_off(room)
        } else {
            Vec::new()
        };
        // The rest of an overview is only known (in `notified`): it gets no reminders and
        // no change notices, so it needs no state row.
        let counted: &[Candidate] = if first { &[] } else { &rest };
        for c in new.iter().chain(counted) {
            let facts = CallFacts::of(&c.call);
            rows.insert(
                c.call.id.clone(),
                SentCall {
                    call_id: c.call.id.clone(),
                    received: true,
                    seen: vec![facts.clone()],
                    facts,
                    // Offsets already passed are not reminded: the call was just sent.
                    reminders: self.passed_offsets(&c.call),
                },
            );
        }
        let mut calls: Vec<SentCall> = rows.into_values().collect();
        calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        let update = DigestUpdate {
            known: if first {
                rest.iter().map(|c| c.call.id.clone()).collect()
            } else {
                Vec::new()
            },
            calls,
            digest_day: due.then_some(self.today),
            own_plan: self.mode == PlanMode::Due,
        };
        let mut pending = PendingDigest {
            recipient,
            overview: first,
            new,
            rest,
            changes,
            reminders,
            update,
            held_back,
        };
        self.add_reasons(store, &mut pending).await?;
        Ok(Some(pending))
    }

    /// The reminder due for a received call, with the keys to record: the smallest
    /// offset the deadline is inside of, unless that one was sent for this date.
    fn reminder_due(&self, call: &Call, sent: &SentCall) -> Option<(i64, Vec<String>)> {
        if !call.is_open(self.today) {
            return None;
        }
        let days = call.deadline.days_left(self.today)?;
        let keys = self.offset_keys(call, days);
        let last = keys.last()?;
        (!sent.reminders.contains(last)).then_some((days, keys))
    }

    fn passed_offsets(&self, call: &Call) -> Vec<String> {
        call.deadline
            .days_left(self.today)
            .map(|days| self.offset_keys(call, days))
            .unwrap_or_default()
    }

    /// "2026-03-31:28", "2026-03-31:7" for the offsets `days` is inside of, largest first.
    fn offset_keys(&self, call: &Call, days: i64) -> Vec<String> {
        let Some(date) = call.deadline.next_date(self.today) else {
            return Vec::new();
        };
        self.settings
            .reminder_days
            .iter()
            .filter(|o| days <= **o)
            .map(|o| format!("{date}:{o}"))
            .collect()
    }
}

/// What one contact sees of the matches.
struct View<'r, 'a> {
    recipient: &'r Recipient<'a>,
    own: Option<&'r ContactSettings>,
    feedback: &'r FeedbackSet,
}

impl View<'_, '_> {
    /// Routed to one of the contact's Kommunen, subscribed, and still followed.
    fn covers(&self, m: &Match) -> bool {
        self.recipient.covers(m) && self.own.is_none_or(|s| s.follows(&m.handlungsfeld))
    }

    fn visible(&self, matches: &[Arc<Match>]) -> Vec<Arc<Match>> {
        matches
            .iter()
            .filter(|m| self.covers(m) && !self.feedback.hides_match(m))
            .cloned()
            .collect()
    }
}

/// Selects every recipient's digest (for a preview).
pub(crate) async fn select<'a, S: Store>(
    store: &S,
    config: &'a Config,
    today: NaiveDate,
    mode: PlanMode,
) -> Result<(Vec<PendingDigest<'a>>, usize), NotifyError> {
    let mut selector = Selector::new(config, today, mode);
    let mut out = Vec::new();
    for recipient in super::digest::recipients(config) {
        if let Some(p) = selector.pending(store, recipient).await? {
            out.push(p);
        }
    }
    Ok((out, selector.closed_skipped()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(call: &str, field: &str, score: f64, passed: bool, kommunen: &[&str]) -> Match {
        Match {
            call_id: CallId(call.into()),
            handlungsfeld: field.into(),
            project: None,
            score,
            threshold: 1.0,
            passed,
            kommunen: kommunen.iter().map(|k| k.to_string()).collect(),
            reasons: Vec::new(),
        }
    }

    /// By call id, strongest first (ties in the order read), failed matches left out, and
    /// each Kommune's calls found through its own list.
    #[test]
    fn passed_heads_are_grouped_by_call_and_routed_by_kommune() {
        let passed = Passed::new(vec![
            head("c-b", "verwaltung", 2.0, true, &["ahlen"]),
            head("c-a", "klima", 1.5, true, &["ahlen", "oelde"]),
            head("c-b", "klima", 3.0, true, &["ahlen", "telgte"]),
            head("c-a", "familie", 1.5, true, &["oelde"]),
            head("c-c", "klima", 9.0, false, &["ahlen"]),
            head("c-a", "wirtschaft", 4.0, true, &["oelde"]),
        ]);
        let fields = |call: &str| -> Vec<String> {
            let ms = passed.of(&CallId(call.into())).unwrap_or_default();
            ms.iter().map(|m| m.handlungsfeld.clone()).collect()
        };
        assert_eq!(fields("c-a"), ["wirtschaft", "klima", "familie"]);
        assert_eq!(fields("c-b"), ["klima", "verwaltung"]);
        assert!(fields("c-c").is_empty(), "a failed match is no candidate");
        let routed = |kommunen: &[&str]| -> Vec<String> {
            let kommunen: Vec<String> = kommunen.iter().map(|k| k.to_string()).collect();
            passed.routed_to(&kommunen).map(|(id, _)| id.0.clone()).collect()
        };
        assert_eq!(routed(&["ahlen"]), ["c-a", "c-b"]);
        assert_eq!(routed(&["telgte"]), ["c-b"]);
        assert_eq!(routed(&["oelde", "telgte"]), ["c-a", "c-b"]);
        assert!(routed(&["beckum"]).is_empty());
    }
}
