//! The SEDIA search response: records → one [`Topic`] per call, language
//! duplicates collapsed, status derived from the dates.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::programme_label;
use crate::model::CallStatus;

/// `type` codes of calls for proposals: topic, grant call without topics, cascade call.
pub const CALL_TYPES: [&str; 3] = ["1", "2", "8"];
pub const STATUS_FORTHCOMING: &str = "31094501";
pub const STATUS_OPEN: &str = "31094502";
pub const STATUS_CLOSED: &str = "31094503";

/// One page of the search response. Unknown keys are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    /// Absent in some answers; paging then ends at the first short page.
    #[serde(default)]
    pub total_results: Option<u64>,
    #[serde(default, deserialize_with = "records_skipping_malformed")]
    pub results: Vec<Record>,
}

/// One malformed record must not cost the page its other calls: it is skipped with a warning.
fn records_skipping_malformed<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Record>, D::Error> {
    let values = Vec::<Value>::deserialize(d)?;
    Ok(values
        .into_iter()
        .filter_map(|value| {
            let reference = value.get("reference").and_then(Value::as_str).map(str::to_string);
            Record::deserialize(value)
                .inspect_err(|e| tracing::warn!(reference, error = %e, "malformed SEDIA record; skipped"))
                .ok()
        })
        .collect())
}

/// One indexed document (one language version of one topic).
#[derive(Debug, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
}

impl Record {
    /// Every string of a metadata field (values are arrays; scalars are accepted too).
    fn all(&self, key: &str) -> Vec<&str> {
        match self.metadata.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => vec![s.as_str()],
            _ => Vec::new(),
        }
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.all(key).into_iter().map(str::trim).find(|s| !s.is_empty())
    }

    /// A metadata field holding JSON encoded as a string; `None` when absent or broken.
    fn json(&self, key: &str) -> Option<Value> {
        serde_json::from_str(self.first(key)?).ok()
    }
}

/// A call for proposals as the portal describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub kind: String,
    /// Topic identifier (type 1), else the call identifier.
    pub identifier: String,
    pub call_identifier: Option<String>,
    pub call_ccm2_id: Option<String>,
    pub call_title: Option<String>,
    pub language: String,
    pub title: String,
    pub description_html: String,
    pub programme: Option<String>,
    pub types_of_action: Vec<String>,
    pub keywords: Vec<String>,
    pub start: Option<NaiveDate>,
    /// Every stated cut-off, sorted.
    pub deadlines: Vec<NaiveDate>,
    pub deadline_model: Option<String>,
    pub status: CallStatus,
    /// Sum of this topic's yearly budgets (EUR), from `budgetOverview`.
    pub budget_eur: Option<u64>,
    /// Largest EU contribution per grant (EUR), from `budgetOverview`.
    pub max_contribution_eur: Option<u64>,
}

/// Reads a record; `None` for records that are no call for proposals (tenders,
/// news, FAQ entries typed as topics) or carry no identifier.
pub fn topic(record: &Record, today: NaiveDate) -> Option<Topic> {
    let kind = record.first("type")?.to_string();
    if !CALL_TYPES.contains(&kind.as_str()) || record.metadata.contains_key("esST_question") {
        return None;
    }
    let call_identifier = record.first("callIdentifier").map(str::to_string);
    let call_ccm2_id = record.first("callccm2Id").map(str::to_string);
    let identifier = record
        .first("identifier")
        .map(str::to_string)
        .or_else(|| call_identifier.clone())?;
    let title = record
        .first("title")
        .or(record.summary.as_deref())
        .or(record.content.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())?
        .to_string();
    let actions = record.json("actions");
    let mut deadlines: Vec<NaiveDate> = record
        .all("deadlineDate")
        .into_iter()
        .filter_map(parse_iso_date)
        .collect();
    if deadlines.is_empty() {
        deadlines = action_deadlines(actions.as_ref());
    }
    deadlines.sort();
    deadlines.dedup();
    let start = record.first("startDate").and_then(parse_iso_date);
    let hint = record.first("status").unwrap_or("");
    let (budget_eur, max_contribution_eur) = budget(record.json("budgetOverview").as_ref(), &identifier);
    // Every action closed is the portal's own word, even where a stale date says otherwise.
    let status = if all_actions_closed(actions.as_ref()) {
        CallStatus::Closed
    } else {
        derive_status(start, &deadlines, hint, today)
    };
    Some(Topic {
        status,
        language: record
            .language
            .clone()
            .or_else(|| record.first("language").map(str::to_string))
            .unwrap_or_default(),
        description_html: record.first("descriptionByte").unwrap_or("").to_string(),
        programme: record
            .first("frameworkProgramme")
            .map(|c| programme_label(c).to_string()),
        types_of_action: record.all("typesOfAction").into_iter().map(str::to_string).collect(),
        keywords: record
            .all("keywords")
            .into_iter()
            .chain(record.all("tags"))
            .map(str::to_string)
            .collect(),
        deadline_model: record.first("deadlineModel").map(str::to_string),
        call_title: record.first("callTitle").map(str::to_string),
        kind,
        identifier,
        call_identifier,
        call_ccm2_id,
        title,
        start,
        deadlines,
        budget_eur,
        max_contribution_eur,
    })
}

/// `2026-04-22T00:00:00.000+0000` (offset without colon); a bare date is accepted too.
fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .map(|d| d.date_naive())
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
}

/// `22 April 2026` (English prose inside the embedded JSON strings).
fn parse_prose_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%d %B %Y").ok()
}

fn action_deadlines(actions: Option<&Value>) -> Vec<NaiveDate> {
    let Some(Value::Array(actions)) = actions else {
        return Vec::new();
    };
    actions
        .iter()
        .filter_map(|a| a.get("deadlineDates")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(parse_prose_date)
        .collect()
}

fn all_actions_closed(actions: Option<&Value>) -> bool {
    let Some(Value::Array(actions)) = actions else {
        return false;
    };
    !actions.is_empty()
        && actions.iter().all(|a| {
            let status = a.get("status");
            status.and_then(|s| s.get("id")).and_then(Value::as_u64) == Some(31_094_503)
                || status.and_then(|s| s.get("abbreviation")).and_then(Value::as_str) == Some("Closed")
        })
}

/// Open/forthcoming/closed from the dates; the portal's status code only
/// decides when no deadline is stated (it lags behind the dates).
pub fn derive_status(start: Option<NaiveDate>, deadlines: &[NaiveDate], hint: &str, today: NaiveDate) -> CallStatus {
    let stated = match hint {
        STATUS_FORTHCOMING => CallStatus::Forthcoming,
        STATUS_OPEN => CallStatus::Open,
        STATUS_CLOSED => CallStatus::Closed,
        _ => CallStatus::Unknown,
    };
    if deadlines.is_empty() {
        return stated;
    }
    if !deadlines.iter().any(|d| *d >= today) {
        return CallStatus::Closed;
    }
    let not_yet_open = start.map_or(stated == CallStatus::Forthcoming, |s| s > today);
    if not_yet_open {
        CallStatus::Forthcoming
    } else {
        CallStatus::Open
    }
}

/// (sum of yearly budgets, largest `maxContribution`) of the actions that belong to `identifier`.
fn budget(overview: Option<&Value>, identifier: &str) -> (Option<u64>, Option<u64>) {
    let Some(map) = overview
        .and_then(|o| o.get("budgetTopicActionMap"))
        .and_then(Value::as_object)
    else {
        return (None, None);
    };
    let prefix = format!("{identifier} ");
    let actions: Vec<&Value> = map
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter(|a| {
            a.get("action")
                .and_then(Value::as_str)
                .is_some_and(|s| s == identifier || s.starts_with(&prefix))
        })
        .collect();
    let total: u64 = actions
        .iter()
        .filter_map(|a| a.get("budgetYearMap")?.as_object())
        .flat_map(|years| years.values())
        .filter_map(as_eur)
        .sum();
    let max_contribution = actions.iter().filter_map(|a| as_eur(a.get("maxContribution")?)).max();
    ((total > 0).then_some(total), max_contribution)
}

fn as_eur(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
}

/// Keeps one topic per call, preferring the languages in the given order.
pub fn dedupe(topics: Vec<Topic>, languages: &[String]) -> Vec<Topic> {
    let rank = |t: &Topic| {
        languages
            .iter()
            .position(|l| l.eq_ignore_ascii_case(&t.language))
            .unwrap_or(languages.len())
    };
    let mut order: Vec<String> = Vec::new();
    let mut best: HashMap<String, Topic> = HashMap::new();
    for topic in topics {
        let key = format!(
            "{}|{}|{}",
            topic.kind,
            topic.identifier,
            topic.call_ccm2_id.as_deref().unwrap_or("")
        );
        match best.get(&key) {
            Some(kept) if rank(kept) <= rank(&topic) => {}
            Some(_) => {
                best.insert(key, topic);
            }
            None => {
                order.push(key.clone());
                best.insert(key, topic);
            }
        }
    }
    order.into_iter().filter_map(|k| best.remove(&k)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn record(meta: Value, language: &str) -> Record {
        serde_json::from_value(json!({"reference": "x", "language": language, "summary": "Ersatz", "metadata": meta}))
            .unwrap()
    }

    #[test]
    fn reads_a_topic_with_embedded_json() {
        let r = record(
            json!({
                "identifier": ["LIFE-2026-CET-LOCAL"], "type": ["1"], "status": ["31094502"],
                "title": ["Local energy transition"], "callIdentifier": ["LIFE-2026-CET"], "callccm2Id": ["123"],
                "startDate": ["2026-01-15T00:00:00.000+0000"],
                "deadlineDate": ["2026-09-17T00:00:00.000+0000", "2026-03-05T00:00:00.000+0000"],
                "frameworkProgramme": ["43252405"], "typesOfAction": ["LIFE Action Grants"],
                "keywords": ["energy"], "tags": ["municipalities"],
                "budgetOverview": [r#"{"budgetTopicActionMap":{"1":[{"action":"LIFE-2026-CET-LOCAL - LIFE-CET","budgetYearMap":{"2026":5000000},"maxContribution":1750000}],"2":[{"action":"LIFE-2026-CET-OTHER - X","budgetYearMap":{"2026":9}}]}}"#],
                "actions": ["[not json"]
            }),
            "en",
        );
        let t = topic(&r, d(2026, 4, 1)).unwrap();
        assert_eq!(t.identifier, "LIFE-2026-CET-LOCAL");
        assert_eq!(t.title, "Local energy transition");
        assert_eq!(t.deadlines, vec![d(2026, 3, 5), d(2026, 9, 17)]);
        assert_eq!(t.status, CallStatus::Open);
        assert_eq!(t.programme.as_deref(), Some("LIFE"));
        assert_eq!(
            (t.budget_eur, t.max_contribution_eur),
            (Some(5_000_000), Some(1_750_000))
        );
        assert_eq!(t.keywords, vec!["energy", "municipalities"]);
    }

    #[test]
    fn deadlines_from_actions_when_metadata_has_none() {
        let r = record(
            json!({"identifier": ["X-1"], "type": ["2"], "title": ["T"],
                   "actions": [r#"[{"status":{"id":31094501},"plannedOpeningDate":"10 May 2026","deadlineDates":["22 October 2026"]}]"#]}),
            "de",
        );
        assert_eq!(topic(&r, d(2026, 1, 1)).unwrap().deadlines, vec![d(2026, 10, 22)]);
    }

    #[test]
    fn closed_actions_override_a_stale_deadline() {
        let r = record(
            json!({"identifier": ["X-2"], "type": ["1"], "title": ["T"], "status": ["31094502"],
                   "deadlineDate": ["2030-12-31T00:00:00.000+0000"],
                   "actions": [r#"[{"status":{"id":31094503,"abbreviation":"Closed"},"deadlineDates":["11 June 2020"]}]"#]}),
            "en",
        );
        assert_eq!(topic(&r, d(2026, 1, 1)).unwrap().status, CallStatus::Closed);
    }

    #[test]
    fn drops_non_calls_and_faq_entries() {
        let tender = record(json!({"identifier": ["T-1"], "type": ["0"], "title": ["Tender"]}), "en");
        let faq = record(
            json!({"identifier": ["F-1"], "type": ["1"], "title": ["FAQ"], "esST_question": ["?"]}),
            "en",
        );
        assert!(topic(&tender, d(2026, 1, 1)).is_none());
        assert!(topic(&faq, d(2026, 1, 1)).is_none());
    }

    #[test]
    fn status_follows_the_dates() {
        let today = d(2026, 5, 1);
        assert_eq!(
            derive_status(Some(d(2026, 1, 1)), &[d(2026, 4, 1)], STATUS_OPEN, today),
            CallStatus::Closed
        );
        assert_eq!(
            derive_status(Some(d(2026, 6, 1)), &[d(2026, 9, 1)], STATUS_OPEN, today),
            CallStatus::Forthcoming
        );
        assert_eq!(
            derive_status(Some(d(2026, 4, 1)), &[d(2026, 9, 1)], STATUS_FORTHCOMING, today),
            CallStatus::Open
        );
        assert_eq!(
            derive_status(None, &[d(2026, 9, 1)], STATUS_FORTHCOMING, today),
            CallStatus::Forthcoming
        );
        assert_eq!(derive_status(None, &[], STATUS_OPEN, today), CallStatus::Open);
        assert_eq!(derive_status(None, &[], "", today), CallStatus::Unknown);
    }

    #[test]
    fn dedupe_prefers_german_then_english() {
        let base = |lang: &str, id: &str| Topic {
            kind: "1".into(),
            identifier: id.into(),
            call_identifier: None,
            call_ccm2_id: None,
            call_title: None,
            language: lang.into(),
            title: format!("{id}-{lang}"),
            description_html: String::new(),
            programme: None,
            types_of_action: vec![],
            keywords: vec![],
            start: None,
            deadlines: vec![],
            deadline_model: None,
            status: CallStatus::Open,
            budget_eur: None,
            max_contribution_eur: None,
        };
        let langs = vec!["de".to_string(), "en".to_string()];
        let kept = dedupe(
            vec![
                base("bg", "A"),
                base("en", "A"),
                base("de", "A"),
                base("en", "B"),
                base("fr", "B"),
            ],
            &langs,
        );
        let titles: Vec<_> = kept.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, vec!["A-de", "B-en"]);
    }

    #[test]
    fn response_ignores_unknown_keys() {
        let page: SearchPage =
            serde_json::from_str(r#"{"apiVersion":"2.1","totalResults":3,"neu":1,"results":[{"metadata":{},"x":2}]}"#)
                .unwrap();
        assert_eq!((page.total_results, page.results.len()), (Some(3), 1));
    }

    #[test]
    fn one_malformed_record_does_not_cost_the_page_its_other_records() {
        let page: SearchPage = serde_json::from_str(
            r#"{"totalResults":3,"results":[
                {"reference":"gut","metadata":{"type":["1"]}},
                {"reference":"kaputt","metadata":null},
                {"reference":"auch-kaputt","language":7,"metadata":{}}]}"#,
        )
        .unwrap();
        let references: Vec<_> = page.results.iter().map(|r| r.reference.as_deref()).collect();
        assert_eq!(references, vec![Some("gut")]);
        assert_eq!(page.total_results, Some(3));
    }
}
