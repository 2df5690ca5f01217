//! Source kind `rss`: RSS 0.9x/1.0 (RDF)/2.0 and Atom feeds (feed-rs). Each
//! entry becomes a [`Call`]; criteria come from the entry's text via `extract`.

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed};
use url::Url;

use super::extract::{
    html_to_text, parse_amount_max, parse_applicants, parse_deadline, parse_funding_rate, parse_regions,
};
use super::identity::canonical_url;
use super::{CollectContext, CollectError, SourceKind, berlin_today};
use crate::model::Call;
use crate::model::source::rss::RssOptions;

/// Collects the calls of one feed. A 304 yields the prior calls unchanged.
pub async fn collect(ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    let SourceKind::Rss(options) = &ctx.source.kind else {
        unreachable!("rss::collect called for kind {}", ctx.source.kind.name());
    };
    let feed_url = &ctx.source.url;
    let key = feed_url.to_string();
    // Without prior calls a 304 would leave nothing to return, so ask unconditionally.
    let validators = if ctx.prior.is_empty() {
        None
    } else {
        ctx.state.validators.get(&key)
    };
    let fetched = ctx.fetcher.get(feed_url, validators).await?;
    if fetched.not_modified {
        let now = ctx.now;
        return Ok(ctx
            .prior
            .values()
            .map(|c| Call {
                last_seen: now,
                ..c.clone()
            })
            .collect());
    }
    let feed = parse_feed(&fetched.body, &fetched.url)
        .map_err(|message| CollectError::parse(&key, format!("source '{}': {message}", ctx.source.id)))?;
    ctx.state.validators.insert(key, fetched.validators);
    let calls = feed
        .entries
        .iter()
        .filter_map(|entry| entry_call(entry, &fetched.url, options, &ctx.source.id, ctx.now))
        .collect();
    Ok(dedup_by_url(calls))
}

fn parse_feed(body: &str, url: &Url) -> Result<Feed, String> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        .build()
        .parse(body.as_bytes())
        .map_err(|e| format!("not a valid RSS/Atom feed: {e}"))
}

/// One entry as a call; entries without any usable link are skipped (no identity).
fn entry_call(entry: &Entry, feed_url: &Url, options: &RssOptions, source: &str, now: DateTime<Utc>) -> Option<Call> {
    let Some(url) = entry_url(entry, feed_url) else {
        tracing::warn!(source, entry = %entry.id, "feed entry without a link; skipped");
        return None;
    };
    let title = entry
        .title
        .as_ref()
        .map(|t| html_to_text(&t.content))
        .unwrap_or_default();
    let summary = entry_summary(entry);
    let today = berlin_today(now);
    let criteria_text = format!("{title}\n{summary}");
    let mut call = Call::new(source, canonical_url(url.as_str()), title.trim(), now);
    call.deadline = parse_deadline(&summary, today);
    call.applicants = parse_applicants(&criteria_text);
    call.regions = if options.regions.is_empty() {
        parse_regions(&criteria_text)
    } else {
        options.regions.clone()
    };
    call.funding_rate = parse_funding_rate(&summary);
    call.amount_max_eur = parse_amount_max(&summary);
    call.funder = options.funder.clone();
    call.funding_types = options.funding_types.clone();
    call.topics = entry
        .categories
        .iter()
        .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
        .collect();
    call.published = entry
        .published
        .or(entry.updated)
        .map(|d| d.with_timezone(&chrono_tz::Europe::Berlin).date_naive());
    call.summary = summary;
    Some(call.seal())
}

/// The entry's link (relative ones resolved against the feed), else a guid that is a URL.
fn entry_url(entry: &Entry, feed_url: &Url) -> Option<Url> {
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.as_str());
    let candidate = link.or_else(|| entry.id.starts_with("http").then_some(entry.id.as_str()))?;
    feed_url.join(candidate.trim()).ok()
}

/// Description (RSS) or summary/content (Atom) as clean text.
fn entry_summary(entry: &Entry) -> String {
    let raw = entry
        .summary
        .as_ref()
        .map(|s| s.content.clone())
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.clone()))
        .unwrap_or_default();
    html_to_text(&raw).trim().to_string()
}

/// Feeds sometimes repeat an item (e.g. re-published with a new guid); keep the first.
fn dedup_by_url(calls: Vec<Call>) -> Vec<Call> {
    let mut seen = std::collections::HashSet::new();
    calls.into_iter().filter(|c| seen.insert(c.url.clone())).collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    const RDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/feed.rdf"><title>Förderaufrufe</title><link>https://example.org/</link>
    <description>Test</description></channel>
  <item rdf:about="https://example.org/aufruf-1">
    <title>Förderaufruf Dorfgemeinschaftshäuser</title>
    <link>/aufrufe/dorfgemeinschaft.html</link>
    <description>Antragsberechtigt sind Gemeinden.</description>
    <dc:date>2026-03-02T09:00:00+01:00</dc:date>
  </item>
</rdf:RDF>"#;

    #[test]
    fn rdf_items_use_dc_date_and_resolve_relative_links() {
        let feed_url = Url::parse("https://example.org/feeds/aufrufe.rdf").unwrap();
        let feed = parse_feed(RDF, &feed_url).unwrap();
        let now = Utc::now();
        let call = entry_call(&feed.entries[0], &feed_url, &RssOptions::default(), "rdf", now).unwrap();
        assert_eq!(call.url, "https://example.org/aufrufe/dorfgemeinschaft.html");
        assert_eq!(call.published, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(call.title, "Förderaufruf Dorfgemeinschaftshäuser");
        assert!(!call.fingerprint.is_empty());
    }

    #[test]
    fn options_reject_unknown_keys() {
        let table: toml::Table = toml::from_str("funder = \"BMWE\"\nregion = [\"NRW\"]").unwrap();
        let err = SourceKind::from_table("rss", table).unwrap_err();
        assert!(err.contains("region"), "{err}");
        let table: toml::Table = toml::from_str("funder = \"BMWE\"\nregions = [\"Nordrhein-Westfalen\"]").unwrap();
        let SourceKind::Rss(options) = SourceKind::from_table("rss", table).unwrap() else {
            panic!()
        };
        assert_eq!(
            options.regions,
            vec![crate::model::Region::Land(crate::model::Bundesland::NordrheinWestfalen)]
        );
    }
}
