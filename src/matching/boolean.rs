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
