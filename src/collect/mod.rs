//! Collecting calls from sources.
//!
//! Sources are data (`[[source]]` in `sources.toml`); there is one shared,
//! polite fetcher ([`Fetcher`]: per-host limits, robots.txt, retries for
//! transient errors, conditional GET, body cap) and one small parser per kind:
//! `rss`, `foerderdatenbank`, `eu-sedia`, `html`. A failing source is reported
//! in its [`SourceOutcome`] and never stops the others.
//!
//! Adding a kind: write `src/collect/<kind>.rs` with an options struct
//! (serde, `deny_unknown_fields`) and an `async fn collect(ctx) -> Result<Vec<Call>, CollectError>`,
//! add a variant to [`SourceKind`], and a fixture test in `tests/`.

pub mod extract;
pub mod foerderdatenbank;
pub mod html;
mod http;
pub mod identity;
pub mod rss;
pub mod sedia;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use http::{FetchError, Fetched, Fetcher};

use crate::config::SourceConfig;
use crate::model::Call;

/// Kind-specific source settings.
#[derive(Debug, Clone)]
pub enum SourceKind {
    Rss(rss::RssOptions),
    Foerderdatenbank(foerderdatenbank::FdbOptions),
    EuSedia(sedia::SediaOptions),
    Html(html::HtmlOptions),
}

impl SourceKind {
    pub const NAMES: [&'static str; 4] = ["rss", "foerderdatenbank", "eu-sedia", "html"];

    /// Builds the kind from its name and the remaining keys of the `[[source]]`
    /// table (everything except the common keys). Unknown keys are errors.
    pub fn from_table(kind: &str, table: toml::Table) -> Result<SourceKind, String> {
        let value = toml::Value::Table(table);
        match kind {
            "rss" => value.try_into().map(SourceKind::Rss),
            "foerderdatenbank" => value.try_into().map(SourceKind::Foerderdatenbank),
            "eu-sedia" => value.try_into().map(SourceKind::EuSedia),
            "html" => value.try_into().map(SourceKind::Html),
            other => return Err(format!("unknown kind '{other}' (known: {})", Self::NAMES.join(", "))),
        }
        .map_err(|e| e.to_string())
    }

    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Rss(_) => "rss",
            SourceKind::Foerderdatenbank(_) => "foerderdatenbank",
            SourceKind::EuSedia(_) => "eu-sedia",
            SourceKind::Html(_) => "html",
        }
    }
}

/// Conditional-GET validators of one URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a source remembers between passes (stored as JSON by the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Validators per fetched URL.
    #[serde(default)]
    pub validators: BTreeMap<String, Validators>,
    /// Kind-specific memory, e.g. list-card signatures per detail URL.
    #[serde(default)]
    pub memo: BTreeMap<String, String>,
}

/// Everything a kind's parser gets for one pass.
pub struct CollectContext<'a> {
    pub fetcher: &'a Fetcher,
    pub source: &'a SourceConfig,
    /// State from the last pass; the kind updates it in place.
    pub state: SourceState,
    /// Calls this source delivered before, by canonical URL, so that unchanged
    /// detail pages need not be fetched again (304 or unchanged list card).
    pub prior: HashMap<String, Call>,
    pub now: DateTime<Utc>,
}

/// Why a source failed in a pass.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The page or feed was fetched but is not what the kind expects.
    #[error("{url}: cannot parse: {message}")]
    Parse { url: String, message: String },
    #[error("time budget of {0:?} exhausted")]
    Budget(Duration),
}

/// The result of one source in one pass.
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    pub source: String,
    pub calls: Vec<Call>,
    pub state: SourceState,
    /// Set when the source failed; the calls gathered before the failure are kept.
    pub error: Option<String>,
    pub requests: u32,
    pub not_modified: u32,
    pub duration: Duration,
}
