//! The German HTML report: one self-contained page (inline style, no scripts,
//! no external resources). Every text from a call or the config is escaped.

use std::fmt::Write;

use super::{Report, ReportCall, ReportFormatter, view};

pub struct HtmlFormatter;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;\
line-height:1.45;color:#1b1b1b}article{border-top:1px solid #ccc;padding:.5rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}\
.reasons{color:#555;font-size:.92em}code{font-size:.9em}";

impl ReportFormatter for HtmlFormatter {
    fn format(&self, report: &Report) -> String {
        let title = esc(&view::heading(report));
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
             <p>{}<br>\n{}</p>\n",
            esc(&view::scope(report)),
            esc(&view::filters(report))
        );
        if report.calls.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", view::empty());
        }
        for call in &report.calls {
            write_call(&mut out, call, report);
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

fn write_call(out: &mut String, c: &ReportCall, report: &Report) {
    if let Some(url) = &c.url {
        let _ = writeln!(
            out,
            "<article>\n<h2><a href=\"{}\">{}</a></h2>\n<dl>",
            esc(url),
            esc(&c.title)
        );
    } else {
        let _ = writeln!(out, "<article>\n<h2>{}</h2>\n<dl>", esc(&c.title));
    }
    for (label, value) in view::facts(c, report.as_of) {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{}</dd>", esc(&value));
    }
    let _ = writeln!(out, "<dt>ID</dt><dd><code>{}</code></dd>\n</dl>", esc(c.id.as_str()));
    if c.matches.is_empty() {
        out.push_str("<p>Passt zu keinem Handlungsfeld.</p>\n</article>\n");
        return;
    }
    out.push_str("<p>Passt zu:</p>\n<ul>\n");
    for m in &c.matches {
        let _ = write!(
            out,
            "<li>{} – Kommunen: {} (Punktzahl {})",
            esc(&view::target(m)),
            esc(&view::kommunen(m)),
            view::score(m.score)
        );
        if !m.reasons.is_empty() {
            out.push_str("\n<ul class=\"reasons\">\n");
            for reason in &m.reasons {
                let _ = writeln!(out, "<li>{}</li>", esc(reason));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</article>\n");
}

/// Escapes text for element content and quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}
