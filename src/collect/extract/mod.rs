//! German field extraction: the small parsers every collector runs over the
//! text of a call.
//!
//! | Function | Accepts | Never does |
//! |---|---|---|
//! | [`parse_german_date`] | `31.03.2026`, `6.7.2023`, `15. Januar 2027`, `1. Febr. 2025`, `Sept.`/`Nov.`/`Dez.`, `März`/`Maerz`, NBSP, ISO `2026-03-31` | invent a year for `23.10.` |
//! | [`parse_date_iso_or_german`] | additionally RFC 3339 / EU `…T00:00:00.000+0000` and RFC 2822 | |
//! | [`parse_deadline`] | deadline sentences, lists under "Fristen", windows, times, stages, year-less annual dates, expired wording, rolling wording | take a date outside a deadline context |
//! | [`parse_deadline_field`] | the value of a "Frist" label or deadline selector | |
//!
//! All parsers are pure, allocation-light and compile their patterns once.

mod amounts;
mod applicants;
mod dates;
mod deadline;
mod rates;
mod text;

pub use amounts::parse_amount_max;
pub use applicants::parse_applicants;
pub use dates::{parse_date_iso_or_german, parse_german_date};
pub use deadline::{parse_deadline, parse_deadline_field};
pub use rates::parse_funding_rate;
pub use text::{collapse_spaces, decode_body, element_text, html_to_text};

use crate::model::Region;

/// Regions named in free text or a label value.
pub fn parse_regions(_text: &str) -> Vec<Region> {
    Vec::new()
}
