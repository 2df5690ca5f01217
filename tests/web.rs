//! `foerderradar serve` over real HTTP: a reqwest client against the server on
//! 127.0.0.1 (port 0), with the store of a temporary directory.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::config::Config;
use foerderradar::model::feedback::{FeedbackAction, FeedbackTargetKind};
use foerderradar::model::{Call, CallId, Deadline, DeadlineDate, Match};
use foerderradar::notify::links::{LinkAction, LinkSigner};
use foerderradar::store::{FeedbackFilter, OutboxStatus, RunKind, SqliteStore, Store};
use foerderradar::web::{self, Secrets, WebState};
use reqwest::StatusCode;

const SECRET: &str = "test-link-secret-0123456789abcdef-0123";
const ADMIN: &str = "test-admin-token-0123456789";
const AHLEN: &str = "digital@ahlen.example.org";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

struct Server {
    base: String,
    store: SqliteStore,
    signer: LinkSigner,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn config() -> Config {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    Config::load(&dir).unwrap_or_else(|e| panic!("{}: {:?}", dir.display(), e.0))
}

fn call(slug: &str, title: &str) -> Call {
    let mut call = Call::new(
        "fdb",
        format!("https://foerder.example/{slug}"),
        title,
        Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
    );
    call.funder = Some("Land NRW".into());
    call.deadline = Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap())]);
    call
}

fn hit(call: &Call, feld: &str, project: Option<&str>, kommunen: &[&str]) -> Match {
    Match {
        call_id: call.id.clone(),
        handlungsfeld: feld.into(),
        project: project.map(str::to_string),
        score: 3.0,
        threshold: 2.0,
        passed: true,
        kommunen: kommunen.iter().map(|k| k.to_string()).collect(),
        reasons: vec![],
    }
}

/// Two calls for Ahlen (one with a hostile title), one for Beckum only.
async fn seed(store: &SqliteStore) -> (CallId, CallId, CallId) {
    let rathaus = call("rathaus", "Digitales Rathaus <script>alert(1)</script>");
    let klima = call("klima", "Klimaanpassung in Kommunen");
    let beckum = call("beckum", "Gewerbegebiete digital");
    for (c, matches) in [
        (
            &rathaus,
            vec![hit(&rathaus, "verwaltung", Some("rathaus"), &["ahlen", "beckum"])],
        ),
        (&klima, vec![hit(&klima, "klima", None, &["ahlen"])]),
        (&beckum, vec![hit(&beckum, "infrastruktur", None, &["beckum"])]),
    ] {
        store.upsert_call(c).await.unwrap();
        store.replace_matches(&c.id, &matches).await.unwrap();
    }
    (rathaus.id, klima.id, beckum.id)
}

impl Server {
    async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adapt: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("foerderradar.sqlite"))
            .await
            .unwrap();
        let mut config = config();
        adapt(&mut config);
        Self::serve(config, store, dir).await
    }

    /// Serves `config` over `store` on a free loopback port.
    async fn serve(mut config: Config, store: SqliteStore, dir: tempfile::TempDir) -> Server {
        let listener = web::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        config.service.web.public_url = Some(url::Url::parse(&base).unwrap());
        let signer = LinkSigner::new(
            SECRET,
            url::Url::parse(&base).unwrap(),
            config.service.web.link_validity,
        );
        let secrets = Secrets {
            link_secret: Some(SECRET.as_bytes().to_vec()),
            admin_token: Some(ADMIN.into()),
        };
        let state = WebState::new(config, store.clone(), Some(today()), secrets).unwrap();
        tokio::spawn(web::serve(state, listener, std::future::pending()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            base,
            store,
            signer,
            client,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    fn link(&self, contact: &str, action: LinkAction) -> String {
        self.signer.url(contact, &action, Utc::now())
    }

    async fn get(&self, url: &str) -> (StatusCode, String) {
        let response = self.client.get(url).send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn admin_get(&self, url: &str) -> (StatusCode, String) {
        let response = self.client.get(url).bearer_auth(ADMIN).send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn feedback(&self) -> Vec<foerderradar::model::feedback::FeedbackEntry> {
        self.store.feedback(&FeedbackFilter::default()).await.unwrap()
    }

    fn csrf_of(&self, url: &str) -> String {
        self.signer.csrf_token(url.rsplit('/').next().unwrap())
    }
}

/// The CSRF token the page's form carries.
fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn health_is_200_with_a_fresh_store_and_503_when_overdue_or_unreachable() {
    let s = Server::start().await;
    let (status, body) = s.get(&s.url("/health")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["database"], true);
    // A run that finished long ago: two collect slots passed since.
    let long_ago = Utc::now() - chrono::Duration::days(10);
    let run = s.store.start_run(RunKind::Collect, long_ago).await.unwrap();
    s.store
        .finish_run(run, long_ago, true, &serde_json::json!({}))
        .await
        .unwrap();
    let (status, body) = s.get(&s.url("/health")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "overdue");
    assert!(json["last_run_age_secs"].as_i64().unwrap() >= 10 * 86_400);
    // A fresh run makes it healthy again.
    let run = s.store.start_run(RunKind::Collect, Utc::now()).await.unwrap();
    s.store
        .finish_run(run, Utc::now(), false, &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(s.get(&s.url("/health")).await.0, StatusCode::OK);
    s.store.close().await;
    let (status, body) = s.get(&s.url("/health")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("database unreachable"), "{body}");
}

#[tokio::test]
async fn metrics_parse_and_carry_the_series_for_loopback_or_the_admin() {
    let s = Server::start().await;
    let (rathaus, _, _) = seed(&s.store).await;
    let run = s.store.start_run(RunKind::Collect, Utc::now()).await.unwrap();
    s.store
        .finish_run(run, Utc::now(), true, &serde_json::json!({}))
        .await
        .unwrap();
    s.store
        .record_source_run(
            &foerderradar::store::SourceRun {
                source: "fdb".into(),
                at: Utc::now(),
                items: 3,
                error: None,
                requests: 1,
                not_modified: 0,
                duration_ms: 5,
            },
            3,
        )
        .await
        .unwrap();
    let dismiss = s.link(AHLEN, LinkAction::PasstNicht(rathaus));
    let (_, page) = s.get(&dismiss).await;
    assert_eq!(s.post(&dismiss, &[("csrf", &csrf_in(&page))]).await.0, StatusCode::OK);

    // Through a reverse proxy the request is not local: the token is needed.
    let proxied = s
        .client
        .get(s.url("/metrics"))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::UNAUTHORIZED);
    let with_token = s
        .client
        .get(s.url("/metrics"))
        .header("x-forwarded-for", "198.51.100.7")
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::OK);
    let (status, text) = s.get(&s.url("/metrics")).await;
    assert_eq!(status, StatusCode::OK, "loopback may scrape");
    assert_eq!(text, with_token.text().await.unwrap());

    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => panic!("{name} is not a gauge"),
            })
            .unwrap_or_else(|| panic!("no sample {name} {label:?} in\n{text}"))
    };
    assert_eq!(value("foerderradar_calls", Some(("source", "fdb"))), 3.0);
    assert_eq!(value("foerderradar_matches_passed", None), 3.0);
    for state in ["sent", "pending", "failed", "given_up"] {
        assert_eq!(value("foerderradar_mails", Some(("state", state))), 0.0);
    }
    assert_eq!(value("foerderradar_feedback", Some(("action", "passt-nicht"))), 1.0);
    assert!(
        value(
            "foerderradar_source_last_success_timestamp_seconds",
            Some(("source", "fdb"))
        ) > 0.0
    );
    assert_eq!(
        value("foerderradar_source_consecutive_failures", Some(("source", "fdb"))),
        0.0
    );
    assert_eq!(value("foerderradar_source_items", Some(("source", "fdb"))), 3.0);
    assert!(value("foerderradar_job_last_run_timestamp_seconds", Some(("job", "collect"))) > 0.0);
    assert!(value("foerderradar_job_duration_seconds", Some(("job", "collect"))) >= 0.0);
    assert_eq!(value("foerderradar_job_success", Some(("job", "collect"))), 1.0);
}

#[tokio::test]
async fn admin_routes_need_the_token() {
    let s = Server::start().await;
    let (rathaus, _, _) = seed(&s.store).await;
    let page = s.url(&format!("/calls/{}", rathaus.0));
    let (status, body) = s.get(&page).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("Digitales Rathaus"));
    let wrong = s.client.get(&page).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = s.admin_get(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Digitales Rathaus &lt;script&gt;"),
        "scraped title escaped"
    );
    assert!(!body.contains("<script>alert"));
    assert!(body.contains("Erklärung je Kommune") && body.contains("Beckum"));
    let (status, _) = s.get(&s.url("/report?kommune=ahlen")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a report needs a link or the token");
    let (status, csv) = s.admin_get(&s.url("/report?kommune=beckum&format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("Gewerbegebiete digital"));
}

#[tokio::test]
async fn tampered_and_expired_links_get_the_same_friendly_403() {
    let s = Server::start().await;
    let (rathaus, _, _) = seed(&s.store).await;
    let good = s.link(AHLEN, LinkAction::PasstNicht(rathaus.clone()));
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let expired = s.signer.url(
        AHLEN,
        &LinkAction::PasstNicht(rathaus),
        Utc::now() - chrono::Duration::days(181),
    );
    let other_key = LinkSigner::new(
        "another-secret-0123456789abcdef0123456",
        url::Url::parse(&s.base).unwrap(),
        Duration::from_secs(86_400),
    )
    .url(AHLEN, &LinkAction::Settings, Utc::now());
    let mut bodies = Vec::new();
    for url in [&tampered, &expired, &other_key, &s.url("/l/kaputt")] {
        let (status, body) = s.get(url).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}");
        assert!(body.contains("Dieser Link ist ungültig oder abgelaufen."), "{body}");
        bodies.push(body);
        let (status, _) = s.post(url, &[("csrf", &s.csrf_of(url))]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {url}");
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "no detail about why");
    assert!(s.feedback().await.is_empty());
    assert_eq!(s.get(&good).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_get_changes_nothing_and_the_post_with_its_csrf_token_records_it() {
    let s = Server::start().await;
    let (rathaus, klima, _) = seed(&s.store).await;
    let settings = s.link(AHLEN, LinkAction::Settings);
    let (status, page) = s.get(&settings).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Klimaanpassung in Kommunen") && page.contains("Digitales Rathaus &lt;script&gt;"));
    assert!(!page.contains("Gewerbegebiete digital"), "Beckum's call is not Ahlen's");
    assert!(
        !page.contains(AHLEN),
        "no page shows the address without the admin token"
    );

    let dismiss = s.link(AHLEN, LinkAction::PasstNicht(klima.clone()));
    for _ in 0..3 {
        let (status, confirm) = s.get(&dismiss).await;
        assert_eq!(status, StatusCode::OK);
        assert!(confirm.contains("Klimaanpassung in Kommunen") && confirm.contains("<form method=\"post\""));
    }
    assert!(s.feedback().await.is_empty(), "GET never records");
    let (status, _) = s.post(&dismiss, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let other_csrf = s.csrf_of(&settings);
    assert_eq!(
        s.post(&dismiss, &[("csrf", &other_csrf)]).await.0,
        StatusCode::FORBIDDEN
    );
    assert!(s.feedback().await.is_empty());

    let (_, confirm) = s.get(&dismiss).await;
    let (status, done) = s.post(&dismiss, &[("csrf", &csrf_in(&confirm))]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let entries = s.feedback().await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (e.action, e.target_kind),
        (FeedbackAction::PasstNicht, FeedbackTargetKind::Call)
    );
    assert_eq!(
        (e.target.as_str(), e.contact.as_deref()),
        (klima.0.as_str(), Some(AHLEN))
    );
    assert_eq!((e.actor.as_str(), e.kommune.as_deref()), (AHLEN, Some("ahlen")));
    let (_, page) = s.get(&settings).await;
    assert!(
        !page.contains("Klimaanpassung in Kommunen"),
        "the dismissed call is gone"
    );
    assert!(page.contains("Digitales Rathaus"));

    // Muting the project takes the Rathaus call off the page too.
    let mute = s.link(AHLEN, LinkAction::MuteProject("rathaus".into()));
    let (_, confirm) = s.get(&mute).await;
    assert!(confirm.contains("Digitales Rathaus"));
    assert_eq!(s.post(&mute, &[("csrf", &csrf_in(&confirm))]).await.0, StatusCode::OK);
    let set = s.store.feedback_set(AHLEN, &["ahlen".into()]).await.unwrap();
    assert!(set.muted_projects.contains("rathaus") && set.dismissed.contains(&klima));
    let (_, page) = s.get(&settings).await;
    assert!(
        !page.contains("Digitales Rathaus &lt;script"),
        "the call of the muted project is gone"
    );
    assert!(!set.dismissed.contains(&rathaus));
}

#[tokio::test]
async fn unsubscribe_by_form_or_one_click_and_settings_narrow_only() {
    let s = Server::start().await;
    seed(&s.store).await;
    let unsubscribe = s.link(AHLEN, LinkAction::Unsubscribe);
    assert_eq!(s.get(&unsubscribe).await.0, StatusCode::OK);
    assert!(s.store.contact_settings(AHLEN).await.unwrap().is_none());
    // RFC 8058: the mail client posts this body to the List-Unsubscribe URL.
    let (status, _) = s.post(&unsubscribe, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(s.store.contact_settings(AHLEN).await.unwrap().unwrap().unsubscribed);

    let settings = s.link(AHLEN, LinkAction::Settings);
    let (_, page) = s.get(&settings).await;
    let csrf = csrf_in(&page);
    let (status, page) = s
        .post(
            &settings,
            &[
                ("csrf", &csrf),
                ("form", "settings"),
                ("cadence", "wöchentlich:donnerstag"),
                ("handlungsfeld", "verwaltung"),
                ("paused_until", "2027-01-15"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Ihre Einstellungen sind gespeichert."));
    let saved = s.store.contact_settings(AHLEN).await.unwrap().unwrap();
    assert_eq!(saved.cadence.unwrap().to_string(), "wöchentlich:donnerstag");
    assert_eq!(saved.handlungsfelder, Some(vec!["verwaltung".to_string()]));
    assert_eq!(saved.paused_until, NaiveDate::from_ymd_opt(2027, 1, 15));
    assert!(!saved.unsubscribed, "re-subscribed by the form");
    assert_eq!(saved.updated_by, AHLEN);
    assert!(!page.contains("Klimaanpassung"), "no longer followed");

    // A Handlungsfeld the Kommune does not follow cannot be added.
    let (status, _) = s
        .post(
            &settings,
            &[
                ("csrf", &csrf),
                ("handlungsfeld", "verwaltung"),
                ("handlungsfeld", "erfunden"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let unchanged = s.store.contact_settings(AHLEN).await.unwrap().unwrap();
    assert_eq!(unchanged.handlungsfelder, Some(vec!["verwaltung".to_string()]));
}

#[tokio::test]
async fn a_contact_link_opens_only_its_own_kommunes_report() {
    let s = Server::start().await;
    seed(&s.store).await;
    let token = s.signer.token(AHLEN, &LinkAction::Settings, Utc::now());
    let (status, html) = s
        .get(&s.url(&format!("/report?kommune=ahlen&format=html&token={token}")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Klimaanpassung in Kommunen") && !html.contains("Gewerbegebiete digital"));
    let (status, json) = s.get(&s.url(&format!("/report?format=json&token={token}"))).await;
    assert_eq!(status, StatusCode::OK, "no Kommune given: the contact's own");
    assert!(json.contains("Klimaanpassung") && !json.contains("Gewerbegebiete"));
    for other in ["beckum", "Beckum", "telgte"] {
        let (status, body) = s.get(&s.url(&format!("/report?kommune={other}&token={token}"))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other}");
        assert!(!body.contains("Gewerbegebiete"));
    }
    // An action link is no report key.
    let passt = s.signer.token(AHLEN, &LinkAction::Unsubscribe, Utc::now());
    assert_eq!(
        s.get(&s.url(&format!("/report?kommune=ahlen&token={passt}"))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, all) = s.admin_get(&s.url("/report?format=json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(all.contains("Gewerbegebiete") && all.contains("Klimaanpassung"));
}

#[tokio::test]
async fn the_ics_parses_and_the_calendar_url_is_stable() {
    let s = Server::start().await;
    seed(&s.store).await;
    let calendar = s.signer.calendar_url("ahlen");
    assert_eq!(calendar, s.signer.calendar_url("ahlen"));
    let response = s.client.get(&calendar).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = response.text().await.unwrap();
    let mut calendars = ical::IcalParser::new(text.as_bytes());
    let parsed = calendars.next().expect("one calendar").expect("valid iCalendar");
    let summaries: Vec<String> = parsed
        .events
        .iter()
        .filter_map(|e| e.properties.iter().find(|p| p.name == "SUMMARY")?.value.clone())
        .collect();
    assert!(summaries.iter().any(|t| t.contains("Klimaanpassung")), "{summaries:?}");
    assert!(!summaries.iter().any(|t| t.contains("Gewerbegebiete")));
    let (status, admin_ics) = s.admin_get(&s.url("/report?kommune=ahlen&format=ics")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin_ics, text, "the same output as the report");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let s = Server::start().await;
    for path in ["/health", "/l/kaputt", "/gibt-es-nicht"] {
        let response = s.client.get(s.url(path)).send().await.unwrap();
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
            "{csp}"
        );
        assert!(csp.contains("default-src 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

#[tokio::test]
async fn token_endpoints_are_rate_limited() {
    let s = Server::start().await;
    let mut limited = false;
    for _ in 0..130 {
        if s.get(&s.url("/l/kaputt")).await.0 == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "130 requests in a minute hit the limit");
    // Health stays reachable.
    assert_eq!(s.get(&s.url("/health")).await.0, StatusCode::OK);
}

/// Debian's chromium (or `FOERDERRADAR_CHROMIUM`), when installed.
fn chromium() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("FOERDERRADAR_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// A real browser opens a mail's "Passt nicht" link, sees the confirmation, clicks, and
/// no longer finds the call on the contact page. With `FOERDERRADAR_SCREENSHOTS=DIR` it
/// also saves the contact page and a report as PNG (the README's screenshots).
#[tokio::test]
async fn browser_passt_nicht_end_to_end() {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::page::ScreenshotParams;
    use futures::StreamExt;

    let Some(chromium) = chromium() else {
        eprintln!("browser_passt_nicht_end_to_end skipped: no chromium installed (apt-get install chromium)");
        return;
    };
    let s = Server::start().await;
    let (_, klima, _) = seed(&s.store).await;
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(chromium)
        .new_headless_mode()
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1000, 1400)
        .build()
        .unwrap();
    let (mut browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });

    let settings = s.link(AHLEN, LinkAction::Settings);
    let page = browser.new_page(settings.as_str()).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    let before = page.content().await.unwrap();
    assert!(before.contains("Klimaanpassung in Kommunen"), "{before}");
    if let Some(dir) = std::env::var_os("FOERDERRADAR_SCREENSHOTS") {
        let dir = std::path::PathBuf::from(dir);
        let full = || ScreenshotParams::builder().full_page(true).build();
        page.save_screenshot(full(), dir.join("web-contact-page.png"))
            .await
            .unwrap();
        let token = settings.rsplit('/').next().unwrap();
        page.goto(s.url(&format!("/report?kommune=ahlen&format=html&token={token}")))
            .await
            .unwrap();
        page.wait_for_navigation().await.unwrap();
        page.save_screenshot(full(), dir.join("web-report.png")).await.unwrap();
    }

    let dismiss = s.link(AHLEN, LinkAction::PasstNicht(klima.clone()));
    page.goto(dismiss.as_str()).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    let confirm = page.content().await.unwrap();
    assert!(confirm.contains("Passt dieser Förderaufruf nicht?") && confirm.contains("Klimaanpassung"));
    assert!(s.feedback().await.is_empty(), "opening the link changed nothing");
    page.find_element("form button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The form's POST navigates; wait until its answer is shown.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut done = String::new();
    while std::time::Instant::now() < deadline {
        done = page.content().await.unwrap_or_default();
        if done.contains("Gespeichert") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done.contains("erscheint nicht mehr in Ihren E-Mails"), "{done}");
    assert_eq!(s.feedback().await.len(), 1);

    page.goto(settings.as_str()).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    let after = page.content().await.unwrap();
    assert!(!after.contains("Klimaanpassung in Kommunen"), "the call is gone");
    assert!(after.contains("Digitales Rathaus"));

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    events.abort();
}

/// The whole loop through the binary: collect and match, a contact answers "Passt nicht"
/// through its link, and the next `notify` (real SMTP on 127.0.0.1) leaves the call out of
/// that contact's digest while the other contact of the same Kommune still gets it.
#[tokio::test(flavor = "multi_thread")]
async fn a_dismissal_through_the_link_is_respected_by_the_next_notify() {
    use crate::pass::{fixture_server, foerderradar, received, smtp_server, write_config};
    let feeds = fixture_server().await;
    let (port, rx) = smtp_server();
    let tmp = tempfile::tempdir().unwrap();
    let (config_dir, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config_dir, &feeds.uri(), port);
    assert_ne!(foerderradar(&config_dir, &data, &["collect"]).status.code(), Some(2));
    assert!(foerderradar(&config_dir, &data, &["match"]).status.success());

    let (dismisser, colleague) = ("digital@ahlen.example.org", "foerdermittel@ahlen.example.org");
    // A call that the next digests of both contacts would carry (a dry run says which).
    let dry_run = foerderradar(&config_dir, &data, &["notify", "--dry-run"]);
    let dry_run = String::from_utf8_lossy(&dry_run.stdout).into_owned();
    let digest_of = |to: &str| {
        dry_run
            .split("== To: ")
            .find(|d| d.starts_with(to))
            .unwrap_or_default()
            .to_string()
    };
    let (for_dismisser, for_colleague) = (digest_of(dismisser), digest_of(colleague));
    let head = |title: &str| title.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let store = SqliteStore::open(&data.join("foerderradar.sqlite")).await.unwrap();
    let mut shared = None;
    for m in store.pending_matches(dismisser).await.unwrap() {
        let title = store.get_call(&m.call_id).await.unwrap().unwrap().title;
        if for_dismisser.contains(&head(&title)) && for_colleague.contains(&head(&title)) {
            shared = Some((m.call_id, title));
            break;
        }
    }
    let (shared, title) = shared.unwrap_or_else(|| panic!("a call in both digests:\n{dry_run}"));
    let config = Config::load(&config_dir).unwrap();
    let s = Server::serve(config, store, tempfile::tempdir().unwrap()).await;

    let link = s.link(dismisser, LinkAction::PasstNicht(shared.clone()));
    let (_, confirm) = s.get(&link).await;
    assert_eq!(s.post(&link, &[("csrf", &csrf_in(&confirm))]).await.0, StatusCode::OK);
    s.store.close().await;

    let notify = foerderradar(&config_dir, &data, &["notify"]);
    assert!(notify.status.success(), "{}", String::from_utf8_lossy(&notify.stderr));
    let mails = tokio::task::spawn_blocking(move || received(&rx)).await.unwrap();
    assert!(mails.iter().any(|(to, _)| to == colleague), "delivered over SMTP");
    // The sink drops blank lines, so what each mail names is read from its outbox copy.
    let store = SqliteStore::open(&data.join("foerderradar.sqlite")).await.unwrap();
    let sent = store.outbox(Some(OutboxStatus::Sent)).await.unwrap();
    let calls_to = |to: &str| -> Vec<CallId> {
        sent.iter()
            .filter(|m| m.contact == to)
            .flat_map(|m| m.calls.clone())
            .collect()
    };
    assert!(
        calls_to(colleague).contains(&shared),
        "the colleague still gets {title}"
    );
    let dismissers = calls_to(dismisser);
    assert!(!dismissers.is_empty(), "the dismisser still gets its other calls");
    assert!(!dismissers.contains(&shared), "the dismissed call is left out");
}

/// `run` with `[web] enabled = true` serves beside its jobs, and stops with them on SIGTERM;
/// a named secret variable that is unset stops `serve` at start-up, naming the variable.
#[test]
fn the_daemon_hosts_the_server_and_serve_names_a_missing_secret() {
    use crate::pass::{signal, stderr_lines, wait_for, write_config};
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    write_config(&config, "http://127.0.0.1:9", 2525);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let service = config.join("foerderradar.toml");
    let mut text = std::fs::read_to_string(&service).unwrap();
    text.push_str(&format!(
        "\n[web]\nenabled = true\nbind = \"127.0.0.1:{port}\"\nlink_secret_env = \"FR_TEST_LINK\"\nadmin_token_env = \"FR_TEST_ADMIN\"\n"
    ));
    std::fs::write(&service, text).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("foerderradar");
    let command = |args: &[&str]| {
        let mut c = std::process::Command::new(&binary);
        c.arg("--config").arg(&config).arg("--data").arg(&data).args(args);
        c.env_remove("RUST_LOG").stdout(std::process::Stdio::null());
        c
    };

    let missing = command(&["serve"])
        .env_remove("FR_TEST_LINK")
        .env("FR_TEST_ADMIN", ADMIN)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("FR_TEST_LINK") && stderr.contains("not set"),
        "{stderr}"
    );

    let mut daemon = command(&["run"])
        .env("FR_TEST_LINK", SECRET)
        .env("FR_TEST_ADMIN", ADMIN)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut daemon);
    wait_for(&lines, "web server listening");
    assert_eq!(blocking_status(&format!("http://127.0.0.1:{port}/health")), 200);
    signal(&daemon, "-TERM");
    wait_for(&lines, "daemon stopped");
    assert!(daemon.wait().unwrap().success());
}

/// One GET from a plain thread (the test above runs no runtime of its own).
fn blocking_status(url: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { reqwest::get(url).await.unwrap().status().as_u16() })
}
