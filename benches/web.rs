//! `foerderradar serve` under load: `GET /report?kommune=ahlen&format=html` over 3,000
//! stored calls, against the release binary on 127.0.0.1, and the served process's
//! memory. Targets (issue 9): p50 < 50 ms, RSS < 40 MB.
//! Plain timing (no harness): `cargo bench --bench web`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::model::{ApplicantCategory, Call, Deadline, DeadlineDate, FundingRate, Match};
use foerderradar::store::{SqliteStore, Store};

const CALLS: usize = 3_000;
const REQUESTS: usize = 200;
const ADMIN: &str = "bench-admin-token-0123456789";
const KOMMUNEN: [&str; 3] = ["ahlen", "beckum", "telgte"];
const FELDER: [(&str, Option<&str>); 3] = [
    ("verwaltung", Some("rathaus")),
    ("infrastruktur", Some("glasfaser")),
    ("klima", None),
];

/// A third of the calls closed before the report's day; the open ones spread over
/// the Kommunen (each call concerns one or two) and Handlungsfelder. Every call is
/// stored and read by the report; 200 open ones concern Ahlen.
fn call(n: usize) -> Call {
    let mut c = Call::new(
        "fdb",
        format!("https://foerder.example/programm/{n}"),
        format!("Förderprogramm {n} für kommunale Digitalisierung & Klimaschutz <Modellvorhaben>"),
        Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
    );
    c.funder = Some(format!("Ministerium {}", n % 17));
    c.summary = "Zuschüsse für kommunale Digitalisierung, Breitband und Klimaschutz. ".repeat(8);
    let year = if n.is_multiple_of(3) { 2025 } else { 2027 };
    c.deadline = Deadline::Dates(vec![DeadlineDate::on(
        NaiveDate::from_ymd_opt(year, 1 + (n % 12) as u32, 15).unwrap(),
    )]);
    c.funding_rate = Some(FundingRate { min: None, max: 80.0 });
    c.applicants.categories.insert(ApplicantCategory::Kommune);
    c.seal()
}

fn matches(c: &Call, n: usize) -> Vec<Match> {
    let (feld, project) = FELDER[n % 3];
    let mut kommunen = vec![KOMMUNEN[n % 3].to_string()];
    if n.is_multiple_of(5) {
        kommunen.push(KOMMUNEN[(n + 1) % 3].to_string());
    }
    vec![Match {
        call_id: c.id.clone(),
        handlungsfeld: feld.into(),
        project: project.map(Into::into),
        score: 3.0,
        threshold: 2.0,
        passed: true,
        kommunen,
        reasons: vec![],
    }]
}

fn copy_config(to: &std::path::Path) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    let service = to.join("foerderradar.toml");
    let mut text = std::fs::read_to_string(&service).unwrap();
    text.push_str("\n[web]\nadmin_token_env = \"BENCH_ADMIN_TOKEN\"\n");
    std::fs::write(service, text).unwrap();
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    copy_config(&config);
    std::fs::create_dir_all(&data).unwrap();
    let store = SqliteStore::open(&data.join("foerderradar.sqlite")).await.unwrap();
    let started = Instant::now();
    for n in 0..CALLS {
        let c = call(n);
        store.upsert_call(&c).await.unwrap();
        store.replace_matches(&c.id, &matches(&c, n)).await.unwrap();
    }
    store.close().await;
    println!("seeded {CALLS} calls in {:.1?}", started.elapsed());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_foerderradar"))
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .args(["--today", "2026-11-26", "serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("BENCH_ADMIN_TOKEN", ADMIN)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("foerderradar serve starts");
    let pid = server.id();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_idle = rss_kb(pid, "VmRSS:");

    let url = format!("{base}/report?kommune=ahlen&format=html");
    let mut bytes = 0;
    for _ in 0..5 {
        bytes = client
            .get(&url)
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len();
    }
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let response = client.get(&url).bearer_auth(ADMIN).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    let rss = rss_kb(pid, "VmRSS:");
    let hwm = rss_kb(pid, "VmHWM:");
    println!(
        "GET /report?kommune=ahlen&format=html ({} KB, {REQUESTS} requests, one at a time)",
        bytes / 1024
    );
    println!("  p50 {:.1?}  p90 {:.1?}  max {:.1?}", p(0.5), p(0.9), p(1.0));
    println!(
        "  RSS idle {:.1} MB, after {:.1} MB, peak {:.1} MB",
        rss_idle as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    let ok = |b: bool| if b { "met" } else { "MISSED" };
    println!("  target p50 < 50 ms: {}", ok(p(0.5) < Duration::from_millis(50)));
    println!("  target RSS < 40 MB: {}", ok(hwm < 40 * 1024));
    let _ = server.kill();
    let _ = server.wait();
}
