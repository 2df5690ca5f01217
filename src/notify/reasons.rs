//! Why a call is in a contact's digest, in plain German: at most three reasons,
//! each labelled with the Handlungsfeld or project it belongs to, with the rule's
//! terms as the rule writes them. Left out: what the item shows anyway (deadline,
//! rate, amount, funder, applicants), internal ids, and another Kommune's routing.
//! `explain` keeps the full detail.

use std::sync::Arc;

use crate::config::Config;
use crate::model::Match;
use crate::model::reason::{Criterion, Field, Reason};

use super::digest::Recipient;

/// Reasons per item at most.
pub const MAX_REASONS: usize = 3;
/// Terms named per reason at most.
const MAX_TERMS: usize = 3;

/// `matches` strongest first.
pub(crate) fn plain(config: &Config, recipient: &Recipient<'_>, matches: &[Arc<Match>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if out.len() < MAX_REASONS && !out.contains(&s) {
            out.push(s);
        }
    };
    for m in matches {
        let label = label(config, m);
        for reason in &m.reasons {
            match reason {
                Reason::Hits { hits } if !hits.is_empty() => {
                    let mut terms: Vec<String> = Vec::new();
                    for h in hits {
                        let t = format!("„{}“ {}", h.term.trim(), place(h.field));
                        if !terms.contains(&t) {
                            terms.push(t);
                        }
                    }
                    terms.truncate(MAX_TERMS);
                    push(format!("{label}: {}", terms.join(", ")));
                }
                Reason::Criterion { criterion } => {
                    if let Some(text) = criterion_text(config, criterion) {
                        push(format!("{label}: {text}"));
                    }
                }
                Reason::PartialMember { kommune, membership } => {
                    // Only the recipient's own Kommunen: another's routing is not its business.
                    let own = recipient
                        .roles
                        .iter()
                        .find(|(k, _)| k.id == *kommune || k.name == *kommune);
                    if let Some((k, _)) = own {
                        push(format!(
                            "{}: nur teilweise im Gebiet von {} ({})",
                            k.name,
                            region_name(config, &membership.region),
                            membership.part
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// "Projekt „Serviceportal“" or "Handlungsfeld „Mobilität“".
fn label(config: &Config, m: &Match) -> String {
    match &m.project {
        Some(p) => {
            let name = config.strategy.project(p).map_or(p.as_str(), |p| p.name.as_str());
            format!("Projekt „{name}“")
        }
        None => {
            let name = config
                .strategy
                .handlungsfeld(&m.handlungsfeld)
                .map_or(m.handlungsfeld.as_str(), |h| h.name.as_str());
            format!("Handlungsfeld „{name}“")
        }
    }
}

fn place(field: Field) -> &'static str {
    match field {
        Field::Title => "im Titel",
        Field::Summary => "in der Kurzbeschreibung",
        Field::Text => "im Aufruftext",
        Field::Funder => "beim Fördergeber",
        Field::Applicants => "bei den Antragsberechtigten",
    }
}

/// The criteria a reader needs beyond what the item shows.
fn criterion_text(config: &Config, criterion: &Criterion) -> Option<String> {
    match criterion {
        Criterion::MembersOnly { regions } => {
            let names: Vec<String> = regions.iter().map(|r| region_name(config, r)).collect();
            Some(format!("nur für Mitglieder von {}", names.join(", ")))
        }
        Criterion::FunderPreferred { .. } => Some("bevorzugter Fördergeber".into()),
        _ => None,
    }
}

/// The configured name of a member region; an unknown id is shown as the rule wrote it
/// only when it does not look like an id (lower-case with dashes).
fn region_name(config: &Config, id: &str) -> String {
    if let Some(r) = config.member_regions.iter().find(|r| r.id == id) {
        return r.name.clone();
    }
    if id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        "einer Förderregion".into()
    } else {
        id.to_string()
    }
}
