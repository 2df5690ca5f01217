//! `/health` for a status page or a load balancer, `/metrics` for Prometheus.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::WebState;
use super::access::{is_admin, is_local};
use crate::config::CronSchedule;
use crate::store::Store;

/// 200 when the database answers and the pipeline is not overdue, 503 otherwise;
/// the body says which, with the age of the last finished run.
pub async fn health(State(state): State<WebState>) -> Response {
    let now = Utc::now();
    let store = &state.0.store;
    let last_run = match store.ping().await {
        Ok(()) => store.last_finished_run().await,
        Err(e) => Err(e),
    };
    let (status, body) = match last_run {
        Err(e) => {
            tracing::warn!(error = %e, "health: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "database unreachable", "database": false, "last_run": null, "last_run_age_secs": null}),
            )
        }
        Ok(last) => {
            let schedule = &state.0.config.service.schedules.collect;
            let overdue = overdue(last, schedule, state.0.config.service.timezone, now);
            let code = if overdue {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            (
                code,
                json!({
                    "status": if overdue { "overdue" } else { "ok" },
                    "database": true,
                    "last_run": last.map(|t| t.to_rfc3339()),
                    "last_run_age_secs": last.map(|t| (now - t).num_seconds()),
                }),
            )
        }
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Two collect slots passed since the last finished run (as `status` judges a job).
/// A store that never ran is not overdue: a new deployment waits for its first slot.
fn overdue(last: Option<DateTime<Utc>>, schedule: &CronSchedule, tz: chrono_tz::Tz, now: DateTime<Utc>) -> bool {
    last.is_some_and(|t| {
        schedule
            .schedule
            .after(&t.with_timezone(&tz))
            .nth(1)
            .is_some_and(|second| second.with_timezone(&Utc) <= now)
    })
}

/// Prometheus text format (0.0.4), for the admin token or a local scraper.
pub async fn metrics(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !is_admin(&headers, state.0.admin_token.as_deref()) && !is_local(peer, &headers) {
        return state.0.pages.unauthorized();
    }
    match exposition(&state.0.store).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => state.0.pages.failed("metrics: cannot read the store", &e),
    }
}

async fn exposition(store: &impl Store) -> anyhow::Result<String> {
    let m = store.metrics().await?;
    let mut out = Metrics::default();
    out.family("foerderradar_calls", "Stored calls by source and status.");
    for (source, status, n) in &m.calls {
        out.sample("foerderradar_calls", &[("source", source), ("status", status)], *n);
    }
    out.family(
        "foerderradar_matches_passed",
        "Passed matches (call and Handlungsfeld or project).",
    );
    out.sample("foerderradar_matches_passed", &[], m.matches_passed);
    out.family(
        "foerderradar_mails",
        "Outbox mails by state: sent, pending, failed (pending after a failed attempt), given_up.",
    );
    for (state, n) in [
        ("sent", m.mails_sent),
        ("pending", m.mails_pending),
        ("failed", m.mails_failed),
        ("given_up", m.mails_given_up),
    ] {
        out.sample("foerderradar_mails", &[("state", state)], n);
    }
    out.family(
        "foerderradar_feedback",
        "Feedback entries by action, Handlungsfeld and project.",
    );
    for c in store.feedback_counts(None).await? {
        let project = c.project.as_deref().unwrap_or("");
        out.sample(
            "foerderradar_feedback",
            &[
                ("action", c.action.as_str()),
                ("handlungsfeld", &c.handlungsfeld),
                ("project", project),
            ],
            c.count,
        );
    }
    let health = store.source_health().await?;
    out.family(
        "foerderradar_source_last_success_timestamp_seconds",
        "Unix time of the source's last successful pass.",
    );
    for h in &health {
        if let Some(t) = h.last_success {
            out.sample(
                "foerderradar_source_last_success_timestamp_seconds",
                &[("source", &h.source)],
                t.timestamp(),
            );
        }
    }
    out.family(
        "foerderradar_source_consecutive_failures",
        "Failed passes of the source in a row.",
    );
    for h in &health {
        out.sample(
            "foerderradar_source_consecutive_failures",
            &[("source", &h.source)],
            h.consecutive_failures,
        );
    }
    out.family("foerderradar_source_items", "Items the source listed in its last pass.");
    for h in &health {
        out.sample("foerderradar_source_items", &[("source", &h.source)], h.items_last_pass);
    }
    out.family(
        "foerderradar_job_last_run_timestamp_seconds",
        "Unix time the job's newest finished run ended.",
    );
    for j in &m.jobs {
        out.sample(
            "foerderradar_job_last_run_timestamp_seconds",
            &[("job", j.kind.as_str())],
            j.finished.timestamp(),
        );
    }
    out.family(
        "foerderradar_job_duration_seconds",
        "Duration of the job's newest finished run.",
    );
    for j in &m.jobs {
        let secs = (j.finished - j.started).num_milliseconds() as f64 / 1000.0;
        out.sample("foerderradar_job_duration_seconds", &[("job", j.kind.as_str())], secs);
    }
    out.family(
        "foerderradar_job_success",
        "1 when the job's newest finished run went without a failure, else 0.",
    );
    for j in &m.jobs {
        out.sample("foerderradar_job_success", &[("job", j.kind.as_str())], u8::from(j.ok));
    }
    Ok(out.0)
}

/// Builds the text exposition; every family is a gauge.
#[derive(Default)]
struct Metrics(String);

impl Metrics {
    fn family(&mut self, name: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} gauge");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut m = Metrics::default();
        m.sample("x", &[("source", "a\"b\\c\nd")], 1);
        assert_eq!(m.0, "x{source=\"a\\\"b\\\\c\\nd\"} 1\n");
    }

    #[test]
    fn overdue_after_two_missed_slots() {
        let schedule = crate::config::CronSchedule {
            expr: "0 6 * * *".into(),
            schedule: "0 0 6 * * *".parse().unwrap(),
        };
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let tz = chrono_tz::UTC;
        let last = Some(t("2026-12-01T06:05:00Z"));
        assert!(!overdue(last, &schedule, tz, t("2026-12-02T07:00:00Z")));
        assert!(overdue(last, &schedule, tz, t("2026-12-03T06:00:00Z")));
        assert!(!overdue(None, &schedule, tz, t("2026-12-03T06:00:00Z")));
    }
}
