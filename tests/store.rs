//! The SQLite store: migrations, call identity and history, source health,
//! matches, outbox and concurrency. Runs on temp files and in memory.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use foerderradar::model::feedback::{FeedbackAction, FeedbackEntry, FeedbackTargetKind};
use foerderradar::model::source::foerderdatenbank::{FdbMemo, ListPage, ProgrammeMemo};
use foerderradar::model::source::{Memo, Signature, SourceState, Validators};
use foerderradar::model::{
    ApplicantCategory, Call, CallId, CallStatus, ChangedField, Deadline, DeadlineDate, FundingRate, Match, SourceLink,
};
use foerderradar::store::{
    AnyStore, CallFilter, FeedbackFilter, NewMail, OutboxStatus, RunKind, SourceRun, SqliteStore, Store, StoreError,
    UpsertOutcome,
};

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn frist(y: i32, m: u32, d: u32) -> Deadline {
    Deadline::Dates(vec![DeadlineDate::on(date(y, m, d))])
}

/// A call as the Förderdatenbank would list it.
fn fdb_call(seen: DateTime<Utc>) -> Call {
    let mut call = Call::new(
        "fdb",
        "https://foerder.example/programm/digitale-modellregionen.html",
        "Digitale Modellregionen",
        seen,
    );
    call.funder = Some("Ministerium für Digitales NRW".into());
    call.summary = "Zuschüsse für kommunale Digitalisierungsprojekte.".into();
    call.deadline = frist(2026, 3, 31);
    call.funding_rate = Some(FundingRate { min: None, max: 80.0 });
    call.applicants.categories.insert(ApplicantCategory::Kommune);
    call.seal()
}

async fn file_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("nested/dir/foerderradar.db"))
        .await
        .unwrap()
}

#[tokio::test]
async fn open_creates_file_and_migrations_run_twice_without_harm() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir).await;
    store.upsert_call(&fdb_call(t(1, 8))).await.unwrap();
    store.close().await;
    assert!(dir.path().join("nested/dir/foerderradar.db").exists());

    let reopened = file_store(&dir).await;
    let calls = reopened.list_calls(&CallFilter::default()).await.unwrap();
    assert_eq!(calls.len(), 1, "data survives reopening");
    assert_eq!(calls[0].title, "Digitale Modellregionen");
}

async fn upsert_new_unchanged_changed_with_deadline_change_event(store: AnyStore) {
    let first = fdb_call(t(1, 8));
    let id = first.id.clone();
    assert_eq!(store.upsert_call(&first).await.unwrap(), UpsertOutcome::New(id.clone()));

    let again = Call {
        first_seen: t(2, 8),
        last_seen: t(2, 8),
        ..first.clone()
    };
    assert_eq!(
        store.upsert_call(&again).await.unwrap(),
        UpsertOutcome::Unchanged(id.clone())
    );
    let stored = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(stored.first_seen, t(1, 8), "first_seen is kept");
    assert_eq!(stored.last_seen, t(2, 8), "last_seen moves on");

    let mut extended = Call {
        first_seen: t(3, 8),
        last_seen: t(3, 8),
        ..first.clone()
    };
    extended.deadline = frist(2026, 4, 30);
    let extended = extended.seal();
    let UpsertOutcome::Changed(changed_id, changes) = store.upsert_call(&extended).await.unwrap() else {
        panic!("a new deadline is a change");
    };
    assert_eq!(changed_id, id);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, ChangedField::Deadline);
    assert_eq!(
        (changes[0].old.as_str(), changes[0].new.as_str()),
        ("31.03.2026", "30.04.2026")
    );

    let events = store.changes_since(t(3, 0)).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].call_id, id);
    assert_eq!(events[0].at, t(3, 8));
    assert_eq!(events[0].change, changes[0]);
    assert!(store.changes_since(t(4, 0)).await.unwrap().is_empty());

    let stored = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(stored.deadline, frist(2026, 4, 30));
    assert_eq!(stored.first_seen, t(1, 8));
    assert_eq!(stored.fingerprint, extended.fingerprint);
}

async fn versions_are_recorded_oldest_first_only_on_content_change(store: AnyStore) {
    let v1 = fdb_call(t(1, 8));
    store.upsert_call(&v1).await.unwrap();
    store
        .upsert_call(&Call {
            last_seen: t(2, 8),
            ..v1.clone()
        })
        .await
        .unwrap();
    let mut v2 = Call {
        last_seen: t(3, 8),
        ..v1.clone()
    };
    v2.amount_max_eur = Some(140_000);
    store.upsert_call(&v2.seal()).await.unwrap();

    let versions = store.call_versions(&v1.id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].0, t(1, 8));
    assert_eq!(versions[0].1.amount_max_eur, None);
    assert_eq!(versions[1].0, t(3, 8));
    assert_eq!(versions[1].1.amount_max_eur, Some(140_000));
    assert!(
        store
            .call_versions(&CallId("c-unknown".into()))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn one_programme_from_several_sources_becomes_one_call(store: AnyStore) {
    let fdb = fdb_call(t(1, 8));
    store.upsert_call(&fdb).await.unwrap();

    // The ministry's own page: other URL, same programme, title in other case.
    let mut ministry = Call::new(
        "mdi-nrw",
        "https://ministerium.example/foerderung/modellregionen",
        "DIGITALE Modellregionen",
        t(2, 9),
    );
    ministry.funder = fdb.funder.clone();
    let outcome = store.upsert_call(&ministry.seal()).await.unwrap();
    assert_eq!(
        outcome,
        UpsertOutcome::Unchanged(fdb.id.clone()),
        "poorer listing does not replace the content"
    );

    let all = store.list_calls(&CallFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    let call = &all[0];
    assert_eq!(call.id, fdb.id);
    assert_eq!(call.source, "fdb", "source that found it first");
    assert_eq!(
        call.links,
        vec![
            SourceLink {
                source: "fdb".into(),
                url: fdb.url.clone()
            },
            SourceLink {
                source: "mdi-nrw".into(),
                url: "https://ministerium.example/foerderung/modellregionen".into()
            },
        ]
    );
    assert_eq!(call.summary, fdb.summary);

    // Found again under the ministry URL: identity by the known link, not by title.
    let mut renamed = Call::new(
        "mdi-nrw",
        "https://ministerium.example/foerderung/modellregionen",
        "Neuer Titel",
        t(3, 9),
    );
    renamed.funder = fdb.funder.clone();
    assert_eq!(store.upsert_call(&renamed.seal()).await.unwrap().id(), &fdb.id);
    assert_eq!(store.list_calls(&CallFilter::default()).await.unwrap().len(), 1);

    let by_source = CallFilter {
        source: Some("mdi-nrw".into()),
        ..CallFilter::default()
    };
    assert_eq!(
        store.list_calls(&by_source).await.unwrap().len(),
        1,
        "listed by either source"
    );
}

async fn shared_call_content_does_not_flip_between_sources(store: AnyStore) {
    let mut feed = Call::new(
        "feed",
        "https://feed.example/item/17",
        "Digitale Modellregionen",
        t(1, 8),
    );
    feed.funder = Some("Ministerium für Digitales NRW".into());
    let feed = feed.seal();
    let id = store.upsert_call(&feed).await.unwrap().id().clone();

    // The richer FDB listing takes over once ...
    let fdb = fdb_call(t(1, 9));
    assert!(matches!(store.upsert_call(&fdb).await.unwrap(), UpsertOutcome::Changed(ref i, _) if *i == id));
    // ... and further passes of both sources change nothing.
    for day in 2..5 {
        let feed_pass = Call {
            last_seen: t(day, 8),
            ..feed.clone()
        };
        let fdb_pass = Call {
            last_seen: t(day, 9),
            ..fdb.clone()
        };
        assert_eq!(
            store.upsert_call(&feed_pass).await.unwrap(),
            UpsertOutcome::Unchanged(id.clone())
        );
        assert_eq!(
            store.upsert_call(&fdb_pass).await.unwrap(),
            UpsertOutcome::Unchanged(id.clone())
        );
    }
    assert_eq!(store.call_versions(&id).await.unwrap().len(), 2);
    let call = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(call.deadline, fdb.deadline);
    assert_eq!(call.url, feed.url, "identity URL stays");
    assert_eq!(call.last_seen, t(4, 9));
}

async fn same_title_twice_in_one_source_stays_two_calls(store: AnyStore) {
    let mut a = Call::new("eu", "https://eu.example/topic/A-2026", "Smart Cities", t(1, 8));
    a.external_id = Some("A-2026".into());
    let mut b = Call::new("eu", "https://eu.example/topic/B-2026", "Smart Cities", t(1, 8));
    b.external_id = Some("B-2026".into());
    assert!(matches!(
        store.upsert_call(&a.seal()).await.unwrap(),
        UpsertOutcome::New(_)
    ));
    assert!(matches!(
        store.upsert_call(&b.seal()).await.unwrap(),
        UpsertOutcome::New(_)
    ));
    // Another source with a third external id is a different topic as well.
    let mut c = Call::new("fdb", "https://fdb.example/c", "Smart Cities", t(1, 8));
    c.external_id = Some("C-2027".into());
    assert!(matches!(
        store.upsert_call(&c.seal()).await.unwrap(),
        UpsertOutcome::New(_)
    ));
    assert_eq!(store.list_calls(&CallFilter::default()).await.unwrap().len(), 3);
}

async fn find_call_by_id_or_unique_prefix(store: AnyStore) {
    let call = fdb_call(t(1, 8));
    store.upsert_call(&call).await.unwrap();
    let id = call.id.as_str();
    assert_eq!(store.find_call(id).await.unwrap().unwrap().id, call.id);
    assert_eq!(store.find_call(&id[..6]).await.unwrap().unwrap().id, call.id);
    assert_eq!(
        store.find_call(&id[2..8]).await.unwrap().unwrap().id,
        call.id,
        "without the c-"
    );
    assert!(store.find_call("c-zzzz").await.unwrap().is_none());

    let other = Call::new("fdb", "https://foerder.example/other", "Anderes", t(1, 8)).seal();
    store.upsert_call(&other).await.unwrap();
    let err = store.find_call("c-").await.unwrap_err();
    assert!(matches!(err, StoreError::Ambiguous { .. }), "{err}");
}

async fn list_filters_open_seen_since_and_limit(store: AnyStore) {
    let mut closed_by_date = Call::new("s", "https://x.example/1", "Abgelaufen", t(1, 8));
    closed_by_date.deadline = frist(2026, 1, 31);
    let mut annual = Call::new("s", "https://x.example/2", "Jährlich", t(2, 8));
    annual.deadline = Deadline::Dates(vec![DeadlineDate {
        annual: true,
        ..DeadlineDate::on(date(2025, 9, 30))
    }]);
    let mut rolling = Call::new("s", "https://x.example/3", "Laufend", t(3, 8));
    rolling.deadline = Deadline::Rolling;
    let mut closed_status = Call::new("s", "https://x.example/4", "Geschlossen", t(4, 8));
    closed_status.status = CallStatus::Closed;
    let mut ahead = Call::new("s", "https://x.example/5", "Offen", t(5, 8));
    ahead.deadline = Deadline::Dates(vec![
        DeadlineDate::on(date(2026, 1, 1)),
        DeadlineDate::on(date(2026, 6, 30)),
    ]);
    for c in [&closed_by_date, &annual, &rolling, &closed_status, &ahead] {
        store.upsert_call(&c.clone().seal()).await.unwrap();
    }
    let today = date(2026, 3, 10);
    let open = store
        .list_calls(&CallFilter {
            open_on: Some(today),
            ..CallFilter::default()
        })
        .await
        .unwrap();
    let titles: Vec<_> = open.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Offen", "Laufend", "Jährlich"], "newest first, only open ones");
    for call in &open {
        assert!(call.is_open(today), "{} agrees with Call::is_open", call.title);
    }

    let recent = store
        .list_calls(&CallFilter {
            seen_since: Some(t(4, 0)),
            ..CallFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(recent.len(), 2);
    let limited = store
        .list_calls(&CallFilter {
            limit: Some(1),
            ..CallFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(limited[0].title, "Offen");
    assert_eq!(limited.len(), 1);
}

async fn source_state_round_trips(store: AnyStore) {
    assert_eq!(store.source_state("fdb").await.unwrap(), SourceState::default());
    let mut state = SourceState::default();
    state.validators.insert(
        "https://x.example/feed".into(),
        Validators {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        },
    );
    let programme = |card: &str| ProgrammeMemo {
        card: Signature::of(card),
        gone: false,
        feed: None,
    };
    let mut memo = FdbMemo::default();
    memo.lists.insert("https://x.example/list".into(), ListPage::default());
    memo.programmes.insert("https://x.example/a".into(), programme("a"));
    state.memo = Memo::Foerderdatenbank(memo.clone());
    store.save_source_state("fdb", &state).await.unwrap();
    memo.programmes.insert("https://x.example/b".into(), programme("b"));
    state.memo = Memo::Foerderdatenbank(memo);
    store.save_source_state("fdb", &state).await.unwrap();
    assert_eq!(store.source_state("fdb").await.unwrap(), state);
}

fn run(source: &str, day: u32, items: u32, error: Option<&str>) -> SourceRun {
    SourceRun {
        source: source.into(),
        at: t(day, 6),
        items,
        error: error.map(str::to_string),
        requests: 3,
        not_modified: 0,
        duration_ms: 1200,
    }
}

async fn source_health_flags_repeated_failures_and_recovers(store: AnyStore) {
    let h = store.record_source_run(&run("fdb", 1, 12, None), 3).await.unwrap();
    assert_eq!((h.items_last_pass, h.items_before, h.broken), (12, 12, false));
    assert_eq!(h.last_success, Some(t(1, 6)));

    for day in 2..4 {
        let h = store
            .record_source_run(&run("fdb", day, 0, Some("HTTP 503")), 3)
            .await
            .unwrap();
        assert!(!h.broken, "{} failures are not yet broken", h.consecutive_failures);
    }
    let h = store
        .record_source_run(&run("fdb", 4, 0, Some("HTTP 503")), 3)
        .await
        .unwrap();
    assert_eq!(h.consecutive_failures, 3);
    assert!(h.broken);
    assert_eq!(h.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(h.last_success, Some(t(1, 6)));
    assert_eq!(h.items_before, 12);

    let h = store.record_source_run(&run("fdb", 5, 11, None), 3).await.unwrap();
    assert_eq!(
        (h.consecutive_failures, h.broken, h.last_error.clone()),
        (0, false, None)
    );
    assert_eq!(store.source_health().await.unwrap(), vec![h]);
}

async fn source_health_flags_selector_drift_but_not_all_not_modified(store: AnyStore) {
    store.record_source_run(&run("kreis", 1, 4, None), 3).await.unwrap();

    let cached = SourceRun {
        not_modified: 3,
        ..run("kreis", 2, 0, None)
    };
    assert!(
        !store.record_source_run(&cached, 3).await.unwrap().broken,
        "all 304: nothing new, not drift"
    );

    let h = store.record_source_run(&run("kreis", 3, 0, None), 3).await.unwrap();
    assert!(h.broken, "items before, none now, no error: selectors drifted");
    assert!(
        h.last_error.as_deref().unwrap().contains("found 4"),
        "{:?}",
        h.last_error
    );

    let cached = SourceRun {
        not_modified: 3,
        ..run("kreis", 4, 0, None)
    };
    assert!(
        store.record_source_run(&cached, 3).await.unwrap().broken,
        "a 304 does not clear drift"
    );
    assert!(
        !store
            .record_source_run(&run("kreis", 5, 4, None), 3)
            .await
            .unwrap()
            .broken,
        "a good pass clears it"
    );

    // A source that never delivered anything is quiet, not broken.
    assert!(
        !store
            .record_source_run(&run("leer", 1, 0, None), 3)
            .await
            .unwrap()
            .broken
    );
    let sources: Vec<_> = store
        .source_health()
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.source)
        .collect();
    assert_eq!(sources, ["kreis", "leer"]);
}

fn passed_match(call: &CallId, project: Option<&str>, score: f64) -> Match {
    Match {
        call_id: call.clone(),
        handlungsfeld: "digitale-verwaltung".into(),
        project: project.map(str::to_string),
        score,
        threshold: 2.0,
        passed: score >= 2.0,
        kommunen: vec!["ahlen".into(), "telgte".into()],
        reasons: vec![foerderradar::model::reason::Reason::Hits {
            hits: vec![foerderradar::model::reason::Hit {
                term: "Digitalisierung".into(),
                field: foerderradar::model::reason::Field::Title,
            }],
        }],
    }
}

async fn matches_are_replaced_per_call(store: AnyStore) {
    let a = fdb_call(t(1, 8));
    let b = Call::new("s", "https://x.example/b", "Breitband", t(1, 8)).seal();
    store.upsert_call(&a).await.unwrap();
    store.upsert_call(&b).await.unwrap();
    store
        .replace_matches(
            &a.id,
            &[passed_match(&a.id, None, 2.5), passed_match(&a.id, Some("portal"), 1.0)],
        )
        .await
        .unwrap();
    store
        .replace_matches(&b.id, &[passed_match(&b.id, Some("glasfaser"), 3.0)])
        .await
        .unwrap();
    assert_eq!(store.matches_for(&a.id).await.unwrap().len(), 2);
    assert_eq!(store.passed_matches().await.unwrap().len(), 2);

    let replacement = passed_match(&a.id, Some("portal"), 4.0);
    store
        .replace_matches(&a.id, std::slice::from_ref(&replacement))
        .await
        .unwrap();
    assert_eq!(store.matches_for(&a.id).await.unwrap(), vec![replacement]);
    assert_eq!(
        store.matches_for(&b.id).await.unwrap().len(),
        1,
        "other calls keep theirs"
    );

    let unknown = CallId("c-unknown".into());
    let err = store
        .replace_matches(&unknown, &[passed_match(&unknown, None, 3.0)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");

    store.replace_matches(&b.id, &[]).await.unwrap();
    let passed = store.passed_matches().await.unwrap();
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0].call_id, a.id);
}

/// Digest planning reads every passed match without reasons, then the reasons of the
/// calls one digest shows: both agree with `passed_matches`.
async fn passed_match_heads_and_reasons_per_call(store: AnyStore) {
    let a = fdb_call(t(1, 8));
    let b = Call::new("s", "https://x.example/b", "Breitband", t(1, 8)).seal();
    let c = Call::new("s", "https://x.example/c", "Glasfaser", t(1, 8)).seal();
    for call in [&a, &b, &c] {
        store.upsert_call(call).await.unwrap();
    }
    let low = passed_match(&a.id, Some("portal"), 1.0);
    store
        .replace_matches(&a.id, &[passed_match(&a.id, None, 2.5), low])
        .await
        .unwrap();
    store
        .replace_matches(&b.id, &[passed_match(&b.id, Some("glasfaser"), 3.0)])
        .await
        .unwrap();
    store
        .replace_matches(
            &c.id,
            &[
                passed_match(&c.id, Some("glasfaser"), 2.0),
                passed_match(&c.id, None, 4.0),
            ],
        )
        .await
        .unwrap();

    let full = store.passed_matches().await.unwrap();
    let heads = store.passed_match_heads().await.unwrap();
    assert_eq!(heads.len(), 4, "only passed matches: {heads:?}");
    assert!(heads.iter().all(|m| m.passed && m.reasons.is_empty()), "{heads:?}");
    let without = |ms: &[Match]| -> Vec<Match> {
        ms.iter()
            .map(|m| Match {
                reasons: Vec::new(),
                ..m.clone()
            })
            .collect()
    };
    assert_eq!(heads, without(&full), "same matches, same order");

    let telgte = ["telgte".to_string(), "warendorf".to_string()];
    let of = store
        .passed_matches_of(&[c.id.clone(), a.id.clone()], &telgte)
        .await
        .unwrap();
    let wanted: Vec<Match> = full.iter().filter(|m| m.call_id != b.id).cloned().collect();
    assert_eq!(of, wanted, "with reasons, grouped by call, best first");
    assert_eq!(
        of.iter()
            .filter(|m| m.call_id == c.id)
            .map(|m| m.score)
            .collect::<Vec<_>>(),
        [4.0, 2.0]
    );
    assert!(of.iter().all(|m| !m.reasons.is_empty()));
    assert!(store.passed_matches_of(&[], &telgte).await.unwrap().is_empty());
    let unknown = CallId("c-unknown".into());
    assert!(store.passed_matches_of(&[unknown], &telgte).await.unwrap().is_empty());
    let elsewhere = ["beckum".to_string()];
    assert!(
        store
            .passed_matches_of(&[a.id.clone(), c.id.clone()], &elsewhere)
            .await
            .unwrap()
            .is_empty(),
        "only matches routed to the given Kommunen"
    );
}

fn mail(contact: &str, calls: &[&CallId]) -> NewMail {
    NewMail {
        contact: contact.into(),
        kommune: "ahlen".into(),
        subject: "Förderradar: 2 neue Förderaufrufe".into(),
        message: "Subject: =?utf-8?q?F=C3=B6rderradar?=\r\n\r\nHallo".as_bytes().to_vec(),
        calls: calls.iter().map(|c| (*c).clone()).collect(),
    }
}

async fn outbox_lifecycle_pending_retry_sent_failed(store: AnyStore) {
    let a = CallId("c-aaaa".into());
    let b = CallId("c-bbbb".into());
    let id = store
        .enqueue_mail(&mail("digital@ahlen.example", &[&a, &b]), t(1, 7))
        .await
        .unwrap();
    assert_eq!(
        store.notified_calls("digital@ahlen.example").await.unwrap(),
        vec![a.clone(), b.clone()]
    );

    let due = store.due_mails(t(1, 7)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, id);
    assert_eq!(due[0].status, OutboxStatus::Pending);
    assert_eq!(due[0].message, mail("x", &[]).message, "message bytes kept exactly");
    assert_eq!(due[0].calls, vec![a.clone(), b.clone()]);

    store
        .mark_attempt_failed(id, "SMTP 451 try later", Some(t(1, 8)))
        .await
        .unwrap();
    assert!(
        store.due_mails(t(1, 7)).await.unwrap().is_empty(),
        "not due before next_attempt"
    );
    let retry = store.due_mails(t(1, 8)).await.unwrap();
    assert_eq!(
        (retry[0].attempts, retry[0].last_error.as_deref()),
        (1, Some("SMTP 451 try later"))
    );

    store.mark_sent(id, t(1, 8)).await.unwrap();
    assert!(store.due_mails(t(2, 0)).await.unwrap().is_empty());
    let sent = store.outbox(Some(OutboxStatus::Sent)).await.unwrap();
    assert_eq!(
        (sent[0].attempts, sent[0].sent, sent[0].last_error.clone()),
        (2, Some(t(1, 8)), None)
    );
    assert!(
        matches!(store.mark_sent(id, t(1, 9)).await, Err(StoreError::NotFound(_))),
        "only pending mails"
    );

    let doomed = store
        .enqueue_mail(&mail("it@telgte.example", &[&a]), t(1, 7))
        .await
        .unwrap();
    store
        .mark_attempt_failed(doomed, "550 mailbox unknown", None)
        .await
        .unwrap();
    let failed = store.outbox(Some(OutboxStatus::Failed)).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, doomed);
    assert!(store.due_mails(t(9, 0)).await.unwrap().is_empty());
    assert_eq!(store.outbox(None).await.unwrap().len(), 2);
}

async fn a_call_is_never_queued_twice_to_one_contact(store: AnyStore) {
    let a = CallId("c-aaaa".into());
    let b = CallId("c-bbbb".into());
    store
        .enqueue_mail(&mail("digital@ahlen.example", &[&a]), t(1, 7))
        .await
        .unwrap();

    let err = store
        .enqueue_mail(&mail("digital@ahlen.example", &[&b, &a]), t(2, 7))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyNotified { call, .. } if *call == a),
        "{err}"
    );
    assert_eq!(
        store.outbox(None).await.unwrap().len(),
        1,
        "the whole second mail was rolled back"
    );
    assert_eq!(
        store.notified_calls("digital@ahlen.example").await.unwrap(),
        vec![a.clone()]
    );

    // Another contact may get the same call.
    store
        .enqueue_mail(&mail("it@telgte.example", &[&a]), t(2, 7))
        .await
        .unwrap();
    assert_eq!(store.due_mails(t(3, 0)).await.unwrap().len(), 2);
}

async fn runs_are_started_and_finished(store: AnyStore) {
    let id = store.start_run(RunKind::Collect, t(1, 6)).await.unwrap();
    let second = store.start_run(RunKind::Notify, t(1, 7)).await.unwrap();
    assert_ne!(id, second);
    store
        .finish_run(
            id,
            t(1, 6) + Duration::seconds(40),
            true,
            &serde_json::json!({"calls": 12}),
        )
        .await
        .unwrap();
    assert!(matches!(
        store.finish_run(999, t(1, 7), false, &serde_json::json!({})).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn concurrent_upserts_from_several_tasks(store: AnyStore) {
    let mut tasks = Vec::new();
    for task in 0..8u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..25u32 {
                // Every task also upserts the shared call, with its own listing time.
                let shared = Call::new(
                    "fdb",
                    "https://x.example/shared",
                    "Gemeinsam",
                    t(1, 8) + Duration::minutes(i64::from(task * 100 + n)),
                );
                outcomes.push(store.upsert_call(&shared.seal()).await.unwrap());
                let own = Call::new(
                    format!("src-{task}"),
                    format!("https://x.example/{task}/{n}"),
                    format!("Aufruf {task}-{n}"),
                    t(1, 8),
                );
                outcomes.push(store.upsert_call(&own.seal()).await.unwrap());
            }
            outcomes
        }));
    }
    let mut new = 0;
    for task in tasks {
        new += task
            .await
            .unwrap()
            .iter()
            .filter(|o| matches!(o, UpsertOutcome::New(_)))
            .count();
    }
    assert_eq!(new, 8 * 25 + 1, "each own call once, the shared call once");
    assert_eq!(store.list_calls(&CallFilter::default()).await.unwrap().len(), 201);
    let shared = store
        .get_call(&CallId::from_url("https://x.example/shared"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        shared.last_seen,
        t(1, 8) + Duration::minutes(724),
        "the latest listing time wins"
    );
    assert_eq!(store.call_versions(&shared.id).await.unwrap().len(), 1);
}

async fn a_call_listed_twice_in_one_mail_is_not_a_repeat_of_an_earlier_mail(store: AnyStore) {
    let a = CallId("c-aaaa".into());
    let b = CallId("c-bbbb".into());
    store
        .enqueue_mail(&mail("digital@ahlen.example", &[&a, &b, &a]), t(1, 7))
        .await
        .unwrap();
    assert_eq!(
        store.notified_calls("digital@ahlen.example").await.unwrap(),
        vec![a.clone(), b.clone()]
    );
}

#[tokio::test]
async fn title_keys_from_an_older_folding_rule_are_recomputed_on_open_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir).await;
    let mut call = fdb_call(t(1, 8));
    call.title = "Breitband-Ausbau in Kommunen".into();
    let call = call.seal();
    store.upsert_call(&call).await.unwrap();
    store.close().await;
    let url = format!("sqlite://{}", dir.path().join("nested/dir/foerderradar.db").display());
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE calls SET title_key = 'breitbandausbau in kommunen|old rule'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    // Keys made with the rule the store names are trusted: opening reads no call.
    file_store(&dir).await.close().await;
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let key: String = sqlx::query_scalar("SELECT title_key FROM calls")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(key, "breitbandausbau in kommunen|old rule");
    // A store written by an older binary names an older rule.
    sqlx::query("UPDATE meta SET value = 'older rule' WHERE key = 'title_key_rule'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let reopened = file_store(&dir).await;
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let key: String = sqlx::query_scalar("SELECT title_key FROM calls")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(
        key,
        foerderradar::model::text::title_key(&call.title, call.funder.as_deref())
    );
    assert!(key.starts_with("breitband ausbau in kommunen|"), "{key}");
    // A listing of the same programme under another URL still joins the stored call.
    let mut other = Call::new(
        "andere-quelle",
        "https://andere.example/breitband",
        "Breitband Ausbau in Kommunen",
        t(2, 8),
    );
    other.funder = call.funder.clone();
    reopened.upsert_call(&other.seal()).await.unwrap();
    assert_eq!(reopened.list_calls(&CallFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn matches_stored_with_german_reasons_are_dropped_by_the_typed_reasons_migration() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/dir/foerderradar.db").display());
    let store = file_store(&dir).await;
    let call = fdb_call(t(1, 8));
    store.upsert_call(&call).await.unwrap();
    store.close().await;
    // Back to the state the release before typed reasons left: migration 0001 only, and
    // matches whose reasons are German sentences, which cannot be read as typed reasons.
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    // (Later migrations stay applied: they cannot run twice, and 0002 does not depend on them.)
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 2")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO matches (call_id, handlungsfeld, project, score, threshold, passed, kommunen, reasons) \
         VALUES (?, 'verwaltung', NULL, 3.0, 2.0, 1, '[\"ahlen\"]', '[\"Treffer: Digitalisierung (Titel)\"]')",
    )
    .bind(call.id.as_str())
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;

    let reopened = file_store(&dir).await;
    assert!(reopened.passed_matches().await.unwrap().is_empty());
    reopened
        .replace_matches(&call.id, &[passed_match(&call.id, None, 3.0)])
        .await
        .unwrap();
    assert_eq!(reopened.passed_matches().await.unwrap().len(), 1);
}

fn feedback(
    contact: Option<&str>,
    kommune: &str,
    action: FeedbackAction,
    kind: FeedbackTargetKind,
    target: &str,
    at: DateTime<Utc>,
) -> FeedbackEntry {
    FeedbackEntry {
        id: 0,
        at,
        actor: "cli".into(),
        contact: contact.map(Into::into),
        kommune: Some(kommune.into()),
        action,
        target_kind: kind,
        target: target.into(),
        reason: Some("Test".into()),
    }
}

async fn feedback_is_kept_with_who_and_when_and_folds_per_contact(store: AnyStore) {
    use FeedbackAction::*;
    use FeedbackTargetKind as T;
    let call = fdb_call(t(1, 8));
    store.upsert_call(&call).await.unwrap();
    store
        .replace_matches(&call.id, &[passed_match(&call.id, Some("glasfaser"), 3.0)])
        .await
        .unwrap();
    let id = call.id.as_str();
    let entries = [
        feedback(Some("A@Ahlen.example"), "ahlen", Mute, T::Project, "dorfladen", t(2, 8)),
        feedback(None, "beckum", PasstNicht, T::Call, id, t(2, 9)),
        feedback(Some("b@ahlen.example"), "ahlen", PasstNicht, T::Call, id, t(2, 10)),
        feedback(Some("c@ahlen.example"), "ahlen", Passt, T::Call, id, t(2, 11)),
    ];
    for e in &entries {
        store.record_feedback(e).await.unwrap();
    }
    // A mute for a whole Kommune is refused and nothing is stored.
    let refused = feedback(None, "ahlen", Mute, T::Project, "dorfladen", t(2, 12));
    assert!(matches!(
        store.record_feedback(&refused).await,
        Err(StoreError::Invalid(_))
    ));

    let all = store.feedback(&FeedbackFilter::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[0].contact.as_deref(),
        Some("a@ahlen.example"),
        "addresses are lower-cased"
    );
    assert_eq!((all[0].at, all[0].reason.as_deref()), (t(2, 8), Some("Test")));
    let of_b = FeedbackFilter {
        contact: Some("B@ahlen.example".into()),
        ..FeedbackFilter::default()
    };
    assert_eq!(store.feedback(&of_b).await.unwrap().len(), 1);

    let a = store.feedback_set("a@ahlen.example", &["ahlen".into()]).await.unwrap();
    assert!(a.muted_projects.contains("dorfladen") && a.dismissed.is_empty());
    // Beckum's Kommune-wide dismissal reaches every Beckum contact, not Ahlen's.
    let beckum = store
        .feedback_set("x@beckum.example", &["beckum".into()])
        .await
        .unwrap();
    assert!(beckum.dismissed.contains(&call.id));
    let b = store.feedback_set("b@ahlen.example", &["ahlen".into()]).await.unwrap();
    assert!(b.dismissed.contains(&call.id));

    let counts = store.feedback_counts(None).await.unwrap();
    let passt_nicht = counts.iter().find(|c| c.action == PasstNicht).unwrap();
    assert_eq!(
        (passt_nicht.project.as_deref(), passt_nicht.count),
        (Some("glasfaser"), 2)
    );
    assert_eq!(store.feedback_counts(Some(t(2, 11))).await.unwrap().len(), 1);
}

async fn contact_settings_override_and_round_trip(store: AnyStore) {
    use foerderradar::model::contact::{Cadence, ContactSettings};
    assert_eq!(store.contact_settings("a@ahlen.example").await.unwrap(), None);
    let mut s = ContactSettings::new("A@Ahlen.example", t(2, 8), "a@ahlen.example");
    s.cadence = Some(Cadence::Woechentlich(chrono::Weekday::Thu));
    s.handlungsfelder = Some(vec!["verwaltung".into()]);
    s.paused_until = Some(date(2026, 12, 24));
    store.save_contact_settings(&s).await.unwrap();
    assert_eq!(
        store.contact_settings("a@AHLEN.example").await.unwrap(),
        Some(s.clone())
    );
    s.unsubscribed = true;
    s.cadence = None;
    s.updated = t(3, 8);
    store.save_contact_settings(&s).await.unwrap();
    assert_eq!(store.all_contact_settings().await.unwrap(), vec![s]);
}

async fn an_unchanged_source_sees_again_what_it_listed_last_not_what_it_dropped(store: AnyStore) {
    let listed = |url: &str, title: &str, seen| Call::new("feed", url, title, seen).seal();
    let (a, b) = (
        listed("https://feed.example/a", "Aufruf A", t(1, 8)),
        listed("https://feed.example/b", "Aufruf B", t(1, 8)),
    );
    store.upsert_calls(&[a.clone(), b.clone()]).await.unwrap();
    // The next pass lists A only: B was dropped by the source.
    store
        .mark_seen("feed", &[(a.id.clone(), a.url.clone())], t(2, 8))
        .await
        .unwrap();
    assert_eq!(store.calls_per_source().await.unwrap()["feed"], 2);

    let before = store.calls_fingerprint().await.unwrap();
    assert_eq!(store.mark_source_seen("feed", t(3, 8)).await.unwrap(), 1);
    assert_ne!(
        store.calls_fingerprint().await.unwrap(),
        before,
        "seen again is a change"
    );
    for source in [None, Some("feed".to_string())] {
        let filter = CallFilter {
            source,
            seen_since: Some(t(3, 8)),
            ..CallFilter::default()
        };
        let recent: Vec<CallId> = store
            .list_calls(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(
            recent,
            std::slice::from_ref(&a.id),
            "only A was seen since the third day"
        );
    }
    let seen = |id: &CallId| {
        let store = &store;
        let id = id.clone();
        async move { store.get_call(&id).await.unwrap().unwrap().last_seen }
    };
    assert_eq!(seen(&a.id).await, t(3, 8));
    assert_eq!(seen(&b.id).await, t(1, 8), "a dropped listing stays dropped");
    assert_eq!(store.mark_source_seen("other", t(3, 8)).await.unwrap(), 0);
}

async fn digest_state_is_written_with_its_mail_and_rolled_back_with_it(store: AnyStore) {
    use foerderradar::model::facts::CallFacts;
    use foerderradar::store::{DigestUpdate, SentCall};
    let contact = "digital@ahlen.example";
    assert!(store.digest_state(contact).await.unwrap().is_first());
    let (a, b, c) = (
        CallId("c-aaaa".into()),
        CallId("c-bbbb".into()),
        CallId("c-cccc".into()),
    );
    let facts = CallFacts::of(&fdb_call(t(1, 6)));
    let row = SentCall {
        call_id: a.clone(),
        received: true,
        facts: facts.clone(),
        seen: vec![facts.clone()],
        reminders: vec!["2026-12-31:28".into()],
    };
    let update = DigestUpdate {
        known: vec![b.clone(), c.clone()],
        calls: vec![row.clone()],
        digest_day: Some(date(2026, 11, 2)),
        own_plan: false,
    };
    store
        .enqueue_digest(&mail(contact, &[&a]), &update, t(2, 7))
        .await
        .unwrap();
    let state = store.digest_state(contact).await.unwrap();
    assert!(!state.is_first());
    assert_eq!(state.last_digest, Some(date(2026, 11, 2)));
    assert_eq!(state.notified.len(), 3, "listed and known calls are never new again");
    assert_eq!(state.calls.get(&a), Some(&row));
    assert!(!state.calls.contains_key(&b), "a known call has no state row");

    // A mail naming a call already sent is refused, and its state is not written.
    let mut later = update.clone();
    later.digest_day = Some(date(2026, 11, 9));
    later.calls[0].reminders.push("2026-12-31:7".into());
    let err = store
        .enqueue_digest(&mail(contact, &[&b]), &later, t(9, 7))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyNotified { .. }), "{err}");
    let state = store.digest_state(contact).await.unwrap();
    assert_eq!(state.last_digest, Some(date(2026, 11, 2)));
    assert_eq!(state.calls[&a].reminders, vec!["2026-12-31:28".to_string()]);
}

fn at_(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn job_runs_report_the_last_start_and_finish_per_job(store: AnyStore) {
    assert_eq!(
        store.scheduled_runs("collect:nightly").await.unwrap().last_started,
        None
    );
    let first = store
        .start_job_run("collect:nightly", at_("2026-12-01T01:00:00Z"))
        .await
        .unwrap();
    store
        .finish_job_run(first, at_("2026-12-01T01:05:00Z"), true)
        .await
        .unwrap();
    store
        .start_job_run("collect:nightly", at_("2026-12-02T01:00:00Z"))
        .await
        .unwrap();
    store
        .start_job_run("notify", at_("2026-12-03T06:00:00Z"))
        .await
        .unwrap();
    let runs = store.scheduled_runs("collect:nightly").await.unwrap();
    assert_eq!(runs.last_started, Some(at_("2026-12-02T01:00:00Z")));
    assert_eq!(runs.last_finished, Some((at_("2026-12-01T01:05:00Z"), true)));
    // The period of the next admin digest starts at the last one that was queued.
    let ok = store
        .start_job_run("admin_digest", at_("2026-11-30T06:00:00Z"))
        .await
        .unwrap();
    store
        .finish_job_run(ok, at_("2026-11-30T06:00:05Z"), true)
        .await
        .unwrap();
    let failed = store
        .start_job_run("admin_digest", at_("2026-12-07T06:00:00Z"))
        .await
        .unwrap();
    store
        .finish_job_run(failed, at_("2026-12-07T06:00:01Z"), false)
        .await
        .unwrap();
    store
        .start_job_run("admin_digest", at_("2026-12-14T06:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        store.last_ok_job_start("admin_digest").await.unwrap(),
        Some(at_("2026-11-30T06:00:00Z"))
    );
}

async fn source_yields_and_dead_letters(store: AnyStore) {
    let run = |source: &str, when: &str, items: u32| SourceRun {
        source: source.into(),
        at: at_(when),
        items,
        error: None,
        requests: 1,
        not_modified: 0,
        duration_ms: 1,
    };
    for r in [
        run("bund", "2026-11-01T05:00:00Z", 3),
        run("bund", "2026-11-20T05:00:00Z", 0),
        run("leer", "2026-11-01T05:00:00Z", 0),
    ] {
        store.record_source_run(&r, 3).await.unwrap();
    }
    let yields = store.source_yields().await.unwrap();
    assert_eq!(yields.len(), 2);
    assert_eq!(yields[0].last_items, Some(at_("2026-11-01T05:00:00Z")));
    assert_eq!((yields[1].source.as_str(), yields[1].last_items), ("leer", None));

    let t0 = at_("2026-11-30T06:00:00Z");
    let mail = NewMail {
        contact: "a@ahlen.example.org".into(),
        kommune: "ahlen".into(),
        subject: "Förderradar".into(),
        message: b"x".to_vec(),
        calls: Vec::new(),
    };
    let old = store.enqueue_mail(&mail, t0 - Duration::days(30)).await.unwrap();
    store.mark_attempt_failed(old, "550 no such user", None).await.unwrap();
    let new = store.enqueue_mail(&mail, t0).await.unwrap();
    store.mark_attempt_failed(new, "550 no such user", None).await.unwrap();
    let pending = store.enqueue_mail(&mail, t0).await.unwrap();
    store
        .mark_attempt_failed(pending, "451 later", Some(t0 + Duration::hours(1)))
        .await
        .unwrap();
    let dead = store.dead_letters_since(t0 - Duration::days(7)).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), [new]);
    assert_eq!(dead[0].error.as_deref(), Some("550 no such user"));
    assert_eq!(dead[0].attempts, 1);
}

crate::on_both_backends!(
    job_runs_report_the_last_start_and_finish_per_job,
    source_yields_and_dead_letters,
    upsert_new_unchanged_changed_with_deadline_change_event,
    versions_are_recorded_oldest_first_only_on_content_change,
    one_programme_from_several_sources_becomes_one_call,
    shared_call_content_does_not_flip_between_sources,
    same_title_twice_in_one_source_stays_two_calls,
    find_call_by_id_or_unique_prefix,
    list_filters_open_seen_since_and_limit,
    source_state_round_trips,
    source_health_flags_repeated_failures_and_recovers,
    source_health_flags_selector_drift_but_not_all_not_modified,
    matches_are_replaced_per_call,
    passed_match_heads_and_reasons_per_call,
    outbox_lifecycle_pending_retry_sent_failed,
    a_call_is_never_queued_twice_to_one_contact,
    runs_are_started_and_finished,
    concurrent_upserts_from_several_tasks,
    a_call_listed_twice_in_one_mail_is_not_a_repeat_of_an_earlier_mail,
    feedback_is_kept_with_who_and_when_and_folds_per_contact,
    contact_settings_override_and_round_trip,
    an_unchanged_source_sees_again_what_it_listed_last_not_what_it_dropped,
    digest_state_is_written_with_its_mail_and_rolled_back_with_it,
);

/// `migrate-store`: a store with versions, matches, feedback, an outbox and digest state
/// arrives complete in PostgreSQL, and the copy refuses a store that is not empty.
#[tokio::test]
async fn migrate_store_copies_sqlite_into_an_empty_postgres_store() {
    use foerderradar::model::facts::CallFacts;
    use foerderradar::store::copy::sqlite_to_postgres;
    use foerderradar::store::{DigestUpdate, SentCall};
    let Some(pg) = crate::pg::TestPg::connect().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let from = file_store(&dir).await;
    let call = fdb_call(t(1, 8));
    let id = from.upsert_call(&call).await.unwrap().id().clone();
    let mut changed = fdb_call(t(2, 8));
    changed.deadline = frist(2027, 3, 31);
    from.upsert_call(&changed.seal()).await.unwrap();
    from.save_matches("key-1", &[(id.clone(), 2, vec![passed_match(&id, None, 3.5)])])
        .await
        .unwrap();
    from.record_feedback(&feedback(
        Some("a@ahlen.example"),
        "ahlen",
        FeedbackAction::PasstNicht,
        FeedbackTargetKind::Call,
        id.as_str(),
        t(3, 9),
    ))
    .await
    .unwrap();
    let facts = CallFacts::of(&call);
    let update = DigestUpdate {
        known: Vec::new(),
        calls: vec![SentCall {
            call_id: id.clone(),
            received: true,
            facts: facts.clone(),
            seen: vec![facts],
            reminders: Vec::new(),
        }],
        digest_day: Some(date(2026, 11, 2)),
        own_plan: false,
    };
    let sent = from
        .enqueue_digest(&mail("a@ahlen.example", &[&id]), &update, t(2, 7))
        .await
        .unwrap();
    from.mark_sent(sent, t(2, 8)).await.unwrap();
    from.record_source_run(&run("fdb", 2, 1, None), 3).await.unwrap();
    let job = from.start_job_run("collect", t(2, 6)).await.unwrap();
    from.finish_job_run(job, t(2, 7), true).await.unwrap();

    let to = pg.store().await;
    let counts = sqlite_to_postgres(&from, &to).await.unwrap();
    for table in [
        "calls",
        "call_versions",
        "call_changes",
        "matches",
        "feedback",
        "outbox",
        "notified",
        "digest_calls",
    ] {
        let c = counts.iter().find(|c| c.table == table).unwrap();
        assert!(c.sqlite > 0 && c.matches(), "{c:?}");
    }
    assert!(counts.iter().all(|c| c.matches()), "{counts:?}");

    assert_eq!(
        to.call_versions(&id).await.unwrap(),
        from.call_versions(&id).await.unwrap()
    );
    assert_eq!(to.get_call(&id).await.unwrap(), from.get_call(&id).await.unwrap());
    assert_eq!(to.matches_for(&id).await.unwrap(), from.matches_for(&id).await.unwrap());
    let all = FeedbackFilter::default();
    assert_eq!(to.feedback(&all).await.unwrap(), from.feedback(&all).await.unwrap());
    assert_eq!(to.outbox(None).await.unwrap(), from.outbox(None).await.unwrap());
    assert_eq!(
        to.digest_state("a@ahlen.example").await.unwrap(),
        from.digest_state("a@ahlen.example").await.unwrap()
    );
    assert_eq!(to.source_health().await.unwrap(), from.source_health().await.unwrap());
    assert_eq!(
        to.scheduled_runs("collect").await.unwrap(),
        from.scheduled_runs("collect").await.unwrap()
    );
    // The id sequences continue after the copied ids.
    let next = to.enqueue_mail(&mail("b@ahlen.example", &[]), t(4, 7)).await.unwrap();
    assert!(next > sent, "{next} after {sent}");

    let again = sqlite_to_postgres(&from, &to).await.unwrap_err();
    assert!(again.to_string().contains("not empty"), "{again}");
    to.close().await;
    pg.drop_schema().await;
}
