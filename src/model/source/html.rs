//! `[[source]] kind = "html"` settings: CSS selectors and label mappings,
//! compiled once when the config is loaded ([`HtmlSource`]), and what such a
//! source remembers between passes ([`HtmlMemo`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use scraper::Selector;
use serde::{Deserialize, Serialize};

use super::bounded;
use super::memo::Signature;
use crate::model::{Region, string_enum};

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
    /// Selector of the link within the item; default: the first `a[href]` in the title, then in the item,
    /// then the item itself when it is an `<a href>`. Relative links resolve against `<base href>` or the page URL.
    #[serde(default)]
    pub link: Option<String>,
    /// Selector of the teaser text within the item; it becomes the call's summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Published date: `time[datetime]` or German text.
    #[serde(default)]
    pub published: Option<String>,
    /// Deadline within the item: `time[datetime]` (one cut-off) or German text (`extract::parse_deadline`).
    #[serde(default)]
    pub deadline: Option<String>,
    /// Selector of the "next page" link; pagination stops when absent.
    #[serde(default)]
    pub next_page: Option<String>,
    /// Upper bound on list pages followed via `next_page` (default 20); 1 to [`MAX_PAGES`].
    #[serde(default = "default_max_pages", deserialize_with = "bounded::<_, 1, MAX_PAGES>")]
    pub max_pages: u32,
    /// Funder stated for every call of this source (e.g. the ministry running the page).
    #[serde(default)]
    pub funder: Option<String>,
    /// Regions stated for every call of this source (e.g. "Nordrhein-Westfalen"); checked at config load.
    #[serde(default)]
    pub regions: Vec<Region>,
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

/// Upper bound of `max_pages`.
pub const MAX_PAGES: u32 = 1000;

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
    /// Title on the detail page; replaces the list title when present.
    #[serde(default)]
    pub title: Option<String>,
    /// Summary on the detail page; replaces the list summary when present.
    #[serde(default)]
    pub summary: Option<String>,
    /// Deadline on the detail page (`time[datetime]` or German text); a `deadline` label wins over it.
    #[serde(default)]
    pub deadline: Option<String>,
    /// Parse label/answer pairs within `content` (or the whole page) with `labels`.
    #[serde(default)]
    pub use_labels: bool,
}

string_enum! {
    /// Call fields a label can fill (keys of `labels.fields`).
    pub enum Field ("field") {
        Applicants = "applicants",
        Deadline = "deadline",
        Funder = "funder",
        Rate = "rate",
        Amount = "amount",
        Region = "region",
        Summary = "summary",
        FundingType = "funding_type",
    }
}

impl Field {
    pub fn from_name(name: &str) -> Result<Field, String> {
        name.parse().map_err(|e| format!("option `labels.fields`: {e}"))
    }
}

/// Compiles one selector, naming the option it came from in the error.
pub fn compile_selector(option: &str, css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|e| {
        format!(
            "option `{option}`: invalid CSS selector `{css}`: {}",
            selector_reason(&e)
        )
    })
}

/// scraper's own text for most selector errors is "Unexpected error occurred.
/// Please report this to the developer" plus a debug dump; say what is wrong instead.
fn selector_reason(kind: &scraper::error::SelectorErrorKind) -> String {
    use scraper::error::SelectorErrorKind as K;
    match kind {
        K::UnexpectedToken => "a character that cannot stand there".into(),
        K::EndOfLine => "the selector ends too early (an unclosed `[` or `(`, or a trailing combinator?)".into(),
        K::InvalidAtRule | K::InvalidAtRuleBody | K::QualRuleInvalid => "not a selector".into(),
        K::TooManyNestedBlocks => "too many nested brackets".into(),
        K::ExpectedColonOnPseudoElement => "a pseudo-element needs `::`".into(),
        K::ExpectedIdentityOnPseudoElement => "a pseudo-element needs a name".into(),
        K::UnexpectedSelectorParseError(inner) => humanize(&format!("{inner:?}")),
    }
}

/// `UnsupportedPseudoClassOrElement("hover2")` → `unsupported pseudo class or element: "hover2"`.
fn humanize(debug: &str) -> String {
    let (name, args) = debug.split_once('(').unwrap_or((debug, ""));
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    let args = args.strip_suffix(')').unwrap_or(args).trim();
    if args.is_empty() {
        words
    } else {
        format!("{words}: {args}")
    }
}

/// An `html` source as the collector reads it: its options and every selector
/// compiled. Built once when the config is loaded (a bad selector fails there,
/// naming the option); every pass uses the same compiled selectors.
#[derive(Debug, Clone)]
pub struct HtmlSource {
    options: HtmlOptions,
    /// Shared, so that the per-pass copies of the config and the parser threads
    /// use the one compiled set.
    selectors: Arc<Selectors>,
}

impl HtmlSource {
    /// Checks the label fields and compiles every selector, naming the option at fault.
    pub fn new(options: HtmlOptions) -> Result<HtmlSource, String> {
        let selectors = Arc::new(Selectors::compile(&options)?);
        Ok(HtmlSource { options, selectors })
    }

    pub fn options(&self) -> &HtmlOptions {
        &self.options
    }

    pub fn selectors(&self) -> &Arc<Selectors> {
        &self.selectors
    }
}

/// The selectors of [`HtmlOptions`], compiled.
#[derive(Debug)]
pub struct Selectors {
    pub item: Selector,
    pub title: Selector,
    pub link: Option<Selector>,
    pub summary: Option<Selector>,
    pub published: Option<Selector>,
    pub deadline: Option<Selector>,
    pub next_page: Option<Selector>,
    pub label: Selector,
    /// (lower-cased label prefix, field).
    label_fields: Vec<(String, Field)>,
    pub detail: Option<DetailSelectors>,
}

/// The selectors of [`DetailOptions`], compiled.
#[derive(Debug)]
pub struct DetailSelectors {
    pub content: Option<Selector>,
    pub title: Option<Selector>,
    pub summary: Option<Selector>,
    pub deadline: Option<Selector>,
    pub use_labels: bool,
}

fn optional(option: &str, css: Option<&String>) -> Result<Option<Selector>, String> {
    css.map(|c| compile_selector(option, c)).transpose()
}

impl Selectors {
    /// Label fields first, then the detail selectors, then the list selectors:
    /// the first fault is the one reported.
    fn compile(o: &HtmlOptions) -> Result<Selectors, String> {
        let mut label_fields = Vec::new();
        for (name, labels) in &o.labels.fields {
            let field = Field::from_name(name)?;
            label_fields.extend(labels.iter().map(|l| (l.trim().to_lowercase(), field)));
        }
        let detail = match &o.detail {
            Some(d) => Some(DetailSelectors {
                content: optional("detail.content", d.content.as_ref())?,
                title: optional("detail.title", d.title.as_ref())?,
                summary: optional("detail.summary", d.summary.as_ref())?,
                deadline: optional("detail.deadline", d.deadline.as_ref())?,
                use_labels: d.use_labels,
            }),
            None => None,
        };
        Ok(Selectors {
            item: compile_selector("item", &o.item)?,
            title: compile_selector("title", &o.title)?,
            link: optional("link", o.link.as_ref())?,
            summary: optional("summary", o.summary.as_ref())?,
            published: optional("published", o.published.as_ref())?,
            deadline: optional("deadline", o.deadline.as_ref())?,
            next_page: optional("next_page", o.next_page.as_ref())?,
            label: compile_selector("labels.label", &o.labels.label)?,
            label_fields,
            detail,
        })
    }

    /// Whether any label text is mapped to a field (else label pairs are not read).
    pub fn maps_labels(&self) -> bool {
        !self.label_fields.is_empty()
    }

    /// Fields a label means; one label may feed several ("Was wird gefördert?" → summary, amount).
    pub fn fields_of(&self, label: &str) -> Vec<Field> {
        let label = label.trim().to_lowercase();
        let mut fields: Vec<Field> = self
            .label_fields
            .iter()
            .filter(|(prefix, _)| label.starts_with(prefix.as_str()))
            .map(|(_, f)| *f)
            .collect();
        fields.dedup();
        fields
    }
}

/// One call as the list page shows it; plain data, kept in the memo between passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Canonical URL: the call's identity.
    pub url: String,
    /// Absolute link as found, for fetching the detail page.
    pub link: String,
    pub title: String,
    pub summary: String,
    pub published: Option<NaiveDate>,
    /// Text of the deadline element, or its ISO `datetime`.
    pub deadline: Option<String>,
    pub labels: Vec<(Field, String)>,
}

impl Listing {
    /// Changes whenever anything the list page says about the call changes.
    pub fn signature(&self) -> Signature {
        Signature::of(&serde_json::to_string(self).expect("listing serialises"))
    }
}

/// A parsed list page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    pub listings: Vec<Listing>,
    pub next: Option<String>,
}

/// What an `html` source remembers between passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtmlMemo {
    /// List pages by URL, so that a `304 Not Modified` still yields their listings.
    #[serde(default)]
    pub pages: BTreeMap<String, ListPage>,
    /// Each call's listing signature when its detail page was last read, by
    /// canonical URL; while it stays the same the page is not fetched again.
    #[serde(default)]
    pub details: BTreeMap<String, Signature>,
}
