//! Property tests for the code that meets foreign input in `collect`: the HTML
//! reader and the German date, deadline, amount and rate scanners never panic,
//! whatever a page holds (arbitrary Unicode, tag soup, deep nesting), and
//! `canonical_url` is idempotent.

use chrono::NaiveDate;
use foerderradar::collect::extract::{
    ParseGuard, html_to_text, parse_amount_max, parse_applicants, parse_date_iso_or_german, parse_deadline,
    parse_deadline_field, parse_funding_rate, parse_german_date, parse_regions, try_html_to_text,
};
use foerderradar::collect::identity::canonical_url;
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

/// Pieces of German funding text around dates, amounts and rates, mixed with noise.
fn german_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}",
        "[0-9]{1,2}\\.[0-9]{1,2}\\.([0-9]{2,4})?",
        "[0-9]{1,3}(\\.[0-9]{3}){0,4}(,[0-9]{1,2})?",
        Just("Januar".to_string()),
        Just("März".to_string()),
        Just("Maerz".to_string()),
        Just("Sept.".to_string()),
        Just("Dez.".to_string()),
        Just("bis zum".to_string()),
        Just("bis zu".to_string()),
        Just("Frist".to_string()),
        Just("Fristen:".to_string()),
        Just("Stichtag".to_string()),
        Just("jährlich".to_string()),
        Just("laufend".to_string()),
        Just("Mio.".to_string()),
        Just("Millionen".to_string()),
        Just("Mrd.".to_string()),
        Just("EUR".to_string()),
        Just("Euro".to_string()),
        Just("€".to_string()),
        Just("%".to_string()),
        Just("Prozent".to_string()),
        Just("zwischen".to_string()),
        Just("und".to_string()),
        Just("-".to_string()),
        Just("–".to_string()),
        Just("\u{a0}".to_string()),
        Just("\n".to_string()),
        Just("T00:00:00.000+0000".to_string()),
        any::<String>(),
    ]
}

fn german_text() -> impl Strategy<Value = String> {
    prop::collection::vec(german_piece(), 0..40).prop_map(|pieces| pieces.join(" "))
}

/// Tag soup: real and broken tags, entities, text, and now and then deep nesting.
fn markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<div>".to_string()),
        Just("</div>".to_string()),
        Just("<p>".to_string()),
        Just("<li>".to_string()),
        Just("<table><tr><td>".to_string()),
        Just("<script>".to_string()),
        Just("</script>".to_string()),
        Just("<br/>".to_string()),
        Just("<html><body>".to_string()),
        Just("&amp;".to_string()),
        Just("&#x".to_string()),
        Just("<!--".to_string()),
        Just("<".to_string()),
        Just("\u{2029}".to_string()),
        (1usize..3000).prop_map(|n| "<span>".repeat(n)),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

fn url_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "(https?|HTTP)://[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9%._~äö-]{0,12}){0,4}/?(\\?([a-zA-Z_]{1,10}=[a-zA-Z0-9%+]{0,8}&?){0,5})?(#[a-z0-9]{0,6})?",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn html_to_text_never_panics(html in markup()) {
        let text = html_to_text(&html);
        prop_assert!(!text.contains('\u{2029}'), "paragraph marks never leak: {text:?}");
        let _ = try_html_to_text(&html, &ParseGuard::default());
    }

    #[test]
    fn date_and_deadline_scanners_never_panic(text in german_text()) {
        let _ = parse_german_date(&text);
        let _ = parse_date_iso_or_german(&text);
        let _ = parse_deadline(&text, today());
        let _ = parse_deadline_field(&text, today());
    }

    #[test]
    fn amount_rate_and_label_scanners_never_panic(text in german_text()) {
        let _ = parse_amount_max(&text);
        if let Some(rate) = parse_funding_rate(&text) {
            prop_assert!(rate.max <= 100.0, "{rate:?} from {text:?}");
        }
        let _ = parse_applicants(&text);
        let _ = parse_regions(&text);
    }

    #[test]
    fn canonical_url_is_idempotent(url in url_like()) {
        let once = canonical_url(&url);
        prop_assert_eq!(canonical_url(&once), once);
    }
}
