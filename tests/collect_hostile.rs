//! Hostile sources on 127.0.0.1: markup nested 100,000 levels deep, feeds and pages
//! with more items than the limits, invisible characters, broken UTF-8, a host whose
//! slow sources hold its politeness slot, and a disabled source named on the command
//! line. The binary must finish every pass (exit 1 for a failed source is fine),
//! store what the good sources found and name what went wrong.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use foerderradar::collect::{Fetcher, Priors, collect_all};
use foerderradar::config::HttpSettings;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{http_settings, source};

const NESTING: usize = 100_000;

fn nested_divs(inner: &str) -> String {
    format!("{}{inner}{}", "<div>".repeat(NESTING), "</div>".repeat(NESTING))
}

fn rss(items: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Aufrufe</title><link>https://example.org/</link><description>x</description>{items}</channel></rss>"#
    )
}

fn item(title: &str, link: &str, description: &str) -> String {
    format!(
        "<item><title>{title}</title><link>{link}</link><description><![CDATA[{description}]]></description></item>"
    )
}

async fn serve(server: &MockServer, at: &str, body: impl Into<Vec<u8>>, content_type: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.into(), content_type))
        .mount(server)
        .await;
}

/// A config directory with the test strategy and Kommunen, `sources` and `[http]` extras.
fn write_config(dir: &Path, sources: &str, http: &str) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-min");
    std::fs::create_dir_all(dir).unwrap();
    for name in ["strategy.toml", "kommunen.toml"] {
        std::fs::copy(fixture.join(name), dir.join(name)).unwrap();
    }
    let service = format!(
        "timezone = \"Europe/Berlin\"\nsender = \"foerderradar@kreis.example.org\"\nadmin = \"admin@kreis.example.org\"\n\n\
         [schedule]\ncollect = \"0 6 * * 1-5\"\nnotify = \"0 7 * * 1-5\"\n\n\
         [http]\ntimeout_secs = 10\nmin_delay_ms = 0\nretries = 0\nsource_budget_secs = 60\n{http}\n"
    );
    std::fs::write(dir.join("foerderradar.toml"), service).unwrap();
    std::fs::write(dir.join("sources.toml"), sources).unwrap();
}

fn rss_source(id: &str, url: &str, extra: &str) -> String {
    format!("[[source]]\nid = \"{id}\"\nkind = \"rss\"\nurl = \"{url}\"\nlabel = \"{id}\"\n{extra}\n\n")
}

fn html_source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nkind = \"html\"\nurl = \"{url}\"\nlabel = \"{id}\"\nitem = \"div.aufruf\"\ntitle = \"h3\"\n{extra}\n\n"
    )
}

/// Runs the binary off the async runtime (the fixture server lives on it).
async fn foerderradar(config: &Path, data: &Path, args: &[&str]) -> std::process::Output {
    let (config, data) = (config.to_path_buf(), data.to_path_buf());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::pass::foerderradar(&config, &data, &args)
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `collect` summary line of one source.
fn line_of<'a>(stdout: &'a str, source: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(source))
        .unwrap_or_else(|| panic!("no line for {source} in:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn markup_nested_100000_deep_fails_its_source_and_nothing_else() {
    let server = MockServer::start().await;
    let base = server.uri();
    let ok = item(
        "Förderaufruf Ortskerne",
        &format!("{base}/aufrufe/ortskerne.html"),
        "Antragsberechtigt sind Kommunen.",
    );
    serve(&server, "/gut.xml", rss(&ok), "application/rss+xml").await;
    let deep_description = item("Tief", &format!("{base}/aufrufe/tief.html"), &nested_divs("Text"));
    serve(
        &server,
        "/tief-beschreibung.xml",
        rss(&deep_description),
        "application/rss+xml",
    )
    .await;
    // Not escaped: 100,000 nested XML elements for feed-rs itself (quick-xml refuses
    // more than 65,535 levels; the source fails with that reason).
    let deep_xml = format!(
        "<item><title>XML</title><link>{base}/aufrufe/xml.html</link><description>{}</description></item>",
        nested_divs("Text")
    );
    serve(&server, "/tief-xml.xml", rss(&deep_xml), "application/rss+xml").await;
    let list = format!(
        r#"<html><body><div class="aufruf"><h3><a href="/aufrufe/a.html">A</a></h3></div>{}</body></html>"#,
        nested_divs("")
    );
    serve(&server, "/tief-liste.html", list, "text/html").await;
    let list = r#"<html><body><div class="aufruf"><h3><a href="/detail/b.html">B</a></h3></div></body></html>"#;
    serve(&server, "/liste.html", list, "text/html").await;
    let detail = format!("<html><body><main>{}</main></body></html>", nested_divs("Inhalt"));
    serve(&server, "/detail/b.html", detail, "text/html").await;

    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    let sources = [
        rss_source("gut", &format!("{base}/gut.xml"), ""),
        rss_source("tief-beschreibung", &format!("{base}/tief-beschreibung.xml"), ""),
        rss_source("tief-xml", &format!("{base}/tief-xml.xml"), ""),
        html_source("tief-liste", &format!("{base}/tief-liste.html"), ""),
        html_source(
            "tief-detail",
            &format!("{base}/liste.html"),
            "detail = { content = \"main\" }",
        ),
    ]
    .concat();
    write_config(&config, &sources, "");

    let collect = foerderradar(&config, &data, &["collect"]).await;
    let stdout = text(&collect.stdout);
    assert_eq!(
        collect.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {}",
        text(&collect.stderr)
    );
    assert!(line_of(&stdout, "gut").contains("ok"), "{stdout}");
    let ours = "elements nested deeper than 1024 levels";
    for (bad, page, reason) in [
        ("tief-beschreibung", "/tief-beschreibung.xml", ours),
        (
            "tief-xml",
            "/tief-xml.xml",
            "nests elements deeper than the supported limit",
        ),
        ("tief-liste", "/tief-liste.html", ours),
        ("tief-detail", "/detail/b.html", ours),
    ] {
        let line = line_of(&stdout, bad);
        assert!(
            line.contains("FAILED")
                && line.contains(page)
                && line.contains(&format!("source '{bad}'"))
                && line.contains(reason),
            "{line}"
        );
    }
    let calls = foerderradar(&config, &data, &["calls", "list"]).await;
    let listed = text(&calls.stdout);
    assert!(listed.contains("Förderaufruf Ortskerne"), "{listed}");
    assert_eq!(
        listed.lines().count(),
        2,
        "a header and the good source's call: {listed}"
    );
    // The failures are in the source health.
    let health = text(&foerderradar(&config, &data, &["sources"]).await.stdout);
    for bad in ["tief-beschreibung", "tief-xml", "tief-liste", "tief-detail"] {
        let line = health
            .lines()
            .find(|l| l.starts_with(bad))
            .unwrap_or_else(|| panic!("{health}"));
        assert!(
            line.contains("failing") && line.contains("deeper than"),
            "failure recorded: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn item_limits_keep_the_first_items_and_warn() {
    let server = MockServer::start().await;
    let base = server.uri();
    let items: String = (0..100_000)
        .map(|i| item(&format!("Aufruf {i}"), &format!("{base}/a/{i}.html"), "Text"))
        .collect();
    serve(&server, "/gross.xml", rss(&items), "application/rss+xml").await;
    let cards: String = (0..5_000)
        .map(|i| format!(r#"<div class="aufruf"><h3><a href="/k/{i}.html">Karte {i}</a></h3></div>"#))
        .collect();
    serve(
        &server,
        "/liste.html",
        format!("<html><body>{cards}</body></html>"),
        "text/html",
    )
    .await;

    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    let sources = [
        rss_source("grosser-feed", &format!("{base}/gross.xml"), ""),
        html_source("lange-liste", &format!("{base}/liste.html"), ""),
    ]
    .concat();
    write_config(
        &config,
        &sources,
        "max_items_per_feed = 25\nmax_items_per_page = 7\nmax_body_mb = 32",
    );

    let collect = foerderradar(&config, &data, &["collect"]).await;
    let (stdout, stderr) = (text(&collect.stdout), text(&collect.stderr));
    assert_eq!(collect.status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(line_of(&stdout, "grosser-feed").contains("25 new"), "{stdout}");
    assert!(line_of(&stdout, "lange-liste").contains("7 new"), "{stdout}");
    let warned = |source: &str, key: &str| {
        stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains(source) && l.contains(key))
    };
    assert!(warned("grosser-feed", "max_items_per_feed"), "{stderr}");
    assert!(warned("lange-liste", "max_items_per_page"), "{stderr}");
    let listed = text(&foerderradar(&config, &data, &["calls", "list"]).await.stdout);
    assert!(
        listed.contains("Aufruf 24") && !listed.contains("Aufruf 25"),
        "{listed}"
    );
    assert!(listed.contains("Karte 6") && !listed.contains("Karte 7"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_source_runs_a_named_disabled_source() {
    let server = MockServer::start().await;
    let base = server.uri();
    let feed = |title: &str, slug: &str| rss(&item(title, &format!("{base}/a/{slug}.html"), "Text"));
    serve(
        &server,
        "/aktiv.xml",
        feed("Aktiver Aufruf", "aktiv"),
        "application/rss+xml",
    )
    .await;
    serve(
        &server,
        "/ruhend.xml",
        feed("Ruhender Aufruf", "ruhend"),
        "application/rss+xml",
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    let sources = [
        rss_source("aktiv", &format!("{base}/aktiv.xml"), ""),
        rss_source("ruhend", &format!("{base}/ruhend.xml"), "enabled = false"),
    ]
    .concat();
    write_config(&config, &sources, "");

    let all = foerderradar(&config, &data, &["collect"]).await;
    let stdout = text(&all.stdout);
    assert!(all.status.success(), "{stdout}");
    assert!(stdout.contains("aktiv") && !stdout.contains("ruhend"), "{stdout}");

    let named = foerderradar(&config, &data, &["collect", "--source", "ruhend"]).await;
    let stdout = text(&named.stdout);
    assert!(named.status.success(), "{stdout}\n{}", text(&named.stderr));
    assert!(line_of(&stdout, "ruhend").contains("1 new"), "{stdout}");
    assert!(stdout.contains("collect: 1 sources"), "{stdout}");
    let listed = text(
        &foerderradar(&config, &data, &["calls", "list", "--source", "ruhend"])
            .await
            .stdout,
    );
    assert!(listed.contains("Ruhender Aufruf"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invisible_characters_reach_neither_the_store_nor_the_digest() {
    let server = MockServer::start().await;
    let base = server.uri();
    let hostile = item(
        "Innenstadt\u{202e}gpj.exe\u{202c} lebendig\u{200f} gestalten\u{2066}",
        &format!("{base}/aufrufe/innenstadt.html"),
        "<p>Antragsberechtigt sind Kommunen\u{202e} in Nordrhein-Westfalen.\u{200b} Gefördert werden Innenstädte und Ortskerne. \
         Anträge bis 31.03.2027.\u{1}</p>",
    );
    serve(
        &server,
        "/feed.xml",
        rss(&hostile),
        "application/rss+xml; charset=utf-8",
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config, &rss_source("feed", &format!("{base}/feed.xml"), ""), "");

    let run = foerderradar(&config, &data, &["run", "--once"]).await;
    assert!(run.status.success(), "{}\n{}", text(&run.stdout), text(&run.stderr));
    let invisible = ['\u{202e}', '\u{202c}', '\u{200f}', '\u{2066}', '\u{200b}', '\u{1}'];
    let shown = text(&foerderradar(&config, &data, &["calls", "list"]).await.stdout);
    assert!(shown.contains("Innenstadtgpj.exe lebendig gestalten"), "{shown}");
    let id = shown
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let stored = text(&foerderradar(&config, &data, &["calls", "show", &id]).await.stdout);
    assert!(stored.contains("Antragsberechtigt sind Kommunen in"), "{stored}");
    assert!(!stored.contains(&invisible[..]), "{stored}");

    let outbox = data.join("outbox");
    let mails: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap_or_else(|e| panic!("{}: {e}", outbox.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert!(!mails.is_empty(), "a digest was written");
    for mail in mails {
        let raw = std::fs::read(&mail).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let mut readable = message.subject().unwrap_or_default().to_string();
        for i in 0..message.text_body_count() {
            readable.push_str(&message.body_text(i).unwrap_or_default());
        }
        for i in 0..message.html_body_count() {
            readable.push_str(&message.body_html(i).unwrap_or_default());
        }
        assert!(readable.contains("Innenstadtgpj.exe lebendig gestalten"), "{readable}");
        assert!(!readable.contains(&invisible[..]), "{}: {readable}", mail.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_utf8_with_invalid_bytes_is_decoded_as_utf8_with_a_warning() {
    let server = MockServer::start().await;
    let base = server.uri();
    let feed = rss(&item(
        "Förderaufruf KAPUTT Dorfmitte",
        &format!("{base}/a/x.html"),
        "Text",
    ));
    let mut bytes = feed.into_bytes();
    let at = bytes.windows(6).position(|w| w == b"KAPUTT").unwrap();
    bytes.splice(at..at + 6, [0xff, 0xc3, 0x28]);
    // Declared twice: in the header and the XML declaration.
    serve(&server, "/feed.xml", bytes, "application/rss+xml; charset=utf-8").await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config, &rss_source("feed", &format!("{base}/feed.xml"), ""), "");

    let collect = foerderradar(&config, &data, &["collect"]).await;
    let stderr = text(&collect.stderr);
    assert!(collect.status.success(), "{}\n{stderr}", text(&collect.stdout));
    let listed = text(&foerderradar(&config, &data, &["calls", "list"]).await.stdout);
    assert!(listed.contains("Förderaufruf \u{fffd}"), "{listed}");
    assert!(!listed.contains("Ã¶"), "not decoded as Windows-1252: {listed}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains("/feed.xml") && l.contains("replacement characters")),
        "{stderr}"
    );
}

/// Two feeds that answer slowly and six tiny ones, all on one host with two slots.
/// The slow ones are started first and hold both slots when the tiny ones queue.
async fn slow_host(host_wait: Duration) -> (MockServer, Vec<foerderradar::collect::SourceOutcome>) {
    let server = MockServer::start().await;
    let base = server.uri();
    let mut slow = Vec::new();
    for i in 0..2 {
        Mock::given(path(format!("/langsam-{i}.xml")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(rss(""), "application/rss+xml")
                    .set_delay(Duration::from_secs(4)),
            )
            .mount(&server)
            .await;
        slow.push(source(
            &format!("langsam-{i}"),
            &format!("{base}/langsam-{i}.xml"),
            "rss",
            "",
        ));
    }
    let mut tiny = Vec::new();
    for i in 0..6 {
        let body = rss(&item(&format!("Klein {i}"), &format!("{base}/k/{i}.html"), "Text"));
        serve(&server, &format!("/klein-{i}.xml"), body, "application/rss+xml").await;
        tiny.push(source(
            &format!("klein-{i}"),
            &format!("{base}/klein-{i}.xml"),
            "rss",
            "",
        ));
    }
    let settings = HttpSettings {
        source_budget: Duration::from_secs(2),
        host_wait,
        per_host_concurrency: 2,
        timeout: Duration::from_secs(10),
        retries: 0,
        respect_robots: false,
        ..http_settings()
    };
    let all: Vec<_> = slow.iter().chain(&tiny).cloned().collect();
    let fetcher = Fetcher::new(&settings, &all).unwrap();
    let now = chrono::Utc::now();
    let slow_pass = tokio::spawn({
        let fetcher = fetcher.clone();
        async move { collect_all(&fetcher, &slow, HashMap::new(), Priors::none(), now).await }
    });
    while server.received_requests().await.unwrap_or_default().len() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut outcomes = collect_all(&fetcher, &tiny, HashMap::new(), Priors::none(), now).await;
    outcomes.extend(slow_pass.await.unwrap());
    (server, outcomes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_budget_starts_with_its_first_request_not_in_the_host_queue() {
    let (_server, outcomes) = slow_host(Duration::from_secs(60)).await;
    assert_eq!(outcomes.len(), 8);
    for o in &outcomes {
        if o.source.starts_with("klein") {
            assert_eq!((o.error.as_deref(), o.calls.len()), (None, 1), "{}", o.source);
        } else {
            let error = o.error.as_deref().unwrap_or_default();
            assert!(error.contains("time budget of 2s exhausted"), "{}: {error}", o.source);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_the_host_slot_is_bounded_and_named() {
    let (server, outcomes) = slow_host(Duration::from_secs(1)).await;
    let host = server.address().to_string();
    for o in outcomes.iter().filter(|o| o.source.starts_with("klein")) {
        let error = o.error.as_deref().unwrap_or_default();
        assert!(
            error.contains(&format!("waited 1 s for host {host} behind other sources")),
            "{}: {error}",
            o.source
        );
        assert_eq!(o.requests, 0, "{} never got a slot", o.source);
    }
}
