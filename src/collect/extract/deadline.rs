//! Deadlines (Fristen) from German text.
//!
//! A date becomes a deadline only in a deadline context, never by position:
//! - its sentence names the deadline: Frist(en), Einreichungsfrist, Antragsfrist,
//!   (Sammlungs)Stichtag, einreichen/einzureichen/eingereicht, Projektskizze,
//!   Interessenbekundung, Einreichungsrunde, Anträge, "endete", "Der nächste … ist der …";
//! - or it directly follows "bis (spätestens) (zum)" / "spätestens", unless its clause
//!   speaks of validity or project runtime ("tritt … in Kraft", "gilt bis", "Laufzeit",
//!   "abgeschlossen sein") without naming an application deadline;
//! - or its line sits under a deadline heading ("Fristen", "Bitte beachten Sie die
//!   folgenden Einreichungsfristen:") and the list items that follow it.
//!
//! Within such a context: the start of a window ("01. Nov. 2024 bis 31. Dez. 2027",
//! "ab dem …", "vom …") is not a deadline, the end is; a time right after the date
//! ("14:00 Uhr (MESZ)") is kept; a preceding stage name ("Phase 1", "Modul A",
//! "2. Runde") becomes the label; a year-less date ("bis 30.09. jeden Jahres",
//! "nur bis 23.10.") is annual, stored as its next occurrence on or after `today`.
//! Past dates stay as they are ("endete am 28.11.2024"), so the call reads as closed.
//!
//! Rolling wording (laufend, jederzeit, ganzjährig, fortlaufend, freie Einreichung,
//! Windhund-Prinzip, solange Mittel verfügbar, first come first served) gives
//! [`Deadline::Rolling`] only when no deadline date was found: a stated cut-off is
//! the harder fact ("Anträge laufend, spätestens bis 30.6.2026" closes on 30.6.2026),
//! and missing it costs a Kommune the money while a false cut-off only costs a look.

use crate::model::pattern::Pattern;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

use super::bounded::{Bounded, compact};
use super::dates::{DateHit, scan_dates};
use super::text::{plain_spaces, sentences};
use crate::model::{Deadline, DeadlineDate};

static STRONG_ANCHOR: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(
        r"(?i)frist|stichtag|einreich|einzureich|eingereicht|skizze|interessenbekundung|anträge\b|antragstellung|antragsschluss|antragsfenster|förderfenster|bewerbung|bewerben|teilnahmeschluss|einsendeschluss|abgabetermin|\bendete\b|\bdeadline|nächste\w*\s+\w+\s+ist\s+(?:der|am)\b|zu\s+beantragen|beantragt\s+werden",
    )
    .expect("deadline anchor regex")
});

/// "bis", "bis spätestens", "bis zum", "spätestens am" right before the date.
static WEAK_ANCHOR: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)\b(?:bis|spätestens)(?:\s+(?:spätestens|zum|zur|am|einschließlich|einschl\.|bis))*\s*$")
        .expect("weak deadline anchor regex")
});

/// Clauses about validity, runtime or completion, not about applying.
static BLOCKER: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"(?i)in\s+kraft|außer\s+kraft|gilt\s+bis|gültig|geltungsdauer|laufzeit|befristet|bewilligungszeitraum|durchführungszeitraum|abgeschlossen|abzuschließen|umgesetzt|durchgeführt|verwendungsnachweis|inbetriebnahme|ausgezahlt|abgerufen|verausgabt|begonnen",
    )
    .expect("deadline blocker regex")
});

/// The date opens something: "ab dem 1.1.2025", "vom 1.1. bis …", "Stand: …", "Richtlinie vom …".
static START_BEFORE: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)\b(?:ab|ab\s+dem|ab\s+der|vom|von|seit|stand:?|beginnend\s+am|beginn\s+am|veröffentlicht\s+am)\s*$")
        .expect("window start regex")
});

/// "… bis 31. Dez. 2027", "… – 31.12.2027" right after a date: that date opens a window.
static WINDOW_AFTER: Pattern<Regex> = Pattern::new(|| {
    compact(r"^\s*(?:,\s*\d{1,2}[:.]\d{2}\s*Uhr\s*)?(?:bis(?:\s+zum)?|[-–—])\s*$").expect("window regex")
});

static STAGE_LABEL: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"\b(?:(?i:phase|modul|stufe|runde|einreichungsrunde|verfahrensstufe|förderaufruf|aufruf|los|teil|schritt|säule|call|förderlinie|stichtag)\s+(?:[A-Z]{1,2}|\d{1,2}|[IVX]{1,4})\b|\d{1,2}\.\s*(?i:phase|stufe|runde|einreichungsrunde|stichtag|förderaufruf|aufruf|call))",
    )
    .expect("stage label regex")
});

/// Rolling wording that needs no further context.
static ROLLING_PLAIN: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"(?i)freie\s+einreichung|windhund|first[\s-]+come,?[\s-]+first[\s-]+served|solange\s+(?:die\s+)?(?:\w+\s+)?(?:haushalts|förder)?mittel\s+(?:\w+\s+)?(?:verfügbar|reichen|vorhanden|zur\s+verfügung)|keine\s+(?:einreichungs|antrags|bewerbungs)?frist|ohne\s+(?:einreichungs|antrags|bewerbungs)?frist|nicht\s+befristet|unbefristet",
    )
    .expect("rolling regex")
});

/// Rolling words that count only when the sentence is about applying (or is a bare label value).
static ROLLING_WORD: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)\blaufend\b|\bjederzeit\b|ganzjährig|fortlaufend|\brollierend").expect("rolling word regex")
});

static APPLYING: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)antr[aä]g|einreich|einzureich|beantrag|skizze|bewerb|frist").expect("applying regex")
});

/// Deadlines stated in free text (a whole page or a summary), as of `today`.
/// Never guesses: a text without deadline wording gives [`Deadline::Unknown`].
pub fn parse_deadline(text: &str, today: NaiveDate) -> Deadline {
    collect(text, today, false)
}

/// Deadlines from a value already known to be about the deadline: the answer to a
/// "Frist" / "Einreichungsfrist" label or the text of a configured deadline selector.
/// Every date counts (window starts excepted); "Laufend" alone means rolling.
pub fn parse_deadline_field(text: &str, today: NaiveDate) -> Deadline {
    collect(text, today, true)
}

fn collect(text: &str, today: NaiveDate, field: bool) -> Deadline {
    let text = plain_spaces(text);
    let mut found = Vec::new();
    // Most pages have no rolling wording at all: one look at the whole text spares the per-sentence checks.
    let may_roll = ROLLING_PLAIN.get().is_match(&text) || ROLLING_WORD.get().is_match(&text);
    let mut rolling = false;
    let mut carry = Carry::None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let item = is_list_item(line);
        let inherited = field || carry == Carry::Next || (carry == Carry::Items && item);
        let mut has_date = false;
        for sentence in sentences(line) {
            // Dates need digits; skipping digit-free sentences keeps the scanners off most prose.
            if sentence.bytes().any(|b| b.is_ascii_digit()) {
                let hits = scan_dates(sentence);
                has_date |= !hits.is_empty();
                dates_in_sentence(sentence, &hits, inherited, today, &mut found);
            }
            rolling |= may_roll && is_rolling(sentence, field);
        }
        carry = next_carry(line, item, inherited, has_date);
    }
    // A stated cut-off beats rolling wording; see the module documentation.
    if !found.is_empty() {
        Deadline::Dates(found)
    } else if rolling {
        Deadline::Rolling
    } else {
        Deadline::Unknown
    }
}

/// How far a deadline heading reaches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Carry {
    None,
    /// The next line (a heading or an introduction ending with ':' came before).
    Next,
    /// Following list items.
    Items,
}

fn next_carry(line: &str, item: bool, inherited: bool, has_date: bool) -> Carry {
    let heading_like = (!has_date && line.split_whitespace().count() <= 6) || line.ends_with(':');
    let anchored = heading_like && STRONG_ANCHOR.get().is_match(line);
    let heading = anchored && !has_date && line.split_whitespace().count() <= 6;
    if heading || (line.ends_with(':') && (anchored || inherited)) {
        Carry::Next
    } else if item && inherited {
        Carry::Items
    } else {
        Carry::None
    }
}

fn is_list_item(line: &str) -> bool {
    ["- ", "• ", "* ", "– "].iter().any(|p| line.starts_with(p))
}

fn dates_in_sentence(
    sentence: &str,
    hits: &[DateHit],
    inherited: bool,
    today: NaiveDate,
    found: &mut Vec<DeadlineDate>,
) {
    if hits.is_empty() {
        return;
    }
    let sentence_anchored = inherited || STRONG_ANCHOR.get().is_match(sentence);
    for (i, hit) in hits.iter().enumerate() {
        let before = &sentence[..hit.start];
        if opens_window(sentence, hit, hits.get(i + 1)) || START_BEFORE.get().is_match(before) {
            continue;
        }
        let clause = clause_around(sentence, hit);
        if BLOCKER.get().is_match(clause) && !STRONG_ANCHOR.get().is_match(clause) && !inherited {
            continue;
        }
        if !(sentence_anchored || WEAK_ANCHOR.get().is_match(before)) {
            continue;
        }
        if let Some(deadline) = to_deadline(hit, before, today) {
            add_unique(found, deadline);
        }
    }
}

fn opens_window(sentence: &str, hit: &DateHit, next: Option<&DateHit>) -> bool {
    next.is_some_and(|next| WINDOW_AFTER.get().is_match(&sentence[hit.end..next.start]))
}

/// The clause holding the date: from the previous ';' or ', ' to the next one.
fn clause_around<'a>(sentence: &'a str, hit: &DateHit) -> &'a str {
    let start = sentence[..hit.start].rfind([';', ',']).map_or(0, |i| i + 1);
    let end = sentence[hit.end..]
        .find([';', ','])
        .map_or(sentence.len(), |i| hit.end + i);
    &sentence[start..end]
}

fn to_deadline(hit: &DateHit, before: &str, today: NaiveDate) -> Option<DeadlineDate> {
    let (date, annual) = match hit.date() {
        Some(date) => (date, false),
        None => (next_annual(hit.day, hit.month, today)?, true),
    };
    let label = STAGE_LABEL
        .get()
        .find_iter(before)
        .last()
        .map(|m| m.as_str().split_whitespace().collect::<Vec<_>>().join(" "));
    Some(DeadlineDate {
        date,
        time: hit.time,
        annual,
        label,
    })
}

/// The next `day.month.` on or after `today` (29 February waits for a leap year).
fn next_annual(day: u32, month: u32, today: NaiveDate) -> Option<NaiveDate> {
    (today.year()..=today.year() + 4)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .find(|d| *d >= today)
}

/// Keeps one entry per date and label; a dated entry replaces an annual one of the same day.
fn add_unique(found: &mut Vec<DeadlineDate>, new: DeadlineDate) {
    match found.iter_mut().find(|d| d.date == new.date && d.label == new.label) {
        Some(existing) => {
            if existing.annual && !new.annual {
                existing.annual = false;
            }
            existing.time = existing.time.or(new.time);
        }
        None => found.push(new),
    }
}

fn is_rolling(sentence: &str, field: bool) -> bool {
    if ROLLING_PLAIN.get().is_match(sentence) {
        return true;
    }
    ROLLING_WORD.get().is_match(sentence)
        && (field || APPLYING.get().is_match(sentence) || sentence.split_whitespace().count() <= 3)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 11, 26).unwrap()
    }

    /// Expected deadline in a compact form: (date "YYYY-MM-DD", time "HH:MM", annual, label).
    type Expected = &'static [(&'static str, Option<&'static str>, bool, Option<&'static str>)];

    enum Want {
        Dates(Expected),
        Rolling,
        Unknown,
    }

    fn expected(want: &Want) -> Deadline {
        match want {
            Want::Rolling => Deadline::Rolling,
            Want::Unknown => Deadline::Unknown,
            Want::Dates(dates) => Deadline::Dates(
                dates
                    .iter()
                    .map(|(date, time, annual, label)| DeadlineDate {
                        date: date.parse().unwrap(),
                        time: time.map(|t| NaiveTime::parse_from_str(t, "%H:%M").unwrap()),
                        annual: *annual,
                        label: label.map(str::to_string),
                    })
                    .collect(),
            ),
        }
    }

    const CASES: &[(&str, Want)] = &[
        (
            "Bitte reichen Sie Ihre Projektskizze bis spätestens 31.3.2026 ein.",
            Want::Dates(&[("2026-03-31", None, false, None)]),
        ),
        (
            "Projektskizzen sind bis spätestens 26.4.2024, 14:00 Uhr (MESZ) einzureichen.",
            Want::Dates(&[("2024-04-26", Some("14:00"), false, None)]),
        ),
        (
            "Anträge bis zum 30.4.2024, 15:00 Uhr",
            Want::Dates(&[("2024-04-30", Some("15:00"), false, None)]),
        ),
        (
            "Sie können Anträge zu den Stichtagen 15.9.2023 oder 15.9.2024 stellen.",
            Want::Dates(&[("2023-09-15", None, false, None), ("2024-09-15", None, false, None)]),
        ),
        (
            "Bitte beachten Sie die folgenden Einreichungsfristen:\n- Modul A: 15.4.2024 oder 31.8.2024\n- Modul B: 1.10.2024",
            Want::Dates(&[
                ("2024-04-15", None, false, Some("Modul A")),
                ("2024-08-31", None, false, Some("Modul A")),
                ("2024-10-01", None, false, Some("Modul B")),
            ]),
        ),
        (
            "Phase 1: bis spätestens 6.7.2023 Projektskizze, Phase 2: bis spätestens 10.10.2024 förmlicher Antrag",
            Want::Dates(&[
                ("2023-07-06", None, false, Some("Phase 1")),
                ("2024-10-10", None, false, Some("Phase 2")),
            ]),
        ),
        (
            "Antragsfenster: 01. Nov. 2024 bis 31. Dez. 2027",
            Want::Dates(&[("2027-12-31", None, false, None)]),
        ),
        (
            "Anträge können vom 1.2.2026 bis 30.4.2026 gestellt werden.",
            Want::Dates(&[("2026-04-30", None, false, None)]),
        ),
        (
            "Die Frist zur Einreichung von Projektskizzen endete am 28.11.2024.",
            Want::Dates(&[("2024-11-28", None, false, None)]),
        ),
        (
            "Projektskizzen konnten bis zum 15.3.2023 eingereicht werden.",
            Want::Dates(&[("2023-03-15", None, false, None)]),
        ),
        (
            "Der nächste Sammlungsstichtag ist der 23.10.2024.",
            Want::Dates(&[("2024-10-23", None, false, None)]),
        ),
        (
            "Anträge sind bis 30.09. jeden Jahres einzureichen.",
            Want::Dates(&[("2026-09-30", None, true, None)]),
        ),
        (
            "Skizzen jeweils zum 15.2. eines Jahres und bis spätestens 15.2.2026.",
            Want::Dates(&[("2026-02-15", None, false, None)]),
        ),
        (
            "Frist: Laufend, nur bis 23.10.",
            Want::Dates(&[("2026-10-23", None, true, None)]),
        ),
        (
            "Anträge sind jeweils bis zum 31. März oder bis zum 30. September eines jeden Jahres einzureichen.",
            Want::Dates(&[("2026-03-31", None, true, None), ("2026-09-30", None, true, None)]),
        ),
        (
            "Einreichungsfrist: 15. Januar 2027",
            Want::Dates(&[("2027-01-15", None, false, None)]),
        ),
        (
            "Fristen\n\nIhre Skizze muss uns bis 1. Febr. 2026 vorliegen.",
            Want::Dates(&[("2026-02-01", None, false, None)]),
        ),
        (
            "Fristen\n\n31.03.2026",
            Want::Dates(&[("2026-03-31", None, false, None)]),
        ),
        (
            "Die Förderung erfolgt bis 31.12.2026 im Windhund-Prinzip.",
            Want::Dates(&[("2026-12-31", None, false, None)]),
        ),
        (
            "Anträge können laufend gestellt werden, spätestens jedoch bis 30.6.2026.",
            Want::Dates(&[("2026-06-30", None, false, None)]),
        ),
        (
            "Gemäß der Richtlinie vom 12.5.2023 sind Projektskizzen bis 31.3.2026 einzureichen.",
            Want::Dates(&[("2026-03-31", None, false, None)]),
        ),
        (
            "Anträge sind bis zum 2026-03-31 einzureichen.",
            Want::Dates(&[("2026-03-31", None, false, None)]),
        ),
        (
            "Frist:\u{a0}31.\u{a0}März\u{a0}2026",
            Want::Dates(&[("2026-03-31", None, false, None)]),
        ),
        (
            "Projekte müssen bis 31.12.2026 abgeschlossen sein; Anträge sind bis 30.6.2025 einzureichen.",
            Want::Dates(&[("2025-06-30", None, false, None)]),
        ),
        (
            "Die Einreichung der 2. Runde endet am 15.5.2026.",
            Want::Dates(&[("2026-05-15", None, false, Some("2. Runde"))]),
        ),
        // rolling
        ("Laufend", Want::Rolling),
        (
            "Anträge können jederzeit gestellt werden (freie Einreichung).",
            Want::Rolling,
        ),
        ("Eine Antragstellung ist ganzjährig möglich.", Want::Rolling),
        ("Ihre Anträge können Sie fortlaufend stellen.", Want::Rolling),
        ("Die Mittel werden nach dem Windhund-Prinzip vergeben.", Want::Rolling),
        ("Förderung solange die Mittel verfügbar sind.", Want::Rolling),
        ("Solange Haushaltsmittel reichen.", Want::Rolling),
        ("Applications are handled first come, first served.", Want::Rolling),
        // unknown: no deadline wording, or dates that are not deadlines
        ("Die Richtlinie tritt am 1.1.2024 in Kraft.", Want::Unknown),
        (
            "Einreichung bis 31.3.2026. Die Richtlinie tritt am 1.1.2024 in Kraft.",
            Want::Dates(&[("2026-03-31", None, false, None)]),
        ),
        (
            "Die Richtlinie tritt am 1.1.2024 in Kraft und gilt bis 31.12.2027.",
            Want::Unknown,
        ),
        (
            "Die Laufzeit des Programms endet mit Ablauf des 31.12.2027.",
            Want::Unknown,
        ),
        ("Projekte müssen bis zum 31.12.2026 abgeschlossen sein.", Want::Unknown),
        ("Anträge können ab dem 1.1.2025 gestellt werden.", Want::Unknown),
        (
            "Gefördert werden Maßnahmen in Kommunen mit bis zu 90 Prozent.",
            Want::Unknown,
        ),
        ("Bekanntmachung vom 15.3.2024", Want::Unknown),
        (
            "Sie können sich jederzeit an die Beratungsstelle wenden, die laufend aktualisierte Informationen bietet.",
            Want::Unknown,
        ),
        (
            "Im 1. Halbjahr des Kalenderjahrs 2024 können Sie keine Skizzen einreichen.",
            Want::Unknown,
        ),
        ("", Want::Unknown),
    ];

    #[test]
    fn deadline_cases() {
        for (text, want) in CASES {
            assert_eq!(parse_deadline(text, today()), expected(want), "input: {text:?}");
        }
    }

    const FIELD_CASES: &[(&str, Want)] = &[
        ("31.03.2026", Want::Dates(&[("2026-03-31", None, false, None)])),
        (
            "01. Nov. 2024 – 31. Dez. 2027",
            Want::Dates(&[("2027-12-31", None, false, None)]),
        ),
        ("Laufend", Want::Rolling),
        ("jederzeit", Want::Rolling),
        ("23.10.", Want::Dates(&[("2026-10-23", None, true, None)])),
        ("siehe Aufruf", Want::Unknown),
    ];

    #[test]
    fn deadline_field_cases() {
        for (text, want) in FIELD_CASES {
            assert_eq!(parse_deadline_field(text, today()), expected(want), "input: {text:?}");
        }
    }

    #[test]
    fn expired_deadline_reads_closed_and_annual_stays_open() {
        let expired = parse_deadline("Die Frist endete am 28.11.2024.", today());
        assert!(!expired.is_open(today()));
        let annual = parse_deadline("Anträge sind bis 30.09. jeden Jahres einzureichen.", today());
        assert_eq!(
            annual.next_date(NaiveDate::from_ymd_opt(2027, 10, 1).unwrap()),
            NaiveDate::from_ymd_opt(2028, 9, 30)
        );
    }
}
