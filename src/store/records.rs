//! What the store reports beyond calls and mails: scheduled and pipeline runs, the
//! numbers of `/metrics` and `status`, admin sessions and the audit log. The same
//! records for every backend.

use chrono::{DateTime, Utc};

use super::RunKind;

/// The last runs of one scheduled job.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledRuns {
    pub job: String,
    pub last_started: Option<DateTime<Utc>>,
    /// The newest finished run, and whether it went without a failure.
    pub last_finished: Option<(DateTime<Utc>, bool)>,
}

/// When a source last brought items, from its recorded passes.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceYield {
    pub source: String,
    /// The first recorded pass.
    pub first_run: DateTime<Utc>,
    /// The newest pass that returned at least one item; `None`: never.
    pub last_items: Option<DateTime<Utc>>,
}

/// A mail the outbox gave up (a dead letter), without its message bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: i64,
    pub contact: String,
    pub subject: String,
    pub attempts: u32,
    pub error: Option<String>,
    pub created: DateTime<Utc>,
    /// The last scheduled attempt: where the outbox records the time a mail is given up.
    pub given_up: DateTime<Utc>,
}

/// Counts for the Prometheus endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreMetrics {
    /// Stored calls per (source, status).
    pub calls: Vec<(String, String, u32)>,
    /// Passed matches (call × Handlungsfeld or project).
    pub matches_passed: u32,
    pub mails_sent: u32,
    pub mails_pending: u32,
    /// Pending mails whose last attempt failed (they wait for a retry).
    pub mails_failed: u32,
    /// Mails given up after `max_attempts`.
    pub mails_given_up: u32,
    pub jobs: Vec<JobMetric>,
}

/// The newest finished run of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobMetric {
    pub kind: RunKind,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub ok: bool,
}

/// The latest runs of one kind of pipeline job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRuns {
    pub kind: RunKind,
    /// The newest run started (it may still be running, or may have been cut off).
    pub last_started: Option<DateTime<Utc>>,
    /// The newest run that finished, and whether it went without a failure.
    pub last_finished: Option<(DateTime<Utc>, bool)>,
    /// The newest run that finished without a failure.
    pub last_ok: Option<DateTime<Utc>>,
}

/// The newest recorded error: a source that failed or a mail whose attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct LastError {
    pub at: DateTime<Utc>,
    /// `source <id>` or `mail #<id>`.
    pub origin: String,
    pub message: String,
}

/// A live session: who is logged in and the CSRF token of their forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub admin: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// One change an admin made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub admin: String,
    pub target: String,
    pub old_text: String,
    pub new_text: String,
}
