//! Instances that share the work, through the binary. On SQLite one daemon per store
//! (the data lock): it claims every slot it runs, releases every mail it sends and
//! shows up in `status` with its heartbeat. On PostgreSQL two `run` daemons share one
//! store: every slot runs once, every mail goes out once, and after `kill -9` of the
//! collect's holder the other daemon takes the collect over within lease + 10 s.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::operations::{SmtpSink, db, deployment, slow_server, spawn_daemon, status_json, stop};
use crate::pass::{fixture_server, signal, sources_toml, stderr_lines, wait_for};

const LEASE_SECS: u64 = 4;

/// Collect every 2 s, notify every 3 s, the admin digest once a year; short leases
/// and a heartbeat every second.
fn fast_schedules(store: &str) -> Vec<(&'static str, String)> {
    vec![
        ("collect = \"0 6 * * 1-5\"", "collect = \"*/2 * * * * *\"".into()),
        (
            "notify = \"0 7 * * 1-5\"",
            "notify = \"*/3 * * * * *\"\nadmin_digest = \"0 5 1 1 *\"".into(),
        ),
        (
            "[smtp]",
            format!("{store}[daemon]\nlease_secs = {LEASE_SECS}\nheartbeat_secs = 1\n\n[smtp]"),
        ),
    ]
}

fn patch<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(from, to)| (*from, to.as_str())).collect()
}

/// The Message-IDs of the mails the sink accepted, with how often each came.
fn accepted_ids(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for mail in sink.accepted.lock().unwrap().iter() {
        let id = mail
            .data
            .lines()
            .find_map(|l| {
                l.strip_prefix("Message-ID: ")
                    .or_else(|| l.strip_prefix("Message-Id: "))
            })
            .unwrap_or_else(|| panic!("no Message-ID in\n{}", mail.data))
            .to_string();
        *ids.entry(id).or_default() += 1;
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_claims_each_slot_it_runs_and_status_lists_it_with_its_heartbeat() {
    let feeds = fixture_server().await;
    let sink = SmtpSink::start(|_| "250 2.1.5 ok");
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    deployment(&config, &feeds.uri(), sink.port, &patch(&fast_schedules("")));

    let mut daemon = spawn_daemon(&config, &data);
    let lines = stderr_lines(&mut daemon);
    wait_for(&lines, "notify done");
    wait_for(&lines, "collect done");
    wait_for(&lines, "notify done");
    let (_, status) = status_json(&config, &data);
    let instances = status["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1, "{status:#}");
    let me = &instances[0];
    assert_eq!(me["instance"]["pid"], daemon.id(), "{me:#}");
    assert_eq!(me["silent"], false);
    let heartbeat: DateTime<Utc> = me["last_heartbeat"].as_str().unwrap().parse().unwrap();
    assert!(Utc::now() - heartbeat < chrono::TimeDelta::seconds(5), "{heartbeat}");
    let text = String::from_utf8_lossy(&crate::pass::foerderradar(&config, &data, &["status"]).stdout).into_owned();
    assert!(
        text.contains("instances:") && text.contains(me["instance"]["id"].as_str().unwrap()),
        "{text}"
    );
    stop(daemon);

    let mut conn = db(&data).await;
    for job in ["collect", "notify"] {
        let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE job = ?")
            .bind(job)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM job_claims WHERE job = ? AND done_at IS NOT NULL")
            .bind(job)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(runs >= 2 && runs == done, "{job}: {runs} runs, {done} slots done");
    }
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'sent'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let ids = accepted_ids(&sink);
    assert!(sent > 0 && ids.len() as i64 == sent, "{sent} sent, {ids:?}");
    assert!(ids.values().all(|n| *n == 1), "a mail went out twice: {ids:?}");
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_claims")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(claims, 0, "every claim is released once its attempt is recorded");
}

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A new, empty schema on the local PostgreSQL (the store migrates it at start).
async fn empty_schema() -> String {
    let mut conn = PgConnectOptions::from_str(PG_URL).unwrap().connect().await.unwrap();
    let schema = format!("two_daemons_{:016x}", rand::random::<u64>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .unwrap();
    schema
}

async fn pg(schema: &str) -> PgConnection {
    PgConnectOptions::from_str(PG_URL)
        .unwrap()
        .options([("search_path", schema)])
        .connect()
        .await
        .unwrap()
}

/// The job slot whose lease is live now and not done, with its holder's pid.
async fn live_collect(conn: &mut PgConnection) -> Option<(DateTime<Utc>, String, i64)> {
    sqlx::query_as(
        "SELECT c.slot, c.instance, i.pid FROM job_claims c JOIN instances i ON i.id = c.instance \
         WHERE c.job = 'collect' AND c.done_at IS NULL AND c.lease_until > now() ORDER BY c.slot DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await
    .unwrap()
}

// Two `run` daemons share one PostgreSQL store (`[store] url`, each test in a schema
// of its own through the URL's `options`).
#[tokio::test(flavor = "multi_thread")]
async fn two_daemons_share_one_store_each_slot_and_mail_once_and_take_over_after_kill() {
    let feeds = fixture_server().await;
    // A fourth source that answers after 3 s: every collect holds its lease a while.
    let slow = slow_server().await;
    let sink = SmtpSink::start(|_| "250 2.1.5 ok");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let schema = empty_schema().await;
    let store = format!("[store]\nurl = \"{PG_URL}?options=-c%20search_path%3D{schema}\"\n\n");
    deployment(&config, &feeds.uri(), sink.port, &patch(&fast_schedules(&store)));
    let sources = format!(
        "{}[[source]]\nid = \"langsam\"\nkind = \"rss\"\nurl = \"{}/feed.xml\"\nlabel = \"Langsam\"\n",
        sources_toml(&feeds.uri()),
        slow.uri()
    );
    std::fs::write(config.join("sources.toml"), sources).unwrap();

    // Each daemon has its own data directory (and lock); the store is shared.
    let data = |n: &str| dir.path().join(n);
    let mut a = spawn_daemon(&config, &data("a"));
    let mut b = spawn_daemon(&config, &data("b"));
    let (lines_a, lines_b) = (stderr_lines(&mut a), stderr_lines(&mut b));
    std::thread::sleep(Duration::from_secs(20));
    let mut conn = pg(&schema).await;
    let instances: i64 = sqlx::query_scalar("SELECT count(*) FROM instances")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(instances, 2);

    // kill -9 the holder of a collect slot while it runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (slot, holder, pid) = loop {
        if let Some(live) = live_collect(&mut conn).await {
            break live;
        }
        assert!(Instant::now() < deadline, "no collect ran under a lease");
        std::thread::sleep(Duration::from_millis(200));
    };
    let (victim, survivor) = match i64::from(a.id()) == pid {
        true => (a, b),
        false => (b, a),
    };
    assert_eq!(i64::from(victim.id()), pid, "the holder is one of the two daemons");
    signal(&victim, "-KILL");
    let killed = Instant::now();
    // Taken over = claimed by the other instance; the slot must then also run to its end.
    let mut taken_over = None;
    loop {
        let (instance, done): (String, bool) =
            sqlx::query_as("SELECT instance, done_at IS NOT NULL FROM job_claims WHERE job = 'collect' AND slot = $1")
                .bind(slot)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        if instance != holder {
            taken_over.get_or_insert(killed.elapsed());
            if done {
                break;
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(LEASE_SECS + 10 + 30),
            "slot {slot} never taken over and finished"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let taken_over = taken_over.expect("taken over");
    assert!(
        taken_over <= Duration::from_secs(LEASE_SECS + 10),
        "taken over after {taken_over:?}"
    );
    drop((lines_a, lines_b));
    stop(survivor);
    let mut victim = victim;
    victim.wait().unwrap();

    // Every slot ran once: as many finished runs as slots done (a slot run twice would
    // leave a finished run more, as a slot is marked done once).
    let runs: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT job, started, finished FROM job_runs ORDER BY job, started")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for job in ["collect", "notify"] {
        let of_job: Vec<_> = runs.iter().filter(|r| r.0 == job).collect();
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM job_claims WHERE job = $1 AND done_at IS NOT NULL")
            .bind(job)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        // The killed run left a started row without a finish; its slot was done by the survivor.
        let finished = of_job.iter().filter(|r| r.2.is_some()).count() as i64;
        assert!(
            finished >= 3 && finished == done,
            "{job}: {finished} finished runs, {done} slots done"
        );
    }
    // Every mail went out once.
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'sent'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let ids = accepted_ids(&sink);
    assert!(sent > 0 && ids.len() as i64 == sent, "{sent} sent, {ids:?}");
    assert!(ids.values().all(|n| *n == 1), "a mail went out twice: {ids:?}");
    conn.close().await.unwrap();
    let mut admin = PgConnectOptions::from_str(PG_URL).unwrap().connect().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// A store timestamp as the SQLite store writes it.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_held_by_a_dead_instance_is_taken_over_when_its_lease_runs_out() {
    let feeds = fixture_server().await;
    let sink = SmtpSink::start(|_| "250 2.1.5 ok");
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    let mut schedules = fast_schedules("");
    schedules[1].1 = "notify = \"0 4 1 1 *\"\nadmin_digest = \"0 5 1 1 *\"".into();
    deployment(&config, &feeds.uri(), sink.port, &patch(&schedules));
    // `status` creates and migrates the store.
    assert!(crate::pass::foerderradar(&config, &data, &["status"]).status.success());
    // A daemon that died left claims on the next collect slots (every even second),
    // with leases that run out in 6 s.
    let now = Utc::now();
    let lease_until = now + chrono::TimeDelta::seconds(6);
    let first_slot = now.timestamp() + 2;
    let mut conn = db(&data).await;
    for t in (first_slot..first_slot + 12).filter(|t| t % 2 == 0) {
        sqlx::query("INSERT INTO job_claims (job, slot, instance, lease_until) VALUES ('collect', ?, 'ghost', ?)")
            .bind(stamp(DateTime::from_timestamp(t, 0).unwrap()))
            .bind(stamp(lease_until))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    let mut daemon = spawn_daemon(&config, &data);
    let lines = stderr_lines(&mut daemon);
    let waiting = wait_for(&lines, "waiting for its lease");
    assert!(waiting.contains("ghost"), "{waiting}");
    wait_for(&lines, "collect done");
    assert!(Utc::now() >= lease_until, "a held slot ran before its lease ran out");
    wait_for(&lines, "collect done");
    stop(daemon);

    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT slot, instance, done_at FROM job_claims WHERE job = 'collect' ORDER BY slot")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    // The slots that came due while the lease ran: only a take-over runs them.
    let ghost_slots: Vec<String> = (first_slot..lease_until.timestamp())
        .filter(|t| t % 2 == 0)
        .map(|t| stamp(DateTime::from_timestamp(t, 0).unwrap()))
        .collect();
    let taken_over = rows
        .iter()
        .filter(|(slot, who, done)| ghost_slots.contains(slot) && who != "ghost" && done.is_some())
        .count();
    assert!(
        taken_over >= 1 && taken_over == ghost_slots.len(),
        "slots held while they came due were not all taken over: {ghost_slots:?} {rows:?}"
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE job = 'collect' AND finished IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let done: i64 = sqlx::query_scalar("SELECT count(*) FROM job_claims WHERE job = 'collect' AND done_at IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(runs, done, "one run per slot done");
}
