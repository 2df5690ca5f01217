//! The iCalendar report (RFC 5545): one all-day VEVENT per call and cut-off
//! still ahead on `as_of`, with a reminder 7 days before. Built with the
//! `icalendar` crate, which escapes TEXT values and folds lines at 75 octets
//! without splitting a UTF-8 character.
//!
//! The UID is `<call id>-<yyyymmdd>@foerderradar`, so re-importing a newer
//! report updates an event instead of duplicating it. DTSTAMP is the report
//! day (not the clock), so the same report renders to the same bytes.

use chrono::{Days, NaiveDate, TimeDelta};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};

use super::{Report, ReportCall, ReportFormatter};
use crate::model::Deadline;
use crate::model::german::format_date_de;

pub struct IcsFormatter;

/// How long before a cut-off the calendar reminds.
const REMINDER_DAYS: i64 = 7;

impl ReportFormatter for IcsFormatter {
    fn format(&self, report: &Report) -> String {
        let mut calendar = Calendar::new();
        calendar.name("Förderradar – Fristen");
        for call in &report.calls {
            for cutoff in cutoffs(call, report.as_of) {
                calendar.push(event(call, &cutoff, report));
            }
        }
        calendar.done().to_string()
    }
}

/// One cut-off of a call: its (next) date and the stage it belongs to.
struct Cutoff {
    date: NaiveDate,
    label: Option<String>,
}

/// Every dated cut-off on or after `as_of` (annual ones at their next occurrence), one per day.
fn cutoffs(call: &ReportCall, as_of: NaiveDate) -> Vec<Cutoff> {
    let Deadline::Dates(dates) = &call.call.deadline else {
        return Vec::new();
    };
    let mut out: Vec<Cutoff> = dates
        .iter()
        .filter_map(|d| {
            d.next_occurrence(as_of).map(|date| Cutoff {
                date,
                label: d.label.clone(),
            })
        })
        .collect();
    out.sort_by_key(|c| c.date);
    out.dedup_by_key(|c| c.date);
    out
}

fn event(call: &ReportCall, cutoff: &Cutoff, report: &Report) -> Event {
    let uid = format!("{}-{}@foerderradar", call.id, cutoff.date.format("%Y%m%d"));
    let summary = match &cutoff.label {
        Some(label) => format!("Frist: {} ({label})", call.title),
        None => format!("Frist: {}", call.title),
    };
    let stamp = report.as_of.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let mut event = Event::new();
    event
        .uid(&uid)
        .timestamp(stamp)
        .summary(&summary)
        .description(&description(call, cutoff))
        .starts(cutoff.date)
        // DTEND of an all-day event is exclusive: the day after.
        .ends(cutoff.date.checked_add_days(Days::new(1)).unwrap_or(cutoff.date))
        .alarm(
            Alarm::display(
                &format!("In {REMINDER_DAYS} Tagen: {summary}"),
                Trigger::before_start(TimeDelta::days(REMINDER_DAYS)),
            )
            // The crate writes seconds (-PT604800S); days read better in every client.
            .add_property("TRIGGER", format!("-P{REMINDER_DAYS}D"))
            // Without these the crate invents a random UID and the clock's DTSTAMP.
            .add_property("UID", format!("{uid}-alarm"))
            .timestamp(stamp)
            .done(),
        );
    if let Some(url) = &call.url {
        event.url(url);
    }
    event.done()
}

/// The German facts a calendar entry needs to be useful on its own.
fn description(call: &ReportCall, cutoff: &Cutoff) -> String {
    let mut lines = vec![format!("Frist: {}", format_date_de(cutoff.date))];
    if let Some(funder) = &call.funder {
        lines.push(format!("Fördergeber: {funder}"));
    }
    for m in &call.matches {
        let target = match &m.project_name {
            Some(p) => format!("{} / {p}", m.handlungsfeld_name),
            None => m.handlungsfeld_name.clone(),
        };
        lines.push(format!(
            "Passt zu: {target} – Kommunen: {}",
            m.kommunen_names.join(", ")
        ));
    }
    if let Some(url) = &call.url {
        lines.push(url.clone());
    }
    lines.join("\n")
}
