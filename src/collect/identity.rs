//! Cross-source identity. PLACEHOLDER bodies; keep the signatures.

/// Canonical form of a call URL: tracking parameters (`utm_*`, `#track=…`, …) and
/// fragments stripped, host lower-cased. Two listings of one page give the same string.
pub fn canonical_url(url: &str) -> String {
    url.to_string()
}

/// Key for matching one programme across sources when URLs differ:
/// normalised title plus normalised funder.
pub fn title_key(title: &str, funder: Option<&str>) -> String {
    format!("{}|{}", title.to_lowercase(), funder.unwrap_or("").to_lowercase())
}
