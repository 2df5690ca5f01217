//! Übersicht (`/admin`): the jobs with their last and next run, the sources with
//! their health, the outbox, the newest calls, the feedback counts and the newest
//! changes; what `foerderradar status` shows, in German.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{admin, audit_rows, render};
use crate::config::Config;
use crate::model::feedback::FeedbackAction;
use crate::status::{JobStatus, SourceStatus};
use crate::store::{CallFilter, OutboxStatus, Store};
use crate::web::WebState;

/// Calls listed under "Neueste Aufrufe".
const NEWEST_CALLS: u32 = 10;
/// Given-up mails listed.
const GIVEN_UP_LISTED: usize = 20;

/// A time as the pages show it, in the deployment's time zone.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

fn opt_local(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map_or_else(|| "–".into(), |t| local(t, tz))
}

#[derive(Serialize)]
struct JobRow {
    name: String,
    schedule: String,
    last_finished: String,
    /// `ok`, `failed` or `none` (never finished).
    result: &'static str,
    next: String,
    overdue: bool,
}

fn job_name(job: &str) -> String {
    match job {
        "collect" => "Sammeln (alle Quellen)".into(),
        "match" => "Abgleich mit den Regeln".into(),
        "notify" => "Versand der Zusammenfassungen".into(),
        crate::notify::admin_digest::JOB => "Wochenbericht an die Verwaltung".into(),
        other => match other.strip_prefix("collect:") {
            Some(group) => format!("Sammeln (Gruppe {group})"),
            None => other.to_string(),
        },
    }
}

fn job_row(job: &JobStatus, tz: Tz) -> JobRow {
    JobRow {
        name: job_name(&job.job),
        schedule: job.schedule.clone(),
        last_finished: opt_local(job.last_finished, tz),
        result: match job.last_ok {
            Some(true) => "ok",
            Some(false) => "failed",
            None => "none",
        },
        next: opt_local(job.next, tz),
        overdue: job.overdue,
    }
}

/// A source's health as both pages show it.
#[derive(Serialize)]
pub struct SourceRow {
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    /// `ok`, `failing`, `broken`, `new` or `off` (see [`crate::status::SourceStatus`]).
    pub state: &'static str,
    pub last_success: String,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

pub fn source_row(s: &SourceStatus, config: &Config, tz: Tz) -> SourceRow {
    SourceRow {
        label: config
            .sources
            .iter()
            .find(|c| c.id == s.source)
            .map_or_else(String::new, |c| c.label.clone()),
        id: s.source.clone(),
        kind: s.kind,
        state: s.state,
        last_success: opt_local(s.last_success, tz),
        consecutive_failures: s.consecutive_failures,
        last_error: s.last_error.clone(),
    }
}

#[derive(Serialize)]
struct Outbox {
    waiting: u32,
    retrying: u32,
    sent: u32,
    given_up: u32,
    given_up_list: Vec<GivenUp>,
}

#[derive(Serialize)]
struct GivenUp {
    contact: String,
    subject: String,
    attempts: u32,
    error: String,
    at: String,
}

#[derive(Serialize)]
struct CallRow {
    title: String,
    source: String,
    deadline: String,
    first_seen: String,
}

#[derive(Serialize)]
struct FeedbackRow {
    handlungsfeld: String,
    /// Empty for the Handlungsfeld's own profile.
    project: String,
    passt: u64,
    passt_nicht: u64,
}

#[derive(Serialize)]
struct Ctx {
    jobs: Vec<JobRow>,
    sources: Vec<SourceRow>,
    outbox: Outbox,
    calls: Vec<CallRow>,
    feedback: Vec<FeedbackRow>,
    recent: Vec<super::AuditRow>,
}

pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let config = match super::config_file::load_current(&state) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let recent = match audit_rows(&state, 5).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match gather(&state, &config).await {
        Ok((jobs, sources, outbox, calls, feedback)) => render(
            &state,
            &admin,
            "admin/overview.html.j2",
            Ctx {
                jobs,
                sources,
                outbox,
                calls,
                feedback,
                recent,
            },
        ),
        Err(e) => state.0.pages.failed("admin: cannot gather the overview", &e),
    }
}

type Parts = (Vec<JobRow>, Vec<SourceRow>, Outbox, Vec<CallRow>, Vec<FeedbackRow>);

async fn gather(state: &WebState, config: &Config) -> anyhow::Result<Parts> {
    let store = &state.0.store;
    let tz = config.service.timezone;
    let status = crate::status::gather(store, config, Utc::now()).await?;
    let jobs = status.jobs.iter().map(|j| job_row(j, tz)).collect();
    let sources = status.sources.iter().map(|s| source_row(s, config, tz)).collect();
    let count = |wanted: OutboxStatus| {
        status
            .outbox
            .iter()
            .find(|c| c.status == wanted.as_str())
            .map_or(0, |c| c.mails)
    };
    let retrying = store.retrying_mails().await?;
    let given_up_list = store
        .dead_letters_since(DateTime::UNIX_EPOCH)
        .await?
        .into_iter()
        .take(GIVEN_UP_LISTED)
        .map(|d| GivenUp {
            contact: d.contact,
            subject: d.subject,
            attempts: d.attempts,
            error: d.error.unwrap_or_default(),
            at: local(d.given_up, tz),
        })
        .collect();
    let outbox = Outbox {
        waiting: count(OutboxStatus::Pending).saturating_sub(retrying),
        retrying,
        sent: count(OutboxStatus::Sent),
        given_up: count(OutboxStatus::Failed),
        given_up_list,
    };
    let calls = store
        .list_calls(&CallFilter {
            limit: Some(NEWEST_CALLS),
            ..CallFilter::default()
        })
        .await?
        .into_iter()
        .map(|c| CallRow {
            deadline: crate::model::german::format_deadline(&c.deadline),
            first_seen: local(c.first_seen, tz),
            source: c.source,
            title: c.title,
        })
        .collect();
    let feedback = feedback_rows(store.feedback_counts(None).await?, config);
    Ok((jobs, sources, outbox, calls, feedback))
}

/// "passt" and "passt nicht" per Handlungsfeld and project, by id.
fn feedback_rows(counts: Vec<crate::model::feedback::FeedbackCount>, config: &Config) -> Vec<FeedbackRow> {
    let mut by_target: BTreeMap<(String, Option<String>), (u64, u64)> = BTreeMap::new();
    for c in counts {
        let entry = by_target.entry((c.handlungsfeld, c.project)).or_default();
        match c.action {
            FeedbackAction::Passt => entry.0 += c.count,
            FeedbackAction::PasstNicht => entry.1 += c.count,
            FeedbackAction::Mute | FeedbackAction::Unmute => {}
        }
    }
    let strategy = &config.strategy;
    by_target
        .into_iter()
        .filter(|(_, (passt, passt_nicht))| passt + passt_nicht > 0)
        .map(|((hf, project), (passt, passt_nicht))| FeedbackRow {
            handlungsfeld: strategy.handlungsfeld(&hf).map_or(hf.clone(), |h| h.name.clone()),
            project: project
                .map(|p| strategy.project(&p).map_or(p.clone(), |p| p.name.clone()))
                .unwrap_or_default(),
            passt,
            passt_nicht,
        })
        .collect()
}
