//! `[[source]] kind = "html"` settings: CSS selectors and label mappings.

use std::collections::BTreeMap;

use scraper::Selector;
use serde::Deserialize;

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
    /// Upper bound on list pages followed via `next_page` (default 20).
    #[serde(default = "default_max_pages")]
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

impl HtmlOptions {
    /// Every selector with the option it is written in, in the order they are checked.
    fn selectors(&self) -> Vec<(&'static str, &str)> {
        let detail = self.detail.iter().flat_map(|d| {
            [
                ("detail.content", &d.content),
                ("detail.title", &d.title),
                ("detail.summary", &d.summary),
                ("detail.deadline", &d.deadline),
            ]
        });
        let list = [
            ("item", Some(&self.item)),
            ("title", Some(&self.title)),
            ("link", self.link.as_ref()),
            ("summary", self.summary.as_ref()),
            ("published", self.published.as_ref()),
            ("deadline", self.deadline.as_ref()),
            ("next_page", self.next_page.as_ref()),
            ("labels.label", Some(&self.labels.label)),
        ];
        detail
            .map(|(name, css)| (name, css.as_ref()))
            .chain(list)
            .filter_map(|(name, css)| css.map(|c| (name, c.as_str())))
            .collect()
    }

    /// Checks every selector and label field, naming the option at fault.
    pub fn validate(&self) -> Result<(), String> {
        for name in self.labels.fields.keys() {
            Field::from_name(name)?;
        }
        for (option, css) in self.selectors() {
            compile_selector(option, css)?;
        }
        Ok(())
    }
}
