//! Cross-source identity: one programme listed by several sources, or twice by
//! one source, must end up as one call.
//!
//! [`canonical_url`] makes the URL of a listing stable (the call id is derived
//! from it); [`crate::model::text::title_key`] lets the store join listings
//! whose URLs differ.

use url::Url;

/// Query parameters that only track the reader and never select content.
fn is_tracking_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || name.starts_with("etcc_")
        || matches!(
            name.as_str(),
            "fbclid" | "gclid" | "dclid" | "msclkid" | "yclid" | "mc_cid" | "mc_eid" | "_hsenc" | "_hsmi"
        )
}

/// Canonical form of a call URL: tracking parameters (`utm_*`, `fbclid`, `gclid`,
/// `mc_cid`, `mc_eid`, `etcc_*`), GSB session ids (`;jsessionid=…`) and every
/// fragment (`#track=…`) stripped; scheme and host lower-cased; default ports
/// dropped. Remaining parameters keep their order and their exact bytes (the
/// Förderdatenbank's double-encoded `gtp=%2526…%253D2` must survive). Input that
/// is not an absolute URL comes back trimmed.
pub fn canonical_url(url: &str) -> String {
    let trimmed = url.trim();
    let Ok(mut parsed) = Url::parse(trimmed) else {
        return trimmed.to_string();
    };
    parsed.set_fragment(None);
    if let Some(path) = strip_session_id(parsed.path()) {
        parsed.set_path(&path);
    }
    let kept: Option<String> = parsed.query().map(|query| {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| !is_tracking_param(pair.split('=').next().unwrap_or(pair)))
            .collect::<Vec<_>>()
            .join("&")
    });
    match kept {
        Some(q) if !q.is_empty() => parsed.set_query(Some(&q)),
        _ => parsed.set_query(None),
    }
    // `Url` already lower-cases scheme and host and drops default ports.
    parsed.to_string()
}

/// `/a/b.html;jsessionid=ABC` → `/a/b.html` (GSB appends session ids to paths).
fn strip_session_id(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    let start = lower.find(";jsessionid=")?;
    let rest = &path[start + 1..];
    let end = rest.find('/').map_or(path.len(), |i| start + 1 + i);
    Some(format!("{}{}", &path[..start], &path[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tracking_and_fragments() {
        assert_eq!(
            canonical_url(
                "https://Example.ORG/foerderung/aufruf.html?utm_source=news&id=7&fbclid=abc&utm_medium=mail#track=rss"
            ),
            "https://example.org/foerderung/aufruf.html?id=7"
        );
        assert_eq!(
            canonical_url("https://example.org/a?gclid=1&mc_cid=2&mc_eid=3"),
            "https://example.org/a"
        );
        assert_eq!(
            canonical_url("https://example.org/a#abschnitt-2"),
            "https://example.org/a"
        );
        assert_eq!(
            canonical_url("https://example.org/a?etcc_cmp=rss&etcc_med=feed"),
            "https://example.org/a"
        );
    }

    #[test]
    fn lower_cases_scheme_and_host_and_drops_default_ports() {
        assert_eq!(
            canonical_url("HTTPS://WWW.Example.org:443/Pfad/Datei.html"),
            "https://www.example.org/Pfad/Datei.html"
        );
        assert_eq!(canonical_url("http://example.org:80/x"), "http://example.org/x");
        assert_eq!(canonical_url("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080/x");
    }

    #[test]
    fn keeps_other_params_in_order_and_byte_exact() {
        let fdb = "https://www.foerderdatenbank.de/SiteGlobals/FDB/Forms/Suche/Foederprogrammsuche_Formular.html?gtp=%2526816beae2-d57e-4bdc-b55d-392bc1e17027_list%253D2&filterCategories=FundingProgram";
        assert_eq!(canonical_url(fdb), fdb);
        assert_eq!(
            canonical_url("https://example.org/s?z=1&a=2&utm_x=3&m=4"),
            "https://example.org/s?z=1&a=2&m=4"
        );
        assert_eq!(
            canonical_url("https://example.org/s?q=a%20b&flag"),
            "https://example.org/s?q=a%20b&flag"
        );
    }

    #[test]
    fn strips_gsb_session_ids() {
        assert_eq!(
            canonical_url(
                "https://www.foerderdatenbank.de/FDB/Content/DE/Foerderprogramm/Land/NRW/x.html;jsessionid=0A1B2C?nn=5"
            ),
            "https://www.foerderdatenbank.de/FDB/Content/DE/Foerderprogramm/Land/NRW/x.html?nn=5"
        );
    }

    #[test]
    fn non_urls_come_back_trimmed() {
        assert_eq!(canonical_url("  kein-link "), "kein-link");
    }
}
