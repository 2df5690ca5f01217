//! `[[source]] kind = "foerderdatenbank"` settings.

use serde::{Deserialize, Deserializer};
use url::Url;

/// `[[source]] kind = "foerderdatenbank"` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdbOptions {
    /// Result pages to follow at most (10 cards each).
    #[serde(default = "default_max_pages")]
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
