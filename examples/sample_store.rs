//! Fills a store with sample calls and matches for the Kreis Warendorf config,
//! for screenshots and demos of the reports (`scripts/screenshots.sh`):
//!
//! ```text
//! cargo run --example sample_store -- CONFIG_DIR DATA_DIR YYYY-MM-DD
//! ```
//!
//! Deadlines are counted from the given day. Every Handlungsfeld, project and
//! Kommune id is checked against the config, so a renamed id fails loudly.

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate, TimeZone, Utc};
use foerderradar::config::Config;
use foerderradar::model::reason::{Criterion, Field, Hit, Reason};
use foerderradar::model::{ApplicantCategory, Bundesland, Call, Deadline, DeadlineDate, FundingRate, Match, Region};
use foerderradar::store::{SqliteStore, Store};

/// (title, funder, summary, days to the cut-offs (empty: rolling), rate, amount,
///  [(Handlungsfeld, project, score, Kommunen, hit terms)])
type Sample = (
    &'static str,
    &'static str,
    &'static str,
    &'static [u64],
    Option<f64>,
    Option<u64>,
    &'static [(
        &'static str,
        Option<&'static str>,
        f64,
        &'static [&'static str],
        &'static [&'static str],
    )],
);

const ALL: &[&str] = &[
    "ahlen",
    "beckum",
    "beelen",
    "drensteinfurt",
    "ennigerloh",
    "everswinkel",
    "oelde",
    "ostbevern",
    "sassenberg",
    "sendenhorst",
    "telgte",
    "wadersloh",
    "warendorf",
];

const SAMPLES: &[Sample] = &[
    (
        "Smart-City-Modellprojekte: Digitale Daseinsvorsorge im ländlichen Raum",
        "Bundesministerium für Wohnen, Stadtentwicklung und Bauwesen",
        "Gefördert werden Kommunen, die digitale Lösungen für Daseinsvorsorge, Mobilität und Beteiligung erproben und übertragbar machen.",
        &[12],
        Some(90.0),
        Some(2_500_000),
        &[
            (
                "digitale-infrastruktur",
                Some("datenplattform"),
                4.2,
                ALL,
                &["Datenplattform", "Smart City"],
            ),
            ("verwaltung", None, 2.6, &["ahlen", "warendorf"], &["Digitalisierung"]),
        ],
    ),
    (
        "Dorfläden und Nahversorgung 2027",
        "Ministerium für Heimat, Kommunales, Bau und Digitalisierung NRW",
        "Zuschüsse für multifunktionale Dorfläden, Paketstationen und digitale Bestellsysteme in Orten unter 10.000 Einwohnern.",
        &[21],
        Some(65.0),
        Some(250_000),
        &[(
            "innenstadt-dorfmitte",
            Some("dorfladenbox"),
            3.8,
            &["beelen", "everswinkel", "wadersloh"],
            &["Dorfladen", "Paketstation"],
        )],
    ),
    (
        "LoRaWAN und Sensorik für Kommunen",
        "Land NRW",
        "Aufbau offener IoT-Funknetze und Sensorik für Umwelt-, Verkehrs- und Gebäudedaten.",
        &[28],
        Some(80.0),
        Some(400_000),
        &[(
            "digitale-infrastruktur",
            Some("lorawan"),
            3.9,
            &["oelde", "beckum", "ennigerloh"],
            &["LoRaWAN", "Sensorik"],
        )],
    ),
    (
        "Onlinezugangsgesetz: Umsetzung kommunaler Leistungen",
        "Bundesministerium des Innern",
        "Mittel für die Anbindung kommunaler Fachverfahren an Serviceportale und das Nutzerkonto Bund.",
        &[40, 130],
        Some(100.0),
        None,
        &[(
            "verwaltung",
            Some("serviceportal"),
            4.5,
            ALL,
            &["Serviceportal", "Onlinezugang"],
        )],
    ),
    (
        "KI in der öffentlichen Verwaltung – Pilotvorhaben",
        "Bundesministerium für Digitales und Staatsmodernisierung",
        "Pilotprojekte zur Anwendung künstlicher Intelligenz in Verwaltungsprozessen, mit Begleitforschung.",
        &[55],
        Some(70.0),
        Some(1_000_000),
        &[(
            "verwaltung",
            Some("daten-ki-potenzialanalyse"),
            3.4,
            &["ahlen", "oelde", "telgte"],
            &["Künstliche Intelligenz"],
        )],
    ),
    (
        "Klimaschutz durch Radverkehr",
        "Bundesministerium für Wirtschaft und Klimaschutz",
        "Investive Maßnahmen für Radwege, Abstellanlagen und Verleihsysteme.",
        &[70],
        Some(75.0),
        Some(5_000_000),
        &[(
            "klima-mobilitaet-umwelt",
            None,
            3.1,
            &["sendenhorst", "drensteinfurt", "telgte"],
            &["Radverkehr"],
        )],
    ),
    (
        "Digitale Bildungsräume in Bibliotheken",
        "Kulturstiftung des Bundes",
        "Makerspaces, Medienbildung und digitale Angebote in öffentlichen Bibliotheken.",
        &[95],
        Some(80.0),
        Some(150_000),
        &[(
            "familie-bildung-lebensqualitaet",
            None,
            2.8,
            &["warendorf", "ostbevern"],
            &["Bibliothek", "Medienbildung"],
        )],
    ),
    (
        "Innenstädte beleben: Leerstand digital vermitteln",
        "Land NRW",
        "Förderung von Leerstandsmanagement, digitalen Schaufenstern und Citymarketing.",
        &[110],
        Some(90.0),
        Some(300_000),
        &[
            (
                "innenstadt-dorfmitte",
                Some("raumvermittlung"),
                3.3,
                &["beckum", "sassenberg"],
                &["Leerstand"],
            ),
            (
                "innenstadt-dorfmitte",
                Some("citymarketing-socialmedia"),
                2.9,
                &["ahlen"],
                &["Citymarketing"],
            ),
        ],
    ),
    (
        "Gründungsförderung im ländlichen Raum",
        "NRW.BANK",
        "Darlehen und Zuschüsse für Gründungs- und Co-Working-Zentren.",
        &[150],
        Some(50.0),
        Some(500_000),
        &[("wirtschaft-arbeit", None, 2.5, &["oelde", "wadersloh"], &["Co-Working"])],
    ),
    (
        "Cloud-Infrastruktur für Kommunen (Deutsche Verwaltungscloud)",
        "Bundesministerium des Innern",
        "Migration kommunaler Anwendungen auf souveräne Cloud-Plattformen.",
        &[175],
        Some(60.0),
        None,
        &[("verwaltung", Some("cloud-service-plattform"), 3.6, ALL, &["Cloud"])],
    ),
    (
        "Breitbandausbau: Graue-Flecken-Förderung",
        "Bundesministerium für Digitales und Verkehr",
        "Gigabitausbau in unterversorgten Gebieten; Anträge laufend.",
        &[],
        Some(50.0),
        None,
        &[(
            "digitale-infrastruktur",
            None,
            3.0,
            &["beelen", "ostbevern", "sassenberg"],
            &["Gigabit", "Breitband"],
        )],
    ),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config_dir, data_dir, day] = args.as_slice() else {
        bail!("usage: sample_store CONFIG_DIR DATA_DIR YYYY-MM-DD");
    };
    let config = Config::load(&PathBuf::from(config_dir)).map_err(|e| anyhow::anyhow!("{config_dir}: {e}"))?;
    let as_of: NaiveDate = day.parse().with_context(|| format!("day '{day}'"))?;
    std::fs::create_dir_all(data_dir)?;
    let store = SqliteStore::open(&PathBuf::from(data_dir).join("foerderradar.sqlite")).await?;
    let seen = Utc.from_utc_datetime(&(as_of - Days::new(20)).and_hms_opt(6, 0, 0).expect("6:00"));
    for (i, (title, funder, summary, days, rate, amount, hits)) in SAMPLES.iter().enumerate() {
        let mut call = Call::new(
            "foerderdatenbank",
            format!("https://foerder.example/aufruf-{i}"),
            *title,
            seen,
        );
        call.funder = Some(funder.to_string());
        call.summary = summary.to_string();
        call.deadline = if days.is_empty() {
            Deadline::Rolling
        } else {
            let dates = days.iter().enumerate().map(|(n, d)| DeadlineDate {
                label: (days.len() > 1).then(|| format!("Stufe {}", n + 1)),
                ..DeadlineDate::on(as_of + Days::new(*d))
            });
            Deadline::Dates(dates.collect())
        };
        call.funding_rate = rate.map(|max| FundingRate { min: None, max });
        call.amount_max_eur = *amount;
        call.applicants.categories = [ApplicantCategory::Kommune].into();
        call.regions = vec![Region::Land(Bundesland::NordrheinWestfalen)];
        let call = call.seal();
        store.upsert_call(&call).await?;
        let mut matches = Vec::new();
        for (feld, project, score, kommunen, terms) in hits.iter() {
            check(&config, feld, *project, kommunen)?;
            let mut reasons = vec![Reason::Hits {
                hits: terms
                    .iter()
                    .map(|t| Hit {
                        term: t.to_string(),
                        field: Field::Title,
                    })
                    .collect(),
            }];
            if let Some(date) = call.deadline.next_date(as_of) {
                let days = (date - as_of).num_days();
                reasons.push(Reason::Criterion {
                    criterion: Criterion::DeadlineAhead { days, date },
                });
            }
            matches.push(Match {
                call_id: call.id.clone(),
                handlungsfeld: feld.to_string(),
                project: project.map(str::to_string),
                score: *score,
                threshold: 2.0,
                passed: true,
                kommunen: kommunen.iter().map(|k| k.to_string()).collect(),
                reasons,
            });
        }
        store.replace_matches(&call.id, &matches).await?;
    }
    println!("{} sample calls in {data_dir}", SAMPLES.len());
    Ok(())
}

fn check(config: &Config, feld: &str, project: Option<&str>, kommunen: &[&str]) -> anyhow::Result<()> {
    if config.strategy.handlungsfeld(feld).is_none() {
        bail!("no Handlungsfeld '{feld}' in the config");
    }
    if let Some(p) = project.filter(|p| config.strategy.project(p).is_none()) {
        bail!("no project '{p}' in the config");
    }
    if let Some(k) = kommunen.iter().find(|k| config.kommune(k).is_none()) {
        bail!("no Kommune '{k}' in the config");
    }
    Ok(())
}
