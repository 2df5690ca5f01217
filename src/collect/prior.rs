//! The calls a source delivered before. A pass in which a source answers 304 never
//! needs them, so the store counts them up front and loads a source's calls only when
//! its collector asks (a changed page, a detail to reuse).

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::CollectError;
use crate::model::Call;

/// A collector's request for the calls its source delivered before, by canonical URL.
pub struct PriorRequest {
    pub source: String,
    pub reply: oneshot::Sender<Result<HashMap<String, Call>, String>>,
}

/// Where a pass gets each source's earlier calls.
pub enum Priors {
    /// Given up front (tests, tools).
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
    pending: Option<mpsc::UnboundedSender<PriorRequest>>,
}

impl Prior {
    pub fn loaded(calls: HashMap<String, Call>) -> Prior {
        Prior {
            count: calls.len(),
            calls,
            pending: None,
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
        let (reply, answer) = oneshot::channel();
        let request = PriorRequest {
            source: source.to_string(),
            reply,
        };
        let loaded = match requests.send(request) {
            Ok(()) => answer.await.map_err(|_| "the store did not answer".to_string()),
            Err(_) => Err("the store is no longer listening".to_string()),
        };
        self.calls = loaded
            .and_then(|r| r)
            .map_err(|message| CollectError::Prior { message })?;
        self.count = self.calls.len();
        Ok(())
    }
}
