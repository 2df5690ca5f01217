//! A Land-sized deployment (issue 12): 400 Kommunen, each with 24 own project
//! profiles (9,600 rule sets besides the shipped Handlungsfelder), 1,000 contacts
//! and 20,000 stored calls. Measured as the daemon runs them, through the store:
//! matching every stored call (`App::match_calls`: batches read from SQLite, matches
//! written back), planning the first digests (an overview per contact with the full
//! list attached), a quiet day, and a busy day (200 new calls, 1,000 moved deadlines,
//! matched and planned). Prints wall time per step and the peak resident memory
//! (VmHWM) after it. Plain timing (no harness): `cargo bench --bench land`.
//! On PostgreSQL (issue 14): `LAND_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo
//! bench --bench land` runs the same in a fresh schema of that database (dropped after).

#[path = "../tests/matching_support.rs"]
mod matching_support;

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use foerderradar::app::App;
use foerderradar::config::{
    Config, Contact, CriteriaOverride, Interests, Kommune, Profile, Project, ProjectKind, RuleSpec,
};
use foerderradar::model::contact::Cadence;
use foerderradar::model::{ApplicantCategory, Call, Deadline, DeadlineDate, Region};
use foerderradar::notify::{self, PlanMode};
use foerderradar::store::{AnyStore, PgStore, SqliteStore, Store};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const KOMMUNEN: usize = 400;
const PROFILES_PER_KOMMUNE: usize = 24;
const CALLS: usize = 20_000;
/// 200 Kommunen with three contacts, 200 with two.
const CONTACTS: usize = 1_000;

/// Word stems of funding vocabulary; a term is a stem plus a [`SUFFIXES`] entry
/// (576 distinct terms), so the 9,600 profiles overlap the way real ones would.
const STEMS: &[&str] = &[
    "Glasfaser",
    "Gigabit",
    "Breitband",
    "Mobilfunk",
    "LoRaWAN",
    "Sensorik",
    "Datenplattform",
    "Smart-City",
    "Klimaschutz",
    "Klimaanpassung",
    "Starkregen",
    "Radverkehrs",
    "Ladeinfrastruktur",
    "Mobilitäts",
    "Wärme",
    "Photovoltaik",
    "Schul",
    "Bildungs",
    "Kita",
    "Familien",
    "Jugend",
    "Senioren",
    "Ehrenamts",
    "Kultur",
    "Verwaltungs",
    "Onlinezugangs",
    "E-Akten",
    "Register",
    "IT-Sicherheits",
    "Bürgerservice",
    "Personal",
    "Beschaffungs",
    "Gewerbeflächen",
    "Fachkräfte",
    "Gründungs",
    "Tourismus",
    "Wirtschafts",
    "Innovations",
    "Handwerks",
    "Ausbildungs",
    "Innenstadt",
    "Ortskern",
    "Leerstands",
    "Dorfentwicklungs",
    "Quartiers",
    "Stadtumbau",
    "Marktplatz",
    "Dorfgemeinschafts",
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
const SENTENCES: &[&str] = &[
    "Zuwendungen werden nach Maßgabe dieser Richtlinie und der Verwaltungsvorschriften zu § 44 der Landeshaushaltsordnung gewährt.",
    "Gefördert werden Vorhaben, die einen Beitrag zu {} leisten und über den Stand der Technik hinausgehen.",
    "Zuwendungsfähig sind Personal- und Sachausgaben, die unmittelbar für die Durchführung des Vorhabens zu {} erforderlich sind.",
    "Antragsberechtigt sind Gemeinden und Gemeindeverbände sowie Zweckverbände mit kommunaler Beteiligung.",
    "Vorhaben mit Bezug zu {} werden bevorzugt berücksichtigt, wenn sie interkommunal angelegt sind.",
    "Die Förderquote beträgt bis zu 80 Prozent der zuwendungsfähigen Ausgaben, für finanzschwache Kommunen bis zu 90 Prozent.",
    "Bei der Auswahl berücksichtigt die Jury insbesondere den Beitrag des Vorhabens zu {} und seine Übertragbarkeit.",
    "Ausgaben für {} sind nur zuwendungsfähig, soweit sie nicht bereits aus anderen öffentlichen Mitteln finanziert werden.",
];

fn term(rng: &mut StdRng) -> String {
    format!(
        "{}{}",
        STEMS.choose(rng).expect("stems"),
        SUFFIXES.choose(rng).expect("suffixes")
    )
}

fn at(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(6, 0, 0).expect("valid time"))
}

fn deadline(n: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 1).expect("valid day") + Duration::days((n % 360) as i64)
}

/// Call `n`: title and summary with two terms each, 1.5–4 KB of guideline text.
fn call(n: usize, rng: &mut StdRng) -> Call {
    let seen = at(NaiveDate::from_ymd_opt(2026, 11, 2).expect("valid day"));
    let mut c = Call::new(
        "land",
        format!("https://land.example/aufruf/{n}"),
        format!("Förderaufruf {n}: {} und {}", term(rng), term(rng)),
        seen,
    );
    c.funder = Some(format!("Ministerium {}", n % 23));
    c.summary = format!("Kommunen erhalten Zuschüsse für {} und {}.", term(rng), term(rng));
    let target = rng.random_range(1_500..4_000);
    let mut text = String::with_capacity(target + 300);
    while text.len() < target {
        let s = SENTENCES.choose(rng).expect("sentences");
        text.push_str(&s.replace("{}", &term(rng)));
        text.push(' ');
    }
    c.text = text;
    c.applicants.categories = [ApplicantCategory::Kommune].into();
    c.regions = vec![Region::Bundesweit];
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(deadline(n))]);
    c.seal()
}

fn project(id: String, handlungsfeld: &str, rng: &mut StdRng) -> Project {
    let terms: Vec<String> = (0..5).map(|_| format!("\"{}\"", term(rng))).collect();
    let rule = |expr: String, weight: f64| RuleSpec::new(expr, weight, "land", 0).expect("bench rule parses");
    Project {
        id,
        name: "Landesprofil".into(),
        handlungsfeld: handlungsfeld.into(),
        kind: ProjectKind::Leitprojekt,
        confirmed: true,
        description: String::new(),
        profile: Profile {
            rules: vec![
                rule(format!("title:({})", terms[..2].join(" OR ")), 2.5),
                rule(format!("{} AND NOT Privathaushalt*", terms[2..].join(" OR ")), 1.0),
                rule(format!("{} NEAR/8 {}", terms[0], terms[3]), 1.0),
            ],
            threshold: 4.0,
        },
        criteria: CriteriaOverride::default(),
    }
}

/// The shipped deployment with 400 Kommunen (copies of the first shipped one), each
/// following only its own 24 projects, and 1,000 contacts.
fn config(dir: &std::path::Path, rng: &mut StdRng) -> Config {
    let mut cfg = matching_support::shipped_config();
    cfg.dir = dir.to_path_buf();
    cfg.service.smtp = None;
    let fields: Vec<String> = cfg.strategy.handlungsfelder.iter().map(|h| h.id.clone()).collect();
    let template = cfg.kommunen[0].clone();
    let contact = template.contacts[0].clone();
    cfg.strategy.projects.clear();
    cfg.kommunen.clear();
    for k in 0..KOMMUNEN {
        let id = format!("kommune-{k:03}");
        let mut interests = Interests::default();
        for p in 0..PROFILES_PER_KOMMUNE {
            let pid = format!("{id}-p{p:02}");
            cfg.strategy
                .projects
                .push(project(pid.clone(), &fields[p % fields.len()], rng));
            interests.projects.insert(pid);
        }
        let contacts = (0..if k % 2 == 0 { 3 } else { 2 })
            .map(|c| Contact {
                name: format!("Kontakt {c}"),
                email: format!("kontakt{c}@{id}.example"),
                interests: interests.clone(),
                cadence: if c == 2 {
                    Cadence::Woechentlich(chrono::Weekday::Mon)
                } else {
                    contact.cadence
                },
                paused_until: None,
            })
            .collect();
        cfg.kommunen.push(Kommune {
            id: id.clone(),
            name: format!("Gemeinde {k}"),
            ags: format!("05{k:06}"),
            interests,
            contacts,
            ..template.clone()
        });
    }
    cfg
}

fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or_else(|| "?".to_string(), |kb| format!("{:.1} MB", kb / 1024.0))
    };
    format!("peak {} (now {})", field("VmHWM:"), field("VmRSS:"))
}

fn report(label: &str, started: Instant, what: String) {
    println!(
        "{label:<40} {:>9.2} s  {what:<48} {}",
        started.elapsed().as_secs_f64(),
        memory()
    );
}

async fn match_step(label: &str, app: &App) {
    let started = Instant::now();
    let summary = app.match_calls().await.expect("matching");
    report(
        label,
        started,
        format!("{} calls, {} passed", summary.calls, summary.passed),
    );
}

async fn plan_step(label: &str, app: &App, today: NaiveDate) {
    let started = Instant::now();
    let plan = notify::plan(&app.store, &app.config, today, at(today), PlanMode::Due)
        .await
        .expect("planning");
    report(
        label,
        started,
        format!("{} digests, {} call mentions", plan.mails.len(), plan.call_count()),
    );
}

#[tokio::main]
async fn main() {
    let mut rng = StdRng::seed_from_u64(0x1A4D);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let cfg = config(dir.path(), &mut rng);
    assert_eq!(cfg.kommunen.iter().map(|k| k.contacts.len()).sum::<usize>(), CONTACTS);
    let calls: Vec<Call> = (0..CALLS).map(|n| call(n, &mut rng)).collect();
    report(
        "generate",
        started,
        format!(
            "{KOMMUNEN} Kommunen, {} projects, {CONTACTS} contacts",
            cfg.strategy.projects.len()
        ),
    );

    let started = Instant::now();
    let store = open_store(dir.path()).await;
    for chunk in calls.chunks(1_000) {
        store.upsert_calls(chunk).await.expect("storing calls");
    }
    drop(calls);
    report("store 20,000 calls", started, String::new());

    let today = NaiveDate::from_ymd_opt(2026, 12, 3).expect("valid day");
    let started = Instant::now();
    let app = App::with_store(cfg, store, dir.path(), Some(today)).expect("rules compile");
    report(
        "compile rules",
        started,
        format!("{} rule sets", app.config.strategy.projects.len()),
    );

    match_step("match all calls", &app).await;
    plan_step("plan first digests (overviews)", &app, today).await;
    plan_step("plan a quiet day", &app, today + Duration::days(1)).await;

    // A busy Monday: 200 new calls and 1,000 moved deadlines, matched and planned.
    let started = Instant::now();
    let mut changed: Vec<Call> = (0..1_000)
        .map(|i| {
            let mut c = call(i * 20, &mut StdRng::seed_from_u64(i as u64));
            c.deadline = Deadline::Dates(vec![DeadlineDate::on(deadline(i * 20) + Duration::days(30))]);
            c.seal()
        })
        .collect();
    changed.extend((CALLS..CALLS + 200).map(|n| call(n, &mut rng)));
    app.store.upsert_calls(&changed).await.expect("storing changes");
    report("store a busy day", started, format!("{} calls", changed.len()));
    match_step("match the busy day", &app).await;
    plan_step("plan the busy day", &app, today + Duration::days(4)).await;
}

/// SQLite in `dir`, or with `LAND_PG_URL` set a fresh schema of that PostgreSQL database.
async fn open_store(dir: &std::path::Path) -> AnyStore {
    let Ok(url) = std::env::var("LAND_PG_URL") else {
        return SqliteStore::open(&dir.join("land.db")).await.expect("store").into();
    };
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("LAND_PG_URL is a postgres:// URL");
    let schema = format!("land_{}", std::process::id());
    println!("store: PostgreSQL {url}, schema {schema} (drop it after: DROP SCHEMA {schema} CASCADE)");
    PgStore::connect_in_schema(options, &schema)
        .await
        .expect("PostgreSQL store")
        .into()
}
