//! Command-line interface. `main.rs` only parses and maps the result to an exit code.
//!
//! Exit codes:
//! - 0: success;
//! - 1: finished, but something needs attention: a source failed, a mail waits
//!   for a retry or was given up, `eval` fell below one of its floors, `check` found an error,
//!   `status` found something that needs attention;
//! - 2: could not run: bad arguments, unreadable config, database error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::App;
use crate::app::stats::StatsTable;
use crate::config::Config;
use crate::matching::{Matcher, eval, preview};
use crate::notify::admin::AdminNotice;
use crate::notify::{FailedMail, PlanMode, Templates};
use crate::report::{self, ReportFormat, ReportQuery};
use crate::store::{CallFilter, OutboxStatus, Store};

/// Writes one line of command output; a closed stdout is not an error (see [`Out`]).
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {
        $out.line(format_args!($($arg)*))?
    };
}

/// Writes one line to stderr; a closed stderr must not panic the process either.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod admin;
mod feedback;

/// foerderradar: finds funding calls for the Smart Region Kreis Warendorf and mails each Kommune what concerns it.
#[derive(Debug, Parser)]
#[command(
    name = "foerderradar",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 1 finished, but something needs attention (a source failed, \
                  a mail waits for a retry or was given up, eval below one of its floors, check found errors, \
                  a broken source, status needs attention); 2 could not run (bad arguments, unreadable config, database error)."
)]
pub struct Cli {
    /// Config directory with foerderradar.toml, sources.toml, strategy.toml, kommunen.toml.
    /// Give it before the subcommand (`preview` has its own --config for the proposed rules).
    #[arg(long, value_name = "DIR", default_value = "config")]
    pub config: PathBuf,
    /// Data directory (SQLite store, outbox); default: `data_dir` from foerderradar.toml, else `data`.
    #[arg(long, value_name = "DIR", global = true)]
    pub data: Option<PathBuf>,
    /// Evaluate deadlines as of this day (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD", global = true)]
    pub today: Option<NaiveDate>,
    /// Log verbosity: -v debug, -vv trace; RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log as JSON lines (for the service journal).
    #[arg(long, global = true)]
    pub log_json: bool,
    /// Print what each stage cost (wall, CPU, peak memory, calls read and written, SQL
    /// statements) to stderr after collect, match, notify or run --once; also shown with -v.
    /// With --log-json: one JSON event per stage instead of the table.
    #[arg(long, global = true)]
    pub timings: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and print a summary.
    Check,
    /// Fetch calls from the sources and store them.
    Collect {
        /// Only this source (repeatable); also runs disabled sources.
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
    },
    /// Match the stored calls that are new or changed since their last match (all calls
    /// after a change of the rules, the Kommunen or the day) against the strategy.
    Match {
        /// Match every stored call again.
        #[arg(long)]
        all: bool,
    },
    /// Plan digests for new matches and send the due outbox.
    Notify {
        /// Print the digests that would be enqueued; store and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send every pending item now, regardless of each contact's cadence
        /// (without it: the digests that are due, plus urgent items).
        #[arg(long)]
        now: bool,
    },
    /// Send the weekly report to the admin now: broken and silent sources, undeliverable
    /// mails, addresses that bounce, feedback per project and Handlungsfeld (German mail to
    /// `admin`). The daemon sends it on `[schedule] admin_digest`.
    AdminDigest {
        /// Print the report's text; store and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the daemon on the cron schedules, or one pass with --once.
    Run {
        /// One pass (collect → match → notify), then exit.
        #[arg(long)]
        once: bool,
    },
    /// On-demand report of calls and their matches.
    Report(ReportArgs),
    /// Why a call matched or did not: term hits, criteria, scores.
    Explain {
        /// Call id (or a unique prefix).
        call: String,
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        kommune: Option<String>,
    },
    /// Evaluate the rules against labelled sets (TOML, CSV or JSON), each reported as its own part.
    Eval(EvalArgs),
    /// Compare proposed rules with the current ones over recently stored calls.
    Preview {
        /// Config directory with the proposed rules.
        #[arg(long = "config", value_name = "NEWDIR")]
        proposed: PathBuf,
        /// Calls first seen in the last N weeks (1-520).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=520))]
        weeks: u16,
    },
    /// Health of each source: last success, failures, items, broken flag.
    Sources,
    /// Stored calls.
    Calls {
        #[command(subcommand)]
        command: CallsCommand,
    },
    /// Admin accounts of the web UI (`admins.toml`).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Run the web server alone: signed mail links, contact pages, reports, /health and
    /// /metrics (`[web]` in foerderradar.toml; `run` hosts it too with `[web] enabled = true`).
    Serve {
        /// Listen here instead of `[web] bind` (e.g. 127.0.0.1:8081).
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
    },
    /// The deployment at a glance: last and next run of every job, source health, the outbox
    /// by state, the newest call's age, the last error. Exit 1 when something needs attention.
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: StatusFormat,
    },
    /// Copy the store to FILE while the daemon may run (a consistent snapshot);
    /// never overwrites. Restore: stop the daemon, copy FILE to <data>/foerderradar.sqlite.
    Backup {
        /// The new backup file (must not exist).
        file: PathBuf,
    },
    /// Copy the SQLite store of the data directory into an empty PostgreSQL store, with a
    /// row count per table. Stop the daemon first (the command takes the data lock).
    MigrateStore {
        /// The PostgreSQL store: postgres://user@host:5432/database (no password in it).
        #[arg(long)]
        to: String,
        /// Environment variable holding the password (default: `[store] password_env`).
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Mails in the outbox.
    Outbox {
        #[arg(long, value_enum)]
        status: Option<OutboxStatusArg>,
    },
    /// Record or list what recipients said: a call that does not fit ("passt nicht"),
    /// a project, Handlungsfeld or funder muted for one contact. Digests, reminders and
    /// change notices respect it from the next pass on.
    Feedback {
        #[command(subcommand)]
        command: FeedbackCommand,
    },
    /// Contacts' own settings (cadence, Handlungsfelder followed, pause, unsubscribe),
    /// which override kommunen.toml.
    Contacts {
        #[arg(long, value_enum, default_value = "text")]
        format: StatusFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// A call is "nicht relevant": it never comes back to the contact (or to every
    /// contact of the Kommune), not even as a reminder or change notice.
    Dismiss {
        /// Call id (or a unique prefix).
        call: String,
        #[command(flatten)]
        audience: AudienceArgs,
        #[command(flatten)]
        note: NoteArgs,
    },
    /// A call fits ("passt"); undoes an earlier dismiss of the same audience.
    Passt {
        /// Call id (or a unique prefix).
        call: String,
        #[command(flatten)]
        audience: AudienceArgs,
        #[command(flatten)]
        note: NoteArgs,
    },
    /// Leave out every call of a project, Handlungsfeld or funder for one contact.
    Mute(MuteArgs),
    /// Undo a mute.
    Unmute(MuteArgs),
    /// Recorded feedback, oldest first (times UTC).
    List {
        /// Only the entries of this contact.
        #[arg(long, value_name = "EMAIL", conflicts_with = "kommune")]
        contact: Option<String>,
        /// Only the entries of this Kommune (id or name).
        #[arg(long, value_name = "KOMMUNE")]
        kommune: Option<String>,
        /// Only entries recorded on or after this day.
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: StatusFormat,
    },
}

/// For whom a dismissal holds: one contact or every contact of a Kommune.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct AudienceArgs {
    /// One contact's e-mail address.
    #[arg(long, value_name = "EMAIL")]
    contact: Option<String>,
    /// Every contact of this Kommune (id or name).
    #[arg(long, value_name = "KOMMUNE")]
    kommune: Option<String>,
}

/// A mute or unmute: what, for whom, why.
#[derive(Debug, Args)]
pub struct MuteArgs {
    #[command(flatten)]
    target: MuteTargetArgs,
    /// The contact's e-mail address.
    #[arg(long, value_name = "EMAIL")]
    contact: String,
    #[command(flatten)]
    note: NoteArgs,
}

/// What a mute is about.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct MuteTargetArgs {
    /// Project id or name.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Handlungsfeld id or name.
    #[arg(long, value_name = "HANDLUNGSFELD")]
    handlungsfeld: Option<String>,
    /// Funder name as the calls state it (any case).
    #[arg(long, value_name = "FUNDER")]
    funder: Option<String>,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Why (kept with the entry).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Who records it (default: $USER, else "cli").
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CallsCommand {
    /// List stored calls, the next Frist first; only open calls unless --all.
    List {
        #[arg(long)]
        source: Option<String>,
        /// Also calls closed on the evaluation day.
        #[arg(long)]
        all: bool,
        /// Only calls whose title, funder, summary or external id contain TEXT
        /// (any case; "ae" finds "ä").
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One call with its versions and recorded changes.
    Show {
        call: String,
        /// text for people; json: one document with the call, its versions and changes.
        #[arg(long, value_enum, default_value = "text")]
        format: StatusFormat,
    },
}

/// A floor between 0 and 1 (`--min-f1 0.9`).
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(_) => Err(format!("'{s}' is outside 0..=1")),
        Err(_) => Err(format!("'{s}' is not a number between 0 and 1")),
    }
}

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled sets: files, or directories of item files. A directory without item files of its own
    /// but with subdirectories (tests/fixtures/labelled) stands for one part per subdirectory.
    #[arg(required_unless_present = "feedback", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Exit 1 when the micro-F1 over all labels of any part falls below this value.
    #[arg(long, value_parser = share, value_name = "F1")]
    min_f1: Option<f64>,
    /// Exit 1 when the micro-F1 over (call, Handlungsfeld) pairs of any part falls below this value.
    #[arg(long, value_parser = share, value_name = "F1")]
    min_hf_f1: Option<f64>,
    /// Exit 1 when the precision over (call, Handlungsfeld) pairs of any part falls below this value.
    #[arg(long, value_parser = share, value_name = "P")]
    min_hf_precision: Option<f64>,
    /// Only the tables, without the list of wrong labels.
    #[arg(long)]
    brief: bool,
    /// Also measure the rules on the stored "passt" / "passt nicht" feedback of the recipients
    /// (needs the store; FILE may then be left out).
    #[arg(long)]
    feedback: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format: json (machine-readable, documented shape), md (German Markdown),
    /// html (printable German page with a deadline timeline), csv (for German Excel:
    /// BOM, `;`, decimal comma), ics (calendar: one all-day event per cut-off).
    /// Default: md when stdout is a terminal, json otherwise; with --output, the file
    /// extension (.md, .html, .csv, .ics, .json) when it names a format.
    #[arg(long, value_name = "json|md|html|csv|ics")]
    pub format: Option<ReportFormat>,
    /// Every stored call, not only open calls with a match.
    #[arg(long)]
    pub all: bool,
    /// Only this Kommune (id or name, any case); each match then names only it.
    #[arg(long, value_name = "KOMMUNE")]
    pub kommune: Option<String>,
    /// Only this project (id or name, any case).
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Only this Handlungsfeld (id or name, any case).
    #[arg(long, value_name = "HANDLUNGSFELD")]
    pub handlungsfeld: Option<String>,
    /// Only calls whose next Frist is at most DAYS days away.
    #[arg(long, value_name = "DAYS")]
    pub closing_within: Option<u32>,
    /// Only calls first seen on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<NaiveDate>,
    /// Also calls a Kommune marked "passt nicht" for all its contacts (left out by default).
    #[arg(long)]
    pub include_dismissed: bool,
    /// The Lenkungskreis overview: Kommunen × Handlungsfelder with counts and next
    /// Frist, plus the calls closing within 30 days (html, md or json).
    #[arg(long)]
    pub overview: bool,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

impl ReportArgs {
    /// The given format; else the output file's extension; else md for a
    /// person at a terminal and json for a pipe or file.
    fn format(&self, stdout_is_terminal: bool) -> ReportFormat {
        if let Some(format) = self.format {
            return format;
        }
        if let Some(path) = &self.output {
            let by_extension = path.extension().and_then(|e| e.to_str()).and_then(|e| e.parse().ok());
            return by_extension.unwrap_or(ReportFormat::Json);
        }
        if stdout_is_terminal {
            ReportFormat::Markdown
        } else {
            ReportFormat::Json
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutboxStatusArg {
    Pending,
    Sent,
    Failed,
}

/// Runs one command; `Ok(ExitCode)` carries 0 or 1, errors become 2 in `main`.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = Out::new(std::io::BufWriter::new(std::io::stdout()));
    let code = run_command(cli, &mut out).await;
    out.flush()?;
    code
}

async fn run_command(cli: Cli, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    if let Command::Check = cli.command {
        return check(&cli.config, out);
    }
    if let Command::Admin { command } = cli.command {
        return admin::run(&cli.config, command);
    }
    let config = load_config(&cli.config)?;
    if let Command::Eval(args) = &cli.command {
        return run_eval(&cli, config, args, out).await;
    }
    let data_dir = data_dir(&cli, &config);
    if let Command::MigrateStore { to, password_env } = &cli.command {
        return migrate_store(&config, &data_dir, to, password_env.as_deref(), out).await;
    }
    let app = App::open(config, &data_dir, cli.today).await?;
    if let Command::Serve { bind } = cli.command {
        return serve(app, bind).await;
    }
    if let Command::Run { once: false } = cli.command {
        // The daemon logs each job's stages itself.
        return crate::daemon::run(app, cli.config.clone()).await;
    }
    let show_timings = cli.timings || cli.verbose > 0;
    let log_json = cli.log_json;
    let code = match cli.command {
        Command::Collect { sources } => collect(&app, &sources, out).await,
        Command::Match { all } => run_match(&app, all, out).await,
        Command::Notify { dry_run: false, now } => notify(&app, plan_mode(now), out).await,
        Command::Notify { dry_run: true, now } => notify_dry_run(&app, plan_mode(now), out).await,
        Command::Run { once: true } => run_once(&app, out).await,
        Command::AdminDigest { dry_run } => admin_digest(&app, dry_run, out).await,
        Command::Report(args) => report(&app, &args, out).await,
        Command::Explain { call, project, kommune } => {
            explain(&app, &call, project.as_deref(), kommune.as_deref(), out).await
        }
        Command::Preview { proposed, weeks } => run_preview(&app, &proposed, weeks, out).await,
        Command::Sources => sources(&app, out).await,
        Command::Calls { command } => calls(&app, command, out).await,
        Command::Outbox { status } => outbox(&app, status, out).await,
        Command::Status { format } => status(&app, format, out).await,
        Command::Backup { file } => backup(&app, &file, out).await,
        Command::Feedback { command } => feedback::run(&app, command, out).await,
        Command::Contacts { format } => feedback::contacts(&app, format, out).await,
        Command::Check
        | Command::Eval(_)
        | Command::MigrateStore { .. }
        | Command::Run { once: false }
        | Command::Serve { .. }
        | Command::Admin { .. } => {
            unreachable!("handled above")
        }
    };
    let stages = app.take_stage_stats();
    if show_timings && !stages.is_empty() {
        if log_json {
            stages.iter().for_each(|s| s.log());
        } else {
            // A closed stderr must not fail the command.
            let _ = write!(std::io::stderr(), "{}", StatsTable(&stages));
        }
    }
    code
}

fn load_config(dir: &Path) -> anyhow::Result<Config> {
    // One line for a wrong directory, not one "No such file" per config file.
    if !dir.is_dir() {
        bail!(
            "config directory {} does not exist (give it with --config DIR before the command)",
            dir.display()
        );
    }
    Config::load(dir).map_err(|errors| anyhow::anyhow!("invalid config in {}:\n{errors}", dir.display()))
}

fn data_dir(cli: &Cli, config: &Config) -> PathBuf {
    cli.data
        .clone()
        .or_else(|| config.service.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn check(dir: &Path, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        errln!("check: config directory {} does not exist", dir.display());
        return Ok(ExitCode::from(1));
    }
    let config = match Config::load(dir) {
        Ok(config) => config,
        Err(errors) => {
            errln!("{errors}");
            errln!("check: {} error(s) in {}", errors.0.len(), dir.display());
            return Ok(ExitCode::from(1));
        }
    };
    if let Err(e) = Matcher::new(&config) {
        errln!("{e}");
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = Templates::load(&config.dir).and_then(|t| t.check()) {
        errln!("{e:#}");
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = crate::notify::admin_digest::AdminTemplates::load(&config.dir).and_then(|t| t.check()) {
        errln!("{e:#}");
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = crate::web::admin::accounts::Accounts::load(&config.dir) {
        errln!("{e:#}");
        return Ok(ExitCode::from(1));
    }
    for warning in config.warnings() {
        errln!("warning: {warning}");
    }
    outln!(out, "{}", config.summary());
    outln!(out, "check: {} is valid", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn attention(problem: bool) -> ExitCode {
    if problem { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

async fn collect(app: &App, sources: &[String], out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    for id in sources {
        if !app.config.sources.iter().any(|s| &s.id == id) {
            let known: Vec<_> = app.config.sources.iter().map(|s| s.id.as_str()).collect();
            bail!("unknown source '{id}' (known: {})", known.join(", "));
        }
    }
    let _lock = crate::daemon::lock_store(app)?;
    let summary = app.collect(sources).await?;
    let notice = AdminNotice {
        newly_broken: summary.newly_broken.clone(),
        ..AdminNotice::default()
    };
    let given_up = app.tell_admin(&notice).await?;
    outln!(out, "{summary}");
    print_given_up(out, &given_up)?;
    Ok(attention(summary.failed() > 0 || !given_up.is_empty()))
}

async fn run_match(app: &App, all: bool, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let _lock = crate::daemon::lock_store(app)?;
    let summary = if all {
        app.match_all_calls().await?
    } else {
        app.match_calls().await?
    };
    outln!(out, "{summary}");
    Ok(ExitCode::SUCCESS)
}

fn plan_mode(now: bool) -> PlanMode {
    if now { PlanMode::Now } else { PlanMode::Due }
}

async fn notify(app: &App, mode: PlanMode, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let _lock = crate::daemon::lock_store(app)?;
    let (plan, delivery) = app.notify_with(mode).await?;
    let notice = AdminNotice {
        given_up: delivery.failures.clone(),
        ..AdminNotice::default()
    };
    let given_up = app.tell_admin(&notice).await?;
    outln!(out, "{plan}\n{delivery}");
    print_given_up(out, &given_up)?;
    Ok(attention(
        delivery.failed > 0 || delivery.retried > 0 || !given_up.is_empty(),
    ))
}

/// Mails given up while the admin notice went out (retries that fell due meanwhile).
fn print_given_up(out: &mut Out<impl Write>, given_up: &[FailedMail]) -> anyhow::Result<()> {
    for m in given_up {
        outln!(
            out,
            "  given up: #{} {} after {}: {}",
            m.id,
            m.contact,
            attempts(m.attempts),
            m.error
        );
    }
    Ok(())
}

async fn notify_dry_run(app: &App, mode: PlanMode, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let templates = crate::notify::Templates::load(&app.config.dir)?;
    let preview = crate::notify::preview(&app.store, &app.config, &templates, app.today(), Utc::now(), mode).await?;
    for mail in &preview.mails {
        outln!(
            out,
            "== To: {} ({})
Subject: {}

{}
",
            mail.digest.contact,
            mail.digest.kommune_names,
            mail.digest.subject,
            mail.text
        );
    }
    for skipped in &preview.skipped {
        outln!(out, "skipped: {skipped}");
    }
    outln!(
        out,
        "dry run: {} digest(s) would be enqueued; nothing was stored or sent",
        preview.mails.len()
    );
    Ok(ExitCode::SUCCESS)
}

async fn admin_digest(app: &App, dry_run: bool, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    use crate::notify::admin_digest::{AdminDigest, AdminTemplates};
    let now = Utc::now();
    if dry_run {
        let since = crate::daemon::previous_admin_digest(app, now).await?;
        let digest = AdminDigest::gather(&app.store, &app.config, since, now).await?;
        let (text, _) = AdminTemplates::load(&app.config.dir)?.render(&digest)?;
        outln!(
            out,
            "== To: {}\nSubject: {}\n\n{text}",
            app.config.service.admin,
            digest.subject
        );
        outln!(out, "dry run: nothing was stored or sent");
        return Ok(ExitCode::SUCCESS);
    }
    let _lock = crate::daemon::lock_store(app)?;
    let run = app.store.start_job_run(crate::daemon::ADMIN_DIGEST_JOB, now).await?;
    let result = crate::daemon::admin_digest(app, now).await;
    // Queued counts as done (as in the daemon): the next period starts here.
    app.store.finish_job_run(run, Utc::now(), result.is_ok()).await?;
    let sent = result?;
    outln!(
        out,
        "admin digest #{} for {}: {}\n{}",
        sent.mail,
        app.config.service.admin,
        sent.digest.subject,
        sent.delivery
    );
    print_given_up(out, &sent.given_up)?;
    Ok(attention(!sent.ok() || sent.delivery.retried > 0))
}

/// `serve`: the web server until SIGINT or SIGTERM. It takes no data lock: it runs
/// beside a daemon on the same store.
async fn serve(app: App, bind: Option<std::net::SocketAddr>) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut config = app.config.clone();
    if let Some(bind) = bind {
        config.service.web.bind = bind;
    }
    let secrets = crate::web::Secrets::from_env(&config.service.web)?;
    let listener = crate::web::bind(config.service.web.bind).await?;
    let state = crate::web::WebState::new(config, app.store.clone(), app.today_override, secrets)?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("web server stopping");
    };
    crate::web::serve(state, listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn run_once(app: &App, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let _lock = crate::daemon::lock_store(app)?;
    let summary = app.pass().await?;
    outln!(out, "{summary}");
    Ok(attention(summary.has_problems()))
}

async fn report(app: &App, args: &ReportArgs, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let query = ReportQuery {
        as_of: app.today(),
        all: args.all,
        kommune: args.kommune.clone(),
        project: args.project.clone(),
        handlungsfeld: args.handlungsfeld.clone(),
        closing_within: args.closing_within,
        since: args.since,
        include_dismissed: args.include_dismissed,
    };
    let format = args.format(std::io::stdout().is_terminal());
    let built = report::build(&app.store, &app.config, &query).await?;
    let text = if args.overview {
        let overview = report::overview::Overview::new(&built);
        report::overview::render(&overview, format, Some(&app.config.dir))?
    } else {
        report::render_with_overrides(&built, format, &app.config.dir)?
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => outln!(out, "{}", text.trim_end_matches('\n')),
    }
    Ok(ExitCode::SUCCESS)
}

async fn find_call(app: &App, id: &str) -> anyhow::Result<crate::model::Call> {
    app.store
        .find_call(id)
        .await?
        .with_context(|| format!("no stored call with id '{id}' (see `foerderradar calls list`)"))
}

async fn explain(
    app: &App,
    id: &str,
    project: Option<&str>,
    kommune: Option<&str>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<ExitCode> {
    if let Some(p) = project.filter(|p| app.config.strategy.project(p).is_none()) {
        bail!("unknown project '{p}'");
    }
    if let Some(k) = kommune.filter(|k| app.config.kommune(k).is_none()) {
        bail!("unknown Kommune '{k}'");
    }
    let call = find_call(app, id).await?;
    outln!(out, "{}", app.matcher().explain(&call, app.today(), project, kommune));
    Ok(ExitCode::SUCCESS)
}

async fn run_eval(cli: &Cli, config: Config, args: &EvalArgs, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let matcher = Matcher::new(&config)?;
    let today = cli.today.unwrap_or_else(|| Utc::now().date_naive());
    let mut parts = Vec::new();
    for file in &args.files {
        // The error's message names the file and the cause; its source chain would repeat the cause.
        parts.extend(eval::parts(file).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let mut app: Option<App> = None;
    let mut reports = Vec::new();
    for part in &parts {
        let set = eval::load_labelled(part).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut items = set.inline();
        for (id, expected) in set.stored() {
            // Only sets that name stored calls need the store.
            if app.is_none() {
                let data = data_dir(cli, &config);
                app = Some(App::open(config.clone(), &data, cli.today).await?);
            }
            let store = &app.as_ref().expect("opened above").store;
            let call = store
                .get_call(id)
                .await?
                .with_context(|| format!("{}: no stored call '{id}'", part.display()))?;
            items.push((call, expected.clone()));
        }
        let result = eval::evaluate(&matcher, &items, today);
        if parts.len() > 1 {
            outln!(out, "== Teil {} ==", part.display());
        }
        if args.brief {
            outln!(out, "{}", result.tables());
        } else {
            outln!(out, "{result}");
        }
        reports.push((part.display().to_string(), result));
    }
    if reports.len() > 1 {
        outln!(out, "== Übersicht (Handlungsfeld-Paare) ==");
        outln!(out, "{}", eval::Overview(&reports));
    }
    if args.feedback {
        if app.is_none() {
            let data = data_dir(cli, &config);
            app = Some(App::open(config.clone(), &data, cli.today).await?);
        }
        let app = app.as_ref().expect("opened above");
        let (judgments, skipped) = feedback_judgments(app).await?;
        let mut report = eval::evaluate_feedback(&matcher, &judgments, today);
        report.skipped = skipped;
        outln!(out, "== Rückmeldungen der Empfänger (--feedback) ==");
        outln!(out, "{report}");
    }
    let mut code = ExitCode::SUCCESS;
    for (name, r) in &reports {
        let hf = r.micro_handlungsfelder();
        let checks = [
            (args.min_f1, r.micro_all().f1(), "micro-F1 over all labels", "--min-f1"),
            (
                args.min_hf_f1,
                hf.f1(),
                "micro-F1 over (call, Handlungsfeld) pairs",
                "--min-hf-f1",
            ),
            (
                args.min_hf_precision,
                hf.precision(),
                "precision over (call, Handlungsfeld) pairs",
                "--min-hf-precision",
            ),
        ];
        for (floor, value, what, flag) in checks {
            if let Some(min) = floor.filter(|min| value < *min) {
                errln!("eval: {name}: {what} {value:.3} is below the floor {flag} {min}");
                code = ExitCode::from(1);
            }
        }
    }
    Ok(code)
}

/// The last "passt" / "passt nicht" per recipient and call, resolved against the
/// config (the recipient's Kommune and subscription) and the store (the call and the
/// Handlungsfelder the contact still follows). Entries whose call or contact is gone
/// come back as the second list, with why.
async fn feedback_judgments(app: &App) -> anyhow::Result<(Vec<eval::Judgment>, Vec<String>)> {
    use crate::model::feedback::{FeedbackAction, FeedbackTargetKind};
    use std::collections::{BTreeMap, BTreeSet};
    let entries = app.store.feedback(&crate::store::FeedbackFilter::default()).await?;
    // Entries come oldest first: a later word on the same call replaces an earlier one.
    let mut last: BTreeMap<(Option<String>, Option<String>, String), bool> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.target_kind == FeedbackTargetKind::Call) {
        let fits = match e.action {
            FeedbackAction::Passt => true,
            FeedbackAction::PasstNicht => false,
            FeedbackAction::Mute | FeedbackAction::Unmute => continue,
        };
        last.insert((e.contact.clone(), e.kommune.clone(), e.target.clone()), fits);
    }
    let settings = app.store.all_contact_settings().await?;
    let (mut judgments, mut skipped) = (Vec::new(), Vec::new());
    for ((contact, kommune, call_id), fits) in last {
        let recipient = match &contact {
            Some(address) => app
                .config
                .kommunen
                .iter()
                .filter(|k| kommune.as_ref().is_none_or(|id| *id == k.id))
                .find_map(|k| {
                    k.contacts
                        .iter()
                        .find(|c| c.email.eq_ignore_ascii_case(address))
                        .map(|c| (address.clone(), k.id.clone(), c.interests.clone()))
                }),
            None => kommune
                .as_deref()
                .and_then(|id| app.config.kommune(id))
                .map(|k| (k.name.clone(), k.id.clone(), k.interests.clone())),
        };
        let Some((who, kommune_id, interests)) = recipient else {
            let who = contact.or(kommune).unwrap_or_default();
            skipped.push(format!("{call_id}: {who} steht nicht mehr in kommunen.toml"));
            continue;
        };
        let Some(call) = app.store.get_call(&crate::model::CallId(call_id.clone())).await? else {
            skipped.push(format!("{call_id}: Aufruf nicht im Speicher ({who})"));
            continue;
        };
        let follows = contact
            .as_ref()
            .and_then(|a| settings.iter().find(|s| s.contact.eq_ignore_ascii_case(a)))
            .and_then(|s| s.handlungsfelder.clone())
            .map(|hs| hs.into_iter().collect::<BTreeSet<_>>());
        judgments.push(eval::Judgment {
            call,
            who,
            kommune: kommune_id,
            interests,
            follows,
            fits,
        });
    }
    Ok((judgments, skipped))
}

async fn run_preview(
    app: &App,
    proposed_dir: &Path,
    weeks: u16,
    out: &mut Out<impl Write>,
) -> anyhow::Result<ExitCode> {
    let proposed = load_config(proposed_dir)?;
    let proposed_matcher = Matcher::new(&proposed)?;
    // Counted back from the evaluation day, so `--today` replays an earlier window.
    let since = app.today().and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::weeks(weeks.into());
    let filter = CallFilter {
        seen_since: Some(since),
        ..CallFilter::default()
    };
    let calls = app.store.list_calls(&filter).await?;
    let current = app.matcher();
    let result = preview::compare(
        (&app.config, &current),
        (&proposed, &proposed_matcher),
        &calls,
        app.today(),
    );
    outln!(out, "{result}");
    Ok(ExitCode::SUCCESS)
}

async fn sources(app: &App, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let health = app.store.source_health().await?;
    outln!(
        out,
        "{:<28} {:<17} {:<16} {:<20} {:>5} {:>6}  {:<7} last error",
        "source",
        "kind",
        "schedule",
        "last success (UTC)",
        "fails",
        "items",
        "state"
    );
    let mut broken = false;
    for source in &app.config.sources {
        let h = health.iter().find(|h| h.source == source.id);
        let state = match h {
            _ if !source.enabled => "off",
            Some(h) if h.broken => "BROKEN",
            Some(h) if h.consecutive_failures > 0 => "failing",
            Some(_) => "ok",
            None => "new",
        };
        broken |= state == "BROKEN";
        // The daemon job that collects it: a `[schedule.groups]` entry, else `collect`.
        let schedule = app
            .config
            .service
            .schedules
            .group_of(&source.id)
            .map_or("collect".to_string(), |g| format!("collect:{}", g.name));
        outln!(
            out,
            "{:<28} {:<17} {:<16} {:<20} {:>5} {:>6}  {:<7} {}",
            source.id,
            source.kind.name(),
            schedule,
            h.and_then(|h| h.last_success)
                .map_or("never".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            h.map_or(0, |h| h.consecutive_failures),
            h.map_or(0, |h| h.items_last_pass),
            state,
            h.and_then(|h| h.last_error.clone()).unwrap_or_default(),
        );
    }
    Ok(attention(broken))
}

async fn calls(app: &App, command: CallsCommand, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    match command {
        CallsCommand::List {
            source,
            all,
            search,
            limit,
        } => list_calls(app, source, all, search.as_deref(), limit, out).await?,
        CallsCommand::Show { call, format } => show_call(app, &call, format, out).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn list_calls(
    app: &App,
    source: Option<String>,
    all: bool,
    search: Option<&str>,
    limit: Option<u32>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<()> {
    let today = app.today();
    let filter = CallFilter {
        source,
        open_on: (!all).then_some(today),
        ..CallFilter::default()
    };
    let needle = search.map(crate::model::text::fold);
    let mut calls: Vec<_> = app
        .store
        .list_calls(&filter)
        .await?
        .into_iter()
        .filter(|call| needle.as_deref().is_none_or(|n| call_mentions(call, n)))
        .collect();
    // The next Frist first; calls without a dated Frist (rolling, unknown, past) last.
    calls.sort_by_key(|call| (call.deadline.next_date(today).is_none(), call.deadline.next_date(today)));
    calls.truncate(limit.map_or(usize::MAX, |l| l as usize));
    if calls.is_empty() {
        outln!(
            out,
            "calls: none {}",
            if all {
                "stored"
            } else {
                "open (--all shows closed calls too)"
            }
        );
        return Ok(());
    }
    outln!(out, "{:<16}  {:<10}  {:<22}  title", "id", "next Frist", "source");
    for call in &calls {
        if out.is_closed() {
            break;
        }
        outln!(
            out,
            "{}  {:<10}  {:<22}  {}",
            call.id,
            call.deadline.next_date(today).map_or_else(
                || crate::model::german::format_deadline(&call.deadline),
                crate::model::german::format_date_de
            ),
            call.source,
            call.title
        );
    }
    Ok(())
}

/// Whether the folded `needle` occurs in the call's title, funder, summary or external id.
fn call_mentions(call: &crate::model::Call, needle: &str) -> bool {
    use crate::model::text::fold;
    [
        Some(call.title.as_str()),
        call.funder.as_deref(),
        Some(call.summary.as_str()),
        call.external_id.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|field| fold(field).contains(needle))
}

async fn show_call(app: &App, id: &str, format: StatusFormat, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    let call = find_call(app, id).await?;
    let versions = app.store.call_versions(&call.id).await?;
    let changes: Vec<_> = app
        .store
        .changes_since(call.first_seen)
        .await?
        .into_iter()
        .filter(|e| e.call_id == call.id)
        .collect();
    if format == StatusFormat::Json {
        let document = serde_json::json!({
            "call": call,
            "versions": versions.iter().map(|(at, version)| serde_json::json!({
                "recorded_at": at, "fingerprint": version.fingerprint, "call": version,
            })).collect::<Vec<_>>(),
            "changes": changes.iter().map(|e| serde_json::json!({
                "at": e.at, "field": e.change.field.label_de(), "old": e.change.old, "new": e.change.new,
            })).collect::<Vec<_>>(),
        });
        outln!(out, "{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    outln!(out, "{}\n", call.title);
    let field = |name: &str, value: &str| format!("{name:<12} {value}");
    outln!(out, "{}", field("id", call.id.as_str()));
    outln!(out, "{}", field("url", &call.url));
    outln!(out, "{}", field("source", &call.source.to_string()));
    outln!(out, "{}", field("funder", call.funder.as_deref().unwrap_or("-")));
    outln!(
        out,
        "{}",
        field("Frist", &crate::model::german::format_deadline(&call.deadline))
    );
    outln!(out, "{}", field("status", &format!("{:?}", call.status).to_lowercase()));
    let seen = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    outln!(out, "{}", field("first seen", &seen(call.first_seen)));
    outln!(out, "{}", field("last seen", &seen(call.last_seen)));
    if !call.summary.is_empty() {
        outln!(out, "\n{}", call.summary);
    }
    if !call.text.is_empty() && call.text != call.summary {
        outln!(out, "\n{}", call.text);
    }
    outln!(out, "\nversions:");
    for (at, version) in &versions {
        outln!(
            out,
            "  {}  fingerprint {}",
            seen(*at),
            &version.fingerprint[..12.min(version.fingerprint.len())]
        );
    }
    if !changes.is_empty() {
        outln!(out, "changes:");
    }
    for event in &changes {
        outln!(
            out,
            "  {}  {}: {} → {}",
            seen(event.at),
            event.change.field.label_de(),
            event.change.old,
            event.change.new
        );
    }
    Ok(())
}

async fn status(app: &App, format: StatusFormat, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let status = crate::status::gather(&app.store, &app.config, Utc::now()).await?;
    match format {
        StatusFormat::Text => outln!(out, "{status}"),
        StatusFormat::Json => outln!(out, "{}", serde_json::to_string_pretty(&status)?),
    }
    Ok(attention(status.needs_attention()))
}

/// Copies `<data>/foerderradar.sqlite` into the empty PostgreSQL store at `to`, holding
/// the data lock so that no daemon writes to the SQLite store meanwhile.
async fn migrate_store(
    config: &Config,
    data_dir: &Path,
    to: &str,
    password_env: Option<&str>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<ExitCode> {
    use crate::store::StoreSettings;
    let url = url::Url::parse(to).with_context(|| format!("--to '{to}' is not a URL"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") || url.password().is_some() {
        bail!("--to must be postgres://user@host:port/database, without a password (give it with --password-env)");
    }
    let password_env = password_env
        .map(str::to_string)
        .or_else(|| config.service.store.as_ref().and_then(|s| s.password_env.clone()));
    let settings = StoreSettings { url, password_env };
    let file = data_dir.join(crate::store::SQLITE_FILE);
    if !file.exists() {
        bail!("no SQLite store at {} to copy (check --data)", file.display());
    }
    let _lock = crate::daemon::acquire_lock(data_dir)?;
    let counts = crate::store::copy::sqlite_file_to_postgres(&file, &settings).await?;
    outln!(out, "{:<18} {:>9} {:>10}", "table", "sqlite", "postgres");
    for c in &counts {
        let mark = if c.matches() { "" } else { "  MISMATCH" };
        outln!(out, "{:<18} {:>9} {:>10}{mark}", c.table, c.sqlite, c.postgres);
    }
    if counts.iter().all(|c| c.matches()) {
        outln!(
            out,
            "migrate-store: copied {} into {}; set [store] url to it and start the daemon",
            file.display(),
            settings.url
        );
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(out, "migrate-store: the counts differ; keep running on SQLite");
        Ok(ExitCode::from(1))
    }
}

/// No data lock: a backup is a read snapshot and must work while the daemon runs.
async fn backup(app: &App, file: &Path, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    app.store.backup_into(file).await?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    outln!(out, "backup: wrote {} ({} bytes)", file.display(), size);
    Ok(ExitCode::SUCCESS)
}

async fn outbox(app: &App, status: Option<OutboxStatusArg>, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let status = status.map(|s| match s {
        OutboxStatusArg::Pending => OutboxStatus::Pending,
        OutboxStatusArg::Sent => OutboxStatus::Sent,
        OutboxStatusArg::Failed => OutboxStatus::Failed,
    });
    let mails = app.store.outbox(status).await?;
    if mails.is_empty() {
        let which = status.map_or(String::new(), |s| format!("{} ", s.as_str()));
        outln!(out, "outbox: no {which}mails");
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        out,
        "{:>5}  {:<8} {:<10} {:<17} {:<17} {:<40} subject (times UTC)",
        "id",
        "status",
        "attempts",
        "created",
        "sent / next try",
        "to"
    );
    let time = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    for mail in mails {
        let when = match (mail.status, mail.sent) {
            (_, Some(sent)) => time(sent),
            (OutboxStatus::Pending, None) => time(mail.next_attempt),
            _ => "-".into(),
        };
        outln!(
            out,
            "{:>5}  {:<8} {:<10} {:<17} {:<17} {:<40} {}{}",
            mail.id,
            mail.status.as_str(),
            attempts(mail.attempts),
            time(mail.created),
            when,
            mail.contact,
            mail.subject,
            mail.last_error.map(|e| format!("  ({e})")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// "1 attempt", "2 attempts".
fn attempts(n: u32) -> String {
    format!("{n} {}", if n == 1 { "attempt" } else { "attempts" })
}

/// Command output (stdout). When the reader goes away (`calls list | head -1`), the rest of the
/// output is dropped quietly, like ripgrep does, and the command still finishes its work and
/// exits with its own code: a closed pipe is the reader's choice, not a failure, and must never
/// abort a pass half way (the admin notice after a collect is still sent).
pub struct Out<W: Write> {
    writer: W,
    closed: bool,
}

impl<W: Write> Out<W> {
    pub fn new(writer: W) -> Out<W> {
        Out { writer, closed: false }
    }

    /// Writes `args` and a newline. Errors other than a broken pipe are returned.
    pub fn line(&mut self, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let written = self.writer.write_fmt(args).and_then(|()| self.writer.write_all(b"\n"));
        self.settle(written)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.writer.flush();
        self.settle(flushed)
    }

    /// True once the reader has gone away: long listings may stop early.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn settle(&mut self, result: std::io::Result<()>) -> std::io::Result<()> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails like a pipe whose reader has gone.
    struct ClosingPipe {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for ClosingPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.written.len() >= self.room {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room - self.written.len());
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_output_quietly_but_other_errors_count() {
        let mut out = Out::new(ClosingPipe {
            room: 8,
            written: Vec::new(),
        });
        out.line(format_args!("erste Zeile")).unwrap();
        assert!(out.is_closed());
        out.line(format_args!("zweite Zeile")).unwrap();
        out.flush().unwrap();
        assert_eq!(out.writer.written, b"erste Ze");

        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = Out::new(Full);
        assert!(out.line(format_args!("x")).is_err());
        assert!(!out.is_closed());
    }

    #[test]
    fn preview_weeks_out_of_range_is_a_usage_error_not_a_panic() {
        let parse = |weeks: &str| Cli::try_parse_from(["foerderradar", "preview", "--config", "new", "--weeks", weeks]);
        assert!(parse("99999999999999").is_err());
        assert!(parse("-1").is_err());
        assert!(matches!(
            parse("12").unwrap().command,
            Command::Preview { weeks: 12, .. }
        ));
    }

    fn report_args(args: &[&str]) -> ReportArgs {
        let cli = Cli::try_parse_from(["foerderradar", "report"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Report(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn report_format_is_md_at_a_terminal_and_json_elsewhere_unless_given() {
        assert_eq!(report_args(&[]).format(true), ReportFormat::Markdown);
        assert_eq!(report_args(&[]).format(false), ReportFormat::Json);
        assert_eq!(report_args(&["--format", "html"]).format(true), ReportFormat::Html);
        assert_eq!(report_args(&["-o", "fristen.ics"]).format(true), ReportFormat::Ics);
        assert_eq!(report_args(&["-o", "liste.CSV"]).format(true), ReportFormat::Csv);
        assert_eq!(report_args(&["-o", "bericht.txt"]).format(true), ReportFormat::Json);
        assert_eq!(
            report_args(&["-o", "bericht.ics", "--format", "md"]).format(false),
            ReportFormat::Markdown
        );
    }
}
