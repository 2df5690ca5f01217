//! Matching calls against the strategy: keyword rules (see [`rules`]) give each
//! Handlungsfeld profile and project a score; criteria (see [`criteria`])
//! decide whether the call is usable and for which Kommunen.
//!
//! [`Matcher::new`] compiles every rule once into one [`index::Index`];
//! [`Matcher::match_call`] folds a call once, runs one automaton over it and
//! evaluates only the rules whose terms occur.

mod boolean;
pub mod criteria;
pub mod eval;
mod explain;
mod index;
pub mod preview;
mod stems;
mod zones;

use chrono::NaiveDate;

use crate::rules::Field;
pub use crate::rules::Normalization;
pub use boolean::{BooleanMatcher, ExprError};
pub use explain::{Explanation, KommuneRouting, ProfileExplanation, RuleExplanation, TermHit};

use crate::config::{Config, Criteria, Kommune};
use crate::model::german::format_decimal;
use crate::model::reason::{Hit, PartialMember, Reason};
use crate::model::{Call, Match};
use criteria::{CriterionResult, NotRouted, RegionBook, RegionScope};
pub use index::Doc;
use index::{Index, RuleOutcome};

/// Profiles scoring at least this share of their threshold are kept as near misses.
pub const NEAR_MISS_SHARE: f64 = 0.5;

/// Why the matcher could not be built. Rules cannot fail here: the config
/// holds them parsed ([`crate::config::RuleSpec`]).
#[derive(Debug, thiserror::Error)]
pub enum MatchSetupError {
    #[error("project '{project}' names unknown Handlungsfeld '{handlungsfeld}'")]
    UnknownHandlungsfeld { project: String, handlungsfeld: String },
}

/// One keyword profile: a Handlungsfeld's own or a project's.
#[derive(Debug, Clone)]
struct ProfileInfo {
    handlungsfeld: String,
    project: Option<String>,
    name: String,
    threshold: f64,
    criteria: Criteria,
    /// Index of `criteria` among the distinct criteria, so call-level checks run once per call.
    criteria_group: usize,
    /// For a project, its core rule: the positive rule of the highest weight (the
    /// first of equal ones). The project passes only when it holds ([`Assessment::core_missing`]).
    core_rule: Option<u32>,
}

/// The strategy compiled for matching.
pub struct Matcher {
    index: Index,
    profiles: Vec<ProfileInfo>,
    kommunen: Vec<Kommune>,
    regions: RegionBook,
    criteria_groups: usize,
    /// Per profile and Kommune, the call-independent part of the routing.
    static_routes: Vec<Vec<Result<(), NotRouted>>>,
}

/// Full-text evidence counts at most this share of a profile's threshold when
/// the title and summary do not speak for its Handlungsfeld (but have a say:
/// a summary exists or they speak for another one), so one incidental word in
/// a long text cannot carry a field; the title and summary must carry the rest.
pub const TEXT_CAP_SHARE: f64 = 0.75;

/// When the title and summary speak for no Handlungsfeld at all (a generic
/// "Aufruf 2027" with a summary that names no topic), a full text that names at
/// least this many distinct terms of a profile states the call's aim and is not
/// capped: one incidental word is not a theme, three are (thirteenth round).
pub const TEXT_AIM_TERMS: usize = 3;

/// A Handlungsfeld passes only when its strength (best score ÷ pass mark of its
/// profile and projects) reaches this share of the call's strongest Handlungsfeld
/// profile's strength, counted at most [`STRENGTH_CAP`]. Chosen on the tuning
/// part of the labelled set (README, "Matching").
pub const RELATIVE_SHARE: f64 = 0.5;

/// Strengths above this count as this in the relative rule: a field at 1.5 × its
/// threshold stays, however overwhelming the best one is.
pub const STRENGTH_CAP: f64 = 3.0;

/// Regional programmes (LEADER, Regionalbudget, Interreg, EUREGIO) cover many
/// Handlungsfelder: each Handlungsfeld profile passes at this share of its
/// threshold, on its own words, without the relative rule and without the
/// full-text cap (projects keep their full threshold). 0.375 of a threshold of 4
/// is 1.5: one full-text hit of a weight-1.5 rule, a theme the programme names
/// once in its list ("ein WLAN-Zugang im Dorfgemeinschaftshaus"); chosen on the
/// tuning part in the thirteenth round (was 0.5).
pub const CROSS_CUTTING_SHARE: f64 = 0.375;

/// Everything decided about one profile for one call.
struct Assessment<'c> {
    score: f64,
    /// The score needed to pass (see [`Matcher::pass_mark`]).
    pass_mark: f64,
    rules: Vec<RuleOutcome>,
    criteria: &'c [CriterionResult],
    routing: Vec<(usize, Result<Option<PartialMember>, NotRouted>)>,
    /// Set when a much stronger Handlungsfeld takes the call.
    overshadowed: Option<Overshadowed>,
    /// The full-text cap, when it took points away.
    text_capped: Option<f64>,
    /// The call is a regional programme and this is a Handlungsfeld's own
    /// profile, so its pass mark is lowered (see [`CROSS_CUTTING_SHARE`]).
    cross_cutting: bool,
    /// A project whose core rule does not hold: its supporting terms alone
    /// ("ländlicher Raum", "Dorf") cannot carry it. The core rule's text.
    core_missing: Option<String>,
}

/// The strengths the relative rule compares (see [`RELATIVE_SHARE`]).
struct Relative<'m> {
    /// Per Handlungsfeld, the best strength of its profile and projects.
    fields: Vec<(&'m str, f64)>,
    /// The strongest Handlungsfeld profile; `None` for regional programmes.
    best: Option<(&'m str, f64)>,
}

impl Relative<'_> {
    fn verdict(&self, handlungsfeld: &str) -> Option<Overshadowed> {
        let (best_field, best) = self.best?;
        let best = best.min(STRENGTH_CAP);
        let own = self
            .fields
            .iter()
            .find(|(f, _)| *f == handlungsfeld)
            .map_or(0.0, |(_, s)| *s);
        (own < RELATIVE_SHARE * best).then(|| Overshadowed {
            strength: own,
            best_handlungsfeld: best_field.to_string(),
            best_strength: best,
        })
    }
}

/// The relative-strength rule's verdict on a weak Handlungsfeld.
#[derive(Debug, Clone, PartialEq)]
struct Overshadowed {
    strength: f64,
    best_handlungsfeld: String,
    best_strength: f64,
}

/// How many distinct terms (leaves) of the rules that added to a score were found.
fn distinct_terms(rules: &[RuleOutcome]) -> usize {
    let mut leaves: Vec<u32> = Vec::new();
    for t in rules
        .iter()
        .filter(|r| r.contribution > 0.0)
        .flat_map(|r| &r.terms)
        .filter(|t| !t.negated && !t.occurrences.is_empty())
    {
        if !leaves.contains(&t.leaf) {
            leaves.push(t.leaf);
        }
    }
    leaves.len()
}

/// The part of a rule's contribution found in the title or summary: its
/// positive terms' strength there over their strength anywhere.
fn lead_part(outcome: &RuleOutcome) -> f64 {
    if outcome.contribution <= 0.0 {
        return 0.0;
    }
    let (mut lead, mut all) = (0.0, 0.0);
    for t in outcome.terms.iter().filter(|t| !t.negated) {
        let count = |f: Field| t.occurrences.iter().filter(|o| o.field == f).count();
        let in_lead = Field::Title.factor() * index::saturate(count(Field::Title))
            + Field::Summary.factor() * index::saturate(count(Field::Summary));
        if in_lead > 0.0 {
            let whole = index::strength(&t.occurrences);
            lead += t.value * in_lead / whole;
        }
        all += t.value;
    }
    if all > 0.0 {
        outcome.contribution * lead / all
    } else {
        0.0
    }
}

impl Assessment<'_> {
    /// Score ÷ pass mark: how strongly the call speaks to this profile.
    fn strength(&self) -> f64 {
        self.score / self.pass_mark
    }

    fn passes_score(&self) -> bool {
        self.score >= self.pass_mark && self.overshadowed.is_none() && self.core_missing.is_none()
    }

    fn criteria_met(&self) -> bool {
        self.criteria.iter().all(|c| c.passed)
    }

    fn routed(&self) -> impl Iterator<Item = (usize, &Option<PartialMember>)> {
        self.routing
            .iter()
            .filter_map(|(k, r)| r.as_ref().ok().map(|n| (*k, n)))
    }
}

impl Matcher {
    /// Compiles all rules of all Handlungsfelder and projects into one index.
    pub fn new(config: &Config) -> Result<Matcher, MatchSetupError> {
        let strategy = &config.strategy;
        let mut profiles = Vec::new();
        let mut specs = Vec::new();
        for hf in &strategy.handlungsfelder {
            profiles.push(ProfileInfo {
                handlungsfeld: hf.id.clone(),
                project: None,
                name: hf.name.clone(),
                threshold: hf.profile.threshold,
                criteria: strategy.criteria.clone(),
                criteria_group: 0,
                core_rule: None,
            });
            specs.push(hf.profile.rules.as_slice());
        }
        for p in &strategy.projects {
            if strategy.handlungsfeld(&p.handlungsfeld).is_none() {
                return Err(MatchSetupError::UnknownHandlungsfeld {
                    project: p.id.clone(),
                    handlungsfeld: p.handlungsfeld.clone(),
                });
            }
            profiles.push(ProfileInfo {
                handlungsfeld: p.handlungsfeld.clone(),
                project: Some(p.id.clone()),
                name: p.name.clone(),
                threshold: p.profile.threshold,
                criteria: strategy.criteria.with(&p.criteria),
                criteria_group: 0,
                core_rule: None,
            });
            specs.push(p.profile.rules.as_slice());
        }
        let index = Index::build(&specs);
        for (p, info) in profiles.iter_mut().enumerate() {
            if info.project.is_some() {
                info.core_rule = core_rule(&index.profiles[p]);
            }
        }
        let regions = RegionBook::new(
            &strategy.criteria.home_regions,
            &config.member_regions,
            &strategy.criteria.elsewhere_regions,
            &config.kommunen,
        );
        let mut groups: Vec<Criteria> = Vec::new();
        for p in &mut profiles {
            p.criteria_group = groups.iter().position(|g| *g == p.criteria).unwrap_or_else(|| {
                groups.push(p.criteria.clone());
                groups.len() - 1
            });
        }
        let static_routes = profiles
            .iter()
            .map(|p| {
                config
                    .kommunen
                    .iter()
                    .map(|k| criteria::route_static(&p.criteria, k, &p.handlungsfeld, p.project.as_deref()))
                    .collect()
            })
            .collect();
        Ok(Matcher {
            index,
            profiles,
            kommunen: config.kommunen.clone(),
            regions,
            criteria_groups: groups.len(),
            static_routes,
        })
    }

    /// Every profile/project whose score reaches [`NEAR_MISS_SHARE`] of its
    /// threshold: the passed ones and the near misses, with criteria and routing.
    pub fn match_call(&self, call: &Call, today: NaiveDate) -> Vec<Match> {
        self.match_folded(call, &Doc::new(call), today)
    }

    /// [`Matcher::match_call`] with the call folded already ([`Doc::new`]): the admin
    /// preview folds its calls once and matches them under many candidate rule sets.
    pub fn match_folded(&self, call: &Call, doc: &Doc, today: NaiveDate) -> Vec<Match> {
        let hits = self.index.search(doc);
        let candidates = self.index.candidates(&hits);
        let mut traced: Vec<(usize, Vec<RuleOutcome>, bool)> = Vec::new();
        // One buffer for every profile's scores: with thousands of rule sets, most profiles
        // with a candidate fall below the floor, and a list per profile cost an allocation each.
        let mut scored: Vec<(u32, f64)> = Vec::new();
        for group in candidates.chunk_by(|a, b| a.0 == b.0) {
            let p = group[0].0 as usize;
            let info = &self.profiles[p];
            let rules = &self.index.profiles[p];
            scored.clear();
            scored.extend(group.iter().map(|&(_, r)| {
                (
                    r,
                    index::evaluate(&self.index, &rules[r as usize], &hits, false).contribution,
                )
            }));
            let score: f64 = scored.iter().map(|(_, c)| c).sum();
            // Near misses are measured on the configured threshold; only a regional
            // programme's Handlungsfeld profile is kept down to its lowered pass mark.
            let floor = if doc.cross_cutting && info.project.is_none() {
                NEAR_MISS_SHARE.min(CROSS_CUTTING_SHARE) * info.threshold
            } else {
                NEAR_MISS_SHARE * info.threshold
            };
            if score <= 0.0 || score < floor {
                continue;
            }
            // Only the rules that added to the score are traced again, for the reasons.
            let outcomes = scored
                .iter()
                .filter(|(_, c)| *c != 0.0)
                .map(|&(r, _)| index::evaluate(&self.index, &rules[r as usize], &hits, true))
                .collect();
            let core_hit = info
                .core_rule
                .is_none_or(|core| scored.iter().any(|&(r, c)| r == core && c > 0.0));
            traced.push((p, outcomes, core_hit));
        }
        if traced.is_empty() {
            return Vec::new();
        }
        let facts = criteria::CallFacts::of(call, &self.regions, today);
        let access = criteria::CallAccess::of(call);
        let mut checked: Vec<Option<Vec<CriterionResult>>> = vec![None; self.criteria_groups];
        for (p, _, _) in &traced {
            let info = &self.profiles[*p];
            checked[info.criteria_group]
                .get_or_insert_with(|| criteria::check_call(call, &info.criteria, &facts, today));
        }
        let headline = self.headline_fields(traced.iter().map(|(p, o, _)| (*p, o.as_slice())));
        let mut assessed: Vec<(usize, Assessment)> = traced
            .into_iter()
            .map(|(p, outcomes, core_hit)| {
                let crit = checked[self.profiles[p].criteria_group]
                    .as_deref()
                    .expect("checked above");
                let mut a = self.assess(p, outcomes, call, doc, &headline, &facts.scope.0, access, crit, None);
                // Only said where it decides: a score below the pass mark fails anyway.
                a.core_missing = (!core_hit && a.score >= a.pass_mark).then(|| self.core_expr(p));
                (p, a)
            })
            .collect();
        let strengths: Vec<(usize, f64)> = assessed.iter().map(|(p, a)| (*p, a.strength())).collect();
        let relative = self.relative(&strengths, doc);
        for (p, a) in &mut assessed {
            a.overshadowed = relative.verdict(&self.profiles[*p].handlungsfeld);
        }
        assessed.iter().map(|(p, a)| self.to_match(call, *p, a)).collect()
    }

    /// The score a profile needs: its threshold, or for a Handlungsfeld's own
    /// profile in a cross-cutting regional programme [`CROSS_CUTTING_SHARE`] of
    /// it. Projects keep their threshold there: a regional programme names
    /// themes, and a project passes only when the call funds its subject.
    fn pass_mark(&self, info: &ProfileInfo, doc: &Doc) -> f64 {
        if doc.cross_cutting && info.project.is_none() {
            CROSS_CUTTING_SHARE * info.threshold
        } else {
            info.threshold
        }
    }

    /// Whether profile `p`'s Handlungsfeld is too weak next to the call's
    /// strongest one ([`RELATIVE_SHARE`]); `strengths` are (profile, score ÷
    /// pass mark) of every scored profile. Regional programmes are exempt.
    fn overshadowed(&self, p: usize, strengths: &[(usize, f64)], doc: &Doc) -> Option<Overshadowed> {
        self.relative(strengths, doc).verdict(&self.profiles[p].handlungsfeld)
    }

    /// The strength of each Handlungsfeld and of the best one, computed once per call.
    fn relative<'m>(&'m self, strengths: &[(usize, f64)], doc: &Doc) -> Relative<'m> {
        let mut fields: Vec<(&'m str, f64)> = Vec::new();
        let mut best: Option<(&'m str, f64)> = None;
        for &(q, s) in strengths {
            let info = &self.profiles[q];
            match fields.iter_mut().find(|(f, _)| *f == info.handlungsfeld) {
                Some(entry) => entry.1 = entry.1.max(s),
                None => fields.push((&info.handlungsfeld, s)),
            }
            // The best is measured on Handlungsfeld profiles: a project's narrow
            // vocabulary scores high and would push out legitimate second fields.
            if info.project.is_none() && best.is_none_or(|(_, b)| s > b) {
                best = Some((&info.handlungsfeld, s));
            }
        }
        Relative {
            fields,
            best: best.filter(|_| !doc.cross_cutting),
        }
    }

    /// A German explanation of how `call` fares against every profile (or
    /// only `project`, a project or Handlungsfeld id), and per Kommune (or
    /// only `kommune`) whether it would be routed.
    pub fn explain(&self, call: &Call, today: NaiveDate, project: Option<&str>, kommune: Option<&str>) -> Explanation {
        let doc = Doc::with_sources(call);
        let hits = self.index.search(&doc);
        let facts = criteria::CallFacts::of(call, &self.regions, today);
        let access = criteria::CallAccess::of(call);
        let selected: Vec<usize> = (0..self.profiles.len())
            .filter(|&p| {
                let info = &self.profiles[p];
                project.is_none_or(|id| info.project.as_deref() == Some(id) || info.handlungsfeld == id)
            })
            .collect();
        let kommune_idx = kommune.and_then(|id| self.kommunen.iter().position(|k| k.id == id));
        let mut notes = Vec::new();
        if let Some(id) = project
            && selected.is_empty()
        {
            notes.push(format!("Unbekanntes Projekt oder Handlungsfeld: {id}"));
        }
        if let Some(id) = kommune
            && kommune_idx.is_none()
        {
            notes.push(format!("Unbekannte Kommune: {id}"));
        }
        // The full-text cap and the relative rule look at every profile, not only the selected ones.
        let all: Vec<Vec<RuleOutcome>> = (0..self.profiles.len())
            .map(|p| {
                self.index.profiles[p]
                    .iter()
                    .map(|r| index::evaluate(&self.index, r, &hits, true))
                    .collect()
            })
            .collect();
        let headline = self.headline_fields(all.iter().enumerate().map(|(p, o)| (p, o.as_slice())));
        let strengths: Vec<(usize, f64)> = all
            .iter()
            .enumerate()
            .map(|(p, outcomes)| {
                let score = self.effective_score(p, outcomes, call, &doc, &headline);
                (p, score / self.pass_mark(&self.profiles[p], &doc))
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        let profiles = selected
            .into_iter()
            .map(|p| {
                let crit = criteria::check_call(call, &self.profiles[p].criteria, &facts, today);
                let outcomes: Vec<RuleOutcome> = self.index.profiles[p]
                    .iter()
                    .map(|r| index::evaluate(&self.index, r, &hits, true))
                    .collect();
                let core_hit = self.profiles[p]
                    .core_rule
                    .is_none_or(|core| outcomes[core as usize].contribution > 0.0);
                let mut a = self.assess(
                    p,
                    outcomes,
                    call,
                    &doc,
                    &headline,
                    &facts.scope.0,
                    access,
                    &crit,
                    kommune_idx,
                );
                a.overshadowed = self.overshadowed(p, &strengths, &doc);
                a.core_missing = (!core_hit && a.score >= a.pass_mark).then(|| self.core_expr(p));
                self.explain_profile(p, &a, &hits, &facts.scope.0)
            })
            .collect();
        Explanation {
            call_id: call.id.to_string(),
            title: call.title.clone(),
            today,
            notes,
            profiles,
        }
    }

    /// The Handlungsfelder whose profiles or projects score in the title or summary.
    fn headline_fields<'o>(&self, traced: impl Iterator<Item = (usize, &'o [RuleOutcome])>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (p, outcomes) in traced {
            let field = &self.profiles[p].handlungsfeld;
            if !out.contains(field) && outcomes.iter().map(lead_part).sum::<f64>() > 0.0 {
                out.push(field.clone());
            }
        }
        out
    }

    /// The score of traced rule outcomes plus the preferred-funder bonus. When
    /// the title or summary speak for other Handlungsfelder (`headline`) but
    /// not for this one, its full-text evidence counts at most
    /// [`TEXT_CAP_SHARE`] of the threshold (never for regional programmes).
    fn effective_score(&self, p: usize, rules: &[RuleOutcome], call: &Call, doc: &Doc, headline: &[String]) -> f64 {
        self.scored(p, rules, call, doc, headline).0
    }

    /// [`Matcher::effective_score`] and the full-text cap when it took points away.
    fn scored(
        &self,
        p: usize,
        rules: &[RuleOutcome],
        call: &Call,
        doc: &Doc,
        headline: &[String],
    ) -> (f64, Option<f64>) {
        let info = &self.profiles[p];
        let raw: f64 = rules.iter().map(|r| r.contribution).sum();
        let headline_elsewhere = doc.has_summary || !headline.is_empty();
        let mut incidental = !doc.cross_cutting && headline_elsewhere && !headline.contains(&info.handlungsfeld);
        // Title and summary silent on every field: a broad full text states the aim
        // (counted only here, where the cap would apply).
        if incidental && headline.is_empty() && distinct_terms(rules) >= TEXT_AIM_TERMS {
            incidental = false;
        }
        let cap = TEXT_CAP_SHARE * info.threshold;
        let lead: f64 = rules.iter().map(lead_part).sum();
        let capped = (incidental && raw - lead > cap).then_some(cap);
        let mut score = match capped {
            Some(cap) => lead + cap,
            None => raw,
        };
        // The preferred funder's bonus backs a field the title or summary speak for, never an
        // incidental one (a Städtebau call of the preferred ministry is no Klima call).
        if score > 0.0
            && !incidental
            && call
                .funder
                .as_deref()
                .is_some_and(|f| criteria::matches_any(f, &info.criteria.prefer_funders))
        {
            score += criteria::PREFERRED_FUNDER_BONUS;
        }
        (score, capped)
    }

    #[allow(clippy::too_many_arguments)]
    fn assess<'c>(
        &self,
        p: usize,
        rules: Vec<RuleOutcome>,
        call: &Call,
        doc: &Doc,
        headline: &[String],
        scope: &RegionScope,
        access: criteria::CallAccess,
        criteria: &'c [CriterionResult],
        only_kommune: Option<usize>,
    ) -> Assessment<'c> {
        let info = &self.profiles[p];
        let (score, text_capped) = self.scored(p, &rules, call, doc, headline);
        let pass_mark = self.pass_mark(info, doc);
        let routing = self
            .kommunen
            .iter()
            .enumerate()
            .filter(|(k, _)| only_kommune.is_none_or(|o| o == *k))
            .map(|(k, kommune)| {
                let routed = self.static_routes[p][k]
                    .and_then(|()| criteria::route_call(call, &info.criteria, scope, kommune, access));
                (k, routed)
            })
            .collect();
        Assessment {
            score,
            pass_mark,
            text_capped,
            cross_cutting: doc.cross_cutting && self.profiles[p].project.is_none(),
            rules,
            criteria,
            routing,
            overshadowed: None,
            core_missing: None,
        }
    }

    /// The text of project `p`'s core rule.
    fn core_expr(&self, p: usize) -> String {
        self.profiles[p]
            .core_rule
            .map(|r| self.index.profiles[p][r as usize].expr.clone())
            .unwrap_or_default()
    }

    fn to_match(&self, call: &Call, p: usize, a: &Assessment) -> Match {
        let info = &self.profiles[p];
        let kommunen: Vec<String> = a.routed().map(|(k, _)| self.kommunen[k].id.clone()).collect();
        let passed = a.passes_score() && a.criteria_met() && !kommunen.is_empty();
        let mut reasons = Vec::new();
        if let Some(hits) = self.hit_summary(a) {
            reasons.push(Reason::Hits { hits });
        }
        reasons.extend(
            a.criteria
                .iter()
                .filter(|c| !c.passed || c.always_stated())
                .map(|c| Reason::Criterion {
                    criterion: c.criterion.clone(),
                }),
        );
        reasons.extend(a.routed().filter_map(|(k, note)| {
            note.as_ref().map(|n| Reason::PartialMember {
                kommune: self.kommunen[k].name.clone(),
                membership: n.clone(),
            })
        }));
        if kommunen.is_empty() {
            reasons.push(Reason::NotRouted);
        }
        if a.score < a.pass_mark {
            reasons.push(Reason::BelowThreshold {
                score: a.score,
                threshold: a.pass_mark,
            });
        }
        if let Some(o) = &a.overshadowed {
            reasons.push(Reason::Overshadowed {
                strength: o.strength,
                best: o.best_handlungsfeld.clone(),
                best_strength: o.best_strength,
            });
        }
        if let Some(rule) = &a.core_missing {
            reasons.push(Reason::CoreRuleMissing { rule: rule.clone() });
        }
        Match {
            call_id: call.id.clone(),
            handlungsfeld: info.handlungsfeld.clone(),
            project: info.project.clone(),
            score: (a.score * 100.0).round() / 100.0,
            threshold: info.threshold,
            passed,
            kommunen,
            reasons,
        }
    }

    /// Positive terms of rules that added to the score, each with its
    /// strongest field, strongest first (at most six).
    fn hit_summary(&self, a: &Assessment) -> Option<Vec<Hit>> {
        let mut best: Vec<(String, f64, Field)> = Vec::new();
        for outcome in a.rules.iter().filter(|o| o.fired && o.contribution > 0.0) {
            for t in outcome.terms.iter().filter(|t| !t.negated) {
                let written = &self.index.leaves[t.leaf as usize].written;
                let field = t
                    .occurrences
                    .iter()
                    .map(|o| o.field)
                    .min()
                    .expect("a traced term has occurrences");
                match best.iter_mut().find(|(w, _, _)| w.eq_ignore_ascii_case(written)) {
                    Some(entry) => {
                        entry.1 += t.value;
                        entry.2 = entry.2.min(field);
                    }
                    None => best.push((written.clone(), t.value, field)),
                }
            }
        }
        if best.is_empty() {
            return None;
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        Some(
            best.into_iter()
                .take(6)
                .map(|(term, _, field)| Hit { term, field })
                .collect(),
        )
    }
}

/// A project's core rule: its positive rule of the highest weight, the first of
/// equal ones. `None` when it has no positive rule.
fn core_rule(rules: &[index::Rule]) -> Option<u32> {
    let mut best: Option<(u32, f64)> = None;
    for (i, r) in rules.iter().enumerate() {
        if r.weight > 0.0 && best.is_none_or(|(_, w)| r.weight > w) {
            best = Some((i as u32, r.weight));
        }
    }
    best.map(|(i, _)| i)
}

/// German number with one decimal: `2,5`.
fn num(v: f64) -> String {
    format_decimal(v, 1)
}

#[cfg(test)]
mod tests;
