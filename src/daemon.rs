//! The daemon: cron schedules from `foerderradar.toml`, a lock so that only one
//! instance works on a data directory, SIGHUP to reload the config and rules,
//! SIGINT/SIGTERM to stop after the current job, waiting for it at most
//! `[daemon] shutdown_grace_secs` (default 30 s); a job cut off then leaves the
//! store consistent (an unsent mail stays pending and goes out on the next start).
//!
//! Jobs: the `collect` schedule collects and matches; the `notify` schedule plans
//! digests and delivers them; between schedules a retry tick delivers outbox
//! mails whose retry time has come, so an SMTP outage delays mail but loses none.
//!
//! No overlap: one loop runs the jobs one after another and computes the next job
//! only when the current one has returned, so two runs of one job (or of two jobs)
//! never overlap; the data lock keeps a second daemon off the same store.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};

use crate::app::App;
use crate::config::{Config, CronSchedule};
use crate::matching::Matcher;
use crate::notify::admin::AdminNotice;
use crate::store::RunKind;

/// Holds the exclusive lock on `<data>/foerderradar.lock` while alive.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the data directory's lock, or fails naming the lock file.
pub fn acquire_lock(data_dir: &Path) -> anyhow::Result<DataLock> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("foerderradar.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataLock { _file: file, path }),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!(
                "another foerderradar process works on this data directory (lock held on {})",
                path.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Collect,
    Notify,
    /// Deliver outbox mails whose retry time has come.
    Retry,
}

/// When each cron job was last started (or the daemon started). The next run is
/// the first occurrence after that, not after "now": a notify time that passes
/// while a long collect runs is then still due and runs late, instead of being
/// skipped until the next day.
#[derive(Debug, Clone, Copy)]
struct LastRuns {
    collect: DateTime<Utc>,
    notify: DateTime<Utc>,
}

impl LastRuns {
    /// At start-up: a job that missed a slot while the daemon was down (see [`missed_slot`])
    /// counts from its last run, so its first missed slot is due at once; the others
    /// count from `start` and wait for their next slot. Either way the job runs once.
    fn resume(
        config: &Config,
        start: DateTime<Utc>,
        collect: Option<DateTime<Utc>>,
        notify: Option<DateTime<Utc>>,
    ) -> LastRuns {
        let tz = config.service.timezone;
        let schedules = &config.service.schedules;
        let since = |s: &CronSchedule, last: Option<DateTime<Utc>>| match last {
            Some(last) if missed_slot(Some(last), start, s, tz) => last,
            _ => start,
        };
        LastRuns {
            collect: since(&schedules.collect, collect),
            notify: since(&schedules.notify, notify),
        }
    }

    /// Several missed occurrences of one job run once: the next one counts from `started`.
    fn record(&mut self, job: Job, started: DateTime<Utc>) {
        match job {
            Job::Collect => self.collect = started,
            Job::Notify => self.notify = started,
            Job::Retry => {}
        }
    }
}

/// Whether a slot of `schedule` came due after the job's last run and by `now`: the
/// machine (or the daemon) was off then, and the job is owed one run. No recorded run
/// (a new store) owes nothing: the daemon starts with the next slot (`run --once` does a
/// first pass at once).
fn missed_slot(
    last_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    schedule: &CronSchedule,
    tz: chrono_tz::Tz,
) -> bool {
    last_run.is_some_and(|last| {
        schedule
            .schedule
            .after(&last.with_timezone(&tz))
            .next()
            .is_some_and(|slot| slot.with_timezone(&Utc) <= now)
    })
}

/// How long a cron job waits after its slot: uniform in `[0, max]`, whole
/// milliseconds, drawn from `rng` so that tests can fix the seed.
fn jitter_delay(max: std::time::Duration, rng: &mut impl rand::Rng) -> std::time::Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    std::time::Duration::from_millis(rng.random_range(0..=max_ms))
}

/// The first slot of `schedule` after `since`, read in the time zone `tz`.
fn next_due(schedule: &CronSchedule, tz: chrono_tz::Tz, since: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .schedule
        .after(&since.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// The next job and when it is due (possibly already past).
fn next_job(config: &Config, last: &LastRuns, now: DateTime<Utc>) -> (Job, DateTime<Utc>) {
    let tz = config.service.timezone;
    let next = |s: &CronSchedule, since: DateTime<Utc>| next_due(s, tz, since);
    // retry_base is bounded by `check`; the saturating fallbacks only guard the arithmetic.
    let retry_base = chrono::Duration::from_std(config.service.notify.retry_base).unwrap_or(chrono::Duration::days(1));
    let retry_at = now.checked_add_signed(retry_base).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let schedules = &config.service.schedules;
    [
        (Job::Collect, next(&schedules.collect, last.collect)),
        (Job::Notify, next(&schedules.notify, last.notify)),
    ]
    .into_iter()
    .filter_map(|(job, at)| at.map(|at| (job, at)))
    .fold(
        (Job::Retry, retry_at),
        |soonest, due| if due.1 < soonest.1 { due } else { soonest },
    )
}

/// Runs until SIGINT or SIGTERM. Returns exit code 0 after a clean stop.
pub async fn run(mut app: App, config_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let lock = acquire_lock(&app.data_dir)?;
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tracing::info!(
        lock = %lock.path.display(),
        collect = %app.config.service.schedules.collect.expr,
        notify = %app.config.service.schedules.notify.expr,
        "daemon started"
    );
    let mut last_runs = resume_runs(&app).await?;
    // One process for both (one systemd unit): the web server runs beside the jobs.
    let web = match app.config.service.web.enabled {
        true => Some(crate::web::Hosted::start(web_state(&app)?).await?),
        false => None,
    };
    loop {
        let (job, at) = next_job(&app.config, &last_runs, Utc::now());
        if job != Job::Retry {
            tracing::info!(job = ?job, at = %at.with_timezone(&app.config.service.timezone), "next job");
        }
        let jitter = match job {
            Job::Retry => std::time::Duration::ZERO,
            Job::Collect | Job::Notify => jitter_delay(app.config.service.schedules.jitter, &mut rand::rng()),
        };
        let wait = (at - Utc::now()).to_std().unwrap_or_default() + jitter;
        let job_due = tokio::select! {
            biased;
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => false,
            _ = tokio::time::sleep(wait) => true,
        };
        if !job_due {
            reload(&mut app, &config_dir);
            continue;
        }
        last_runs.record(job, Utc::now());
        let grace = app.config.service.shutdown_grace;
        let job_run = run_job(&app, job);
        tokio::pin!(job_run);
        let stop_requested = tokio::select! {
            () = &mut job_run => false,
            _ = terminate.recv() => true,
            _ = interrupt.recv() => true,
        };
        if stop_requested {
            tracing::warn!(job = ?job, grace_secs = grace.as_secs(), "stop requested; waiting for the running job");
            if tokio::time::timeout(grace, job_run).await.is_err() {
                // Dropping the job cancels it between two awaits: a mail whose send did not
                // finish is still pending in the outbox, an open transaction rolls back.
                tracing::warn!(job = ?job, "the running job did not finish in time and was cut off");
            }
            break;
        }
    }
    if let Some(web) = web {
        web.stop().await?;
    }
    tracing::info!("daemon stopped");
    Ok(ExitCode::SUCCESS)
}

/// The web server's view of the daemon's deployment (a reload by SIGHUP reaches the
/// jobs; the web server keeps the config it started with).
fn web_state(app: &App) -> anyhow::Result<crate::web::WebState> {
    let secrets = crate::web::Secrets::from_env(&app.config.service.web)?;
    crate::web::WebState::new(app.config.clone(), app.store.clone(), app.today_override, secrets)
}

/// The start state of the schedules, from the runs the store recorded before.
async fn resume_runs(app: &App) -> anyhow::Result<LastRuns> {
    let collect = app.store.job_runs(RunKind::Collect).await?.last_started;
    let notify = app.store.job_runs(RunKind::Notify).await?.last_started;
    let start = Utc::now();
    let resumed = LastRuns::resume(&app.config, start, collect, notify);
    for (job, since) in [(Job::Collect, resumed.collect), (Job::Notify, resumed.notify)] {
        if since < start {
            tracing::info!(job = ?job, last_run = %since, "a slot was missed while the daemon was down; catching up once");
        }
    }
    Ok(resumed)
}

/// Runs one job; failures are logged and the daemon goes on.
async fn run_job(app: &App, job: Job) {
    let result = match job {
        Job::Collect => collect_and_match(app).await,
        Job::Notify => notify(app).await,
        Job::Retry => retry(app).await,
    };
    if let Err(e) = result {
        tracing::error!(job = ?job, error = %format!("{e:#}"), "job failed");
    }
    // What each stage of the job cost (an idle retry has dropped its own).
    app.take_stage_stats().iter().for_each(|s| s.log());
}

async fn notify(app: &App) -> anyhow::Result<()> {
    let (plan, delivery) = app.notify().await?;
    tracing::info!(%plan, %delivery, "notify done");
    app.tell_admin(&AdminNotice {
        given_up: delivery.failures,
        ..AdminNotice::default()
    })
    .await?;
    Ok(())
}

/// Delivers retries that fell due; a mail given up here is reported like any other.
async fn retry(app: &App) -> anyhow::Result<()> {
    let delivery = app.deliver(Utc::now()).await?;
    if delivery.sent + delivery.failed + delivery.retried > 0 {
        tracing::info!(%delivery, "outbox retry");
    } else {
        // Runs every few minutes; its cost is only worth a log line when it sent something.
        app.take_stage_stats();
    }
    app.tell_admin(&AdminNotice {
        given_up: delivery.failures,
        ..AdminNotice::default()
    })
    .await?;
    Ok(())
}

async fn collect_and_match(app: &App) -> anyhow::Result<()> {
    let collect = app.collect(&[]).await?;
    tracing::info!(
        sources = collect.sources.len(),
        failed = collect.failed(),
        "collect done\n{collect}"
    );
    app.tell_admin(&AdminNotice {
        newly_broken: collect.newly_broken.clone(),
        ..AdminNotice::default()
    })
    .await?;
    let matching = app.match_calls().await?;
    tracing::info!(%matching, "match done");
    Ok(())
}

/// Reloads config and rules; an invalid new config is rejected and the old one stays active.
fn reload(app: &mut App, config_dir: &Path) {
    let loaded = Config::load(config_dir)
        .map_err(|e| format!("{e}"))
        .and_then(|config| Matcher::new(&config).map(|m| (config, m)).map_err(|e| format!("{e:#}")));
    match loaded {
        Ok((config, matcher)) => {
            tracing::info!(
                projects = config.strategy.projects.len(),
                sources = config.sources.len(),
                "config reloaded: new rules active"
            );
            app.reload(config, matcher);
        }
        Err(e) => tracing::error!(error = %e, "config reload rejected: the previous rules stay active"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn shipped_config() -> Config {
        Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap()
    }

    #[test]
    fn notify_time_passed_during_a_long_collect_still_runs() {
        // Shipped schedules: collect 06:00, notify 07:00 on weekdays, Europe/Berlin (UTC+1 in December).
        let config = shipped_config();
        let mut last = LastRuns::resume(&config, utc("2026-12-01T04:00:00Z"), None, None);
        let (job, at) = next_job(&config, &last, utc("2026-12-01T04:59:30Z"));
        assert_eq!((job, at), (Job::Collect, utc("2026-12-01T05:00:00Z")));
        last.record(Job::Collect, at);
        // The collect ran until 07:20 local time; the 07:00 digests are due at once.
        let (job, at) = next_job(&config, &last, utc("2026-12-01T06:20:00Z"));
        assert_eq!((job, at), (Job::Notify, utc("2026-12-01T06:00:00Z")));
        // Run late once, the notify job waits for the next weekday.
        last.record(Job::Notify, utc("2026-12-01T06:20:00Z"));
        let (job, _) = next_job(&config, &last, utc("2026-12-01T06:20:00Z"));
        assert_eq!(job, Job::Retry);
    }

    #[test]
    fn a_downtime_over_several_slots_is_caught_up_once() {
        // Shipped collect: weekdays 06:00 Berlin (05:00 UTC in December). The last collect
        // ran Monday 2026-11-30; the machine was off until Friday 10:00 UTC, so four slots
        // (Tue to Fri) were missed.
        let config = shipped_config();
        let collect = &config.service.schedules.collect;
        let tz = config.service.timezone;
        let last = utc("2026-11-30T05:00:03Z");
        let boot = utc("2026-12-04T10:00:00Z");
        assert!(missed_slot(Some(last), boot, collect, tz));
        let mut runs = LastRuns::resume(&config, boot, Some(last), None);
        let (job, at) = next_job(&config, &runs, boot);
        assert_eq!((job, at), (Job::Collect, utc("2026-12-01T05:00:00Z")), "due at once");
        runs.record(Job::Collect, boot);
        // Once run, the other missed slots are not repeated: next is Monday's.
        assert_eq!(runs.collect, boot);
        assert_eq!(next_due(collect, tz, runs.collect), Some(utc("2026-12-07T05:00:00Z")));
        assert!(!missed_slot(Some(boot), boot, collect, tz));
    }

    #[test]
    fn no_missed_slot_no_catch_up() {
        let config = shipped_config();
        let collect = &config.service.schedules.collect;
        let tz = config.service.timezone;
        // Ran at Friday's slot; restarted Friday afternoon and over the weekend: nothing owed.
        let last = utc("2026-12-04T05:00:01Z");
        assert!(!missed_slot(Some(last), utc("2026-12-04T15:00:00Z"), collect, tz));
        assert!(!missed_slot(Some(last), utc("2026-12-06T23:59:59Z"), collect, tz));
        // Monday's slot itself counts as missed from that second on.
        assert!(missed_slot(Some(last), utc("2026-12-07T05:00:00Z"), collect, tz));
        // A new store has no run to catch up on.
        assert!(!missed_slot(None, utc("2026-12-07T05:00:00Z"), collect, tz));
        let runs = LastRuns::resume(&config, utc("2026-12-04T15:00:00Z"), Some(last), None);
        assert_eq!(runs.collect, utc("2026-12-04T15:00:00Z"));
        assert_eq!(runs.notify, utc("2026-12-04T15:00:00Z"));
    }

    fn cron(expr: &str) -> CronSchedule {
        CronSchedule {
            expr: expr.into(),
            schedule: expr.parse().unwrap(),
        }
    }

    /// The slots of `expr` (the `cron` crate's 6-field syntax) in Berlin, from `since` on.
    fn berlin_slots(expr: &str, since: &str, n: usize) -> Vec<String> {
        let s = cron(expr);
        std::iter::successors(next_due(&s, chrono_tz::Europe::Berlin, utc(since)), |t| {
            next_due(&s, chrono_tz::Europe::Berlin, *t)
        })
        .take(n)
        .map(|t| t.to_rfc3339())
        .collect()
    }

    #[test]
    fn six_o_clock_stays_six_o_clock_local_across_both_dst_changes() {
        // Spring forward: Sunday 2026-03-29, 02:00 CET → 03:00 CEST (UTC+1 → UTC+2).
        assert_eq!(
            berlin_slots("0 0 6 * * *", "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T05:00:00+00:00",
                "2026-03-29T04:00:00+00:00",
                "2026-03-30T04:00:00+00:00"
            ]
        );
        // Fall back: Sunday 2026-10-25, 03:00 CEST → 02:00 CET (UTC+2 → UTC+1).
        assert_eq!(
            berlin_slots("0 0 6 * * *", "2026-10-23T12:00:00Z", 3),
            [
                "2026-10-24T04:00:00+00:00",
                "2026-10-25T05:00:00+00:00",
                "2026-10-26T05:00:00+00:00"
            ]
        );
    }

    #[test]
    fn half_past_two_is_skipped_on_spring_forward_and_runs_once_on_fall_back() {
        // 02:30 does not exist on 2026-03-29: that day has no slot (documented), the
        // next one is Monday's 02:30 CEST.
        assert_eq!(
            berlin_slots("0 30 2 * * *", "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T01:30:00+00:00",
                "2026-03-30T00:30:00+00:00",
                "2026-03-31T00:30:00+00:00"
            ]
        );
        // 02:30 happens twice on 2026-10-25 (CEST, then CET): the job runs at the first only.
        assert_eq!(
            berlin_slots("0 30 2 * * *", "2026-10-23T12:00:00Z", 3),
            [
                "2026-10-24T00:30:00+00:00",
                "2026-10-25T00:30:00+00:00",
                "2026-10-26T01:30:00+00:00"
            ]
        );
        // The daemon counts from the run's start: started at the first 02:30, nothing
        // is due at the repeated 02:30 an hour later.
        let s = cron("0 30 2 * * *");
        assert!(!missed_slot(
            Some(utc("2026-10-25T00:30:00Z")),
            utc("2026-10-25T01:45:00Z"),
            &s,
            chrono_tz::Europe::Berlin
        ));
    }

    #[test]
    fn slots_passed_during_a_long_run_give_one_run_after_it_not_one_each() {
        // Runs never overlap because the loop in `run` computes the next job only after
        // the current one has returned; this is what it computes then. Every 15 minutes,
        // a run started at 10:00 lasted until 10:50, over the 10:15, 10:30 and 10:45 slots.
        let mut config = shipped_config();
        config.service.schedules.collect = cron("0 */15 * * * *");
        let tz = config.service.timezone;
        let mut runs = LastRuns::resume(&config, utc("2026-12-02T08:59:00Z"), None, None);
        assert_eq!(
            next_due(&config.service.schedules.collect, tz, runs.collect),
            Some(utc("2026-12-02T09:00:00Z"))
        );
        runs.record(Job::Collect, utc("2026-12-02T09:00:00Z"));
        let finished = utc("2026-12-02T09:50:00Z");
        // The missed slots are due at once, as one run…
        let (job, at) = next_job(&config, &runs, finished);
        assert_eq!((job, at), (Job::Collect, utc("2026-12-02T09:15:00Z")));
        runs.record(Job::Collect, finished);
        // …after which the next run waits for the 11:00 slot.
        assert_eq!(
            next_due(&config.service.schedules.collect, tz, runs.collect),
            Some(utc("2026-12-02T10:00:00Z"))
        );
        let (job, at) = next_job(&config, &runs, finished);
        assert!(job != Job::Collect || at > finished, "{job:?} {at}");
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        use rand::SeedableRng;
        let max = std::time::Duration::from_secs(90);
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        let delays: Vec<_> = (0..10_000).map(|_| jitter_delay(max, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= max));
        // It spreads: both ends of the range are reached, not one fixed value.
        assert!(delays.iter().any(|d| *d < max / 10));
        assert!(delays.iter().any(|d| *d > max * 9 / 10));
        // Zero (the default) means no delay at all.
        assert!((0..100).all(|_| jitter_delay(std::time::Duration::ZERO, &mut rng).is_zero()));
    }

    #[test]
    fn second_lock_on_same_data_dir_fails() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire_lock(dir.path()).unwrap();
        let second = acquire_lock(dir.path());
        assert!(second.unwrap_err().to_string().contains("another foerderradar process"));
        drop(first);
        assert!(acquire_lock(dir.path()).is_ok());
    }
}
