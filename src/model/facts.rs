//! The facts of a call a contact is told about (deadline, status, rate, amount,
//! applicants), as remembered per contact: a change notice compares what the call
//! says now with what the contact last got. Title and text are not facts: a
//! cosmetic edit never triggers a notice.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::german::{format_amount, format_date_de, format_rate};
use super::{ApplicantCategory, Call, CallStatus, Deadline, FundingRate};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallFacts {
    /// Stated cut-off dates, sorted; empty for rolling or unknown deadlines.
    #[serde(default)]
    pub dates: Vec<NaiveDate>,
    #[serde(default)]
    pub rolling: bool,
    /// The source marks the call closed.
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub rate: Option<FundingRate>,
    #[serde(default)]
    pub amount: Option<u64>,
    #[serde(default)]
    pub applicants: BTreeSet<ApplicantCategory>,
}

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FactKind {
    /// A deadline moved, was added or removed.
    Deadline,
    ClosedEarly,
    Reopened,
    Rate,
    Amount,
    Applicants,
}

impl FactKind {
    /// German label: "Frist", "Status", "Förderquote", ...
    pub fn label_de(self) -> &'static str {
        match self {
            FactKind::Deadline => "Frist",
            FactKind::ClosedEarly | FactKind::Reopened => "Status",
            FactKind::Rate => "Förderquote",
            FactKind::Amount => "Förderbetrag",
            FactKind::Applicants => "Antragsberechtigte",
        }
    }
}

/// One difference between two versions of a call's facts, in the words of a digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactChange {
    pub kind: FactKind,
    /// "31.03.2026 → 30.04.2026".
    pub text: String,
}

impl FactChange {
    /// "Frist 31.03.2026 → 30.04.2026".
    pub fn describe_de(&self) -> String {
        format!("{} {}", self.kind.label_de(), self.text)
    }
}

impl CallFacts {
    pub fn of(call: &Call) -> CallFacts {
        let (mut dates, rolling) = match &call.deadline {
            Deadline::Dates(d) => (d.iter().map(|d| d.date).collect::<Vec<_>>(), false),
            Deadline::Rolling => (Vec::new(), true),
            Deadline::Unknown => (Vec::new(), false),
        };
        dates.sort_unstable();
        dates.dedup();
        CallFacts {
            dates,
            rolling,
            closed: call.status == CallStatus::Closed,
            rate: call.funding_rate,
            amount: call.amount_max_eur,
            applicants: call.applicants.categories.clone(),
        }
    }

    /// What changed from `before` to `self`, deadline first; empty when nothing did.
    pub fn changes_since(&self, before: &CallFacts) -> Vec<FactChange> {
        let mut out = Vec::new();
        if self.dates != before.dates || self.rolling != before.rolling {
            out.push(FactChange {
                kind: FactKind::Deadline,
                text: format!("{} → {}", before.deadline_de(), self.deadline_de()),
            });
        }
        if self.closed && !before.closed {
            out.push(FactChange {
                kind: FactKind::ClosedEarly,
                text: "vorzeitig geschlossen".into(),
            });
        } else if !self.closed && before.closed {
            out.push(FactChange {
                kind: FactKind::Reopened,
                text: "wieder geöffnet".into(),
            });
        }
        if self.rate != before.rate {
            out.push(FactChange {
                kind: FactKind::Rate,
                text: format!("{} → {}", format_rate(before.rate), format_rate(self.rate)),
            });
        }
        if self.amount != before.amount {
            out.push(FactChange {
                kind: FactKind::Amount,
                text: format!("{} → {}", format_amount(before.amount), format_amount(self.amount)),
            });
        }
        if self.applicants != before.applicants {
            out.push(FactChange {
                kind: FactKind::Applicants,
                text: format!(
                    "{} → {}",
                    applicants_de(&before.applicants),
                    applicants_de(&self.applicants)
                ),
            });
        }
        out
    }

    fn deadline_de(&self) -> String {
        if self.rolling {
            return "laufend".into();
        }
        if self.dates.is_empty() {
            return "keine Angabe".into();
        }
        self.dates
            .iter()
            .map(|d| format_date_de(*d))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn applicants_de(categories: &BTreeSet<ApplicantCategory>) -> String {
    if categories.is_empty() {
        return "keine Angabe".into();
    }
    categories.iter().map(|c| c.label_de()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeadlineDate;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn a_moved_deadline_reads_old_to_new_and_text_edits_are_no_change() {
        let now = chrono::Utc::now();
        let mut call = Call::new("s", "https://example.org/a", "Aufruf", now);
        call.deadline = Deadline::Dates(vec![DeadlineDate::on(d(3, 31))]);
        let before = CallFacts::of(&call);
        call.title = "Aufruf (neu formuliert)".into();
        call.summary = "Andere Worte".into();
        assert!(CallFacts::of(&call).changes_since(&before).is_empty());
        call.deadline = Deadline::Dates(vec![DeadlineDate::on(d(4, 30))]);
        call.amount_max_eur = Some(50_000);
        let changes = CallFacts::of(&call).changes_since(&before);
        assert_eq!(changes[0].text, "31.03.2026 → 30.04.2026");
        assert_eq!(changes[0].kind, FactKind::Deadline);
        assert_eq!(changes[0].describe_de(), "Frist 31.03.2026 → 30.04.2026");
        assert_eq!(changes[1].kind, FactKind::Amount);
        call.deadline = Deadline::Unknown;
        call.status = CallStatus::Closed;
        let changes = CallFacts::of(&call).changes_since(&before);
        assert_eq!(changes[0].text, "31.03.2026 → keine Angabe");
        assert_eq!(changes[1].text, "vorzeitig geschlossen");
    }
}
