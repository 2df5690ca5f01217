//! CLI output through the binary: `calls list` (header, Frist order, open only, search),
//! `calls show --format`, `outbox` (empty, times, "1 attempt"), `sources` times in UTC,
//! `eval --min-f1` naming the figure, no log line repeating the output, a missing file
//! named once.

use std::path::Path;

use assert_cmd::Command;

use crate::pass::{fixture_server, foerderradar, write_config};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A collected deployment (its notify fails: no SMTP server listens).
async fn collected() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    std::process::Output,
) {
    let server = fixture_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    write_config(&config, &server.uri(), closed_port());
    let collect = foerderradar(&config, &data, &["collect"]);
    (dir, config, data, collect)
}

/// The dates (dd.mm.yyyy) in the Frist column of `calls list`.
fn listed_dates(listing: &str) -> Vec<chrono::NaiveDate> {
    listing
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|d| chrono::NaiveDate::parse_from_str(d, "%d.%m.%Y").ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_list_has_a_header_sorts_by_frist_shows_open_calls_and_searches() {
    let (_dir, config, data, _) = collected().await;
    let open = text(&foerderradar(&config, &data, &["calls", "list"]).stdout);
    let header = open.lines().next().unwrap();
    assert!(
        header.starts_with("id") && header.contains("next Frist") && header.contains("title"),
        "{open}"
    );
    assert!(!open.contains("abgelaufen"), "closed calls only with --all: {open}");
    let dates = listed_dates(&open);
    assert!(dates.len() >= 4, "{open}");
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "sorted by Frist: {open}");
    assert!(
        open.lines().nth(1).unwrap().contains("LEADER"),
        "28.02.2027 comes first: {open}"
    );

    let all = text(&foerderradar(&config, &data, &["calls", "list", "--all"]).stdout);
    assert!(
        all.contains("Interreg: Grenzüberschreitende Radverkehrsnetze (abgelaufen)"),
        "{all}"
    );
    assert_eq!(all.lines().count(), open.lines().count() + 1);

    // Case and umlaut spelling do not matter; funder and summary are searched too.
    let found = text(&foerderradar(&config, &data, &["calls", "list", "--search", "DORFLAEDEN"]).stdout);
    assert_eq!(found.lines().count(), 2, "{found}");
    assert!(found.contains("LEADER-Projektaufruf 2027"), "{found}");
    let by_summary = text(&foerderradar(&config, &data, &["calls", "list", "--search", "unterversorgten"]).stdout);
    assert!(by_summary.contains("Gigabitförderung"), "{by_summary}");
    let none = foerderradar(&config, &data, &["calls", "list", "--search", "Raumfahrt"]);
    assert_eq!(none.status.code(), Some(0));
    assert!(
        text(&none.stdout).starts_with("calls: none open"),
        "{}",
        text(&none.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_show_prints_text_or_one_json_document_with_the_versions() {
    let (_dir, config, data, _) = collected().await;
    let listing = text(&foerderradar(&config, &data, &["calls", "list", "--search", "Radwege"]).stdout);
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let shown = text(&foerderradar(&config, &data, &["calls", "show", &id]).stdout);
    assert!(shown.starts_with("Kommunale Radwege"), "{shown}");
    assert!(shown.contains("versions:") && shown.contains("UTC"), "{shown}");
    assert!(!shown.trim_start().starts_with('{'), "text is the default: {shown}");

    let out = foerderradar(&config, &data, &["calls", "show", &id, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", text(&out.stdout)));
    assert_eq!(doc["call"]["id"], id.as_str());
    let versions = doc["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["call"]["title"], doc["call"]["title"]);
    assert!(versions[0]["recorded_at"].is_string() && versions[0]["fingerprint"].is_string());
    assert!(doc["changes"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn outbox_says_when_it_is_empty_shows_times_and_counts_attempts_in_words() {
    let (_dir, config, data, _) = collected().await;
    // The collect queued an admin notice about nothing yet: no source is broken after one pass.
    let empty = foerderradar(&config, &data, &["outbox"]);
    assert_eq!(text(&empty.stdout).trim(), "outbox: no mails");
    assert_eq!(
        text(&foerderradar(&config, &data, &["outbox", "--status", "sent"]).stdout).trim(),
        "outbox: no sent mails"
    );

    foerderradar(&config, &data, &["match"]);
    foerderradar(&config, &data, &["notify"]);
    let listed = text(&foerderradar(&config, &data, &["outbox"]).stdout);
    let header = listed.lines().next().unwrap();
    assert!(header.contains("created") && header.contains("UTC"), "{listed}");
    let mail = listed.lines().nth(1).unwrap();
    assert!(
        mail.contains("pending") && mail.contains("1 attempt ") && !mail.contains("1 attempts"),
        "{listed}"
    );
    let created = mail.split_whitespace().nth(4).unwrap();
    assert!(
        chrono::NaiveDate::parse_from_str(created, "%Y-%m-%d").is_ok(),
        "a creation time: {mail}"
    );
    // retry_base_secs = 1 in the test config: the retry is due a second later.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    foerderradar(&config, &data, &["notify"]);
    let again = text(&foerderradar(&config, &data, &["outbox"]).stdout);
    assert!(again.lines().nth(1).unwrap().contains("2 attempts"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_says_utc_and_collect_logs_no_line_its_output_repeats() {
    let (_dir, config, data, collect) = collected().await;
    let printed = text(&collect.stdout);
    let logged = text(&collect.stderr);
    let failed: Vec<&str> = printed.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 2, "{printed}");
    for line in failed {
        let source = line.split_whitespace().nth(1).unwrap();
        assert!(
            !logged.lines().any(|l| l.contains(&format!("{source}."))),
            "the log repeats the failure of {source}:\n{logged}"
        );
    }
    assert!(
        !logged.contains("source failed") && !logged.contains("fetch failed"),
        "{logged}"
    );
    let sources = text(&foerderradar(&config, &data, &["sources"]).stdout);
    assert!(
        sources.lines().next().unwrap().contains("last success (UTC)"),
        "{sources}"
    );
}

#[test]
fn eval_reports_each_part_and_names_the_part_below_a_floor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::cargo_bin("foerderradar")
        .unwrap()
        .current_dir(root)
        .args([
            "--today",
            "2026-12-01",
            "eval",
            "tests/fixtures/labelled",
            "tests/fixtures/devset/60-holdout.toml",
            "--brief",
            "--min-hf-precision",
            "0.999",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    for part in [
        "== Teil tests/fixtures/labelled/measured ==",
        "== Teil tests/fixtures/labelled/tune ==",
        "== Teil tests/fixtures/devset/60-holdout.toml ==",
        "== Übersicht (Handlungsfeld-Paare) ==",
        "Kommune antragsberechtigt",
        "abgelaufen",
    ] {
        assert!(stdout.contains(part), "{part} missing:\n{stdout}");
    }
    assert!(!stdout.contains("Falsch positiv"), "--brief lists no misses");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("eval: tests/fixtures/labelled/measured: precision over (call, Handlungsfeld) pairs")
            && stderr.contains("below the floor --min-hf-precision 0.999"),
        "{stderr}"
    );
    let bad = Command::cargo_bin("foerderradar")
        .unwrap()
        .current_dir(root)
        .args(["eval", "tests/fixtures/devset", "--min-hf-f1", "1.5"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("'1.5' is outside 0..=1"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn eval_names_the_figure_below_the_floor_and_a_missing_file_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let eval = |floor: &str| {
        Command::cargo_bin("foerderradar")
            .unwrap()
            .current_dir(root)
            .args(["eval", "tests/fixtures/devset", "--min-f1", floor])
            .output()
            .unwrap()
    };
    let low = eval("0.1");
    assert_eq!(low.status.code(), Some(0), "{}", text(&low.stderr));
    let high = eval("0.999");
    assert_eq!(high.status.code(), Some(1));
    let err = text(&high.stderr);
    assert!(
        err.contains("micro-F1") && err.contains("below the floor --min-f1 0.999"),
        "{err}"
    );

    let missing = Command::cargo_bin("foerderradar")
        .unwrap()
        .current_dir(root)
        .args(["eval", "/no/such/labels.toml"])
        .output()
        .unwrap();
    let err = text(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("/no/such/labels.toml"), "{err}");

    let no_config = Command::cargo_bin("foerderradar")
        .unwrap()
        .args(["--config", "/no/such/dir", "sources"])
        .output()
        .unwrap();
    let err = text(&no_config.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("config directory /no/such/dir does not exist"), "{err}");
}

/// `eval --feedback`: stored "passt" / "passt nicht" become labels for the rules as they are now.
#[test]
fn eval_feedback_measures_the_rules_on_what_recipients_said() {
    use foerderradar::matching::eval::load_labelled;
    use foerderradar::store::{SqliteStore, Store};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = tempfile::tempdir().unwrap();
    let devset = load_labelled(&root.join("tests/fixtures/devset")).unwrap().inline();
    let id_of = |title: &str| {
        let (call, _) = devset.iter().find(|(c, _)| c.title.starts_with(title)).unwrap();
        (call.clone(), call.id.to_string())
    };
    let (gigabit, gigabit_id) = id_of("Gigabitförderung 2.0");
    let (sport, sport_id) = id_of("Investitionsprogramm Sportstätten");
    let (kmu, kmu_id) = id_of("go-digital");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqliteStore::open(&data.path().join("foerderradar.sqlite"))
            .await
            .unwrap();
        for call in [&gigabit, &sport, &kmu] {
            store.upsert_call(call).await.unwrap();
        }
    });
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("foerderradar")
            .unwrap()
            .current_dir(root)
            .arg("--data")
            .arg(data.path())
            .args(["--today", "2026-12-01"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let ahlen = "foerdermittel@ahlen.example.org";
    run(&["feedback", "passt", &gigabit_id, "--contact", ahlen]);
    // A first "passt" on the sports call, then "passt nicht": the last word counts.
    run(&["feedback", "passt", &sport_id, "--contact", ahlen]);
    run(&["feedback", "dismiss", &sport_id, "--contact", ahlen]);
    run(&["feedback", "passt", &kmu_id, "--contact", ahlen]);

    let out = run(&["eval", "--feedback"]);
    println!("{out}");
    assert!(out.contains("== Rückmeldungen der Empfänger (--feedback) =="), "{out}");
    assert!(out.contains("Rückmeldungen: 2 × „passt“, 1 × „passt nicht“"), "{out}");
    let row = |hf: &str| {
        out.lines()
            .find(|l| l.starts_with(hf))
            .unwrap_or_else(|| panic!("{hf} row missing:\n{out}"))
            .split_whitespace()
            .skip(1)
            .take(2)
            .map(|n| n.parse::<usize>().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(row("digitale-infrastruktur"), [1, 0], "{out}");
    assert_eq!(
        row("familie-bildung-lebensqualitaet")[1],
        1,
        "the dismissed sports call: {out}"
    );
    // go-digital is for companies only: the rules no longer deliver what was called "passt".
    assert!(out.contains("Nicht mehr zugestellt trotz „passt“ (1):"), "{out}");
    assert!(out.contains("go-digital"), "{out}");
    assert!(out.contains("Präzision nach Rückmeldungen: "), "{out}");
}
