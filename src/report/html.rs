//! The German HTML report: one self-contained, printable page (inline style
//! with an A4 print stylesheet, inline SVG, no scripts, no external resources),
//! rendered from the minijinja template `report.html.j2` with HTML
//! auto-escaping, so every text from a call or the config is escaped by the
//! template engine. `<config>/templates/report.html.j2` replaces the embedded
//! template; the overview's `overview.html.j2` likewise.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use super::timeline::{self, Timeline};
use super::{Report, ReportCall, ReportError, ReportFormatter, ReportMatch, view};
use crate::model::german::{format_date_de, format_days_left};
use crate::model::text::sort_key_de;

/// Name of the HTML report template (and of its override file in `<config>/templates/`).
pub const TEMPLATE: &str = "report.html.j2";

const EMBEDDED: &str = include_str!("templates/report.html.j2");

/// Longest call summary shown in a section, in characters.
const SUMMARY_CHARS: usize = 600;

/// The HTML report with the embedded template.
pub struct HtmlFormatter;

impl ReportFormatter for HtmlFormatter {
    fn format(&self, report: &Report) -> String {
        render_embedded(TEMPLATE, EMBEDDED, &Page::new(report))
    }
}

/// Renders with `<config_dir>/templates/report.html.j2` when that file exists.
pub fn format_with_override(report: &Report, config_dir: &Path) -> Result<String, ReportError> {
    render_with_override(TEMPLATE, EMBEDDED, &Page::new(report), config_dir)
}

/// Renders `context` with the embedded template `name`, which is tested to compile and render.
pub(super) fn render_embedded<T: Serialize>(name: &str, embedded: &str, context: &T) -> String {
    let env = environment(name, embedded.to_string()).expect("an embedded report template compiles");
    render(&env, name, context).expect("an embedded report template renders every report")
}

/// Renders with `<config_dir>/templates/<name>` when that file exists, else the embedded one.
pub(super) fn render_with_override<T: Serialize>(
    name: &str,
    embedded: &str,
    context: &T,
    config_dir: &Path,
) -> Result<String, ReportError> {
    let path = config_dir.join("templates").join(name);
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(render_embedded(name, embedded, context));
        }
        Err(source) => return Err(ReportError::TemplateFile { path, source }),
    };
    let failed = |source| ReportError::Template {
        path: path.clone(),
        source,
    };
    let env = environment(name, source).map_err(failed)?;
    tracing::info!(template = %path.display(), "using report template override");
    render(&env, name, context).map_err(failed)
}

fn environment(name: &str, source: String) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = crate::config::templates::environment();
    // The `.html.j2` name turns on HTML auto-escaping.
    env.add_template_owned(name.to_string(), source)?;
    Ok(env)
}

fn render<T: Serialize>(env: &Environment<'static>, name: &str, context: &T) -> Result<String, minijinja::Error> {
    let value = minijinja::Value::from(minijinja::value::Serde(context));
    env.get_template(name)?.render(&value)
}

/// What the template sees: German wording, ready to print.
#[derive(Serialize)]
struct Page {
    title: String,
    audience: String,
    as_of: String,
    scope: String,
    filters: String,
    empty: String,
    summary: Vec<SummaryRow>,
    total: usize,
    next_deadlines: Vec<NextDeadline>,
    timeline: Option<Timeline>,
    sections: Vec<Section>,
    /// Every call once, in report order (for templates that list calls flat).
    calls: Vec<PageCall>,
}

/// One row of the summary table.
#[derive(Serialize)]
struct SummaryRow {
    handlungsfeld: String,
    colour: &'static str,
    calls: usize,
    /// "01.12.2026 – Smarte Dörfer", or "–".
    next_deadline: String,
}

#[derive(Serialize)]
struct NextDeadline {
    date: String,
    days_left: String,
    title: String,
}

/// A Handlungsfeld with its calls, grouped by project.
#[derive(Serialize)]
struct Section {
    title: String,
    colour: &'static str,
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    /// The project's name, or "Handlungsfeld allgemein" for matches without a project.
    title: String,
    entries: Vec<Entry>,
}

/// A call under one Handlungsfeld and project.
#[derive(Serialize)]
struct Entry {
    call: PageCall,
    kommunen: String,
    reasons: Vec<String>,
    /// "Punktzahl 3,5 · Kennung … · Quelle fdb".
    details: String,
}

#[derive(Serialize)]
struct PageCall {
    title: String,
    /// Only web links become links: a `javascript:` or `data:` URL stays text.
    link: Option<String>,
    summary: String,
    facts: Vec<Fact>,
    id: String,
    matches: Vec<PageMatch>,
}

#[derive(Serialize)]
struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Serialize)]
struct PageMatch {
    target: String,
    kommunen: String,
    score: String,
    reasons: Vec<String>,
}

impl Page {
    fn new(report: &Report) -> Page {
        Page {
            title: "Förderradar – Bericht".to_string(),
            audience: report.audience.clone(),
            as_of: format_date_de(report.as_of),
            scope: view::scope(report),
            filters: view::filters(report),
            empty: view::empty().to_string(),
            summary: summary(report),
            total: report.calls.len(),
            next_deadlines: next_deadlines(report),
            timeline: timeline::build(report),
            sections: sections(report),
            calls: report.calls.iter().map(|c| PageCall::new(c, report)).collect(),
        }
    }
}

fn summary(report: &Report) -> Vec<SummaryRow> {
    report
        .handlungsfelder
        .iter()
        .map(|h| {
            let calls: Vec<&ReportCall> = report
                .calls
                .iter()
                .filter(|c| c.matches.iter().any(|m| m.handlungsfeld == h.id))
                .collect();
            // Calls are in deadline order: the first dated one is the next.
            let next = calls
                .iter()
                .find_map(|c| c.deadline.map(|d| format!("{} – {}", format_date_de(d), c.title)));
            SummaryRow {
                handlungsfeld: h.name.clone(),
                colour: timeline::colour(report, Some(&h.id)),
                calls: calls.len(),
                next_deadline: next.unwrap_or_else(|| "–".to_string()),
            }
        })
        .collect()
}

/// The five soonest cut-offs.
fn next_deadlines(report: &Report) -> Vec<NextDeadline> {
    report
        .calls
        .iter()
        .filter_map(|c| c.deadline.map(|d| (c, d)))
        .take(5)
        .map(|(c, d)| NextDeadline {
            date: format_date_de(d),
            days_left: format_days_left((d - report.as_of).num_days()),
            title: c.title.clone(),
        })
        .collect()
}

fn sections(report: &Report) -> Vec<Section> {
    let mut out: Vec<Section> = report
        .handlungsfelder
        .iter()
        .filter_map(|h| {
            let hits: Vec<(&ReportCall, &ReportMatch)> = report
                .calls
                .iter()
                .flat_map(|c| c.matches.iter().map(move |m| (c, m)))
                .filter(|(_, m)| m.handlungsfeld == h.id)
                .collect();
            (!hits.is_empty()).then(|| Section {
                title: h.name.clone(),
                colour: timeline::colour(report, Some(&h.id)),
                groups: groups(&hits, report),
            })
        })
        .collect();
    let unassigned: Vec<Entry> = report
        .calls
        .iter()
        .filter(|c| c.matches.is_empty())
        .map(|c| Entry::unassigned(c, report))
        .collect();
    if !unassigned.is_empty() {
        out.push(Section {
            title: "Ohne passendes Handlungsfeld".to_string(),
            colour: timeline::colour(report, None),
            groups: vec![Group {
                title: String::new(),
                entries: unassigned,
            }],
        });
    }
    out
}

/// Matches without a project first, then projects in German name order.
fn groups(hits: &[(&ReportCall, &ReportMatch)], report: &Report) -> Vec<Group> {
    let mut projects: Vec<Option<&str>> = hits.iter().map(|(_, m)| m.project_name.as_deref()).collect();
    projects.sort_by_cached_key(|p| p.map(sort_key_de));
    projects.dedup();
    projects
        .into_iter()
        .map(|project| Group {
            title: project.map_or_else(|| "Handlungsfeld allgemein".to_string(), |p| format!("Projekt „{p}“")),
            entries: hits
                .iter()
                .filter(|(_, m)| m.project_name.as_deref() == project)
                .map(|(c, m)| Entry::new(c, m, report))
                .collect(),
        })
        .collect()
}

impl Entry {
    fn new(c: &ReportCall, m: &ReportMatch, report: &Report) -> Entry {
        Entry {
            call: PageCall::new(c, report),
            kommunen: view::kommunen(m),
            reasons: m.reasons.clone(),
            details: format!(
                "Punktzahl {} · Kennung {} · Quelle {}",
                view::score(m.score),
                c.id,
                c.source
            ),
        }
    }

    fn unassigned(c: &ReportCall, report: &Report) -> Entry {
        Entry {
            call: PageCall::new(c, report),
            kommunen: "keine zugeordnet".to_string(),
            reasons: Vec::new(),
            details: format!("Kennung {} · Quelle {}", c.id, c.source),
        }
    }
}

impl PageCall {
    fn new(c: &ReportCall, report: &Report) -> PageCall {
        PageCall {
            title: c.title.clone(),
            link: c.url.clone(),
            summary: cut(&c.call.summary, SUMMARY_CHARS),
            facts: view::facts(c, report.as_of)
                .into_iter()
                .map(|(label, value)| Fact { label, value })
                .collect(),
            id: c.id.to_string(),
            matches: c.matches.iter().map(PageMatch::new).collect(),
        }
    }
}

impl PageMatch {
    fn new(m: &ReportMatch) -> PageMatch {
        PageMatch {
            target: view::target(m),
            kommunen: view::kommunen(m),
            score: view::score(m.score),
            reasons: m.reasons.clone(),
        }
    }
}

/// At most `max` characters, cut at a word where possible, with "…".
fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    let head = head.rsplit_once(' ').map_or(head.as_str(), |(h, _)| h);
    format!("{}…", head.trim_end())
}
