//! The Regeln preview under load (issue 10): `POST /admin/regeln/projekt/…/vorschau`
//! over 3,000 stored open calls, through the real server on 127.0.0.1. The first
//! preview reads the calls from SQLite and matches them under the rules in force (the
//! baseline the server keeps); every preview checks the candidate config, compiles
//! it and matches every call once, and counts the contacts' next digests.
//! Target: < 300 ms per answer (p50).
//! Plain timing (no harness): `cargo bench --bench admin_preview`.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use foerderradar::config::Config;
use foerderradar::model::{Call, Deadline, DeadlineDate};
use foerderradar::store::{SqliteStore, Store};
use foerderradar::web::admin::accounts;
use foerderradar::web::{self, Secrets, WebState};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const CALLS: usize = 3_000;
const REQUESTS: usize = 20;
const PROJECT: &str = "admin/regeln/projekt/digitalkompetenz-verwaltung";

/// Funding vocabulary across the Handlungsfelder, so that calls hit many profiles.
const WORDS: &[&str] = &[
    "Digitalkompetenz",
    "Qualifizierung",
    "Verwaltung",
    "Beschäftigte",
    "Glasfaser",
    "Breitband",
    "Mobilfunk",
    "LoRaWAN",
    "Sensorik",
    "Datenplattform",
    "Klimaschutz",
    "Klimaanpassung",
    "Radverkehr",
    "Ladeinfrastruktur",
    "Photovoltaik",
    "Wärmeplanung",
    "Schule",
    "Kita",
    "Familie",
    "Jugend",
    "Pflege",
    "Ehrenamt",
    "Gesundheit",
    "Telemedizin",
    "Tourismus",
    "Innenstadt",
    "Einzelhandel",
    "Gründung",
    "Fachkräfte",
    "Wirtschaftsförderung",
    "Onlinezugangsgesetz",
    "Serviceportal",
    "E-Akte",
    "Bürgerservice",
    "Förderung",
    "Kommunen",
    "Zuwendung",
    "Vorhaben",
    "Modellprojekt",
    "Landwirtschaft",
    "Hochwasser",
    "Biodiversität",
    "Bibliothek",
    "Kultur",
];
const FILLER: &str = "Gefördert werden Vorhaben, die einen Beitrag zur nachhaltigen Entwicklung leisten und die Zusammenarbeit stärken. ";

fn call(n: usize, rng: &mut StdRng) -> Call {
    let pick = |rng: &mut StdRng, k: usize| -> String {
        (0..k)
            .map(|_| *WORDS.choose(rng).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut c = Call::new(
        "fdb",
        format!("https://foerder.example/programm/{n}"),
        format!("Förderprogramm {n}: {}", pick(rng, 3)),
        Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
    );
    c.funder = Some("Land NRW".into());
    c.summary = format!(
        "{} Antragsberechtigt sind Kommunen in Nordrhein-Westfalen.",
        pick(rng, 12)
    );
    let mut text = String::new();
    while text.len() < rng.random_range(3_000..8_000) {
        text.push_str(FILLER);
        text.push_str(&pick(rng, 6));
        text.push_str(". ");
    }
    c.text = text;
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(
        chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
    )]);
    c
}

fn copy_config(to: &std::path::Path) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    std::fs::create_dir_all(to.join("templates")).unwrap();
    for name in ["foerderradar.toml", "sources.toml", "strategy.toml", "kommunen.toml"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
    for e in std::fs::read_dir(from.join("templates")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join("templates").join(e.file_name())).unwrap();
    }
}

fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[start..].split('"').next().unwrap().to_string()
}

fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    copy_config(&config_dir);
    accounts::set_password(&config_dir, "bench", "bench-password-123").unwrap();
    let store = SqliteStore::open(&dir.path().join("data/foerderradar.sqlite"))
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(10);
    let calls: Vec<Call> = (0..CALLS).map(|n| call(n, &mut rng)).collect();
    store.upsert_calls(&calls).await.unwrap();
    let config = Config::load(&config_dir).unwrap();
    let listener = web::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let state = WebState::new(config, store, None, Secrets::default()).unwrap();
    tokio::spawn(web::serve(state, listener, std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let login = client.get(format!("{base}admin/anmelden")).send().await.unwrap();
    let login_cookie = cookie(&login, "fr_login");
    let csrf = csrf_in(&login.text().await.unwrap());
    let session = client
        .post(format!("{base}admin/anmelden"))
        .header("cookie", &login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("name", "bench"),
            ("password", "bench-password-123"),
            ("csrf", csrf.as_str()),
        ]))
        .send()
        .await
        .unwrap();
    let session = cookie(&session, "fr_admin");
    let page = client
        .get(format!("{base}{PROJECT}"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("threshold", "5"),
        (
            "expr_1",
            "(Digitalkompetenz OR \"digitale Kompetenzen\" OR Qualifizierung*) AND NOT Landwirtschaft",
        ),
        ("weight_1", "2.5"),
        (
            "expr_2",
            "(Qualifizierung* OR Schulung*) NEAR/4 (Verwaltung* OR Beschäftigte*)",
        ),
        ("weight_2", "1"),
        ("expr_3", "Schüler* OR *schulen OR Lehrkräfte"),
        ("weight_3", "-2"),
    ];
    let mut times = Vec::with_capacity(REQUESTS);
    let mut body = String::new();
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let response = client
            .post(format!("{base}{PROJECT}/vorschau"))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&form))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        body = response.text().await.unwrap();
        times.push(start.elapsed());
    }
    assert!(
        body.contains(&format!("Vorschau gegen {CALLS} offene Aufrufe")),
        "{body}"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let first = times[0];
    times.sort();
    println!(
        "admin preview over {CALLS} stored calls, {REQUESTS} requests: first (builds the baseline) {:.1} ms; p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms (target < 300 ms)",
        ms(first),
        ms(times[REQUESTS / 2]),
        ms(times[REQUESTS * 9 / 10]),
        ms(times[REQUESTS - 1])
    );
}
