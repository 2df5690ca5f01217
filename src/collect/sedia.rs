//! Source kind `eu-sedia`: calls for proposals from the EU Funding & Tenders
//! portal's search API (SEDIA).
//!
//! The API filters only when the request body is `multipart/form-data` with the
//! parts `query`, `languages` and `sort` as JSON; a plain JSON body is silently
//! ignored and answers with the whole index. Paging (`pageSize` ≤ 100,
//! `pageNumber` from 1) goes in the URL query. Every topic comes once per
//! language; one record per topic is kept, German before English.

mod parse;

use chrono::NaiveDate;
use url::Url;

pub use parse::{SearchPage, Topic, dedupe, derive_status, topic};

use super::extract::ParseGuard;
use super::{CollectContext, CollectError, PageError, SourceKind, berlin_today, ensure_ok};
use crate::collect::extract;
use crate::collect::identity::canonical_url;
use crate::model::source::sedia::SediaOptions;
pub use crate::model::source::sedia::programme_label;
use crate::model::{Call, CallStatus, Deadline, DeadlineDate, Region};

/// The multipart parts (name, JSON content, mime type) of one search request.
pub fn request_parts(opts: &SediaOptions) -> Vec<(String, String, String)> {
    let mut must = vec![
        serde_json::json!({"terms": {"type": parse::CALL_TYPES}}),
        serde_json::json!({"terms": {"status": [parse::STATUS_FORTHCOMING, parse::STATUS_OPEN]}}),
    ];
    if !opts.programmes.is_empty() {
        must.push(serde_json::json!({"terms": {"frameworkProgramme": opts.programmes}}));
    }
    if !opts.languages.is_empty() {
        must.push(serde_json::json!({"terms": {"language": opts.languages}}));
    }
    let query = serde_json::json!({"bool": {"must": must}});
    let sort = serde_json::json!({"field": "sortStatus", "order": "ASC"});
    let json = "application/json".to_string();
    vec![
        ("query".into(), query.to_string(), json.clone()),
        (
            "languages".into(),
            serde_json::to_string(&opts.languages).expect("strings serialise"),
            json.clone(),
        ),
        ("sort".into(), sort.to_string(), json),
    ]
}

/// The search URL of one page: the source URL plus `apiKey`, `text`, `pageSize`, `pageNumber`.
pub fn page_url(endpoint: &Url, opts: &SediaOptions, page: u32) -> Url {
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("apiKey", &opts.api_key)
        .append_pair("text", opts.text.as_deref().unwrap_or("***"))
        .append_pair("pageSize", &opts.page_size.to_string())
        .append_pair("pageNumber", &page.to_string());
    url
}

/// Collects the calls of one source of this kind.
pub async fn collect(ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    let SourceKind::EuSedia(opts) = &ctx.source.kind else {
        return Err(CollectError::parse(
            ctx.source.url.as_str(),
            "source is not of kind eu-sedia",
        ));
    };
    let today = berlin_today(ctx.now);
    let parts = request_parts(opts);
    let mut topics = Vec::new();
    let mut page = 1;
    loop {
        let url = page_url(&ctx.source.url, opts, page);
        let fetched = ctx.fetcher.post_multipart(&url, &parts).await?;
        ensure_ok(&fetched, url.as_str())?;
        let (body, source, page_url) = (fetched.body, ctx.source.id.clone(), url.to_string());
        let max = ctx.fetcher.settings().max_items_per_page;
        let read = ctx
            .parse_blocking(url.as_str(), move |guard| {
                read_page(&body, today, &source, &page_url, max, guard)
            })
            .await?
            .map_err(|e| ctx.page_error(url.as_str(), e))?;
        topics.extend(read.topics);
        // Both factors are bounded at config load (page_size ≤ 100, max_pages ≤ 1000);
        // a u32 product cannot overflow u64, and saturating says so to the reader.
        let covered = u64::from(page).saturating_mul(u64::from(opts.page_size));
        let short_page = read.received < usize::try_from(opts.page_size).unwrap_or(usize::MAX);
        if read.received == 0 || short_page || read.total.is_some_and(|total| covered >= total) {
            break;
        }
        if page >= opts.max_pages {
            tracing::warn!(source = %ctx.source.id, total = ?read.total, covered, "stopped paging at max_pages");
            break;
        }
        page = page.saturating_add(1);
    }
    let (opts, source, now) = (opts.clone(), ctx.source.id.clone(), ctx.now);
    let url = ctx.source.url.to_string();
    ctx.parse_blocking(&url, move |guard| {
        dedupe(topics, &opts.languages)
            .into_iter()
            .filter(|t| matches!(t.status, CallStatus::Open | CallStatus::Forthcoming))
            .map(|t| guard.check().map(|()| topic_to_call(&t, &opts, &source, now)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?
    .map_err(|e| ctx.markup_error(&url, e))
}

/// One search page as read: its topics (at most `max`) and what it says about paging.
struct ReadPage {
    received: usize,
    total: Option<u64>,
    topics: Vec<Topic>,
}

fn read_page(
    body: &str,
    today: chrono::NaiveDate,
    source: &str,
    url: &str,
    max: usize,
    guard: &ParseGuard,
) -> Result<ReadPage, PageError> {
    let page: SearchPage =
        serde_json::from_str(body).map_err(|e| PageError::Invalid(format!("not a SEDIA search response: {e}")))?;
    let received = page.results.len();
    if received > max {
        tracing::warn!(
            source,
            url,
            max,
            "search page has more results than http.max_items_per_page; the first {max} are kept"
        );
    }
    let mut topics = Vec::new();
    for result in page.results.iter().take(max) {
        guard.check()?;
        topics.extend(topic(result, today));
    }
    Ok(ReadPage {
        received,
        total: page.total_results,
        topics,
    })
}

/// The portal page of a call (§2.4: topic, prospect or cascade-call page).
pub fn portal_link(t: &Topic, portal_base: &Url) -> String {
    let path = match t.kind.as_str() {
        "2" => format!(
            "prospect-details/{}PROSPECTSEN",
            t.call_identifier.as_deref().unwrap_or(&t.identifier)
        ),
        "8" => format!(
            "competitive-calls-cs/{}",
            t.call_ccm2_id.as_deref().unwrap_or(&t.identifier)
        ),
        _ => format!("topic-details/{}", t.identifier),
    };
    let url = portal_base
        .join(&path)
        .map_or_else(|_| format!("{portal_base}{path}"), |u| u.to_string());
    canonical_url(&url)
}

/// Maps a topic to a call. Only cut-offs still ahead are kept (all of them when none is).
pub fn topic_to_call(t: &Topic, opts: &SediaOptions, source: &str, now: chrono::DateTime<chrono::Utc>) -> Call {
    let today = berlin_today(now);
    let mut call = Call::new(source, portal_link(t, &opts.portal_base), t.title.clone(), now);
    call.external_id = Some(t.identifier.clone());
    let description = extract::html_to_text(&t.description_html).trim().to_string();
    call.summary = summary(&description);
    call.text = text(t, &description);
    call.funder = Some("Europäische Kommission".into());
    call.funding_types = t.types_of_action.clone();
    for topic in t.programme.iter().chain(&t.keywords) {
        if !call.topics.contains(topic) {
            call.topics.push(topic.clone());
        }
    }
    call.regions = vec![Region::EuWeit];
    // The portal's metadata has neither; the description often states both
    // ("up to 80% of the eligible costs", "Eligible applicants are local authorities").
    call.funding_rate = extract::parse_funding_rate(&description);
    call.applicants = extract::parse_applicants(&description);
    call.deadline = deadline(&t.deadlines, today);
    call.status = t.status;
    call.amount_max_eur = t.max_contribution_eur;
    call.published = t.start;
    call.seal()
}

fn deadline(dates: &[NaiveDate], today: NaiveDate) -> Deadline {
    if dates.is_empty() {
        return Deadline::Unknown;
    }
    let ahead: Vec<NaiveDate> = dates.iter().copied().filter(|d| *d >= today).collect();
    let kept = if ahead.is_empty() { dates.to_vec() } else { ahead };
    Deadline::Dates(kept.into_iter().map(DeadlineDate::on).collect())
}

/// The first paragraph that is not a bare heading ("Expected Outcome:"), at
/// most about 400 characters, cut at a word.
fn summary(description: &str) -> String {
    let first = extract::lead_paragraph(description);
    if first.chars().count() <= 400 {
        return first.to_string();
    }
    let cut: String = first.chars().take(400).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{at_word} …")
}

fn text(t: &Topic, description: &str) -> String {
    let mut lines = vec![description.to_string()];
    if let Some(programme) = &t.programme {
        lines.push(format!("Programm: {programme}"));
    }
    match (&t.call_title, &t.call_identifier) {
        (Some(title), Some(id)) => lines.push(format!("Aufruf: {title} ({id})")),
        (Some(title), None) => lines.push(format!("Aufruf: {title}")),
        (None, Some(id)) => lines.push(format!("Aufruf: {id}")),
        (None, None) => {}
    }
    if let Some(model) = &t.deadline_model {
        lines.push(format!("Einreichungsverfahren: {model}"));
    }
    if let Some(budget) = t.budget_eur {
        lines.push(format!(
            "Budget des Themas: {}",
            crate::model::german::format_amount(Some(budget))
        ));
    }
    lines.retain(|l| !l.trim().is_empty());
    lines.join("\n\n")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::ApplicantCategory;

    #[test]
    fn options_map_names_to_codes_and_check_ranges() {
        let o: SediaOptions = toml::from_str(r#"programmes = ["LIFE", "cerv", "43108390", "Erasmus+"]"#).unwrap();
        assert_eq!(o.programmes, vec!["43252405", "43251589", "43108390", "43353764"]);
        assert_eq!((o.api_key.as_str(), o.page_size, o.languages.len()), ("SEDIA", 100, 2));
        let err = toml::from_str::<SediaOptions>(r#"programmes = ["INTERREG-X"]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown programme 'INTERREG-X'"), "{err}");
        assert!(
            toml::from_str::<SediaOptions>("page_size = 500")
                .unwrap_err()
                .to_string()
                .contains("500 is out of range; allowed: 1 to 100")
        );
        assert!(toml::from_str::<SediaOptions>("pagesize = 5").is_err());
        let o: SediaOptions = toml::from_str(r#"portal_base = "http://127.0.0.1:1/portal""#).unwrap();
        assert_eq!(o.portal_base.as_str(), "http://127.0.0.1:1/portal/");
    }

    #[test]
    fn private_api_keys_are_redacted() {
        let o = SediaOptions {
            api_key: "geheim-123".into(),
            ..SediaOptions::default()
        };
        assert!(!format!("{o:?}").contains("geheim"));
        assert!(format!("{:?}", SediaOptions::default()).contains("SEDIA"));
    }

    #[test]
    fn request_has_three_json_parts_and_paging_in_the_url() {
        let o: SediaOptions = toml::from_str(
            r#"programmes = ["LIFE"]
text = "smart city""#,
        )
        .unwrap();
        let parts = request_parts(&o);
        let names: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, vec!["query", "languages", "sort"]);
        assert!(parts.iter().all(|p| p.2 == "application/json"));
        let query: serde_json::Value = serde_json::from_str(&parts[0].1).unwrap();
        let must = query["bool"]["must"].as_array().unwrap();
        assert!(must.contains(&serde_json::json!({"terms": {"type": ["1", "2", "8"]}})));
        assert!(must.contains(&serde_json::json!({"terms": {"status": ["31094501", "31094502"]}})));
        assert!(must.contains(&serde_json::json!({"terms": {"frameworkProgramme": ["43252405"]}})));
        assert_eq!(parts[1].1, r#"["de","en"]"#);
        let url = page_url(
            &Url::parse("http://127.0.0.1:1/search-api/prod/rest/search").unwrap(),
            &o,
            2,
        );
        assert_eq!(
            url.query(),
            Some("apiKey=SEDIA&text=smart+city&pageSize=100&pageNumber=2")
        );
    }

    #[test]
    fn links_follow_the_portal_patterns() {
        let base = SediaOptions::default().portal_base;
        let mut t = sample_topic();
        assert!(portal_link(&t, &base).ends_with("/opportunities/topic-details/LIFE-2026-CET-LOCAL"));
        t.kind = "2".into();
        assert!(portal_link(&t, &base).ends_with("/prospect-details/LIFE-2026-CETPROSPECTSEN"));
        t.kind = "8".into();
        assert!(portal_link(&t, &base).ends_with("/competitive-calls-cs/4711"));
    }

    fn sample_topic() -> Topic {
        Topic {
            kind: "1".into(),
            identifier: "LIFE-2026-CET-LOCAL".into(),
            call_identifier: Some("LIFE-2026-CET".into()),
            call_ccm2_id: Some("4711".into()),
            call_title: Some("LIFE Clean Energy Transition".into()),
            language: "en".into(),
            title: "Lokale Energiewende".into(),
            description_html: "<p>Kommunen planen.</p>".into(),
            programme: Some("LIFE".into()),
            types_of_action: vec!["LIFE Action Grants".into()],
            keywords: vec!["energy".into()],
            start: NaiveDate::from_ymd_opt(2026, 1, 15),
            deadlines: vec![
                NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
                NaiveDate::from_ymd_opt(2026, 9, 17).unwrap(),
            ],
            deadline_model: Some("multiple cut-off".into()),
            status: CallStatus::Open,
            budget_eur: Some(5_000_000),
            max_contribution_eur: Some(1_750_000),
        }
    }

    #[test]
    fn maps_a_topic_to_a_call() {
        let now = Utc.with_ymd_and_hms(2026, 4, 1, 6, 0, 0).unwrap();
        let call = topic_to_call(&sample_topic(), &SediaOptions::default(), "eu", now);
        assert_eq!(call.regions, vec![Region::EuWeit]);
        assert_eq!(
            call.deadline,
            Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2026, 9, 17).unwrap())])
        );
        assert_eq!(call.amount_max_eur, Some(1_750_000));
        assert_eq!(call.external_id.as_deref(), Some("LIFE-2026-CET-LOCAL"));
        assert_eq!(call.topics, vec!["LIFE", "energy"]);
        assert!(
            call.text
                .contains("Aufruf: LIFE Clean Energy Transition (LIFE-2026-CET)")
        );
        assert!(call.text.contains("Budget des Themas: 5.000.000 €"));
        assert_eq!(call.fingerprint, call.compute_fingerprint());
    }

    #[test]
    fn rates_applicants_and_summary_come_from_the_description() {
        let now = Utc.with_ymd_and_hms(2026, 4, 1, 6, 0, 0).unwrap();
        let mut t = sample_topic();
        t.description_html =
            "<p><span>Expected Outcome:</span></p><p>Municipalities pilot local energy communities.</p>\
            <p><span>Scope:</span></p><p>Eligible applicants are local and regional authorities and NGOs. \
            The EU contribution covers up to 80% of the eligible costs.</p>"
                .into();
        let call = topic_to_call(&t, &SediaOptions::default(), "eu", now);
        assert_eq!(call.summary, "Municipalities pilot local energy communities.");
        assert_eq!(call.funding_rate.map(|r| r.max), Some(80.0));
        assert_eq!(
            call.applicants.categories,
            [ApplicantCategory::Kommune, ApplicantCategory::Verein]
                .into_iter()
                .collect()
        );
        t.description_html = "<p>Gefördert werden Vorhaben mit bis zu 80 Prozent der förderfähigen Kosten.</p>".into();
        let call = topic_to_call(&t, &SediaOptions::default(), "eu", now);
        assert_eq!(call.funding_rate.map(|r| r.max), Some(80.0), "German wording too");
        t.description_html = "<p>Expected Outcome:</p>".into();
        assert_eq!(topic_to_call(&t, &SediaOptions::default(), "eu", now).summary, "");
    }

    #[test]
    fn cut_offs_pass_at_midnight_in_brussels_not_in_utc() {
        // 22:30 UTC on 5 March is 23:30 in Brussels; on 17 September (summer time) 00:30 the next day.
        let evening = Utc.with_ymd_and_hms(2026, 3, 5, 22, 30, 0).unwrap();
        let call = topic_to_call(&sample_topic(), &SediaOptions::default(), "eu", evening);
        let Deadline::Dates(dates) = &call.deadline else {
            panic!("{:?}", call.deadline)
        };
        assert_eq!(dates.len(), 2, "5 March is still today in Brussels");
        let mut topic = sample_topic();
        topic.deadlines.push(NaiveDate::from_ymd_opt(2027, 3, 4).unwrap());
        let after_midnight = Utc.with_ymd_and_hms(2026, 9, 17, 22, 30, 0).unwrap();
        let call = topic_to_call(&topic, &SediaOptions::default(), "eu", after_midnight);
        assert_eq!(
            call.deadline,
            Deadline::Dates(vec![DeadlineDate::on(NaiveDate::from_ymd_opt(2027, 3, 4).unwrap())]),
            "17 September has passed in Brussels"
        );
    }
}
