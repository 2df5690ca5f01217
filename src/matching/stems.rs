//! Literal stems found through a rarer part of each.
//!
//! A multi-literal search (Teddy, SIMD) stops wherever the first bytes of a literal stand in the
//! text, and checks the rest there. Stems that begin with common letters ("unde…" of
//! "Bundesamt", "ntra…" of "antragsberechtigt", "egio…" of "Regionalbudget") made it stop in most
//! sentences. [`StemFinder`] searches each stem's rarer part instead and checks the whole stem
//! around it, so it finds what a leftmost-first search for the stems themselves finds.

use aho_corasick::{AhoCorasick, Input, MatchKind};

/// A leftmost-first search for literal stems, through a rarer part of each.
pub(super) struct StemFinder {
    /// The distinct needles, leftmost-first: the packed (SIMD) search serves only the
    /// leftmost kinds, and a standard overlapping search was slower than the stems' own.
    needles: AhoCorasick,
    /// Per needle: the entries searched through it, as (entry, stem, where the needle starts in it).
    stems: Vec<Vec<(usize, &'static str, usize)>>,
}

impl StemFinder {
    /// `entries`: each stem with the part of it to search for. Earlier stems win where two
    /// start at the same place, as in a leftmost-first search. No needle may begin
    /// another: a search finds one needle per place.
    pub(super) fn new(entries: &[(&'static str, &'static str)]) -> StemFinder {
        let mut distinct: Vec<&str> = Vec::new();
        let mut stems: Vec<Vec<(usize, &'static str, usize)>> = Vec::new();
        for (entry, &(stem, needle)) in entries.iter().enumerate() {
            let at = stem.find(needle).expect("a needle is part of its stem");
            let n = distinct.iter().position(|d| *d == needle).unwrap_or_else(|| {
                distinct.push(needle);
                stems.push(Vec::new());
                distinct.len() - 1
            });
            stems[n].push((entry, stem, at));
        }
        for a in &distinct {
            assert!(
                !distinct.iter().any(|b| b != a && b.starts_with(a)),
                "the needle {a:?} begins another"
            );
        }
        let needles = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&distinct)
            .expect("needles are plain strings");
        StemFinder { needles, stems }
    }

    /// The stems in `text` as (entry, start, end): leftmost first, none overlapping another.
    pub(super) fn find(&self, text: &str) -> Vec<(usize, usize, usize)> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut from = 0;
        // Every place where a needle stands: the search goes on one byte after each find,
        // so a needle inside a stem found or a failed check is not skipped.
        while let Some(m) = self.needles.find(Input::new(text).range(from..)) {
            from = m.start() + 1;
            for &(entry, stem, at) in &self.stems[m.pattern().as_usize()] {
                if let Some(start) = m.start().checked_sub(at)
                    && bytes[start..].starts_with(stem.as_bytes())
                {
                    found.push((entry, start, start + stem.len()));
                }
            }
        }
        found.sort_unstable_by_key(|&(entry, start, _)| (start, entry));
        let mut taken_to = 0;
        found.retain(|&(_, start, end)| {
            let free = start >= taken_to;
            if free {
                taken_to = end;
            }
            free
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ENTRIES: &[(&str, &str)] = &[
        ("undesamt", "desamt"),
        ("andesamt", "desamt"),
        ("nterreg", "rreg"),
        ("ab", "ab"),
        ("abc", "bc"),
        ("bcd", "cd"),
        ("rab", "ra"),
    ];

    /// What a leftmost-first search for the stems themselves finds.
    fn reference(text: &str) -> Vec<(usize, usize, usize)> {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(ENTRIES.iter().map(|(stem, _)| stem))
            .unwrap()
            .find_iter(text)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect()
    }

    #[test]
    fn a_stem_is_found_through_its_needle_and_checked_around_it() {
        let finder = StemFinder::new(ENTRIES);
        let text = "Das Bundesamt und das Landesamt, Interreg, nicht das Gesamtamt: desamt allein.";
        let found: Vec<&str> = finder.find(text).iter().map(|&(_, s, e)| &text[s..e]).collect();
        assert_eq!(found, ["undesamt", "andesamt", "nterreg"]);
    }

    proptest! {
        #[test]
        fn finds_what_a_leftmost_first_search_for_the_stems_finds(text in "[abcdr nuestgmäI]{0,60}") {
            prop_assert_eq!(StemFinder::new(ENTRIES).find(&text), reference(&text));
        }
    }
}
