//! What a source delivered before: its calls, and the fields its entries gave
//! ([`FieldMemo`]). A pass in which a source answers 304 needs neither, so the store
//! counts the calls up front and loads a source's calls or memo only when its collector
//! asks (a changed page, a detail to reuse).

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::CollectError;
use super::fields::FieldMemo;
use crate::model::Call;

/// A collector's request for what its source delivered before.
pub struct PriorRequest {
    pub source: String,
    pub wants: Wanted,
}

/// What a [`PriorRequest`] asks for, with the channel for the answer.
pub enum Wanted {
    /// The calls, by canonical URL.
    Calls(oneshot::Sender<Result<HashMap<String, Call>, String>>),
    /// The stored field memo: fields as JSON by entry key.
    Fields(oneshot::Sender<Result<HashMap<String, String>, String>>),
}

/// Where a pass gets each source's earlier calls.
pub enum Priors {
    /// Given up front (tests, tools); no field memo.
    Loaded(HashMap<String, HashMap<String, Call>>),
    /// Counted up front; the receiver of `requests` loads a source's calls on request.
    OnRequest {
        counts: HashMap<String, usize>,
        requests: mpsc::UnboundedSender<PriorRequest>,
    },
}

impl Priors {
    /// No source has delivered anything before.
    pub fn none() -> Priors {
        Priors::Loaded(HashMap::new())
    }

    /// Counted priors and the receiver that must answer their requests while the pass runs.
    pub fn on_request(counts: HashMap<String, usize>) -> (Priors, mpsc::UnboundedReceiver<PriorRequest>) {
        let (requests, receiver) = mpsc::unbounded_channel();
        (Priors::OnRequest { counts, requests }, receiver)
    }

    pub(super) fn take(&mut self, source: &str) -> Prior {
        match self {
            Priors::Loaded(all) => Prior::loaded(all.remove(source).unwrap_or_default()),
            Priors::OnRequest { counts, requests } => match counts.get(source).copied().unwrap_or(0) {
                0 => Prior::default(),
                count => Prior {
                    count,
                    calls: HashMap::new(),
                    pending: Some(requests.clone()),
                    requests: Some(requests.clone()),
                },
            },
        }
    }
}

/// One source's earlier calls: how many there are, and (once loaded) the calls.
#[derive(Default)]
pub struct Prior {
    count: usize,
    calls: HashMap<String, Call>,
    /// Set while the calls are counted but not loaded.
    pending: Option<mpsc::UnboundedSender<PriorRequest>>,
    /// Where to ask for the field memo; `None` when the source delivered nothing before.
    requests: Option<mpsc::UnboundedSender<PriorRequest>>,
}

impl Prior {
    pub fn loaded(calls: HashMap<String, Call>) -> Prior {
        Prior {
            count: calls.len(),
            calls,
            pending: None,
            requests: None,
        }
    }

    /// Whether the source delivered calls before (known without loading them).
    pub fn exists(&self) -> bool {
        self.count > 0
    }

    /// The earlier call with this canonical URL; `None` until [`Prior::load`] ran for a
    /// counted prior.
    pub fn get(&self, url: &str) -> Option<&Call> {
        self.calls.get(url)
    }

    /// Loads the calls if they were only counted; a no-op afterwards.
    pub async fn load(&mut self, source: &str) -> Result<(), CollectError> {
        let Some(requests) = self.pending.take() else {
            return Ok(());
        };
        self.calls = ask(&requests, source, Wanted::Calls).await?;
        self.count = self.calls.len();
        Ok(())
    }

    /// The source's field memo as stored; empty when it delivered nothing before (or
    /// the pass has no store to ask).
    pub async fn fields(&self, source: &str) -> Result<FieldMemo, CollectError> {
        let Some(requests) = &self.requests else {
            return Ok(FieldMemo::default());
        };
        Ok(FieldMemo::from_stored(ask(requests, source, Wanted::Fields).await?))
    }
}

/// Sends one request and waits for its answer.
async fn ask<T>(
    requests: &mpsc::UnboundedSender<PriorRequest>,
    source: &str,
    wants: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Wanted,
) -> Result<T, CollectError> {
    let (reply, answer) = oneshot::channel();
    let request = PriorRequest {
        source: source.to_string(),
        wants: wants(reply),
    };
    let loaded = match requests.send(request) {
        Ok(()) => answer.await.map_err(|_| "the store did not answer".to_string()),
        Err(_) => Err("the store is no longer listening".to_string()),
    };
    loaded
        .and_then(|r| r)
        .map_err(|message| CollectError::Prior { message })
}
