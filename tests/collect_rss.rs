//! The `rss` kind against fixture feeds on loopback.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::collect::{Fetcher, Priors, SourceOutcome, collect_all};
use foerderradar::model::Call;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{fixture, http_settings, source};

fn feed(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(&format!("feeds/{name}")), "application/rss+xml; charset=utf-8")
}

async fn serve(server: &MockServer, at: &str, name: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(feed(name))
        .mount(server)
        .await;
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 20, 6, 0, 0).unwrap()
}

fn outcome<'a>(outcomes: &'a [SourceOutcome], id: &str) -> &'a SourceOutcome {
    outcomes
        .iter()
        .find(|o| o.source == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

fn call<'a>(outcome: &'a SourceOutcome, title_start: &str) -> &'a Call {
    outcome
        .calls
        .iter()
        .find(|c| c.title.starts_with(title_start))
        .unwrap_or_else(|| panic!("{}: no call '{title_start}' in {:?}", outcome.source, outcome.calls))
}

#[tokio::test]
async fn rss_rdf_style_and_atom_feeds_become_calls() {
    let server = MockServer::start().await;
    serve(&server, "/rss/bund.xml", "bund-aufrufe.xml").await;
    serve(&server, "/feeds/nrw.xml", "nrw-aufrufe.xml").await;
    serve(&server, "/pt/bekanntmachungen.atom", "projekttraeger.atom").await;
    let sources = vec![
        source(
            "bund",
            &format!("{}/rss/bund.xml", server.uri()),
            "rss",
            "funder = \"Bund\"",
        ),
        source(
            "nrw",
            &format!("{}/feeds/nrw.xml", server.uri()),
            "rss",
            "regions = [\"Nordrhein-Westfalen\"]",
        ),
        source("pt", &format!("{}/pt/bekanntmachungen.atom", server.uri()), "rss", ""),
    ];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let outcomes = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), now()).await;
    for o in &outcomes {
        assert_eq!(o.error, None, "{}", o.source);
        assert_eq!(o.calls.len(), 2, "{}", o.source);
    }

    let bund = outcome(&outcomes, "bund");
    let smart = call(bund, "Förderaufruf „Smarte Kommunen 2027“");
    assert!(
        smart
            .url
            .starts_with("https://www.bund.example/SharedDocs/Aufrufe/DE/2026/smarte-kommunen-2027.html")
    );
    assert_eq!(smart.published, NaiveDate::from_ymd_opt(2026, 9, 25));
    assert_eq!(smart.funder.as_deref(), Some("Bund"));
    assert_eq!(smart.topics, vec!["Digitalisierung".to_string()]);
    assert!(smart.summary.contains("Digitalisierungsvorhaben"), "{}", smart.summary);
    assert_eq!(smart.fingerprint, smart.compute_fingerprint(), "calls are sealed");

    let nrw = outcome(&outcomes, "nrw");
    let heimat = call(nrw, "Heimat-Scheck 2027");
    assert_eq!(
        heimat.published,
        NaiveDate::from_ymd_opt(2026, 10, 1),
        "dc:date stands in for pubDate"
    );
    assert_eq!(
        heimat.url,
        format!("{}/foerderung/heimat-scheck-2027", server.uri()),
        "relative link resolved"
    );
    assert_eq!(heimat.regions.len(), 1);
    assert_eq!(heimat.regions[0].to_string(), "Nordrhein-Westfalen");
    let dorf = call(nrw, "Digitale Dorfmitte");
    assert!(
        dorf.url
            .starts_with(&format!("{}/feeds/aufrufe/digitale-dorfmitte.html", server.uri())),
        "an item without guid is identified by its link: {}",
        dorf.url
    );

    let pt = outcome(&outcomes, "pt");
    let waerme = call(pt, "Bekanntmachung");
    assert_eq!(
        waerme.url,
        format!("{}/bekanntmachungen/kommunale-waermenetze", server.uri())
    );
    assert_eq!(waerme.published, NaiveDate::from_ymd_opt(2026, 10, 10));
    let rad = call(pt, "Förderaufruf Radverkehr");
    assert!(
        rad.summary.contains("Radwegen"),
        "Atom content is the summary when there is none"
    );
}

/// Needs the real `extract` functions: HTML in CDATA becomes clean text and
/// the criteria are read from it.
#[tokio::test]
async fn rss_descriptions_feed_the_extractors() {
    let server = MockServer::start().await;
    serve(&server, "/rss/bund.xml", "bund-aufrufe.xml").await;
    serve(&server, "/pt/bekanntmachungen.atom", "projekttraeger.atom").await;
    let sources = vec![
        source("bund", &format!("{}/rss/bund.xml", server.uri()), "rss", ""),
        source("pt", &format!("{}/pt/bekanntmachungen.atom", server.uri()), "rss", ""),
    ];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let outcomes = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), now()).await;
    let smart = call(outcome(&outcomes, "bund"), "Förderaufruf „Smarte Kommunen 2027“");
    assert!(!smart.summary.contains('<'), "tags stripped: {}", smart.summary);
    assert_eq!(
        smart.deadline.next_date(now().date_naive()),
        NaiveDate::from_ymd_opt(2027, 9, 30)
    );
    assert!(!smart.applicants.is_unstated());
    assert_eq!(smart.funding_rate.map(|r| r.max), Some(80.0));
    assert_eq!(
        call(outcome(&outcomes, "pt"), "Bekanntmachung").title,
        "Bekanntmachung Kommunale Wärmenetze"
    );
}

#[tokio::test]
async fn malformed_feed_names_its_source_and_others_deliver() {
    let server = MockServer::start().await;
    serve(&server, "/kaputt.xml", "kaputt.xml").await;
    serve(&server, "/bund.xml", "bund-aufrufe.xml").await;
    let sources = vec![
        source("kaputter-feed", &format!("{}/kaputt.xml", server.uri()), "rss", ""),
        source("bund", &format!("{}/bund.xml", server.uri()), "rss", ""),
    ];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let outcomes = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), now()).await;
    let broken = outcome(&outcomes, "kaputter-feed");
    let error = broken.error.as_deref().expect("malformed feed is an error");
    assert!(
        error.contains("kaputter-feed") && error.contains("/kaputt.xml"),
        "{error}"
    );
    assert!(broken.calls.is_empty());
    assert_eq!(outcome(&outcomes, "bund").calls.len(), 2);
}

#[tokio::test]
async fn unchanged_feed_is_not_modified_on_the_second_pass() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bund.xml"))
        .and(header("If-None-Match", "\"feed-v1\""))
        .respond_with(ResponseTemplate::new(304).insert_header("ETag", "\"feed-v1\""))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bund.xml"))
        .respond_with(feed("bund-aufrufe.xml").insert_header("ETag", "\"feed-v1\""))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let sources = vec![source("bund", &format!("{}/bund.xml", server.uri()), "rss", "")];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let first = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), now())
        .await
        .remove(0);
    assert_eq!(first.error, None);
    assert_eq!(first.not_modified, 0);

    let states = HashMap::from([("bund".to_string(), first.state.clone())]);
    let prior = first.calls.iter().map(|c| (c.url.clone(), c.clone())).collect();
    let priors = HashMap::from([("bund".to_string(), prior)]);
    let second = collect_all(&fetcher, &sources, states, Priors::Loaded(priors), now())
        .await
        .remove(0);
    assert_eq!(second.error, None);
    assert_eq!(second.not_modified, 1);
    assert_eq!(second.state, first.state);
    assert!(second.unchanged, "a 304 ends the pass as unchanged");
    assert!(second.calls.is_empty(), "the store keeps the calls; nothing is re-sent");
}
