//! Why a call matched (or nearly matched) a profile, as typed values. Code
//! decides on the variants; the German wording exists only in the `Display`
//! implementations, which digests, reports and explanations call at output.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::closure::ClosedWording;
use super::german::{format_amount, format_date_de, format_decimal, format_rate};
use super::{ApplicantCategory, FundingRate, string_enum};

string_enum! {
    /// A part of a call a rule term can be found in (`title:` … in the rule language).
    pub enum Field ("field") {
        Title = "title",
        Summary = "summary",
        Text = "text",
        Funder = "funder",
        Applicants = "applicants",
    }
}

impl Field {
    /// German label used in reasons and explanations.
    pub fn label_de(self) -> &'static str {
        match self {
            Field::Title => "Titel",
            Field::Summary => "Kurztext",
            Field::Text => "Volltext",
            Field::Funder => "Fördergeber",
            Field::Applicants => "Antragsberechtigte",
        }
    }
}

/// One rule term that added to the score, with the strongest field it was found in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// As written in the rule ("Glasfaser").
    pub term: String,
    pub field: Field,
}

/// The outcome of one call-level criterion, with the values it was decided on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "criterion", rename_all = "kebab-case")]
pub enum Criterion {
    /// The source does not say who may apply.
    ApplicantsUnclear,
    /// None of the named categories fits.
    NotEligible {
        named: Vec<ApplicantCategory>,
    },
    /// The call's own wording excludes Kommunen ("Kommunen sind nicht antragsberechtigt"),
    /// whatever categories the record lists; `quote` is that wording.
    ExcludedByWording {
        quote: String,
    },
    /// Kommunen are named explicitly.
    KommuneEligible,
    /// Some configured categories fit.
    Eligible {
        fitting: Vec<ApplicantCategory>,
    },
    /// Bundesweit, EU-weit, NRW, a home region or not stated; `listed` as the call names them.
    RegionOpen {
        listed: Vec<String>,
    },
    /// Only members of these named regions (ids).
    MembersOnly {
        regions: Vec<String>,
    },
    /// Only other regions.
    OtherRegion {
        listed: Vec<String>,
    },
    /// The source marks the call closed.
    CallClosed,
    /// No future cut-off is known and the call's own wording says it is over.
    ClosedByWording {
        wording: ClosedWording,
    },
    /// No deadline ("laufend").
    Rolling,
    /// Every stated date has passed.
    DeadlinePassed {
        last: Option<NaiveDate>,
    },
    /// The next cut-off is closer than the configured lead time.
    DeadlineTooSoon {
        days: i64,
        date: NaiveDate,
        min_lead_days: u32,
    },
    DeadlineAhead {
        days: i64,
        date: NaiveDate,
    },
    DeadlineUnknown,
    RateTooLow {
        rate: FundingRate,
        min: f64,
    },
    Rate {
        rate: Option<FundingRate>,
    },
    AmountTooLow {
        amount: u64,
        min: u64,
    },
    Amount {
        amount: Option<u64>,
    },
    FunderUnstated,
    FunderExcluded {
        name: String,
    },
    FunderPreferred {
        name: String,
    },
    Funder {
        name: String,
    },
}

/// What a [`Criterion`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CriterionTopic {
    Applicants,
    Region,
    Deadline,
    Rate,
    Amount,
    Funder,
}

impl CriterionTopic {
    /// German name, e.g. in explanations ("✓ Frist: …").
    pub fn label_de(self) -> &'static str {
        match self {
            CriterionTopic::Applicants => "Antragsberechtigte",
            CriterionTopic::Region => "Fördergebiet",
            CriterionTopic::Deadline => "Frist",
            CriterionTopic::Rate => "Förderquote",
            CriterionTopic::Amount => "Förderbetrag",
            CriterionTopic::Funder => "Fördergeber",
        }
    }
}

impl Criterion {
    pub fn topic(&self) -> CriterionTopic {
        use Criterion::*;
        match self {
            ApplicantsUnclear | NotEligible { .. } | ExcludedByWording { .. } | KommuneEligible | Eligible { .. } => {
                CriterionTopic::Applicants
            }
            RegionOpen { .. } | MembersOnly { .. } | OtherRegion { .. } => CriterionTopic::Region,
            CallClosed
            | ClosedByWording { .. }
            | Rolling
            | DeadlinePassed { .. }
            | DeadlineTooSoon { .. }
            | DeadlineAhead { .. }
            | DeadlineUnknown => CriterionTopic::Deadline,
            RateTooLow { .. } | Rate { .. } => CriterionTopic::Rate,
            AmountTooLow { .. } | Amount { .. } => CriterionTopic::Amount,
            FunderUnstated | FunderExcluded { .. } | FunderPreferred { .. } | Funder { .. } => CriterionTopic::Funder,
        }
    }
}

fn labels(categories: &[ApplicantCategory]) -> String {
    categories.iter().map(|c| c.label_de()).collect::<Vec<_>>().join(", ")
}

fn regions(listed: &[String]) -> String {
    if listed.is_empty() {
        "nicht angegeben".into()
    } else {
        listed.join(", ")
    }
}

impl fmt::Display for Criterion {
    /// German, e.g. "Frist in 42 Tagen (31.03.2026)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Criterion::*;
        match self {
            ApplicantsUnclear => f.write_str("Antragsberechtigte unklar"),
            NotEligible { named } => write!(f, "nicht antragsberechtigt (nur {})", labels(named)),
            ExcludedByWording { quote } => write!(f, "laut Text nicht antragsberechtigt: „{quote}“"),
            KommuneEligible => f.write_str("Kommune antragsberechtigt"),
            Eligible { fitting } => write!(f, "antragsberechtigt: {}", labels(fitting)),
            RegionOpen { listed } => write!(f, "Fördergebiet: {}", regions(listed)),
            MembersOnly { regions } => write!(f, "nur für Mitglieder von {}", regions.join(", ")),
            OtherRegion { listed } => write!(f, "anderes Fördergebiet: {}", regions(listed)),
            CallClosed => f.write_str("Aufruf geschlossen"),
            ClosedByWording { wording } => write!(f, "Aufruf beendet ({wording})"),
            Rolling => f.write_str("laufend (keine Frist)"),
            DeadlinePassed { last } => write!(f, "Frist abgelaufen ({})", last.map(format_date_de).unwrap_or_default()),
            DeadlineTooSoon {
                days,
                date,
                min_lead_days,
            } => write!(
                f,
                "Frist in {days} Tagen ({}) – weniger als {min_lead_days} Tage Vorlauf",
                format_date_de(*date)
            ),
            DeadlineAhead { days, date } => write!(f, "Frist in {days} Tagen ({})", format_date_de(*date)),
            DeadlineUnknown => f.write_str("Frist unbekannt"),
            RateTooLow { rate, min } => write!(f, "Förderquote {} unter {min} %", format_rate(Some(*rate))),
            Rate { rate } => write!(f, "Förderquote {}", format_rate(*rate)),
            AmountTooLow { amount, min } => write!(
                f,
                "Förderbetrag {} unter {}",
                format_amount(Some(*amount)),
                format_amount(Some(*min))
            ),
            Amount { amount } => write!(f, "Förderbetrag {}", format_amount(*amount)),
            FunderUnstated => f.write_str("Fördergeber nicht angegeben"),
            FunderExcluded { name } => write!(f, "Fördergeber ausgeschlossen: {name}"),
            FunderPreferred { name } => write!(f, "bevorzugter Fördergeber: {name}"),
            Funder { name } => write!(f, "Fördergeber: {name}"),
        }
    }
}

/// A Kommune that belongs to a member region only in part (Warendorf: only its Ortsteile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialMember {
    pub region: String,
    pub part: String,
}

impl fmt::Display for PartialMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nur teilweise Mitglied von {} ({})", self.region, self.part)
    }
}

/// One reason of a [`super::Match`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Reason {
    /// Terms that added to the score, strongest first.
    Hits {
        hits: Vec<Hit>,
    },
    /// A criterion worth stating (failed, or always shown such as the deadline).
    Criterion {
        criterion: Criterion,
    },
    /// Routed to a Kommune that belongs to the region only in part.
    PartialMember {
        kommune: String,
        membership: PartialMember,
    },
    /// No Kommune takes the match.
    NotRouted,
    BelowThreshold {
        score: f64,
        threshold: f64,
    },
    /// The Handlungsfeld is weak next to the call's strongest one (relative strength
    /// = score ÷ threshold, of the best profile or project of the Handlungsfeld).
    Overshadowed {
        strength: f64,
        /// The strongest Handlungsfeld's id.
        best: String,
        best_strength: f64,
    },
    /// A project's core rule (its rule of the highest weight) does not hold: its
    /// supporting terms alone do not make the call fund the project's subject.
    CoreRuleMissing {
        rule: String,
    },
}

impl fmt::Display for Reason {
    /// German, e.g. "Treffer: Glasfaser (Titel), Gigabit (Kurztext)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Hits { hits } => {
                let list: Vec<String> = hits
                    .iter()
                    .map(|h| format!("{} ({})", h.term, h.field.label_de()))
                    .collect();
                write!(f, "Treffer: {}", list.join(", "))
            }
            Reason::Criterion { criterion } => criterion.fmt(f),
            Reason::PartialMember { kommune, membership } => write!(f, "{kommune}: {membership}"),
            Reason::NotRouted => f.write_str("an keine Kommune weitergeleitet"),
            Reason::BelowThreshold { score, threshold } => write!(
                f,
                "Punktzahl {} unter Schwelle {}",
                format_decimal(*score, 1),
                format_decimal(*threshold, 1)
            ),
            Reason::Overshadowed {
                strength,
                best,
                best_strength,
            } => write!(
                f,
                "zu schwach neben {best}: Stärke {} gegenüber {}",
                format_decimal(*strength, 2),
                format_decimal(*best_strength, 2)
            ),
            Reason::CoreRuleMissing { rule } => {
                write!(f, "Kernregel des Projekts ohne Treffer: {rule}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_render_in_german_and_round_trip_as_typed_json() {
        let reasons = vec![
            Reason::Hits {
                hits: vec![
                    Hit {
                        term: "Glasfaser".into(),
                        field: Field::Title,
                    },
                    Hit {
                        term: "Gigabit".into(),
                        field: Field::Summary,
                    },
                ],
            },
            Reason::Criterion {
                criterion: Criterion::DeadlineAhead {
                    days: 42,
                    date: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
                },
            },
            Reason::BelowThreshold {
                score: 2.0,
                threshold: 4.0,
            },
        ];
        let german: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        assert_eq!(
            german,
            [
                "Treffer: Glasfaser (Titel), Gigabit (Kurztext)",
                "Frist in 42 Tagen (31.03.2026)",
                "Punktzahl 2,0 unter Schwelle 4,0"
            ]
        );
        let json = serde_json::to_string(&reasons).unwrap();
        assert!(json.contains("\"reason\":\"criterion\""), "{json}");
        assert!(json.contains("\"criterion\":\"deadline-ahead\""), "{json}");
        assert_eq!(serde_json::from_str::<Vec<Reason>>(&json).unwrap(), reasons);
    }
}
