//! Source kind `foerderdatenbank`: the Förderdatenbank des Bundes.
//!
//! The source `url` is a result list with filter parameters (e.g.
//! Förderberechtigte = kommune, Fördergebiet = nordrhein_westfalen). The
//! collector follows the "weiter" links to the end, de-duplicates programmes
//! listed twice, and reads every programme's detail page into a [`Call`].
//!
//! Warm passes are cheap: list pages are fetched conditionally (their cards are
//! remembered in the source's [`FdbMemo`]), and a detail page is fetched again
//! only when its card changed, the programme is new, or the optional RSS `feed`
//! (the Förderdatenbank's programme feed) announces it with a new date or text.

mod detail;
mod list;
mod vocab;

use std::collections::{BTreeMap, HashMap, HashSet};

use url::Url;

pub use detail::{Detail, parse_detail};
pub use list::parse_list;

use super::{CollectContext, CollectError, FetchError, Fetched, SourceKind, Validators, berlin_today, ensure_ok};
use crate::collect::extract::{self, ParseGuard};
use crate::collect::identity::canonical_url;
pub use crate::model::source::foerderdatenbank::{Card, ListPage};
use crate::model::source::foerderdatenbank::{FdbMemo, FdbOptions, ProgrammeMemo};
use crate::model::source::{Memo, Signature};
use crate::model::{Applicants, Call, CallStatus, Deadline, Region};

/// Collects the calls of one source of this kind.
pub async fn collect(ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    let SourceKind::Foerderdatenbank(opts) = &ctx.source.kind else {
        return Err(CollectError::parse(
            ctx.source.url.as_str(),
            "source is not of kind foerderdatenbank",
        ));
    };
    let opts = opts.clone();
    // Cards are compared with the calls they became last time on every pass.
    ctx.load_prior().await?;
    let mut pass = Pass {
        old_memo: std::mem::take(&mut ctx.state.memo).into_foerderdatenbank(),
        memo: FdbMemo::default(),
        validators: BTreeMap::new(),
    };

    let cards = crawl_list(ctx, &opts, &mut pass).await?;
    let feed = match &opts.feed {
        Some(feed_url) => read_feed(ctx, feed_url, &mut pass).await,
        None => None,
    };

    let mut calls = Vec::with_capacity(cards.len());
    for card in &cards {
        let over_budget = ctx.elapsed() > ctx.soft_budget;
        if over_budget {
            tracing::warn!(source = %ctx.source.id, url = %card.url, "time budget spent; detail not fetched this pass");
        }
        if !opts.fetch_details || over_budget {
            calls.push(
                ctx.prior
                    .get(&card.url)
                    .cloned()
                    .unwrap_or_else(|| card_call(card, ctx)),
            );
            continue;
        }
        if let Some(call) = detail_call(ctx, card, feed.as_ref(), &mut pass).await {
            calls.push(call);
        }
    }

    let keep: HashSet<&str> = cards.iter().map(|c| c.url.as_str()).collect();
    pass.validators.extend(
        ctx.state
            .validators
            .iter()
            .filter(|(url, _)| keep.contains(url.as_str()))
            .map(|(u, v)| (u.clone(), v.clone())),
    );
    ctx.state.validators = pass.validators;
    ctx.state.memo = Memo::Foerderdatenbank(pass.memo);
    Ok(calls)
}

/// What one pass builds up for the next, next to what the last one left.
struct Pass {
    old_memo: FdbMemo,
    memo: FdbMemo,
    validators: BTreeMap<String, Validators>,
}

impl Pass {
    fn remember(&mut self, url: &str, fetched: &Fetched, sent: Option<&Validators>) {
        let fresh = &fetched.validators;
        let validators = if fresh.etag.is_none() && fresh.last_modified.is_none() {
            sent.cloned()
        } else {
            Some(fresh.clone())
        };
        if let Some(v) = validators.filter(|v| v.etag.is_some() || v.last_modified.is_some()) {
            self.validators.insert(url.to_string(), v);
        }
    }
}

/// Follows the result pages; returns each programme once, in list order.
async fn crawl_list(ctx: &CollectContext<'_>, opts: &FdbOptions, pass: &mut Pass) -> Result<Vec<Card>, CollectError> {
    let mut next = Some(ctx.source.url.clone());
    let mut visited = HashSet::new();
    let mut seen = HashSet::new();
    let mut cards = Vec::new();
    let mut hits = None;
    let mut pages: u32 = 0;
    while let Some(page_url) = next.take() {
        if pages >= opts.max_pages {
            tracing::warn!(source = %ctx.source.id, max_pages = opts.max_pages, "stopped paging at max_pages");
            break;
        }
        // `max_pages` is at most `MAX_PAGES`, far below the counter's limit.
        pages = pages.saturating_add(1);
        visited.insert(page_url.to_string());
        let page = list_page(ctx, &page_url, pass).await?;
        hits = hits.or(page.hits);
        if page.cards.len() != 10 && page.next.is_some() {
            tracing::debug!(url = %page_url, cards = page.cards.len(), "result page with an unusual number of cards");
        }
        for card in page.cards {
            if seen.insert(card.url.clone()) {
                cards.push(card);
            }
        }
        next = page
            .next
            .filter(|n| !visited.contains(n))
            .and_then(|n| Url::parse(&n).ok());
    }
    if let Some(hits) = hits.filter(|h| *h as usize != cards.len()) {
        tracing::info!(source = %ctx.source.id, hits, listed = cards.len(), "hit count differs from the programmes listed");
    }
    Ok(cards)
}

/// One result page, conditionally fetched; a 304 reuses the cards remembered last pass.
async fn list_page(ctx: &CollectContext<'_>, url: &Url, pass: &mut Pass) -> Result<ListPage, CollectError> {
    let key = url.to_string();
    let remembered = pass.old_memo.lists.remove(&key);
    let sent = ctx.state.validators.get(&key).filter(|_| remembered.is_some());
    let fetched = ctx.fetcher.get(url, sent).await?;
    let page = if fetched.not_modified {
        // `sent` is only set while a copy is remembered, but a proxy may answer 304 unasked.
        remembered
            .ok_or_else(|| CollectError::parse(&key, "answered 304 Not Modified, but no earlier copy is remembered"))?
    } else {
        ensure_ok(&fetched, &key)?;
        let (body, page_url) = (fetched.body.clone(), fetched.url.clone());
        let max = ctx.fetcher.settings().max_items_per_page;
        ctx.parse_blocking(&key, move |guard| parse_list(&body, &page_url, max, guard))
            .await?
            .map_err(|e| ctx.page_error(&key, e))?
    };
    pass.remember(&key, &fetched, sent);
    if pass.validators.contains_key(&key) {
        pass.memo.lists.insert(key, page.clone());
    }
    Ok(page)
}

/// The feed's items as canonical detail URL → signature (title, date, text).
/// `None` when the feed is unchanged (304) or unreadable: then no item counts as changed.
async fn read_feed(ctx: &CollectContext<'_>, feed_url: &Url, pass: &mut Pass) -> Option<HashMap<String, Signature>> {
    let key = feed_url.to_string();
    let sent = ctx.state.validators.get(&key);
    let fetched = match ctx.fetcher.get(feed_url, sent).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(source = %ctx.source.id, error = %e, "feed not readable; list cards alone decide");
            return None;
        }
    };
    pass.remember(&key, &fetched, sent);
    if fetched.not_modified {
        return None;
    }
    if fetched.status >= 400 {
        tracing::warn!(source = %ctx.source.id, url = %key, status = fetched.status, "feed not readable");
        return None;
    }
    let max = ctx.fetcher.settings().max_items_per_feed;
    let (body, source, url) = (fetched.body, ctx.source.id.clone(), key.clone());
    let parsed = ctx.parse_blocking(&key, move |guard| feed_signatures(&body, &source, &url, max, guard));
    match parsed.await {
        Ok(Ok(signatures)) => Some(signatures),
        Ok(Err(e)) => {
            tracing::warn!(source = %ctx.source.id, url = %key, error = %e, "feed not parseable");
            None
        }
        Err(e) => {
            tracing::warn!(source = %ctx.source.id, url = %key, error = %e, "feed not read");
            None
        }
    }
}

/// The signatures of at most `max` feed items (see [`super::rss::truncate_entries`]).
fn feed_signatures(
    body: &str,
    source: &str,
    url: &str,
    max: usize,
    guard: &ParseGuard,
) -> Result<HashMap<String, Signature>, String> {
    let truncated = super::rss::truncate_entries(body, max);
    if truncated.is_some() {
        tracing::warn!(
            source,
            url,
            max,
            "feed has more entries than http.max_items_per_feed; the first {max} are kept"
        );
    }
    let feed = feed_rs::parser::parse(truncated.as_deref().unwrap_or(body).as_bytes()).map_err(|e| e.to_string())?;
    let mut signatures = HashMap::with_capacity(feed.entries.len());
    for entry in &feed.entries {
        guard.check().map_err(|e| e.to_string())?;
        signatures.extend(feed_item(entry));
    }
    Ok(signatures)
}

fn feed_item(entry: &feed_rs::model::Entry) -> Option<(String, Signature)> {
    let link = entry
        .links
        .first()
        .map(|l| l.href.clone())
        .or_else(|| entry.id.starts_with("http").then(|| entry.id.clone()))?;
    let stamp = entry
        .updated
        .or(entry.published)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    let title = entry.title.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
    let summary = entry.summary.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
    let signature = Signature::of(&format!("{title}\n{stamp}\n{summary}"));
    Some((canonical_url(&link), signature))
}

/// The call of one card: reused when nothing signals a change, else read from
/// its detail page (conditionally). `None` when the page is gone (404/410).
async fn detail_call(
    ctx: &CollectContext<'_>,
    card: &Card,
    feed: Option<&HashMap<String, Signature>>,
    pass: &mut Pass,
) -> Option<Call> {
    let last = pass.old_memo.programmes.remove(&card.url);
    let last_feed = last.as_ref().and_then(|l| l.feed.clone());
    // An unreadable or unchanged feed says nothing: keep what it said before.
    let feed_sig = match feed {
        Some(feed) => feed.get(&card.url).cloned(),
        None => last_feed.clone(),
    };
    let feed_unchanged = feed_sig.is_none() || feed_sig == last_feed;
    let card_sig = card.signature();
    let card_unchanged = last.as_ref().is_some_and(|l| l.card == card_sig);
    let was_gone = last.as_ref().is_some_and(|l| l.gone);
    let remember = |pass: &mut Pass, gone: bool| {
        let programme = ProgrammeMemo {
            card: card_sig.clone(),
            gone,
            feed: feed_sig.clone(),
        };
        pass.memo.programmes.insert(card.url.clone(), programme);
    };
    if feed_unchanged && card_unchanged && was_gone {
        remember(pass, true);
        tracing::debug!(url = %card.url, "detail page was gone last pass and nothing changed; skipped");
        return None;
    }
    let prior = ctx.prior.get(&card.url);
    if let (true, true, false, Some(prior)) = (feed_unchanged, card_unchanged, was_gone, prior) {
        remember(pass, false);
        return Some(Call {
            last_seen: ctx.now,
            ..prior.clone()
        });
    }
    match fetch_detail(ctx, card, prior, pass).await {
        Ok(DetailOutcome::Call(call)) => {
            remember(pass, false);
            Some(*call)
        }
        Ok(DetailOutcome::Gone(status)) => {
            remember(pass, true);
            tracing::warn!(source = %ctx.source.id, url = %card.url, status, "detail page gone (moved to the archive?); skipped");
            None
        }
        Err(e) => {
            // Not remembered: the next pass tries again.
            tracing::warn!(source = %ctx.source.id, url = %card.url, error = %e, "detail page not read; using the list card");
            Some(prior.cloned().unwrap_or_else(|| card_call(card, ctx)))
        }
    }
}

enum DetailOutcome {
    Call(Box<Call>),
    Gone(u16),
}

async fn fetch_detail(
    ctx: &CollectContext<'_>,
    card: &Card,
    prior: Option<&Call>,
    pass: &mut Pass,
) -> Result<DetailOutcome, CollectError> {
    let url = Url::parse(&card.url).map_err(|e| CollectError::parse(&card.url, e.to_string()))?;
    let sent = prior.and(ctx.state.validators.get(&card.url));
    // The fetcher reports 4xx as `FetchError::Status`; a gone page is an outcome, not a failure.
    let gone = |result: Result<Fetched, FetchError>| match result {
        Err(FetchError::Status {
            code: code @ (404 | 410),
            ..
        }) => Ok(Err(DetailOutcome::Gone(code))),
        other => other.map(Ok),
    };
    let mut fetched = match gone(ctx.fetcher.get(&url, sent).await)? {
        Ok(fetched) => fetched,
        Err(outcome) => return Ok(outcome),
    };
    if fetched.not_modified {
        if let Some(prior) = prior {
            pass.remember(&card.url, &fetched, sent);
            return Ok(DetailOutcome::Call(Box::new(Call {
                last_seen: ctx.now,
                ..prior.clone()
            })));
        }
        fetched = match gone(ctx.fetcher.get(&url, None).await)? {
            Ok(fetched) => fetched,
            Err(outcome) => return Ok(outcome),
        };
    }
    ensure_ok(&fetched, &card.url)?;
    let (body, page_url) = (std::mem::take(&mut fetched.body), fetched.url.clone());
    let detail = ctx
        .parse_blocking(&card.url, move |guard| parse_detail(&body, &page_url, guard))
        .await?
        .map_err(|e| ctx.page_error(&card.url, e))?;
    pass.remember(&card.url, &fetched, None);
    Ok(DetailOutcome::Call(Box::new(detail_to_call(
        &detail,
        card,
        &ctx.source.id,
        ctx.now,
    ))))
}

/// Maps a parsed detail page to a call. Rate and amount come from the
/// summary and Volltext only, never from the legal text.
pub fn detail_to_call(detail: &Detail, card: &Card, source: &str, now: chrono::DateTime<chrono::Utc>) -> Call {
    let today = berlin_today(now);
    let mut call = Call::new(source, canonical_url(&card.url), detail.title.clone(), now);
    call.external_id = detail.content_id.clone();
    call.summary = if detail.kurztext.is_empty() || crate::collect::extract::is_bare_heading(&detail.kurztext) {
        first_paragraph(&detail.volltext)
    } else {
        detail.kurztext.clone()
    };
    call.text = full_text(detail);
    call.funder = detail.funder.clone();
    call.funding_types = detail.funding_types.clone();
    call.topics = if detail.topics.is_empty() {
        card.topic_labels()
    } else {
        detail.topics.clone()
    };
    call.regions = regions(&detail.regions);
    call.applicants = if detail.applicants.is_empty() {
        let from_text = extract::parse_applicants(&detail.voraussetzungen);
        if from_text.is_unstated() {
            applicants(&card.applicant_labels())
        } else {
            from_text
        }
    } else {
        applicants(&detail.applicants)
    };
    let summary_text = format!("{}\n{}", detail.kurztext, detail.volltext);
    call.deadline = deadline(detail, &summary_text, today);
    call.status = status(detail, &call.deadline, today);
    call.funding_rate = extract::parse_funding_rate(&summary_text);
    call.amount_max_eur = extract::parse_amount_max(&summary_text);
    call.seal()
}

/// Fristen first; else the summary; on pages without a summary the Rechtsgrundlage
/// (where those pages state their dates).
fn deadline(detail: &Detail, summary_text: &str, today: chrono::NaiveDate) -> Deadline {
    let mut candidates = vec![detail.fristen.as_str(), summary_text];
    if !detail.has_summary() {
        candidates.push(&detail.rechtsgrundlage);
    }
    candidates
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| extract::parse_deadline(t, today))
        .find(|d| *d != Deadline::Unknown)
        .unwrap_or(Deadline::Unknown)
}

fn status(detail: &Detail, deadline: &Deadline, today: chrono::NaiveDate) -> CallStatus {
    let note = detail.status_note.as_deref().unwrap_or("").to_lowercase();
    if note.contains("nicht mehr möglich") || note.contains("geschlossen") || note.contains("beendet") {
        return CallStatus::Closed;
    }
    match deadline {
        Deadline::Dates(dates) if !dates.is_empty() => {
            if deadline.is_open(today) {
                CallStatus::Open
            } else {
                CallStatus::Closed
            }
        }
        Deadline::Rolling => CallStatus::Open,
        _ => CallStatus::Unknown,
    }
}

/// Fördergebiet labels are a closed list ("bundesweit", Länder); the shared
/// region parser reads them, and the label itself is the fallback.
fn regions(labels: &[String]) -> Vec<Region> {
    let mut regions = extract::parse_regions(&labels.join(", "));
    if regions.is_empty() {
        regions = labels.iter().filter_map(|l| Region::try_from(l.clone()).ok()).collect();
    }
    regions.sort();
    regions.dedup();
    regions
}

/// Förderberechtigte labels: the shared parser plus the facet's own categories.
fn applicants(labels: &[String]) -> Applicants {
    let mut parsed = extract::parse_applicants(&labels.join(", "));
    parsed
        .categories
        .extend(labels.iter().filter_map(|l| vocab::applicant_category(l)));
    parsed.raw = labels.to_vec();
    parsed
}

fn full_text(detail: &Detail) -> String {
    let mut blocks = vec![detail.volltext.clone()];
    if !detail.fristen.is_empty() {
        blocks.push(format!("Fristen: {}", detail.fristen));
    }
    blocks.push(detail.voraussetzungen.clone());
    if !detail.rechtsgrundlage.is_empty() {
        blocks.push(format!("Rechtsgrundlage: {}", detail.rechtsgrundlage));
    }
    if let Some(contact) = &detail.contact {
        blocks.push(format!("Ansprechpunkt: {contact}"));
    }
    if !detail.links.is_empty() {
        let links: Vec<String> = detail
            .links
            .iter()
            .map(|(label, url)| format!("{label} ({url})"))
            .collect();
        blocks.push(format!("Weiterführende Links: {}", links.join("; ")));
    }
    blocks.retain(|b| !b.trim().is_empty());
    blocks.join("\n\n")
}

fn first_paragraph(text: &str) -> String {
    crate::collect::extract::lead_paragraph(text).to_string()
}

/// A call from the list card alone (details off, over budget, or unreadable).
fn card_call(card: &Card, ctx: &CollectContext<'_>) -> Call {
    let mut call = Call::new(ctx.source.id.clone(), card.url.clone(), card.title.clone(), ctx.now);
    call.topics = card.topic_labels();
    call.applicants = applicants(&card.applicant_labels());
    call.seal()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use url::Url;

    use super::*;
    use crate::model::{ApplicantCategory, Bundesland};

    #[test]
    fn options_have_defaults_and_reject_unknown_keys() {
        let o: FdbOptions = toml::from_str("").unwrap();
        assert_eq!((o.max_pages, o.fetch_details, o.feed.is_none()), (100, true, true));
        let o: FdbOptions =
            toml::from_str("max_pages = 3\nfetch_details = false\nfeed = \"http://127.0.0.1:1/rss.xml\"").unwrap();
        assert_eq!(o.feed.unwrap().as_str(), "http://127.0.0.1:1/rss.xml");
        assert!(toml::from_str::<FdbOptions>("max_page = 3").is_err());
        let err = toml::from_str::<FdbOptions>("feed = \"kein url\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid feed URL"), "{err}");
    }

    fn card() -> Card {
        Card {
            url: "http://127.0.0.1:9/FDB/Content/DE/Foerderprogramm/Land/NRW/platz.html?utm_source=x".into(),
            title: "Kartentitel".into(),
            applicants: "Kommune".into(),
            topics: "Infrastruktur".into(),
        }
    }

    #[test]
    fn maps_detail_fields_into_a_call() {
        let detail = Detail {
            title: "Dorfplätze".into(),
            funding_types: vec!["Zuschuss".into()],
            topics: vec!["Kultur, Medien & Sport".into()],
            regions: vec!["Nordrhein-Westfalen".into()],
            applicants: vec!["Kommune".into(), "Öffentliche Einrichtung".into()],
            funder: Some("Ministerium".into()),
            contact: Some("Bezirksregierung".into()),
            kurztext: "Kurz.".into(),
            volltext: "Lang.".into(),
            fristen: "bis 1.2.2030".into(),
            rechtsgrundlage: "Richtlinie".into(),
            ..Detail::default()
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap();
        let call = detail_to_call(&detail, &card(), "fdb-nrw", now);
        assert_eq!(
            call.url,
            "http://127.0.0.1:9/FDB/Content/DE/Foerderprogramm/Land/NRW/platz.html"
        );
        assert_eq!(call.title, "Dorfplätze");
        assert_eq!(call.summary, "Kurz.");
        assert!(
            call.text.starts_with("Lang.")
                && call.text.contains("Fristen: bis 1.2.2030")
                && call.text.contains("Rechtsgrundlage: Richtlinie")
        );
        assert!(call.text.contains("Ansprechpunkt: Bezirksregierung"));
        assert_eq!(call.regions, vec![Region::Land(Bundesland::NordrheinWestfalen)]);
        assert!(call.applicants.categories.contains(&ApplicantCategory::Kommune));
        assert!(
            call.applicants
                .categories
                .contains(&ApplicantCategory::OeffentlicheEinrichtung)
        );
        assert_eq!(call.applicants.raw, vec!["Kommune", "Öffentliche Einrichtung"]);
        assert_eq!(call.topics, vec!["Kultur, Medien & Sport"]);
        assert_eq!(call.fingerprint, call.compute_fingerprint());
    }

    #[test]
    fn closed_note_and_bundesweit() {
        let detail = Detail {
            title: "Alt".into(),
            status_note: Some("Förderprogramm aktiv, Antragsstellung nicht mehr möglich".into()),
            regions: vec!["bundesweit".into()],
            ..Detail::default()
        };
        let call = detail_to_call(&detail, &card(), "s", Utc::now());
        assert_eq!(call.status, CallStatus::Closed);
        assert_eq!(call.regions, vec![Region::Bundesweit]);
        assert_eq!(call.topics, vec!["Infrastruktur"], "card topics when the page has none");
        assert_eq!(call.summary, "");
    }

    #[test]
    fn deadline_day_ends_at_midnight_in_germany_not_in_utc() {
        let detail = Detail {
            title: "Frist heute".into(),
            fristen: "Anträge bis 31.03.2026 einreichen.".into(),
            ..Detail::default()
        };
        // 22:30 UTC on 31 March is 00:30 on 1 April in Berlin (summer time).
        let late = Utc.with_ymd_and_hms(2026, 3, 31, 22, 30, 0).unwrap();
        assert_eq!(detail_to_call(&detail, &card(), "s", late).status, CallStatus::Closed);
        let evening = Utc.with_ymd_and_hms(2026, 3, 31, 21, 30, 0).unwrap();
        assert_eq!(detail_to_call(&detail, &card(), "s", evening).status, CallStatus::Open);
    }

    #[test]
    fn card_url_resolution_keeps_double_encoding() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let href = "SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html?gtp=%2526x_list%253D3&filterCategories=FundingProgram";
        let joined = base.join(href).unwrap().to_string();
        assert!(joined.ends_with(href));
        assert_eq!(canonical_url(&joined), joined);
    }
}
