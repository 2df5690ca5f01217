//! The extract parsers over the saved real Förderdatenbank pages (skipped loudly
//! when the reference folder is absent, failing under CI: see `real_pages`).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use foerderradar::collect::extract::{
    decode_body, html_to_text, parse_amount_max, parse_applicants, parse_deadline, parse_regions,
};
use foerderradar::model::{ApplicantCategory, Bundesland, Deadline, Region};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 26).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The text of a saved page, or `None` (with a message) when the folder is missing.
fn page_text(name: &str) -> Option<String> {
    let dir = crate::real_pages::reference_dir("foerderdatenbank")?;
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    Some(html_to_text(&decode_body(&bytes, Some("text/html")).text))
}

fn dates(deadline: &Deadline) -> Vec<(NaiveDate, bool)> {
    match deadline {
        Deadline::Dates(dates) => dates.iter().map(|d| (d.date, d.annual)).collect(),
        other => panic!("expected dates, got {other:?}"),
    }
}

#[test]
fn annual_and_one_off_deadline_of_exist_women() {
    let Some(text) = page_text("detail_single_desc.html") else {
        return;
    };
    assert_eq!(
        dates(&parse_deadline(&text, today())),
        vec![(date(2026, 9, 30), true), (date(2024, 12, 6), false)]
    );
    let expected: BTreeSet<_> = [ApplicantCategory::Hochschule, ApplicantCategory::Forschung].into();
    assert_eq!(parse_applicants(&text).categories, expected);
}

#[test]
fn twice_yearly_deadline_from_rechtsgrundlage_only_page() {
    let Some(text) = page_text("detail_rechts_only.html") else {
        return;
    };
    assert_eq!(
        dates(&parse_deadline(&text, today())),
        vec![(date(2026, 3, 31), true), (date(2026, 9, 30), true)]
    );
    assert!(parse_applicants(&text).categories.contains(&ApplicantCategory::Bildung));
}

#[test]
fn expired_deadline_reads_closed() {
    let Some(text) = page_text("details_single_desc_alt.html") else {
        return;
    };
    let deadline = parse_deadline(&text, today());
    assert_eq!(dates(&deadline), vec![(date(2024, 11, 28), false)]);
    assert!(!deadline.is_open(today()));
}

#[test]
fn amount_from_summary_not_turnover_limits_or_fine_print() {
    let Some(text) = page_text("detail_multi_desc.html") else {
        return;
    };
    assert_eq!(parse_amount_max(&text), Some(140_000));
    assert_eq!(parse_deadline(&text, today()), Deadline::Unknown);
    assert!(parse_regions(&text).contains(&Region::Land(Bundesland::Thueringen)));
}

#[test]
fn consent_banner_is_not_rolling_wording() {
    for name in ["detail_fail_07_25.html", "detail_fail_19_12.html"] {
        let Some(text) = page_text(name) else { return };
        assert_eq!(parse_deadline(&text, today()), Deadline::Unknown, "{name}");
        assert!(
            parse_applicants(&text)
                .categories
                .contains(&ApplicantCategory::Unternehmen),
            "{name}"
        );
    }
}
