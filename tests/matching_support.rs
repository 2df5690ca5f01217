//! Test support for the matching tests and benchmark: the shipped
//! `config/strategy.toml` read by its documented contract, and the Kreis
//! Warendorf with its 13 Kommunen and LEADER regions built in code, so these
//! tests do not depend on the config loader.

#![allow(dead_code)] // shared with benches/matching.rs, which uses a part of it

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

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
            .map(|r| RuleSpec {
                expr: r.expr.clone(),
                weight: r.weight,
                file: path.to_path_buf(),
                line: line_of(&r.expr),
            })
            .collect(),
        threshold: p.threshold,
    };
    let c = &raw.criteria;
    let criteria = Criteria {
        applicants: categories(c.applicants.as_deref().unwrap_or(&[])),
        home_regions: c.home_regions.clone(),
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

/// id, name, kind, AGS, population, memberships (region, partial).
type Row<'a> = (
    &'a str,
    &'a str,
    KommuneKind,
    &'a str,
    u32,
    &'a [(&'a str, Option<&'a str>)],
);

/// The Kreis and its 13 Kommunen (strategy-facts §5), interested in everything.
pub fn kreis_warendorf(strategy: &Strategy) -> Vec<Kommune> {
    let all = Interests {
        handlungsfelder: strategy.handlungsfelder.iter().map(|h| h.id.clone()).collect(),
        projects: strategy.projects.iter().map(|p| p.id.clone()).collect(),
    };
    let nine = &[("leader-9plus", None)];
    let rows: [Row; 14] = [
        (
            "kreis-warendorf",
            "Kreis Warendorf",
            KommuneKind::Kreis,
            "05570",
            283_295,
            nine,
        ),
        ("ahlen", "Ahlen", KommuneKind::Stadt, "05570004", 53_348, &[]),
        ("beckum", "Beckum", KommuneKind::Stadt, "05570008", 37_333, &[]),
        ("beelen", "Beelen", KommuneKind::Gemeinde, "05570012", 6_217, nine),
        (
            "drensteinfurt",
            "Drensteinfurt",
            KommuneKind::Stadt,
            "05570016",
            15_865,
            nine,
        ),
        ("ennigerloh", "Ennigerloh", KommuneKind::Stadt, "05570020", 19_841, nine),
        (
            "everswinkel",
            "Everswinkel",
            KommuneKind::Gemeinde,
            "05570024",
            9_876,
            nine,
        ),
        ("oelde", "Oelde", KommuneKind::Stadt, "05570028", 29_783, nine),
        (
            "ostbevern",
            "Ostbevern",
            KommuneKind::Gemeinde,
            "05570032",
            11_116,
            nine,
        ),
        ("sassenberg", "Sassenberg", KommuneKind::Stadt, "05570036", 14_455, nine),
        (
            "sendenhorst",
            "Sendenhorst",
            KommuneKind::Stadt,
            "05570040",
            13_760,
            nine,
        ),
        ("telgte", "Telgte", KommuneKind::Stadt, "05570044", 20_301, &[]),
        (
            "wadersloh",
            "Wadersloh",
            KommuneKind::Gemeinde,
            "05570048",
            12_556,
            &[("leader-lippe-moehnesee", None)],
        ),
        (
            "warendorf",
            "Warendorf",
            KommuneKind::Stadt,
            "05570052",
            37_173,
            &[(
                "leader-9plus",
                Some("nur die Ortsteile Einen-Müssingen, Freckenhorst, Hoetmar und Milte"),
            )],
        ),
    ];
    rows.iter()
        .map(|(id, name, kind, ags, population, memberships)| Kommune {
            id: id.to_string(),
            name: name.to_string(),
            kind: *kind,
            ags: ags.to_string(),
            population: Some(*population),
            mittlere_kreisangehoerige_stadt: matches!(*id, "ahlen" | "beckum" | "oelde" | "warendorf"),
            memberships: memberships
                .iter()
                .map(|(r, p)| Membership {
                    region: r.to_string(),
                    partial: p.map(String::from),
                })
                .collect(),
            interests: all.clone(),
            contacts: vec![Contact {
                name: "Fördermittel".into(),
                email: format!("foerdermittel@{id}.example.org"),
                interests: all.clone(),
            }],
        })
        .collect()
}

pub fn member_regions() -> Vec<MemberRegion> {
    vec![
        MemberRegion {
            id: "leader-9plus".into(),
            name: "LEADER-Region 9Plus im Kreis Warendorf".into(),
            aliases: vec!["9Plus".into(), "LEADER-Region 9Plus".into()],
        },
        MemberRegion {
            id: "leader-lippe-moehnesee".into(),
            name: "LEADER-Region Lippe-Möhnesee".into(),
            aliases: vec!["Lippe-Möhnesee".into()],
        },
    ]
}

/// A whole deployment around `strategy`.
pub fn config(strategy: Strategy) -> Config {
    let cron = |e: &str| CronSchedule {
        expr: e.into(),
        schedule: cron::Schedule::from_str(e).expect("cron"),
    };
    Config {
        dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config")),
        service: ServiceConfig {
            data_dir: None,
            timezone: chrono_tz::Europe::Berlin,
            schedules: Schedules {
                collect: cron("0 0 6 * * *"),
                notify: cron("0 0 7 * * *"),
            },
            smtp: None,
            sender: "foerderradar@kreis-warendorf.example.org".into(),
            admin: "admin@kreis-warendorf.example.org".into(),
            http: HttpSettings {
                user_agent: "foerderradar-test".into(),
                timeout: Duration::from_secs(5),
                max_body_bytes: 10 << 20,
                min_delay: Duration::ZERO,
                per_host_concurrency: 1,
                retries: 0,
                source_budget: Duration::from_secs(5),
                broken_after: 3,
                respect_robots: false,
            },
            notify: NotifySettings {
                max_attempts: 3,
                retry_base: Duration::from_secs(1),
            },
        },
        sources: vec![],
        kommunen: kreis_warendorf(&strategy),
        strategy,
        member_regions: member_regions(),
    }
}

pub fn shipped_config() -> Config {
    config(shipped_strategy())
}
