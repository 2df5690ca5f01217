//! Operations through the binary: `status` (text and JSON, exit 1 when something needs
//! attention), `backup` while a collect writes, migrations at start and the refusal of a
//! store written by a newer release. Feeds come from wiremock on 127.0.0.1.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::pass::{fixture_server, foerderradar, write_config};

/// A loopback port nobody listens on: mail attempts fail fast.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn db(data: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(data.join("foerderradar.sqlite"))
        .connect()
        .await
        .unwrap()
}

fn status_json(config: &Path, data: &Path) -> (i32, serde_json::Value) {
    let out = foerderradar(config, data, &["status", "--format", "json"]);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --format json is no JSON document ({e}): {}", text(&out.stdout)));
    (out.status.code().unwrap(), json)
}

fn job<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_jobs_sources_outbox_and_exits_1_once_a_source_is_broken() {
    let server = fixture_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    write_config(&config, &server.uri(), closed_port());

    // A new deployment: nothing ran yet, nothing is wrong.
    let (code, fresh) = status_json(&config, &data);
    assert_eq!(code, 0, "{fresh:#}");
    assert!(job(&fresh, "collect")["last_finished"].is_null());
    assert!(job(&fresh, "collect")["next"].is_string());
    assert!(fresh["newest_call"].is_null());

    assert_eq!(foerderradar(&config, &data, &["collect"]).status.code(), Some(1));
    let (code, once) = status_json(&config, &data);
    assert_eq!(code, 0, "one failure is no broken source yet: {once:#}");
    let collect = job(&once, "collect");
    assert!(collect["last_finished"].is_string() && collect["last_started"].is_string());
    assert_eq!(collect["last_ok"], false, "kaputt and defekt failed");
    assert_eq!(collect["schedule"], "0 6 * * 1-5");
    let kaputt = once["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "kaputt")
        .unwrap();
    assert_eq!(kaputt["state"], "failing");
    let bund = once["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "bund")
        .unwrap();
    assert_eq!(bund["state"], "ok");
    assert_eq!(once["newest_call"]["age_days"], 0);
    assert!(once["last_error"]["origin"].as_str().unwrap().starts_with("source "));
    let outbox: Vec<_> = once["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(outbox, ["pending", "sent", "failed"]);

    // broken_after = 4 in the test config; the admin notice about it waits in the outbox
    // (no SMTP server listens).
    for _ in 0..3 {
        foerderradar(&config, &data, &["collect"]);
    }
    let (code, broken) = status_json(&config, &data);
    assert_eq!(code, 1);
    let attention = broken["attention"].to_string();
    assert!(attention.contains("source kaputt is broken"), "{attention}");
    assert!(attention.contains("source defekt is broken"), "{attention}");

    let out = foerderradar(&config, &data, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out.stdout);
    for needle in [
        "jobs:",
        "collect",
        "notify",
        "sources:",
        "outbox: 1 pending, 0 sent, 0 failed",
        "newest call: first seen",
        "last error:",
        "needs attention:",
        "source kaputt is broken",
    ] {
        assert!(shown.contains(needle), "missing '{needle}' in\n{shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_flags_a_job_missing_two_slots_and_a_given_up_mail() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    write_config(&config, "http://127.0.0.1:9", closed_port());
    let out = foerderradar(&config, &data, &["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("all well"));

    let mut conn = db(&data).await;
    // The last collect finished on a Monday long ago: many weekday slots passed since.
    sqlx::query("INSERT INTO runs (kind, started, finished, ok) VALUES ('collect', ?, ?, 1)")
        .bind("2026-01-05T05:00:00.000000Z")
        .bind("2026-01-05T05:10:00.000000Z")
        .execute(&mut conn)
        .await
        .unwrap();
    let (code, status) = status_json(&config, &data);
    assert_eq!(code, 1);
    assert_eq!(job(&status, "collect")["overdue"], true);
    assert_eq!(
        job(&status, "notify")["overdue"],
        false,
        "notify never ran: no alarm by itself"
    );
    assert!(status["attention"].to_string().contains("job collect"));

    // A fresh collect run clears it; a mail given up just now needs attention instead.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    sqlx::query("INSERT INTO runs (kind, started, finished, ok) VALUES ('collect', ?, ?, 1)")
        .bind(&now)
        .bind(&now)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(status_json(&config, &data).0, 0);
    sqlx::query(
        "INSERT INTO outbox (contact, kommune, subject, message, calls, status, attempts, next_attempt, last_error, created) \
         VALUES ('a@example.org', 'telgte', 'Fördermittel', x'00', '[]', 'failed', 3, ?, '550 mailbox unavailable', ?)",
    )
    .bind(&now)
    .bind(&now)
    .execute(&mut conn)
    .await
    .unwrap();
    let (code, status) = status_json(&config, &data);
    assert_eq!(code, 1);
    assert_eq!(status["given_up_recently"], 1);
    assert!(status["attention"].to_string().contains("1 mail given up"));
    assert_eq!(status["last_error"]["message"], "550 mailbox unavailable");
    let failed = status["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "failed")
        .unwrap();
    assert_eq!(failed["mails"], 1);
}

/// Every feed answers after a delay, so a collect holds the store for seconds.
async fn slow_server() -> MockServer {
    let server = MockServer::start().await;
    let feed = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
        <item><title>Förderaufruf Digitale Dörfer</title><link>https://example.org/aufruf/1</link>
        <description>Frist 31.12.2027</description></item></channel></rss>"#;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/rss+xml")
                .set_body_string(feed)
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_during_a_collect_is_consistent_and_never_overwrites() {
    let server = slow_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    write_config(&config, &server.uri(), closed_port());
    // Some calls in the store before the slow collect starts writing more.
    foerderradar(&config, &data, &["collect"]);

    let mut collect = Process::new(assert_cmd::cargo::cargo_bin("foerderradar"))
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .args(["collect"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the collect has recorded its run: it is inside the collect now.
    let started = Instant::now();
    loop {
        let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE kind = 'collect'")
            .fetch_one(&mut db(&data).await)
            .await
            .unwrap();
        if runs >= 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the collect never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let backup = dir.path().join("backup.sqlite");
    let out = foerderradar(&config, &data, &["backup", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        collect.try_wait().unwrap().is_none(),
        "the backup must overlap the running collect"
    );
    assert!(text(&out.stdout).contains("backup: wrote"));
    collect.wait().unwrap();

    let mut copy = SqliteConnectOptions::new()
        .filename(&backup)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert!(calls >= 1, "the backup holds the calls of the first collect");
    copy.close().await.unwrap();

    // The backup is a working store: status reads it as a data directory.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&backup, restored.join("foerderradar.sqlite")).unwrap();
    let (_, status) = status_json(&config, &restored);
    assert!(job(&status, "collect")["last_finished"].is_string());

    let before = std::fs::read(&backup).unwrap();
    let again = foerderradar(&config, &data, &["backup", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("exists already"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        before,
        "an existing file is never overwritten"
    );
}

/// The highest migration number shipped in `migrations/sqlite`.
fn shipped_schema() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.split('_').next()?.parse::<i64>().ok()
        })
        .max()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_at_start_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    write_config(&config, "http://127.0.0.1:9", closed_port());
    assert_eq!(foerderradar(&config, &data, &["status"]).status.code(), Some(0));
    let mut conn = db(&data).await;
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(applied, shipped_schema(), "every shipped migration ran at start");

    let newer = shipped_schema() + 7;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (?, 'from the future', '2030-01-01 00:00:00', 1, x'00', 0)",
    )
    .bind(newer)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let out = foerderradar(&config, &data, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let expected = format!(
        "was written by a newer foerderradar (schema {newer}, this binary knows up to {})",
        shipped_schema()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(
        err.contains(&data.join("foerderradar.sqlite").display().to_string()),
        "{err}"
    );
    // Refused before anything was changed: the future migration is still the newest.
    let mut conn = db(&data).await;
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(applied, newer);
}
