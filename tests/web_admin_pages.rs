//! The admin pages Übersicht, Quellen and Kontakte over HTTP against a real server
//! on 127.0.0.1: they need a session; the overview shows what the store holds;
//! switching a source off needs the CSRF token and rewrites `sources.toml` with its
//! comments, passes `check` and is audited; an invalid contact edit leaves
//! `kommunen.toml` as it was and names the place, a valid one is saved.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use foerderradar::config::Config;
use foerderradar::model::contact::{Cadence, ContactSettings};
use foerderradar::model::feedback::{FeedbackAction, FeedbackEntry, FeedbackTargetKind};
use foerderradar::model::{Call, Match};
use foerderradar::store::{NewMail, RunKind, SourceRun, SqliteStore, Store};
use foerderradar::web::admin::accounts;
use foerderradar::web::{self, Secrets, WebState};
use reqwest::StatusCode;

use crate::web_admin::{copy_config, csrf_in};

const NAME: &str = "berta";
const PASSWORD: &str = "auch-richtig-geheim-456";

struct Server {
    base: String,
    store: SqliteStore,
    config_dir: PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

type Answer = (StatusCode, String, reqwest::header::HeaderMap);

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("config");
        copy_config(&config_dir);
        accounts::set_password(&config_dir, NAME, PASSWORD).unwrap();
        let config = Config::load(&config_dir).unwrap_or_else(|e| panic!("{e}"));
        let store = SqliteStore::open(&dir.path().join("data/foerderradar.sqlite"))
            .await
            .unwrap();
        let listener = web::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let state = WebState::new(config, store.clone(), None, Secrets::default()).unwrap();
        tokio::spawn(web::serve(state, listener, std::future::pending()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            base,
            store,
            config_dir,
            client,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    async fn answer(request: reqwest::RequestBuilder, cookie: Option<&str>) -> Answer {
        let request = match cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, response.text().await.unwrap(), headers)
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        Server::answer(self.client.get(self.url(path)), cookie).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        Server::answer(request, cookie).await
    }

    /// Logs in; returns the session cookie and the session's CSRF token.
    async fn login(&self) -> (String, String) {
        let (_, html, headers) = self.get("/admin/anmelden", None).await;
        let login_cookie = cookie_named(&headers, "fr_login").unwrap();
        let (status, _, headers) = self
            .post(
                "/admin/anmelden",
                Some(&login_cookie),
                &[("name", NAME), ("password", PASSWORD), ("csrf", &csrf_in(&html))],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let cookie = cookie_named(&headers, "fr_admin").unwrap();
        let (_, html, _) = self.get("/admin", Some(&cookie)).await;
        (cookie, csrf_in(&html))
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.config_dir.join(name)).unwrap()
    }
}

fn cookie_named(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

fn comments(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.trim_start().starts_with('#')).collect()
}

/// A deployment after some days: passes of the sources (one broken), pipeline runs,
/// a call with a passed match and feedback on it, and mails waiting, retrying and
/// given up.
async fn seed(store: &SqliteStore) {
    let now = Utc::now();
    // The last collect ran 150 minutes ago; eu-kommunal last delivered three days before.
    let collected = now - chrono::Duration::minutes(150);
    for (source, items, days_ago) in [
        ("fdb-kommune-nrw", 212, 0),
        ("fdb-kommune-bund", 148, 0),
        ("eu-kommunal", 37, 3),
    ] {
        let run = SourceRun {
            source: source.into(),
            at: collected - chrono::Duration::days(days_ago),
            items,
            error: None,
            requests: items + 3,
            not_modified: 0,
            duration_ms: 61_000,
        };
        store.record_source_run(&run, 3).await.unwrap();
    }
    for (kind, ok) in [
        // A source failed in the last collect.
        (RunKind::Collect, false),
        (RunKind::Match, true),
        (RunKind::Notify, false),
    ] {
        let id = store.start_run(kind, now - chrono::Duration::hours(3)).await.unwrap();
        let finished = now - chrono::Duration::hours(2);
        store
            .finish_run(id, finished, ok, &serde_json::json!({}))
            .await
            .unwrap();
    }
    for day in (0..3).rev() {
        let run = SourceRun {
            source: "eu-kommunal".into(),
            at: collected - chrono::Duration::days(day),
            items: 0,
            error: Some("HTTP 503 from the portal".into()),
            requests: 1,
            not_modified: 0,
            duration_ms: 1200,
        };
        store.record_source_run(&run, 3).await.unwrap();
    }
    let call = Call::new(
        "fdb-kommune-nrw",
        "https://foerder.example/p/1",
        "Förderaufruf <Digitale Dörfer>",
        now,
    );
    store.upsert_call(&call).await.unwrap();
    let matched = Match {
        call_id: call.id.clone(),
        handlungsfeld: "verwaltung".into(),
        project: Some("digitalkompetenz-verwaltung".into()),
        score: 9.0,
        threshold: 5.0,
        passed: true,
        kommunen: vec!["ahlen".into()],
        reasons: Vec::new(),
    };
    store.replace_matches(&call.id, &[matched]).await.unwrap();
    for (action, contact) in [
        (FeedbackAction::PasstNicht, "a@ahlen.example.org"),
        (FeedbackAction::PasstNicht, "b@ahlen.example.org"),
        (FeedbackAction::Passt, "c@ahlen.example.org"),
    ] {
        let entry = FeedbackEntry {
            id: 0,
            at: now,
            actor: contact.into(),
            contact: Some(contact.into()),
            kommune: Some("ahlen".into()),
            action,
            target_kind: FeedbackTargetKind::Call,
            target: call.id.as_str().into(),
            reason: None,
        };
        store.record_feedback(&entry).await.unwrap();
    }
    let mail = |contact: &str, subject: &str| NewMail {
        contact: contact.into(),
        kommune: "ahlen".into(),
        subject: subject.into(),
        message: b"Subject: x\r\n\r\nx".to_vec(),
        calls: Vec::new(),
    };
    let given_up = store
        .enqueue_mail(&mail("a@ahlen.example.org", "Neue Förderaufrufe für Ahlen"), now)
        .await
        .unwrap();
    store
        .mark_attempt_failed(given_up, "550 mailbox unknown", None)
        .await
        .unwrap();
    let retrying = store
        .enqueue_mail(&mail("b@ahlen.example.org", "Zweite"), now)
        .await
        .unwrap();
    store
        .mark_attempt_failed(retrying, "421 try later", Some(now + chrono::Duration::minutes(5)))
        .await
        .unwrap();
    store
        .enqueue_mail(&mail("c@ahlen.example.org", "Dritte"), now)
        .await
        .unwrap();
}

const PAGES: [&str; 4] = [
    "/admin",
    "/admin/quellen",
    "/admin/kontakte",
    "/admin/kontakte/kreis-warendorf/1",
];

#[tokio::test]
async fn the_pages_need_a_session_and_are_linked_from_the_navigation() {
    let server = Server::start().await;
    for page in PAGES {
        let (status, _, headers) = server.get(page, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(headers["location"], "/admin/anmelden", "{page}");
    }
    let (cookie, _) = server.login().await;
    for page in PAGES {
        let (status, html, _) = server.get(page, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1, "{page}");
        for link in ["href=\"/admin/quellen\"", "href=\"/admin/kontakte\"", "href=\"/admin\""] {
            assert!(html.contains(link), "{page} lacks {link}");
        }
    }
    // The Regeln pages share the navigation.
    let (status, _, _) = server.get("/admin/regeln", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, html, _) = server.get("/admin/kontakte/kreis-warendorf/9", Some(&cookie)).await;
    assert!(html.contains("Nicht gefunden"));
}

#[tokio::test]
async fn the_overview_shows_jobs_source_health_outbox_calls_and_feedback() {
    let server = Server::start().await;
    seed(&server.store).await;
    let (cookie, _) = server.login().await;
    let (status, html, _) = server.get("/admin", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let doc = scraper::Html::parse_document(&html);
    let text = |css: &str| {
        let selector = scraper::Selector::parse(css).unwrap();
        doc.select(&selector)
            .map(|e| e.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    // Jobs: the three pipeline jobs, the groups and the admin digest, each with a next run.
    let jobs = text("tr.job");
    assert!(jobs.len() >= 4, "{jobs:?}");
    let job = |name: &str| jobs.iter().find(|j| j.contains(name)).unwrap().clone();
    assert!(job("Sammeln (alle Quellen)").contains("mit Fehlern"), "{jobs:?}");
    assert!(job("Abgleich mit den Regeln").contains("in Ordnung"), "{jobs:?}");
    assert!(job("Versand der Zusammenfassungen").contains("mit Fehlern"), "{jobs:?}");
    assert!(job("Wochenbericht an die Verwaltung").contains("noch nie"), "{jobs:?}");
    // Sources: the failing one is broken after three failures, one never ran.
    assert!(text("#source-eu-kommunal")[0].contains("kaputt"), "{html}");
    assert!(text("#source-fdb-kommune-nrw")[0].contains("in Ordnung"));
    assert!(text("#source-eu-horizon-cities")[0].contains("noch nicht gelaufen"));
    // The outbox: one waiting, one retrying, one given up and listed.
    assert_eq!(text("#outbox-waiting"), ["1"]);
    assert_eq!(text("#outbox-retrying"), ["1"]);
    assert_eq!(text("#outbox-given-up"), ["1"]);
    let listed = text("tr.given-up");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].contains("a@ahlen.example.org") && listed[0].contains("550 mailbox unknown"));
    // The newest call, its title escaped.
    assert!(html.contains("Förderaufruf &lt;Digitale Dörfer&gt;"), "{html}");
    assert!(text("li.call-row")[0].contains("fdb-kommune-nrw"));
    // Feedback per project: two "passt nicht", one "passt".
    let feedback = text("tr.feedback-row");
    assert_eq!(feedback.len(), 1, "{feedback:?}");
    assert_eq!(feedback[0], "VerwaltungDigitalkompetenz in der Verwaltung12");

    let (_, html, _) = server.get("/admin/quellen", Some(&cookie)).await;
    let doc = scraper::Html::parse_document(&html);
    let section = scraper::Selector::parse("#source-eu-kommunal").unwrap();
    let section: String = doc.select(&section).next().unwrap().text().collect();
    assert!(
        section.contains("HTTP 503 from the portal") && section.contains("3 Fehler in Folge"),
        "{section}"
    );
    let runs = scraper::Selector::parse("#source-eu-kommunal tr.run").unwrap();
    assert_eq!(doc.select(&runs).count(), 4);
}

#[tokio::test]
async fn switching_a_source_off_needs_csrf_keeps_comments_passes_check_and_is_audited() {
    let server = Server::start().await;
    let (cookie, csrf) = server.login().await;
    let before = server.read("sources.toml");
    let path = "/admin/quellen/eu-kommunal";

    let (status, _, _) = server.post(path, Some(&cookie), &[("enabled", "false")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = server
        .post(path, Some(&cookie), &[("enabled", "false"), ("csrf", "0000")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.read("sources.toml"), before);
    assert!(server.store.audit_log(10).await.unwrap().is_empty());

    let (status, _, headers) = server
        .post(path, Some(&cookie), &[("enabled", "false"), ("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        "/admin/quellen?gespeichert=eu-kommunal#source-eu-kommunal"
    );
    let after = server.read("sources.toml");
    assert_eq!(comments(&after), comments(&before));
    let added: Vec<_> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    assert_eq!(added, ["enabled = false"]);

    let config = Config::load(&server.config_dir).unwrap_or_else(|e| panic!("{e}"));
    let enabled = |config: &Config, id: &str| config.sources.iter().find(|s| s.id == id).unwrap().enabled;
    assert!(!enabled(&config, "eu-kommunal"));
    assert!(enabled(&config, "fdb-kommune-nrw"));
    let backups = std::fs::read_dir(server.config_dir.join("backups")).unwrap().count();
    assert_eq!(backups, 1);

    let audit = server.store.audit_log(10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].admin, NAME);
    assert!(audit[0].target.contains("eu-kommunal"));
    assert_eq!(
        (audit[0].old_text.as_str(), audit[0].new_text.as_str()),
        ("enabled = true", "enabled = false")
    );

    // The page shows it off, and switching it on again is offered.
    let (_, html, _) = server
        .get("/admin/quellen?gespeichert=eu-kommunal", Some(&cookie))
        .await;
    assert!(html.contains("id=\"saved\"") && html.contains("Quelle eu-kommunal einschalten"));
    let (status, _, _) = server
        .post(path, Some(&cookie), &[("enabled", "true"), ("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let config = Config::load(&server.config_dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(enabled(&config, "eu-kommunal"));

    let (status, _, _) = server
        .post(
            "/admin/quellen/gibt-es-nicht",
            Some(&cookie),
            &[("enabled", "false"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invalid_contact_edit_leaves_kommunen_toml_and_names_the_place() {
    let server = Server::start().await;
    let (cookie, csrf) = server.login().await;
    let before = server.read("kommunen.toml");
    let path = "/admin/kontakte/ahlen/1";

    let (status, html, _) = server
        .post(
            path,
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("cadence", "monatlich"),
                ("paused_until", "2027-02-30"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let doc = scraper::Html::parse_document(&html);
    let problems: Vec<String> = doc
        .select(&scraper::Selector::parse("li.problem").unwrap())
        .map(|e| e.text().collect())
        .collect();
    assert!(
        problems.iter().any(|p| p.starts_with("config/kommunen.toml:")
            && p.contains("contact[0].cadence")
            && p.contains("monatlich")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("contact[0].paused_until") && p.contains("2027-02-30")),
        "{problems:?}"
    );
    // The form keeps what was typed.
    assert!(html.contains("value=\"2027-02-30\""));
    assert_eq!(server.read("kommunen.toml"), before);
    assert!(!server.config_dir.join("backups").exists());
    assert!(server.store.audit_log(10).await.unwrap().is_empty());

    // Without the token nothing happens either.
    let (status, _, _) = server.post(path, Some(&cookie), &[("cadence", "sofort")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.read("kommunen.toml"), before);
}

#[tokio::test]
async fn a_valid_contact_edit_is_saved_with_comments_checked_and_audited() {
    let server = Server::start().await;
    let (cookie, csrf) = server.login().await;
    let before = server.read("kommunen.toml");
    let (status, _, headers) = server
        .post(
            "/admin/kontakte/ahlen/1",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("cadence", "wöchentlich:montag"),
                ("handlungsfelder", "verwaltung"),
                ("paused_until", "2027-01-06"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/admin/kontakte?gespeichert=ahlen#kommune-ahlen");
    let after = server.read("kommunen.toml");
    assert_eq!(comments(&after), comments(&before));

    let config = Config::load(&server.config_dir).unwrap_or_else(|e| panic!("{e}"));
    let contact = &config.kommune("ahlen").unwrap().contacts[0];
    assert_eq!(contact.cadence.to_string(), "wöchentlich:montag");
    assert_eq!(contact.paused_until, chrono::NaiveDate::from_ymd_opt(2027, 1, 6));
    assert_eq!(
        contact.interests.handlungsfelder.iter().collect::<Vec<_>>(),
        ["verwaltung"]
    );
    let audit = server.store.audit_log(10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].target.contains("ahlen"));
    assert!(
        audit[0].old_text.contains("cadence = (täglich)"),
        "{}",
        audit[0].old_text
    );
    assert!(
        audit[0].new_text.contains("paused_until = 2027-01-06"),
        "{}",
        audit[0].new_text
    );

    // What the contact changed itself, and its feedback, beside the file's settings.
    let address = "foerdermittel@ahlen.example.org";
    let mut own = ContactSettings::new(address, Utc::now(), address);
    own.cadence = Some(Cadence::Sofort);
    own.unsubscribed = true;
    server.store.save_contact_settings(&own).await.unwrap();
    let entry = FeedbackEntry {
        id: 0,
        at: Utc::now(),
        actor: address.into(),
        contact: Some(address.into()),
        kommune: Some("ahlen".into()),
        action: FeedbackAction::PasstNicht,
        target_kind: FeedbackTargetKind::Call,
        target: "abc".into(),
        reason: None,
    };
    server.store.record_feedback(&entry).await.unwrap();
    let (_, html, _) = server.get("/admin/kontakte", Some(&cookie)).await;
    let doc = scraper::Html::parse_document(&html);
    let card: String = doc
        .select(&scraper::Selector::parse("#contact-ahlen-1").unwrap())
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(card.contains("Pausiert bis 06.01.2027"), "{card}");
    assert!(card.contains("Rhythmus: wöchentlich:montag"), "{card}");
    assert!(
        card.contains("abgemeldet") && card.contains("Rhythmus sofort"),
        "{card}"
    );
    assert!(card.contains("1× passt nicht"), "{card}");
}

/// A real browser logs in, reaches every page from the navigation with the keyboard
/// alone (Tab and Enter), and switches a source off with the keyboard. With
/// `FOERDERRADAR_SCREENSHOTS=DIR` it saves the Übersicht as `admin-overview.png`.
#[tokio::test]
async fn browser_admin_reaches_the_pages_with_the_keyboard() {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::page::ScreenshotParams;
    use futures::StreamExt;

    use crate::web_admin::{chromium, wait_for_content};

    let Some(chromium) = chromium() else {
        eprintln!("browser_admin_reaches_the_pages_with_the_keyboard skipped: no chromium installed");
        return;
    };
    let server = Server::start().await;
    seed(&server.store).await;
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

    let page = browser.new_page(server.url("/admin/anmelden").as_str()).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    page.find_element("#name")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str(NAME)
        .await
        .unwrap();
    page.find_element("#password")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str(PASSWORD)
        .await
        .unwrap()
        .press_key("Enter")
        .await
        .unwrap();
    wait_for_content(&page, "id=\"outbox-given-up\"").await;
    if let Some(dir) = std::env::var_os("FOERDERRADAR_SCREENSHOTS") {
        let full = ScreenshotParams::builder().full_page(true).build();
        page.save_screenshot(full, PathBuf::from(dir).join("admin-overview.png"))
            .await
            .unwrap();
    }

    // Tab from the top of the page to each navigation entry and follow it with Enter.
    for (label, landmark) in [
        ("Quellen", "Quelle eu-horizon-cities ausschalten"),
        ("Kontakte", "Einstellungen von Fördermittelmanagement bearbeiten"),
        ("Übersicht", "id=\"outbox-given-up\""),
    ] {
        page.evaluate("document.activeElement && document.activeElement.blur()")
            .await
            .unwrap();
        let mut reached = false;
        for _ in 0..12 {
            page.find_element("body").await.unwrap().press_key("Tab").await.unwrap();
            let focused: String = page
                .evaluate("document.activeElement.textContent")
                .await
                .unwrap()
                .into_value()
                .unwrap_or_default();
            if focused.trim() == label {
                reached = true;
                break;
            }
        }
        assert!(reached, "{label} is not reachable with Tab");
        page.find_element("body")
            .await
            .unwrap()
            .press_key("Enter")
            .await
            .unwrap();
        wait_for_content(&page, landmark).await;
    }

    // Switch a source off with the keyboard.
    page.goto(server.url("/admin/quellen")).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    page.find_element("#switch-eu-horizon-cities")
        .await
        .unwrap()
        .focus()
        .await
        .unwrap()
        .press_key("Enter")
        .await
        .unwrap();
    wait_for_content(&page, "Quelle eu-horizon-cities einschalten").await;
    let config = Config::load(&server.config_dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !config
            .sources
            .iter()
            .find(|s| s.id == "eu-horizon-cities")
            .unwrap()
            .enabled
    );

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    events.abort();
}
