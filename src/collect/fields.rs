//! The fields the German parsers read from a list entry, remembered per entry between
//! passes.
//!
//! A changed feed or list page is read whole, but most of its entries are as they were:
//! the harness's mutated pass changes 80 of 4,000 entries spread over 68 sources, and
//! each such source used to run every field parser over each of its ~20 entries. The
//! parsers are pure functions of the entry's text, the evaluation day (year-less dates,
//! "abgelaufen") and their own code, so their output is kept per source under a key
//! that hashes all three ([`EntryKey`]); an entry whose key was seen last pass takes
//! its fields from the memo instead of running the parsers again. The memo of a source
//! is stored in its own table (`extracted_fields`), read only when the source's feed or
//! a list page changed, and rewritten only when the set of its keys changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::source::Signature;
use crate::model::{Applicants, Call, Deadline, FundingRate, Region};
pub use crate::store::FieldsToStore;

/// What the field parsers read from one entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub deadline: Deadline,
    pub applicants: Applicants,
    pub regions: Vec<Region>,
    pub funding_rate: Option<FundingRate>,
    pub amount_max_eur: Option<u64>,
}

impl Extracted {
    /// Puts the fields into `call` (before it is sealed).
    pub fn apply(self, call: &mut Call) {
        call.deadline = self.deadline;
        call.applicants = self.applicants;
        call.regions = self.regions;
        call.funding_rate = self.funding_rate;
        call.amount_max_eur = self.amount_max_eur;
    }
}

/// The code the memo's entries depend on: the parsers and the collectors that choose
/// their input. Any edit to them (a new release, a fix) gives new keys, so a memo is
/// never read with parsers other than those that wrote it.
const PARSER_CODE: &[&str] = &[
    env!("CARGO_PKG_VERSION"),
    include_str!("extract/amounts.rs"),
    include_str!("extract/applicants.rs"),
    include_str!("extract/bounded.rs"),
    include_str!("extract/dates.rs"),
    include_str!("extract/deadline.rs"),
    include_str!("extract/rates.rs"),
    include_str!("extract/regions.rs"),
    include_str!("extract/text.rs"),
    include_str!("html.rs"),
    include_str!("rss.rs"),
    include_str!("fields.rs"),
    include_str!("../model/mod.rs"),
];

/// Hashed once, on the first changed source of a pass.
static PARSER_VERSION: LazyLock<Signature> = LazyLock::new(|| Signature::of(&PARSER_CODE.concat()));

/// Key of one entry's fields: its parser inputs, the evaluation day and the parsers' code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey(String);

impl EntryKey {
    /// `inputs` are everything the parsers read of the entry (and the options that
    /// decide which parsers run), in a fixed order.
    pub fn of(today: NaiveDate, inputs: &[&str]) -> EntryKey {
        let mut text = format!("{}\0{today}", *PARSER_VERSION);
        for input in inputs {
            text.push('\0');
            text.push_str(input);
        }
        EntryKey(Signature::of(&text).to_string())
    }
}

/// One source's memo: the entries of its last pass as stored (loaded lazily, see
/// [`super::Prior::fields`]) and those of this pass.
#[derive(Debug, Default)]
pub struct FieldMemo {
    earlier: HashMap<String, String>,
    current: BTreeMap<String, Extracted>,
}

impl FieldMemo {
    /// A memo over the stored entries (entry key → fields as JSON).
    pub fn from_stored(earlier: HashMap<String, String>) -> FieldMemo {
        FieldMemo {
            earlier,
            current: BTreeMap::new(),
        }
    }

    /// The fields of the entry with `key`: remembered, else `extract`ed. An entry that
    /// does not load (written by an incompatible version) is extracted again.
    pub fn fields(&mut self, key: EntryKey, extract: impl FnOnce() -> Extracted) -> Extracted {
        let fields = self
            .earlier
            .get(&key.0)
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_else(extract);
        self.current.insert(key.0, fields.clone());
        fields
    }

    /// What to write of this pass's entries: the new ones, added (a key names its
    /// fields, so a stored entry is never wrong, only perhaps unused); all of them, replacing
    /// the stored ones, once the unused entries outnumber the used ones, which bounds the
    /// memo at twice a source's entries. `None` when nothing is to be written.
    pub fn to_store(&self) -> Option<FieldsToStore> {
        let unused = self.earlier.keys().filter(|k| !self.current.contains_key(*k)).count();
        let replace = unused > self.current.len();
        let entries: BTreeMap<String, String> = self
            .current
            .iter()
            .filter(|(key, _)| replace || !self.earlier.contains_key(*key))
            .map(|(key, fields)| (key.clone(), serde_json::to_string(fields).expect("fields serialise")))
            .collect();
        (replace || !entries.is_empty()).then_some(FieldsToStore { entries, replace })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn fields(rate: f64) -> Extracted {
        Extracted {
            deadline: Deadline::Unknown,
            applicants: Applicants::default(),
            regions: vec![Region::Bundesweit],
            funding_rate: Some(FundingRate { min: None, max: rate }),
            amount_max_eur: Some(1_000),
        }
    }

    #[test]
    fn key_depends_on_every_input_its_order_and_the_day() {
        let key = EntryKey::of(day(26), &["Titel", "Text"]);
        assert_eq!(key, EntryKey::of(day(26), &["Titel", "Text"]));
        assert_ne!(key, EntryKey::of(day(27), &["Titel", "Text"]));
        assert_ne!(key, EntryKey::of(day(26), &["Text", "Titel"]));
        assert_ne!(key, EntryKey::of(day(26), &["TitelText"]));
        assert_ne!(key, EntryKey::of(day(26), &["Titel", "Text", ""]));
    }

    #[test]
    fn remembered_fields_are_used_and_only_new_entries_are_written() {
        let key = |name: &str| EntryKey::of(day(26), &[name]);
        let mut first = FieldMemo::default();
        assert_eq!(first.fields(key("a"), || fields(50.0)), fields(50.0));
        let written = first.to_store().expect("new entries are stored");
        assert!(!written.replace, "nothing stored before: nothing to replace");
        let mut stored: HashMap<String, String> = written.entries.into_iter().collect();

        let mut second = FieldMemo::from_stored(stored.clone());
        let again = second.fields(key("a"), || panic!("a remembered entry is not extracted"));
        assert_eq!(again, fields(50.0));
        assert_eq!(second.to_store(), None, "the same entries are not written again");

        // "a" changed into "b": only "b" is added, the unused "a" may stay.
        let mut third = FieldMemo::from_stored(stored.clone());
        third.fields(key("b"), || fields(80.0));
        let written = third.to_store().expect("a new entry is written");
        assert!(!written.replace);
        assert_eq!(written.entries.keys().collect::<Vec<_>>(), [&key("b").0]);
        stored.extend(written.entries);

        // "b" changed into "c": "a" and "b" unused, more than the one used: replaced.
        let mut fourth = FieldMemo::from_stored(stored);
        fourth.fields(key("c"), || fields(90.0));
        let written = fourth.to_store().expect("a new entry is written");
        assert!(written.replace, "unused entries never outnumber the used ones for long");
        assert_eq!(written.entries.keys().collect::<Vec<_>>(), [&key("c").0]);
    }

    #[test]
    fn an_entry_that_does_not_load_is_extracted_again() {
        let key = EntryKey::of(day(26), &["a"]);
        let mut memo = FieldMemo::from_stored(HashMap::from([(key.0.clone(), "{\"deadline\":1}".to_string())]));
        assert_eq!(memo.fields(key, || fields(60.0)), fields(60.0));
    }
}
