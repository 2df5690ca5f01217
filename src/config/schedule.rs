//! Cron expressions.
//!
//! The `cron` crate wants a seconds field and counts days of the week from
//! Sunday = 1, while a crontab line (`0 7 * * 1-5`) has no seconds and counts
//! Monday = 1 (Sunday = 0 or 7). A 5-field line therefore gets `0 ` in front
//! and its numeric days of the week are rewritten as names, so `1-5` keeps
//! meaning Monday to Friday. 6- and 7-field lines are the crate's own syntax
//! and are taken as they are.

use std::str::FromStr;

use super::CronSchedule;

const DAY_NAMES: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Compiles a crontab (5 fields) or `cron`-crate (6/7 fields) expression.
pub(super) fn compile(expr: &str) -> Result<CronSchedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let normalized = match fields.len() {
        5 => format!("0 {} {}", fields[..4].join(" "), crontab_days(fields[4])?),
        6 | 7 => fields.join(" "),
        n => {
            return Err(format!(
                "has {n} fields; write a crontab line like \"0 7 * * Mon-Fri\" (minute hour day month weekday)"
            ));
        }
    };
    let schedule = cron::Schedule::from_str(&normalized)
        .map_err(|e| format!("'{expr}' is not a valid cron expression ({e}); e.g. \"0 7 * * Mon-Fri\""))?;
    // "0 7 31 2 *" parses, but a daemon on it would never collect or notify.
    if schedule.upcoming(chrono::Utc).next().is_none() {
        return Err(format!("'{expr}' never comes due (no such date from now on)"));
    }
    Ok(CronSchedule {
        expr: expr.to_string(),
        schedule,
    })
}

/// Rewrites crontab day-of-week numbers (0/7 = Sunday, 1 = Monday) as names.
fn crontab_days(field: &str) -> Result<String, String> {
    let parts: Result<Vec<String>, String> = field.split(',').map(crontab_day_part).collect();
    Ok(parts?.join(","))
}

fn crontab_day_part(part: &str) -> Result<String, String> {
    let (base, step) = match part.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (part, None),
    };
    let named = match base.split_once('-') {
        Some((from, to)) => day_range(base, day(from)?, day(to)?, step.is_some())?,
        None if base == "*" => base.to_string(),
        None => day(base)?.map_or(base.to_string(), |n| DAY_NAMES[n].to_string()),
    };
    Ok(match step {
        Some(step) => format!("{named}/{step}"),
        None => named,
    })
}

/// `Some(n)` for a crontab day number 0..=7, `None` for a name such as `Mon`.
fn day(token: &str) -> Result<Option<usize>, String> {
    match token.parse::<usize>() {
        Ok(n) if n <= 7 => Ok(Some(n)),
        Ok(n) => Err(format!("day of week {n} does not exist; use 0-7 or Mon-Sun")),
        Err(_) => Ok(None),
    }
}

fn day_range(base: &str, from: Option<usize>, to: Option<usize>, stepped: bool) -> Result<String, String> {
    let (from, to) = match (from, to) {
        (Some(from), Some(to)) => (from, to),
        (None, None) => return Ok(base.to_string()),
        _ => return Err("mix of day numbers and names in a range; write e.g. Mon-Fri".into()),
    };
    // Sunday as 7 closes a week that the crate starts on Sunday.
    match (from, to) {
        (0, 7) => Ok("Sun-Sat".into()),
        (f, 7) if f > 0 && !stepped => Ok(format!("{}-Sat,Sun", DAY_NAMES[f])),
        (f, t) if f <= t && t < 7 => Ok(format!("{}-{}", DAY_NAMES[f], DAY_NAMES[t])),
        _ => Err(format!(
            "day range {from}-{to} cannot be expressed; write the days by name, e.g. Mon-Fri"
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, TimeZone, Weekday};
    use chrono_tz::Europe::Berlin;

    use super::*;

    fn next_after(expr: &str, y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<chrono_tz::Tz> {
        let schedule = compile(expr).unwrap_or_else(|e| panic!("{e}"));
        let start = Berlin.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        schedule.schedule.after(&start).next().unwrap()
    }

    #[test]
    fn five_field_weekday_line_means_monday_to_friday() {
        // Saturday 2026-11-28 08:00 → Monday 2026-11-30 07:00.
        let next = next_after("0 7 * * 1-5", 2026, 11, 28, 8);
        assert_eq!(
            (next.weekday(), next.day(), next.format("%H:%M:%S").to_string()),
            (Weekday::Mon, 30, "07:00:00".into())
        );
        // Friday 06:00 → the same Friday 07:00.
        assert_eq!(next_after("0 7 * * 1-5", 2026, 11, 27, 6).weekday(), Weekday::Fri);
    }

    #[test]
    fn five_field_sunday_as_zero_and_seven() {
        assert_eq!(next_after("30 6 * * 0", 2026, 11, 27, 8).weekday(), Weekday::Sun);
        assert_eq!(next_after("30 6 * * 7", 2026, 11, 27, 8).weekday(), Weekday::Sun);
        // 5-7 = Friday, Saturday, Sunday.
        assert_eq!(next_after("0 6 * * 5-7", 2026, 11, 28, 8).weekday(), Weekday::Sun);
    }

    #[test]
    fn five_field_names_are_kept() {
        assert_eq!(compile("0 6 * * Mon-Fri").unwrap().expr, "0 6 * * Mon-Fri");
        assert_eq!(next_after("0 6 * * Mon-Fri", 2026, 11, 28, 8).weekday(), Weekday::Mon);
    }

    #[test]
    fn six_and_seven_fields_are_taken_as_is() {
        // The crate's own numbering: 2 is Monday.
        assert_eq!(next_after("0 0 7 * * 2", 2026, 11, 28, 8).weekday(), Weekday::Mon);
        assert!(compile("0 0 7 * * Mon-Fri 2026-2099").is_ok());
    }

    #[test]
    fn bad_expressions_are_refused() {
        assert!(compile("every morning").unwrap_err().contains("fields"));
        assert!(
            compile("0 25 * * *")
                .unwrap_err()
                .contains("not a valid cron expression")
        );
        assert!(compile("0 7 * * 8").is_err());
        assert!(compile("0 7 * * 1-Fri").is_err());
        assert!(compile("0 7 31 2 *").unwrap_err().contains("never comes due"));
        assert!(
            compile("0 0 7 * * Mon-Fri 2020")
                .unwrap_err()
                .contains("never comes due")
        );
    }
}
