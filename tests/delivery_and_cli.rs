//! Hardening through the binary: mail servers that stall or refuse, credentials in the
//! log, the daemon's bounded shutdown, given-up mails in admin notices, hostile links in
//! digests, closed stdout pipes, the data-directory lock and empty or out-of-range config.
//! Every server runs on 127.0.0.1: the feeds on wiremock, SMTP on a scripted raw sink.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::pass::{
    TODAY, decoded, fixture_server, foerderradar, kommunen_toml, service_toml, signal, stderr_lines, wait_for,
    write_config,
};

const ADMIN: &str = "smart-region@kreis-warendorf.example.org";

// ---- a scripted SMTP server ----

/// How the sink answers.
#[derive(Clone)]
struct Script {
    /// `false`: accept the connection and never send the greeting.
    greet: bool,
    /// Mechanisms advertised after EHLO ("" for none).
    auth: &'static str,
    /// The reply to `RCPT TO` for a recipient address.
    rcpt: fn(&str) -> &'static str,
    /// How long the reply to the end of DATA is held back.
    data_reply_delay: Duration,
}

impl Script {
    fn accept_all() -> Script {
        Script {
            greet: true,
            auth: "",
            rcpt: |_| "250 2.1.5 ok",
            data_reply_delay: Duration::ZERO,
        }
    }
}

/// One message the sink accepted.
#[derive(Clone, Debug)]
struct Accepted {
    to: Vec<String>,
    data: String,
}

#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    /// Client lines of every AUTH exchange (the command and the answers to challenges).
    auth_lines: Mutex<Vec<String>>,
    accepted: Mutex<Vec<Accepted>>,
}

struct SmtpSink {
    port: u16,
    seen: Arc<Seen>,
}

impl SmtpSink {
    fn start(script: Script) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let (script, seen) = (script.clone(), shared.clone());
                std::thread::spawn(move || {
                    let _ = converse(stream, &script, &seen);
                });
            }
        });
        SmtpSink { port, seen }
    }

    fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    fn auth_lines(&self) -> Vec<String> {
        self.seen.auth_lines.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Accepted> {
        self.seen.accepted.lock().unwrap().clone()
    }
}

fn converse(stream: TcpStream, script: &Script, seen: &Seen) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    if !script.greet {
        // Hold the connection open, silent, until the client gives up.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
        return Ok(());
    }
    let say = |out: &mut TcpStream, line: &str| out.write_all(format!("{line}\r\n").as_bytes());
    say(&mut out, "220 sink.test ESMTP")?;
    let mut recipients = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                if !script.auth.is_empty() {
                    say(&mut out, &format!("250-AUTH {}", script.auth))?;
                }
                say(&mut out, "250 sink.test")?;
            }
            "AUTH" => {
                seen.auth_lines.lock().unwrap().push(line.clone());
                let mechanism = line.split_whitespace().nth(1).unwrap_or_default().to_ascii_uppercase();
                let inline = line.split_whitespace().nth(2).is_some();
                let challenges: &[&str] = match mechanism.as_str() {
                    "LOGIN" => &["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"],
                    "PLAIN" if !inline => &["334 "],
                    _ => &[],
                };
                for challenge in challenges {
                    say(&mut out, challenge)?;
                    let mut answer = String::new();
                    reader.read_line(&mut answer)?;
                    seen.auth_lines.lock().unwrap().push(answer.trim_end().to_string());
                }
                say(&mut out, "235 2.7.0 authenticated")?;
            }
            "MAIL" => {
                recipients.clear();
                say(&mut out, "250 2.1.0 ok")?;
            }
            "RCPT" => {
                let address = line.split(['<', '>']).nth(1).unwrap_or_default().to_ascii_lowercase();
                let reply = (script.rcpt)(&address);
                if reply.starts_with("250") {
                    recipients.push(address);
                }
                say(&mut out, reply)?;
            }
            "DATA" => {
                say(&mut out, "354 end with <CRLF>.<CRLF>")?;
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
                std::thread::sleep(script.data_reply_delay);
                seen.accepted.lock().unwrap().push(Accepted {
                    to: recipients.clone(),
                    data,
                });
                say(&mut out, "250 2.0.0 queued")?;
            }
            "RSET" | "NOOP" => say(&mut out, "250 2.0.0 ok")?,
            "QUIT" => {
                say(&mut out, "221 2.0.0 bye")?;
                return Ok(());
            }
            _ => say(&mut out, "502 5.5.2 not implemented")?,
        }
    }
}

// ---- set-up ----

/// The pass test's deployment with the SMTP server on `port`, `patch` applied to
/// foerderradar.toml (pairs of from → to).
fn deployment(config: &Path, base: &str, port: u16, patch: &[(&str, &str)]) {
    write_config(config, base, port);
    let mut service = service_toml(port);
    for (from, to) in patch {
        assert!(service.contains(from), "service_toml has no {from:?}");
        service = service.replace(from, to);
    }
    std::fs::write(config.join("foerderradar.toml"), service).unwrap();
}

/// Schedules that never fire during a test.
const QUIET_SCHEDULES: [(&str, &str); 2] = [("0 6 * * 1-5", "0 3 1 1 *"), ("0 7 * * 1-5", "0 4 1 1 *")];

fn collect_and_match(config: &Path, data: &Path) {
    let collect = foerderradar(config, data, &["collect"]);
    assert_ne!(
        collect.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&collect.stderr)
    );
    let matched = foerderradar(config, data, &["match"]);
    assert!(matched.status.success(), "{}", String::from_utf8_lossy(&matched.stderr));
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Outbox lines (`outbox --status S`) for digests, not admin notices.
fn outbox_digests(config: &Path, data: &Path, status: &str) -> Vec<String> {
    let out = foerderradar(config, data, &["outbox", "--status", status]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        // Mail lines start with the mail's id (not the header, not "outbox: no … mails").
        .filter(|l| l.split_whitespace().next().is_some_and(|id| id.parse::<i64>().is_ok()))
        .filter(|l| !l.contains(ADMIN))
        .map(str::to_string)
        .collect()
}

fn daemon(config: &Path, data: &Path, extra_env: &[(&str, &str)]) -> Child {
    let mut command = Process::new(assert_cmd::cargo::cargo_bin("foerderradar"));
    command
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["--today", TODAY, "run"])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in extra_env {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

// ---- item 2: SMTP deadlines and the daemon's bounded shutdown ----

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_greets_costs_one_timeout_and_loses_nothing() {
    let feeds = fixture_server().await;
    let silent = SmtpSink::start(Script {
        greet: false,
        ..Script::accept_all()
    });
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    deployment(
        &config,
        &feeds.uri(),
        silent.port,
        &[("timeout_secs = 5\n\n[http]", "timeout_secs = 2\n\n[http]")],
    );
    collect_and_match(&config, &data);

    let started = Instant::now();
    let notify = foerderradar(&config, &data, &["notify"]);
    let took = started.elapsed();
    eprintln!("measured: notify against a server that never greets (timeout_secs = 2) took {took:?}");
    assert_eq!(notify.status.code(), Some(1), "{}", stderr(&notify));
    // One deadline for the first mail; the others wait for the retry without stalling again.
    assert!(took < Duration::from_secs(15), "notify took {took:?}");
    assert!(silent.connections() >= 1);
    let pending = outbox_digests(&config, &data, "pending");
    assert!(pending.len() >= 2, "{pending:#?}");
    assert!(pending.iter().any(|l| l.contains("timeout_secs")), "{pending:#?}");
    assert!(outbox_digests(&config, &data, "failed").is_empty());
    assert!(outbox_digests(&config, &data, "sent").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_reply_held_back_for_a_minute_is_not_waited_for() {
    let feeds = fixture_server().await;
    let slow = SmtpSink::start(Script {
        data_reply_delay: Duration::from_secs(60),
        ..Script::accept_all()
    });
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    deployment(
        &config,
        &feeds.uri(),
        slow.port,
        &[("timeout_secs = 5\n\n[http]", "timeout_secs = 3\n\n[http]")],
    );
    collect_and_match(&config, &data);

    let started = Instant::now();
    let notify = foerderradar(&config, &data, &["notify"]);
    let took = started.elapsed();
    eprintln!("measured: notify against a 60 s DATA reply (timeout_secs = 3) took {took:?}");
    assert_eq!(notify.status.code(), Some(1), "{}", stderr(&notify));
    assert!(took < Duration::from_secs(20), "notify took {took:?}");
    // The server got the data but never confirmed it: the mail is pending, not sent.
    assert!(outbox_digests(&config, &data, "sent").is_empty());
    assert!(!outbox_digests(&config, &data, "pending").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_stops_within_its_grace_while_a_delivery_stalls() {
    let feeds = fixture_server().await;
    let silent = SmtpSink::start(Script {
        greet: false,
        ..Script::accept_all()
    });
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    // First a refusing port: the digests are enqueued and wait for a retry in about a second.
    let refused = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_port = refused.local_addr().unwrap().port();
    drop(refused);
    deployment(&config, &feeds.uri(), refused_port, &[]);
    collect_and_match(&config, &data);
    let notify = foerderradar(&config, &data, &["notify"]);
    assert_eq!(notify.status.code(), Some(1), "{}", stderr(&notify));
    let pending_before = outbox_digests(&config, &data, "pending").len();
    assert!(pending_before >= 2);

    // Now a server that stalls far longer than the grace.
    let mut patch = QUIET_SCHEDULES.to_vec();
    patch.push(("timeout_secs = 5\n\n[http]", "timeout_secs = 600\n\n[http]"));
    patch.push((
        "retry_base_secs = 1\n",
        "retry_base_secs = 1\n\n[daemon]\nshutdown_grace_secs = 2\n",
    ));
    deployment(&config, &feeds.uri(), silent.port, &patch);
    let mut child = daemon(&config, &data, &[]);
    let lines = stderr_lines(&mut child);
    wait_for(&lines, "daemon started");
    let deadline = Instant::now() + Duration::from_secs(30);
    while silent.connections() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(silent.connections() > 0, "the retry tick never connected");
    std::thread::sleep(Duration::from_millis(300));

    let asked = Instant::now();
    signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(15));
    let took = asked.elapsed();
    eprintln!("measured: SIGTERM to exit with a stalled delivery (grace 2 s) took {took:?}");
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("the daemon ignored SIGTERM for 15 s");
    };
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(8),
        "stopping took {took:?} with a grace of 2 s"
    );
    assert_eq!(outbox_digests(&config, &data, "pending").len(), pending_before);
    assert!(outbox_digests(&config, &data, "sent").is_empty());
}

// ---- item 8: credentials never in the log; item 12f: no pool chatter ----

const USER: &str = "foerderradar-login";
const PASSWORD: &str = "Gehe1m!Pa55wort-7f3a";

#[tokio::test(flavor = "multi_thread")]
async fn no_log_level_writes_the_smtp_credentials() {
    let feeds = fixture_server().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let seed = tmp.path().join("seed");
    let plain = SmtpSink::start(Script {
        auth: "PLAIN LOGIN",
        ..Script::accept_all()
    });
    let login = SmtpSink::start(Script {
        auth: "LOGIN",
        ..Script::accept_all()
    });
    let credentials = "tls = \"none\"\nuser = \"foerderradar-login\"\npassword_env = \"FOERDERRADAR_TEST_SMTP_SECRET\"";
    deployment(&config, &feeds.uri(), plain.port, &[("tls = \"none\"", credentials)]);
    collect_and_match(&config, &seed);

    let secrets = [
        PASSWORD.to_string(),
        BASE64.encode(format!("\0{USER}\0{PASSWORD}")),
        BASE64.encode(format!("{USER}\0{PASSWORD}")),
        BASE64.encode(PASSWORD),
    ];
    let runs: [(&SmtpSink, &[&str], Option<&str>); 5] = [
        (&plain, &["-v"], None),
        (&plain, &["-vv"], None),
        (&plain, &["-vvv"], None),
        (&login, &["-vv"], None),
        (&plain, &["-vv"], Some("trace")),
    ];
    for (i, (sink, flags, rust_log)) in runs.into_iter().enumerate() {
        let data = tmp.path().join(format!("data-{i}"));
        copy_dir(&seed, &data);
        deployment(&config, &feeds.uri(), sink.port, &[("tls = \"none\"", credentials)]);
        let auths_before = sink.auth_lines().len();
        let mut command = assert_cmd::Command::cargo_bin("foerderradar").unwrap();
        command
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(&data)
            .args(["--today", TODAY])
            .args(flags.iter())
            .arg("notify")
            .env("FOERDERRADAR_TEST_SMTP_SECRET", PASSWORD)
            .env_remove("RUST_LOG")
            .timeout(Duration::from_secs(120));
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let out = command.output().unwrap();
        let log = stderr(&out);
        assert!(out.status.success(), "{flags:?}: {log}");
        assert!(
            sink.auth_lines().len() > auths_before,
            "{flags:?}: the client never logged in"
        );
        assert!(
            log.lines().count() > 3,
            "{flags:?}: the log is too short to mean anything:\n{log}"
        );
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "{flags:?} {rust_log:?}: credential in the log:\n{log}"
            );
        }
        assert!(
            !log.contains("AUTH PLAIN") && !log.contains("AUTH LOGIN"),
            "{flags:?}:\n{log}"
        );
    }
    // The sinks saw the real credentials, so the greps above looked for the right strings.
    let seen = [plain.auth_lines(), login.auth_lines()].concat();
    assert!(seen.iter().any(|l| l.contains(&secrets[1])), "{seen:#?}");
    assert!(seen.iter().any(|l| l.contains(&secrets[3])), "{seen:#?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

// ---- item 12b: match takes the lock; item 12f: the daemon does not chatter about lettre's pool ----

#[tokio::test(flavor = "multi_thread")]
async fn match_is_refused_while_the_daemon_works_and_the_daemon_log_stays_quiet() {
    let feeds = fixture_server().await;
    let sink = SmtpSink::start(Script::accept_all());
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    deployment(&config, &feeds.uri(), sink.port, &QUIET_SCHEDULES);
    collect_and_match(&config, &data);

    let mut child = daemon(&config, &data, &[]);
    let lines = stderr_lines(&mut child);
    wait_for(&lines, "daemon started");
    let matched = foerderradar(&config, &data, &["match"]);
    assert_eq!(matched.status.code(), Some(2), "{}", stdout(&matched));
    assert!(
        stderr(&matched).contains("another foerderradar process"),
        "{}",
        stderr(&matched)
    );
    assert!(
        stdout(&matched).is_empty(),
        "match did work while locked: {}",
        stdout(&matched)
    );

    // Retry ticks every second (retry_base_secs = 1); watch the default-level log for a while.
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if let Ok(line) = lines.recv_timeout(left) {
            seen.push(line);
        }
    }
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(15)).is_some_and(|s| s.success()));
    let chatter: Vec<_> = seen
        .iter()
        .filter(|l| l.contains("Pool") || l.contains("lettre"))
        .collect();
    assert!(chatter.is_empty(), "{chatter:#?}");
}

// ---- item 10: every given-up mail reaches the admin ----

/// Beelen with ten contacts: with Ahlen's two, at least ten digests per pass.
fn many_contacts() -> String {
    let mut text = kommunen_toml().to_string();
    for i in 1..=9 {
        text.push_str(&format!(
            "\n[[kommune.contact]]\nname = \"Kontakt {i}\"\nemail = \"kontakt{i}@beelen.example.org\"\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn every_given_up_digest_is_listed_in_an_admin_notice() {
    let feeds = fixture_server().await;
    // Digests are refused with a 5xx reply that is worth a retry; the admin's mail gets through.
    let sink = SmtpSink::start(Script {
        rcpt: |to| {
            if to == ADMIN {
                "250 2.1.5 ok"
            } else {
                "530 5.7.0 relay not permitted right now"
            }
        },
        ..Script::accept_all()
    });
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    let patch = [
        ("max_attempts = 3", "max_attempts = 2"),
        ("broken_after = 4", "broken_after = 2"),
    ];
    deployment(&config, &feeds.uri(), sink.port, &patch);
    std::fs::write(config.join("kommunen.toml"), many_contacts()).unwrap();

    // Pass 1: every digest fails once and waits a second for its retry.
    let first = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let digests = outbox_digests(&config, &data, "pending");
    assert!(digests.len() >= 10, "{digests:#?}");
    std::thread::sleep(Duration::from_millis(2500));

    // A collect breaks a source; the notice about it goes out together with the due retries,
    // which are given up in that very delivery.
    let collect = foerderradar(&config, &data, &["collect"]);
    assert_eq!(collect.status.code(), Some(1), "{}", stderr(&collect));
    let failed = outbox_digests(&config, &data, "failed");
    assert_eq!(failed.len(), digests.len(), "{failed:#?}");

    let notices: Vec<String> = sink
        .accepted()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == ADMIN))
        .map(|m| decoded(&m.data))
        .collect();
    let text = notices.join("\n");
    assert!(text.contains("kaputt"), "the broken source is reported:\n{text}");
    for line in &failed {
        let contact = line
            .split_whitespace()
            .find(|w| w.contains('@'))
            .expect("outbox line names the contact");
        assert_eq!(
            text.matches(&format!("- an {contact}:")).count(),
            1,
            "{contact} is not reported exactly once:\n{text}"
        );
    }
}

// ---- item 7: hostile links never become links ----

const HOSTILE_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
  <title>Feindliche Links</title>
  <link>https://feind.example/</link>
  <description>Test</description>
  {items}
</channel>
</rss>"#;

const HOSTILE_LINKS: [&str; 4] = [
    "javascript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "  JaVaScRiPt:alert(2)",
];

#[tokio::test(flavor = "multi_thread")]
async fn hostile_feed_links_are_no_hrefs_in_the_digest() {
    let feeds = MockServer::start().await;
    let items: String = HOSTILE_LINKS
        .iter()
        .enumerate()
        .map(|(i, link)| {
            format!(
                "<item><title>Glasfaser Sonderaufruf {i} für Gewerbegebiete</title><link>{link}</link>\
                 <guid>hostile-{i}</guid><pubDate>Mon, 23 Nov 2026 08:00:00 +0100</pubDate>\
                 <description>Der Bund fördert den Glasfaserausbau. Antragsberechtigt sind Kommunen und \
                 Landkreise. Die Förderung erfolgt bundesweit. Anträge bis zum 31.03.2027.</description></item>"
            )
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/feeds/feind.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/rss+xml; charset=utf-8")
                .set_body_string(HOSTILE_FEED.replace("{items}", &items)),
        )
        .mount(&feeds)
        .await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config, &feeds.uri(), 25);
    // No [smtp]: the digests are written as .eml files.
    let service = service_toml(25);
    let service = service[..service.find("[smtp]").unwrap()].to_string() + &service[service.find("[http]").unwrap()..];
    std::fs::write(config.join("foerderradar.toml"), service).unwrap();
    std::fs::write(
        config.join("sources.toml"),
        format!(
            "[[source]]\nid = \"feind\"\nkind = \"rss\"\nurl = \"{}/feeds/feind.xml\"\nlabel = \"Feind\"\n",
            feeds.uri()
        ),
    )
    .unwrap();
    let pass = foerderradar(&config, &data, &["run", "--once"]);
    assert!(pass.status.success(), "{}\n{}", stdout(&pass), stderr(&pass));

    let mut htmls = Vec::new();
    for entry in std::fs::read_dir(data.join("outbox")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        htmls.push(message.body_html(0).expect("an HTML part").into_owned());
    }
    assert!(!htmls.is_empty());
    let html = htmls.join("\n");
    assert!(
        html.contains("Glasfaser Sonderaufruf 0"),
        "the calls are in the digest:\n{html}"
    );
    let lower = html.to_ascii_lowercase();
    for scheme in ["javascript:", "data:", "file:"] {
        assert!(
            !lower.contains(&format!("href=\"{scheme}")),
            "{scheme} link in:\n{html}"
        );
        assert!(
            !lower.contains(&format!("href=\"  {scheme}")),
            "{scheme} link in:\n{html}"
        );
    }
    for href in lower.split("href=\"").skip(1) {
        assert!(
            href.starts_with("http://") || href.starts_with("https://") || href.starts_with("mailto:"),
            "{href}"
        );
    }

    // The HTML and Markdown reports apply the same rule.
    for format in ["html", "md", "json", "csv"] {
        let report = foerderradar(&config, &data, &["report", "--format", format, "--all"]);
        assert!(report.status.success(), "{}", stderr(&report));
        let text = stdout(&report).to_ascii_lowercase();
        assert!(text.contains("glasfaser sonderaufruf"), "{format}: {text}");
        for link in HOSTILE_LINKS {
            assert!(!text.contains(&link.trim().to_ascii_lowercase()), "{format}: {text}");
        }
    }
}

// ---- item 6: a reader that goes away ----

#[tokio::test(flavor = "multi_thread")]
async fn closed_stdout_ends_quietly() {
    let feeds = fixture_server().await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    deployment(&config, &feeds.uri(), 25, &[]);
    collect_and_match(&config, &data);
    for args in [
        &["calls", "list"][..],
        &["report", "--format", "csv", "--all"],
        &["report", "--format", "md", "--all"],
        &["check"],
        &["sources"],
        &["outbox"],
    ] {
        let mut child = Process::new(assert_cmd::cargo::cargo_bin("foerderradar"))
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(&data)
            .args(["--today", TODAY])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line is written.
        drop(child.stdout.take());
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = wait_exit(&mut child, Duration::from_secs(60)).expect("the command ends");
        assert_ne!(status.code(), Some(101), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
    }
}

// ---- items 5 and 12c: config that must not pass `check` ----

#[test]
fn check_refuses_numbers_beyond_their_range_and_empty_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let data = tmp.path().join("data");
    let cases: [(&str, &str, &str, &str, &str); 5] = [
        (
            "foerderradar.toml",
            "retry_base_secs = 1",
            "retry_base_secs = 10000000000000",
            "notify.retry_base_secs",
            "allowed: 1 to 86400",
        ),
        (
            "foerderradar.toml",
            "retries = 1",
            "retries = 1\nmax_body_mb = 17592186044416",
            "http.max_body_mb",
            "allowed: 1 to 1024",
        ),
        (
            "foerderradar.toml",
            "retries = 1",
            "retries = 1\nmax_body_mb = 9223372036854775807",
            "http.max_body_mb",
            "allowed: 1 to 1024",
        ),
        ("sources.toml", "", "", "", "no [[source]]"),
        ("kommunen.toml", "", "", "", "no [[kommune]]"),
    ];
    for (file, from, to, key, expected) in cases {
        write_config(&config, "http://127.0.0.1:9", 2525);
        let path = config.join(file);
        let text = if from.is_empty() {
            "# nothing configured yet\n".to_string()
        } else {
            std::fs::read_to_string(&path).unwrap().replacen(from, to, 1)
        };
        std::fs::write(&path, &text).unwrap();
        let out = foerderradar(&config, &data, &["check"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{file} {to}: {err}");
        let line = err
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("{file} {to}: no '{expected}' in:\n{err}"));
        assert!(line.contains(file), "{line}");
        if !key.is_empty() {
            let at = text[..text.find(&to[to.rfind('\n').map_or(0, |i| i + 1)..]).unwrap()]
                .matches('\n')
                .count()
                + 1;
            assert!(line.contains(&format!("{file}:{at}: {key}:")), "{line}");
        }
    }
    // The daemon-relevant bounds hold at run time too: `run` refuses the same config.
    write_config(&config, "http://127.0.0.1:9", 2525);
    let path = config.join("foerderradar.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("retry_base_secs = 1", "retry_base_secs = 10000000000000"),
    )
    .unwrap();
    let run = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("notify.retry_base_secs"));
}
