//! The Lenkungskreis overview: Kommunen × Handlungsfelder, each cell with the
//! number of matching calls in the report and the next deadline among them,
//! plus the calls closing within 30 days. Condensed from a [`Report`], so the
//! report's filters apply. HTML (template `overview.html.j2`, overridable in
//! `<config>/templates/`), Markdown, and JSON (the [`Overview`] itself).

use std::fmt::Write;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::html::{render_embedded, render_with_override};
use super::{Named, Report, ReportCall, ReportError, ReportFormat, view};
use crate::model::german::{format_date_de, format_days_left};

/// Name of the overview template (and of its override file in `<config>/templates/`).
pub const TEMPLATE: &str = "overview.html.j2";

const EMBEDDED: &str = include_str!("templates/overview.html.j2");

/// "Closing soon" in the overview.
pub const CLOSING_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub as_of: NaiveDate,
    pub handlungsfelder: Vec<Named>,
    /// One row per Kommune of the report, in config order.
    pub rows: Vec<Row>,
    /// Calls whose next cut-off is within [`CLOSING_DAYS`], soonest first.
    pub closing_soon: Vec<Closing>,
    #[serde(skip)]
    audience: String,
    #[serde(skip)]
    filters: String,
    /// With `--all` the cells count closed calls too.
    #[serde(skip)]
    all: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub kommune: Named,
    /// One cell per Handlungsfeld, in the order of `handlungsfelder`.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Calls with a passed match in this Handlungsfeld routed to this Kommune.
    pub calls: usize,
    /// The soonest cut-off among them.
    pub next_deadline: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closing {
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    pub deadline: NaiveDate,
    pub days_left: i64,
    /// Display names of the Handlungsfelder and Kommunen it matches.
    pub handlungsfelder: Vec<String>,
    pub kommunen: Vec<String>,
}

impl Overview {
    pub fn new(report: &Report) -> Overview {
        let rows = report
            .kommunen
            .iter()
            .map(|k| Row {
                kommune: k.clone(),
                cells: report
                    .handlungsfelder
                    .iter()
                    .map(|h| cell(report, &k.id, &h.id))
                    .collect(),
            })
            .collect();
        let closing_soon = report.calls.iter().filter_map(|c| closing(c, report.as_of)).collect();
        Overview {
            as_of: report.as_of,
            handlungsfelder: report.handlungsfelder.clone(),
            rows,
            closing_soon,
            audience: report.audience.clone(),
            filters: view::filters(report),
            all: report.all,
        }
    }

    /// What a cell holds, in German.
    fn legend(&self) -> &'static str {
        if self.all {
            "Je Zelle: Zahl der gespeicherten passenden Förderaufrufe (auch geschlossene) · nächste Frist."
        } else {
            "Je Zelle: Zahl der offenen passenden Förderaufrufe · nächste Frist."
        }
    }
}

fn cell(report: &Report, kommune: &str, handlungsfeld: &str) -> Cell {
    let calls: Vec<&ReportCall> = report
        .calls
        .iter()
        .filter(|c| {
            c.matches
                .iter()
                .any(|m| m.handlungsfeld == handlungsfeld && m.kommunen.iter().any(|k| k == kommune))
        })
        .collect();
    Cell {
        calls: calls.len(),
        next_deadline: calls.iter().filter_map(|c| c.deadline).min(),
    }
}

fn closing(c: &ReportCall, as_of: NaiveDate) -> Option<Closing> {
    let deadline = c.deadline?;
    let days_left = (deadline - as_of).num_days();
    (days_left <= CLOSING_DAYS).then(|| Closing {
        id: c.id.to_string(),
        title: c.title.clone(),
        url: c.url.clone(),
        deadline,
        days_left,
        handlungsfelder: distinct(c.matches.iter().map(|m| &m.handlungsfeld_name)),
        kommunen: distinct(c.matches.iter().flat_map(|m| &m.kommunen_names)),
    })
}

fn distinct<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// The overview in `format`; CSV and iCalendar have no overview.
pub fn render(overview: &Overview, format: ReportFormat, config_dir: Option<&Path>) -> Result<String, ReportError> {
    match format {
        ReportFormat::Html => {
            let page = Page::new(overview);
            match config_dir {
                Some(dir) => render_with_override(TEMPLATE, EMBEDDED, &page, dir),
                None => Ok(render_embedded(TEMPLATE, EMBEDDED, &page)),
            }
        }
        ReportFormat::Markdown => Ok(markdown(overview)),
        ReportFormat::Json => {
            let mut out = serde_json::to_string_pretty(overview).expect("overview serialises to JSON");
            out.push('\n');
            Ok(out)
        }
        ReportFormat::Csv | ReportFormat::Ics => Err(ReportError::OverviewFormat(format)),
    }
}

/// "3 · 01.12.2026", "–" for an empty cell.
fn cell_text(c: &Cell) -> String {
    match (c.calls, c.next_deadline) {
        (0, _) => "–".to_string(),
        (n, Some(d)) => format!("{n} · {}", format_date_de(d)),
        (n, None) => format!("{n} · ohne Stichtag"),
    }
}

fn heading(o: &Overview) -> String {
    format!(
        "Förderradar – Übersicht für den Lenkungskreis, Stand {}",
        format_date_de(o.as_of)
    )
}

fn closing_heading() -> String {
    format!("Fristen in den nächsten {CLOSING_DAYS} Tagen")
}

fn markdown(o: &Overview) -> String {
    let mut out = format!(
        "# {}\n\nFür: {}  \n{}\n\n{}\n\n",
        heading(o),
        md(&o.audience),
        md(&o.filters),
        o.legend()
    );
    let header: Vec<String> = o.handlungsfelder.iter().map(|h| md(&h.name)).collect();
    let _ = writeln!(out, "| Kommune | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(header.len()));
    for row in &o.rows {
        let cells: Vec<String> = row.cells.iter().map(cell_text).collect();
        let _ = writeln!(out, "| {} | {} |", md(&row.kommune.name), cells.join(" | "));
    }
    let _ = write!(out, "\n## {}\n\n", closing_heading());
    if o.closing_soon.is_empty() {
        out.push_str("Keine.\n");
    }
    for c in &o.closing_soon {
        let _ = writeln!(
            out,
            "- {} ({}): {} – {}; Kommunen: {}",
            format_date_de(c.deadline),
            format_days_left(c.days_left),
            md(&c.title),
            md(&c.handlungsfelder.join(", ")),
            md(&c.kommunen.join(", "))
        );
    }
    out
}

/// Escapes Markdown syntax (table pipes included) in inline text.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#') {
            out.push('\\');
        }
        out.push(if ch == '\n' { ' ' } else { ch });
    }
    out
}

/// What the overview template sees.
#[derive(Serialize)]
struct Page {
    title: String,
    audience: String,
    as_of: String,
    filters: String,
    legend: &'static str,
    closing_heading: String,
    handlungsfelder: Vec<String>,
    rows: Vec<PageRow>,
    closing_soon: Vec<PageClosing>,
}

#[derive(Serialize)]
struct PageRow {
    kommune: String,
    cells: Vec<PageCell>,
}

#[derive(Serialize)]
struct PageCell {
    calls: usize,
    next_deadline: String,
}

#[derive(Serialize)]
struct PageClosing {
    deadline: String,
    days_left: String,
    title: String,
    link: Option<String>,
    handlungsfelder: String,
    kommunen: String,
}

impl Page {
    fn new(o: &Overview) -> Page {
        Page {
            title: heading(o),
            audience: o.audience.clone(),
            as_of: format_date_de(o.as_of),
            filters: o.filters.clone(),
            legend: o.legend(),
            closing_heading: closing_heading(),
            handlungsfelder: o.handlungsfelder.iter().map(|h| h.name.clone()).collect(),
            rows: o
                .rows
                .iter()
                .map(|r| PageRow {
                    kommune: r.kommune.name.clone(),
                    cells: r
                        .cells
                        .iter()
                        .map(|c| PageCell {
                            calls: c.calls,
                            next_deadline: c.next_deadline.map(format_date_de).unwrap_or_default(),
                        })
                        .collect(),
                })
                .collect(),
            closing_soon: o
                .closing_soon
                .iter()
                .map(|c| PageClosing {
                    deadline: format_date_de(c.deadline),
                    days_left: format_days_left(c.days_left),
                    title: c.title.clone(),
                    link: c.url.clone(),
                    handlungsfelder: c.handlungsfelder.join(", "),
                    kommunen: c.kommunen.join(", "),
                })
                .collect(),
        }
    }
}
