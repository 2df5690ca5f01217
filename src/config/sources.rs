//! `sources.toml`: the `[[source]]` list. The common keys are read here;
//! the rest of each table goes to its kind's options struct.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::SourceConfig;
use super::error::Report;
use super::fields::{count, http_url, opt};
use super::load::{Ids, nested_key, open, tables, value};
use super::raw::{Int, RawSource, Text};
use super::service::{BUDGET_SECS, MIN_DELAY_MS};
use crate::model::source::SourceKind;

/// Which source follows which `[schedule.groups]` entry: (source id, group name).
pub(super) type GroupMembers = Vec<(String, String)>;

/// The sources, and the group each one names with `schedule`. `groups` are the names
/// defined in foerderradar.toml (`None` when that file failed: nothing to check against).
pub(super) fn build(r: &mut Report, groups: Option<&[String]>) -> Option<(Vec<SourceConfig>, GroupMembers)> {
    let root = open(r, &["source"])?;
    let mut ids = Ids::new("source");
    let mut members = GroupMembers::new();
    let sources: Vec<_> = tables(r, &root, "source")
        .into_iter()
        .map(|(i, v)| source(r, &format!("source[{i}]"), v, &mut ids, groups, &mut members))
        .collect();
    if sources.is_empty() {
        // An empty file would let the daemon run for months and never find a call.
        r.whole_file(
            "defines no [[source]]: foerderradar would collect nothing; add at least one, \
             e.g. [[source]] id = \"bund-rss\" kind = \"rss\" url = \"https://…\" label = \"…\"",
        );
        return None;
    }
    Some((sources.into_iter().collect::<Option<_>>()?, members))
}

fn source(
    r: &mut Report,
    key: &str,
    v: &Spanned<DeValue<'_>>,
    ids: &mut Ids,
    groups: Option<&[String]>,
    members: &mut GroupMembers,
) -> Option<SourceConfig> {
    let (common, rest) = split(v);
    let raw: RawSource = value(r, &common, key)?;
    let id_ok = ids.check(r, &raw.id, &format!("{key}.id"));
    let group_ok = raw
        .schedule
        .as_ref()
        .is_none_or(|g| schedule_group(r, &format!("{key}.schedule"), g, groups));
    if let Some(group) = &raw.schedule {
        members.push((raw.id.get_ref().clone(), group.get_ref().clone()));
    }
    let url = http_url(r, &raw.url, &format!("{key}.url"));
    let min_delay = millis(r, raw.min_delay_ms.as_ref(), &format!("{key}.min_delay_ms"));
    let budget = secs(r, raw.budget_secs.as_ref(), &format!("{key}.budget_secs"));
    let kind = kind(r, &raw.kind, &rest, key, raw.id.get_ref());
    Some(SourceConfig {
        id: (id_ok && group_ok).then(|| raw.id.get_ref().clone())?,
        label: raw.label,
        url: url?,
        enabled: raw.enabled.unwrap_or(true),
        min_delay: min_delay?,
        budget: budget?,
        kind: kind?,
        line: r.doc.line(&v.span()),
    })
}

/// Whether `schedule = "<name>"` names a group of `[schedule.groups]` in foerderradar.toml.
fn schedule_group(r: &mut Report, key: &str, group: &Text, groups: Option<&[String]>) -> bool {
    let Some(groups) = groups else { return true };
    if groups.iter().any(|g| g == group.get_ref()) {
        return true;
    }
    let known = if groups.is_empty() {
        "foerderradar.toml defines no [schedule.groups]; add e.g. nightly = \"0 2 * * *\" there".to_string()
    } else {
        format!(
            "known groups (foerderradar.toml [schedule.groups]): {}",
            groups.join(", ")
        )
    };
    r.at(
        &group.span(),
        key,
        format!("unknown schedule group '{}'; {known}", group.get_ref()),
    );
    false
}

/// Splits a `[[source]]` table into its common keys and the kind's keys.
fn split<'i>(v: &Spanned<DeValue<'i>>) -> (Spanned<DeValue<'i>>, Spanned<DeValue<'i>>) {
    let (mut common, mut rest) = (DeTable::new(), DeTable::new());
    for (k, val) in v.get_ref().as_table().into_iter().flatten() {
        let side = if RawSource::COMMON_KEYS.contains(&k.get_ref().as_ref()) {
            &mut common
        } else {
            &mut rest
        };
        side.insert(k.clone(), val.clone());
    }
    let table = |t| Spanned::new(v.span(), DeValue::Table(t));
    (table(common), table(rest))
}

fn kind(r: &mut Report, kind: &Text, rest: &Spanned<DeValue<'_>>, key: &str, id: &str) -> Option<SourceKind> {
    let table: toml::Table = value(r, rest, key)?;
    match SourceKind::from_table(kind.get_ref(), table) {
        Ok(kind) => Some(kind),
        Err(message) if !SourceKind::NAMES.contains(&kind.get_ref().as_str()) => {
            r.at(&kind.span(), format!("{key}.kind"), message);
            None
        }
        Err(message) => {
            let (span, at) = kind_error_place(&message, rest).unwrap_or((kind.span(), "kind".into()));
            let message = format!(
                "{} (source \"{id}\", kind \"{}\")",
                message.lines().next().unwrap_or_default(),
                kind.get_ref()
            );
            r.at(&span, format!("{key}.{at}"), message);
            None
        }
    }
}

/// The key a kind's error names ("unknown field `x`" or "in `x`"), and where it stands.
fn kind_error_place(message: &str, rest: &Spanned<DeValue<'_>>) -> Option<(Range<usize>, String)> {
    let named = nested_key(message).or_else(|| message.split('`').nth(1).map(str::to_string))?;
    let top = named.split('.').next()?;
    let (k, v) = rest.get_ref().as_table()?.get_key_value(top)?;
    Some((if named.contains('.') { v.span() } else { k.span() }, named))
}

fn millis(r: &mut Report, v: Option<&Int>, key: &str) -> Option<Option<Duration>> {
    opt(v, |v| {
        count(r, Some(v), key, 0, MIN_DELAY_MS).map(Duration::from_millis)
    })
}

fn secs(r: &mut Report, v: Option<&Int>, key: &str) -> Option<Option<Duration>> {
    opt(v, |v| count(r, Some(v), key, 0, BUDGET_SECS).map(Duration::from_secs))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::load::tests::{FIXTURE, dir_with, error_at, errors_of, fixture, line_of};
    use crate::config::Config;

    const FILE: &str = "sources.toml";

    /// The fixture with a second source appended.
    fn with_source(extra: &str) -> (String, Vec<crate::config::ConfigError>) {
        let text = format!("{}\n[[source]]\n{extra}\n", fixture(FILE));
        let errors = match Config::load(dir_with(FILE, &text).path()) {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        };
        (text, errors)
    }

    #[test]
    fn fixture_source_is_read() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let s = &config.sources[0];
        assert!(s.enabled);
        assert_eq!(s.url.scheme(), "http");
        assert_eq!(s.line, line_of(&fixture(FILE), "[[source]]"));
    }

    #[test]
    fn duplicate_source_id_is_refused() {
        let (text, errors) =
            with_source("id = \"kreis-presse\"\nkind = \"rss\"\nurl = \"https://a.example.org/feed\"\nlabel = \"x\"");
        let e = error_at(&errors, "source[1].id");
        assert!(e.message.contains("duplicate source id"), "{e}");
        assert!(e.message.contains(&format!(
            "first used on line {}",
            line_of(&text, "id = \"kreis-presse\"")
        )));
    }

    #[test]
    fn url_must_be_http() {
        let errors = errors_of(FILE, "url = \"http", "url = \"ftp");
        assert!(error_at(&errors, "source[0].url").message.contains("http://"));
    }

    #[test]
    fn unknown_kind_is_refused_with_known_kinds() {
        let errors = errors_of(FILE, "kind = \"rss\"", "kind = \"atom\"");
        let e = error_at(&errors, "source[0].kind");
        assert!(
            e.message.contains("unknown kind 'atom'") && e.message.contains("eu-sedia"),
            "{e}"
        );
    }

    #[test]
    fn unknown_kind_specific_key_points_at_its_line() {
        let (text, errors) = with_source(
            "id = \"feed-b\"\nkind = \"rss\"\nurl = \"https://b.example.org/feed\"\nlabel = \"b\"\nselektor = \"div\"",
        );
        let e = error_at(&errors, "source[1].selektor");
        assert_eq!(e.line, line_of(&text, "selektor"));
        assert!(e.message.contains("unknown field `selektor`"), "{e}");
    }

    #[test]
    fn errors_of_all_sources_are_collected() {
        let (_, errors) = with_source(
            "id = \"Feed B\"\nkind = \"rss\"\nurl = \"mailto:x@example.org\"\nlabel = \"b\"\nmin_delay_ms = -5",
        );
        error_at(&errors, "source[1].id");
        error_at(&errors, "source[1].url");
        error_at(&errors, "source[1].min_delay_ms");
    }

    #[test]
    fn bad_css_selector_names_source_key_selector_and_reason() {
        for (selector, reason) in [
            ("div.call:hover2", "unsupported pseudo class or element"),
            ("div.call[", "ends too early"),
            ("div > > p", "dangling combinator"),
            ("::", "ends too early"),
        ] {
            let (text, errors) = with_source(&format!(
                "id = \"liste\"\nkind = \"html\"\nurl = \"https://b.example.org/\"\nlabel = \"b\"\ntitle = \"h3\"\nitem = '{selector}'"
            ));
            let e = error_at(&errors, "source[1].item");
            assert!(e.file.ends_with(FILE), "{e}");
            assert_eq!(e.line, line_of(&text, &format!("item = '{selector}'")), "{e}");
            for part in [selector, reason, "source \"liste\"", "option `item`"] {
                assert!(
                    e.message.to_lowercase().contains(&part.to_lowercase()),
                    "{part:?} not in: {e}"
                );
            }
            assert!(!e.message.contains("report this to the developer"), "{e}");
        }
    }

    #[test]
    fn kind_option_out_of_range_names_file_line_source_key_and_range() {
        for (kind, extra, key, bad, allowed) in [
            (
                "html",
                "item = \"li\"\ntitle = \"a\"\n",
                "max_pages",
                "5000",
                "allowed: 1 to 1000",
            ),
            ("foerderdatenbank", "", "max_pages", "-3", "allowed: 1 to 1000"),
            ("eu-sedia", "", "page_size", "101", "allowed: 1 to 100"),
            ("eu-sedia", "", "max_pages", "0", "allowed: 1 to 1000"),
        ] {
            let (text, errors) = with_source(&format!(
                "id = \"liste\"\nkind = \"{kind}\"\nurl = \"https://b.example.org/\"\nlabel = \"b\"\n{extra}{key} = {bad}"
            ));
            let e = error_at(&errors, &format!("source[1].{key}"));
            assert!(e.file.ends_with(FILE), "{e}");
            assert_eq!(e.line, line_of(&text, &format!("{key} = {bad}")), "{e}");
            for part in [bad, allowed, "source \"liste\"", kind] {
                assert!(e.message.contains(part), "{part:?} not in: {e}");
            }
        }
    }

    /// The fixture with `[schedule.groups]` in foerderradar.toml and a second source naming `group`.
    fn with_grouped_source(groups: &str, group: &str) -> (String, Result<Config, Vec<crate::config::ConfigError>>) {
        let service = format!("{}\n[schedule.groups]\n{groups}\n", fixture("foerderradar.toml"));
        let sources = format!(
            "{}\n[[source]]\nid = \"fdb\"\nkind = \"rss\"\nurl = \"https://b.example.org/feed\"\nlabel = \"b\"\nschedule = \"{group}\"\n",
            fixture(FILE)
        );
        let dir = dir_with(FILE, &sources);
        std::fs::write(dir.path().join("foerderradar.toml"), service).unwrap();
        (sources, Config::load(dir.path()).map_err(|e| e.0))
    }

    #[test]
    fn a_source_joins_a_schedule_group_by_name() {
        let (_, config) = with_grouped_source("nightly = \"0 2 * * *\"\nfeeds = \"0 */4 * * *\"", "nightly");
        let config = config.unwrap();
        let groups = &config.service.schedules.groups;
        let names: Vec<_> = groups.iter().map(|g| (g.name.as_str(), g.sources.clone())).collect();
        assert_eq!(names, [("feeds", vec![]), ("nightly", vec!["fdb".to_string()])]);
        assert_eq!(config.service.schedules.group_of("fdb").unwrap().cron.expr, "0 2 * * *");
        assert!(config.service.schedules.group_of("kreis-presse").is_none());
        let warnings = config.warnings().join("\n");
        assert!(
            warnings.contains("schedule group 'feeds' has no enabled source"),
            "{warnings}"
        );
        assert!(!warnings.contains("'nightly'"), "{warnings}");
    }

    #[test]
    fn an_unknown_schedule_group_is_refused_at_its_line() {
        let (text, errors) = with_grouped_source("nightly = \"0 2 * * *\"", "nachts");
        let errors = errors.unwrap_err();
        let e = error_at(&errors, "source[1].schedule");
        assert_eq!(e.line, line_of(&text, "schedule = \"nachts\""));
        assert!(
            e.message.contains("unknown schedule group 'nachts'") && e.message.contains("nightly"),
            "{e}"
        );
        let (_, errors) = Config::load(dir_with(FILE, &text).path())
            .map(|_| ((), Vec::new()))
            .unwrap_or_else(|e| ((), e.0));
        assert!(
            error_at(&errors, "source[1].schedule")
                .message
                .contains("defines no [schedule.groups]")
        );
    }

    #[test]
    fn a_bad_group_name_or_cron_line_is_refused() {
        let (_, errors) = with_grouped_source("Nachts = \"0 2 * * *\"\nfeeds = \"alle 4 Stunden\"", "feeds");
        let errors = errors.unwrap_err();
        assert!(
            error_at(&errors, "schedule.groups.Nachts")
                .message
                .contains("lowercase")
        );
        assert!(error_at(&errors, "schedule.groups.feeds").message.contains("fields"));
    }

    #[test]
    fn missing_common_key_is_named() {
        let (_, errors) = with_source("id = \"feed-c\"\nkind = \"rss\"\nlabel = \"c\"");
        assert!(error_at(&errors, "source[1]").message.contains("missing field `url`"));
    }
}
