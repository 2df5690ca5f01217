//! Matching benchmark (plain main; run with `cargo bench --bench matching`).
//!
//! 1. 10,000 generated calls (full texts 5–20 KB of German funding phrasing,
//!    deterministic seed) against the shipped strategy plus 13 synthetic
//!    projects (24 projects) and the 14 Kommunen. Target: < 1 s on one core.
//! 2. Scale-out: the same calls against 5,000 synthetic rule sets, as if every
//!    German Kreis had its own profiles. Target: < 10 s.
//!
//! Prints wall time per run and the peak resident memory (VmHWM). `MATCHING_BENCH_ONLY=deployment`
//! (or `scale-out`) runs one of the two, for a profile of it.

#[path = "../tests/matching_support.rs"]
mod matching_support;

use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::config::{CriteriaOverride, Handlungsfeld, Profile, Project, ProjectKind, RuleSpec, Strategy};
use foerderradar::matching::Matcher;
use foerderradar::model::{ApplicantCategory, Call, Deadline, DeadlineDate, Region};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const CALLS: usize = 10_000;
const SCALE_OUT_PROFILES: usize = 5_000;

/// Word stems of real funding vocabulary, keyed by Handlungsfeld. Calls and
/// synthetic profiles use compounds of a stem and a [`SUFFIXES`] entry
/// ("Glasfaserkonzept", "Radverkehrsplanung"), as German guidelines do; that
/// gives 864 distinct terms, so profiles differ the way real ones would.
const TOPICS: &[(&str, &[&str])] = &[
    (
        "digitale-infrastruktur",
        &[
            "Glasfaser",
            "Gigabit",
            "Breitband",
            "Mobilfunk",
            "LoRaWAN",
            "Sensorik",
            "Datenplattform",
            "Funknetz",
            "Rechenzentrum",
            "Smart-City",
            "Datenraum",
            "Netzinfrastruktur",
        ],
    ),
    (
        "klima-mobilitaet-umwelt",
        &[
            "Klimaschutz",
            "Klimaanpassung",
            "Starkregen",
            "Radverkehrs",
            "Ladeinfrastruktur",
            "Mobilitäts",
            "Wärme",
            "Photovoltaik",
            "Biodiversitäts",
            "Entsiegelungs",
            "Hochwasserschutz",
            "Energieeffizienz",
        ],
    ),
    (
        "familie-bildung-lebensqualitaet",
        &[
            "Schul",
            "Bildungs",
            "Kita",
            "Familien",
            "Jugend",
            "Senioren",
            "Pflege",
            "Ehrenamts",
            "Vereins",
            "Bibliotheks",
            "Heimat",
            "Kultur",
        ],
    ),
    (
        "verwaltung",
        &[
            "Onlinezugangs",
            "Onlinedienste",
            "Serviceportal",
            "E-Akten",
            "Register",
            "KI",
            "Datenanalyse",
            "Verwaltungscloud",
            "Informationssicherheits",
            "Servicedesign",
            "Digitalkompetenz",
            "Verwaltungsdigitalisierungs",
        ],
    ),
    (
        "wirtschaft-arbeit",
        &[
            "Wirtschaftsförderungs",
            "Fachkräfte",
            "Gewerbeflächen",
            "Gründungs",
            "Wertschöpfungs",
            "Ausbildungs",
            "Arbeitsmarkt",
            "Tourismus",
            "Coworking",
            "Innovations",
            "Standort",
            "Transformations",
        ],
    ),
    (
        "innenstadt-dorfmitte",
        &[
            "Innenstadt",
            "Ortskern",
            "Leerstands",
            "Einzelhandels",
            "Stadtmarketing",
            "Dorfladen",
            "Nahversorgungs",
            "Paketstation",
            "Dorfentwicklungs",
            "Quartiers",
            "Marktplatz",
            "Zentren",
        ],
    ),
];

const SUFFIXES: &[&str] = &[
    "konzept",
    "netz",
    "strategie",
    "management",
    "projekt",
    "förderung",
    "plattform",
    "maßnahmen",
    "beratung",
    "ausbau",
    "planung",
    "offensive",
];

/// A compound term of a topic: stem + suffix.
fn term(rng: &mut StdRng, topic: &[&str]) -> String {
    format!(
        "{}{}",
        topic.choose(rng).expect("stems"),
        SUFFIXES.choose(rng).expect("suffixes")
    )
}

/// Sentences of funding-guideline boilerplate; `{}` takes a topic term.
const SENTENCES: &[&str] = &[
    "Zuwendungen werden nach Maßgabe dieser Richtlinie und der Verwaltungsvorschriften zu § 44 der Landeshaushaltsordnung gewährt.",
    "Ein Rechtsanspruch des Antragstellers auf Gewährung der Zuwendung besteht nicht; die Bewilligungsbehörde entscheidet nach pflichtgemäßem Ermessen im Rahmen der verfügbaren Haushaltsmittel.",
    "Gefördert werden Vorhaben, die einen Beitrag zu {} leisten und über den Stand der Technik hinausgehen.",
    "Die Zuwendung wird im Wege der Projektförderung als nicht rückzahlbarer Zuschuss in Form einer Anteilfinanzierung gewährt.",
    "Zuwendungsfähig sind Personal- und Sachausgaben, die unmittelbar für die Durchführung des Vorhabens zu {} erforderlich sind.",
    "Der Verwendungsnachweis ist innerhalb von sechs Monaten nach Abschluss des Vorhabens vorzulegen.",
    "Antragsberechtigt sind Gemeinden und Gemeindeverbände sowie Zweckverbände mit kommunaler Beteiligung.",
    "Vorhaben mit Bezug zu {} werden bevorzugt berücksichtigt, wenn sie interkommunal angelegt sind.",
    "Die Projektskizze soll einen Umfang von zehn Seiten nicht überschreiten und die geplanten Maßnahmen zu {} nachvollziehbar darstellen.",
    "Mit dem Vorhaben darf vor Bewilligung nicht begonnen werden; als Vorhabenbeginn gilt der Abschluss eines Lieferungs- oder Leistungsvertrags.",
    "Die Förderquote beträgt bis zu 80 Prozent der zuwendungsfähigen Ausgaben, für finanzschwache Kommunen bis zu 90 Prozent.",
    "Die Ergebnisse sind zu veröffentlichen und anderen Kommunen zur Nachnutzung bereitzustellen.",
    "Bei der Auswahl berücksichtigt die Jury insbesondere den Beitrag des Vorhabens zu {} und seine Übertragbarkeit.",
    "Es gelten die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gebietskörperschaften.",
    "Die Digitali-\nsierung von Antragsverfahren erfolgt über das Förderportal des Landes.",
    "Ausgaben für {} sind nur zuwendungsfähig, soweit sie nicht bereits aus anderen öffentlichen Mitteln finanziert werden.",
];

fn generate_calls(rng: &mut StdRng) -> Vec<Call> {
    let seen = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap();
    (0..CALLS)
        .map(|i| {
            let (_, topic) = TOPICS.choose(rng).expect("topics");
            let mut c = Call::new(
                "bench",
                format!("https://bench.example/call/{i}"),
                format!("Förderaufruf {i}: {} und {}", term(rng, topic), term(rng, topic)),
                seen,
            );
            c.summary = format!(
                "Kommunen erhalten Zuschüsse für {} und {}. Gefördert werden Konzepte, Investitionen und Personal.",
                term(rng, topic),
                term(rng, topic)
            );
            let target = rng.random_range(5_000..20_000);
            let mut text = String::with_capacity(target + 300);
            while text.len() < target {
                let s = SENTENCES.choose(rng).expect("sentences");
                // Off-topic terms appear too, as in real guidelines.
                let from = if rng.random_bool(0.8) {
                    topic
                } else {
                    TOPICS.choose(rng).expect("topics").1
                };
                let t = term(rng, from);
                text.push_str(&s.replace("{}", &t));
                text.push(if rng.random_bool(0.2) { '\n' } else { ' ' });
            }
            c.text = text;
            c.applicants.categories = [ApplicantCategory::Kommune, ApplicantCategory::Zweckverband].into();
            c.regions = vec![if rng.random_bool(0.7) {
                Region::Bundesweit
            } else {
                Region::Named("LEADER-Region 9Plus".into())
            }];
            c.deadline = Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2027, 3, 31).unwrap())]);
            c
        })
        .collect()
}

fn synthetic_project(id: String, hf: &str, terms: &[String]) -> Project {
    let rule = |expr: String, weight: f64| RuleSpec::new(expr, weight, "bench", 0).expect("bench rule parses");
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    Project {
        id,
        name: "synthetisch".into(),
        handlungsfeld: hf.into(),
        kind: ProjectKind::Leitprojekt,
        confirmed: true,
        description: String::new(),
        profile: Profile {
            rules: vec![
                rule(format!("title:({})", quoted[..2].join(" OR ")), 2.5),
                rule(format!("{} AND NOT Privathaushalt*", quoted[2..].join(" OR ")), 1.0),
                rule(format!("{} NEAR/8 {}", quoted[0], quoted[3]), 1.0),
            ],
            threshold: 7.5,
        },
        criteria: CriteriaOverride::default(),
    }
}

fn with_synthetic_projects(mut strategy: Strategy, count: usize, rng: &mut StdRng) -> Strategy {
    for n in 0..count {
        let (hf, topic) = TOPICS.choose(rng).expect("topics");
        let terms: Vec<String> = (0..5).map(|_| term(rng, topic)).collect();
        strategy
            .projects
            .push(synthetic_project(format!("synth-{n}"), hf, &terms));
    }
    strategy
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run(label: &str, strategy: Strategy, calls: &[Call], today: NaiveDate) {
    let projects = strategy.projects.len();
    let hfs: Vec<Handlungsfeld> = strategy.handlungsfelder.clone();
    let config = matching_support::config(strategy);
    let started = Instant::now();
    let matcher = Matcher::new(&config).expect("rules compile");
    let compiled = started.elapsed();
    let started = Instant::now();
    let (mut matches, mut passed) = (0usize, 0usize);
    for call in calls {
        let ms = matcher.match_call(call, today);
        matches += ms.len();
        passed += ms.iter().filter(|m| m.passed).count();
    }
    let elapsed = started.elapsed();
    println!(
        "{label}: {} calls × ({} Handlungsfelder + {projects} projects) × {} Kommunen: compile {:.3} s, match {:.3} s ({:.1} µs/call), {matches} matches kept, {passed} passed",
        calls.len(),
        hfs.len(),
        config.kommunen.len(),
        compiled.as_secs_f64(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / calls.len() as f64,
    );
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0x5741_4600);
    let started = Instant::now();
    let calls = generate_calls(&mut rng);
    let bytes: usize = calls
        .iter()
        .map(|c| c.title.len() + c.summary.len() + c.text.len())
        .sum();
    println!(
        "generated {} calls, {:.1} MB of text, in {:.2} s",
        calls.len(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();

    let shipped = matching_support::shipped_config().strategy;
    let missing = 24 - shipped.projects.len();
    // Both rule sets are drawn before either run, so that `MATCHING_BENCH_ONLY` (one label,
    // for a profile of one run) leaves the other's profiles as they are.
    let deployment = with_synthetic_projects(shipped.clone(), missing, &mut rng);
    let scale_out = with_synthetic_projects(shipped, SCALE_OUT_PROFILES, &mut rng);
    let only = std::env::var("MATCHING_BENCH_ONLY").ok();
    for (label, strategy) in [("deployment", deployment), ("scale-out", scale_out)] {
        if only.as_deref().is_none_or(|o| o == label) {
            run(label, strategy, &calls, today);
        }
    }
    match peak_rss_kb() {
        Some(kb) => println!("peak memory (VmHWM): {:.1} MB", kb as f64 / 1024.0),
        None => println!("peak memory: /proc/self/status not available"),
    }
}
