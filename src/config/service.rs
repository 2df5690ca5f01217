//! `foerderradar.toml`: service settings.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use super::error::Report;
use super::fields::{count, count32, email, http_url, one_of, opt};
use super::load::{open, optional, required};
use super::raw::{Int, RawDaemon, RawDigest, RawHttp, RawNotify, RawSchedule, RawSmtp, RawStore, RawWeb, Text};
use super::{
    CronSchedule, DigestSettings, HttpSettings, NotifySettings, ScheduleGroup, Schedules, ServiceConfig, SmtpConfig,
    SmtpTls, StoreSettings, WebSettings, schedule,
};

const KEYS: [&str; 12] = [
    "data_dir", "timezone", "schedule", "smtp", "sender", "admin", "http", "notify", "digest", "daemon", "web", "store",
];

// The documented ranges of the numeric settings (config/README.md). The upper bounds keep
// every value far from overflowing the arithmetic done on it (bytes, backoff, deadlines)
// and refuse values that would amount to switching a limit off.
const PORT: RangeInclusive<u64> = 1..=65_535;
const SMTP_TIMEOUT_SECS: RangeInclusive<u64> = 1..=600;
const HTTP_TIMEOUT_SECS: RangeInclusive<u64> = 1..=600;
const MAX_BODY_MB: RangeInclusive<u64> = 1..=1024;
pub(super) const MIN_DELAY_MS: RangeInclusive<u64> = 0..=600_000;
const PER_HOST_CONCURRENCY: RangeInclusive<u64> = 1..=32;
const RETRIES: RangeInclusive<u32> = 0..=10;
pub(super) const BUDGET_SECS: RangeInclusive<u64> = 1..=86_400;
const BROKEN_AFTER: RangeInclusive<u32> = 1..=1000;
const MAX_ATTEMPTS: RangeInclusive<u32> = 1..=100;
const RETRY_BASE_SECS: RangeInclusive<u64> = 1..=86_400;
const SHUTDOWN_GRACE_SECS: RangeInclusive<u64> = 1..=3600;
/// A job's lease: long enough to renew a few times, short enough for a quick take-over.
const LEASE_SECS: RangeInclusive<u64> = 2..=3600;
const HEARTBEAT_SECS: RangeInclusive<u64> = 1..=3600;
const JITTER_SECS: RangeInclusive<u64> = 0..=3600;
/// `notify.max_retry_age_hours` (default 72): at least one hour of retries, at most 30 days.
const MAX_RETRY_AGE_HOURS: RangeInclusive<u64> = 1..=720;
/// `notify.silent_after_days` (default 14): a source may publish rarely, but a year of
/// silence is no longer worth a line in the admin digest.
const SILENT_AFTER_DAYS: RangeInclusive<u32> = 1..=365;
/// `digest.first_digest_max` and `digest.max_items`: a digest is read between two
/// meetings; beyond 100 items nobody reads on, and the HTML part must stay small.
const DIGEST_ITEMS: RangeInclusive<u64> = 1..=100;
/// `digest.urgent_days` and each of `digest.reminder_days`: up to a year ahead.
const DIGEST_DAYS: RangeInclusive<u64> = 1..=365;
/// At most this many reminder offsets.
const MAX_REMINDERS: usize = 5;
/// `web.link_validity_days` (default 180): at least a day, at most ten years.
const LINK_VALIDITY_DAYS: RangeInclusive<u64> = 1..=3650;

pub(super) fn build(r: &mut Report) -> Option<ServiceConfig> {
    let root = open(r, &KEYS)?;
    let data_dir: Option<String> = optional(r, &root, "data_dir");
    let timezone =
        optional::<Text>(r, &root, "timezone").map_or(Some(chrono_tz::Europe::Berlin), |tz| timezone(r, &tz));
    let schedules = required::<RawSchedule>(r, &root, "schedule", "[schedule] collect = \"0 6 * * Mon-Fri\"")
        .and_then(|raw| schedules(r, &raw));
    let smtp = opt(optional::<RawSmtp>(r, &root, "smtp"), |raw| smtp(r, &raw));
    let sender = required::<Text>(r, &root, "sender", "sender = \"foerderradar@kreis.example.org\"")
        .and_then(|v| email(r, &v, "sender"));
    let admin =
        required::<Text>(r, &root, "admin", "admin = \"admin@kreis.example.org\"").and_then(|v| email(r, &v, "admin"));
    let raw_http: RawHttp = optional(r, &root, "http").unwrap_or_default();
    let http = http(r, &raw_http, admin.as_deref());
    let raw_notify: RawNotify = optional(r, &root, "notify").unwrap_or_default();
    let notify = notify(r, &raw_notify);
    let raw_digest: RawDigest = optional(r, &root, "digest").unwrap_or_default();
    let digest = digest(r, &raw_digest);
    let raw_daemon: RawDaemon = optional(r, &root, "daemon").unwrap_or_default();
    let grace = count(
        r,
        raw_daemon.shutdown_grace_secs.as_ref(),
        "daemon.shutdown_grace_secs",
        30,
        SHUTDOWN_GRACE_SECS,
    );
    let lease = count(r, raw_daemon.lease_secs.as_ref(), "daemon.lease_secs", 120, LEASE_SECS);
    let heartbeat = count(
        r,
        raw_daemon.heartbeat_secs.as_ref(),
        "daemon.heartbeat_secs",
        30,
        HEARTBEAT_SECS,
    );
    let raw_web: RawWeb = optional(r, &root, "web").unwrap_or_default();
    let web = web(r, &raw_web);
    let store = opt(optional::<RawStore>(r, &root, "store"), |raw| store(r, &raw));
    Some(ServiceConfig {
        data_dir: data_dir.map(PathBuf::from),
        timezone: timezone?,
        schedules: schedules?,
        smtp: smtp?,
        sender: sender?,
        admin: admin?,
        http: http?,
        notify: notify?,
        digest: digest?,
        shutdown_grace: Duration::from_secs(grace?),
        lease: Duration::from_secs(lease?),
        heartbeat: Duration::from_secs(heartbeat?),
        web: web?,
        store: store?,
    })
}

/// A `[store]` table: a `postgres://` URL without a password (that comes from the
/// variable `password_env` names, so the URL can be shown and logged).
fn store(r: &mut Report, raw: &RawStore) -> Option<StoreSettings> {
    let password_env = match &raw.password_env {
        Some(v) => env_name(r, v, "store.password_env").map(Some),
        None => Some(None),
    };
    let url = postgres_url(r, &raw.url, "store.url");
    Some(StoreSettings {
        url: url?,
        password_env: password_env?,
    })
}

/// A PostgreSQL connection URL: `postgres://user@host:port/database`.
fn postgres_url(r: &mut Report, v: &Text, key: &str) -> Option<url::Url> {
    let problem = match url::Url::parse(v.get_ref().trim()) {
        Err(e) => format!("is not a URL ({e}); write it as postgres://user@host:5432/database"),
        Ok(url) if !matches!(url.scheme(), "postgres" | "postgresql") => format!(
            "scheme '{}' is not supported; the store URL must start with postgres:// (without [store] the store is SQLite in the data directory)",
            url.scheme()
        ),
        Ok(url) if url.password().is_some() => {
            "must not contain the password; name the environment variable that holds it in store.password_env".into()
        }
        Ok(url) if url.host_str().is_none_or(str::is_empty) => {
            "names no host; write it as postgres://user@host:5432/database".into()
        }
        Ok(url) if url.path().trim_start_matches('/').is_empty() => {
            "names no database; write it as postgres://user@host:5432/database".into()
        }
        Ok(url) => return Some(url),
    };
    r.at(&v.span(), key, problem);
    None
}

fn web(r: &mut Report, raw: &RawWeb) -> Option<WebSettings> {
    let defaults = WebSettings::default();
    let bind = match &raw.bind {
        Some(v) => bind(r, v),
        None => Some(defaults.bind),
    };
    let public_url = opt(raw.public_url.as_ref(), |v| http_url(r, v, "web.public_url"));
    let link_secret_env = opt(raw.link_secret_env.as_ref(), |v| env_name(r, v, "web.link_secret_env"));
    let admin_token_env = opt(raw.admin_token_env.as_ref(), |v| env_name(r, v, "web.admin_token_env"));
    let validity = count(
        r,
        raw.link_validity_days.as_ref(),
        "web.link_validity_days",
        180,
        LINK_VALIDITY_DAYS,
    );
    let labelled_day = opt(raw.labelled_day.as_ref(), |v| {
        let parsed = chrono::NaiveDate::parse_from_str(v.get_ref(), "%Y-%m-%d");
        let message = format!("'{}' is not a date; write it as \"2026-12-01\"", v.get_ref());
        r.check(parsed.map_err(|_| message), &v.span(), "web.labelled_day")
    });
    // Anyone on the network could read the metrics and reports of an open server, so
    // a server reachable from outside needs both secrets.
    if let (Some(addr), Some(v)) = (bind, &raw.bind)
        && !addr.ip().is_loopback()
    {
        for (key, set) in [
            ("web.admin_token_env", raw.admin_token_env.is_some()),
            ("web.link_secret_env", raw.link_secret_env.is_some()),
        ] {
            if !set {
                let message = format!(
                    "must be set because web.bind {addr} is not a loopback address; name the environment variable that holds the secret"
                );
                r.at(&v.span(), key, message);
            }
        }
    }
    Some(WebSettings {
        enabled: raw.enabled.unwrap_or(false),
        bind: bind?,
        public_url: public_url?,
        link_secret_env: link_secret_env?,
        admin_token_env: admin_token_env?,
        link_validity: Duration::from_secs(validity?.checked_mul(86_400)?),
        labelled_set: raw.labelled_set.as_ref().map(|v| PathBuf::from(v.get_ref())),
        labelled_day: labelled_day?,
    })
}

/// `web.bind`: an IP address with a port, e.g. "127.0.0.1:8080" or "[::1]:8080".
fn bind(r: &mut Report, v: &Text) -> Option<std::net::SocketAddr> {
    let parsed = v.get_ref().parse::<std::net::SocketAddr>();
    let message = format!(
        "'{}' is not an address with port; write it as \"127.0.0.1:8080\" (a host name is not accepted)",
        v.get_ref()
    );
    r.check(parsed.map_err(|_| message), &v.span(), "web.bind")
}

fn timezone(r: &mut Report, v: &Text) -> Option<chrono_tz::Tz> {
    let tz = v.get_ref().parse::<chrono_tz::Tz>();
    let message = format!(
        "unknown time zone '{}'; use an IANA name such as \"Europe/Berlin\"",
        v.get_ref()
    );
    r.check(tz.map_err(|_| message), &v.span(), "timezone")
}

/// The admin digest's default slot: Mondays 07:00, with the week's first digests.
pub(super) const ADMIN_DIGEST_DEFAULT: &str = "0 7 * * 1";

fn schedules(r: &mut Report, raw: &RawSchedule) -> Option<Schedules> {
    let collect = cron(r, &raw.collect, "schedule.collect");
    let notify = cron(r, &raw.notify, "schedule.notify");
    let admin_digest = match &raw.admin_digest {
        Some(v) => cron(r, v, "schedule.admin_digest"),
        None => Some(schedule::compile(ADMIN_DIGEST_DEFAULT).expect("the default admin digest schedule compiles")),
    };
    let jitter = count(r, raw.jitter_secs.as_ref(), "schedule.jitter_secs", 0, JITTER_SECS);
    let groups: Vec<Option<ScheduleGroup>> = raw
        .groups
        .iter()
        .map(|(name, expr)| schedule_group(r, name, expr))
        .collect();
    Some(Schedules {
        collect: collect?,
        notify: notify?,
        admin_digest: admin_digest?,
        groups: groups.into_iter().collect::<Option<_>>()?,
        jitter: Duration::from_secs(jitter?),
    })
}

/// One `[schedule.groups]` entry; its sources are filled in once sources.toml is read.
fn schedule_group(r: &mut Report, name: &str, expr: &Text) -> Option<ScheduleGroup> {
    let key = format!("schedule.groups.{name}");
    let valid = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        r.at(
            &expr.span(),
            &key,
            "a group name is 1 to 40 lowercase letters, digits, '-' or '_', e.g. nightly = \"0 2 * * *\"",
        );
    }
    let cron = cron(r, expr, &key)?;
    valid.then(|| ScheduleGroup {
        name: name.to_string(),
        cron,
        sources: Vec::new(),
    })
}

fn cron(r: &mut Report, v: &Text, key: &str) -> Option<CronSchedule> {
    r.check(schedule::compile(v.get_ref()), &v.span(), key)
}

/// An `[smtp]` table; its absence (outbox files only) is decided by the caller.
fn smtp(r: &mut Report, raw: &RawSmtp) -> Option<SmtpConfig> {
    let tls = raw
        .tls
        .as_ref()
        .map_or(Some(SmtpTls::Starttls), |v| one_of(r, v, "smtp.tls"));
    let default_port = match tls {
        Some(SmtpTls::Tls) => 465,
        Some(SmtpTls::None) => 25,
        _ => 587,
    };
    let port = port(r, raw.port.as_ref(), default_port);
    let timeout = count(r, raw.timeout_secs.as_ref(), "smtp.timeout_secs", 30, SMTP_TIMEOUT_SECS);
    let password_env = match &raw.password_env {
        Some(v) => env_name(r, v, "smtp.password_env").map(Some),
        None => Some(None),
    };
    let host = raw.host.get_ref().trim();
    if host.is_empty() {
        r.at(
            &raw.host.span(),
            "smtp.host",
            "must name the mail server, e.g. \"smtp.kreis-warendorf.de\"",
        );
    }
    Some(SmtpConfig {
        host: (!host.is_empty()).then(|| host.to_string())?,
        port: port?,
        tls: tls?,
        user: raw.user.clone(),
        password_env: password_env?,
        timeout: Duration::from_secs(timeout?),
    })
}

fn port(r: &mut Report, v: Option<&Int>, default: u16) -> Option<u16> {
    let n = count(r, v, "smtp.port", default.into(), PORT)?;
    u16::try_from(n).ok()
}

/// The name of an environment variable, never its value.
fn env_name(r: &mut Report, v: &Text, key: &str) -> Option<String> {
    let name = v.get_ref();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        let message = format!(
            "'{name}' is not an environment variable name; write the variable's NAME (e.g. \"FOERDERRADAR_SMTP_PASSWORD\"), never the password"
        );
        r.at(&v.span(), key, message);
        return None;
    }
    Some(name.clone())
}

fn http(r: &mut Report, raw: &RawHttp, admin: Option<&str>) -> Option<HttpSettings> {
    let timeout = count(r, raw.timeout_secs.as_ref(), "http.timeout_secs", 30, HTTP_TIMEOUT_SECS);
    let max_body_mb = count(r, raw.max_body_mb.as_ref(), "http.max_body_mb", 10, MAX_BODY_MB);
    let min_delay = count(r, raw.min_delay_ms.as_ref(), "http.min_delay_ms", 1000, MIN_DELAY_MS);
    let concurrency = count(
        r,
        raw.per_host_concurrency.as_ref(),
        "http.per_host_concurrency",
        2,
        PER_HOST_CONCURRENCY,
    );
    let retries = count32(r, raw.retries.as_ref(), "http.retries", 3, RETRIES);
    let budget = count(
        r,
        raw.source_budget_secs.as_ref(),
        "http.source_budget_secs",
        120,
        BUDGET_SECS,
    );
    let broken_after = count32(r, raw.broken_after.as_ref(), "http.broken_after", 3, BROKEN_AFTER);
    let host_wait = count(
        r,
        raw.host_wait_secs.as_ref(),
        "http.host_wait_secs",
        300,
        HOST_WAIT_SECS,
    );
    let per_page = count(
        r,
        raw.max_items_per_page.as_ref(),
        "http.max_items_per_page",
        1_000,
        ITEMS_PER_PAGE,
    );
    let per_feed = count(
        r,
        raw.max_items_per_feed.as_ref(),
        "http.max_items_per_feed",
        5_000,
        ITEMS_PER_FEED,
    );
    Some(HttpSettings {
        user_agent: raw.user_agent.clone().unwrap_or_else(|| default_user_agent(admin)),
        timeout: Duration::from_secs(timeout?),
        max_body_bytes: max_body_mb?.checked_mul(1024 * 1024)?,
        min_delay: Duration::from_millis(min_delay?),
        per_host_concurrency: usize::try_from(concurrency?).ok()?,
        retries: retries?,
        source_budget: Duration::from_secs(budget?),
        host_wait: Duration::from_secs(host_wait?),
        max_items_per_page: usize::try_from(per_page?).ok()?,
        max_items_per_feed: usize::try_from(per_feed?).ok()?,
        broken_after: broken_after?,
        respect_robots: raw.respect_robots.unwrap_or(true),
    })
}

/// `http.host_wait_secs` (default 300): a queue behind a host's slow sources may last
/// about one source budget (120 s), so the default allows more than two.
const HOST_WAIT_SECS: RangeInclusive<u64> = 1..=86_400;
/// `http.max_items_per_page` (default 1,000): Förderdatenbank pages hold 10 programmes,
/// the EU search pages 50-100, generic list pages rarely more than a few hundred.
const ITEMS_PER_PAGE: RangeInclusive<u64> = 1..=100_000;
/// `http.max_items_per_feed` (default 5,000): the feeds in use carry tens to a few
/// hundred entries (the Förderdatenbank's programme feed about 2,500 at most).
const ITEMS_PER_FEED: RangeInclusive<u64> = 1..=1_000_000;

/// Polite crawlers say who runs them, so site operators can write to the admin.
fn default_user_agent(admin: Option<&str>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match admin {
        Some(admin) => format!("foerderradar/{version} (+mailto:{admin})"),
        None => format!("foerderradar/{version}"),
    }
}

fn notify(r: &mut Report, raw: &RawNotify) -> Option<NotifySettings> {
    let max_attempts = count32(r, raw.max_attempts.as_ref(), "notify.max_attempts", 8, MAX_ATTEMPTS);
    let retry_base = count(
        r,
        raw.retry_base_secs.as_ref(),
        "notify.retry_base_secs",
        60,
        RETRY_BASE_SECS,
    );
    let max_age = count(
        r,
        raw.max_retry_age_hours.as_ref(),
        "notify.max_retry_age_hours",
        72,
        MAX_RETRY_AGE_HOURS,
    );
    let silent = count32(
        r,
        raw.silent_after_days.as_ref(),
        "notify.silent_after_days",
        14,
        SILENT_AFTER_DAYS,
    );
    Some(NotifySettings {
        max_attempts: max_attempts?,
        retry_base: Duration::from_secs(retry_base?),
        max_retry_age: Duration::from_secs(max_age? * 3600),
        silent_after_days: silent?,
    })
}

fn digest(r: &mut Report, raw: &RawDigest) -> Option<DigestSettings> {
    let defaults = DigestSettings::default();
    let first = count(
        r,
        raw.first_digest_max.as_ref(),
        "digest.first_digest_max",
        defaults.first_digest_max as u64,
        DIGEST_ITEMS,
    );
    let max_items = count(
        r,
        raw.max_items.as_ref(),
        "digest.max_items",
        defaults.max_items as u64,
        DIGEST_ITEMS,
    );
    let urgent = count(
        r,
        raw.urgent_days.as_ref(),
        "digest.urgent_days",
        defaults.urgent_days as u64,
        DIGEST_DAYS,
    );
    let reminders = match &raw.reminder_days {
        None => Some(defaults.reminder_days),
        Some(list) => reminder_days(r, list),
    };
    Some(DigestSettings {
        first_digest_max: usize::try_from(first?).ok()?,
        max_items: usize::try_from(max_items?).ok()?,
        urgent_days: i64::try_from(urgent?).ok()?,
        reminder_days: reminders?,
    })
}

/// Each offset within [`DIGEST_DAYS`], at most [`MAX_REMINDERS`]; sorted largest first.
fn reminder_days(r: &mut Report, list: &[Int]) -> Option<Vec<i64>> {
    let mut days = Vec::new();
    let mut ok = true;
    for (i, v) in list.iter().enumerate() {
        match count(r, Some(v), &format!("digest.reminder_days[{i}]"), 0, DIGEST_DAYS) {
            Some(n) => days.push(n as i64),
            None => ok = false,
        }
    }
    if list.len() > MAX_REMINDERS {
        if let Some(v) = list.get(MAX_REMINDERS) {
            r.at(
                &v.span(),
                "digest.reminder_days",
                format!("at most {MAX_REMINDERS} reminders per deadline; found {}", list.len()),
            );
        }
        ok = false;
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    ok.then_some(days)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::load::tests::{FIXTURE, dir_with, error_at, errors_of, fixture, line_of};
    use super::*;
    use crate::config::Config;

    const FILE: &str = "foerderradar.toml";

    fn with_smtp(table: &str) -> Vec<crate::config::ConfigError> {
        let text = format!("{}\n{table}\n", fixture(FILE));
        Config::load(dir_with(FILE, &text).path()).unwrap_err().0
    }

    #[test]
    fn fixture_defaults_are_applied() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let s = &config.service;
        assert_eq!(s.timezone, chrono_tz::Europe::Berlin);
        assert!(s.smtp.is_none());
        assert_eq!(s.http.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(s.http.min_delay, Duration::from_millis(1000));
        assert_eq!(s.http.per_host_concurrency, 2);
        assert!(s.http.user_agent.contains(&s.admin), "{}", s.http.user_agent);
        assert_eq!(s.notify.max_attempts, 8);
        assert_eq!(s.notify.retry_base, Duration::from_secs(60));
        assert_eq!(s.http.host_wait, Duration::from_secs(300));
        assert_eq!((s.http.max_items_per_page, s.http.max_items_per_feed), (1_000, 5_000));
    }

    #[test]
    fn bad_cron_points_at_its_line() {
        let errors = errors_of(FILE, "collect = \"0 6 * * Mon-Fri\"", "collect = \"0 6 * *\"");
        let e = error_at(&errors, "schedule.collect");
        assert_eq!(e.line, line_of(&fixture(FILE), "collect ="));
        assert!(e.message.contains("fields"), "{e}");
    }

    #[test]
    fn unknown_timezone_is_refused() {
        let errors = errors_of(FILE, "Europe/Berlin", "Europe/Warendorf");
        assert!(error_at(&errors, "timezone").message.contains("IANA"));
    }

    #[test]
    fn malformed_sender_is_refused() {
        let errors = errors_of(FILE, "sender = \"", "sender = \"kein-at-zeichen ");
        assert!(error_at(&errors, "sender").message.contains("not an e-mail address"));
    }

    #[test]
    fn store_url_must_be_postgres_without_a_password() {
        for (url, says) in [
            ("mysql://db.example.org/foerderradar", "scheme 'mysql'"),
            (
                "postgres://fr:geheim@db.example.org/foerderradar",
                "must not contain the password",
            ),
            ("postgres://fr@db.example.org", "names no database"),
            ("kein url", "is not a URL"),
        ] {
            let errors = with_smtp(&format!("[store]\nurl = \"{url}\""));
            let e = error_at(&errors, "store.url");
            assert!(e.message.contains(says), "{url}: {e}");
            assert!(!e.message.contains("geheim"), "the password is never repeated: {e}");
        }
        let errors = with_smtp("[store]\nurl = \"postgres://fr@db.example.org/fr\"\npassword_env = \"pass word\"");
        assert!(error_at(&errors, "store.password_env").message.contains("NAME"));
    }

    #[test]
    fn store_settings_load_and_debug_redacts_the_password() {
        let text = format!(
            "{}\n[store]\nurl = \"postgres://fr@db.example.org:5433/foerderradar\"\npassword_env = \"PATH\"\n",
            fixture(FILE)
        );
        let config = Config::load(dir_with(FILE, &text).path()).unwrap();
        let store = config.service.store.expect("[store] given");
        assert_eq!(store.url.as_str(), "postgres://fr@db.example.org:5433/foerderradar");
        // PATH is always set: it stands in for the password variable.
        let password = std::env::var("PATH").unwrap();
        assert_eq!(store.password().as_deref(), Some(password.as_str()));
        let shown = format!("{store:?}");
        assert!(shown.contains("<redacted>") && !shown.contains(&password), "{shown}");
        assert!(Config::load(Path::new(FIXTURE)).unwrap().service.store.is_none());
    }

    #[test]
    fn smtp_tls_must_be_known_and_port_not_zero() {
        let errors = with_smtp("[smtp]\nhost = \"mail.example.org\"\nport = 0\ntls = \"ssl\"");
        assert!(error_at(&errors, "smtp.tls").message.contains("\"starttls\""));
        assert!(error_at(&errors, "smtp.port").message.contains("allowed: 1 to 65535"));
    }

    #[test]
    fn smtp_defaults_port_by_tls() {
        let text = format!(
            "{}\n[smtp]\nhost = \"mail.example.org\"\ntls = \"tls\"\n",
            fixture(FILE)
        );
        let config = Config::load(dir_with(FILE, &text).path()).unwrap();
        let smtp = config.service.smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Tls));
    }

    #[test]
    fn password_env_must_be_a_variable_name() {
        let errors = with_smtp("[smtp]\nhost = \"mail.example.org\"\npassword_env = \"hunter 2\"");
        assert!(
            error_at(&errors, "smtp.password_env")
                .message
                .contains("never the password")
        );
    }

    #[test]
    fn unknown_key_in_http_is_refused_with_its_line() {
        let text = format!("{}\n[http]\ntimeout = 5\n", fixture(FILE));
        let errors = Config::load(dir_with(FILE, &text).path()).unwrap_err().0;
        let e = error_at(&errors, "http");
        assert_eq!(e.line, line_of(&text, "timeout = 5"));
        assert!(e.message.contains("unknown field `timeout`"));
    }

    #[test]
    fn web_defaults_to_loopback_without_links() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let web = &config.service.web;
        assert!(!web.enabled);
        assert_eq!(web.bind.to_string(), "127.0.0.1:8080");
        assert!(web.public_url.is_none() && web.link_secret_env.is_none());
        assert_eq!(web.link_validity, Duration::from_secs(180 * 86_400));
    }

    #[test]
    fn web_keys_are_read() {
        let errors_or = with_web(
            "[web]\nenabled = true\nbind = \"0.0.0.0:9000\"\npublic_url = \"https://radar.example.org/fr/\"\nlink_secret_env = \"FR_LINK\"\nadmin_token_env = \"FR_ADMIN\"\nlink_validity_days = 30",
        );
        let web = errors_or.unwrap().service.web;
        assert!(web.enabled);
        assert_eq!(web.bind.port(), 9000);
        assert_eq!(web.public_url.unwrap().as_str(), "https://radar.example.org/fr/");
        assert_eq!(web.link_secret_env.as_deref(), Some("FR_LINK"));
        assert_eq!(web.admin_token_env.as_deref(), Some("FR_ADMIN"));
        assert_eq!(web.link_validity, Duration::from_secs(30 * 86_400));
    }

    #[test]
    fn non_loopback_bind_needs_both_secrets() {
        let errors = with_web("[web]\nbind = \"0.0.0.0:8080\"").unwrap_err().0;
        for key in ["web.admin_token_env", "web.link_secret_env"] {
            assert!(error_at(&errors, key).message.contains("not a loopback address"));
        }
        assert!(with_web("[web]\nbind = \"[::1]:8080\"").is_ok());
    }

    #[test]
    fn web_values_are_checked() {
        let errors = with_web(
            "[web]\nbind = \"localhost\"\npublic_url = \"ftp://radar.example.org\"\nlink_secret_env = \"geheim 123\"",
        )
        .unwrap_err()
        .0;
        assert!(error_at(&errors, "web.bind").message.contains("127.0.0.1:8080"));
        assert!(error_at(&errors, "web.public_url").message.contains("http://"));
        assert!(error_at(&errors, "web.link_secret_env").message.contains("NAME"));
    }

    fn with_web(table: &str) -> Result<Config, crate::config::ConfigErrors> {
        let text = format!("{}\n{table}\n", fixture(FILE));
        Config::load(dir_with(FILE, &text).path())
    }
}
