//! Rule expressions as plain boolean queries over title, summary and text:
//! a rule matches when its expression holds. No weights, thresholds,
//! criteria or Kommunen; the same index and automaton as [`super::Matcher`].
//!
//! This is how the matcher runs on a neutral corpus beside search engines
//! (`examples/peer_corpus.rs`), with [`Normalization::EXACT`] for a
//! like-for-like comparison.

use crate::rules::{self, Normalization, RuleSyntaxError};

use super::index::{self, Doc, Index, RuleRef};

/// A rule expression that does not parse, with its position in the list.
#[derive(Debug, thiserror::Error)]
#[error("rule {index} ('{expr}'): {error}")]
pub struct ExprError {
    /// From 0, in the order given to [`BooleanMatcher::new`].
    pub index: usize,
    pub expr: String,
    pub error: RuleSyntaxError,
}

/// Compiled boolean rules; see the module docs.
pub struct BooleanMatcher {
    index: Index,
}

impl BooleanMatcher {
    /// Parses every expression with `norm` and compiles them into one index.
    pub fn new(exprs: &[impl AsRef<str>], norm: Normalization) -> Result<BooleanMatcher, ExprError> {
        let parsed = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                rules::parse_with(e.as_ref(), norm).map_err(|error| ExprError {
                    index: i,
                    expr: e.as_ref().to_string(),
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<RuleRef> = exprs
            .iter()
            .zip(&parsed)
            .map(|(e, rule)| RuleRef {
                expr: e.as_ref(),
                weight: 1.0,
                rule,
            })
            .collect();
        Ok(BooleanMatcher {
            index: Index::compile(&[refs], norm),
        })
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.index.profiles[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct needles in the automaton.
    pub fn needles(&self) -> usize {
        self.index.needle_count()
    }

    /// Indexes (ascending, in the order given to [`BooleanMatcher::new`]) of
    /// the rules that hold on these fields. Only rules with a found positive
    /// term are evaluated.
    pub fn matching(&self, title: &str, summary: &str, text: &str) -> Vec<u32> {
        let doc = Doc::from_fields(title, summary, text, self.index.norm);
        let hits = self.index.search(&doc);
        let leaves = self.index.leaf_truths(&hits);
        let rules = &self.index.profiles[0];
        self.index
            .candidates(&hits)
            .into_iter()
            .map(|(_, r)| r)
            .filter(|&r| index::holds(&self.index, &rules[r as usize], &hits, &leaves))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(exprs: &[&str], norm: Normalization, title: &str, summary: &str, text: &str) -> Vec<u32> {
        BooleanMatcher::new(exprs, norm)
            .expect("test rules parse")
            .matching(title, summary, text)
    }

    fn exact(expr: &str, text: &str) -> bool {
        !matched(&[expr], Normalization::EXACT, "", "", text).is_empty()
    }

    #[test]
    fn exact_words_prefixes_and_compound_parts() {
        assert!(exact("=rad", "Das Rad dreht sich"));
        assert!(!exact("=rad", "Grad und Radar, des Rades"));
        assert!(exact("radweg", "Fahrradwegenetz"));
        assert!(!exact("radweg*", "Fahrradwegenetz"));
        assert!(exact("radweg*", "Radwegenetz"));
        assert!(!exact("=schule", "Schulen"), "no stemming");
        assert!(!exact("förderung", "Foerderung"), "no folding");
        assert!(exact("=mobilität", "E-Mobilität"), "a hyphen separates words");
        assert!(!exact("glasfaserausbau", "Glasfaser-Ausbau"));
    }

    #[test]
    fn exact_phrases_need_consecutive_whole_words_in_one_field() {
        assert!(exact("=\"weiße flecken\"", "weiße\nFlecken; über Zeilen"));
        assert!(exact("=\"weiße flecken\"", "Weiße, Flecken"));
        assert!(!exact("=\"weiße flecken\"", "weißer Flecken"));
        assert!(!exact("=\"weiße flecken\"", "weiße Fleckenteppiche"));
        assert!(!exact("=\"weiße flecken\"", "altweiße Flecken"));
        let m = matched(&["=\"weiße flecken\""], Normalization::EXACT, "weiße", "Flecken", "");
        assert!(m.is_empty(), "across fields");
    }

    #[test]
    fn scopes_and_boolean_operators() {
        let rules = [
            "title:glasfaser",
            "(summary:=kommunen OR title:=kommunen) AND NOT =kmu",
            "glasfaser AND =kommunen",
            "(breitband OR glasfaser) AND NOT (=kmu OR hochschul*)",
        ];
        let m = |t: &str, s: &str, x: &str| matched(&rules, Normalization::EXACT, t, s, x);
        assert_eq!(m("Glasfaserausbau", "für Kommunen", ""), vec![0, 1, 2, 3]);
        assert_eq!(m("Ausbau", "Glasfaser für Kommunen", "KMU"), vec![2]);
        assert_eq!(m("Ausbau", "", "Glasfaser an Hochschulen"), Vec::<u32>::new());
    }

    #[test]
    fn with_the_default_normalization_truth_is_the_scoring_truth() {
        let rules = [
            "Glasfaser",
            "=Rad",
            "\"weiße Flecken\"",
            "=\"weiße Flecken\"",
            "digital* AND NOT Unternehmen",
            "title:Schulen OR text:Kommune",
            "Glasfaser NEAR/3 Schule",
        ];
        let texts = [
            ("Glasfaser für jede Schule", "Erschließung weißer Flecken", "Radar"),
            ("Digitalisierung", "der Rades", "für Unternehmen"),
            ("Schule", "", "Kommunen und Digitalisierung"),
        ];
        let matcher = BooleanMatcher::new(&rules, Normalization::default()).unwrap();
        for (title, summary, text) in texts {
            let doc = Doc::from_fields(title, summary, text, Normalization::default());
            let hits = matcher.index.search(&doc);
            let scored: Vec<u32> = (0..rules.len() as u32)
                .filter(|&r| {
                    index::evaluate(&matcher.index, &matcher.index.profiles[0][r as usize], &hits, false).fired
                })
                .collect();
            assert_eq!(
                matcher.matching(title, summary, text),
                scored,
                "{title} / {summary} / {text}"
            );
        }
    }

    #[test]
    fn whole_word_phrases_with_folding_and_stemming() {
        let folded = |text: &str| !matched(&["=\"weiße Flecken\""], Normalization::default(), "", "", text).is_empty();
        assert!(folded("Erschließung weißen Flecken"));
        assert!(folded("WEISSE FLECKEN"));
        assert!(!folded("altweiße Flecken"));
        assert!(!folded("weiße Fleckenteppiche"));
    }

    #[test]
    fn a_bad_rule_is_named_by_its_position() {
        let e = BooleanMatcher::new(&["Glasfaser", "(Gigabit"], Normalization::EXACT)
            .err()
            .unwrap();
        assert_eq!(e.index, 1);
        assert!(
            e.to_string().starts_with("rule 1 ('(Gigabit'): column 9: missing ')'"),
            "{e}"
        );
    }
}
