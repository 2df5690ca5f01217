//! Claims of job slots and outbox mails, and the instance heartbeats: one suite run on
//! both backends, the SQLite store (through the `Store` trait) and the PostgreSQL
//! functions (`store::pg_leases`) against the local server on 127.0.0.1:5432 (trust
//! authentication, database `test`), each test in a schema of its own, dropped at the
//! end. Without that server the PostgreSQL half prints "SKIPPED: no PostgreSQL", and
//! fails under `CI=true`.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use foerderradar::store::{
    InstanceInfo, InstanceStatus, JobClaim, SqliteStore, Store, claimed_source, pg_leases, source_claim,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One backend of the suite.
enum Backend {
    Sqlite(SqliteStore),
    Pg { pool: PgPool, schema: String },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Pg { .. } => "postgres",
        }
    }

    async fn claim_job(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        who: &str,
        lease: TimeDelta,
        now: DateTime<Utc>,
    ) -> JobClaim {
        match self {
            Backend::Sqlite(s) => s.claim_job(job, slot, who, lease, now).await,
            Backend::Pg { pool, .. } => pg_leases::claim_job(pool, job, slot, who, lease, now).await,
        }
        .unwrap()
    }

    async fn renew(&self, job: &str, slot: DateTime<Utc>, who: &str, lease: TimeDelta, now: DateTime<Utc>) -> bool {
        match self {
            Backend::Sqlite(s) => s.renew_job_lease(job, slot, who, lease, now).await,
            Backend::Pg { pool, .. } => pg_leases::renew_job_lease(pool, job, slot, who, lease, now).await,
        }
        .unwrap()
    }

    async fn finish(&self, job: &str, slot: DateTime<Utc>, who: &str, now: DateTime<Utc>) {
        match self {
            Backend::Sqlite(s) => s.finish_job(job, slot, who, now).await,
            Backend::Pg { pool, .. } => pg_leases::finish_job(pool, job, slot, who, now).await,
        }
        .unwrap()
    }

    async fn claim_mail(&self, id: i64, who: &str, lease: TimeDelta, now: DateTime<Utc>) -> bool {
        match self {
            Backend::Sqlite(s) => s.claim_mail(id, who, lease, now).await,
            Backend::Pg { pool, .. } => pg_leases::claim_mail(pool, id, who, lease, now).await,
        }
        .unwrap()
    }

    async fn release_mail(&self, id: i64, who: &str) {
        match self {
            Backend::Sqlite(s) => s.release_mail(id, who).await,
            Backend::Pg { pool, .. } => pg_leases::release_mail(pool, id, who).await,
        }
        .unwrap()
    }

    async fn heartbeat(&self, instance: &InstanceInfo, now: DateTime<Utc>) {
        match self {
            Backend::Sqlite(s) => s.heartbeat(instance, now).await,
            Backend::Pg { pool, .. } => pg_leases::heartbeat(pool, instance, now).await,
        }
        .unwrap()
    }

    async fn instances(&self, now: DateTime<Utc>) -> Vec<InstanceStatus> {
        match self {
            Backend::Sqlite(s) => s.instances(now).await,
            Backend::Pg { pool, .. } => pg_leases::instances(pool, now).await,
        }
        .unwrap()
    }

    /// Drops the PostgreSQL test schema.
    async fn close(self) {
        if let Backend::Pg { pool, schema } = self {
            pool.close().await;
            let mut conn = PgConnectOptions::from_str(PG_URL).unwrap().connect().await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// A pool on a new schema of the local PostgreSQL with the lease tables, or `None`
/// (printing why) when no server answers; under `CI=true` a missing server fails.
pub async fn pg_schema_pool(max_connections: u32) -> Option<(PgPool, String)> {
    let options = PgConnectOptions::from_str(PG_URL).unwrap();
    let mut conn = match options.connect().await {
        Ok(conn) => conn,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs PostgreSQL on 127.0.0.1:5432: {e}"
            );
            eprintln!("SKIPPED: no PostgreSQL ({e})");
            return None;
        }
    };
    let schema = format!("lease_test_{:016x}", rand::random::<u64>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    sqlx::raw_sql(pg_leases::SCHEMA).execute(&pool).await.unwrap();
    Some((pool, schema))
}

/// The SQLite store, and the PostgreSQL functions when a server runs.
async fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite(SqliteStore::memory().await.unwrap())];
    if let Some((pool, schema)) = pg_schema_pool(8).await {
        all.push(Backend::Pg { pool, schema });
    }
    all
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const LEASE: TimeDelta = TimeDelta::seconds(120);

#[tokio::test]
async fn a_slot_is_claimed_once_taken_over_after_its_lease_and_never_run_twice() {
    for b in backends().await {
        let slot = utc("2026-12-07T05:00:00Z");
        let t0 = utc("2026-12-07T05:00:01Z");
        assert_eq!(
            b.claim_job("collect", slot, "a", LEASE, t0).await,
            JobClaim::Claimed,
            "{}",
            b.name()
        );
        // While a's lease runs, b is told who holds it and until when.
        let held = b
            .claim_job("collect", slot, "b", LEASE, t0 + TimeDelta::seconds(60))
            .await;
        assert_eq!(
            held,
            JobClaim::Held {
                by: "a".into(),
                until: t0 + LEASE
            },
            "{}",
            b.name()
        );
        // Another slot, or another job, is free.
        let next_slot = slot + TimeDelta::days(1);
        assert_eq!(
            b.claim_job("collect", next_slot, "b", LEASE, t0).await,
            JobClaim::Claimed
        );
        assert_eq!(b.claim_job("notify", slot, "b", LEASE, t0).await, JobClaim::Claimed);
        // a renews; b's claim at the old expiry still fails.
        assert!(b.renew("collect", slot, "a", LEASE, t0 + TimeDelta::seconds(100)).await);
        let at_old_expiry = t0 + LEASE;
        assert!(matches!(
            b.claim_job("collect", slot, "b", LEASE, at_old_expiry).await,
            JobClaim::Held { by, .. } if by == "a"
        ));
        // a dies: once its renewed lease ran out, b takes the slot over.
        let expired = t0 + TimeDelta::seconds(100) + LEASE;
        assert_eq!(
            b.claim_job("collect", slot, "b", LEASE, expired).await,
            JobClaim::Claimed,
            "{}",
            b.name()
        );
        // a, back from a pause, has lost it: no renewal, and its finish marks nothing.
        assert!(!b.renew("collect", slot, "a", LEASE, expired).await);
        b.finish("collect", slot, "a", expired).await;
        assert!(matches!(
            b.claim_job("collect", slot, "c", LEASE, expired + LEASE * 2).await,
            JobClaim::Claimed
        ));
        // c finishes: the slot is done for everyone, even long after.
        b.finish("collect", slot, "c", expired + LEASE * 2).await;
        for who in ["a", "b", "c"] {
            assert_eq!(
                b.claim_job("collect", slot, who, LEASE, expired + TimeDelta::days(3))
                    .await,
                JobClaim::Done,
                "{}",
                b.name()
            );
        }
        assert!(!b.renew("collect", slot, "c", LEASE, expired + LEASE * 2).await);
        b.close().await;
    }
}

#[tokio::test]
async fn a_mail_claim_keeps_other_senders_off_until_released_or_expired() {
    for b in backends().await {
        let t0 = utc("2026-12-07T06:00:00Z");
        assert!(b.claim_mail(7, "a", LEASE, t0).await, "{}", b.name());
        assert!(
            !b.claim_mail(7, "b", LEASE, t0 + TimeDelta::seconds(5)).await,
            "{}",
            b.name()
        );
        assert!(b.claim_mail(8, "b", LEASE, t0).await, "another mail is free");
        // Released once a's attempt is recorded: b may claim it (and finds it sent).
        b.release_mail(7, "a").await;
        assert!(b.claim_mail(7, "b", LEASE, t0 + TimeDelta::seconds(6)).await);
        // b dies with the claim: after the lease, a takes it over; a release by someone
        // who no longer holds it changes nothing.
        assert!(
            !b.claim_mail(
                7,
                "a",
                LEASE,
                t0 + TimeDelta::seconds(6) + LEASE - TimeDelta::seconds(1)
            )
            .await
        );
        assert!(b.claim_mail(7, "a", LEASE, t0 + TimeDelta::seconds(6) + LEASE).await);
        b.release_mail(7, "b").await;
        assert!(
            !b.claim_mail(7, "c", LEASE, t0 + TimeDelta::seconds(7) + LEASE).await,
            "{}",
            b.name()
        );
        b.close().await;
    }
}

#[tokio::test]
async fn instances_list_their_heartbeat_and_what_they_hold() {
    for b in backends().await {
        let started = utc("2026-12-07T04:00:00.123Z");
        let a = InstanceInfo::new("host-a", 4242, started);
        let c = InstanceInfo::new("host-c", 7, started);
        assert_eq!(a.id, "host-a:4242:20261207T040000.123Z");
        let now = utc("2026-12-07T05:00:00Z");
        b.heartbeat(&a, started).await;
        b.heartbeat(&c, now - TimeDelta::seconds(10)).await;
        b.heartbeat(&a, now).await;
        let slot = utc("2026-12-07T05:00:00Z");
        assert_eq!(b.claim_job("collect", slot, &a.id, LEASE, now).await, JobClaim::Claimed);
        assert_eq!(b.claim_job("notify", slot, &a.id, LEASE, now).await, JobClaim::Claimed);
        b.finish("notify", slot, &a.id, now).await;
        // An expired lease is no longer held.
        assert_eq!(
            b.claim_job("admin_digest", slot, &c.id, LEASE, now - LEASE * 2).await,
            JobClaim::Claimed
        );
        assert!(b.claim_mail(1, &a.id, LEASE, now).await);
        assert!(b.claim_mail(2, &a.id, LEASE, now).await);
        let list = b.instances(now).await;
        assert_eq!(list.len(), 2, "{}", b.name());
        assert_eq!((&list[0].instance, list[0].last_heartbeat), (&a, now), "{}", b.name());
        let held: Vec<&str> = list[0].jobs.iter().map(|j| j.job.as_str()).collect();
        assert_eq!(held, ["collect"], "{}", b.name());
        assert_eq!((list[0].jobs[0].slot, list[0].jobs[0].lease_until), (slot, now + LEASE));
        assert_eq!(list[0].mails, 2);
        assert_eq!(
            (list[1].instance.id.as_str(), list[1].jobs.len(), list[1].mails),
            (c.id.as_str(), 0, 0)
        );
        // An instance silent for a day is forgotten at the next heartbeat.
        let day_later = now + TimeDelta::days(1) + TimeDelta::seconds(1);
        b.heartbeat(&a, day_later).await;
        let ids: Vec<String> = b
            .instances(day_later)
            .await
            .into_iter()
            .map(|i| i.instance.id)
            .collect();
        assert_eq!(ids, std::slice::from_ref(&a.id), "{}", b.name());
        b.close().await;
    }
}

/// Many claimers race for each slot at the same instant: exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_of_one_slot_exactly_one_wins() {
    for b in backends().await {
        let b = Arc::new(b);
        let now = utc("2026-12-07T05:00:00Z");
        for n in 0..20 {
            let slot = now + TimeDelta::minutes(n);
            let racers: Vec<_> = (0..8)
                .map(|i| {
                    let b = b.clone();
                    tokio::spawn(async move { b.claim_job("collect", slot, &format!("i{i}"), LEASE, now).await })
                })
                .collect();
            let mut won = 0;
            for r in racers {
                match r.await.unwrap() {
                    JobClaim::Claimed => won += 1,
                    JobClaim::Held { until, .. } => assert_eq!(until, now + LEASE),
                    JobClaim::Done => panic!("nobody finished slot {slot}"),
                }
            }
            assert_eq!(won, 1, "{} slot {n}", b.name());
            // The same race on an expired lease: again exactly one takes it over.
            let later = now + LEASE;
            let racers: Vec<_> = (0..8)
                .map(|i| {
                    let b = b.clone();
                    tokio::spawn(async move { b.claim_job("collect", slot, &format!("j{i}"), LEASE, later).await })
                })
                .collect();
            let mut took_over = 0;
            for r in racers {
                took_over += usize::from(r.await.unwrap() == JobClaim::Claimed);
            }
            assert_eq!(took_over, 1, "{} take-over of slot {n}", b.name());
        }
        let mails: Vec<_> = (0..8)
            .map(|i| {
                let b = b.clone();
                tokio::spawn(async move { b.claim_mail(99, &format!("i{i}"), LEASE, now).await })
            })
            .collect();
        let mut won = 0;
        for r in mails {
            won += usize::from(r.await.unwrap());
        }
        assert_eq!(won, 1, "{} mail", b.name());
        let b = Arc::into_inner(b).unwrap();
        b.close().await;
    }
}

/// The sources of one collect slot, each a claim of its own (`source:<id>`).
const SOURCES: [&str; 10] = [
    "bund", "land", "eu", "kreis", "fdb-nrw", "fdb-bund", "sedia", "a", "b", "c",
];

/// Two instances work through one slot's sources as the daemon does (claim the next
/// free source, fetch it, mark it done, until none is free) at the same time: they split
/// the sources, each source is fetched once, and the group's own claim (the match after
/// the collect) is a row apart that one of them wins once every source is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_split_a_slots_sources_and_fetch_each_once() {
    use std::collections::HashMap;
    use std::sync::Mutex;
    for b in backends().await {
        let b = Arc::new(b);
        let slot = utc("2026-12-07T05:00:00Z");
        let fetched: Arc<Mutex<HashMap<&str, Vec<&str>>>> = Arc::default();
        let workers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let (b, fetched) = (b.clone(), fetched.clone());
                tokio::spawn(async move {
                    loop {
                        let mut took = None;
                        for source in SOURCES {
                            let now = Utc::now();
                            if b.claim_job(&source_claim(source), slot, who, LEASE, now).await == JobClaim::Claimed {
                                took = Some(source);
                                break;
                            }
                        }
                        let Some(source) = took else { break };
                        fetched.lock().unwrap().entry(source).or_default().push(who);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        b.finish(&source_claim(source), slot, who, Utc::now()).await;
                    }
                    // Nothing left to claim: every source is done, so the match may run.
                    b.claim_job("collect", slot, who, LEASE, Utc::now()).await
                })
            })
            .collect();
        let mut matched = 0;
        for w in workers {
            matched += usize::from(w.await.unwrap() == JobClaim::Claimed);
        }
        let fetched = fetched.lock().unwrap().clone();
        assert_eq!(fetched.len(), SOURCES.len(), "{} {fetched:?}", b.name());
        assert!(
            fetched.values().all(|by| by.len() == 1),
            "{} fetched twice: {fetched:?}",
            b.name()
        );
        for who in ["a", "b"] {
            assert!(
                fetched.values().any(|by| by == &[who]),
                "{}: {who} fetched nothing: {fetched:?}",
                b.name()
            );
        }
        assert_eq!(matched, 1, "{}: the match is claimed once", b.name());
        // Every source is done for this slot, whoever asks; the next slot is free again.
        for source in SOURCES {
            let later = Utc::now() + TimeDelta::days(1);
            assert_eq!(
                b.claim_job(&source_claim(source), slot, "c", LEASE, later).await,
                JobClaim::Done
            );
            let next = slot + TimeDelta::hours(1);
            assert_eq!(
                b.claim_job(&source_claim(source), next, "c", LEASE, later).await,
                JobClaim::Claimed
            );
        }
        let b = Arc::into_inner(b).unwrap();
        b.close().await;
    }
}

/// An instance dies while it collects a slot's sources: the ones it stored stay done,
/// each of the others is taken over once its lease ran out (not before), the dead one's
/// renewal fails, and `instances` shows which sources the survivor collects.
#[tokio::test]
async fn a_dead_instances_unfinished_sources_are_taken_over_one_by_one_after_their_leases() {
    for b in backends().await {
        let slot = utc("2026-12-07T05:00:00Z");
        let t0 = utc("2026-12-07T05:00:02Z");
        let a = InstanceInfo::new("host-a", 1, t0);
        let survivor = InstanceInfo::new("host-b", 2, t0);
        for source in ["bund", "land", "eu"] {
            assert_eq!(
                b.claim_job(&source_claim(source), slot, &a.id, LEASE, t0).await,
                JobClaim::Claimed
            );
        }
        // a stores bund, renews land at +30 s (eu was claimed later in a second round
        // and not renewed yet), then dies.
        b.finish(&source_claim("bund"), slot, &a.id, t0 + TimeDelta::seconds(10))
            .await;
        assert!(
            b.renew(&source_claim("land"), slot, &a.id, LEASE, t0 + TimeDelta::seconds(30))
                .await
        );
        let claim = |source: &'static str, at: DateTime<Utc>| {
            let (b, id) = (&b, survivor.id.clone());
            async move { b.claim_job(&source_claim(source), slot, &id, LEASE, at).await }
        };
        // While the leases run, the survivor finds bund done and the others held by a.
        let during = t0 + TimeDelta::seconds(60);
        assert_eq!(claim("bund", during).await, JobClaim::Done, "{}", b.name());
        assert_eq!(
            claim("land", during).await,
            JobClaim::Held {
                by: a.id.clone(),
                until: t0 + TimeDelta::seconds(30) + LEASE
            }
        );
        assert_eq!(
            claim("eu", during).await,
            JobClaim::Held {
                by: a.id.clone(),
                until: t0 + LEASE
            }
        );
        // eu's lease ends first: taken over then, land still held.
        let eu_free = t0 + LEASE;
        assert_eq!(claim("eu", eu_free).await, JobClaim::Claimed, "{}", b.name());
        assert!(matches!(claim("land", eu_free).await, JobClaim::Held { by, .. } if by == a.id));
        let land_free = t0 + TimeDelta::seconds(30) + LEASE;
        assert_eq!(claim("land", land_free).await, JobClaim::Claimed, "{}", b.name());
        // a, back from a pause, has lost both.
        for source in ["land", "eu"] {
            assert!(!b.renew(&source_claim(source), slot, &a.id, LEASE, land_free).await);
        }
        b.heartbeat(&survivor, land_free).await;
        let list = b.instances(land_free).await;
        let held: Vec<(Option<&str>, DateTime<Utc>)> =
            list[0].jobs.iter().map(|j| (claimed_source(&j.job), j.slot)).collect();
        assert_eq!(held, [(Some("eu"), slot), (Some("land"), slot)], "{}", b.name());
        b.close().await;
    }
}
