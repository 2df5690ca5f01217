//! The CSV report: one row per (call, passed match); a call without matches
//! (only with `all`) gets one row with empty match columns. German
//! conventions, so that a double click opens it correctly in a German
//! spreadsheet: `;` as delimiter, decimal comma, dates as `TT.MM.JJJJ`.
//! Quoting (fields with `;`, quotes or line breaks) is done by the `csv` crate.

use super::{Report, ReportCall, ReportFormatter, ReportMatch, view};
use crate::model::DeadlineKind;
use crate::model::german::{format_date_de, format_number};

pub struct CsvFormatter;

const HEADER: [&str; 17] = [
    "ID",
    "Titel",
    "Fördergeber",
    "Frist",
    "Fristart",
    "Tage bis Frist",
    "Förderquote max. (%)",
    "Höchstbetrag (EUR)",
    "Antragsberechtigte",
    "Fördergebiet",
    "Handlungsfeld",
    "Projekt",
    "Punktzahl",
    "Kommunen",
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
            let call_fields = call_fields(call, report);
            if call.matches.is_empty() {
                writer
                    .write_record(row(&call_fields, None, call))
                    .expect("CSV into memory");
            }
            for m in &call.matches {
                writer
                    .write_record(row(&call_fields, Some(m), call))
                    .expect("CSV into memory");
            }
        }
        let bytes = writer.into_inner().expect("CSV into memory");
        String::from_utf8(bytes).expect("CSV of UTF-8 strings")
    }
}

fn call_fields(c: &ReportCall, report: &Report) -> [String; 10] {
    let kind = match (c.deadline_kind, c.deadline) {
        (DeadlineKind::Date, Some(_)) => "Stichtag",
        (DeadlineKind::Date, None) => "abgelaufen",
        (DeadlineKind::Rolling, _) => "laufend",
        (DeadlineKind::Unknown, _) => "unbekannt",
    };
    [
        c.id.to_string(),
        c.title.clone(),
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
    ]
}

fn row(call_fields: &[String; 10], m: Option<&ReportMatch>, c: &ReportCall) -> Vec<String> {
    let match_fields = match m {
        Some(m) => [
            m.handlungsfeld_name.clone(),
            m.project_name.clone().unwrap_or_default(),
            view::score(m.score),
            m.kommunen_names.join(", "),
            m.reasons.join("; "),
        ],
        None => Default::default(),
    };
    call_fields
        .iter()
        .cloned()
        .chain(match_fields)
        .chain([c.url.clone().unwrap_or_default(), c.source.clone()])
        .collect()
}
