//! Digests as a contact lives with them (issue 8), through the binary with `--today`
//! against a real SMTP server on 127.0.0.1 and a feed on wiremock: the first digest
//! is an overview, later ones carry only news; cadence and urgent items; reminders;
//! change notices and their debounce; feedback; signed links.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use chrono::{NaiveDate, Utc};
use foerderradar::model::feedback::{FeedbackAction, FeedbackEntry, FeedbackTargetKind};
use foerderradar::model::{Call, CallId};
use foerderradar::store::{OutboxStatus, SqliteStore, Store};
use mail_parser::{MessageParser, MimeHeaders};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::lean_pass::stage_row;
use crate::pass::{kommunen_toml, service_toml, strategy_toml};

/// One feed entry: a Glasfaser call for Kommunen (matches "Digitale Infrastruktur"),
/// or with `dorfladen` a call of the project "Smarte Dorfladenbox".
#[derive(Clone)]
struct Item {
    slug: String,
    title: String,
    deadline: NaiveDate,
    rate: u32,
}

fn glasfaser(n: usize, deadline: NaiveDate) -> Item {
    Item {
        slug: format!("glasfaser-{n}"),
        title: format!("Glasfaser-Ausbau in Gewerbegebieten, Aufruf {n}"),
        deadline,
        rate: 90,
    }
}

fn dorfladen(n: usize, deadline: NaiveDate) -> Item {
    Item {
        slug: format!("dorfladen-{n}"),
        title: format!("Dorfladen mit Paketstation, Aufruf {n}"),
        deadline,
        rate: 70,
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn feed(base: &str, items: &[Item]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Aufrufe</title>\
         <link>https://bund.example/</link><description>Aufrufe</description>\n",
    );
    for item in items {
        out.push_str(&format!(
            "<item><title>{}</title><link>{base}/calls/{}.html</link><guid>{}</guid>\
             <description><![CDATA[Gefördert wird der Ausbau vor Ort. Antragsberechtigt sind Kommunen und Landkreise. \
             Die Förderung erfolgt bundesweit. Gefördert werden bis zu {} Prozent der zuwendungsfähigen Ausgaben. \
             Anträge können bis zum {} eingereicht werden.]]></description></item>\n",
            item.title,
            item.slug,
            item.slug,
            item.rate,
            item.deadline.format("%d.%m.%Y")
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// A deployment: config, data, the feed server and an SMTP server.
struct Deployment {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
    server: MockServer,
    smtp: mpsc::Receiver<mogimail::Email>,
    /// Id of the last outbox mail looked at.
    seen: i64,
}

impl Deployment {
    async fn start(kommunen: &str, service_extra: &str) -> Deployment {
        let server = MockServer::start().await;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, smtp) = mpsc::channel();
        // mogimail serves one connection at a time; a delivery may hold one connection
        // open in its pool while opening another, so several servers share the socket.
        for _ in 0..4 {
            let (listener, tx) = (listener.try_clone().unwrap(), tx.clone());
            std::thread::spawn(move || {
                let _ = mogimail::SmtpServer::new("smtp.test").start_with_listener(listener, tx);
            });
        }
        let tmp = tempfile::tempdir().unwrap();
        let (config, data) = (tmp.path().join("config"), tmp.path().join("data"));
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("foerderradar.toml"),
            format!("{}\n{service_extra}", service_toml(port)),
        )
        .unwrap();
        std::fs::write(
            config.join("sources.toml"),
            format!(
                "[[source]]\nid = \"bund\"\nkind = \"rss\"\nurl = \"{}/feed.xml\"\nlabel = \"Testfeed\"\n",
                server.uri()
            ),
        )
        .unwrap();
        std::fs::write(config.join("strategy.toml"), strategy_toml()).unwrap();
        std::fs::write(config.join("kommunen.toml"), kommunen).unwrap();
        Deployment {
            _tmp: tmp,
            config,
            data,
            server,
            smtp,
            seen: 0,
        }
    }

    async fn serve(&self, items: &[Item]) {
        self.server.reset().await;
        Mock::given(method("GET"))
            .and(path("/feed.xml"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/rss+xml")
                    .set_body_string(feed(&self.server.uri(), items)),
            )
            .mount(&self.server)
            .await;
    }

    fn run(&self, today: NaiveDate, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut command = Command::cargo_bin("foerderradar").unwrap();
        command
            .arg("--config")
            .arg(&self.config)
            .arg("--data")
            .arg(&self.data)
            .args(["--today", &today.to_string()])
            .args(args)
            .timeout(Duration::from_secs(120));
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{args:?} on {today}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Collect and match on `today` (the feed as served now).
    fn refresh(&self, today: NaiveDate) {
        self.run(today, &["collect"], &[]);
        self.run(today, &["match"], &[]);
    }

    /// `notify` on `today`: the digests sent, each checked to have arrived over SMTP.
    async fn notify(&mut self, today: NaiveDate, args: &[&str], env: &[(&str, &str)]) -> Vec<Mail> {
        let mut all = vec!["notify"];
        all.extend_from_slice(args);
        self.run(today, &all, env);
        self.sent().await
    }

    /// Digests sent since the last look, in outbox order.
    async fn sent(&mut self) -> Vec<Mail> {
        let store = SqliteStore::open(&self.data.join("foerderradar.sqlite")).await.unwrap();
        let mut mails: Vec<_> = store
            .outbox(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.id > self.seen && !m.contact.starts_with("smart-region@"))
            .collect();
        for m in &mails {
            assert_eq!(
                m.status,
                OutboxStatus::Sent,
                "#{} to {}: {:?}",
                m.id,
                m.contact,
                m.last_error
            );
        }
        store.close().await;
        mails.sort_by_key(|m| m.id);
        if let Some(last) = mails.last() {
            self.seen = last.id;
        }
        let parsed: Vec<Mail> = mails.iter().map(|m| Mail::parse(&m.contact, &m.message)).collect();
        // Every one of them went through the SMTP server.
        for mail in &parsed {
            let got = self
                .smtp
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("mail to {} not received over SMTP", mail.to));
            assert!(got.data.contains(&mail.message_id), "{}", mail.subject);
        }
        parsed
    }

    async fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.data.join("foerderradar.sqlite")).await.unwrap()
    }

    async fn call_id(&self, slug: &str) -> CallId {
        let store = self.store().await;
        let url = format!("{}/calls/{slug}.html", self.server.uri());
        let calls: Vec<Call> = store.list_calls(&Default::default()).await.unwrap();
        store.close().await;
        calls
            .into_iter()
            .find(|c| c.url == url)
            .unwrap_or_else(|| panic!("no call {url}"))
            .id
    }
}

/// A sent digest, decoded.
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    text: String,
    html: String,
    attachment: Option<String>,
    headers: String,
}

impl Mail {
    fn parse(to: &str, raw: &[u8]) -> Mail {
        let msg = MessageParser::default().parse(raw).expect("parseable message");
        let attachment = msg
            .attachments()
            .find(|a| a.attachment_name() == Some("foerderradar-liste.html"))
            .map(|a| String::from_utf8_lossy(a.contents()).into_owned());
        let raw_text = String::from_utf8_lossy(raw);
        let headers = raw_text[..raw_text.find("\r\n\r\n").unwrap_or(raw_text.len())].to_string();
        Mail {
            to: to.to_string(),
            subject: msg.subject().unwrap_or_default().to_string(),
            message_id: msg.message_id().unwrap_or_default().to_string(),
            text: msg.body_text(0).unwrap_or_default().into_owned(),
            html: msg.body_html(0).unwrap_or_default().into_owned(),
            attachment,
            headers,
        }
    }

    /// Items of the kind "* <title>" in the text part.
    fn listed(&self) -> Vec<String> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("* "))
            .map(|l| l.split("  [").next().unwrap().trim().to_string())
            .collect()
    }

    fn assert_no_internal_ids(&self) {
        for id in [
            "leader-9plus",
            "digitale-infrastruktur",
            "innenstadt-dorfmitte",
            "klima-mobilitaet-umwelt",
            "dorfladenbox",
        ] {
            for (part, body) in [("text", &self.text), ("html", &self.html)] {
                assert!(!body.contains(id), "{part} of the mail to {} names {id}", self.to);
            }
        }
        let call_id = regex_like_call_id(&self.text) || regex_like_call_id(&self.html);
        assert!(!call_id, "a call id in the mail to {}", self.to);
    }
}

/// "c-" followed by 16 hex digits, as [`CallId::from_url`] makes them.
fn regex_like_call_id(text: &str) -> bool {
    text.match_indices("c-").any(|(i, _)| {
        let rest = &text[i + 2..];
        rest.len() >= 16 && rest[..16].chars().all(|c| c.is_ascii_hexdigit())
    })
}

fn to<'m>(mails: &'m [Mail], address: &str) -> &'m Mail {
    mails.iter().find(|m| m.to == address).unwrap_or_else(|| {
        let got: Vec<_> = mails
            .iter()
            .map(|m| format!("{}: {}\n{}", m.to, m.subject, m.text))
            .collect();
        panic!("no mail to {address} in {got:#?}")
    })
}

const AHLEN: &str = "foerdermittel@ahlen.example.org";
const DIGITAL: &str = "digital@ahlen.example.org";
const BEELEN: &str = "foerdermittel@beelen.example.org";

#[tokio::test(flavor = "multi_thread")]
async fn first_digest_is_an_overview_then_only_news() {
    let mut d = Deployment::start(kommunen_toml(), "").await;
    let first_day = day("2026-11-26");
    // 200 matching calls, deadlines spread over 2027.
    let mut items: Vec<Item> = (0..200)
        .map(|n| glasfaser(n, day("2027-01-15") + chrono::Duration::days(n as i64)))
        .collect();
    d.serve(&items).await;
    let check = d.run(first_day, &["check"], &[]);
    assert!(check.status.success());

    d.run(first_day, &["run", "--once"], &[]);
    let mails = d.sent().await;
    assert_eq!(mails.len(), 3, "one overview per contact");
    for mail in &mails {
        assert!(
            mail.subject
                .starts_with("Förderradar: Übersicht – 10 passende Förderprogramme für "),
            "{}",
            mail.subject
        );
        assert_eq!(mail.listed().len(), 10, "{}", mail.text);
        assert!(mail.html.len() < 100_000, "HTML part {} bytes", mail.html.len());
        assert!(
            mail.text.contains("Dazu passen 190 weitere offene Programme"),
            "{}",
            mail.text
        );
        assert!(!mail.text.contains("neuer Aufruf") && !mail.html.contains("neuer Aufruf"));
        let list = mail.attachment.as_deref().expect("the full list is attached");
        for n in 0..200 {
            assert!(
                list.contains(&format!("Aufruf {n}<")),
                "call {n} missing in the attachment"
            );
        }
        // Most relevant first, then by deadline: equal scores here, so the earliest ten.
        for n in 0..10 {
            assert!(
                mail.listed()
                    .contains(&format!("Glasfaser-Ausbau in Gewerbegebieten, Aufruf {n}"))
            );
        }
        assert!(
            mail.text
                .contains("10 passend · 190 weitere in der Anlage · nächste Frist 15.01.2027")
        );
        // Without [web] no link is written; the footer names the admin.
        assert!(
            mail.text
                .contains("kurze Nachricht an smart-region@kreis-warendorf.example.org")
        );
        assert!(!mail.headers.contains("List-Unsubscribe"));
        mail.assert_no_internal_ids();
    }

    // The same day and the next: nothing new, nothing sent.
    assert!(d.notify(first_day, &[], &[]).await.is_empty());
    d.refresh(day("2026-11-27"));
    assert!(d.notify(day("2026-11-27"), &[], &[]).await.is_empty());

    // A new matching call: only that one, as "neu im Radar".
    items.push(glasfaser(200, day("2027-09-30")));
    d.serve(&items).await;
    d.refresh(day("2026-11-28"));
    let mails = d.notify(day("2026-11-28"), &[], &[]).await;
    assert_eq!(mails.len(), 3);
    for mail in &mails {
        assert_eq!(
            mail.listed(),
            ["Glasfaser-Ausbau in Gewerbegebieten, Aufruf 200"],
            "{}",
            mail.text
        );
        assert!(mail.subject.ends_with(": 1 neu im Radar"), "{}", mail.subject);
        assert!(mail.text.contains("[neu im Radar]"));
        assert!(mail.attachment.is_none());
        mail.assert_no_internal_ids();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn weekly_contact_gets_nothing_on_other_days_except_urgent_items() {
    let kommunen = kommunen_toml().replace(
        "email = \"foerdermittel@beelen.example.org\"",
        "email = \"foerdermittel@beelen.example.org\"\ncadence = \"wöchentlich:montag\"",
    );
    let mut d = Deployment::start(&kommunen, "").await;
    let thursday = day("2026-11-26");
    let mut items = vec![glasfaser(0, day("2027-06-30"))];
    d.serve(&items).await;
    d.refresh(thursday);
    // The first digest goes out at once, whatever the cadence.
    assert_eq!(d.notify(thursday, &[], &[]).await.len(), 3);

    // Friday: one call with time, one closing in 13 days (urgent).
    let friday = day("2026-11-27");
    items.push(glasfaser(1, day("2027-05-31")));
    items.push(glasfaser(2, day("2026-12-10")));
    d.serve(&items).await;
    d.refresh(friday);
    let mails = d.notify(friday, &[], &[]).await;
    assert_eq!(
        mails.len(),
        3,
        "daily contacts get both, the weekly one the urgent call"
    );
    assert_eq!(to(&mails, AHLEN).listed().len(), 2);
    let beelen = to(&mails, BEELEN);
    assert_eq!(beelen.listed(), ["Glasfaser-Ausbau in Gewerbegebieten, Aufruf 2"]);
    assert!(beelen.subject.ends_with("Frist in 13 Tagen"), "{}", beelen.subject);

    // Weekend: nothing for anybody.
    for weekend in ["2026-11-28", "2026-11-29"] {
        d.refresh(day(weekend));
        assert!(d.notify(day(weekend), &[], &[]).await.is_empty(), "{weekend}");
    }
    // Monday: the weekly digest with the call that waited.
    let monday = day("2026-11-30");
    d.refresh(monday);
    let mails = d.notify(monday, &[], &[]).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, BEELEN);
    assert_eq!(mails[0].listed(), ["Glasfaser-Ausbau in Gewerbegebieten, Aufruf 1"]);

    // `notify --now` sends what is pending regardless of the cadence.
    items.push(glasfaser(3, day("2027-08-31")));
    d.serve(&items).await;
    let tuesday = day("2026-12-01");
    d.refresh(tuesday);
    let mails = d.notify(tuesday, &[], &[]).await;
    assert!(mails.iter().all(|m| m.to != BEELEN), "not Beelen's day");
    let mails = d.notify(tuesday, &["--now"], &[]).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, BEELEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_paused_in_kommunen_toml_gets_nothing_until_the_day_after() {
    let kommunen = kommunen_toml().replace(
        "email = \"foerdermittel@beelen.example.org\"",
        "email = \"foerdermittel@beelen.example.org\"\npaused_until = \"2026-11-27\"",
    );
    let mut d = Deployment::start(&kommunen, "").await;
    let items = vec![glasfaser(0, day("2027-06-30"))];
    d.serve(&items).await;
    let thursday = day("2026-11-26");
    d.refresh(thursday);
    let mails = d.notify(thursday, &[], &[]).await;
    assert_eq!(mails.len(), 2, "everybody but the paused contact");
    assert!(mails.iter().all(|m| m.to != BEELEN));
    let friday = day("2026-11-27");
    d.refresh(friday);
    assert!(
        d.notify(friday, &[], &[]).await.is_empty(),
        "still paused on its last day"
    );
    let saturday = day("2026-11-28");
    d.refresh(saturday);
    let mails = d.notify(saturday, &[], &[]).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, BEELEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_change_notices_and_flip_flops() {
    let mut d = Deployment::start(kommunen_toml(), "").await;
    let deadline = day("2027-02-26");
    let call = glasfaser(0, deadline);
    d.serve(std::slice::from_ref(&call)).await;
    d.refresh(day("2026-11-26"));
    assert_eq!(d.notify(day("2026-11-26"), &[], &[]).await.len(), 3);

    // 29 days before: nothing; 28 days before: a reminder; the day after: nothing.
    assert!(d.notify(day("2027-01-28"), &[], &[]).await.is_empty());
    let mails = d.notify(day("2027-01-29"), &[], &[]).await;
    assert_eq!(mails.len(), 3);
    for mail in &mails {
        assert!(mail.text.contains("FRISTEN-ERINNERUNG"), "{}", mail.text);
        assert!(mail.text.contains("26.02.2027 (noch 28 Tage)"), "{}", mail.text);
        assert!(mail.html.contains("Fristen-Erinnerung"));
        assert!(mail.subject.contains("1 Fristen-Erinnerung"), "{}", mail.subject);
        assert!(mail.listed().is_empty(), "nothing new");
    }
    assert!(d.notify(day("2027-01-30"), &[], &[]).await.is_empty());
    // 7 days before: the last reminder.
    let mails = d.notify(day("2027-02-19"), &[], &[]).await;
    assert_eq!(mails.len(), 3);
    assert!(mails[0].text.contains("26.02.2027 (noch 7 Tage)"), "{}", mails[0].text);

    // The deadline is extended: one change notice.
    let mut extended = call.clone();
    extended.deadline = day("2027-03-31");
    d.serve(std::slice::from_ref(&extended)).await;
    d.refresh(day("2027-02-20"));
    let mails = d.notify(day("2027-02-20"), &[], &[]).await;
    assert_eq!(mails.len(), 3);
    for mail in &mails {
        assert!(
            mail.text.contains("Geändert: Frist 26.02.2027 → 31.03.2027"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("Geändert: Frist 26.02.2027 → 31.03.2027"));
        assert!(mail.text.contains("1 Friständerung"), "{}", mail.text);
    }

    // It flips back and forth: announced once only.
    for (i, version) in [&call, &extended, &call, &extended].into_iter().enumerate() {
        let today = day("2027-02-21") + chrono::Duration::days(i as i64);
        d.serve(std::slice::from_ref(version)).await;
        d.refresh(today);
        assert!(d.notify(today, &[], &[]).await.is_empty(), "flip {i}");
    }

    // A change that reverts before the next digest is never announced.
    let mut moved = extended.clone();
    moved.deadline = day("2027-04-15");
    d.serve(std::slice::from_ref(&moved)).await;
    d.refresh(day("2027-02-25"));
    d.serve(std::slice::from_ref(&extended)).await;
    d.refresh(day("2027-02-25"));
    assert!(d.notify(day("2027-02-25"), &[], &[]).await.is_empty());

    // A cosmetic change of the text never triggers a notice; a changed rate does.
    let mut retitled = extended.clone();
    retitled.title = "Glasfaser-Ausbau in Gewerbegebieten (Aufruf 0, neu formuliert)".into();
    d.serve(std::slice::from_ref(&retitled)).await;
    d.refresh(day("2027-02-26"));
    assert!(d.notify(day("2027-02-26"), &[], &[]).await.is_empty());
    retitled.rate = 80;
    d.serve(std::slice::from_ref(&retitled)).await;
    d.refresh(day("2027-02-27"));
    let mails = d.notify(day("2027-02-27"), &[], &[]).await;
    to(&mails, BEELEN);
    assert_eq!(mails.len(), 3);
    assert!(mails[0].text.contains("Geändert: Förderquote"), "{}", mails[0].text);
}

async fn feedback(d: &Deployment, kind: FeedbackTargetKind, action: FeedbackAction, target: &str) {
    let store = d.store().await;
    store
        .record_feedback(&FeedbackEntry {
            id: 0,
            at: Utc::now(),
            actor: "cli".into(),
            contact: Some(AHLEN.into()),
            kommune: Some("ahlen".into()),
            action,
            target_kind: kind,
            target: target.into(),
            reason: Some("Test".into()),
        })
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dismissed_calls_and_muted_projects_never_come_back() {
    let mut d = Deployment::start(kommunen_toml(), "").await;
    let mut items = vec![glasfaser(0, day("2027-03-31")), dorfladen(0, day("2027-06-30"))];
    d.serve(&items).await;
    d.refresh(day("2026-11-26"));
    let mails = d.notify(day("2026-11-26"), &[], &[]).await;
    assert_eq!(to(&mails, AHLEN).listed().len(), 2);

    let dismissed = d.call_id("glasfaser-0").await;
    feedback(
        &d,
        FeedbackTargetKind::Call,
        FeedbackAction::PasstNicht,
        dismissed.as_str(),
    )
    .await;
    feedback(&d, FeedbackTargetKind::Project, FeedbackAction::Mute, "dorfladenbox").await;

    // The dismissed call changes, the muted project gets a new call, and a new Glasfaser call comes.
    items[0].deadline = day("2027-04-30");
    items[1].deadline = day("2027-07-31");
    items.push(dorfladen(1, day("2027-05-31")));
    items.push(glasfaser(1, day("2027-05-31")));
    d.serve(&items).await;
    d.refresh(day("2026-11-27"));
    let mails = d.notify(day("2026-11-27"), &[], &[]).await;
    let ahlen = to(&mails, AHLEN);
    assert_eq!(
        ahlen.listed(),
        ["Glasfaser-Ausbau in Gewerbegebieten, Aufruf 1"],
        "{}",
        ahlen.text
    );
    assert!(!ahlen.text.contains("Geändert"), "{}", ahlen.text);
    assert!(!ahlen.text.contains("Dorfladen"), "{}", ahlen.text);
    // Beelen said nothing: it gets both change notices and both new calls.
    let beelen = to(&mails, BEELEN);
    assert_eq!(beelen.listed().len(), 2, "{}", beelen.text);
    assert_eq!(beelen.text.matches("Geändert: Frist").count(), 2, "{}", beelen.text);

    // No reminder for the dismissed call either (28 days before 30.04.2027).
    let mails = d.notify(day("2027-04-02"), &[], &[]).await;
    assert!(mails.iter().all(|m| m.to != AHLEN), "dismissed call reminded");
    assert!(to(&mails, BEELEN).text.contains("FRISTEN-ERINNERUNG"));
    // The dismissal holds for the contact who said it, not for a colleague.
    assert!(to(&mails, DIGITAL).text.contains("FRISTEN-ERINNERUNG"));
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_links_and_list_unsubscribe_when_a_web_address_is_configured() {
    let web =
        "[web]\npublic_url = \"https://radar.example.org/\"\nlink_secret_env = \"FOERDERRADAR_TEST_LINK_SECRET\"\n";
    let mut d = Deployment::start(kommunen_toml(), web).await;
    d.serve(&[glasfaser(0, day("2027-03-31")), dorfladen(0, day("2027-06-30"))])
        .await;
    d.refresh(day("2026-11-26"));
    let secret = [("FOERDERRADAR_TEST_LINK_SECRET", "0123456789abcdef0123456789abcdef-test")];
    let mails = d.notify(day("2026-11-26"), &[], &secret).await;
    let ahlen = to(&mails, AHLEN);
    for label in [
        "Passt nicht",
        "Nichts mehr zu diesem Projekt",
        "Einstellungen",
        "Abbestellen",
    ] {
        assert!(ahlen.html.contains(label), "{label} missing");
    }
    assert!(
        ahlen.text.contains("Abbestellen:   https://radar.example.org/l/"),
        "{}",
        ahlen.text
    );
    assert!(
        ahlen
            .headers
            .contains("List-Unsubscribe: <https://radar.example.org/l/"),
        "{}",
        ahlen.headers
    );
    assert!(
        ahlen
            .headers
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
    assert!(!ahlen.text.contains("kurze Nachricht an"));
    // The links verify for this contact; tampered ones do not.
    let signer = foerderradar::notify::links::LinkSigner::new(
        secret[0].1.as_bytes().to_vec(),
        "https://radar.example.org/".parse().unwrap(),
        Duration::from_secs(180 * 86_400),
    );
    let token = ahlen
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Abbestellen:   https://radar.example.org/l/"))
        .unwrap()
        .trim();
    let claims = signer.verify(token, Utc::now()).unwrap();
    assert_eq!(claims.contact, AHLEN);
    let mut tampered = token.to_string();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(signer.verify(&tampered, Utc::now()).is_err());
    let expired = Utc::now() + chrono::Duration::days(181);
    assert!(signer.verify(token, expired).is_err(), "links expire after 180 days");
}

/// Issue 12: planning reads a digest's calls in a few set-based statements, not one
/// per call, and reads each call once per pass however many contacts get it. Counts,
/// not times.
#[tokio::test(flavor = "multi_thread")]
async fn planning_reads_calls_in_batches_not_one_statement_per_call() {
    let mut d = Deployment::start(kommunen_toml(), "").await;
    let first_day = day("2026-11-26");
    let calls = 200;
    let items: Vec<Item> = (0..calls)
        .map(|n| glasfaser(n, day("2027-01-15") + chrono::Duration::days(n as i64)))
        .collect();
    d.serve(&items).await;
    d.refresh(first_day);

    let out = d.run(first_day, &["--timings", "notify"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let plan = stage_row(&stderr, "plan");
    let (calls_read, statements) = (plan[4], plan[6]);
    let mails = d.sent().await;
    assert_eq!(mails.len(), 3, "one overview per contact");
    for mail in &mails {
        let list = mail.attachment.as_deref().expect("the full list is attached");
        assert_eq!(
            list.matches("Glasfaser-Ausbau in Gewerbegebieten, Aufruf").count(),
            calls
        );
    }
    // Three contacts share the 200 calls: each is read once.
    assert_eq!(calls_read, calls as f64, "{stderr}");
    // Reading them one by one took a statement per call (over 260 here); the digests'
    // own reads and writes are about twenty statements each.
    assert!(
        statements < calls as f64 / 2.0,
        "{statements} statements for {calls} calls in 3 digests:\n{stderr}"
    );

    // Nothing new on the same day: a few reads per contact (settings, feedback, digest
    // state, its received calls in one statement), nothing written.
    let out = d.run(first_day, &["--timings", "notify"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let plan = stage_row(&stderr, "plan");
    assert!(d.sent().await.is_empty());
    assert_eq!(plan[5], 0.0, "{stderr}");
    assert!(
        plan[6] <= 8.0 * 3.0 + 1.0,
        "{} statements with nothing to send:\n{stderr}",
        plan[6]
    );
}

/// With a web address, the overview links to the contact's page for the calls it does
/// not list instead of attaching thousands of them to every contact's first mail; a
/// later digest still attaches the new calls it could not list.
#[tokio::test(flavor = "multi_thread")]
async fn with_a_web_address_the_overview_links_to_the_page_instead_of_attaching_the_list() {
    let web =
        "[web]\npublic_url = \"https://radar.example.org/\"\nlink_secret_env = \"FOERDERRADAR_TEST_LINK_SECRET\"\n";
    let mut d = Deployment::start(kommunen_toml(), web).await;
    let secret = [("FOERDERRADAR_TEST_LINK_SECRET", "0123456789abcdef0123456789abcdef-test")];
    let mut items: Vec<Item> = (0..12)
        .map(|n| glasfaser(n, day("2027-01-15") + chrono::Duration::days(n as i64)))
        .collect();
    d.serve(&items).await;
    d.refresh(day("2026-11-26"));
    let mails = d.notify(day("2026-11-26"), &[], &secret).await;
    let ahlen = to(&mails, AHLEN);
    assert!(ahlen.attachment.is_none(), "no list attached to the overview");
    assert!(
        ahlen
            .text
            .contains("Dazu passen 2 weitere offene Programme: die vollständige")
            && ahlen.text.contains("Liste steht unter https://radar.example.org/l/"),
        "{}",
        ahlen.text
    );
    assert!(
        ahlen.text.contains("10 passend · 2 weitere im Förderradar"),
        "{}",
        ahlen.text
    );
    assert!(
        ahlen
            .html
            .contains("die vollständige Liste steht <a href=\"https:&#x2f;&#x2f;radar.example.org&#x2f;l&#x2f;"),
        "{}",
        ahlen.html
    );
    assert!(!ahlen.text.contains("Anhang") && !ahlen.html.contains("Anhang"));

    // 20 new calls the next day: 15 listed, 5 in the attached list.
    items.extend((100..120).map(|n| glasfaser(n, day("2027-05-01"))));
    d.serve(&items).await;
    d.refresh(day("2026-11-27"));
    let mails = d.notify(day("2026-11-27"), &[], &secret).await;
    let ahlen = to(&mails, AHLEN);
    let list = ahlen.attachment.as_deref().expect("the later digest attaches its rest");
    assert_eq!(
        list.matches("Glasfaser-Ausbau in Gewerbegebieten, Aufruf 1").count(),
        20
    );
    assert!(
        ahlen
            .text
            .contains("Liste steht im Anhang (foerderradar-liste.html) und unter https://radar.example.org/l/"),
        "{}",
        ahlen.text
    );
    assert!(!list.contains("/l/"), "no signed link in the attachment");
}
