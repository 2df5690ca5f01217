//! Collect-pass benchmark: 200 loopback sources (100 RSS feeds, 100 HTML lists,
//! 20 calls each) spread over 20 hosts 127.0.0.2 … 127.0.0.21, at 0 ms and
//! 100 ms of server latency.
//!
//! (a) like-for-like: lists and feeds only; (b) full pass with a detail page
//! per HTML call, cold and then warm (lists answer 304, details are skipped).
//! The parent process serves; every scenario runs in a fresh child process
//! (this binary re-executed with `scenario …`), so its peak RSS (VmHWM) is
//! its own. `min_delay` is 0 here: with the real 1 s politeness delay a pass
//! is bounded by it (≈ requests per host × 1 s).

#[allow(dead_code)] // shared with the integration tests; the bench uses a part of it
#[path = "../tests/support.rs"]
mod support;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use chrono::Utc;
use foerderradar::collect::{Fetcher, Priors, SourceOutcome, collect_all};
use foerderradar::config::{HttpSettings, SourceConfig};
use support::{Fallback, FixtureServer, Page};

const HOSTS: u8 = 20;
const SOURCES_PER_HOST: usize = 10;
const CALLS: usize = 20;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("scenario") {
        run_scenario(&args[2], args[3].split(',').map(str::to_string).collect()).await;
        return;
    }
    println!(
        "collect pass: 200 sources × {CALLS} calls on {HOSTS} loopback hosts, min_delay 0, 2 requests per host at once"
    );
    println!(
        "{:<34} {:>8} {:>10} {:>10} {:>12}",
        "scenario", "latency", "wall", "requests", "peak RSS"
    );
    for latency_ms in [0u64, 100] {
        let servers = start_servers(Duration::from_millis(latency_ms)).await;
        let addrs: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
        for scenario in ["lists", "details"] {
            let output = tokio::process::Command::new(std::env::current_exe().expect("own path"))
                .args(["scenario", scenario, &addrs.join(",")])
                .output()
                .await
                .expect("run scenario");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let f: Vec<&str> = line.split('\t').collect();
                println!(
                    "{:<34} {:>6}ms {:>8}ms {:>10} {:>9} MB",
                    f[0], latency_ms, f[1], f[2], f[3]
                );
            }
        }
    }
    println!("targets: (a) at 100 ms ≤ 1000 ms wall, peak RSS < 40 MB");
}

async fn start_servers(latency: Duration) -> Vec<FixtureServer> {
    let mut servers = Vec::new();
    for h in 0..HOSTS {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + h));
        servers.push(FixtureServer::start(ip, latency, site_pages(h), Fallback::NotFound).await);
    }
    servers
}

/// Even-numbered sources are feeds, odd ones HTML lists with detail pages.
fn site_pages(host: u8) -> HashMap<String, Page> {
    let mut pages = HashMap::new();
    for s in 0..SOURCES_PER_HOST {
        if s % 2 == 0 {
            let page = Page::new(feed(host, s), "application/rss+xml; charset=utf-8").with_etag(&format!("\"f{s}\""));
            pages.insert(format!("/feed-{s}.xml"), page);
        } else {
            let page = Page::new(list(host, s), "text/html; charset=utf-8").with_etag(&format!("\"l{s}\""));
            pages.insert(format!("/liste-{s}.html"), page);
            for c in 0..CALLS {
                let detail = Page::new(detail(host, s, c), "text/html; charset=utf-8").with_etag(&format!("\"d{c}\""));
                pages.insert(format!("/massnahme/{s}/{c}.html"), detail);
            }
        }
    }
    pages
}

fn feed(host: u8, s: usize) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Förderaufrufe</title><link>/</link><description>Bench</description>"#,
    );
    for c in 0..CALLS {
        write!(
            xml,
            "<item><title>Förderaufruf {host}-{s}-{c}: Digitale Daseinsvorsorge in Kommunen</title>\
             <link>/aufruf/{s}/{c}.html</link><guid>aufruf-{host}-{s}-{c}</guid>\
             <description><![CDATA[<p>Gefördert werden Städte, Gemeinden und Kreise. Förderquote bis zu 80 %. \
             Projektskizzen bis 30.09.2027.</p>]]></description><pubDate>Fri, 25 Sep 2026 07:00:00 +0200</pubDate></item>"
        )
        .unwrap();
    }
    xml + "</channel></rss>"
}

fn list(host: u8, s: usize) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Maßnahmen</title></head><body><main>",
    );
    for c in 0..CALLS {
        write!(
            html,
            "<div class=\"massnahme\"><h3 class=\"titel\"><a href=\"/massnahme/{s}/{c}.html\">Maßnahme {host}-{s}-{c}: \
             Klimaresiliente Quartiere</a></h3><p class=\"teaser\">Zuschüsse für Entsiegelung und Stadtgrün; \
             Anträge bis 31.03.2027.</p></div>"
        )
        .unwrap();
    }
    html + "</main></body></html>"
}

fn detail(host: u8, s: usize, c: usize) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Maßnahme</title></head><body>\
         <article id=\"inhalt\"><h1>Maßnahme {host}-{s}-{c}: Klimaresiliente Quartiere</h1>\
         <p class=\"einleitung\">Der Aufruf fördert grüne Infrastruktur in Stadtquartieren.</p><dl>\
         <dt>Antragsberechtigte</dt><dd>Gemeinden und Gemeindeverbände</dd>\
         <dt>Förderquote</dt><dd>65 - 90 % der zuwendungsfähigen Ausgaben</dd>\
         <dt>Einreichungsfrist</dt><dd>31. März 2027</dd></dl>{}</article></body></html>",
        "<p>Weitere Erläuterungen zum Verfahren und zu den Fördervoraussetzungen.</p>".repeat(20)
    )
}

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_secs(30),
        max_body_bytes: 5 << 20,
        retries: 0,
        source_budget: Duration::from_secs(120),
        host_wait: Duration::from_secs(300),
        max_items_per_page: 1_000,
        max_items_per_feed: 5_000,
        ..support::http_settings()
    }
}

fn sources(addrs: &[String], with_details: bool) -> Vec<SourceConfig> {
    let list = "item = \"div.massnahme\"\ntitle = \"h3.titel\"\nsummary = \"p.teaser\"";
    let detail = "\n[labels]\nlabel = \"dt\"\n[labels.fields]\napplicants = [\"Antragsberechtigte\"]\n\
                  rate = [\"Förderquote\"]\ndeadline = [\"Einreichungsfrist\"]\n\
                  [detail]\ncontent = \"article#inhalt\"\ntitle = \"h1\"\nsummary = \"p.einleitung\"\nuse_labels = true";
    let html_options = if with_details {
        format!("{list}{detail}")
    } else {
        list.to_string()
    };
    let mut sources = Vec::new();
    for (h, addr) in addrs.iter().enumerate() {
        for s in 0..SOURCES_PER_HOST {
            let id = format!("h{h}-s{s}");
            sources.push(if s % 2 == 0 {
                support::source(&id, &format!("http://{addr}/feed-{s}.xml"), "rss", "")
            } else {
                support::source(&id, &format!("http://{addr}/liste-{s}.html"), "html", &html_options)
            });
        }
    }
    sources
}

/// One timed pass; prints `label \t wall ms \t requests \t VmHWM MB`.
async fn pass(
    label: &str,
    fetcher: &Fetcher,
    sources: &[SourceConfig],
    states: HashMap<String, foerderradar::model::source::SourceState>,
    priors: HashMap<String, HashMap<String, foerderradar::model::Call>>,
) -> Vec<SourceOutcome> {
    let started = Instant::now();
    let outcomes = collect_all(fetcher, sources, states, Priors::Loaded(priors), Utc::now()).await;
    let wall = started.elapsed();
    let failed: Vec<_> = outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
    assert!(failed.is_empty(), "{label}: {failed:?}");
    // An unchanged source (304) lists what it listed last time.
    let calls: usize = outcomes
        .iter()
        .map(|o| if o.unchanged { CALLS } else { o.calls.len() })
        .sum();
    assert_eq!(calls, sources.len() * CALLS, "{label}");
    let requests: u32 = outcomes.iter().map(|o| o.requests).sum();
    println!(
        "{label}\t{}\t{requests}\t{:.1}",
        wall.as_millis(),
        peak_rss_kb() as f64 / 1024.0
    );
    outcomes
}

async fn run_scenario(scenario: &str, addrs: Vec<String>) {
    let with_details = scenario == "details";
    let sources = sources(&addrs, with_details);
    let fetcher = Fetcher::new(&settings(), &sources).expect("fetcher");
    let label = if with_details {
        "(b) full, with details, cold"
    } else {
        "(a) lists and feeds only"
    };
    let cold = pass(label, &fetcher, &sources, HashMap::new(), HashMap::new()).await;
    if with_details {
        let states = cold.iter().map(|o| (o.source.clone(), o.state.clone())).collect();
        let priors = cold
            .iter()
            .map(|o| {
                (
                    o.source.clone(),
                    o.calls.iter().map(|c| (c.url.clone(), c.clone())).collect(),
                )
            })
            .collect();
        pass("(b) full, with details, warm", &fetcher, &sources, states, priors).await;
    }
}

/// Peak resident set size of this process in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
