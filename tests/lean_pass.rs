//! Issue 12, a lean pass: what each stage costs is visible (`--timings`), and a pass
//! does only what changed. Nothing here times anything; the numbers are only checked
//! for presence and for work that must not happen at all.


use crate::pass::{fixture_server, foerderradar, write_config};

/// An SMTP port that accepts nothing: delivery fails and retries later, which these tests don't look at.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
    (tmp, config, data)
}

/// The table row of a stage: its numeric columns.
fn row(stderr: &str, stage: &str) -> Vec<f64> {
    let line = stderr
        .lines()
        .find(|l| l.split_whitespace().next() == Some(stage))
        .unwrap_or_else(|| panic!("no row for {stage} in:\n{stderr}"));
    line.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_once_with_timings_shows_every_stage() {
    let server = fixture_server().await;
    let (_tmp, config, data) = setup();
    write_config(&config, &server.uri(), closed_port());

    let out = foerderradar(&config, &data, &["run", "--once", "--timings"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let header = stderr.lines().find(|l| l.starts_with("stage")).expect("table header");
    for column in ["wall", "cpu", "peak", "calls", "sql"] {
        assert!(header.contains(column), "{header}");
    }
    for stage in ["collect", "match", "plan", "deliver"] {
        let cols = row(&stderr, stage);
        assert_eq!(cols.len(), 7, "{stage}: {stderr}");
        assert!(cols[2] > 0.0, "{stage}: peak memory shown: {stderr}");
        assert!(cols[6] > 0.0, "{stage}: SQL statements counted: {stderr}");
    }
    let collect = row(&stderr, "collect");
    assert!(collect[5] >= 6.0, "six calls stored: {stderr}");
    assert!(row(&stderr, "match")[4] >= 6.0, "six calls read for matching: {stderr}");

    // Without the flag, no table.
    let plain = foerderradar(&config, &data, &["run", "--once"]);
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("calls rd"));
}

#[tokio::test(flavor = "multi_thread")]
async fn log_json_with_timings_logs_one_event_per_stage() {
    let server = fixture_server().await;
    let (_tmp, config, data) = setup();
    write_config(&config, &server.uri(), closed_port());

    let out = foerderradar(&config, &data, &["--log-json", "--timings", "run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["fields"]["message"] == "stage finished")
        .collect();
    let stages: Vec<&str> = events.iter().map(|e| e["fields"]["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["collect", "match", "plan", "deliver"], "{stderr}");
    for e in &events {
        for field in ["wall_ms", "cpu_ms", "peak_rss_kib", "calls_read", "calls_written", "sql_statements"] {
            assert!(e["fields"][field].is_number(), "{field} in {e}");
        }
    }
}

