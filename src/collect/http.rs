//! The shared polite fetcher: one reqwest client for every source, with
//! per-host politeness (a semaphore for concurrency plus a "next allowed start"
//! per host, the lychee pattern), robots.txt, retries with backoff for transient
//! errors only, conditional GET and a streamed body cap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{self, HeaderMap};
use reqwest::{RequestBuilder, Response, StatusCode};
use texting_robots::Robot;
use tokio::sync::{Notify, OnceCell, Semaphore};
use url::Url;

use super::Validators;
use super::extract::decode_body;
use crate::config::{HttpSettings, SourceConfig};

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 8;
/// Longest wait a server may ask for with `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// robots.txt files larger than this are treated as unreachable.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// One shared HTTP client with per-host politeness.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    settings: HttpSettings,
    /// `min_delay` overrides by host key (see [`host_key`]).
    host_delays: HashMap<String, Duration>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: Mutex<HashMap<String, Arc<OnceCell<RobotsRules>>>>,
    retry_base: Duration,
}

/// Politeness state of one host.
#[derive(Debug)]
struct HostGate {
    in_flight: Semaphore,
    min_delay: Duration,
    next_start: Mutex<Instant>,
}

#[derive(Debug)]
enum RobotsRules {
    AllowAll,
    Rules(Box<Robot>),
}

/// A fetched response.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Final URL after redirects.
    pub url: Url,
    pub status: u16,
    /// 304: the body is empty and the caller reuses what it had.
    pub not_modified: bool,
    /// The body decoded to UTF-8 (charset sniffed, see `extract::decode_body`).
    pub body: String,
    pub content_type: Option<String>,
    pub validators: Validators,
}

/// Why a request failed. Every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: timed out")]
    Timeout { url: String },
    #[error("{url}: HTTP {code}")]
    Status {
        url: String,
        code: u16,
        retry_after: Option<Duration>,
    },
    #[error("{url}: body larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: redirect loop or more than {MAX_REDIRECTS} redirects")]
    RedirectLoop { url: String },
    #[error("{url}: disallowed by robots.txt")]
    RobotsDisallowed { url: String },
    #[error("{url}: cannot connect: {message}")]
    Connect { url: String, message: String },
    #[error("{url}: body interrupted: {message}")]
    Body { url: String, message: String },
    #[error("{url}: {message}")]
    Other { url: String, message: String },
}

impl FetchError {
    /// Worth retrying: the server or the network may recover within seconds.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } | FetchError::Body { .. } => true,
            FetchError::Status { code, .. } => *code == 429 || *code >= 500,
            _ => false,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            FetchError::Timeout { url }
            | FetchError::Status { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::RedirectLoop { url }
            | FetchError::RobotsDisallowed { url }
            | FetchError::Connect { url, .. }
            | FetchError::Body { url, .. }
            | FetchError::Other { url, .. } => url,
        }
    }

    fn from_reqwest(url: &Url, e: reqwest::Error) -> FetchError {
        let url = url.to_string();
        // The URL is ours to print once; reqwest would repeat it in its message.
        let e = e.without_url();
        if e.is_timeout() {
            FetchError::Timeout { url }
        } else if e.is_redirect() {
            FetchError::RedirectLoop { url }
        } else if e.is_connect() {
            FetchError::Connect {
                url,
                message: error_chain(&e),
            }
        } else if e.is_body() || e.is_decode() {
            FetchError::Body {
                url,
                message: error_chain(&e),
            }
        } else {
            FetchError::Other {
                url,
                message: error_chain(&e),
            }
        }
    }
}

/// reqwest hides the useful part ("connection refused") in the source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Requests and 304s made for the current source (see [`count_requests`]), and
/// the clock of its time budget.
#[derive(Debug, Default)]
pub struct RequestTally {
    pub requests: AtomicU32,
    pub not_modified: AtomicU32,
    /// When the source's first request got its host slot: its time budget starts
    /// there, not while it queues behind the other sources of its host.
    started: OnceLock<Instant>,
    started_signal: Notify,
    /// The host the source last queued for (named when the wait runs out).
    host: Mutex<Option<String>>,
    /// What the source is doing besides fetching (named when the budget runs out).
    activity: Mutex<Option<String>>,
}

impl RequestTally {
    pub fn started(&self) -> Option<Instant> {
        self.started.get().copied()
    }

    /// Resolves once the first request has its host slot.
    pub async fn wait_started(&self) {
        while self.started().is_none() {
            self.started_signal.notified().await;
        }
    }

    pub(crate) fn mark_started(&self) {
        if self.started.set(Instant::now()).is_ok() {
            // `notify_one` keeps a permit when nobody waits yet: no wake-up is lost.
            self.started_signal.notify_one();
        }
    }

    pub fn host(&self) -> Option<String> {
        self.host.lock().expect("tally lock poisoned").clone()
    }

    fn queue_for(&self, host: &str) {
        *self.host.lock().expect("tally lock poisoned") = Some(host.to_string());
    }

    pub fn activity(&self) -> Option<String> {
        self.activity.lock().expect("tally lock poisoned").clone()
    }

    pub fn set_activity(&self, activity: Option<String>) {
        *self.activity.lock().expect("tally lock poisoned") = activity;
    }
}

tokio::task_local! {
    static TALLY: Arc<RequestTally>;
}

/// Runs `fut` counting every request the fetcher makes for it into `tally`.
/// Sources share one fetcher, so the count follows the future, not the fetcher.
pub async fn count_requests<F: Future>(tally: Arc<RequestTally>, fut: F) -> F::Output {
    TALLY.scope(tally, fut).await
}

fn tally(f: impl FnOnce(&RequestTally)) {
    // Outside `count_requests` (e.g. a one-off fetch) nothing is counted.
    let _ = TALLY.try_with(|t| f(t));
}

/// Politeness is per origin host and port: tests run many servers on one IP.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl Fetcher {
    /// `sources` supply per-host `min_delay` overrides.
    pub fn new(settings: &HttpSettings, sources: &[SourceConfig]) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .gzip(true)
            .redirect(redirect_policy())
            .build()
            .map_err(|e| FetchError::Other {
                url: String::new(),
                message: format!("cannot build HTTP client: {e}"),
            })?;
        let host_delays = sources
            .iter()
            .filter_map(|s| s.min_delay.map(|d| (host_key(&s.url), d)))
            .collect();
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                settings: settings.clone(),
                host_delays,
                hosts: Mutex::new(HashMap::new()),
                robots: Mutex::new(HashMap::new()),
                retry_base: Duration::from_secs(1),
            }),
        })
    }

    /// Sets the first retry delay (default 1 s; doubles per attempt, with jitter).
    /// Call before sharing the fetcher.
    pub fn with_retry_base(mut self, base: Duration) -> Fetcher {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.retry_base = base;
        }
        self
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.inner.settings
    }

    /// GET with conditional validators, politeness, retries and the body cap.
    pub async fn get(&self, url: &Url, validators: Option<&Validators>) -> Result<Fetched, FetchError> {
        self.check_robots(url).await?;
        let client = &self.inner.client;
        let fetched = self
            .send_with_retries(url, || {
                let mut request = client.get(url.clone());
                if let Some(v) = validators {
                    if let Some(etag) = &v.etag {
                        request = request.header(header::IF_NONE_MATCH, etag);
                    }
                    if let Some(lm) = &v.last_modified {
                        request = request.header(header::IF_MODIFIED_SINCE, lm);
                    }
                }
                request
            })
            .await?;
        self.check_redirect_target(url, fetched).await
    }

    /// POST `multipart/form-data` whose parts are (name, content, mime type); retried like GET.
    pub async fn post_multipart(&self, url: &Url, parts: &[(String, String, String)]) -> Result<Fetched, FetchError> {
        self.check_robots(url).await?;
        // Validate the mime types once, so a bad one is an error and not a silent retry loop.
        for (name, _, mime) in parts {
            reqwest::multipart::Part::text("")
                .mime_str(mime)
                .map_err(|e| FetchError::Other {
                    url: url.to_string(),
                    message: format!("part '{name}': {e}"),
                })?;
        }
        let client = &self.inner.client;
        let fetched = self
            .send_with_retries(url, || {
                // A multipart form is consumed by sending, so every attempt builds a fresh one.
                let form = parts
                    .iter()
                    .fold(reqwest::multipart::Form::new(), |form, (name, content, mime)| {
                        let part = reqwest::multipart::Part::text(content.clone())
                            .mime_str(mime)
                            .expect("mime type validated above");
                        form.part(name.clone(), part)
                    });
                client.post(url.clone()).multipart(form)
            })
            .await?;
        self.check_redirect_target(url, fetched).await
    }

    /// A redirect to another host is held to that host's robots.txt too. The policy
    /// of reqwest cannot wait for a robots.txt, so the check comes after the hop and
    /// the content is discarded when the target disallows it.
    async fn check_redirect_target(&self, requested: &Url, fetched: Fetched) -> Result<Fetched, FetchError> {
        if host_key(&fetched.url) != host_key(requested) {
            self.check_robots(&fetched.url).await?;
        }
        Ok(fetched)
    }

    async fn send_with_retries(&self, url: &Url, build: impl Fn() -> RequestBuilder) -> Result<Fetched, FetchError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.inner.retry_base)
            .with_max_delay(MAX_RETRY_AFTER)
            .with_max_times(self.inner.settings.retries as usize)
            .with_jitter();
        let attempt = || self.send_once(url, build());
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(FetchError::is_transient)
            .adjust(|e, delay| match e {
                FetchError::Status {
                    retry_after: Some(wait),
                    ..
                } => delay.map(|_| *wait),
                _ => delay,
            })
            .notify(
                |e, delay| {
                    tracing::warn!(target: super::REPEATED_IN_SUMMARY, url = %url, error = %e, retry_in = ?delay, "transient fetch error, retrying")
                },
            )
            .await
            .inspect_err(|e| tracing::warn!(target: super::REPEATED_IN_SUMMARY, url = %url, error = %e, "fetch failed"))
    }

    async fn send_once(&self, url: &Url, request: RequestBuilder) -> Result<Fetched, FetchError> {
        let gate = self.gate(url);
        tally(|t| t.queue_for(&host_key(url)));
        let _permit = gate.in_flight.acquire().await.expect("host semaphore is never closed");
        gate.wait_turn().await;
        let started = Instant::now();
        tally(|t| {
            t.mark_started();
            t.requests.fetch_add(1, Ordering::Relaxed);
        });
        let response = request.send().await.map_err(|e| FetchError::from_reqwest(url, e))?;
        let status = response.status();
        tracing::debug!(url = %url, status = status.as_u16(), elapsed = ?started.elapsed(), "fetched");
        if status == StatusCode::NOT_MODIFIED {
            tally(|t| {
                t.not_modified.fetch_add(1, Ordering::Relaxed);
            });
        } else if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                code: status.as_u16(),
                retry_after: retry_after(response.headers()).map(|d| d.min(MAX_RETRY_AFTER)),
            });
        }
        self.read(url, response).await
    }

    async fn read(&self, url: &Url, mut response: Response) -> Result<Fetched, FetchError> {
        let headers = response.headers();
        let content_type = header_text(headers, header::CONTENT_TYPE);
        let validators = Validators {
            etag: header_text(headers, header::ETAG),
            last_modified: header_text(headers, header::LAST_MODIFIED),
        };
        let status = response.status().as_u16();
        let final_url = response.url().clone();
        let limit = self.inner.settings.max_body_bytes;
        let bytes = read_capped(url, &mut response, limit).await?;
        let decoded = decode_body(&bytes, content_type.as_deref());
        if let Some(warning) = &decoded.warning {
            tracing::warn!(url = %final_url, "{warning}");
        }
        Ok(Fetched {
            url: final_url,
            status,
            not_modified: status == 304,
            body: decoded.text,
            content_type,
            validators,
        })
    }

    fn gate(&self, url: &Url) -> Arc<HostGate> {
        let key = host_key(url);
        let mut hosts = self.inner.hosts.lock().expect("host map lock poisoned");
        hosts
            .entry(key.clone())
            .or_insert_with(|| {
                let settings = &self.inner.settings;
                Arc::new(HostGate::new(
                    settings.per_host_concurrency,
                    self.inner.host_delays.get(&key).copied().unwrap_or(settings.min_delay),
                ))
            })
            .clone()
    }

    async fn check_robots(&self, url: &Url) -> Result<(), FetchError> {
        if !self.inner.settings.respect_robots {
            return Ok(());
        }
        // Another source of this host may be loading robots.txt: that wait is a host wait too.
        tally(|t| t.queue_for(&host_key(url)));
        let cell = {
            let mut robots = self.inner.robots.lock().expect("robots map lock poisoned");
            robots.entry(host_key(url)).or_default().clone()
        };
        let rules = cell.get_or_init(|| self.load_robots(url)).await;
        match rules {
            RobotsRules::Rules(robot) if !robot.allowed(url.as_str()) => {
                tracing::warn!(url = %url, "disallowed by robots.txt");
                Err(FetchError::RobotsDisallowed { url: url.to_string() })
            }
            _ => Ok(()),
        }
    }

    /// A missing robots.txt allows everything; an unreachable one too, but is logged.
    async fn load_robots(&self, url: &Url) -> RobotsRules {
        let Ok(robots_url) = url.join("/robots.txt") else {
            return RobotsRules::AllowAll;
        };
        let result = self
            .send_once(&robots_url, self.inner.client.get(robots_url.clone()))
            .await;
        let body = match result {
            Ok(fetched) => fetched.body,
            Err(FetchError::Status { code, .. }) if (400..500).contains(&code) => return RobotsRules::AllowAll,
            Err(e) => {
                tracing::warn!(url = %robots_url, error = %e, "robots.txt unreachable; treating host as allowed");
                return RobotsRules::AllowAll;
            }
        };
        if body.len() as u64 > MAX_ROBOTS_BYTES {
            return RobotsRules::AllowAll;
        }
        match Robot::new(&robots_agent(&self.inner.settings.user_agent), body.as_bytes()) {
            Ok(robot) => RobotsRules::Rules(Box::new(robot)),
            Err(e) => {
                tracing::warn!(url = %robots_url, error = %e, "robots.txt unreadable; treating host as allowed");
                RobotsRules::AllowAll
            }
        }
    }
}

impl HostGate {
    /// A host with `concurrency` requests in flight (at least one) and starts `min_delay` apart.
    fn new(concurrency: usize, min_delay: Duration) -> HostGate {
        HostGate {
            in_flight: Semaphore::new(concurrency.max(1)),
            min_delay,
            next_start: Mutex::new(Instant::now()),
        }
    }

    /// Reserves the next start slot of this host and sleeps until it comes. A slot that
    /// has come already is taken without a timer: a timer fires only when a runtime thread
    /// turns the timer wheel, which a busy runtime does late (in the harness's mutated
    /// pass at 100 ms latency, a host's request slots stood idle ~15 ms between requests).
    async fn wait_turn(&self) {
        let now = Instant::now();
        let start = {
            let mut next = self.next_start.lock().expect("host gate lock poisoned");
            let start = (*next).max(now);
            *next = start + self.min_delay;
            start
        };
        if start > now {
            tokio::time::sleep_until(start.into()).await;
        }
    }
}

/// robots.txt groups name the product token: `foerderradar/0.1 (+mailto…)` → `foerderradar`.
fn robots_agent(user_agent: &str) -> String {
    user_agent.split(['/', ' ']).next().unwrap_or(user_agent).to_string()
}

fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let looping = attempt.previous().iter().any(|u| u == attempt.url());
        if looping || attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("redirect loop")
        } else {
            attempt.follow()
        }
    })
}

/// Streams the body, stopping as soon as it exceeds `limit`.
async fn read_capped(url: &Url, response: &mut Response, limit: u64) -> Result<Vec<u8>, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::from_reqwest(url, e))? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_text(headers, header::RETRY_AFTER)?;
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
        .or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slot_that_has_come_is_taken_without_a_timer() {
        use futures::FutureExt as _;
        let gate = HostGate::new(1, Duration::ZERO);
        for _ in 0..3 {
            assert!(
                gate.wait_turn().now_or_never().is_some(),
                "no delay: no waiting for the timer wheel"
            );
        }
    }

    #[tokio::test]
    async fn a_host_delay_reserves_spaced_starts() {
        use futures::FutureExt as _;
        let delay = Duration::from_secs(60);
        let gate = HostGate::new(1, delay);
        assert!(gate.wait_turn().now_or_never().is_some(), "the first slot has come");
        let second = *gate.next_start.lock().unwrap();
        assert!(
            gate.wait_turn().now_or_never().is_none(),
            "the second waits for its slot"
        );
        assert_eq!(*gate.next_start.lock().unwrap(), second + delay);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a past date means: now");
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(20)).to_rfc2822();
        headers.insert(header::RETRY_AFTER, soon.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        headers.insert(header::RETRY_AFTER, "bald".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn transient_errors_are_classified() {
        let status = |code| FetchError::Status {
            url: "u".into(),
            code,
            retry_after: None,
        };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(403).is_transient());
        assert!(FetchError::Timeout { url: "u".into() }.is_transient());
        assert!(
            !FetchError::TooLarge {
                url: "u".into(),
                limit: 1
            }
            .is_transient()
        );
        assert!(!FetchError::RobotsDisallowed { url: "u".into() }.is_transient());
    }

    #[test]
    fn robots_agent_is_the_product_token() {
        assert_eq!(
            robots_agent("foerderradar/0.1 (+mailto:it@kreis-warendorf.de)"),
            "foerderradar"
        );
        assert_eq!(robots_agent("foerderradar"), "foerderradar");
    }

    #[test]
    fn host_key_keeps_ports_apart() {
        let a = Url::parse("http://127.0.0.1:8080/a").unwrap();
        let b = Url::parse("http://127.0.0.1:8081/a").unwrap();
        assert_ne!(host_key(&a), host_key(&b));
        assert_eq!(
            host_key(&Url::parse("https://www.bund.de/x").unwrap()),
            "www.bund.de:443"
        );
    }
}
