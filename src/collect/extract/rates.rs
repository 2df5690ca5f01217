//! Förderquote (funding rate) from German text.
//!
//! Accepts `bis zu 90 %`, `90 Prozent`, `max. 90%`, `65 - 90 %`, `zwischen 40 % und 80 %`,
//! `80 v. H.`, decimal commas, NBSP. Guideline texts are full of unrelated percentages,
//! so a rate is taken only from a sentence about funding (zuwendungsfähig, förderfähig,
//! beihilfefähig, Zuschuss, Förderquote, Fördersatz, gefördert, …) — or from a short
//! label value such as "bis zu 90 %" — and never from sentences about votes, AGVO
//! aid intensities, emissions, savings, own contributions or shareholdings.
//! "mindestens 25 Prozent" is a threshold, not a rate. Values above 100 are rejected.

use crate::model::pattern::Pattern;

use super::bounded::{Bounded, compact};
use regex::Regex;

use super::text::{plain_spaces, sentences};
use crate::model::FundingRate;

static RANGE: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(
        r"(?i)(zwischen\s+)?\b(\d{1,3}(?:,\d{1,2})?)\s*(?:%|prozent)?\s*(?:-|–|bis(?:\s+zu)?|und)\s*(\d{1,3}(?:,\d{1,2})?)\s*(?:%|prozent|v\.\s?h\.)",
    )
    .expect("rate range regex")
});

static SINGLE: Pattern<Bounded> =
    Pattern::new(|| Bounded::new(r"(?i)\b(\d{1,3}(?:,\d{1,2})?)\s*(?:%|prozent\b|v\.\s?h\.)").expect("rate regex"));

/// Sentences naming the funding share itself.
static STRONG: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)zuwendungsfähig|förderfähig|beihilfefähig|förderquote|fördersatz|zuschuss|anteilfinanzierung|anteilfinanziert|funding\s+rate|co-?financing|reimburse\w*|eligible\s+costs|eu\s+contribution")
        .expect("strong rate context regex")
});

/// Sentences about funding in general.
static FUNDING: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(r"(?i)gefördert|förderung|zuwendung|fördern|erstattet|bezuschusst|finanziert|übernimmt|übernommen|\bfunded\b|\bfunding\b|\bgrants?\b")
        .expect("rate context regex")
});

/// Sentences whose percentages are about something else.
static IGNORED: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(
        r"(?i)stimme|mehrheit|agvo|beihilfeintensität|emission|einsparung|eingespart|minderung|reduktion|reduzier|treibhausgas|co2|co₂|eigenanteil|eigenmittel|eigenbeteiligung|beteiligung|anteil\s+(?:der|des|an)\b|quote\s+(?:der|des)\b|auslastung|zins|tilgung|rendite|inflation",
    )
    .expect("ignored rate context regex")
});

static MINIMUM_BEFORE: Pattern<Regex> =
    Pattern::new(|| compact(r"(?i)(?:mindestens|wenigstens|mehr\s+als|über|ab)\s*$").expect("minimum regex"));

/// A text this short is a label value ("bis zu 90 %"): no sentence context needed.
const LABEL_VALUE_WORDS: usize = 8;

/// Funding rate from summary text (not legal fine print); `None` when no sentence states one.
pub fn parse_funding_rate(text: &str) -> Option<FundingRate> {
    let text = plain_spaces(text);
    let label_value = text.split_whitespace().count() <= LABEL_VALUE_WORDS;
    let mut best: Option<(u8, FundingRate)> = None;
    for line in text.lines() {
        for sentence in sentences(line) {
            if !mentions_percent(sentence) || IGNORED.get().is_match(sentence) {
                continue;
            }
            let score = if STRONG.get().is_match(sentence) {
                3
            } else if FUNDING.get().is_match(sentence) {
                2
            } else if label_value {
                1
            } else {
                continue;
            };
            if best.is_some_and(|(s, _)| s >= score) {
                continue;
            }
            if let Some(rate) = rate_in_sentence(sentence) {
                best = Some((score, rate));
            }
        }
    }
    best.map(|(_, rate)| rate)
}

/// Cheap test before the patterns run: most sentences state no percentage.
fn mentions_percent(sentence: &str) -> bool {
    sentence.contains('%')
        || sentence.contains("rozent")
        || sentence.contains("ROZENT")
        || sentence.contains("v. H")
        || sentence.contains("v.H")
}

/// An explicit range wins; otherwise the highest stated share ("bis zu 80 Prozent,
/// in finanzschwachen Kommunen bis zu 90 Prozent" → 90).
fn rate_in_sentence(sentence: &str) -> Option<FundingRate> {
    for caps in RANGE.get().captures_iter(sentence) {
        let is_and = caps[0].to_lowercase().contains("und");
        if is_and && caps.get(1).is_none() {
            continue;
        }
        let (Some(min), Some(max)) = (percent(&caps[2]), percent(&caps[3])) else {
            continue;
        };
        if min < max {
            return Some(FundingRate { min: Some(min), max });
        }
    }
    SINGLE
        .get()
        .captures_iter(sentence)
        .filter(|caps| {
            !MINIMUM_BEFORE
                .get()
                .is_match(&sentence[..caps.get(0).expect("match").start()])
        })
        .filter_map(|caps| percent(&caps[1]))
        .max_by(f64::total_cmp)
        .map(|max| FundingRate { min: None, max })
}

fn percent(number: &str) -> Option<f64> {
    let value: f64 = number.replace(',', ".").parse().ok()?;
    (value > 0.0 && value <= 100.0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, expected (min, max)).
    type Case = (&'static str, Option<(Option<f64>, f64)>);

    const CASES: &[Case] = &[
        (
            "Die Förderung beträgt bis zu 100 Prozent der zuwendungsfähigen Ausgaben.",
            Some((None, 100.0)),
        ),
        (
            "Zuschuss von bis zu 50 Prozent der förderfähigen Kosten",
            Some((None, 50.0)),
        ),
        ("bis zu 80% der beihilfefähigen Kosten", Some((None, 80.0))),
        (
            "Sie erhalten bis zu 90 Prozent der zuwendungsfähigen Ausgaben, maximal aber EUR 10.000.",
            Some((None, 90.0)),
        ),
        ("Förderquote: 65 - 90 %", Some((Some(65.0), 90.0))),
        ("Der Fördersatz liegt zwischen 40 % und 80 %.", Some((Some(40.0), 80.0))),
        ("Gefördert werden Projekte mit max. 90%.", Some((None, 90.0))),
        ("Zuschuss in Höhe von 90\u{a0}%", Some((None, 90.0))),
        ("Zuschuss von 62,5 Prozent", Some((None, 62.5))),
        (
            "Die Zuwendung beträgt 80 v. H. der zuwendungsfähigen Ausgaben.",
            Some((None, 80.0)),
        ),
        ("bis zu 90 %", Some((None, 90.0))),
        (
            "Zuschuss bis zu 80 Prozent, in finanzschwachen Kommunen bis zu 90 Prozent.",
            Some((None, 90.0)),
        ),
        (
            "Die Förderung beträgt bis zu 60 Prozent der Ausgaben. Nach AGVO ist eine Beihilfeintensität von 35 % zulässig.",
            Some((None, 60.0)),
        ),
        (
            "Beschlüsse bedürfen mindestens 55% der Stimmen. Zuschuss bis zu 70 Prozent der förderfähigen Kosten.",
            Some((None, 70.0)),
        ),
        // EU records (SEDIA) in English
        (
            "The funding rate is up to 80% of the eligible costs.",
            Some((None, 80.0)),
        ),
        ("Projects will be funded up to 60 %.", Some((None, 60.0))),
        ("EU contribution: up to 95% of eligible costs", Some((None, 95.0))),
        // negative cases
        (
            "Projects should reduce emissions by 55% by 2030 and reach 20% more users.",
            None,
        ),
        (
            "Antragsberechtigt sind Unternehmen mit mindestens 25 Prozent kommunaler Beteiligung.",
            None,
        ),
        ("Ziel ist eine Einsparung von 40 % der Emissionen bis 2030.", None),
        ("Der Eigenanteil beträgt 10 Prozent.", None),
        (
            "Der Anteil erneuerbarer Energien in der Region soll langfristig deutlich über das heutige Niveau von 45 % steigen.",
            None,
        ),
        ("Zuschuss von 150 %", None),
        ("Zuschuss für Kommunen", None),
        ("", None),
    ];

    #[test]
    fn funding_rate_cases() {
        for (text, expected) in CASES {
            let expected = expected.map(|(min, max)| FundingRate { min, max });
            assert_eq!(parse_funding_rate(text), expected, "input: {text:?}");
        }
    }
}
