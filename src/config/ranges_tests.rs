//! Every numeric setting at and beyond the ends of its documented range
//! (config/README.md): the ends load, one step outside is refused by `check`
//! with an error that names the file, the key, the line and the allowed range.

use super::Config;
use super::load::tests::{dir_with, fixture};

/// How a value gets into its file.
enum Place {
    /// Appended to foerderradar.toml as `[table] key = value` (plus `extra` lines).
    Service { table: &'static str, extra: &'static str },
    /// `from` in the fixture file replaced by `to` with `{v}` set.
    Patch { from: &'static str, to: &'static str },
}

struct Setting {
    file: &'static str,
    /// The key as the error names it.
    key: &'static str,
    place: Place,
    min: i64,
    max: i64,
}

const fn service(table: &'static str, key: &'static str, min: i64, max: i64) -> Setting {
    Setting {
        file: "foerderradar.toml",
        key,
        place: Place::Service { table, extra: "" },
        min,
        max,
    }
}

fn settings() -> Vec<Setting> {
    let smtp = |key, min, max| Setting {
        place: Place::Service {
            table: "smtp",
            extra: "host = \"mail.example.org\"\n",
        },
        ..service("smtp", key, min, max)
    };
    let patch = |file, key, from, to, min, max| Setting {
        file,
        key,
        place: Place::Patch { from, to },
        min,
        max,
    };
    let criteria = "min_lead_days = 7";
    vec![
        smtp("smtp.port", 1, 65_535),
        smtp("smtp.timeout_secs", 1, 600),
        service("http", "http.timeout_secs", 1, 600),
        service("http", "http.max_body_mb", 1, 1024),
        service("http", "http.min_delay_ms", 0, 600_000),
        service("http", "http.per_host_concurrency", 1, 32),
        service("http", "http.retries", 0, 10),
        service("http", "http.source_budget_secs", 1, 86_400),
        service("http", "http.broken_after", 1, 1000),
        service("http", "http.host_wait_secs", 1, 86_400),
        service("http", "http.max_items_per_page", 1, 100_000),
        service("http", "http.max_items_per_feed", 1, 1_000_000),
        service("notify", "notify.max_attempts", 1, 100),
        service("notify", "notify.retry_base_secs", 1, 86_400),
        service("notify", "notify.max_retry_age_hours", 1, 720),
        service("notify", "notify.silent_after_days", 1, 365),
        service("daemon", "daemon.shutdown_grace_secs", 1, 3600),
        service("daemon", "daemon.lease_secs", 2, 3600),
        service("daemon", "daemon.heartbeat_secs", 1, 3600),
        service("digest", "digest.first_digest_max", 1, 100),
        service("digest", "digest.max_items", 1, 100),
        service("digest", "digest.urgent_days", 1, 365),
        service("web", "web.link_validity_days", 1, 3650),
        patch(
            "foerderradar.toml",
            "schedule.jitter_secs",
            "[schedule]",
            "[schedule]\njitter_secs = {v}",
            0,
            3600,
        ),
        patch(
            "sources.toml",
            "source[0].min_delay_ms",
            "enabled = true",
            "enabled = true\nmin_delay_ms = {v}",
            0,
            600_000,
        ),
        patch(
            "sources.toml",
            "source[0].budget_secs",
            "enabled = true",
            "enabled = true\nbudget_secs = {v}",
            1,
            86_400,
        ),
        patch(
            "sources.toml",
            "source[0].max_pages",
            "kind = \"rss\"",
            "kind = \"foerderdatenbank\"\nmax_pages = {v}",
            1,
            1000,
        ),
        patch(
            "sources.toml",
            "source[0].max_pages",
            "kind = \"rss\"",
            "kind = \"html\"\nitem = \"li\"\ntitle = \"a\"\nmax_pages = {v}",
            1,
            1000,
        ),
        patch(
            "sources.toml",
            "source[0].max_pages",
            "kind = \"rss\"",
            "kind = \"eu-sedia\"\nmax_pages = {v}",
            1,
            1000,
        ),
        patch(
            "sources.toml",
            "source[0].page_size",
            "kind = \"rss\"",
            "kind = \"eu-sedia\"\npage_size = {v}",
            1,
            100,
        ),
        patch(
            "strategy.toml",
            "criteria.min_lead_days",
            criteria,
            "min_lead_days = {v}",
            0,
            3650,
        ),
        patch(
            "strategy.toml",
            "criteria.min_amount_eur",
            criteria,
            "min_lead_days = 7\nmin_amount_eur = {v}",
            0,
            1_000_000_000_000,
        ),
        patch(
            "strategy.toml",
            "criteria.population_min",
            criteria,
            "min_lead_days = 7\npopulation_min = {v}",
            0,
            100_000_000,
        ),
        patch(
            "strategy.toml",
            "criteria.population_max",
            criteria,
            "min_lead_days = 7\npopulation_max = {v}",
            0,
            100_000_000,
        ),
        patch(
            "kommunen.toml",
            "kommune.ahlen.population",
            "population = 53348",
            "population = {v}",
            1,
            100_000_000,
        ),
    ]
}

fn load_with(s: &Setting, value: &str) -> (String, Result<Config, Vec<super::ConfigError>>) {
    let text = match s.place {
        Place::Service { table, extra } => {
            let field = s.key.rsplit('.').next().unwrap();
            format!("{}\n[{table}]\n{extra}{field} = {value}\n", fixture(s.file))
        }
        Place::Patch { from, to } => {
            let text = fixture(s.file);
            assert!(text.contains(from), "{} does not contain {from:?}", s.file);
            text.replacen(from, &to.replace("{v}", value), 1)
        }
    };
    let dir = dir_with(s.file, &text);
    (text, Config::load(dir.path()).map_err(|e| e.0))
}

#[test]
fn every_numeric_setting_loads_at_its_bounds_and_is_refused_beyond() {
    for s in settings() {
        for ok in [s.min, s.max] {
            if let (_, Err(errors)) = load_with(&s, &ok.to_string()) {
                panic!("{} = {ok} is within its range but refused: {errors:#?}", s.key);
            }
        }
        for bad in [s.min - 1, s.max + 1, i64::MAX] {
            let (text, loaded) = load_with(&s, &bad.to_string());
            let errors = loaded
                .err()
                .unwrap_or_else(|| panic!("{} = {bad} should be refused", s.key));
            let error = errors
                .iter()
                .find(|e| e.key == s.key)
                .unwrap_or_else(|| panic!("no error at {} for {bad}: {errors:#?}", s.key));
            assert!(error.file.ends_with(s.file), "{error}");
            let line = text[..text.find(&format!("= {bad}")).unwrap()].matches('\n').count() + 1;
            assert_eq!(error.line, line, "{error}");
            let allowed = format!("allowed: {} to {}", s.min, s.max);
            assert!(error.message.contains(&allowed), "{error}");
            assert!(error.to_string().contains(s.key), "{error}");
        }
    }
}

#[test]
fn digest_reminders_are_limited_and_a_contact_cadence_is_checked() {
    let service = fixture("foerderradar.toml");
    let dir = dir_with(
        "foerderradar.toml",
        &format!("{service}\n[digest]\nreminder_days = [60, 28, 14, 7, 3, 1]\n"),
    );
    let errors = Config::load(dir.path()).unwrap_err().0;
    let error = errors
        .iter()
        .find(|e| e.key == "digest.reminder_days")
        .expect("an error");
    assert!(error.message.contains("at most 5"), "{error}");

    for (bad, at) in [("[28, 0]", 1), ("[366, 7]", 0)] {
        let dir = dir_with(
            "foerderradar.toml",
            &format!("{service}\n[digest]\nreminder_days = {bad}\n"),
        );
        let errors = Config::load(dir.path()).unwrap_err().0;
        let key = format!("digest.reminder_days[{at}]");
        let error = errors.iter().find(|e| e.key == key).expect("an error per offset");
        assert!(error.message.contains("allowed: 1 to 365"), "{error}");
    }
    let dir = dir_with(
        "foerderradar.toml",
        &format!("{service}\n[digest]\nreminder_days = [7, 28]\n"),
    );
    let config = Config::load(dir.path()).unwrap();
    assert_eq!(config.service.digest.reminder_days, vec![28, 7], "largest first");

    let kommunen = fixture("kommunen.toml");
    let at = kommunen.find("[[kommune.contact]]").expect("a contact in the fixture");
    let end = kommunen[at..].find("email").map(|i| at + i).unwrap();
    let patched = format!("{}cadence = \"monatlich\"\n{}", &kommunen[..end], &kommunen[end..]);
    let dir = dir_with("kommunen.toml", &patched);
    let errors = Config::load(dir.path()).unwrap_err().0;
    let error = errors
        .iter()
        .find(|e| e.key.ends_with(".contact[0].cadence"))
        .unwrap_or_else(|| panic!("no cadence error: {errors:#?}"));
    assert!(error.message.contains("known: sofort"), "{error}");
    let dir = dir_with("kommunen.toml", &patched.replace("monatlich", "wöchentlich:montag"));
    let config = Config::load(dir.path()).unwrap();
    assert!(
        config
            .kommunen
            .iter()
            .flat_map(|k| &k.contacts)
            .any(|c| c.cadence.to_string() == "wöchentlich:montag")
    );
}

#[test]
fn rule_weights_and_thresholds_have_bounds() {
    let strategy = fixture("strategy.toml");
    for (from, to, key) in [
        (
            "threshold = 2.5",
            "threshold = 1000.5",
            "project.serviceportal.threshold",
        ),
        (
            "weight = 2.5 }",
            "weight = 100.5 }",
            "project.serviceportal.rules[0].weight",
        ),
        (
            "weight = 2.5 }",
            "weight = -100.5 }",
            "project.serviceportal.rules[0].weight",
        ),
    ] {
        let dir = dir_with("strategy.toml", &strategy.replacen(from, to, 1));
        let errors = Config::load(dir.path()).unwrap_err().0;
        let error = errors
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("no error at {key}: {errors:#?}"));
        assert!(error.message.contains("allowed:"), "{error}");
    }
    for (from, to) in [
        ("threshold = 2.5", "threshold = 1000.0"),
        ("weight = 2.5 }", "weight = -100.0 }"),
    ] {
        let dir = dir_with("strategy.toml", &strategy.replacen(from, to, 1));
        if let Err(e) = Config::load(dir.path()) {
            panic!("{to} is within range: {e}");
        }
    }
}
