//! Thin entry point: parse, set up logging, run, map the outcome to an exit code.
//! Exit codes (documented in `foerderradar --help` and the README):
//! 0 success, 1 finished but needs attention, 2 could not run.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::prelude::*;

use foerderradar::cli::{self, Cli, Command};

/// How long the runtime may wait for leftover background work (a cancelled job's
/// blocking tasks) after the command returned; the process must not hang on it.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The long-running commands log at info: their log is their only output.
    let daemon = matches!(cli.command, Command::Run { once: false } | Command::Serve { .. });
    init_logging(cli.verbose, cli.log_json, daemon, cli.timings);
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(cli::run(cli));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // A closed stderr must not turn the error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// glibc gives every thread that allocates its own malloc arena (up to 8 per core) and
/// keeps freed memory in them, so a process whose work moves between threads (the runtime's
/// workers, one thread per SQLite connection) grows its RSS by arenas, not by data: the web
/// bench (3,000 calls, `GET /report`) peaks at 67 MB with the default and at 36 MB with two
/// arenas, at the same latency.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The daemon's log is its only output: it logs at info. A one-shot command prints its own
/// summary, so at default verbosity it logs warnings only, and not those its output repeats.
/// `--timings` adds the per-stage events (the table on stderr, or JSON with `--log-json`).
fn init_logging(verbose: u8, json: bool, daemon: bool, timings: bool) {
    let default = match verbose {
        0 if daemon => "foerderradar=info,warn",
        0 => "warn",
        1 => "foerderradar=debug,info",
        _ => "trace",
    };
    let quiet_repeats = verbose == 0 && !daemon;
    let default = if timings {
        format!("{default},foerderradar::app::stats=info")
    } else {
        default.to_string()
    };
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref(), &default);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry().with(filter).with(filter_fn(move |meta| {
        let repeated = quiet_repeats && is_printed_failure(meta);
        !(is_lettre_chatter(meta) || repeated)
    }));
    if json {
        registry.with(layer.json()).init();
    } else {
        registry.with(layer.compact()).init();
    }
}

/// `RUST_LOG` as a list of `target=level` directives and a default level (`warn`,
/// `foerderradar=debug,info`); unset, empty or unreadable, the verbosity's default applies
/// (an empty list would otherwise switch off every log line, errors included).
/// `Targets` rather than `EnvFilter`: the latter's span and field filters need
/// `regex-automata`'s DFA builder, and that feature then makes every regex of the program
/// build full DFAs too (about 1 % of a pass with few changes went into building them).
fn log_filter(rust_log: Option<&str>, default: &str) -> Targets {
    rust_log
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| default.parse().expect("the built-in log defaults parse"))
}

/// The warnings about a failed source and the requests that broke it, which `collect`
/// and `run --once` print in their summary; told apart by their log target.
fn is_printed_failure(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::WARN && meta.target() == foerderradar::collect::REPEATED_IN_SUMMARY
}

/// lettre traces the SMTP dialogue at debug level, the AUTH line with the base64
/// credentials included, and warns about its pool whenever a transport is dropped.
/// Delivery failures reach the log through our own messages, so lettre is capped at
/// errors at every verbosity, `RUST_LOG` included: no level may write a credential.
fn is_lettre_chatter(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    let is_lettre = target == "lettre" || target.starts_with("lettre::");
    is_lettre && *meta.level() > Level::ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let filter = log_filter(Some("foerderradar::collect=debug,info"), "warn");
        assert!(filter.would_enable("foerderradar::collect::http", &Level::DEBUG));
        assert!(!filter.would_enable("foerderradar::collect::http", &Level::TRACE));
        assert!(filter.would_enable("sqlx::query", &Level::INFO));
        assert!(!filter.would_enable("sqlx::query", &Level::DEBUG));
    }

    #[test]
    fn without_a_readable_rust_log_the_default_applies() {
        for rust_log in [
            None,
            Some(""),
            Some(" "),
            Some("foerderradar=loud"),
            Some("[span{field=1}]=debug"),
        ] {
            let filter = log_filter(rust_log, "warn");
            assert!(filter.would_enable("foerderradar", &Level::WARN), "{rust_log:?}");
            assert!(!filter.would_enable("foerderradar", &Level::INFO), "{rust_log:?}");
        }
    }
}
