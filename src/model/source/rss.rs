//! `[[source]] kind = "rss"` settings.

use serde::Deserialize;

use crate::model::Region;

/// `[[source]] kind = "rss"` keys (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssOptions {
    /// Fördergeber of every call in the feed (e.g. "Bundesministerium für Wirtschaft und Energie").
    #[serde(default)]
    pub funder: Option<String>,
    /// Regions of every call in the feed (e.g. ["Nordrhein-Westfalen"]); when empty,
    /// regions are read from each entry's text.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Förderart of every call in the feed (e.g. ["Zuschuss"]).
    #[serde(default)]
    pub funding_types: Vec<String>,
}
