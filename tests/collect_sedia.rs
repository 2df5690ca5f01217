//! `eu-sedia` against a wiremock SEDIA on 127.0.0.1 that filters only multipart
//! requests (anything else gets the unfiltered index, as the real API does).

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::collect::sedia;
use foerderradar::collect::{CollectContext, Prior};
use foerderradar::model::source::sedia::SediaOptions;
use foerderradar::model::source::{SourceKind, SourceState};
use foerderradar::model::{CallStatus, Region};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::collect_fdb::{fixture, source, test_fetcher};

const SEARCH_PATH: &str = "/search-api/prod/rest/search";

/// (name, content type, content) of every part of a multipart body.
fn multipart_parts(request: &Request) -> Option<Vec<(String, String, String)>> {
    let content_type = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = content_type
        .strip_prefix("multipart/form-data")?
        .split("boundary=")
        .nth(1)?
        .trim_matches('"');
    let body = String::from_utf8_lossy(&request.body);
    let parts = body
        .split(&format!("--{boundary}"))
        .filter_map(|chunk| {
            let (head, content) = chunk.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?.to_string();
            let mime = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-type:")
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_default();
            Some((name, mime, content.trim_end_matches("\r\n").to_string()))
        })
        .collect();
    Some(parts)
}

/// The filtered answer needs: POST, multipart, the three JSON parts, the key and the page in the URL.
struct FilteredSearch(u32);

impl wiremock::Match for FilteredSearch {
    fn matches(&self, request: &Request) -> bool {
        let query: HashMap<_, _> = request.url.query_pairs().into_owned().collect();
        let Some(parts) = multipart_parts(request) else {
            return false;
        };
        let json_part = |name: &str| parts.iter().any(|(n, mime, _)| n == name && mime == "application/json");
        request.url.path() == SEARCH_PATH
            && query.get("apiKey").map(String::as_str) == Some("SEDIA")
            && query.get("pageSize").map(String::as_str) == Some("3")
            && query.get("pageNumber") == Some(&self.0.to_string())
            && ["query", "languages", "sort"].iter().all(|n| json_part(n))
    }
}

async fn mount_sedia(server: &MockServer) {
    for (page, file) in [(1, "page1.json"), (2, "page2.json")] {
        Mock::given(method("POST"))
            .and(FilteredSearch(page))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/json")
                    .set_body_string(fixture("sedia", file)),
            )
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("sedia", "unfiltered.json")))
        .mount(server)
        .await;
}

fn sedia_source(server: &MockServer) -> foerderradar::config::SourceConfig {
    let opts: SediaOptions = toml::from_str(&format!(
        r#"programmes = ["LIFE", "CERV", "DIGITAL", "ERASMUS+"]
page_size = 3
max_pages = 5
portal_base = "{}/portal/screen/opportunities""#,
        server.uri()
    ))
    .unwrap();
    source(
        "eu-test",
        &format!("{}{SEARCH_PATH}", server.uri()),
        SourceKind::EuSedia(opts),
    )
}

#[tokio::test]
async fn sedia_pages_filters_and_collapses_languages() {
    let server = MockServer::start().await;
    mount_sedia(&server).await;
    let source = sedia_source(&server);
    let fetcher = test_fetcher(&source);
    let now = Utc.with_ymd_and_hms(2026, 4, 1, 5, 0, 0).unwrap();
    let today = now.date_naive();
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), now);
    let calls = sedia::collect(&mut ctx).await.expect("collects");

    let ids: Vec<&str> = calls.iter().filter_map(|c| c.external_id.as_deref()).collect();
    assert_eq!(
        ids,
        vec![
            "LIFE-2026-CET-LOCAL",
            "DIGITAL-2026-SMART-COMM-01",
            "ERASMUS-2026-YOUTH-CASCADE"
        ],
        "one LIFE record of two languages; CERV (Open but past its deadline) and the tender dropped"
    );

    let life = &calls[0];
    assert_eq!(
        life.title, "Lokale Energiewende in kleinen Kommunen",
        "German record preferred"
    );
    assert!(
        life.summary.contains("Kommunen planen ihre Energiewende"),
        "{}",
        life.summary
    );
    assert_eq!(
        life.deadline.next_date(today),
        NaiveDate::from_ymd_opt(2026, 9, 17),
        "next future cut-off"
    );
    assert_eq!(life.deadline.last_date(), NaiveDate::from_ymd_opt(2027, 2, 10));
    assert!(
        !format!("{:?}", life.deadline).contains("2026-03-05"),
        "passed cut-off dropped"
    );
    assert_eq!(life.status, CallStatus::Open);
    assert_eq!(life.amount_max_eur, Some(1_250_000));
    assert!(life.text.contains("Budget des Themas: 6.000.000 €"), "{}", life.text);
    assert_eq!(life.regions, vec![Region::EuWeit]);
    assert_eq!(
        life.url,
        format!(
            "{}/portal/screen/opportunities/topic-details/LIFE-2026-CET-LOCAL",
            server.uri()
        )
    );

    let digital = &calls[1];
    assert_eq!(digital.status, CallStatus::Forthcoming);
    let cascade = &calls[2];
    assert_eq!(
        cascade.url,
        format!(
            "{}/portal/screen/opportunities/competitive-calls-cs/99887766",
            server.uri()
        )
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "two pages cover totalResults = 6 at page_size 3");
    for request in &requests {
        let content_type = request.headers.get("content-type").unwrap().to_str().unwrap();
        assert!(content_type.starts_with("multipart/form-data"), "{content_type}");
        let parts = multipart_parts(request).unwrap();
        let names: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, vec!["query", "languages", "sort"]);
        let query: serde_json::Value = serde_json::from_str(&parts[0].2).unwrap();
        let filter =
            serde_json::json!({"terms": {"frameworkProgramme": ["43252405", "43251589", "43152860", "43353764"]}});
        assert!(query["bool"]["must"].as_array().unwrap().contains(&filter), "{query}");
        assert_eq!(parts[1].2, r#"["de","en"]"#);
    }
}

#[tokio::test]
async fn sedia_answer_that_is_not_json_is_a_parse_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>Wartung</html>"))
        .mount(&server)
        .await;
    let source = sedia_source(&server);
    let fetcher = test_fetcher(&source);
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), Utc::now());
    let err = sedia::collect(&mut ctx).await.unwrap_err().to_string();
    assert!(
        err.contains(SEARCH_PATH) && err.contains("not a SEDIA search response"),
        "{err}"
    );
}

#[tokio::test]
async fn sedia_answers_without_total_results_page_until_a_short_page() {
    let server = MockServer::start().await;
    let without_total = |file: &str| {
        let mut page: serde_json::Value = serde_json::from_str(&fixture("sedia", file)).unwrap();
        page.as_object_mut().unwrap().remove("totalResults");
        page.to_string()
    };
    let pages = [
        (1, without_total("page1.json")),
        (2, without_total("page2.json")),
        (3, r#"{"results": []}"#.to_string()),
    ];
    for (page, body) in pages {
        Mock::given(method("POST"))
            .and(FilteredSearch(page))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let source = sedia_source(&server);
    let fetcher = test_fetcher(&source);
    let now = Utc.with_ymd_and_hms(2026, 4, 1, 5, 0, 0).unwrap();
    let mut ctx = CollectContext::new(&fetcher, &source, SourceState::default(), Prior::default(), now);
    let calls = sedia::collect(&mut ctx).await.expect("collects");
    assert_eq!(calls.len(), 3, "the same topics as with totalResults");
    // The mocks verify on drop that pages 1, 2 and the empty page 3 were each asked once.
}
