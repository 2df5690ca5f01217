//! A programme detail page: the labelled fields of the header (`dl` with
//! Förderart … Weiterführende Links) and the text tabs (Kurzzusammenfassung,
//! Zusatzinfos, Rechtsgrundlage), tabbed or as one single section.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::vocab;
use crate::collect::PageError;
use crate::collect::extract::{MarkupError, ParseGuard, parse_page, try_html_to_text};
use crate::collect::page::{base_url, css, text_of};

/// Everything a detail page states, as text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub title: String,
    /// `p.subtitle--text` under the title, e.g. "Antragsstellung nicht mehr möglich".
    pub status_note: Option<String>,
    /// Content UUID of the programme (`data-basket-id`).
    pub content_id: Option<String>,
    pub funding_types: Vec<String>,
    pub topics: Vec<String>,
    pub regions: Vec<String>,
    pub applicants: Vec<String>,
    pub funder: Option<String>,
    /// Ansprechpunkt: institution, unit, address, phone, e-mail, website.
    pub contact: Option<String>,
    /// Weiterführende Links: (label, absolute URL).
    pub links: Vec<(String, String)>,
    pub kurztext: String,
    /// Volltext plus any other text of the Kurzzusammenfassung.
    pub volltext: String,
    pub fristen: String,
    /// rechtliche Voraussetzungen plus any other text of the Zusatzinfos.
    pub voraussetzungen: String,
    pub rechtsgrundlage: String,
}

impl Detail {
    /// True when the page has a Kurzzusammenfassung (Kurztext or Volltext).
    pub fn has_summary(&self) -> bool {
        !self.kurztext.is_empty() || !self.volltext.is_empty()
    }
}

static TITLE: LazyLock<Selector> = LazyLock::new(|| css("h1.title"));
static OG_TITLE: LazyLock<Selector> = LazyLock::new(|| css(r#"meta[property="og:title"], meta[name="title"]"#));
static SUBTITLE: LazyLock<Selector> = LazyLock::new(|| css("div.jumbotron p.subtitle--text"));
static BASKET: LazyLock<Selector> = LazyLock::new(|| css("a.btn--basket[data-basket-id]"));
static FIELDS: LazyLock<Selector> =
    LazyLock::new(|| css("dl.document-info-fundingprogram > dt, dl.document-info-fundingprogram > dd"));
static CARD_TITLE: LazyLock<Selector> = LazyLock::new(|| css("p.card--title .link--label, p.card--title a"));
static PARAGRAPH: LazyLock<Selector> = LazyLock::new(|| css("p"));
static LINK: LazyLock<Selector> = LazyLock::new(|| css("a[href]"));
static CONTENT: LazyLock<Selector> = LazyLock::new(|| css("div.content--main > div.content > div.rich--text"));

/// Parses a detail page fetched from `page_url`.
pub fn parse_detail(html: &str, page_url: &Url, guard: &ParseGuard) -> Result<Detail, PageError> {
    let doc = parse_page(html, guard)?;
    let base = base_url(&doc, page_url);
    let mut detail = Detail {
        title: title(&doc).ok_or_else(|| PageError::Invalid("no programme title (h1.title or og:title)".into()))?,
        ..Detail::default()
    };
    detail.status_note = doc.select(&SUBTITLE).next().map(text_of).filter(|t| !t.is_empty());
    detail.content_id = doc
        .select(&BASKET)
        .next()
        .and_then(|a| a.value().attr("data-basket-id"))
        .map(str::to_string);
    read_fields(&doc, &base, &mut detail);
    read_tabs(&doc, &mut detail, guard)?;
    Ok(detail)
}

fn title(doc: &Html) -> Option<String> {
    let h1 = doc.select(&TITLE).next().map(text_of).filter(|t| !t.is_empty());
    h1.or_else(|| {
        let og = doc.select(&OG_TITLE).next()?.value().attr("content")?;
        let t = og.trim().trim_start_matches("Förderprogramme -").trim();
        (!t.is_empty()).then(|| t.to_string())
    })
}

/// The `dt`/`dd` pairs of the header; ASCII labels and code values are accepted.
fn read_fields(doc: &Html, base: &Url, detail: &mut Detail) {
    let mut label = String::new();
    for el in doc.select(&FIELDS) {
        if el.value().name() == "dt" {
            label = vocab::fold_label(&text_of(el));
            continue;
        }
        match label.as_str() {
            "foerderart" => detail.funding_types = vocab::split_values(&text_of(el)),
            "foerderbereich" => detail.topics = vocab::split_values(&text_of(el)),
            "foerdergebiet" => detail.regions = vocab::split_values(&text_of(el)),
            "foerderberechtigte" => detail.applicants = vocab::split_values(&text_of(el)),
            "foerdergeber" => detail.funder = card_title(el),
            "ansprechpunkt" => detail.contact = contact(el),
            "weiterfuehrendelinks" => detail.links = links(el, base),
            _ => {}
        }
    }
}

fn card_title(dd: ElementRef) -> Option<String> {
    let name = dd.select(&CARD_TITLE).next().map_or_else(|| text_of(dd), text_of);
    (!name.is_empty()).then_some(name)
}

fn contact(dd: ElementRef) -> Option<String> {
    let parts: Vec<String> = dd.select(&PARAGRAPH).map(text_of).filter(|t| !t.is_empty()).collect();
    if parts.is_empty() {
        card_title(dd)
    } else {
        Some(parts.join(", "))
    }
}

fn links(dd: ElementRef, base: &Url) -> Vec<(String, String)> {
    dd.select(&LINK)
        .filter_map(|a| {
            let url = base.join(a.value().attr("href")?.trim()).ok()?;
            Some((text_of(a), url.to_string()))
        })
        .collect()
}

/// Which tab a heading opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tab {
    None,
    Kurzzusammenfassung,
    Zusatzinfos,
    Rechtsgrundlage,
}

/// Where a piece of content goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Kurztext,
    Volltext,
    Fristen,
    Voraussetzungen,
    Rechtsgrundlage,
}

fn tab_of(heading: &str) -> Option<Tab> {
    match vocab::fold_label(heading).as_str() {
        "kurzzusammenfassung" => Some(Tab::Kurzzusammenfassung),
        "zusatzinfos" => Some(Tab::Zusatzinfos),
        "rechtsgrundlage" => Some(Tab::Rechtsgrundlage),
        _ => None,
    }
}

fn section_of(heading: &str) -> Option<Part> {
    match vocab::fold_label(heading).as_str() {
        "kurztext" => Some(Part::Kurztext),
        "volltext" => Some(Part::Volltext),
        "fristen" | "frist" => Some(Part::Fristen),
        "rechtlichevoraussetzungen" => Some(Part::Voraussetzungen),
        _ => None,
    }
}

/// Walks the content blocks in document order and sorts their HTML into parts.
#[derive(Default)]
struct TabWalker {
    tab: Option<Tab>,
    section: Option<Part>,
    parts: BTreeMap<Part, String>,
}

impl TabWalker {
    /// Descends into `article` and nested `rich--text` blocks with an explicit
    /// stack of sibling iterators: a page cannot nest deep enough to overflow it.
    fn walk(&mut self, container: ElementRef) {
        let mut stack = vec![container.children()];
        while let Some(children) = stack.last_mut() {
            let Some(child) = children.next() else {
                stack.pop();
                continue;
            };
            let Some(el) = ElementRef::wrap(child) else {
                if let Some(text) = child.value().as_text().map(|t| t.trim()).filter(|t| !t.is_empty()) {
                    self.push(&format!("<p>{}</p>", escape(text)));
                }
                continue;
            };
            let name = el.value().name();
            let heading = text_of(el);
            if matches!(name, "h2" | "h4" | "h5")
                && let Some(tab) = tab_of(&heading)
            {
                self.tab = Some(tab);
                self.section = None;
            } else if name == "h3"
                && self.tab != Some(Tab::Rechtsgrundlage)
                && let Some(part) = section_of(&heading)
            {
                self.section = Some(part);
            } else if name == "article"
                || (name == "div"
                    && el
                        .value()
                        .has_class("rich--text", scraper::CaseSensitivity::CaseSensitive))
            {
                stack.push(el.children());
            } else {
                self.push(&el.html());
            }
        }
    }

    fn push(&mut self, html: &str) {
        let part = self.section.unwrap_or(match self.tab.unwrap_or(Tab::None) {
            Tab::Rechtsgrundlage => Part::Rechtsgrundlage,
            Tab::Zusatzinfos => Part::Voraussetzungen,
            Tab::Kurzzusammenfassung | Tab::None => Part::Volltext,
        });
        let slot = self.parts.entry(part).or_default();
        slot.push_str(html);
        slot.push('\n');
    }

    fn text(&self, part: Part, guard: &ParseGuard) -> Result<String, MarkupError> {
        match self.parts.get(&part) {
            Some(html) => Ok(try_html_to_text(html, guard)?.trim().to_string()),
            None => Ok(String::new()),
        }
    }
}

fn read_tabs(doc: &Html, detail: &mut Detail, guard: &ParseGuard) -> Result<(), MarkupError> {
    let mut walker = TabWalker::default();
    for block in doc.select(&CONTENT) {
        walker.walk(block);
    }
    detail.kurztext = walker.text(Part::Kurztext, guard)?;
    detail.volltext = walker.text(Part::Volltext, guard)?;
    detail.fristen = walker.text(Part::Fristen, guard)?;
    detail.voraussetzungen = walker.text(Part::Voraussetzungen, guard)?;
    detail.rechtsgrundlage = walker.text(Part::Rechtsgrundlage, guard)?;
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/FDB/Content/DE/Foerderprogramm/Land/NRW/test.html").unwrap()
    }

    const TABBED: &str = r#"<html><head><base href="http://127.0.0.1:9/"/>
<meta property="og:title" content=" Förderprogramme - Ersatztitel "/></head><body><main class="main">
<div class="jumbotron">
 <div class="container container--headline container--guidelines"><div class="content">
  <p class="content--topline">Förderprogramm</p><h1 class="title"> Klimagerechte
   „Ortskerne“ </h1></div></div>
 <div class="container container--headline"><div class="content">
  <dl class="grid-modul--two-elements document-info-fundingprogram">
   <dt> Förderart: </dt><dd> Zuschuss, Darlehen </dd>
   <dt> Förderbereich: </dt><dd> Kultur, Medien &amp; Sport, Umwelt- &amp; Naturschutz </dd>
   <dt> Fördergebiet: </dt><dd> Nordrhein-Westfalen </dd>
   <dt> Förderberechtigte: </dt><dd> Kommune, Öffentliche Einrichtung </dd>
   <dt>Fördergeber:</dt><dd class="card"><p class="card--title"><a title="Öffnet die Einzelsicht" href="FDB/Content/DE/Foerdergeber/M/ministerium.html"><span class="link--label"> Ministerium für Ortskerne NRW </span></a></p><div class="person-contact"> </div></dd>
   <dt>Ansprechpunkt:</dt><dd class="card"><p class="card--title"><a href="FDB/Content/DE/Kontakt/x.html"><span class="link--label"><span>Bezirksregierung Münster</span></span></a></p>
     <div class="address"><p class="adr"> Domplatz 1 </p><p class="locality"> 48143 Münster </p></div></dd>
   <dt class="document-info-item">Weiterführende Links:</dt>
   <dd><a class="link link-external" href="https://example.org/aufruf"><span class="link--label">Aufruf <abbr title="Nordrhein-Westfalen">NRW</abbr></span></a></dd>
  </dl></div></div>
 <div class="li--meta"><a class="btn btn--basket" data-basket-id="11111111-2222"></a></div>
</div>
<div class="container content--main for-aside-right horizontal--tab"><div class="content"><div class="rich--text">
 <h2 class="horizontal--tab-opener" data-toggleid="tab1"><span class="btn--label">Kurzzusammenfassung</span></h2>
 <article class="content--tab-text"><div class="rich--text"><h3>Kurztext</h3><p>Gemeinden erhalten einen Zuschuss.</p></div>
  <div class="rich--text"><h3>Volltext</h3><p>Gefördert werden bis zu 80 Prozent.</p><ul><li>Plätze</li></ul></div></article>
 <h2 class="horizontal--tab-opener" data-toggleid="tab2"><span class="btn--label">Zusatzinfos </span></h2>
 <article class="content--tab-text"><div class="rich--text"><h3>Fristen</h3><p>Skizzen bis 31.3.2027 einreichen.</p>
  <h3>rechtliche Voraussetzungen</h3><p>Antragsberechtigt sind Gemeinden.</p></div></article>
 <h2 class="horizontal--tab-opener" data-toggleid="tab3"><span class="btn--label">Rechtsgrundlage</span></h2>
 <article class="content--tab-text"><div class="rich--text"><h3>Richtlinie</h3><p>Richtlinie vom 1.1.2020</p></div></article>
</div></div></div></main></body></html>"#;

    #[test]
    fn tabbed_page_gives_every_label_and_tab() {
        let d = parse_detail(TABBED, &url(), &ParseGuard::default()).unwrap();
        assert_eq!(d.title, "Klimagerechte „Ortskerne“");
        assert_eq!(d.funding_types, vec!["Zuschuss", "Darlehen"]);
        assert_eq!(d.topics, vec!["Kultur, Medien & Sport", "Umwelt- & Naturschutz"]);
        assert_eq!(d.regions, vec!["Nordrhein-Westfalen"]);
        assert_eq!(d.applicants, vec!["Kommune", "Öffentliche Einrichtung"]);
        assert_eq!(d.funder.as_deref(), Some("Ministerium für Ortskerne NRW"));
        assert_eq!(
            d.contact.as_deref(),
            Some("Bezirksregierung Münster, Domplatz 1, 48143 Münster")
        );
        assert_eq!(
            d.links,
            vec![("Aufruf NRW".to_string(), "https://example.org/aufruf".to_string())]
        );
        assert_eq!(d.content_id.as_deref(), Some("11111111-2222"));
        assert!(
            d.kurztext.contains("Gemeinden erhalten einen Zuschuss."),
            "{}",
            d.kurztext
        );
        assert!(
            d.volltext.contains("bis zu 80 Prozent") && d.volltext.contains("Plätze"),
            "{}",
            d.volltext
        );
        assert!(!d.volltext.contains("Gemeinden erhalten"));
        assert!(d.fristen.contains("Skizzen bis 31.3.2027 einreichen."), "{}", d.fristen);
        assert!(!d.fristen.contains("Antragsberechtigt"));
        assert!(d.voraussetzungen.contains("Antragsberechtigt sind Gemeinden."));
        assert!(d.rechtsgrundlage.contains("Richtlinie") && d.rechtsgrundlage.contains("1.1.2020"));
        assert!(d.has_summary());
    }

    #[test]
    fn rechtsgrundlage_only_page() {
        let html = r#"<html><body><main><div class="jumbotron"><h1 class="title"> Nur Recht </h1>
<p class="subtitle--text"><strong>Förderprogramm aktiv, Antragsstellung nicht mehr möglich</strong></p>
<dl class="document-info-fundingprogram"><dt> Förderbereich: </dt><dd> Beratung </dd></dl></div>
<div class="container content--main for-aside-right "><div class="content"><div class="rich--text">
<h5 class=""> Rechtsgrundlage</h5><p>Richtlinie vom 2.2.2024</p><p>Anträge bis zum 30. April jeden Jahres.</p>
</div></div></div></main></body></html>"#;
        let d = parse_detail(html, &url(), &ParseGuard::default()).unwrap();
        assert_eq!(d.title, "Nur Recht");
        assert_eq!(
            d.status_note.as_deref(),
            Some("Förderprogramm aktiv, Antragsstellung nicht mehr möglich")
        );
        assert!(!d.has_summary());
        assert!(
            d.rechtsgrundlage.contains("30. April jeden Jahres"),
            "{}",
            d.rechtsgrundlage
        );
        assert!(!d.rechtsgrundlage.contains("<h5"));
        assert_eq!(
            (d.funder.clone(), d.contact.clone(), d.funding_types.len()),
            (None, None, 0)
        );
    }

    #[test]
    fn ascii_label_variant_maps_codes() {
        let html = r#"<html><body><h1 class="title">Kodiert</h1><dl class="document-info-fundingprogram">
<dt> Foerderart: </dt><dd> zuschuss </dd><dt> Foerderbereich: </dt><dd> kultur_medien_sport, smart_cities_regionen </dd>
<dt> Foerdergebiet: </dt><dd> nordrhein_westfalen </dd><dt> Foerderberechtigte: </dt><dd> kommune </dd>
<dt>Foerdergeber:</dt><dd class="card"><p class="card--title"><a title="OeffnetEinzelsicht" href="x.html"><span class="link--label"> Land NRW </span></a></p></dd>
<dt class="document-info-item">WeiterfuehrendeLinks:</dt><dd><a href="/info">Info</a></dd></dl></body></html>"#;
        let d = parse_detail(html, &url(), &ParseGuard::default()).unwrap();
        assert_eq!(d.funding_types, vec!["Zuschuss"]);
        assert_eq!(d.topics, vec!["Kultur, Medien & Sport", "Smart Cities & Regionen"]);
        assert_eq!(d.regions, vec!["Nordrhein-Westfalen"]);
        assert_eq!(d.applicants, vec!["Kommune"]);
        assert_eq!(d.funder.as_deref(), Some("Land NRW"));
        assert_eq!(d.links[0].1, "http://127.0.0.1:9/info");
    }

    #[test]
    fn falls_back_to_og_title_and_rejects_pages_without_title() {
        let d = parse_detail(
            r#"<html><head><meta property="og:title" content=" Förderprogramme - Aus dem Kopf "/></head></html>"#,
            &url(),
            &ParseGuard::default(),
        )
        .unwrap();
        assert_eq!(d.title, "Aus dem Kopf");
        assert!(
            parse_detail(
                "<html><body><p>Seite nicht gefunden</p></body></html>",
                &url(),
                &ParseGuard::default()
            )
            .is_err()
        );
    }

    #[test]
    fn nested_rich_text_blocks_are_walked_without_recursion() {
        let depth = 900;
        let html = format!(
            r#"<html><body><h1 class="title">Tief</h1><div class="content--main"><div class="content">{}<h3>Kurztext</h3><p>ganz innen</p>{}</div></div></body></html>"#,
            r#"<div class="rich--text">"#.repeat(depth),
            "</div>".repeat(depth)
        );
        let parsed = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || parse_detail(&html, &url(), &ParseGuard::default()))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(parsed.kurztext, "ganz innen");
        let hostile = format!(r#"<html><body><h1 class="title">Tief</h1>{}"#, "<div>".repeat(100_000));
        let err = parse_detail(&hostile, &url(), &ParseGuard::default()).unwrap_err();
        assert!(err.to_string().contains("nested deeper than"), "{err}");
    }
}
