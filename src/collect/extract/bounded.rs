//! Regexes with word boundaries that stay fast on German text.
//!
//! The regex crate's fast engines (the lazy DFA) give up on a Unicode word boundary
//! (`\b`) as soon as the haystack holds a non-ASCII character, and fall back to a slow
//! engine over the whole haystack; German text nearly always holds an umlaut. A
//! [`Bounded`] regex keeps a second, *wide* copy of its pattern with every `\b`
//! removed: dropping an assertion only widens a pattern, so where the wide copy finds
//! nothing, the exact one cannot find anything either, and the exact one runs only
//! from the wide copy's first match on. The results are those of the exact pattern.
//!
//! The exact copy is compiled only when the wide one first finds something: compiling is
//! most of what a pass that extracts a few listings spends on its patterns, and many
//! patterns never match there.

use std::sync::{Arc, OnceLock};

use regex::{Captures, Match, Regex, RegexBuilder};

/// `pattern` without its word boundaries: it matches wherever `pattern` does, and more.
pub(super) fn widen(pattern: &str) -> String {
    pattern.replace(r"\b", "")
}

/// Cache of the fast engine per wide pattern (and per thread using it), instead of the
/// default 2 MiB: the wide patterns hold Unicode `\w`, whose states fill a cache over German
/// text. In the harness's mutated pass the collect stage peaked 5 MB lower at equal CPU.
/// Should a text need more, the engine falls back to the slow one, as the exact pattern would.
pub(super) const WIDE_CACHE_BYTES: usize = 256 * 1024;

/// Cache of the fast engine for every other extraction pattern, per pattern and per
/// concurrent parse, instead of the default 2 MiB. The patterns run over sentences, not
/// whole pages, so a small cache holds their working states; with the default, the
/// caches of the first pass over the shared harness's 4,000 calls held ~30 MB for the
/// rest of the process.
pub(super) const CACHE_BYTES: usize = 256 * 1024;

/// `pattern` compiled with a fast-engine cache of [`CACHE_BYTES`].
pub(super) fn compact(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).dfa_size_limit(CACHE_BYTES).build()
}

/// An exact pattern with `\b`, compiled on its first use, and its wide copy without.
#[derive(Clone)]
pub(super) struct Bounded {
    exact: Lazy,
    wide: Regex,
}

impl Bounded {
    /// Compiles the wide copy of `pattern` (which must not contain a literal backslash
    /// followed by `b`); the exact one follows on first use.
    pub(super) fn new(pattern: &str) -> Result<Bounded, regex::Error> {
        Ok(Bounded {
            wide: RegexBuilder::new(&widen(pattern))
                .dfa_size_limit(WIDE_CACHE_BYTES)
                .build()?,
            exact: Lazy::new(pattern),
        })
    }

    /// Where the first exact match may start: no earlier than the first wide one.
    fn first_candidate(&self, haystack: &str) -> Option<usize> {
        self.wide.find(haystack).map(|m| m.start())
    }

    pub(super) fn is_match(&self, haystack: &str) -> bool {
        self.first_candidate(haystack)
            .is_some_and(|start| self.exact.get().is_match_at(haystack, start))
    }

    /// Like [`Regex::find_at`]: `start` is a position in `haystack`, whose text before it
    /// still counts for the word boundary.
    pub(super) fn find_at<'h>(&self, haystack: &'h str, start: usize) -> Option<Match<'h>> {
        let first = self.wide.find_at(haystack, start)?.start();
        self.exact.get().find_at(haystack, first)
    }

    /// Like [`Regex::captures_at`].
    pub(super) fn captures_at<'h>(&self, haystack: &'h str, start: usize) -> Option<Captures<'h>> {
        let first = self.wide.find_at(haystack, start)?.start();
        self.exact.get().captures_at(haystack, first)
    }

    /// Like [`Regex::captures_iter`]: successive non-overlapping matches. Capture groups
    /// need the slow engine even where the fast one finds the match; it now runs from a
    /// candidate on, not over every sentence that holds an umlaut.
    pub(super) fn captures_iter<'h>(&'h self, haystack: &'h str) -> impl Iterator<Item = Captures<'h>> + 'h {
        let mut from = Some(0);
        let mut last_end = None;
        std::iter::from_fn(move || {
            loop {
                let caps = self.captures_at(haystack, from?)?;
                let whole = caps.get(0).expect("group 0 is the match");
                // As the regex crate's iterator: no empty match where the last match ended.
                if whole.is_empty() && last_end == Some(whole.end()) {
                    from = haystack[whole.end()..]
                        .chars()
                        .next()
                        .map(|c| whole.end() + c.len_utf8());
                    continue;
                }
                last_end = Some(whole.end());
                from = Some(whole.end());
                return Some(caps);
            }
        })
    }
}

/// A [`compact`] regex compiled on first use, for a pattern whose validity an eagerly
/// compiled relative (its wide copy, a set holding it) has already shown. Clones made
/// before the first use compile their own copy; [`crate::model::pattern::Pattern`] hands
/// every user the same clone.
#[derive(Clone)]
pub(super) struct Lazy {
    pattern: Arc<str>,
    regex: OnceLock<Regex>,
}

impl Lazy {
    pub(super) fn new(pattern: &str) -> Lazy {
        Lazy {
            pattern: pattern.into(),
            regex: OnceLock::new(),
        }
    }

    pub(super) fn get(&self) -> &Regex {
        self.regex.get_or_init(|| {
            compact(&self.pattern)
                .unwrap_or_else(|e| panic!("pattern {:?} compiles as its wide copy did: {e}", self.pattern))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same matches as the exact regex, on ASCII and non-ASCII text, at word edges.
    #[test]
    fn finds_what_the_exact_regex_finds() {
        let patterns = [
            r"(?i)\bkommunen?\b|\bstädte\b",
            r"(?i)verein(?:e|en)?\b|\bkmu\b",
            r"(?i)\b(?:bis|spätestens)\s*$",
            r"\bx*\b",
            r"(?i)\b(\d{1,3})\s*(?:%|prozent\b)|(?:eur\b|€)\s*(\d+)",
            r"\b(\d{1,2})\.\s?(\d{1,2})\.(?:\s?(\d{4})\b)?",
        ];
        let haystacks = [
            "Antragsberechtigt sind Kommunen, Städte und Vereine.",
            "Großstädte, Kommunenverband, Vereinsheim; KMU-Förderung, ÄKMU",
            "Fördervereine bis spätestens",
            "kommune",
            "",
            "ü x ä xx",
            "Förderquote 80 %, höchstens EUR 5000 je Maßnahme; ä90 Prozentsatz, € 12 und 3 prozent.",
            "Frist: 31.12.2026, danach ab 1.3. bzw. ü1.4.2027 und 5.5.27",
        ];
        for pattern in patterns {
            let exact = Regex::new(pattern).unwrap();
            let bounded = Bounded::new(pattern).unwrap();
            for h in haystacks {
                assert_eq!(bounded.is_match(h), exact.is_match(h), "{pattern} on {h:?}");
                let all = |caps: Vec<Captures>| -> Vec<Vec<Option<(usize, usize)>>> {
                    caps.iter()
                        .map(|c| c.iter().map(|g| g.map(|m| (m.start(), m.end()))).collect())
                        .collect()
                };
                assert_eq!(
                    all(bounded.captures_iter(h).collect()),
                    all(exact.captures_iter(h).collect()),
                    "{pattern} on {h:?}: captures"
                );
                for start in 0..=h.len() {
                    if h.is_char_boundary(start) {
                        assert_eq!(
                            bounded.find_at(h, start).map(|m| m.range()),
                            exact.find_at(h, start).map(|m| m.range()),
                            "{pattern} on {h:?} from {start}"
                        );
                    }
                }
            }
        }
    }

    /// The exact copy is compiled only once the wide one finds a candidate, and then kept:
    /// a pass that extracts a few listings compiles only the patterns their texts reach.
    #[test]
    fn the_exact_copy_is_compiled_on_the_first_candidate() {
        let bounded = Bounded::new(r"(?i)\bkommunen?\b").unwrap();
        assert!(!bounded.is_match("Antragsberechtigt sind Unternehmen."));
        assert!(bounded.exact.regex.get().is_none(), "no candidate, nothing compiled");
        assert!(!bounded.is_match("Kommunenverband"));
        let compiled: *const Regex = bounded.exact.regex.get().expect("a candidate compiles it");
        assert!(bounded.is_match("für Kommunen in NRW"));
        assert!(std::ptr::eq(compiled, bounded.exact.get()), "compiled once");
    }
}
