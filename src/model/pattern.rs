//! Patterns compiled on first use whose matching caches, and whole programs, can be
//! handed back.
//!
//! A `regex::Regex` keeps a matching cache (its lazy DFA's states, up to the size limit)
//! for each thread that used it at the same time, for as long as the regex lives; for a
//! `static` pattern that is the whole process. heaptrack on the cold pass of the shared
//! harness: ~18 MB of the extraction patterns' caches stayed through matching and digest
//! planning, which never use them. A [`Pattern`] hands out a clone of its compiled value
//! (a cloned regex shares the compiled program, not the caches); dropping the clone drops
//! the caches with it.
//!
//! The compiled programs themselves (the NFAs and prefilters of ~100 extraction regexes)
//! held another ~4 MB through the rest of the pass, at its peak in digest planning, and in
//! the daemon between jobs. [`release_compiled`] drops the clones and the programs once a
//! stage that used them is over; the next use compiles again (~35 ms of CPU for all of
//! them, once per collect job).

use std::sync::{Arc, Mutex, Once, PoisonError, RwLock};

/// A compiled pattern (a `Regex`, a `RegexSet` or a struct of them) behind a `static`.
pub struct Pattern<T: 'static> {
    build: fn() -> T,
    /// Compiled on first use; never matched with, so its own caches stay empty.
    compiled: Mutex<Option<T>>,
    /// The clone that matching uses, with the caches it grew.
    active: RwLock<Option<Arc<T>>>,
    /// Entered into [`COMPILED`] once, however often it is compiled.
    listed: Once,
}

/// Every pattern compiled so far.
static COMPILED: Mutex<Vec<&'static dyn Release>> = Mutex::new(Vec::new());

trait Release: Sync {
    /// Drops the clone in use, with its caches, and the compiled program.
    fn forget(&self);
}

impl<T: Clone + Send + Sync + 'static> Pattern<T> {
    pub const fn new(build: fn() -> T) -> Pattern<T> {
        Pattern {
            build,
            compiled: Mutex::new(None),
            active: RwLock::new(None),
            listed: Once::new(),
        }
    }

    /// The pattern to match with; compiled on first use (and after [`release_compiled`]).
    pub fn get(&'static self) -> Arc<T> {
        if let Some(active) = &*self.active.read().unwrap_or_else(PoisonError::into_inner) {
            return Arc::clone(active);
        }
        // Lock order: `active`, then `compiled`, then `COMPILED` (as in `forget`).
        let mut slot = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let active = slot.get_or_insert_with(|| {
            let mut compiled = self.compiled.lock().unwrap_or_else(PoisonError::into_inner);
            let program = compiled.get_or_insert_with(|| {
                self.listed
                    .call_once(|| COMPILED.lock().unwrap_or_else(PoisonError::into_inner).push(self));
                (self.build)()
            });
            Arc::new(program.clone())
        });
        Arc::clone(active)
    }
}

impl<T: Send + Sync> Release for Pattern<T> {
    fn forget(&self) {
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        *active = None;
        *self.compiled.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The patterns compiled so far, copied out: [`Pattern::get`] takes a pattern's locks,
/// then this list's.
fn compiled() -> Vec<&'static dyn Release> {
    COMPILED.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Drops every pattern's caches and compiled program; the next use compiles it again.
/// Called after a pass's collect stage, whose parsers are the patterns' main users, and
/// by the daemon between jobs.
pub fn release_compiled() {
    for pattern in compiled() {
        pattern.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    static DATE: Pattern<Regex> = Pattern::new(|| Regex::new(r"\b\d{2}\.\d{2}\.\d{4}\b").expect("test regex"));

    #[test]
    fn a_forgotten_pattern_is_compiled_again_and_listed_once() {
        let before = DATE.get();
        assert!(before.is_match("bis 31.03.2027"));
        let listed = || {
            compiled()
                .iter()
                .filter(|p| std::ptr::addr_eq(**p, &DATE as &dyn Release))
                .count()
        };
        assert_eq!(listed(), 1);
        // `forget` is what `release_compiled` does to each pattern; called on this one alone,
        // since the tests of other patterns run beside it. (Nothing here assumes that no
        // other test forgets every pattern in the meantime.)
        DATE.forget();
        assert!(DATE.compiled.lock().unwrap().is_none(), "the program is dropped");
        let after = DATE.get();
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(after.is_match("am 01.12.2026") && !after.is_match("1.12.26"));
        assert_eq!(listed(), 1, "compiled again, listed once");
    }
}
