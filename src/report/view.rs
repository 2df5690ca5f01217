//! German wording shared by the human-readable formats (Markdown, HTML, CSV).

use chrono::NaiveDate;

use super::{Report, ReportCall, ReportMatch};
use crate::model::german::{
    format_amount, format_date_de, format_days_left, format_deadline, format_decimal, format_rate,
};
use crate::model::{CallStatus, Deadline, Region};

pub(super) fn heading(report: &Report) -> String {
    format!("Förderradar – Bericht vom {}", format_date_de(report.as_of))
}

/// What the report lists, with the count.
pub(super) fn scope(report: &Report) -> String {
    let n = report.calls.len();
    if report.all {
        format!("Alle gespeicherten Förderaufrufe: {n}")
    } else {
        format!("Offene Förderaufrufe mit passendem Treffer: {n}")
    }
}

pub(super) fn filters(report: &Report) -> String {
    if report.filters.is_empty() {
        "Filter: keine".to_string()
    } else {
        format!("Filter: {}", report.filters.join("; "))
    }
}

pub(super) fn empty() -> &'static str {
    "Keine Förderaufrufe gefunden."
}

/// The deadline, plus the source's own status where it says closed or not yet open.
pub(super) fn deadline(c: &ReportCall, as_of: NaiveDate) -> String {
    let dates = deadline_dates(c, as_of);
    match c.call.status {
        CallStatus::Closed => format!("{dates} – laut Quelle geschlossen"),
        CallStatus::Forthcoming => format!("{dates} – laut Quelle noch nicht geöffnet"),
        CallStatus::Open | CallStatus::Unknown => dates,
    }
}

/// "31.12.2026 (noch 35 Tage)", "laufend", "abgelaufen (31.01.2026)".
fn deadline_dates(c: &ReportCall, as_of: NaiveDate) -> String {
    let stated = format_deadline(&c.call.deadline);
    let Some(next) = c.deadline else {
        return match &c.call.deadline {
            Deadline::Dates(dates) if !dates.is_empty() => format!("abgelaufen ({stated})"),
            _ => stated,
        };
    };
    let left = format_days_left((next - as_of).num_days());
    if stated == format_date_de(next) {
        format!("{stated} ({left})")
    } else {
        format!("{stated} – nächster Stichtag {} ({left})", format_date_de(next))
    }
}

/// The labelled facts of a call, in the order every human-readable format shows them.
pub(super) fn facts(c: &ReportCall, as_of: NaiveDate) -> [(&'static str, String); 6] {
    [
        ("Fördergeber", funder(c)),
        ("Frist", deadline(c, as_of)),
        ("Förderquote", format_rate(c.call.funding_rate)),
        ("Höchstbetrag", format_amount(c.amount_max_eur)),
        ("Antragsberechtigte", c.call.applicants.describe_de()),
        ("Fördergebiet", regions(&c.regions)),
    ]
}

pub(super) fn regions(regions: &[Region]) -> String {
    if regions.is_empty() {
        return "nicht angegeben".to_string();
    }
    regions.iter().map(Region::to_string).collect::<Vec<_>>().join(", ")
}

pub(super) fn funder(c: &ReportCall) -> String {
    c.funder.clone().unwrap_or_else(|| "k. A.".to_string())
}

/// German decimal comma, one decimal.
pub(super) fn score(v: f64) -> String {
    format_decimal(v, 1)
}

/// "Handlungsfeld „Digitale Verwaltung“, Projekt „Digitales Rathaus“".
pub(super) fn target(m: &ReportMatch) -> String {
    let field = format!("Handlungsfeld „{}“", m.handlungsfeld_name);
    match &m.project_name {
        Some(p) => format!("{field}, Projekt „{p}“"),
        None => field,
    }
}

pub(super) fn kommunen(m: &ReportMatch) -> String {
    if m.kommunen_names.is_empty() {
        return "keine zugeordnet".to_string();
    }
    m.kommunen_names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_in_german() {
        assert_eq!(format_days_left(0), "endet heute");
        assert_eq!(format_days_left(1), "noch 1 Tag");
        assert_eq!(format_days_left(35), "noch 35 Tage");
    }

    #[test]
    fn applicants_keep_the_sources_commas_apart() {
        let raw = crate::model::Applicants {
            categories: Default::default(),
            raw: vec!["Städte, Gemeinden".into(), "Vereine".into()],
        };
        assert_eq!(raw.describe_de(), "Städte, Gemeinden; Vereine");
        assert_eq!(crate::model::Applicants::default().describe_de(), "nicht angegeben");
    }

    #[test]
    fn umlauts_sort_like_their_base_letter() {
        let mut titles = ["Zukunft", "Öffentlicher Raum", "Ortskern", "Straße", "Strasse B"];
        titles.sort_by_key(|t| crate::model::text::sort_key_de(t));
        assert_eq!(
            titles,
            ["Öffentlicher Raum", "Ortskern", "Straße", "Strasse B", "Zukunft"]
        );
    }
}
