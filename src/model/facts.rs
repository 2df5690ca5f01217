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

/// One difference between two versions of a call's facts, in the words of a digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactChange {
    /// "Frist", "Förderquote", "Förderbetrag", "Antragsberechtigte", "Status".
    pub what: &'static str,
    /// "31.03.2026 → 30.04.2026".
    pub text: String,
    /// A deadline moved, was added or removed.
    pub deadline: bool,
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
                what: "Frist",
                text: format!("{} → {}", before.deadline_de(), self.deadline_de()),
                deadline: true,
            });
        }
        if self.closed && !before.closed {
            out.push(FactChange {
                what: "Status",
                text: "vorzeitig geschlossen".into(),
                deadline: false,
            });
        } else if !self.closed && before.closed {
            out.push(FactChange {
                what: "Status",
                text: "wieder geöffnet".into(),
                deadline: false,
            });
        }
        if self.rate != before.rate {
            out.push(FactChange {
                what: "Förderquote",
                text: format!("{} → {}", format_rate(before.rate), format_rate(self.rate)),
                deadline: false,
            });
        }
        if self.amount != before.amount {
            out.push(FactChange {
                what: "Förderbetrag",
                text: format!("{} → {}", format_amount(before.amount), format_amount(self.amount)),
                deadline: false,
            });
        }
        if self.applicants != before.applicants {
            out.push(FactChange {
                what: "Antragsberechtigte",
                text: format!(
                    "{} → {}",
                    applicants_de(&before.applicants),
                    applicants_de(&self.applicants)
                ),
                deadline: false,
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
        assert!(changes[0].deadline);
        assert_eq!(changes[1].what, "Förderbetrag");
        call.deadline = Deadline::Unknown;
        call.status = CallStatus::Closed;
        let changes = CallFacts::of(&call).changes_since(&before);
        assert_eq!(changes[0].text, "31.03.2026 → keine Angabe");
        assert_eq!(changes[1].text, "vorzeitig geschlossen");
    }
}
