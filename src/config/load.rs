//! Loading: reads the four files, parses them with spans and hands each
//! top-level key or `[[table]]` entry to the builders one at a time, so that
//! every mistake of every file is reported in one go.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{Doc, Report};
use super::raw::Text;
use super::{Config, ConfigError, ConfigErrors, kommunen, service, sources, strategy};

pub(super) fn load(dir: &Path) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let service = read(dir, "foerderradar.toml", &mut errors).and_then(|doc| {
        service::build(&mut Report {
            doc: &doc,
            errors: &mut errors,
        })
    });
    let groups: Option<Vec<String>> = service
        .as_ref()
        .map(|s: &super::ServiceConfig| s.schedules.groups.iter().map(|g| g.name.clone()).collect());
    let sources = read(dir, "sources.toml", &mut errors).and_then(|doc| {
        sources::build(
            &mut Report {
                doc: &doc,
                errors: &mut errors,
            },
            groups.as_deref(),
        )
    });
    // Each group lists its sources, so the daemon collects a group without a lookup per source.
    let service = service.map(|mut service| {
        if let Some((_, members)) = &sources {
            for group in &mut service.schedules.groups {
                group.sources = members
                    .iter()
                    .filter(|(_, g)| *g == group.name)
                    .map(|(source, _)| source.clone())
                    .collect();
            }
        }
        service
    });
    let sources = sources.map(|(sources, _)| sources);
    let (strategy, known) = match read(dir, "strategy.toml", &mut errors) {
        Some(doc) => strategy::build(&mut Report {
            doc: &doc,
            errors: &mut errors,
        }),
        None => (None, strategy::KnownIds::default()),
    };
    let kommunen = read(dir, "kommunen.toml", &mut errors).and_then(|doc| {
        kommunen::build(
            &mut Report {
                doc: &doc,
                errors: &mut errors,
            },
            &known,
        )
    });
    match (service, sources, strategy, kommunen) {
        (Some(service), Some(sources), Some(strategy), Some((kommunen, member_regions))) if errors.is_empty() => {
            Ok(Config {
                dir: dir.to_path_buf(),
                service,
                sources,
                strategy,
                kommunen,
                member_regions,
            })
        }
        _ => Err(ConfigErrors(errors)),
    }
}

fn read(dir: &Path, name: &str, errors: &mut Vec<ConfigError>) -> Option<Doc> {
    let path = dir.join(name);
    let file = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(Doc::new(file, text)),
        Err(e) => {
            let doc = Doc::new(file, String::new());
            Report { doc: &doc, errors }.whole_file(format!("cannot read the file: {e}"));
            None
        }
    }
}

/// Parses the document and refuses top-level keys the file does not know.
pub(super) fn open<'d>(r: &mut Report<'d>, known: &[&str]) -> Option<DeTable<'d>> {
    let doc: &'d Doc = r.doc;
    let root = match DeTable::parse(&doc.text) {
        Ok(root) => root.into_inner(),
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            r.at_column(offset, "", format!("invalid TOML: {}", e.message()));
            return None;
        }
    };
    for key in root.keys().filter(|k| !known.contains(&k.get_ref().as_ref())) {
        let message = format!("unknown key; this file knows: {}", known.join(", "));
        r.at(&key.span(), key.get_ref(), message);
    }
    Some(root)
}

/// Deserializes one value on its own; a shape error (unknown key, wrong
/// type, missing key) is recorded at its line.
pub(super) fn value<T: DeserializeOwned>(r: &mut Report, v: &Spanned<DeValue<'_>>, key: &str) -> Option<T> {
    T::deserialize(ValueDeserializer::from(v.clone()))
        .map_err(|e| {
            let span = e.span().unwrap_or(v.span());
            let key = match nested_key(&e.to_string()) {
                Some(inner) if !key.is_empty() => format!("{key}.{inner}"),
                Some(inner) => inner,
                None => key.to_string(),
            };
            r.at(&span, key, shape_hint(e.message()));
        })
        .ok()
}

/// toml appends "in `a.b`" to the message of errors inside nested values.
pub(super) fn nested_key(display: &str) -> Option<String> {
    let rest = display.rsplit_once("\nin `")?.1;
    Some(rest.trim_end().trim_end_matches('`').to_string())
}

fn shape_hint(message: &str) -> String {
    if message.starts_with("unknown field") {
        format!("{message}; remove it or check its spelling")
    } else if message.starts_with("missing field") {
        format!("{message}; add it")
    } else {
        message.to_string()
    }
}

/// A top-level key that must be present.
pub(super) fn required<T: DeserializeOwned>(r: &mut Report, root: &DeTable<'_>, key: &str, example: &str) -> Option<T> {
    match root.get(key) {
        Some(v) => value(r, v, key),
        None => {
            r.at(&(0..0), key, format!("missing; add e.g. {example}"));
            None
        }
    }
}

/// A top-level key that may be absent. A malformed value is recorded and
/// read as absent (the load fails anyway).
pub(super) fn optional<T: DeserializeOwned>(r: &mut Report, root: &DeTable<'_>, key: &str) -> Option<T> {
    root.get(key).and_then(|v| value(r, v, key))
}

/// The tables of a `[[key]]` list with their index.
pub(super) fn tables<'v, 'i>(
    r: &mut Report,
    root: &'v DeTable<'i>,
    key: &str,
) -> Vec<(usize, &'v Spanned<DeValue<'i>>)> {
    let Some(list) = root.get(key) else {
        return Vec::new();
    };
    let Some(array) = list.get_ref().as_array() else {
        r.at(&list.span(), key, format!("must be a list of [[{key}]] tables"));
        return Vec::new();
    };
    let mut found = Vec::new();
    for (i, v) in array.iter().enumerate() {
        if v.get_ref().is_table() {
            found.push((i, v));
        } else {
            r.at(&v.span(), format!("{key}[{i}]"), format!("must be a [[{key}]] table"));
        }
    }
    found
}

/// The entries of a `[[key]]` list, each deserialized on its own, with its
/// index.
pub(super) fn entries<T: DeserializeOwned>(r: &mut Report, root: &DeTable<'_>, key: &str) -> Vec<(usize, T)> {
    tables(r, root, key)
        .into_iter()
        .filter_map(|(i, v)| value(r, v, &format!("{key}[{i}]")).map(|t| (i, t)))
        .collect()
}

/// Ids are lower-case slugs and unique within their list.
pub(super) struct Ids {
    what: &'static str,
    seen: HashMap<String, usize>,
}

impl Ids {
    pub fn new(what: &'static str) -> Self {
        Ids {
            what,
            seen: HashMap::new(),
        }
    }

    /// Records problems with `id`; returns whether it is usable as a key.
    pub fn check(&mut self, r: &mut Report, id: &Text, key: &str) -> bool {
        let (span, id) = (id.span(), id.get_ref());
        let slug = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug {
            r.at(
                &span,
                key,
                format!("{} id '{id}' must use only a-z, 0-9 and '-'", self.what),
            );
            return false;
        }
        let line = r.doc.line(&span);
        if let Some(first) = self.seen.insert(id.clone(), line) {
            self.seen.insert(id.clone(), first);
            r.at(
                &span,
                key,
                format!(
                    "duplicate {} id '{id}' (first used on line {first}); ids must be unique",
                    self.what
                ),
            );
            return false;
        }
        true
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::{Path, PathBuf};

    use super::super::{Config, ConfigError};

    pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/config-min");

    /// Copies the minimal fixture into a temp dir with one file replaced.
    pub fn dir_with(file: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in ["foerderradar.toml", "sources.toml", "strategy.toml", "kommunen.toml"] {
            std::fs::copy(Path::new(FIXTURE).join(name), dir.path().join(name)).unwrap();
        }
        std::fs::write(dir.path().join(file), text).unwrap();
        dir
    }

    pub fn fixture(file: &str) -> String {
        std::fs::read_to_string(Path::new(FIXTURE).join(file)).unwrap()
    }

    /// The fixture with `from` replaced by `to` in `file` (which must contain it).
    pub fn patched(file: &str, from: &str, to: &str) -> tempfile::TempDir {
        let text = fixture(file);
        assert!(text.contains(from), "{file} does not contain {from:?}");
        dir_with(file, &text.replacen(from, to, 1))
    }

    /// Loads a patched fixture and returns its errors (it must fail).
    pub fn errors_of(file: &str, from: &str, to: &str) -> Vec<ConfigError> {
        let dir = patched(file, from, to);
        match Config::load(dir.path()) {
            Ok(_) => panic!("{file} with {to:?} should not load"),
            Err(e) => e.0,
        }
    }

    /// The single error with this key; fails listing all errors otherwise.
    pub fn error_at<'a>(errors: &'a [ConfigError], key: &str) -> &'a ConfigError {
        let found: Vec<_> = errors.iter().filter(|e| e.key == key).collect();
        assert_eq!(found.len(), 1, "expected one error at {key}, got {errors:#?}");
        found[0]
    }

    /// 1-based line of the first occurrence of `needle` in the patched file.
    pub fn line_of(text: &str, needle: &str) -> usize {
        let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
        text[..at].matches('\n').count() + 1
    }

    #[test]
    fn minimal_fixture_loads() {
        let config = Config::load(Path::new(FIXTURE)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.strategy.handlungsfelder.len(), 2);
        assert_eq!(config.strategy.projects.len(), 1);
        assert_eq!(config.kommunen.len(), 2);
        assert_eq!(config.sources.len(), 1);
        assert_eq!(config.sources[0].kind.name(), "rss");
    }

    #[test]
    fn real_config_dir_loads() {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        if !dir.join("strategy.toml").exists() || !dir.join("sources.toml").exists() {
            eprintln!("skipped: config/strategy.toml or config/sources.toml not there yet");
            return;
        }
        let config = Config::load(&dir).unwrap_or_else(|e| panic!("config/ does not load:\n{e}"));
        assert_eq!(config.kommunen.len(), 14);
        assert_eq!(config.strategy.handlungsfelder.len(), 6);
    }

    #[test]
    fn missing_file_names_it() {
        let dir = dir_with("sources.toml", "");
        std::fs::remove_file(dir.path().join("sources.toml")).unwrap();
        let errors = Config::load(dir.path()).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].file.ends_with("sources.toml"));
        assert!(errors[0].message.starts_with("cannot read the file"));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let errors = errors_of("sources.toml", "enabled = true", "enabled = yes");
        let text = fixture("sources.toml");
        let e = &errors[0];
        assert_eq!(e.line, line_of(&text, "enabled = true"));
        assert_eq!(e.column, Some(11));
        assert!(e.message.starts_with("invalid TOML"), "{e}");
    }

    #[test]
    fn unknown_keys_are_reported_in_every_entry() {
        let text = fixture("kommunen.toml").replace("kind = \"stadt\"", "kind = \"stadt\"\nmayor = \"x\"");
        let dir = dir_with("kommunen.toml", &text);
        let errors = Config::load(dir.path()).unwrap_err().0;
        let unknown: Vec<_> = errors
            .iter()
            .filter(|e| e.message.contains("unknown field `mayor`"))
            .collect();
        assert_eq!(unknown.len(), text.matches("mayor").count(), "{errors:#?}");
        assert_eq!(unknown[0].line, line_of(&text, "mayor"));
    }

    #[test]
    fn errors_of_all_files_are_reported_one_per_line() {
        let dir = patched("sources.toml", "url = \"http", "url = \"ftp");
        let kommunen = fixture("kommunen.toml").replacen("@ahlen", "(at)ahlen", 1);
        std::fs::write(dir.path().join("kommunen.toml"), &kommunen).unwrap();
        let shown = Config::load(dir.path()).unwrap_err().to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 2, "{shown}");
        let sources = dir.path().join("sources.toml").display().to_string();
        let url_line = line_of(&fixture("sources.toml"), "url =");
        assert!(
            lines[0].starts_with(&format!("{sources}:{url_line}: source[0].url: ")),
            "{shown}"
        );
        let email_line = line_of(&kommunen, "(at)ahlen");
        assert!(
            lines[1].contains(&format!("kommunen.toml:{email_line}: kommune.ahlen.contact[0].email: ")),
            "{shown}"
        );
    }

    #[test]
    fn unknown_top_level_key_is_reported() {
        let errors = errors_of("sources.toml", "[[source]]", "[[sorce]]");
        let e = error_at(&errors, "sorce");
        assert!(e.message.contains("this file knows: source"), "{e}");
    }
}
