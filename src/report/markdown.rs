//! The German Markdown report.

use std::fmt::Write;

use super::{Report, ReportCall, ReportFormatter, view};

pub struct MarkdownFormatter;

impl ReportFormatter for MarkdownFormatter {
    fn format(&self, report: &Report) -> String {
        let mut out = format!(
            "# {}\n\n{}  \n{}\n",
            view::heading(report),
            view::scope(report),
            esc(&view::filters(report))
        );
        if report.calls.is_empty() {
            let _ = write!(out, "\n{}\n", view::empty());
        }
        for call in &report.calls {
            out.push('\n');
            write_call(&mut out, call, report);
        }
        out
    }
}

fn write_call(out: &mut String, c: &ReportCall, report: &Report) {
    if let Some(link) = &c.url {
        let _ = writeln!(out, "## [{}](<{}>)\n", esc(&c.title), url(link));
    } else {
        let _ = writeln!(out, "## {}\n", esc(&c.title));
    }
    for (label, value) in view::facts(c, report.as_of) {
        let _ = writeln!(out, "- **{label}:** {}", esc(&value));
    }
    let _ = writeln!(out, "- **ID:** `{}`", c.id);
    if c.matches.is_empty() {
        let _ = writeln!(out, "- **Passt zu:** keinem Handlungsfeld");
        return;
    }
    let _ = writeln!(out, "- **Passt zu:**");
    for m in &c.matches {
        let _ = writeln!(
            out,
            "  - {} – Kommunen: {} (Punktzahl {})",
            esc(&view::target(m)),
            esc(&view::kommunen(m)),
            view::score(m.score)
        );
        for reason in &m.reasons {
            let _ = writeln!(out, "    - {}", esc(reason));
        }
    }
}

/// Escapes Markdown syntax in inline text, so titles print as written.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A link destination inside `<...>`: only the angle brackets and line breaks need encoding.
fn url(u: &str) -> String {
    u.replace('<', "%3C").replace('>', "%3E").replace(['\n', '\r'], "")
}
