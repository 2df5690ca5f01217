//! Geometry of the deadline timeline in the HTML report: months along the x
//! axis, one labelled mark per call at its next cut-off, one row per call so
//! that labels never overlap, coloured by the call's best Handlungsfeld. The
//! template draws it as inline SVG; every text goes through its auto-escaping.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use super::Report;

/// Width of the drawing in SVG units (the SVG scales to the page).
const WIDTH: f64 = 900.0;
const LEFT: f64 = 20.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const ROW: f64 = 22.0;
/// Longest label before it is cut with "…".
const LABEL_CHARS: usize = 48;
/// At most this many month labels; longer spans label every n-th month.
const MONTH_LABELS: usize = 12;

/// Colours for Handlungsfelder in strategy order (colour-blind safe, Okabe–Ito).
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];
/// For calls without a match (only in reports with `--all`).
const UNASSIGNED: &str = "#888888";

#[derive(Debug, Serialize)]
pub(super) struct Timeline {
    pub width: f64,
    pub height: f64,
    /// Bottom of the month grid lines.
    pub axis_bottom: f64,
    pub months: Vec<Month>,
    pub marks: Vec<Mark>,
    pub legend: Vec<LegendEntry>,
}

#[derive(Debug, Serialize)]
pub(super) struct Month {
    pub x: f64,
    /// Empty where a long span skips the label.
    pub label: String,
}

#[derive(Debug, Serialize)]
pub(super) struct Mark {
    pub x: f64,
    pub y: f64,
    pub colour: String,
    pub label: String,
    pub label_x: f64,
    /// `start` or `end`: labels in the right part of the chart run leftwards.
    pub anchor: &'static str,
    /// Full title and date, shown on hover.
    pub tooltip: String,
}

#[derive(Debug, Serialize)]
pub(super) struct LegendEntry {
    pub name: String,
    pub colour: String,
}

/// The colour of a Handlungsfeld id: its position in the strategy.
pub(super) fn colour(report: &Report, handlungsfeld: Option<&str>) -> &'static str {
    let Some(id) = handlungsfeld else { return UNASSIGNED };
    report
        .handlungsfelder
        .iter()
        .position(|h| h.id == id)
        .map_or(UNASSIGNED, |i| PALETTE[i % PALETTE.len()])
}

/// The timeline of every call with a cut-off ahead; `None` when there is none.
pub(super) fn build(report: &Report) -> Option<Timeline> {
    let dated: Vec<_> = report.calls.iter().filter_map(|c| c.deadline.map(|d| (c, d))).collect();
    let last = dated.iter().map(|(_, d)| *d).max()?;
    let start = first_of_month(report.as_of.min(last));
    let end = first_of_month(last) + Months::new(1);
    let span = (end - start).num_days().max(1) as f64;
    let x = |d: NaiveDate| round(LEFT + (d - start).num_days() as f64 / span * (WIDTH - LEFT - RIGHT));

    let marks: Vec<Mark> = dated
        .iter()
        .enumerate()
        .map(|(i, (call, date))| {
            let mx = x(*date);
            let right_half = mx > WIDTH * 0.55;
            let best = call.matches.first().map(|m| m.handlungsfeld.as_str());
            Mark {
                x: mx,
                y: TOP + ROW * (i as f64 + 0.5),
                colour: colour(report, best).to_string(),
                label: format!("{} {}", date.format("%d.%m."), shorten(&call.title)),
                label_x: if right_half { mx - 8.0 } else { mx + 8.0 },
                anchor: if right_half { "end" } else { "start" },
                tooltip: format!("{} – {}", date.format("%d.%m.%Y"), call.title),
            }
        })
        .collect();
    let axis_bottom = TOP + ROW * marks.len() as f64;
    Some(Timeline {
        width: WIDTH,
        height: axis_bottom + 8.0,
        axis_bottom,
        months: months(start, end, x),
        marks,
        legend: legend(report),
    })
}

fn months(start: NaiveDate, end: NaiveDate, x: impl Fn(NaiveDate) -> f64) -> Vec<Month> {
    let mut firsts = Vec::new();
    let mut m = start;
    while m < end {
        firsts.push(m);
        m = m + Months::new(1);
    }
    let every = firsts.len().div_ceil(MONTH_LABELS).max(1);
    firsts
        .iter()
        .enumerate()
        .map(|(i, d)| Month {
            x: x(*d),
            label: if i % every == 0 { month_de(*d) } else { String::new() },
        })
        .collect()
}

/// The Handlungsfelder that colour at least one mark.
fn legend(report: &Report) -> Vec<LegendEntry> {
    report
        .handlungsfelder
        .iter()
        .filter(|h| {
            report
                .calls
                .iter()
                .any(|c| c.deadline.is_some() && c.matches.first().is_some_and(|m| m.handlungsfeld == h.id))
        })
        .map(|h| LegendEntry {
            name: h.name.clone(),
            colour: colour(report, Some(&h.id)).to_string(),
        })
        .collect()
}

/// One decimal is plenty for SVG coordinates and keeps the page short.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first day")
}

/// "Dez. 2026".
fn month_de(d: NaiveDate) -> String {
    const NAMES: [&str; 12] = [
        "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez.",
    ];
    format!("{} {}", NAMES[d.month0() as usize], d.year())
}

fn shorten(title: &str) -> String {
    if title.chars().count() <= LABEL_CHARS {
        return title.to_string();
    }
    let cut: String = title.chars().take(LABEL_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_are_cut_on_a_character() {
        let long = "Ä".repeat(60);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), LABEL_CHARS);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("Smarte Dörfer"), "Smarte Dörfer");
    }

    #[test]
    fn month_labels_thin_out_over_long_spans() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2029, 11, 1).unwrap();
        let months = months(start, end, |_| 0.0);
        assert_eq!(months.len(), 36);
        let labelled = months.iter().filter(|m| !m.label.is_empty()).count();
        assert!(labelled <= MONTH_LABELS, "{labelled}");
        assert_eq!(months[0].label, "Nov. 2026");
    }
}
