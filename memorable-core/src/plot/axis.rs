//! Axis ticks: time ticks on whole seconds, minutes, hours, days, weeks or months (UTC), labelled
//! with real dates, and value ticks on round steps.

use time::{Month, OffsetDateTime};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Tick steps in milliseconds, smallest first; a month is approximated by 30 days and aligned
/// on the 1st below.
const STEPS: &[i64] = &[
    SECOND,
    5 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    91 * DAY,
    365 * DAY,
];

/// One tick: where (ms since the epoch) and its label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeTick {
    pub at_ms: i64,
    pub label: String,
}

/// Ticks for `[start, end]` (ms), at most about `max_ticks` of them.
pub(crate) fn time_ticks(start: i64, end: i64, max_ticks: usize) -> Vec<TimeTick> {
    let span = (end - start).max(1);
    let max_ticks = max_ticks.max(2) as i64;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= max_ticks)
        .unwrap_or(365 * DAY * (span / (365 * DAY * max_ticks) + 1));
    let mut ticks = Vec::new();
    let mut t = first_tick(start, step);
    let mut previous_day: Option<(i32, u16)> = None;
    while t <= end {
        if t >= start {
            let dt = crate::time::from_ms(t);
            let day = (dt.year(), dt.ordinal());
            let label = label(dt, step, previous_day != Some(day));
            previous_day = Some(day);
            ticks.push(TimeTick { at_ms: t, label });
        }
        t = next_tick(t, step);
    }
    ticks
}

/// The first aligned instant at or after `start`.
fn first_tick(start: i64, step: i64) -> i64 {
    if step >= 30 * DAY {
        let dt = crate::time::from_ms(start);
        let first_of_month = dt.replace_day(1).expect("day 1").replace_time(time::Time::MIDNIGHT);
        let mut t = crate::time::to_ms(first_of_month);
        while t < start {
            t = next_tick(t, step);
        }
        t
    } else {
        start.div_euclid(step) * step + if start.rem_euclid(step) == 0 { 0 } else { step }
    }
}

/// The next tick after `t`: by calendar months for the month-sized steps.
fn next_tick(t: i64, step: i64) -> i64 {
    if step < 30 * DAY {
        return t + step;
    }
    let months = (step / (30 * DAY)).clamp(1, 12) as u8;
    let dt = crate::time::from_ms(t);
    let mut month = dt.month();
    let mut year = dt.year();
    for _ in 0..months {
        month = month.next();
        if month == Month::January {
            year += 1;
        }
    }
    let next = dt.replace_day(1).and_then(|d| d.replace_year(year)).and_then(|d| d.replace_month(month));
    next.map_or(t + step, crate::time::to_ms)
}

/// A tick's label: the time of day for steps under a day (the date too on the first tick of a
/// day), the date otherwise.
fn label(dt: OffsetDateTime, step: i64, new_day: bool) -> String {
    let date = format!("{} {}", short_month(dt.month()), dt.day());
    if step >= 365 * DAY {
        return dt.year().to_string();
    }
    if step >= 30 * DAY {
        return format!("{} {}", short_month(dt.month()), dt.year());
    }
    if step >= DAY {
        return date;
    }
    let clock = if step < MINUTE {
        format!("{:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())
    } else {
        format!("{:02}:{:02}", dt.hour(), dt.minute())
    };
    if new_day {
        format!("{date} {clock}")
    } else {
        clock
    }
}

fn short_month(m: Month) -> &'static str {
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m as usize - 1]
}

/// The whole date and time of an instant, for titles: `2026-12-07 14:05 UTC`.
pub(crate) fn full_label(ms: i64) -> String {
    let dt = crate::time::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// Round value ticks from 0 to `max` (inclusive), at most 6.
pub(crate) fn value_ticks(max: f64) -> Vec<f64> {
    let step = [0.05, 0.1, 0.2, 0.25, 0.5, 1.0].into_iter().find(|s| max / s <= 5.0).unwrap_or(1.0);
    let n = (max / step).round() as i64;
    (0..=n).map(|i| i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
        crate::time::to_ms(t)
    }

    #[test]
    fn minute_ticks_label_the_day_once() {
        let ticks = time_ticks(ms("2026-12-07T09:58:00Z"), ms("2026-12-07T10:31:00Z"), 8);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Dec 7 10:00", "10:05", "10:10", "10:15", "10:20", "10:25", "10:30"]);
    }

    #[test]
    fn day_ticks_across_a_month_end() {
        let ticks = time_ticks(ms("2026-11-28T12:00:00Z"), ms("2026-12-04T00:00:00Z"), 8);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Nov 29", "Nov 30", "Dec 1", "Dec 2", "Dec 3", "Dec 4"]);
    }

    #[test]
    fn month_ticks_fall_on_the_first() {
        let ticks = time_ticks(ms("2026-01-15T00:00:00Z"), ms("2026-07-01T00:00:00Z"), 8);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Feb 2026", "Mar 2026", "Apr 2026", "May 2026", "Jun 2026", "Jul 2026"]);
    }

    #[test]
    fn value_ticks_are_round() {
        assert_eq!(value_ticks(1.0), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(value_ticks(0.3), [0.0, 0.1, 0.2, 0.30000000000000004]);
    }
}
