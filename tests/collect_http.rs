//! Fetcher failure modes. Each case runs in one `collect_all` with a healthy
//! feed on another server, which must still deliver.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use chrono::Utc;
use foerderradar::collect::{Fetcher, Priors, SourceOutcome, collect_all};
use foerderradar::config::{HttpSettings, SourceConfig};
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Fallback, FixtureServer, fixture, http_settings, source};

const FEED: &str = "application/rss+xml";

/// A server with one good feed at `/feed.xml`.
async fn healthy() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("feeds/bund-aufrufe.xml"), FEED))
        .mount(&server)
        .await;
    server
}

/// Runs `failing` next to a healthy feed and checks the healthy one delivered.
async fn with_healthy(settings: HttpSettings, failing: SourceConfig) -> SourceOutcome {
    let good = healthy().await;
    let sources = vec![
        failing,
        source("gesund", &format!("{}/feed.xml", good.uri()), "rss", ""),
    ];
    let fetcher = Fetcher::new(&settings, &sources)
        .unwrap()
        .with_retry_base(Duration::from_millis(10));
    let mut outcomes = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), Utc::now()).await;
    let healthy = outcomes.pop().unwrap();
    assert_eq!(healthy.error, None, "the healthy source is unaffected");
    assert_eq!(healthy.calls.len(), 2);
    outcomes.pop().unwrap()
}

fn feed_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture("feeds/nrw-aufrufe.xml"), FEED)
}

#[tokio::test]
async fn server_error_twice_then_success_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/aufrufe.xml"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/aufrufe.xml"))
        .respond_with(feed_ok())
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let o = with_healthy(
        http_settings(),
        source("wackelig", &format!("{}/aufrufe.xml", server.uri()), "rss", ""),
    )
    .await;
    assert_eq!(o.error, None);
    assert_eq!(o.calls.len(), 2);
    assert_eq!(o.requests, 4, "robots.txt plus three attempts");
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/weg.xml"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let o = with_healthy(
        http_settings(),
        source("umgezogen", &format!("{}/weg.xml", server.uri()), "rss", ""),
    )
    .await;
    let error = o.error.expect("404 is an error");
    assert!(error.contains("HTTP 404") && error.contains("/weg.xml"), "{error}");
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/aufrufe.xml"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/aufrufe.xml"))
        .respond_with(feed_ok())
        .with_priority(2)
        .mount(&server)
        .await;
    let started = Instant::now();
    let o = with_healthy(
        http_settings(),
        source("gedrosselt", &format!("{}/aufrufe.xml", server.uri()), "rss", ""),
    )
    .await;
    assert_eq!(o.error, None);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(path("/langsam.xml"))
        .respond_with(feed_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let settings = HttpSettings {
        timeout: Duration::from_millis(200),
        retries: 1,
        ..http_settings()
    };
    let o = with_healthy(
        settings,
        source("langsam", &format!("{}/langsam.xml", server.uri()), "rss", ""),
    )
    .await;
    let error = o.error.expect("timeout is an error");
    assert!(error.contains("timed out") && error.contains("/langsam.xml"), "{error}");
}

#[tokio::test]
async fn source_budget_bounds_a_source() {
    let server = MockServer::start().await;
    Mock::given(path("/langsam.xml"))
        .respond_with(feed_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut slow = source("langsam", &format!("{}/langsam.xml", server.uri()), "rss", "");
    slow.budget = Some(Duration::from_millis(300));
    let o = with_healthy(http_settings(), slow).await;
    assert!(
        o.error.as_deref().is_some_and(|e| e.contains("time budget")),
        "{:?}",
        o.error
    );
    assert!(o.duration < Duration::from_secs(1), "{:?}", o.duration);
}

#[tokio::test]
async fn huge_streamed_body_is_cut_off() {
    let server = FixtureServer::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Duration::ZERO,
        HashMap::new(),
        Fallback::Stream(20 << 20),
    )
    .await;
    let settings = HttpSettings {
        respect_robots: false,
        ..http_settings()
    };
    let o = with_healthy(
        settings,
        source(
            "riesig",
            &server.url("/riesig.html"),
            "html",
            "item = \"li\"\ntitle = \"a\"",
        ),
    )
    .await;
    let error = o.error.expect("oversized body is an error");
    assert!(error.contains("larger than the limit of 2097152 bytes"), "{error}");
}

#[tokio::test]
async fn huge_body_with_length_is_refused_before_reading() {
    let server = MockServer::start().await;
    Mock::given(path("/gross.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b' '; 3 << 20], FEED))
        .mount(&server)
        .await;
    let o = with_healthy(
        http_settings(),
        source("gross", &format!("{}/gross.xml", server.uri()), "rss", ""),
    )
    .await;
    assert!(
        o.error.as_deref().is_some_and(|e| e.contains("larger than the limit")),
        "{:?}",
        o.error
    );
}

#[tokio::test]
async fn redirect_loop_is_stopped() {
    let server = MockServer::start().await;
    let to = |p: &str| ResponseTemplate::new(302).insert_header("Location", format!("{}{p}", server.uri()).as_str());
    Mock::given(path("/a")).respond_with(to("/b")).mount(&server).await;
    Mock::given(path("/b")).respond_with(to("/a")).mount(&server).await;
    let o = with_healthy(
        http_settings(),
        source("kreisel", &format!("{}/a", server.uri()), "rss", ""),
    )
    .await;
    let error = o.error.expect("redirect loop is an error");
    assert!(error.contains("redirect loop"), "{error}");
}

#[tokio::test]
async fn robots_disallow_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /intern/\n"))
        .mount(&server)
        .await;
    Mock::given(path("/intern/feed.xml"))
        .respond_with(feed_ok())
        .expect(0)
        .mount(&server)
        .await;
    let o = with_healthy(
        http_settings(),
        source("gesperrt", &format!("{}/intern/feed.xml", server.uri()), "rss", ""),
    )
    .await;
    let error = o.error.expect("disallowed is an error");
    assert!(
        error.contains("robots.txt") && error.contains("/intern/feed.xml"),
        "{error}"
    );
}

#[tokio::test]
async fn redirect_to_a_host_whose_robots_txt_disallows_it_is_refused() {
    let target = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /intern/\n"))
        .mount(&target)
        .await;
    Mock::given(path("/intern/feed.xml"))
        .respond_with(feed_ok())
        .mount(&target)
        .await;
    let origin = MockServer::start().await;
    Mock::given(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("Location", format!("{}/intern/feed.xml", target.uri()).as_str()),
        )
        .mount(&origin)
        .await;
    let o = with_healthy(
        http_settings(),
        source("umgeleitet", &format!("{}/feed.xml", origin.uri()), "rss", ""),
    )
    .await;
    let error = o.error.expect("a disallowed redirect target is an error");
    assert!(
        error.contains("robots.txt") && error.contains("/intern/feed.xml"),
        "{error}"
    );
    assert!(o.calls.is_empty());
}

#[tokio::test]
async fn same_host_requests_keep_the_minimum_delay() {
    let server = healthy().await;
    let settings = HttpSettings {
        min_delay: Duration::from_millis(150),
        respect_robots: false,
        ..http_settings()
    };
    let fetcher = Fetcher::new(&settings, &[]).unwrap();
    let url = Url::parse(&format!("{}/feed.xml", server.uri())).unwrap();
    let started = Instant::now();
    let results = futures::future::join_all((0..4).map(|_| fetcher.get(&url, None))).await;
    assert!(results.iter().all(Result::is_ok));
    assert!(
        started.elapsed() >= Duration::from_millis(440),
        "4 starts need 3 delays: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn multipart_post_is_rebuilt_for_each_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/search"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/search"))
        .and(body_string_contains("Content-Type: application/json"))
        .and(body_string_contains("{\"bool\":{}}"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"totalResults\":0}"))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = Fetcher::new(&http_settings(), &[])
        .unwrap()
        .with_retry_base(Duration::from_millis(10));
    let url = Url::parse(&format!("{}/search", server.uri())).unwrap();
    let parts = [(
        "query".to_string(),
        "{\"bool\":{}}".to_string(),
        "application/json".to_string(),
    )];
    let fetched = fetcher.post_multipart(&url, &parts).await.unwrap();
    assert_eq!(fetched.body, "{\"totalResults\":0}");
}

#[tokio::test]
async fn second_pass_over_unchanged_sources_gets_304s_and_ends_unchanged() {
    let pages = HashMap::from([
        (
            "/feed.xml".to_string(),
            crate::support::Page::new(fixture("feeds/projekttraeger.atom"), FEED).with_etag("\"a1\""),
        ),
        (
            "/liste".to_string(),
            crate::support::Page::new(fixture("html/foerderangebote.html"), "text/html; charset=utf-8")
                .with_etag("\"l1\""),
        ),
    ]);
    let server = FixtureServer::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Duration::ZERO,
        pages,
        Fallback::NotFound,
    )
    .await;
    let labels = "mode = \"labels\"\nitem = \"article.foerderangebot\"\ntitle = \"h3\"";
    let sources = vec![
        source("atom", &server.url("/feed.xml"), "rss", ""),
        source("liste", &server.url("/liste"), "html", labels),
    ];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let first = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), Utc::now()).await;
    assert_eq!(server.requests(), 3, "robots.txt and two pages");
    let states = first.iter().map(|o| (o.source.clone(), o.state.clone())).collect();
    let priors = first
        .iter()
        .map(|o| {
            (
                o.source.clone(),
                o.calls.iter().map(|c| (c.url.clone(), c.clone())).collect(),
            )
        })
        .collect();
    let second = collect_all(&fetcher, &sources, states, Priors::Loaded(priors), Utc::now()).await;
    assert_eq!(server.not_modified(), 2);
    assert_eq!(server.requests(), 5, "robots.txt is cached per host");
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(b.error, None);
        assert_eq!(b.not_modified, 1);
        assert!(!a.calls.is_empty());
        assert!(
            b.unchanged && b.calls.is_empty(),
            "{}: unchanged, nothing re-sent",
            a.source
        );
        assert_eq!(a.state, b.state);
    }
}
