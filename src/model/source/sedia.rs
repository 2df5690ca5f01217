//! `[[source]] kind = "eu-sedia"` settings and the portal's programme codes.

use std::fmt;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::bounded;

/// The portal's programme names and their `frameworkProgramme` codes (§2.2 of
/// the source notes). Numeric codes are accepted as they are.
const PROGRAMMES: &[(&str, &str, &str)] = &[
    ("HORIZON", "43108390", "Horizon Europe"),
    ("DIGITAL", "43152860", "Digital Europe"),
    ("LIFE", "43252405", "LIFE"),
    ("CEF", "43251567", "Connecting Europe Facility"),
    ("ERASMUS+", "43353764", "Erasmus+"),
    ("CREA", "43251814", "Creative Europe"),
    ("CERV", "43251589", "CERV (Bürger, Gleichstellung, Rechte und Werte)"),
    ("EU4H", "43332642", "EU4Health"),
    ("ESF+", "43254019", "ESF+"),
    ("INNOVFUND", "43089234", "Innovation Fund"),
    ("I3", "44416173", "Interregionale Innovationsinvestitionen (I3)"),
    ("SMP", "43252476", "Binnenmarktprogramm (SMP)"),
    ("EDF", "44181033", "Europäischer Verteidigungsfonds"),
    ("H2020", "31045243", "Horizon 2020"),
];

/// German label of a `frameworkProgramme` code (the code itself when unknown).
pub fn programme_label(code: &str) -> &str {
    PROGRAMMES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map_or(code, |(_, _, label)| label)
}

fn programme_code(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_ascii_uppercase();
    let wanted = match wanted.as_str() {
        "ERASMUS" => "ERASMUS+",
        "ESF" => "ESF+",
        "CREATIVE-EUROPE" => "CREA",
        other => other,
    };
    PROGRAMMES
        .iter()
        .find(|(n, _, _)| *n == wanted)
        .map(|(_, code, _)| *code)
}

/// `[[source]] kind = "eu-sedia"` keys.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SediaOptions {
    /// Programme names (`LIFE`, `CERV`, `I3`, `DIGITAL`, `ERASMUS+`, `HORIZON`, …)
    /// or numeric `frameworkProgramme` codes; stored as codes. Empty: all programmes.
    #[serde(default, deserialize_with = "programme_codes")]
    pub programmes: Vec<String>,
    /// The API key in the URL; `SEDIA` is the portal's public key.
    #[serde(default = "default_api_key")]
    pub api_key: String,
    /// Topics per request; the API caps it at 100.
    #[serde(default = "default_page_size", deserialize_with = "bounded::<_, 1, 100>")]
    pub page_size: u32,
    /// Requests per pass at most; 1 to [`MAX_PAGES`].
    #[serde(default = "default_max_pages", deserialize_with = "bounded::<_, 1, MAX_PAGES>")]
    pub max_pages: u32,
    /// Result languages in order of preference; one record per topic is kept.
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// Query text (the API's `text`); default `***` (everything the filters let through).
    #[serde(default)]
    pub text: Option<String>,
    /// Base of the portal pages the calls link to.
    #[serde(default = "default_portal_base", deserialize_with = "base_url")]
    pub portal_base: Url,
}

impl Default for SediaOptions {
    fn default() -> Self {
        SediaOptions {
            programmes: Vec::new(),
            api_key: default_api_key(),
            page_size: default_page_size(),
            max_pages: default_max_pages(),
            languages: default_languages(),
            text: None,
            portal_base: default_portal_base(),
        }
    }
}

impl fmt::Debug for SediaOptions {
    // A key other than the public `SEDIA` one is a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.api_key == "SEDIA" { "SEDIA" } else { "<redacted>" };
        f.debug_struct("SediaOptions")
            .field("programmes", &self.programmes)
            .field("api_key", &key)
            .field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .field("languages", &self.languages)
            .field("text", &self.text)
            .field("portal_base", &self.portal_base.as_str())
            .finish()
    }
}

fn default_api_key() -> String {
    "SEDIA".into()
}

fn default_page_size() -> u32 {
    100
}

/// Upper bound of `max_pages`: 100,000 topics.
pub const MAX_PAGES: u32 = 1000;

fn default_max_pages() -> u32 {
    20
}

fn default_languages() -> Vec<String> {
    vec!["de".into(), "en".into()]
}

fn default_portal_base() -> Url {
    Url::parse("https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/")
        .expect("valid default portal URL")
}

fn programme_codes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|name| {
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
                return Ok(name.clone());
            }
            programme_code(name).map(str::to_string).ok_or_else(|| {
                let known: Vec<&str> = PROGRAMMES.iter().map(|(n, _, _)| *n).collect();
                serde::de::Error::custom(format!(
                    "unknown programme '{name}' (known: {}; or a numeric frameworkProgramme code)",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

fn base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let raw = String::deserialize(d)?;
    let with_slash = if raw.ends_with('/') {
        raw.clone()
    } else {
        format!("{raw}/")
    };
    Url::parse(&with_slash).map_err(|e| serde::de::Error::custom(format!("invalid portal_base '{raw}': {e}")))
}
