//! Source kind `html`: a generic list scraper configured with CSS selectors.
//! PLACEHOLDER body; the options below are the contract for `sources.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{CollectContext, CollectError};
use crate::model::Call;

/// `[[source]] kind = "html"` keys. All selectors are CSS (scraper).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlOptions {
    /// `list` (default): one element per call. `labels`: each item holds label/answer pairs.
    #[serde(default)]
    pub mode: HtmlMode,
    /// Selector of one call on the list page.
    pub item: String,
    /// Selector of the title, within the item.
    pub title: String,
    /// Selector of the link within the item; default: the first `a[href]` in the title, then in the item.
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    /// Published date: `time[datetime]` or German text.
    #[serde(default)]
    pub published: Option<String>,
    /// Deadline text within the item.
    #[serde(default)]
    pub deadline: Option<String>,
    /// Selector of the "next page" link; pagination stops when absent.
    #[serde(default)]
    pub next_page: Option<String>,
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Funder stated for every call of this source (e.g. the ministry running the page).
    #[serde(default)]
    pub funder: Option<String>,
    /// Regions stated for every call of this source (e.g. "Nordrhein-Westfalen").
    #[serde(default)]
    pub regions: Vec<String>,
    /// Label-pair settings (for `mode = "labels"` and for detail pages).
    #[serde(default)]
    pub labels: LabelOptions,
    /// Optional detail page per item.
    #[serde(default)]
    pub detail: Option<DetailOptions>,
    /// Set while the selectors are written from research and not yet checked against the live page.
    #[serde(default)]
    pub needs_check: Option<String>,
}

fn default_max_pages() -> u32 {
    20
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HtmlMode {
    #[default]
    List,
    Labels,
}

/// Label/answer pairs: "Wer kann beantragen?" followed by its answer, or `dt`/`dd` lists.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelOptions {
    /// Selector of label elements; the answer is the following sibling content up to the next label.
    #[serde(default = "default_label_selector")]
    pub label: String,
    /// Field → label texts that mean it (case-insensitive prefix match). Fields: applicants,
    /// deadline, funder, rate, amount, region, summary, funding_type.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions {
            label: default_label_selector(),
            fields: BTreeMap::new(),
        }
    }
}

fn default_label_selector() -> String {
    "dt, h2, h3, h4, strong".into()
}

/// Selectors on the detail page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailOptions {
    /// Main content; its text becomes the call's full text.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
    /// Parse label/answer pairs on the detail page with `labels`.
    #[serde(default)]
    pub use_labels: bool,
}

/// Collects the calls of one `html` source.
pub async fn collect(_ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    Ok(Vec::new())
}
