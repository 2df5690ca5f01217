//! The shared polite fetcher (to be implemented).

#[derive(Debug)]
pub struct Fetcher;

#[derive(Debug)]
pub struct Fetched;

#[derive(Debug, thiserror::Error)]
#[error("fetch error")]
pub struct FetchError;
