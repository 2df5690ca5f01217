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
    Empty,
    Foerderdatenbank(FdbMemo),
    Html(HtmlMemo),
}

impl Memo {
    pub fn is_empty(&self) -> bool {
        matches!(self, Memo::Empty)
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
pub(super) fn readable_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Memo, D::Error> {
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
            Memo::Empty
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

#[cfg(test)]
mod tests {
    use super::super::SourceState;
    use super::super::foerderdatenbank::{Card, FdbMemo, ListPage, ProgrammeMemo};
    use super::*;

    fn state(json: &str) -> SourceState {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn string_map_memo_of_earlier_versions_is_forgotten_and_validators_kept() {
        let old = r#"{
            "validators": {"https://x.example/list": {"etag": "\"l1\"", "last_modified": null}},
            "memo": {
                "list:https://x.example/list": "{\"hits\":1,\"cards\":[],\"next\":null}",
                "card:https://x.example/a": "00ff",
                "feed:https://x.example/a": "11ee",
                "gone:https://x.example/b": "22dd",
                "page:https://x.example/p": "{\"listings\":[],\"next\":null}",
                "detail:https://x.example/c": "33cc"
            }
        }"#;
        let loaded = state(old);
        assert_eq!(loaded.memo, Memo::Empty);
        assert_eq!(
            loaded.validators["https://x.example/list"].etag.as_deref(),
            Some("\"l1\"")
        );
    }

    #[test]
    fn damaged_or_missing_memo_is_empty() {
        assert_eq!(state(r#"{"memo": {"kind": "html", "pages": 7}}"#).memo, Memo::Empty);
        assert_eq!(state(r#"{"memo": {"kind": "ftp"}}"#).memo, Memo::Empty);
        assert_eq!(state(r#"{"memo": "x"}"#).memo, Memo::Empty);
        assert_eq!(state("{}"), SourceState::default());
    }

    #[test]
    fn typed_memo_round_trips_tagged_by_kind() {
        let card = Card {
            url: "https://x.example/a".into(),
            title: "Dorfmitte".into(),
            applicants: "Kommune".into(),
            topics: "Städtebau".into(),
        };
        let mut memo = FdbMemo::default();
        memo.programmes.insert(
            card.url.clone(),
            ProgrammeMemo {
                card: card.signature(),
                gone: false,
                feed: Some(Signature::of("feed item")),
            },
        );
        memo.lists.insert(
            "https://x.example/list".into(),
            ListPage {
                hits: Some(1),
                cards: vec![card],
                next: None,
            },
        );
        let state = SourceState {
            memo: Memo::Foerderdatenbank(memo),
            ..SourceState::default()
        };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["memo"]["kind"], "foerderdatenbank");
        assert_eq!(serde_json::from_value::<SourceState>(json).unwrap(), state);
        let empty = serde_json::to_string(&SourceState::default()).unwrap();
        assert!(!empty.contains("memo"), "{empty}");
    }

    #[test]
    fn signature_is_twelve_bytes_of_sha256_in_hex() {
        let s = Signature::of("abc").to_string();
        assert_eq!(s, "ba7816bf8f01cfea414140de");
        assert_ne!(Signature::of("abd"), Signature::of("abc"));
    }
}
