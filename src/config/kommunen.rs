//! `kommunen.toml`: regions, the Kreis and its Kommunen, their interests and contacts.
//!
//! Interests: a Kommune without `interests` follows every Handlungsfeld and
//! every project. A contact without `handlungsfelder`/`projects` gets the
//! Kommune's interests; with them, it can only narrow: naming something the
//! Kommune does not follow is an error (not a silent drop), because the
//! contact would otherwise never get what the file promises.

use std::collections::BTreeSet;
use std::ops::Range;

use super::error::Report;
use super::fields::{count32, email, one_of, opt, parsed};
use super::strategy::POPULATION;

/// Inhabitants of a Kommune: at least one, at most the population criteria's bound.
const INHABITANTS: std::ops::RangeInclusive<u32> = 1..=*POPULATION.end();
use super::load::{Ids, entries, open};
use super::raw::{RawContact, RawKommune, RawMembership, RawRegion, Text};
use super::strategy::{KnownIds, entry_key};
use super::{Contact, Interests, Kommune, KommuneKind, MemberRegion, Membership};

pub(super) fn build(r: &mut Report, known: &KnownIds) -> Option<(Vec<Kommune>, Vec<MemberRegion>)> {
    let root = open(r, &["region", "kommune"])?;
    let mut ids = Ids::new("region");
    let regions: Vec<_> = entries::<RawRegion>(r, &root, "region")
        .into_iter()
        .map(|(_, raw)| region(r, raw, &mut ids))
        .collect();
    let region_ids: Vec<String> = regions.iter().flatten().map(|g| g.id.clone()).collect();
    let mut ids = Ids::new("Kommune");
    let kommunen: Vec<_> = entries::<RawKommune>(r, &root, "kommune")
        .into_iter()
        .map(|(i, raw)| kommune(r, &entry_key("kommune", i, &raw.id), raw, &mut ids, &region_ids, known))
        .collect();
    if kommunen.is_empty() {
        // No Kommune means no contact: every match would go nowhere.
        r.whole_file(
            "defines no [[kommune]]: nobody would receive a digest; add the Kommunen with \
             [[kommune]] id, name, kind, ags and their [[kommune.contact]] entries",
        );
        return None;
    }
    Some((
        kommunen.into_iter().collect::<Option<_>>()?,
        regions.into_iter().collect::<Option<_>>()?,
    ))
}

fn region(r: &mut Report, raw: RawRegion, ids: &mut Ids) -> Option<MemberRegion> {
    let key = format!("region.{}.id", raw.id.get_ref());
    let id_ok = ids.check(r, &raw.id, &key);
    Some(MemberRegion {
        id: id_ok.then(|| raw.id.into_inner())?,
        name: raw.name,
        aliases: raw.aliases,
    })
}

fn kommune(
    r: &mut Report,
    key: &str,
    raw: RawKommune,
    ids: &mut Ids,
    regions: &[String],
    known: &KnownIds,
) -> Option<Kommune> {
    let id_ok = ids.check(r, &raw.id, &format!("{key}.id"));
    let kind = one_of(r, &raw.kind, &format!("{key}.kind"));
    let ags = ags(r, &raw.ags, kind, &format!("{key}.ags"));
    let population = opt(raw.population.as_ref(), |p| {
        count32(r, Some(p), &format!("{key}.population"), 0, INHABITANTS)
    });
    let mks = mittlere_kreisangehoerige_stadt(r, &raw, kind, key);
    let memberships: Vec<_> = raw
        .memberships
        .iter()
        .enumerate()
        .map(|(i, m)| membership(r, m, regions, &format!("{key}.memberships[{i}]")))
        .collect();
    let interests = match &raw.interests {
        Some(i) => {
            let (fields, projects) = (&i.get_ref().handlungsfelder, &i.get_ref().projects);
            explicit(r, fields, projects, (&i.span(), &format!("{key}.interests")), known)
        }
        None => Some(everything(known)),
    };
    let contacts = interests
        .as_ref()
        .and_then(|interests| contacts(r, &raw.contact, interests, key, known));
    Some(Kommune {
        id: id_ok.then(|| raw.id.into_inner())?,
        name: raw.name,
        kind: kind?,
        ags: ags?,
        population: population?,
        mittlere_kreisangehoerige_stadt: mks?,
        memberships: memberships.into_iter().collect::<Option<_>>()?,
        interests: interests?,
        contacts: contacts?,
    })
}

/// 8 digits for a Stadt or Gemeinde (AGS), 5 for the Kreis (Kreisschlüssel).
fn ags(r: &mut Report, v: &Text, kind: Option<KommuneKind>, key: &str) -> Option<String> {
    let digits = if kind == Some(KommuneKind::Kreis) { 5 } else { 8 };
    let value = v.get_ref();
    if value.len() == digits && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.clone());
    }
    let what = if digits == 5 {
        "Kreisschlüssel of a Kreis"
    } else {
        "Amtlicher Gemeindeschlüssel"
    };
    r.at(
        &v.span(),
        key,
        format!(
            "'{value}' is not a {what}: write {digits} digits as a string, e.g. \"{}\"",
            &"05570004"[..digits]
        ),
    );
    None
}

fn mittlere_kreisangehoerige_stadt(
    r: &mut Report,
    raw: &RawKommune,
    kind: Option<KommuneKind>,
    key: &str,
) -> Option<bool> {
    let Some(flag) = &raw.mittlere_kreisangehoerige_stadt else {
        return Some(false);
    };
    if *flag.get_ref() && kind.is_some_and(|k| k != KommuneKind::Stadt) {
        let message = "only a Stadt can be a Mittlere kreisangehörige Stadt; set kind = \"stadt\" or remove the flag";
        r.at(&flag.span(), format!("{key}.mittlere_kreisangehoerige_stadt"), message);
        return None;
    }
    Some(*flag.get_ref())
}

fn membership(r: &mut Report, raw: &RawMembership, regions: &[String], key: &str) -> Option<Membership> {
    if !regions.contains(raw.region.get_ref()) {
        let message = format!(
            "unknown region '{}'; declare it as [[region]] or use one of: {}",
            raw.region.get_ref(),
            regions.join(", ")
        );
        r.at(&raw.region.span(), format!("{key}.region"), message);
        return None;
    }
    Some(Membership {
        region: raw.region.get_ref().clone(),
        partial: raw.partial.clone(),
    })
}

/// Every Handlungsfeld and every project.
fn everything(known: &KnownIds) -> Interests {
    Interests {
        handlungsfelder: known.handlungsfelder.iter().cloned().collect(),
        projects: known.projects.iter().map(|(p, _)| p.clone()).collect(),
    }
}

/// The named Handlungsfelder and projects, plus every project of a named
/// Handlungsfeld (so `projects` lists all a subscriber follows).
fn explicit(
    r: &mut Report,
    fields: &[Text],
    projects: &[Text],
    (span, key): (&Range<usize>, &str),
    known: &KnownIds,
) -> Option<Interests> {
    let fields = names(
        r,
        fields,
        &format!("{key}.handlungsfelder"),
        "Handlungsfeld",
        &known.handlungsfelder,
    );
    let project_ids: Vec<String> = known.projects.iter().map(|(p, _)| p.clone()).collect();
    let projects = names(r, projects, &format!("{key}.projects"), "project", &project_ids);
    let (fields, mut projects) = (fields?, projects?);
    if fields.is_empty() && projects.is_empty() {
        r.at(
            span,
            key,
            "follows nothing; name Handlungsfelder or projects, or leave it out to follow everything",
        );
        return None;
    }
    projects.extend(
        known
            .projects
            .iter()
            .filter(|(_, hf)| fields.contains(hf))
            .map(|(p, _)| p.clone()),
    );
    Some(Interests {
        handlungsfelder: fields,
        projects,
    })
}

fn names(r: &mut Report, list: &[Text], key: &str, what: &str, known: &[String]) -> Option<BTreeSet<String>> {
    let mut ok = true;
    for (i, v) in list.iter().enumerate().filter(|(_, v)| !known.contains(v.get_ref())) {
        let message = format!("unknown {what} '{}'; known: {}", v.get_ref(), known.join(", "));
        r.at(&v.span(), format!("{key}[{i}]"), message);
        ok = false;
    }
    ok.then(|| list.iter().map(|v| v.get_ref().clone()).collect())
}

fn contacts(
    r: &mut Report,
    raw: &[RawContact],
    interests: &Interests,
    key: &str,
    known: &KnownIds,
) -> Option<Vec<Contact>> {
    let mut seen = BTreeSet::new();
    let contacts: Vec<_> = raw
        .iter()
        .enumerate()
        .map(|(i, c)| contact(r, c, interests, &format!("{key}.contact[{i}]"), known, &mut seen))
        .collect();
    contacts.into_iter().collect()
}

fn contact(
    r: &mut Report,
    raw: &RawContact,
    kommune: &Interests,
    key: &str,
    known: &KnownIds,
    seen: &mut BTreeSet<String>,
) -> Option<Contact> {
    let address = email(r, &raw.email, &format!("{key}.email"));
    if let Some(a) = &address
        && !seen.insert(a.to_lowercase())
    {
        r.at(
            &raw.email.span(),
            format!("{key}.email"),
            format!("{a} is already a contact of this Kommune; it would get every digest twice"),
        );
    }
    let interests = if raw.handlungsfelder.is_none() && raw.projects.is_none() {
        Some(kommune.clone())
    } else {
        let (fields, projects) = (
            raw.handlungsfelder.as_deref().unwrap_or_default(),
            raw.projects.as_deref().unwrap_or_default(),
        );
        explicit(r, fields, projects, (&raw.email.span(), key), known)
            .filter(|_| narrows(r, fields, projects, kommune, key))
    };
    let cadence = match &raw.cadence {
        None => Some(crate::model::contact::Cadence::default()),
        Some(v) => parsed(r, v, &format!("{key}.cadence")),
    };
    let paused_until = match &raw.paused_until {
        None => Some(None),
        Some(v) => r
            .check(
                chrono::NaiveDate::parse_from_str(v.get_ref().trim(), "%Y-%m-%d")
                    .map_err(|_| format!("'{}' is not a date; write it as YYYY-MM-DD", v.get_ref())),
                &v.span(),
                format!("{key}.paused_until"),
            )
            .map(Some),
    };
    Some(Contact {
        name: raw.name.clone(),
        email: address?,
        interests: interests?,
        cadence: cadence?,
        paused_until: paused_until?,
    })
}

/// A contact can only narrow the Kommune's interests.
fn narrows(r: &mut Report, fields: &[Text], projects: &[Text], kommune: &Interests, key: &str) -> bool {
    let outside_fields = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !kommune.handlungsfelder.contains(f.get_ref()));
    let outside_projects = projects
        .iter()
        .enumerate()
        .filter(|(_, p)| !kommune.projects.contains(p.get_ref()));
    let mut ok = true;
    for (list, (i, v)) in outside_fields
        .map(|f| ("handlungsfelder", f))
        .chain(outside_projects.map(|p| ("projects", p)))
    {
        let message = format!(
            "the Kommune does not follow '{}'; a contact can only narrow the Kommune's interests: add it to the Kommune's interests or remove it here",
            v.get_ref()
        );
        r.at(&v.span(), format!("{key}.{list}[{i}]"), message);
        ok = false;
    }
    ok
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::load::tests::{FIXTURE, dir_with, error_at, errors_of, fixture, line_of};
    use super::*;
    use crate::config::{Config, ConfigError};

    const FILE: &str = "kommunen.toml";

    fn load(text: &str) -> Result<Config, Vec<ConfigError>> {
        Config::load(dir_with(FILE, text).path()).map_err(|e| e.0)
    }

    fn appended(extra: &str) -> Result<Config, Vec<ConfigError>> {
        load(&format!("{}\n{extra}\n", fixture(FILE)))
    }

    /// A strategy with the fixed Handlungsfeld and project ids of the deployment.
    fn strategy_with_fixed_ids() -> String {
        let fields = [
            (
                "digitale-infrastruktur",
                vec!["lorawan", "datenplattform", "app-infrastruktur"],
            ),
            ("klima-mobilitaet-umwelt", vec![]),
            ("familie-bildung-lebensqualitaet", vec![]),
            (
                "verwaltung",
                vec![
                    "digitalkompetenz-verwaltung",
                    "serviceportal",
                    "service-design-team",
                    "daten-ki-potenzialanalyse",
                    "cloud-service-plattform",
                ],
            ),
            ("wirtschaft-arbeit", vec![]),
            (
                "innenstadt-dorfmitte",
                vec!["citymarketing-socialmedia", "raumvermittlung", "dorfladenbox"],
            ),
        ];
        let mut text = String::new();
        for (field, projects) in &fields {
            text += &format!("[[handlungsfeld]]\nid = \"{field}\"\nname = \"{field}\"\nthreshold = 1.0\n");
            for p in projects {
                text += &format!(
                    "[[project]]\nid = \"{p}\"\nname = \"{p}\"\nhandlungsfeld = \"{field}\"\ntype = \"leitprojekt\"\nthreshold = 1.0\n"
                );
            }
        }
        text
    }

    #[test]
    fn deployment_files_load_with_the_strategy_ids() {
        let config_dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let dir = dir_with("strategy.toml", &strategy_with_fixed_ids());
        for name in ["foerderradar.toml", "kommunen.toml"] {
            std::fs::copy(config_dir.join(name), dir.path().join(name)).unwrap();
        }
        let config = Config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.kommunen.len(), 14);
        let kreis: Vec<_> = config
            .kommunen
            .iter()
            .filter(|k| k.kind == KommuneKind::Kreis)
            .collect();
        assert_eq!((kreis.len(), kreis[0].ags.as_str()), (1, "05570"));
        let mks: Vec<_> = config
            .kommunen
            .iter()
            .filter(|k| k.mittlere_kreisangehoerige_stadt)
            .map(|k| k.id.as_str())
            .collect();
        assert_eq!(mks, ["ahlen", "beckum", "oelde", "warendorf"]);
        let in_9plus = config
            .kommunen
            .iter()
            .filter(|k| k.memberships.iter().any(|m| m.region == "leader-9plus"))
            .count();
        assert_eq!(in_9plus, 10);
        let warendorf = &config.kommune("warendorf").unwrap().memberships[0];
        assert!(warendorf.partial.as_deref().unwrap().contains("Freckenhorst"));
        for k in &config.kommunen {
            assert_eq!(
                (k.interests.handlungsfelder.len(), k.interests.projects.len()),
                (6, 11),
                "{}",
                k.id
            );
            assert!(!k.contacts.is_empty(), "{}", k.id);
        }
        let gfw = config
            .kommune("kreis-warendorf")
            .unwrap()
            .contacts
            .iter()
            .find(|c| c.email.contains("gfw"))
            .unwrap();
        assert_eq!(gfw.interests.handlungsfelder.len(), 2);
        assert!(gfw.interests.covers("digitale-infrastruktur", Some("lorawan")));
        assert!(!gfw.interests.covers("verwaltung", Some("serviceportal")));
        assert_eq!(config.service.data_dir.as_deref(), Some(Path::new("data")));
        assert!(config.service.smtp.is_none());
    }

    #[test]
    fn kommune_without_interests_follows_everything() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let all_fields: BTreeSet<_> = config.strategy.handlungsfelder.iter().map(|h| h.id.clone()).collect();
        let all_projects: BTreeSet<_> = config.strategy.projects.iter().map(|p| p.id.clone()).collect();
        for kommune in &config.kommunen {
            assert_eq!(kommune.interests.handlungsfelder, all_fields, "{}", kommune.id);
            assert_eq!(kommune.interests.projects, all_projects, "{}", kommune.id);
        }
    }

    #[test]
    fn contact_without_subscription_inherits_and_with_one_narrows() {
        let config = appended(
            "[[kommune]]\nid = \"telgte\"\nname = \"Telgte\"\nkind = \"stadt\"\nags = \"05570044\"\n\
             interests = { handlungsfelder = [\"verwaltung\", \"innenstadt-dorfmitte\"] }\n\
             [[kommune.contact]]\nname = \"Alle\"\nemail = \"alle@telgte.example.org\"\n\
             [[kommune.contact]]\nname = \"Portal\"\nemail = \"portal@telgte.example.org\"\nprojects = [\"serviceportal\"]",
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        let telgte = config.kommune("telgte").unwrap();
        assert_eq!(telgte.contacts[0].interests, telgte.interests);
        // Naming the Handlungsfeld brings its projects along.
        assert!(telgte.interests.projects.contains("serviceportal"));
        let portal = &telgte.contacts[1].interests;
        assert!(portal.handlungsfelder.is_empty());
        assert_eq!(portal.projects, BTreeSet::from(["serviceportal".to_string()]));
        assert!(portal.covers("verwaltung", Some("serviceportal")));
        assert!(!portal.covers("verwaltung", None));
    }

    #[test]
    fn contact_cannot_widen_the_kommune() {
        let errors = appended(
            "[[kommune]]\nid = \"telgte\"\nname = \"Telgte\"\nkind = \"stadt\"\nags = \"05570044\"\n\
             interests = { projects = [\"serviceportal\"] }\n\
             [[kommune.contact]]\nname = \"Innenstadt\"\nemail = \"innenstadt@telgte.example.org\"\nhandlungsfelder = [\"innenstadt-dorfmitte\"]",
        )
        .unwrap_err();
        let e = error_at(&errors, "kommune.telgte.contact[0].handlungsfelder[0]");
        assert!(e.message.contains("can only narrow"), "{e}");
    }

    #[test]
    fn unknown_names_in_interests_and_subscriptions() {
        let errors = appended(
            "[[kommune]]\nid = \"telgte\"\nname = \"Telgte\"\nkind = \"stadt\"\nags = \"05570044\"\n\
             interests = { handlungsfelder = [\"bildung\"], projects = [\"lorawan\"] }\n\
             [[kommune.contact]]\nname = \"x\"\nemail = \"x@telgte.example.org\"\nprojects = [\"dorfladenbox\"]",
        )
        .unwrap_err();
        assert!(
            error_at(&errors, "kommune.telgte.interests.handlungsfelder[0]")
                .message
                .contains("unknown Handlungsfeld 'bildung'")
        );
        assert!(
            error_at(&errors, "kommune.telgte.interests.projects[0]")
                .message
                .contains("unknown project 'lorawan'")
        );
        let text = fixture(FILE);
        let errors = load(&text.replacen("email = \"", "projects = [\"dorfladenbox\"]\nemail = \"", 1)).unwrap_err();
        let e = errors
            .iter()
            .find(|e| e.key.ends_with(".contact[0].projects[0]"))
            .unwrap_or_else(|| panic!("{errors:#?}"));
        assert!(e.message.contains("unknown project 'dorfladenbox'"));
    }

    #[test]
    fn malformed_contact_email_points_at_its_line() {
        let text = fixture(FILE);
        let errors = errors_of(FILE, "@ahlen.example.org\"", "(at)ahlen.example.org\"");
        let e = errors
            .iter()
            .find(|e| e.key.ends_with(".email"))
            .unwrap_or_else(|| panic!("{errors:#?}"));
        assert_eq!(e.key, "kommune.ahlen.contact[0].email");
        assert_eq!(e.line, line_of(&text, "@ahlen.example.org"));
    }

    #[test]
    fn ags_digits_depend_on_kind() {
        let errors = errors_of(FILE, "ags = \"05570004\"", "ags = \"5570004\"");
        assert!(error_at(&errors, "kommune.ahlen.ags").message.contains("8 digits"));
        let errors = errors_of(FILE, "ags = \"05570\"", "ags = \"05570000\"");
        let e = errors
            .iter()
            .find(|e| e.key.ends_with(".ags"))
            .unwrap_or_else(|| panic!("{errors:#?}"));
        assert!(e.message.contains("5 digits"), "{e}");
    }

    #[test]
    fn unknown_region_and_duplicate_ids() {
        let errors = errors_of(FILE, "region = \"leader-test\"", "region = \"leader-x\"");
        assert!(
            errors
                .iter()
                .any(|e| e.key.ends_with(".memberships[0].region") && e.message.contains("unknown region 'leader-x'"))
        );
        let errors = appended("[[region]]\nid = \"leader-test\"\nname = \"x\"\n[[kommune]]\nid = \"ahlen\"\nname = \"x\"\nkind = \"stadt\"\nags = \"05570004\"").unwrap_err();
        assert!(
            error_at(&errors, "region.leader-test.id")
                .message
                .contains("duplicate region id")
        );
        assert!(
            error_at(&errors, "kommune.ahlen.id")
                .message
                .contains("duplicate Kommune id")
        );
    }

    #[test]
    fn duplicate_contact_address_in_one_kommune() {
        let errors = appended(
            "[[kommune]]\nid = \"telgte\"\nname = \"Telgte\"\nkind = \"stadt\"\nags = \"05570044\"\n\
             [[kommune.contact]]\nname = \"a\"\nemail = \"a@telgte.example.org\"\n\
             [[kommune.contact]]\nname = \"b\"\nemail = \"A@telgte.example.org\"",
        )
        .unwrap_err();
        assert!(
            error_at(&errors, "kommune.telgte.contact[1].email")
                .message
                .contains("twice")
        );
    }
}
