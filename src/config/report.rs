//! What `foerderradar check` says about a valid config: warnings and a summary.

use std::fmt;

use super::{Config, ProjectKind};

/// Domains reserved for examples and tests (RFC 2606, RFC 6761): mail to
/// them never arrives, so over real SMTP it is a mistake.
const RESERVED: [&str; 6] = [
    "example.org",
    "example.com",
    "example.net",
    "example",
    "invalid",
    "test",
];

pub(super) fn warnings(config: &Config) -> Vec<String> {
    [
        reserved_addresses(config),
        password_env(config),
        store_password_env(config),
        disabled_sources(config),
        empty_fields(config),
    ]
    .into_iter()
    .flatten()
    .chain(idle_schedule_groups(config))
    .chain(kommunen_without_contact(config))
    .collect()
}

/// A `[schedule.groups]` entry that no enabled source names: its job would collect nothing.
fn idle_schedule_groups(config: &Config) -> impl Iterator<Item = String> + '_ {
    config
        .service
        .schedules
        .groups
        .iter()
        .filter(|g| !config.sources.iter().any(|s| s.enabled && g.sources.contains(&s.id)))
        .map(|g| {
            format!(
                "schedule group '{}' has no enabled source; add schedule = \"{}\" to a [[source]] in sources.toml",
                g.name, g.name
            )
        })
}

fn is_reserved(address: &str) -> bool {
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d).to_ascii_lowercase();
    RESERVED
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")))
}

fn reserved_addresses(config: &Config) -> Option<String> {
    config.service.smtp.as_ref()?;
    let contacts = config
        .kommunen
        .iter()
        .flat_map(|k| &k.contacts)
        .map(|c| c.email.as_str());
    let mut found: Vec<&str> = [config.service.sender.as_str(), config.service.admin.as_str()]
        .into_iter()
        .chain(contacts)
        .filter(|a| is_reserved(a))
        .collect();
    // The sender may also be the admin or a contact: duplicates need not be neighbours,
    // and addresses compare without case. The first occurrence keeps its place.
    let mut seen = std::collections::HashSet::new();
    found.retain(|a| seen.insert(a.to_ascii_lowercase()));
    let (n, shown) = (
        found.len(),
        found.iter().take(5).copied().collect::<Vec<_>>().join(", "),
    );
    (n > 0).then(|| {
        let more = if n > 5 { ", …" } else { "" };
        format!("[smtp] is configured, but {n} address(es) are under reserved example domains and will bounce over real SMTP: {shown}{more}")
    })
}

fn password_env(config: &Config) -> Option<String> {
    let name = config.service.smtp.as_ref()?.password_env.as_ref()?;
    std::env::var_os(name)
        .is_none()
        .then(|| format!("smtp.password_env names {name}, which is not set: the SMTP login will fail"))
}

fn store_password_env(config: &Config) -> Option<String> {
    let name = config.service.store.as_ref()?.password_env.as_ref()?;
    std::env::var_os(name)
        .is_none()
        .then(|| format!("store.password_env names {name}, which is not set: the PostgreSQL login will fail"))
}

fn disabled_sources(config: &Config) -> Option<String> {
    let off: Vec<&str> = config
        .sources
        .iter()
        .filter(|s| !s.enabled)
        .map(|s| s.id.as_str())
        .collect();
    if !off.is_empty() && off.len() == config.sources.len() {
        return Some(format!(
            "no source is enabled: collect and the daemon fetch nothing (disabled: {})",
            off.join(", ")
        ));
    }
    (!off.is_empty()).then(|| format!("{} source(s) disabled: {}", off.len(), off.join(", ")))
}

fn empty_fields(config: &Config) -> Option<String> {
    let s = &config.strategy;
    let empty: Vec<&str> = s
        .handlungsfelder
        .iter()
        .filter(|h| !s.projects.iter().any(|p| p.handlungsfeld == h.id))
        .map(|h| h.id.as_str())
        .collect();
    let subject = match empty.len() {
        0 => return None,
        1 => "1 Handlungsfeld has".to_string(),
        n => format!("{n} Handlungsfelder have"),
    };
    Some(format!(
        "{subject} no project yet: calls are caught by their own profile ({})",
        empty.join(", ")
    ))
}

fn kommunen_without_contact(config: &Config) -> impl Iterator<Item = String> + '_ {
    config
        .kommunen
        .iter()
        .filter(|k| k.contacts.is_empty())
        .map(|k| format!("kommune {} has no contact: its matches appear only in reports", k.id))
}

/// Counts shown by `foerderradar check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigSummary {
    pub sources: usize,
    pub enabled_sources: usize,
    pub handlungsfelder: usize,
    pub projects: usize,
    pub leitprojekte: usize,
    pub potenzialprojekte: usize,
    /// Projects known only from the press.
    pub unconfirmed: usize,
    /// Kommunen including the Kreis.
    pub kommunen: usize,
    pub contacts: usize,
}

pub(super) fn summary(config: &Config) -> ConfigSummary {
    let projects = &config.strategy.projects;
    let of_kind = |kind| projects.iter().filter(|p| p.kind == kind).count();
    ConfigSummary {
        sources: config.sources.len(),
        enabled_sources: config.sources.iter().filter(|s| s.enabled).count(),
        handlungsfelder: config.strategy.handlungsfelder.len(),
        projects: projects.len(),
        leitprojekte: of_kind(ProjectKind::Leitprojekt),
        potenzialprojekte: of_kind(ProjectKind::Potenzialprojekt),
        unconfirmed: projects.iter().filter(|p| !p.confirmed).count(),
        kommunen: config.kommunen.len(),
        contacts: config.kommunen.iter().map(|k| k.contacts.len()).sum(),
    }
}

impl fmt::Display for ConfigSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sources:          {} ({} enabled)",
            self.sources, self.enabled_sources
        )?;
        writeln!(f, "Handlungsfelder:  {}", self.handlungsfelder)?;
        writeln!(
            f,
            "projects:         {} ({} Leitprojekte, {} Potenzialprojekte; {} unconfirmed)",
            self.projects, self.leitprojekte, self.potenzialprojekte, self.unconfirmed
        )?;
        writeln!(f, "Kommunen:         {} (incl. the Kreis)", self.kommunen)?;
        write!(f, "contacts:         {}", self.contacts)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::load::tests::{FIXTURE, dir_with, fixture};
    use super::*;

    fn with_smtp(password_env: &str) -> Config {
        let text = format!(
            "{}\n[smtp]\nhost = \"mail.example.org\"\npassword_env = \"{password_env}\"\n",
            fixture("foerderradar.toml")
        );
        Config::load(dir_with("foerderradar.toml", &text).path()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reserved_domains() {
        for a in [
            "a@example.org",
            "a@ahlen.example.org",
            "a@x.EXAMPLE.com",
            "a@kreis.test",
            "a@b.invalid",
            "a@c.example",
        ] {
            assert!(is_reserved(a), "{a}");
        }
        for a in ["a@kreis-warendorf.de", "a@example.org.de", "a@notexample.org"] {
            assert!(!is_reserved(a), "{a}");
        }
    }

    #[test]
    fn fixture_without_smtp_warns_only_about_empty_fields() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let warnings = config.warnings();
        assert_eq!(
            warnings,
            vec!["1 Handlungsfeld has no project yet: calls are caught by their own profile (innenstadt-dorfmitte)"]
        );
    }

    #[test]
    fn smtp_with_example_addresses_and_unset_password_env() {
        let config = with_smtp("FOERDERRADAR_TEST_SURELY_UNSET_7F3A");
        let warnings = config.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("reserved example domains") && w.contains(&config.service.admin)),
            "{warnings:#?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("FOERDERRADAR_TEST_SURELY_UNSET_7F3A, which is not set")),
            "{warnings:#?}"
        );
        // The variable that is set is not mentioned.
        let config = with_smtp("PATH");
        assert!(!config.warnings().iter().any(|w| w.contains("password_env")));
    }

    #[test]
    fn reserved_addresses_are_counted_once_even_when_not_adjacent() {
        // The admin is also a contact; in the list the two are not neighbours.
        let service =
            fixture("foerderradar.toml").replace("admin@kreis.example.org", "foerdermittel@ahlen.example.org");
        let text = format!("{service}\n[smtp]\nhost = \"mail.example.org\"\n");
        let config = Config::load(dir_with("foerderradar.toml", &text).path()).unwrap_or_else(|e| panic!("{e}"));
        let warnings = config.warnings();
        let warning = warnings
            .iter()
            .find(|w| w.contains("reserved example domains"))
            .expect("a warning about example addresses");
        assert_eq!(
            warning.matches("foerdermittel@ahlen.example.org").count(),
            1,
            "{warning}"
        );
        assert!(warning.contains("4 address(es)"), "{warning}");
    }

    #[test]
    fn disabled_source_is_said() {
        let text = fixture("sources.toml").replace("enabled = true", "enabled = false");
        let config = Config::load(dir_with("sources.toml", &text).path()).unwrap();
        assert!(
            config
                .warnings()
                .iter()
                .any(|w| w == "no source is enabled: collect and the daemon fetch nothing (disabled: kreis-presse)")
        );
        assert_eq!(config.summary().enabled_sources, 0);
    }

    #[test]
    fn summary_counts() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let s = config.summary();
        assert_eq!(
            s,
            ConfigSummary {
                sources: 1,
                enabled_sources: 1,
                handlungsfelder: 2,
                projects: 1,
                leitprojekte: 1,
                potenzialprojekte: 0,
                unconfirmed: 0,
                kommunen: 2,
                contacts: config.kommunen.iter().map(|k| k.contacts.len()).sum(),
            }
        );
        assert!(
            s.to_string()
                .contains("projects:         1 (1 Leitprojekte, 0 Potenzialprojekte; 0 unconfirmed)")
        );
    }
}
