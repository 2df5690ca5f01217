//! German field extraction: the small parsers every collector runs over the
//! text of a call.
//!
//! | Function | Accepts | Never does |
//! |---|---|---|
//! | [`parse_german_date`] | `31.03.2026`, `6.7.2023`, `15. Januar 2027`, `1. Febr. 2025`, `Sept.`/`Nov.`/`Dez.`, `März`/`Maerz`, NBSP, ISO `2026-03-31` | invent a year for `23.10.` |
//! | [`parse_date_iso_or_german`] | additionally RFC 3339 / EU `…T00:00:00.000+0000` and RFC 2822 | |
//! | [`parse_deadline`] | deadline sentences, lists under "Fristen", windows, times, stages, year-less annual dates, expired wording, rolling wording | take a date outside a deadline context |
//! | [`parse_deadline_field`] | the value of a "Frist" label or deadline selector (every date counts) | take a window's start |
//! | [`parse_funding_rate`] | `bis zu 90 %`, `90 Prozent`, `max. 90%`, `65 - 90 %`, `zwischen 40 % und 80 %` in funding sentences or short label values | read votes, AGVO intensities, emissions, Eigenanteil, Beteiligung, "mindestens"; accept > 100 |
//! | [`parse_amount_max`] | `bis zu EUR 140.000`, `500.000 Euro`, `2,5 Mio. EUR`, `1,5 Millionen Euro`, `EUR 100 Millionen`, `Mrd.` | take minimums or programme budgets |
//! | [`parse_applicants`] | German wordings and FDB codes → [`ApplicantCategory`](crate::model::ApplicantCategory), negation | read applicants from a long text that never says who may apply |
//! | [`parse_regions`] | bundesweit / EU-weit / the 16 Länder (names, FDB codes, NRW) / named sub-regions | report "Sachsen" inside "Sachsen-Anhalt" |
//! | [`html_to_text`] | HTML fragments and documents (scraper/html5ever), any nesting depth (walked without recursion; parsing stops at [`MAX_NESTING_DEPTH`]) | keep scripts, styles, the head |
//! | [`decode_body`] | BOM, header charset, XML `encoding`, `<meta charset>`; guesses UTF-8 or Windows-1252 only when nothing is declared | hide bytes that do not fit the declared charset (U+FFFD and a warning) |
//!
//! Every parser returns "nothing" (`None`, empty, [`Deadline::Unknown`](crate::model::Deadline::Unknown))
//! rather than a guess. All are pure functions; their patterns are compiled once
//! ([`Pattern`](crate::model::pattern::Pattern): their matching caches go back after a collect stage).
//! Patterns with word boundaries run through [`bounded`]: a copy without `\b` rules out
//! most text on the fast engine before the exact pattern runs.

mod amounts;
mod applicants;
mod bounded;
mod dates;
mod deadline;
mod rates;
mod regions;
mod text;

pub use amounts::parse_amount_max;
pub use applicants::parse_applicants;
pub use dates::{parse_date_iso_or_german, parse_german_date};
pub use deadline::{parse_deadline, parse_deadline_field};
pub use rates::parse_funding_rate;
pub use regions::parse_regions;
pub use text::{
    Decoded, MAX_NESTING_DEPTH, MarkupError, ParseGuard, collapse_spaces, decode_body, element_text, html_to_text,
    is_bare_heading, lead_paragraph, parse_html, parse_page, try_html_to_text,
};
