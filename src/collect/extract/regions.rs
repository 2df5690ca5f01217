//! Regions (Fördergebiet) from German text or a label value.
//!
//! Accepts "bundesweit", "in (ganz) Deutschland", "im (gesamten) Bundesgebiet",
//! "deutschlandweit", the FDB code `_bundesweit` → [`Region::Bundesweit`]; "EU-weit",
//! "europaweit", "in allen EU-Mitgliedstaaten" → [`Region::EuWeit`]; the 16 Länder by
//! name (also `ue` for `ü`, space for hyphen), by FDB code (`nordrhein_westfalen`,
//! `de_ni`, `de_st`, …) and "NRW"; named sub-regions (LEADER-Region …, Münsterland,
//! Regierungsbezirk …, Kreis/Landkreis …, Ruhrgebiet, Rheinisches Revier, …) → [`Region::Named`].
//! The result is de-duplicated and in text order. A Land inside a longer Land name
//! ("Sachsen" in "Sachsen-Anhalt") is not reported twice.

use crate::model::pattern::Pattern;

use super::bounded::compact;
use regex::Regex;

use super::text::plain_spaces;
use crate::model::{Bundesland, Region};

use Bundesland as L;

/// (pattern, Land); longer names first so that they claim their span.
const LAENDER: &[(&str, Bundesland)] = &[
    (r"baden[-\s_]w(?:ü|ue)rttemberg", L::BadenWuerttemberg),
    (r"mecklenburg[-\s_]vorpommern", L::MecklenburgVorpommern),
    (r"nordrhein[-\s_]westfalen|\bnrw\b", L::NordrheinWestfalen),
    (r"rheinland[-\s_]pfalz", L::RheinlandPfalz),
    (r"sachsen[-\s_]anhalt|\bde_st\b", L::SachsenAnhalt),
    (r"schleswig[-\s_]holstein", L::SchleswigHolstein),
    (r"niedersachsen|\bde_ni\b", L::Niedersachsen),
    (r"\bbayern\b|freistaat\s+bayern", L::Bayern),
    (r"\bberlin\b", L::Berlin),
    (r"\bbrandenburg\b", L::Brandenburg),
    (r"\bbremen\b", L::Bremen),
    (r"\bhamburg\b", L::Hamburg),
    (r"\bhessen\b", L::Hessen),
    (r"\bsaarland\b", L::Saarland),
    (r"\bsachsen\b", L::Sachsen),
    (r"th(?:ü|ue)ringen", L::Thueringen),
];

static BUNDESWEIT: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)\b_?bundesweit|deutschlandweit|in\s+ganz\s+deutschland|\bin\s+deutschland\b|im\s+(?:gesamten\s+)?bundesgebiet")
        .expect("bundesweit regex")
});

static EU_WEIT: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)\beu-?weit|europaweit|in\s+allen\s+(?:eu-)?mitgliedstaaten|in\s+allen\s+mitgliedstaaten\s+der\s+(?:eu|europäischen\s+union)")
        .expect("eu-weit regex")
});

static LAND_REGEXES: Pattern<Vec<(Regex, Bundesland)>> = Pattern::new(|| {
    LAENDER
        .iter()
        .map(|(p, l)| (compact(&format!("(?i){p}")).expect("land regex"), *l))
        .collect()
});

/// Named sub-regions; the match itself (whitespace tidied) is the name.
static NAMED: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"LEADER-Region\s+[\p{L}\d][\p{L}\d-]*(?:\s+[\p{Lu}\d][\p{L}\d-]*)?|(?:Regierungsbezirk|Landkreis|Kreis|Städteregion)\s+\p{Lu}[\p{L}-]+|Münsterland|Sauerland|Siegerland|Ostwestfalen-Lippe|Niederrhein|Bergische[ns]?\s+Land|Emscher-Lippe|Ruhrgebiet|Metropole\s+Ruhr|Rheinische[ns]?\s+Revier|Lausitzer\s+Revier|Mitteldeutsche[ns]?\s+Revier|Helmstedter\s+Revier|\bLausitz\b",
    )
    .expect("named region regex")
});

/// The nominative name: "im Rheinischen Revier" names the "Rheinisches Revier".
fn region_name(found: &str) -> String {
    let words: Vec<&str> = found.split_whitespace().collect();
    match words.as_slice() {
        [adjective, noun @ ("Revier" | "Land")] if adjective.ends_with('n') || adjective.ends_with('e') => {
            let stem = adjective.trim_end_matches('n').trim_end_matches('e');
            format!("{stem}es {noun}")
        }
        _ => words.join(" "),
    }
}

/// Regions named in free text or a label value, de-duplicated, in text order.
pub fn parse_regions(text: &str) -> Vec<Region> {
    let text = plain_spaces(text);
    let mut hits: Vec<(usize, usize, Region)> = Vec::new();
    let mut claim = |start: usize, end: usize, region: Region| {
        if !hits.iter().any(|(s, e, _)| start < *e && *s < end) {
            hits.push((start, end, region));
        }
    };
    for m in NAMED.get().find_iter(&text) {
        claim(m.start(), m.end(), Region::Named(region_name(m.as_str())));
    }
    for m in BUNDESWEIT.get().find_iter(&text) {
        claim(m.start(), m.end(), Region::Bundesweit);
    }
    for m in EU_WEIT.get().find_iter(&text) {
        claim(m.start(), m.end(), Region::EuWeit);
    }
    for (regex, land) in LAND_REGEXES.get().iter() {
        for m in regex.find_iter(&text) {
            claim(m.start(), m.end(), Region::Land(*land));
        }
    }
    hits.sort_by_key(|(start, _, _)| *start);
    let mut regions: Vec<Region> = Vec::new();
    for (_, _, region) in hits {
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Region {
        Region::Named(name.to_string())
    }

    #[test]
    fn region_cases() {
        let nrw = Region::Land(L::NordrheinWestfalen);
        let cases: Vec<(&str, Vec<Region>)> = vec![
            ("bundesweit", vec![Region::Bundesweit]),
            ("_bundesweit", vec![Region::Bundesweit]),
            (
                "Gefördert werden Vorhaben in ganz Deutschland.",
                vec![Region::Bundesweit],
            ),
            ("Vorhaben im Bundesgebiet und in Deutschland", vec![Region::Bundesweit]),
            ("Nordrhein-Westfalen", vec![nrw.clone()]),
            (
                "nordrhein_westfalen, baden_wuerttemberg",
                vec![nrw.clone(), Region::Land(L::BadenWuerttemberg)],
            ),
            ("Projekte in NRW", vec![nrw.clone()]),
            (
                "de_ni, de_st, thueringen",
                vec![
                    Region::Land(L::Niedersachsen),
                    Region::Land(L::SachsenAnhalt),
                    Region::Land(L::Thueringen),
                ],
            ),
            (
                "Sachsen-Anhalt, Sachsen, Niedersachsen",
                vec![
                    Region::Land(L::SachsenAnhalt),
                    Region::Land(L::Sachsen),
                    Region::Land(L::Niedersachsen),
                ],
            ),
            ("bundesweit, Nordrhein-Westfalen", vec![Region::Bundesweit, nrw.clone()]),
            (
                "Der Aufruf steht in allen EU-Mitgliedstaaten offen.",
                vec![Region::EuWeit],
            ),
            ("europaweit", vec![Region::EuWeit]),
            ("EU-weit", vec![Region::EuWeit]),
            (
                "Gefördert werden Projekte in der LEADER-Region 9Plus und im Münsterland (Regierungsbezirk Münster).",
                vec![
                    named("LEADER-Region 9Plus"),
                    named("Münsterland"),
                    named("Regierungsbezirk Münster"),
                ],
            ),
            (
                "Antragsberechtigt sind Kommunen im Kreis Warendorf in Nordrhein-Westfalen.",
                vec![named("Kreis Warendorf"), nrw.clone()],
            ),
            (
                "Strukturwandel im Rheinischen Revier und im Ruhrgebiet",
                vec![named("Rheinisches Revier"), named("Ruhrgebiet")],
            ),
            ("im Bergischen Land", vec![named("Bergisches Land")]),
            ("Rheinisches Revier", vec![named("Rheinisches Revier")]),
            (
                "Mecklenburg Vorpommern und Thüringen und Hessen",
                vec![
                    Region::Land(L::MecklenburgVorpommern),
                    Region::Land(L::Thueringen),
                    Region::Land(L::Hessen),
                ],
            ),
            // negative cases
            ("", vec![]),
            ("Antragsberechtigt sind Kreise und Gemeinden.", vec![]),
            ("Sachsenhausen und Bayerns Nachbarn", vec![]),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_regions(text), expected, "input: {text:?}");
        }
    }
}
