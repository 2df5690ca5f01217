//! Raw serde structs of the config files, as written.
//!
//! Every top-level key of a file and every element of a `[[table]]` list is
//! deserialized on its own (see `load.rs`), so one malformed entry does not
//! hide the mistakes in the others. Values that need checking beyond their
//! TOML type are `Spanned`, so that semantic errors point at their line.
//! Numbers that must not be negative are read as `i64` and checked by the
//! loader, which can then say what to write instead.

use serde::Deserialize;
use toml::Spanned;

pub type Text = Spanned<String>;
pub type Int = Spanned<i64>;
pub type Float = Spanned<f64>;

// ---- foerderradar.toml ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub collect: Text,
    pub notify: Text,
    pub admin_digest: Option<Text>,
    pub jitter_secs: Option<Int>,
    /// `[schedule.groups]`: named collect schedules that sources join with `schedule = "name"`.
    #[serde(default)]
    pub groups: std::collections::BTreeMap<String, Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub host: Text,
    pub port: Option<Int>,
    pub tls: Option<Text>,
    pub user: Option<String>,
    pub password_env: Option<Text>,
    pub timeout_secs: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub user_agent: Option<String>,
    pub timeout_secs: Option<Int>,
    pub max_body_mb: Option<Int>,
    pub min_delay_ms: Option<Int>,
    pub per_host_concurrency: Option<Int>,
    pub retries: Option<Int>,
    pub source_budget_secs: Option<Int>,
    pub host_wait_secs: Option<Int>,
    pub max_items_per_page: Option<Int>,
    pub max_items_per_feed: Option<Int>,
    pub broken_after: Option<Int>,
    pub respect_robots: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub max_attempts: Option<Int>,
    pub retry_base_secs: Option<Int>,
    pub max_retry_age_hours: Option<Int>,
    pub silent_after_days: Option<Int>,
}

/// `[digest]`: size of digests, urgency and reminders.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigest {
    pub first_digest_max: Option<Int>,
    pub max_items: Option<Int>,
    pub urgent_days: Option<Int>,
    pub reminder_days: Option<Vec<Int>>,
}

/// `[web]`: the web server of `foerderradar serve` and the signed links in the mails.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    pub enabled: Option<bool>,
    pub bind: Option<Text>,
    pub public_url: Option<Text>,
    pub link_secret_env: Option<Text>,
    pub admin_token_env: Option<Text>,
    pub link_validity_days: Option<Int>,
    pub labelled_set: Option<Text>,
    pub labelled_day: Option<Text>,
}

/// `[store]`: a PostgreSQL store instead of the SQLite file in the data directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub url: Text,
    pub password_env: Option<Text>,
}

/// `[daemon]`: how the long-running process behaves.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    pub shutdown_grace_secs: Option<Int>,
    pub lease_secs: Option<Int>,
    pub heartbeat_secs: Option<Int>,
}

// ---- sources.toml ----

/// The keys every `[[source]]` shares; the rest of the table belongs to its kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub id: Text,
    pub kind: Text,
    pub url: Text,
    pub label: String,
    pub enabled: Option<bool>,
    pub min_delay_ms: Option<Int>,
    pub budget_secs: Option<Int>,
    /// The name of a `[schedule.groups]` entry in foerderradar.toml.
    pub schedule: Option<Text>,
}

impl RawSource {
    pub const COMMON_KEYS: [&'static str; 8] = [
        "id",
        "kind",
        "url",
        "label",
        "enabled",
        "min_delay_ms",
        "budget_secs",
        "schedule",
    ];
}

// ---- strategy.toml ----

/// `[criteria]`, and `[project.criteria]` (where `home_regions` is refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCriteria {
    pub applicants: Option<Spanned<Vec<Text>>>,
    pub home_regions: Option<Spanned<Vec<String>>>,
    pub elsewhere_regions: Option<Spanned<Vec<Spanned<String>>>>,
    pub min_lead_days: Option<Int>,
    pub min_funding_rate: Option<Float>,
    pub min_amount_eur: Option<Int>,
    pub exclude_funders: Option<Vec<String>>,
    pub prefer_funders: Option<Vec<String>>,
    pub kommune_kinds: Option<Vec<Text>>,
    pub population_min: Option<Int>,
    pub population_max: Option<Int>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub expr: Text,
    pub weight: Option<Float>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHandlungsfeld {
    pub id: Text,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub threshold: Float,
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub id: Text,
    pub name: String,
    pub handlungsfeld: Text,
    #[serde(rename = "type")]
    pub kind: Text,
    pub confirmed: Option<bool>,
    #[serde(default)]
    pub description: String,
    pub threshold: Float,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    pub criteria: Option<Spanned<RawCriteria>>,
}

// ---- kommunen.toml ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub id: Text,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMembership {
    pub region: Text,
    pub partial: Option<String>,
}

/// `interests = { ... }` of a Kommune.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInterests {
    #[serde(default)]
    pub handlungsfelder: Vec<Text>,
    #[serde(default)]
    pub projects: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    pub name: String,
    pub email: Text,
    pub handlungsfelder: Option<Vec<Text>>,
    pub projects: Option<Vec<Text>>,
    pub cadence: Option<Text>,
    pub paused_until: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKommune {
    pub id: Text,
    pub name: String,
    pub kind: Text,
    pub ags: Text,
    pub population: Option<Int>,
    pub mittlere_kreisangehoerige_stadt: Option<Spanned<bool>>,
    #[serde(default)]
    pub memberships: Vec<RawMembership>,
    pub interests: Option<Spanned<RawInterests>>,
    #[serde(default)]
    pub contact: Vec<RawContact>,
}
