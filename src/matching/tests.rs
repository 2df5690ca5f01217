//! Matcher tests: scoring, every kind of criterion and the routing to Kommunen.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{NaiveDate, Utc};

use super::*;
use crate::config::*;
use crate::model::reason::{Criterion, Reason};
use crate::model::*;

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const TODAY: (i32, u32, u32) = (2026, 3, 1);

/// The reasons as the digest shows them.
fn german(reasons: &[Reason]) -> Vec<String> {
    reasons.iter().map(ToString::to_string).collect()
}

fn today() -> NaiveDate {
    day(TODAY.0, TODAY.1, TODAY.2)
}

fn profile(rules: &[(&str, f64)], threshold: f64) -> Profile {
    Profile {
        rules: rules
            .iter()
            .enumerate()
            .map(|(i, (e, w))| RuleSpec::new(*e, *w, "strategy.toml", i + 10).expect("test rule parses"))
            .collect(),
        threshold,
    }
}

pub(crate) fn criteria() -> Criteria {
    Criteria {
        applicants: ["kommune", "kreis", "zweckverband", "oeffentliche-einrichtung"]
            .into_iter()
            .map(|s| ApplicantCategory::from_str(s).unwrap())
            .collect(),
        home_regions: vec![
            "Kreis Warendorf".into(),
            "Münsterland".into(),
            "Regierungsbezirk Münster".into(),
        ],
        elsewhere_regions: vec!["Rheinisches Revier".into(), "Ruhrgebiet".into(), "Bayern".into()],
        min_lead_days: 7,
        min_funding_rate: None,
        min_amount_eur: None,
        exclude_funders: vec![],
        prefer_funders: vec![],
        kommune_kinds: None,
        population_min: None,
        population_max: None,
    }
}

/// One Kommune per routing case: the Kreis, a Stadt outside every region, a
/// LEADER member, a member of the other region and a partial member.
const KOMMUNEN: [&str; 5] = ["kreis-warendorf", "ahlen", "beelen", "wadersloh", "warendorf"];

/// The shipped deployment, loaded once: its service settings, regions and Kommunen.
static SHIPPED: LazyLock<Config> = LazyLock::new(|| {
    Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap_or_else(|e| panic!("{e}"))
});

fn kommunen() -> Vec<Kommune> {
    let kommunen: Vec<Kommune> = SHIPPED
        .kommunen
        .iter()
        .filter(|k| KOMMUNEN.contains(&k.id.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        kommunen.len(),
        KOMMUNEN.len(),
        "config/kommunen.toml lacks one of {KOMMUNEN:?}"
    );
    kommunen
}

/// The shipped service settings and regions with five of its Kommunen and a
/// two-Handlungsfeld strategy of `projects` under `crit`.
pub(crate) fn config_with(projects: Vec<Project>, crit: Criteria) -> Config {
    Config {
        dir: SHIPPED.dir.clone(),
        service: SHIPPED.service.clone(),
        sources: vec![],
        strategy: Strategy {
            handlungsfelder: vec![
                Handlungsfeld {
                    id: "digitale-infrastruktur".into(),
                    name: "Digitale Infrastruktur".into(),
                    description: String::new(),
                    profile: profile(
                        &[
                            ("Glasfaser OR Gigabit* OR Breitband", 2.0),
                            ("Privathaushalt* OR Privatperson", -3.0),
                        ],
                        4.0,
                    ),
                },
                Handlungsfeld {
                    id: "verwaltung".into(),
                    name: "Verwaltung".into(),
                    description: String::new(),
                    profile: profile(&[("Verwaltung* AND (digital* OR Onlinezugang*)", 1.5)], 4.0),
                },
            ],
            projects,
            criteria: crit,
        },
        kommunen: kommunen(),
        member_regions: SHIPPED.member_regions.clone(),
    }
}

fn config() -> Config {
    config_with(vec![], criteria())
}

fn call(title: &str, summary: &str) -> Call {
    let mut c = Call::new("test", format!("https://t.example/{}", title.len()), title, Utc::now());
    c.summary = summary.into();
    c.applicants.categories.insert(ApplicantCategory::Kommune);
    c.regions = vec![Region::Bundesweit];
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(day(2026, 4, 12))]);
    c
}

fn gigabit() -> Call {
    call(
        "Gigabitförderung 2.0: Glasfaser für graue Flecken",
        "Kommunen erhalten Zuschüsse für den Breitbandausbau.",
    )
}

fn find<'a>(ms: &'a [Match], hf: &str) -> &'a Match {
    ms.iter()
        .find(|m| m.handlungsfeld == hf && m.project.is_none())
        .unwrap_or_else(|| panic!("no match for {hf}: {ms:#?}"))
}

fn run(cfg: &Config, c: &Call) -> Vec<Match> {
    Matcher::new(cfg).unwrap().match_call(c, today())
}

#[test]
fn a_clear_call_passes_with_german_reasons() {
    let ms = run(&config(), &gigabit());
    let m = find(&ms, "digitale-infrastruktur");
    assert!(m.passed, "{m:#?}");
    assert!(m.score >= m.threshold);
    assert_eq!(
        german(&m.reasons)[0],
        "Treffer: Glasfaser (Titel), Gigabit (Titel), Breitband (Kurztext)"
    );
    assert!(german(&m.reasons).contains(&"Kommune antragsberechtigt".to_string()));
    assert!(german(&m.reasons).contains(&"Frist in 42 Tagen (12.04.2026)".to_string()));
    assert_eq!(m.kommunen.len(), 5);
    assert!(ms.iter().all(|m| m.handlungsfeld != "verwaltung"), "no hit, no row");
}

#[test]
fn hard_negative_weight_pulls_private_programmes_down() {
    let mut c = call(
        "Breitband für Privathaushalte",
        "Zuschuss für Privatpersonen zum Glasfaseranschluss",
    );
    c.applicants.categories = [ApplicantCategory::Privatperson].into();
    let ms = run(&config(), &c);
    assert!(ms.iter().all(|m| !m.passed), "{ms:#?}");
}

#[test]
fn applicants_must_fit_and_unstated_is_kept_as_unclear() {
    let mut c = gigabit();
    c.applicants.categories = [ApplicantCategory::Unternehmen].into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed);
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r.contains("nicht antragsberechtigt (nur Unternehmen)")),
        "{m:#?}"
    );

    c.applicants = Applicants::default();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(m.passed);
    assert!(german(&m.reasons).contains(&"Antragsberechtigte unklar".to_string()));
}

#[test]
fn a_call_only_for_kreise_reaches_only_the_kreis() {
    let mut c = gigabit();
    c.applicants.categories = [ApplicantCategory::Kreis].into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(m.passed);
    assert_eq!(m.kommunen, vec!["kreis-warendorf"]);
}

#[test]
fn region_other_land_fails_nrw_and_home_regions_pass() {
    let mut c = gigabit();
    c.regions = vec![Region::Land(Bundesland::Bayern)];
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed && m.kommunen.is_empty());
    assert!(
        german(&m.reasons).iter().any(|r| r == "anderes Fördergebiet: Bayern"),
        "{m:#?}"
    );
    for ok in [
        Region::Land(Bundesland::NordrheinWestfalen),
        Region::EuWeit,
        Region::Named("Münsterland".into()),
    ] {
        c.regions = vec![Region::Land(Bundesland::Bayern), ok.clone()];
        assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed, "{ok}");
    }
}

#[test]
fn leader_calls_reach_only_the_members() {
    let mut c = call(
        "LEADER-Projektaufruf 2026: Glasfaser im Dorf",
        "Gigabit für Dorfgemeinschaften",
    );
    c.regions = vec![
        Region::Land(Bundesland::NordrheinWestfalen),
        Region::Named("LEADER-Region 9Plus".into()),
    ];
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(m.passed);
    assert!(m.kommunen.contains(&"beelen".to_string()));
    assert!(!m.kommunen.contains(&"ahlen".to_string()));
    assert!(!m.kommunen.contains(&"wadersloh".to_string()));
    assert!(m.kommunen.contains(&"warendorf".to_string()));
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r.starts_with("Warendorf: nur teilweise Mitglied von leader-9plus")),
        "{m:#?}"
    );

    c.regions = vec![Region::Named("LEADER-Region Lippe-Möhnesee".into())];
    assert_eq!(
        find(&run(&config(), &c), "digitale-infrastruktur").kommunen,
        vec!["wadersloh"]
    );

    // Named only in the title.
    c.regions = vec![];
    c.title = "9Plus ruft auf: Glasfaser und Gigabit im Dorf".into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(m.kommunen.contains(&"beelen".to_string()) && !m.kommunen.contains(&"ahlen".to_string()));
}

#[test]
fn deadlines_passed_too_close_rolling_and_unknown() {
    let mut c = gigabit();
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(day(2026, 2, 1))]);
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed);
    assert!(german(&m.reasons).contains(&"Frist abgelaufen (01.02.2026)".to_string()));

    c.deadline = Deadline::Dates(vec![DeadlineDate::on(day(2026, 3, 5))]);
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed);
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r.contains("weniger als 7 Tage Vorlauf"))
    );

    c.deadline = Deadline::Rolling;
    assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed);
    c.deadline = Deadline::Unknown;
    assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed);
    c.status = CallStatus::Closed;
    assert!(!find(&run(&config(), &c), "digitale-infrastruktur").passed);
}

#[test]
fn money_minimums_fail_low_values_and_pass_unknown() {
    let mut crit = criteria();
    crit.min_funding_rate = Some(60.0);
    crit.min_amount_eur = Some(50_000);
    let cfg = config_with(vec![], crit);
    let mut c = gigabit();
    assert!(
        find(&run(&cfg, &c), "digitale-infrastruktur").passed,
        "unknown values pass"
    );
    c.funding_rate = Some(FundingRate { min: None, max: 50.0 });
    let m = find(&run(&cfg, &c), "digitale-infrastruktur").clone();
    assert!(
        !m.passed && german(&m.reasons).contains(&"Förderquote bis 50 % unter 60 %".to_string()),
        "{m:#?}"
    );
    c.funding_rate = Some(FundingRate { min: None, max: 90.0 });
    c.amount_max_eur = Some(10_000);
    let m = find(&run(&cfg, &c), "digitale-infrastruktur").clone();
    assert!(
        !m.passed && german(&m.reasons).contains(&"Förderbetrag 10.000 € unter 50.000 €".to_string()),
        "{m:#?}"
    );
}

#[test]
fn funders_excluded_fail_preferred_add_a_bonus() {
    let mut crit = criteria();
    crit.exclude_funders = vec!["Stiftung Beispiel".into()];
    crit.prefer_funders = vec!["Ministerium für Heimat".into()];
    let cfg = config_with(vec![], crit);
    let mut c = gigabit();
    let base = find(&run(&cfg, &c), "digitale-infrastruktur").score;
    c.funder = Some("Stiftung Beispiel gGmbH".into());
    assert!(!find(&run(&cfg, &c), "digitale-infrastruktur").passed);
    c.funder = Some("Ministerium für Heimat, Kommunales, Bau und Digitalisierung NRW".into());
    let m = find(&run(&cfg, &c), "digitale-infrastruktur").clone();
    assert_eq!(m.score, base + criteria::PREFERRED_FUNDER_BONUS);
    assert!(m.reasons.iter().any(|r| matches!(
        r,
        Reason::Criterion {
            criterion: Criterion::FunderPreferred { name }
        } if name.starts_with("Ministerium für Heimat")
    )));
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r.starts_with("bevorzugter Fördergeber"))
    );
    // A field only the full text names gets no bonus: capped at 3.0, it stays below 4.
    c.text = "Die Verwaltung wird digital. Verwaltungen digitalisieren. Verwaltung digital, digital, digital.".into();
    let v = find(&run(&cfg, &c), "verwaltung").clone();
    assert!(!v.passed && v.score == 3.0, "{v:#?}");
}

#[test]
fn project_overrides_restrict_kommune_kinds_and_population() {
    let project = |id: &str, o: CriteriaOverride| Project {
        id: id.into(),
        name: id.into(),
        handlungsfeld: "digitale-infrastruktur".into(),
        kind: ProjectKind::Leitprojekt,
        confirmed: true,
        description: String::new(),
        profile: profile(&[("Glasfaser", 2.0)], 2.0),
        criteria: o,
    };
    let small = project(
        "klein",
        CriteriaOverride {
            population_max: Some(15_000),
            ..Default::default()
        },
    );
    let towns = project(
        "staedte",
        CriteriaOverride {
            kommune_kinds: Some([KommuneKind::Stadt].into()),
            ..Default::default()
        },
    );
    let cfg = config_with(vec![small, towns], criteria());
    let ms = run(&cfg, &gigabit());
    let by = |p: &str| {
        ms.iter()
            .find(|m| m.project.as_deref() == Some(p))
            .unwrap()
            .kommunen
            .clone()
    };
    assert_eq!(by("klein"), vec!["beelen", "wadersloh"]);
    assert_eq!(by("staedte"), vec!["ahlen", "warendorf"]);
}

#[test]
fn interests_narrow_the_routing() {
    let mut cfg = config();
    cfg.kommunen[1].interests = Interests {
        handlungsfelder: ["verwaltung".to_string()].into(),
        projects: BTreeSet::new(),
    };
    let m = find(&run(&cfg, &gigabit()), "digitale-infrastruktur").clone();
    assert!(!m.kommunen.contains(&"ahlen".to_string()));
}

#[test]
fn near_misses_are_kept_weak_hits_are_not() {
    let c = call("Förderaufruf", "Hinweise zum Breitband");
    // Breitband in the summary: 2.0 × 2 = 4.0 ≥ threshold.
    assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed);
    let mut c = call("Förderaufruf", "");
    c.text = "Breitband".into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed && m.score == 2.0, "{m:#?}");
    assert!(german(&m.reasons).contains(&"Punktzahl 2,0 unter Schwelle 4,0".to_string()));
}

#[test]
fn a_rule_spec_exists_only_for_a_rule_that_parses() {
    let err = RuleSpec::new("Verwaltung AND \"offen", 1.0, "strategy.toml", 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column 16: unclosed quote: a phrase needs a closing '\"'"
    );
    let spec = RuleSpec::new("Verwaltung AND offen*", 1.0, "strategy.toml", 10).unwrap();
    assert_eq!(spec.rule(), &crate::rules::parse("Verwaltung AND offen*").unwrap());
}

#[test]
fn explain_shows_hits_criteria_and_routing() {
    let mut c = gigabit();
    c.text = "Gefördert wird der Ausbau von Glasfasernetzen in Gebieten ohne gigabitfähige Versorgung. Privatpersonen sind nicht antragsberechtigt.".into();
    let text = Matcher::new(&config())
        .unwrap()
        .explain(&c, today(), Some("digitale-infrastruktur"), Some("ahlen"))
        .to_string();
    assert!(
        text.contains("== Handlungsfeld Digitale Infrastruktur (digitale-infrastruktur) =="),
        "{text}"
    );
    assert!(text.contains("Ergebnis: PASST"), "{text}");
    assert!(
        text.contains(
            "Glasfaser – Volltext, 1×, Wert 1,0: „Gefördert wird der Ausbau von [Glasfaser]netzen in Gebieten"
        ),
        "{text}"
    );
    assert!(text.contains("✓ Frist: Frist in 42 Tagen (12.04.2026)"), "{text}");
    assert!(text.contains("  ✓ Ahlen\n"), "{text}");
    assert!(!text.contains("Beelen"), "{text}");
    assert!(!text.contains("Verwaltung ("), "{text}");
}

fn passed(ms: &[Match], hf: &str) -> bool {
    ms.iter()
        .any(|m| m.handlungsfeld == hf && m.project.is_none() && m.passed)
}

#[test]
fn a_field_far_weaker_than_the_calls_best_does_not_pass() {
    // Verwaltung alone: 1.5 × (Kurztext 2 + Volltext 1) = 4.5 ≥ 4.
    let mut c = call("Förderaufruf 2026", "Die Verwaltung soll Anträge prüfen.");
    c.text = "Alles läuft digital.".into();
    assert!(passed(&run(&config(), &c), "verwaltung"));
    // Next to a strong Glasfaser call (strength 16 / 4, counted as 3) it is too weak: 1.1 < 0.5 × 3.
    c.title = "Glasfaser und Gigabit für Schulen".into();
    c.summary = "Breitband: die Verwaltung soll Anträge prüfen.".into();
    let ms = run(&config(), &c);
    assert!(passed(&ms, "digitale-infrastruktur"));
    let m = find(&ms, "verwaltung");
    assert!(!m.passed && m.score >= m.threshold, "{m:#?}");
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r.starts_with("zu schwach neben digitale-infrastruktur: Stärke 1,1")
                && r.ends_with("gegenüber 3,00")),
        "{m:#?}"
    );
    // A Glasfaser call of ordinary strength leaves it alone.
    c.title = "Förderaufruf 2026".into();
    c.summary = "Breitband: die Verwaltung soll Anträge prüfen.".into();
    let ms = run(&config(), &c);
    assert!(
        passed(&ms, "digitale-infrastruktur") && passed(&ms, "verwaltung"),
        "{ms:#?}"
    );
}

#[test]
fn full_text_alone_cannot_carry_a_field_the_headline_does_not_name() {
    let mut c = gigabit();
    c.text = "Die Verwaltung wird digital. Verwaltungen digitalisieren. Verwaltung digital, digital, digital.".into();
    let matcher = Matcher::new(&config()).unwrap();
    let m = find(&matcher.match_call(&c, today()), "verwaltung").clone();
    assert!(!m.passed, "{m:#?}");
    assert_eq!(m.score, 3.0, "capped at 0.75 × threshold");
    let text = matcher.explain(&c, today(), Some("verwaltung"), None).to_string();
    assert!(text.contains("Hinweis: Volltext zählt höchstens 3,0 Punkte"), "{text}");
    // Without a summary or a headline elsewhere the full text is all there is.
    let mut bare = call("Förderaufruf 2026", "");
    bare.text = c.text.clone();
    assert!(passed(&run(&config(), &bare), "verwaltung"));
}

#[test]
fn wording_that_excludes_kommunen_fails_the_applicants() {
    let mut c = gigabit();
    c.applicants.categories = [ApplicantCategory::OeffentlicheEinrichtung].into();
    assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed);
    c.text = "Antragsberechtigt sind Hochschulen. Nicht antragsberechtigt sind Gebietskörperschaften – Städte, Gemeinden und Kreise.".into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed, "{m:#?}");
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r
                .starts_with("laut Text nicht antragsberechtigt: „Nicht antragsberechtigt sind Gebietskörperschaften")),
        "{m:#?}"
    );
    c.text = "Kommunen sind nicht antragsberechtigt.".into();
    assert!(!find(&run(&config(), &c), "digitale-infrastruktur").passed);
    // A condition narrows the exclusion to some Kommunen: the call stays open to the others.
    c.text = "Kommunen, die bereits gefördert werden, sind nicht antragsberechtigt.".into();
    assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed);
}

#[test]
fn contact_blocks_ministries_and_the_funder_do_not_score() {
    let mut c = call("Förderaufruf 2026", "");
    c.text = "Gefördert werden Projekte vor Ort.\n\nKontakt\n\nReferat Verwaltung digital, Onlinezugang\nTel. 0211 1\n"
        .into();
    assert!(!passed(&run(&config(), &c), "verwaltung"), "contact block");
    c.text =
        "Gefördert werden Projekte vor Ort.\nRechtsgrundlage: Richtlinie Verwaltung digital und Onlinezugang".into();
    assert!(!passed(&run(&config(), &c), "verwaltung"), "legal basis");
    c.text = "Das Ministerium für Digitalisierung und Verwaltung fördert Projekte vor Ort.".into();
    assert!(
        run(&config(), &c).iter().all(|m| m.handlungsfeld != "verwaltung"),
        "ministry name"
    );
    c.funder = Some("Stiftung Verwaltung digital".into());
    c.text = "Anträge an die Stiftung Verwaltung digital richten.".into();
    assert!(
        run(&config(), &c).iter().all(|m| m.handlungsfeld != "verwaltung"),
        "funder name"
    );
    // The same words as the call's topic do score.
    c.text = "Gefördert wird die Verwaltung digital: Onlinezugang für alle.".into();
    assert!(passed(&run(&config(), &c), "verwaltung"));
}

#[test]
fn a_leader_call_passes_for_each_field_its_own_text_names() {
    let mut c = call("LEADER-Region 9Plus: Projektaufruf 2026", "");
    c.regions = vec![Region::Named("LEADER-Region 9Plus".into())];
    // Named once in a sentence of the full text.
    c.text = "Projekte zu Glasfaser im Dorf und zu einer digitalen Verwaltung sind willkommen.".into();
    let ms = run(&config(), &c);
    for hf in ["digitale-infrastruktur", "verwaltung"] {
        let m = find(&ms, hf);
        assert!(m.passed, "{m:#?}");
        assert!(m.kommunen.contains(&"beelen".to_string()) && !m.kommunen.contains(&"ahlen".to_string()));
    }
    // The same text outside a regional programme reaches neither threshold.
    c.title = "Projektaufruf 2026".into();
    c.regions = vec![Region::Bundesweit];
    let ms = run(&config(), &c);
    assert!(
        !passed(&ms, "digitale-infrastruktur") && !passed(&ms, "verwaltung"),
        "{ms:#?}"
    );
}

#[test]
fn a_project_keeps_its_threshold_in_a_regional_programme() {
    // Glasfaser once in the full text: 2.0, half the Handlungsfeld's threshold of 4.
    let project = Project {
        id: "glasfaser-projekt".into(),
        name: "Glasfaser".into(),
        handlungsfeld: "digitale-infrastruktur".into(),
        kind: ProjectKind::Leitprojekt,
        confirmed: true,
        description: String::new(),
        profile: profile(&[("Glasfaser", 2.0)], 4.0),
        criteria: CriteriaOverride::default(),
    };
    let cfg = config_with(vec![project], criteria());
    let mut c = call("LEADER-Region 9Plus: Projektaufruf 2026", "");
    c.regions = vec![Region::Named("LEADER-Region 9Plus".into())];
    c.text = "Projekte zu Glasfaser im Dorf sind willkommen.".into();
    let ms = run(&cfg, &c);
    assert!(passed(&ms, "digitale-infrastruktur"), "{ms:#?}");
    let p = ms
        .iter()
        .find(|m| m.project.as_deref() == Some("glasfaser-projekt"))
        .expect("kept as a near miss");
    assert!(!p.passed && p.threshold == 4.0, "{p:#?}");
}

#[test]
fn supporting_terms_alone_do_not_carry_a_project() {
    // The core rule (highest weight) names the project's subject; the supporting rule
    // only its surroundings ("Dorf"). Title and summary hits of the latter reach the
    // threshold (3 + 2 = 5) but do not make the call fund a Dorfladen.
    let project = Project {
        id: "dorfladen".into(),
        name: "Dorfladen".into(),
        handlungsfeld: "digitale-infrastruktur".into(),
        kind: ProjectKind::Potenzialprojekt,
        confirmed: true,
        description: String::new(),
        profile: profile(&[("Dorfladen OR Nahversorgung", 2.5), ("=Dorf", 1.0)], 5.0),
        criteria: CriteriaOverride::default(),
    };
    let cfg = config_with(vec![project], criteria());
    let project_match = |ms: &[Match]| {
        ms.iter()
            .find(|m| m.project.as_deref() == Some("dorfladen"))
            .cloned()
            .expect("scored")
    };
    let ms = run(&cfg, &call("Kultur im Dorf", "Treffpunkte im Dorf beleben."));
    let m = project_match(&ms);
    assert!(m.score >= m.threshold && !m.passed, "{m:#?}");
    assert!(
        german(&m.reasons)
            .iter()
            .any(|r| r == "Kernregel des Projekts ohne Treffer: Dorfladen OR Nahversorgung"),
        "{:?}",
        german(&m.reasons)
    );
    let explained = Matcher::new(&cfg)
        .unwrap()
        .explain(
            &call("Kultur im Dorf", "Treffpunkte im Dorf beleben."),
            today(),
            Some("dorfladen"),
            None,
        )
        .to_string();
    assert!(explained.contains("Kernregel des Projekts ohne Treffer"), "{explained}");
    // With its core rule the same call passes.
    let ms = run(&cfg, &call("Dorfladen im Dorf", "Nahversorgung im Dorf sichern."));
    assert!(project_match(&ms).passed, "{ms:#?}");
}

#[test]
fn a_call_for_the_rheinisches_revier_reaches_no_kommune() {
    let mut c = gigabit();
    c.regions = vec![Region::Land(Bundesland::NordrheinWestfalen)];
    c.text = "Antragsberechtigt sind Kommunen im Rheinischen Revier.".into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed && m.kommunen.is_empty(), "{m:#?}");
    assert!(
        german(&m.reasons).contains(&"anderes Fördergebiet: Nordrhein-Westfalen, Rheinisches Revier".to_string()),
        "{m:#?}"
    );
    c.text = String::new();
    c.title = "Glasfaser für das Rheinische Revier".into();
    assert!(
        !find(&run(&config(), &c), "digitale-infrastruktur").passed,
        "named in the title"
    );
    c.title = "Gigabitförderung 2.0: Glasfaser für graue Flecken".into();
    for open in [
        "Vorbild ist etwa das Rheinische Revier, antragsberechtigt sind alle Kommunen in NRW.",
        "Gefördert werden Kommunen im Münsterland und im Rheinischen Revier.",
        "Das Rheinische Revier hat schon Glasfaser.",
    ] {
        c.text = open.into();
        assert!(find(&run(&config(), &c), "digitale-infrastruktur").passed, "{open}");
    }
}

#[test]
fn a_call_of_another_euregio_reaches_no_kommune_though_it_names_the_word() {
    // "euregio rhein-maas-nord" holds the whole word of the home region EUREGIO; the shipped
    // gazetteer's entry for it is the narrower statement.
    let cfg = config_with(vec![], SHIPPED.strategy.criteria.clone());
    let mut c = gigabit();
    c.regions = vec![Region::Named("euregio rhein-maas-nord".into())];
    let m = find(&run(&cfg, &c), "digitale-infrastruktur").clone();
    assert!(!m.passed && m.kommunen.is_empty(), "{m:#?}");
    assert!(
        german(&m.reasons).contains(&"anderes Fördergebiet: euregio rhein-maas-nord".to_string()),
        "{m:#?}"
    );
    c.regions = vec![Region::Named("EUREGIO".into())];
    assert!(find(&run(&cfg, &c), "digitale-infrastruktur").passed, "our own EUREGIO");
}

#[test]
fn a_call_closed_by_its_wording_never_matches_and_says_why() {
    let mut c = gigabit();
    c.deadline = Deadline::Unknown;
    c.text = "Der Förderaufruf ist abgeschlossen.".into();
    let matcher = Matcher::new(&config()).unwrap();
    let m = find(&matcher.match_call(&c, today()), "digitale-infrastruktur").clone();
    assert!(!m.passed);
    assert!(
        german(&m.reasons)
            .contains(&"Aufruf beendet (laut Text beendet: „Der Förderaufruf ist abgeschlossen.“)".to_string()),
        "{m:#?}"
    );
    let text = matcher
        .explain(&c, today(), Some("digitale-infrastruktur"), None)
        .to_string();
    assert!(text.contains("✗ Frist: Aufruf beendet"), "{text}");
    // A future cut-off outweighs the wording.
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(day(2026, 4, 12))]);
    assert!(find(&matcher.match_call(&c, today()), "digitale-infrastruktur").passed);
}

#[test]
fn a_regional_programme_passes_for_a_theme_its_list_names_once() {
    // One full-text hit of a weight-1.5 rule: 1.5, the lowered pass mark (0.375 × 4).
    let mut cfg = config();
    cfg.strategy.handlungsfelder[1].profile = profile(&[("Onlinezugang*", 1.5)], 4.0);
    let mut c = call("Regionalbudget 9Plus: Kleinprojekte 2027", "");
    c.regions = vec![Region::Named("LEADER-Region 9Plus".into())];
    c.text = "Beispiele: Bänke am Dorfplatz oder ein Onlinezugang für das Vereinsheim.".into();
    let ms = run(&cfg, &c);
    let m = find(&ms, "verwaltung");
    assert!(m.passed && m.score == 1.5, "{m:#?}");
    // Outside a regional programme the same hit is far from the threshold (and no near miss).
    c.title = "Kleinprojekte 2027".into();
    c.regions = vec![Region::Bundesweit];
    assert!(!passed(&run(&cfg, &c), "verwaltung"));
}

#[test]
fn a_full_text_aim_counts_when_title_and_summary_name_no_field() {
    // Title and summary speak for no Handlungsfeld; the full text names three terms of one.
    let mut c = call(
        "Kreisfonds: Aufruf 2027",
        "Der Kreis unterstützt Vorhaben seiner Gemeinden.",
    );
    c.text =
        "Gefördert werden Glasfaser zu abgelegenen Höfen, Gigabit-Anschlüsse für Schulen und Breitband in Weilern."
            .into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(m.passed, "{m:#?}");
    // One term repeated is still one incidental word: capped at 0.75 × threshold.
    c.text = "Gefördert wird Glasfaser. Glasfaser zu Höfen, Glasfaser in Weilern, Glasfaser überall.".into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed && m.score == 3.0, "{m:#?}");
    // When the title speaks for another field, three terms in the full text stay capped.
    c.title = "Verwaltung digital: Onlinezugang 2027".into();
    c.text =
        "Gefördert werden Glasfaser zu abgelegenen Höfen, Gigabit-Anschlüsse für Schulen und Breitband in Weilern."
            .into();
    let m = find(&run(&config(), &c), "digitale-infrastruktur").clone();
    assert!(!m.passed && m.score == 3.0, "{m:#?}");
}

#[test]
fn a_call_scores_alike_whatever_was_matched_before_it() {
    // Leaf values are kept per call in buffers that the next call on the thread reuses; a
    // fresh thread has none.
    let alone = |c: Call| std::thread::spawn(move || run(&config(), &c)).join().unwrap();
    let before = call(
        "Glasfaser für Privathaushalte",
        "Privathaushalte erhalten Zuschüsse für den Glasfaseranschluss.",
    );
    // The negative term stands here once, in the text only: it weighs less than in the title.
    let mut then = call(
        "Glasfaser für Gewerbegebiete",
        "Kommunen erhalten Zuschüsse für Glasfaser und Breitband.",
    );
    then.text = "Privathaushalte werden über ein anderes Programm gefördert.".into();
    let matcher = Matcher::new(&config()).unwrap();
    let first = matcher.match_call(&before, today());
    let second = matcher.match_call(&then, today());
    assert_eq!(first, alone(before));
    assert_eq!(second, alone(then));
    assert!(
        second.iter().any(|m| m.handlungsfeld == "digitale-infrastruktur"),
        "{second:#?}"
    );
}
