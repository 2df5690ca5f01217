//! Patterns compiled once whose matching caches can be handed back.
//!
//! A `regex::Regex` keeps a matching cache (its lazy DFA's states, up to the size limit)
//! for each thread that used it at the same time, for as long as the regex lives; for a
//! `static` pattern that is the whole process. heaptrack on the cold pass of the shared
//! harness: ~18 MB of the extraction patterns' caches stayed through matching and digest
//! planning, which never use them. A [`Pattern`] hands out a clone of its compiled value
//! (a cloned regex shares the compiled program, not the caches), and [`release_caches`]
//! drops those clones, so the caches go with them; the next use clones afresh.

use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

/// A compiled pattern (a `Regex`, a `RegexSet` or a struct of them) behind a `static`.
pub struct Pattern<T: 'static> {
    build: fn() -> T,
    /// Compiled on first use; never matched with, so its own caches stay empty.
    compiled: OnceLock<T>,
    /// The clone that matching uses, with the caches it grew.
    active: RwLock<Option<Arc<T>>>,
}

/// Every pattern compiled so far.
static COMPILED: Mutex<Vec<&'static dyn Release>> = Mutex::new(Vec::new());

trait Release: Sync {
    fn release(&self);
}

impl<T: Clone + Send + Sync + 'static> Pattern<T> {
    pub const fn new(build: fn() -> T) -> Pattern<T> {
        Pattern {
            build,
            compiled: OnceLock::new(),
            active: RwLock::new(None),
        }
    }

    /// The pattern to match with; compiled on first use.
    pub fn get(&'static self) -> Arc<T> {
        if let Some(active) = &*self.active.read().unwrap_or_else(PoisonError::into_inner) {
            return Arc::clone(active);
        }
        let mut slot = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let active = slot.get_or_insert_with(|| {
            let compiled = self.compiled.get_or_init(|| {
                COMPILED.lock().unwrap_or_else(PoisonError::into_inner).push(self);
                (self.build)()
            });
            Arc::new(compiled.clone())
        });
        Arc::clone(active)
    }
}

impl<T: Send + Sync> Release for Pattern<T> {
    fn release(&self) {
        *self.active.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Drops the matching caches of every pattern (a search still running keeps its own
/// clone until it ends). Called after a pass's collect stage, whose parsers are the
/// patterns' main users.
pub fn release_caches() {
    // Copied out: `Pattern::get` takes a pattern's lock, then this list's.
    let compiled: Vec<&'static dyn Release> = COMPILED.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for pattern in compiled {
        pattern.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    static WORD: Pattern<Regex> = Pattern::new(|| Regex::new(r"\bFrist\b").expect("test regex"));

    #[test]
    fn a_released_pattern_matches_as_before_with_a_fresh_clone() {
        let before = WORD.get();
        assert!(before.is_match("Die Frist endet"));
        assert!(Arc::ptr_eq(&before, &WORD.get()));
        release_caches();
        let after = WORD.get();
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(after.is_match("Die Frist endet") && !after.is_match("Fristen"));
    }
}
