//! `foerderradar status`: one look at a running deployment. The last and next run of
//! every job, the health of every source, the outbox by state, the newest call's age,
//! the last error, the daemon instances with their heartbeats and what each holds, and
//! the list of what needs attention (exit code 1).
//!
//! What needs attention:
//! - an enabled source flagged broken;
//! - a mail given up in the last [`GIVEN_UP_WINDOW_DAYS`] days;
//! - a job without a finished run for two of its scheduled slots (the daemon stopped,
//!   or the job fails before it can finish).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Config, CronSchedule};
use crate::store::{HeldJob, InstanceStatus, LastError, RunKind, Store, claimed_source};

/// A mail given up within this many days counts as needing attention.
pub const GIVEN_UP_WINDOW_DAYS: i64 = 7;

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub as_of: DateTime<Utc>,
    pub timezone: String,
    pub jobs: Vec<JobStatus>,
    pub sources: Vec<SourceStatus>,
    /// Mails per outbox state: pending, sent, failed (given up).
    pub outbox: Vec<OutboxCount>,
    pub given_up_recently: u32,
    pub newest_call: Option<NewestCall>,
    pub last_error: Option<ErrorStatus>,
    /// The daemons that recorded a heartbeat in the last day, newest first.
    pub instances: Vec<InstanceView>,
    /// Everything that needs attention, one sentence each; empty when all is well.
    pub attention: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// `collect`, `match`, `collect:<group>` (a `[schedule.groups]` entry), `notify`
    /// or `admin_digest`.
    pub job: String,
    /// The cron line that starts it (`match` runs right after each collect).
    pub schedule: String,
    pub last_started: Option<DateTime<Utc>>,
    pub last_finished: Option<DateTime<Utc>>,
    /// Whether the last finished run went without a failure (a source or a mail failed).
    pub last_ok: Option<bool>,
    pub next: Option<DateTime<Utc>>,
    /// Two scheduled slots passed without a finished run.
    pub overdue: bool,
}

/// A daemon instance as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceView {
    #[serde(flatten)]
    pub status: InstanceStatus,
    /// No heartbeat for three heartbeat intervals: stopped or hanging.
    pub silent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub source: String,
    pub kind: &'static str,
    /// `ok`, `failing`, `broken`, `new` (never run) or `off` (disabled).
    pub state: &'static str,
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// The instance collecting it right now (a live claim on its collect in a slot).
    pub collecting_on: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxCount {
    pub status: &'static str,
    pub mails: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewestCall {
    pub first_seen: DateTime<Utc>,
    pub age_days: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorStatus {
    pub at: DateTime<Utc>,
    pub origin: String,
    pub message: String,
}

impl Status {
    pub fn needs_attention(&self) -> bool {
        !self.attention.is_empty()
    }
}

/// Gathers the status as of `now`.
pub async fn gather(store: &impl Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<Status> {
    let tz = config.service.timezone;
    let schedules = &config.service.schedules;
    let mut attention = Vec::new();
    let mut jobs = Vec::new();
    for (kind, schedule) in [
        (RunKind::Collect, &schedules.collect),
        (RunKind::Match, &schedules.collect),
        (RunKind::Notify, &schedules.notify),
    ] {
        let runs = store.job_runs(kind).await?;
        let job = job_status(kind.as_str(), runs.last_started, runs.last_finished, schedule, tz, now);
        jobs.push(job);
    }
    // The schedule groups and the admin digest are recorded per job by the daemon.
    let scheduled = schedules
        .groups
        .iter()
        .map(|g| (format!("collect:{}", g.name), &g.cron))
        .chain([(crate::notify::admin_digest::JOB.to_string(), &schedules.admin_digest)]);
    for (name, schedule) in scheduled {
        let runs = store.scheduled_runs(&name).await?;
        jobs.push(job_status(
            &name,
            runs.last_started,
            runs.last_finished,
            schedule,
            tz,
            now,
        ));
    }
    for job in &jobs {
        if job.overdue {
            attention.push(format!(
                "job {} has not finished a run for two scheduled slots (last finished: {})",
                job.job,
                job.last_finished.map_or("never".into(), |t| local(t, tz))
            ));
        }
    }
    let sources = source_statuses(store, config).await?;
    for s in sources.iter().filter(|s| s.state == "broken") {
        attention.push(format!(
            "source {} is broken after {} failures in a row (see `foerderradar sources`)",
            s.source, s.consecutive_failures
        ));
    }
    let outbox = store
        .outbox_counts()
        .await?
        .into_iter()
        .map(|(status, mails)| OutboxCount {
            status: status.as_str(),
            mails,
        })
        .collect();
    let given_up_recently = store.given_up_since(now - Duration::days(GIVEN_UP_WINDOW_DAYS)).await?;
    if given_up_recently > 0 {
        attention.push(format!(
            "{given_up_recently} {} given up in the last {GIVEN_UP_WINDOW_DAYS} days (see `foerderradar outbox --status failed`)",
            if given_up_recently == 1 { "mail" } else { "mails" }
        ));
    }
    let newest_call = store.newest_call_seen().await?.map(|first_seen| NewestCall {
        first_seen,
        age_days: (now - first_seen).num_days(),
    });
    let last_error = store
        .last_error()
        .await?
        .map(|LastError { at, origin, message }| ErrorStatus { at, origin, message });
    let silent_after = Duration::from_std(config.service.heartbeat * 3).unwrap_or(Duration::hours(1));
    let instances: Vec<InstanceView> = store
        .instances(now)
        .await?
        .into_iter()
        .map(|status| InstanceView {
            silent: now - status.last_heartbeat > silent_after,
            status,
        })
        .collect();
    let mut sources = sources;
    for i in &instances {
        for source in i.status.jobs.iter().filter_map(|j| claimed_source(&j.job)) {
            if let Some(s) = sources.iter_mut().find(|s| s.source == source) {
                s.collecting_on = Some(i.status.instance.id.clone());
            }
        }
    }
    Ok(Status {
        as_of: now,
        timezone: tz.name().to_string(),
        jobs,
        sources,
        outbox,
        given_up_recently,
        newest_call,
        last_error,
        instances,
        attention,
    })
}

fn job_status(
    job: &str,
    last_started: Option<DateTime<Utc>>,
    last_finished: Option<(DateTime<Utc>, bool)>,
    schedule: &CronSchedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> JobStatus {
    let after = |t: DateTime<Utc>| {
        schedule
            .schedule
            .after(&t.with_timezone(&tz))
            .map(|t| t.with_timezone(&Utc))
    };
    let last_ok = last_finished.map(|(_, ok)| ok);
    let last_finished = last_finished.map(|(t, _)| t);
    // Never run is no alarm by itself: a new deployment waits for its first slot.
    let overdue = last_finished.is_some_and(|t| after(t).nth(1).is_some_and(|second| second <= now));
    JobStatus {
        job: job.to_string(),
        schedule: schedule.expr.clone(),
        last_started,
        last_finished,
        last_ok,
        next: after(now).next(),
        overdue,
    }
}

/// Every configured source with its health (in config order).
pub async fn source_statuses(store: &impl Store, config: &Config) -> anyhow::Result<Vec<SourceStatus>> {
    let health = store.source_health().await?;
    Ok(config
        .sources
        .iter()
        .map(|source| {
            let h = health.iter().find(|h| h.source == source.id);
            let state = match h {
                _ if !source.enabled => "off",
                Some(h) if h.broken => "broken",
                Some(h) if h.consecutive_failures > 0 => "failing",
                Some(_) => "ok",
                None => "new",
            };
            SourceStatus {
                source: source.id.clone(),
                kind: source.kind.name(),
                state,
                last_success: h.and_then(|h| h.last_success),
                consecutive_failures: h.map_or(0, |h| h.consecutive_failures),
                last_error: h.and_then(|h| h.last_error.clone()),
                collecting_on: None,
            }
        })
        .collect())
}

/// A time in the deployment's time zone, with its offset.
fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// [`local`] to the second, for heartbeats and leases that move every few seconds.
fn local_secs(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

fn opt_local(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map_or("never".into(), |t| local(t, tz))
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tz: Tz = self.timezone.parse().unwrap_or(chrono_tz::UTC);
        writeln!(f, "status as of {} (times in {})", local(self.as_of, tz), self.timezone)?;
        writeln!(f, "\njobs:")?;
        writeln!(
            f,
            "  {:<16} {:<16} {:<22} {:<7} {:<22} next",
            "job", "schedule", "last finished", "result", "last started"
        )?;
        for j in &self.jobs {
            let result = match j.last_ok {
                Some(true) => "ok",
                Some(false) => "failed",
                None => "-",
            };
            writeln!(
                f,
                "  {:<16} {:<16} {:<22} {:<7} {:<22} {}{}",
                j.job,
                j.schedule,
                opt_local(j.last_finished, tz),
                result,
                opt_local(j.last_started, tz),
                opt_local(j.next, tz),
                if j.overdue { "  OVERDUE" } else { "" }
            )?;
        }
        writeln!(f, "\nsources:")?;
        for s in &self.sources {
            writeln!(
                f,
                "  {:<28} {:<8} last success {:<22} {}{}",
                s.source,
                s.state,
                opt_local(s.last_success, tz),
                s.last_error.as_deref().unwrap_or(""),
                s.collecting_on
                    .as_ref()
                    .map_or(String::new(), |i| format!("  (collecting on {i})"))
            )?;
        }
        let outbox: Vec<String> = self
            .outbox
            .iter()
            .map(|c| format!("{} {}", c.mails, c.status))
            .collect();
        writeln!(f, "\noutbox: {}", outbox.join(", "))?;
        match &self.newest_call {
            Some(c) => writeln!(
                f,
                "newest call: first seen {} ({} days ago)",
                local(c.first_seen, tz),
                c.age_days
            )?,
            None => writeln!(f, "newest call: none stored yet")?,
        }
        match &self.last_error {
            Some(e) => writeln!(f, "last error: {} {}: {}", local(e.at, tz), e.origin, e.message)?,
            None => writeln!(f, "last error: none")?,
        }
        writeln!(f, "\ninstances:")?;
        if self.instances.is_empty() {
            writeln!(f, "  none recorded (no daemon ran in the last day)")?;
        }
        for i in &self.instances {
            write_instance(f, i, tz)?;
        }
        if self.attention.is_empty() {
            write!(f, "\nall well")
        } else {
            write!(f, "\nneeds attention:")?;
            for a in &self.attention {
                write!(f, "\n  - {a}")?;
            }
            Ok(())
        }
    }
}

/// One instance: id, last heartbeat, and the job slots and mails it holds. The sources
/// of one collect slot it is collecting are listed together.
fn write_instance(f: &mut fmt::Formatter<'_>, i: &InstanceView, tz: Tz) -> fmt::Result {
    let s = &i.status;
    writeln!(
        f,
        "  {:<40} last heartbeat {}{}  holds: {}",
        s.instance.id,
        local_secs(s.last_heartbeat, tz),
        if i.silent { " SILENT" } else { "" },
        holdings(s, tz)
    )
}

/// What an instance holds, in words: cron job slots, the sources it is collecting per
/// slot (each under its own claim), mails being sent.
fn holdings(s: &InstanceStatus, tz: Tz) -> String {
    let (sources, jobs): (Vec<&HeldJob>, Vec<&HeldJob>) = s.jobs.iter().partition(|j| claimed_source(&j.job).is_some());
    // Per slot: the sources, and the lease that ends first.
    let mut per_slot: Vec<(DateTime<Utc>, Vec<&str>, DateTime<Utc>)> = Vec::new();
    for j in sources {
        let source = claimed_source(&j.job).unwrap_or(&j.job);
        match per_slot.iter_mut().find(|(slot, ..)| *slot == j.slot) {
            Some((_, ids, until)) => {
                ids.push(source);
                *until = (*until).min(j.lease_until);
            }
            None => per_slot.push((j.slot, vec![source], j.lease_until)),
        }
    }
    let holds: Vec<String> = jobs
        .iter()
        .map(|j| {
            format!(
                "{} (slot {}, lease until {})",
                j.job,
                local_secs(j.slot, tz),
                local_secs(j.lease_until, tz)
            )
        })
        .chain(per_slot.iter().map(|(slot, ids, until)| {
            format!(
                "collect of {} (slot {}, lease until {})",
                ids.join(", "),
                local_secs(*slot, tz),
                local_secs(*until, tz)
            )
        }))
        .chain((s.mails > 0).then(|| format!("{} mail(s) being sent", s.mails)))
        .collect();
    match holds.is_empty() {
        true => "nothing".into(),
        false => holds.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The status of a collect job whose last run finished at `finished`.
    fn finished_at(finished: &str, schedule: &CronSchedule, tz: Tz, now: DateTime<Utc>) -> JobStatus {
        let t = utc(finished);
        job_status("collect", Some(t), Some((t, true)), schedule, tz, now)
    }

    fn weekdays_at_six() -> CronSchedule {
        use std::str::FromStr;
        CronSchedule {
            expr: "0 6 * * 1-5".into(),
            schedule: cron::Schedule::from_str("0 0 6 * * Mon-Fri").unwrap(),
        }
    }

    #[test]
    fn a_job_is_overdue_after_two_missed_slots_not_after_a_weekend() {
        let schedule = weekdays_at_six();
        let berlin = chrono_tz::Europe::Berlin;
        // Finished Friday 2026-12-04 06:10 CET; Monday's 06:00 slot alone is no alarm.
        let friday = "2026-12-04T05:10:00Z";
        let monday = finished_at(friday, &schedule, berlin, utc("2026-12-07T08:00:00Z"));
        assert!(!monday.overdue);
        assert_eq!(monday.next, Some(utc("2026-12-08T05:00:00Z")));
        // Tuesday 06:00 passed too: two slots without a finished run.
        assert!(!finished_at(friday, &schedule, berlin, utc("2026-12-08T04:59:00Z")).overdue);
        assert!(finished_at(friday, &schedule, berlin, utc("2026-12-08T05:00:00Z")).overdue);
    }

    #[test]
    fn next_run_follows_daylight_saving_time_in_berlin() {
        let schedule = weekdays_at_six();
        let berlin = chrono_tz::Europe::Berlin;
        // Friday 2027-03-26 06:10 CET; clocks go forward on Sunday 28 March.
        let status = finished_at("2027-03-26T05:10:00Z", &schedule, berlin, utc("2027-03-27T12:00:00Z"));
        // Monday 06:00 CEST is 04:00 UTC.
        assert_eq!(status.next, Some(utc("2027-03-29T04:00:00Z")));
        assert!(!status.overdue);
    }

    #[test]
    fn a_job_that_never_ran_is_shown_but_no_alarm() {
        let status = job_status(
            "notify",
            None,
            None,
            &weekdays_at_six(),
            chrono_tz::Europe::Berlin,
            utc("2030-01-01T00:00:00Z"),
        );
        assert!(!status.overdue && status.last_ok.is_none());
        assert_eq!(status.job, "notify");
    }

    #[test]
    fn the_sources_an_instance_collects_are_listed_per_slot() {
        use crate::store::{InstanceInfo, source_claim};
        let t = |s: &str| utc(s);
        let held = |job: String, slot: &str, until: &str| HeldJob {
            job,
            slot: t(slot),
            lease_until: t(until),
        };
        let status = InstanceStatus {
            instance: InstanceInfo::new("host-a", 7, t("2026-12-07T05:00:00Z")),
            last_heartbeat: t("2026-12-07T05:01:00Z"),
            jobs: vec![
                held("notify".into(), "2026-12-07T06:00:00Z", "2026-12-07T06:02:00Z"),
                held(source_claim("bund"), "2026-12-07T05:00:00Z", "2026-12-07T05:02:10Z"),
                held(source_claim("land"), "2026-12-07T05:00:00Z", "2026-12-07T05:02:05Z"),
                held(source_claim("eu"), "2026-12-07T04:00:00Z", "2026-12-07T05:02:30Z"),
            ],
            mails: 2,
        };
        assert_eq!(
            holdings(&status, chrono_tz::UTC),
            "notify (slot 2026-12-07 06:00:00 UTC, lease until 2026-12-07 06:02:00 UTC), \
             collect of bund, land (slot 2026-12-07 05:00:00 UTC, lease until 2026-12-07 05:02:05 UTC), \
             collect of eu (slot 2026-12-07 04:00:00 UTC, lease until 2026-12-07 05:02:30 UTC), \
             2 mail(s) being sent"
        );
        let idle = InstanceStatus {
            jobs: Vec::new(),
            mails: 0,
            ..status
        };
        assert_eq!(holdings(&idle, chrono_tz::UTC), "nothing");
    }
}
