//! The parsers against real saved pages (`../shared/reference/real-pages/`, not part of
//! the repository). Where that folder does not exist the tests say "SKIPPED" on
//! stderr, except under CI (`CI=true`), where a missing folder fails the run: CI
//! runs with `shared/` next to the clone, so missing pages there are a broken setup.
//! Also checks that the shipped `config/sources.toml` builds every source's options.

use std::path::PathBuf;

use chrono::{NaiveDate, TimeZone, Utc};
use foerderradar::collect::extract::ParseGuard;
use foerderradar::collect::foerderdatenbank::{Card, detail_to_call, parse_detail, parse_list};
use foerderradar::collect::sedia::{SearchPage, topic};
use foerderradar::model::source::SourceKind;
use foerderradar::model::{ApplicantCategory, Bundesland, CallStatus, Region};
use url::Url;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/real-pages");

/// `../shared/reference/real-pages/<sub>`, or `None` after a loud "SKIPPED" when it
/// is missing outside CI. Under CI a missing folder panics.
pub(crate) fn reference_dir(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(REFERENCE).join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    missing(&dir, std::env::var("CI").ok().as_deref())
}

/// What a test does about a missing reference folder, given the value of `CI`.
fn missing(dir: &std::path::Path, ci: Option<&str>) -> Option<PathBuf> {
    let ci = ci.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    assert!(
        !ci,
        "{} does not exist, but CI is set: CI runs with ../shared next to the clone, so the real-page tests must run",
        dir.display()
    );
    eprintln!(
        "SKIPPED: real-page test, because {} does not exist (fresh clone without ../shared/reference)",
        dir.display()
    );
    None
}

fn real_pages() -> Option<PathBuf> {
    reference_dir("")
}

#[test]
fn missing_reference_pages_fail_under_ci_and_skip_elsewhere() {
    let nowhere = std::path::Path::new("/nonexistent/real-pages");
    assert_eq!(missing(nowhere, None), None);
    assert_eq!(missing(nowhere, Some("false")), None);
    let under_ci = std::panic::catch_unwind(|| missing(nowhere, Some("true")));
    assert!(under_ci.is_err(), "CI=true must fail on missing reference pages");
}

/// What a saved detail page says about itself.
struct Expected {
    file: &'static str,
    title: &'static str,
    applicants: &'static [&'static str],
    category: ApplicantCategory,
    regions: &'static [Region],
    funder: Option<&'static str>,
}

const DETAILS: &[Expected] = &[
    Expected {
        file: "detail_fail_19_12.html",
        title: "Förderung von Forschung und Entwicklung in Unternehmen",
        applicants: &["Unternehmen"],
        category: ApplicantCategory::Unternehmen,
        regions: &[Region::Land(Bundesland::Hessen)],
        funder: Some("Hessisches Ministerium für Wirtschaft, Energie, Verkehr, Wohnen und ländlichen Raum"),
    },
    Expected {
        file: "detail_rechts_only.html",
        title: "Förderung von Bildung für nachhaltige Entwicklung (BNE) in Thüringen im non-formalen und informellen Bildungsbereich",
        applicants: &["Bildungseinrichtung"],
        category: ApplicantCategory::Bildung,
        regions: &[Region::Land(Bundesland::Thueringen)],
        funder: Some("Thüringer Ministerium für Umwelt, Energie, Naturschutz und Forsten (TMUENF)"),
    },
    Expected {
        file: "detail_single_desc.html",
        title: "Förderung von Unternehmerinnen in der Vorgründungsphase (EXIST-Women) im Rahmen des Förderprogramms „Existenzgründungen aus der Wissenschaft“",
        applicants: &["Forschungseinrichtung", "Hochschule"],
        category: ApplicantCategory::Hochschule,
        regions: &[Region::Bundesweit],
        funder: Some("Bundesministerium für Wirtschaft und Klimaschutz (BMWK)"),
    },
    Expected {
        file: "details_single_desc_alt.html",
        title: "Förderung von forschenden Fachärztinnen und Fachärzten in der Universitätsmedizin",
        applicants: &["Forschungseinrichtung", "Hochschule"],
        category: ApplicantCategory::Forschung,
        regions: &[],
        funder: Some("Bundesministerium für Bildung und Forschung (BMBF)"),
    },
    Expected {
        file: "detail_multi_desc.html",
        title: "Beteiligungen der Mittelständischen Beteiligungsgesellschaft Thüringen mbH (MBG express)",
        applicants: &["Unternehmen"],
        category: ApplicantCategory::Unternehmen,
        regions: &[Region::Land(Bundesland::Thueringen)],
        funder: None,
    },
    Expected {
        file: "detail_fail_07_25.html",
        title: "Förderung Deutsch-Französischer Koproduktionen im Rahmen des Filmförderungsgesetzes 2025 (Minitraité-Förderung)",
        applicants: &["Unternehmen"],
        category: ApplicantCategory::Unternehmen,
        regions: &[Region::Bundesweit],
        funder: Some("FFA Filmförderungsanstalt"),
    },
];

#[test]
fn real_fdb_detail_pages() {
    let Some(dir) = real_pages() else { return };
    let page_url = Url::parse("https://www.foerderdatenbank.de/FDB/Content/DE/Foerderprogramm/x.html").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap();
    for expected in DETAILS {
        let html = std::fs::read_to_string(dir.join("foerderdatenbank").join(expected.file)).unwrap();
        let detail =
            parse_detail(&html, &page_url, &ParseGuard::default()).unwrap_or_else(|e| panic!("{}: {e}", expected.file));
        let card = Card {
            url: page_url.to_string(),
            title: String::new(),
            applicants: String::new(),
            topics: String::new(),
        };
        let call = detail_to_call(&detail, &card, "fdb", now);
        assert_eq!(call.title, expected.title, "{}", expected.file);
        assert_eq!(call.applicants.raw, expected.applicants, "{}", expected.file);
        assert!(
            call.applicants.categories.contains(&expected.category),
            "{}: {:?}",
            expected.file,
            call.applicants
        );
        assert_eq!(call.regions, expected.regions, "{}", expected.file);
        assert_eq!(call.funder.as_deref(), expected.funder, "{}", expected.file);
    }
}

#[test]
fn real_fdb_detail_page_specifics() {
    let Some(dir) = real_pages() else { return };
    let read = |f: &str| {
        let html = std::fs::read_to_string(dir.join("foerderdatenbank").join(f)).unwrap();
        parse_detail(
            &html,
            &Url::parse("https://www.foerderdatenbank.de/FDB/x.html").unwrap(),
            &ParseGuard::default(),
        )
        .unwrap()
    };
    let coded = read("detail_fail_19_12.html");
    assert_eq!(coded.funding_types, vec!["Zuschuss"]);
    assert_eq!(coded.topics, vec!["Forschung & Innovation (themenspezifisch)"]);
    assert_eq!(coded.links.len(), 1);

    let tabbed = read("detail_multi_desc.html");
    assert_eq!(tabbed.funding_types, vec!["Beteiligung"]);
    assert!(
        tabbed.kurztext.contains("eine Beteiligung erhalten"),
        "{}",
        tabbed.kurztext
    );
    assert!(tabbed.volltext.contains("140.000"), "{}", tabbed.volltext);
    assert!(
        tabbed
            .voraussetzungen
            .contains("Antragsberechtigt sind mittelständische Unternehmen")
    );
    assert!(tabbed.rechtsgrundlage.contains("Beteiligungsrichtlinien"));
    assert!(tabbed.contact.as_deref().unwrap().contains("99084 Erfurt"));

    let film = read("detail_fail_07_25.html");
    assert_eq!(film.funding_types, vec!["Darlehen", "Bürgschaft"]);
    assert_eq!(film.topics, vec!["Kultur, Medien & Sport"]);
    assert!(!film.has_summary());

    let closed = read("details_single_desc_alt.html");
    assert!(closed.status_note.as_deref().unwrap().contains("nicht mehr möglich"));
    let call = detail_to_call(
        &closed,
        &Card {
            url: "https://x.test/a".into(),
            title: String::new(),
            applicants: String::new(),
            topics: String::new(),
        },
        "fdb",
        Utc::now(),
    );
    assert_eq!(call.status, CallStatus::Closed);
}

#[test]
fn real_fdb_result_list() {
    let Some(dir) = real_pages() else { return };
    let html = std::fs::read_to_string(dir.join("foerderdatenbank/overview.html")).unwrap();
    // Fetched from anywhere: links resolve against the page's <base href>.
    let page = parse_list(
        &html,
        &Url::parse("http://127.0.0.1:1/liste.html").unwrap(),
        usize::MAX,
        &ParseGuard::default(),
    )
    .unwrap();
    assert_eq!(page.hits, Some(2395));
    assert_eq!(page.cards.len(), 10);
    let first = &page.cards[0];
    assert_eq!(first.title, "Beteiligungsgarantien der Bürgschaftsbank Sachsen");
    assert_eq!(
        first.url,
        "https://www.foerderdatenbank.de/FDB/Content/DE/Foerderprogramm/Land/Sachsen/buergschaft-sachsen-beteiligung.html"
    );
    assert_eq!(first.applicant_labels(), vec!["Existenzgründer/in", "Unternehmen"]);
    assert_eq!(
        page.next.as_deref(),
        Some(
            "https://www.foerderdatenbank.de/SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html?gtp=%2526816beae2-d57e-4bdc-b55d-392bc1e17027_list%253D2&filterCategories=FundingProgram"
        )
    );
}

#[test]
fn real_sedia_response() {
    let Some(dir) = real_pages() else { return };
    let json = std::fs::read_to_string(dir.join("eu-sedia/page_sample.json")).unwrap();
    let page: SearchPage = serde_json::from_str(&json).unwrap();
    assert_eq!(page.total_results, Some(644_362));
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let topics: Vec<_> = page.results.iter().filter_map(|r| topic(r, today)).collect();
    let ids: Vec<&str> = topics.iter().map(|t| t.identifier.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "SC1-PHE-CORONAVIRUS-2020-2D",
            "ENG-GLOBALLY-01-2017",
            "S2R-CFM-IP5-03-2015"
        ]
    );
    assert_eq!(topics[0].title, "Pan-European COVID-19 cohorts");
    assert_eq!(topics[0].language, "bg");
    assert_eq!(topics[0].programme.as_deref(), Some("Horizon 2020"));
    // Marked Open with a 2026 deadline, but every action says Closed: no open call here.
    assert!(
        topics.iter().all(|t| t.status == CallStatus::Closed),
        "{:?}",
        topics.iter().map(|t| t.status).collect::<Vec<_>>()
    );
}

#[test]
fn shipped_sources_toml_builds_every_kind() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sources.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let sources = doc["source"].as_array().unwrap();
    assert!(sources.len() >= 7);
    let mut kinds = Vec::new();
    for source in sources {
        let mut table = source.as_table().unwrap().clone();
        let id = table.remove("id").unwrap();
        for common in ["url", "label", "enabled", "min_delay_ms", "budget_secs", "schedule"] {
            table.remove(common);
        }
        let kind = table.remove("kind").unwrap();
        let kind = SourceKind::from_table(kind.as_str().unwrap(), table).unwrap_or_else(|e| panic!("source {id}: {e}"));
        kinds.push(kind.name());
    }
    for name in ["foerderdatenbank", "eu-sedia", "html"] {
        assert!(kinds.contains(&name), "no {name} source");
    }
}
