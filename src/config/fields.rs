//! Checks of single values shared by all files. Each records its error and
//! returns `None` when the value is unusable.

use crate::model::StringEnum;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::error::Report;
use super::raw::{Float, Int, Text};

/// Checks an optional value: `Some(None)` when absent, `None` when invalid.
pub(super) fn opt<V, T>(v: Option<V>, check: impl FnOnce(V) -> Option<T>) -> Option<Option<T>> {
    match v {
        None => Some(None),
        Some(v) => check(v).map(Some),
    }
}

/// A bare e-mail address (`name@domain`, no display name).
pub(super) fn email(r: &mut Report, v: &Text, key: &str) -> Option<String> {
    match lettre::Address::from_str(v.get_ref()) {
        Ok(address) => Some(address.to_string()),
        Err(e) => {
            let message = format!(
                "'{}' is not an e-mail address ({e}); write it as name@domain",
                v.get_ref()
            );
            r.at(&v.span(), key, message);
            None
        }
    }
}

/// An absolute http(s) URL.
pub(super) fn http_url(r: &mut Report, v: &Text, key: &str) -> Option<url::Url> {
    let parsed = url::Url::parse(v.get_ref());
    match parsed {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
        Ok(url) => {
            let message = format!(
                "scheme '{}' is not supported; the URL must start with http:// or https://",
                url.scheme()
            );
            r.at(&v.span(), key, message);
            None
        }
        Err(e) => {
            let message = format!("'{}' is not a URL ({e}); write it as https://host/path", v.get_ref());
            r.at(&v.span(), key, message);
            None
        }
    }
}

/// A whole number within `range`; `default` when absent. Every numeric setting has a
/// documented range (config/README.md), so no later arithmetic on it can overflow.
pub(super) fn count(
    r: &mut Report,
    v: Option<&Int>,
    key: &str,
    default: u64,
    range: RangeInclusive<u64>,
) -> Option<u64> {
    let Some(v) = v else { return Some(default) };
    match u64::try_from(*v.get_ref()) {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            r.at(&v.span(), key, out_of_range(range.start(), range.end(), v.get_ref()));
            None
        }
    }
}

/// Like [`count`] for values kept as 32 bits.
pub(super) fn count32(
    r: &mut Report,
    v: Option<&Int>,
    key: &str,
    default: u32,
    range: RangeInclusive<u32>,
) -> Option<u32> {
    let wide = u64::from(*range.start())..=u64::from(*range.end());
    // The range lies within u32, so the conversion cannot fail after the check.
    count(r, v, key, default.into(), wide).and_then(|n| u32::try_from(n).ok())
}

/// A number within `range` (thresholds, weights, rates).
pub(super) fn number(r: &mut Report, v: &Float, key: &str, range: RangeInclusive<f64>) -> Option<f64> {
    let n = finite(r, v, key)?;
    if range.contains(&n) {
        return Some(n);
    }
    r.at(&v.span(), key, out_of_range(range.start(), range.end(), &n));
    None
}

fn out_of_range(min: &impl fmt::Display, max: &impl fmt::Display, found: &impl fmt::Display) -> String {
    format!("{found} is out of range; allowed: {min} to {max}")
}

/// A finite number (rule weights may be negative to penalise).
pub(super) fn finite(r: &mut Report, v: &Float, key: &str) -> Option<f64> {
    let n = *v.get_ref();
    if n.is_finite() {
        return Some(n);
    }
    r.at(&v.span(), key, format!("must be a finite number, not {n}"));
    None
}

/// A finite number that is zero or more (thresholds, rates).
pub(super) fn non_negative(r: &mut Report, v: &Float, key: &str) -> Option<f64> {
    let n = finite(r, v, key)?;
    if n >= 0.0 {
        return Some(n);
    }
    r.at(&v.span(), key, format!("must not be negative ({n}); use 0 or more"));
    None
}

/// One of a fixed set of words.
pub(super) fn one_of<T: StringEnum>(r: &mut Report, v: &Text, key: &str) -> Option<T> {
    let found = T::all().iter().copied().find(|t| t.name() == v.get_ref());
    if found.is_none() {
        let names: Vec<_> = T::all().iter().map(|t| format!("\"{}\"", t.name())).collect();
        let message = format!("'{}' is not allowed; use one of {}", v.get_ref(), names.join(", "));
        r.at(&v.span(), key, message);
    }
    found
}

/// Values parsed with `FromStr`, whose error message is shown as is.
pub(super) fn parsed<T: FromStr<Err = String>>(r: &mut Report, v: &Text, key: &str) -> Option<T> {
    r.check(v.get_ref().parse::<T>(), &v.span(), key)
}

#[cfg(test)]
mod tests {
    use toml::Spanned;

    use super::super::error::Doc;
    use super::*;
    use crate::config::ConfigError;

    fn run<T>(check: impl FnOnce(&mut Report) -> Option<T>) -> (Option<T>, Vec<ConfigError>) {
        let doc = Doc::new("f.toml".into(), "x = 1\n".into());
        let mut errors = Vec::new();
        let out = check(&mut Report {
            doc: &doc,
            errors: &mut errors,
        });
        (out, errors)
    }

    fn text(s: &str) -> Text {
        Spanned::new(0..1, s.to_string())
    }

    #[test]
    fn email_needs_a_bare_address() {
        assert_eq!(
            run(|r| email(r, &text("a@ahlen.example.org"), "k")).0.as_deref(),
            Some("a@ahlen.example.org")
        );
        let (out, errors) = run(|r| email(r, &text("Fördermittel <a@b.de>"), "k"));
        assert!(out.is_none());
        assert!(errors[0].message.contains("name@domain"), "{errors:?}");
        assert!(run(|r| email(r, &text("ahlen.example.org"), "k")).0.is_none());
    }

    #[test]
    fn url_must_be_http_or_https() {
        assert!(
            run(|r| http_url(r, &text("https://www.foerderdatenbank.de/x"), "k"))
                .0
                .is_some()
        );
        let (out, errors) = run(|r| http_url(r, &text("ftp://example.org/feed"), "k"));
        assert!(out.is_none());
        assert!(errors[0].message.contains("http:// or https://"));
        assert!(run(|r| http_url(r, &text("www.example.org"), "k")).0.is_none());
    }

    #[test]
    fn count_refuses_negative_and_below_minimum() {
        let int = |n| Spanned::new(0..1, n);
        assert_eq!(run(|r| count(r, None, "k", 7, 0..=10)).0, Some(7));
        assert_eq!(run(|r| count(r, Some(&int(3)), "k", 7, 0..=10)).0, Some(3));
        assert!(run(|r| count(r, Some(&int(-1)), "k", 7, 0..=10)).0.is_none());
        assert!(run(|r| count(r, Some(&int(0)), "k", 7, 1..=10)).0.is_none());
        let (out, errors) = run(|r| count(r, Some(&int(11)), "k", 7, 1..=10));
        assert!(out.is_none());
        assert_eq!(errors[0].message, "11 is out of range; allowed: 1 to 10");
        let (out, errors) = run(|r| count32(r, Some(&int(i64::MAX)), "k", 7, 0..=u32::MAX));
        assert!(out.is_none());
        assert!(errors[0].message.contains("allowed: 0 to 4294967295"), "{errors:?}");
    }

    #[test]
    fn numbers_must_lie_in_their_range() {
        let float = |n| Spanned::new(0..1, n);
        assert_eq!(run(|r| number(r, &float(-2.0), "k", -5.0..=5.0)).0, Some(-2.0));
        let (out, errors) = run(|r| number(r, &float(5.5), "k", -5.0..=5.0));
        assert!(out.is_none());
        assert!(errors[0].message.contains("allowed: -5 to 5"), "{errors:?}");
    }

    #[test]
    fn numbers_must_be_finite() {
        let float = |n| Spanned::new(0..1, n);
        assert_eq!(run(|r| finite(r, &float(-1.5), "k")).0, Some(-1.5));
        assert!(run(|r| finite(r, &float(f64::NAN), "k")).0.is_none());
        assert!(run(|r| non_negative(r, &float(f64::INFINITY), "k")).0.is_none());
        assert!(run(|r| non_negative(r, &float(-0.5), "k")).0.is_none());
    }
}
