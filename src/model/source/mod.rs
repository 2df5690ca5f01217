//! What a source is and what it remembers: the kind-specific settings of a
//! `[[source]]` ([`SourceKind`], checked when the config is loaded, `html`
//! selectors compiled there once) and the state kept between passes
//! ([`SourceState`] with its typed [`Memo`], stored as JSON by the store).
//! Config, collect and store all speak these types, so they live below all three.

pub mod foerderdatenbank;
pub mod html;
pub mod memo;
pub mod rss;
pub mod sedia;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

pub use memo::{Memo, Signature};

/// Kind-specific source settings.
#[derive(Debug, Clone)]
pub enum SourceKind {
    Rss(rss::RssOptions),
    Foerderdatenbank(foerderdatenbank::FdbOptions),
    EuSedia(sedia::SediaOptions),
    Html(Box<html::HtmlSource>),
}

impl SourceKind {
    pub const NAMES: [&'static str; 4] = ["rss", "foerderdatenbank", "eu-sedia", "html"];

    /// Builds the kind from its name and the remaining keys of the `[[source]]`
    /// table (everything except the common keys). Unknown keys are errors.
    pub fn from_table(kind: &str, table: toml::Table) -> Result<SourceKind, String> {
        let value = toml::Value::Table(table);
        match kind {
            "rss" => value.try_into().map(SourceKind::Rss),
            "foerderdatenbank" => value.try_into().map(SourceKind::Foerderdatenbank),
            "eu-sedia" => value.try_into().map(SourceKind::EuSedia),
            "html" => {
                // Selectors are compiled here, once: a bad one fails at start-up, not at 06:00.
                let options: html::HtmlOptions = value.try_into().map_err(|e: toml::de::Error| e.to_string())?;
                return Ok(SourceKind::Html(Box::new(html::HtmlSource::new(options)?)));
            }
            other => return Err(format!("unknown kind '{other}' (known: {})", Self::NAMES.join(", "))),
        }
        .map_err(|e| e.to_string())
    }

    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Rss(_) => "rss",
            SourceKind::Foerderdatenbank(_) => "foerderdatenbank",
            SourceKind::EuSedia(_) => "eu-sedia",
            SourceKind::Html(_) => "html",
        }
    }
}

/// Conditional-GET validators of one URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a source remembers between passes (stored as JSON by the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Validators per fetched URL.
    #[serde(default)]
    pub validators: BTreeMap<String, Validators>,
    /// Kind-specific memory (list pages, card signatures); an unreadable one
    /// (an earlier version's) is forgotten on load, see [`memo`].
    #[serde(
        default,
        deserialize_with = "memo::readable_or_empty",
        skip_serializing_if = "Memo::is_empty"
    )]
    pub memo: Memo,
}

/// A whole-number option of a kind within its documented range (config/README.md,
/// "Numeric ranges"). Any TOML integer is read, so that a huge one is refused
/// with the range rather than a type error; the range keeps arithmetic on it safe.
fn bounded<'de, D: Deserializer<'de>, const MIN: u32, const MAX: u32>(d: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(d)?;
    u32::try_from(n)
        .ok()
        .filter(|n| (MIN..=MAX).contains(n))
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is out of range; allowed: {MIN} to {MAX}")))
}
