//! The shared polite fetcher. PLACEHOLDER: the fetch helper implements it; keep the signatures.

use std::time::Duration;

use url::Url;

use super::Validators;
use crate::config::{HttpSettings, SourceConfig};

/// One shared HTTP client with per-host politeness.
#[derive(Debug, Clone)]
pub struct Fetcher {}

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

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {message}")]
    Other { url: String, message: String },
}

impl Fetcher {
    /// `sources` supply per-host `min_delay` overrides.
    pub fn new(_settings: &HttpSettings, _sources: &[SourceConfig]) -> Result<Fetcher, FetchError> {
        todo!()
    }

    /// GET with conditional validators, politeness, retries and the body cap.
    pub async fn get(&self, _url: &Url, _validators: Option<&Validators>) -> Result<Fetched, FetchError> {
        todo!()
    }

    /// POST `multipart/form-data` whose parts are (name, content, mime type); retried like GET.
    pub async fn post_multipart(&self, _url: &Url, _parts: &[(String, String, String)]) -> Result<Fetched, FetchError> {
        todo!()
    }

    /// Time since the fetcher was created (for budgets in tests).
    pub fn uptime(&self) -> Duration {
        Duration::ZERO
    }
}
