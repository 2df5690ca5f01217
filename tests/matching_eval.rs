//! The shipped rules against the labelled sets, and explain snapshots.
//!
//! Two labelled sets: the old development set (`tests/fixtures/devset`, tuned on) and the
//! issue-11 set (`tests/fixtures/labelled`), split by a fixed rule into a tuning part and a
//! measured part that is never tuned on. CI holds the floors below on the measured part and
//! on the old dev set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use foerderradar::matching::Matcher;
use foerderradar::matching::eval::{EvalReport, Expected, LabelledSet, evaluate, load_labelled};
use foerderradar::model::Call;
use sha2::{Digest, Sha256};

use crate::matching_support::shipped_config;

/// The CI floors, in one place. Raise them when the rules improve (keep a small margin
/// below what `foerderradar --today 2026-12-01 eval tests/fixtures/labelled tests/fixtures/devset`
/// prints); never lower them to let a rules change through.
mod floors {
    /// Micro-F1 over all Handlungsfeld and project labels of the old dev set.
    pub const DEVSET_F1: f64 = 0.95;
    /// Over (call, Handlungsfeld) pairs of the old dev set.
    pub const DEVSET_HF_F1: f64 = 0.96;
    pub const DEVSET_HF_PRECISION: f64 = 0.97;
    /// Over (call, Handlungsfeld) pairs of the measured part of the issue-11 set.
    /// Fourth round (2026-12-05): measured at F1 0.837, precision 0.843; fifth round: F1 0.853,
    /// precision 0.847; sixth round: F1 0.859, precision 0.859 (61 right, 10 false positives,
    /// 10 missed); seventh round: F1 0.867, precision 0.861 (62 right, 10 false positives, 9
    /// missed), as shipped without the aim sentences 0.859 and 0.859 (61, 10, 10); eighth
    /// round: F1 0.865, precision 0.871 (61 right, 9 false positives, 10 missed); ninth round:
    /// the same (61, 9, 10), so the floors stay; tenth round: F1 0.878, precision 0.897 (61
    /// right, 7 false positives, 10 missed), so the floors rise to 0.85 and 0.87 (two false
    /// positives of margin). Thirteenth round: F1 0.884, precision 0.910 (61 right, 6 false
    /// positives, 10 missed), so they rise to 0.86 and 0.88 (two false positives of margin:
    /// 61, 8, 10 gives F1 0.871 and precision 0.884; with one more miss F1 0.863). Fifteenth
    /// round: F1 0.879, precision 0.886 (62 right, 8 false positives, 9 missed): no better, so
    /// the floors stay (one more false positive, precision 0.873, would fail the precision floor).
    /// Sixteenth round: the same (62 right, 8 false positives, 9 missed), so the floors stay.
    /// Seventeenth round: the same again (62, 8, 9), so the floors stay. Eighteenth round: the
    /// same (62, 8, 9), so the floors stay. Nineteenth round (calls at the border of
    /// neighbouring fields): the same (62, 8, 9), so the floors stay. Twentieth round (Klima's
    /// means words under another field's title): F1 0.886, precision 0.899 (62 right, 7 false
    /// positives, 9 missed), so the F1 floor rises to 0.87 (two false positives of margin: 62,
    /// 9, 9 gives F1 0.873 and precision 0.873); the precision floor stays at 0.88, which keeps
    /// one false positive of margin (62, 8, 9: 0.886), as it did before this round.
    /// Twenty-first round (Lebensqualität's breadth, firms in the title as Wirtschaft): F1
    /// 0.894, precision 0.900 (63 right, 7 false positives, 8 missed), so the F1 floor rises to
    /// 0.88 (two false positives of margin: 63, 9, 8 gives F1 0.881 and precision 0.875); the
    /// precision floor stays at 0.88, which keeps one false positive of margin (63, 8, 8:
    /// 0.887).
    /// Twenty-second round (Klima's three parts as the aim in title or summary): the measured
    /// part stays at 63 right, 7 false positives, 8 missed (F1 0.894, precision 0.900), so the
    /// floors stay.
    /// Twenty-third round (who benefits: a beneficiary's devices and administration are not the
    /// Kommune's network or Verwaltung): the measured part stays at 63 right, 7 false positives,
    /// 8 missed (F1 0.894, precision 0.900), so the floors stay.
    /// Twenty-fourth round (Verwaltung's recall: an office of the administration near a word of
    /// its modernisation): the measured part stays at 63 right, 7 false positives, 8 missed
    /// (F1 0.894, precision 0.900), so the floors stay.
    /// Twenty-fifth round (real programmes checked against stored descriptions; the fire brigade
    /// is none of the six fields): the measured part stays at 63 right, 7 false positives, 8
    /// missed (F1 0.894, precision 0.900), so the floors stay.
    /// Twenty-sixth round (structural parameters re-chosen by cross-validation; Verwaltung's
    /// threshold 3.5, Innenstadt's 5.0): the measured part stays at 63 right, 7 false
    /// positives, 8 missed (F1 0.894, precision 0.900), so the floors stay.
    /// Twenty-eighth round (plain words for insulation, heating, water retention, cold air and
    /// shared rides in Klima): the measured part stays at 63 right, 7 false positives, 8
    /// missed (F1 0.894, precision 0.900), so the floors stay.
    /// Twenty-ninth round (a batch of 40 real programmes; other Euregios in the gazetteer,
    /// learning mobility, schools' energy-saving models, sustainable energy, discrimination):
    /// F1 0.900, precision 0.913 (63 right, 6 false positives, 8 missed), the target
    /// for both. The floors rise to the target itself (0.90 and 0.90), so CI holds the
    /// acceptance: one more false positive or one more miss fails the F1 floor (63, 7, 8 gives
    /// 0.894); the precision floor keeps one false positive of margin (63, 7: 0.900). Both are
    /// exact ratios (126/140, 63/70) and compare equal to 0.90 in f64.
    /// Thirtieth round (ended programmes in the words real pages use): F1 0.906, precision
    /// 0.926 (63 right, 5 false positives, 8 missed), so the floors stay at the target with one
    /// false positive of margin for F1 (63, 6, 8: 0.900) and two for precision.
    pub const MEASURED_HF_F1: f64 = 0.90;
    pub const MEASURED_HF_PRECISION: f64 = 0.90;
}

/// The target for both sets; printed next to the floors.
const TARGET: f64 = 0.90;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn inline(rel: &str) -> Vec<(Call, Expected)> {
    let set = load_labelled(&fixture(rel)).unwrap();
    assert_eq!(set.stored().count(), 0, "{rel} is self-contained");
    set.inline()
}

fn devset() -> Vec<(Call, Expected)> {
    inline("devset")
}

fn report(rel: &str) -> EvalReport {
    let matcher = Matcher::new(&shipped_config()).unwrap();
    let r = evaluate(&matcher, &inline(rel), today());
    let hf = r.micro_handlungsfelder();
    println!(
        "{rel}: {} Aufrufe, Handlungsfeld-Paare P {:.3} R {:.3} F1 {:.3} (Ziel {TARGET})\n{}",
        r.calls,
        hf.precision(),
        hf.recall(),
        hf.f1(),
        r.tables()
    );
    r
}

fn assert_floor(what: &str, value: f64, floor: f64) {
    assert!(value >= floor, "{what} {value:.3} is below its floor {floor}");
}

#[test]
fn shipped_rules_hold_the_floors_on_the_measured_part() {
    let r = report("labelled/measured");
    assert!(r.calls >= 90, "{} items", r.calls);
    let hf = r.micro_handlungsfelder();
    assert_floor(
        "measured part: micro-F1 over (call, Handlungsfeld)",
        hf.f1(),
        floors::MEASURED_HF_F1,
    );
    assert_floor(
        "measured part: precision over (call, Handlungsfeld)",
        hf.precision(),
        floors::MEASURED_HF_PRECISION,
    );
    // The tuning part is printed for comparison; it holds no floor of its own.
    report("labelled/tune");
}

/// The split is the documented rule: first byte of SHA-256(id) divisible by 3 → measured.
/// No item can move between the parts, no id repeats, and none collides with the dev set.
#[test]
fn the_labelled_set_is_split_by_its_fixed_rule() {
    let mut seen = BTreeSet::new();
    for id in ids(&load_labelled(&fixture("devset")).unwrap()) {
        seen.insert(id);
    }
    let mut counts = [0usize; 2];
    for (part, measured) in [("labelled/tune", false), ("labelled/measured", true)] {
        for id in ids(&load_labelled(&fixture(part)).unwrap()) {
            let first = Sha256::digest(id.as_bytes())[0];
            assert_eq!(first % 3 == 0, measured, "{id} sits in {part} against the split rule");
            assert!(seen.insert(id.clone()), "{id} is used twice");
            counts[usize::from(measured)] += 1;
        }
    }
    let [tune, measured] = counts;
    assert!(
        tune + measured >= 300 && tune >= 180 && measured >= 90,
        "{tune} + {measured}"
    );
}

fn ids(set: &LabelledSet) -> Vec<String> {
    set.items.iter().map(|i| i.id.clone()).collect()
}

/// Every label names a Handlungsfeld or project of the shipped strategy, projects sit under an
/// expected Handlungsfeld, every item carries the three access labels, and a call nobody in the
/// Kreis can use (not eligible, expired) expects nothing.
#[test]
fn the_labelled_set_is_consistent_with_the_strategy() {
    let config = shipped_config();
    let strategy = &config.strategy;
    for part in ["labelled/tune", "labelled/measured"] {
        for item in load_labelled(&fixture(part)).unwrap().items {
            let e = &item.expected;
            let id = &item.id;
            for hf in &e.handlungsfelder {
                assert!(strategy.handlungsfeld(hf).is_some(), "{id}: unknown Handlungsfeld {hf}");
            }
            for p in &e.projects {
                let project = strategy.projects.iter().find(|x| &x.id == p);
                let project = project.unwrap_or_else(|| panic!("{id}: unknown project {p}"));
                assert!(
                    e.handlungsfelder.contains(&project.handlungsfeld),
                    "{id}: {p} outside its Handlungsfeld"
                );
            }
            let a = e.access;
            let (Some(kommune), Some(kreis), Some(expired)) = (a.kommune_eligible, a.kreis_eligible, a.expired) else {
                panic!("{id}: kommune_eligible, kreis_eligible and expired are all required in this set");
            };
            if expired || !(kommune || kreis) {
                assert!(
                    e.handlungsfelder.is_empty(),
                    "{id}: unusable, yet labelled {:?}",
                    e.handlungsfelder
                );
            }
        }
    }
}

#[test]
fn shipped_rules_hold_the_floors_on_the_devset() {
    let r = report("devset");
    assert!(r.calls >= 80, "{} items", r.calls);
    assert_floor(
        "devset: micro-F1 over all labels",
        r.micro_all().f1(),
        floors::DEVSET_F1,
    );
    let hf = r.micro_handlungsfelder();
    assert_floor(
        "devset: micro-F1 over (call, Handlungsfeld)",
        hf.f1(),
        floors::DEVSET_HF_F1,
    );
    assert_floor(
        "devset: precision over (call, Handlungsfeld)",
        hf.precision(),
        floors::DEVSET_HF_PRECISION,
    );
    // The held-out file was never tuned on: its figure is printed as the honest one.
    report("devset/60-holdout.toml");
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
    assert!(report.micro_all().f1() >= floors::DEVSET_F1, "{report}");
}
