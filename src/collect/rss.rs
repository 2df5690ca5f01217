//! Source kind `rss`: RSS 0.9x/1.0 (RDF)/2.0 and Atom feeds (feed-rs). Each
//! entry becomes a [`Call`]; criteria come from the entry's text via `extract`.

use chrono::{DateTime, NaiveDate, Utc};
use feed_rs::model::{Entry, Feed};
use url::Url;

use super::extract::{
    MarkupError, ParseGuard, parse_amount_max, parse_applicants, parse_deadline, parse_funding_rate, parse_regions,
    try_html_to_text,
};
use super::fields::{EntryKey, Extracted, FieldMemo};
use super::identity::canonical_url;
use super::{CollectContext, CollectError, PageError, SourceKind, berlin_today};
use crate::model::Call;
use crate::model::source::rss::RssOptions;

/// Collects the calls of one feed. A 304 ends the pass as unchanged.
pub async fn collect(ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    let SourceKind::Rss(options) = &ctx.source.kind else {
        unreachable!("rss::collect called for kind {}", ctx.source.kind.name());
    };
    let feed_url = &ctx.source.url;
    let key = feed_url.to_string();
    // Without prior calls a 304 would leave nothing to return, so ask unconditionally.
    let validators = if ctx.prior.exists() {
        ctx.state.validators.get(&key)
    } else {
        None
    };
    let fetched = ctx.fetcher.get(feed_url, validators).await?;
    if fetched.not_modified {
        return Ok(ctx.all_unchanged());
    }
    ctx.load_fields().await?;
    let (body, url, source) = (fetched.body, fetched.url, ctx.source.id.clone());
    let (options, now) = (options.clone(), ctx.now);
    let max = ctx.fetcher.settings().max_items_per_feed;
    let mut memo = std::mem::take(&mut ctx.fields);
    let (calls, memo) = ctx
        .parse_blocking(&key, move |guard| {
            let calls = feed_calls(&body, &url, &options, &source, now, max, &mut memo, guard);
            (calls, memo)
        })
        .await?;
    ctx.fields = memo;
    let calls = calls.map_err(|e| ctx.page_error(&key, e))?;
    ctx.state.validators.insert(key, fetched.validators);
    Ok(dedup_by_url(calls))
}

/// The calls of a fetched feed: at most `max` entries (the rest dropped with a
/// warning), each entry's HTML read under `guard`, its fields taken from `memo` when
/// the entry is as it was.
#[allow(clippy::too_many_arguments)]
fn feed_calls(
    body: &str,
    url: &Url,
    options: &RssOptions,
    source: &str,
    now: DateTime<Utc>,
    max: usize,
    memo: &mut FieldMemo,
    guard: &ParseGuard,
) -> Result<Vec<Call>, PageError> {
    let truncated = truncate_entries(body, max);
    if truncated.is_some() {
        tracing::warn!(
            source,
            url = %url,
            max,
            "feed has more entries than http.max_items_per_feed; the first {max} are kept"
        );
    }
    let feed = parse_feed(truncated.as_deref().unwrap_or(body), url).map_err(PageError::Invalid)?;
    let mut calls = Vec::with_capacity(feed.entries.len());
    for entry in &feed.entries {
        guard.check().map_err(PageError::Markup)?;
        if let Some(call) = entry_call(entry, url, options, source, now, memo, guard).map_err(PageError::Markup)? {
            calls.push(call);
        }
    }
    Ok(calls)
}

/// The feed cut after its `max`-th top-level item or entry (the open parents
/// closed again), or `None` when it has no more. A streaming count costs
/// milliseconds per MB; feed-rs would build every entry first (hundreds of MB
/// for 100,000 of them). Malformed XML is left whole for feed-rs to report.
pub(crate) fn truncate_entries(xml: &str, max: usize) -> Option<String> {
    use quick_xml::events::Event;
    let is_entry = |local: &str| local == "item" || local == "entry";
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut open: Vec<String> = Vec::new();
    // Depth of the entry being read; 0 between entries.
    let mut entry_depth = 0;
    let mut seen = 0;
    let mut cut: Option<(usize, Vec<String>)> = None;
    loop {
        let (starts, ends) = match reader.read_event() {
            Ok(Event::Start(e)) => {
                open.push(e.name().as_ref().to_string());
                (entry_depth == 0 && is_entry(e.local_name().as_ref()), false)
            }
            Ok(Event::Empty(e)) => {
                let entry = entry_depth == 0 && is_entry(e.local_name().as_ref());
                (entry, entry)
            }
            Ok(Event::End(_)) => {
                let ends = entry_depth != 0 && open.len() == entry_depth;
                open.pop();
                (false, ends)
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => (false, false),
        };
        if starts {
            if let Some((at, parents)) = cut {
                let mut out = xml.get(..at)?.to_string();
                parents
                    .iter()
                    .rev()
                    .for_each(|name| out.push_str(&format!("</{name}>")));
                return Some(out);
            }
            entry_depth = open.len();
        }
        if ends {
            entry_depth = 0;
            seen += 1;
            if seen == max {
                cut = Some((usize::try_from(reader.buffer_position()).ok()?, open.clone()));
            }
        }
    }
}

fn parse_feed(body: &str, url: &Url) -> Result<Feed, String> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        .build()
        .parse(body.as_bytes())
        .map_err(|e| format!("not a valid RSS/Atom feed: {e}"))
}

/// One entry as a call; entries without any usable link are skipped (no identity).
fn entry_call(
    entry: &Entry,
    feed_url: &Url,
    options: &RssOptions,
    source: &str,
    now: DateTime<Utc>,
    memo: &mut FieldMemo,
    guard: &ParseGuard,
) -> Result<Option<Call>, MarkupError> {
    let Some(url) = entry_url(entry, feed_url) else {
        tracing::warn!(source, entry = %entry.id, "feed entry without a link; skipped");
        return Ok(None);
    };
    let title = match &entry.title {
        Some(t) => try_html_to_text(&t.content, guard)?,
        None => String::new(),
    };
    let summary = entry_summary(entry, guard)?;
    let today = berlin_today(now);
    let mut call = Call::new(source, canonical_url(url.as_str()), title.trim(), now);
    let read_regions = options.regions.is_empty();
    let key = EntryKey::of(today, &[&title, &summary, if read_regions { "regions" } else { "" }]);
    memo.fields(key, || entry_fields(&title, &summary, today, read_regions))
        .apply(&mut call);
    if !read_regions {
        call.regions = options.regions.clone();
    }
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
    Ok(Some(call.seal()))
}

/// What the field parsers read from an entry's title and summary.
fn entry_fields(title: &str, summary: &str, today: NaiveDate, read_regions: bool) -> Extracted {
    let criteria_text = format!("{title}\n{summary}");
    Extracted {
        deadline: parse_deadline(summary, today),
        applicants: parse_applicants(&criteria_text),
        regions: if read_regions {
            parse_regions(&criteria_text)
        } else {
            Vec::new()
        },
        funding_rate: parse_funding_rate(summary),
        amount_max_eur: parse_amount_max(summary),
    }
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
fn entry_summary(entry: &Entry, guard: &ParseGuard) -> Result<String, MarkupError> {
    let raw = entry
        .summary
        .as_ref()
        .map(|s| s.content.as_str())
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()))
        .unwrap_or_default();
    Ok(try_html_to_text(raw, guard)?.trim().to_string())
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
        let guard = ParseGuard::default();
        let call = entry_call(
            &feed.entries[0],
            &feed_url,
            &RssOptions::default(),
            "rdf",
            now,
            &mut FieldMemo::default(),
            &guard,
        )
        .unwrap()
        .unwrap();
        assert_eq!(call.url, "https://example.org/aufrufe/dorfgemeinschaft.html");
        assert_eq!(call.published, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(call.title, "Förderaufruf Dorfgemeinschaftshäuser");
        assert!(!call.fingerprint.is_empty());
    }

    const CRITERIA_FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>
<item><title>Digitale Kommune</title><link>https://example.org/a</link><description>Antragsberechtigt sind Kommunen und Landkreise in Nordrhein-Westfalen. Die Förderquote beträgt bis zu 80 %, höchstens 200.000 Euro. Anträge bis zum 31. März einreichen.</description></item>
<item><title>Klimaschutz im Quartier</title><link>https://example.org/b</link><description>Gefördert werden Vereine bundesweit mit 50 Prozent; Frist: 15.01.2027.</description></item>
</channel></rss>"#;

    /// The fields taken from a memo are those a full extraction gives, for every
    /// entry, with and without configured regions; a changed entry is extracted anew.
    #[test]
    fn memo_fields_equal_a_full_extraction() {
        let url = Url::parse("https://example.org/feed").unwrap();
        let now = Utc::now();
        let guard = ParseGuard::default();
        for options in [
            RssOptions::default(),
            RssOptions {
                regions: vec![crate::model::Region::Bundesweit],
                ..RssOptions::default()
            },
        ] {
            let read = |feed: &str, memo: &mut FieldMemo| {
                feed_calls(feed, &url, &options, "s", now, 100, memo, &guard).unwrap()
            };
            let mut first = FieldMemo::default();
            let full = read(CRITERIA_FEED, &mut first);
            assert!(
                full[0].funding_rate.is_some() && full[0].amount_max_eur.is_some(),
                "{:?}",
                full[0]
            );
            let stored: std::collections::HashMap<_, _> = first.to_store().unwrap().entries.into_iter().collect();
            // Poisoned entries prove the memo is read: every field differs from a real extraction.
            let poisoned = stored
                .keys()
                .map(|k| {
                    (
                        k.clone(),
                        serde_json::to_string(&Extracted {
                            deadline: crate::model::Deadline::Unknown,
                            applicants: crate::model::Applicants::default(),
                            regions: Vec::new(),
                            funding_rate: None,
                            amount_max_eur: Some(1),
                        })
                        .unwrap(),
                    )
                })
                .collect();
            assert!(
                read(CRITERIA_FEED, &mut FieldMemo::from_stored(poisoned))
                    .iter()
                    .all(|c| c.amount_max_eur == Some(1))
            );
            let mut second = FieldMemo::from_stored(stored.clone());
            assert_eq!(
                read(CRITERIA_FEED, &mut second),
                full,
                "remembered fields are the extracted ones"
            );
            assert_eq!(second.to_store(), None);
            let changed = CRITERIA_FEED.replace("bis zu 80 %", "bis zu 60 %");
            let mut third = FieldMemo::from_stored(stored);
            let calls = read(&changed, &mut third);
            assert_eq!(
                calls[0].funding_rate.map(|r| r.max),
                Some(60.0),
                "a changed entry is extracted again"
            );
            assert_eq!(calls, read(&changed, &mut FieldMemo::default()));
        }
    }

    fn feed_of(items: usize) -> String {
        let item = |i| {
            format!(
                "<item><title>Aufruf {i}</title><link>https://example.org/{i}</link><description>&lt;p&gt;Text&lt;/p&gt;</description></item>"
            )
        };
        let items: String = (0..items).map(item).collect();
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title>{items}</channel></rss>")
    }

    #[test]
    fn feeds_are_cut_after_the_item_limit() {
        assert_eq!(truncate_entries(&feed_of(3), 3), None);
        let cut = truncate_entries(&feed_of(100_000), 5).expect("cut");
        assert!(cut.ends_with("</item></channel></rss>"), "{}", &cut[cut.len() - 60..]);
        let url = Url::parse("https://example.org/feed").unwrap();
        let calls = feed_calls(
            &feed_of(100_000),
            &url,
            &RssOptions::default(),
            "s",
            Utc::now(),
            5,
            &mut FieldMemo::default(),
            &ParseGuard::default(),
        )
        .unwrap();
        let titles: Vec<_> = calls.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["Aufruf 0", "Aufruf 1", "Aufruf 2", "Aufruf 3", "Aufruf 4"]);
        // Atom, with an element named like an entry inside an entry.
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id><x:item xmlns:x=\"u\"/></entry><entry><id>2</id></entry></feed>";
        assert_eq!(
            truncate_entries(atom, 1).unwrap(),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id><x:item xmlns:x=\"u\"/></entry></feed>"
        );
        assert_eq!(
            truncate_entries("<rss><item></rss>", 1),
            None,
            "malformed XML is left to feed-rs"
        );
    }

    #[test]
    fn a_spent_budget_stops_reading_entries() {
        let url = Url::parse("https://example.org/feed").unwrap();
        let spent = ParseGuard::until(std::time::Instant::now());
        let result = feed_calls(
            &feed_of(10),
            &url,
            &RssOptions::default(),
            "s",
            Utc::now(),
            100,
            &mut FieldMemo::default(),
            &spent,
        );
        assert!(
            matches!(result, Err(PageError::Markup(MarkupError::OutOfTime))),
            "{result:?}"
        );
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
