//! `[[source]] kind = "foerderdatenbank"` settings, and what such a source
//! remembers between passes ([`FdbMemo`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use super::bounded;
use super::memo::Signature;

/// `[[source]] kind = "foerderdatenbank"` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdbOptions {
    /// Result pages to follow at most (10 cards each); 1 to [`MAX_PAGES`].
    #[serde(default = "default_max_pages", deserialize_with = "bounded::<_, 1, MAX_PAGES>")]
    pub max_pages: u32,
    /// Read each programme's detail page (default). Without it calls carry only
    /// the card's title, applicants and topics.
    #[serde(default = "default_true")]
    pub fetch_details: bool,
    /// The Förderdatenbank programme RSS feed, used as a change signal for the
    /// programmes of this list (its other items are ignored).
    #[serde(default, deserialize_with = "optional_url")]
    pub feed: Option<Url>,
}

impl Default for FdbOptions {
    fn default() -> Self {
        FdbOptions {
            max_pages: default_max_pages(),
            fetch_details: true,
            feed: None,
        }
    }
}

/// Upper bound of `max_pages`: 10,000 programmes, about four times the whole database.
pub const MAX_PAGES: u32 = 1000;

fn default_max_pages() -> u32 {
    100
}

fn default_true() -> bool {
    true
}

fn optional_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    raw.map(|s| Url::parse(&s).map_err(|e| serde::de::Error::custom(format!("invalid feed URL '{s}': {e}"))))
        .transpose()
}

/// One programme card of the result list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// Canonical absolute URL of the detail page.
    pub url: String,
    pub title: String,
    /// "Wer wird gefördert?" as listed.
    pub applicants: String,
    /// "Was wird gefördert?" as listed.
    pub topics: String,
}

impl Card {
    /// Changes when anything the card shows changes.
    pub fn signature(&self) -> Signature {
        Signature::of(&format!("{}\n{}\n{}", self.title, self.applicants, self.topics))
    }
}

/// One parsed result page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    /// `span#hits--count`; often does not match the cards actually listed.
    pub hits: Option<u32>,
    pub cards: Vec<Card>,
    /// Absolute URL of the next page (`a.forward`), byte-exact `gtp` parameter.
    pub next: Option<String>,
}

/// What a Förderdatenbank source remembers between passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdbMemo {
    /// Result pages by URL, kept while the server gives validators for them,
    /// so that a `304 Not Modified` still yields their cards.
    #[serde(default)]
    pub lists: BTreeMap<String, ListPage>,
    /// What the last pass knew of each programme, by canonical detail URL.
    #[serde(default)]
    pub programmes: BTreeMap<String, ProgrammeMemo>,
}

/// What the last pass knew of one programme; while its card and feed item stay
/// the same, its detail page is not fetched again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeMemo {
    /// The card's signature when the detail page was last read (or found gone).
    pub card: Signature,
    /// The detail page answered 404/410 then (moved to the archive).
    #[serde(default)]
    pub gone: bool,
    /// The programme feed item's signature, when the feed listed the programme.
    #[serde(default)]
    pub feed: Option<Signature>,
}
