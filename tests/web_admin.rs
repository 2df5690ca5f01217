//! The admin UI over HTTP against a real server on 127.0.0.1: log-in and log-out,
//! wrong passwords and their limit, expired sessions, CSRF, and the rules editor
//! (an invalid rule is refused at its line and column and the file stays as it was;
//! a valid one is saved with the comments kept, passes `check` and is audited).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use foerderradar::config::Config;
use foerderradar::matching::Matcher;
use foerderradar::store::{AdminSession, SqliteStore, Store};
use foerderradar::web::admin::accounts;
use foerderradar::web::{self, Secrets, WebState};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const NAME: &str = "anna";
const PASSWORD: &str = "richtig-geheim-123";
const PROJECT: &str = "/admin/regeln/projekt/digitalkompetenz-verwaltung";

pub struct AdminServer {
    pub base: String,
    pub store: SqliteStore,
    pub config_dir: PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Copies the shipped config (four files and the templates) into `dest`.
pub fn copy_config(dest: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    std::fs::create_dir_all(dest.join("templates")).unwrap();
    for name in ["foerderradar.toml", "sources.toml", "strategy.toml", "kommunen.toml"] {
        std::fs::copy(src.join(name), dest.join(name)).unwrap();
    }
    for entry in std::fs::read_dir(src.join("templates")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dest.join("templates").join(entry.file_name())).unwrap();
        }
    }
}

impl AdminServer {
    pub async fn start() -> AdminServer {
        let dir = tempfile::tempdir().unwrap();
        copy_config(&dir.path().join("config"));
        AdminServer::start_in(dir).await
    }

    /// The server on `<dir>/config` and `<dir>/data`.
    pub async fn start_in(dir: tempfile::TempDir) -> AdminServer {
        let config_dir = dir.path().join("config");
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
        AdminServer {
            base,
            store,
            config_dir,
            client,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let mut request = self.client.get(self.url(path));
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, response.text().await.unwrap(), headers)
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, response.text().await.unwrap(), headers)
    }

    /// Logs in and returns the session cookie (`fr_admin=…`).
    async fn login(&self, password: &str) -> (StatusCode, Option<String>, String) {
        let (_, html, headers) = self.get("/admin/anmelden", None).await;
        let login_cookie = cookie_named(&headers, "fr_login").expect("the form sets its CSRF cookie");
        let csrf = csrf_in(&html);
        let (status, body, headers) = self
            .post(
                "/admin/anmelden",
                Some(&login_cookie),
                &[("name", NAME), ("password", password), ("csrf", &csrf)],
            )
            .await;
        (status, cookie_named(&headers, "fr_admin"), body)
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

fn set_cookie_line(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap()
        .to_string()
}

pub fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[start..].split('"').next().unwrap().to_string()
}

/// The edit form's fields as the browser would send them.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let form = scraper::Selector::parse("#rules-form input, #rules-form textarea").unwrap();
    doc.select(&form)
        .filter_map(|e| {
            let name = e.value().attr("name")?.to_string();
            let value = match e.value().name() {
                "textarea" => e.text().collect::<String>(),
                _ => e.value().attr("value").unwrap_or_default().to_string(),
            };
            Some((name, value))
        })
        .collect()
}

pub fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    fields.iter_mut().find(|(n, _)| n == name).unwrap().1 = value.to_string();
}

pub fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

#[tokio::test]
async fn log_in_and_out_with_a_strict_http_only_cookie() {
    let server = AdminServer::start().await;
    let (status, _, headers) = server.get("/admin", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/admin/anmelden");

    let (status, _, headers) = {
        let (_, html, headers) = server.get("/admin/anmelden", None).await;
        let login_cookie = cookie_named(&headers, "fr_login").unwrap();
        server
            .post(
                "/admin/anmelden",
                Some(&login_cookie),
                &[("name", NAME), ("password", PASSWORD), ("csrf", &csrf_in(&html))],
            )
            .await
    };
    assert_eq!(status, StatusCode::SEE_OTHER);
    let line = set_cookie_line(&headers, "fr_admin");
    assert!(line.contains("HttpOnly") && line.contains("SameSite=Strict"), "{line}");
    assert!(!line.contains("Secure"), "http public URL: no Secure flag: {line}");
    let cookie = cookie_named(&headers, "fr_admin").unwrap();

    let (status, html, _) = server.get("/admin", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Angemeldet als anna"), "{html}");
    let csrf = csrf_in(&html);

    // Log-out is a state change: without its CSRF token it is refused.
    let (status, _, _) = server.post("/admin/abmelden", Some(&cookie), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.get("/admin", Some(&cookie)).await.0, StatusCode::OK);

    let (status, _, _) = server.post("/admin/abmelden", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, headers) = server.get("/admin", Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the session is gone after log-out");
    assert!(headers["location"].to_str().unwrap().starts_with("/admin/anmelden"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_repeated_failures_are_throttled() {
    let server = AdminServer::start().await;
    let (status, cookie, body) = server.login("falsches-passwort").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());
    assert!(body.contains("Name oder Passwort ist falsch"), "{body}");
    for _ in 1..5 {
        assert_eq!(server.login("falsches-passwort").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, cookie, _) = server.login(PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "after five failures even the right password waits"
    );
    assert!(cookie.is_none());
}

#[tokio::test]
async fn a_log_in_without_the_form_token_is_refused() {
    let server = AdminServer::start().await;
    let (status, _, headers) = server
        .post("/admin/anmelden", None, &[("name", NAME), ("password", PASSWORD)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cookie_named(&headers, "fr_admin").is_none());
}

#[tokio::test]
async fn an_expired_session_sends_back_to_the_log_in() {
    let server = AdminServer::start().await;
    let token = "00ff".repeat(16);
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let session = AdminSession {
        admin: NAME.into(),
        csrf: "c".repeat(64),
        expires_at: Utc::now() - chrono::Duration::minutes(1),
    };
    server
        .store
        .create_admin_session(&hash, &session, Utc::now() - chrono::Duration::hours(9))
        .await
        .unwrap();
    let cookie = format!("fr_admin={token}");
    let (status, _, headers) = server.get("/admin/regeln", Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/admin/anmelden?abgelaufen=1");
    let (status, _, _) = server
        .post(PROJECT, Some(&cookie), &[("csrf", &session.csrf), ("threshold", "1")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "an expired session cannot save");
}

#[tokio::test]
async fn an_invalid_rule_is_refused_at_its_line_and_column_and_the_file_stays() {
    let server = AdminServer::start().await;
    let (_, cookie, _) = server.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    let path = server.config_dir.join("strategy.toml");
    let before = std::fs::read(&path).unwrap();
    let (status, html, _) = server.get(PROJECT, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let mut fields = form_fields(&html);
    set(&mut fields, "expr_4", "Schulung AND\n(Verwaltung OR");
    set(&mut fields, "weight_4", "1");

    // The check while typing answers with the rule, line and column.
    let (status, json, _) = server
        .post(&format!("{PROJECT}/pruefen"), Some(&cookie), &pairs(&fields))
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(answer["ok"], false, "{json}");
    assert_eq!(answer["problems"][0]["rule"], 4, "{json}");
    assert_eq!(answer["problems"][0]["line"], 2, "{json}");

    let (status, html, _) = server.post(PROJECT, Some(&cookie), &pairs(&fields)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Regel 4, Zeile 2, Spalte"), "{html}");
    assert!(html.contains("(Verwaltung OR"), "what was typed is shown again");
    assert_eq!(std::fs::read(&path).unwrap(), before, "strategy.toml unchanged");
    assert!(server.store.audit_log(10).await.unwrap().is_empty());

    // Without the CSRF token a valid edit is refused as well.
    let mut fields = form_fields(&server.get(PROJECT, Some(&cookie)).await.1);
    set(&mut fields, "threshold", "6");
    fields.retain(|(n, _)| n != "csrf");
    let (status, _, _) = server.post(PROJECT, Some(&cookie), &pairs(&fields)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn a_valid_rule_is_saved_with_comments_kept_checked_backed_up_and_audited() {
    let server = AdminServer::start().await;
    let (_, cookie, _) = server.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    let path = server.config_dir.join("strategy.toml");
    let before = std::fs::read_to_string(&path).unwrap();
    let mut fields = form_fields(&server.get(PROJECT, Some(&cookie)).await.1);
    set(&mut fields, "expr_4", "Hochschule* OR Studierende");
    set(&mut fields, "weight_4", "-3");
    set(&mut fields, "threshold", "5,5");
    let (status, _, headers) = server.post(PROJECT, Some(&cookie), &pairs(&fields)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("?gespeichert=1"));

    let after = std::fs::read_to_string(&path).unwrap();
    for comment in before.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(after.contains(comment), "comment lost: {comment}");
    }
    assert!(
        after.contains("{ expr = 'Hochschule* OR Studierende', weight = -3.0 }"),
        "{after}"
    );
    assert!(after.contains("threshold = 5.5"));
    // Only the edited profile changed.
    let changed: Vec<_> = diff_lines(&before, &after);
    assert!(changed.len() <= 3, "{changed:?}");

    // `check` passes on the saved directory.
    let config = Config::load(&server.config_dir).unwrap_or_else(|e| panic!("{e}"));
    Matcher::new(&config).unwrap();
    let project = config.strategy.project("digitalkompetenz-verwaltung").unwrap();
    assert_eq!(project.profile.threshold, 5.5);
    assert_eq!(project.profile.rules.len(), 4);

    let backups: Vec<_> = std::fs::read_dir(server.config_dir.join("backups")).unwrap().collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].as_ref().unwrap().path()).unwrap(),
        before
    );

    let audit = server.store.audit_log(10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].admin, NAME);
    assert!(audit[0].old_text.contains("threshold = 5\n") && audit[0].new_text.contains("threshold = 5.5"));
    assert!(
        audit[0].new_text.contains("-3 × Hochschule* OR Studierende"),
        "{}",
        audit[0].new_text
    );
    let (status, html, _) = server.get("/admin/protokoll", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("strategy.toml project digitalkompetenz-verwaltung") && html.contains("Hochschule*"));
}

fn diff_lines<'a>(a: &'a str, b: &'a str) -> Vec<&'a str> {
    let old: std::collections::HashSet<_> = a.lines().collect();
    b.lines().filter(|l| !old.contains(l)).collect()
}

/// A stored call the project "Digitalkompetenz in der Verwaltung" takes.
pub async fn seed_matching_call(store: &SqliteStore) {
    use chrono::TimeZone;
    use foerderradar::model::{Call, Deadline, DeadlineDate};
    use foerderradar::store::Store;
    let mut call = Call::new(
        "fdb",
        "https://foerder.example/digitalkompetenz",
        "Qualifizierungsoffensive Digitalkompetenz für Kommunen",
        Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
    );
    call.funder = Some("Land NRW".into());
    call.summary = "Gefördert werden Schulungen der Beschäftigten in der Verwaltung: digitale Kompetenzen, Digitalakademie. Antragsberechtigt sind Kommunen in Nordrhein-Westfalen.".into();
    call.deadline = Deadline::Dates(vec![DeadlineDate::on(
        chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
    )]);
    store.upsert_call(&call).await.unwrap();
}

#[tokio::test]
async fn the_preview_shows_a_call_that_stops_matching_and_writes_nothing() {
    let server = AdminServer::start().await;
    seed_matching_call(&server.store).await;
    let (_, cookie, _) = server.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    let path = server.config_dir.join("strategy.toml");
    let before = std::fs::read(&path).unwrap();
    let mut fields = form_fields(&server.get(PROJECT, Some(&cookie)).await.1);
    let (status, html, _) = server
        .post(&format!("{PROJECT}/vorschau"), Some(&cookie), &pairs(&fields))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let count = |html: &str, id: &str| {
        let start = html
            .find(&format!("id=\"{id}\">"))
            .unwrap_or_else(|| panic!("{id} in {html}"))
            + id.len()
            + 6;
        html[start..].split('<').next().unwrap().parse::<usize>().unwrap()
    };
    assert_eq!(count(&html, "passed-before"), 1, "{html}");
    assert_eq!(count(&html, "passed-after"), 1);
    assert_eq!(count(&html, "dropped-count"), 0);

    let main = fields.iter().find(|(n, _)| n == "expr_1").unwrap().1.clone();
    set(&mut fields, "expr_1", &format!("({main}) AND NOT Nordrhein-Westfalen"));
    let (status, html, _) = server
        .post(&format!("{PROJECT}/vorschau"), Some(&cookie), &pairs(&fields))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(count(&html, "passed-after"), 0, "{html}");
    assert_eq!(count(&html, "dropped-count"), 1);
    assert!(html.contains("Qualifizierungsoffensive Digitalkompetenz für Kommunen"));
    let config = foerderradar::config::Config::load(&server.config_dir).unwrap();
    let telgte = config.kommune("telgte").unwrap();
    assert!(
        html.contains(&format!(">{}<", telgte.name)) && !html.contains(">telgte<"),
        "Kommunen by name, not by id: {html}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "a preview writes nothing");
}

/// Lines of a child's stderr, read on a thread.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(lines: &std::sync::mpsc::Receiver<String>, needle: &str, log: &mut Vec<String>) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                log.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            Err(_) => break,
        }
    }
    panic!("the daemon never logged {needle:?}:\n{}", log.join("\n"));
}

/// The daemon started by the test matches every minute; a save in the admin UI reloads
/// it by SIGHUP, and its next match uses the new rule, without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_daemon_matches_with_the_saved_rule_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    let data = dir.path().join("data");
    copy_config(&config_dir);
    // Offline: one source on a closed port; collect (then match) every minute.
    std::fs::write(
        config_dir.join("sources.toml"),
        "[[source]]\nid = \"lokal\"\nkind = \"rss\"\nlabel = \"Lokaler Feed\"\nurl = \"http://127.0.0.1:9/feed.xml\"\n",
    )
    .unwrap();
    let service = std::fs::read_to_string(config_dir.join("foerderradar.toml"))
        .unwrap()
        .replace("collect = \"0 6 * * 1-5\"", "collect = \"* * * * *\"")
        .replace("retries = 3 ", "retries = 0 ");
    std::fs::write(config_dir.join("foerderradar.toml"), service).unwrap();
    Config::load(&config_dir).unwrap_or_else(|e| panic!("{e}"));
    {
        let store = SqliteStore::open(&data.join("foerderradar.sqlite")).await.unwrap();
        seed_matching_call(&store).await;
        store.close().await;
    }
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_foerderradar"))
        .arg("--config")
        .arg(&config_dir)
        .arg("--data")
        .arg(&data)
        .arg("run")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut daemon);
    let mut log = Vec::new();
    wait_for(&lines, "match done", &mut log);
    let server = AdminServer::start_in(dir).await;
    let call_id = foerderradar::model::CallId(
        foerderradar::store::Store::list_calls(&server.store, &Default::default())
            .await
            .unwrap()[0]
            .id
            .0
            .clone(),
    );
    let project_passes = |matches: &[foerderradar::model::Match]| {
        matches
            .iter()
            .any(|m| m.passed && m.project.as_deref() == Some("digitalkompetenz-verwaltung"))
    };
    let before = foerderradar::store::Store::matches_for(&server.store, &call_id)
        .await
        .unwrap();
    assert!(project_passes(&before), "the old rules take the call: {before:?}");

    let (_, cookie, _) = server.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    let mut fields = form_fields(&server.get(PROJECT, Some(&cookie)).await.1);
    let main = fields.iter().find(|(n, _)| n == "expr_1").unwrap().1.clone();
    set(&mut fields, "expr_1", &format!("({main}) AND NOT Nordrhein-Westfalen"));
    let (status, _, _) = server.post(PROJECT, Some(&cookie), &pairs(&fields)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    wait_for(&lines, "config reloaded: new rules active", &mut log);
    wait_for(&lines, "match done", &mut log);
    let after = foerderradar::store::Store::matches_for(&server.store, &call_id)
        .await
        .unwrap();
    assert!(
        !project_passes(&after),
        "the daemon matched with the saved rule: {after:?}"
    );
    assert_eq!(
        daemon.try_wait().unwrap(),
        None,
        "the daemon was reloaded, not restarted"
    );
    // SAFETY: the child's pid; SIGTERM stops it cleanly.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert!(daemon.wait().unwrap().success());
}

/// Debian's chromium (or `FOERDERRADAR_CHROMIUM`), when installed.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FOERDERRADAR_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

pub async fn wait_for_content(page: &chromiumoxide::Page, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut html = String::new();
    while std::time::Instant::now() < deadline {
        html = page.content().await.unwrap_or_default();
        if html.contains(needle) {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{needle:?} never appeared:\n{html}");
}

/// A real browser: log in, open a project's rules, add a NOT term and see the preview's
/// counts change, save and find the change in the audit log; an invalid edit shows
/// its error and is not saved. With `FOERDERRADAR_SCREENSHOTS=DIR` it saves the Regeln
/// page with a preview as `admin-rules.png` (the README's screenshot).
#[tokio::test]
async fn browser_admin_edits_a_rule_end_to_end() {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::page::ScreenshotParams;
    use futures::StreamExt;

    let Some(chromium) = chromium() else {
        eprintln!("browser_admin_edits_a_rule_end_to_end skipped: no chromium installed (apt-get install chromium)");
        return;
    };
    let server = AdminServer::start().await;
    seed_matching_call(&server.store).await;
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(chromium)
        .new_headless_mode()
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1000, 1600)
        .build()
        .unwrap();
    let (mut browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });

    // Log in with the keyboard.
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
    wait_for_content(&page, "Angemeldet als anna").await;

    // The project's rules and a preview of them as they are.
    page.goto(server.url(PROJECT)).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    page.find_element("#preview-button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let html = wait_for_content(&page, "id=\"passed-after\"").await;
    assert!(html.contains("id=\"passed-after\">1<"), "{html}");

    // Add a NOT term to the main rule, typed at its end.
    page.evaluate(
        "(() => { const e = document.getElementById('expr_1'); e.value = '(' + e.value + ')'; e.focus(); e.setSelectionRange(e.value.length, e.value.length); })()",
    )
    .await
    .unwrap();
    page.find_element("#expr_1")
        .await
        .unwrap()
        .type_str(" AND NOT Nordrhein-Westfalen")
        .await
        .unwrap();
    page.find_element("#preview-button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let html = wait_for_content(&page, "id=\"dropped-count\">1<").await;
    assert!(html.contains("id=\"passed-after\">0<"), "{html}");
    assert!(
        html.contains("AND NOT Nordrhein-Westfalen"),
        "the typed edit stays in the form"
    );
    if let Some(dir) = std::env::var_os("FOERDERRADAR_SCREENSHOTS") {
        let full = ScreenshotParams::builder().full_page(true).build();
        page.save_screenshot(full, PathBuf::from(dir).join("admin-rules.png"))
            .await
            .unwrap();
    }

    // Save, and find it in the audit log.
    page.find_element("#save").await.unwrap().click().await.unwrap();
    wait_for_content(&page, "id=\"saved\"").await;
    let saved = std::fs::read_to_string(server.config_dir.join("strategy.toml")).unwrap();
    assert!(saved.contains("AND NOT Nordrhein-Westfalen"), "{saved}");
    page.goto(server.url("/admin/protokoll")).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    let audit = wait_for_content(&page, "audit-entry").await;
    assert!(audit.contains("digitalkompetenz-verwaltung") && audit.contains("AND NOT Nordrhein-Westfalen"));

    // An invalid edit: its error is shown and nothing is written.
    page.goto(server.url(PROJECT)).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    page.find_element("#expr_4")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str("Schulung AND (Verwaltung")
        .await
        .unwrap();
    page.find_element("#save").await.unwrap().click().await.unwrap();
    let html = wait_for_content(&page, "Nicht gespeichert").await;
    assert!(html.contains("Regel 4, Zeile 1, Spalte"), "{html}");
    assert_eq!(
        std::fs::read_to_string(server.config_dir.join("strategy.toml")).unwrap(),
        saved,
        "the invalid edit was not saved"
    );
    assert_eq!(server.store.audit_log(10).await.unwrap().len(), 1);

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    events.abort();
}

/// `admin passwd` reads the password from stdin (never argv), writes an argon2 hash that
/// logs in, and `check` refuses an admins.toml entry that is not a hash.
#[test]
fn admin_passwd_reads_stdin_and_check_validates_admins_toml() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    copy_config(&config_dir);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_foerderradar"))
        .arg("--config")
        .arg(&config_dir)
        .args(["admin", "passwd", "bert"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"ein-langes-passwort\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(config_dir.join("admins.toml")).unwrap();
    assert!(text.contains("bert = \"$argon2id$"), "{text}");
    assert!(!text.contains("ein-langes-passwort"));
    let accounts = accounts::Accounts::load(&config_dir).unwrap();
    assert!(accounts.verify("bert", "ein-langes-passwort"));

    let check = |dir: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_foerderradar"))
            .arg("--config")
            .arg(dir)
            .arg("check")
            .output()
            .unwrap()
    };
    assert!(check(&config_dir).status.success());
    std::fs::write(config_dir.join("admins.toml"), "[admins]\nbert = \"geheim\"\n").unwrap();
    let out = check(&config_dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("admins.toml:2: admins.bert"), "{stderr}");
}
