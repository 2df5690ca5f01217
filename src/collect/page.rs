//! HTML helpers shared by the page-reading kinds (`foerderdatenbank`, `html`).

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use url::Url;

/// Compiles a selector written in the code; a typo there is a bug, not bad input.
pub(crate) fn css(selector: &str) -> Selector {
    Selector::parse(selector).unwrap_or_else(|e| panic!("invalid built-in selector {selector}: {e}"))
}

static BASE: LazyLock<Selector> = LazyLock::new(|| css("base[href]"));

/// The element's text with whitespace collapsed. Inline elements add no space,
/// so `(<span>Minitraité)</span>` stays `(Minitraité)`.
pub(crate) fn text_of(element: ElementRef) -> String {
    element
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The document's `<base href>` (itself resolved against the page), else the page URL:
/// relative links must resolve the way a browser resolves them.
pub(crate) fn base_url(document: &Html, page_url: &Url) -> Url {
    document
        .select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone())
}
