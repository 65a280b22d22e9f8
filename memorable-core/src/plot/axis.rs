//! Axis ticks: time ticks on whole seconds, minutes, hours, days, weeks or months (UTC), labelled
//! with real dates, and value ticks on round steps.

use time::{Month, OffsetDateTime};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Tick steps in milliseconds, smallest first. From 30 days up they stand for calendar steps:
/// 1, 3 months (aligned on January, April, ...), then whole years (aligned on multiples).
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
    MONTH,
    3 * MONTH,
];

/// A month and a year as tick steps (calendar steps: see [`next_tick`]).
const MONTH: i64 = 30 * DAY;
const YEAR: i64 = 365 * DAY;

/// One tick: where (ms since the epoch) and its label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeTick {
    pub at_ms: i64,
    pub label: String,
}

/// Ticks for `[start, end]` (ms), at most about `max_ticks` of them (at least one: a span
/// shorter than the smallest step gets a tick at its start).
pub(crate) fn time_ticks(start: i64, end: i64, max_ticks: usize) -> Vec<TimeTick> {
    let span = (end - start).max(1);
    let max_ticks = max_ticks.max(2) as i64;
    let step = STEPS.iter().copied().find(|s| span / s <= max_ticks).unwrap_or_else(|| {
        // Whole years: the smallest of 1, 2, 5, 10, 20, 50, ... that fits.
        let years = span / YEAR / max_ticks + 1;
        let mut unit = 1i64;
        loop {
            for m in [1, 2, 5] {
                if unit * m >= years {
                    return unit * m * YEAR;
                }
            }
            unit *= 10;
        }
    });
    let mut ticks = Vec::new();
    let mut t = first_tick(start, step);
    let mut previous_day: Option<(i32, u16)> = None;
    while t <= end {
        let dt = crate::time::from_ms(t);
        let day = (dt.year(), dt.ordinal());
        ticks.push(TimeTick { at_ms: t, label: label(dt, step, previous_day != Some(day)) });
        previous_day = Some(day);
        let next = next_tick(t, step);
        if next <= t {
            break;
        }
        t = next;
    }
    if ticks.is_empty() {
        ticks.push(TimeTick { at_ms: start, label: label(crate::time::from_ms(start), SECOND, true) });
    }
    ticks
}

/// Months per calendar step (0 for the fixed steps under a month).
fn months(step: i64) -> i32 {
    match step {
        s if s >= YEAR => (s / YEAR) as i32 * 12,
        s if s >= MONTH => (s / MONTH) as i32,
        _ => 0,
    }
}

/// The first aligned instant at or after `start`: a multiple of the step (UTC), or for
/// calendar steps the first day of a month whose index is a multiple of the step in months.
fn first_tick(start: i64, step: i64) -> i64 {
    let m = months(step);
    if m == 0 {
        return start.div_euclid(step) * step + if start.rem_euclid(step) == 0 { 0 } else { step };
    }
    let dt = crate::time::from_ms(start);
    let index = i64::from(dt.year()) * 12 + i64::from(dt.month() as u8) - 1;
    let mut aligned = index.div_euclid(i64::from(m)) * i64::from(m);
    loop {
        let t = month_start(aligned);
        // Past year 9999 `month_start` saturates: stop there rather than loop.
        if t >= start || aligned > 9999 * 12 {
            return t.max(start);
        }
        aligned += i64::from(m);
    }
}

/// Midnight UTC on the first day of month `index` (year × 12 + month − 1).
fn month_start(index: i64) -> i64 {
    let year = index.div_euclid(12).clamp(-9999, 9999) as i32;
    let month = Month::try_from(index.rem_euclid(12) as u8 + 1).expect("1..=12");
    let date = time::Date::from_calendar_date(year, month, 1).expect("day 1 exists");
    crate::time::to_ms(date.midnight().assume_utc())
}

/// The next tick after `t`: by calendar months for the calendar steps.
fn next_tick(t: i64, step: i64) -> i64 {
    let m = months(step);
    if m == 0 {
        return t + step;
    }
    let dt = crate::time::from_ms(t);
    month_start(i64::from(dt.year()) * 12 + i64::from(dt.month() as u8) - 1 + i64::from(m))
}

/// A tick's label: the time of day for steps under a day (the date too on the first tick of a
/// day), the date otherwise.
fn label(dt: OffsetDateTime, step: i64, new_day: bool) -> String {
    let date = format!("{} {}", short_month(dt.month()), dt.day());
    if step >= YEAR {
        return dt.year().to_string();
    }
    if step >= MONTH {
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
    fn quarter_and_year_ticks_align_and_stay_few() {
        let ticks = time_ticks(ms("2025-02-10T00:00:00Z"), ms("2026-11-20T00:00:00Z"), 8);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["Apr 2025", "Jul 2025", "Oct 2025", "Jan 2026", "Apr 2026", "Jul 2026", "Oct 2026"]
        );
        let ticks = time_ticks(ms("1970-01-01T00:00:00Z"), ms("2026-12-01T00:00:00Z"), 8);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["1970", "1980", "1990", "2000", "2010", "2020"]);
        // The widest range a timestamp can have: still a handful of ticks.
        let ticks = time_ticks(ms("0001-01-01T00:00:00Z"), ms("9999-12-31T00:00:00Z"), 8);
        assert!((3..=9).contains(&ticks.len()), "{ticks:?}");
    }

    #[test]
    fn a_tiny_span_still_gets_a_tick() {
        let t = ms("2026-12-07T10:00:00.250Z");
        let ticks = time_ticks(t, t + 300, 8);
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0].label, "Dec 7 10:00:00");
    }

    #[test]
    fn value_ticks_are_round() {
        assert_eq!(value_ticks(1.0), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(value_ticks(0.3), [0.0, 0.1, 0.2, 0.30000000000000004]);
    }
}
