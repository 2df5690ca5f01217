//! Planning digests: 50 contacts over 3,000 stored calls with passed matches
//! (issue 8: < 0.5 s in release). Measured are `notify::plan` passes as a
//! deployment runs them: the first (an overview per contact with the full list
//! attached), a quiet day (nothing new), and a busy day (60 new calls, 300 changed
//! deadlines, reminders). Plain timing (no harness): `cargo bench --bench digest`.

use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use foerderradar::config::Config;
use foerderradar::model::contact::Cadence;
use foerderradar::model::reason::{Field, Hit, Reason};
use foerderradar::model::{ApplicantCategory, Call, Deadline, DeadlineDate, FundingRate, Match};
use foerderradar::notify::{self, PlanMode};
use foerderradar::store::{SqliteStore, Store};

const CALLS: usize = 3_000;
const CONTACTS: usize = 50;
const FIELDS: [&str; 4] = ["verwaltung", "klima-mobilitaet", "innenstadt", "verwaltung"];

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(6, 0, 0).unwrap())
}

fn call(n: usize, deadline: NaiveDate) -> Call {
    let mut c = Call::new(
        "fdb",
        format!("https://foerder.example/programm/{n}"),
        format!("Förderprogramm {n}: Digitalisierung, Mobilität und Ortskerne"),
        at(day(2026, 11, 2)),
    );
    c.funder = Some(format!("Ministerium {}", n % 17));
    c.summary = "Zuschüsse für kommunale Digitalisierung, Breitband und Klimaschutz. ".repeat(6);
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(deadline)]);
    c.funding_rate = Some(FundingRate { min: None, max: 80.0 });
    c.amount_max_eur = Some(100_000 + n as u64);
    c.applicants.categories.insert(ApplicantCategory::Kommune);
    c.seal()
}

fn matches(c: &Call, n: usize) -> Vec<Match> {
    let field = FIELDS[n % FIELDS.len()];
    vec![Match {
        call_id: c.id.clone(),
        handlungsfeld: field.into(),
        project: None,
        score: 2.0 + (n % 7) as f64,
        threshold: 2.0,
        passed: true,
        kommunen: vec!["ahlen".into(), "beckum".into(), "oelde".into()],
        reasons: vec![Reason::Hits {
            hits: vec![Hit {
                term: "Digitalisierung".into(),
                field: Field::Title,
            }],
        }],
    }]
}

/// The notify fixture with 50 contacts spread over its three Kommunen, a third weekly.
fn config(dir: &Path) -> Config {
    let fixture = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/notify"));
    let mut cfg = Config::load(fixture).unwrap_or_else(|e| panic!("{e}"));
    cfg.dir = dir.to_path_buf();
    cfg.service.smtp = None;
    let templates: Vec<_> = cfg.kommunen.iter().map(|k| k.contacts[0].clone()).collect();
    for k in &mut cfg.kommunen {
        k.contacts.clear();
    }
    for i in 0..CONTACTS {
        let k = i % cfg.kommunen.len();
        let mut contact = templates[k].clone();
        contact.email = format!("kontakt{i}@{}.example", cfg.kommunen[k].id);
        if i % 3 == 0 {
            contact.cadence = Cadence::Woechentlich(chrono::Weekday::Mon);
        }
        cfg.kommunen[k].contacts.push(contact);
    }
    cfg
}

async fn plan(label: &str, store: &SqliteStore, cfg: &Config, today: NaiveDate) {
    let started = Instant::now();
    let plan = notify::plan(store, cfg, today, at(today), PlanMode::Due).await.unwrap();
    let took = started.elapsed();
    println!(
        "{label:<44} {took:>10.2?}  ({} digests, {} calls, {} notices)",
        plan.mails.len(),
        plan.call_count(),
        plan.notice_count()
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let store = SqliteStore::open(&dir.path().join("bench.db")).await.unwrap();
    let deadline = |n: usize| day(2027, 1, 1) + Duration::days((n % 360) as i64);
    let calls: Vec<Call> = (0..CALLS).map(|n| call(n, deadline(n))).collect();
    store.upsert_calls(&calls).await.unwrap();
    for (n, c) in calls.iter().enumerate() {
        store.replace_matches(&c.id, &matches(c, n)).await.unwrap();
    }
    println!("{CONTACTS} contacts, {CALLS} calls with passed matches");

    // Thursday: every contact's first digest, an overview with the full list attached.
    plan(
        "first pass (50 overviews, 3,000 calls each)",
        &store,
        &cfg,
        day(2026, 12, 3),
    )
    .await;
    plan("next day (28-day reminders due)", &store, &cfg, day(2026, 12, 4)).await;

    // A busy Monday: 60 new calls, 300 deadlines moved, reminders due.
    let mut changed: Vec<Call> = (0..300)
        .map(|n| call(n * 10, deadline(n * 10) + Duration::days(30)))
        .collect();
    let new: Vec<Call> = (CALLS..CALLS + 60).map(|n| call(n, deadline(n))).collect();
    changed.extend(new.iter().cloned());
    store.upsert_calls(&changed).await.unwrap();
    for (i, c) in new.iter().enumerate() {
        store.replace_matches(&c.id, &matches(c, CALLS + i)).await.unwrap();
    }
    plan("busy Monday (news, changes, reminders)", &store, &cfg, day(2026, 12, 7)).await;
}
