//! `foerderdatenbank` against a wiremock mirror on 127.0.0.1: three result pages
//! (a duplicate card, a hit count that does not match, `<base href>` on the mock,
//! double-encoded `gtp` links), detail variants, a 404, the RSS feed as change
//! signal, and a warm pass with conditional requests.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::collect::foerderdatenbank;
use foerderradar::collect::{CollectContext, Fetcher, Prior};
use foerderradar::config::{HttpSettings, SourceConfig};
use foerderradar::model::source::foerderdatenbank::FdbOptions;
use foerderradar::model::source::{SourceKind, SourceState};
use foerderradar::model::{ApplicantCategory, Bundesland, Call, Region};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const LIST_PATH: &str = "/SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html";
const FEED_PATH: &str = "/FDB/DE/Service/RSS/Functions/foerderprogram_rssnewsfeed.xml";
const DETAIL_DIR: &str = "/FDB/Content/DE/Foerderprogramm/";
const GTP: &str = "gtp=%2526c0ffee00-1111-4222-8333-444455556666_list%253D";

pub fn fixture(area: &str, name: &str) -> String {
    let file = format!("{}/tests/fixtures/{area}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A fetcher without retries or robots.txt, for servers on 127.0.0.1.
pub fn test_fetcher(source: &SourceConfig) -> Fetcher {
    let settings = HttpSettings {
        max_body_bytes: 10 * 1024 * 1024,
        per_host_concurrency: 4,
        retries: 0,
        source_budget: Duration::from_secs(60),
        host_wait: Duration::from_secs(300),
        max_items_per_page: 1_000,
        max_items_per_feed: 5_000,
        respect_robots: false,
        ..crate::support::http_settings()
    };
    Fetcher::new(&settings, std::slice::from_ref(source)).expect("test fetcher")
}

pub fn source(id: &str, url: &str, kind: SourceKind) -> SourceConfig {
    SourceConfig {
        id: id.into(),
        label: "Testquelle".into(),
        url: url::Url::parse(url).unwrap(),
        enabled: true,
        min_delay: Some(Duration::ZERO),
        budget: None,
        kind,
        line: 1,
    }
}

/// Serves `body` with an ETag, and 304 to a request that sends that ETag back.
async fn mount_conditional(
    server: &MockServer,
    matcher: impl wiremock::Match + Clone + 'static,
    body: String,
    etag: &str,
) {
    let quoted = format!("\"{etag}\"");
    Mock::given(method("GET"))
        .and(matcher.clone())
        .and(header("if-none-match", quoted.as_str()))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", quoted.as_str()))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(matcher)
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=UTF-8")
                .insert_header("etag", quoted.as_str())
                .set_body_string(body),
        )
        .mount(server)
        .await;
}

#[derive(Clone)]
struct PathIs(String);

impl wiremock::Match for PathIs {
    fn matches(&self, request: &Request) -> bool {
        request.url.path() == self.0
    }
}

#[derive(Clone)]
struct ListPage(Option<u8>);

impl wiremock::Match for ListPage {
    fn matches(&self, request: &Request) -> bool {
        // The raw query: the double-encoded gtp must arrive exactly as the page wrote it.
        let query = request.url.query().unwrap_or("");
        request.url.path() == LIST_PATH
            && match self.0 {
                Some(n) => query.starts_with(&format!("{GTP}{n}&")),
                None => query.contains("cl2Processes_Foerdergebiet=nordrhein_westfalen"),
            }
    }
}

async fn mount_site(server: &MockServer, feed_date: &str) {
    let base = format!("{}/", server.uri());
    let fill = |s: String| s.replace("{{BASE}}", &base).replace("{{DATE3}}", feed_date);
    for (page, file) in [(None, "list1.html"), (Some(2), "list2.html"), (Some(3), "list3.html")] {
        mount_conditional(
            server,
            ListPage(page),
            fill(fixture("fdb", file)),
            &format!("list-{file}"),
        )
        .await;
    }
    for slug in [
        "Land/NRW/dorfmitte",
        "Land/NRW/heimatzeugnis",
        "Land/NRW/digitale-orte",
        "Bund/BMWSB/quartiere",
    ] {
        let name = slug.rsplit('/').next().unwrap();
        let body = fill(fixture("fdb", &format!("{name}.html")));
        mount_conditional(
            server,
            PathIs(format!("{DETAIL_DIR}{slug}.html")),
            body,
            &format!("{name}-v1"),
        )
        .await;
    }
    Mock::given(path(format!("{DETAIL_DIR}Land/NRW/alt-programm.html")))
        .respond_with(ResponseTemplate::new(404).set_body_string("<html><body>Nicht gefunden</body></html>"))
        .mount(server)
        .await;
    let feed = fill(fixture("fdb", "feed.xml"));
    let feed_etag = if feed_date == FEED_DATE_1 { "feed-1" } else { "feed-2" };
    mount_conditional(server, PathIs(FEED_PATH.into()), feed, feed_etag).await;
}

fn fdb_source(server: &MockServer) -> SourceConfig {
    let opts = FdbOptions {
        max_pages: 10,
        fetch_details: true,
        feed: Some(url::Url::parse(&format!("{}{FEED_PATH}", server.uri())).unwrap()),
    };
    let url = format!(
        "{}{LIST_PATH}?filterCategories=FundingProgram&cl2Processes_Foerderberechtigte=kommune&cl2Processes_Foerdergebiet=nordrhein_westfalen",
        server.uri()
    );
    source("fdb-test", &url, SourceKind::Foerderdatenbank(opts))
}

fn by_slug<'a>(calls: &'a [Call], slug: &str) -> &'a Call {
    calls
        .iter()
        .find(|c| c.url.ends_with(&format!("/{slug}.html")))
        .unwrap_or_else(|| panic!("no call {slug}"))
}

async fn detail_requests(server: &MockServer) -> Vec<(String, Option<String>)> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| r.url.path().starts_with(DETAIL_DIR))
        .map(|r| {
            let etag = r
                .headers
                .get("if-none-match")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            (r.url.path().rsplit('/').next().unwrap().to_string(), etag)
        })
        .collect()
}

const FEED_DATE_1: &str = "Mon, 12 Jan 2026 08:00:00 +0100";
const FEED_DATE_2: &str = "Fri, 20 Mar 2026 08:00:00 +0100";

#[tokio::test]
async fn fdb_cold_pass_reads_every_programme_once() {
    let server = MockServer::start().await;
    mount_site(&server, FEED_DATE_1).await;
    let source = fdb_source(&server);
    let fetcher = test_fetcher(&source);
    let now = Utc.with_ymd_and_hms(2026, 4, 1, 5, 0, 0).unwrap();
    let today = now.date_naive();
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), now);
    let calls = foerderdatenbank::collect(&mut ctx)
        .await
        .expect("source works despite the 404 detail");

    let mut slugs: Vec<&str> = calls.iter().map(|c| c.url.rsplit('/').next().unwrap()).collect();
    slugs.sort();
    assert_eq!(
        slugs,
        vec![
            "digitale-orte.html",
            "dorfmitte.html",
            "heimatzeugnis.html",
            "quartiere.html"
        ]
    );
    assert!(
        calls.iter().all(|c| c.url.starts_with(&server.uri())),
        "links resolve against <base href> on the mock"
    );

    let dorf = by_slug(&calls, "dorfmitte");
    assert_eq!(dorf.title, "Lebendige Dorfmitten in Nordrhein-Westfalen");
    assert!(
        dorf.summary.contains("Wenn Sie als Gemeinde Ihren Ortskern"),
        "{}",
        dorf.summary
    );
    assert!(dorf.text.contains("barrierefreie Wege") && dorf.text.contains("Antragsberechtigt sind Gemeinden"));
    assert!(dorf.text.contains("Rechtsgrundlage") && dorf.text.contains("Bezirksregierung Beispielstadt"));
    assert_eq!(
        dorf.funder.as_deref(),
        Some("Ministerium für Dorfleben und Ortskerne des Landes Nordrhein-Westfalen")
    );
    assert_eq!(dorf.funding_types, vec!["Zuschuss"]);
    assert_eq!(
        dorf.topics,
        vec!["Städtebau & Stadterneuerung", "Kultur, Medien & Sport"]
    );
    assert_eq!(dorf.regions, vec![Region::Land(Bundesland::NordrheinWestfalen)]);
    assert!(dorf.applicants.categories.contains(&ApplicantCategory::Kommune));
    assert_eq!(
        dorf.deadline.next_date(today),
        NaiveDate::from_ymd_opt(2027, 3, 31),
        "from the Fristen block"
    );
    assert_eq!(
        dorf.funding_rate.map(|r| r.max),
        Some(80.0),
        "from the Volltext, not the 95 % of the Rechtsgrundlage"
    );
    assert_eq!(dorf.amount_max_eur, Some(250_000));
    assert_eq!(
        dorf.external_id.as_deref(),
        Some("a1a1a1a1-0000-4000-8000-000000000001")
    );

    let recht = by_slug(&calls, "heimatzeugnis");
    assert_eq!(recht.summary, "");
    assert!(recht.text.contains("30. September eines jeden Jahres"));
    assert_eq!(
        recht.deadline.next_date(today),
        NaiveDate::from_ymd_opt(2026, 9, 30),
        "annual date from the Rechtsgrundlage"
    );
    assert_eq!(recht.applicants.raw, vec!["Kommune", "Verband/Vereinigung"]);

    let coded = by_slug(&calls, "digitale-orte");
    assert_eq!(coded.funding_types, vec!["Zuschuss"]);
    assert_eq!(
        coded.topics,
        vec!["Digitalisierung", "Smart Cities & Regionen", "Kultur, Medien & Sport"]
    );
    assert_eq!(coded.regions, vec![Region::Land(Bundesland::NordrheinWestfalen)]);
    assert_eq!(coded.applicants.raw, vec!["Kommune", "Öffentliche Einrichtung"]);
    assert_eq!(
        coded.funder.as_deref(),
        Some("Ministerium für digitale Orte Nordrhein-Westfalen")
    );

    let quartier = by_slug(&calls, "quartiere");
    assert_eq!(quartier.funder, None);
    assert_eq!(quartier.regions, vec![Region::Bundesweit]);
    assert_eq!(quartier.funding_types, vec!["Zuschuss", "Darlehen"]);
    assert!(
        quartier
            .applicants
            .categories
            .contains(&ApplicantCategory::OeffentlicheEinrichtung)
    );

    let mut fetched: Vec<String> = detail_requests(&server)
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    fetched.sort();
    assert_eq!(
        fetched,
        vec![
            "alt-programm.html",
            "digitale-orte.html",
            "dorfmitte.html",
            "heimatzeugnis.html",
            "quartiere.html"
        ],
        "each detail once, although dorfmitte is listed on two pages"
    );
    let lists = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == LIST_PATH)
        .count();
    assert_eq!(lists, 3, "three result pages, each once");
}

#[tokio::test]
async fn fdb_warm_pass_is_conditional_and_refetches_only_what_the_feed_changed() {
    let server = MockServer::start().await;
    mount_site(&server, FEED_DATE_1).await;
    let source = fdb_source(&server);
    let fetcher = test_fetcher(&source);
    let now = Utc.with_ymd_and_hms(2026, 4, 1, 5, 0, 0).unwrap();
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), now);
    let first = foerderdatenbank::collect(&mut ctx).await.unwrap();
    let state = ctx.state;

    // Next morning: same lists and pages, but the feed re-announces "Digitale Orte".
    server.reset().await;
    mount_site(&server, FEED_DATE_2).await;
    let prior: HashMap<String, Call> = first.iter().map(|c| (c.url.clone(), c.clone())).collect();
    let later = now + chrono::Duration::days(1);
    let mut ctx = CollectContext::new(&fetcher, &source, state, Prior::loaded(prior), later);
    let second = foerderdatenbank::collect(&mut ctx).await.unwrap();

    let details = detail_requests(&server).await;
    assert_eq!(details.len(), 1, "only the programme the feed changed: {details:?}");
    assert_eq!(details[0].0, "digitale-orte.html");
    assert_eq!(
        details[0].1.as_deref(),
        Some("\"digitale-orte-v1\""),
        "sent conditionally"
    );

    let requests = server.received_requests().await.unwrap();
    let lists: Vec<_> = requests.iter().filter(|r| r.url.path() == LIST_PATH).collect();
    assert_eq!(lists.len(), 3);
    assert!(
        lists.iter().all(|r| r.headers.contains_key("if-none-match")),
        "list pages fetched conditionally"
    );

    assert_eq!(second.len(), first.len());
    for call in &first {
        let again = second.iter().find(|c| c.url == call.url).unwrap();
        assert_eq!(again.fingerprint, call.fingerprint, "{}", call.url);
    }
}

/// `state` as versions before the typed memo stored it: the same validators, and
/// a string map with `list:`, `card:`, `feed:` and `gone:` keys (JSON inside strings).
fn with_string_memo(state: &SourceState) -> SourceState {
    let mut memo = serde_json::Map::new();
    for url in state.validators.keys() {
        let key = if url.contains(LIST_PATH) { "list" } else { "card" };
        // A list page without cards: read as it stands, it would lose every programme.
        let value = if key == "list" {
            r#"{"hits":0,"cards":[],"next":null}"#
        } else {
            "0123456789abcdef01234567"
        };
        memo.insert(format!("{key}:{url}"), value.into());
        memo.insert(format!("feed:{url}"), "feedsig".into());
        memo.insert(format!("gone:{url}"), "gonesig".into());
    }
    let json = serde_json::json!({ "validators": state.validators, "memo": memo });
    serde_json::from_value(json).expect("a state with the old string memo loads")
}

#[tokio::test]
async fn fdb_state_with_the_old_string_memo_costs_one_conditional_pass() {
    let server = MockServer::start().await;
    mount_site(&server, FEED_DATE_1).await;
    let source = fdb_source(&server);
    let fetcher = test_fetcher(&source);
    let now = Utc.with_ymd_and_hms(2026, 4, 1, 5, 0, 0).unwrap();
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), now);
    let first = foerderdatenbank::collect(&mut ctx).await.unwrap();
    let old = with_string_memo(&ctx.state);
    assert!(old.memo.is_empty(), "the old memo is forgotten: {:?}", old.memo);
    let prior: HashMap<String, Call> = first.iter().map(|c| (c.url.clone(), c.clone())).collect();

    // The pass after the update: lists read afresh, detail pages asked conditionally.
    server.reset().await;
    mount_site(&server, FEED_DATE_1).await;
    let mut ctx = CollectContext::new(&fetcher, &source, old, Prior::loaded(prior.clone()), now);
    let second = foerderdatenbank::collect(&mut ctx).await.unwrap();
    assert_eq!(second.len(), first.len());
    for call in &first {
        let again = second.iter().find(|c| c.url == call.url).unwrap();
        assert_eq!(again.fingerprint, call.fingerprint, "{}", call.url);
    }
    let requests = server.received_requests().await.unwrap();
    let lists: Vec<_> = requests.iter().filter(|r| r.url.path() == LIST_PATH).collect();
    assert_eq!(lists.len(), 3);
    assert!(lists.iter().all(|r| !r.headers.contains_key("if-none-match")));
    let details = detail_requests(&server).await;
    assert!(
        details
            .iter()
            .all(|(page, etag)| page == "alt-programm.html" || etag.is_some()),
        "{details:?}"
    );

    // And the one after: warm again, no detail page fetched.
    server.reset().await;
    mount_site(&server, FEED_DATE_1).await;
    let mut ctx = CollectContext::new(&fetcher, &source, ctx.state, Prior::loaded(prior), now);
    let third = foerderdatenbank::collect(&mut ctx).await.unwrap();
    assert_eq!(third.len(), first.len());
    assert_eq!(detail_requests(&server).await, Vec::new());
}

#[tokio::test]
async fn fdb_broken_list_page_is_a_source_error() {
    let server = MockServer::start().await;
    Mock::given(path(LIST_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html><body><h1>Wartungsarbeiten</h1></body></html>"))
        .mount(&server)
        .await;
    let source = fdb_source(&server);
    let fetcher = test_fetcher(&source);
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), Utc::now());
    let err = foerderdatenbank::collect(&mut ctx).await.unwrap_err().to_string();
    assert!(
        err.contains("Foederprogrammsuche_Formular.html") && err.contains("result list"),
        "{err}"
    );
}

#[tokio::test]
async fn fdb_unasked_304_on_a_list_page_is_a_source_error_not_a_panic() {
    // A misbehaving proxy answers 304 although no validators were sent and no
    // copy of the page is remembered.
    let server = MockServer::start().await;
    Mock::given(path(LIST_PATH))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let source = fdb_source(&server);
    let fetcher = test_fetcher(&source);
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), Utc::now());
    let err = foerderdatenbank::collect(&mut ctx).await.unwrap_err().to_string();
    assert!(
        err.contains("Foederprogrammsuche_Formular.html") && err.contains("304"),
        "{err}"
    );
}
