//! Parts of a call's wording that say nothing about its topic and so must not
//! score: boilerplate zones (contact blocks, "Rechtsgrundlage", "Weiterführende
//! Links"), the funder's own name, ministry and agency names ("Bundesministerium
//! für Wirtschaft und Klimaschutz" is no Klimaschutz call), and for regional
//! programmes the programme's name ("LEADER" names no Handlungsfeld).
//!
//! Masking replaces the bytes of such a part by spaces, so every offset into the
//! masked text is an offset into the original (snippets quote the original).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::Call;

/// Ministry and agency names, up to the first word that is not part of the name.
static AUTHORITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:\p{L}*[Mm]inisterium|(?:Bundes|Landes)(?:amt|anstalt|institut|agentur))(?:\s+(?:des\s+Innern\s+)?(?:für|des|der)\b(?:\s*(?:,|&|\b(?:und|für|des|der|sowie)\b|[A-ZÄÖÜ][\p{L}\-]*))+)?",
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
static PROGRAMME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:leader|regionalbudget\w*|interreg|euregio)\b").expect("programme regex"));

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
        spans.extend(AUTHORITY.find_iter(text).map(|m| (m.start(), m.end())));
        if self.programme_names {
            spans.extend(PROGRAMME.find_iter(text).map(|m| (m.start(), m.end())));
        }
        if let Some(f) = &self.funder {
            funder_spans(text, f, &mut spans);
        }
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

/// Where the funder's name stands in `text`, as the source writes it.
fn funder_spans(text: &str, funder: &str, spans: &mut Vec<(usize, usize)>) {
    spans.extend(text.match_indices(funder).map(|(i, f)| (i, i + f.len())));
}

/// Contact blocks, legal basis and link lists: a heading line ("Kontakt",
/// "Rechtsgrundlage: …") and the paragraph that belongs to it, up to the next
/// blank line after some content.
fn boilerplate_zones(text: &str, spans: &mut Vec<(usize, usize)>) {
    let mut offset = 0;
    let mut zone_start: Option<usize> = None;
    let mut seen_content = false;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        match zone_start {
            Some(start) if blank && seen_content => {
                spans.push((start, offset));
                zone_start = None;
            }
            Some(_) => seen_content |= !blank,
            None if line.len() < 400 && ZONE_HEADING.is_match(line) => {
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
