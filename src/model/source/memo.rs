//! What a source kind remembers between passes beyond conditional-GET
//! validators: one typed [`Memo`] per kind, stored as JSON inside the
//! [`SourceState`](super::SourceState).
//!
//! A stored memo that this version cannot read (the string map with `list:`,
//! `card:`, `page:`, `detail:` keys written before the memo was typed, or a
//! damaged one) is forgotten when the state is loaded, instead of failing the
//! source: the next pass then reads list pages unconditionally and asks for
//! every detail page once more (conditionally, with the validators that are
//! kept), and remembers afresh.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::foerderdatenbank::FdbMemo;
use super::html::HtmlMemo;

/// The kind-specific memory of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Memo {
    /// Nothing beyond validators: `rss` and `eu-sedia` sources, and every source
    /// before its first pass.
    #[default]
    None,
    Foerderdatenbank(FdbMemo),
    Html(HtmlMemo),
}

impl Memo {
    pub fn is_none(&self) -> bool {
        matches!(self, Memo::None)
    }

    /// The Förderdatenbank memo; empty when the source remembered nothing of
    /// that kind (first pass, or its `kind` was changed in the config).
    pub fn into_foerderdatenbank(self) -> FdbMemo {
        match self {
            Memo::Foerderdatenbank(memo) => memo,
            _ => FdbMemo::default(),
        }
    }

    /// The `html` memo; empty as for [`Memo::into_foerderdatenbank`].
    pub fn into_html(self) -> HtmlMemo {
        match self {
            Memo::Html(memo) => memo,
            _ => HtmlMemo::default(),
        }
    }
}

/// Reads a stored memo; one that cannot be read is forgotten (see the module docs).
pub(super) fn readable_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Memo, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(Memo),
        Unreadable(serde::de::IgnoredAny),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Typed(memo) => memo,
        Stored::Unreadable(_) => {
            tracing::info!("a source memo of an earlier version was forgotten; its next pass reads detail pages again");
            Memo::None
        }
    })
}

/// A short digest of what a page said about a call (a list card, a feed item):
/// when it changes, the call's detail page is read again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(String);

impl Signature {
    /// The first 12 bytes of SHA-256 over `text`, as hex.
    pub fn of(text: &str) -> Signature {
        Signature(hex::encode(&Sha256::digest(text.as_bytes())[..12]))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
