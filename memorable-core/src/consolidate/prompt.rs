//! What consolidation asks a generator, and how its answer is checked: one JSON object with a
//! `summary` and `facts` (each with its text, optionally who / when / where / what, and the
//! numbers of the turns it comes from). An answer that does not fit is refused, and the
//! conversation falls back to the extractive draft.

use serde_json::Value;

use super::draft::{Draft, FactDraft};
use crate::error::{Error, Result};
use crate::memory::Memory;
use crate::models::llm::{ChatMessage, GenerateRequest};

/// Longest turn text put in a prompt (characters).
const TURN_CHARS: usize = 400;
/// Most facts kept from one answer.
const MAX_FACTS: usize = 12;

const SYSTEM: &str = "You turn conversation turns into a short summary and a list of facts. \
Answer with one JSON object only, no other text.";

/// How the answer begins (local generators continue it; servers use their JSON format).
const ANSWER_PREFIX: &str = "{\"summary\": \"";

/// The request for one conversation's turns (in time order).
pub(super) fn request(turns: &[Memory], max_tokens: usize) -> GenerateRequest {
    let date = turns.first().map(|m| m.context.occurred_at.date().to_string()).unwrap_or_default();
    let mut lines = String::new();
    for (i, m) in turns.iter().enumerate() {
        let text: String = m.text.chars().take(TURN_CHARS).collect::<String>().replace('\n', " ");
        let speaker = m.context.speaker.as_deref().unwrap_or("someone");
        lines.push_str(&format!("[{}] {speaker}: {text}\n", i + 1));
    }
    let user = format!(
        "Conversation turns (date {date}):\n{lines}\n\
         Write JSON with two keys: \"summary\": two or three sentences on what was said; \
         \"facts\": a list of objects, one fact each, {{\"text\": a statement that stands on its own, \
         \"who\": the person it is about, \"when\": a date if the turns give one, \"where\": a place \
         if given, \"what\": a few keywords, \"sources\": the numbers of the turns it comes from}}."
    );
    GenerateRequest::chat(vec![ChatMessage::system(SYSTEM), ChatMessage::user(user)])
        .max_tokens(max_tokens)
        .json(true)
        // Small local models follow a started answer far better than a described one.
        .answer_prefix(ANSWER_PREFIX)
}

fn opt_text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Check the generator's JSON answer for `turns` turns and make it a draft.
pub(super) fn parse(answer: &str, turns: usize, max_chars: usize) -> Result<Draft> {
    let v: Value =
        serde_json::from_str(answer).map_err(|e| Error::InvalidOutput(format!("not JSON: {e}")))?;
    let summary =
        opt_text(&v["summary"]).ok_or_else(|| Error::InvalidOutput("no \"summary\" text".into()))?;
    if summary.chars().count() > max_chars {
        return Err(Error::InvalidOutput("the summary is longer than a memory may be".into()));
    }
    let mut facts = Vec::new();
    for f in v["facts"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        // A fact may come as a bare string.
        let text = opt_text(&f["text"]).or_else(|| opt_text(f));
        let Some(text) = text.filter(|t| t.chars().count() <= max_chars) else { continue };
        let mut sources: Vec<usize> = f["sources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .filter(|n| (1..=turns as u64).contains(n))
                    .map(|n| n as usize - 1)
                    .collect()
            })
            .unwrap_or_default();
        sources.sort_unstable();
        sources.dedup();
        let topics = match &f["what"] {
            Value::String(s) => {
                s.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            Value::Array(a) => a.iter().filter_map(opt_text).collect(),
            _ => Vec::new(),
        };
        facts.push(FactDraft {
            text,
            who: opt_text(&f["who"]),
            when: opt_text(&f["when"]),
            place: opt_text(&f["where"]),
            topics,
            sources,
            generated: true,
        });
        if facts.len() >= MAX_FACTS {
            break;
        }
    }
    Ok(Draft { summary, facts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_and_sources_kept_in_range() {
        let d = parse(
            r#"{"summary": "They talked.", "facts": [{"text": "Ann has a dog", "who": "Ann", "sources": [2, 9, 2]}, "Bob runs", {"text": ""}]}"#,
            3,
            10_000,
        )
        .unwrap();
        assert_eq!(d.summary, "They talked.");
        assert_eq!(d.facts.len(), 2);
        assert_eq!(d.facts[0].sources, vec![1]);
        assert_eq!(d.facts[1].text, "Bob runs");
        assert_eq!(parse(r#"{"facts": []}"#, 1, 100).unwrap_err().code(), crate::ErrorCode::InvalidOutput);
        assert_eq!(parse("[1]", 1, 100).unwrap_err().code(), crate::ErrorCode::InvalidOutput);
    }
}
