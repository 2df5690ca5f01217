//! HTML to plain text, and body bytes to UTF-8.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use regex::Regex;
use regex::bytes::Regex as BytesRegex;
use scraper::{ElementRef, Html, Node};

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
/// Scripts, styles and the document head are dropped.
pub fn html_to_text(html: &str) -> String {
    let lower_head = html.get(..html.len().min(2048)).unwrap_or(html).to_ascii_lowercase();
    let doc = if lower_head.contains("<html") || lower_head.contains("<body") || lower_head.contains("<!doctype") {
        Html::parse_document(html)
    } else {
        Html::parse_fragment(html)
    };
    let mut out = String::with_capacity(html.len() / 2);
    write_element(doc.root_element(), &mut out);
    tidy(&out)
}

/// Text of one element (e.g. a `scraper` selection), with the rules of [`html_to_text`].
pub fn element_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    write_element(element, &mut out);
    tidy(&out)
}

fn write_element(element: ElementRef<'_>, out: &mut String) {
    let name = element.value().name();
    if SKIPPED.contains(&name) {
        return;
    }
    let paragraph = PARAGRAPHS.contains(&name);
    let line = LINES.contains(&name);
    if paragraph {
        out.push(PARAGRAPH_BREAK);
    } else if line {
        out.push('\n');
    }
    if name == "li" {
        out.push_str("- ");
    }
    if name == "td" || name == "th" {
        out.push(' ');
    }
    for child in element.children() {
        match child.value() {
            // Source line breaks are whitespace like any other; only elements break lines.
            Node::Text(text) => out.extend(text.chars().map(
                |c| {
                    if c == '\n' || c == PARAGRAPH_BREAK { ' ' } else { c }
                },
            )),
            Node::Element(_) => {
                if let Some(el) = ElementRef::wrap(child) {
                    write_element(el, out);
                }
            }
            _ => {}
        }
    }
    if paragraph {
        out.push(PARAGRAPH_BREAK);
    } else if line {
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

/// NBSP and other odd spaces as plain spaces, so that the parsers' patterns see `31. März`.
pub(crate) fn plain_spaces(text: &str) -> String {
    text.replace(['\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}'], " ")
        .replace('\u{ad}', "")
}

/// Sentence end: a word of two or more letters (or a year), a dot, space, a capital.
static SENTENCE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\p{L}{2,}|\d{4}|[)“”])\.\s+[\p{Lu}„]").expect("sentence end regex"));

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
    for caps in SENTENCE_END.captures_iter(line) {
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

static META_CHARSET: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(r#"(?i-u)<meta\b[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)"#).expect("valid meta charset regex")
});

/// Decodes a body to UTF-8, whatever the header claims (UTF-8, ISO-8859-1, Windows-1252).
///
/// Order: a byte-order mark wins; then the `charset` of the Content-Type header;
/// then `<meta charset>` / `http-equiv` within the first 1024 bytes; else UTF-8
/// when the bytes are valid UTF-8, otherwise Windows-1252 (a superset of
/// ISO-8859-1 for printable text). A declared charset the bytes do not fit is
/// not trusted: a UTF-8 label over Latin-1 bytes falls through to the next rule,
/// and a legacy label over bytes that are valid non-ASCII UTF-8 gives UTF-8
/// (German Latin-1 text is practically never valid UTF-8, the reverse mistake is common).
pub fn decode_body(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom_len..]).0.into_owned();
    }
    let declared = [content_type.and_then(header_charset), meta_charset(bytes)];
    for encoding in declared.into_iter().flatten() {
        if let Some(text) = decode_strict(encoding, bytes) {
            return text;
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The text when `bytes` plausibly are in `encoding`, `None` when they are not.
fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes).ok().map(str::to_string);
    }
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() && encoding.is_single_byte() {
        return None;
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    let lower = content_type.to_ascii_lowercase();
    let start = lower.find("charset=")? + "charset=".len();
    let label = lower[start..].split(';').next()?.trim().trim_matches(['"', '\'']);
    Encoding::for_label(label.as_bytes())
}

fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let label = META_CHARSET.captures(head)?.get(1)?.as_bytes();
    let encoding = Encoding::for_label(label)?;
    // A page cannot declare UTF-16 in ASCII-compatible markup; the HTML standard reads it as UTF-8.
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

    #[test]
    fn decode_latin1_without_header() {
        let bytes = b"<p>F\xf6rderung f\xfcr Gro\xdfst\xe4dte</p>";
        assert_eq!(decode_body(bytes, None), "<p>Förderung für Großstädte</p>");
    }

    #[test]
    fn decode_latin1_with_wrong_utf8_header() {
        let bytes = b"Ma\xdfnahmen f\xfcr Kommunen";
        assert_eq!(
            decode_body(bytes, Some("text/html; charset=utf-8")),
            "Maßnahmen für Kommunen"
        );
    }

    #[test]
    fn decode_windows_1252_euro_and_quotes() {
        let bytes = b"\x84Smart City\x93 bis zu 5.000 \x80";
        assert_eq!(
            decode_body(bytes, Some("text/html; charset=windows-1252")),
            "„Smart City“ bis zu 5.000 €"
        );
        assert_eq!(decode_body(bytes, None), "„Smart City“ bis zu 5.000 €");
    }

    #[test]
    fn decode_utf8_with_bom_ignores_header() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("Förderquote".as_bytes());
        assert_eq!(
            decode_body(&bytes, Some("text/html; charset=iso-8859-1")),
            "Förderquote"
        );
    }

    #[test]
    fn decode_meta_charset_when_header_is_silent() {
        let bytes = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"></head>\xc4nderung</html>";
        assert!(decode_body(bytes, Some("text/html")).contains("Änderung"));
        let bytes = b"<meta charset='windows-1252'><p>\x80</p>";
        assert_eq!(decode_body(bytes, None), "<meta charset='windows-1252'><p>€</p>");
    }

    #[test]
    fn decode_utf8_under_latin1_header_stays_utf8() {
        let text = "Gemeindeverbände in Nordrhein-Westfalen";
        assert_eq!(
            decode_body(text.as_bytes(), Some("text/html; charset=ISO-8859-1")),
            text
        );
    }

    #[test]
    fn decode_plain_utf8() {
        assert_eq!(
            decode_body("März – „gut“".as_bytes(), Some("text/html; charset=UTF-8")),
            "März – „gut“"
        );
        assert_eq!(
            decode_body(b"plain ascii", Some("text/html; charset=latin1")),
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
