//! Why a call matched or not, in German for the admins.

use std::fmt;

use chrono::NaiveDate;

use super::criteria::{CriterionResult, RegionScope};
use super::index::Hits;
use super::{Assessment, Matcher, num};
use crate::model::german::format_date_de;

/// The explanation of one call against the selected profiles.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub call_id: String,
    pub title: String,
    pub today: NaiveDate,
    /// E.g. an unknown project id that was asked for.
    pub notes: Vec<String>,
    pub profiles: Vec<ProfileExplanation>,
}

/// One Handlungsfeld profile or project.
#[derive(Debug, Clone)]
pub struct ProfileExplanation {
    pub handlungsfeld: String,
    pub project: Option<String>,
    pub name: String,
    pub score: f64,
    pub threshold: f64,
    pub passed: bool,
    /// How the score was weighed: regional programme, full-text cap, a stronger field.
    pub notes: Vec<String>,
    pub rules: Vec<RuleExplanation>,
    pub criteria: Vec<CriterionResult>,
    pub kommunen: Vec<KommuneRouting>,
}

#[derive(Debug, Clone)]
pub struct RuleExplanation {
    pub expr: String,
    pub weight: f64,
    pub contribution: f64,
    pub hits: Vec<TermHit>,
    /// For an AND rule that scored 0: its parts that did not hold, as written.
    pub missing: Vec<String>,
}

/// One term found in one field.
#[derive(Debug, Clone)]
pub struct TermHit {
    pub term: String,
    pub field: super::Field,
    pub count: usize,
    /// Saturated strength of these hits (before the rule weight).
    pub value: f64,
    /// Found under a NOT: it vetoes the rule.
    pub negated: bool,
    /// The original text around the first hit, ±40 characters, the hit in [brackets].
    pub context: String,
}

#[derive(Debug, Clone)]
pub struct KommuneRouting {
    pub id: String,
    pub name: String,
    pub routed: bool,
    /// Note when routed (partial membership), reason when not.
    pub why: Option<String>,
}

impl Matcher {
    pub(super) fn explain_profile(
        &self,
        p: usize,
        a: &Assessment,
        hits: &Hits,
        scope: &RegionScope,
    ) -> ProfileExplanation {
        let info = &self.profiles[p];
        let rules = self.index.profiles[p]
            .iter()
            .zip(&a.rules)
            .map(|(rule, outcome)| RuleExplanation {
                missing: if outcome.contribution == 0.0 {
                    super::index::missing_parts(&self.index, rule, hits)
                } else {
                    Vec::new()
                },
                expr: rule.expr.clone(),
                weight: rule.weight,
                contribution: outcome.contribution,
                hits: outcome
                    .terms
                    .iter()
                    .flat_map(|t| {
                        let term = self.index.leaves[t.leaf as usize].written.clone();
                        crate::rules::Field::ALL.iter().copied().filter_map(move |f| {
                            let occs: Vec<_> = t.occurrences.iter().filter(|o| o.field == f).copied().collect();
                            let first = occs.first()?;
                            Some(TermHit {
                                term: term.clone(),
                                field: f,
                                count: occs.len(),
                                value: super::index::strength(&occs),
                                negated: t.negated,
                                context: hits.doc.snippet(first).unwrap_or_default(),
                            })
                        })
                    })
                    .collect(),
            })
            .collect();
        let kommunen = a
            .routing
            .iter()
            .map(|(k, r)| KommuneRouting {
                id: self.kommunen[*k].id.clone(),
                name: self.kommunen[*k].name.clone(),
                routed: r.is_ok(),
                why: match r {
                    Ok(note) => note.as_ref().map(ToString::to_string),
                    Err(why) => Some(why.describe(
                        &self.kommunen[*k],
                        info.project.as_deref().unwrap_or(&info.handlungsfeld),
                        scope,
                    )),
                },
            })
            .collect::<Vec<_>>();
        let routed_any = a.routed().next().is_some();
        ProfileExplanation {
            handlungsfeld: info.handlungsfeld.clone(),
            project: info.project.clone(),
            name: info.name.clone(),
            score: a.score,
            threshold: a.pass_mark,
            passed: a.passes_score() && a.criteria_met() && routed_any,
            notes: weighing_notes(a),
            rules,
            criteria: a.criteria.to_vec(),
            kommunen,
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Aufruf {}: {}", self.call_id, self.title)?;
        writeln!(f, "Stand: {}", format_date_de(self.today))?;
        for n in &self.notes {
            writeln!(f, "Hinweis: {n}")?;
        }
        for p in &self.profiles {
            writeln!(f)?;
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// German notes on how the score was weighed (see the constants in [`super`]).
fn weighing_notes(a: &Assessment) -> Vec<String> {
    let mut notes = Vec::new();
    if a.cross_cutting {
        notes.push(format!(
            "Regionalprogramm (LEADER, Regionalbudget, Interreg, EUREGIO): Schwelle auf {} % gesenkt, jedes Handlungsfeld zählt für sich",
            format!("{}", super::CROSS_CUTTING_SHARE * 100.0).replace('.', ",")
        ));
    }
    if let Some(cap) = a.text_capped {
        notes.push(format!(
            "Volltext zählt höchstens {} Punkte: Titel und Kurztext sprechen nicht für dieses Handlungsfeld",
            num(cap)
        ));
    }
    if let Some(rule) = &a.core_missing {
        notes.push(format!(
            "Kernregel des Projekts ohne Treffer ({rule}): Begleitbegriffe allein tragen kein Projekt"
        ));
    }
    if let Some(o) = &a.overshadowed {
        notes.push(format!(
            "zu schwach neben {}: Stärke {} gegenüber {} (nötig: {} %)",
            o.best_handlungsfeld,
            crate::model::german::format_decimal(o.strength, 2),
            crate::model::german::format_decimal(o.best_strength, 2),
            (super::RELATIVE_SHARE * 100.0).round()
        ));
    }
    notes
}

impl fmt::Display for ProfileExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.project {
            Some(id) => writeln!(
                f,
                "== Projekt {} ({id}, Handlungsfeld {}) ==",
                self.name, self.handlungsfeld
            )?,
            None => writeln!(f, "== Handlungsfeld {} ({}) ==", self.name, self.handlungsfeld)?,
        }
        let verdict = if self.passed {
            "PASST"
        } else if self.score >= self.threshold {
            "Schwelle erreicht, aber Kriterien/Weiterleitung nicht erfüllt"
        } else {
            "passt nicht"
        };
        writeln!(
            f,
            "Ergebnis: {verdict} (Punkte {} von Schwelle {})",
            num(self.score),
            num(self.threshold)
        )?;
        for n in &self.notes {
            writeln!(f, "Hinweis: {n}")?;
        }
        writeln!(f, "Regeln:")?;
        for r in &self.rules {
            let state = if r.hits.is_empty() { "  (kein Treffer)" } else { "" };
            writeln!(
                f,
                "  [{:>6}] Gewicht {}: {}{state}",
                num(r.contribution),
                num(r.weight),
                r.expr
            )?;
            for h in &r.hits {
                let veto = if h.negated { "NOT-Treffer (schließt aus): " } else { "" };
                writeln!(
                    f,
                    "      {veto}{} – {}, {}×, Wert {}: „{}“",
                    h.term,
                    h.field.label_de(),
                    h.count,
                    num(h.value),
                    h.context
                )?;
            }
        }
        writeln!(f, "Kriterien:")?;
        for c in &self.criteria {
            let mark = if c.passed { "✓" } else { "✗" };
            writeln!(f, "  {mark} {}: {}", c.criterion.topic().label_de(), c.criterion)?;
        }
        writeln!(f, "Kommunen:")?;
        for k in &self.kommunen {
            let mark = if k.routed { "✓" } else { "✗" };
            match &k.why {
                Some(why) => writeln!(f, "  {mark} {}: {why}", k.name)?,
                None => writeln!(f, "  {mark} {}", k.name)?,
            }
        }
        Ok(())
    }
}

impl ProfileExplanation {
    /// One line: score against threshold, the terms found, failed criteria, routing.
    pub fn summary_line(&self) -> String {
        let who = self.project.as_deref().unwrap_or(&self.handlungsfeld);
        let mut parts = vec![format!(
            "{who}: Punkte {} / Schwelle {}",
            num(self.score),
            num(self.threshold)
        )];
        let mut terms: Vec<String> = Vec::new();
        for h in self.rules.iter().flat_map(|r| &r.hits) {
            let t = format!(
                "{}{} ({})",
                if h.negated { "NOT " } else { "" },
                h.term,
                h.field.label_de()
            );
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
        parts.push(if terms.is_empty() {
            "keine Treffer".into()
        } else {
            format!("Treffer: {}", terms.join(", "))
        });
        parts.extend(self.notes.iter().cloned());
        parts.extend(
            self.criteria
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("✗ {}", c.criterion)),
        );
        if !self.kommunen.iter().any(|k| k.routed) {
            parts.push("an keine Kommune weitergeleitet".into());
        }
        parts.join("; ")
    }
}
