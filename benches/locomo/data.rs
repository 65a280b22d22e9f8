//! Reading a LoCoMo file: conversations, their sessions' date-times, turns and questions.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// One turn of a conversation.
pub struct Turn {
    pub dia_id: String,
    pub speaker: String,
    /// The turn's text, with the caption of an image it shared appended.
    pub text: String,
    /// Number of the session (1-based) and its date-time.
    pub session: usize,
    pub at: OffsetDateTime,
}

/// One question of categories 1-4 (category 5, adversarial, is left out).
pub struct Question {
    pub question: String,
    pub category: u8,
    pub evidence: Vec<String>,
}

pub struct Conversation {
    pub name: String,
    pub turns: Vec<Turn>,
    pub questions: Vec<Question>,
}

/// Parse "1:56 pm on 8 May, 2023" (also without the comma or with a 24-hour time).
pub fn parse_session_time(s: &str) -> Result<OffsetDateTime> {
    let (clock, date) = s.split_once(" on ").with_context(|| format!("no \" on \" in {s:?}"))?;
    let clock = clock.trim().to_ascii_lowercase();
    let (hm, pm) = match clock.strip_suffix("pm") {
        Some(hm) => (hm.trim(), Some(true)),
        None => match clock.strip_suffix("am") {
            Some(hm) => (hm.trim(), Some(false)),
            None => (clock.as_str(), None),
        },
    };
    let (h, m) = hm.split_once(':').with_context(|| format!("bad clock in {s:?}"))?;
    let (mut h, m): (u8, u8) = (h.trim().parse()?, m.trim().parse()?);
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let parts: Vec<String> = date.replace(',', " ").split_whitespace().map(str::to_lowercase).collect();
    let [day, month, year] = parts.as_slice() else { bail!("bad date in {s:?}") };
    let month = month_of(month).with_context(|| format!("bad month in {s:?}"))?;
    let date = Date::from_calendar_date(year.parse()?, month, day.parse()?)?;
    Ok(PrimitiveDateTime::new(date, Time::from_hms(h, m, 0)?).assume_utc())
}

fn month_of(m: &str) -> Option<Month> {
    const NAMES: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let i = NAMES.iter().position(|n| m.starts_with(n))?;
    Month::try_from(i as u8 + 1).ok()
}

pub fn load(path: &std::path::Path) -> Result<Vec<Conversation>> {
    let raw = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let root: Value = serde_json::from_str(&raw).context("the file is not JSON")?;
    let items = root.as_array().context("expected a JSON array of conversations")?;
    items.iter().enumerate().map(|(i, item)| conversation(i, item)).collect()
}

fn conversation(i: usize, item: &Value) -> Result<Conversation> {
    let conv = item.get("conversation").context("missing \"conversation\"")?;
    let name =
        item.get("sample_id").and_then(Value::as_str).map_or_else(|| format!("conv-{i}"), str::to_owned);
    let mut turns = Vec::new();
    for n in 1.. {
        let Some(list) = conv.get(format!("session_{n}")).and_then(Value::as_array) else { break };
        let when = conv
            .get(format!("session_{n}_date_time"))
            .and_then(Value::as_str)
            .with_context(|| format!("{name}: session_{n} has no date_time"))?;
        let at = parse_session_time(when)?;
        for t in list {
            let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let mut text = s("text");
            let caption = s("blip_caption");
            if !caption.is_empty() {
                text = format!("{text} [shares a photo: {caption}]");
            }
            turns.push(Turn { dia_id: s("dia_id"), speaker: s("speaker"), text, session: n, at });
        }
    }
    let mut questions = Vec::new();
    for q in item.get("qa").and_then(Value::as_array).into_iter().flatten() {
        let category = q.get("category").and_then(Value::as_u64).unwrap_or(0) as u8;
        if !(1..=4).contains(&category) {
            continue;
        }
        let evidence = q
            .get("evidence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let question = q.get("question").and_then(Value::as_str).unwrap_or_default().to_owned();
        questions.push(Question { question, category, evidence });
    }
    Ok(Conversation { name, turns, questions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_times() {
        let t = parse_session_time("1:56 pm on 8 May, 2023").unwrap();
        assert_eq!((t.hour(), t.minute(), t.day(), t.month()), (13, 56, 8, Month::May));
        let t = parse_session_time("12:09 am on 13 September, 2023").unwrap();
        assert_eq!((t.hour(), t.day()), (0, 13));
        assert!(parse_session_time("yesterday").is_err());
    }
}
