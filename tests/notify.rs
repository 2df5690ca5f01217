//! notify: digests, the outbox and both transports, against the in-process SMTP
//! sink mogimail on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use foerderradar::config::*;
use foerderradar::model::reason::{Criterion, Field, Reason};

use crate::support::{criterion, treffer};
use foerderradar::model::*;
use foerderradar::notify::{self, Templates, Transport};
use foerderradar::store::{OutboxMail, OutboxStatus, SqliteStore, Store};
use mail_parser::MessageParser;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

/// The deployment of `tests/fixtures/notify/` (Ahlen and Beckum follow
/// everything; Oelde's contact only Klimaschutz, Mobilität & Umwelt), sending
/// through `smtp` and reading templates from `dir`.
fn config(dir: &Path, smtp: Option<SmtpConfig>) -> Config {
    let fixture = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/notify"));
    let mut cfg = Config::load(fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    cfg.dir = dir.to_path_buf();
    cfg.service.smtp = smtp;
    cfg
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn serviceportal_call() -> Call {
    let mut call = Call::new(
        "mhkbd",
        "https://www.mhkbd.nrw.example/foerderung/digitale-modellregionen-serviceportale",
        "Digitale Modellkommunen: Förderung kommunaler Serviceportale",
        now(),
    );
    call.funder = Some("Ministerium für Heimat, Kommunales, Bau und Digitalisierung NRW".into());
    call.summary = "Gefördert werden Kommunen, die Verwaltungsleistungen nach dem Onlinezugangsgesetz nutzerfreundlich digital anbieten und ihre Serviceportale gemeinsam weiterentwickeln.".into();
    call.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 3, 7))]);
    call.funding_rate = Some(FundingRate {
        min: Some(40.0),
        max: 80.0,
    });
    call.amount_max_eur = Some(140_000);
    call.applicants = Applicants {
        categories: BTreeSet::from([ApplicantCategory::Kommune, ApplicantCategory::Kreis]),
        raw: Vec::new(),
    };
    call.links.push(SourceLink {
        source: "foerderdatenbank".into(),
        url: "https://www.foerderdatenbank.example/FDB/Content/DE/Foerderprogramm/Land/NRW/serviceportale.html".into(),
    });
    call.seal()
}

fn mobility_call() -> Call {
    let mut call = Call::new(
        "bmv-rss",
        "https://bmv.example/aufrufe/smarte-mobilitaet-laendlicher-raum",
        "Förderaufruf „Smarte Mobilität im ländlichen Raum“ <Pilot & Test>",
        now(),
    );
    call.funder = Some("Bundesministerium für Verkehr".into());
    let mut cutoff = DeadlineDate::on(date(2026, 5, 29));
    cutoff.time = NaiveTime::from_hms_opt(12, 0, 0);
    cutoff.label = Some("Skizzen".into());
    call.deadline = Deadline::Dates(vec![cutoff, DeadlineDate::on(date(2026, 10, 30))]);
    call.funding_rate = Some(FundingRate { min: None, max: 90.0 });
    call.applicants = Applicants {
        categories: BTreeSet::from([ApplicantCategory::Kommune, ApplicantCategory::Zweckverband]),
        raw: Vec::new(),
    };
    call.seal()
}

fn dorfmitte_call() -> Call {
    let mut call = Call::new(
        "9plus",
        "https://9plus.example/projektaufruf/dorfmitte",
        "Projektaufruf Dorfmitten digital beleben",
        now(),
    );
    call.funder = Some("LEADER-Region 9Plus im Kreis Warendorf".into());
    call.deadline = Deadline::Rolling;
    call.amount_max_eur = Some(250_000);
    call.funding_rate = Some(FundingRate { min: None, max: 70.0 });
    call.applicants = Applicants {
        categories: BTreeSet::new(),
        raw: vec!["Kommunen, Vereine und Privatpersonen in der Region".into()],
    };
    call.seal()
}

fn closed_call() -> Call {
    let mut call = Call::new(
        "mhkbd",
        "https://www.mhkbd.nrw.example/foerderung/abgelaufen",
        "Abgelaufener Aufruf Verwaltungsdigitalisierung",
        now(),
    );
    call.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 2, 1))]);
    call.seal()
}

fn passed(call: &Call, field: &str, project: Option<&str>, kommunen: &[&str], reasons: Vec<Reason>) -> Match {
    Match {
        call_id: call.id.clone(),
        handlungsfeld: field.into(),
        project: project.map(Into::into),
        score: 3.5,
        threshold: 2.0,
        passed: true,
        kommunen: kommunen.iter().map(|k| k.to_string()).collect(),
        reasons,
    }
}

const ALL: [&str; 3] = ["ahlen", "beckum", "oelde"];

/// Ahlen gets all three open calls, Beckum two, Oelde (narrowed) only the mobility call.
async fn seeded_store() -> SqliteStore {
    let store = SqliteStore::memory().await.unwrap();
    let portal = serviceportal_call();
    let mobility = mobility_call();
    let dorf = dorfmitte_call();
    let closed = closed_call();
    for call in [&portal, &mobility, &dorf, &closed] {
        store.upsert_call(call).await.unwrap();
    }
    let portal_matches = [
        passed(
            &portal,
            "verwaltung",
            Some("serviceportal"),
            &ALL,
            vec![
                treffer("Serviceportal", Field::Title),
                criterion(Criterion::KommuneEligible),
            ],
        ),
        passed(
            &portal,
            "verwaltung",
            None,
            &ALL,
            vec![
                treffer("Onlinezugangsgesetz", Field::Text),
                criterion(Criterion::KommuneEligible),
            ],
        ),
    ];
    store.replace_matches(&portal.id, &portal_matches).await.unwrap();
    let mobility_matches = [passed(
        &mobility,
        "klima-mobilitaet",
        None,
        &["ahlen", "oelde"],
        vec![
            treffer("Mobilität", Field::Title),
            criterion(Criterion::Rate {
                rate: Some(FundingRate { min: None, max: 90.0 }),
            }),
        ],
    )];
    store.replace_matches(&mobility.id, &mobility_matches).await.unwrap();
    let dorf_matches = [passed(
        &dorf,
        "innenstadt",
        Some("dorfladenbox"),
        &ALL,
        vec![
            treffer("Dorfmitte", Field::Title),
            criterion(Criterion::MembersOnly {
                regions: vec!["LEADER-Region 9Plus".into()],
            }),
        ],
    )];
    store.replace_matches(&dorf.id, &dorf_matches).await.unwrap();
    store
        .replace_matches(
            &closed.id,
            &[passed(
                &closed,
                "verwaltung",
                None,
                &ALL,
                vec![treffer("Verwaltung", Field::Title)],
            )],
        )
        .await
        .unwrap();
    store
}

/// mogimail on a port-0 listener; its thread lives until the test binary ends.
fn smtp_sink() -> (u16, mpsc::Receiver<mogimail::Email>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, serve_on(listener))
}

fn serve_on(listener: TcpListener) -> mpsc::Receiver<mogimail::Email> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || mogimail::SmtpServer::new("sink.test").start_with_listener(listener, tx));
    rx
}

fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        user: None,
        password_env: None,
        timeout: Duration::from_secs(5),
    }
}

fn smtp_transport(port: u16) -> Transport {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), Some(smtp_config(port)));
    Transport::from_config(&cfg.service, dir.path()).unwrap()
}

/// A port nobody listens on (bound once, then released).
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn received(rx: &mpsc::Receiver<mogimail::Email>, n: usize) -> Vec<mogimail::Email> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("mail {} of {n} not received: {e}", i + 1))
        })
        .collect()
}

/// mogimail trims lines and drops empty ones; compare what arrived with that in mind.
fn normalised(message: &str) -> Vec<String> {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The outbox mail whose stored bytes arrived as `email` (matched via Message-ID).
fn stored_for<'a>(outbox: &'a [OutboxMail], email: &mogimail::Email) -> &'a OutboxMail {
    let id_line = email
        .data
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .expect("Message-ID header");
    let mail = outbox
        .iter()
        .find(|m| {
            String::from_utf8_lossy(&m.message)
                .lines()
                .any(|l| l.trim() == id_line.trim())
        })
        .expect("received mail is in the outbox");
    assert_eq!(
        normalised(&String::from_utf8_lossy(&mail.message)),
        normalised(&email.data),
        "the stored bytes were sent unchanged"
    );
    mail
}

struct Parsed {
    to: String,
    subject: String,
    text: String,
    html: String,
}

fn parse(message: &[u8]) -> Parsed {
    let msg = MessageParser::default()
        .parse(message)
        .expect("parseable RFC 5322 message");
    Parsed {
        to: msg
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string(),
        subject: msg.subject().unwrap_or_default().to_string(),
        text: msg.body_text(0).expect("text/plain part").into_owned(),
        html: msg.body_html(0).expect("text/html part").into_owned(),
    }
}

fn titles_in(text: &str) -> Vec<&'static str> {
    [
        "Digitale Modellkommunen: Förderung kommunaler Serviceportale",
        "Förderaufruf „Smarte Mobilität im ländlichen Raum“ <Pilot & Test>",
        "Projektaufruf Dorfmitten digital beleben",
        "Abgelaufener Aufruf Verwaltungsdigitalisierung",
    ]
    .into_iter()
    .filter(|t| text.contains(t))
    .collect()
}

#[tokio::test]
async fn plan_and_deliver_send_one_digest_per_contact_with_its_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (port, rx) = smtp_sink();
    let cfg = config(dir.path(), Some(smtp_config(port)));
    let store = seeded_store().await;
    let transport = Transport::from_config(&cfg.service, dir.path()).unwrap();

    let plan = notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();
    assert_eq!(plan.mails.len(), 3, "{plan}");
    assert_eq!(plan.closed_skipped, 1);
    let report = notify::deliver(&store, &transport, &cfg.service.notify, &crate::support::lease(), now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (3, 0, 0), "{report}");

    let outbox = store.outbox(None).await.unwrap();
    let mut seen = Vec::new();
    for email in received(&rx, 3) {
        assert_eq!(email.from, "foerderradar@kreis-warendorf.example");
        assert_eq!(email.to.len(), 1);
        let stored = stored_for(&outbox, &email);
        let parsed = parse(&stored.message);
        assert_eq!(parsed.to, email.to[0]);
        seen.push((
            email.to[0].clone(),
            parsed.subject,
            titles_in(&parsed.text),
            titles_in(&parsed.html),
        ));
    }
    seen.sort();
    let expected = [
        (
            "digital@ahlen.example",
            "Förderradar: Übersicht – 3 passende Förderprogramme für Ahlen – Frist in 5 Tagen",
            vec![
                "Digitale Modellkommunen: Förderung kommunaler Serviceportale",
                "Förderaufruf „Smarte Mobilität im ländlichen Raum“ <Pilot & Test>",
                "Projektaufruf Dorfmitten digital beleben",
            ],
        ),
        (
            "klima@oelde.example",
            "Förderradar: Übersicht – 1 passendes Förderprogramm für Oelde",
            vec!["Förderaufruf „Smarte Mobilität im ländlichen Raum“ <Pilot & Test>"],
        ),
        (
            "wifoe@beckum.example",
            "Förderradar: Übersicht – 2 passende Förderprogramme für Beckum – Frist in 5 Tagen",
            vec![
                "Digitale Modellkommunen: Förderung kommunaler Serviceportale",
                "Projektaufruf Dorfmitten digital beleben",
            ],
        ),
    ];
    for ((to, subject, text_titles, html_titles), (want_to, want_subject, want_titles)) in seen.iter().zip(expected) {
        assert_eq!(to, want_to);
        assert_eq!(subject, want_subject);
        assert_eq!(text_titles, &want_titles, "text part of the mail to {to}");
        // The HTML part escapes markup in titles, so the raw "<Pilot & Test>" never appears there.
        let html_expected: Vec<_> = want_titles.iter().copied().filter(|t| !t.contains('<')).collect();
        assert_eq!(html_titles, &html_expected, "html part of the mail to {to}");
    }
    assert!(outbox.iter().all(|m| m.status == OutboxStatus::Sent));

    // A second pass finds nothing new and sends nothing.
    let later = now() + chrono::Duration::hours(24);
    let plan = notify::plan(&store, &cfg, today().succ_opt().unwrap(), later, notify::PlanMode::Due)
        .await
        .unwrap();
    assert!(plan.mails.is_empty(), "{plan}");
    let report = notify::deliver(&store, &transport, &cfg.service.notify, &crate::support::lease(), later)
        .await
        .unwrap();
    assert_eq!(report.sent, 0);
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "no second mail");
}

/// Two senders on one outbox (two instances): each mail goes out once, and a mail
/// another live sender claimed waits until that claim expires.
#[tokio::test(flavor = "multi_thread")]
async fn two_senders_on_one_outbox_send_each_mail_once_and_skip_a_claimed_one() {
    let dir = tempfile::tempdir().unwrap();
    let (port, rx) = smtp_sink();
    let cfg = config(dir.path(), Some(smtp_config(port)));
    let store = seeded_store().await;
    let plan = notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();
    assert_eq!(plan.mails.len(), 3, "{plan}");
    // A third instance is sending the oldest mail right now.
    let ids = store.due_mail_ids(now()).await.unwrap();
    let lease = chrono::TimeDelta::seconds(120);
    assert!(store.claim_mail(ids[0], "elsewhere", lease, Utc::now()).await.unwrap());

    let sender = |holder: &str| {
        let store = store.clone();
        let settings = cfg.service.notify.clone();
        let transport = Transport::from_config(&cfg.service, dir.path()).unwrap();
        let lease = foerderradar::store::Lease {
            holder: holder.into(),
            length: lease,
        };
        tokio::spawn(async move {
            notify::deliver(&store, &transport, &settings, &lease, now())
                .await
                .unwrap()
        })
    };
    let (a, b) = (sender("a"), sender("b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a.sent + b.sent, 2, "{a} / {b}");
    assert_eq!(received(&rx, 2).len(), 2);
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a mail went out twice"
    );
    let pending: Vec<i64> = store.due_mail_ids(now()).await.unwrap();
    assert_eq!(pending, [ids[0]], "the claimed mail waits");

    // Its sender died: once the claim expired, the mail goes out.
    let after_expiry = Utc::now() + lease + chrono::TimeDelta::seconds(1);
    let transport = Transport::from_config(&cfg.service, dir.path()).unwrap();
    let late = foerderradar::store::Lease {
        holder: "a".into(),
        length: lease,
    };
    let report = notify::deliver(&store, &transport, &cfg.service.notify, &late, after_expiry)
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report}");
    assert_eq!(received(&rx, 1).len(), 1);
    assert!(store.due_mail_ids(after_expiry).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_new_call_later_goes_out_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();

    let mut call = Call::new(
        "bmv-rss",
        "https://bmv.example/aufrufe/ladeinfrastruktur",
        "Ladeinfrastruktur vor Ort",
        now(),
    );
    call.deadline = Deadline::Rolling;
    store_oelde_call(&store, &call, "Ladeinfrastruktur").await;
    // Same day: the daily digest went out already, and a rolling call is not urgent.
    let plan = notify::plan(
        &store,
        &cfg,
        today(),
        now() + chrono::Duration::hours(1),
        notify::PlanMode::Due,
    )
    .await
    .unwrap();
    assert!(plan.mails.is_empty(), "{plan}");
    let next_day = today().succ_opt().unwrap();
    let plan = notify::plan(
        &store,
        &cfg,
        next_day,
        now() + chrono::Duration::hours(24),
        notify::PlanMode::Due,
    )
    .await
    .unwrap();
    assert_eq!(plan.mails.len(), 1, "{plan}");
    assert_eq!(plan.mails[0].contact, "klima@oelde.example");
    assert_eq!(plan.mails[0].calls, vec![call.id.clone()]);
    assert_eq!(plan.mails[0].subject, "Förderradar für Oelde: 1 neu im Radar");
}

/// Stores `call` with one passed match of Klimaschutz, Mobilität & Umwelt routed to Oelde,
/// hit by `word` in its title.
async fn store_oelde_call(store: &SqliteStore, call: &Call, word: &str) {
    store.upsert_call(call).await.unwrap();
    let m = passed(
        call,
        "klima-mobilitaet",
        None,
        &["oelde"],
        vec![treffer(word, Field::Title)],
    );
    store.replace_matches(&call.id, &[m]).await.unwrap();
}

/// A plan of the due digests on `day`, `hour` hours after [`now`].
async fn plan_due(store: &SqliteStore, cfg: &Config, day: NaiveDate, hour: i64) -> notify::DigestPlan {
    let at = now() + chrono::Duration::hours(hour);
    notify::plan(store, cfg, day, at, notify::PlanMode::Due).await.unwrap()
}

/// A plan on the same day in which nothing a plan reads changed reads nothing, also right
/// after a plan that sent digests (their writes are its own); a change (an urgent new
/// call, feedback) or the next day is planned in full again.
#[tokio::test]
async fn a_plan_with_nothing_changed_reads_nothing_until_something_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    let plan = |day: NaiveDate, hour: i64| plan_due(&store, &cfg, day, hour);
    let first = plan(today(), 0).await;
    assert!(!first.mails.is_empty() && !first.unchanged, "{first}");
    let second = plan(today(), 1).await;
    assert!(second.mails.is_empty() && second.unchanged, "{second}");
    assert!(second.to_string().contains("nothing changed"), "{second}");

    // An urgent new call for Oelde goes out the same day.
    let mut call = Call::new(
        "bmv-rss",
        "https://bmv.example/aufrufe/radwege",
        "Radwege im Quartier",
        now(),
    );
    call.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 3, 9))]);
    store_oelde_call(&store, &call, "Radwege").await;
    let urgent = plan(today(), 3).await;
    assert!(!urgent.unchanged, "{urgent}");
    assert_eq!(urgent.mails.len(), 1, "{urgent}");
    assert_eq!(urgent.mails[0].calls, vec![call.id.clone()]);
    assert!(plan(today(), 4).await.unchanged);

    // Feedback is read by a plan: it plans in full again.
    store
        .record_feedback(&foerderradar::model::feedback::FeedbackEntry {
            id: 0,
            at: now(),
            actor: "klima@oelde.example".into(),
            contact: Some("klima@oelde.example".into()),
            kommune: Some("oelde".into()),
            action: foerderradar::model::feedback::FeedbackAction::PasstNicht,
            target_kind: foerderradar::model::feedback::FeedbackTargetKind::Call,
            target: call.id.to_string(),
            reason: None,
        })
        .await
        .unwrap();
    let after_feedback = plan(today(), 6).await;
    assert!(
        after_feedback.mails.is_empty() && !after_feedback.unchanged,
        "{after_feedback}"
    );
    assert!(plan(today(), 7).await.unchanged);

    // The next day is planned in full: digests and reminders count days.
    let next = plan(today().succ_opt().unwrap(), 24).await;
    assert!(!next.unchanged, "{next}");
}

/// Change notices beyond the cap wait for the next digest: the plan that held them back
/// records nothing, and the next plan of the same day reads again and sends the urgent one.
#[tokio::test]
async fn notices_held_back_by_the_cap_are_planned_again_the_same_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), None);
    cfg.service.digest.max_items = 1;
    let store = seeded_store().await;
    let plan = |day: NaiveDate, hour: i64| plan_due(&store, &cfg, day, hour);
    let first = plan(today(), 0).await;
    assert!(first.mails.iter().any(|m| m.kommune == "ahlen"), "{first}");

    // The next day both calls Ahlen was sent move their deadlines close.
    let next_day = today().succ_opt().unwrap();
    for (mut call, day) in [(mobility_call(), 12), (dorfmitte_call(), 13)] {
        call.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 3, day))]);
        call.last_seen = now() + chrono::Duration::hours(20);
        store.upsert_call(&call).await.unwrap();
    }
    let ahlen_notices = |plan: &notify::DigestPlan| plan.mails.iter().find(|m| m.kommune == "ahlen").map(|m| m.notices);
    let capped = plan(next_day, 24).await;
    assert_eq!(ahlen_notices(&capped), Some(1), "Ahlen's digest: {capped}");
    let again = plan(next_day, 25).await;
    assert!(!again.unchanged, "{again}");
    assert_eq!(ahlen_notices(&again), Some(1), "the held-back notice: {again}");
}

#[tokio::test]
async fn narrowed_subscription_gets_only_its_handlungsfelder() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    let plan = notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();
    let oelde = plan
        .mails
        .iter()
        .find(|m| m.kommune == "oelde")
        .expect("a digest for Oelde");
    assert_eq!(oelde.calls, vec![mobility_call().id]);
    // The portal and Dorfmitte calls were routed to Oelde too, but its contact follows only mobility.
    let stored = store.outbox(None).await.unwrap();
    let text = parse(&stored.iter().find(|m| m.id == oelde.id).unwrap().message).text;
    assert!(
        text.contains("Oelde: Handlungsfeld Klimaschutz, Mobilität & Umwelt"),
        "{text}"
    );
}

#[tokio::test]
async fn closed_calls_are_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    let closed = closed_call().id;
    // Two weeks later the portal call (deadline 07.03.) has closed as well.
    let plan = notify::plan(
        &store,
        &cfg,
        date(2026, 3, 16),
        now() + chrono::Duration::days(14),
        notify::PlanMode::Due,
    )
    .await
    .unwrap();
    assert_eq!(plan.closed_skipped, 2, "{plan}");
    for mail in &plan.mails {
        assert!(
            !mail.calls.contains(&closed) && !mail.calls.contains(&serviceportal_call().id),
            "{plan}"
        );
    }
    let ahlen = plan.mails.iter().find(|m| m.kommune == "ahlen").unwrap();
    assert_eq!(
        ahlen.subject,
        "Förderradar: Übersicht – 2 passende Förderprogramme für Ahlen"
    );
}

#[tokio::test]
async fn smtp_outage_keeps_mails_pending_until_the_server_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = dead_port();
    let cfg = config(dir.path(), Some(smtp_config(port)));
    let store = seeded_store().await;
    let transport = Transport::from_config(&cfg.service, dir.path()).unwrap();
    notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();

    let report = notify::deliver(&store, &transport, &cfg.service.notify, &crate::support::lease(), now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (0, 3, 0), "{report}");
    let pending = store.outbox(Some(OutboxStatus::Pending)).await.unwrap();
    assert_eq!(pending.len(), 3);
    for mail in &pending {
        assert_eq!(mail.attempts, 1);
        assert!(mail.next_attempt > now(), "next attempt lies ahead");
        assert!(
            mail.next_attempt <= now() + chrono::Duration::seconds(66),
            "base 60 s plus at most 10 % jitter"
        );
        assert!(
            mail.last_error
                .as_deref()
                .unwrap()
                .contains(&format!("127.0.0.1:{port}")),
            "{:?}",
            mail.last_error
        );
    }
    // Not yet due: nothing is tried.
    let report = notify::deliver(
        &store,
        &transport,
        &cfg.service.notify,
        &crate::support::lease(),
        now() + chrono::Duration::seconds(30),
    )
    .await
    .unwrap();
    assert_eq!((report.sent, report.retried), (0, 0));

    // The server comes up on the same port; once due, the same transport delivers.
    let rx = serve_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let later = now() + chrono::Duration::minutes(5);
    let report = notify::deliver(&store, &transport, &cfg.service.notify, &crate::support::lease(), later)
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (3, 0, 0), "{report}");
    let mut to: Vec<String> = received(&rx, 3).into_iter().flat_map(|e| e.to).collect();
    to.sort();
    assert_eq!(
        to,
        ["digital@ahlen.example", "klima@oelde.example", "wifoe@beckum.example"]
    );
    assert!(
        store
            .outbox(None)
            .await
            .unwrap()
            .iter()
            .all(|m| m.status == OutboxStatus::Sent && m.sent == Some(later))
    );
}

#[tokio::test]
async fn max_attempts_marks_mails_failed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();
    let transport = smtp_transport(dead_port());
    let settings = NotifySettings {
        max_attempts: 3,
        ..cfg.service.notify
    };

    let mut at = now();
    for round in 1..=3 {
        let report = notify::deliver(&store, &transport, &settings, &crate::support::lease(), at)
            .await
            .unwrap();
        let expected = if round < 3 { (0, 3, 0) } else { (0, 0, 3) };
        assert_eq!(
            (report.sent, report.retried, report.failed),
            expected,
            "round {round}: {report}"
        );
        at += chrono::Duration::days(1);
    }
    let failed = store.outbox(Some(OutboxStatus::Failed)).await.unwrap();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|m| m.attempts == 3 && m.last_error.is_some()));
    let report = notify::deliver(&store, &transport, &settings, &crate::support::lease(), at)
        .await
        .unwrap();
    assert_eq!(
        report,
        notify::DeliveryReport::default(),
        "failed mails are not retried"
    );
}

#[tokio::test]
async fn permanent_rejection_fails_at_once_with_the_server_message() {
    let dir = tempfile::tempdir().unwrap();
    let (port, rx) = smtp_sink();
    let mut cfg = config(dir.path(), Some(smtp_config(port)));
    // mogimail rejects domains over 64 characters with "501 Domain name too long".
    let long = format!("wifoe@{}.{}.example", "a".repeat(40), "b".repeat(30));
    cfg.kommunen[1].contacts[0].email = long.clone();
    let store = seeded_store().await;
    let transport = Transport::from_config(&cfg.service, dir.path()).unwrap();
    notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();

    let report = notify::deliver(&store, &transport, &cfg.service.notify, &crate::support::lease(), now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (2, 0, 1), "{report}");
    let mut to: Vec<String> = received(&rx, 2).into_iter().flat_map(|e| e.to).collect();
    to.sort();
    assert_eq!(to, ["digital@ahlen.example", "klima@oelde.example"]);
    let failed = store.outbox(Some(OutboxStatus::Failed)).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].contact.as_str(), failed[0].attempts), (long.as_str(), 1));
    let error = failed[0].last_error.as_deref().unwrap();
    assert!(error.contains("501") && error.contains("too long"), "{error}");
    assert_eq!(report.failures[0].error, error);
}

#[tokio::test]
async fn file_transport_writes_parseable_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let transport = Transport::from_config(&cfg.service, dir.path()).unwrap();
    let Transport::File { dir: outbox_dir } = &transport else {
        panic!("no [smtp] means file transport")
    };
    assert_eq!(outbox_dir, &dir.path().join("outbox"));
    let store = seeded_store().await;
    notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();
    let report = notify::deliver(&store, &transport, &cfg.service.notify, &crate::support::lease(), now())
        .await
        .unwrap();
    assert_eq!(report.sent, 3);

    let mut files: Vec<_> = std::fs::read_dir(outbox_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names[0], "20260302T060000Z-1-digital@ahlen.example.eml");
    let raw = std::fs::read(&files[0]).unwrap();
    let subject_line = String::from_utf8_lossy(&raw)
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap()
        .to_string();
    assert!(
        subject_line.is_ascii() && subject_line.contains("=?utf-8?"),
        "umlauts are RFC 2047-encoded: {subject_line}"
    );
    let parsed = parse(&raw);
    assert_eq!(
        parsed.subject,
        "Förderradar: Übersicht – 3 passende Förderprogramme für Ahlen – Frist in 5 Tagen"
    );
    assert_eq!(parsed.to, "digital@ahlen.example");
    assert!(parsed.text.contains("Höchstbetrag:       140.000 €"), "{}", parsed.text);
}

/// The Ahlen digest (3 calls, one urgent) as the embedded templates render it.
async fn ahlen_preview(cfg: &Config, templates: &Templates) -> notify::PreparedMail {
    let store = seeded_store().await;
    let preview = notify::preview(&store, cfg, templates, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap();
    assert!(
        store.outbox(None).await.unwrap().is_empty(),
        "a preview enqueues nothing"
    );
    preview
        .mails
        .into_iter()
        .find(|m| m.digest.kommune == "ahlen")
        .expect("a digest for Ahlen")
}

#[tokio::test]
async fn digest_text_and_html_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let mail = ahlen_preview(&cfg, &Templates::embedded()).await;
    assert_eq!(
        mail.digest.subject,
        "Förderradar: Übersicht – 3 passende Förderprogramme für Ahlen – Frist in 5 Tagen"
    );
    insta::assert_snapshot!("digest_ahlen_text", mail.text);
    insta::assert_snapshot!("digest_ahlen_html", mail.html);
}

#[tokio::test]
async fn templates_can_be_overridden_from_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates").join(notify::TEXT_TEMPLATE),
        "Hallo {{ kommune_names }}:\n{% for call in calls %}* {{ call.title }} – {{ call.deadline }}\n{% endfor %}",
    )
    .unwrap();
    let templates = Templates::load(dir.path()).unwrap();
    assert_eq!(
        templates.overrides,
        vec![dir.path().join("templates").join(notify::TEXT_TEMPLATE)]
    );
    let mail = ahlen_preview(&cfg, &templates).await;
    assert!(
        mail.text.starts_with(
            "Hallo Ahlen:\n* Förderaufruf „Smarte Mobilität im ländlichen Raum“ <Pilot & Test> – Skizzen: 29.05.2026, 12:00 Uhr (noch 88 Tage)\n"
        ),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("&lt;Pilot &amp; Test&gt;"),
        "the HTML template is still the embedded one"
    );

    // A broken override fails the pass with the file's path instead of sending half a digest.
    std::fs::write(
        dir.path().join("templates").join(notify::HTML_TEMPLATE),
        "{% for call in calls %}{{ call.titel }}{% endfor %}",
    )
    .unwrap();
    let store = seeded_store().await;
    let error = notify::plan(&store, &cfg, today(), now(), notify::PlanMode::Due)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(notify::HTML_TEMPLATE), "{error}");
    assert!(store.outbox(None).await.unwrap().is_empty(), "nothing enqueued");
    std::fs::write(
        dir.path().join("templates").join(notify::HTML_TEMPLATE),
        "{% for call in calls %}",
    )
    .unwrap();
    let error = Templates::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("templates/digest.html.j2"), "{error}");
}

/// A typical later digest for Ahlen: one call new in the radar, one deadline moved,
/// one reminder 28 days before a deadline.
#[tokio::test]
async fn later_digest_with_news_change_and_reminder_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    let january = date(2026, 1, 15);
    let plan = notify::plan(&store, &cfg, january, now(), notify::PlanMode::Due)
        .await
        .unwrap();
    assert!(plan.mails.iter().all(|m| m.subject.contains("Übersicht")), "{plan}");

    // The mobility call's sketch deadline moves; a new call comes in.
    let mut mobility = mobility_call();
    let mut cutoff = DeadlineDate::on(date(2026, 6, 30));
    cutoff.time = NaiveTime::from_hms_opt(12, 0, 0);
    cutoff.label = Some("Skizzen".into());
    mobility.deadline = Deadline::Dates(vec![cutoff, DeadlineDate::on(date(2026, 10, 30))]);
    mobility.summary = "Neu formuliert: nur der Text ändert sich hier nicht allein.".into();
    store.upsert_call(&mobility.seal()).await.unwrap();
    let mut new_call = Call::new(
        "bmv-rss",
        "https://bmv.example/aufrufe/ladeinfrastruktur\u{7}",
        "Ladeinfrastruktur\tin Quartieren\u{1b}[31m",
        now(),
    );
    new_call.funder = Some("Bundesministerium für Verkehr".into());
    new_call.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 4, 30))]);
    new_call.amount_max_eur = Some(500_000);
    let new_call = new_call.seal();
    store.upsert_call(&new_call).await.unwrap();
    store
        .replace_matches(
            &new_call.id,
            &[passed(
                &new_call,
                "klima-mobilitaet",
                None,
                &["ahlen"],
                vec![
                    treffer("Ladeinfrastruktur", Field::Title),
                    criterion(Criterion::MembersOnly {
                        regions: vec!["leader-9plus".into()],
                    }),
                ],
            )],
        )
        .await
        .unwrap();

    // 28 days before the portal call's deadline (07.03.2026).
    let february = date(2026, 2, 7);
    let preview = notify::preview(
        &store,
        &cfg,
        &Templates::embedded(),
        february,
        now(),
        notify::PlanMode::Due,
    )
    .await
    .unwrap();
    let mail = preview
        .mails
        .into_iter()
        .find(|m| m.digest.kommune == "ahlen")
        .expect("a digest for Ahlen");
    assert_eq!(
        mail.digest.subject,
        "Förderradar für Ahlen: 1 neu im Radar, 1 Änderung, 1 Fristen-Erinnerung"
    );
    assert!(
        mail.text
            .contains("1 neu · 1 Friständerung · 1 Erinnerung · nächste Frist 07.03.2026")
    );
    assert!(
        mail.text
            .contains("Geändert: Frist 29.05.2026, 30.10.2026 → 30.06.2026, 30.10.2026")
    );
    // Control characters in titles become spaces; internal ids never show.
    assert!(mail.text.contains("* Ladeinfrastruktur in Quartieren"), "{}", mail.text);
    assert!(!mail.text.contains("leader-9plus") && !mail.html.contains("leader-9plus"));
    assert!(!mail.text.contains(new_call.id.as_str()) && !mail.html.contains(new_call.id.as_str()));
    assert!(!mail.html.contains("max-width") && !mail.html.contains("<script"));
    insta::assert_snapshot!("digest_ahlen_later_text", mail.text);
    insta::assert_snapshot!("digest_ahlen_later_html", mail.html);
}

/// Another Kommune's routing never shows; the own Kommune's does, by name.
#[tokio::test]
async fn reasons_name_only_the_recipients_own_routing() {
    use foerderradar::model::reason::PartialMember;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = seeded_store().await;
    let dorf = dorfmitte_call();
    let mut m = passed(
        &dorf,
        "innenstadt",
        Some("dorfladenbox"),
        &["ahlen", "beckum"],
        vec![treffer("Dorfmitte", Field::Title)],
    );
    m.reasons.push(Reason::PartialMember {
        kommune: "beckum".into(),
        membership: PartialMember {
            region: "LEADER-Region 9Plus".into(),
            part: "nur die Ortsteile Vellern und Neubeckum".into(),
        },
    });
    store.replace_matches(&dorf.id, &[m]).await.unwrap();
    let preview = notify::preview(
        &store,
        &cfg,
        &Templates::embedded(),
        today(),
        now(),
        notify::PlanMode::Due,
    )
    .await
    .unwrap();
    let of = |k: &str| preview.mails.iter().find(|m| m.digest.kommune == k).unwrap();
    let (ahlen, beckum) = (of("ahlen"), of("beckum"));
    assert!(
        !ahlen.text.contains("Vellern") && !ahlen.html.contains("Vellern"),
        "{}",
        ahlen.text
    );
    assert!(
        beckum.text.contains(
            "Beckum: nur teilweise im Gebiet von LEADER-Region 9Plus (nur die Ortsteile Vellern und Neubeckum)"
        ),
        "{}",
        beckum.text
    );
    for mail in [ahlen, beckum] {
        assert!(
            !mail.text.contains("(Titel)") && !mail.text.contains("Treffer:"),
            "{}",
            mail.text
        );
        assert!(mail.digest.calls.iter().all(|c| c.reasons.len() <= 3));
    }
}

/// `Store::get_calls`, which planning reads a digest's calls with: the stored calls
/// among the ids, in id order, an unknown id left out, the same on both backends.
async fn get_calls_reads_the_stored_calls_among_the_ids(store: foerderradar::store::AnyStore) {
    let calls = [serviceportal_call(), mobility_call(), dorfmitte_call()];
    for call in &calls {
        store.upsert_call(call).await.unwrap();
    }
    let mut ids: Vec<CallId> = calls.iter().map(|c| c.id.clone()).collect();
    ids.push(CallId("c-not-stored".into()));
    ids.reverse();
    let got = store.get_calls(&ids).await.unwrap();
    let mut expected: Vec<CallId> = calls.iter().map(|c| c.id.clone()).collect();
    expected.sort();
    assert_eq!(got.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), expected);
    for call in &got {
        let one = store.get_call(&call.id).await.unwrap().unwrap();
        assert_eq!(call.title, one.title);
        assert_eq!(call.links, one.links);
    }
    assert!(store.get_calls(&[]).await.unwrap().is_empty());
}

crate::on_both_backends!(get_calls_reads_the_stored_calls_among_the_ids);

/// `Store::begin_plan` and `Store::mark_plan_quiet` on both backends: quiet only under the
/// stamp it was marked with and only while nothing a plan reads changed; a change to a
/// call's content counts, a seen time does not.
async fn a_quiet_plan_holds_until_a_change_on_both_backends(store: foerderradar::store::AnyStore) {
    let portal = serviceportal_call();
    store.upsert_call(&portal).await.unwrap();
    assert!(!store.begin_plan("day-1").await.unwrap(), "never marked");
    store.mark_plan_quiet("day-1").await.unwrap();
    assert!(store.begin_plan("day-1").await.unwrap());
    assert!(!store.begin_plan("day-2").await.unwrap(), "another stamp");
    store.mark_plan_quiet("day-2").await.unwrap();
    assert!(store.begin_plan("day-2").await.unwrap());

    let mut seen_again = portal.clone();
    seen_again.last_seen = portal.last_seen + chrono::Duration::hours(1);
    store.upsert_call(&seen_again).await.unwrap();
    assert!(store.begin_plan("day-2").await.unwrap(), "a seen time is no change");

    let mut changed = seen_again.clone();
    changed.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 3, 20))]);
    store.upsert_call(&changed).await.unwrap();
    assert!(!store.begin_plan("day-2").await.unwrap(), "a new deadline is a change");
    store.mark_plan_quiet("day-2").await.unwrap();

    let m = passed(
        &changed,
        "verwaltung",
        None,
        &ALL,
        vec![treffer("Serviceportal", Field::Title)],
    );
    store.replace_matches(&changed.id, &[m]).await.unwrap();
    assert!(!store.begin_plan("day-2").await.unwrap(), "new matches are a change");

    // A digest of the plan itself leaves no mark; the same digest from elsewhere does.
    for (own_plan, quiet_after) in [(true, true), (false, false)] {
        assert!(!store.begin_plan(&format!("day-3-{own_plan}")).await.unwrap());
        let contact = format!("{own_plan}@ahlen.example");
        let mail = foerderradar::store::NewMail {
            contact: contact.clone(),
            kommune: "ahlen".into(),
            subject: "Förderradar".into(),
            message: b"Subject: x\r\n\r\nx".to_vec(),
            calls: vec![changed.id.clone()],
        };
        let update = foerderradar::store::DigestUpdate {
            digest_day: Some(today()),
            own_plan,
            ..Default::default()
        };
        store.enqueue_digest(&mail, &update, now()).await.unwrap();
        store.mark_plan_quiet(&format!("day-3-{own_plan}")).await.unwrap();
        let quiet = store.begin_plan(&format!("day-3-{own_plan}")).await.unwrap();
        assert_eq!(quiet, quiet_after, "own_plan = {own_plan}");
    }
}

crate::on_both_backends!(a_quiet_plan_holds_until_a_change_on_both_backends);
