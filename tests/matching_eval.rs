//! The shipped rules against the labelled development set, and explain snapshots.

use std::path::Path;

use chrono::NaiveDate;
use foerderradar::matching::Matcher;
use foerderradar::matching::eval::{evaluate, load_labelled};

use crate::matching_support::shipped_config;

/// Floor for the micro-F1 over all Handlungsfeld and project labels.
const F1_FLOOR: f64 = 0.85;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn devset() -> Vec<(foerderradar::model::Call, foerderradar::matching::eval::Expected)> {
    let set = load_labelled(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/devset")).unwrap();
    assert_eq!(set.stored().count(), 0, "the shipped dev set is self-contained");
    set.inline()
}

#[test]
fn shipped_rules_hold_the_f1_floor_on_the_devset() {
    let items = devset();
    assert!(items.len() >= 80, "{} items", items.len());
    let matcher = Matcher::new(&shipped_config()).unwrap();
    let report = evaluate(&matcher, &items, today());
    println!("{report}");
    let all = report.micro_all();
    assert!(all.f1() >= F1_FLOOR, "micro-F1 {:.3} below {F1_FLOOR}", all.f1());
    // The held-out file was never tuned on: its figure is the honest one.
    let holdout =
        load_labelled(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/devset/60-holdout.toml")).unwrap();
    let held = evaluate(&matcher, &holdout.inline(), today()).micro_all();
    println!(
        "Held-out ({} Aufrufe): Präzision {:.2}, Recall {:.2}, F1 {:.2}",
        holdout.items.len(),
        held.precision(),
        held.recall(),
        held.f1()
    );
    assert!(
        report.micro_handlungsfelder().f1() >= F1_FLOOR,
        "Handlungsfeld micro-F1 {:.3}",
        report.micro_handlungsfelder().f1()
    );
}

#[test]
fn hard_negatives_pass_nothing() {
    let matcher = Matcher::new(&shipped_config()).unwrap();
    for (call, expected) in devset()
        .iter()
        .filter(|(_, e)| e.handlungsfelder.is_empty() && e.projects.is_empty())
    {
        let passed: Vec<_> = matcher
            .match_call(call, today())
            .into_iter()
            .filter(|m| m.passed)
            .collect();
        assert!(passed.is_empty(), "{}: {expected:?} {passed:#?}", call.title);
    }
}

#[test]
fn leader_call_reaches_beelen_not_ahlen() {
    let matcher = Matcher::new(&shipped_config()).unwrap();
    let items = devset();
    let (call, _) = items
        .iter()
        .find(|(c, _)| c.title.starts_with("LEADER-Region 9Plus"))
        .unwrap();
    let passed: Vec<_> = matcher
        .match_call(call, today())
        .into_iter()
        .filter(|m| m.passed)
        .collect();
    assert!(!passed.is_empty());
    for m in &passed {
        assert!(m.kommunen.contains(&"beelen".to_string()), "{m:?}");
        assert!(m.kommunen.contains(&"kreis-warendorf".to_string()), "{m:?}");
        assert!(!m.kommunen.contains(&"ahlen".to_string()), "{m:?}");
        assert!(!m.kommunen.contains(&"wadersloh".to_string()), "{m:?}");
        assert!(
            m.reasons
                .iter()
                .any(|r| r.to_string().starts_with("Warendorf: nur teilweise Mitglied")),
            "{m:?}"
        );
    }
}

fn explain_devset(title_start: &str, project: Option<&str>, kommune: Option<&str>) -> String {
    let matcher = Matcher::new(&shipped_config()).unwrap();
    let items = devset();
    let (call, _) = items.iter().find(|(c, _)| c.title.starts_with(title_start)).unwrap();
    matcher.explain(call, today(), project, kommune).to_string()
}

#[test]
fn explain_snapshot_gigabit_call() {
    insta::assert_snapshot!(explain_devset(
        "Gigabitförderung 2.0",
        Some("digitale-infrastruktur"),
        Some("ahlen")
    ));
}

#[test]
fn explain_snapshot_leader_call_per_kommune() {
    insta::assert_snapshot!(explain_devset(
        "LEADER-Region 9Plus",
        Some("innenstadt-dorfmitte"),
        None
    ));
}

#[test]
fn explain_snapshot_companies_only_call() {
    insta::assert_snapshot!(explain_devset("go-digital", Some("verwaltung"), Some("oelde")));
}

#[test]
fn the_config_loader_accepts_the_shipped_strategy_and_agrees_with_the_test_reader() {
    let loaded = shipped_config();
    let ours = crate::matching_support::shipped_strategy();
    assert_eq!(loaded.strategy.handlungsfelder.len(), 6);
    assert_eq!(loaded.strategy.projects.len(), ours.projects.len());
    assert_eq!(loaded.strategy.criteria, ours.criteria);
    for (a, b) in loaded.strategy.projects.iter().zip(&ours.projects) {
        let exprs =
            |p: &foerderradar::config::Project| p.profile.rules.iter().map(|r| r.expr.clone()).collect::<Vec<_>>();
        assert_eq!((a.id.as_str(), exprs(a)), (b.id.as_str(), exprs(b)));
    }
    // The deployment as loaded compiles and holds the F1 floor on the dev set.
    let matcher = Matcher::new(&loaded).unwrap();
    let report = evaluate(&matcher, &devset(), today());
    assert!(report.micro_all().f1() >= F1_FLOOR, "{report}");
}
