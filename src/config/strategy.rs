//! `strategy.toml`: Handlungsfelder, projects, rules and criteria.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use toml::Spanned;

use super::error::Report;
use super::fields::{count, count32, non_negative, number, one_of, opt, parsed};

// Documented ranges (config/README.md).
const MAX_THRESHOLD: f64 = 1000.0;
const WEIGHT: RangeInclusive<f64> = -100.0..=100.0;
const LEAD_DAYS: RangeInclusive<u32> = 0..=3650;
const MIN_AMOUNT_EUR: RangeInclusive<u64> = 0..=1_000_000_000_000;
/// Inhabitants of a Kommune, and the population criteria.
pub(super) const POPULATION: RangeInclusive<u32> = 0..=100_000_000;
use super::load::{Ids, entries, open, optional};
use super::raw::{Float, Int, RawCriteria, RawHandlungsfeld, RawProject, RawRule, Text};
use super::{Criteria, CriteriaOverride, Handlungsfeld, KommuneKind, Profile, Project, RuleSpec, Strategy};
use crate::model::ApplicantCategory;
use crate::rules::RuleSyntaxError;

/// Ids that `kommunen.toml` may refer to, known even when other parts of the
/// strategy are broken, so that its cross-references are still checked.
#[derive(Debug, Default)]
pub(super) struct KnownIds {
    pub handlungsfelder: Vec<String>,
    /// Project id and its Handlungsfeld.
    pub projects: Vec<(String, String)>,
}

pub(super) fn build(r: &mut Report) -> (Option<Strategy>, KnownIds) {
    let mut known = KnownIds::default();
    let Some(root) = open(r, &["criteria", "handlungsfeld", "project"]) else {
        return (None, known);
    };
    let criteria =
        optional::<Spanned<RawCriteria>>(r, &root, "criteria").map_or(Some(defaults()), |raw| global(r, &raw));
    let mut ids = Ids::new("Handlungsfeld");
    let handlungsfelder: Vec<_> = entries::<RawHandlungsfeld>(r, &root, "handlungsfeld")
        .into_iter()
        .map(|(i, raw)| handlungsfeld(r, i, raw, &mut ids, &mut known))
        .collect();
    let mut ids = Ids::new("project");
    let projects: Vec<_> = entries::<RawProject>(r, &root, "project")
        .into_iter()
        .map(|(i, raw)| project(r, i, raw, &mut ids, &mut known))
        .collect();
    let strategy = (|| {
        Some(Strategy {
            handlungsfelder: handlungsfelder.into_iter().collect::<Option<_>>()?,
            projects: projects.into_iter().collect::<Option<_>>()?,
            criteria: criteria?,
        })
    })();
    (strategy, known)
}

/// `list.id` when the id is readable, else `list[i]`.
pub(super) fn entry_key(list: &str, i: usize, id: &Text) -> String {
    let id = id.get_ref();
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        format!("{list}.{id}")
    } else {
        format!("{list}[{i}]")
    }
}

fn handlungsfeld(
    r: &mut Report,
    i: usize,
    raw: RawHandlungsfeld,
    ids: &mut Ids,
    known: &mut KnownIds,
) -> Option<Handlungsfeld> {
    let key = entry_key("handlungsfeld", i, &raw.id);
    let id_ok = ids.check(r, &raw.id, &format!("{key}.id"));
    if id_ok {
        known.handlungsfelder.push(raw.id.get_ref().clone());
    }
    let profile = profile(r, &key, &raw.threshold, &raw.rules);
    Some(Handlungsfeld {
        id: id_ok.then(|| raw.id.into_inner())?,
        name: raw.name,
        description: raw.description,
        profile: profile?,
    })
}

fn project(r: &mut Report, i: usize, raw: RawProject, ids: &mut Ids, known: &mut KnownIds) -> Option<Project> {
    let key = entry_key("project", i, &raw.id);
    let id_ok = ids.check(r, &raw.id, &format!("{key}.id"));
    let field_ok = known_handlungsfeld(r, &raw.handlungsfeld, &format!("{key}.handlungsfeld"), known);
    if id_ok {
        known
            .projects
            .push((raw.id.get_ref().clone(), raw.handlungsfeld.get_ref().clone()));
    }
    let kind = one_of(r, &raw.kind, &format!("{key}.type"));
    let profile = profile(r, &key, &raw.threshold, &raw.rules);
    let criteria = raw
        .criteria
        .as_ref()
        .map_or(Some(CriteriaOverride::default()), |c| project_criteria(r, c, &key));
    Some(Project {
        id: id_ok.then(|| raw.id.into_inner())?,
        name: raw.name,
        handlungsfeld: field_ok.then(|| raw.handlungsfeld.into_inner())?,
        kind: kind?,
        confirmed: raw.confirmed.unwrap_or(true),
        description: raw.description,
        profile: profile?,
        criteria: criteria?,
    })
}

fn known_handlungsfeld(r: &mut Report, id: &Text, key: &str, known: &KnownIds) -> bool {
    let found = known.handlungsfelder.contains(id.get_ref());
    if !found {
        let message = format!(
            "unknown Handlungsfeld '{}'; use one of the [[handlungsfeld]] ids: {}",
            id.get_ref(),
            known.handlungsfelder.join(", ")
        );
        r.at(&id.span(), key, message);
    }
    found
}

fn profile(r: &mut Report, key: &str, threshold: &Float, raw: &[RawRule]) -> Option<Profile> {
    let threshold = non_negative(r, threshold, &format!("{key}.threshold"))
        .and_then(|t| at_most(r, threshold, &format!("{key}.threshold"), t, MAX_THRESHOLD));
    let rules: Vec<_> = raw
        .iter()
        .enumerate()
        .map(|(j, rule)| rule_spec(r, &format!("{key}.rules[{j}]"), rule))
        .collect();
    Some(Profile {
        rules: rules.into_iter().collect::<Option<_>>()?,
        threshold: threshold?,
    })
}

fn rule_spec(r: &mut Report, key: &str, raw: &RawRule) -> Option<RuleSpec> {
    let weight = raw
        .weight
        .as_ref()
        .map_or(Some(1.0), |w| number(r, w, &format!("{key}.weight"), WEIGHT));
    let spec = RuleSpec::new(
        raw.expr.get_ref().clone(),
        weight.unwrap_or(1.0),
        PathBuf::from(&r.doc.file),
        r.doc.line(&raw.expr.span()),
    )
    .map_err(|e| rule_error(r, &raw.expr, key, e))
    .ok()?;
    weight.map(|_| spec)
}

/// Records a rule syntax error at the file column of the offending character.
fn rule_error(r: &mut Report, expr: &Text, key: &str, e: RuleSyntaxError) {
    let inner = expr.get_ref();
    let byte = inner
        .char_indices()
        .nth(e.position.saturating_sub(1))
        .map_or(inner.len(), |(b, _)| b);
    // Exact for literal strings; escapes in basic strings shift it slightly.
    let offset = expr.span().start + opening_len(&r.doc.text[expr.span().start..]) + byte;
    let message = format!("rule does not parse at {}of the expression: {}", place(&e), e.message);
    r.at_column(offset, key, message);
}

/// "column 18 " or, for a rule over several lines, "line 2, column 5 ".
fn place(e: &RuleSyntaxError) -> String {
    if e.line == 1 {
        format!("column {} ", e.column)
    } else {
        format!("line {}, column {} ", e.line, e.column)
    }
}

/// Length of the quotes (and, for multi-line strings, the trimmed newline) before a string's text.
fn opening_len(raw: &str) -> usize {
    if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        3 + [("\r\n", 2), ("\n", 1)]
            .iter()
            .find(|(nl, _)| raw[3..].starts_with(nl))
            .map_or(0, |(_, n)| *n)
    } else {
        1
    }
}

fn defaults() -> Criteria {
    Criteria {
        applicants: BTreeSet::from([
            ApplicantCategory::Kommune,
            ApplicantCategory::Kreis,
            ApplicantCategory::Zweckverband,
            ApplicantCategory::OeffentlicheEinrichtung,
        ]),
        home_regions: Vec::new(),
        elsewhere_regions: Vec::new(),
        min_lead_days: 7,
        min_funding_rate: None,
        min_amount_eur: None,
        exclude_funders: Vec::new(),
        prefer_funders: Vec::new(),
        kommune_kinds: None,
        population_min: None,
        population_max: None,
    }
}

fn global(r: &mut Report, raw: &Spanned<RawCriteria>) -> Option<Criteria> {
    let o = overrides(r, raw.get_ref(), "criteria")?;
    let home_regions = raw
        .get_ref()
        .home_regions
        .as_ref()
        .map(|h| h.get_ref().clone())
        .unwrap_or_default();
    let elsewhere_regions = elsewhere(r, raw.get_ref(), &home_regions);
    Some(Criteria {
        home_regions,
        elsewhere_regions,
        ..defaults().with(&o)
    })
}

/// The gazetteer `elsewhere_regions`: names of at least three letters, no
/// duplicates, none that is also a home region (a call naming it would be both).
fn elsewhere(r: &mut Report, raw: &RawCriteria, home: &[String]) -> Vec<String> {
    let Some(list) = &raw.elsewhere_regions else {
        return Vec::new();
    };
    let home: Vec<String> = home.iter().map(|h| crate::model::text::fold(h)).collect();
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, name) in list.get_ref().iter().enumerate() {
        let key = format!("criteria.elsewhere_regions[{i}]");
        let folded = crate::model::text::fold(name.get_ref());
        let problem = if folded.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
            Some(format!(
                "'{}' is too short; a region name needs at least 3 letters",
                name.get_ref()
            ))
        } else if seen.contains(&folded) {
            Some(format!("'{}' is listed twice", name.get_ref()))
        } else if home.contains(&folded) {
            Some(format!(
                "'{}' is also in home_regions; a region cannot be home and elsewhere",
                name.get_ref()
            ))
        } else {
            None
        };
        match problem {
            Some(message) => r.at(&name.span(), key, message),
            None => {
                seen.push(folded);
                out.push(name.get_ref().trim().to_string());
            }
        }
    }
    out
}

fn project_criteria(r: &mut Report, raw: &Spanned<RawCriteria>, project: &str) -> Option<CriteriaOverride> {
    let key = format!("{project}.criteria");
    if let Some(h) = &raw.get_ref().home_regions {
        r.at(
            &h.span(),
            format!("{key}.home_regions"),
            "home_regions is global; set it in [criteria], not per project",
        );
    }
    if let Some(h) = &raw.get_ref().elsewhere_regions {
        r.at(
            &h.span(),
            format!("{key}.elsewhere_regions"),
            "elsewhere_regions is global; set it in [criteria], not per project",
        );
    }
    overrides(r, raw.get_ref(), &key)
        .filter(|_| raw.get_ref().home_regions.is_none() && raw.get_ref().elsewhere_regions.is_none())
}

fn overrides(r: &mut Report, raw: &RawCriteria, key: &str) -> Option<CriteriaOverride> {
    let applicants = opt(raw.applicants.as_ref(), |a| {
        applicants(r, a, &format!("{key}.applicants"))
    });
    let kinds = opt(raw.kommune_kinds.as_ref(), |k| {
        kommune_kinds(r, k, &format!("{key}.kommune_kinds"))
    });
    let lead = optional_count(
        r,
        raw.min_lead_days.as_ref(),
        &format!("{key}.min_lead_days"),
        LEAD_DAYS,
    );
    let rate = opt(raw.min_funding_rate.as_ref(), |v| {
        percent(r, v, &format!("{key}.min_funding_rate"))
    });
    let amount = opt(raw.min_amount_eur.as_ref(), |v| {
        count(r, Some(v), &format!("{key}.min_amount_eur"), 0, MIN_AMOUNT_EUR)
    });
    let pop_min = optional_count(
        r,
        raw.population_min.as_ref(),
        &format!("{key}.population_min"),
        POPULATION,
    );
    let pop_max = optional_count(
        r,
        raw.population_max.as_ref(),
        &format!("{key}.population_max"),
        POPULATION,
    );
    let ordered = population_ordered(r, raw, key);
    ordered.then_some(())?;
    Some(CriteriaOverride {
        applicants: applicants?,
        min_lead_days: lead?,
        min_funding_rate: rate?,
        min_amount_eur: amount?,
        exclude_funders: raw.exclude_funders.clone(),
        prefer_funders: raw.prefer_funders.clone(),
        kommune_kinds: kinds?,
        population_min: pop_min?,
        population_max: pop_max?,
    })
}

fn applicants(r: &mut Report, list: &Spanned<Vec<Text>>, key: &str) -> Option<BTreeSet<ApplicantCategory>> {
    let parsed: Vec<Option<ApplicantCategory>> = list
        .get_ref()
        .iter()
        .enumerate()
        .map(|(i, v)| parsed(r, v, &format!("{key}[{i}]")))
        .collect();
    if list.get_ref().is_empty() {
        r.at(
            &list.span(),
            key,
            "is empty, so no call would fit; name at least one category, e.g. \"kommune\"",
        );
        return None;
    }
    parsed.into_iter().collect()
}

fn kommune_kinds(r: &mut Report, list: &[Text], key: &str) -> Option<BTreeSet<KommuneKind>> {
    let kinds: Vec<_> = list
        .iter()
        .enumerate()
        .map(|(i, v)| one_of(r, v, &format!("{key}[{i}]")))
        .collect();
    kinds.into_iter().collect()
}

fn optional_count(r: &mut Report, v: Option<&Int>, key: &str, range: RangeInclusive<u32>) -> Option<Option<u32>> {
    opt(v, |v| count32(r, Some(v), key, 0, range))
}

/// The upper end of a range whose lower end `non_negative` checked (its message says "negative").
fn at_most(r: &mut Report, v: &Float, key: &str, n: f64, max: f64) -> Option<f64> {
    if n <= max {
        return Some(n);
    }
    r.at(&v.span(), key, format!("{n} is out of range; allowed: 0 to {max}"));
    None
}

fn percent(r: &mut Report, v: &Float, key: &str) -> Option<f64> {
    let n = non_negative(r, v, key)?;
    if n > 100.0 {
        r.at(&v.span(), key, format!("{n} is not a percentage; use 0 to 100"));
        return None;
    }
    Some(n)
}

fn population_ordered(r: &mut Report, raw: &RawCriteria, key: &str) -> bool {
    if let (Some(min), Some(max)) = (&raw.population_min, &raw.population_max)
        && min.get_ref() > max.get_ref()
    {
        r.at(
            &min.span(),
            format!("{key}.population_min"),
            "is larger than population_max; swap them",
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::error::Doc;
    use super::super::load::tests::{FIXTURE, dir_with, error_at, errors_of, fixture, line_of};
    use super::*;
    use crate::config::{Config, ConfigError};

    const FILE: &str = "strategy.toml";

    fn appended(extra: &str) -> (String, Vec<ConfigError>) {
        let text = format!("{}\n{extra}\n", fixture(FILE));
        let errors = Config::load(dir_with(FILE, &text).path())
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        (text, errors)
    }

    #[test]
    fn fixture_strategy_is_read() {
        let config = Config::load(Path::new(FIXTURE)).unwrap();
        let s = &config.strategy;
        let project = &s.projects[0];
        assert_eq!(project.kind, crate::config::ProjectKind::Leitprojekt);
        assert!(s.handlungsfeld(&project.handlungsfeld).is_some());
        assert!(!project.profile.rules.is_empty());
        let rule = &project.profile.rules[0];
        assert_eq!(rule.line, line_of(&fixture(FILE), &rule.expr));
        assert!(s.criteria.applicants.contains(&ApplicantCategory::Kommune));
    }

    #[test]
    fn project_with_unknown_handlungsfeld() {
        let errors = errors_of(
            FILE,
            "handlungsfeld = \"verwaltung\"",
            "handlungsfeld = \"verwaltungg\"",
        );
        let e = error_at(&errors, "project.serviceportal.handlungsfeld");
        assert_eq!(e.line, line_of(&fixture(FILE), "handlungsfeld = \"verwaltung\""));
        assert!(e.message.contains("unknown Handlungsfeld 'verwaltungg'"), "{e}");
    }

    #[test]
    fn duplicate_handlungsfeld_and_project_ids() {
        let (_, errors) = appended(
            "[[handlungsfeld]]\nid = \"verwaltung\"\nname = \"x\"\nthreshold = 1.0\n\n\
             [[project]]\nid = \"serviceportal\"\nname = \"x\"\nhandlungsfeld = \"verwaltung\"\ntype = \"leitprojekt\"\nthreshold = 1.0",
        );
        assert!(
            error_at(&errors, "handlungsfeld.verwaltung.id")
                .message
                .contains("duplicate Handlungsfeld id")
        );
        assert!(
            error_at(&errors, "project.serviceportal.id")
                .message
                .contains("duplicate project id")
        );
    }

    #[test]
    fn negative_threshold_and_infinite_weight() {
        let (_, errors) = appended(
            "[[project]]\nid = \"p2\"\nname = \"x\"\nhandlungsfeld = \"verwaltung\"\ntype = \"potenzialprojekt\"\n\
             threshold = -1.0\nrules = [ { expr = 'a', weight = 1.0 }, { expr = 'b', weight = inf } ]",
        );
        assert!(error_at(&errors, "project.p2.threshold").message.contains("negative"));
        assert!(
            error_at(&errors, "project.p2.rules[1].weight")
                .message
                .contains("finite")
        );
    }

    #[test]
    fn unknown_project_type_and_applicant() {
        let (_, errors) = appended(
            "[[project]]\nid = \"p3\"\nname = \"x\"\nhandlungsfeld = \"verwaltung\"\ntype = \"pilot\"\nthreshold = 1.0\n\
             [project.criteria]\napplicants = [\"kommune\", \"gemeinde\"]\nmin_funding_rate = 120.0",
        );
        assert!(error_at(&errors, "project.p3.type").message.contains("\"leitprojekt\""));
        let e = error_at(&errors, "project.p3.criteria.applicants[1]");
        assert!(e.message.contains("unknown applicant category 'gemeinde'"), "{e}");
        assert!(
            error_at(&errors, "project.p3.criteria.min_funding_rate")
                .message
                .contains("percentage")
        );
    }

    #[test]
    fn project_criteria_override_is_read_and_home_regions_refused() {
        let (_, errors) = appended(
            "[[project]]\nid = \"p4\"\nname = \"x\"\nhandlungsfeld = \"verwaltung\"\ntype = \"leitprojekt\"\nthreshold = 1.0\n\
             [project.criteria]\nhome_regions = [\"Münsterland\"]",
        );
        assert!(
            error_at(&errors, "project.p4.criteria.home_regions")
                .message
                .contains("global")
        );
        let text = format!(
            "{}\n[[project]]\nid = \"p5\"\nname = \"x\"\nhandlungsfeld = \"verwaltung\"\ntype = \"leitprojekt\"\nthreshold = 1.0\n\
             [project.criteria]\nmin_lead_days = 14\nkommune_kinds = [\"stadt\"]\n",
            fixture(FILE)
        );
        let config = Config::load(dir_with(FILE, &text).path()).unwrap_or_else(|e| panic!("{e}"));
        let o = &config.strategy.project("p5").unwrap().criteria;
        assert_eq!(o.min_lead_days, Some(14));
        assert_eq!(o.kommune_kinds, Some(BTreeSet::from([KommuneKind::Stadt])));
        assert_eq!(config.strategy.criteria.with(o).min_lead_days, 14);
    }

    #[test]
    fn the_gazetteer_of_regions_elsewhere_is_read_and_checked() {
        let home = "home_regions = [\"Kreis Warendorf\", \"Münsterland\"]";
        let with = |list: &str| format!("{home}\nelsewhere_regions = {list}");
        let errors = errors_of(
            FILE,
            home,
            &with(r#"["Rheinisches Revier", "OW", "Ruhrgebiet", "ruhrgebiet", "Münsterland"]"#),
        );
        assert!(
            error_at(&errors, "criteria.elsewhere_regions[1]")
                .message
                .contains("too short")
        );
        assert!(
            error_at(&errors, "criteria.elsewhere_regions[3]")
                .message
                .contains("listed twice")
        );
        assert!(
            error_at(&errors, "criteria.elsewhere_regions[4]")
                .message
                .contains("also in home_regions")
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        let text = fixture(FILE).replace(home, &with(r#"["Rheinisches Revier", "Bayern"]"#));
        let config = Config::load(dir_with(FILE, &text).path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.strategy.criteria.elsewhere_regions,
            ["Rheinisches Revier", "Bayern"]
        );
        let (_, errors) = appended(
            "[[project]]\nid = \"p6\"\nname = \"x\"\nhandlungsfeld = \"verwaltung\"\ntype = \"leitprojekt\"\nthreshold = 1.0\n\
             [project.criteria]\nelsewhere_regions = [\"Ruhrgebiet\"]",
        );
        assert!(
            error_at(&errors, "project.p6.criteria.elsewhere_regions")
                .message
                .contains("global")
        );
    }

    #[test]
    fn rule_syntax_error_maps_to_file_line_and_column() {
        // The parser lives in `crate::rules`; the mapping of its error to a
        // position in the file is tested here directly.
        let text = "[[project]]\nrules = [\n  { expr = 'Onlinezugang* OR (OZG', weight = 2.0 },\n]\n";
        let doc = Doc::new("config/strategy.toml".into(), text.into());
        let start = text.find("'Online").unwrap();
        let expr = Spanned::new(start..start + 27, "Onlinezugang* OR (OZG".to_string());
        let mut errors = Vec::new();
        let e = RuleSyntaxError::at("Onlinezugang* OR (OZG", 18, "unclosed '('");
        rule_error(
            &mut Report {
                doc: &doc,
                errors: &mut errors,
            },
            &expr,
            "project.serviceportal.rules[0]",
            e,
        );
        let e = &errors[0];
        assert_eq!((e.line, e.column), (3, Some(30)));
        assert_eq!(&text.lines().nth(2).unwrap()[29..30], "(");
        assert_eq!(e.key, "project.serviceportal.rules[0]");
        assert!(e.message.contains("unclosed '('"));
    }

    #[test]
    fn opening_len_skips_quotes_and_trimmed_newline() {
        assert_eq!(opening_len("'a'"), 1);
        assert_eq!(opening_len("\"a\""), 1);
        assert_eq!(opening_len("'''\na'''"), 4);
        assert_eq!(opening_len("\"\"\"a\"\"\""), 3);
    }
}
