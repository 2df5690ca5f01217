//! Source kind `html`: a generic list scraper configured with CSS selectors.
//!
//! Two modes: `list` (one element per call, fields by selector) and `labels`
//! (each item holds label/answer pairs such as "Wer kann beantragen?" → answer,
//! mapped to call fields). Optionally each call's detail page is fetched and
//! read with its own selectors and labels. The selectors were compiled once,
//! when the config was loaded ([`HtmlSource`]). List pages are fetched with
//! conditional GETs; their parsed listings are kept in the source's
//! [`HtmlMemo`], so a 304 still yields the calls, and a detail page is fetched
//! again only when its list entry changed or the store lacks the call.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock};

use chrono::NaiveDate;
use futures::StreamExt;
use scraper::{ElementRef, Selector};
use url::Url;

use super::extract::{
    MarkupError, ParseGuard, is_bare_heading, parse_amount_max, parse_applicants, parse_deadline, parse_funding_rate,
    parse_german_date, parse_page, parse_regions, try_html_to_text,
};
use super::fields::{EntryKey, Extracted, FieldMemo};
use super::identity::canonical_url;
use super::page::{base_url, css, text_of};
use super::{CollectContext, CollectError, SourceKind, Validators, berlin_today};
use crate::model::source::Memo;
use crate::model::source::html::{Field, HtmlMemo, HtmlOptions, HtmlSource, ListPage, Listing, Selectors};
use crate::model::{Call, Deadline, DeadlineDate};

/// What a detail page adds to its listing.
#[derive(Debug, Default)]
struct DetailPage {
    title: Option<String>,
    summary: Option<String>,
    deadline: Option<String>,
    text: String,
    labels: Vec<(Field, String)>,
}

/// State written during this pass, next to the memo of the last one; URLs no
/// longer listed drop out of it.
struct PassState {
    old_memo: HtmlMemo,
    validators: BTreeMap<String, Validators>,
    memo: HtmlMemo,
    /// Every list page answered 304 and was read from the memo.
    pages_unchanged: bool,
}

impl Default for PassState {
    fn default() -> PassState {
        PassState {
            old_memo: HtmlMemo::default(),
            validators: BTreeMap::new(),
            memo: HtmlMemo::default(),
            pages_unchanged: true,
        }
    }
}

/// Without detail pages, unchanged list pages are the whole source; with them, each
/// listing must also have had its detail page read last time (a failed detail page is
/// tried again).
fn details_unchanged(html: &HtmlSource, old_memo: &HtmlMemo, listings: &[Listing]) -> bool {
    html.selectors().detail.is_none()
        || listings
            .iter()
            .all(|l| old_memo.details.get(&l.url) == Some(&l.signature()))
}

/// Collects the calls of one `html` source.
pub async fn collect(ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    let SourceKind::Html(html) = &ctx.source.kind else {
        unreachable!("html::collect called for kind {}", ctx.source.kind.name());
    };
    let mut pass = PassState {
        old_memo: std::mem::take(&mut ctx.state.memo).into_html(),
        ..PassState::default()
    };
    let listings = collect_listings(ctx, html, &mut pass).await?;
    if pass.pages_unchanged && ctx.prior.exists() && details_unchanged(html, &pass.old_memo, &listings) {
        pass.memo.details = std::mem::take(&mut pass.old_memo.details);
        for listing in &listings {
            if let Some(v) = ctx.state.validators.get(&listing.link) {
                pass.validators.insert(listing.link.clone(), v.clone());
            }
        }
        ctx.state.validators = pass.validators;
        ctx.state.memo = Memo::Html(pass.memo);
        return Ok(ctx.all_unchanged());
    }
    let calls = match &html.selectors().detail {
        None => {
            ctx.load_fields().await?;
            let mut memo = std::mem::take(&mut ctx.fields);
            let calls = listings
                .iter()
                .map(|l| build_call(ctx, html.options(), l, None, Some(&mut memo)))
                .collect();
            ctx.fields = memo;
            calls
        }
        // Only detail pages reuse earlier calls; a list alone never reads them.
        Some(_) => {
            ctx.load_prior().await?;
            collect_details(ctx, html, &listings, &mut pass).await?
        }
    };
    ctx.state.validators = pass.validators;
    ctx.state.memo = Memo::Html(pass.memo);
    Ok(calls)
}

/// Walks the list pages (`next_page` up to `max_pages`), deduplicating calls by URL.
async fn collect_listings(
    ctx: &CollectContext<'_>,
    html: &HtmlSource,
    pass: &mut PassState,
) -> Result<Vec<Listing>, CollectError> {
    let mut url = ctx.source.url.clone();
    let mut visited = HashSet::new();
    let mut listings: Vec<Listing> = Vec::new();
    let mut listed = HashSet::new();
    for _ in 0..html.options().max_pages {
        if !visited.insert(url.to_string()) {
            break;
        }
        let page = list_page(ctx, html.selectors(), &url, pass).await?;
        for listing in page.listings {
            if listed.insert(listing.url.clone()) {
                listings.push(listing);
            }
        }
        match page.next.and_then(|n| Url::parse(&n).ok()) {
            Some(next) => url = next,
            None => break,
        }
    }
    Ok(listings)
}

/// One list page: conditional GET; on 304 the listings of the last pass.
async fn list_page(
    ctx: &CollectContext<'_>,
    selectors: &Arc<Selectors>,
    url: &Url,
    pass: &mut PassState,
) -> Result<ListPage, CollectError> {
    let key = url.to_string();
    let remembered = pass.old_memo.pages.remove(&key);
    let validators = remembered.as_ref().and(ctx.state.validators.get(&key));
    let mut fetched = ctx.fetcher.get(url, validators).await?;
    let page = match remembered {
        Some(page) if fetched.not_modified => page,
        _ => {
            pass.pages_unchanged = false;
            if fetched.not_modified {
                // The server answered 304 although we sent no validators; ask again plainly.
                fetched = ctx.fetcher.get(url, None).await?;
            }
            let (body, page_url, selectors) = (
                std::mem::take(&mut fetched.body),
                fetched.url.clone(),
                selectors.clone(),
            );
            let (source, max) = (ctx.source.id.clone(), ctx.fetcher.settings().max_items_per_page);
            ctx.parse_blocking(&key, move |guard| {
                parse_list_page(&body, &page_url, &selectors, &source, max, guard)
            })
            .await?
            .map_err(|e| ctx.markup_error(&key, e))?
        }
    };
    let validators = if fetched.not_modified {
        validators.cloned().unwrap_or_default()
    } else {
        fetched.validators
    };
    pass.validators.insert(key.clone(), validators);
    pass.memo.pages.insert(key, page.clone());
    Ok(page)
}

/// Fetches detail pages (a few at a time; the fetcher keeps each host polite),
/// skipping those whose list entry is unchanged and whose call the store has.
async fn collect_details(
    ctx: &CollectContext<'_>,
    html: &HtmlSource,
    listings: &[Listing],
    pass: &mut PassState,
) -> Result<Vec<Call>, CollectError> {
    let parallel = ctx.fetcher.settings().per_host_concurrency.max(1);
    let old_memo = std::mem::take(&mut pass.old_memo);
    // Futures are built up front: a closure inside the stream trips the `Send` check of `tokio::spawn`.
    let pending: Vec<_> = listings
        .iter()
        .map(|listing| detail_call(ctx, html, &old_memo, listing))
        .collect();
    let results: Vec<_> = futures::stream::iter(pending).buffered(parallel).collect().await;
    let mut calls = Vec::with_capacity(results.len());
    let mut first_error = None;
    let mut fetched = 0;
    for (listing, result) in listings.iter().zip(results) {
        match result {
            Ok((call, validators)) => {
                fetched += 1;
                pass.memo.details.insert(listing.url.clone(), listing.signature());
                if let Some(v) = validators {
                    pass.validators.insert(listing.link.clone(), v);
                }
                calls.push(call);
            }
            // One broken detail page must not cost the source its other calls: keep what
            // the list (or the last pass) says, and try the page again next pass.
            Err(e) => {
                tracing::warn!(source = %ctx.source.id, url = %listing.link, error = %e, "detail page failed; using the list entry");
                let fallback = ctx.prior.get(&listing.url).map_or_else(
                    || build_call(ctx, html.options(), listing, None, None),
                    |prior| Call {
                        last_seen: ctx.now,
                        ..prior.clone()
                    },
                );
                calls.push(fallback);
                first_error.get_or_insert(e);
            }
        }
    }
    // When every detail page failed, the site is down rather than one page broken.
    match first_error {
        Some(e) if fetched == 0 => Err(e),
        _ => Ok(calls),
    }
}

/// One call with its detail page; returns the validators to keep for the page.
async fn detail_call(
    ctx: &CollectContext<'_>,
    html: &HtmlSource,
    old_memo: &HtmlMemo,
    listing: &Listing,
) -> Result<(Call, Option<Validators>), CollectError> {
    let old_validators = ctx.state.validators.get(&listing.link);
    let prior = ctx.prior.get(&listing.url);
    let unchanged = old_memo.details.get(&listing.url) == Some(&listing.signature());
    if let Some(prior) = prior.filter(|_| unchanged) {
        return Ok((
            Call {
                last_seen: ctx.now,
                ..prior.clone()
            },
            old_validators.cloned(),
        ));
    }
    let url =
        Url::parse(&listing.link).map_err(|e| CollectError::parse(&listing.link, format!("bad detail link: {e}")))?;
    let fetched = ctx.fetcher.get(&url, prior.and(old_validators)).await?;
    if fetched.not_modified
        && let Some(prior) = prior
    {
        // The detail page is what the call is made of; it did not change.
        return Ok((
            Call {
                last_seen: ctx.now,
                ..prior.clone()
            },
            old_validators.cloned(),
        ));
    }
    let (body, selectors) = (fetched.body, html.selectors().clone());
    let page = ctx
        .parse_blocking(&listing.link, move |guard| parse_detail_page(&body, &selectors, guard))
        .await?
        .map_err(|e| ctx.markup_error(&listing.link, e))?;
    Ok((
        build_call(ctx, html.options(), listing, Some(&page), None),
        Some(fetched.validators),
    ))
}

/// Reads the listings (at most `max`) and the next-page link of one list page.
/// A page where `item` finds nothing yields no listings (the store flags drift);
/// only markup nested too deep or a spent budget (`guard`) fail it.
fn parse_list_page(
    body: &str,
    page_url: &Url,
    selectors: &Selectors,
    source: &str,
    max: usize,
    guard: &ParseGuard,
) -> Result<ListPage, MarkupError> {
    let document = parse_page(body, guard)?;
    let base = base_url(&document, page_url);
    let mut listings = Vec::new();
    for (n, item) in document.select(&selectors.item).enumerate() {
        if n == max {
            tracing::warn!(
                source,
                page = %page_url,
                max,
                "list page has more items than http.max_items_per_page; the first {max} are kept"
            );
            break;
        }
        guard.check()?;
        match read_listing(item, &base, selectors, guard)? {
            Some(listing) => listings.push(listing),
            None => tracing::warn!(source, page = %page_url, "list item without title or link; skipped"),
        }
    }
    if listings.is_empty() {
        tracing::warn!(source, page = %page_url, "item selector found no calls");
    }
    let next = selectors
        .next_page
        .as_ref()
        .and_then(|sel| document.select(sel).next())
        .and_then(|el| href_of(el, &base))
        .map(|u| u.to_string());
    Ok(ListPage { listings, next })
}

fn read_listing(
    item: ElementRef,
    base: &Url,
    c: &Selectors,
    guard: &ParseGuard,
) -> Result<Option<Listing>, MarkupError> {
    let title_element = item.select(&c.title).next();
    let Some(title) = title_element.map(text_of).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let Some(link) = item_link(item, title_element, c, base) else {
        return Ok(None);
    };
    let first = |sel: &Option<Selector>| sel.as_ref().and_then(|s| item.select(s).next());
    let summary = match first(&c.summary) {
        Some(e) => try_html_to_text(&e.inner_html(), guard)?.trim().to_string(),
        None => String::new(),
    };
    Ok(Some(Listing {
        url: canonical_url(link.as_str()),
        link: link.to_string(),
        title,
        summary,
        published: first(&c.published).and_then(date_of),
        deadline: first(&c.deadline).map(|e| e.value().attr("datetime").map_or_else(|| text_of(e), str::to_string)),
        labels: label_pairs(item, c),
    }))
}

/// The `link` selector's href; by default the first link in the title, then in
/// the item, then the item itself (teasers that are one big `<a>`).
fn item_link(item: ElementRef, title: Option<ElementRef>, c: &Selectors, base: &Url) -> Option<Url> {
    let found = match &c.link {
        Some(sel) => item.select(sel).next(),
        None => title
            .filter(|t| t.value().attr("href").is_some())
            .or_else(|| title.and_then(first_link))
            .or_else(|| first_link(item)),
    };
    found.or(Some(item)).and_then(|el| href_of(el, base))
}

static ANY_LINK: LazyLock<Selector> = LazyLock::new(|| css("a[href]"));

/// The first link with text; broken markup leaves empty copies of unclosed `<a>`s around.
fn first_link(scope: ElementRef) -> Option<ElementRef> {
    let mut links = scope.select(&ANY_LINK).peekable();
    let first = links.peek().copied();
    links.find(|a| !text_of(*a).is_empty()).or(first)
}

fn href_of(element: ElementRef, base: &Url) -> Option<Url> {
    let href = element.value().attr("href")?.trim();
    base.join(href).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// `time[datetime]` (ISO) or German date text.
fn date_of(element: ElementRef) -> Option<NaiveDate> {
    element
        .value()
        .attr("datetime")
        .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok())
        .or_else(|| parse_german_date(&text_of(element)))
}

/// Label/answer pairs within `scope` whose label maps to a field.
///
/// A label's answer is the content after it up to the next label, within its
/// parent; when the label stands alone in its parent (`<p><strong>Frist</strong></p>`),
/// the parent's following siblings are read instead.
fn label_pairs(scope: ElementRef, c: &Selectors) -> Vec<(Field, String)> {
    if !c.maps_labels() {
        return Vec::new();
    }
    let labels: Vec<ElementRef> = scope.select(&c.label).filter(|l| is_label_like(*l, c)).collect();
    let mut pairs = Vec::new();
    for label in &labels {
        let fields = c.fields_of(&text_of(*label));
        if fields.is_empty() {
            continue;
        }
        let answer = answer_after(*label, &labels, scope);
        if !answer.is_empty() {
            pairs.extend(fields.into_iter().map(|f| (f, answer.clone())));
        }
    }
    pairs
}

/// Bold text inside an answer ("bis <strong>30.09.</strong>") is not a label:
/// only mapped labels, headings, terms, texts ending in `?` or `:` and
/// elements standing alone in their parent (`<p><strong>Links</strong></p>`) are.
fn is_label_like(element: ElementRef, c: &Selectors) -> bool {
    let text = text_of(element);
    let tag = element.value().name();
    let alone = element
        .parent()
        .and_then(ElementRef::wrap)
        .is_some_and(|p| text_of(p) == text);
    !c.fields_of(&text).is_empty()
        || matches!(tag, "dt" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th")
        || text.ends_with('?')
        || text.ends_with(':')
        || alone
}

fn answer_after(label: ElementRef, labels: &[ElementRef], scope: ElementRef) -> String {
    let mut node = label;
    loop {
        let answer = following_text(node, labels);
        if !answer.is_empty() {
            return answer;
        }
        match node.parent().and_then(ElementRef::wrap) {
            Some(parent) if parent != scope => node = parent,
            _ => return answer,
        }
    }
}

fn following_text(node: ElementRef, labels: &[ElementRef]) -> String {
    let mut parts = Vec::new();
    for sibling in node.next_siblings() {
        if let Some(element) = ElementRef::wrap(sibling) {
            let holds_label = labels
                .iter()
                .any(|l| *l == element || l.ancestors().any(|a| a == sibling));
            if holds_label {
                break;
            }
            parts.push(text_of(element));
        } else if let Some(text) = sibling.value().as_text() {
            parts.push(text.to_string());
        }
    }
    parts.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_detail_page(body: &str, selectors: &Selectors, guard: &ParseGuard) -> Result<DetailPage, MarkupError> {
    let Some(detail) = &selectors.detail else {
        return Ok(DetailPage::default());
    };
    let document = parse_page(body, guard)?;
    let root = document.root_element();
    let first = |sel: &Option<Selector>| sel.as_ref().and_then(|s| document.select(s).next());
    let content = first(&detail.content).unwrap_or(root);
    let summary = match first(&detail.summary) {
        Some(e) => Some(try_html_to_text(&e.inner_html(), guard)?.trim().to_string()),
        None => None,
    };
    Ok(DetailPage {
        title: first(&detail.title).map(text_of).filter(|t| !t.is_empty()),
        summary,
        deadline: first(&detail.deadline)
            .map(|e| e.value().attr("datetime").map_or_else(|| text_of(e), str::to_string)),
        text: try_html_to_text(&content.inner_html(), guard)?.trim().to_string(),
        labels: if detail.use_labels {
            label_pairs(content, selectors)
        } else {
            Vec::new()
        },
    })
}

/// Merges a listing, its detail page and the source's fixed values into a call.
/// Label answers win over selectors, which win over free text. The fields of a listing
/// read without a detail page come from `memo` when the listing is as it was.
fn build_call(
    ctx: &CollectContext<'_>,
    options: &HtmlOptions,
    listing: &Listing,
    detail: Option<&DetailPage>,
    memo: Option<&mut FieldMemo>,
) -> Call {
    let today = berlin_today(ctx.now);
    let read_regions = options.regions.is_empty();
    let extract = || listing_fields(listing, detail, today, read_regions);
    let fields = match memo.filter(|_| detail.is_none()) {
        Some(memo) => {
            let signature = listing.signature().to_string();
            let key = EntryKey::of(today, &[&signature, if read_regions { "regions" } else { "" }]);
            memo.fields(key, extract)
        }
        None => extract(),
    };
    let (title, summary, text) = call_texts(listing, detail);
    let labels = labels_of(listing, detail);
    let label = |field: Field| first_label(&labels, field);
    let mut call = Call::new(ctx.source.id.clone(), listing.url.clone(), title, ctx.now);
    fields.apply(&mut call);
    if !read_regions {
        call.regions = options.regions.clone();
    }
    call.funder = label(Field::Funder)
        .map(str::to_string)
        .or_else(|| options.funder.clone());
    call.funding_types = labels
        .iter()
        .filter(|(f, _)| *f == Field::FundingType)
        .map(|(_, a)| a.clone())
        .collect();
    call.published = listing.published;
    call.summary = summary;
    call.text = text;
    call.seal()
}

/// The label answers of the listing, then of its detail page.
fn labels_of<'a>(listing: &'a Listing, detail: Option<&'a DetailPage>) -> Vec<&'a (Field, String)> {
    listing
        .labels
        .iter()
        .chain(detail.iter().flat_map(|d| &d.labels))
        .collect()
}

/// The first answer to `field` among `labels`.
fn first_label<'a>(labels: &[&'a (Field, String)], field: Field) -> Option<&'a str> {
    labels
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, answer)| answer.as_str())
}

/// Title, summary and full text of the call: the detail page's where it has them.
fn call_texts(listing: &Listing, detail: Option<&DetailPage>) -> (String, String, String) {
    let labels = labels_of(listing, detail);
    let label = |field: Field| first_label(&labels, field);
    let title = detail
        .and_then(|d| d.title.clone())
        .unwrap_or_else(|| listing.title.clone());
    // A heading with nothing after it ("Expected Outcome:") is no summary.
    let said = |s: &String| !s.trim().is_empty() && !is_bare_heading(s);
    let summary = detail
        .and_then(|d| d.summary.clone())
        .filter(said)
        .or_else(|| Some(listing.summary.clone()).filter(said))
        .or_else(|| label(Field::Summary).map(str::to_string).filter(said))
        .unwrap_or_default();
    let text = detail.map(|d| d.text.clone()).unwrap_or_default();
    (title, summary, text)
}

/// What the field parsers read from a listing and its detail page.
fn listing_fields(listing: &Listing, detail: Option<&DetailPage>, today: NaiveDate, read_regions: bool) -> Extracted {
    let (title, summary, text) = call_texts(listing, detail);
    let labels = labels_of(listing, detail);
    let label = |field: Field| first_label(&labels, field);
    let free_text = format!("{title}\n{summary}\n{text}");
    Extracted {
        deadline: label(Field::Deadline)
            .or(detail.and_then(|d| d.deadline.as_deref()))
            .or(listing.deadline.as_deref())
            .map(|d| deadline_of(d, today))
            .unwrap_or_else(|| parse_deadline(&format!("{summary}\n{text}"), today)),
        applicants: parse_applicants(label(Field::Applicants).unwrap_or(&free_text)),
        regions: if read_regions {
            parse_regions(label(Field::Region).unwrap_or(&free_text))
        } else {
            Vec::new()
        },
        funding_rate: parse_funding_rate(label(Field::Rate).unwrap_or(&free_text)),
        amount_max_eur: parse_amount_max(label(Field::Amount).unwrap_or(&free_text)),
    }
}

/// An ISO date (from `datetime`) is one cut-off; anything else is German text.
fn deadline_of(text: &str, today: NaiveDate) -> Deadline {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(date) => Deadline::Dates(vec![DeadlineDate::on(date)]),
        Err(_) => parse_deadline(text, today),
    }
}
