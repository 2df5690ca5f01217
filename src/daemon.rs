//! The daemon: cron schedules from `foerderradar.toml`, a lock so that only one
//! instance works on a data directory, SIGHUP to reload the config and rules,
//! SIGINT/SIGTERM to stop after the current job, waiting for it at most
//! `[daemon] shutdown_grace_secs` (default 30 s); a job cut off then leaves the
//! store consistent (an unsent mail stays pending and goes out on the next start).
//!
//! Jobs: the `collect` schedule collects the sources without a group and matches;
//! each `[schedule.groups]` entry collects its own sources and matches
//! (`collect:<group>`); the `notify` schedule plans digests and delivers them, on
//! its own slots whether or not a collect ran; `admin_digest` sends the weekly
//! report to the admin; between schedules a retry tick delivers outbox mails whose
//! retry time has come, so an SMTP outage delays mail but loses none. Every cron
//! job's runs are recorded in `job_runs`, which catch-up and `status` read.
//!
//! Time comes in as a value (`now`, `start`) to every scheduling decision
//! (`next_job`, `missed_slot`, `LastRuns::resume`), so the tests replay days,
//! downtimes and DST changes without waiting; only [`run`] reads the system clock.
//!
//! No overlap: one loop runs the jobs one after another and computes the next job
//! only when the current one has returned, so two runs of one job (or of two jobs)
//! never overlap; the data lock keeps a second daemon off the same SQLite store.
//!
//! Several instances on one shared store: each cron job's slot is claimed in the
//! store with a lease (`[daemon] lease_secs`) before it runs, renewed while it runs
//! and marked done after, so a slot runs once however many daemons wait for it. An
//! instance that finds a slot held keeps it in mind and claims it again when the
//! lease runs out: if the holder died, it takes the job over. Outbox mails are
//! claimed one by one by the sender (`notify::deliver`). Every daemon records a
//! heartbeat every `[daemon] heartbeat_secs`, which `status` lists. Two daemons may run
//! different slots of one job at once (a run longer than the gap between slots).
//!
//! A collect slot is shared per source. Each source's collect in the slot is a claim of
//! its own (`source:<id>`, [`source_claim`], with the slot of its schedule group). An
//! instance whose collect slot comes due claims free sources one by one, at most a fair
//! share per round (the group's sources over the instances with a live heartbeat,
//! rounded up; all of them when it holds the SQLite data lock and so is alone), collects
//! the round's sources together as one pass does (one fetcher, per-host throttling),
//! renews their leases while it runs and marks each source done as soon as its outcome is
//! stored; then it claims again until nothing is free. So two instances waking for one
//! slot split its sources, a source is fetched once per slot, and a source whose holder
//! died is taken over by the next claim after its lease ran out.
//!
//! The match after the collect runs once per slot, under the claim of the group's job
//! name (`collect`, `collect:<group>`), and only once every source of the slot is done:
//! an instance that finds nothing left to claim checks the sources' claims; if another
//! instance still holds one, it waits for that lease like for any held slot (and comes
//! back then: to take the source over if its holder died, or to find it done); if all
//! are done, it claims the match. Each instance checks after marking its own sources
//! done, so whichever finishes last sees every source done and matches; if two see it at
//! once, the match claim lets one run. The matching instance records the run in
//! `job_runs` (one per slot), from the start of its part of the slot.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};

use crate::app::App;
use crate::config::{Config, CronSchedule};
use crate::matching::Matcher;

mod rest;
use crate::notify::admin::AdminNotice;
use crate::notify::admin_digest::{self, AdminDigest};
use crate::notify::{DeliveryReport, FailedMail};
use crate::store::{JobClaim, RunKind, Store, source_claim};

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

/// The lock a process that writes takes: the data directory's lock file for an SQLite
/// store (one process per file); none for PostgreSQL, where instances share the work.
pub fn lock_store(app: &App) -> anyhow::Result<Option<DataLock>> {
    match app.config.service.store {
        Some(_) => Ok(None),
        None => acquire_lock(&app.data_dir).map(Some),
    }
}

/// A job of the daemon. The cron jobs are named as in `job_runs` and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Job {
    /// Collect, then match: `None` the sources without a group (`[schedule] collect`),
    /// `Some(group)` the sources of a `[schedule.groups]` entry.
    Collect(Option<String>),
    Notify,
    /// The weekly report to the admin.
    AdminDigest,
    /// Deliver outbox mails whose retry time has come.
    Retry,
}

impl Job {
    /// The name under which its runs are recorded (`job_runs.job`).
    fn name(&self) -> String {
        match self {
            Job::Collect(None) => "collect".into(),
            Job::Collect(Some(group)) => format!("collect:{group}"),
            Job::Notify => "notify".into(),
            Job::AdminDigest => ADMIN_DIGEST_JOB.into(),
            Job::Retry => "retry".into(),
        }
    }
}

/// `job_runs.job` of the admin digest, shared with `foerderradar admin-digest` and `status`.
pub const ADMIN_DIGEST_JOB: &str = admin_digest::JOB;

/// Every cron job with its schedule, in the order ties are broken: collects first, so
/// that a notify due at the same time sends what they found.
fn cron_jobs(config: &Config) -> Vec<(Job, &CronSchedule)> {
    let schedules = &config.service.schedules;
    let mut jobs = vec![(Job::Collect(None), &schedules.collect)];
    jobs.extend(
        schedules
            .groups
            .iter()
            .map(|g| (Job::Collect(Some(g.name.clone())), &g.cron)),
    );
    jobs.push((Job::Notify, &schedules.notify));
    jobs.push((Job::AdminDigest, &schedules.admin_digest));
    jobs
}

/// When each cron job was last started (or the daemon started). The next run is
/// the first occurrence after that, not after "now": a notify time that passes
/// while a long collect runs is then still due and runs late, instead of being
/// skipped until the next day.
#[derive(Debug, Clone, Default)]
struct LastRuns {
    since: HashMap<String, DateTime<Utc>>,
    /// For a job not in `since` (added by a reload): the daemon's start.
    start: DateTime<Utc>,
}

impl LastRuns {
    /// At start-up: a job that missed a slot while the daemon was down (see [`missed_slot`])
    /// counts from its last run, so its first missed slot is due at once; the others
    /// count from `start` and wait for their next slot. Either way the job runs once.
    /// `recorded` is the last recorded start per job name.
    fn resume(config: &Config, start: DateTime<Utc>, recorded: &HashMap<String, DateTime<Utc>>) -> LastRuns {
        let tz = config.service.timezone;
        let since = cron_jobs(config)
            .into_iter()
            .map(|(job, schedule)| {
                let name = job.name();
                let since = match recorded.get(&name) {
                    Some(last) if missed_slot(Some(*last), start, schedule, tz) => *last,
                    _ => start,
                };
                (name, since)
            })
            .collect();
        LastRuns { since, start }
    }

    fn get(&self, job: &Job) -> DateTime<Utc> {
        self.since.get(&job.name()).copied().unwrap_or(self.start)
    }

    /// After a reload: a job the new config added counts from `now`, not from the start.
    fn adopt(&mut self, config: &Config, now: DateTime<Utc>) {
        for (job, _) in cron_jobs(config) {
            self.since.entry(job.name()).or_insert(now);
        }
    }

    /// Several missed occurrences of one job run once: the next one counts from `started`.
    fn record(&mut self, job: &Job, started: DateTime<Utc>) {
        if *job != Job::Retry {
            self.since.insert(job.name(), started);
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

/// The next cron job and when it is due (possibly already past); ties go to the job
/// listed first in [`cron_jobs`].
fn next_cron_job(config: &Config, last: &LastRuns) -> Option<(Job, DateTime<Utc>)> {
    let tz = config.service.timezone;
    cron_jobs(config)
        .into_iter()
        .filter_map(|(job, schedule)| next_due(schedule, tz, last.get(&job)).map(|at| (job, at)))
        .fold(None, |soonest, due| match soonest {
            Some(s) if s.1 <= due.1 => Some(s),
            _ => Some(due),
        })
}

/// The next job and when it is due (possibly already past): the next cron job, or the
/// outbox retry tick when that comes first.
fn next_job(config: &Config, last: &LastRuns, now: DateTime<Utc>) -> (Job, DateTime<Utc>) {
    // retry_base is bounded by `check`; the saturating fallbacks only guard the arithmetic.
    let retry_base = chrono::Duration::from_std(config.service.notify.retry_base).unwrap_or(chrono::Duration::days(1));
    let retry_at = now.checked_add_signed(retry_base).unwrap_or(DateTime::<Utc>::MAX_UTC);
    match next_cron_job(config, last) {
        Some((job, at)) if at < retry_at => (job, at),
        _ => (Job::Retry, retry_at),
    }
}

/// Runs until SIGINT or SIGTERM. Returns exit code 0 after a clean stop.
pub async fn run(mut app: App, config_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let lock = lock_store(&app)?;
    // Lets a save in the admin UI (possibly another process) send the SIGHUP below.
    let pid_file = app.data_dir.join(crate::web::admin::reload::PID_FILE);
    std::fs::write(&pid_file, format!("{}\n", std::process::id()))
        .with_context(|| format!("writing {}", pid_file.display()))?;
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let schedules = &app.config.service.schedules;
    tracing::info!(
        store = app.store.backend(),
        lock = %lock.as_ref().map_or_else(|| "none (PostgreSQL)".to_string(), |l| l.path.display().to_string()),
        collect = %schedules.collect.expr,
        groups = %schedules.groups.iter().map(|g| format!("{}={}", g.name, g.cron.expr)).collect::<Vec<_>>().join(", "),
        notify = %schedules.notify.expr,
        admin_digest = %schedules.admin_digest.expr,
        "daemon started"
    );
    let mut last_runs = resume_runs(&app).await?;
    // The cron job last logged as next: logged once, not before every retry tick.
    let mut announced = None;
    // One process for both (one systemd unit): the web server runs beside the jobs.
    let web = match app.config.service.web.enabled {
        true => Some(crate::web::Hosted::start(web_state(&app)?).await?),
        false => None,
    };
    let heartbeat = spawn_heartbeat(&app);
    // Slots another instance held when they came due, with the end of its lease.
    let mut held: Vec<HeldSlot> = Vec::new();
    // Start-up (config, migrations, the store's first reads) leaves connections and
    // program pages behind just as a job does.
    let mut late_trim = tokio::spawn(rest::trim_at_rest());
    loop {
        let upcoming = next_cron_job(&app.config, &last_runs);
        if upcoming != announced {
            if let Some((job, at)) = &upcoming {
                tracing::info!(job = %job.name(), at = %at.with_timezone(&app.config.service.timezone), "next job");
            }
            announced = upcoming;
        }
        let (next, next_at) = next_job(&app.config, &last_runs, Utc::now());
        // A held slot whose lease ends first is claimed again then, at once (no jitter).
        let retake = next_retake(&held, next_at, Utc::now()).cloned();
        let (job, slot, at) = match &retake {
            Some(h) => (h.job.clone(), h.slot, h.retry_at),
            None => (next, next_at, next_at),
        };
        let jitter = match (&job, &retake) {
            (Job::Retry, _) | (_, Some(_)) => std::time::Duration::ZERO,
            _ => jitter_delay(app.config.service.schedules.jitter, &mut rand::rng()),
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
            last_runs.adopt(&app.config, Utc::now());
            continue;
        }
        held.retain(|h| !(h.job == job && h.slot == slot));
        if retake.is_none() {
            last_runs.record(&job, Utc::now());
        }
        if job != Job::Retry {
            rest::prepare_code_pages();
        }
        let grace = app.config.service.shutdown_grace;
        let job_run = run_slot(&app, &job, slot, lock.is_some());
        tokio::pin!(job_run);
        let stop_requested = tokio::select! {
            claim = &mut job_run => {
                if let JobClaim::Held { by, until } = claim {
                    tracing::info!(job = %job.name(), %slot, holder = %by, lease_until = %until, "another instance holds this slot; waiting for its lease");
                    held.push(HeldSlot { job: job.clone(), slot, retry_at: until });
                }
                false
            }
            _ = terminate.recv() => true,
            _ = interrupt.recv() => true,
        };
        if stop_requested {
            tracing::warn!(job = %job.name(), grace_secs = grace.as_secs(), "stop requested; waiting for the running job");
            if tokio::time::timeout(grace, job_run).await.is_err() {
                // Dropping the job cancels it between two awaits: a mail whose send did not
                // finish is still pending in the outbox, an open transaction rolls back.
                tracing::warn!(job = %job.name(), "the running job did not finish in time and was cut off");
            }
            break;
        }
        app.release_matcher();
        rest::return_freed_memory();
        // The job's idle store connections close a little later; their memory goes back
        // then. Not after the outbox's retry tick (every minute): it touches the same few
        // pages each time, which had better stay than be read again every minute.
        if job != Job::Retry {
            rest::release_code_pages();
            late_trim.abort();
            late_trim = tokio::spawn(rest::trim_at_rest());
        }
    }
    late_trim.abort();
    heartbeat.abort();
    if let Some(web) = web {
        web.stop().await?;
    }
    let _ = std::fs::remove_file(&pid_file);
    tracing::info!("daemon stopped");
    Ok(ExitCode::SUCCESS)
}

/// The web server's view of the daemon's deployment (a reload by SIGHUP reaches the
/// jobs; the web server keeps the config it started with).
fn web_state(app: &App) -> anyhow::Result<crate::web::WebState> {
    let secrets = crate::web::Secrets::from_env(&app.config.service.web)?;
    crate::web::WebState::new(app.config.clone(), app.store.clone(), app.today_override, secrets)
}

/// The start state of the schedules, from the runs the store recorded before. A store
/// from before `job_runs` existed has the collect and notify runs in `runs` only.
async fn resume_runs(app: &App) -> anyhow::Result<LastRuns> {
    let mut recorded = HashMap::new();
    for (job, _) in cron_jobs(&app.config) {
        let name = job.name();
        let mut last = app.store.scheduled_runs(&name).await?.last_started;
        let pipeline = match job {
            Job::Collect(None) => Some(RunKind::Collect),
            Job::Notify => Some(RunKind::Notify),
            _ => None,
        };
        if let (None, Some(kind)) = (last, pipeline) {
            last = app.store.job_runs(kind).await?.last_started;
        }
        if let Some(last) = last {
            recorded.insert(name, last);
        }
    }
    let start = Utc::now();
    let resumed = LastRuns::resume(&app.config, start, &recorded);
    let mut owed: Vec<_> = resumed.since.iter().filter(|(_, since)| **since < start).collect();
    owed.sort();
    for (job, since) in owed {
        tracing::info!(job = %job, last_run = %since, "a slot was missed while the daemon was down; catching up once");
    }
    Ok(resumed)
}

/// A cron job's slot that another instance held when it came due.
#[derive(Debug, Clone)]
struct HeldSlot {
    job: Job,
    slot: DateTime<Utc>,
    /// When its holder's lease ends: then this instance claims it again.
    retry_at: DateTime<Utc>,
}

/// The held slot to claim again first.
/// The held slot to claim again before the next cron job (due at `next_at`), if any: the
/// one whose lease ends first, when that is before `next_at` or already past. A lease that
/// has ended goes before the slots a busy daemon is behind on (older work first, so that a
/// dead instance's sources do not wait behind every new slot).
fn next_retake(held: &[HeldSlot], next_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<&HeldSlot> {
    held.iter()
        .min_by_key(|h| h.retry_at)
        .filter(|h| h.retry_at <= next_at.max(now))
}

/// Records that this instance is alive, now and every `[daemon] heartbeat_secs`, until aborted.
fn spawn_heartbeat(app: &App) -> tokio::task::JoinHandle<()> {
    let store = app.store.clone();
    let instance = app.instance.clone();
    let every = app.config.service.heartbeat;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = store.heartbeat(&instance, Utc::now()).await {
                tracing::warn!(error = %e, "cannot record the heartbeat");
            }
        }
    })
}

/// Runs `slot` of `job` as far as this instance's part goes (see the module docs): a
/// collect job claims and collects its sources one claim each, then matches once every
/// source of the slot is done; every other cron job claims the slot, runs while renewing
/// the lease and marks it done. The retry tick claims no slot (its mails are claimed one
/// by one). `Held` asks the caller to come back when that lease ends; a job whose lease
/// was lost (taken over after it could not be renewed in time) is stopped.
/// `sole`: this process holds the data lock, so no other instance shares the store.
async fn run_slot(app: &App, job: &Job, slot: DateTime<Utc>, sole: bool) -> JobClaim {
    let started = Utc::now();
    let failed_sources = match job {
        Job::Retry => {
            if let Err(e) = retry(app).await {
                tracing::error!(job = %job.name(), error = %format!("{e:#}"), "job failed");
            }
            return JobClaim::Claimed;
        }
        Job::Collect(group) => match collect_sources(app, group.as_deref(), slot, sole).await {
            Sources::AllDone { failed } => failed,
            Sources::Waiting(held) => return held,
            Sources::Unknown => return JobClaim::Done,
        },
        Job::Notify | Job::AdminDigest => 0,
    };
    let name = job.name();
    match claim(app, &name, slot).await {
        JobClaim::Claimed => {}
        other => return other,
    }
    let work = record_run(app, &name, started, job_work(app, job, failed_sources));
    match run_leased(app, std::slice::from_ref(&name), slot, work).await {
        Some(()) => finish(app, &name, slot).await,
        None => tracing::error!(job = %name, %slot, "lost the job's lease to another instance; stopped the job"),
    }
    JobClaim::Claimed
}

/// What a cron job does once its slot is claimed (for a collect: the match after it).
async fn job_work(app: &App, job: &Job, failed_sources: usize) -> anyhow::Result<bool> {
    match job {
        Job::Collect(group) => match_after_collect(app, group.as_deref(), failed_sources).await,
        Job::Notify => notify(app).await,
        // Queued is done: the outbox retries its delivery, and the next digest's period
        // starts here (a digest that could not be queued leaves its period to the next).
        Job::AdminDigest => admin_digest(app, Utc::now()).await.map(|_| true),
        Job::Retry => retry(app).await,
    }
}

/// Claims `slot` of `name` (a cron job or a [`source_claim`]) for this instance. A store
/// error counts as not claimed: without a claim nothing runs, another instance may.
async fn claim(app: &App, name: &str, slot: DateTime<Utc>) -> JobClaim {
    let lease = app.lease();
    match app
        .store
        .claim_job(name, slot, &lease.holder, lease.length, Utc::now())
        .await
    {
        Ok(JobClaim::Done) => {
            tracing::info!(job = %name, %slot, "this slot already ran on another instance");
            JobClaim::Done
        }
        Ok(claim) => claim,
        Err(e) => {
            tracing::error!(job = %name, %slot, error = %e, "cannot claim the slot; skipping it");
            JobClaim::Done
        }
    }
}

/// Marks this instance's claim on `slot` of `name` done.
async fn finish(app: &App, name: &str, slot: DateTime<Utc>) {
    if let Err(e) = app.store.finish_job(name, slot, &app.lease().holder, Utc::now()).await {
        tracing::error!(job = %name, %slot, error = %e, "cannot mark the slot done");
    }
}

/// Runs `work` while renewing this instance's leases on `slot` of every claim in `names`
/// three times per lease, so one slow renewal does not lose them. `None` when a lease
/// was lost (another instance took the claim over): `work` is dropped then, between
/// two awaits, which leaves the store consistent. The renewals run beside `work`, not
/// inside it: a renewal waiting for the store's write lock never stalls the job that
/// holds it.
async fn run_leased<T>(
    app: &App,
    names: &[String],
    slot: DateTime<Utc>,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    let renewals = async {
        let mut renew = renewal_ticks(app).await;
        loop {
            renew.tick().await;
            if !renew_all(app, names, slot).await {
                return;
            }
        }
    };
    tokio::select! {
        out = work => Some(out),
        () = renewals => None,
    }
}

/// Ticks three times per lease, the first a lease's third from now.
async fn renewal_ticks(app: &App) -> tokio::time::Interval {
    let mut renew = tokio::time::interval(app.config.service.lease / 3);
    renew.tick().await;
    renew
}

/// Renews this instance's leases on `slot` of `names`; false when one was lost. A store
/// error is logged and tried again at the next tick.
async fn renew_all(app: &App, names: &[String], slot: DateTime<Utc>) -> bool {
    let lease = app.lease();
    for name in names {
        match app
            .store
            .renew_job_lease(name, slot, &lease.holder, lease.length, Utc::now())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(job = %name, %slot, "lost the lease to another instance");
                return false;
            }
            Err(e) => tracing::warn!(job = %name, error = %e, "cannot renew the lease; trying again"),
        }
    }
    true
}

/// Runs `work` as one run of cron job `name` recorded in `job_runs` from `started`;
/// a failure is logged and the daemon goes on.
async fn record_run(
    app: &App,
    name: &str,
    started: DateTime<Utc>,
    work: impl std::future::Future<Output = anyhow::Result<bool>>,
) {
    let run = match app.store.start_job_run(name, started).await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(job = %name, error = %e, "cannot record the job's start");
            None
        }
    };
    let ok = work.await.unwrap_or_else(|e| {
        tracing::error!(job = %name, error = %format!("{e:#}"), "job failed");
        false
    });
    if let Some(run) = run
        && let Err(e) = app.store.finish_job_run(run, Utc::now(), ok).await
    {
        tracing::error!(job = %name, error = %e, "cannot record the job's end");
    }
    // What each stage of the job cost.
    app.take_stage_stats().iter().for_each(|s| s.log());
}

/// Keeps the leases on a batch's source claims (`open`) while it is collected: marks
/// each source done as its id arrives on `done`, renews the others three times per lease.
/// Runs beside the collect (see [`run_leased`]). The claims still open once the collect
/// has ended (`done` closed); `None` when a lease was lost.
async fn keep_source_leases(
    app: &App,
    slot: DateTime<Utc>,
    mut open: Vec<String>,
    mut done: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Option<Vec<String>> {
    let mut renew = renewal_ticks(app).await;
    loop {
        tokio::select! {
            stored = done.recv() => {
                let Some(source) = stored else { return Some(open) };
                let name = source_claim(&source);
                finish(app, &name, slot).await;
                open.retain(|n| *n != name);
            }
            _ = renew.tick() => if !renew_all(app, &open, slot).await {
                return None;
            },
        }
    }
}

/// Where the sources of a collect slot stand once this instance has done its part.
#[derive(Debug)]
enum Sources {
    /// Every source of the slot is done (`failed`: of those this instance collected, how
    /// many failed): the match may run.
    AllDone { failed: usize },
    /// Another instance holds a source (or took one over from this instance): come back
    /// when its lease ends.
    Waiting(JobClaim),
    /// A claim could not be read (a store error, logged): the slot is left to the next.
    Unknown,
}

/// This instance's part of a collect slot: rounds of claiming free sources, each with a
/// claim of its own ([`source_claim`]), at most a fair share per round (the sources over
/// the live instances; all when `sole`), and collecting them together while their leases
/// are renewed; each source's claim is marked done as soon as its outcome is stored.
/// Ends when a round finds nothing left to claim.
async fn collect_sources(app: &App, group: Option<&str>, slot: DateTime<Utc>, sole: bool) -> Sources {
    let sources = sources_of(&app.config, group);
    let mut collected: Vec<String> = Vec::new();
    let mut failed = 0;
    loop {
        let share = match sole {
            true => sources.len(),
            false => fair_share(app, sources.len()).await,
        };
        let round = claim_sources(app, &sources, &collected, slot, share).await;
        if round.claimed.is_empty() {
            return match (round.held, round.errors) {
                (Some(held), _) => Sources::Waiting(held),
                (None, 0) => Sources::AllDone { failed },
                (None, _) => Sources::Unknown,
            };
        }
        match collect_batch(app, group, slot, &round.claimed).await {
            Some(f) => failed += f,
            None => {
                let until = Utc::now() + app.lease().length;
                return Sources::Waiting(JobClaim::Held {
                    by: "another instance".into(),
                    until,
                });
            }
        }
        collected.extend(round.claimed);
    }
}

/// One round of claims on a collect slot's sources.
#[derive(Debug, Default)]
struct Round {
    /// The sources this instance claimed now, in the config's order.
    claimed: Vec<String>,
    /// The source claim held by another instance whose lease ends first.
    held: Option<JobClaim>,
    /// Claims that failed with a store error.
    errors: usize,
}

/// Claims up to `share` of `sources` not in `skip`, one by one in the config's order.
async fn claim_sources(app: &App, sources: &[String], skip: &[String], slot: DateTime<Utc>, share: usize) -> Round {
    let lease = app.lease();
    let mut round = Round::default();
    for source in sources.iter().filter(|s| !skip.contains(s)) {
        if round.claimed.len() >= share {
            break;
        }
        let claim = app
            .store
            .claim_job(&source_claim(source), slot, &lease.holder, lease.length, Utc::now())
            .await;
        match claim {
            Ok(JobClaim::Claimed) => round.claimed.push(source.clone()),
            Ok(JobClaim::Done) => {}
            Ok(held @ JobClaim::Held { .. }) => {
                let earlier = match (&round.held, &held) {
                    (Some(JobClaim::Held { until: first, .. }), JobClaim::Held { until, .. }) => until < first,
                    _ => true,
                };
                if earlier {
                    round.held = Some(held);
                }
            }
            Err(e) => {
                tracing::error!(source = %source, %slot, error = %e, "cannot claim the source's collect");
                round.errors += 1;
            }
        }
    }
    round
}

/// How many sources of `total` one instance claims per round: an even share over the
/// instances whose heartbeat is live (three heartbeats), rounded up. Two instances that
/// wake for one slot split its sources; one that finds the others gone takes the rest
/// in its next round.
async fn fair_share(app: &App, total: usize) -> usize {
    let now = Utc::now();
    let live_within = chrono::TimeDelta::from_std(app.config.service.heartbeat * 3).unwrap_or(chrono::TimeDelta::MAX);
    let live = match app.store.instances(now).await {
        Ok(instances) => instances
            .iter()
            .filter(|i| now - i.last_heartbeat <= live_within)
            .count(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the instances; claiming as if alone");
            1
        }
    };
    total.div_ceil(live.max(1)).max(1)
}

/// Collects the claimed `batch` of a slot's sources together (as one pass collects
/// them), renewing their leases and marking each done as soon as its outcome is stored.
/// The number of failed sources; `None` when a lease was lost (the batch is stopped).
async fn collect_batch(app: &App, group: Option<&str>, slot: DateTime<Utc>, batch: &[String]) -> Option<usize> {
    let (stored, done) = tokio::sync::mpsc::unbounded_channel();
    let work = app.collect_reporting(batch, Some(stored));
    let keeper = keep_source_leases(app, slot, batch.iter().map(|s| source_claim(s)).collect(), done);
    tokio::pin!(work, keeper);
    // The keeper ends when the collect has ended (its sender is gone) or a lease was lost.
    let lost = || {
        tracing::error!(group = group.unwrap_or("collect"), %slot, "stopped the collect: another instance took a source over");
        None
    };
    let (result, open) = tokio::select! {
        result = &mut work => match keeper.await {
            Some(open) => (result, open),
            None => return lost(),
        },
        kept = &mut keeper => match kept {
            Some(open) => (work.await, open),
            None => return lost(),
        },
    };
    let group_name = group.unwrap_or("collect");
    let failed = match result {
        Ok(collect) => {
            tracing::info!(
                group = group_name,
                %slot,
                sources = collect.sources.len(),
                failed = collect.failed(),
                "collect done\n{collect}"
            );
            let notice = AdminNotice {
                newly_broken: collect.newly_broken.clone(),
                ..AdminNotice::default()
            };
            if let Err(e) = app.tell_admin(&notice).await {
                tracing::error!(error = %format!("{e:#}"), "cannot tell the admin about broken sources");
            }
            collect.failed()
        }
        Err(e) => {
            // As before per-source claims: a failed collect is not repeated for its slot.
            tracing::error!(group = group_name, %slot, error = %format!("{e:#}"), "collect failed");
            open.len()
        }
    };
    for name in &open {
        finish(app, name, slot).await;
    }
    // What the batch's collect cost.
    app.take_stage_stats().iter().for_each(|s| s.log());
    Some(failed)
}

/// Plans and sends the digests. It has its own schedule, independent of any collect:
/// reminders and retries go out on days without a collect too.
async fn notify(app: &App) -> anyhow::Result<bool> {
    let (plan, delivery) = app.notify().await?;
    tracing::info!(%plan, %delivery, "notify done");
    let given_up = app
        .tell_admin(&AdminNotice {
            given_up: delivery.failures,
            ..AdminNotice::default()
        })
        .await?;
    Ok(delivery.failed == 0 && given_up.is_empty())
}

/// Delivers retries that fell due; a mail given up here is reported like any other.
async fn retry(app: &App) -> anyhow::Result<bool> {
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
    Ok(true)
}

/// The enabled sources a collect job fetches: those of `group`, or (for `None`) those
/// that name no group.
fn sources_of(config: &Config, group: Option<&str>) -> Vec<String> {
    let schedules = &config.service.schedules;
    config
        .sources
        .iter()
        .filter(|s| s.enabled && schedules.group_of(&s.id).map(|g| g.name.as_str()) == group)
        .map(|s| s.id.clone())
        .collect()
}

/// The match after a collect slot, once every source of the slot is done. `ok` when
/// none of the sources this instance collected for the slot failed (each source's own
/// result is in `sources` and `status`).
async fn match_after_collect(app: &App, group: Option<&str>, failed_sources: usize) -> anyhow::Result<bool> {
    if sources_of(&app.config, group).is_empty() {
        tracing::info!(
            group = group.unwrap_or("collect"),
            "no enabled source follows this schedule"
        );
        return Ok(true);
    }
    let matching = app.match_calls().await?;
    tracing::info!(%matching, "match done");
    Ok(failed_sources == 0)
}

/// What one admin digest did.
#[derive(Debug)]
pub struct AdminDigestSent {
    /// Outbox id of the digest.
    pub mail: i64,
    pub digest: AdminDigest,
    pub delivery: DeliveryReport,
    /// Mails given up while the digest went out (reported in a notice).
    pub given_up: Vec<FailedMail>,
}

impl AdminDigestSent {
    /// Delivered without giving anything up.
    pub fn ok(&self) -> bool {
        self.delivery.failed == 0 && self.given_up.is_empty()
    }
}

/// Queues the admin digest for the period since the previous one (a week for the
/// first) and delivers the due outbox. Used by the daemon's `admin_digest` job and by
/// `foerderradar admin-digest`; the daemon records the job's run, the command its own.
pub async fn admin_digest(app: &App, now: DateTime<Utc>) -> anyhow::Result<AdminDigestSent> {
    let since = previous_admin_digest(app, now).await?;
    let (mail, digest) = admin_digest::enqueue(&app.store, &app.config, since, now).await?;
    tracing::info!(mail, subject = %digest.subject, "admin digest enqueued");
    let delivery = app.deliver(now).await?;
    let given_up = app
        .tell_admin(&AdminNotice {
            given_up: delivery.failures.clone(),
            ..AdminNotice::default()
        })
        .await?;
    Ok(AdminDigestSent {
        mail,
        digest,
        delivery,
        given_up,
    })
}

/// Where the admin digest's period starts: the start of the previous one that was
/// queued (the running one is not finished yet), else
/// [`admin_digest::DEFAULT_PERIOD_DAYS`] back.
pub async fn previous_admin_digest(app: &App, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let previous = app.store.last_ok_job_start(ADMIN_DIGEST_JOB).await?;
    Ok(previous.unwrap_or_else(|| now - chrono::Duration::days(admin_digest::DEFAULT_PERIOD_DAYS)))
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

    fn recorded(runs: &[(&str, DateTime<Utc>)]) -> HashMap<String, DateTime<Utc>> {
        runs.iter().map(|(job, at)| (job.to_string(), *at)).collect()
    }

    fn shipped_config() -> Config {
        Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap()
    }

    #[test]
    fn notify_time_passed_during_a_long_collect_still_runs() {
        // Shipped schedules: collect 06:00, notify 07:00 on weekdays, Europe/Berlin (UTC+1 in December).
        let config = shipped_config();
        let mut last = LastRuns::resume(&config, utc("2026-12-01T04:00:00Z"), &HashMap::new());
        let (job, at) = next_job(&config, &last, utc("2026-12-01T04:59:30Z"));
        assert_eq!((job, at), (Job::Collect(None), utc("2026-12-01T05:00:00Z")));
        last.record(&Job::Collect(None), at);
        // The collect ran until 07:20 local time; the 07:00 digests are due at once.
        let (job, at) = next_job(&config, &last, utc("2026-12-01T06:20:00Z"));
        assert_eq!((job, at), (Job::Notify, utc("2026-12-01T06:00:00Z")));
        // Run late once, the notify job waits for the next weekday.
        last.record(&Job::Notify, utc("2026-12-01T06:20:00Z"));
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
        let mut runs = LastRuns::resume(&config, boot, &recorded(&[("collect", last)]));
        let (job, at) = next_job(&config, &runs, boot);
        assert_eq!(
            (job, at),
            (Job::Collect(None), utc("2026-12-01T05:00:00Z")),
            "due at once"
        );
        runs.record(&Job::Collect(None), boot);
        // Once run, the other missed slots are not repeated: next is Monday's.
        assert_eq!(runs.get(&Job::Collect(None)), boot);
        assert_eq!(
            next_due(collect, tz, runs.get(&Job::Collect(None))),
            Some(utc("2026-12-07T05:00:00Z"))
        );
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
        let runs = LastRuns::resume(&config, utc("2026-12-04T15:00:00Z"), &recorded(&[("collect", last)]));
        assert_eq!(runs.get(&Job::Collect(None)), utc("2026-12-04T15:00:00Z"));
        assert_eq!(runs.get(&Job::Notify), utc("2026-12-04T15:00:00Z"));
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
        let mut runs = LastRuns::resume(&config, utc("2026-12-02T08:59:00Z"), &HashMap::new());
        assert_eq!(
            next_due(&config.service.schedules.collect, tz, runs.get(&Job::Collect(None))),
            Some(utc("2026-12-02T09:00:00Z"))
        );
        runs.record(&Job::Collect(None), utc("2026-12-02T09:00:00Z"));
        let finished = utc("2026-12-02T09:50:00Z");
        // The missed slots are due at once, as one run…
        let (job, at) = next_job(&config, &runs, finished);
        assert_eq!((job, at), (Job::Collect(None), utc("2026-12-02T09:15:00Z")));
        runs.record(&Job::Collect(None), finished);
        // …after which the next run waits for the 11:00 slot.
        assert_eq!(
            next_due(&config.service.schedules.collect, tz, runs.get(&Job::Collect(None))),
            Some(utc("2026-12-02T10:00:00Z"))
        );
        let (job, at) = next_job(&config, &runs, finished);
        assert!(job != Job::Collect(None) || at > finished, "{job:?} {at}");
    }

    /// The jobs `next_job` hands out from `from` on, each recorded as run at its slot.
    fn job_sequence(
        config: &Config,
        from: &str,
        recorded: &[(&str, DateTime<Utc>)],
        n: usize,
    ) -> Vec<(String, String)> {
        let mut runs = LastRuns::resume(config, utc(from), &self::tests::recorded(recorded));
        let mut now = utc(from);
        let mut jobs = Vec::new();
        while jobs.len() < n {
            let (job, at) = next_job(config, &runs, now);
            runs.record(&job, at.max(now));
            now = at.max(now);
            // The outbox retry tick is not a cron job.
            if job != Job::Retry {
                jobs.push((job.name(), at.to_rfc3339()));
            }
        }
        jobs
    }

    /// The shipped config with a `feeds` group every 4 hours and no retry tick in the way.
    fn grouped_config() -> Config {
        let mut config = shipped_config();
        config.service.schedules.groups.push(crate::config::ScheduleGroup {
            name: "feeds".into(),
            cron: cron("0 0 */4 * * *"),
            sources: vec!["eu-kommunal".into()],
        });
        config.service.notify.retry_base = std::time::Duration::from_secs(86_400);
        config
    }

    #[test]
    fn each_schedule_group_collects_its_own_sources_on_its_own_slots() {
        let config = grouped_config();
        assert_eq!(
            sources_of(&config, Some("nightly")),
            ["fdb-kommune-nrw", "fdb-kommune-bund"],
            "shipped: the Förderdatenbank at night"
        );
        assert_eq!(sources_of(&config, Some("feeds")), ["eu-kommunal"]);
        let rest = sources_of(&config, None);
        assert!(rest.contains(&"foerderinfo-bund".to_string()), "{rest:?}");
        assert!(
            !rest.iter().any(|s| s.starts_with("fdb-") || s == "eu-kommunal"),
            "{rest:?}"
        );
        // Sunday noon (Berlin, UTC+1) to Monday: nightly at 02:00, feeds every 4 hours, the
        // weekday collect at 06:00, digests at 07:00 and, on Mondays, the admin digest.
        let jobs = job_sequence(&config, "2026-12-06T11:00:00Z", &[], 9);
        let expected = [
            ("collect:feeds", "2026-12-06T15:00:00+00:00"),
            ("collect:feeds", "2026-12-06T19:00:00+00:00"),
            ("collect:feeds", "2026-12-06T23:00:00+00:00"),
            ("collect:nightly", "2026-12-07T01:00:00+00:00"),
            ("collect:feeds", "2026-12-07T03:00:00+00:00"),
            ("collect", "2026-12-07T05:00:00+00:00"),
            ("notify", "2026-12-07T06:00:00+00:00"),
            ("admin_digest", "2026-12-07T06:00:00+00:00"),
            ("collect:feeds", "2026-12-07T07:00:00+00:00"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(j, t)| (j.to_string(), t.to_string())).collect();
        assert_eq!(jobs, expected);
    }

    #[test]
    fn notify_runs_on_days_without_a_collect() {
        let mut config = grouped_config();
        config.service.schedules.groups.clear();
        config.service.schedules.collect = cron("0 0 6 * * Mon");
        config.service.schedules.notify = cron("0 0 7 * * *");
        let jobs = job_sequence(&config, "2026-12-01T12:00:00Z", &[], 3);
        let names: Vec<&str> = jobs.iter().map(|(j, _)| j.as_str()).collect();
        assert_eq!(names, ["notify", "notify", "notify"], "{jobs:?}");
        assert_eq!(jobs[0].1, "2026-12-02T06:00:00+00:00");
    }

    #[test]
    fn every_missed_job_catches_up_once_groups_included() {
        // Down from Friday 2026-12-04 12:00 UTC to Monday 10:00: the nightly group missed
        // three nights, the weekday collect Monday's 06:00, the admin digest Monday's 07:00.
        let config = grouped_config();
        let recorded = [
            ("collect:nightly", utc("2026-12-04T01:00:00Z")),
            ("collect", utc("2026-12-04T05:00:00Z")),
            ("notify", utc("2026-12-04T06:00:00Z")),
            ("admin_digest", utc("2026-11-30T06:00:00Z")),
        ];
        let jobs = job_sequence(&config, "2026-12-07T10:00:00Z", &recorded, 6);
        let names: Vec<&str> = jobs.iter().map(|(j, _)| j.as_str()).collect();
        // Each owed job once, at start-up (its first missed slot is past); `feeds` had no
        // recorded run and waits for its slot; then the normal schedule resumes.
        assert_eq!(
            names,
            [
                "collect:nightly",
                "collect",
                "notify",
                "admin_digest",
                "collect:feeds",
                "collect:feeds"
            ],
            "{jobs:?}"
        );
        assert!(jobs[..4].iter().all(|(_, at)| utc(at) < utc("2026-12-07T10:00:00Z")));
        assert_eq!(jobs[4].1, "2026-12-07T11:00:00+00:00");
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
    fn a_held_slot_whose_lease_ended_goes_before_the_slots_a_busy_daemon_is_behind_on() {
        let held = |at: &str| HeldSlot {
            job: Job::Collect(None),
            slot: utc("2026-12-07T05:00:00Z"),
            retry_at: utc(at),
        };
        let slots = [held("2026-12-07T05:02:10Z"), held("2026-12-07T05:02:00Z")];
        let now = utc("2026-12-07T05:02:30Z");
        // Behind: the next slot (05:02:20) is past, but the lease ended before it.
        let first = next_retake(&slots, utc("2026-12-07T05:02:20Z"), now);
        assert_eq!(first.map(|h| h.retry_at), Some(utc("2026-12-07T05:02:00Z")));
        // Behind on a slot older than the lease's end: the lease has ended too, older work first.
        let behind = next_retake(&slots, utc("2026-12-07T05:01:00Z"), now);
        assert_eq!(behind.map(|h| h.retry_at), Some(utc("2026-12-07T05:02:00Z")));
        // On time: a lease that ends after the next slot waits for it.
        let early = utc("2026-12-07T05:01:00Z");
        assert!(next_retake(&slots, utc("2026-12-07T05:01:30Z"), early).is_none());
        assert!(next_retake(&[], utc("2026-12-07T05:01:30Z"), now).is_none());
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
