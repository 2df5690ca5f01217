//! HTML to plain text, and body bytes to UTF-8.

use crate::model::pattern::Pattern;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::bounded::compact;
use ego_tree::iter::Edge;
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use html5ever::driver::{self, Parser};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{QualName, local_name, ns};
use regex::Regex;
use regex::bytes::Regex as BytesRegex;
use scraper::{ElementRef, Html, HtmlTreeSink, Node};

/// Deepest element nesting a page may have. Real pages nest a few dozen levels;
/// html5ever spends time proportional to the depth on every tag, so a hostile
/// page of 100,000 nested `<div>`s would cost minutes of CPU. Parsing stops past it.
pub const MAX_NESTING_DEPTH: usize = 1024;

/// Input fed to the parser between two checks of depth and deadline.
const PARSE_CHUNK: usize = 16 * 1024;

/// Why markup was not (fully) parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MarkupError {
    #[error("elements nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("time budget exhausted while parsing")]
    OutOfTime,
}

/// Lets long CPU work stop: at a deadline (the source's time budget), or when
/// the side waiting for it has given up ([`ParseGuard::cancel`]). Blocking work
/// cannot be aborted from outside, so it calls [`ParseGuard::check`] between steps.
#[derive(Debug, Clone, Default)]
pub struct ParseGuard {
    deadline: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

impl ParseGuard {
    /// A guard that stops work at `deadline`.
    pub fn until(deadline: Instant) -> ParseGuard {
        ParseGuard {
            deadline: Some(deadline),
            cancelled: Arc::default(),
        }
    }

    /// Every clone of this guard fails its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// `Err(OutOfTime)` once the deadline has passed or the guard was cancelled.
    pub fn check(&self) -> Result<(), MarkupError> {
        let late = self.deadline.is_some_and(|d| Instant::now() >= d);
        if late || self.cancelled.load(Ordering::Relaxed) {
            Err(MarkupError::OutOfTime)
        } else {
            Ok(())
        }
    }
}

/// Parses an HTML document, or a fragment when it has no `<html>`, `<body>` or doctype.
/// Stops with an error past [`MAX_NESTING_DEPTH`] or when `guard` says time is up.
pub fn parse_html(html: &str, guard: &ParseGuard) -> Result<Html, MarkupError> {
    match parse_partial(html, guard) {
        (document, None) => Ok(document),
        (_, Some(e)) => Err(e),
    }
}

/// Like [`parse_html`], but always a full document (list and detail pages).
pub fn parse_page(html: &str, guard: &ParseGuard) -> Result<Html, MarkupError> {
    let parser = driver::parse_document(HtmlTreeSink::new(Html::new_document()), Default::default());
    match feed_parser(parser, html, guard) {
        (document, None) => Ok(document),
        (_, Some(e)) => Err(e),
    }
}

/// The tree as far as it was parsed, and why parsing stopped early, if it did.
fn parse_partial(html: &str, guard: &ParseGuard) -> (Html, Option<MarkupError>) {
    let lower_head = html.get(..html.len().min(2048)).unwrap_or(html).to_ascii_lowercase();
    let parser = if lower_head.contains("<html") || lower_head.contains("<body") || lower_head.contains("<!doctype") {
        driver::parse_document(HtmlTreeSink::new(Html::new_document()), Default::default())
    } else {
        driver::parse_fragment(
            HtmlTreeSink::new(Html::new_fragment()),
            Default::default(),
            QualName::new(None, ns!(html), local_name!("body")),
            Vec::new(),
            false,
        )
    };
    feed_parser(parser, html, guard)
}

/// Feeds `html` in chunks, checking depth and deadline between them. html5ever
/// builds the tree without recursion, so only its time needs bounding.
fn feed_parser(mut parser: Parser<HtmlTreeSink>, html: &str, guard: &ParseGuard) -> (Html, Option<MarkupError>) {
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(PARSE_CHUNK);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
        let stop = guard.check().err().or_else(|| {
            (current_depth(&parser) > MAX_NESTING_DEPTH).then_some(MarkupError::TooDeep {
                limit: MAX_NESTING_DEPTH,
            })
        });
        if stop.is_some() {
            // The tree as built so far; `finish` would turn a half-read tag into text.
            let partial = std::mem::replace(&mut *parser.tokenizer.sink.sink.0.borrow_mut(), Html::new_fragment());
            return (partial, stop);
        }
    }
    (parser.finish(), None)
}

/// Depth of the node created last: deep nesting shows there.
fn current_depth(parser: &Parser<HtmlTreeSink>) -> usize {
    let html = parser.tokenizer.sink.sink.0.borrow();
    html.tree.nodes().next_back().map_or(0, |node| node.ancestors().count())
}

/// Elements whose content is never text a reader sees.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "head", "svg", "iframe", "object",
];

/// Elements that stand apart as paragraphs (blank line around them).
const PARAGRAPHS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "figure",
    "pre",
    "form",
    "hr",
    "details",
    "summary",
];

/// Elements that start a new line.
const LINES: &[&str] = &[
    "div",
    "li",
    "dt",
    "dd",
    "tr",
    "br",
    "caption",
    "address",
    "option",
    "figcaption",
    "fieldset",
];

/// Clean text from an HTML fragment or document.
///
/// Entities are decoded (html5ever); `p`, `h1`-`h6`, lists, tables and the like
/// become paragraphs, `div`, `li`, `br`, `tr`, `dt`, `dd` line breaks, list items
/// start with "- ", table cells are separated by a space. Whitespace (NBSP
/// included) collapses to one space, there is never more than one blank line.
/// Inline markup keeps its content: `<abbr title="Millionen">Mio.</abbr>` gives `Mio.`.
/// Scripts, styles and the document head are dropped. Markup nested deeper than
/// [`MAX_NESTING_DEPTH`] gives the text up to where the parser stopped;
/// collectors use [`try_html_to_text`] to report it instead.
pub fn html_to_text(html: &str) -> String {
    let (document, _) = parse_partial(html, &ParseGuard::default());
    element_text(document.root_element())
}

/// [`html_to_text`] that fails on markup nested too deep or when `guard` says time is up.
pub fn try_html_to_text(html: &str, guard: &ParseGuard) -> Result<String, MarkupError> {
    let document = parse_html(html, guard)?;
    Ok(element_text(document.root_element()))
}

/// Text of one element (e.g. a `scraper` selection), with the rules of [`html_to_text`].
pub fn element_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    write_element(element, &mut out);
    tidy(&out)
}

/// Walks the tree with `traverse` (open and close edges) instead of recursion,
/// so that no nesting depth can overflow the stack.
fn write_element(element: ElementRef<'_>, out: &mut String) {
    // Depth inside a skipped element (script, style, ...); 0 outside.
    let mut skipping = 0usize;
    for edge in element.traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(el) if skipping > 0 || SKIPPED.contains(&el.name()) => skipping += 1,
                Node::Element(el) => open_element(el.name(), out),
                // Source line breaks are whitespace like any other; only elements break lines.
                Node::Text(text) if skipping == 0 => out.extend(
                    text.chars()
                        .map(|c| if c == '\n' || c == PARAGRAPH_BREAK { ' ' } else { c }),
                ),
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(_) if skipping > 0 => skipping -= 1,
                Node::Element(el) => close_element(el.name(), out),
                _ => {}
            },
        }
    }
}

fn open_element(name: &str, out: &mut String) {
    if PARAGRAPHS.contains(&name) {
        out.push(PARAGRAPH_BREAK);
    } else if LINES.contains(&name) {
        out.push('\n');
    }
    if name == "li" {
        out.push_str("- ");
    }
    if name == "td" || name == "th" {
        out.push(' ');
    }
}

fn close_element(name: &str, out: &mut String) {
    if PARAGRAPHS.contains(&name) {
        out.push(PARAGRAPH_BREAK);
    } else if LINES.contains(&name) {
        out.push('\n');
    }
}

/// Marks a paragraph boundary in the raw text (U+2029 PARAGRAPH SEPARATOR).
const PARAGRAPH_BREAK: char = '\u{2029}';

/// Collapses whitespace within lines; a paragraph boundary between two lines gives one blank line.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut paragraph_pending = false;
    for piece in raw.split_inclusive(['\n', PARAGRAPH_BREAK]) {
        let collapsed = collapse_spaces(piece.trim_end_matches(['\n', PARAGRAPH_BREAK]));
        if !collapsed.is_empty() && collapsed != "-" {
            if !out.is_empty() {
                out.push_str(if paragraph_pending { "\n\n" } else { "\n" });
            }
            paragraph_pending = false;
            out.push_str(&collapsed);
        }
        if piece.ends_with(PARAGRAPH_BREAK) {
            paragraph_pending = true;
        }
    }
    out
}

/// One line with every run of whitespace (NBSP, narrow NBSP, tabs, CR) as one space, trimmed.
pub fn collapse_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for word in line.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}' || c == '\u{200b}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A heading standing alone ("Expected Outcome:", "Ziel des Programms:"): a
/// short line ending in a colon. Such a line is never a summary.
pub fn is_bare_heading(line: &str) -> bool {
    let line = line.trim();
    line.ends_with(':') && line.split_whitespace().count() <= 8
}

/// The first line of `text` that says something: empty lines and bare headings
/// ([`is_bare_heading`]) are skipped. Empty when there is none.
pub fn lead_paragraph(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !is_bare_heading(l))
        .unwrap_or("")
}

/// NBSP and other odd spaces as plain spaces, so that the parsers' patterns see `31. März`.
pub(crate) fn plain_spaces(text: &str) -> String {
    text.replace(['\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}'], " ")
        .replace('\u{ad}', "")
}

/// Sentence end: a word of two or more letters (or a year), a dot, space, a capital.
static SENTENCE_END: Pattern<Regex> =
    Pattern::new(|| compact(r"(\p{L}{2,}|\d{4}|[)“”])\.\s+[\p{Lu}„]").expect("sentence end regex"));

/// Abbreviations that end with a dot inside a sentence.
const ABBREVIATIONS: &[&str] = &[
    "jan", "feb", "febr", "mär", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez", "nr", "abs", "ggf",
    "bzw", "inkl", "evtl", "ca", "vgl", "sog", "max", "min", "mio", "mrd", "str", "dr", "prof", "gem", "lt", "tel",
    "bspw", "zzgl", "usw", "etc", "einschl", "ziff", "art", "kap", "bzgl", "mind", "rd", "insb", "hrsg", "tsd", "std",
    "mwst", "zt",
];

/// Splits a line into sentences without breaking at dates ("31. März") or abbreviations ("Nov.", "bzw.").
pub(crate) fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for caps in SENTENCE_END.get().captures_iter(line) {
        let word = caps.get(1).expect("group 1");
        if ABBREVIATIONS.contains(&word.as_str().to_lowercase().as_str()) {
            continue;
        }
        let cut = word.end() + 1;
        out.push(&line[start..cut]);
        start = cut;
    }
    out.push(&line[start..]);
    out
}

static META_CHARSET: Pattern<BytesRegex> = Pattern::new(|| {
    BytesRegex::new(r#"(?i-u)<meta\b[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)"#).expect("valid meta charset regex")
});

static XML_ENCODING: Pattern<BytesRegex> = Pattern::new(|| {
    BytesRegex::new(r#"(?i-u)\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']\s*([a-z0-9_:.\-]+)"#)
        .expect("valid xml encoding regex")
});

/// A body as text, and what went wrong decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// Set when the bytes did not fit the declared charset and were decoded with
    /// replacement characters (U+FFFD); the fetcher logs it with the URL.
    pub warning: Option<String>,
}

impl Decoded {
    fn clean(text: impl Into<String>) -> Decoded {
        Decoded {
            text: text.into(),
            warning: None,
        }
    }
}

/// Decodes a body to UTF-8, whatever the header claims (UTF-8, ISO-8859-1, Windows-1252).
///
/// Order: a byte-order mark wins; then the `charset` of the Content-Type header;
/// then the XML declaration's `encoding`; then `<meta charset>` / `http-equiv`
/// within the first 1024 bytes. A declared charset is decoded as declared: bytes
/// that do not fit become U+FFFD and the result carries a warning. One exception:
/// a legacy single-byte label over bytes that are valid non-ASCII UTF-8 gives UTF-8
/// (German Latin-1 text is practically never valid UTF-8, the reverse mistake is common).
/// Only when nothing is declared is the charset guessed: UTF-8 when the bytes are
/// valid UTF-8, otherwise Windows-1252 (a superset of ISO-8859-1 for printable text).
pub fn decode_body(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return Decoded::clean(encoding.decode_without_bom_handling(&bytes[bom_len..]).0);
    }
    let declared = [
        content_type.and_then(header_charset),
        markup_charset(&XML_ENCODING.get(), bytes),
        markup_charset(&META_CHARSET.get(), bytes),
    ];
    let valid_utf8 = std::str::from_utf8(bytes).ok();
    for encoding in declared.into_iter().flatten() {
        let mislabelled_utf8 = encoding != UTF_8 && encoding.is_single_byte() && !bytes.is_ascii();
        if mislabelled_utf8 && valid_utf8.is_some() {
            continue;
        }
        let (text, malformed) = encoding.decode_without_bom_handling(bytes);
        let warning = malformed.then(|| {
            let bad = text.chars().filter(|c| *c == char::REPLACEMENT_CHARACTER).count();
            format!(
                "body declared as {} holds {bad} byte sequence(s) that are not {}; decoded with replacement characters",
                encoding.name(),
                encoding.name()
            )
        });
        return Decoded {
            text: text.into_owned(),
            warning,
        };
    }
    match valid_utf8 {
        Some(text) => Decoded::clean(text),
        None => Decoded::clean(WINDOWS_1252.decode_without_bom_handling(bytes).0),
    }
}

fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    let lower = content_type.to_ascii_lowercase();
    let start = lower.find("charset=")? + "charset=".len();
    let label = lower[start..].split(';').next()?.trim().trim_matches(['"', '\'']);
    Encoding::for_label(label.as_bytes())
}

/// The charset an XML declaration or `<meta>` names within the first 1024 bytes.
fn markup_charset(pattern: &BytesRegex, bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let label = pattern.captures(head)?.get(1)?.as_bytes();
    let encoding = Encoding::for_label(label)?;
    // ASCII-compatible markup cannot be UTF-16; the HTML standard reads such a label as UTF-8.
    Some(
        if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            UTF_8
        } else {
            encoding
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_with_nothing_after_them_are_no_lead_paragraph() {
        assert_eq!(
            lead_paragraph("Expected Outcome:\n\nProjects will pilot smart villages."),
            "Projects will pilot smart villages."
        );
        assert_eq!(lead_paragraph("  \nExpected Outcome:\nScope:\n"), "");
        assert_eq!(lead_paragraph("Ziel: Dörfer stärken."), "Ziel: Dörfer stärken.");
        assert!(!is_bare_heading(
            "Gefördert werden insbesondere die folgenden Maßnahmen in allen Gemeinden des Kreises und der Region:"
        ));
    }

    const HTML_CASES: &[(&str, &str)] = &[
        ("<p>Hallo&nbsp;Welt</p>", "Hallo Welt"),
        ("<p>Kultur, Medien &amp; Sport</p>", "Kultur, Medien & Sport"),
        (
            "<p>bis zu EUR 2 <abbr title=\"Millionen\">Mio.</abbr></p>",
            "bis zu EUR 2 Mio.",
        ),
        ("<p>Erster</p><p>Zweiter</p>", "Erster\n\nZweiter"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("Zeile 1<br>Zeile 2<br/>Zeile 3", "Zeile 1\nZeile 2\nZeile 3"),
        (
            "<ul><li>Modul A: 15.4.2024</li><li>Modul B</li></ul>",
            "- Modul A: 15.4.2024\n- Modul B",
        ),
        (
            "<h3>Fristen</h3><p>  Bitte   reichen\n Sie ein. </p>",
            "Fristen\n\nBitte reichen Sie ein.",
        ),
        (
            "<p>vor</p><script>var x = '<p>nein</p>';</script><style>p{}</style><p>nach</p>",
            "vor\n\nnach",
        ),
        (
            "<dl><dt> Förderart: </dt><dd> Zuschuss </dd></dl>",
            "Förderart:\nZuschuss",
        ),
        (
            "<table><tr><td>Frist</td><td>31.03.2026</td></tr></table>",
            "Frist 31.03.2026",
        ),
        ("<p>„Zitat“ &#8222;x&#8220; &euro;</p>", "„Zitat“ „x“ €"),
        ("<p></p><p></p><div> </div><p>nur das</p>", "nur das"),
        ("", ""),
        (
            "<html><head><title>Titel</title></head><body><h1>Kopf</h1><p>Text</p></body></html>",
            "Kopf\n\nText",
        ),
    ];

    #[test]
    fn html_to_text_cases() {
        for (html, expected) in HTML_CASES {
            assert_eq!(html_to_text(html), *expected, "input: {html:?}");
        }
    }

    fn nested(depth: usize, inner: &str) -> String {
        format!("{}{inner}{}", "<div>".repeat(depth), "</div>".repeat(depth))
    }

    #[test]
    fn deep_nesting_neither_overflows_nor_runs_long() {
        // Within the cap the walk is complete, far past what recursion on a 2 MiB stack survives.
        let within = nested(MAX_NESTING_DEPTH - 10, "<p>tief &amp; innen</p>");
        let guard = ParseGuard::default();
        assert_eq!(try_html_to_text(&within, &guard).unwrap(), "tief & innen");
        let hostile = nested(100_000, "<p>nie erreicht</p>");
        assert_eq!(
            try_html_to_text(&hostile, &guard),
            Err(MarkupError::TooDeep {
                limit: MAX_NESTING_DEPTH
            })
        );
        assert_eq!(html_to_text(&format!("<p>vorher</p>{hostile}")), "vorher");
        assert!(parse_page(&format!("<html><body>{hostile}"), &guard).is_err());
    }

    #[test]
    fn element_text_of_a_deep_tree_is_iterative() {
        // A tree deeper than the parse cap can still be walked (built by the parser in pieces).
        let html = nested(5_000, "x");
        let text = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || element_text(Html::parse_fragment(&html).root_element()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(text, "x");
    }

    #[test]
    fn a_spent_or_cancelled_guard_stops_parsing() {
        let page = "<p>Text</p>".repeat(10_000);
        let past = ParseGuard::until(Instant::now() - std::time::Duration::from_millis(1));
        assert_eq!(parse_html(&page, &past).unwrap_err(), MarkupError::OutOfTime);
        let guard = ParseGuard::default();
        assert!(parse_html(&page, &guard).is_ok());
        guard.clone().cancel();
        assert_eq!(guard.check(), Err(MarkupError::OutOfTime));
    }

    #[test]
    fn decode_latin1_without_header() {
        let bytes = b"<p>F\xf6rderung f\xfcr Gro\xdfst\xe4dte</p>";
        assert_eq!(decode_body(bytes, None).text, "<p>Förderung für Großstädte</p>");
    }

    #[test]
    fn declared_utf8_with_invalid_bytes_is_utf8_with_replacements_and_a_warning() {
        let bytes = b"Ma\xdfnahmen f\xfcr Kommunen";
        let decoded = decode_body(bytes, Some("text/html; charset=utf-8"));
        assert_eq!(decoded.text, "Ma\u{fffd}nahmen f\u{fffd}r Kommunen");
        let warning = decoded.warning.expect("a warning");
        assert!(
            warning.contains("UTF-8") && warning.contains("2 byte sequence"),
            "{warning}"
        );
        // Declared in the XML declaration only: three bad bytes in a German feed.
        let feed = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><title>Förderaufruf \u{1}</title></rss>";
        let mut bytes = feed.replace('\u{1}', "X").into_bytes();
        let x = bytes.iter().position(|b| *b == b'X').unwrap();
        bytes.splice(x..=x, [0xff, 0xfe, 0xc3]);
        let decoded = decode_body(&bytes, Some("application/rss+xml"));
        assert!(decoded.text.contains("Förderaufruf \u{fffd}"), "{}", decoded.text);
        assert!(
            !decoded.text.contains("Ã¶"),
            "not guessed as Windows-1252: {}",
            decoded.text
        );
        assert!(decoded.warning.is_some());
        // Nothing declared: guessed, without a warning.
        let guessed = decode_body(b"Ma\xdfnahmen", None);
        assert_eq!((guessed.text.as_str(), guessed.warning), ("Maßnahmen", None));
    }

    #[test]
    fn decode_windows_1252_euro_and_quotes() {
        let bytes = b"\x84Smart City\x93 bis zu 5.000 \x80";
        assert_eq!(
            decode_body(bytes, Some("text/html; charset=windows-1252")).text,
            "„Smart City“ bis zu 5.000 €"
        );
        assert_eq!(decode_body(bytes, None).text, "„Smart City“ bis zu 5.000 €");
    }

    #[test]
    fn decode_utf8_with_bom_ignores_header() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("Förderquote".as_bytes());
        assert_eq!(
            decode_body(&bytes, Some("text/html; charset=iso-8859-1")).text,
            "Förderquote"
        );
    }

    #[test]
    fn decode_meta_charset_when_header_is_silent() {
        let bytes = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"></head>\xc4nderung</html>";
        assert!(decode_body(bytes, Some("text/html")).text.contains("Änderung"));
        let bytes = b"<meta charset='windows-1252'><p>\x80</p>";
        assert_eq!(decode_body(bytes, None).text, "<meta charset='windows-1252'><p>€</p>");
    }

    #[test]
    fn decode_utf8_under_latin1_header_stays_utf8() {
        let text = "Gemeindeverbände in Nordrhein-Westfalen";
        assert_eq!(
            decode_body(text.as_bytes(), Some("text/html; charset=ISO-8859-1")).text,
            text
        );
    }

    #[test]
    fn decode_plain_utf8() {
        assert_eq!(
            decode_body("März – „gut“".as_bytes(), Some("text/html; charset=UTF-8")).text,
            "März – „gut“"
        );
        assert_eq!(
            decode_body(b"plain ascii", Some("text/html; charset=latin1")).text,
            "plain ascii"
        );
    }

    #[test]
    fn collapse_spaces_handles_nbsp() {
        assert_eq!(collapse_spaces(" 31.\u{a0}März\t 2026 "), "31. März 2026");
    }

    #[test]
    fn sentences_do_not_break_at_dates_or_abbreviations() {
        assert_eq!(
            sentences("Bis 31. März einreichen. Danach nicht."),
            vec!["Bis 31. März einreichen.", " Danach nicht."]
        );
        assert_eq!(
            sentences("Frist ist der 31.3.2026. Die Richtlinie"),
            vec!["Frist ist der 31.3.2026.", " Die Richtlinie"]
        );
        assert_eq!(
            sentences("Vom 1. Nov. Bis bzw. Kreise"),
            vec!["Vom 1. Nov. Bis bzw. Kreise"]
        );
    }
}
