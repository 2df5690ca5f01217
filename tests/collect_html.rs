//! The `html` kind against fixture pages on loopback.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::collect::{Fetcher, Priors, SourceOutcome, collect_all};
use foerderradar::model::source::{Memo, SourceKind};
use foerderradar::model::{Call, Deadline, DeadlineDate};
use foerderradar::store::{SqliteStore, Store};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{fixture, http_settings, source};

fn page(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(&format!("html/{name}")), "text/html; charset=utf-8")
}

async fn serve(server: &MockServer, at: &str, name: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(page(name))
        .mount(server)
        .await;
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 20, 6, 0, 0).unwrap()
}

fn call<'a>(outcome: &'a SourceOutcome, title_start: &str) -> &'a Call {
    outcome
        .calls
        .iter()
        .find(|c| c.title.starts_with(title_start))
        .unwrap_or_else(|| panic!("{}: no call '{title_start}' in {:#?}", outcome.source, outcome.calls))
}

async fn collect_one(sources: &[foerderradar::config::SourceConfig]) -> Vec<SourceOutcome> {
    // Short retry waits: the failure tests retry 5xx answers.
    let fetcher = Fetcher::new(&http_settings(), sources)
        .unwrap()
        .with_retry_base(std::time::Duration::from_millis(10));
    collect_all(&fetcher, sources, HashMap::new(), Priors::none(), now()).await
}

const TEASER_LIST: &str = r#"
item = ".l-teaser-list .c-teaser--announcement"
title = ".c-teaser__title"
summary = ".c-teaser__text"
published = "time.c-topline__time"
deadline = ".c-topline__item--stopdate time"
next_page = "a.c-pagination__next"
funder = "Bund"
"#;

#[tokio::test]
async fn teaser_list_with_two_pages() {
    let server = MockServer::start().await;
    Mock::given(path("/foerderinfo/bekanntmachungen.html"))
        .and(query_param_is_missing("seite"))
        .respond_with(page("bekanntmachungen-1.html"))
        .mount(&server)
        .await;
    Mock::given(path("/foerderinfo/bekanntmachungen.html"))
        .and(query_param("seite", "2"))
        .respond_with(page("bekanntmachungen-2.html"))
        .mount(&server)
        .await;
    let url = format!("{}/foerderinfo/bekanntmachungen.html", server.uri());
    let outcomes = collect_one(&[source("foerderinfo", &url, "html", TEASER_LIST)]).await;
    let o = &outcomes[0];
    assert_eq!(o.error, None);
    assert_eq!(
        o.calls.len(),
        3,
        "a call listed on both pages counts once: {:#?}",
        o.calls
    );

    let daten = call(o, "Richtlinie zur Förderung kommunaler Datenplattformen");
    assert_eq!(
        daten.url,
        format!(
            "{}/foerderinfo/bekanntmachungen/2026-09-15-kommunale-datenplattformen.html",
            server.uri()
        ),
        "relative links resolve against <base href>"
    );
    assert_eq!(daten.published, NaiveDate::from_ymd_opt(2026, 9, 15));
    assert_eq!(
        daten.deadline,
        Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2027, 1, 31).unwrap())])
    );
    assert_eq!(daten.funder.as_deref(), Some("Bund"));
    assert!(daten.summary.contains("urbaner Datenplattformen"), "{}", daten.summary);

    let ki = call(o, "Bekanntmachung: Künstliche Intelligenz");
    assert!(
        ki.url
            .starts_with("https://www.bmftr.example/SharedDocs/Bekanntmachungen/DE/2026/09/")
    );
    let h2 = call(o, "Förderaufruf Wasserstoff");
    assert_eq!(
        h2.url,
        format!(
            "{}/foerderinfo/bekanntmachungen/2026-08-20-wasserstoff-kommunal.html",
            server.uri()
        )
    );
    assert_eq!(h2.published, NaiveDate::from_ymd_opt(2026, 8, 20));
    assert_eq!(o.requests, 3, "robots.txt and two list pages");
}

const LABELS: &str = r#"
mode = "labels"
item = "article.foerderangebot"
title = "h3"
regions = ["Nordrhein-Westfalen"]
[labels]
label = "strong, dt, h4"
[labels.fields]
applicants = ["Wer kann beantragen"]
deadline = ["Ab und bis wann"]
funder = ["Bei wem kann beantragt"]
summary = ["Was kann beantragt"]
amount = ["Was kann beantragt"]
"#;

#[tokio::test]
async fn label_answer_page() {
    let server = MockServer::start().await;
    serve(&server, "/service/foerderangebote", "foerderangebote.html").await;
    let url = format!("{}/service/foerderangebote", server.uri());
    let outcomes = collect_one(&[source("mhkbd", &url, "html", LABELS)]).await;
    let o = &outcomes[0];
    assert_eq!(o.error, None);
    assert_eq!(o.calls.len(), 3);

    let zeugnis = call(o, "Heimat-Zeugnis");
    assert_eq!(zeugnis.url, format!("{}/heimat/heimat-zeugnis", server.uri()));
    assert_eq!(zeugnis.funder.as_deref(), Some("Bezirksregierung Münster, Dezernat 35"));
    assert_eq!(
        zeugnis.summary,
        "Projektzuschuss für Bau- und Sanierungsmaßnahmen an Heimatstätten, höchstens 500.000 Euro."
    );
    assert_eq!(zeugnis.regions.len(), 1);

    let scheck = call(o, "Heimat-Scheck");
    assert_eq!(scheck.url, "https://www.heimat.nrw.example/heimat-scheck");
    assert_eq!(scheck.summary, "Projektzuschuss von 2.000 Euro", "dt/dd pairs");
    assert_eq!(scheck.funder, None, "no label for it");

    let wiederaufbau = call(o, "Wiederaufbau kommunaler Infrastruktur");
    assert_eq!(
        wiederaufbau.url,
        format!("{}/wiederaufbau/kommunale-infrastruktur", server.uri())
    );
}

/// Needs the real `extract` functions: label answers become criteria.
#[tokio::test]
async fn label_answers_feed_the_extractors() {
    let server = MockServer::start().await;
    serve(&server, "/service/foerderangebote", "foerderangebote.html").await;
    let url = format!("{}/service/foerderangebote", server.uri());
    let outcomes = collect_one(&[source("mhkbd", &url, "html", LABELS)]).await;
    let o = &outcomes[0];
    let today = now().date_naive();
    assert_eq!(call(o, "Heimat-Zeugnis").amount_max_eur, Some(500_000));
    assert!(!call(o, "Heimat-Zeugnis").applicants.is_unstated());
    assert_eq!(
        call(o, "Heimat-Scheck").deadline.next_date(today),
        NaiveDate::from_ymd_opt(2027, 9, 30)
    );
    assert_eq!(
        call(o, "Wiederaufbau").deadline.next_date(today),
        NaiveDate::from_ymd_opt(2027, 6, 30)
    );
}

const WITH_DETAILS: &str = r#"
item = "div.massnahme"
title = ".massnahme__titel"
summary = ".massnahme__teaser"
[labels]
label = "dt"
[labels.fields]
applicants = ["Antragsberechtigte"]
rate = ["Förderquote"]
funder = ["Fördergebende Institution"]
funding_type = ["Förderart"]
deadline = ["Einreichungsfrist"]
[detail]
content = "article#inhalt"
title = "h1"
summary = "p.einleitung"
use_labels = true
"#;

async fn detail_site(expected_detail_fetches: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/massnahmen"))
        .and(header("If-None-Match", "\"liste-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/massnahmen"))
        .respond_with(page("massnahmen.html").insert_header("ETag", "\"liste-1\""))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    for (at, name) in [
        ("/foerderung-finden/wohnviertel-im-wandel", "wohnviertel-im-wandel.html"),
        ("/foerderung-finden/gruene-infrastruktur", "gruene-infrastruktur.html"),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(page(name))
            .expect(expected_detail_fetches)
            .mount(&server)
            .await;
    }
    server
}

/// A first pass over the detail site; the server lives as long as the returned handle.
async fn cold_detail_pass(
    expected_detail_fetches: u64,
) -> (
    MockServer,
    Vec<foerderradar::config::SourceConfig>,
    Fetcher,
    SourceOutcome,
) {
    let server = detail_site(expected_detail_fetches).await;
    let sources = vec![source(
        "efre",
        &format!("{}/massnahmen", server.uri()),
        "html",
        WITH_DETAILS,
    )];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let cold = collect_all(&fetcher, &sources, HashMap::new(), Priors::none(), now())
        .await
        .remove(0);
    (server, sources, fetcher, cold)
}

#[tokio::test]
async fn list_with_detail_pages_then_warm_pass_fetches_no_details() {
    let (server, sources, fetcher, cold) = cold_detail_pass(1).await;
    assert_eq!(cold.error, None);
    assert_eq!(cold.calls.len(), 2);
    let wohn = call(&cold, "Wohnviertel im Wandel – Förderaufruf 2026");
    assert_eq!(
        wohn.url,
        format!("{}/foerderung-finden/wohnviertel-im-wandel", server.uri())
    );
    assert_eq!(
        wohn.funder.as_deref(),
        Some("Ministerium für Heimat, Kommunales, Bau und Digitalisierung")
    );
    assert_eq!(wohn.funding_types, vec!["Zuschuss".to_string()]);
    assert!(wohn.text.contains("Drei Einreichungsrunden"), "{}", wohn.text);
    assert!(
        wohn.summary.contains("Quartiersprojekte"),
        "detail summary wins: {}",
        wohn.summary
    );
    let gruen = call(&cold, "Grüne Infrastruktur");
    assert_eq!(gruen.funding_types, vec!["Zuschuss".to_string()]);

    let states = HashMap::from([("efre".to_string(), cold.state.clone())]);
    let prior = cold.calls.iter().map(|c| (c.url.clone(), c.clone())).collect();
    let warm = collect_all(
        &fetcher,
        &sources,
        states,
        Priors::Loaded(HashMap::from([("efre".to_string(), prior)])),
        now(),
    )
    .await
    .remove(0);
    assert_eq!(warm.error, None);
    assert_eq!(warm.not_modified, 1, "the list answers 304");
    assert_eq!(warm.requests, 1, "no detail page fetched");
    assert!(
        warm.unchanged,
        "list 304 and every detail read last time: the source is unchanged"
    );
    assert!(warm.calls.is_empty());
    assert_eq!(warm.state, cold.state);
    // The mocks verify on drop that each detail page was fetched exactly once.
}

#[tokio::test]
async fn warm_pass_without_prior_calls_fetches_details_again() {
    let (_server, sources, fetcher, cold) = cold_detail_pass(2).await;
    let states = HashMap::from([("efre".to_string(), cold.state.clone())]);
    let warm = collect_all(&fetcher, &sources, states, Priors::none(), now())
        .await
        .remove(0);
    assert_eq!(warm.error, None);
    assert_eq!(
        warm.calls.len(),
        2,
        "the store lost the calls, so the details are read again"
    );
}

/// A state as versions before the typed memo stored it: a string map with
/// `page:` and `detail:` keys and JSON inside strings.
fn state_with_string_memo(server: &MockServer) -> String {
    let list = format!("{}/massnahmen", server.uri());
    let detail = format!("{}/foerderung-finden/wohnviertel-im-wandel", server.uri());
    serde_json::json!({
        "validators": { list.clone(): { "etag": "\"liste-1\"", "last_modified": null } },
        "memo": {
            format!("page:{list}"): "{\"listings\":[],\"next\":null}",
            format!("detail:{detail}"): "0123456789abcdef01234567",
        },
    })
    .to_string()
}

#[tokio::test]
async fn state_with_the_old_string_memo_loads_and_the_source_recovers_in_one_pass() {
    // Each detail page is fetched once over both passes (the mocks verify on drop).
    let server = detail_site(1).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("foerderradar.sqlite");
    let store = SqliteStore::open(&db).await.unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO source_state (source, json, updated) VALUES ('efre', ?, '2026-10-19T06:00:00.000000Z')")
        .bind(state_with_string_memo(&server))
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let old = store.source_state("efre").await.expect("an old state loads");
    assert_eq!(old.memo, Memo::Empty, "the unreadable memo is forgotten");
    assert_eq!(old.validators.len(), 1, "the validators are kept");

    let sources = vec![source(
        "efre",
        &format!("{}/massnahmen", server.uri()),
        "html",
        WITH_DETAILS,
    )];
    let fetcher = Fetcher::new(&http_settings(), &sources).unwrap();
    let states = HashMap::from([("efre".to_string(), old)]);
    let first = collect_all(&fetcher, &sources, states, Priors::none(), now())
        .await
        .remove(0);
    assert_eq!(first.error, None);
    assert_eq!(
        first.calls.len(),
        2,
        "the list is read afresh, not taken from the old memo"
    );
    assert_eq!(
        first.not_modified, 0,
        "no page remembered, so nothing asked conditionally"
    );
    let Memo::Html(memo) = &first.state.memo else {
        panic!("an html memo: {:?}", first.state.memo);
    };
    assert_eq!((memo.pages.len(), memo.details.len()), (1, 2));

    store.save_source_state("efre", &first.state).await.unwrap();
    let saved = store.source_state("efre").await.unwrap();
    assert_eq!(saved, first.state, "the typed memo round-trips through the store");
    let prior = first.calls.iter().map(|c| (c.url.clone(), c.clone())).collect();
    let warm = collect_all(
        &fetcher,
        &sources,
        HashMap::from([("efre".to_string(), saved)]),
        Priors::Loaded(HashMap::from([("efre".to_string(), prior)])),
        now(),
    )
    .await
    .remove(0);
    assert_eq!(warm.error, None);
    assert_eq!(
        (warm.requests, warm.not_modified),
        (1, 1),
        "warm again: the list answers 304"
    );
    assert!(warm.unchanged && warm.calls.is_empty(), "nothing changed: {warm:?}");
    assert_eq!(warm.state, first.state);
}

#[tokio::test]
async fn broken_html_is_still_parsed() {
    let server = MockServer::start().await;
    serve(&server, "/programme", "kaputt.html").await;
    let options = "item = \"div.c-teaser\"\ntitle = \".c-teaser__title\"\nsummary = \".c-teaser__text\"";
    let outcomes = collect_one(&[source(
        "kaputt",
        &format!("{}/programme", server.uri()),
        "html",
        options,
    )])
    .await;
    let o = &outcomes[0];
    assert_eq!(o.error, None);
    assert_eq!(o.calls.len(), 2, "{:#?}", o.calls);
    assert_eq!(
        call(o, "Dorfläden").url,
        format!("{}/programme/dorfladen", server.uri())
    );
    assert_eq!(
        call(o, "Bürgerbus im Münsterland").url,
        format!("{}/programme/buergerbus", server.uri())
    );
}

#[test]
fn selectors_are_compiled_once_when_the_source_is_built() {
    // A bad selector cannot reach a pass: building the kind (at config load) refuses it.
    let table = |t: &str| -> toml::Table { toml::from_str(t).unwrap() };
    let error = SourceKind::from_table("html", table("item = \"article[\"\ntitle = \"h3\"")).unwrap_err();
    assert!(error.contains("option `item`") && error.contains("article["), "{error}");
    let error = SourceKind::from_table(
        "html",
        table("item = \"a\"\ntitle = \"h3\"\n[detail]\ncontent = \"main >\""),
    )
    .unwrap_err();
    assert!(error.contains("option `detail.content`"), "{error}");
    // Every pass gets a copy of the source config; the copies share the one compiled set.
    let built = source("mhkbd", "http://127.0.0.1:9/", "html", LABELS);
    let per_pass = built.clone();
    let (SourceKind::Html(a), SourceKind::Html(b)) = (&built.kind, &per_pass.kind) else {
        panic!("html kind expected");
    };
    assert!(std::sync::Arc::ptr_eq(a.selectors(), b.selectors()));
    assert_eq!(a.options().item, "article.foerderangebot");
}

#[tokio::test]
async fn item_selector_finding_nothing_yields_no_calls_without_error() {
    let server = MockServer::start().await;
    serve(&server, "/service/foerderangebote", "foerderangebote.html").await;
    let url = format!("{}/service/foerderangebote", server.uri());
    let outcomes = collect_one(&[source(
        "umgebaut",
        &url,
        "html",
        "item = \"div.gibt-es-nicht\"\ntitle = \"h3\"",
    )])
    .await;
    assert_eq!(outcomes[0].error, None);
    assert!(outcomes[0].calls.is_empty());
}

/// Needs the real `extract::decode_body`: the page is ISO-8859-1 without a charset header.
#[tokio::test]
async fn latin1_page_without_charset_keeps_umlauts() {
    let server = MockServer::start().await;
    Mock::given(path("/foerderung"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("html/latin1.html"), "text/html"))
        .mount(&server)
        .await;
    let options = "item = \"li.programm\"\ntitle = \"a\"\nsummary = \".text\"";
    let outcomes = collect_one(&[source(
        "kreis",
        &format!("{}/foerderung", server.uri()),
        "html",
        options,
    )])
    .await;
    let o = &outcomes[0];
    assert_eq!(o.error, None);
    call(o, "Förderung für Quartiersbüros in Städten über 25.000 Einwohner");
    assert!(
        call(o, "Grünflächen und Spielplätze")
            .summary
            .contains("Maßnahmen zur Begrünung öffentlicher Plätze")
    );
}

#[tokio::test]
async fn one_broken_detail_page_keeps_the_list_entry_and_the_other_calls() {
    let server = MockServer::start().await;
    serve(&server, "/massnahmen", "massnahmen.html").await;
    serve(
        &server,
        "/foerderung-finden/wohnviertel-im-wandel",
        "wohnviertel-im-wandel.html",
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/foerderung-finden/gruene-infrastruktur"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let sources = vec![source(
        "efre",
        &format!("{}/massnahmen", server.uri()),
        "html",
        WITH_DETAILS,
    )];
    let outcome = collect_one(&sources).await.remove(0);
    assert_eq!(outcome.error, None, "one broken page is not a broken source");
    assert_eq!(outcome.calls.len(), 2);
    assert!(
        call(&outcome, "Wohnviertel im Wandel")
            .text
            .contains("Drei Einreichungsrunden")
    );
    let gruen = call(&outcome, "Grüne Infrastruktur");
    assert!(gruen.text.is_empty(), "list entry only: {}", gruen.text);
    let Memo::Html(memo) = &outcome.state.memo else {
        panic!("an html memo: {:?}", outcome.state.memo);
    };
    assert!(
        !memo.details.contains_key(&gruen.url),
        "the broken page is fetched again next pass"
    );
    assert!(memo.details.contains_key(&call(&outcome, "Wohnviertel im Wandel").url));
}

#[tokio::test]
async fn every_detail_page_failing_is_a_source_error() {
    let server = MockServer::start().await;
    serve(&server, "/massnahmen", "massnahmen.html").await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/foerderung-finden/"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let sources = vec![source(
        "efre",
        &format!("{}/massnahmen", server.uri()),
        "html",
        WITH_DETAILS,
    )];
    let outcome = collect_one(&sources).await.remove(0);
    assert!(
        outcome.error.as_deref().is_some_and(|e| e.contains("503")),
        "{:?}",
        outcome.error
    );
}
