//! Recording what recipients said, from the command line (and, through the same
//! functions, from the web links): names given by a person are resolved against the
//! config, so a typo is an error that lists what is known, never a silent no-op.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};

use super::App;
use crate::config::Config;
use crate::model::feedback::{FeedbackAction, FeedbackEntry, FeedbackTargetKind};
use crate::store::{FeedbackFilter, Store};

/// Who a feedback entry holds for.
#[derive(Debug, Clone)]
pub enum Audience {
    /// One configured contact address.
    Contact(String),
    /// Every contact of a Kommune (id or name).
    Kommune(String),
}

/// What a feedback entry is about, as a person names it.
#[derive(Debug, Clone)]
pub enum Target {
    /// A call id or unique prefix.
    Call(String),
    /// Project id or name.
    Project(String),
    /// Handlungsfeld id or name.
    Handlungsfeld(String),
    /// Funder name as the calls state it.
    Funder(String),
}

/// One answer to record.
#[derive(Debug, Clone)]
pub struct FeedbackRequest {
    pub action: FeedbackAction,
    pub audience: Audience,
    pub target: Target,
    pub reason: Option<String>,
    /// Who records it.
    pub actor: String,
}

impl<S: Store> App<S> {
    /// Resolves the request against the config and the store and records it.
    pub async fn record_feedback(&self, request: FeedbackRequest, now: DateTime<Utc>) -> anyhow::Result<FeedbackEntry> {
        let (contact, kommune) = audience(&self.config, &request.audience)?;
        let (target_kind, target) = match &request.target {
            Target::Call(id) => {
                let call = self
                    .store
                    .find_call(id)
                    .await?
                    .with_context(|| format!("no stored call with id or prefix '{id}'; see `calls list`"))?;
                (FeedbackTargetKind::Call, call.id.0)
            }
            Target::Project(p) => (FeedbackTargetKind::Project, project(&self.config, p)?),
            Target::Handlungsfeld(h) => (FeedbackTargetKind::Handlungsfeld, handlungsfeld(&self.config, h)?),
            Target::Funder(f) if f.trim().is_empty() => bail!("empty funder name"),
            Target::Funder(f) => (FeedbackTargetKind::Funder, f.trim().to_string()),
        };
        let mut entry = FeedbackEntry {
            id: 0,
            at: now,
            actor: request.actor,
            contact,
            kommune,
            action: request.action,
            target_kind,
            target,
            reason: request.reason.filter(|r| !r.trim().is_empty()),
        };
        entry.validate().map_err(anyhow::Error::msg)?;
        entry.id = self.store.record_feedback(&entry).await?;
        tracing::info!(feedback = entry.id, action = %entry.action, target = %entry.target, "feedback recorded");
        Ok(entry)
    }

    /// Stored entries, oldest first, narrowed to a contact or Kommune (ids or names).
    pub async fn list_feedback(
        &self,
        audience: Option<&Audience>,
        since: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Vec<FeedbackEntry>> {
        let mut filter = FeedbackFilter {
            since,
            ..FeedbackFilter::default()
        };
        match audience {
            Some(Audience::Contact(c)) => filter.contact = Some(c.trim().to_lowercase()),
            Some(Audience::Kommune(k)) => filter.kommune = Some(kommune_id(&self.config, k)?),
            None => {}
        }
        Ok(self.store.feedback(&filter).await?)
    }
}

/// (contact, Kommune) of an entry: a contact is recorded with its first Kommune.
fn audience(config: &Config, audience: &Audience) -> anyhow::Result<(Option<String>, Option<String>)> {
    match audience {
        Audience::Contact(address) => {
            let wanted = address.trim().to_lowercase();
            let kommune = config
                .kommunen
                .iter()
                .find(|k| k.contacts.iter().any(|c| c.email.trim().to_lowercase() == wanted))
                .with_context(|| format!("'{address}' is not a contact in kommunen.toml"))?;
            Ok((Some(wanted), Some(kommune.id.clone())))
        }
        Audience::Kommune(k) => Ok((None, Some(kommune_id(config, k)?))),
    }
}

fn kommune_id(config: &Config, given: &str) -> anyhow::Result<String> {
    resolve(
        "Kommune",
        given,
        config.kommunen.iter().map(|k| (k.id.as_str(), k.name.as_str())),
    )
}

fn project(config: &Config, given: &str) -> anyhow::Result<String> {
    let projects = config.strategy.projects.iter();
    resolve("project", given, projects.map(|p| (p.id.as_str(), p.name.as_str())))
}

fn handlungsfeld(config: &Config, given: &str) -> anyhow::Result<String> {
    let felder = config.strategy.handlungsfelder.iter();
    resolve("Handlungsfeld", given, felder.map(|h| (h.id.as_str(), h.name.as_str())))
}

/// The id whose id or name equals `given` in any case.
fn resolve<'c>(what: &str, given: &str, entries: impl Iterator<Item = (&'c str, &'c str)>) -> anyhow::Result<String> {
    let wanted = given.trim().to_lowercase();
    let entries: Vec<(&str, &str)> = entries.collect();
    match entries
        .iter()
        .find(|(id, name)| id.to_lowercase() == wanted || name.to_lowercase() == wanted)
    {
        Some((id, _)) => Ok((*id).to_string()),
        None => bail!(
            "unknown {what} '{given}' (known: {})",
            entries.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")
        ),
    }
}
