//! The admin web UI (`/admin/…`): log-in with the accounts of `admins.toml`, sessions
//! in the database, a CSRF token on every form that changes something, the rules
//! editor (Regeln) and the audit log.
//!
//! Sessions: the cookie holds 32 random bytes; the database keeps only their SHA-256,
//! the admin, the session's CSRF token and the expiry. The cookie is `HttpOnly`,
//! `SameSite=Strict`, and `Secure` when `[web] public_url` is https.

// The error side of the handlers' helpers is the response to send instead (a log-in
// redirect, an error page); boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod accounts;
pub mod config_file;
pub mod files;
pub mod strategy_edit;

mod call_explanation;
mod calls;
pub mod compiled;
pub mod preview;
pub mod reload;
mod rules;
mod rules_feedback;

// Übersicht, Quellen and Kontakte.
mod contacts;
mod overview;
mod sources;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::WebState;
use crate::store::AdminSession;
use crate::store::Store;

const SESSION_COOKIE: &str = "fr_admin";
const LOGIN_COOKIE: &str = "fr_login";
/// How long a log-in lasts.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(8);
/// Failed log-ins per client and window before the form answers 429.
pub const MAX_FAILED_LOGINS: u32 = 5;
const FAILED_WINDOW: Duration = Duration::from_secs(15 * 60);

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/anmelden", get(login_form).post(login))
        .route("/admin/abmelden", post(logout))
        .route("/admin/protokoll", get(audit))
        .route("/admin/regeln", get(rules::list))
        .route("/admin/regeln.js", get(rules::script))
        .route("/admin/regeln/{kind}/{id}", get(rules::edit).post(rules::save))
        .route("/admin/regeln/{kind}/{id}/pruefen", post(rules::validate))
        .route("/admin/regeln/{kind}/{id}/vorschau", post(rules::preview))
        // Übersicht, Quellen and Kontakte.
        .route("/admin", get(overview::page))
        .route("/admin/quellen", get(sources::page))
        .route("/admin/quellen/{id}", post(sources::switch))
        .route("/admin/kontakte", get(contacts::page))
        .route(
            "/admin/kontakte/{kommune}/{n}",
            get(contacts::edit).post(contacts::save),
        )
        // Aufrufe
        .route("/admin/aufrufe", get(calls::list))
        .route("/admin/aufrufe/{id}", get(calls::show))
}

/// Failed log-ins per client in a sliding-free fixed window.
#[derive(Default)]
pub struct LoginThrottle(Mutex<HashMap<IpAddr, (Instant, u32)>>);

impl LoginThrottle {
    fn blocked(&self, client: IpAddr, now: Instant) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&client)
            .is_some_and(|(start, n)| now.duration_since(*start) < FAILED_WINDOW && *n >= MAX_FAILED_LOGINS)
    }

    fn failed(&self, client: IpAddr, now: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < FAILED_WINDOW);
        }
        let entry = map.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= FAILED_WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    fn succeeded(&self, client: IpAddr) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&client);
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(state: &WebState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = state
        .0
        .config
        .service
        .web
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https");
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("hex tokens make valid cookies")
}

/// The logged-in admin of a request.
pub struct Admin {
    pub name: String,
    pub csrf: String,
}

/// The request's admin, or the response to send instead (the log-in page).
pub async fn admin(state: &WebState, headers: &HeaderMap) -> Result<Admin, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(Redirect::to("/admin/anmelden").into_response());
    };
    match state.0.store.admin_session(&token_hash(&token), Utc::now()).await {
        Ok(Some(AdminSession { admin, csrf, .. })) => Ok(Admin { name: admin, csrf }),
        Ok(None) => Err(Redirect::to("/admin/anmelden?abgelaufen=1").into_response()),
        Err(e) => Err(state.0.pages.failed("admin: cannot read the session", &e)),
    }
}

/// The admin of a state-changing request: a session and its CSRF token in the form.
pub async fn admin_with_csrf(state: &WebState, headers: &HeaderMap, csrf: Option<&str>) -> Result<Admin, Response> {
    let admin = admin(state, headers).await?;
    match csrf {
        Some(given) if same(given, &admin.csrf) => Ok(admin),
        _ => Err(state.0.pages.error(
            StatusCode::FORBIDDEN,
            "Formular abgelaufen",
            "Das Formular war nicht mehr gültig (CSRF-Schutz). Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
            None,
        )),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    abgelaufen: Option<String>,
}

#[derive(Serialize)]
struct LoginCtx<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
    name: &'a str,
}

async fn login_form(State(state): State<WebState>, query: axum::extract::Query<LoginQuery>) -> Response {
    let error = query
        .abgelaufen
        .as_ref()
        .map(|_| "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich neu an.");
    login_page(&state, StatusCode::OK, error, "")
}

fn login_page(state: &WebState, status: StatusCode, error: Option<&str>, name: &str) -> Response {
    let csrf = random_token();
    let mut response = state.0.pages.render(
        status,
        "admin/login.html.j2",
        LoginCtx {
            csrf: &csrf,
            error,
            name,
        },
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(state, LOGIN_COOKIE, &csrf, 3600));
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    csrf: Option<String>,
}

async fn login(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let client = super::access::client_ip(peer, &headers);
    let now = Instant::now();
    let login_csrf = cookie(&headers, LOGIN_COOKIE);
    match (&login_csrf, &form.csrf) {
        (Some(a), Some(b)) if same(a, b) => {}
        _ => {
            return state.0.pages.error(
                StatusCode::FORBIDDEN,
                "Formular abgelaufen",
                "Das Anmeldeformular war nicht mehr gültig. Bitte laden Sie die Seite neu.",
                None,
            );
        }
    }
    if state.0.login_throttle.blocked(client, now) {
        return state.0.pages.too_many();
    }
    let accounts = match accounts::Accounts::load(&state.0.config.dir) {
        Ok(a) => a,
        Err(e) => return state.0.pages.failed("admin: cannot read admins.toml", &e),
    };
    let name = form.name.trim();
    let password = form.password.clone();
    let ok = {
        let accounts = accounts.clone();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || accounts.verify(&name, &password))
            .await
            .unwrap_or(false)
    };
    if !ok {
        state.0.login_throttle.failed(client, now);
        tracing::warn!(%client, "admin log-in failed");
        return login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Name oder Passwort ist falsch."),
            name,
        );
    }
    state.0.login_throttle.succeeded(client);
    let token = random_token();
    let session = AdminSession {
        admin: name.to_string(),
        csrf: random_token(),
        expires_at: Utc::now() + SESSION_LIFETIME,
    };
    if let Err(e) = state
        .0
        .store
        .create_admin_session(&token_hash(&token), &session, Utc::now())
        .await
    {
        return state.0.pages.failed("admin: cannot store the session", &e);
    }
    tracing::info!(admin = name, "admin logged in");
    let mut response = Redirect::to("/admin").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &token, SESSION_LIFETIME.num_seconds()),
    );
    headers.append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", 0));
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(State(state): State<WebState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if let Err(response) = admin_with_csrf(&state, &headers, form.csrf.as_deref()).await {
        return response;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.0.store.delete_admin_session(&token_hash(&token)).await
    {
        return state.0.pages.failed("admin: cannot end the session", &e);
    }
    let mut response = Redirect::to("/admin/anmelden").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    response
}

#[derive(Serialize)]
struct PageCtx<'a, T: Serialize> {
    admin: &'a str,
    csrf: &'a str,
    #[serde(flatten)]
    page: T,
}

pub fn render(state: &WebState, admin: &Admin, name: &str, page: impl Serialize) -> Response {
    render_status(state, admin, StatusCode::OK, name, page)
}

pub fn render_status(
    state: &WebState,
    admin: &Admin,
    status: StatusCode,
    name: &str,
    page: impl Serialize,
) -> Response {
    state.0.pages.render(
        status,
        name,
        PageCtx {
            admin: &admin.name,
            csrf: &admin.csrf,
            page,
        },
    )
}

#[derive(Serialize)]
struct AuditRow {
    at: String,
    admin: String,
    target: String,
    old_text: String,
    new_text: String,
}

async fn audit_rows(state: &WebState, limit: u32) -> Result<Vec<AuditRow>, Response> {
    let entries = state
        .0
        .store
        .audit_log(limit)
        .await
        .map_err(|e| state.0.pages.failed("admin: cannot read the audit log", &e))?;
    let tz = state.0.config.service.timezone;
    Ok(entries
        .into_iter()
        .map(|e| AuditRow {
            at: e.at.with_timezone(&tz).format("%d.%m.%Y %H:%M:%S").to_string(),
            admin: e.admin,
            target: e.target,
            old_text: e.old_text,
            new_text: e.new_text,
        })
        .collect())
}

async fn audit(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let entries = match audit_rows(&state, 200).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    #[derive(Serialize)]
    struct Ctx {
        entries: Vec<AuditRow>,
    }
    render(&state, &admin, "admin/audit.html.j2", Ctx { entries })
}
