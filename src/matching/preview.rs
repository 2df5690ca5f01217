//! What a rule or config change would do, before it is deployed: which calls
//! newly match or stop matching, for which Kommunen and projects, and how many
//! digest e-mails each contact would have received under each version.
//!
//! Mail count approximation: one digest per contact per day on which at least
//! one passed match (routed to the contact's Kommune and covered by the
//! contact's interests) concerns a call first seen that day (in the service's
//! time zone). It ignores change notices, already-notified calls and outbox
//! retries, so it counts the mails the matching itself would cause.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;

use super::Matcher;
use crate::config::Config;
use crate::model::Call;

/// One (call, Handlungsfeld/project) whose passed result differs.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewChange {
    pub call_id: String,
    pub title: String,
    pub handlungsfeld: String,
    pub project: Option<String>,
    /// Kommunen routed under the current version (`None`: did not pass).
    pub before: Option<Vec<String>>,
    pub after: Option<Vec<String>>,
}

/// Digests of one contact under both versions, and the calls they would carry.
#[derive(Debug, Clone, PartialEq)]
pub struct MailCount {
    pub kommune: String,
    pub contact: String,
    pub before: usize,
    pub after: usize,
    /// Calls listed over all of the contact's digests (a call counts once per digest).
    pub calls_before: usize,
    pub calls_after: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreviewReport {
    pub calls: usize,
    pub changes: Vec<PreviewChange>,
    pub mails: Vec<MailCount>,
}

type Key = (String, Option<String>);

/// Matches `calls` under both versions and reports the differences.
pub fn compare(
    current: (&Config, &Matcher),
    proposed: (&Config, &Matcher),
    calls: &[Call],
    today: NaiveDate,
) -> PreviewReport {
    let mut changes = Vec::new();
    let mut before_mails = Digests::default();
    let mut after_mails = Digests::default();
    for call in calls {
        let before = passed(current.1, call, today);
        let after = passed(proposed.1, call, today);
        before_mails.add(current.0, call, &before);
        after_mails.add(proposed.0, call, &after);
        let keys: BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
        for key in keys {
            let (b, a) = (before.get(key), after.get(key));
            if b != a {
                changes.push(PreviewChange {
                    call_id: call.id.to_string(),
                    title: call.title.clone(),
                    handlungsfeld: key.0.clone(),
                    project: key.1.clone(),
                    before: b.cloned(),
                    after: a.cloned(),
                });
            }
        }
    }
    let contacts: BTreeSet<(String, String)> = [current.0, proposed.0]
        .iter()
        .flat_map(|c| {
            c.kommunen
                .iter()
                .flat_map(|k| k.contacts.iter().map(|ct| (k.id.clone(), ct.email.clone())))
        })
        .collect();
    let mails = contacts
        .into_iter()
        .map(|(kommune, contact)| {
            let key = (kommune.clone(), contact.clone());
            MailCount {
                before: before_mails.mails(&key),
                after: after_mails.mails(&key),
                calls_before: before_mails.calls(&key),
                calls_after: after_mails.calls(&key),
                kommune,
                contact,
            }
        })
        .collect();
    PreviewReport {
        calls: calls.len(),
        changes,
        mails,
    }
}

fn passed(matcher: &Matcher, call: &Call, today: NaiveDate) -> BTreeMap<Key, Vec<String>> {
    matcher
        .match_call(call, today)
        .into_iter()
        .filter(|m| m.passed)
        .map(|m| ((m.handlungsfeld, m.project), m.kommunen))
        .collect()
}

/// Per (Kommune, contact e-mail): the days with a digest and the calls each would list.
#[derive(Default)]
struct Digests(BTreeMap<(String, String), BTreeMap<NaiveDate, BTreeSet<String>>>);

impl Digests {
    fn add(&mut self, config: &Config, call: &Call, passed: &BTreeMap<Key, Vec<String>>) {
        let day = call.first_seen.with_timezone(&config.service.timezone).date_naive();
        for kommune in &config.kommunen {
            for contact in &kommune.contacts {
                let concerned = passed.iter().any(|((hf, project), routed)| {
                    routed.contains(&kommune.id) && contact.interests.covers(hf, project.as_deref())
                });
                if concerned {
                    self.0
                        .entry((kommune.id.clone(), contact.email.clone()))
                        .or_default()
                        .entry(day)
                        .or_default()
                        .insert(call.id.to_string());
                }
            }
        }
    }

    fn mails(&self, key: &(String, String)) -> usize {
        self.0.get(key).map_or(0, BTreeMap::len)
    }

    fn calls(&self, key: &(String, String)) -> usize {
        self.0.get(key).map_or(0, |days| days.values().map(BTreeSet::len).sum())
    }
}

fn who(hf: &str, project: Option<&str>) -> String {
    match project {
        Some(p) => format!("project {p}"),
        None => format!("Handlungsfeld {hf}"),
    }
}

impl fmt::Display for PreviewReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "preview over {} calls: {} changes", self.calls, self.changes.len())?;
        for (heading, pick) in [
            (
                "newly matching",
                (|c: &PreviewChange| c.before.is_none()) as fn(&PreviewChange) -> bool,
            ),
            ("no longer matching", |c| c.after.is_none()),
            ("other Kommunen", |c| c.before.is_some() && c.after.is_some()),
        ] {
            let list: Vec<_> = self.changes.iter().filter(|c| pick(c)).collect();
            writeln!(f)?;
            writeln!(f, "{heading} ({}):", list.len())?;
            for c in list {
                let target = who(&c.handlungsfeld, c.project.as_deref());
                let kommunen = |k: &Option<Vec<String>>| k.as_ref().map_or("–".to_string(), |v| v.join(", "));
                writeln!(f, "- {} ({}) – {target}", c.title, c.call_id)?;
                writeln!(f, "    before: {}", kommunen(&c.before))?;
                writeln!(f, "    after: {}", kommunen(&c.after))?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "mails per contact (one digest per day with at least one new matching call) and the calls they list:"
        )?;
        writeln!(
            f,
            "{:<20} {:<40} {:>13} {:>6} {:>13} {:>6}",
            "Kommune", "contact", "mails before", "after", "calls before", "after"
        )?;
        for m in &self.mails {
            writeln!(
                f,
                "{:<20} {:<40} {:>13} {:>6} {:>13} {:>6}",
                m.kommune, m.contact, m.before, m.after, m.calls_before, m.calls_after
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RuleSpec;
    use crate::matching::tests::{config_with, day};
    use crate::model::{ApplicantCategory, Deadline, Region};
    use chrono::{TimeZone, Utc};

    fn call(n: u32, title: &str, seen_day: u32) -> Call {
        let seen = Utc.with_ymd_and_hms(2026, 2, seen_day, 9, 0, 0).unwrap();
        let mut c = Call::new("t", format!("https://t.example/{n}"), title, seen);
        c.applicants.categories.insert(ApplicantCategory::Kommune);
        c.regions = vec![Region::Bundesweit];
        c.deadline = Deadline::Rolling;
        c
    }

    #[test]
    fn reports_new_and_lost_matches_and_mail_counts() {
        let current = config_with(vec![], crate::matching::tests::criteria());
        let mut proposed = current.clone();
        // The proposal drops "Breitband" and adds the Onlinezugangsgesetz.
        let replace = |rule: &mut RuleSpec, expr: &str| {
            *rule = RuleSpec::new(expr, rule.weight, rule.file.clone(), rule.line).unwrap();
        };
        replace(
            &mut proposed.strategy.handlungsfelder[0].profile.rules[0],
            "Glasfaser OR Gigabit*",
        );
        replace(
            &mut proposed.strategy.handlungsfelder[1].profile.rules[0],
            "Onlinezugang* OR OZG",
        );
        let calls = vec![
            call(1, "Breitband für Kommunen", 2),
            call(2, "Glasfaser und Gigabit in Schulen", 2),
            call(3, "Umsetzung des Onlinezugangsgesetzes (OZG)", 3),
        ];
        let (m1, m2) = (Matcher::new(&current).unwrap(), Matcher::new(&proposed).unwrap());
        let report = compare((&current, &m1), (&proposed, &m2), &calls, day(2026, 3, 1));
        let lost: Vec<_> = report
            .changes
            .iter()
            .filter(|c| c.after.is_none())
            .map(|c| c.title.as_str())
            .collect();
        let new: Vec<_> = report
            .changes
            .iter()
            .filter(|c| c.before.is_none())
            .map(|c| c.title.as_str())
            .collect();
        assert_eq!(lost, vec!["Breitband für Kommunen"]);
        assert_eq!(new, vec!["Umsetzung des Onlinezugangsgesetzes (OZG)"]);
        let ahlen = report.mails.iter().find(|m| m.kommune == "ahlen").unwrap();
        assert_eq!((ahlen.before, ahlen.after), (1, 2), "{report}");
        // Before: one digest listing calls 1 and 2; after: call 2 on day 2 and call 3 on day 3.
        assert_eq!((ahlen.calls_before, ahlen.calls_after), (2, 2), "{report}");
        let text = report.to_string();
        assert!(text.contains("newly matching (1):"), "{text}");
        assert!(text.contains("no longer matching (1):"), "{text}");
    }
}
