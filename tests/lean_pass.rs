//! Issue 12, a lean pass: what each stage costs is visible (`--timings`), and a pass
//! does only what changed. Nothing here times anything; the numbers are only checked
//! for presence and for work that must not happen at all.

use std::path::Path;

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

/// The numeric columns of a stage's row in the `--timings` table: wall, CPU, peak,
/// Δrss, calls read, calls written, SQL statements.
pub(crate) fn stage_row(stderr: &str, stage: &str) -> Vec<f64> {
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
        let cols = stage_row(&stderr, stage);
        assert_eq!(cols.len(), 7, "{stage}: {stderr}");
        assert!(cols[2] > 0.0, "{stage}: peak memory shown: {stderr}");
        assert!(cols[6] > 0.0, "{stage}: SQL statements counted: {stderr}");
    }
    let collect = stage_row(&stderr, "collect");
    assert!(collect[5] >= 6.0, "six calls stored: {stderr}");
    assert!(
        stage_row(&stderr, "match")[4] >= 6.0,
        "six calls read for matching: {stderr}"
    );

    // Without the flag, no table.
    let plain = foerderradar(&config, &data, &["run", "--once"]);
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("calls rd"));
}

/// Rows of the tables a pass writes when something changed.
async fn written_rows(data: &Path) -> Vec<i64> {
    let url = format!("sqlite://{}", data.join("foerderradar.sqlite").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut counts = Vec::new();
    for sql in [
        "SELECT count(*) FROM call_versions",
        "SELECT count(*) FROM call_changes",
        "SELECT coalesce(max(id), 0) FROM matches",
        "SELECT count(*) FROM outbox",
        "SELECT count(*) FROM notified",
    ] {
        counts.push(sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap());
    }
    pool.close().await;
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pass_with_nothing_new_writes_no_call_and_matches_nothing() {
    let server = fixture_server().await;
    let (_tmp, config, data) = setup();
    write_config(&config, &server.uri(), closed_port());
    let first = foerderradar(&config, &data, &["run", "--once", "--timings"]);
    let first_err = String::from_utf8_lossy(&first.stderr);
    assert!(stage_row(&first_err, "match")[4] >= 6.0, "{first_err}");
    let before = written_rows(&data).await;
    let states_before = state_writes(&data).await;
    assert!(!states_before.is_empty(), "the first pass stored source states");

    let second = foerderradar(&config, &data, &["run", "--once", "--timings"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(stage_row(&stderr, "collect")[5], 0.0, "no call written: {stderr}");
    assert_eq!(
        stage_row(&stderr, "match")[4],
        0.0,
        "no call read for matching: {stderr}"
    );
    assert_eq!(stage_row(&stderr, "match")[5], 0.0, "{stderr}");
    assert_eq!(stage_row(&stderr, "plan")[5], 0.0, "{stderr}");
    assert_eq!(
        written_rows(&data).await,
        before,
        "versions, changes, matches, outbox, notified"
    );
    // The sources answered as before: their state (validators, memo) is not written again.
    assert_eq!(state_writes(&data).await, states_before, "source states rewritten");
}

/// Each source's state with the time it was last written.
async fn state_writes(data: &Path) -> Vec<(String, String, String)> {
    let url = format!("sqlite://{}", data.join("foerderradar.sqlite").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows = sqlx::query_as("SELECT source, json, CAST(updated AS TEXT) FROM source_state ORDER BY source")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
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
        for field in [
            "wall_ms",
            "cpu_ms",
            "peak_rss_kib",
            "calls_read",
            "calls_written",
            "sql_statements",
        ] {
            assert!(e["fields"][field].is_number(), "{field} in {e}");
        }
    }
}

// ---- Statements per source: set-based store writes (issue 12, collect) ----

/// A feed of `items` calls, each with its own detail URL and a funder.
fn big_feed(base: &str, feed: usize, items: usize) -> String {
    let entries: String = (0..items)
        .map(|i| {
            format!(
                "<item><title>Förderaufruf {feed}-{i}: Glasfaser für Gewerbegebiete</title>\
                 <link>{base}/calls/{feed}/{i}.html</link><author>Ministerium {feed}</author>\
                 <description>Antragsberechtigt sind Kommunen. Förderquote 90 %. Frist: 31.03.2027.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>F{feed}</title>{entries}</channel></rss>"
    )
}

/// SQL statements of the collect stage, and calls written, of `collect --timings`.
fn collect_counts(config: &Path, data: &Path) -> (f64, f64) {
    let out = foerderradar(config, data, &["--timings", "collect"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let collect = stage_row(&stderr, "collect");
    (collect[6], collect[5])
}

/// Statements of two collects of `sources` feeds of `items` calls each (the first stores
/// every call, the second finds the same listings again: no validators, so the feeds are
/// parsed again), with the calls each wrote.
async fn two_collects(sources: usize, items: usize) -> [(f64, f64); 2] {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let mut config_sources = String::new();
    for feed in 0..sources {
        Mock::given(method("GET"))
            .and(path(format!("/big/{feed}.xml")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/rss+xml")
                    .set_body_string(big_feed(&server.uri(), feed, items)),
            )
            .mount(&server)
            .await;
        config_sources.push_str(&format!(
            "[[source]]\nid = \"big{feed}\"\nkind = \"rss\"\nlabel = \"Feed {feed}\"\nurl = \"{}/big/{feed}.xml\"\n\n",
            server.uri()
        ));
    }
    let (_tmp, config, data) = setup();
    write_config(&config, &server.uri(), closed_port());
    std::fs::write(config.join("sources.toml"), config_sources).unwrap();
    [collect_counts(&config, &data), collect_counts(&config, &data)]
}

/// The store writes a source's calls with a few set-based statements: the statements of a
/// collect grow with the number of sources, not with the number of calls. (One statement
/// per call or more, as before, is 4.5 per new call: 540 here.)
#[tokio::test(flavor = "multi_thread")]
async fn statements_per_source_do_not_grow_with_its_calls() {
    const SOURCES: usize = 4;
    const ITEMS: usize = 30;
    let [(cold, written), (again, rewritten)] = two_collects(SOURCES, ITEMS).await;
    assert_eq!(written, (SOURCES * ITEMS) as f64, "every call stored");
    // Per source: its calls' upsert (at most seven statements); per batch of sources, their
    // listings, runs, healths, states and memos; per collect: the run, health, states and counts.
    let per_source = 7.0;
    assert!(
        cold <= per_source * SOURCES as f64 + 20.0,
        "{cold} statements for {SOURCES} sources of {ITEMS} calls"
    );
    // Each source reads its field memo; the batch reads the earlier listings of all and
    // marks them seen; nothing is written per call.
    assert_eq!(rewritten, 0.0, "no call written when nothing changed");
    assert!(
        again <= 2.0 * SOURCES as f64 + 20.0,
        "{again} statements for {SOURCES} unchanged sources of {ITEMS} calls"
    );
}

/// Changed sources are stored together (`App::record_changed`): a further changed source
/// adds its upsert's statements and its memo read, nothing per source for its listings
/// read and seen, its memo, state, run and health (they were ten statements in four
/// transactions per source).
#[tokio::test(flavor = "multi_thread")]
async fn changed_sources_are_stored_together() {
    const ITEMS: usize = 5;
    let [(cold4, _), (again4, _)] = two_collects(4, ITEMS).await;
    let [(cold8, written), (again8, _)] = two_collects(8, ITEMS).await;
    assert_eq!(written, (8 * ITEMS) as f64, "every call stored");
    // A new source's upsert: identity, title keys, calls, versions, links.
    assert!(
        cold8 - cold4 <= 4.0 * 5.0,
        "cold: 4 sources {cold4}, 8 sources {cold8} statements"
    );
    // A source seen again: its memo read only.
    assert!(
        again8 - again4 <= 4.0,
        "again: 4 sources {again4}, 8 sources {again8} statements"
    );
}

// ---- Identity: a new listing is never lost in another call (item 5) ----

mod identity {
    use chrono::{DateTime, TimeZone, Utc};
    use foerderradar::model::Call;
    use foerderradar::store::{AnyStore, CallFilter, SourceRun, SqliteStore, Store, UpsertOutcome};

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 8, 0, 0).unwrap()
    }

    fn listing(source: &str, url: &str, title: &str, funder: Option<&str>) -> Call {
        let mut call = Call::new(source, url, title, t(1));
        call.funder = funder.map(str::to_string);
        call.seal()
    }

    async fn stored_calls(store: &SqliteStore) -> usize {
        store.list_calls(&CallFilter::default()).await.unwrap().len()
    }

    #[tokio::test]
    async fn same_title_with_different_funders_stays_two_calls() {
        let store = SqliteStore::memory().await.unwrap();
        let a = listing(
            "q001",
            "http://site.example/q001/1",
            "Digitale Dörfer",
            Some("Land NRW"),
        );
        let b = listing("q002", "http://site.example/q002/7", "Digitale Dörfer", Some("Bund"));
        assert!(matches!(store.upsert_call(&a).await.unwrap(), UpsertOutcome::New(_)));
        assert!(matches!(store.upsert_call(&b).await.unwrap(), UpsertOutcome::New(_)));
        assert_eq!(stored_calls(&store).await, 2);
    }

    #[tokio::test]
    async fn same_title_with_an_unknown_funder_on_either_side_stays_two_calls() {
        let store = SqliteStore::memory().await.unwrap();
        let known = listing("q001", "http://site.example/q001/1", "Smarte Wege", Some("Land NRW"));
        let unknown = listing("q002", "http://site.example/q002/1", "Smarte Wege", None);
        let unknown_too = listing("q003", "http://site.example/q003/1", "Smarte Wege", None);
        for call in [&known, &unknown, &unknown_too] {
            assert!(
                matches!(store.upsert_call(call).await.unwrap(), UpsertOutcome::New(_)),
                "{} is a call of its own",
                call.url
            );
        }
        // The reverse order: a stored call without funder does not swallow one with funder.
        let later_known = listing("q004", "http://site.example/q004/1", "Smarte Wege", Some("Bund"));
        assert!(matches!(
            store.upsert_call(&later_known).await.unwrap(),
            UpsertOutcome::New(_)
        ));
        assert_eq!(stored_calls(&store).await, 4);
    }

    #[tokio::test]
    async fn same_title_and_known_equal_funder_from_two_sources_is_one_call() {
        let store = SqliteStore::memory().await.unwrap();
        let a = listing(
            "q001",
            "http://site.example/q001/1",
            "Kommunaler Klimaschutz",
            Some("Land NRW"),
        );
        let b = listing(
            "q002",
            "http://site.example/q002/9",
            "KOMMUNALER Klimaschutz",
            Some("land nrw"),
        );
        let id = store.upsert_call(&a).await.unwrap().id().clone();
        assert_eq!(
            store.upsert_call(&b).await.unwrap(),
            UpsertOutcome::Unchanged(id.clone())
        );
        let call = store.get_call(&id).await.unwrap().unwrap();
        assert_eq!(call.links.len(), 2, "both listings kept: {:?}", call.links);
    }

    #[tokio::test]
    async fn one_source_with_two_urls_lists_two_calls_even_with_equal_title_and_funder() {
        let store = SqliteStore::memory().await.unwrap();
        let first = listing("q001", "http://site.example/q001/1", "Radwege", Some("Land NRW"));
        let second = listing("q001", "http://site.example/q001/2", "Radwege", Some("Land NRW"));
        assert!(matches!(
            store.upsert_call(&first).await.unwrap(),
            UpsertOutcome::New(_)
        ));
        assert!(matches!(
            store.upsert_call(&second).await.unwrap(),
            UpsertOutcome::New(_)
        ));
        // The same card again under its URL (a duplicate card) is the same call.
        let again = store.upsert_calls(&[first.clone(), second.clone()]).await.unwrap();
        assert_eq!(
            again,
            vec![
                UpsertOutcome::Unchanged(first.id.clone()),
                UpsertOutcome::Unchanged(second.id.clone())
            ]
        );
        assert_eq!(stored_calls(&store).await, 2);
    }

    /// Everything the store keeps of its calls, in a comparable form.
    async fn everything(store: &impl Store) -> Vec<String> {
        let mut all = Vec::new();
        for call in store.list_calls(&CallFilter::default()).await.unwrap() {
            let versions = store.call_versions(&call.id).await.unwrap();
            let changes: Vec<_> = store
                .call_changes(&call.id)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.at, c.change))
                .collect();
            all.push(format!("{call:?}\n{versions:?}\n{changes:?}"));
        }
        all.sort();
        all
    }

    /// A source's batch, written with a few set-based statements, ends as the same calls
    /// (identity, links, versions, changes, times) as its listings stored one at a time:
    /// a card listed twice, a changed card, two cards with one title, a card joining
    /// another source's call by title and funder, a listing naming a further link.
    /// On both backends, against one call at a time on SQLite.
    async fn a_batch_stores_what_one_call_at_a_time_stores(together: AnyStore) {
        let earlier = [
            listing(
                "q009",
                "http://site.example/q009/1",
                "Kommunaler Klimaschutz",
                Some("Land NRW"),
            ),
            listing("q001", "http://site.example/q001/2", "Radwege", None),
        ];
        let mut changed = listing("q001", "http://site.example/q001/2", "Radwege 2027", None);
        changed.last_seen = t(2);
        let mut changed_again = changed.clone();
        changed_again.summary = "Antragsfrist 31.03.2027".into();
        let changed_again = changed_again.seal();
        let mut linked = listing("q001", "http://site.example/q001/5", "Gigabit", Some("Bund"));
        linked.links.push(foerderradar::model::SourceLink {
            source: "q001".into(),
            url: "http://site.example/q001/5-alt".into(),
        });
        let batch = vec![
            listing(
                "q001",
                "http://site.example/q001/1",
                "Digitale Dörfer",
                Some("Land NRW"),
            ),
            listing(
                "q001",
                "http://site.example/q001/1",
                "Digitale Dörfer",
                Some("Land NRW"),
            ),
            changed,
            listing("q001", "http://site.example/q001/3", "Smarte Wege", Some("Bund")),
            listing("q001", "http://site.example/q001/4", "Smarte Wege", Some("Bund")),
            listing(
                "q001",
                "http://site.example/q001/6",
                "KOMMUNALER Klimaschutz",
                Some("land nrw"),
            ),
            linked,
            changed_again,
            listing("q002", "http://site.example/q002/1", "Smarte Wege", Some("Bund")),
        ];
        let one_by_one = SqliteStore::memory().await.unwrap();
        together.upsert_calls(&earlier).await.unwrap();
        one_by_one.upsert_calls(&earlier).await.unwrap();
        let outcomes = together.upsert_calls(&batch).await.unwrap();
        let mut single = Vec::new();
        for call in &batch {
            single.push(one_by_one.upsert_call(call).await.unwrap());
        }
        assert_eq!(outcomes, single);
        assert!(matches!(outcomes[1], UpsertOutcome::Unchanged(_)), "{outcomes:?}");
        assert!(matches!(outcomes[2], UpsertOutcome::Changed(..)), "{outcomes:?}");
        assert_eq!(
            outcomes[5],
            UpsertOutcome::Unchanged(earlier[0].id.clone()),
            "joined by title"
        );
        assert!(matches!(outcomes[7], UpsertOutcome::Changed(..)), "{outcomes:?}");
        assert_eq!(everything(&together).await, everything(&one_by_one).await);
    }

    fn run(source: &str, at: DateTime<Utc>) -> SourceRun {
        SourceRun {
            source: source.into(),
            at,
            items: 0,
            error: None,
            requests: 1,
            not_modified: 1,
            duration_ms: 3,
        }
    }

    /// Unchanged sources recorded together see their last listings again, as one by one:
    /// a dropped listing stays dropped, each source's count and health are its own.
    async fn unchanged_sources_are_recorded_together(store: AnyStore) {
        let a = listing("feed-a", "http://site.example/a/1", "Aufruf A", None);
        let dropped = listing("feed-a", "http://site.example/a/2", "Aufruf B", None);
        let b = listing("feed-b", "http://site.example/b/1", "Aufruf C", None);
        store.upsert_calls(&[a.clone(), dropped.clone()]).await.unwrap();
        store.upsert_calls(std::slice::from_ref(&b)).await.unwrap();
        store
            .mark_seen("feed-a", &[(a.id.clone(), a.url.clone())], t(2))
            .await
            .unwrap();
        let runs = [run("feed-a", t(3)), run("feed-b", t(3)), run("new", t(3))];
        let healths = store.record_unchanged_sources(&runs, 3).await.unwrap();
        let counts: Vec<(&str, u32, bool)> = healths
            .iter()
            .map(|h| (h.source.as_str(), h.items_last_pass, h.broken))
            .collect();
        assert_eq!(counts, [("feed-a", 1, false), ("feed-b", 1, false), ("new", 0, false)]);
        let seen = |id: &foerderradar::model::CallId| {
            let (store, id) = (&store, id.clone());
            async move { store.get_call(&id).await.unwrap().unwrap().last_seen }
        };
        assert_eq!(seen(&a.id).await, t(3));
        assert_eq!(seen(&b.id).await, t(3));
        assert_eq!(seen(&dropped.id).await, t(1), "a dropped listing stays dropped");
        assert_eq!(store.source_health().await.unwrap().len(), 3);
        assert_eq!(store.recent_source_runs(5).await.unwrap().len(), 3);
    }

    crate::on_both_backends!(
        a_batch_stores_what_one_call_at_a_time_stores,
        unchanged_sources_are_recorded_together
    );
}

// ---- Only what changed is matched (item 2) ----

mod incremental {
    use std::path::Path;

    use chrono::{NaiveDate, TimeZone, Utc};
    use foerderradar::app::App;
    use foerderradar::config::Config;
    use foerderradar::model::Call;
    use foerderradar::store::{SqliteStore, Store};

    use crate::pass::write_config;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn load(dir: &Path) -> Config {
        Config::load(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// An app over the file store in `dir`, with the config in `dir/config`, evaluated on `today`.
    async fn app(dir: &Path, today: NaiveDate) -> App<SqliteStore> {
        let store = SqliteStore::open(&dir.join("store.sqlite")).await.unwrap();
        App::with_store(load(&dir.join("config")), store, dir, Some(today)).unwrap()
    }

    fn call(url_tail: &str, title: &str) -> Call {
        let seen = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
        let mut call = Call::new("bund", format!("https://bund.example/{url_tail}"), title, seen);
        call.summary = "Antragsberechtigt sind Kommunen im Kreis Warendorf.".into();
        call.seal()
    }

    #[tokio::test]
    async fn a_pass_matches_only_new_and_changed_calls() {
        let tmp = tempfile::tempdir().unwrap();
        write_config(&tmp.path().join("config"), "http://127.0.0.1:9", 25);
        let app = app(tmp.path(), day(26)).await;
        let glasfaser = call("glasfaser", "Glasfaser für Gewerbegebiete");
        for c in [
            &glasfaser,
            &call("radweg", "Radwege im Münsterland"),
            &call("x", "Sonstiges"),
        ] {
            app.store.upsert_call(c).await.unwrap();
        }
        assert_eq!(app.match_calls().await.unwrap().calls, 3, "first pass: every call");
        assert_eq!(
            app.match_calls().await.unwrap().calls,
            0,
            "nothing new: nothing matched"
        );
        let stored = app.store.matches_for(&glasfaser.id).await.unwrap();
        assert!(
            stored.iter().any(|m| m.passed),
            "matches of the first pass kept: {stored:?}"
        );

        // One call changes, one is new: those two are matched, the rest is not touched.
        let mut changed = glasfaser.clone();
        changed.summary = "Antragsberechtigt sind Kommunen; Förderquote 90 %.".into();
        app.store.upsert_call(&changed.seal()).await.unwrap();
        app.store
            .upsert_call(&call("ortskern", "Ortskern beleben"))
            .await
            .unwrap();
        assert_eq!(app.match_calls().await.unwrap().calls, 2);
        assert_eq!(app.match_calls().await.unwrap().calls, 0);

        // `match --all` matches everything again.
        assert_eq!(app.match_all_calls().await.unwrap().calls, 4);
        assert_eq!(app.match_calls().await.unwrap().calls, 0);
    }

    #[tokio::test]
    async fn a_change_of_rules_kommunen_or_day_matches_every_call_again() {
        let tmp = tempfile::tempdir().unwrap();
        let config_dir = tmp.path().join("config");
        write_config(&config_dir, "http://127.0.0.1:9", 25);
        {
            let app = app(tmp.path(), day(26)).await;
            app.store.upsert_call(&call("glasfaser", "Glasfaser")).await.unwrap();
            app.store.upsert_call(&call("radweg", "Radweg")).await.unwrap();
            assert_eq!(app.match_calls().await.unwrap().calls, 2);
            assert_eq!(app.match_calls().await.unwrap().calls, 0);
            app.store.close().await;
        }
        // Same config, next run: nothing to do.
        assert_eq!(app(tmp.path(), day(26)).await.match_calls().await.unwrap().calls, 0);
        // Another evaluation day: deadline criteria may decide differently.
        assert_eq!(app(tmp.path(), day(27)).await.match_calls().await.unwrap().calls, 2);

        // A changed rule.
        let strategy = std::fs::read_to_string(config_dir.join("strategy.toml")).unwrap();
        std::fs::write(
            config_dir.join("strategy.toml"),
            strategy.replace("'Radweg OR Radverkehr'", "'Radweg OR Radverkehr OR Fahrrad'"),
        )
        .unwrap();
        let app = app(tmp.path(), day(27)).await;
        assert_eq!(app.match_calls().await.unwrap().calls, 2, "new rules: all calls");
        assert_eq!(app.match_calls().await.unwrap().calls, 0);

        // Changed Kommunen, through a reload as the daemon does on SIGHUP.
        let kommunen = std::fs::read_to_string(config_dir.join("kommunen.toml")).unwrap();
        std::fs::write(
            config_dir.join("kommunen.toml"),
            kommunen.replace("Beelen", "Beelen (Ems)"),
        )
        .unwrap();
        let mut app = app;
        let config = load(&config_dir);
        let matcher = foerderradar::matching::Matcher::new(&config).unwrap();
        app.reload(config, matcher);
        assert_eq!(app.match_calls().await.unwrap().calls, 2, "new Kommunen: all calls");
    }
}

// ---- The field memo: a changed page re-extracts only its changed entries ----

mod field_memo {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use foerderradar::app::App;
    use foerderradar::config::Config;
    use foerderradar::store::{AnyStore, CallFilter, SqliteStore, Store};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::pass::write_config;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    /// Entries with everything the field parsers read: applicants, region, rate, amount,
    /// a deadline (one of them without a year, which depends on the day).
    fn entries(changed: bool) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = (0..6)
            .map(|i| {
                (
                    format!("Förderaufruf {i}: Digitale Verwaltung"),
                    format!(
                        "Antragsberechtigt sind Kommunen und Vereine in Nordrhein-Westfalen. Gefördert werden bis zu {} % \
                         der Ausgaben, höchstens {}.000 Euro. Anträge bis zum {}.",
                        50 + i * 5,
                        100 + i,
                        if i % 2 == 0 { "31. März" } else { "15.01.2027" }
                    ),
                )
            })
            .collect();
        if changed {
            entries[2].1 = entries[2]
                .1
                .replace("bis zu 60 %", "bis zu 90 %")
                .replace("31. März", "30.04.2027");
            entries.push((
                "Neuer Aufruf: Smarte Quartiere".into(),
                "Bundesweit; Landkreise erhalten 70 Prozent, maximal 2,5 Mio. Euro. Frist: 01.02.2027.".into(),
            ));
        }
        entries
    }

    fn feed(base: &str, entries: &[(String, String)]) -> String {
        let items: String = entries
            .iter()
            .enumerate()
            .map(|(i, (title, text))| {
                format!("<item><title>{title}</title><link>{base}/rss/{i}.html</link><description>{text}</description></item>")
            })
            .collect();
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title>{items}</channel></rss>")
    }

    fn list_page(entries: &[(String, String)]) -> String {
        let items: String = entries
            .iter()
            .enumerate()
            .map(|(i, (title, text))| {
                format!("<li class=\"teaser\"><h3><a href=\"/list/{i}.html\">{title}</a></h3><p>{text}</p></li>")
            })
            .collect();
        format!("<html><body><ul class=\"teasers\">{items}</ul></body></html>")
    }

    async fn serve(server: &MockServer, changed: bool) {
        server.reset().await;
        let entries = entries(changed);
        Mock::given(method("GET"))
            .and(path("/feed.xml"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/rss+xml")
                    .set_body_string(feed(&server.uri(), &entries)),
            )
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path("/list.html"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/html; charset=utf-8")
                    .set_body_string(list_page(&entries)),
            )
            .mount(server)
            .await;
    }

    fn config(dir: &std::path::Path, base: &str) -> Config {
        write_config(dir, base, 25);
        let sources = format!(
            "[[source]]\nid = \"feed\"\nkind = \"rss\"\nlabel = \"Feed\"\nurl = \"{base}/feed.xml\"\n\n\
             [[source]]\nid = \"list\"\nkind = \"html\"\nlabel = \"Liste\"\nurl = \"{base}/list.html\"\n\
             item = \"li.teaser\"\ntitle = \"h3\"\nsummary = \"p\"\n"
        );
        std::fs::write(dir.join("sources.toml"), sources).unwrap();
        Config::load(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Each stored call's content, by URL (what a pass extracted, without the times).
    async fn contents(store: &impl Store) -> BTreeMap<String, String> {
        let calls = store.list_calls(&CallFilter::default()).await.unwrap();
        calls
            .into_iter()
            .map(|c| {
                let facts = format!(
                    "{:?} {:?} {:?} {:?} {:?} {}",
                    c.deadline, c.applicants, c.regions, c.funding_rate, c.amount_max_eur, c.fingerprint
                );
                (c.url, facts)
            })
            .collect()
    }

    /// The calls a changed feed and list page leave in the store, their unchanged entries'
    /// fields taken from the memo, are those a full extraction of the changed pages gives.
    async fn remembered_fields_store_what_a_full_extraction_stores(store: AnyStore) {
        let server = MockServer::start().await;
        let tmp = tempfile::tempdir().unwrap();
        let app = App::with_store(
            config(&tmp.path().join("config"), &server.uri()),
            store,
            tmp.path(),
            Some(today()),
        )
        .unwrap();
        serve(&server, false).await;
        app.collect(&[]).await.unwrap();
        for source in ["feed", "list"] {
            assert_eq!(
                app.store.extracted_fields(source).await.unwrap().len(),
                6,
                "{source}: memo of the first pass"
            );
        }
        serve(&server, true).await;
        let summary = app.collect(&[]).await.unwrap();
        let counts: Vec<(u32, u32)> = summary.sources.iter().map(|s| (s.new, s.changed)).collect();
        assert_eq!(counts, [(1, 1), (1, 1)], "{summary}");
        for source in ["feed", "list"] {
            assert_eq!(
                app.store.extracted_fields(source).await.unwrap().len(),
                8,
                "{source}: the changed and the new entry added, the changed one's old entry kept"
            );
        }

        let fresh = SqliteStore::memory().await.unwrap();
        let full = App::with_store(
            config(&tmp.path().join("config2"), &server.uri()),
            fresh,
            tmp.path(),
            Some(today()),
        )
        .unwrap();
        full.collect(&[]).await.unwrap();
        assert_eq!(contents(&app.store).await, contents(&full.store).await);
    }

    crate::on_both_backends!(remembered_fields_store_what_a_full_extraction_stores);
}
