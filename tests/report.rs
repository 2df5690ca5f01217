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
        "deadlines",
        "status",
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
    assert_eq!(modell["status"], "open");
    assert_eq!(
        modell["deadlines"],
        serde_json::json!([{"date": "2026-12-31", "time": null, "label": null, "annual": false}])
    );
    assert_eq!(calls[2]["deadlines"], serde_json::json!([]));
}

#[tokio::test]
async fn json_lists_every_cut_off_and_the_status() {
    let store = seeded().await;
    let mut beendet = new_call("beendet", "Dorfläden – Förderaufruf");
    beendet.text = "Der Förderaufruf ist abgeschlossen. Mittel ausgeschöpft.".into();
    let mut bald = new_call("bald", "Neue Runde Dorfläden");
    bald.status = CallStatus::Forthcoming;
    bald.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2027, 6, 30))]);
    for c in [&beendet, &bald] {
        store.upsert_call(&c.clone().seal()).await.unwrap();
        let m = hit(
            c,
            "verwaltung",
            None,
            3.0,
            &["ahlen"],
            vec![treffer("Dorfladen", Field::Title)],
        );
        store.replace_matches(&c.id, &[m]).await.unwrap();
    }
    let by_title = |calls: &[serde_json::Value], title: &str| calls.iter().find(|c| c["title"] == title).cloned();
    let q = ReportQuery::new(as_of());
    let report = report::build(&store, &config(), &q).await.unwrap();
    let open: serde_json::Value = serde_json::from_str(&report::render(&report, ReportFormat::Json)).unwrap();
    let open = open["calls"].as_array().unwrap().clone();
    assert!(
        by_title(&open, "Dorfläden – Förderaufruf").is_none(),
        "closed by its wording"
    );
    let stufen = by_title(&open, "Smarte Dörfer").unwrap();
    assert_eq!(stufen["deadline"], "2026-12-01", "the next cut-off");
    assert_eq!(
        stufen["deadlines"],
        serde_json::json!([
            {"date": "2026-12-01", "time": null, "label": "Stufe 1", "annual": false},
            {"date": "2027-03-01", "time": null, "label": "Stufe 2", "annual": false}
        ])
    );
    assert_eq!(stufen["status"], "open");
    assert_eq!(
        by_title(&open, "Neue Runde Dorfläden").unwrap()["status"],
        "forthcoming"
    );

    let q = ReportQuery {
        all: true,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &q).await.unwrap();
    let all: serde_json::Value = serde_json::from_str(&report::render(&report, ReportFormat::Json)).unwrap();
    let all = all["calls"].as_array().unwrap().clone();
    for closed in [
        "Dorfläden – Förderaufruf",
        "Geschlossener Aufruf",
        "Abgelaufener Aufruf",
    ] {
        assert_eq!(by_title(&all, closed).unwrap()["status"], "closed", "{closed}");
    }
    assert_eq!(
        by_title(&all, "Abgelaufener Aufruf").unwrap()["deadline"],
        serde_json::Value::Null
    );
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
async fn csv_for_german_excel_has_one_row_per_call() {
    let store = seeded().await;
    let q = ReportQuery {
        all: true,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &q).await.unwrap();
    let text = report::render(&report, ReportFormat::Csv);
    let body = text.strip_prefix('\u{FEFF}').expect("starts with the UTF-8 BOM");
    assert!(!body.starts_with("ID"), "Excel would read it as SYLK");
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(&header[..4], ["Titel", "Kennung", "Fördergeber", "Frist"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), report.calls.len(), "one row per call");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();

    let glasfaser = rows.iter().find(|r| r[col("Titel")].starts_with("Glasfaser")).unwrap();
    assert_eq!(
        &glasfaser[col("Titel")],
        "Glasfaser & Breitband <Ausbau>; \"Gigabit\"",
        "quoted and read back intact"
    );
    assert_eq!(&glasfaser[col("Förderquote max. (%)")], "90,5");
    assert_eq!(&glasfaser[col("Fristart")], "laufend");
    assert_eq!(&glasfaser[col("Projekte")], "Glasfaser für alle", "umlauts kept");

    let modell = rows
        .iter()
        .find(|r| &r[col("Titel")] == "Digitale Modellregionen")
        .unwrap();
    assert_eq!(&modell[col("Frist")], "31.12.2026");
    assert_eq!(&modell[col("Tage bis Frist")], "35");
    assert_eq!(&modell[col("Beste Punktzahl")], "3,5");
    assert_eq!(&modell[col("Handlungsfelder")], "Digitale Verwaltung");
    assert_eq!(&modell[col("Projekte")], "Digitales Rathaus");
    assert_eq!(&modell[col("Kommunen")], "Ahlen, Telgte, Beckum", "joined by \", \"");
    assert_eq!(
        &modell[col("Begründung")],
        "Treffer: Onlinezugang (Volltext); Frist in 35 Tagen (31.12.2026); Treffer: Verwaltung (Titel)"
    );
    assert_eq!(&modell[col("Höchstbetrag (EUR)")], "140000");
    let ohne = rows.iter().find(|r| &r[col("Titel")] == "Aufruf ohne Treffer").unwrap();
    assert_eq!(&ohne[col("Handlungsfelder")], "");
}

#[tokio::test]
async fn csv_neutralises_formulas_from_scraped_text() {
    let store = SqliteStore::memory().await.unwrap();
    let seen = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap();
    let hostile = [
        "=HYPERLINK(\"http://evil.example\";\"klick\")",
        "+1+1",
        "-2+3",
        "@SUMME(A1)",
        "\t=1+1",
    ];
    for (i, title) in hostile.iter().enumerate() {
        let mut call = Call::new("html", format!("https://x.example/{i}"), *title, seen);
        call.funder = Some("=cmd|' /C calc'!A0".into());
        store.upsert_call(&call.clone().seal()).await.unwrap();
        store
            .replace_matches(&call.id, &[hit(&call, "verwaltung", None, 2.5, &["ahlen"], vec![])])
            .await
            .unwrap();
    }
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let text = report::render(&report, ReportFormat::Csv);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.trim_start_matches('\u{FEFF}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), hostile.len());
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a spreadsheet would run {cell:?}"
            );
        }
        assert_eq!(&row[2], "'=cmd|' /C calc'!A0");
    }
    let titles: BTreeSet<&str> = rows.iter().map(|r| &r[0]).collect();
    let expected: BTreeSet<String> = hostile.iter().map(|t| format!("'{t}")).collect();
    assert_eq!(titles, expected.iter().map(String::as_str).collect());
}

#[test]
fn report_format_parses_names() {
    assert_eq!("json".parse::<ReportFormat>().unwrap(), ReportFormat::Json);
    assert_eq!("md".parse::<ReportFormat>().unwrap(), ReportFormat::Markdown);
    assert_eq!("CSV".parse::<ReportFormat>().unwrap(), ReportFormat::Csv);
    assert_eq!("html".parse::<ReportFormat>().unwrap(), ReportFormat::Html);
    let err = "pdf".parse::<ReportFormat>().unwrap_err();
    assert_eq!("ics".parse::<ReportFormat>().unwrap(), ReportFormat::Ics);
    assert_eq!(err, "unknown report format 'pdf' (known: json, md, csv, html, ics)");
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
    assert!(html.contains("<h4>Zukunftsfonds</h4>"));
    let md = report::render(&report, ReportFormat::Markdown);
    assert!(!md.contains("javascript:"), "{md}");
    assert!(md.contains("## Zukunftsfonds\n"));
}

// ---- issue 13: filters, HTML page, overview, ICS, default format ----

#[tokio::test]
async fn filters_take_ids_or_names_in_any_case_and_a_kommune_report_names_only_it() {
    let store = seeded().await;
    let cfg = config();
    for given in ["telgte", "Telgte", "TELGTE", " telgte "] {
        let q = ReportQuery {
            kommune: Some(given.into()),
            ..ReportQuery::new(as_of())
        };
        let report = report::build(&store, &cfg, &q).await.unwrap();
        assert_eq!(titles(&report), ["Smarte Dörfer", "Digitale Modellregionen"], "{given}");
        for m in report.calls.iter().flat_map(|c| &c.matches) {
            assert_eq!(m.kommunen, ["telgte"], "{given}: only the asked-for Kommune");
            assert_eq!(m.kommunen_names, ["Telgte"]);
        }
        assert_eq!(report.audience, "Kommune Telgte");
    }
    let by_names = ReportQuery {
        handlungsfeld: Some("digitale verwaltung".into()),
        project: Some("Digitales RATHAUS".into()),
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &cfg, &by_names).await.unwrap();
    assert_eq!(titles(&report), ["Digitale Modellregionen"]);
    assert_eq!(
        report.filters,
        ["Handlungsfeld: Digitale Verwaltung", "Projekt: Digitales Rathaus"]
    );
}

#[tokio::test]
async fn closing_within_and_since_narrow_by_deadline_and_first_sighting() {
    let store = seeded().await;
    let cfg = config();
    let q = |closing_within, since| ReportQuery {
        closing_within,
        since,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &cfg, &q(Some(5), None)).await.unwrap();
    assert_eq!(titles(&report), ["Smarte Dörfer"], "01.12. is 5 days away");
    let report = report::build(&store, &cfg, &q(Some(4), None)).await.unwrap();
    assert!(report.calls.is_empty());
    let report = report::build(&store, &cfg, &q(Some(35), None)).await.unwrap();
    assert_eq!(titles(&report), ["Smarte Dörfer", "Digitale Modellregionen"]);
    assert_eq!(report.filters, ["Frist in höchstens 35 Tagen"]);

    // Every seeded call was first seen on 02.11.2026; a later one is added.
    let mut neu = new_call("neu", "Neuer Aufruf");
    neu.first_seen = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
    neu.last_seen = neu.first_seen;
    store.upsert_call(&neu.clone().seal()).await.unwrap();
    store
        .replace_matches(&neu.id, &[hit(&neu, "klima", None, 2.2, &["beckum"], vec![])])
        .await
        .unwrap();
    let report = report::build(&store, &cfg, &q(None, Some(date(2026, 11, 20))))
        .await
        .unwrap();
    assert_eq!(titles(&report), ["Neuer Aufruf"]);
    assert_eq!(report.filters, ["neu seit 20.11.2026"]);
    let report = report::build(&store, &cfg, &q(None, Some(date(2026, 11, 2))))
        .await
        .unwrap();
    assert_eq!(report.calls.len(), 5);
}

fn select<'a>(doc: &'a scraper::Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&scraper::Selector::parse(css).unwrap()).collect()
}

/// The cells of a table row, " | "-separated.
fn row(e: &scraper::ElementRef<'_>) -> String {
    e.child_elements().map(|c| text(&c)).collect::<Vec<_>>().join(" | ")
}

fn text(e: &scraper::ElementRef<'_>) -> String {
    e.text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn html_page_is_well_formed_with_summary_sections_and_a_timeline() {
    let store = seeded().await;
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let html = report::render(&report, ReportFormat::Html);
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "parse errors: {:?}", doc.errors);
    assert_eq!(select(&doc, "html[lang=de]").len(), 1);

    let header = text(&select(&doc, "header.page")[0]);
    assert!(header.contains("Für: alle Kommunen"), "{header}");
    assert!(header.contains("Stand: 26.11.2026"), "{header}");
    assert!(header.contains("Filter: keine"), "{header}");

    // Summary: one row per Handlungsfeld with its count and next deadline.
    let rows: Vec<String> = select(&doc, "table.summary-table tbody tr").iter().map(row).collect();
    assert_eq!(
        rows,
        [
            "Digitale Verwaltung | 2 | 01.12.2026 – Smarte Dörfer",
            "Digitale Infrastruktur | 1 | –",
            "Klima & Umwelt | 1 | –",
        ]
    );
    let total: Vec<String> = select(&doc, "table.summary-table tfoot tr").iter().map(row).collect();
    assert_eq!(total, ["Aufrufe insgesamt | 4 | "]);

    // The timeline: one labelled mark per call with a deadline ahead.
    let svg = select(&doc, "section#zeitleiste svg");
    assert_eq!(svg.len(), 1);
    let marks = select(&doc, "svg circle.mark");
    let dated = report.calls.iter().filter(|c| c.deadline.is_some()).count();
    assert_eq!(dated, 2);
    assert_eq!(marks.len(), dated, "one mark per upcoming deadline");
    let labels: Vec<String> = select(&doc, "svg g.call > text").iter().map(text).collect();
    assert_eq!(labels, ["01.12. Smarte Dörfer", "31.12. Digitale Modellregionen"]);
    let fills: Vec<&str> = marks.iter().map(|m| m.value().attr("fill").unwrap()).collect();
    assert_eq!(fills[0], fills[1], "both are Digitale Verwaltung");
    let months: Vec<String> = select(&doc, "svg text").iter().map(text).take(2).collect();
    assert_eq!(months, ["Nov. 2026", "Dez. 2026"]);

    // Sections per Handlungsfeld and project; scores and ids only in the details line.
    let sections: Vec<String> = select(&doc, "section.handlungsfeld > h2").iter().map(text).collect();
    assert_eq!(
        sections,
        ["Digitale Verwaltung", "Digitale Infrastruktur", "Klima & Umwelt"]
    );
    let groups: Vec<String> = select(&doc, "section.handlungsfeld h3").iter().map(text).collect();
    assert_eq!(
        groups,
        [
            "Handlungsfeld allgemein",
            "Projekt „Digitales Rathaus“",
            "Projekt „Glasfaser für alle“",
            "Handlungsfeld allgemein",
        ]
    );
    let modell = &report.calls[1];
    for headline in select(&doc, "article h4") {
        let t = text(&headline);
        assert!(!t.contains("Punktzahl") && !t.contains(modell.id.as_str()), "{t}");
    }
    let details: Vec<String> = select(&doc, "article p.details").iter().map(text).collect();
    assert!(
        details.contains(&format!("Punktzahl 3,5 · Kennung {} · Quelle fdb", modell.id)),
        "{details:?}"
    );
    let reasons: Vec<String> = select(&doc, "article ul.reasons li").iter().map(text).collect();
    assert!(
        reasons.contains(&"Treffer: Onlinezugang (Volltext)".to_string()),
        "{reasons:?}"
    );

    // Printable on A4 with the header repeated; links only http(s).
    let running = select(&doc, "table.frame > thead .running");
    assert_eq!(running.len(), 1, "a page header in a repeating thead");
    assert_eq!(
        text(&running[0]),
        "Förderradar – Bericht · alle Kommunen · Stand 26.11.2026"
    );
    assert!(html.contains("@page{size:A4"));
    assert!(html.contains("thead{display:table-header-group}"));
    assert!(html.contains("break-inside:avoid"));
    for a in select(&doc, "a[href]") {
        assert!(a.value().attr("href").unwrap().starts_with("https://"));
    }
}

#[tokio::test]
async fn html_timeline_marks_every_upcoming_deadline_of_a_longer_list() {
    let store = SqliteStore::memory().await.unwrap();
    let seen = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap();
    let mut expected = 0;
    for i in 0..40u32 {
        let mut call = Call::new(
            "fdb",
            format!("https://x.example/{i}"),
            format!("Aufruf Nr. {i} <b>"),
            seen,
        );
        call.deadline = match i % 4 {
            0 => Deadline::Rolling,
            _ => Deadline::Dates(vec![DeadlineDate::on(as_of() + chrono::Days::new(u64::from(i) * 17))]),
        };
        expected += usize::from(i % 4 != 0);
        store.upsert_call(&call.clone().seal()).await.unwrap();
        let feld = ["verwaltung", "infrastruktur", "klima"][i as usize % 3];
        store
            .replace_matches(&call.id, &[hit(&call, feld, None, 2.5, &["ahlen"], vec![])])
            .await
            .unwrap();
    }
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let html = report::render(&report, ReportFormat::Html);
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_eq!(select(&doc, "svg circle.mark").len(), expected);
    assert!(!html.contains("<b>"), "titles escaped in the SVG too");
    let colours: BTreeSet<&str> = select(&doc, "svg circle.mark")
        .iter()
        .map(|m| m.value().attr("fill").unwrap())
        .collect();
    assert_eq!(colours.len(), 3, "one colour per Handlungsfeld");
    assert_eq!(select(&doc, "figcaption.legend > span").len(), 3);
}

#[tokio::test]
async fn overview_has_one_row_per_kommune_with_counts_and_next_deadlines() {
    let store = seeded().await;
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let overview = report::overview::Overview::new(&report);
    let html = report::overview::render(&overview, ReportFormat::Html, None).unwrap();
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_eq!(
        select(&doc, "table.frame > thead .running").len(),
        1,
        "repeated page header"
    );
    assert!(html.contains("@page{size:A4 landscape"));
    let head: Vec<String> = select(&doc, "table.overview thead th").iter().map(text).collect();
    assert_eq!(
        head,
        [
            "Kommune",
            "Digitale Verwaltung",
            "Digitale Infrastruktur",
            "Klima & Umwelt"
        ]
    );
    let rows: Vec<String> = select(&doc, "table.overview tbody tr").iter().map(row).collect();
    assert_eq!(
        rows,
        [
            "Ahlen | 1 31.12.2026 | – | 1 ohne Stichtag",
            "Beckum | 1 31.12.2026 | 1 ohne Stichtag | –",
            "Telgte | 2 01.12.2026 | – | –",
        ],
        "one row per Kommune"
    );
    let closing: Vec<String> = select(&doc, "table.closing tbody tr").iter().map(row).collect();
    assert_eq!(
        closing,
        ["01.12.2026 | noch 5 Tage | Smarte Dörfer | Digitale Verwaltung | Telgte"],
        "only calls closing within 30 days"
    );

    let md = report::overview::render(&overview, ReportFormat::Markdown, None).unwrap();
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(table.len(), 1 + 3, "header and one row per Kommune:\n{md}");
    assert!(md.contains("| Telgte | 2 · 01.12.2026 | – | – |"), "{md}");
    assert!(md.contains("Klima & Umwelt"), "{md}");
    assert!(md.contains("- 01.12.2026 (noch 5 Tage): Smarte Dörfer"), "{md}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/overview.html.j2"),
        "{% for r in rows %}<p>{{ r.kommune }}</p>{% endfor %}",
    )
    .unwrap();
    let custom = report::overview::render(&overview, ReportFormat::Html, Some(dir.path())).unwrap();
    assert_eq!(
        custom, "<p>Ahlen</p><p>Beckum</p><p>Telgte</p>",
        "the override replaces the page"
    );

    let err = report::overview::render(&overview, ReportFormat::Csv, None).unwrap_err();
    assert_eq!(err.to_string(), "the overview comes as html, md or json, not csv");

    let by_kommune = ReportQuery {
        kommune: Some("Beckum".into()),
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &config(), &by_kommune).await.unwrap();
    let overview = report::overview::Overview::new(&report);
    assert_eq!(overview.rows.len(), 1);
    assert_eq!(overview.rows[0].kommune.name, "Beckum");
}

/// The events of an iCalendar text, parsed by the `ical` crate (not the writer's own parser).
fn parse_ics(text: &str) -> Vec<ical::parser::ical::component::IcalEvent> {
    let mut calendars = ical::IcalParser::new(text.as_bytes());
    let calendar = calendars.next().expect("one calendar").expect("valid iCalendar");
    assert!(calendars.next().is_none());
    calendar.events
}

fn prop<'a>(props: &'a [ical::property::Property], name: &str) -> Option<&'a ical::property::Property> {
    props.iter().find(|p| p.name == name)
}

#[tokio::test]
async fn ics_has_one_all_day_event_per_cut_off_with_stable_uids_and_a_reminder() {
    let store = seeded().await;
    // A long title with umlauts and iCalendar specials, to fold and escape.
    let long_title = format!(
        "Förderung für Dörfer, Städte; Gemeinden \\ {}",
        "Ärztehäuser ".repeat(8)
    );
    let mut lang = new_call("lang", long_title.trim_end());
    lang.deadline = Deadline::Dates(vec![DeadlineDate::on(date(2027, 2, 15))]);
    store.upsert_call(&lang.clone().seal()).await.unwrap();
    store
        .replace_matches(&lang.id, &[hit(&lang, "klima", None, 2.2, &["ahlen"], vec![])])
        .await
        .unwrap();
    let report = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    let text = report::render(&report, ReportFormat::Ics);

    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
    }
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF line ends only");

    let events = parse_ics(&text);
    // Smarte Dörfer has two stages, Modellregionen one, the long call one;
    // rolling and unknown deadlines have no date.
    assert_eq!(events.len(), 4);
    let stufen = report.calls.iter().find(|c| c.title == "Smarte Dörfer").unwrap();
    let uids: Vec<String> = events
        .iter()
        .map(|e| prop(&e.properties, "UID").unwrap().value.clone().unwrap())
        .collect();
    assert!(
        uids.contains(&format!("{}-20261201@foerderradar", stufen.id)),
        "{uids:?}"
    );
    assert!(
        uids.contains(&format!("{}-20270301@foerderradar", stufen.id)),
        "{uids:?}"
    );
    for e in &events {
        let start = prop(&e.properties, "DTSTART").unwrap();
        let params = start.params.clone().unwrap_or_default();
        assert!(
            params.iter().any(|(k, v)| k == "VALUE" && *v == ["DATE"]),
            "all-day: {params:?}"
        );
        let start_day = start.value.clone().unwrap();
        let end_day = prop(&e.properties, "DTEND").unwrap().value.clone().unwrap();
        let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y%m%d").unwrap();
        assert_eq!(parse(&end_day) - parse(&start_day), chrono::TimeDelta::days(1));
        assert!(
            prop(&e.properties, "URL")
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .starts_with("https://")
        );
        assert!(
            prop(&e.properties, "SUMMARY")
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .starts_with("Frist: ")
        );
        assert_eq!(e.alarms.len(), 1);
        let trigger = prop(&e.alarms[0].properties, "TRIGGER").unwrap().value.clone().unwrap();
        assert_eq!(trigger, "-P7D");
    }
    // Unfolded as RFC 5545 says (CRLF and one blank go), the text is whole and its
    // specials escaped. (`ical` trims blanks at a fold, so the exact text is checked here.)
    let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
    let summary = unfolded
        .split("\r\n")
        .find(|l| l.starts_with("SUMMARY:Frist: Förderung"))
        .expect("the long call's summary");
    let escaped = long_title
        .trim_end()
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;");
    assert_eq!(summary, format!("SUMMARY:Frist: {escaped}"));
    assert!(text.contains("\r\n "), "the long lines are folded");

    // The same report renders to the same calendar: UIDs (and everything else) are stable.
    let again = report::build(&store, &config(), &ReportQuery::new(as_of()))
        .await
        .unwrap();
    assert_eq!(report::render(&again, ReportFormat::Ics), text);
}

/// The seeded store as a file under a data directory, for the binary.
async fn seeded_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = SqliteStore::open(&dir.path().join("foerderradar.sqlite"))
        .await
        .unwrap();
    let memory = seeded().await;
    for call in memory.list_calls(&Default::default()).await.unwrap() {
        file.upsert_call(&call).await.unwrap();
    }
    let passed = memory.passed_matches().await.unwrap();
    let ids: BTreeSet<_> = passed.iter().map(|m| m.call_id.clone()).collect();
    for id in ids {
        let of_call: Vec<Match> = passed.iter().filter(|m| m.call_id == id).cloned().collect();
        file.replace_matches(&id, &of_call).await.unwrap();
    }
    dir
}

fn report_cmd(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    assert_cmd::Command::cargo_bin("foerderradar")
        .unwrap()
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["--today", "2026-11-26", "report"])
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_report_defaults_to_json_into_a_pipe_and_takes_names() {
    let data = seeded_data_dir().await;
    let out = report_cmd(data.path(), &["--kommune", "Telgte"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON into a pipe");
    let titles: Vec<&str> = json["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Smarte Dörfer", "Digitale Modellregionen"]);
    for m in json["calls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["matches"].as_array().unwrap())
    {
        assert_eq!(m["kommunen"], serde_json::json!(["telgte"]));
    }

    let out = report_cmd(data.path(), &["--overview", "--format", "md", "--closing-within", "40"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("| Telgte | 2 · 01.12.2026 | – | – |"), "{md}");
    assert!(md.contains("Frist in höchstens 40 Tagen"), "{md}");

    let file = data.path().join("fristen.ics");
    let out = report_cmd(data.path(), &["-o", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ics = std::fs::read_to_string(&file).unwrap();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\n"),
        "the extension picks the format: {ics}"
    );
    assert_eq!(parse_ics(&ics).len(), 3);

    let out = report_cmd(data.path(), &["--overview", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the overview comes as html, md or json, not csv"));
    let out = report_cmd(data.path(), &["--kommune", "Münster"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown Kommune 'Münster' (known: ahlen, beckum, telgte)"));
}

#[test]
fn report_help_lists_the_formats_and_filters() {
    let out = assert_cmd::Command::cargo_bin("foerderradar")
        .unwrap()
        .args(["report", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        "json",
        "md",
        "html",
        "csv",
        "ics",
        "terminal",
        "--kommune",
        "--project",
        "--handlungsfeld",
        "--closing-within",
        "--since",
        "--overview",
        "--all",
    ] {
        assert!(help.contains(word), "{word} missing in:\n{help}");
    }
}

#[tokio::test]
async fn a_call_a_kommune_dismissed_leaves_its_reports_unless_included() {
    use foerderradar::model::feedback::{FeedbackAction, FeedbackEntry, FeedbackTargetKind};
    let store = seeded().await;
    let cfg = config();
    let modell = store
        .list_calls(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.title == "Digitale Modellregionen")
        .unwrap();
    let dismiss = |kommune: &str, contact: Option<&str>| FeedbackEntry {
        id: 0,
        at: chrono::Utc::now(),
        actor: "test".into(),
        contact: contact.map(Into::into),
        kommune: Some(kommune.into()),
        action: FeedbackAction::PasstNicht,
        target_kind: FeedbackTargetKind::Call,
        target: modell.id.0.clone(),
        reason: None,
    };
    store.record_feedback(&dismiss("beckum", None)).await.unwrap();
    // One contact's own dismissal is personal: Ahlen's reports keep the call.
    store
        .record_feedback(&dismiss("ahlen", Some("a@ahlen.example")))
        .await
        .unwrap();
    let for_beckum = |include_dismissed| ReportQuery {
        kommune: Some("Beckum".into()),
        include_dismissed,
        ..ReportQuery::new(as_of())
    };
    let report = report::build(&store, &cfg, &for_beckum(false)).await.unwrap();
    assert_eq!(titles(&report), ["Glasfaser & Breitband <Ausbau>; \"Gigabit\""]);
    let report = report::build(&store, &cfg, &for_beckum(true)).await.unwrap();
    assert_eq!(titles(&report)[0], "Digitale Modellregionen");
    assert!(report.filters.iter().any(|f| f.contains("passt nicht")));

    // The whole report keeps the call for the Kommunen that did not dismiss it.
    let all = report::build(&store, &cfg, &ReportQuery::new(as_of())).await.unwrap();
    let row = all.calls.iter().find(|c| c.id == modell.id).unwrap();
    assert!(row.matches.iter().all(|m| !m.kommunen.contains(&"beckum".to_string())));
    assert!(row.matches.iter().any(|m| m.kommunen.contains(&"ahlen".to_string())));
}
