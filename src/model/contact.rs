//! How often a contact hears from the radar, and what the contact changed itself.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// How often a contact gets a digest. Urgent items and last reminders go out in the
/// next run whatever the cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cadence {
    /// Every run that has something.
    Sofort,
    /// At most once a day.
    #[default]
    Taeglich,
    /// On this weekday.
    Woechentlich(Weekday),
}

/// German weekday names as written in `kommunen.toml` ("montag" … "sonntag").
const WEEKDAYS: [(&str, Weekday); 7] = [
    ("montag", Weekday::Mon),
    ("dienstag", Weekday::Tue),
    ("mittwoch", Weekday::Wed),
    ("donnerstag", Weekday::Thu),
    ("freitag", Weekday::Fri),
    ("samstag", Weekday::Sat),
    ("sonntag", Weekday::Sun),
];

pub fn weekday_de(day: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, d)| *d == day).map_or("montag", |(n, _)| n)
}

pub fn parse_weekday_de(text: &str) -> Result<Weekday, String> {
    let t = text.trim().to_lowercase();
    WEEKDAYS.iter().find(|(n, _)| *n == t).map(|(_, d)| *d).ok_or_else(|| {
        format!(
            "unknown weekday '{text}' (known: {})",
            WEEKDAYS.map(|(n, _)| n).join(", ")
        )
    })
}

impl Cadence {
    /// Whether a regular (not urgent) digest is due on `today`, given the day of the
    /// contact's last digest.
    pub fn is_due(self, today: NaiveDate, last_digest: Option<NaiveDate>) -> bool {
        use chrono::Datelike;
        match self {
            Cadence::Sofort => true,
            Cadence::Taeglich => last_digest.is_none_or(|d| d < today),
            Cadence::Woechentlich(day) => {
                today.weekday() == day && last_digest.is_none_or(|d| d < today)
                    // A contact whose weekday run was missed gets it the next time.
                    || last_digest.is_some_and(|d| (today - d).num_days() >= 7)
            }
        }
    }
}

/// `sofort`, `täglich` (or `taeglich`), `wöchentlich:montag` (or `woechentlich:montag`).
impl FromStr for Cadence {
    type Err = String;
    fn from_str(s: &str) -> Result<Cadence, String> {
        let t = s.trim().to_lowercase();
        let (kind, day) = match t.split_once(':') {
            Some((k, d)) => (k.trim().to_string(), Some(d.trim().to_string())),
            None => (t.clone(), None),
        };
        match (kind.as_str(), day) {
            ("sofort", None) => Ok(Cadence::Sofort),
            ("täglich" | "taeglich", None) => Ok(Cadence::Taeglich),
            ("wöchentlich" | "woechentlich", Some(day)) => Ok(Cadence::Woechentlich(parse_weekday_de(&day)?)),
            ("wöchentlich" | "woechentlich", None) => Ok(Cadence::Woechentlich(Weekday::Mon)),
            _ => Err(format!(
                "unknown cadence '{s}' (known: sofort, täglich, wöchentlich, wöchentlich:<Wochentag>)"
            )),
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::Sofort => f.write_str("sofort"),
            Cadence::Taeglich => f.write_str("täglich"),
            Cadence::Woechentlich(day) => write!(f, "wöchentlich:{}", weekday_de(*day)),
        }
    }
}

impl Serialize for Cadence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cadence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cadence, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a contact changed on its settings page; overrides `kommunen.toml`. `None`
/// fields keep the configured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactSettings {
    /// Lower-cased address.
    pub contact: String,
    pub cadence: Option<Cadence>,
    /// Handlungsfelder followed: narrows the configured subscription, never widens it.
    pub handlungsfelder: Option<Vec<String>>,
    /// No digests up to and including this day.
    pub paused_until: Option<NaiveDate>,
    pub unsubscribed: bool,
    pub updated: DateTime<Utc>,
    /// The contact's address for a change through a link, `cli` or a user name otherwise.
    pub updated_by: String,
}

impl ContactSettings {
    pub fn new(contact: &str, updated: DateTime<Utc>, updated_by: &str) -> ContactSettings {
        ContactSettings {
            contact: contact.trim().to_lowercase(),
            cadence: None,
            handlungsfelder: None,
            paused_until: None,
            unsubscribed: false,
            updated,
            updated_by: updated_by.into(),
        }
    }

    /// No digest goes out on `today`.
    pub fn silenced(&self, today: NaiveDate) -> bool {
        self.unsubscribed || self.paused_until.is_some_and(|d| today <= d)
    }

    /// Whether the contact still follows this Handlungsfeld.
    pub fn follows(&self, handlungsfeld: &str) -> bool {
        self.handlungsfelder
            .as_ref()
            .is_none_or(|hs| hs.iter().any(|h| h == handlungsfeld))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn cadences_parse_and_print_in_german() {
        for (text, cadence) in [
            ("sofort", Cadence::Sofort),
            ("Täglich", Cadence::Taeglich),
            ("taeglich", Cadence::Taeglich),
            ("wöchentlich:Donnerstag", Cadence::Woechentlich(Weekday::Thu)),
            ("woechentlich : montag", Cadence::Woechentlich(Weekday::Mon)),
        ] {
            assert_eq!(text.parse::<Cadence>(), Ok(cadence), "{text}");
            assert_eq!(cadence.to_string().parse::<Cadence>(), Ok(cadence));
        }
        assert!("monatlich".parse::<Cadence>().unwrap_err().contains("known: sofort"));
        assert!("wöchentlich:funday".parse::<Cadence>().is_err());
    }

    #[test]
    fn weekly_is_due_on_its_day_or_after_a_missed_week() {
        let weekly = Cadence::Woechentlich(Weekday::Mon);
        // 2026-12-07 is a Monday.
        assert!(weekly.is_due(d(12, 7), None));
        assert!(weekly.is_due(d(12, 7), Some(d(11, 30))));
        assert!(!weekly.is_due(d(12, 8), Some(d(12, 7))));
        assert!(!weekly.is_due(d(12, 7), Some(d(12, 7))), "once per day");
        assert!(weekly.is_due(d(12, 15), Some(d(12, 7))), "the missed Monday is made up");
        assert!(Cadence::Taeglich.is_due(d(12, 8), Some(d(12, 7))));
        assert!(!Cadence::Taeglich.is_due(d(12, 7), Some(d(12, 7))));
        assert!(Cadence::Sofort.is_due(d(12, 7), Some(d(12, 7))));
    }

    #[test]
    fn settings_pause_and_narrow() {
        let mut s = ContactSettings::new(" A@Ahlen.example ", DateTime::UNIX_EPOCH, "cli");
        assert_eq!(s.contact, "a@ahlen.example");
        assert!(!s.silenced(d(12, 7)) && s.follows("verwaltung"));
        s.paused_until = Some(d(12, 7));
        assert!(s.silenced(d(12, 7)) && !s.silenced(d(12, 8)));
        s.handlungsfelder = Some(vec!["verwaltung".into()]);
        assert!(s.follows("verwaltung") && !s.follows("wirtschaft"));
    }
}
