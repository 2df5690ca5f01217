//! On-demand reports: selection, filters, order, the JSON contract and the
//! German Markdown/HTML/CSV renderings.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::config::Config;
use foerderradar::model::reason::{Criterion, Field, Reason};

use crate::support::{criterion, treffer};
use foerderradar::model::{
    ApplicantCategory, Bundesland, Call, CallStatus, Deadline, DeadlineDate, FundingRate, Match, Region,
};
use foerderradar::report::{self, ReportError, ReportFormat, ReportQuery};
use foerderradar::store::{SqliteStore, Store};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn as_of() -> NaiveDate {
    date(2026, 11, 26)
}

/// The strategy and Kommunen of `tests/fixtures/report/`.
fn config() -> Config {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    Config::load(&dir).unwrap_or_else(|e| panic!("{}: {:?}", dir.display(), e.0))
}

fn hit(call: &Call, feld: &str, project: Option<&str>, score: f64, kommunen: &[&str], reasons: Vec<Reason>) -> Match {
    Match {
        call_id: call.id.clone(),
        handlungsfeld: feld.into(),
        project: project.map(str::to_string),
        score,
        threshold: 2.0,
        passed: true,
        kommunen: kommunen.iter().map(|k| k.to_string()).collect(),
        reasons,
    }
}

fn miss(call: &Call, feld: &str) -> Match {
    Match {
        passed: false,
        score: 0.7,
        ..hit(call, feld, None, 0.7, &["ahlen"], vec![treffer("Radweg", Field::Text)])
    }
}

fn new_call(slug: &str, title: &str) -> Call {
    Call::new(
        "fdb",
        format!("https://foerder.example/{slug}"),
        title,
        Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
    )
}

/// Seven calls covering every selection rule; returns the store.
async fn seeded() -> SqliteStore {
    let store = SqliteStore::memory().await.unwrap();
    let mut modell = new_call("modellregionen", "Digitale Modellregionen");
    modell.funder = Some("Ministerium für Digitales NRW".into());
    modell.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 12, 31))]);
    modell.funding_rate = Some(FundingRate { min: None, max: 80.0 });
    modell.amount_max_eur = Some(140_000);
    modell.applicants.categories = BTreeSet::from([ApplicantCategory::Kommune, ApplicantCategory::Zweckverband]);
    modell.regions = vec![Region::Land(Bundesland::NordrheinWestfalen)];

    let mut glasfaser = new_call("glasfaser", "Glasfaser & Breitband <Ausbau>; \"Gigabit\"");
    glasfaser.funder = Some("Bund".into());
    glasfaser.deadline = Deadline::Rolling;
    glasfaser.funding_rate = Some(FundingRate {
        min: Some(50.0),
        max: 90.5,
    });
    glasfaser.regions = vec![Region::Bundesweit];
    glasfaser.applicants.raw = vec!["Gebietskörperschaften".into()];

    let mut klima = new_call("klima", "Klimaschutz im Quartier");
    klima.deadline = Deadline::Unknown;

    let mut stufen = new_call("stufen", "Smarte Dörfer");
    stufen.deadline = Deadline::Dates(vec![
        DeadlineDate {
            label: Some("Stufe 1".into()),
            ..DeadlineDate::on(date(2026, 12, 1))
        },
        DeadlineDate {
            label: Some("Stufe 2".into()),
            ..DeadlineDate::on(date(2027, 3, 1))
        },
    ]);

    let mut abgelaufen = new_call("abgelaufen", "Abgelaufener Aufruf");
    abgelaufen.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2026, 1, 31))]);
    let mut geschlossen = new_call("geschlossen", "Geschlossener Aufruf");
    geschlossen.status = CallStatus::Closed;
    let ohne_treffer = new_call("ohne", "Aufruf ohne Treffer");
    let knapp = new_call("knapp", "Knapp daneben");

    for call in [
        &modell,
        &glasfaser,
        &klima,
        &stufen,
        &abgelaufen,
        &geschlossen,
        &ohne_treffer,
        &knapp,
    ] {
        store.upsert_call(&call.clone().seal()).await.unwrap();
    }
    let matches = [
        (
            &modell,
            vec![
                hit(
                    &modell,
                    "verwaltung",
                    None,
                    2.4,
                    &["ahlen", "beckum", "telgte"],
                    vec![treffer("Verwaltung", Field::Title)],
                ),
                hit(
                    &modell,
                    "verwaltung",
                    Some("rathaus"),
                    3.5,
                    &["ahlen", "telgte"],
                    vec![
                        treffer("Onlinezugang", Field::Text),
                        criterion(Criterion::DeadlineAhead {
                            days: 35,
                            date: date(2026, 12, 31),
                        }),
                    ],
                ),
                miss(&modell, "klima"),
            ],
        ),
        (
            &glasfaser,
            vec![hit(
                &glasfaser,
                "infrastruktur",
                Some("glasfaser"),
                4.0,
                &["beckum"],
                vec![treffer("Glasfaser", Field::Title)],
            )],
        ),
        (
            &klima,
            vec![hit(
                &klima,
                "klima",
                None,
                2.1,
                &["ahlen"],
                vec![treffer("Klimaschutz", Field::Title)],
            )],
        ),
        (
            &stufen,
            vec![hit(&stufen, "verwaltung", None, 2.0, &["telgte"], vec![])],
        ),
        (
            &abgelaufen,
            vec![hit(&abgelaufen, "verwaltung", None, 3.0, &["ahlen"], vec![])],
        ),
        (
            &geschlossen,
            vec![hit(&geschlossen, "klima", None, 3.0, &["ahlen"], vec![])],
        ),
        (&knapp, vec![miss(&knapp, "klima")]),
    ];
    for (call, m) in matches {
        store.replace_matches(&call.id, &m).await.unwrap();
    }
    store
}

fn titles(report: &report::Report) -> Vec<&str> {
    report.calls.iter().map(|c| c.title.as_str()).collect()
}

#[tokio::test]
async fn default_report_lists_open_calls_with_passed_matches_by_deadline() {
    let store = seeded().await;
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    assert_eq!(
        titles(&report),
        [
            "Smarte Dörfer",
            "Digitale Modellregionen",
            "Glasfaser & Breitband <Ausbau>; \"Gigabit\"",
            "Klimaschutz im Quartier"
        ]
    );
    let modell = &report.calls[1];
    assert_eq!(modell.matches.len(), 2, "the near miss is left out");
    assert_eq!(
        modell.matches[0].project.as_deref(),
        Some("rathaus"),
        "best match first"
    );
    assert_eq!(report.calls[0].deadline, Some(date(2026, 12, 1)));
}

#[tokio::test]
async fn all_lists_every_stored_call() {
    let store = seeded().await;
    let q = ReportQuery {
        all: true,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &q).await.unwrap();
    assert_eq!(report.calls.len(), 8);
    let last = titles(&report)[3..].to_vec();
    // Unknown deadlines (title order), then the expired one.
    assert_eq!(
        last,
        [
            "Aufruf ohne Treffer",
            "Geschlossener Aufruf",
            "Klimaschutz im Quartier",
            "Knapp daneben",
            "Abgelaufener Aufruf"
        ]
    );
    let ohne = report.calls.iter().find(|c| c.title == "Aufruf ohne Treffer").unwrap();
    assert!(ohne.matches.is_empty());
    let knapp = report.calls.iter().find(|c| c.title == "Knapp daneben").unwrap();
    assert!(knapp.matches.is_empty(), "failed matches never show");
}

#[tokio::test]
async fn filters_narrow_calls_and_matches() {
    let store = seeded().await;
    let cfg = config();
    let by_kommune = ReportQuery {
        kommune: Some("beckum".into()),
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &cfg, &by_kommune).await.unwrap();
    assert_eq!(
        titles(&report),
        ["Digitale Modellregionen", "Glasfaser & Breitband <Ausbau>; \"Gigabit\""]
    );
    assert_eq!(
        report.calls[0].matches.len(),
        1,
        "the Rathaus match is not routed to Beckum"
    );
    assert_eq!(report.filters, ["Kommune: Beckum"]);

    let by_project = ReportQuery {
        project: Some("rathaus".into()),
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &cfg, &by_project).await.unwrap();
    assert_eq!(titles(&report), ["Digitale Modellregionen"]);
    assert!(
        report.calls[0]
            .matches
            .iter()
            .all(|m| m.project.as_deref() == Some("rathaus"))
    );

    let by_field = ReportQuery {
        handlungsfeld: Some("klima".into()),
        all: true,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &cfg, &by_field).await.unwrap();
    assert_eq!(
        titles(&report),
        ["Geschlossener Aufruf", "Klimaschutz im Quartier"],
        "all + filter: only calls it names"
    );
}

#[tokio::test]
async fn unknown_filter_ids_are_errors_naming_the_known_ones() {
    let store = seeded().await;
    let q = ReportQuery {
        kommune: Some("muenster".into()),
        ..ReportQuery::new(as_of())
    };
    let err = report::build(&store, &config(), &q).await.unwrap_err();
    assert!(matches!(err, ReportError::UnknownId { .. }));
    assert_eq!(
        err.to_string(),
        "unknown Kommune 'muenster' (known: ahlen, beckum, telgte)"
    );
    let q = ReportQuery {
        project: Some("x".into()),
        ..ReportQuery::new(as_of())
    };
    let msg = report::build(&store, &config(), &q).await.unwrap_err().to_string();
    assert!(msg.contains("'x'") && msg.contains("rathaus, glasfaser"), "{msg}");
}

#[tokio::test]
async fn json_has_the_contract_shape() {
    let store = seeded().await;
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&report::render(&report, ReportFormat::Json)).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(&json), BTreeSet::from(["as_of".to_string(), "calls".to_string()]));
    assert_eq!(json["as_of"], "2026-11-26");
    let call_keys = [
        "id",
        "title",
        "url",
        "source",
        "funder",
        "deadline",
        "deadline_kind",
        "applicants",
        "regions",
        "funding_rate_max",
        "amount_max_eur",
        "matches",
    ];
    let calls = json["calls"].as_array().unwrap();
    for call in calls {
        assert_eq!(keys(call), call_keys.iter().map(|k| k.to_string()).collect());
        for m in call["matches"].as_array().unwrap() {
            let match_keys = ["handlungsfeld", "project", "score", "kommunen", "reasons"];
            assert_eq!(keys(m), match_keys.iter().map(|k| k.to_string()).collect());
        }
    }
    let modell = &calls[1];
    assert_eq!(modell["title"], "Digitale Modellregionen");
    assert_eq!(modell["url"], "https://foerder.example/modellregionen");
    assert_eq!(modell["source"], "fdb");
    assert_eq!(modell["funder"], "Ministerium für Digitales NRW");
    assert_eq!(modell["deadline"], "2026-12-31");
    assert_eq!(modell["deadline_kind"], "date");
    assert_eq!(modell["applicants"], serde_json::json!(["kommune", "zweckverband"]));
    assert_eq!(modell["regions"], serde_json::json!(["Nordrhein-Westfalen"]));
    assert_eq!(modell["funding_rate_max"], 80.0);
    assert_eq!(modell["amount_max_eur"], 140_000);
    assert_eq!(modell["matches"][0]["project"], "rathaus");
    assert_eq!(modell["matches"][0]["score"], 3.5);
    assert_eq!(modell["matches"][0]["kommunen"], serde_json::json!(["ahlen", "telgte"]));
    assert_eq!(modell["matches"][1]["project"], serde_json::Value::Null);
    assert_eq!(calls[2]["deadline"], serde_json::Value::Null);
    assert_eq!(calls[2]["deadline_kind"], "rolling");
    assert_eq!(calls[3]["deadline_kind"], "unknown");
    assert_eq!(calls[3]["funder"], serde_json::Value::Null);
}

#[tokio::test]
async fn markdown_report_in_german() {
    let store = seeded().await;
    let q = ReportQuery {
        all: true,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &q).await.unwrap();
    let md = report::render(&report, ReportFormat::Markdown);
    assert!(md.starts_with("# Förderradar – Bericht vom 26.11.2026\n"));
    assert!(md.contains("31.12.2026 (noch 35 Tage)"));
    insta::assert_snapshot!("report_markdown_all", md);

    let q = ReportQuery {
        kommune: Some("telgte".into()),
        project: Some("rathaus".into()),
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &q).await.unwrap();
    insta::assert_snapshot!(
        "report_markdown_filtered",
        report::render(&report, ReportFormat::Markdown)
    );
}

#[tokio::test]
async fn html_report_is_escaped_and_self_contained() {
    let store = seeded().await;
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let html = report::render(&report, ReportFormat::Html);
    assert!(html.contains("Glasfaser &amp; Breitband &lt;Ausbau&gt;; &quot;Gigabit&quot;"));
    assert!(!html.contains("<Ausbau>"));
    assert!(
        !html.contains("src=") && !html.contains("<script"),
        "no external resources"
    );
    insta::assert_snapshot!("report_html", html);
}

#[tokio::test]
async fn html_report_template_can_be_overridden_and_still_escapes() {
    let store = seeded().await;
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let embedded = report::render_with_overrides(&report, ReportFormat::Html, dir.path()).unwrap();
    assert_eq!(embedded, report::render(&report, ReportFormat::Html));

    std::fs::create_dir(dir.path().join("templates")).unwrap();
    let template = dir.path().join("templates/report.html.j2");
    std::fs::write(
        &template,
        "<h1>Eigener Bericht</h1>{% for call in calls %}<p>{{ call.title }}</p>{% endfor %}",
    )
    .unwrap();
    let html = report::render_with_overrides(&report, ReportFormat::Html, dir.path()).unwrap();
    assert!(html.starts_with("<h1>Eigener Bericht</h1>"), "{html}");
    assert!(
        html.contains("<p>Glasfaser &amp; Breitband &lt;Ausbau&gt;; &quot;Gigabit&quot;</p>"),
        "{html}"
    );
    // Markdown is not templated and ignores the HTML override.
    let md = report::render_with_overrides(&report, ReportFormat::Markdown, dir.path()).unwrap();
    assert_eq!(md, report::render(&report, ReportFormat::Markdown));

    std::fs::write(&template, "{{ calls.no_such_field }}").unwrap();
    let err = report::render_with_overrides(&report, ReportFormat::Html, dir.path()).unwrap_err();
    assert!(err.to_string().contains("templates/report.html.j2"), "{err}");
}

#[tokio::test]
async fn csv_has_one_row_per_call_and_match_with_german_header() {
    let store = seeded().await;
    let q = ReportQuery {
        all: true,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &q).await.unwrap();
    let text = report::render(&report, ReportFormat::Csv);
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(&header[..4], ["ID", "Titel", "Fördergeber", "Frist"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let expected: usize = report.calls.iter().map(|c| c.matches.len().max(1)).sum();
    assert_eq!(rows.len(), expected);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();

    let glasfaser = rows.iter().find(|r| r[col("Titel")].starts_with("Glasfaser")).unwrap();
    assert_eq!(
        &glasfaser[col("Titel")],
        "Glasfaser & Breitband <Ausbau>; \"Gigabit\"",
        "quoted and read back intact"
    );
    assert_eq!(&glasfaser[col("Förderquote max. (%)")], "90,5");
    assert_eq!(&glasfaser[col("Fristart")], "laufend");
    assert_eq!(&glasfaser[col("Projekt")], "Glasfaser für alle");

    let rathaus = rows.iter().find(|r| &r[col("Projekt")] == "Digitales Rathaus").unwrap();
    assert_eq!(&rathaus[col("Frist")], "31.12.2026");
    assert_eq!(&rathaus[col("Tage bis Frist")], "35");
    assert_eq!(&rathaus[col("Punktzahl")], "3,5");
    assert_eq!(&rathaus[col("Kommunen")], "Ahlen, Telgte");
    assert_eq!(
        &rathaus[col("Begründung")],
        "Treffer: Onlinezugang (Volltext); Frist in 35 Tagen (31.12.2026)"
    );
    assert_eq!(&rathaus[col("Höchstbetrag (EUR)")], "140000");
}

#[test]
fn report_format_parses_names() {
    assert_eq!("json".parse::<ReportFormat>().unwrap(), ReportFormat::Json);
    assert_eq!("md".parse::<ReportFormat>().unwrap(), ReportFormat::Markdown);
    assert_eq!("CSV".parse::<ReportFormat>().unwrap(), ReportFormat::Csv);
    assert_eq!("html".parse::<ReportFormat>().unwrap(), ReportFormat::Html);
    let err = "pdf".parse::<ReportFormat>().unwrap_err();
    assert_eq!(err, "unknown report format 'pdf' (known: json, md, csv, html)");
}

#[tokio::test]
async fn hostile_links_are_not_rendered_as_links_and_titles_sort_in_german_order() {
    let store = SqliteStore::memory().await.unwrap();
    let seen = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap();
    let calls = [
        Call::new("html", "javascript:alert(1)", "Zukunftsfonds", seen),
        Call::new("html", "https://x.example/b", "Bürgerportal", seen),
        Call::new("html", "https://x.example/a", "Ärztliche Versorgung", seen),
    ];
    for call in &calls {
        store.upsert_call(&call.clone().seal()).await.unwrap();
        store
            .replace_matches(&call.id, &[hit(call, "verwaltung", None, 2.5, &["ahlen"], vec![])])
            .await
            .unwrap();
    }
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    assert_eq!(
        titles(&report),
        ["Ärztliche Versorgung", "Bürgerportal", "Zukunftsfonds"]
    );

    let html = report::render(&report, ReportFormat::Html);
    assert!(!html.contains("javascript:"), "{html}");
    assert!(html.contains("<h2>Zukunftsfonds</h2>"));
    let md = report::render(&report, ReportFormat::Markdown);
    assert!(!md.contains("javascript:"), "{md}");
    assert!(md.contains("## Zukunftsfonds\n"));
}
