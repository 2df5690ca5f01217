//! The German HTML report: one self-contained page (inline style, no scripts,
//! no external resources), rendered from the minijinja template
//! `report.html.j2` with HTML auto-escaping, so every text from a call or the
//! config is escaped by the template engine. `<config>/templates/report.html.j2`
//! replaces the embedded template.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use super::{Report, ReportCall, ReportError, ReportFormatter, ReportMatch, view};

/// Name of the HTML report template (and of its override file in `<config>/templates/`).
pub const TEMPLATE: &str = "report.html.j2";

const EMBEDDED: &str = include_str!("templates/report.html.j2");

/// The HTML report with the embedded template.
pub struct HtmlFormatter;

impl ReportFormatter for HtmlFormatter {
    fn format(&self, report: &Report) -> String {
        let env = environment(EMBEDDED.to_string()).expect("the embedded report template compiles");
        render(&env, report).expect("the embedded report template renders every report")
    }
}

/// Renders with `<config_dir>/templates/report.html.j2` when that file exists.
pub fn format_with_override(report: &Report, config_dir: &Path) -> Result<String, ReportError> {
    let path = config_dir.join("templates").join(TEMPLATE);
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HtmlFormatter.format(report)),
        Err(source) => return Err(ReportError::TemplateFile { path, source }),
    };
    let failed = |source| ReportError::Template {
        path: path.clone(),
        source,
    };
    let env = environment(source).map_err(failed)?;
    tracing::info!(template = %path.display(), "using report template override");
    render(&env, report).map_err(failed)
}

fn environment(source: String) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = crate::config::templates::environment();
    // The `.html.j2` name turns on HTML auto-escaping.
    env.add_template_owned(TEMPLATE, source)?;
    Ok(env)
}

fn render(env: &Environment<'static>, report: &Report) -> Result<String, minijinja::Error> {
    let page = minijinja::Value::from(minijinja::value::Serde(Page::new(report)));
    env.get_template(TEMPLATE)?.render(&page)
}

/// What the template sees: German wording, ready to print.
#[derive(Serialize)]
struct Page {
    title: String,
    scope: String,
    filters: String,
    empty: String,
    calls: Vec<PageCall>,
}

#[derive(Serialize)]
struct PageCall {
    title: String,
    /// Only web links become links: a `javascript:` or `data:` URL stays text.
    link: Option<String>,
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
            title: view::heading(report),
            scope: view::scope(report),
            filters: view::filters(report),
            empty: view::empty().to_string(),
            calls: report.calls.iter().map(|c| PageCall::new(c, report)).collect(),
        }
    }
}

impl PageCall {
    fn new(c: &ReportCall, report: &Report) -> PageCall {
        PageCall {
            title: c.title.clone(),
            link: c.url.clone(),
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
