//! What recipients said about the digests: "passt", "passt nicht", and what they
//! muted. Entries are facts with who and when; [`FeedbackSet`] folds one contact's
//! entries into what its digests must leave out.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::text::fold;
use super::{Call, CallId, Match, string_enum};

string_enum! {
    /// What a recipient said.
    pub enum FeedbackAction ("feedback action") {
        /// The call fits (kept for the evaluation and the admin digest).
        Passt = "passt",
        /// The call does not fit: it never comes back, not as a reminder or a change notice.
        PasstNicht = "passt-nicht",
        /// Leave out every call of a project, Handlungsfeld or funder.
        Mute = "mute",
        /// Undo an earlier mute of the same target.
        Unmute = "unmute",
    }
}

string_enum! {
    /// What an entry is about.
    pub enum FeedbackTargetKind ("feedback target") {
        Call = "call",
        Project = "project",
        Handlungsfeld = "handlungsfeld",
        Funder = "funder",
    }
}

/// One recorded answer. `contact` is `None` for an entry that holds for the whole
/// Kommune (a call dismissed for every contact of `kommune`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackEntry {
    /// Store id; 0 for an entry not stored yet.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who recorded it: the contact's address for a mail link, `cli` or a user name otherwise.
    pub actor: String,
    /// Lower-cased address of the contact it holds for.
    pub contact: Option<String>,
    /// Id of the Kommune: the scope of a Kommune-wide entry, else the contact's Kommune if known.
    pub kommune: Option<String>,
    pub action: FeedbackAction,
    pub target_kind: FeedbackTargetKind,
    /// Call id, project id, Handlungsfeld id or funder name.
    pub target: String,
    pub reason: Option<String>,
}

impl FeedbackEntry {
    /// Whether the entry is a valid combination: only calls get "passt"/"passt nicht",
    /// only projects, Handlungsfelder and funders are muted, and only for one contact.
    pub fn validate(&self) -> Result<(), String> {
        use FeedbackAction::*;
        use FeedbackTargetKind as T;
        match (self.action, self.target_kind) {
            (Passt | PasstNicht, T::Call) => {}
            (Passt | PasstNicht, kind) => return Err(format!("'{}' applies to calls, not to a {kind}", self.action)),
            (Mute | Unmute, T::Call) => {
                return Err(format!(
                    "'{}' applies to a project, Handlungsfeld or funder; dismiss a call instead",
                    self.action
                ));
            }
            (Mute | Unmute, _) if self.contact.is_none() => {
                return Err(format!("'{}' holds for one contact; name the contact", self.action));
            }
            (Mute | Unmute, _) => {}
        }
        if self.contact.is_none() && self.kommune.is_none() {
            return Err("feedback needs a contact or a Kommune".into());
        }
        if self.target.trim().is_empty() {
            return Err(format!("empty {} in feedback", self.target_kind));
        }
        Ok(())
    }
}

/// What one contact's digests leave out, folded from its entries and those of its
/// Kommunen in the order they were recorded (a later "passt" undoes a "passt nicht",
/// an unmute undoes a mute).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackSet {
    pub dismissed: HashSet<CallId>,
    pub muted_projects: HashSet<String>,
    pub muted_handlungsfelder: HashSet<String>,
    /// Folded funder names (see [`fold`]).
    pub muted_funders: HashSet<String>,
}

impl FeedbackSet {
    /// Folds entries, oldest first.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a FeedbackEntry>) -> FeedbackSet {
        let mut set = FeedbackSet::default();
        for e in entries {
            set.apply(e);
        }
        set
    }

    fn apply(&mut self, e: &FeedbackEntry) {
        use FeedbackAction::*;
        use FeedbackTargetKind as T;
        let mute = match e.action {
            PasstNicht => {
                self.dismissed.insert(CallId(e.target.clone()));
                return;
            }
            Passt => {
                self.dismissed.remove(&CallId(e.target.clone()));
                return;
            }
            Mute => true,
            Unmute => false,
        };
        let (set, key) = match e.target_kind {
            T::Call => return,
            T::Project => (&mut self.muted_projects, e.target.clone()),
            T::Handlungsfeld => (&mut self.muted_handlungsfelder, e.target.clone()),
            T::Funder => (&mut self.muted_funders, fold(&e.target)),
        };
        if mute {
            set.insert(key);
        } else {
            set.remove(&key);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.dismissed.is_empty()
            && self.muted_projects.is_empty()
            && self.muted_handlungsfelder.is_empty()
            && self.muted_funders.is_empty()
    }

    /// The whole call is left out: dismissed, or its funder is muted.
    pub fn hides_call(&self, call: &Call) -> bool {
        self.dismissed.contains(&call.id)
            || (!self.muted_funders.is_empty()
                && call
                    .funder
                    .as_deref()
                    .is_some_and(|f| self.muted_funders.contains(&fold(f))))
    }

    /// This match is left out: its project or its Handlungsfeld is muted. A call
    /// stays when another of its matches is not.
    pub fn hides_match(&self, m: &Match) -> bool {
        self.dismissed.contains(&m.call_id)
            || self.muted_handlungsfelder.contains(&m.handlungsfeld)
            || m.project.as_ref().is_some_and(|p| self.muted_projects.contains(p))
    }
}

/// How often calls of a Handlungsfeld or project got an answer (admin digest, metrics).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackCount {
    pub handlungsfeld: String,
    /// `None`: the Handlungsfeld's own profile.
    pub project: Option<String>,
    pub action: FeedbackAction,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: FeedbackAction, kind: FeedbackTargetKind, target: &str) -> FeedbackEntry {
        FeedbackEntry {
            id: 0,
            at: DateTime::UNIX_EPOCH,
            actor: "cli".into(),
            contact: Some("a@example.org".into()),
            kommune: Some("ahlen".into()),
            action,
            target_kind: kind,
            target: target.into(),
            reason: None,
        }
    }

    fn matched(call: &str, hf: &str, project: Option<&str>) -> Match {
        Match {
            call_id: CallId(call.into()),
            handlungsfeld: hf.into(),
            project: project.map(Into::into),
            score: 1.0,
            threshold: 0.5,
            passed: true,
            kommunen: vec!["ahlen".into()],
            reasons: vec![],
        }
    }

    #[test]
    fn later_entries_undo_earlier_ones() {
        use FeedbackAction::*;
        use FeedbackTargetKind as T;
        let entries = [
            entry(PasstNicht, T::Call, "c-1"),
            entry(Mute, T::Project, "dorfladen"),
            entry(Mute, T::Funder, "Land NRW"),
            entry(Passt, T::Call, "c-1"),
            entry(PasstNicht, T::Call, "c-2"),
            entry(Unmute, T::Project, "dorfladen"),
            entry(Mute, T::Handlungsfeld, "verwaltung"),
        ];
        let set = FeedbackSet::from_entries(&entries);
        assert!(!set.dismissed.contains(&CallId("c-1".into())));
        assert!(set.dismissed.contains(&CallId("c-2".into())));
        assert!(set.muted_projects.is_empty());
        assert!(!set.hides_match(&matched("c-3", "innenstadt", Some("dorfladen"))));
        assert!(set.hides_match(&matched("c-3", "verwaltung", None)));
        assert!(set.hides_match(&matched("c-2", "innenstadt", None)));
        let mut call = Call::new("rss", "https://example.org/x", "X", DateTime::UNIX_EPOCH);
        call.funder = Some("LAND nrw".into());
        assert!(set.hides_call(&call), "funder names compare folded");
    }

    #[test]
    fn invalid_combinations_are_refused() {
        use FeedbackAction::*;
        use FeedbackTargetKind as T;
        assert!(entry(Mute, T::Call, "c-1").validate().is_err());
        assert!(entry(PasstNicht, T::Project, "p").validate().is_err());
        let mut kommune_wide = entry(Mute, T::Project, "p");
        kommune_wide.contact = None;
        assert!(kommune_wide.validate().is_err());
        let mut kommune_dismiss = entry(PasstNicht, T::Call, "c-1");
        kommune_dismiss.contact = None;
        assert!(kommune_dismiss.validate().is_ok());
        assert!(entry(PasstNicht, T::Call, " ").validate().is_err());
    }
}
