//! German formatting of numbers, amounts, rates and dates: the one place every
//! output (digest, report, CSV, explanations, evaluation) takes them from.

use chrono::NaiveDate;

use super::{Deadline, FundingRate};

/// Fixed decimals with a decimal comma: `format_decimal(2.5, 1)` → `2,5`.
pub fn format_decimal(v: f64, places: usize) -> String {
    format!("{v:.places$}").replace('.', ",")
}

/// Whole numbers without decimals, others as precise as stored, with a
/// decimal comma: `90`, `33,33`. For data exports, where rounding would lose
/// what the source said.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        v.to_string().replace('.', ",")
    }
}

/// Thousands separated by dots: `1500000` → `1.500.000`.
pub fn group_thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

/// German date, e.g. `31.03.2026`.
pub fn format_date_de(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// German countdown to a deadline `days` away: "endet heute", "noch 1 Tag", "noch 12 Tage".
pub fn format_days_left(days: i64) -> String {
    match days {
        0 => "endet heute".to_string(),
        1 => "noch 1 Tag".to_string(),
        n => format!("noch {n} Tage"),
    }
}

/// German rendering of a deadline: dates joined by ", ", or "laufend" / "unbekannt".
pub fn format_deadline(d: &Deadline) -> String {
    match d {
        Deadline::Dates(dates) if !dates.is_empty() => dates
            .iter()
            .map(|d| {
                let mut s = format_date_de(d.date);
                if d.annual {
                    s = format!("{} (jährlich)", d.date.format("%d.%m."));
                }
                if let Some(label) = &d.label {
                    s = format!("{label}: {s}");
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", "),
        Deadline::Rolling => "laufend".into(),
        _ => "unbekannt".into(),
    }
}

/// German rendering of a rate, e.g. `bis 90 %` or `40–80 %`.
pub fn format_rate(r: Option<FundingRate>) -> String {
    match r {
        None => "k. A.".into(),
        Some(FundingRate { min: Some(min), max }) if min < max => format!("{}–{} %", fmt_num(min), fmt_num(max)),
        Some(FundingRate { max, .. }) => format!("bis {} %", fmt_num(max)),
    }
}

/// Whole numbers without decimals, others with one: `90`, `33,3`.
fn fmt_num(v: f64) -> String {
    format_decimal(v, if v.fract() == 0.0 { 0 } else { 1 })
}

/// German rendering of an amount in EUR with thousands dots, e.g. `140.000 €`.
pub fn format_amount(a: Option<u64>) -> String {
    match a {
        None => "k. A.".into(),
        Some(v) => format!("{} €", group_thousands(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_use_a_comma() {
        assert_eq!(format_decimal(2.5, 1), "2,5");
        assert_eq!(format_decimal(0.9667, 2), "0,97");
        assert_eq!(format_decimal(4.0, 1), "4,0");
        assert_eq!(format_number(90.0), "90");
        assert_eq!(format_number(33.25), "33,25");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1.000");
    }

    #[test]
    fn german_amount_and_rate_formatting() {
        assert_eq!(format_amount(Some(140_000)), "140.000 €");
        assert_eq!(format_amount(Some(1_500_000)), "1.500.000 €");
        assert_eq!(
            format_rate(Some(FundingRate {
                min: Some(40.0),
                max: 80.0
            })),
            "40–80 %"
        );
        assert_eq!(format_rate(Some(FundingRate { min: None, max: 90.0 })), "bis 90 %");
    }
}
