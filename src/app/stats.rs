//! What each pipeline stage cost: wall and CPU time, memory, calls read and written,
//! SQL statements. Shown by `--timings` (or `-v`) and logged per daemon job.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::store::StoreCounters;

/// A pipeline stage, as named in the timings table and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Collect,
    Match,
    /// Digest planning: pending matches → rendered mails in the outbox.
    Plan,
    /// Sending the due outbox.
    Deliver,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Collect => "collect",
            Stage::Match => "match",
            Stage::Plan => "plan",
            Stage::Deliver => "deliver",
        }
    }
}

/// The cost of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStats {
    pub stage: Stage,
    pub wall: Duration,
    /// User + system CPU time of the whole process (all threads) during the stage.
    pub cpu: Duration,
    /// Peak resident memory of the process so far (VmHWM), after the stage, in KiB.
    pub peak_rss_kib: u64,
    /// Resident memory after the stage minus before, in KiB (negative: memory returned).
    pub rss_delta_kib: i64,
    pub calls_read: u64,
    pub calls_written: u64,
    pub sql_statements: u64,
}

impl StageStats {
    /// One log event per stage (JSON fields with `--log-json`).
    pub fn log(&self) {
        tracing::info!(
            stage = self.stage.as_str(),
            wall_ms = millis(self.wall),
            cpu_ms = millis(self.cpu),
            peak_rss_kib = self.peak_rss_kib,
            rss_delta_kib = self.rss_delta_kib,
            calls_read = self.calls_read,
            calls_written = self.calls_written,
            sql_statements = self.sql_statements,
            "stage finished"
        );
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Started before a stage, finished after it.
pub struct Meter {
    stage: Stage,
    wall: Instant,
    cpu: Duration,
    rss_kib: u64,
    counters: StoreCounters,
}

impl Meter {
    pub fn start(stage: Stage) -> Meter {
        Meter {
            stage,
            wall: Instant::now(),
            cpu: process_cpu(),
            rss_kib: memory().rss_kib,
            counters: StoreCounters::snapshot(),
        }
    }

    pub fn finish(self) -> StageStats {
        let memory = memory();
        let store = StoreCounters::snapshot().since(self.counters);
        StageStats {
            stage: self.stage,
            wall: self.wall.elapsed(),
            cpu: process_cpu().saturating_sub(self.cpu),
            peak_rss_kib: memory.peak_kib,
            rss_delta_kib: memory.rss_kib as i64 - self.rss_kib as i64,
            calls_read: store.calls_read,
            calls_written: store.calls_written,
            sql_statements: store.statements,
        }
    }
}

/// User + system time of this process, all threads (`getrusage(RUSAGE_SELF)`).
fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_SELF is a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

/// Current and peak resident memory from `/proc/self/status`; zero where there is none.
fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
    }
}

/// The stages of a pass as a table, for stderr.
pub struct StatsTable<'a>(pub &'a [StageStats]);

impl fmt::Display for StatsTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}",
            "stage", "wall ms", "cpu ms", "peak MiB", "Δrss MiB", "calls rd", "calls wr", "sql"
        )?;
        for s in self.0 {
            writeln!(
                f,
                "{:<8} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10} {:>10} {:>8}",
                s.stage.as_str(),
                millis(s.wall),
                millis(s.cpu),
                s.peak_rss_kib as f64 / 1024.0,
                s.rss_delta_kib as f64 / 1024.0,
                s.calls_read,
                s.calls_written,
                s.sql_statements
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_that_reads_and_writes_shows_its_work() {
        let meter = Meter::start(Stage::Match);
        // Burn some CPU and allocate, so that the counters have something to show.
        let data: Vec<u64> = (0..200_000u64).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        std::hint::black_box(data.iter().fold(0u64, |a, b| a.wrapping_add(*b)));
        let stats = meter.finish();
        assert_eq!(stats.stage, Stage::Match);
        assert!(stats.peak_rss_kib > 0, "VmHWM read from /proc/self/status");
        let table = StatsTable(std::slice::from_ref(&stats)).to_string();
        assert!(table.lines().nth(1).unwrap().starts_with("match "), "{table}");
        assert!(table.contains("sql"), "{table}");
    }
}
