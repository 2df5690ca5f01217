//! The result list (`Foederprogrammsuche_Formular.html`): one card per
//! programme, a hit count and a "weiter" link.

use std::sync::LazyLock;

use scraper::{ElementRef, Selector};
use url::Url;

use super::vocab;
use crate::collect::PageError;
use crate::collect::extract::{ParseGuard, parse_page};
use crate::collect::identity::canonical_url;
use crate::collect::page::{base_url, css, text_of};
use crate::model::source::foerderdatenbank::{Card, ListPage};

// Card and ListPage live in the model: the source memo keeps them between passes.
impl Card {
    pub fn applicant_labels(&self) -> Vec<String> {
        vocab::split_values(&self.applicants)
    }

    pub fn topic_labels(&self) -> Vec<String> {
        vocab::split_values(&self.topics)
    }
}

static RESULTS: LazyLock<Selector> = LazyLock::new(|| css("div.searchresult, div.search--hits, span#hits--count"));
static HITS: LazyLock<Selector> = LazyLock::new(|| css("span#hits--count"));
static CARD: LazyLock<Selector> = LazyLock::new(|| css("div.card--fundingprogram"));
static CARD_LINK: LazyLock<Selector> = LazyLock::new(|| css("p.card--title a[href]"));
static CARD_PAIR: LazyLock<Selector> = LazyLock::new(|| css("dl dt, dl dd"));
static NEXT: LazyLock<Selector> = LazyLock::new(|| css("div.pagination a.forward[href]"));

/// Parses one result page fetched from `page_url`, at most `max` cards (a warning
/// names the page when there are more). Relative links resolve against
/// `<base href>` (all FDB hrefs are relative without leading slash).
pub fn parse_list(html: &str, page_url: &Url, max: usize, guard: &ParseGuard) -> Result<ListPage, PageError> {
    let doc = parse_page(html, guard)?;
    if doc.select(&RESULTS).next().is_none() {
        return Err(PageError::Invalid(
            "not a Förderdatenbank result list (no div.searchresult / span#hits--count)".into(),
        ));
    }
    let base = base_url(&doc, page_url);
    let hits = doc.select(&HITS).next().and_then(|el| {
        text_of(el)
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    });
    let mut cards = Vec::new();
    for (n, card) in doc.select(&CARD).enumerate() {
        if n == max {
            tracing::warn!(page = %page_url, max, "result page has more cards than http.max_items_per_page; the first {max} are kept");
            break;
        }
        guard.check()?;
        cards.extend(parse_card(card, &base));
    }
    let next = doc
        .select(&NEXT)
        .next()
        .and_then(|a| a.value().attr("href"))
        .and_then(|href| base.join(href.trim()).ok())
        .map(|u| u.to_string());
    Ok(ListPage { hits, cards, next })
}

fn parse_card(card: ElementRef, base: &Url) -> Option<Card> {
    let link = card.select(&CARD_LINK).next()?;
    let url = base.join(link.value().attr("href")?.trim()).ok()?;
    let mut card_out = Card {
        url: canonical_url(url.as_str()),
        title: text_of(link),
        applicants: String::new(),
        topics: String::new(),
    };
    let mut label = String::new();
    for el in card.select(&CARD_PAIR) {
        match el.value().name() {
            "dt" => label = vocab::fold_label(&text_of(el)),
            _ if label.starts_with("wer") => card_out.applicants = text_of(el),
            _ if label.starts_with("was") => card_out.topics = text_of(el),
            _ => {}
        }
    }
    Some(card_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html><head><base href="http://127.0.0.1:9/spiegel/"/>
<meta charset="UTF-8"/></head><body><main class="main">
<div class="container content--main content--search for-aside-left"><div class="content">
<div class="search--hits"><span id="hits--count">1.234</span> <span>Beiträge</span></div>
<div class="searchresult">
 <div class="card card--horizontal card--fundingprogram"><p class="card--topline">Förderprogramm</p>
  <p class="card--title"><a title="Öffnet die Einzelsicht" href="FDB/Content/DE/Foerderprogramm/Land/NRW/dorfplatz.html?utm_source=liste">
   <span class="link--label"> Neue Mitte
     für Dorfplätze </span></a></p>
  <dl class="grid-modul--two-elements document-info-fundingprogram">
   <dt> Wer wird gefördert?: </dt><dd> Kommune, Verband/Vereinigung </dd>
   <dt> Was wird gefördert?: </dt><dd> Kultur, Medien &amp; Sport, Städtebau &amp; Stadterneuerung </dd></dl></div>
 <div class="card card--horizontal card--fundingprogram"><p class="card--title"><span>ohne Link</span></p></div>
</div>
<div class="pagination"><ul><li><span class="back button">zurück</span></li>
 <li><a class="page" href="SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html?gtp=%2526abc-1_list%253D2&amp;filterCategories=FundingProgram">2</a></li>
 <li><a class="forward button" href="SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html?gtp=%2526abc-1_list%253D2&amp;filterCategories=FundingProgram">weiter</a></li>
</ul></div></div></div></main></body></html>"#;

    #[test]
    fn parses_cards_hits_and_next_against_base_href() {
        let page = parse_list(
            PAGE,
            &Url::parse("http://127.0.0.1:9/other/liste.html").unwrap(),
            usize::MAX,
            &ParseGuard::default(),
        )
        .unwrap();
        assert_eq!(page.hits, Some(1234));
        assert_eq!(page.cards.len(), 1, "the card without a link is skipped");
        let card = &page.cards[0];
        assert_eq!(
            card.url,
            "http://127.0.0.1:9/spiegel/FDB/Content/DE/Foerderprogramm/Land/NRW/dorfplatz.html"
        );
        assert_eq!(card.title, "Neue Mitte für Dorfplätze");
        assert_eq!(card.applicant_labels(), vec!["Kommune", "Verband/Vereinigung"]);
        assert_eq!(
            card.topic_labels(),
            vec!["Kultur, Medien & Sport", "Städtebau & Stadterneuerung"]
        );
        assert_eq!(
            page.next.as_deref(),
            Some(
                "http://127.0.0.1:9/spiegel/SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html?gtp=%2526abc-1_list%253D2&filterCategories=FundingProgram"
            )
        );
    }

    #[test]
    fn last_page_has_no_next_and_other_pages_are_errors() {
        let last = PAGE.replace(r#"<li><a class="forward button""#, r#"<li><a class="nothing""#);
        assert_eq!(
            parse_list(
                &last,
                &Url::parse("http://x.test/").unwrap(),
                usize::MAX,
                &ParseGuard::default()
            )
            .unwrap()
            .next,
            None
        );
        let err = parse_list(
            "<html><body><p>Wartungsarbeiten</p></body></html>",
            &Url::parse("http://x.test/").unwrap(),
            usize::MAX,
            &ParseGuard::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("result list"), "{err}");
    }

    #[test]
    fn cards_beyond_the_page_limit_are_dropped() {
        let card = r#"<div class="card card--horizontal card--fundingprogram">"#;
        let extra = format!(r#"{card}<p class="card--title"><a href="erste.html">Erste</a></p></div>"#);
        let two = PAGE.replacen(card, &format!("{extra}{card}"), 1);
        let url = Url::parse("http://x.test/").unwrap();
        let page = parse_list(&two, &url, usize::MAX, &ParseGuard::default()).unwrap();
        assert_eq!(page.cards.len(), 2);
        let capped = parse_list(&two, &url, 1, &ParseGuard::default()).unwrap();
        assert_eq!(capped.cards, page.cards[..1]);
        assert_eq!(capped.cards[0].title, "Erste");
    }

    #[test]
    fn card_signature_tracks_content() {
        let page = parse_list(
            PAGE,
            &Url::parse("http://x.test/").unwrap(),
            usize::MAX,
            &ParseGuard::default(),
        )
        .unwrap();
        let mut changed = page.cards[0].clone();
        assert_eq!(changed.signature(), page.cards[0].signature());
        changed.applicants.push_str(", Unternehmen");
        assert_ne!(changed.signature(), page.cards[0].signature());
    }
}
