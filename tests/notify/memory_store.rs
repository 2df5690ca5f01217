//! An in-memory `Store` with the outbox semantics the notify tests rely on
//! (enqueue marks calls notified atomically; attempts counted; failed after give-up).
//! Stages other than notify are not modelled and answer with an error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use foerderradar::collect::SourceState;
use foerderradar::model::{Call, CallId, Match};
use foerderradar::store::{
    CallFilter, ChangeEvent, NewMail, OutboxMail, OutboxStatus, RunKind, SourceHealth, SourceRun, Store, StoreError, StoreResult,
    UpsertOutcome,
};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    calls: BTreeMap<CallId, Call>,
    matches: BTreeMap<CallId, Vec<Match>>,
    notified: BTreeSet<(String, CallId)>,
    outbox: Vec<OutboxMail>,
}

fn unsupported<T>(what: &str) -> StoreResult<T> {
    Err(StoreError::NotFound(format!("{what} is not modelled by the notify test store")))
}

impl Store for MemoryStore {
    async fn upsert_call(&self, call: &Call) -> StoreResult<UpsertOutcome> {
        let mut inner = self.inner.lock().unwrap();
        let new = inner.calls.insert(call.id.clone(), call.clone()).is_none();
        Ok(if new { UpsertOutcome::New(call.id.clone()) } else { UpsertOutcome::Unchanged(call.id.clone()) })
    }
    async fn get_call(&self, id: &CallId) -> StoreResult<Option<Call>> {
        Ok(self.inner.lock().unwrap().calls.get(id).cloned())
    }
    async fn find_call(&self, id_or_prefix: &str) -> StoreResult<Option<Call>> {
        Ok(self.inner.lock().unwrap().calls.values().find(|c| c.id.as_str().starts_with(id_or_prefix)).cloned())
    }
    async fn list_calls(&self, _filter: &CallFilter) -> StoreResult<Vec<Call>> {
        Ok(self.inner.lock().unwrap().calls.values().cloned().collect())
    }
    async fn call_versions(&self, _id: &CallId) -> StoreResult<Vec<(DateTime<Utc>, Call)>> {
        unsupported("call_versions")
    }
    async fn changes_since(&self, _since: DateTime<Utc>) -> StoreResult<Vec<ChangeEvent>> {
        Ok(Vec::new())
    }
    async fn source_state(&self, _source: &str) -> StoreResult<SourceState> {
        unsupported("source_state")
    }
    async fn save_source_state(&self, _source: &str, _state: &SourceState) -> StoreResult<()> {
        unsupported("save_source_state")
    }
    async fn record_source_run(&self, _run: &SourceRun, _broken_after: u32) -> StoreResult<SourceHealth> {
        unsupported("record_source_run")
    }
    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        unsupported("source_health")
    }
    async fn replace_matches(&self, call: &CallId, matches: &[Match]) -> StoreResult<()> {
        self.inner.lock().unwrap().matches.insert(call.clone(), matches.to_vec());
        Ok(())
    }
    async fn matches_for(&self, call: &CallId) -> StoreResult<Vec<Match>> {
        Ok(self.inner.lock().unwrap().matches.get(call).cloned().unwrap_or_default())
    }
    async fn passed_matches(&self) -> StoreResult<Vec<Match>> {
        Ok(self.inner.lock().unwrap().matches.values().flatten().filter(|m| m.passed).cloned().collect())
    }
    async fn notified_calls(&self, contact: &str) -> StoreResult<Vec<CallId>> {
        let inner = self.inner.lock().unwrap();
        Ok(inner.notified.iter().filter(|(c, _)| c == contact).map(|(_, id)| id.clone()).collect())
    }
    async fn enqueue_mail(&self, mail: &NewMail, now: DateTime<Utc>) -> StoreResult<i64> {
        let mut inner = self.inner.lock().unwrap();
        let id = inner.outbox.len() as i64 + 1;
        for call in &mail.calls {
            inner.notified.insert((mail.contact.clone(), call.clone()));
        }
        inner.outbox.push(OutboxMail {
            id,
            contact: mail.contact.clone(),
            kommune: mail.kommune.clone(),
            subject: mail.subject.clone(),
            message: mail.message.clone(),
            calls: mail.calls.clone(),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt: now,
            last_error: None,
            created: now,
            sent: None,
        });
        Ok(id)
    }
    async fn due_mails(&self, now: DateTime<Utc>) -> StoreResult<Vec<OutboxMail>> {
        let inner = self.inner.lock().unwrap();
        Ok(inner.outbox.iter().filter(|m| m.status == OutboxStatus::Pending && m.next_attempt <= now).cloned().collect())
    }
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let mut inner = self.inner.lock().unwrap();
        let mail = inner.outbox.iter_mut().find(|m| m.id == id).ok_or_else(|| StoreError::NotFound(format!("mail {id}")))?;
        mail.status = OutboxStatus::Sent;
        mail.sent = Some(at);
        Ok(())
    }
    async fn mark_attempt_failed(&self, id: i64, error: &str, next_attempt: Option<DateTime<Utc>>) -> StoreResult<()> {
        let mut inner = self.inner.lock().unwrap();
        let mail = inner.outbox.iter_mut().find(|m| m.id == id).ok_or_else(|| StoreError::NotFound(format!("mail {id}")))?;
        mail.attempts += 1;
        mail.last_error = Some(error.to_string());
        match next_attempt {
            Some(at) => mail.next_attempt = at,
            None => mail.status = OutboxStatus::Failed,
        }
        Ok(())
    }
    async fn outbox(&self, status: Option<OutboxStatus>) -> StoreResult<Vec<OutboxMail>> {
        let inner = self.inner.lock().unwrap();
        Ok(inner.outbox.iter().filter(|m| status.is_none_or(|s| m.status == s)).cloned().collect())
    }
    async fn start_run(&self, _kind: RunKind, _at: DateTime<Utc>) -> StoreResult<i64> {
        unsupported("start_run")
    }
    async fn finish_run(&self, _id: i64, _at: DateTime<Utc>, _ok: bool, _summary: &serde_json::Value) -> StoreResult<()> {
        unsupported("finish_run")
    }
}
