//! Test helpers for the collectors: settings, source configs, fixtures, and a
//! tiny HTTP/1.1 fixture server for what wiremock cannot do (streamed endless
//! bodies, binding to other loopback IPs, thousands of requests with latency).
//! Also used by `benches/collect.rs`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use foerderradar::config::{HttpSettings, SourceConfig};
use foerderradar::model::reason::{Criterion, Field, Hit, Reason};
use foerderradar::model::source::SourceKind;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Fast, impolite settings for loopback tests; the one home of the HTTP
/// settings of the collect tests and benchmark (they override single fields).
pub fn http_settings() -> HttpSettings {
    HttpSettings {
        user_agent: "foerderradar-test/0.1".into(),
        timeout: Duration::from_secs(5),
        max_body_bytes: 2 * 1024 * 1024,
        min_delay: Duration::ZERO,
        per_host_concurrency: 2,
        retries: 2,
        source_budget: Duration::from_secs(10),
        host_wait: Duration::from_secs(300),
        max_items_per_page: 1_000,
        max_items_per_feed: 5_000,
        broken_after: 3,
        respect_robots: true,
    }
}

/// A source of `kind` with the kind's keys given as TOML.
pub fn source(id: &str, url: &str, kind: &str, options_toml: &str) -> SourceConfig {
    let table: toml::Table = toml::from_str(options_toml).expect("test options are TOML");
    SourceConfig {
        id: id.into(),
        label: format!("test source {id}"),
        url: Url::parse(url).expect("test URL"),
        enabled: true,
        min_delay: None,
        budget: None,
        kind: SourceKind::from_table(kind, table).expect("test options are valid"),
        line: 1,
    }
}

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// One resource of the fixture server.
#[derive(Clone)]
pub struct Page {
    pub body: Vec<u8>,
    pub content_type: String,
    /// Answers `If-None-Match: <etag>` with 304.
    pub etag: Option<String>,
}

impl Page {
    pub fn new(body: impl Into<Vec<u8>>, content_type: &str) -> Page {
        Page {
            body: body.into(),
            content_type: content_type.into(),
            etag: None,
        }
    }

    pub fn with_etag(mut self, etag: &str) -> Page {
        self.etag = Some(etag.into());
        self
    }
}

/// What the server does with a path it has no page for.
#[derive(Clone, Copy)]
pub enum Fallback {
    NotFound,
    /// A chunked body of this many bytes, without Content-Length.
    Stream(u64),
}

/// A keep-alive HTTP/1.1 server on a loopback address, serving fixed pages.
pub struct FixtureServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Site {
    pages: HashMap<String, Page>,
    latency: Duration,
    fallback: Fallback,
    requests: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
}

impl FixtureServer {
    /// Serves `pages` (path with query → page) on `ip`, each answer delayed by `latency`.
    pub async fn start(
        ip: IpAddr,
        latency: Duration,
        pages: HashMap<String, Page>,
        fallback: Fallback,
    ) -> FixtureServer {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind fixture server");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let not_modified = Arc::new(AtomicUsize::new(0));
        let site = Arc::new(Site {
            pages,
            latency,
            fallback,
            requests: requests.clone(),
            not_modified: not_modified.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, site.clone()));
            }
        });
        FixtureServer {
            addr,
            requests,
            not_modified,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn not_modified(&self) -> usize {
        self.not_modified.load(Ordering::Relaxed)
    }
}

async fn serve_connection(stream: TcpStream, site: Arc<Site>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut if_none_match = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("if-none-match")
            {
                if_none_match = Some(value.trim().to_string());
            }
        }
        site.requests.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(site.latency).await;
        let stream = reader.get_mut();
        let written = match site.pages.get(&path) {
            Some(page) if page.etag.is_some() && page.etag == if_none_match => {
                site.not_modified.fetch_add(1, Ordering::Relaxed);
                let etag = page.etag.as_deref().unwrap_or_default();
                let head = format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n");
                stream.write_all(head.as_bytes()).await
            }
            Some(page) => write_page(stream, page).await,
            None => match site.fallback {
                Fallback::NotFound => {
                    stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
                        .await
                }
                Fallback::Stream(total) => write_stream(stream, total).await,
            },
        };
        if written.is_err() {
            return;
        }
    }
}

async fn write_page(stream: &mut TcpStream, page: &Page) -> std::io::Result<()> {
    let etag = page.etag.as_ref().map(|e| format!("ETag: {e}\r\n")).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\n{etag}Content-Length: {}\r\n\r\n",
        page.content_type,
        page.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&page.body).await
}

/// A chunked body of `total` bytes, written 64 KiB at a time.
async fn write_stream(stream: &mut TcpStream, total: u64) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await?;
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0u64;
    while sent < total {
        let n = chunk.len().min((total - sent) as usize);
        stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
        stream.write_all(&chunk[..n]).await?;
        stream.write_all(b"\r\n").await?;
        sent += n as u64;
    }
    stream.write_all(b"0\r\n\r\n").await
}

/// A reason: `term` found in `field` (for digest and report fixtures).
pub fn treffer(term: &str, field: Field) -> Reason {
    Reason::Hits {
        hits: vec![Hit {
            term: term.into(),
            field,
        }],
    }
}

/// A reason: one criterion that held.
pub fn criterion(criterion: Criterion) -> Reason {
    Reason::Criterion { criterion }
}

/// A claimant for `notify::deliver` in tests that deliver directly.
pub fn lease() -> foerderradar::store::Lease {
    foerderradar::store::Lease {
        holder: "test".into(),
        length: chrono::TimeDelta::seconds(120),
    }
}
