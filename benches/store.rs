//! Store and report throughput on a realistic pass: 2,000 calls (the
//! Förderdatenbank lists about 2,400 programmes), each with two matches.
//! Plain timing (no harness): `cargo bench --bench store`.

use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use foerderradar::model::{ApplicantCategory, Call, Deadline, DeadlineDate, FundingRate, Match};
use foerderradar::store::{CallFilter, SqliteStore, Store};

const CALLS: usize = 2_000;

fn call(n: usize, pass: i64) -> Call {
    let seen = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap() + Duration::days(pass);
    let mut c = Call::new(
        "fdb",
        format!("https://foerder.example/programm/{n}"),
        format!("Förderprogramm {n}"),
        seen,
    );
    c.funder = Some(format!("Ministerium {}", n % 17));
    c.summary = "Zuschüsse für kommunale Digitalisierung, Breitband und Klimaschutz. ".repeat(8);
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(
        NaiveDate::from_ymd_opt(2027, 1 + (n % 12) as u32, 15).unwrap(),
    )]);
    c.funding_rate = Some(FundingRate { min: None, max: 80.0 });
    c.applicants.categories.insert(ApplicantCategory::Kommune);
    c.seal()
}

fn per_item(label: &str, started: Instant, items: usize) {
    let total = started.elapsed();
    println!(
        "{label:<38} {total:>10.2?} total, {:>8.1?} per item",
        total / items as u32
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bench.db")).await.unwrap();

    let started = Instant::now();
    for n in 0..CALLS {
        store.upsert_call(&call(n, 0)).await.unwrap();
    }
    per_item("upsert new", started, CALLS);

    let started = Instant::now();
    for n in 0..CALLS {
        store.upsert_call(&call(n, 1)).await.unwrap();
    }
    per_item("upsert unchanged (next pass)", started, CALLS);

    let started = Instant::now();
    for n in 0..CALLS {
        let mut changed = call(n, 2);
        changed.amount_max_eur = Some(100_000);
        store.upsert_call(&changed.seal()).await.unwrap();
    }
    per_item("upsert changed (version + changes)", started, CALLS);

    let started = Instant::now();
    for n in 0..CALLS {
        let c = call(n, 2);
        let m = |project: Option<&str>| Match {
            call_id: c.id.clone(),
            handlungsfeld: "verwaltung".into(),
            project: project.map(str::to_string),
            score: 2.5,
            threshold: 2.0,
            passed: true,
            kommunen: vec!["ahlen".into(), "telgte".into()],
            reasons: vec![foerderradar::model::reason::Reason::Hits {
                hits: vec![foerderradar::model::reason::Hit {
                    term: "Digitalisierung".into(),
                    field: foerderradar::model::reason::Field::Text,
                }],
            }],
        };
        store
            .replace_matches(&c.id, &[m(None), m(Some("rathaus"))])
            .await
            .unwrap();
    }
    per_item("replace_matches (2 per call)", started, CALLS);

    let started = Instant::now();
    let filter = CallFilter {
        open_on: NaiveDate::from_ymd_opt(2026, 11, 26),
        ..CallFilter::default()
    };
    let open = store.list_calls(&filter).await.unwrap();
    per_item("list_calls open_on (all open)", started, open.len());

    let started = Instant::now();
    let passed = store.passed_matches().await.unwrap();
    per_item("passed_matches", started, passed.len());
    store.close().await;
}
