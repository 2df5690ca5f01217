//! Folding German text to one comparable form: the one implementation used by
//! matching (text and rule terms), region and funder lookups, and the
//! cross-source identity of calls ([`title_key`]).
//!
//! Text and terms go through the same [`fold`], so "Foerderung", "Förderung"
//! and "FÖRDERUNG" all become `foerderung`. The folded form contains only
//! lowercase letters, digits and single spaces between words:
//!
//! - case folded, umlauts expanded (ä→ae, ö→oe, ü→ue, ß→ss), other Latin
//!   accents dropped (é→e), a combining diaeresis (decomposed umlaut) → `e`;
//! - a hyphen between two letters joins them ("Breitband-Ausbau" →
//!   `breitbandausbau`, so `Breitband` and `Ausbau` still hit inside it);
//! - a hyphen at a line break joins the word halves ("Digitali-\nsierung");
//! - everything else (punctuation, "Kinder- und", whitespace) separates words.
//!
//! [`fold_words`] is the one variant: every hyphen separates. Identity needs it
//! because "Breitband-Ausbau" and "Breitband Ausbau" name the same programme,
//! while matching wants the joined compound so that terms hit inside it.

use std::sync::LazyLock;

use regex::Regex;

/// Folds `text` into `out` (appending). When `map` is given, it receives for
/// every byte pushed to `out` the byte offset in `text` it came from, so hits
/// can be shown in the original wording.
pub fn fold_into(text: &str, out: &mut String, map: Option<&mut Vec<usize>>) {
    let mut buf = std::mem::take(out).into_bytes();
    fold_bytes(text, &mut buf, map);
    *out = String::from_utf8(buf).expect("folding pushes whole UTF-8 sequences");
}

/// [`fold_into`] on a byte buffer, for callers that fold several texts and convert once.
/// Works on bytes: the ASCII path (most of any German text) is one branch and one push.
pub fn fold_bytes(text: &str, buf: &mut Vec<u8>, map: Option<&mut Vec<usize>>) {
    // Two monomorphic copies, so the common case pays nothing for the offset map.
    match map {
        None => fold_with::<true>(text, buf, &mut NoMap),
        Some(m) => fold_with::<true>(text, buf, m),
    }
}

/// Receives the source offset of every folded byte.
trait OffsetSink {
    fn record(&mut self, src: usize);
    /// `n` bytes pushed from `src`, `src + 1`, …
    fn record_run(&mut self, src: usize, n: usize);
}

struct NoMap;

impl OffsetSink for NoMap {
    #[inline(always)]
    fn record(&mut self, _: usize) {}
    #[inline(always)]
    fn record_run(&mut self, _: usize, _: usize) {}
}

impl OffsetSink for Vec<usize> {
    #[inline(always)]
    fn record(&mut self, src: usize) {
        self.push(src);
    }
    #[inline(always)]
    fn record_run(&mut self, src: usize, n: usize) {
        self.extend(src..src + n);
    }
}

/// Per byte: the lowercase form of an ASCII letter or digit, 0 for any other byte.
static ASCII_WORD: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        if (b as u8).is_ascii_alphanumeric() {
            table[b] = (b as u8).to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// Appends the run of ASCII letters and digits that `bytes` starts with,
/// lowercased, and returns its length: checked, lowercased and copied in one pass.
pub(crate) fn push_ascii_run(bytes: &[u8], buf: &mut Vec<u8>) -> usize {
    let from = buf.len();
    buf.extend(bytes.iter().map(|&b| ASCII_WORD[b as usize]).take_while(|&c| c != 0));
    buf.len() - from
}

/// `JOIN_HYPHENS`: whether a hyphen inside a word joins its parts ([`fold`]) or
/// separates them ([`fold_words`]).
fn fold_with<const JOIN_HYPHENS: bool>(text: &str, buf: &mut Vec<u8>, map: &mut impl OffsetSink) {
    let bytes = text.as_bytes();
    let mut pending_space = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            // A run of ASCII letters and digits: most of any German text.
            if pending_space {
                buf.push(b' ');
                map.record(i);
                pending_space = false;
            }
            let run = push_ascii_run(&bytes[i..], buf);
            map.record_run(i, run);
            i += run;
            continue;
        }
        if b < 0x80 {
            match (JOIN_HYPHENS && b == b'-').then(|| hyphen_join(bytes, i)).flatten() {
                Some(next) => i = next,
                None => {
                    pending_space = !buf.is_empty();
                    i += 1;
                }
            }
            continue;
        }
        let ch = text[i..].chars().next().expect("char boundary");
        let start = i;
        i += ch.len_utf8();
        let mut utf8 = [0u8; 4];
        match fold_char(ch) {
            Folded::Str(s) => s
                .bytes()
                .for_each(|b| push_word_byte(buf, map, &mut pending_space, start, b)),
            Folded::Keep => {
                for c in ch.to_lowercase() {
                    for &b in c.encode_utf8(&mut utf8).as_bytes() {
                        push_word_byte(buf, map, &mut pending_space, start, b);
                    }
                }
            }
            Folded::Separator => pending_space = !buf.is_empty(),
            Folded::Drop => {}
        }
    }
}

/// The folded form of `text`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out, None);
    out
}

#[inline(always)]
fn push_word_byte(buf: &mut Vec<u8>, map: &mut impl OffsetSink, pending_space: &mut bool, src: usize, b: u8) {
    if *pending_space {
        buf.push(b' ');
        map.record(src);
        *pending_space = false;
    }
    buf.push(b);
    map.record(src);
}

/// If the hyphen at `i` joins two word parts, the index to continue at.
/// Joins "a-b" and "a-\n b" (hyphenation at a line break), not "a- b" or "a -b".
fn hyphen_join(bytes: &[u8], i: usize) -> Option<usize> {
    let prev_is_word = i > 0 && is_word_byte(bytes[i - 1]);
    if !prev_is_word {
        return None;
    }
    let mut j = i + 1;
    let mut saw_newline = false;
    while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r' | b'\n') {
        saw_newline |= bytes[j] == b'\n';
        j += 1;
    }
    let next_is_word = j < bytes.len() && is_word_byte(bytes[j]);
    (next_is_word && (j == i + 1 || saw_newline)).then_some(j)
}

/// ASCII alphanumerics and the lead byte of any non-ASCII char (letters with umlauts).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

enum Folded {
    Str(&'static str),
    Keep,
    Separator,
    Drop,
}

fn fold_char(c: char) -> Folded {
    match c {
        'ä' | 'Ä' | 'æ' | 'Æ' => Folded::Str("ae"),
        'ö' | 'Ö' | 'ø' | 'Ø' | 'œ' | 'Œ' => Folded::Str("oe"),
        'ü' | 'Ü' => Folded::Str("ue"),
        'ß' | 'ẞ' => Folded::Str("ss"),
        '\u{0308}' => Folded::Str("e"),
        '\u{0300}'..='\u{036f}' | '\u{00ad}' | '\u{200b}' => Folded::Drop,
        'à' | 'á' | 'â' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Å' => Folded::Str("a"),
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => Folded::Str("e"),
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => Folded::Str("i"),
        'ò' | 'ó' | 'ô' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Õ' => Folded::Str("o"),
        'ù' | 'ú' | 'û' | 'Ù' | 'Ú' | 'Û' => Folded::Str("u"),
        'ç' | 'Ç' => Folded::Str("c"),
        'ñ' | 'Ñ' => Folded::Str("n"),
        'ý' | 'ÿ' | 'Ý' => Folded::Str("y"),
        'š' | 'Š' => Folded::Str("s"),
        'ž' | 'Ž' => Folded::Str("z"),
        'č' | 'Č' => Folded::Str("c"),
        '\u{2010}' | '\u{2011}' => Folded::Drop,
        c if c.is_alphanumeric() => Folded::Keep,
        _ => Folded::Separator,
    }
}

/// [`fold`] with every hyphen separating words: "Breitband-Ausbau" →
/// `breitband ausbau`. For identity keys, where the spelling with and without
/// hyphen must give the same key.
pub fn fold_words(text: &str) -> String {
    let mut buf = Vec::with_capacity(text.len());
    fold_with::<false>(text, &mut buf, &mut NoMap);
    String::from_utf8(buf).expect("folding pushes whole UTF-8 sequences")
}

/// Sort key in German dictionary order (DIN 5007-1: ä as a, ß as ss). Not a
/// fold: case, spaces and punctuation stay, so that the order reads naturally.
pub fn sort_key_de(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars().flat_map(char::to_lowercase) {
        match ch {
            'ä' => out.push('a'),
            'ö' => out.push('o'),
            'ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            other => out.push(other),
        }
    }
    out
}

/// Prefixes that some sources put before a programme title and others do not.
static TITLE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(förderprogramme?|foerderprogramme?|förderaufruf|foerderaufruf|bekanntmachung|förderrichtlinie|foerderrichtlinie|aufruf|call)\s*[:\-–—]\s*")
        .expect("valid prefix regex")
});

/// Key for matching one programme across sources when URLs differ:
/// [`fold_words`] of the title plus of the funder, joined by `|`. Case, umlauts
/// (ä→ae, ß→ss), other accents, punctuation and whitespace do not matter, and a
/// leading "Förderprogramm:" / "Förderprogramme - " / "Bekanntmachung:" is dropped.
/// The store keeps this key in a column and recomputes it when opened, so a
/// change to the folding rules never strands stored calls.
pub fn title_key(title: &str, funder: Option<&str>) -> String {
    let title = TITLE_PREFIX.replace(title, "");
    format!("{}|{}", fold_words(&title), fold_words(funder.unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_umlauts_the_same_for_both_spellings() {
        assert_eq!(fold("Förderung"), "foerderung");
        assert_eq!(fold("FOERDERUNG"), "foerderung");
        assert_eq!(fold("Straße weiße"), "strasse weisse");
        assert_eq!(fold("Übergänge"), "uebergaenge");
        assert_eq!(fold("Fo\u{0308}rderung"), "foerderung");
        assert_eq!(fold("Café"), "cafe");
    }

    #[test]
    fn joins_hyphens_inside_words_and_at_line_breaks() {
        assert_eq!(
            fold("Digitali-\nsierung der Ver-\r\n  waltung"),
            "digitalisierung der verwaltung"
        );
        assert_eq!(fold("Breitband-Ausbau"), "breitbandausbau");
        assert_eq!(fold("Kinder- und Jugendhilfe"), "kinder und jugendhilfe");
        assert_eq!(fold("Tag - Nacht"), "tag nacht");
    }

    #[test]
    fn separates_on_punctuation_and_collapses_space() {
        assert_eq!(fold("  Glasfaser,  Gigabit!\n(5G) "), "glasfaser gigabit 5g");
        assert_eq!(fold("„weiße Flecken“"), "weisse flecken");
    }

    #[test]
    fn map_points_back_to_original_bytes() {
        let text = "Die Förderung";
        let mut out = String::new();
        let mut map = Vec::new();
        fold_into(text, &mut out, Some(&mut map));
        assert_eq!(out.len(), map.len());
        let pos = out.find("foerderung").unwrap();
        assert_eq!(&text[map[pos]..], "Förderung");
    }

    #[test]
    fn title_key_ignores_case_umlauts_punctuation_and_prefixes() {
        let a = title_key(
            "Förderprogramm: Klimaschutz in Kommunen – Städtebau",
            Some("Ministerium für Heimat, Kommunales, Bau und Digitalisierung"),
        );
        let b = title_key(
            "  KLIMASCHUTZ in  Kommunen (Staedtebau) ",
            Some("ministerium fuer heimat kommunales bau und digitalisierung"),
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            "klimaschutz in kommunen staedtebau|ministerium fuer heimat kommunales bau und digitalisierung"
        );
        assert_eq!(title_key("Straße", None), "strasse|");
        assert_eq!(title_key("Förderprogramme - Minitraité", None), "minitraite|");
        assert_ne!(
            title_key("Glasfaser", Some("Bund")),
            title_key("Glasfaser", Some("Land"))
        );
    }

    #[test]
    fn fold_words_separates_at_every_hyphen() {
        assert_eq!(fold_words("Breitband-Ausbau"), "breitband ausbau");
        assert_eq!(title_key("Breitband-Ausbau", None), title_key("Breitband Ausbau", None));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// German-looking text with the characters folding treats specially.
        fn german() -> impl Strategy<Value = String> {
            "[a-zA-ZäöüÄÖÜßéÉæø0-9 ,.;()„“\n\t\u{0308}\u{00ad}\u{2011}–-]{0,60}"
        }

        fn folded_with_map(text: &str) -> (String, Vec<usize>) {
            let mut out = String::new();
            let mut map = Vec::new();
            fold_into(text, &mut out, Some(&mut map));
            (out, map)
        }

        /// The end of the char that starts at `i`.
        fn char_end(text: &str, i: usize) -> usize {
            i + text[i..].chars().next().map_or(0, char::len_utf8)
        }

        fn offsets_are_char_boundaries_in_order(text: &str) {
            let (out, map) = folded_with_map(text);
            assert_eq!(out.len(), map.len(), "{text:?}");
            assert!(
                map.iter().all(|&i| i < text.len() && text.is_char_boundary(i)),
                "{text:?}: {map:?}"
            );
            assert!(map.windows(2).all(|w| w[0] <= w[1]), "{text:?}: {map:?}");
            assert_eq!(out, fold(text));
        }

        proptest! {
            #[test]
            fn every_offset_is_a_char_boundary_and_offsets_never_go_back(text in any::<String>()) {
                offsets_are_char_boundaries_in_order(&text);
            }

            #[test]
            fn german_text_offsets_are_char_boundaries_in_order(text in german()) {
                offsets_are_char_boundaries_in_order(&text);
            }

            #[test]
            fn each_folded_word_maps_back_to_the_original_wording(text in german()) {
                let (out, map) = folded_with_map(&text);
                let mut start = 0;
                for word in out.split(' ') {
                    let end = start + word.len();
                    if !word.is_empty() {
                        let original = &text[map[start]..char_end(&text, map[end - 1])];
                        prop_assert_eq!(fold(original), word, "{:?} → {:?}", text, original);
                    }
                    start = end + 1;
                }
            }

            #[test]
            fn appending_keeps_earlier_output_and_offsets(a in german(), b in german()) {
                let mut out = fold(&a);
                let before = out.clone();
                let mut map = Vec::new();
                fold_into(&b, &mut out, Some(&mut map));
                prop_assert!(out.starts_with(&before));
                prop_assert_eq!(map.len(), out.len() - before.len());
            }
        }
    }
}
