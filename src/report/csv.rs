//! The CSV report for German Excel: one row per call, its Handlungsfelder,
//! projects and Kommunen joined by ", ". German conventions, so that a double
//! click opens it correctly: a UTF-8 byte order mark (else Excel reads the
//! umlauts as Windows-1252), `;` as delimiter, decimal comma, dates as
//! `TT.MM.JJJJ`. The first header cell is "Titel", never "ID": Excel takes a
//! file starting with "ID" for SYLK. Quoting (fields with `;`, quotes or line
//! breaks) is done by the `csv` crate.

use super::{Report, ReportCall, ReportFormatter, view};
use crate::model::DeadlineKind;
use crate::model::german::{format_date_de, format_number};

pub struct CsvFormatter;

/// Makes Excel read the file as UTF-8.
const BOM: &str = "\u{FEFF}";

const HEADER: [&str; 17] = [
    "Titel",
    "Kennung",
    "Fördergeber",
    "Frist",
    "Fristart",
    "Tage bis Frist",
    "Förderquote max. (%)",
    "Höchstbetrag (EUR)",
    "Antragsberechtigte",
    "Fördergebiet",
    "Handlungsfelder",
    "Projekte",
    "Kommunen",
    "Beste Punktzahl",
    "Begründung",
    "URL",
    "Quelle",
];

impl ReportFormatter for CsvFormatter {
    fn format(&self, report: &Report) -> String {
        let mut writer = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
        // Writing into a Vec cannot fail, and every field is a valid UTF-8 String.
        writer.write_record(HEADER).expect("CSV into memory");
        for call in &report.calls {
            let cells = row(call, report).map(|cell| neutralise(&cell));
            writer.write_record(cells).expect("CSV into memory");
        }
        let bytes = writer.into_inner().expect("CSV into memory");
        BOM.to_string() + &String::from_utf8(bytes).expect("CSV of UTF-8 strings")
    }
}

fn row(c: &ReportCall, report: &Report) -> [String; 17] {
    let kind = match (c.deadline_kind, c.deadline) {
        (DeadlineKind::Date, Some(_)) => "Stichtag",
        (DeadlineKind::Date, None) => "abgelaufen",
        (DeadlineKind::Rolling, _) => "laufend",
        (DeadlineKind::Unknown, _) => "unbekannt",
    };
    let best = c.matches.iter().map(|m| m.score).max_by(f64::total_cmp);
    [
        c.title.clone(),
        c.id.to_string(),
        c.funder.clone().unwrap_or_default(),
        c.deadline.map(format_date_de).unwrap_or_default(),
        kind.to_string(),
        c.deadline
            .map(|d| (d - report.as_of).num_days().to_string())
            .unwrap_or_default(),
        c.funding_rate_max.map(format_number).unwrap_or_default(),
        c.amount_max_eur.map(|a| a.to_string()).unwrap_or_default(),
        c.call.applicants.describe_de(),
        view::regions(&c.regions),
        joined(c.matches.iter().map(|m| m.handlungsfeld_name.clone())),
        joined(c.matches.iter().filter_map(|m| m.project_name.clone())),
        joined(c.matches.iter().flat_map(|m| m.kommunen_names.iter().cloned())),
        best.map(view::score).unwrap_or_default(),
        joined_with("; ", c.matches.iter().flat_map(|m| m.reasons.iter().cloned())),
        c.url.clone().unwrap_or_default(),
        c.source.clone(),
    ]
}

/// Distinct values in first-seen order, joined by ", ".
fn joined(values: impl Iterator<Item = String>) -> String {
    joined_with(", ", values)
}

fn joined_with(separator: &str, values: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(separator)
}

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a
/// leading tab or carriage return that hides one) gets a leading apostrophe, so
/// a scraped title like `=HYPERLINK(...)` stays text (OWASP "CSV injection").
fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_starts_are_prefixed_and_text_is_kept() {
        for hostile in ["=1+1", "+49 2382", "-2", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        for plain in ["Glasfaser", "", "1.000", "Ärztliche Versorgung", " =x"] {
            assert_eq!(neutralise(plain), plain);
        }
    }
}
