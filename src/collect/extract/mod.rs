//! German field extraction. PLACEHOLDER signatures: the extract helper replaces
//! every body (and may split this into files); keep the signatures.

use chrono::NaiveDate;

use crate::model::{Applicants, Deadline, FundingRate, Region};

/// Deadlines from free German text, as of `today` (for year-less dates).
pub fn parse_deadline(_text: &str, _today: NaiveDate) -> Deadline {
    Deadline::Unknown
}

/// One German date: `31.03.2026`, `6.7.2023`, `15. Januar 2027`, `1. Febr. 2025`.
pub fn parse_german_date(_text: &str) -> Option<NaiveDate> {
    None
}

/// Funding rate from summary text (not legal fine print).
pub fn parse_funding_rate(_text: &str) -> Option<FundingRate> {
    None
}

/// Maximum amount per project in EUR.
pub fn parse_amount_max(_text: &str) -> Option<u64> {
    None
}

/// Eligible applicants from free text or a label value.
pub fn parse_applicants(_text: &str) -> Applicants {
    Applicants::default()
}

/// Regions named in free text or a label value.
pub fn parse_regions(_text: &str) -> Vec<Region> {
    Vec::new()
}

/// Clean text from an HTML fragment.
pub fn html_to_text(html: &str) -> String {
    html.to_string()
}

/// Decodes a body to UTF-8, whatever the header claims (UTF-8, ISO-8859-1, Windows-1252).
pub fn decode_body(bytes: &[u8], _content_type: Option<&str>) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
