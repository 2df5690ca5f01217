//! The whole pass, end to end, through the binary: a fixture HTTP server with two
//! RSS feeds and one Atom feed (plus a failing and a malformed feed) and a real
//! SMTP server, both on 127.0.0.1; collect → match → notify; then a second pass.

use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TODAY: &str = "2026-11-26";

const BUND_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
  <title>Förderaufrufe des Bundes</title>
  <link>https://bund.example/</link>
  <description>Neue Förderaufrufe</description>
  <item>
    <title>Gigabitförderung: Sonderaufruf Glasfaser für Gewerbegebiete</title>
    <link>{base}/calls/gigabit-gewerbe.html?utm_source=rss</link>
    <guid>gigabit-gewerbe-2027</guid>
    <pubDate>Mon, 23 Nov 2026 08:00:00 +0100</pubDate>
    <description><![CDATA[<p>Der Bund fördert den Glasfaserausbau in unterversorgten Gewerbegebieten.
      Antragsberechtigt sind Kommunen und Landkreise. Die Förderung erfolgt bundesweit.
      Gefördert werden bis zu 90 Prozent der zuwendungsfähigen Ausgaben.</p>
      <p>Anträge können bis zum 31.03.2027 eingereicht werden.</p>]]></description>
  </item>
  <item>
    <title>Kommunale Radwege: Förderung von Radverkehrsinfrastruktur</title>
    <link>{base}/calls/radwege.html</link>
    <pubDate>Tue, 24 Nov 2026 09:30:00 +0100</pubDate>
    <description><![CDATA[Gefördert werden Kommunen beim Bau von Radwegen und Radverkehrsanlagen in Nordrhein-Westfalen.
      Förderquote bis zu 75 %. Einreichungsfrist: 15.05.2027.]]></description>
  </item>
</channel>
</rss>"#;

const LAND_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Förderangebote NRW</title>
  <link>https://land.example/</link>
  <description>Förderangebote</description>
  <item>
    <title>LEADER-Projektaufruf 2027: Nahversorgung und Dorfläden in der Region 9Plus</title>
    <link>{base}/calls/leader-dorfladen.html</link>
    <dc:date>2026-11-20T10:00:00+01:00</dc:date>
    <description><![CDATA[Die LEADER-Region 9Plus im Kreis Warendorf ruft Projekte zur Sicherung der Nahversorgung auf,
      etwa Dorfläden mit Paketstation. Antragsberechtigt sind Gemeinden und Vereine in der LEADER-Region 9Plus.
      Projektskizzen sind bis zum 28.02.2027 einzureichen.]]></description>
  </item>
  <item>
    <title>Digitalisierung im Mittelstand: Zuschüsse für Glasfaser-Hausanschlüsse von Unternehmen</title>
    <link>{base}/calls/kmu-digital.html</link>
    <dc:date>2026-11-21T10:00:00+01:00</dc:date>
    <description><![CDATA[Antragsberechtigt sind ausschließlich kleine und mittlere Unternehmen (KMU).
      Gefördert werden Glasfaser-Hausanschlüsse. Frist: 30.06.2027.]]></description>
  </item>
</channel>
</rss>"#;

const EU_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>EU-Förderaufrufe</title>
  <id>urn:example:eu</id>
  <updated>2026-11-25T12:00:00Z</updated>
  <entry>
    <title>Interreg: Grenzüberschreitende Radverkehrsnetze (abgelaufen)</title>
    <id>urn:example:eu:interreg-rad</id>
    <link href="{base}/calls/interreg-rad.html"/>
    <updated>2026-11-25T12:00:00Z</updated>
    <summary type="html">&lt;p&gt;Kommunen können Radwege grenzüberschreitend planen. Die Frist endete am 30.09.2026.&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Glasfaser für Schulen: Gigabitanschlüsse für kommunale Schulträger</title>
    <id>urn:example:eu:gigabit-schulen</id>
    <link href="{base}/calls/gigabit-schulen.html"/>
    <updated>2026-11-25T12:00:00Z</updated>
    <summary type="html">&lt;p&gt;Antragsberechtigt sind Kommunen als Schulträger, EU-weit. Gefördert wird der Glasfaseranschluss von Schulen. Anträge laufend möglich.&lt;/p&gt;</summary>
  </entry>
</feed>"#;

pub(crate) fn strategy_toml() -> &'static str {
    r#"
[criteria]
applicants = ["kommune", "kreis", "zweckverband", "oeffentliche-einrichtung"]
home_regions = ["Kreis Warendorf", "Münsterland"]
min_lead_days = 7

[[handlungsfeld]]
id = "digitale-infrastruktur"
name = "Digitale Infrastruktur"
description = "Netze und Plattformen"
threshold = 1.0
rules = [ { expr = 'Glasfaser OR Gigabit OR Breitband', weight = 2.0 } ]

[[handlungsfeld]]
id = "klima-mobilitaet-umwelt"
name = "Klimaschutz, Mobilität & Umwelt"
description = "Klima und Verkehr"
threshold = 1.0
rules = [ { expr = 'Radweg OR Radverkehr', weight = 2.0 } ]

[[handlungsfeld]]
id = "innenstadt-dorfmitte"
name = "Innenstadt & Dorfmitte"
description = "Ortskerne"
threshold = 1.0
rules = [ { expr = 'Innenstadt OR Ortskern', weight = 2.0 } ]

[[project]]
id = "dorfladenbox"
name = "Smarte Dorfladenbox mit Paketterminal"
handlungsfeld = "innenstadt-dorfmitte"
type = "potenzialprojekt"
confirmed = true
description = "Nahversorgung im Dorf"
threshold = 1.0
rules = [ { expr = 'Dorfladen OR Nahversorgung OR Paketstation', weight = 2.0 } ]
"#
}

pub(crate) fn kommunen_toml() -> &'static str {
    r#"
[[region]]
id = "leader-9plus"
name = "LEADER-Region 9Plus im Kreis Warendorf"
aliases = ["9Plus", "LEADER-Region 9Plus"]

[[kommune]]
id = "kreis-warendorf"
name = "Kreis Warendorf"
kind = "kreis"
ags = "05570"
population = 283295
memberships = [ { region = "leader-9plus" } ]

[[kommune]]
id = "ahlen"
name = "Ahlen"
kind = "stadt"
ags = "05570004"
population = 53348
mittlere_kreisangehoerige_stadt = true

[[kommune.contact]]
name = "Fördermittelmanagement"
email = "foerdermittel@ahlen.example.org"

[[kommune.contact]]
name = "Digitalisierung"
email = "digital@ahlen.example.org"
handlungsfelder = ["digitale-infrastruktur"]

[[kommune]]
id = "beelen"
name = "Beelen"
kind = "gemeinde"
ags = "05570012"
population = 6217
memberships = [ { region = "leader-9plus" } ]

[[kommune.contact]]
name = "Fördermittel"
email = "foerdermittel@beelen.example.org"
"#
}

pub(crate) fn service_toml(smtp_port: u16) -> String {
    format!(
        r#"
data_dir = "data"
timezone = "Europe/Berlin"
sender = "foerderradar@kreis-warendorf.example.org"
admin = "smart-region@kreis-warendorf.example.org"

[schedule]
collect = "0 6 * * 1-5"
notify = "0 7 * * 1-5"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
timeout_secs = 5

[http]
timeout_secs = 5
min_delay_ms = 0
retries = 1
source_budget_secs = 20
broken_after = 4

[notify]
max_attempts = 3
retry_base_secs = 1
"#
    )
}

pub(crate) fn sources_toml(base: &str) -> String {
    let source = |id: &str, file: &str| {
        format!(
            "[[source]]\nid = \"{id}\"\nkind = \"rss\"\nurl = \"{base}/feeds/{file}\"\nlabel = \"Testfeed {id}\"\n\n"
        )
    };
    [
        source("bund", "bund.xml"),
        source("land", "land.xml"),
        source("eu", "eu.atom"),
        source("kaputt", "kaputt.xml"),
        source("defekt", "defekt.xml"),
    ]
    .concat()
}

pub(crate) async fn fixture_server() -> MockServer {
    let server = MockServer::start().await;
    let base = server.uri();
    let feed = |body: &str, ctype: &str| {
        ResponseTemplate::new(200)
            .insert_header("content-type", ctype)
            .set_body_string(body.replace("{base}", &base))
    };
    Mock::given(method("GET"))
        .and(path("/feeds/bund.xml"))
        .respond_with(feed(BUND_FEED, "application/rss+xml; charset=utf-8"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/land.xml"))
        .respond_with(feed(LAND_FEED, "application/rss+xml"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/eu.atom"))
        .respond_with(feed(EU_FEED, "application/atom+xml"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/kaputt.xml"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/defekt.xml"))
        .respond_with(feed(
            "<rss><channel><title>kaputt</title><item><title>ohne Ende",
            "application/rss+xml",
        ))
        .mount(&server)
        .await;
    server
}

/// An SMTP server on a free loopback port; every received mail arrives on the channel.
pub(crate) fn smtp_server() -> (u16, mpsc::Receiver<mogimail::Email>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    // mogimail serves one connection at a time; a delivery may hold one connection open
    // in its pool while opening another, so several servers share the socket.
    for _ in 0..4 {
        let (listener, tx) = (listener.try_clone().unwrap(), tx.clone());
        std::thread::spawn(move || {
            let _ = mogimail::SmtpServer::new("smtp.test").start_with_listener(listener, tx);
        });
    }
    (port, rx)
}

pub(crate) fn write_config(dir: &Path, base: &str, smtp_port: u16) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("foerderradar.toml"), service_toml(smtp_port)).unwrap();
    std::fs::write(dir.join("sources.toml"), sources_toml(base)).unwrap();
    std::fs::write(dir.join("strategy.toml"), strategy_toml()).unwrap();
    std::fs::write(dir.join("kommunen.toml"), kommunen_toml()).unwrap();
}

pub(crate) fn foerderradar(config: &Path, data: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("foerderradar")
        .unwrap()
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["--today", TODAY])
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

/// Mails received within a short wait, as (recipient, raw message).
pub(crate) fn received(rx: &mpsc::Receiver<mogimail::Email>) -> Vec<(String, String)> {
    let mut mails = Vec::new();
    while let Ok(mail) = rx.recv_timeout(Duration::from_millis(500)) {
        for to in &mail.to {
            mails.push((to.trim_matches(|c| c == '<' || c == '>').to_string(), mail.data.clone()));
        }
    }
    mails.sort();
    mails
}

fn mail_for<'a>(mails: &'a [(String, String)], to: &str) -> &'a str {
    mails
        .iter()
        .find(|(r, _)| r == to)
        .map(|(_, m)| m.as_str())
        .unwrap_or_else(|| panic!("no mail for {to}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn whole_pass_routes_calls_to_the_right_contacts_and_never_twice() {
    let server = fixture_server().await;
    let (smtp_port, rx) = smtp_server();
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config, &server.uri(), smtp_port);

    let check = foerderradar(&config, &data, &["check"]);
    assert!(
        check.status.success(),
        "check failed: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Stage by stage first, with a dry run of the digests: it shows them and sends nothing.
    assert_eq!(
        foerderradar(&config, &data, &["collect"]).status.code(),
        Some(1),
        "two feeds fail"
    );
    assert!(foerderradar(&config, &data, &["match"]).status.success());
    let dry = foerderradar(&config, &data, &["notify", "--dry-run"]);
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success() && dry_out.contains("3 digest(s) would be enqueued"),
        "{dry_out}"
    );
    assert!(
        dry_out.contains("foerdermittel@beelen.example.org") && dry_out.contains("LEADER-Projektaufruf"),
        "{dry_out}"
    );

    let first = foerderradar(&config, &data, &["run", "--once"]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    // Two feeds fail; the pass still completes, reports them and exits 1.
    assert_eq!(
        first.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains("FAILED") && stdout.contains("kaputt") && stdout.contains("defekt"),
        "{stdout}"
    );
    for ok in ["bund", "land", "eu"] {
        assert!(
            stdout.lines().any(|l| l.contains("ok") && l.contains(ok)),
            "source {ok} missing in: {stdout}"
        );
    }

    let received_mails = tokio::task::spawn_blocking(move || (received(&rx), rx)).await.unwrap();
    let (received_mails, rx) = received_mails;
    let recipients: Vec<_> = received_mails.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(
        recipients,
        [
            "digital@ahlen.example.org",
            "foerdermittel@ahlen.example.org",
            "foerdermittel@beelen.example.org"
        ],
        "one mail per contact"
    );
    // The SMTP sink drops blank lines, so the content is read from the outbox copy of each sent mail,
    // matched to what the server received by its Message-ID.
    let sent = sent_mails(&data).await;
    for (to, raw) in &received_mails {
        let (_, message) = sent
            .iter()
            .find(|(contact, _)| contact == to)
            .expect("outbox has the sent mail");
        let id = mail_parser::MessageParser::default()
            .parse(message.as_bytes())
            .unwrap()
            .message_id()
            .unwrap()
            .to_string();
        assert!(raw.contains(&id), "received mail for {to} is the outbox mail {id}");
    }
    let ahlen = mail_for(&sent, "foerdermittel@ahlen.example.org");
    let digital = mail_for(&sent, "digital@ahlen.example.org");
    let beelen = mail_for(&sent, "foerdermittel@beelen.example.org");
    let has = |mail: &str, needle: &str| decoded(mail).contains(needle);

    assert!(
        has(ahlen, "Sonderaufruf Glasfaser")
            && has(ahlen, "Radverkehrsinfrastruktur")
            && has(ahlen, "Glasfaser für Schulen"),
        "{}",
        decoded(ahlen)
    );
    assert!(
        !has(ahlen, "LEADER-Projektaufruf"),
        "a LEADER 9Plus call must not reach Ahlen"
    );
    assert!(
        has(beelen, "LEADER-Projektaufruf") && has(beelen, "Sonderaufruf Glasfaser"),
        "{}",
        decoded(beelen)
    );
    assert!(
        has(digital, "Sonderaufruf Glasfaser") && !has(digital, "Radverkehrsinfrastruktur"),
        "narrowed subscription"
    );
    for mail in [ahlen, digital, beelen] {
        assert!(!has(mail, "Mittelstand"), "company-only call must not be sent");
        assert!(!has(mail, "abgelaufen"), "closed call must not be sent");
    }

    // The second pass finds the same calls and sends nothing at all.
    let second = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(second.status.code(), Some(1));
    let (again, rx) = tokio::task::spawn_blocking(move || (received(&rx), rx)).await.unwrap();
    assert!(again.is_empty(), "second pass sent {} mails", again.len());
    let second_out = String::from_utf8_lossy(&second.stdout);
    assert!(
        second_out.contains("0 new, 0 changed, 2 unchanged"),
        "unchanged feeds: {second_out}"
    );
    assert_eq!(
        version_counts(&data).await,
        vec![1; 6],
        "unchanged calls get no new version"
    );

    // The fourth failure in a row (collect, then three passes) flags the two dead feeds
    // broken (broken_after = 4):
    // the admin hears about it once, and nobody else gets anything.
    let third = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(third.status.code(), Some(1));
    let (notice, rx) = tokio::task::spawn_blocking(move || (received(&rx), rx)).await.unwrap();
    let recipients: Vec<_> = notice.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(
        recipients,
        ["smart-region@kreis-warendorf.example.org"],
        "only the admin notice"
    );
    assert!(
        notice[0].1.contains("kaputt") && notice[0].1.contains("defekt"),
        "{}",
        notice[0].1
    );

    let fourth = foerderradar(&config, &data, &["run", "--once"]);
    assert_eq!(fourth.status.code(), Some(1));
    let quiet = tokio::task::spawn_blocking(move || received(&rx)).await.unwrap();
    assert!(quiet.is_empty(), "fourth pass sent {} mails", quiet.len());

    let sources = foerderradar(&config, &data, &["sources"]);
    let table = String::from_utf8_lossy(&sources.stdout);
    let kaputt = table.lines().find(|l| l.starts_with("kaputt")).expect("kaputt listed");
    let columns: Vec<_> = kaputt.split_whitespace().collect();
    assert!(
        columns.contains(&"BROKEN") && columns.contains(&"5"),
        "five failures in a row: {table}"
    );
    assert_eq!(sources.status.code(), Some(1), "a broken source needs attention");
}

/// Number of stored versions of every call.
async fn version_counts(data: &Path) -> Vec<usize> {
    use foerderradar::store::{CallFilter, SqliteStore, Store};
    let store = SqliteStore::open(&data.join("foerderradar.sqlite")).await.unwrap();
    let mut counts = Vec::new();
    for call in store.list_calls(&CallFilter::default()).await.unwrap() {
        counts.push(store.call_versions(&call.id).await.unwrap().len());
    }
    counts
}

/// (contact, raw message) of every sent outbox mail.
async fn sent_mails(data: &Path) -> Vec<(String, String)> {
    use foerderradar::store::{OutboxStatus, SqliteStore, Store};
    let store = SqliteStore::open(&data.join("foerderradar.sqlite")).await.unwrap();
    let mails = store.outbox(Some(OutboxStatus::Sent)).await.unwrap();
    mails
        .into_iter()
        .map(|m| (m.contact, String::from_utf8(m.message).unwrap()))
        .collect()
}

/// Subject and all text parts of a raw message, decoded (quoted-printable, base64, charsets).
pub(crate) fn decoded(raw: &str) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parseable message");
    let mut text = message.subject().unwrap_or_default().to_string();
    for i in 0..message.text_body_count() {
        text.push('\n');
        text.push_str(&message.body_text(i).unwrap_or_default());
    }
    text
}

/// Lines of a child's stderr, as they come.
pub(crate) fn stderr_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for a stderr line containing `needle`.
pub(crate) fn wait_for(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("no log line containing '{needle}' within 30 s");
}

pub(crate) fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn daemon_reloads_rules_on_sighup_and_keeps_old_rules_when_new_ones_are_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config, "http://127.0.0.1:9", 2525);
    // Schedules that do not fire during the test.
    let service = service_toml(2525)
        .replace("0 6 * * 1-5", "0 3 1 1 *")
        .replace("0 7 * * 1-5", "0 4 1 1 *");
    std::fs::write(
        config.join("foerderradar.toml"),
        service.replace("retry_base_secs = 1", "retry_base_secs = 3600"),
    )
    .unwrap();

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("foerderradar"))
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    wait_for(&lines, "daemon started");

    // A second daemon on the same data directory is refused.
    let second = foerderradar(&config, &data, &["run"]);
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another foerderradar process"));

    let project = "\n[[project]]\nid = \"radwegenetz\"\nname = \"Radwegenetz\"\nhandlungsfeld = \"klima-mobilitaet-umwelt\"\ntype = \"leitprojekt\"\nconfirmed = true\ndescription = \"Test\"\nthreshold = 1.0\nrules = [ { expr = 'Radweg', weight = 2.0 } ]\n";
    std::fs::write(config.join("strategy.toml"), format!("{}{project}", strategy_toml())).unwrap();
    signal(&child, "-HUP");
    let reloaded = wait_for(&lines, "config reloaded");
    assert!(reloaded.contains("projects=2"), "{reloaded}");

    let broken = strategy_toml().replace("'Radweg OR Radverkehr'", "'(Radweg OR Radverkehr'");
    std::fs::write(config.join("strategy.toml"), broken).unwrap();
    signal(&child, "-HUP");
    let rejected = wait_for(&lines, "config reload rejected");
    assert!(
        rejected.contains("strategy.toml"),
        "the error names the file: {rejected}"
    );

    signal(&child, "-TERM");
    wait_for(&lines, "daemon stopped");
    assert!(child.wait().unwrap().success());
}

#[test]
fn check_rejects_a_template_override_that_names_an_unknown_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write_config(&config, "http://127.0.0.1:9", 2525);
    let check = |args: &[&str]| foerderradar(&config, &dir.path().join("data"), args);
    assert!(check(&["check"]).status.success());
    std::fs::create_dir_all(config.join("templates")).unwrap();
    std::fs::write(
        config.join("templates").join(foerderradar::notify::TEXT_TEMPLATE),
        "{% for call in calls %}{{ call.dedline }}{% endfor %}",
    )
    .unwrap();
    let out = check(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("digest.txt.j2"), "{stderr}");
}
