//! Maximum amount per project (Förderhöchstbetrag) from German text.
//!
//! Accepts the currency before or after the number (`bis zu EUR 140.000`, `500.000 Euro`,
//! `2 Mio. €`, `2,5 Mio. EUR`, `1,5 Millionen Euro`, `EUR 100 Millionen`, `1 Mrd. Euro`,
//! `50 Tsd. Euro`). An amount qualified as a maximum ("bis zu", "maximal", "höchstens",
//! "max.", "Höchstbetrag", "begrenzt auf") wins; otherwise an amount in a sentence about
//! the grant itself counts. Never taken: minimums ("mindestens", "Mindestinvestitionsvolumen",
//! "Bagatellgrenze") and programme budgets ("stehen … zur Verfügung", "Gesamtvolumen",
//! "Fördervolumen von insgesamt", "Budget") unless the clause says "pro Projekt" / "je Vorhaben".

use crate::model::pattern::Pattern;

use super::bounded::{Bounded, compact};
use regex::{Captures, Regex};

use super::text::{plain_spaces, sentences};

const SCALE: &str = r"(?:\s*(mio\.?|millionen|million|mrd\.?|milliarden|milliarde|tsd\.?|tausend)(?:\s|$|[,;:)]))?";
const NUMBER: &str = r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?";

static MONEY: Pattern<Bounded> = Pattern::new(|| {
    let before = format!(r"(?:eur\b|€|euro\b)\s*{NUMBER}{SCALE}");
    let after = format!(r"\b{NUMBER}{SCALE}\s*(?:eur\b|€|euro\b)");
    Bounded::new(&format!(r"(?i){before}|{after}")).expect("money regex")
});

/// The last qualifier before an amount decides: a maximum or a minimum.
static QUALIFIER: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(
        r"(?i)(?P<max>bis\s+zu|\bmaximal|\bmax\.|höchstens|höchstbetrag\w*|begrenzt\s+auf|gedeckelt\s+auf|obergrenze\s+von|maximum\s+von)|(?P<min>\bmindest\w*|\bwenigstens|\bbagatell\w*|\bab\b|\büber\b|mehr\s+als|\bunter\b|weniger\s+als)",
    )
    .expect("qualifier regex")
});

/// How far before an amount its qualifier may stand.
const QUALIFIER_REACH: usize = 48;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Maximum,
    Minimum,
}

static BUDGET: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"(?i)zur\s+verfügung|gesamtvolumen|fördervolumen|budget|insgesamt|haushalts|mittelvolumen|programmvolumen|bereitgestellt|gesamtbudget|fonds|etat",
    )
    .expect("budget regex")
});

static PER_PROJECT: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)(?:pro|je)\s+(?:projekt|vorhaben|antrag|maßnahme|kommune|antragsteller\w*|zuwendungsempfänger\w*|einrichtung|standort)")
        .expect("per project regex")
});

static GRANT: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)zuschuss|förderung|zuwendung|gefördert|erhalten|festbetrag|pauschale|förderbetrag|fördersumme|zuwendungsbetrag|darlehen|kredit|bürgschaft")
        .expect("grant regex")
});

/// An amount per unit of something other than the project ("6 Euro je Kind",
/// "20 € pro Teilnehmer", "50 Euro je Quadratmeter", "per participant"): a rate,
/// never a maximum per project. The text keeps it; [`parse_amount_max`] skips it.
static PER_UNIT: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"(?i)^\s*(?:\)\s*)?(?:je|pro|per|/)\s+(?:angefangene[nmr]?\s+|teilnehmende[nmr]?\s+|gefahrene[nmr]?\s+)?(\w+)",
    )
    .expect("per unit regex")
});

/// The "per …" nouns that still name the project or the recipient ("je Vorhaben"): the
/// unit word starts with one of these stems, "stadt" only as the whole word. A list, not
/// a regex: twenty Unicode `\w*` made it the costliest extraction pattern to compile
/// (12 ms in every process that parses a page).
const PER_PROJECT_STEMS: [&str; 18] = [
    "projekt",
    "vorhaben",
    "antrag",
    "maßnahme",
    "massnahme",
    "kommune",
    "gemeinde",
    "kreis",
    "zuwendungsempfänger",
    "einrichtung",
    "standort",
    "schule",
    "verein",
    "träger",
    "project",
    "beneficiar",
    "applicant",
    "grant",
];

fn names_the_project(unit: &str) -> bool {
    let unit = unit.to_lowercase();
    unit == "stadt" || PER_PROJECT_STEMS.iter().any(|stem| unit.starts_with(stem))
}

/// Amounts that describe the applicant or something else, not the grant.
static NOT_FUNDING: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"(?i)umsatz|bilanzsumme|beschäftigte|mitarbeit|einwohner|einkommen|vermögen|kapital|gebühr|miete|kaufpreis",
    )
    .expect("not funding regex")
});

/// Which kind of amount a sentence offers, best first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    QualifiedGrant,
    Qualified,
    Grant,
}

/// A text this short is a label value ("bis zu 2 Mio. €"): no sentence context needed.
const LABEL_VALUE_WORDS: usize = 8;

/// Maximum amount per project in EUR; `None` when the text states none.
///
/// The first sentence of the best kind wins (a "bis zu" amount in a sentence about
/// the grant, then any "bis zu" amount, then an amount in a grant sentence): summaries
/// come before legal fine print. Within that sentence the largest amount counts
/// ("Kleinprojekte bis zu 50.000 Euro, Großprojekte bis zu 2 Mio. Euro" → 2 Mio.).
pub fn parse_amount_max(text: &str) -> Option<u64> {
    let text = plain_spaces(text);
    let label_value = text.split_whitespace().count() <= LABEL_VALUE_WORDS;
    let mut best: Option<(Tier, u64)> = None;
    for line in text.lines() {
        for sentence in sentences(line) {
            if !mentions_currency(sentence) {
                continue;
            }
            let grant = label_value || GRANT.get().is_match(sentence);
            let Some(found) = best_in_sentence(sentence, grant) else {
                continue;
            };
            if best.is_none_or(|(tier, _)| found.0 < tier) {
                best = Some(found);
            }
        }
    }
    best.map(|(_, amount)| amount)
}

/// Cheap test before the patterns run: most sentences name no amount.
fn mentions_currency(sentence: &str) -> bool {
    sentence.contains('€') || sentence.to_ascii_lowercase().contains("eur")
}

fn best_in_sentence(sentence: &str, grant: bool) -> Option<(Tier, u64)> {
    let mut best: Option<(Tier, u64)> = None;
    for caps in MONEY.get().captures_iter(sentence) {
        let whole = caps.get(0).expect("match");
        let (start, end) = (whole.start(), whole.end());
        if is_per_unit(&sentence[end..]) {
            continue;
        }
        let qualifier = qualifier_before(&sentence[..start]);
        let clause = clause_around(sentence, start, end);
        if qualifier == Some(Qualifier::Minimum)
            || (BUDGET.get().is_match(clause) && !PER_PROJECT.get().is_match(clause))
            || NOT_FUNDING.get().is_match(clause)
        {
            continue;
        }
        let Some(amount) = amount(&caps) else {
            continue;
        };
        let tier = match (qualifier == Some(Qualifier::Maximum), grant) {
            (true, true) => Tier::QualifiedGrant,
            (true, false) => Tier::Qualified,
            (false, true) => Tier::Grant,
            (false, false) => continue,
        };
        best = match best {
            Some((t, a)) if t < tier || (t == tier && a >= amount) => Some((t, a)),
            _ => Some((tier, amount)),
        };
    }
    best
}

/// Whether the words after an amount make it a price per unit ("je Kind").
fn is_per_unit(after: &str) -> bool {
    PER_UNIT
        .get()
        .captures(after)
        .is_some_and(|c| !names_the_project(&c[1]))
}

fn qualifier_before(before: &str) -> Option<Qualifier> {
    let mut from = before.len().saturating_sub(QUALIFIER_REACH);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let window = &before[from..];
    let window = &window[window.rfind(';').map_or(0, |i| i + 1)..];
    let qualifier = QUALIFIER.get();
    let caps = qualifier.captures_iter(window).last()?;
    Some(if caps.name("max").is_some() {
        Qualifier::Maximum
    } else {
        Qualifier::Minimum
    })
}

/// The clause of an amount: between the nearest ',' / ';' around it.
fn clause_around(sentence: &str, start: usize, end: usize) -> &str {
    let clause_start = sentence[..start].rfind([';', ',']).map_or(0, |i| i + 1);
    let clause_end = sentence[end..].find([';', ',']).map_or(sentence.len(), |i| end + i);
    &sentence[clause_start..clause_end]
}

/// EUR from the captures of [`MONEY`]: groups 1-3 (currency first) or 4-6 (currency last).
fn amount(caps: &Captures<'_>) -> Option<u64> {
    let (integer, fraction, scale) = match caps.get(1) {
        Some(integer) => (integer, caps.get(2), caps.get(3)),
        None => (caps.get(4)?, caps.get(5), caps.get(6)),
    };
    let integer: u64 = integer.as_str().replace('.', "").parse().ok()?;
    let cents = fraction.map_or(Some(0), |f| {
        let digits = f.as_str();
        digits
            .parse::<u64>()
            .ok()
            .map(|v| if digits.len() == 1 { v * 10 } else { v })
    })?;
    let factor: u64 = match scale.map(|s| s.as_str().to_lowercase()) {
        None => 1,
        Some(s) if s.starts_with("mio") || s.starts_with("million") => 1_000_000,
        Some(s) if s.starts_with("mrd") || s.starts_with("milliard") => 1_000_000_000,
        Some(_) => 1_000,
    };
    let value = integer.checked_mul(factor)?.checked_add(cents * factor / 100)?;
    (value > 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_unit_nouns_that_name_the_project() {
        for unit in [
            "Vorhaben",
            "Projekte",
            "ANTRAGSTELLER",
            "Zuwendungsempfänger",
            "Stadt",
            "Kreisen",
            "Maßnahme",
            "grant",
        ] {
            assert!(names_the_project(unit), "{unit}");
        }
        for unit in [
            "Kind",
            "Teilnehmer",
            "Stadtteil",
            "Quadratmeter",
            "Einwohner",
            "participant",
        ] {
            assert!(!names_the_project(unit), "{unit}");
        }
    }

    const CASES: &[(&str, Option<u64>)] = &[
        (
            "Sie erhalten die Förderung als Zuschuss bis zu EUR 140.000.",
            Some(140_000),
        ),
        ("Sie erhalten einen Zuschuss von EUR 75.000 pro Projekt.", Some(75_000)),
        ("Der Zuschuss beträgt 500.000 Euro.", Some(500_000)),
        ("Förderung bis zu 2 Mio. € je Vorhaben", Some(2_000_000)),
        ("Die Zuwendung beträgt höchstens 2,5 Mio. EUR.", Some(2_500_000)),
        ("maximal 1,5 Millionen Euro je Kommune", Some(1_500_000)),
        ("Die Förderung ist auf EUR 100 Millionen begrenzt.", Some(100_000_000)),
        ("bis zu 1 Mrd. Euro", Some(1_000_000_000)),
        (
            "Projekte ab 10.000 Euro Volumen erhalten bis zu 100.000 Euro Zuschuss.",
            Some(100_000),
        ),
        ("bis zu 50 Tsd. Euro", Some(50_000)),
        (
            "bis zu 90 Prozent der zuwendungsfähigen Ausgaben, maximal aber EUR 10.000",
            Some(10_000),
        ),
        ("Bis zu 2.000 Euro, pro Schule", Some(2_000)),
        ("Der Förderbetrag beträgt 12.500,50 EUR.", Some(12_500)),
        (
            "Das förderfähige Mindestinvestitionsvolumen liegt bei 200.000 Euro. Der Zuschuss beträgt höchstens 1.000.000 Euro.",
            Some(1_000_000),
        ),
        (
            "Für das Programm stehen insgesamt 60 Mio. Euro zur Verfügung. Je Vorhaben werden bis zu 300.000 Euro gewährt.",
            Some(300_000),
        ),
        (
            "Kleinprojekte erhalten bis zu 50.000 Euro Förderung, Großprojekte bis zu 2 Mio. Euro.",
            Some(2_000_000),
        ),
        (
            "Das Budget beträgt 43 Millionen Euro, pro Projekt bis zu 400.000 Euro.",
            Some(400_000),
        ),
        // negative cases
        ("Für das Programm stehen 60 Mio. Euro zur Verfügung.", None),
        ("Das Gesamtvolumen des Aufrufs beträgt 43 Millionen Euro.", None),
        (
            "Das Fördervolumen von insgesamt 100 Mio. EUR wird auf drei Runden verteilt.",
            None,
        ),
        (
            "Gefördert werden Projekte mit Ausgaben von mindestens 25.000 Euro.",
            None,
        ),
        ("Die Bagatellgrenze liegt bei 5.000 Euro Zuschuss.", None),
        ("Die Stadt hat 40.000 Einwohner.", None),
        (
            "Im Jahr 2025 wurden in der Stadt für die Halle 300 Euro Miete gezahlt.",
            None,
        ),
        (
            "Antragsberechtigt sind Unternehmen mit einem Jahresumsatz von bis zu 75 Mio. EUR und weniger als 500 Beschäftigten.",
            None,
        ),
        ("", None),
        // amounts per unit are rates, not maximums
        ("Gefördert werden Ferienfreizeiten mit 6 Euro je Kind und Tag.", None),
        ("Der Zuschuss beträgt bis zu 20 Euro pro Teilnehmer.", None),
        ("Förderung: 50 € je Quadratmeter entsiegelter Fläche", None),
        ("Die Pauschale beträgt 15 Euro pro teilnehmender Person.", None),
        ("The grant is EUR 300 per participant.", None),
        (
            "Zuschuss von 6 Euro je Kind, höchstens 5.000 Euro je Verein.",
            Some(5_000),
        ),
        ("Bis zu 10.000 Euro je Vorhaben.", Some(10_000)),
    ];

    #[test]
    fn amount_cases() {
        for (text, expected) in CASES {
            assert_eq!(parse_amount_max(text), *expected, "input: {text:?}");
        }
    }
}
