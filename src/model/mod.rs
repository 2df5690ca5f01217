//! The shared vocabulary of foerderradar: a funding [`Call`], its [`Deadline`],
//! eligible [`Applicants`], [`Region`]s, and the [`Match`] of a call against
//! the strategy. Every stage (collect, store, match, notify, report) speaks
//! these types; nothing here does I/O.

pub mod closure;
pub mod contact;
pub mod facts;
pub mod feedback;
pub mod german;
pub mod pattern;
pub mod reason;
pub mod source;
mod strings;
pub mod text;

pub use strings::StringEnum;
pub(crate) use strings::string_enum;

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use german::{format_amount, format_deadline, format_rate};
use reason::Reason;

/// Id of a configured source (`[[source]] id = "..."`).
pub type SourceId = String;

/// Stable id of a call: derived from its canonical URL, so that every pass
/// and every listing of the same page gives the same id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub String);

impl CallId {
    /// `c-` followed by the first 16 hex digits of SHA-256 over the canonical URL.
    pub fn from_url(canonical_url: &str) -> Self {
        let digest = Sha256::digest(canonical_url.as_bytes());
        CallId(format!("c-{}", &hex::encode(digest)[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The one rule for links in everything a person reads (digests, reports):
/// a link is an absolute http(s) URL with a host, parsed after trimming, or it is
/// not a link. `javascript:`, `data:`, `file:` and relative or unparsable URLs from
/// a hostile page get `None` and are shown as plain text or left out. The returned
/// form is the parsed URL's serialization (no spaces, no line breaks).
pub fn safe_link(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    let web = matches!(url.scheme(), "http" | "https") && url.host().is_some();
    web.then(|| url.into())
}
string_enum! {
    /// Normalised category of an eligible applicant (Antragsberechtigte).
    pub enum ApplicantCategory ("applicant category") {
        Kommune = "kommune",
        Kreis = "kreis",
        Zweckverband = "zweckverband",
        OeffentlicheEinrichtung = "oeffentliche-einrichtung",
        Verein = "verein",
        Unternehmen = "unternehmen",
        Privatperson = "privatperson",
        Hochschule = "hochschule",
        Forschung = "forschung",
        Bildung = "bildung",
        Sonstige = "sonstige",
    }
}

impl ApplicantCategory {
    /// German label for e-mails and reports.
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Kommune => "Kommunen",
            Self::Kreis => "Kreise",
            Self::Zweckverband => "Zweckverbände",
            Self::OeffentlicheEinrichtung => "öffentliche Einrichtungen",
            Self::Verein => "Vereine und Verbände",
            Self::Unternehmen => "Unternehmen",
            Self::Privatperson => "Privatpersonen",
            Self::Hochschule => "Hochschulen",
            Self::Forschung => "Forschungseinrichtungen",
            Self::Bildung => "Bildungseinrichtungen",
            Self::Sonstige => "Sonstige",
        }
    }
}

/// Who may apply: normalised categories plus the wording the source used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicants {
    pub categories: BTreeSet<ApplicantCategory>,
    /// The raw phrases as found (e.g. "Gemeinden und Gemeindeverbände").
    pub raw: Vec<String>,
}

impl Applicants {
    /// True when the source did not say who may apply.
    pub fn is_unstated(&self) -> bool {
        self.categories.is_empty()
    }

    /// German wording for digests and reports: the normalised categories, else the
    /// source's own phrases (joined with "; " since they may contain commas), else
    /// "nicht angegeben".
    pub fn describe_de(&self) -> String {
        if !self.categories.is_empty() {
            let labels: Vec<&str> = self.categories.iter().map(|c| c.label_de()).collect();
            labels.join(", ")
        } else if !self.raw.is_empty() {
            self.raw.join("; ")
        } else {
            "nicht angegeben".into()
        }
    }
}

/// The 16 German Länder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bundesland {
    BadenWuerttemberg,
    Bayern,
    Berlin,
    Brandenburg,
    Bremen,
    Hamburg,
    Hessen,
    MecklenburgVorpommern,
    Niedersachsen,
    NordrheinWestfalen,
    RheinlandPfalz,
    Saarland,
    Sachsen,
    SachsenAnhalt,
    SchleswigHolstein,
    Thueringen,
}

impl Bundesland {
    pub const ALL: [Bundesland; 16] = [
        Self::BadenWuerttemberg,
        Self::Bayern,
        Self::Berlin,
        Self::Brandenburg,
        Self::Bremen,
        Self::Hamburg,
        Self::Hessen,
        Self::MecklenburgVorpommern,
        Self::Niedersachsen,
        Self::NordrheinWestfalen,
        Self::RheinlandPfalz,
        Self::Saarland,
        Self::Sachsen,
        Self::SachsenAnhalt,
        Self::SchleswigHolstein,
        Self::Thueringen,
    ];

    /// Official German name, e.g. "Nordrhein-Westfalen".
    pub fn name(self) -> &'static str {
        match self {
            Self::BadenWuerttemberg => "Baden-Württemberg",
            Self::Bayern => "Bayern",
            Self::Berlin => "Berlin",
            Self::Brandenburg => "Brandenburg",
            Self::Bremen => "Bremen",
            Self::Hamburg => "Hamburg",
            Self::Hessen => "Hessen",
            Self::MecklenburgVorpommern => "Mecklenburg-Vorpommern",
            Self::Niedersachsen => "Niedersachsen",
            Self::NordrheinWestfalen => "Nordrhein-Westfalen",
            Self::RheinlandPfalz => "Rheinland-Pfalz",
            Self::Saarland => "Saarland",
            Self::Sachsen => "Sachsen",
            Self::SachsenAnhalt => "Sachsen-Anhalt",
            Self::SchleswigHolstein => "Schleswig-Holstein",
            Self::Thueringen => "Thüringen",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// Where a call applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Region {
    /// All of Germany.
    Bundesweit,
    /// All EU member states.
    EuWeit,
    Land(Bundesland),
    /// A named sub-region, e.g. "LEADER-Region 9Plus" or "Münsterland".
    Named(String),
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Bundesweit => f.write_str("bundesweit"),
            Region::EuWeit => f.write_str("EU-weit"),
            Region::Land(l) => f.write_str(l.name()),
            Region::Named(n) => f.write_str(n),
        }
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty region".into());
        }
        Ok(match t.to_lowercase().as_str() {
            "bundesweit" => Region::Bundesweit,
            "eu-weit" | "euweit" | "eu" => Region::EuWeit,
            _ => Bundesland::from_name(t).map_or_else(|| Region::Named(t.to_string()), Region::Land),
        })
    }
}

/// One stated cut-off date.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeadlineDate {
    pub date: NaiveDate,
    /// Time of day where the source gives one ("14:00 Uhr (MESZ)"), local German time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<NaiveTime>,
    /// The date recurs every year ("bis 30.09. jeden Jahres"); `date` is one occurrence.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub annual: bool,
    /// Which stage or module it belongs to ("Phase 1", "Modul A"), if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl DeadlineDate {
    pub fn on(date: NaiveDate) -> Self {
        DeadlineDate {
            date,
            time: None,
            annual: false,
            label: None,
        }
    }

    /// The first occurrence on or after `today` (annual dates roll forward).
    pub fn next_occurrence(&self, today: NaiveDate) -> Option<NaiveDate> {
        if self.date >= today {
            return Some(self.date);
        }
        if !self.annual {
            return None;
        }
        (today.year()..=today.year() + 1)
            .filter_map(|y| shift_year(self.date, y))
            .find(|d| *d >= today)
    }
}

/// Same month and day in year `y`; 29 February falls back to 28 February.
fn shift_year(d: NaiveDate, y: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, d.month(), d.day()).or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
}

/// When applications are due.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "dates", rename_all = "lowercase")]
pub enum Deadline {
    /// One or more cut-off dates.
    Dates(Vec<DeadlineDate>),
    /// No deadline: "laufend", "jederzeit", "ganzjährig", Windhund-Prinzip.
    Rolling,
    /// The source does not say. Never guessed.
    #[default]
    Unknown,
}

string_enum! {
    /// The coarse kind of a [`Deadline`], as reported in JSON and stored in `calls.deadline_kind`.
    pub enum DeadlineKind ("deadline kind") {
        Date = "date",
        Rolling = "rolling",
        Unknown = "unknown",
    }
}

impl Deadline {
    pub fn kind(&self) -> DeadlineKind {
        match self {
            Deadline::Dates(d) if !d.is_empty() => DeadlineKind::Date,
            Deadline::Dates(_) | Deadline::Unknown => DeadlineKind::Unknown,
            Deadline::Rolling => DeadlineKind::Rolling,
        }
    }

    /// The next cut-off on or after `today`, if any.
    pub fn next_date(&self, today: NaiveDate) -> Option<NaiveDate> {
        match self {
            Deadline::Dates(dates) => dates.iter().filter_map(|d| d.next_occurrence(today)).min(),
            _ => None,
        }
    }

    /// The latest stated date (for expired calls: when it closed).
    pub fn last_date(&self) -> Option<NaiveDate> {
        match self {
            Deadline::Dates(dates) => dates.iter().map(|d| d.date).max(),
            _ => None,
        }
    }

    /// False only when every stated date lies before `today`.
    pub fn is_open(&self, today: NaiveDate) -> bool {
        match self {
            Deadline::Dates(dates) if !dates.is_empty() => self.next_date(today).is_some(),
            _ => true,
        }
    }

    /// Days from `today` to the next cut-off.
    pub fn days_left(&self, today: NaiveDate) -> Option<i64> {
        self.next_date(today).map(|d| (d - today).num_days())
    }
}

string_enum! {
    /// Status of a call as stated by the source (EU portal) or derived from dates.
    #[derive(Default)]
    pub enum CallStatus ("status") {
        Forthcoming = "forthcoming",
        Open = "open",
        Closed = "closed",
        #[default]
        Unknown = "unknown",
    }
}

/// Funding rate (Förderquote) in percent of eligible costs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FundingRate {
    pub min: Option<f64>,
    pub max: f64,
}

/// Where a call was listed: one source, one URL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceLink {
    pub source: SourceId,
    pub url: String,
}

/// A normalised funding call (Förderaufruf / Förderprogramm).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: CallId,
    /// The source that first found the call.
    pub source: SourceId,
    /// Canonical URL: tracking parameters stripped, fragment removed.
    pub url: String,
    /// Every listing of this call (several sources may list one programme).
    #[serde(default)]
    pub links: Vec<SourceLink>,
    /// Identifier at the source, e.g. an EU topic id (`HORIZON-MISS-2026-CIT-01`).
    #[serde(default)]
    pub external_id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub text: String,
    /// Fördergeber.
    #[serde(default)]
    pub funder: Option<String>,
    /// Förderart: Zuschuss, Darlehen, Bürgschaft, ...
    #[serde(default)]
    pub funding_types: Vec<String>,
    /// Förderbereich / topics as given by the source.
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub regions: Vec<Region>,
    #[serde(default)]
    pub applicants: Applicants,
    #[serde(default)]
    pub deadline: Deadline,
    #[serde(default)]
    pub status: CallStatus,
    #[serde(default)]
    pub funding_rate: Option<FundingRate>,
    #[serde(default)]
    pub amount_max_eur: Option<u64>,
    #[serde(default)]
    pub published: Option<NaiveDate>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// SHA-256 over the content fields; changes when the call's content changes.
    #[serde(default)]
    pub fingerprint: String,
}

impl Call {
    /// A call with only the required fields; the id comes from the canonical URL.
    pub fn new(
        source: impl Into<SourceId>,
        url: impl Into<String>,
        title: impl Into<String>,
        seen: DateTime<Utc>,
    ) -> Self {
        let source = source.into();
        let url = url.into();
        Call {
            id: CallId::from_url(&url),
            links: vec![SourceLink {
                source: source.clone(),
                url: url.clone(),
            }],
            source,
            url,
            external_id: None,
            title: title.into(),
            summary: String::new(),
            text: String::new(),
            funder: None,
            funding_types: Vec::new(),
            topics: Vec::new(),
            regions: Vec::new(),
            applicants: Applicants::default(),
            deadline: Deadline::Unknown,
            status: CallStatus::Unknown,
            funding_rate: None,
            amount_max_eur: None,
            published: None,
            first_seen: seen,
            last_seen: seen,
            fingerprint: String::new(),
        }
    }

    /// Content fingerprint over everything a reader sees; not over timestamps or links:
    /// the SHA-256 of the JSON array of those fields. The array is written straight into
    /// the hash, the texts without a copy; the other fields go through a
    /// `serde_json::Value` as they always did (its objects sort their keys), so the
    /// bytes, and every stored fingerprint, stay the same.
    pub fn compute_fingerprint(&self) -> String {
        let mut hash = HashWriter(Sha256::new());
        let texts = [&self.title, &self.summary, &self.text];
        let rest = [
            serde_json::json!(self.funder),
            serde_json::json!(self.funding_types),
            serde_json::json!(self.topics),
            serde_json::json!(self.regions),
            serde_json::json!(self.applicants),
            serde_json::json!(self.deadline),
            serde_json::json!(self.status),
            serde_json::json!(self.funding_rate),
            serde_json::json!(self.amount_max_eur),
            serde_json::json!(self.published),
            serde_json::json!(self.external_id),
        ];
        let mut separator = b"[".as_slice();
        for text in texts {
            hash.0.update(separator);
            serde_json::to_writer(&mut hash, text).expect("a string serialises");
            separator = b",";
        }
        for value in &rest {
            hash.0.update(separator);
            serde_json::to_writer(&mut hash, value).expect("a JSON value serialises");
        }
        hash.0.update(b"]");
        hex::encode(hash.0.finalize())
    }

    /// Cleans every text a person reads (see [`clean_text`]) and sets `fingerprint`
    /// from the content. Every source kind ends building a call here, so no stored
    /// call carries bidi overrides or control characters from a fetched page.
    pub fn seal(mut self) -> Self {
        clean_in_place(&mut self.title);
        clean_in_place(&mut self.summary);
        clean_in_place(&mut self.text);
        let optional = [&mut self.funder, &mut self.external_id];
        optional.into_iter().flatten().for_each(clean_in_place);
        let lists = [&mut self.funding_types, &mut self.topics, &mut self.applicants.raw];
        lists.into_iter().flatten().for_each(clean_in_place);
        self.fingerprint = self.compute_fingerprint();
        self
    }

    /// Open on `today`: not marked closed and a cut-off still ahead (or none stated).
    pub fn is_open(&self, today: NaiveDate) -> bool {
        self.status != CallStatus::Closed && self.deadline.is_open(today)
    }
}

/// Text without the characters that change how it reads but cannot be seen:
/// bidirectional controls (U+202E reverses a title, U+200E/F, U+202A-202E,
/// U+2066-2069, U+061C), control characters (C0 except line feed and tab, DEL, C1),
/// invisible formatting (zero-width space, word joiner, BOM, interlinear
/// annotations) and Unicode tag characters (hidden ASCII). ZWJ and ZWNJ stay:
/// emoji sequences and some scripts need them.
pub fn clean_text(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).collect()
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{180e}' | '\u{200b}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

/// [`clean_text`] without a copy when nothing is to be removed (the common case).
fn clean_in_place(text: &mut String) {
    if text.chars().any(is_invisible) {
        *text = clean_text(text);
    }
}

string_enum! {
    /// A field whose change is worth telling a Kommune about.
    pub enum ChangedField ("changed field") {
        Deadline = "deadline",
        Status = "status",
        FundingRate = "funding-rate",
        Amount = "amount",
        Applicants = "applicants",
        Title = "title",
        Content = "content",
    }
}

impl ChangedField {
    /// German label, e.g. for "Frist verlängert: 31.03. → 30.04.".
    pub fn label_de(self) -> &'static str {
        match self {
            ChangedField::Deadline => "Frist",
            ChangedField::Status => "Status",
            ChangedField::FundingRate => "Förderquote",
            ChangedField::Amount => "Förderhöchstbetrag",
            ChangedField::Applicants => "Antragsberechtigte",
            ChangedField::Title => "Titel",
            ChangedField::Content => "Beschreibung",
        }
    }
}

/// One field-level change between two versions of a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: ChangedField,
    /// Human-readable old and new values (German formatting).
    pub old: String,
    pub new: String,
}

/// Field-level differences from `old` to `new`. Empty when nothing a reader cares about changed.
pub fn diff_calls(old: &Call, new: &Call) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let mut push = |field, old: String, new: String| {
        if old != new {
            changes.push(FieldChange { field, old, new });
        }
    };
    push(
        ChangedField::Deadline,
        format_deadline(&old.deadline),
        format_deadline(&new.deadline),
    );
    push(
        ChangedField::Status,
        old.status.as_str().into(),
        new.status.as_str().into(),
    );
    push(
        ChangedField::FundingRate,
        format_rate(old.funding_rate),
        format_rate(new.funding_rate),
    );
    push(
        ChangedField::Amount,
        format_amount(old.amount_max_eur),
        format_amount(new.amount_max_eur),
    );
    push(
        ChangedField::Applicants,
        format_applicants(&old.applicants),
        format_applicants(&new.applicants),
    );
    push(ChangedField::Title, old.title.clone(), new.title.clone());
    if changes.is_empty() && (old.summary != new.summary || old.text != new.text) {
        changes.push(FieldChange {
            field: ChangedField::Content,
            old: String::new(),
            new: String::new(),
        });
    }
    changes
}

fn format_applicants(a: &Applicants) -> String {
    if a.categories.is_empty() {
        return "nicht angegeben".into();
    }
    a.categories.iter().map(|c| c.label_de()).collect::<Vec<_>>().join(", ")
}

/// The result of matching one call against one Handlungsfeld profile or project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub call_id: CallId,
    pub handlungsfeld: String,
    /// `None` for a match of the Handlungsfeld's own keyword profile.
    pub project: Option<String>,
    pub score: f64,
    pub threshold: f64,
    /// Score over threshold and every criterion met.
    pub passed: bool,
    /// Ids of the Kommunen (and the Kreis) this match is routed to.
    pub kommunen: Vec<String>,
    /// Why it matched or fell short; rendered in German only at output.
    pub reasons: Vec<Reason>,
}

/// Bytes written into a SHA-256, for serialising straight into it.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_absolute_web_urls_are_links() {
        assert_eq!(
            safe_link(" https://x.example/a?b=1 ").as_deref(),
            Some("https://x.example/a?b=1")
        );
        assert_eq!(safe_link("HTTP://X.example/a").as_deref(), Some("http://x.example/a"));
        for hostile in [
            "javascript:alert(document.cookie)",
            "  JaVaScRiPt:alert(1)",
            "\tjavascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "file:///etc/passwd",
            "vbscript:msgbox(1)",
            "/relative/path",
            "//x.example/protocol-relative",
            "mailto:a@b.example",
            "",
        ] {
            assert_eq!(safe_link(hostile), None, "{hostile:?}");
        }
    }

    use super::*;

    #[test]
    fn clean_text_strips_bidi_controls_and_invisible_characters() {
        let hostile = "F\u{202e}gpd.exe\u{202c} f\u{fc}r\u{200b} Kommunen\u{7}\u{85}\u{2066}x\u{2069}\u{feff}\u{e0041}\r\nZeile\tzwei";
        assert_eq!(clean_text(hostile), "Fgpd.exe f\u{fc}r Kommunenx\nZeile\tzwei");
        assert_eq!(
            clean_text("Familie \u{1f468}\u{200d}\u{1f469}"),
            "Familie \u{1f468}\u{200d}\u{1f469}"
        );
    }

    #[test]
    fn seal_cleans_every_text_a_person_reads() {
        let mut call = Call::new("s", "https://example.org/a", "Titel\u{202e}", Utc::now());
        call.summary = "Kurz\u{200f}".into();
        call.text = "Lang\u{1b}[31m".into();
        call.funder = Some("Land\u{202a}".into());
        call.topics = vec!["Thema\u{2067}".into()];
        call.funding_types = vec!["Zuschuss\u{0}".into()];
        call.applicants.raw = vec!["Gemeinden\u{200e}".into()];
        let call = call.seal();
        let texts = [&call.title, &call.summary, &call.text, call.funder.as_ref().unwrap()];
        assert_eq!(
            texts,
            [&"Titel".to_string(), &"Kurz".into(), &"Lang[31m".into(), &"Land".into()]
        );
        assert_eq!(
            (
                &call.topics[0][..],
                &call.funding_types[0][..],
                &call.applicants.raw[0][..]
            ),
            ("Thema", "Zuschuss", "Gemeinden")
        );
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn call_id_is_stable_and_url_specific() {
        assert_eq!(
            CallId::from_url("https://a.example/x"),
            CallId::from_url("https://a.example/x")
        );
        assert_ne!(
            CallId::from_url("https://a.example/x"),
            CallId::from_url("https://a.example/y")
        );
        assert!(CallId::from_url("x").as_str().starts_with("c-"));
    }

    #[test]
    fn annual_deadline_rolls_forward() {
        let dl = DeadlineDate {
            annual: true,
            ..DeadlineDate::on(d(2025, 10, 23))
        };
        assert_eq!(dl.next_occurrence(d(2026, 11, 26)), Some(d(2027, 10, 23)));
        assert_eq!(dl.next_occurrence(d(2026, 3, 1)), Some(d(2026, 10, 23)));
        assert_eq!(DeadlineDate::on(d(2025, 10, 23)).next_occurrence(d(2026, 1, 1)), None);
    }

    #[test]
    fn deadline_next_date_picks_earliest_future_cutoff() {
        let dl = Deadline::Dates(vec![
            DeadlineDate::on(d(2026, 1, 15)),
            DeadlineDate::on(d(2027, 4, 15)),
            DeadlineDate::on(d(2026, 12, 31)),
        ]);
        assert_eq!(dl.next_date(d(2026, 11, 26)), Some(d(2026, 12, 31)));
        assert!(dl.is_open(d(2026, 11, 26)));
        assert!(!dl.is_open(d(2027, 5, 1)));
        assert!(Deadline::Rolling.is_open(d(2030, 1, 1)));
        assert_eq!(Deadline::Dates(vec![]).kind(), DeadlineKind::Unknown);
    }

    #[test]
    fn region_round_trips_through_strings() {
        for r in [
            Region::Bundesweit,
            Region::EuWeit,
            Region::Land(Bundesland::NordrheinWestfalen),
            Region::Named("Münsterland".into()),
        ] {
            let s: String = r.clone().into();
            assert_eq!(Region::try_from(s).unwrap(), r);
        }
    }

    #[test]
    fn diff_reports_deadline_extension() {
        let now = Utc::now();
        let mut a = Call::new("s", "https://x.example/a", "T", now);
        a.deadline = Deadline::Dates(vec![DeadlineDate::on(d(2026, 3, 31))]);
        let mut b = a.clone();
        b.deadline = Deadline::Dates(vec![DeadlineDate::on(d(2026, 4, 30))]);
        let changes = diff_calls(&a, &b);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, ChangedField::Deadline);
        assert_eq!(
            (changes[0].old.as_str(), changes[0].new.as_str()),
            ("31.03.2026", "30.04.2026")
        );
        assert!(diff_calls(&a, &a).is_empty());
    }

    #[test]
    fn fingerprint_ignores_timestamps() {
        let a = Call::new("s", "https://x.example/a", "T", Utc::now()).seal();
        let mut b = a.clone();
        b.last_seen += chrono::Duration::days(3);
        assert_eq!(a.compute_fingerprint(), b.compute_fingerprint());
        b.summary = "neu".into();
        assert_ne!(a.fingerprint, b.compute_fingerprint());
    }

    /// The fingerprint as it was first defined: stored fingerprints must stay valid.
    fn fingerprint_as_defined(c: &Call) -> String {
        let content = serde_json::json!([
            c.title,
            c.summary,
            c.text,
            c.funder,
            c.funding_types,
            c.topics,
            c.regions,
            c.applicants,
            c.deadline,
            c.status,
            c.funding_rate,
            c.amount_max_eur,
            c.published,
            c.external_id,
        ]);
        hex::encode(Sha256::digest(content.to_string().as_bytes()))
    }

    #[test]
    fn fingerprint_bytes_are_those_of_its_definition() {
        let bare = Call::new("s", "https://x.example/a", "T", Utc::now());
        let mut full = bare.clone();
        full.title = "Förderaufruf „Smarte Dörfer“ – \"Teil 2\"\t\u{1}".into();
        full.summary = "Zuschüsse bis 80 %\nfür Kommunen 🚲 \\ </script>".into();
        full.text = "Lang ".repeat(2000);
        full.funder = Some("Land NRW".into());
        full.funding_types = vec!["Zuschuss".into(), "Darlehen".into()];
        full.topics = vec!["Digitalisierung".into()];
        full.regions = vec![
            Region::Land(Bundesland::NordrheinWestfalen),
            Region::Named("Münsterland".into()),
        ];
        full.applicants = Applicants {
            categories: [ApplicantCategory::Kommune, ApplicantCategory::Kreis]
                .into_iter()
                .collect(),
            raw: vec!["Gemeinden und Kreise".into()],
        };
        full.deadline = Deadline::Dates(vec![DeadlineDate::on(d(2026, 3, 31)), DeadlineDate::on(d(2026, 9, 30))]);
        full.status = CallStatus::Open;
        full.funding_rate = Some(FundingRate {
            min: Some(0.5),
            max: 0.9,
        });
        full.amount_max_eur = Some(1_250_000);
        full.published = Some(d(2026, 1, 15));
        full.external_id = Some("FDB-123".into());
        for call in [bare, full] {
            assert_eq!(call.compute_fingerprint(), fingerprint_as_defined(&call));
        }
    }
}
