//! foerderradar's matcher on the neutral corpus of the matching benchmark
//! (`bench/matching/` beside the project; its README defines the formats).
//!
//! ```sh
//! cargo build --release --example peer_corpus
//! peer_corpus translate RULES.json > rules.tsv    # neutral rules -> rule language
//! peer_corpus match DIR [--rules-tsv rules.tsv] [--matches FILE] [--name ours]
//! ```
//!
//! `match` reads `DIR/calls.jsonl` and the rules (`DIR/rules.json`, or the
//! translated `--rules-tsv`), compiles them with folding and stemming off
//! ([`Normalization::EXACT`]), matches every call as a boolean query
//! ([`BooleanMatcher`]), writes the matches file and prints the one
//! `RESULT {…}` line. Calls are streamed: one call's text is held at a time.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use foerderradar::matching::{BooleanMatcher, Normalization};
use serde::Deserialize;

#[derive(Parser)]
#[command(about = "foerderradar's matcher on the neutral matching benchmark corpus")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate neutral rules (rules.json) to the rule language: one `id<TAB>expression` per line on stdout.
    Translate { rules: PathBuf },
    /// Match DIR/calls.jsonl against the rules, write the matches file and print the RESULT line.
    Match {
        dir: PathBuf,
        /// Calls file (default DIR/calls.jsonl).
        #[arg(long)]
        calls: Option<PathBuf>,
        /// Neutral rules (default DIR/rules.json); ignored with --rules-tsv.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Rules already translated by `translate`.
        #[arg(long)]
        rules_tsv: Option<PathBuf>,
        /// Matches file (default DIR/matches/NAME.tsv).
        #[arg(long)]
        matches: Option<PathBuf>,
        #[arg(long, default_value = "foerderradar")]
        name: String,
    },
}

const FIELDS: [&str; 3] = ["title", "summary", "text"];

#[derive(Deserialize)]
struct RulesDoc {
    format: String,
    rules: Vec<NeutralRule>,
}

#[derive(Deserialize)]
struct NeutralRule {
    id: String,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    any: Vec<Clause>,
    #[serde(default)]
    all: Vec<Clause>,
    #[serde(default)]
    none: Vec<Clause>,
    #[serde(default)]
    phrases: Vec<Clause>,
}

#[derive(Deserialize)]
struct Clause {
    term: Option<String>,
    phrase: Option<String>,
    #[serde(default)]
    prefix: bool,
    #[serde(default)]
    infix: bool,
    fields: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct CallLine {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    text: String,
}

fn load_neutral(path: &Path) -> Result<Vec<NeutralRule>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let doc: RulesDoc = serde_json::from_reader(BufReader::new(file))
        .with_context(|| format!("{}: not a rules file", path.display()))?;
    if doc.format != "foerderradar-bench-rules/1" {
        bail!(
            "{}: format '{}', expected 'foerderradar-bench-rules/1'",
            path.display(),
            doc.format
        );
    }
    Ok(doc.rules)
}

/// One neutral rule in the rule language:
/// `(any… OR "phrases"…) AND all… AND NOT (none…)`.
fn translate(rule: &NeutralRule) -> Result<String> {
    let clause = |c: &Clause| clause(c, rule).with_context(|| format!("rule {}", rule.id));
    let positives = rule
        .any
        .iter()
        .chain(&rule.phrases)
        .map(clause)
        .collect::<Result<Vec<_>>>()?;
    let mut parts = Vec::new();
    if !positives.is_empty() {
        parts.push(format!("({})", positives.join(" OR ")));
    }
    for c in &rule.all {
        parts.push(clause(c)?);
    }
    if parts.is_empty() {
        bail!("rule {}: no positive clause (any, phrases or all)", rule.id);
    }
    let negatives = rule.none.iter().map(clause).collect::<Result<Vec<_>>>()?;
    if !negatives.is_empty() {
        parts.push(format!("NOT ({})", negatives.join(" OR ")));
    }
    Ok(parts.join(" AND "))
}

/// word `=t`, prefix `t*`, infix `t` (compound matching), phrase `="w1 w2"`,
/// scoped to the clause's fields (or the rule's) unless that is all three.
fn clause(c: &Clause, rule: &NeutralRule) -> Result<String> {
    let atom = match (&c.term, &c.phrase) {
        (Some(t), None) if c.prefix && c.infix => bail!("term '{t}' is both prefix and infix"),
        (Some(t), None) if c.prefix => format!("{t}*"),
        (Some(t), None) if c.infix => t.clone(),
        (Some(t), None) => format!("={t}"),
        (None, Some(p)) => format!("=\"{p}\""),
        _ => bail!("a clause has exactly one of 'term' and 'phrase'"),
    };
    let fields: BTreeSet<&str> = match c.fields.as_ref().or(rule.fields.as_ref()) {
        Some(list) if !list.is_empty() => list.iter().map(String::as_str).collect(),
        _ => FIELDS.into_iter().collect(),
    };
    if let Some(bad) = fields.iter().find(|f| !FIELDS.contains(f)) {
        bail!("unknown field '{bad}' (known: title, summary, text)");
    }
    Ok(match fields.len() {
        3 => atom,
        1 => format!("{}:{atom}", fields.first().expect("one field")),
        _ => format!(
            "({})",
            fields
                .iter()
                .map(|f| format!("{f}:{atom}"))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
    })
}

fn read_tsv(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(n, l)| {
            l.split_once('\t')
                .map(|(id, e)| (id.to_string(), e.to_string()))
                .with_context(|| format!("{}:{}: expected 'id<TAB>expression'", path.display(), n + 1))
        })
        .collect()
}

/// VmRSS and VmHWM of this process in MB.
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn round3(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

struct MatchArgs {
    dir: PathBuf,
    calls: PathBuf,
    rules: PathBuf,
    rules_tsv: Option<PathBuf>,
    matches: PathBuf,
    name: String,
}

fn run_match(a: MatchArgs) -> Result<()> {
    let started = Instant::now();
    let translated_already = a.rules_tsv.is_some();
    let (rules, translate_s) = match &a.rules_tsv {
        Some(tsv) => (read_tsv(tsv)?, Duration::ZERO),
        None => {
            let neutral = load_neutral(&a.rules)?;
            let t = Instant::now();
            let rules = neutral
                .iter()
                .map(|r| Ok((r.id.clone(), translate(r)?)))
                .collect::<Result<Vec<_>>>()?;
            (rules, t.elapsed())
        }
    };
    let mut load = started.elapsed() - translate_s;
    let (base_rss, _) = rss_mb();

    let t = Instant::now();
    let exprs: Vec<&str> = rules.iter().map(|(_, e)| e.as_str()).collect();
    let matcher = BooleanMatcher::new(&exprs, Normalization::EXACT).map_err(|e| {
        let id = &rules[e.index].0;
        anyhow::anyhow!("rule {id}: '{}': {}", e.expr, e.error)
    })?;
    let index = t.elapsed() + translate_s;

    let file = File::open(&a.calls).with_context(|| format!("{}: cannot open", a.calls.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut query = Duration::ZERO;
    let mut call_ids: Vec<String> = Vec::new();
    let mut matches: Vec<Vec<u32>> = vec![Vec::new(); rules.len()];
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        let t = Instant::now();
        line.clear();
        n += 1;
        if reader
            .read_line(&mut line)
            .with_context(|| format!("{}: line {n}", a.calls.display()))?
            == 0
        {
            load += t.elapsed();
            break;
        }
        if line.trim().is_empty() {
            load += t.elapsed();
            continue;
        }
        let call: CallLine = serde_json::from_str(&line).with_context(|| format!("{}: line {n}", a.calls.display()))?;
        let ci = u32::try_from(call_ids.len()).context("more than 2^32 calls")?;
        let t = {
            load += t.elapsed();
            Instant::now()
        };
        for r in matcher.matching(&call.title, &call.summary, &call.text) {
            matches[r as usize].push(ci);
        }
        query += t.elapsed();
        call_ids.push(call.id);
    }
    let (_, peak_rss) = rss_mb();

    write_matches(&a.matches, &rules, &call_ids, &mut matches)?;
    let total: usize = matches.iter().map(Vec::len).sum();
    let matches_file = a
        .matches
        .strip_prefix(&a.dir)
        .unwrap_or(&a.matches)
        .display()
        .to_string();
    let result = serde_json::json!({
        "peer": a.name,
        "variant": "exact",
        "calls": call_ids.len(),
        "rules": rules.len(),
        "load_s": round3(load),
        "index_s": round3(index),
        "query_s": round3(query),
        "matches": total,
        "base_rss_mb": (base_rss * 10.0).round() / 10.0,
        "peak_rss_mb": (peak_rss * 10.0).round() / 10.0,
        "matches_file": matches_file,
        "index_note": format!(
            "rules compiled into one automaton over {} distinct needles{}; calls streamed, not held",
            matcher.needles(),
            if translated_already { "" } else { " (translation included)" }
        ),
    });
    println!("RESULT {result}");
    Ok(())
}

/// `rule_id<TAB>call_id,…` per rule in rules order, call ids ascending.
fn write_matches(path: &Path, rules: &[(String, String)], call_ids: &[String], matches: &mut [Vec<u32>]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut out = BufWriter::new(file);
    for ((id, _), m) in rules.iter().zip(matches.iter_mut()) {
        m.sort_unstable_by(|a, b| call_ids[*a as usize].cmp(&call_ids[*b as usize]));
        out.write_all(id.as_bytes())?;
        out.write_all(b"\t")?;
        for (i, c) in m.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(call_ids[*c as usize].as_bytes())?;
        }
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("{}: cannot write", path.display()))
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Translate { rules } => {
            let mut out = std::io::stdout().lock();
            for r in load_neutral(&rules)? {
                writeln!(out, "{}\t{}", r.id, translate(&r)?)?;
            }
            Ok(())
        }
        Command::Match {
            dir,
            calls,
            rules,
            rules_tsv,
            matches,
            name,
        } => run_match(MatchArgs {
            calls: calls.unwrap_or_else(|| dir.join("calls.jsonl")),
            rules: rules.unwrap_or_else(|| dir.join("rules.json")),
            matches: matches.unwrap_or_else(|| dir.join("matches").join(format!("{name}.tsv"))),
            rules_tsv,
            name,
            dir,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written edge cases of the benchmark's `test_semantics.py`,
    /// with the call sets its reference semantics gives.
    const CALLS: [(&str, &str, &str, &str); 6] = [
        (
            "c0",
            "Glasfaserausbau in Oelde",
            "Weiße Flecken werden geschlossen.",
            "Der Breitbandausbau fördert Kommunen. Digitalisierung der Verwaltung; E-Mobilität und Radwegenetz.",
        ),
        (
            "c1",
            "Fahrradwegenetz für Kommunen",
            "Kommunale Radwege",
            "Fahrradwegenetz, nicht für Unternehmen. Grad und Radar.",
        ),
        (
            "c2",
            "Straßenbau",
            "Großstadt und Dorfgemeinschaftshaus",
            "Straßenbau; weiße\nFlecken über Zeilen; Glasfaser-Ausbau im Ortskern.",
        ),
        (
            "c3",
            "Forschung für KMU",
            "Unternehmen der gewerblichen Wirtschaft",
            "Industrielle Forschung, Hochschulen, Glasfaser.",
        ),
        (
            "c4",
            "Initiative",
            "Lange Wörter",
            "Die Nachbarschaftsmarkterschließungsinitiative (43 Bytes) ist förderfähig.",
        ),
        ("c5", "Schön", "schon", "Das Rad dreht sich; ÖPNV und Bürgerbus."),
    ];

    const RULES: &str = r#"{"format": "foerderradar-bench-rules/1", "rules": [
      {"id": "word-rad", "any": [{"term": "rad"}], "all": [], "none": [], "phrases": []},
      {"id": "infix-radweg", "any": [{"term": "radweg", "infix": true}], "all": [], "none": [], "phrases": []},
      {"id": "prefix-radweg", "any": [{"term": "radweg", "prefix": true}], "all": [], "none": [], "phrases": []},
      {"id": "phrase-flecken", "any": [], "all": [], "none": [], "phrases": [{"phrase": "weiße flecken"}]},
      {"id": "phrase-emob", "any": [], "all": [], "none": [], "phrases": [{"phrase": "e mobilität"}]},
      {"id": "title-glasfaser", "any": [{"term": "glasfaser", "infix": true, "fields": ["title"]}], "all": [], "none": [], "phrases": []},
      {"id": "rule-scope", "fields": ["summary"], "any": [{"term": "kommunal", "prefix": true}, {"term": "flecken"}], "all": [], "none": [], "phrases": []},
      {"id": "none-kmu", "any": [{"term": "glasfaser", "infix": true}], "all": [], "none": [{"term": "kmu"}], "phrases": []},
      {"id": "all-kommun", "any": [{"term": "glasfaser", "infix": true}], "all": [{"term": "kommun", "prefix": true}], "none": [], "phrases": []},
      {"id": "word-glasfaser", "any": [{"term": "glasfaser"}], "all": [], "none": [], "phrases": []},
      {"id": "umlaut-schön", "any": [{"term": "schön"}], "all": [], "none": [], "phrases": []},
      {"id": "umlaut-öpnv", "any": [{"term": "öpnv"}, {"term": "bürgerbus"}], "all": [], "none": [], "phrases": []},
      {"id": "long-token", "any": [{"term": "markterschließung", "infix": true}], "all": [], "none": [], "phrases": []},
      {"id": "none-infix", "any": [{"term": "ausbau", "infix": true}], "all": [], "none": [{"term": "straßen", "infix": true}], "phrases": []},
      {"id": "eszett", "any": [{"term": "großstadt"}, {"term": "straße", "prefix": true}], "all": [], "none": [], "phrases": []},
      {"id": "two-fields", "fields": ["title", "summary"], "any": [], "all": [{"term": "kommunen"}], "none": [], "phrases": []}
    ]}"#;

    const EXPECTED: [(&str, &[&str]); 16] = [
        ("word-rad", &["c5"]),
        ("infix-radweg", &["c0", "c1"]),
        ("prefix-radweg", &["c0", "c1"]),
        ("phrase-flecken", &["c0", "c2"]),
        ("phrase-emob", &["c0"]),
        ("title-glasfaser", &["c0"]),
        ("rule-scope", &["c0", "c1"]),
        ("none-kmu", &["c0", "c2"]),
        ("all-kommun", &["c0"]),
        ("word-glasfaser", &["c2", "c3"]),
        ("umlaut-schön", &["c5"]),
        ("umlaut-öpnv", &["c5"]),
        ("long-token", &["c4"]),
        ("none-infix", &["c0"]),
        ("eszett", &["c2"]),
        ("two-fields", &["c1"]),
    ];

    #[test]
    fn translated_rules_match_the_reference_semantics_of_the_edge_cases() {
        let doc: RulesDoc = serde_json::from_str(RULES).unwrap();
        let exprs: Vec<String> = doc.rules.iter().map(|r| translate(r).unwrap()).collect();
        let matcher = BooleanMatcher::new(&exprs, Normalization::EXACT).unwrap();
        let mut got = vec![Vec::new(); exprs.len()];
        for (id, title, summary, text) in CALLS {
            for r in matcher.matching(title, summary, text) {
                got[r as usize].push(id);
            }
        }
        for (rule, (id, want)) in doc.rules.iter().zip(EXPECTED) {
            assert_eq!(rule.id, id);
            let i = doc.rules.iter().position(|r| r.id == id).unwrap();
            assert_eq!(got[i], want, "{id}: {}", exprs[i]);
        }
    }

    #[test]
    fn translation_uses_whole_words_wildcards_scopes_and_not() {
        let doc: RulesDoc = serde_json::from_str(
            r#"{"format": "foerderradar-bench-rules/1", "rules": [{"id": "r1", "fields": ["title", "summary"],
               "any": [{"term": "mast", "infix": true}, {"term": "open", "fields": ["title"]}],
               "all": [{"term": "städte", "fields": ["title", "summary", "text"]}],
               "none": [{"term": "wallbox", "prefix": true}], "phrases": [{"phrase": "weiße flecken"}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            translate(&doc.rules[0]).unwrap(),
            "((summary:mast OR title:mast) OR title:=open OR (summary:=\"weiße flecken\" OR title:=\"weiße flecken\")) \
             AND =städte AND NOT ((summary:wallbox* OR title:wallbox*))"
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule_id() {
        let doc: RulesDoc = serde_json::from_str(
            r#"{"format": "foerderradar-bench-rules/1", "rules": [
               {"id": "r9", "any": [{"term": "a", "fields": ["funder"]}], "all": [], "none": [], "phrases": []},
               {"id": "r8", "any": [], "all": [], "none": [{"term": "x"}], "phrases": []}]}"#,
        )
        .unwrap();
        let e = format!("{:#}", translate(&doc.rules[0]).unwrap_err());
        assert!(e.contains("rule r9") && e.contains("unknown field 'funder'"), "{e}");
        let e = translate(&doc.rules[1]).unwrap_err().to_string();
        assert!(e.contains("rule r8: no positive clause"), "{e}");
    }
}
