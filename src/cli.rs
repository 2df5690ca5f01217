//! Command-line interface. `main.rs` only parses and maps the result to an exit code.
//!
//! Exit codes:
//! - 0: success;
//! - 1: finished, but something needs attention: a source failed, a mail waits
//!   for a retry or was given up, `eval` fell below `--min-f1`, `check` found an error;
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
use crate::notify::{FailedMail, Templates};
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

/// foerderradar: finds funding calls for the Smart Region Kreis Warendorf and mails each Kommune what concerns it.
#[derive(Debug, Parser)]
#[command(
    name = "foerderradar",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 1 finished, but something needs attention (a source failed, \
                  a mail waits for a retry or was given up, eval below --min-f1, check found errors, \
                  a broken source); 2 could not run (bad arguments, unreadable config, database error)."
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
    /// Evaluate the rules against a labelled set (TOML, CSV or JSON).
    Eval {
        file: PathBuf,
        /// Exit 1 when micro-F1 falls below this value.
        #[arg(long, value_name = "F1")]
        min_f1: Option<f64>,
    },
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
    /// Mails in the outbox.
    Outbox {
        #[arg(long, value_enum)]
        status: Option<OutboxStatusArg>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CallsCommand {
    /// List stored calls.
    List {
        #[arg(long)]
        source: Option<String>,
        /// Only calls still open on the evaluation day.
        #[arg(long)]
        open: bool,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One call with its versions and recorded changes.
    Show { call: String },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, default_value = "json")]
    pub format: ReportFormat,
    /// Every stored call, not only open calls with a match.
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub kommune: Option<String>,
    #[arg(long)]
    pub project: Option<String>,
    #[arg(long)]
    pub handlungsfeld: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
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
    let config = load_config(&cli.config)?;
    if let Command::Eval { file, min_f1 } = &cli.command {
        return run_eval(&cli, config, file, *min_f1, out).await;
    }
    let data_dir = data_dir(&cli, &config);
    let app = App::open(config, &data_dir, cli.today).await?;
    if let Command::Run { once: false } = cli.command {
        // The daemon logs each job's stages itself.
        return crate::daemon::run(app, cli.config.clone()).await;
    }
    let show_timings = cli.timings || cli.verbose > 0;
    let log_json = cli.log_json;
    let code = match cli.command {
        Command::Collect { sources } => collect(&app, &sources, out).await,
        Command::Match { all } => run_match(&app, all, out).await,
        Command::Notify { dry_run: false } => notify(&app, out).await,
        Command::Notify { dry_run: true } => notify_dry_run(&app, out).await,
        Command::Run { once: true } => run_once(&app, out).await,
        Command::Report(args) => report(&app, &args, out).await,
        Command::Explain { call, project, kommune } => {
            explain(&app, &call, project.as_deref(), kommune.as_deref(), out).await
        }
        Command::Preview { proposed, weeks } => run_preview(&app, &proposed, weeks, out).await,
        Command::Sources => sources(&app, out).await,
        Command::Calls { command } => calls(&app, command, out).await,
        Command::Outbox { status } => outbox(&app, status, out).await,
        Command::Check | Command::Eval { .. } | Command::Run { once: false } => unreachable!("handled above"),
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
    Config::load(dir).map_err(|errors| anyhow::anyhow!("invalid config in {}:\n{errors}", dir.display()))
}

fn data_dir(cli: &Cli, config: &Config) -> PathBuf {
    cli.data
        .clone()
        .or_else(|| config.service.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn check(dir: &Path, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
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
    let _lock = crate::daemon::acquire_lock(&app.data_dir)?;
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
    let _lock = crate::daemon::acquire_lock(&app.data_dir)?;
    let summary = if all {
        app.match_all_calls().await?
    } else {
        app.match_calls().await?
    };
    outln!(out, "{summary}");
    Ok(ExitCode::SUCCESS)
}

async fn notify(app: &App, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let _lock = crate::daemon::acquire_lock(&app.data_dir)?;
    let (plan, delivery) = app.notify().await?;
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
            "  given up: #{} {} after {} attempt(s): {}",
            m.id,
            m.contact,
            m.attempts,
            m.error
        );
    }
    Ok(())
}

async fn notify_dry_run(app: &App, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let templates = crate::notify::Templates::load(&app.config.dir)?;
    let preview = crate::notify::preview(&app.store, &app.config, &templates, app.today(), Utc::now()).await?;
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

async fn run_once(app: &App, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let _lock = crate::daemon::acquire_lock(&app.data_dir)?;
    let summary = app.pass().await?;
    outln!(out, "{summary}");
    Ok(attention(summary.has_problems()))
}

async fn report(app: &App, args: &ReportArgs, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let query = ReportQuery {
        as_of: app.today(),
        all: args.all,
        kommune: args.kommune.clone(),
        project: args.project.clone(),
        handlungsfeld: args.handlungsfeld.clone(),
    };
    let built = report::build(&app.store, &app.config, &query).await?;
    let text = report::render_with_overrides(&built, args.format, &app.config.dir)?;
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => outln!(out, "{text}"),
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
    outln!(out, "{}", app.matcher.explain(&call, app.today(), project, kommune));
    Ok(ExitCode::SUCCESS)
}

async fn run_eval(
    cli: &Cli,
    config: Config,
    file: &Path,
    min_f1: Option<f64>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<ExitCode> {
    let matcher = Matcher::new(&config)?;
    let set = eval::load_labelled(file)?;
    let today = cli.today.unwrap_or_else(|| Utc::now().date_naive());
    let mut items = set.inline();
    let stored: Vec<_> = set.stored().collect();
    if !stored.is_empty() {
        // Only sets that name stored calls need the store.
        let data = data_dir(cli, &config);
        let app = App::open(config, &data, cli.today).await?;
        for (id, expected) in stored {
            let call = app
                .store
                .get_call(id)
                .await?
                .with_context(|| format!("{}: no stored call '{id}'", file.display()))?;
            items.push((call, expected.clone()));
        }
    }
    let result = eval::evaluate(&matcher, &items, today);
    outln!(out, "{result}");
    Ok(attention(min_f1.is_some_and(|min| result.micro_all().f1() < min)))
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
    let result = preview::compare(
        (&app.config, &app.matcher),
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
        "{:<28} {:<17} {:<20} {:>5} {:>6}  {:<7} last error",
        "source",
        "kind",
        "last success",
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
        outln!(
            out,
            "{:<28} {:<17} {:<20} {:>5} {:>6}  {:<7} {}",
            source.id,
            source.kind.name(),
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
        CallsCommand::List { source, open, limit } => {
            let filter = CallFilter {
                source,
                open_on: open.then(|| app.today()),
                limit,
                ..CallFilter::default()
            };
            for call in app.store.list_calls(&filter).await? {
                if out.is_closed() {
                    break;
                }
                outln!(
                    out,
                    "{}  {:<10}  {:<22}  {}",
                    call.id,
                    call.deadline.next_date(app.today()).map_or_else(
                        || crate::model::german::format_deadline(&call.deadline),
                        crate::model::german::format_date_de
                    ),
                    call.source,
                    call.title
                );
            }
        }
        CallsCommand::Show { call } => {
            let call = find_call(app, &call).await?;
            outln!(out, "{}", serde_json::to_string_pretty(&call)?);
            for (at, version) in app.store.call_versions(&call.id).await? {
                outln!(
                    out,
                    "version {}  fingerprint {}",
                    at.format("%Y-%m-%d %H:%M"),
                    &version.fingerprint[..12.min(version.fingerprint.len())]
                );
            }
            let changes = app.store.changes_since(call.first_seen).await?;
            for event in changes.iter().filter(|e| e.call_id == call.id) {
                outln!(
                    out,
                    "{}  {}: {} → {}",
                    event.at.format("%Y-%m-%d %H:%M"),
                    event.change.field.label_de(),
                    event.change.old,
                    event.change.new
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn outbox(app: &App, status: Option<OutboxStatusArg>, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let status = status.map(|s| match s {
        OutboxStatusArg::Pending => OutboxStatus::Pending,
        OutboxStatusArg::Sent => OutboxStatus::Sent,
        OutboxStatusArg::Failed => OutboxStatus::Failed,
    });
    for mail in app.store.outbox(status).await? {
        outln!(
            out,
            "{:>5}  {:<8} {:>2} attempts  {:<40} {}{}",
            mail.id,
            format!("{:?}", mail.status).to_lowercase(),
            mail.attempts,
            mail.contact,
            mail.subject,
            mail.last_error.map(|e| format!("  ({e})")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
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
}
