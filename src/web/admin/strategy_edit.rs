//! Editing one profile (a Handlungsfeld's or a project's rules and threshold) in
//! `strategy.toml` with toml_edit: everything else in the file, comments and layout
//! included, stays as it was. A candidate is valid when every rule parses and the
//! whole config directory with the candidate loads as `check` would load it.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Value};

/// Which profile: `[[handlungsfeld]]` or `[[project]]`, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    Handlungsfeld,
    Project,
}

impl ProfileKind {
    pub fn parse(s: &str) -> Option<ProfileKind> {
        match s {
            "handlungsfeld" => Some(ProfileKind::Handlungsfeld),
            "projekt" | "project" => Some(ProfileKind::Project),
            _ => None,
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            ProfileKind::Handlungsfeld => "handlungsfeld",
            ProfileKind::Project => "project",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            ProfileKind::Handlungsfeld => "handlungsfeld",
            ProfileKind::Project => "projekt",
        }
    }
}

/// The edited profile as the form sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileEdit {
    pub rules: Vec<RuleEdit>,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleEdit {
    pub expr: String,
    pub weight: f64,
}

impl ProfileEdit {
    /// The profile as text, one rule a line, for the audit log.
    pub fn summary(&self) -> String {
        let mut out = format!("threshold = {}\n", self.threshold);
        for rule in &self.rules {
            out.push_str(&format!("{:+} × {}\n", rule.weight, rule.expr));
        }
        out
    }
}

/// One reason a candidate is refused. `rule` (from 1) with `line`/`column` place a
/// syntax error inside a rule's text field; a config-wide error has only `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub rule: Option<usize>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.rule, self.line, self.column) {
            (Some(r), Some(l), Some(c)) => write!(f, "Regel {r}, Zeile {l}, Spalte {c}: {}", self.message),
            (Some(r), _, _) => write!(f, "Regel {r}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}

/// The profile as it stands in the file.
pub fn current(doc: &DocumentMut, kind: ProfileKind, id: &str) -> Option<ProfileEdit> {
    let table = find(doc, kind, id)?;
    let threshold = table
        .get("threshold")
        .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))?;
    let rules = table
        .get("rules")
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| {
                    let t = v.as_inline_table()?;
                    Some(RuleEdit {
                        expr: t.get("expr")?.as_str()?.to_string(),
                        weight: t
                            .get("weight")
                            .and_then(|w| w.as_float().or(w.as_integer().map(|i| i as f64)))
                            .unwrap_or(1.0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(ProfileEdit { rules, threshold })
}

fn find<'a>(doc: &'a DocumentMut, kind: ProfileKind, id: &str) -> Option<&'a toml_edit::Table> {
    doc.get(kind.table())?
        .as_array_of_tables()?
        .iter()
        .find(|t| t.get("id").and_then(Item::as_str) == Some(id))
}

/// `text` with the profile replaced; the rest of the document is kept byte for byte.
pub fn apply(text: &str, kind: ProfileKind, id: &str, edit: &ProfileEdit) -> anyhow::Result<String> {
    let mut doc: DocumentMut = text.parse().context("strategy.toml is not valid TOML")?;
    let table = doc
        .get_mut(kind.table())
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| a.iter_mut().find(|t| t.get("id").and_then(Item::as_str) == Some(id)))
        .with_context(|| format!("strategy.toml has no {} `{id}`", kind.table()))?;
    set_number(table, "threshold", edit.threshold);
    let mut rules = Array::new();
    for rule in &edit.rules {
        let mut t = InlineTable::new();
        t.insert("expr", literal_or_basic(&rule.expr));
        t.insert("weight", Value::from(rule.weight));
        let mut value = Value::InlineTable(t);
        value.decor_mut().set_prefix("\n  ");
        rules.push_formatted(value);
    }
    rules.set_trailing(if edit.rules.is_empty() { "" } else { "\n" });
    rules.set_trailing_comma(!edit.rules.is_empty());
    match table.get_mut("rules") {
        Some(item) => {
            let decor = item.as_value().map(|v| v.decor().clone());
            let mut value = Value::Array(rules);
            if let Some(decor) = decor {
                *value.decor_mut() = decor;
            }
            *item = Item::Value(value);
        }
        None => {
            table.insert("rules", Item::Value(Value::Array(rules)));
        }
    }
    Ok(doc.to_string())
}

/// Keeps the key's decoration (comments after the value) when replacing a number.
fn set_number(table: &mut toml_edit::Table, key: &str, n: f64) {
    let mut value = Value::from(n);
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(value));
}

/// Rules are written as literal strings ('…') like the hand-written file, so that
/// quotes inside a rule need no escaping; a rule with a `'` or a newline falls back
/// to a basic string.
fn literal_or_basic(s: &str) -> Value {
    let mut value = Value::from(s);
    if !s.contains('\'')
        && !s.contains('\n')
        && let Ok(repr) = format!("'{s}'").parse::<Value>()
    {
        value = repr;
    }
    value
}

/// Every rule parses, weights and threshold lie in their ranges (config/README.md).
pub fn check_rules(edit: &ProfileEdit) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !(edit.threshold.is_finite() && (0.0..=1000.0).contains(&edit.threshold)) {
        problems.push(Problem {
            rule: None,
            line: None,
            column: None,
            message: format!("Schwelle {} liegt nicht zwischen 0 und 1000", edit.threshold),
        });
    }
    for (i, rule) in edit.rules.iter().enumerate() {
        if let Err(e) = crate::rules::parse(&rule.expr) {
            problems.push(Problem {
                rule: Some(i + 1),
                line: Some(e.line),
                column: Some(e.column),
                message: e.message.clone(),
            });
        }
        if !(rule.weight.is_finite() && (-100.0..=100.0).contains(&rule.weight)) {
            problems.push(Problem {
                rule: Some(i + 1),
                line: None,
                column: None,
                message: format!("Gewicht {} liegt nicht zwischen -100 und 100", rule.weight),
            });
        }
    }
    problems
}

/// Loads the config directory as `check` does, with `strategy.toml` replaced by
/// `candidate`.
pub fn load_with(config_dir: &Path, candidate: &str) -> Result<crate::config::Config, Vec<Problem>> {
    super::config_file::load_with(config_dir, super::config_file::ConfigFile::Strategy, candidate).map_err(|messages| {
        messages
            .into_iter()
            .map(|message| Problem {
                rule: None,
                line: None,
                column: None,
                message,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# top comment\n[[project]]\nid = \"a\" # the id\nthreshold = 4.0 # about 2 × main\nrules = [\n  { expr = 'x OR y', weight = 2.0 }, # main\n]\n\n# between\n[[project]]\nid = \"b\"\nthreshold = 1.0\nrules = []\n";

    #[test]
    fn apply_keeps_comments_and_other_profiles() {
        let edit = ProfileEdit {
            rules: vec![
                RuleEdit {
                    expr: "x OR y AND NOT \"z w\"".into(),
                    weight: 2.5,
                },
                RuleEdit {
                    expr: "q".into(),
                    weight: -1.0,
                },
            ],
            threshold: 5.0,
        };
        let out = apply(TEXT, ProfileKind::Project, "a", &edit).unwrap();
        assert!(
            out.contains("# top comment") && out.contains("# between") && out.contains("# the id"),
            "{out}"
        );
        assert!(out.contains("threshold = 5.0 # about 2 × main"), "{out}");
        assert!(out.contains("expr = 'x OR y AND NOT \"z w\"'"), "{out}");
        assert!(out.ends_with("id = \"b\"\nthreshold = 1.0\nrules = []\n"), "{out}");
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(current(&doc, ProfileKind::Project, "a").unwrap(), edit);
    }

    #[test]
    fn a_syntax_error_is_placed_at_rule_line_and_column() {
        let edit = ProfileEdit {
            rules: vec![
                RuleEdit {
                    expr: "ok".into(),
                    weight: 1.0,
                },
                RuleEdit {
                    expr: "a AND\n(b OR".into(),
                    weight: 1.0,
                },
            ],
            threshold: 2.0,
        };
        let problems = check_rules(&edit);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].rule, Some(2));
        assert_eq!(problems[0].line, Some(2));
        assert!(problems[0].column.is_some());
    }
}
