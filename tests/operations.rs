//! Operations through the binary: `status` (text and JSON, exit 1 when something needs
//! attention), `backup` while a collect writes, migrations at start and the refusal of a
//! store written by a newer release; the retry age limit of the outbox, the weekly admin
//! digest, the daemon's catch-up after a downtime and its per-group collect schedules.
//! Feeds come from wiremock on 127.0.0.1, mail goes to a scripted SMTP sink on 127.0.0.1.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::pass::{
    TODAY, decoded, fixture_server, foerderradar, service_toml, signal, sources_toml, stderr_lines, wait_for,
    write_config,
};

/// A loopback port nobody listens on: mail attempts fail fast.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) async fn db(data: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(data.join("foerderradar.sqlite"))
        .connect()
        .await
        .unwrap()
}

pub(crate) fn status_json(config: &Path, data: &Path) -> (i32, serde_json::Value) {
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
        "INSERT INTO outbox (contact, kommune, subject, calls, status, attempts, next_attempt, last_error, created) \
         VALUES ('a@example.org', 'telgte', 'Fördermittel', '[]', 'failed', 3, ?, '550 mailbox unavailable', ?)",
    )
    .bind(&now)
    .bind(&now)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("INSERT INTO outbox_messages (mail_id, message) VALUES (last_insert_rowid(), x'00')")
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
pub(crate) async fn slow_server() -> MockServer {
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

// ---- delivery and the admin ----

const ADMIN: &str = "smart-region@kreis-warendorf.example.org";

/// One message the sink accepted: its recipients and its DATA.
#[derive(Clone, Debug)]
pub(crate) struct Accepted {
    pub(crate) to: Vec<String>,
    pub(crate) data: String,
}

/// A minimal SMTP server on 127.0.0.1 that answers `RCPT TO` per recipient.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    pub(crate) accepted: std::sync::Arc<std::sync::Mutex<Vec<Accepted>>>,
}

impl SmtpSink {
    pub(crate) fn start(rcpt: fn(&str) -> &'static str) -> SmtpSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let shared = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = converse(stream, rcpt, &shared);
                });
            }
        });
        SmtpSink { port, accepted }
    }

    /// The decoded subject and text parts of the mails accepted for `to`.
    fn mails_to(&self, to: &str) -> Vec<Accepted> {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .cloned()
            .collect()
    }
}

fn converse(
    stream: std::net::TcpStream,
    rcpt: fn(&str) -> &'static str,
    accepted: &std::sync::Mutex<Vec<Accepted>>,
) -> std::io::Result<()> {
    use std::io::{BufRead, Write};
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut say = |line: &str| out.write_all(format!("{line}\r\n").as_bytes());
    say("220 sink.test ESMTP")?;
    let mut recipients = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => say("250 sink.test")?,
            "MAIL" => {
                recipients.clear();
                say("250 2.1.0 ok")?;
            }
            "RCPT" => {
                let address = line.split(['<', '>']).nth(1).unwrap_or_default().to_ascii_lowercase();
                let reply = rcpt(&address);
                if reply.starts_with("250") {
                    recipients.push(address);
                }
                say(reply)?;
            }
            "DATA" => {
                say("354 end with <CRLF>.<CRLF>")?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l)? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                accepted.lock().unwrap().push(Accepted {
                    to: recipients.clone(),
                    data,
                });
                say("250 2.0.0 queued")?;
            }
            "QUIT" => {
                say("221 2.0.0 bye")?;
                return Ok(());
            }
            _ => say("250 2.0.0 ok")?,
        }
    }
}

/// The test deployment with `patch` applied to foerderradar.toml (pairs of from → to).
pub(crate) fn deployment(config: &Path, base: &str, smtp_port: u16, patch: &[(&str, &str)]) {
    write_config(config, base, smtp_port);
    let mut service = service_toml(smtp_port);
    for (from, to) in patch {
        assert!(service.contains(from), "service_toml has no {from:?}");
        service = service.replacen(from, to, 1);
    }
    std::fs::write(config.join("foerderradar.toml"), service).unwrap();
}

/// A store timestamp (the format the store writes, so that SQL compares it as text).
fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn outbox_ids(config: &Path, data: &Path, status: &str) -> Vec<String> {
    let out = foerderradar(config, data, &["outbox", "--status", status]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(|id| id.parse::<i64>().is_ok()))
        .filter(|l| !l.contains(ADMIN))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_digest_still_failing_after_max_retry_age_is_given_up_and_reported_to_the_admin() {
    let feeds = fixture_server().await;
    // The digests get a temporary 4xx every time; the admin's mail gets through.
    let sink = SmtpSink::start(|to| {
        if to == ADMIN {
            "250 2.1.5 ok"
        } else {
            "451 4.2.1 mailbox busy, try again later"
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    let patch = [("max_attempts = 3", "max_attempts = 50\nmax_retry_age_hours = 2")];
    deployment(&config, &feeds.uri(), sink.port, &patch);

    // 4xx: retried with backoff, not given up, however often.
    let first = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let pending = outbox_ids(&config, &data, "pending");
    assert!(pending.len() >= 3, "{pending:?}");
    assert!(outbox_ids(&config, &data, "failed").is_empty());

    // All but the first digest were queued three hours ago (the machine's clock cannot be
    // turned; the store's record of when a mail was queued can) and their retry is due.
    let (young, old) = pending.split_first().unwrap();
    let now = chrono::Utc::now();
    let mut conn = db(&data).await;
    sqlx::query("UPDATE outbox SET created = ?, next_attempt = ? WHERE status = 'pending' AND id != ?")
        .bind(stamp(now - chrono::Duration::hours(3)))
        .bind(stamp(now - chrono::Duration::seconds(1)))
        .bind(young.parse::<i64>().unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let second = foerderradar(&config, &data, &["notify"]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second.stdout));
    let mut failed = outbox_ids(&config, &data, "failed");
    failed.sort();
    let mut expected = old.to_vec();
    expected.sort();
    assert_eq!(failed, expected, "the old digests are given up");
    assert_eq!(
        outbox_ids(&config, &data, "pending"),
        std::slice::from_ref(young),
        "a young digest keeps being retried"
    );

    let notices: Vec<String> = sink.mails_to(ADMIN).iter().map(|m| decoded(&m.data)).collect();
    let notice = notices.join("\n");
    assert!(notice.contains("nicht zustellbar"), "{notice}");
    assert_eq!(
        notice.matches("max_retry_age_hours").count(),
        old.len(),
        "each given-up digest is named once, with the reason:\n{notice}"
    );
    assert!(notice.contains("(451): 4.2.1 mailbox busy"), "{notice}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_digest_names_broken_and_silent_sources_dead_letters_bouncing_addresses_and_feedback() {
    let feeds = fixture_server().await;
    // Beelen's address does not exist: a 5xx gives its digest up at once.
    let sink = SmtpSink::start(|to| {
        if to == "foerdermittel@beelen.example.org" {
            "550 5.1.1 mailbox unavailable"
        } else {
            "250 2.1.5 ok"
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    deployment(
        &config,
        &feeds.uri(),
        sink.port,
        &[("broken_after = 4", "broken_after = 1")],
    );

    let pass = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(pass.status.code(), Some(1), "{}", text(&pass.stderr));
    assert!(sink.mails_to("foerdermittel@beelen.example.org").is_empty());
    // The 5xx gave Beelen's digest up at once (one attempt), with a notice to the admin.
    let notices: Vec<String> = sink.mails_to(ADMIN).iter().map(|m| decoded(&m.data)).collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("- an foerdermittel@beelen.example.org:") && n.contains("nach 1 Versuch\r\n")),
        "{notices:#?}"
    );
    // The source `land` last delivered entries on 1 November (its other passes since found none).
    let mut conn = db(&data).await;
    sqlx::query("UPDATE source_runs SET at = '2026-11-01T05:00:00.000000Z' WHERE source = 'land'")
        .execute(&mut conn)
        .await
        .unwrap();
    // Feedback on the Dorfladen call (matched to the project dorfladenbox), recorded as
    // a person at the Kreis would.
    let call: String =
        sqlx::query_scalar("SELECT call_id FROM matches WHERE project = 'dorfladenbox' AND passed = 1 LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    for args in [
        ["dismiss", "--contact", "foerdermittel@ahlen.example.org"],
        ["dismiss", "--contact", "digital@ahlen.example.org"],
        ["dismiss", "--kommune", "Beelen"],
        ["passt", "--kommune", "kreis-warendorf"],
    ] {
        let mut args: Vec<&str> = std::iter::once("feedback").chain(args).collect();
        args.push(&call);
        let out = foerderradar(&config, &data, &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
    }
    conn.close().await.unwrap();

    let dry = foerderradar(&config, &data, &["admin-digest", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("nothing was stored or sent"));
    let before = sink.mails_to(ADMIN).len();

    let out = foerderradar(&config, &data, &["admin-digest"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("admin digest #"), "{}", text(&out.stdout));
    let mails = sink.mails_to(ADMIN);
    assert_eq!(mails.len(), before + 1, "one admin digest");
    let raw = &mails.last().unwrap().data;
    let digest = decoded(raw);
    for needle in [
        "Wochenbericht",
        "Punkte zu prüfen",
        "GESTÖRTE QUELLEN (2)",
        "- kaputt (Testfeed kaputt): 1 Fehlversuch, letzter Erfolg: nie; Fehler: ",
        "- defekt (Testfeed defekt)",
        "seit mindestens 14 Tagen keine Einträge (1)",
        "- land (Testfeed land): letzte Einträge am 01.11.2026",
        "UNZUSTELLBARE E-MAILS (1)",
        "an foerdermittel@beelen.example.org:",
        "(550): 5.1.1 mailbox unavailable",
        "ADRESSEN, DIE NICHT ANNEHMEN (1)",
        "- foerdermittel@beelen.example.org: 1 E-Mail aufgegeben, zuletzt: SMTP ",
        "- Smarte Dorfladenbox mit Paketterminal (Innenstadt & Dorfmitte): 3 × passt nicht (3 in diesem Zeitraum), 1 × passt",
    ] {
        assert!(digest.contains(needle), "{needle:?} not in\n{digest}");
    }
    assert!(!digest.contains("- bund ("), "bund delivered entries today:\n{digest}");
    // The HTML part: Outlook-safe and small.
    let message = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
    let html = message.body_html(0).expect("an HTML part").to_string();
    assert!(
        html.contains("width=\"640\"") && html.contains("Smarte Dorfladenbox"),
        "{html}"
    );
    assert!(!html.contains("<script") && !html.contains("max-width") && html.len() < 100_000);

    let (_, status) = status_json(&config, &data);
    let admin_job = job(&status, "admin_digest");
    assert!(admin_job["last_finished"].is_string(), "{status:#}");
    assert_eq!(admin_job["last_ok"], true);
    assert_eq!(admin_job["schedule"], "0 7 * * 1");

    // The next digest covers the time since this one: the dead letter is not repeated.
    let again = foerderradar(&config, &data, &["admin-digest"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let next = decoded(&sink.mails_to(ADMIN).last().unwrap().data);
    assert!(next.contains("UNZUSTELLBARE E-MAILS (0)"), "{next}");
    assert!(next.contains("3 × passt nicht, 1 × passt"), "the totals stay:\n{next}");
}

// ---- the daemon: catch-up and schedule groups ----

/// Cron lines that never come due during a test (1 January).
pub(crate) const YEARLY: [(&str, &str); 2] = [
    ("collect = \"0 6 * * 1-5\"", "collect = \"0 3 1 1 *\""),
    (
        "notify = \"0 7 * * 1-5\"",
        "notify = \"0 4 1 1 *\"\nadmin_digest = \"0 5 1 1 *\"",
    ),
];

pub(crate) fn spawn_daemon(config: &Path, data: &Path) -> std::process::Child {
    Process::new(assert_cmd::cargo::cargo_bin("foerderradar"))
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["--today", TODAY, "run"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn stop(mut daemon: std::process::Child) {
    signal(&daemon, "-TERM");
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

async fn job_run_count(data: &Path, job: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE job = ?")
        .bind(job)
        .fetch_one(&mut db(data).await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collect_missed_while_the_machine_was_off_runs_once_at_start_up() {
    let feeds = fixture_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    deployment(&config, &feeds.uri(), closed_port(), &YEARLY);
    assert_eq!(foerderradar(&config, &data, &["status"]).status.code(), Some(0));
    // The last collect ran on 2 June 2024; the machine was off over the slots of
    // 1 January 2025 and 2026. Notify and the admin digest never ran: nothing owed.
    let mut conn = db(&data).await;
    sqlx::query("INSERT INTO job_runs (job, started, finished, ok) VALUES ('collect', ?, ?, 1)")
        .bind("2024-06-02T01:00:00.000000Z")
        .bind("2024-06-02T01:10:00.000000Z")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let mut daemon = spawn_daemon(&config, &data);
    let lines = stderr_lines(&mut daemon);
    let owed = wait_for(&lines, "catching up once");
    assert!(owed.contains("collect") && owed.contains("2024-06-02"), "{owed}");
    let next = wait_for(&lines, "next job");
    assert!(
        next.contains("collect") && next.contains("2025-01-01"),
        "the first missed slot: {next}"
    );
    wait_for(&lines, "match done");
    // After the one run the daemon's next cron job is next year's slot, not another
    // missed one (it logs the next cron job whenever that changes).
    let after = wait_for(&lines, "next job");
    assert!(after.contains("collect") && after.contains("2027-01-01"), "{after}");
    stop(daemon);

    assert_eq!(
        job_run_count(&data, "collect").await,
        2,
        "one catch-up run for two missed slots"
    );
    assert_eq!(job_run_count(&data, "notify").await, 0);
    assert_eq!(job_run_count(&data, "admin_digest").await, 0);
    let finished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_runs WHERE job = 'collect' AND finished IS NOT NULL AND started > '2026'",
    )
    .fetch_one(&mut db(&data).await)
    .await
    .unwrap();
    assert_eq!(finished, 1);
    // A restart right after owes nothing.
    let mut daemon = spawn_daemon(&config, &data);
    let lines = stderr_lines(&mut daemon);
    let next = wait_for(&lines, "next job");
    assert!(next.contains("2027-01-01"), "{next}");
    stop(daemon);
    assert_eq!(job_run_count(&data, "collect").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_group_collects_only_its_sources_on_its_own_schedule() {
    let feeds = fixture_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    // `bund` every two seconds (the cron crate's 6-field syntax); the rest yearly.
    let mut patch = YEARLY.to_vec();
    patch.push(("[smtp]", "[schedule.groups]\nfast = \"*/2 * * * * *\"\n\n[smtp]"));
    deployment(&config, &feeds.uri(), closed_port(), &patch);
    let sources = sources_toml(&feeds.uri()).replacen("id = \"bund\"\n", "id = \"bund\"\nschedule = \"fast\"\n", 1);
    std::fs::write(config.join("sources.toml"), sources).unwrap();
    let check = foerderradar(&config, &data, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let table = text(&foerderradar(&config, &data, &["sources"]).stdout);
    let schedule_of = |id: &str| {
        let line = table.lines().find(|l| l.starts_with(&format!("{id} "))).unwrap();
        line.split_whitespace().nth(2).unwrap().to_string()
    };
    assert_eq!(
        (schedule_of("bund"), schedule_of("land")),
        ("collect:fast".into(), "collect".into()),
        "{table}"
    );

    let mut daemon = spawn_daemon(&config, &data);
    let lines = stderr_lines(&mut daemon);
    wait_for(&lines, "collect done");
    wait_for(&lines, "collect done");
    stop(daemon);

    let sources: Vec<String> = sqlx::query_scalar("SELECT DISTINCT source FROM source_runs")
        .fetch_all(&mut db(&data).await)
        .await
        .unwrap();
    assert_eq!(sources, ["bund"], "only the group's source was collected");
    assert!(job_run_count(&data, "collect:fast").await >= 2);
    assert_eq!(job_run_count(&data, "collect").await, 0);
    let (_, status) = status_json(&config, &data);
    let fast = job(&status, "collect:fast");
    assert_eq!(fast["schedule"], "*/2 * * * * *");
    assert!(fast["last_finished"].is_string(), "{status:#}");
    assert_eq!(fast["last_ok"], true);
}
