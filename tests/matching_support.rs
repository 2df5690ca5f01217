//! Test support for the matching tests and benchmark: the shipped deployment
//! as the config loader reads it, and an independent reader of
//! `config/strategy.toml` written to its documented contract, which the
//! loader is checked against.

#![allow(dead_code)] // shared with benches/matching.rs, which uses a part of it

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use foerderradar::config::*;
use foerderradar::model::ApplicantCategory;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrategy {
    criteria: RawCriteria,
    handlungsfeld: Vec<RawProfile>,
    #[serde(default)]
    project: Vec<RawProfile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCriteria {
    applicants: Option<Vec<String>>,
    #[serde(default)]
    home_regions: Vec<String>,
    #[serde(default)]
    elsewhere_regions: Vec<String>,
    min_lead_days: Option<u32>,
    min_funding_rate: Option<f64>,
    min_amount_eur: Option<u64>,
    exclude_funders: Option<Vec<String>>,
    prefer_funders: Option<Vec<String>>,
    kommune_kinds: Option<Vec<String>>,
    population_min: Option<u32>,
    population_max: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    handlungsfeld: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    confirmed: Option<bool>,
    threshold: f64,
    rules: Vec<RawRule>,
    criteria: Option<RawCriteria>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    expr: String,
    weight: f64,
}

fn categories(list: &[String]) -> BTreeSet<ApplicantCategory> {
    list.iter()
        .map(|s| ApplicantCategory::from_str(s).expect("applicant category"))
        .collect()
}

fn kinds(list: &[String]) -> BTreeSet<KommuneKind> {
    list.iter()
        .map(|s| match s.as_str() {
            "stadt" => KommuneKind::Stadt,
            "gemeinde" => KommuneKind::Gemeinde,
            "kreis" => KommuneKind::Kreis,
            other => panic!("unknown kommune kind {other}"),
        })
        .collect()
}

/// Reads a strategy file written to the contract in config/README.md.
pub fn read_strategy(path: &Path) -> Strategy {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw: RawStrategy = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let line_of = |expr: &str| text.find(expr).map_or(0, |at| text[..at].lines().count());
    let profile = |p: &RawProfile| Profile {
        rules: p
            .rules
            .iter()
            .map(|r| {
                RuleSpec::new(r.expr.clone(), r.weight, path, line_of(&r.expr))
                    .unwrap_or_else(|e| panic!("{}: rule `{}`: {e}", path.display(), r.expr))
            })
            .collect(),
        threshold: p.threshold,
    };
    let c = &raw.criteria;
    let criteria = Criteria {
        applicants: categories(c.applicants.as_deref().unwrap_or(&[])),
        home_regions: c.home_regions.clone(),
        elsewhere_regions: c.elsewhere_regions.clone(),
        min_lead_days: c.min_lead_days.unwrap_or(7),
        min_funding_rate: c.min_funding_rate,
        min_amount_eur: c.min_amount_eur,
        exclude_funders: c.exclude_funders.clone().unwrap_or_default(),
        prefer_funders: c.prefer_funders.clone().unwrap_or_default(),
        kommune_kinds: c.kommune_kinds.as_deref().map(kinds),
        population_min: c.population_min,
        population_max: c.population_max,
    };
    Strategy {
        handlungsfelder: raw
            .handlungsfeld
            .iter()
            .map(|h| Handlungsfeld {
                id: h.id.clone(),
                name: h.name.clone(),
                description: h.description.clone(),
                profile: profile(h),
            })
            .collect(),
        projects: raw
            .project
            .iter()
            .map(|p| {
                let o = p.criteria.as_ref();
                Project {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    handlungsfeld: p.handlungsfeld.clone().expect("project handlungsfeld"),
                    kind: match p.kind.as_deref() {
                        Some("potenzialprojekt") => ProjectKind::Potenzialprojekt,
                        _ => ProjectKind::Leitprojekt,
                    },
                    confirmed: p.confirmed.unwrap_or(true),
                    description: p.description.clone(),
                    profile: profile(p),
                    criteria: CriteriaOverride {
                        applicants: o.and_then(|o| o.applicants.as_deref()).map(categories),
                        min_lead_days: o.and_then(|o| o.min_lead_days),
                        min_funding_rate: o.and_then(|o| o.min_funding_rate),
                        min_amount_eur: o.and_then(|o| o.min_amount_eur),
                        exclude_funders: o.and_then(|o| o.exclude_funders.clone()),
                        prefer_funders: o.and_then(|o| o.prefer_funders.clone()),
                        kommune_kinds: o.and_then(|o| o.kommune_kinds.as_deref()).map(kinds),
                        population_min: o.and_then(|o| o.population_min),
                        population_max: o.and_then(|o| o.population_max),
                    },
                }
            })
            .collect(),
        criteria,
    }
}

pub fn shipped_strategy() -> Strategy {
    read_strategy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/strategy.toml"))
}

/// The shipped deployment as the config loader reads it from `config/`.
pub fn shipped_config() -> Config {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    Config::load(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// The shipped deployment (its Kommunen and regions) around `strategy`.
pub fn config(strategy: Strategy) -> Config {
    Config {
        strategy,
        ..shipped_config()
    }
}
