//! `foerderradar serve`: the web server. It answers the signed links of the mails
//! (confirmation on `GET`, the action on `POST`), shows a contact its calls and
//! settings, serves the reports, and gives operations `/health` and `/metrics`.
//!
//! Routes (see README "Web server"):
//! - `GET /health` (no auth), `GET /metrics` (admin token or loopback);
//! - `GET|POST /l/{token}`: a signed contact link ([`crate::notify::links`]);
//! - `GET /report?kommune=&project=&handlungsfeld=&format=&token=`: a contact's own
//!   Kommune with its settings link, every Kommune with the admin token;
//! - `GET /calls/{id}` (admin).
//!
//! Every page is German, server-rendered from minijinja templates with
//! auto-escaping (`src/web/templates/`, overridable in `<config>/templates/web/`),
//! works without JavaScript, and goes out with a CSP that allows no script (the admin
//! pages: only the server's own `/admin/regeln.js`).

mod access;
pub mod admin;
mod contact;
mod ops;
mod pages;
mod reports;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDate, Utc};

use self::access::RateLimiter;
use self::pages::Pages;
use crate::config::{Config, WebSettings};
use crate::matching::Matcher;
use crate::notify::links::{LinkSigner, secret_from_env};
use crate::store::AnyStore;

/// The secrets of the server, read from the environment variables that `[web]` names.
#[derive(Clone, Default)]
pub struct Secrets {
    pub link_secret: Option<Vec<u8>>,
    pub admin_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("link_secret", &self.link_secret.as_ref().map(|_| "<redacted>"))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Secrets {
    /// Reads both variables. A named variable that is unset or too short is an error
    /// naming the variable (never its value): a server that silently ran without the
    /// key would refuse every mailed link.
    pub fn from_env(web: &WebSettings) -> anyhow::Result<Secrets> {
        let link_secret = match &web.link_secret_env {
            None => None,
            Some(var) => Some(secret_from_env(var)?),
        };
        let admin_token = match &web.admin_token_env {
            None => None,
            Some(var) => {
                let token = web.admin_token().with_context(|| {
                    format!("environment variable {var} (web.admin_token_env) is not set; set it to a random token")
                })?;
                if token.len() < 16 {
                    anyhow::bail!(
                        "environment variable {var} (web.admin_token_env) holds a token shorter than 16 characters; use a random one such as `openssl rand -hex 24`"
                    );
                }
                Some(token)
            }
        };
        Ok(Secrets {
            link_secret,
            admin_token,
        })
    }
}

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct WebState(Arc<Inner>);

struct Inner {
    config: Config,
    store: AnyStore,
    matcher: Matcher,
    signer: Option<LinkSigner>,
    admin_token: Option<String>,
    pages: Pages,
    today_override: Option<NaiveDate>,
    limiter: RateLimiter,
    /// Failed admin log-ins per client.
    login_throttle: admin::LoginThrottle,
    /// One config save at a time.
    config_write: tokio::sync::Mutex<()>,
    /// The config as its files read now, compiled (admin call page and preview).
    rules: admin::compiled::CompiledRules,
    /// The stored calls and their matches kept between rules previews.
    preview: admin::preview::BaselineCache,
}

impl WebState {
    /// Links are written under `[web] public_url`, or under the bound address when
    /// none is configured.
    pub fn new(
        config: Config,
        store: impl Into<AnyStore>,
        today_override: Option<NaiveDate>,
        secrets: Secrets,
    ) -> anyhow::Result<WebState> {
        let store = store.into();
        let web = &config.service.web;
        let base = web.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}/", web.bind)).expect("a socket address makes a valid URL")
        });
        let signer = secrets
            .link_secret
            .map(|secret| LinkSigner::new(secret, base, web.link_validity));
        let pages = Pages::load(&config.dir)?;
        let matcher = Matcher::new(&config).context("compiling the matching rules")?;
        Ok(WebState(Arc::new(Inner {
            matcher,
            signer,
            admin_token: secrets.admin_token,
            pages,
            today_override,
            limiter: RateLimiter::new(access::TOKEN_REQUESTS_PER_MINUTE),
            login_throttle: admin::LoginThrottle::default(),
            config_write: tokio::sync::Mutex::new(()),
            rules: admin::compiled::CompiledRules::default(),
            preview: admin::preview::BaselineCache::default(),
            store,
            config,
        })))
    }

    fn today(&self) -> NaiveDate {
        self.0
            .today_override
            .unwrap_or_else(|| Utc::now().with_timezone(&self.0.config.service.timezone).date_naive())
    }
}

/// All routes with the security headers.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/l/{token}", get(contact::show).post(contact::act))
        .route("/report", get(reports::report))
        .route("/calls/{id}", get(reports::call))
        .merge(admin::routes())
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Binds the listening socket, naming the address when that fails.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (web.bind)"))
}

/// Serves until `shutdown` completes; requests in flight finish first.
pub async fn serve(
    state: WebState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, links = state.0.signer.is_some(), admin = state.0.admin_token.is_some(), "web server listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("web server")
}

/// No page may be framed; only the admin pages may run a script, and only the
/// server's own (`/admin/regeln.js`, which calls back to the server alone).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const ADMIN_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Tokens ride in URLs, and no page may be framed or run a foreign script.
async fn security_headers(request: Request, next: Next) -> Response {
    let admin = request.uri().path().starts_with("/admin/") || request.uri().path() == "/admin";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, if admin { ADMIN_CSP } else { CSP }),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The web server running beside the daemon's jobs (`[web] enabled = true`).
pub struct Hosted {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Hosted {
    /// Starts serving on `[web] bind` in a task of this runtime.
    pub async fn start(state: WebState) -> anyhow::Result<Hosted> {
        let listener = bind(state.0.config.service.web.bind).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(state, listener, async {
            let _ = stopped.await;
        }));
        Ok(Hosted { stop, task })
    }

    /// Stops accepting, lets requests in flight finish, and reports a server error.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("web server task")?
    }
}
