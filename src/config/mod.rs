//! Typed, validated configuration.
//!
//! The four TOML files in the config directory (`foerderradar.toml`,
//! `sources.toml`, `strategy.toml`, `kommunen.toml`) are read into raw serde
//! structs (`raw.rs`) and then turned into the validated types below, the way
//! ripgrep turns low-level args into high-level ones: every cron expression is
//! compiled, every address parsed and every cross-reference resolved here, so a
//! bad config fails at start-up and never at 07:00.
//!
//! Errors carry file, key and line ([`ConfigError`]); loading collects all of
//! them instead of stopping at the first.

mod error;
mod fields;
mod kommunen;
mod load;
#[cfg(test)]
mod ranges_tests;
mod raw;
mod report;
mod schedule;
mod service;
mod sources;
mod strategy;
pub mod templates;

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use error::{ConfigError, ConfigErrors};
pub use report::ConfigSummary;

use crate::model::source::SourceKind;
use crate::model::{ApplicantCategory, string_enum};
use crate::rules::{self, Expr, RuleSyntaxError};

/// The whole validated deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory the files were read from.
    pub dir: PathBuf,
    pub service: ServiceConfig,
    pub sources: Vec<SourceConfig>,
    pub strategy: Strategy,
    pub kommunen: Vec<Kommune>,
    /// Named regions with members (LEADER regions), from `kommunen.toml`.
    pub member_regions: Vec<MemberRegion>,
}

/// `foerderradar.toml`.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Data directory from the file; the CLI's `--data` wins over it.
    pub data_dir: Option<PathBuf>,
    pub timezone: chrono_tz::Tz,
    pub schedules: Schedules,
    pub smtp: Option<SmtpConfig>,
    /// From: address of every digest.
    pub sender: String,
    /// Receives notices about broken sources and given-up mails; Reply-To of every digest.
    pub admin: String,
    pub http: HttpSettings,
    pub notify: NotifySettings,
    pub digest: DigestSettings,
    /// How long the daemon waits for a running job after SIGTERM/SIGINT (`[daemon]`).
    pub shutdown_grace: Duration,
    /// How long a daemon's claim on a job slot or an outbox mail lasts without renewal
    /// (`[daemon] lease_secs`); after that another instance may take it over.
    pub lease: Duration,
    /// How often a daemon records that it is alive (`[daemon] heartbeat_secs`).
    pub heartbeat: Duration,
    /// `[web]`: the web server and the signed links in the mails.
    pub web: WebSettings,
    /// `[store]`: PostgreSQL; `None` keeps the SQLite file in the data directory.
    pub store: Option<StoreSettings>,
}

/// `[store]`: where a PostgreSQL store lives. The URL carries no password (refused by
/// the loader); the password comes from the variable `password_env` names.
#[derive(Clone)]
pub struct StoreSettings {
    /// `postgres://user@host:port/database`.
    pub url: url::Url,
    /// Name of the environment variable that holds the password.
    pub password_env: Option<String>,
}

impl StoreSettings {
    /// Reads the password from the configured environment variable.
    pub fn password(&self) -> Option<String> {
        self.password_env.as_ref().and_then(|v| std::env::var(v).ok())
    }
}

impl fmt::Debug for StoreSettings {
    // The password never appears, not even the variable's value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.url.as_str())
            .field("password_env", &self.password_env)
            .field("password", &self.password().map(|_| "<redacted>"))
            .finish()
    }
}

/// `[web]`: where `foerderradar serve` listens, the address written into mail links and
/// the names of the environment variables that hold its secrets (never the secrets).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// `foerderradar run` hosts the web server in the daemon's process too.
    pub enabled: bool,
    pub bind: std::net::SocketAddr,
    /// The address the server is reached at from outside (behind a reverse proxy);
    /// without it no mail carries a link.
    pub public_url: Option<url::Url>,
    /// Name of the environment variable holding the key that signs the contact links.
    pub link_secret_env: Option<String>,
    /// Name of the environment variable holding the admin's bearer token.
    pub admin_token_env: Option<String>,
    /// How long a signed link in a mail stays valid.
    pub link_validity: Duration,
    /// A labelled set (file or directory, as `eval` reads it) the rules preview
    /// scores before and after an edit; relative paths start at the config directory.
    pub labelled_set: Option<PathBuf>,
    /// The evaluation day of that set (its deadlines are relative to it); today when unset.
    pub labelled_day: Option<chrono::NaiveDate>,
}

impl WebSettings {
    /// The bearer token of the admin routes, from its environment variable; `None` when
    /// not configured or empty (then only loopback reaches what the token guards).
    pub fn admin_token(&self) -> Option<String> {
        self.admin_token_env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|t| !t.is_empty())
    }
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            link_secret_env: None,
            admin_token_env: None,
            link_validity: Duration::from_secs(180 * 86_400),
            labelled_set: None,
            labelled_day: None,
        }
    }
}

/// Cron schedules of the daemon. 5-field crontab lines are accepted and get a
/// leading `0 ` seconds field, because the `cron` crate wants seconds first.
#[derive(Debug, Clone)]
pub struct Schedules {
    /// Collects the sources that name no group of their own, then matches.
    pub collect: CronSchedule,
    pub notify: CronSchedule,
    /// The weekly report to the admin (`admin_digest`, default Mondays 07:00).
    pub admin_digest: CronSchedule,
    /// Named collect schedules (`[schedule.groups]`); a source joins one with
    /// `schedule = "<name>"` in sources.toml. Ordered by name.
    pub groups: Vec<ScheduleGroup>,
    /// Each cron job starts up to this much after its slot (`jitter_secs`, default 0),
    /// so that many installations on the same schedule do not hit the sources at once.
    pub jitter: Duration,
}

/// A named collect schedule and the sources that follow it.
#[derive(Debug, Clone)]
pub struct ScheduleGroup {
    pub name: String,
    pub cron: CronSchedule,
    /// Ids of the sources with `schedule = "<name>"`, in sources.toml order.
    pub sources: Vec<String>,
}

impl Schedules {
    /// The group a source follows; `None` for the `collect` schedule.
    pub fn group_of(&self, source: &str) -> Option<&ScheduleGroup> {
        self.groups.iter().find(|g| g.sources.iter().any(|s| s == source))
    }
}

#[derive(Clone)]
pub struct CronSchedule {
    /// As written in the config.
    pub expr: String,
    pub schedule: cron::Schedule,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expr)
    }
}

string_enum! {
    /// Transport security of the SMTP connection (`[smtp] tls`).
    pub enum SmtpTls ("TLS mode") {
        None = "none",
        Starttls = "starttls",
        Tls = "tls",
    }
}

/// `[smtp]`; absent means e-mails go to `<data>/outbox/` as `.eml` files.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    /// Name of the environment variable that holds the password.
    pub password_env: Option<String>,
    pub timeout: Duration,
}

impl SmtpConfig {
    /// Reads the password from the configured environment variable.
    pub fn password(&self) -> Option<String> {
        self.password_env.as_ref().and_then(|v| std::env::var(v).ok())
    }
}

impl fmt::Debug for SmtpConfig {
    // The password never appears, not even the variable's value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password_env", &self.password_env)
            .field("password", &self.password().map(|_| "<redacted>"))
            .finish()
    }
}

/// Shared HTTP client and politeness settings (`[http]`).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    /// Minimum delay between two requests to one host, unless a source overrides it.
    pub min_delay: Duration,
    /// Requests in flight per host.
    pub per_host_concurrency: usize,
    pub retries: u32,
    /// Time budget of one source in one pass, from its first request (fetching and parsing).
    pub source_budget: Duration,
    /// Longest a source waits for its first request slot behind the other sources of its host.
    pub host_wait: Duration,
    /// Items read from one list or result page at most (the rest is dropped with a warning).
    pub max_items_per_page: usize,
    /// Entries read from one RSS/Atom feed at most (the rest is dropped with a warning).
    pub max_items_per_feed: usize,
    /// Consecutive failures after which a source is flagged broken.
    pub broken_after: u32,
    pub respect_robots: bool,
}

/// `[notify]`: digest and outbox behaviour.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Attempts before an outbox mail is given up and reported to the admin.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
    /// A mail still failing this long after it was queued is given up (`max_retry_age_hours`).
    pub max_retry_age: Duration,
    /// The admin digest names an enabled source that brought no call for this many days.
    pub silent_after_days: u32,
}

/// `[digest]`: what a digest holds and when reminders go out.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSettings {
    /// Calls in a contact's first digest (the overview) at most.
    pub first_digest_max: usize,
    /// Items in one digest at most; the rest is counted and attached.
    pub max_items: usize,
    /// A new or changed call closing within this many days goes out whatever the cadence.
    pub urgent_days: i64,
    /// Days before a deadline a reminder goes out, largest first.
    pub reminder_days: Vec<i64>,
}

impl Default for DigestSettings {
    fn default() -> DigestSettings {
        DigestSettings {
            first_digest_max: 10,
            max_items: 15,
            urgent_days: 14,
            reminder_days: vec![28, 7],
        }
    }
}

/// One `[[source]]` of `sources.toml`.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    /// What the source covers (the comment shown by `sources`).
    pub label: String,
    pub url: url::Url,
    pub enabled: bool,
    /// Overrides `[http] min_delay` for this source's host.
    pub min_delay: Option<Duration>,
    /// Overrides `[http] source_budget`.
    pub budget: Option<Duration>,
    /// Kind-specific settings (`kind = "rss" | "foerderdatenbank" | "eu-sedia" | "html"`).
    pub kind: SourceKind,
    /// Line of the `[[source]]` table, for messages.
    pub line: usize,
}

/// `strategy.toml`: Handlungsfelder, projects and matching criteria.
#[derive(Debug, Clone)]
pub struct Strategy {
    pub handlungsfelder: Vec<Handlungsfeld>,
    pub projects: Vec<Project>,
    /// Global criteria; projects may override single fields.
    pub criteria: Criteria,
}

impl Strategy {
    pub fn handlungsfeld(&self, id: &str) -> Option<&Handlungsfeld> {
        self.handlungsfelder.iter().find(|h| h.id == id)
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Handlungsfeld {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Catches calls for this field even where no project names them.
    pub profile: Profile,
}

string_enum! {
    /// `type` of a `[[project]]`.
    pub enum ProjectKind ("project type") {
        Leitprojekt = "leitprojekt",
        Potenzialprojekt = "potenzialprojekt",
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub handlungsfeld: String,
    pub kind: ProjectKind,
    /// False for projects known only from the press.
    pub confirmed: bool,
    pub description: String,
    pub profile: Profile,
    /// Per-project overrides of the global criteria.
    pub criteria: CriteriaOverride,
}

/// A keyword profile: weighted rules in the rule language plus a threshold.
#[derive(Debug, Clone)]
pub struct Profile {
    pub rules: Vec<RuleSpec>,
    pub threshold: f64,
}

/// One rule, parsed once when the config is loaded; `matching` builds its
/// index from the parsed [`Expr`] without parsing again.
#[derive(Clone)]
pub struct RuleSpec {
    /// As written, for explanations and messages.
    pub expr: String,
    pub weight: f64,
    /// Where it stands, for error messages.
    pub file: PathBuf,
    pub line: usize,
    /// Private, so that a spec always holds the parse of its own `expr`.
    rule: Expr,
}

impl RuleSpec {
    /// Parses `expr`; a spec exists only for a rule that parses.
    pub fn new(
        expr: impl Into<String>,
        weight: f64,
        file: impl Into<PathBuf>,
        line: usize,
    ) -> Result<RuleSpec, RuleSyntaxError> {
        let expr = expr.into();
        let rule = rules::parse(&expr)?;
        Ok(RuleSpec {
            expr,
            weight,
            file: file.into(),
            line,
            rule,
        })
    }

    /// The parsed rule.
    pub fn rule(&self) -> &Expr {
        &self.rule
    }
}

/// What the rule does, not where it stands: stored matches are keyed by a hash of the
/// strategy's debug form (`app::rules_hash`), and a comment line added above a rule or a
/// config folder moved elsewhere must not match every stored call again.
impl fmt::Debug for RuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSpec")
            .field("expr", &self.expr)
            .field("weight", &self.weight)
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// Matching criteria (global defaults in `[criteria]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Criteria {
    /// Applicant categories that fit a Kommune or the Kreis.
    pub applicants: BTreeSet<ApplicantCategory>,
    /// Named regions that contain Kreis Warendorf (besides bundesweit, NRW, EU-weit).
    pub home_regions: Vec<String>,
    /// The gazetteer of named regions elsewhere (Rheinisches Revier, other Kreise,
    /// other Länder): a call restricted to one of them is not for the Kreis.
    pub elsewhere_regions: Vec<String>,
    /// Drop calls closing sooner than this many days.
    pub min_lead_days: u32,
    pub min_funding_rate: Option<f64>,
    pub min_amount_eur: Option<u64>,
    pub exclude_funders: Vec<String>,
    pub prefer_funders: Vec<String>,
    /// Restrict to these kinds of Kommune (Stadt, Gemeinde, Kreis).
    pub kommune_kinds: Option<BTreeSet<KommuneKind>>,
    pub population_min: Option<u32>,
    pub population_max: Option<u32>,
}

/// Per-project override: every field that is `Some` replaces the global value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CriteriaOverride {
    pub applicants: Option<BTreeSet<ApplicantCategory>>,
    pub min_lead_days: Option<u32>,
    pub min_funding_rate: Option<f64>,
    pub min_amount_eur: Option<u64>,
    pub exclude_funders: Option<Vec<String>>,
    pub prefer_funders: Option<Vec<String>>,
    pub kommune_kinds: Option<BTreeSet<KommuneKind>>,
    pub population_min: Option<u32>,
    pub population_max: Option<u32>,
}

impl Criteria {
    /// The global criteria with a project's overrides applied.
    pub fn with(&self, o: &CriteriaOverride) -> Criteria {
        Criteria {
            applicants: o.applicants.clone().unwrap_or_else(|| self.applicants.clone()),
            home_regions: self.home_regions.clone(),
            elsewhere_regions: self.elsewhere_regions.clone(),
            min_lead_days: o.min_lead_days.unwrap_or(self.min_lead_days),
            min_funding_rate: o.min_funding_rate.or(self.min_funding_rate),
            min_amount_eur: o.min_amount_eur.or(self.min_amount_eur),
            exclude_funders: o
                .exclude_funders
                .clone()
                .unwrap_or_else(|| self.exclude_funders.clone()),
            prefer_funders: o.prefer_funders.clone().unwrap_or_else(|| self.prefer_funders.clone()),
            kommune_kinds: o.kommune_kinds.clone().or_else(|| self.kommune_kinds.clone()),
            population_min: o.population_min.or(self.population_min),
            population_max: o.population_max.or(self.population_max),
        }
    }
}

string_enum! {
    /// `kind` of a Kommune in `kommunen.toml`.
    pub enum KommuneKind ("Kommune kind") {
        Stadt = "stadt",
        Gemeinde = "gemeinde",
        Kreis = "kreis",
    }
}

/// A Kommune (or the Kreis itself) with its interests and contacts.
#[derive(Debug, Clone)]
pub struct Kommune {
    pub id: String,
    pub name: String,
    pub kind: KommuneKind,
    /// Amtlicher Gemeindeschlüssel (8 digits; the Kreis has its 5-digit Kreisschlüssel).
    pub ags: String,
    pub population: Option<u32>,
    pub mittlere_kreisangehoerige_stadt: bool,
    pub memberships: Vec<Membership>,
    /// Resolved interests: every Handlungsfeld unless the config narrows it.
    pub interests: Interests,
    pub contacts: Vec<Contact>,
}

/// Membership in a named region such as a LEADER region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub region: String,
    /// Set when only part of the Kommune belongs (Warendorf: only its Ortsteile).
    pub partial: Option<String>,
}

/// Handlungsfelder and projects a Kommune or contact follows (resolved: never empty
/// by accident; "all" is spelled out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interests {
    pub handlungsfelder: BTreeSet<String>,
    pub projects: BTreeSet<String>,
}

impl Interests {
    /// Whether a match for this Handlungsfeld / project concerns these interests.
    pub fn covers(&self, handlungsfeld: &str, project: Option<&str>) -> bool {
        match project {
            Some(p) => self.projects.contains(p) || self.handlungsfelder.contains(handlungsfeld),
            None => self.handlungsfelder.contains(handlungsfeld),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub name: String,
    /// Validated address.
    pub email: String,
    /// Subscription; defaults to the Kommune's interests.
    pub interests: Interests,
    /// How often the contact gets a digest (`cadence`, default täglich); the contact's
    /// own settings override it.
    pub cadence: crate::model::contact::Cadence,
    /// No digests up to and including this day (`paused_until`); an admin's pause,
    /// beside the one a contact sets itself.
    pub paused_until: Option<chrono::NaiveDate>,
}

/// A named region with member Kommunen (`[[region]]` in `kommunen.toml`).
#[derive(Debug, Clone)]
pub struct MemberRegion {
    pub id: String,
    pub name: String,
    /// Other spellings a call may use ("9Plus", "LEADER-Region 9Plus").
    pub aliases: Vec<String>,
}

impl Config {
    /// Loads and validates the four files in `dir`. All errors are returned at once.
    pub fn load(dir: &std::path::Path) -> Result<Config, ConfigErrors> {
        load::load(dir)
    }

    pub fn kommune(&self, id: &str) -> Option<&Kommune> {
        self.kommunen.iter().find(|k| k.id == id)
    }

    /// Non-fatal findings, e.g. `example.org` addresses that would go over real SMTP.
    pub fn warnings(&self) -> Vec<String> {
        report::warnings(self)
    }

    /// Counts of sources, Handlungsfelder, projects, Kommunen and contacts.
    pub fn summary(&self) -> ConfigSummary {
        report::summary(self)
    }
}
