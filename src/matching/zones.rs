//! Parts of a call's wording that say nothing about its topic and so must not
//! score: boilerplate zones (contact blocks, "Rechtsgrundlage", "Weiterführende
//! Links"), the funder's own name, ministry and agency names ("Bundesministerium
//! für Wirtschaft und Klimaschutz" is no Klimaschutz call), and for regional
//! programmes the programme's name ("LEADER" names no Handlungsfeld), and the
//! topic codes of EU calls ("DIGITAL-2027-CLOUD-AI" is no cloud call).
//!
//! Masking replaces the bytes of such a part by spaces, so every offset into the
//! masked text is an offset into the original (snippets quote the original).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::stems::StemFinder;

use crate::model::Call;

/// What a literal stem found in the text starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stem {
    /// A ministry or agency name ("…ministerium", "Bundesamt").
    Authority,
    /// The name of a regional programme ("LEADER", "Regionalbudget").
    Programme,
}

/// Literal stems, case-sensitive so that one fast (SIMD) pass finds them all:
/// a full-text regex with Unicode word boundaries cost 0.9 ms per call. Each with the
/// rarer part of it that is searched for (see [`StemFinder`]).
const STEMS: &[(&str, &str, Stem)] = &[
    ("inisterium", "inisterium", Stem::Authority),
    ("undesamt", "desamt", Stem::Authority),
    ("undesanstalt", "desanstalt", Stem::Authority),
    ("undesinstitut", "desinstitut", Stem::Authority),
    ("undesagentur", "desagentur", Stem::Authority),
    ("andesamt", "desamt", Stem::Authority),
    ("andesanstalt", "desanstalt", Stem::Authority),
    ("LEADER", "LEADER", Stem::Programme),
    ("Leader", "Leader", Stem::Programme),
    ("leader", "leader", Stem::Programme),
    ("egionalbudget", "albudget", Stem::Programme),
    ("nterreg", "rreg", Stem::Programme),
    ("NTERREG", "RREG", Stem::Programme),
    ("UREGIO", "UREGIO", Stem::Programme),
    ("uregio", "uregio", Stem::Programme),
];

static STEM_FINDER: LazyLock<StemFinder> = LazyLock::new(|| {
    let entries: Vec<(&str, &str)> = STEMS.iter().map(|&(stem, needle, _)| (stem, needle)).collect();
    StemFinder::new(&entries)
});

/// The rest of a ministry's or agency's name after its first word, up to
/// the first word that is not part of it: "für Wirtschaft und Klimaschutz".
static AUTHORITY_REST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s+(?:des\s+Innern\s+)?(?:für|des|der)\s(?:\s*(?:,|&|und\s|für\s|des\s|der\s|sowie\s|[A-ZÄÖÜ][\p{L}\-]*))+",
    )
    .expect("authority regex")
});

/// A line that opens a boilerplate zone: contact, legal basis, links, downloads.
static ZONE_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:kontakt\w*|ansprech\w*|ansprechpunkt|zuständige\s+stelle|rechtsgrundlage\w*|rechtliche\s+grundlage\w*|weiterführende\s+links|weitere\s+informationen|links|downloads?|impressum|datenschutz\w*|contact\w*|legal\s+basis|further\s+information|useful\s+links)\s*(?::|$)",
    )
    .expect("zone heading regex")
});

/// Names of cross-cutting regional programmes (see [`is_cross_cutting`]).
static PROGRAMME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}\p{N}])(?:leader|regionalbudget\w*|interreg|euregio)(?:$|[^\p{L}\p{N}])")
        .expect("programme regex")
});

/// Whether `call` is a regional programme that covers many Handlungsfelder:
/// LEADER, Regionalbudget, Interreg or EUREGIO named in its title, summary,
/// funder or regions.
pub fn is_cross_cutting(call: &Call) -> bool {
    PROGRAMME.is_match(&call.title)
        || PROGRAMME.is_match(&call.summary)
        || call.funder.as_deref().is_some_and(|f| PROGRAMME.is_match(f))
        || call.regions.iter().any(|r| PROGRAMME.is_match(&r.to_string()))
}

/// What to mask in one call.
pub struct Masker {
    /// The funder's name, when long enough to be a name and not a word.
    funder: Option<String>,
    programme_names: bool,
}

impl Masker {
    pub fn new(call: &Call, cross_cutting: bool) -> Masker {
        let funder = call
            .funder
            .as_deref()
            .map(str::trim)
            .filter(|f| f.chars().count() >= 8)
            .map(str::to_string);
        Masker {
            funder,
            programme_names: cross_cutting,
        }
    }

    /// `text` with the parts that must not score blanked out; borrowed when nothing is.
    pub fn mask<'t>(&self, text: &'t str, zones: bool) -> Cow<'t, str> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        if zones {
            boilerplate_zones(text, &mut spans);
        }
        for (entry, stem_start, stem_end) in STEM_FINDER.find(text) {
            let (start, end) = word_around(text, stem_start, stem_end);
            match STEMS[entry].2 {
                Stem::Authority => {
                    let rest = AUTHORITY_REST.find(&text[end..]).map_or(0, |r| r.end());
                    spans.push((start, end + rest));
                }
                Stem::Programme if self.programme_names && PROGRAMME.is_match(&text[start..end]) => {
                    spans.push((start, end));
                }
                Stem::Programme => {}
            }
        }
        if let Some(f) = &self.funder {
            funder_spans(text, f, &mut spans);
        }
        call_code_spans(text, &mut spans);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut bytes = text.as_bytes().to_vec();
        for (s, e) in spans {
            bytes[s..e].fill(b' ');
        }
        // Whole UTF-8 sequences were replaced by ASCII spaces: still valid.
        Cow::Owned(String::from_utf8(bytes).expect("masking keeps UTF-8"))
    }
}

/// The whole word around a stem found at `start..end` (letters and digits).
fn word_around(text: &str, start: usize, end: usize) -> (usize, usize) {
    let from = text[..start]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric())
        .last()
        .map_or(start, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(text.len(), |(i, _)| end + i);
    (from, to)
}

/// Where the funder's name stands in `text`, as the source writes it.
fn funder_spans(text: &str, funder: &str, spans: &mut Vec<(usize, usize)>) {
    spans.extend(text.match_indices(funder).map(|(i, f)| (i, i + f.len())));
}

/// Topic codes of EU calls ("HORIZON-CL5-2027-D6-02", "DIGITAL-2027-CLOUD-AI",
/// "LIFE-2027-CET-LOCAL"): upper-case letters and digits in at least three
/// hyphenated parts, one of them a year. They name the programme's work
/// programme, not the topic. Only the spots with "-20" are looked at.
fn call_code_spans(text: &str, spans: &mut Vec<(usize, usize)>) {
    let code_char = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-';
    let mut last_end = 0;
    // `memmem` looks for the needle's rarer bytes; `str` patterns for "-20" and for '-'
    // alone stopped at every hyphen of the text.
    for at in memchr::memmem::find_iter(text.as_bytes(), b"-20") {
        if at < last_end {
            continue;
        }
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| code_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = text[at..]
            .char_indices()
            .find(|(_, c)| !code_char(*c))
            .map_or(text.len(), |(i, _)| at + i);
        let code = text[start..end].trim_matches('-');
        let parts: Vec<&str> = code.split('-').collect();
        let year = |p: &str| p.len() == 4 && p.starts_with("20") && p.bytes().all(|b| b.is_ascii_digit());
        let letters = |p: &str| p.bytes().any(|b| b.is_ascii_uppercase());
        let word_before = text[..start].chars().next_back().is_some_and(char::is_alphanumeric);
        if parts.len() >= 3
            && parts.iter().any(|p| year(p))
            && parts.iter().filter(|p| letters(p)).count() >= 2
            && !word_before
        {
            spans.push((start, end));
        }
        last_end = end;
    }
}

/// Cheap test before [`ZONE_HEADING`]: the first letter of every heading it knows.
fn may_open_zone(line: &str) -> bool {
    line.trim_start()
        .bytes()
        .next()
        .is_some_and(|b| b"kKaAzZrRwWlLdDiIcCfFuU".contains(&b))
}

/// The lines of `text`, each with its '\n' (as `split_inclusive`), found by the `memchr`
/// crate's SIMD search: the standard library's char search reads a word at a time.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let ends = memchr::memchr_iter(b'\n', text.as_bytes())
        .map(|at| at + 1)
        .chain((!text.ends_with('\n') && !text.is_empty()).then_some(text.len()));
    ends.scan(0, |start, end| {
        let line = &text[*start..end];
        *start = end;
        Some(line)
    })
}

/// Contact blocks, legal basis and link lists: a heading line ("Kontakt",
/// "Rechtsgrundlage: …") and the paragraph that belongs to it, up to the next
/// blank line after some content.
fn boilerplate_zones(text: &str, spans: &mut Vec<(usize, usize)>) {
    let mut offset = 0;
    let mut zone_start: Option<usize> = None;
    let mut seen_content = false;
    for line in lines(text) {
        let blank = line.trim().is_empty();
        match zone_start {
            Some(start) if blank && seen_content => {
                spans.push((start, offset));
                zone_start = None;
            }
            Some(_) => seen_content |= !blank,
            None if line.len() < 400 && may_open_zone(line) && ZONE_HEADING.is_match(line) => {
                zone_start = Some(offset);
                // "Rechtsgrundlage: AGVO" carries its content on the heading line.
                seen_content = line.split_once(':').is_some_and(|(_, rest)| !rest.trim().is_empty());
            }
            None => {}
        }
        offset += line.len();
    }
    if let Some(start) = zone_start {
        spans.push((start, text.len()));
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn masked(text: &str, funder: Option<&str>) -> String {
        let mut call = Call::new("t", "https://t.example/x", "Aufruf", Utc::now());
        call.funder = funder.map(str::to_string);
        Masker::new(&call, false)
            .mask(text, true)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn ministry_names_say_nothing_about_the_topic() {
        assert_eq!(
            masked(
                "Das Bundesministerium für Wirtschaft und Klimaschutz fördert Radwege.",
                None
            ),
            "Das fördert Radwege."
        );
        assert_eq!(
            masked(
                "Träger ist das Ministerium für Kinder, Jugend, Familie, Gleichstellung, Flucht und Integration des Landes Nordrhein-Westfalen.",
                None
            ),
            "Träger ist das ."
        );
        assert_eq!(
            masked("Das Innenministerium prüft die Anträge.", None),
            "Das prüft die Anträge."
        );
        assert_eq!(masked("Insgesamt der Kommunen", None), "Insgesamt der Kommunen");
    }

    #[test]
    fn the_funders_name_is_masked_wherever_it_stands() {
        assert_eq!(
            masked(
                "Anträge an die Stiftung Bildung und Gesellschaft richten.",
                Some("Stiftung Bildung und Gesellschaft")
            ),
            "Anträge an die richten."
        );
    }

    #[test]
    fn contact_legal_and_link_blocks_are_zones() {
        let text = "Gefördert werden Radwege.\n\nRechtsgrundlage: Richtlinie Klimaschutz\n\nKontakt\n\nFrau Muster, Team Bildung und Kultur\nTel. 0251 1\n\nWeiterführende Links: Kita-Portal (https://x.example)\n\nSchluss: Radverkehr.";
        assert_eq!(masked(text, None), "Gefördert werden Radwege. Schluss: Radverkehr.");
    }

    #[test]
    fn lines_are_split_as_split_inclusive_splits_them() {
        for text in ["", "a", "a\n", "\n", "a\nb", "a\n\nb\n", "Kontakt\nFrau Ä\n\n"] {
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.split_inclusive('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn eu_topic_codes_say_nothing_about_the_topic() {
        assert_eq!(
            masked("DIGITAL-2027-CLOUD-AI: Local digital twins for communities", None),
            ": Local digital twins for communities"
        );
        assert_eq!(
            masked("HORIZON-CL5-2027-D6-02: Shared mobility", None),
            ": Shared mobility"
        );
        // Dates, years and ordinary hyphenated words stay.
        for kept in [
            "Förderperiode 2021-2027",
            "Stand 2026-12-01",
            "Nordrhein-Westfalen 2027",
            "Smart-City-2027-Strategie",
        ] {
            assert_eq!(masked(kept, None), kept);
        }
    }

    #[test]
    fn regional_programmes_are_recognised_and_their_name_is_masked() {
        let mut call = Call::new(
            "t",
            "https://t.example/l",
            "LEADER-Region 9Plus: Projektaufruf",
            Utc::now(),
        );
        assert!(is_cross_cutting(&call));
        call.title = "Regionalbudget 2027".into();
        assert!(is_cross_cutting(&call));
        call.title = "Dorfladen-Förderung".into();
        assert!(!is_cross_cutting(&call));
        call.summary = "Interreg Deutschland-Nederland fördert Projekte.".into();
        assert!(is_cross_cutting(&call));
        let m = Masker::new(&call, true);
        assert_eq!(m.mask("LEADER fördert Dorfläden", false).trim(), "fördert Dorfläden");
    }
}
