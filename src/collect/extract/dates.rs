//! German (and ISO) dates found in running text.
//!
//! chrono cannot read German month names, hence this small scanner. It finds
//! `31.03.2026`, `6.7.2023`, `15. Januar 2027`, `1. Febr. 2025`, `1. Sept. 2025`,
//! `31. Maerz 2026`, ISO `2026-03-31` (also the date part of `2026-03-31T00:00:00.000+0000`)
//! and year-less `23.10.` / `31. März` (the caller decides what a year-less date means).

use crate::model::pattern::Pattern;

use super::bounded::{Bounded, compact};
use chrono::{DateTime, NaiveDate, NaiveTime};
use regex::Regex;

use super::text::plain_spaces;

/// One date as written in the text; `year` is `None` for `23.10.` or `31. März`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateHit {
    /// Byte offsets in the scanned text.
    pub start: usize,
    pub end: usize,
    pub day: u32,
    pub month: u32,
    pub year: Option<i32>,
    /// A time of day right after the date ("14:00 Uhr (MESZ)").
    pub time: Option<NaiveTime>,
}

impl DateHit {
    /// The date, when it has a year and exists.
    pub fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year?, self.month, self.day)
    }
}

/// Earliest and latest year taken as a real date (guards against "1.2.3456" noise).
const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

static NUMERIC: Pattern<Bounded> = Pattern::new(|| {
    // Year-less dates need their trailing dot ("23.10."); a date with year must not run into more digits.
    Bounded::new(r"\b(\d{1,2})\.\s?(\d{1,2})\.(?:\s?(\d{4})\b|(\d{2})\b)?").expect("numeric date regex")
});

static WORDED: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(r"\b(\d{1,2})\.?\s*([A-Za-zÄäÖöÜü]{3,9})\.?(?:\s*(\d{4})\b)?").expect("worded date regex")
});

static ISO: Pattern<Bounded> = Pattern::new(|| Bounded::new(r"\b(\d{4})-(\d{2})-(\d{2})\b").expect("iso date regex"));

static TIME_AFTER: Pattern<Regex> =
    Pattern::new(|| compact(r"^\s*(?:,\s*)?(?:um\s+|\(\s*)?(\d{1,2})(?:[:.](\d{2}))?\s*Uhr").expect("time regex"));

/// Month names and abbreviations (lower case) → month number.
const MONTHS: &[(&str, u32)] = &[
    ("januar", 1),
    ("jänner", 1),
    ("jan", 1),
    ("februar", 2),
    ("febr", 2),
    ("feb", 2),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("mrz", 3),
    ("april", 4),
    ("apr", 4),
    ("mai", 5),
    ("juni", 6),
    ("jun", 6),
    ("juli", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("oktober", 10),
    ("okt", 10),
    ("november", 11),
    ("nov", 11),
    ("dezember", 12),
    ("dez", 12),
];

fn month_number(word: &str) -> Option<u32> {
    let lower = word.to_lowercase();
    MONTHS.iter().find(|(name, _)| *name == lower).map(|(_, m)| *m)
}

/// Every date in `text` (which must already have plain spaces), in text order.
pub(crate) fn scan_dates(text: &str) -> Vec<DateHit> {
    let mut hits = Vec::new();
    for caps in NUMERIC.get().captures_iter(text) {
        let whole = caps.get(0).expect("match");
        let year = match (caps.get(3), caps.get(4)) {
            (Some(y), _) => y.as_str().parse().ok(),
            (None, Some(yy)) => yy.as_str().parse::<i32>().ok().map(|y| 2000 + y),
            (None, None) => None,
        };
        push_hit(
            &mut hits,
            text,
            whole.start(),
            whole.end(),
            &caps[1],
            caps[2].parse().ok(),
            year,
        );
    }
    for caps in WORDED.get().captures_iter(text) {
        let Some(month) = month_number(&caps[2]) else {
            continue;
        };
        let whole = caps.get(0).expect("match");
        let year = caps.get(3).and_then(|y| y.as_str().parse().ok());
        push_hit(&mut hits, text, whole.start(), whole.end(), &caps[1], Some(month), year);
    }
    for caps in ISO.get().captures_iter(text) {
        let whole = caps.get(0).expect("match");
        push_hit(
            &mut hits,
            text,
            whole.start(),
            whole.end(),
            &caps[3],
            caps[2].parse().ok(),
            caps[1].parse().ok(),
        );
    }
    hits.sort_by_key(|h| h.start);
    hits.dedup_by(|later, earlier| later.start < earlier.end);
    hits
}

fn push_hit(
    hits: &mut Vec<DateHit>,
    text: &str,
    start: usize,
    end: usize,
    day: &str,
    month: Option<u32>,
    year: Option<i32>,
) {
    let (Ok(day), Some(month)) = (day.parse::<u32>(), month) else {
        return;
    };
    if !(1..=31).contains(&day) || !(1..=12).contains(&month) {
        return;
    }
    if let Some(y) = year
        && (!YEARS.contains(&y) || NaiveDate::from_ymd_opt(y, month, day).is_none())
    {
        return;
    }
    let time = time_after(&text[end..]);
    hits.push(DateHit {
        start,
        end,
        day,
        month,
        year,
        time,
    });
}

fn time_after(rest: &str) -> Option<NaiveTime> {
    let caps = TIME_AFTER.get().captures(rest)?;
    let hour = caps[1].parse().ok()?;
    let minute = caps.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
    // "24:00 Uhr" closes the day; keep it as the last minute of that day.
    if hour == 24 && minute == 0 {
        return NaiveTime::from_hms_opt(23, 59, 0);
    }
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// The first complete date in `text`: `31.03.2026`, `6.7.2023`, `15. Januar 2027`,
/// `1. Febr. 2025`, ISO `2026-03-31`. Year-less dates (`23.10.`) give `None`.
pub fn parse_german_date(text: &str) -> Option<NaiveDate> {
    let text = plain_spaces(text);
    scan_dates(&text).iter().find_map(DateHit::date)
}

/// A date from a machine attribute or from German text: RFC 3339 / ISO date-time
/// (`2026-03-31T00:00:00.000+0000`, `time[datetime]`), RFC 2822 (RSS `pubDate`),
/// then [`parse_german_date`]. For date-times the calendar date as written is kept.
pub fn parse_date_iso_or_german(text: &str) -> Option<NaiveDate> {
    let trimmed = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(trimmed) {
        return Some(dt.date_naive());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(dt) = DateTime::parse_from_str(trimmed, format) {
            return Some(dt.date_naive());
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(trimmed) {
        return Some(dt.date_naive());
    }
    parse_german_date(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, expected (year, month, day)).
    type Case = (&'static str, Option<(i32, u32, u32)>);

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    const DATE_CASES: &[Case] = &[
        ("31.03.2026", Some((2026, 3, 31))),
        ("bis spätestens 6.7.2023 einreichen", Some((2023, 7, 6))),
        ("15. Januar 2027", Some((2027, 1, 15))),
        ("1. Febr. 2025", Some((2025, 2, 1))),
        ("1. Feb. 2025", Some((2025, 2, 1))),
        ("30. Sept. 2024", Some((2024, 9, 30))),
        ("01. Nov. 2024", Some((2024, 11, 1))),
        ("31. Dez. 2027", Some((2027, 12, 31))),
        ("31. März 2026", Some((2026, 3, 31))),
        ("31. Maerz 2026", Some((2026, 3, 31))),
        ("31.\u{a0}März\u{a0}2026", Some((2026, 3, 31))),
        ("1. Mai 2026", Some((2026, 5, 1))),
        ("2026-03-31", Some((2026, 3, 31))),
        ("31.03.26", Some((2026, 3, 31))),
        ("Stand 15.9.2024, 14:00 Uhr", Some((2024, 9, 15))),
        // negative cases
        ("23.10.", None),
        ("31. März", None),
        ("EUR 140.000", None),
        ("10.000.000 Euro", None),
        ("31.02.2026", None),
        ("32.1.2026", None),
        ("1.13.2026", None),
        ("2. Phase 2026", None),
        ("Abschnitt 2.3 der Richtlinie", None),
        ("", None),
    ];

    #[test]
    fn german_date_cases() {
        for (text, expected) in DATE_CASES {
            let expected = expected.and_then(|(y, m, day)| d(y, m, day));
            assert_eq!(parse_german_date(text), expected, "input: {text:?}");
        }
    }

    #[test]
    fn year_less_and_times_are_scanned() {
        let hits =
            scan_dates("nur bis 23.10. und bis spätestens 26.4.2024, 14:00 Uhr (MESZ) oder 30.4.2024 um 15.30 Uhr");
        let summary: Vec<_> = hits.iter().map(|h| (h.day, h.month, h.year, h.time)).collect();
        assert_eq!(
            summary,
            vec![
                (23, 10, None, None),
                (26, 4, Some(2024), NaiveTime::from_hms_opt(14, 0, 0)),
                (30, 4, Some(2024), NaiveTime::from_hms_opt(15, 30, 0)),
            ]
        );
    }

    const ISO_OR_GERMAN_CASES: &[Case] = &[
        ("2026-03-31T00:00:00.000+0000", Some((2026, 3, 31))),
        ("2026-03-31T17:00:00+01:00", Some((2026, 3, 31))),
        ("2026-03-31", Some((2026, 3, 31))),
        ("Tue, 10 Jun 2025 04:00:00 GMT", Some((2025, 6, 10))),
        ("  15. Januar 2027 ", Some((2027, 1, 15))),
        ("demnächst", None),
    ];

    #[test]
    fn iso_or_german_cases() {
        for (text, expected) in ISO_OR_GERMAN_CASES {
            let expected = expected.and_then(|(y, m, day)| d(y, m, day));
            assert_eq!(parse_date_iso_or_german(text), expected, "input: {text:?}");
        }
    }
}
