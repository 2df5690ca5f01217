//! The matcher's explanation of one call as the Aufrufe page shows it: a summary
//! line per Handlungsfeld and project (passed or not, score against threshold, the
//! Kommunen collapsed to "alle 14 ✓" when every one takes it) and the details
//! behind it (hits with context, criteria, the AND parts a rule missed).

use serde::Serialize;

use crate::matching::{Explanation, KommuneRouting, ProfileExplanation, RuleExplanation};
use crate::model::german::format_decimal;

#[derive(Debug, Serialize)]
pub struct ProfileView {
    /// "Handlungsfeld" or "Projekt".
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub handlungsfeld: String,
    pub passed: bool,
    pub score: String,
    pub threshold: String,
    /// The threshold is reached, but a criterion or the routing stops the call.
    pub held_back: bool,
    pub kommunen: KommunenView,
    pub notes: Vec<String>,
    pub rules: Vec<RuleView>,
    pub criteria: Vec<CriterionView>,
}

/// The Kommunen of one profile: collapsed when all take the call.
#[derive(Debug, Serialize)]
pub struct KommunenView {
    pub total: usize,
    pub all_routed: bool,
    pub routed: Vec<String>,
    pub not_routed: Vec<NotRoutedView>,
}

#[derive(Debug, Serialize)]
pub struct NotRoutedView {
    pub name: String,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct RuleView {
    pub expr: String,
    pub weight: String,
    pub contribution: String,
    pub hits: Vec<HitView>,
    /// AND parts that did not hold (for a rule that scored 0).
    pub missing: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HitView {
    pub term: String,
    pub field: &'static str,
    pub count: usize,
    /// Found under a NOT: it vetoes the rule.
    pub negated: bool,
    pub context: String,
}

#[derive(Debug, Serialize)]
pub struct CriterionView {
    pub topic: &'static str,
    pub text: String,
    pub passed: bool,
}

fn num(v: f64) -> String {
    format_decimal(v, 1)
}

/// One view per profile of `explanation`; `kommunen` is how many the config has.
pub fn views(explanation: &Explanation, kommunen: usize) -> Vec<ProfileView> {
    explanation.profiles.iter().map(|p| view(p, kommunen)).collect()
}

fn view(p: &ProfileExplanation, kommunen: usize) -> ProfileView {
    ProfileView {
        kind: if p.project.is_some() {
            "Projekt"
        } else {
            "Handlungsfeld"
        },
        id: p.project.clone().unwrap_or_else(|| p.handlungsfeld.clone()),
        name: p.name.clone(),
        handlungsfeld: p.handlungsfeld.clone(),
        passed: p.passed,
        score: num(p.score),
        threshold: num(p.threshold),
        held_back: !p.passed && p.score >= p.threshold,
        kommunen: kommunen_view(&p.kommunen, kommunen),
        notes: p.notes.clone(),
        rules: p.rules.iter().map(rule_view).collect(),
        criteria: p
            .criteria
            .iter()
            .map(|c| CriterionView {
                topic: c.criterion.topic().label_de(),
                text: c.criterion.to_string(),
                passed: c.passed,
            })
            .collect(),
    }
}

fn kommunen_view(routing: &[KommuneRouting], total: usize) -> KommunenView {
    let routed: Vec<String> = routing.iter().filter(|k| k.routed).map(|k| k.name.clone()).collect();
    KommunenView {
        total,
        all_routed: total > 0 && routed.len() == total,
        routed,
        not_routed: routing
            .iter()
            .filter(|k| !k.routed)
            .map(|k| NotRoutedView {
                name: k.name.clone(),
                why: k.why.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn rule_view(r: &RuleExplanation) -> RuleView {
    RuleView {
        expr: r.expr.clone(),
        weight: num(r.weight),
        contribution: num(r.contribution),
        hits: r
            .hits
            .iter()
            .map(|h| HitView {
                term: h.term.clone(),
                field: h.field.label_de(),
                count: h.count,
                negated: h.negated,
                context: h.context.clone(),
            })
            .collect(),
        missing: r.missing.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(name: &str, routed: bool) -> KommuneRouting {
        KommuneRouting {
            id: name.to_lowercase(),
            name: name.into(),
            routed,
            why: (!routed).then(|| "nicht antragsberechtigt".into()),
        }
    }

    #[test]
    fn kommunen_collapse_only_when_every_one_takes_the_call() {
        let all = kommunen_view(&[routing("Ahlen", true), routing("Beckum", true)], 2);
        assert!(all.all_routed);
        let some = kommunen_view(&[routing("Ahlen", true), routing("Beckum", false)], 2);
        assert!(!some.all_routed);
        assert_eq!(some.routed, ["Ahlen"]);
        assert_eq!(some.not_routed[0].name, "Beckum");
        assert!(!kommunen_view(&[], 0).all_routed);
    }
}
