//! The summary and facts consolidation writes without a generator: chosen sentences of the
//! turns themselves, never invented text. A summary is the date and speakers of the
//! conversation and its most informative turns (most distinct content words, at most three,
//! in order); facts are first-person statements ("I adopted a puppy", "my sister lives in
//! Lisbon"), attributed to their speaker.

use std::collections::BTreeSet;

use super::draft::{Draft, FactDraft};
use crate::memory::Memory;
use crate::text;

/// Turns quoted in an extractive summary.
const SUMMARY_TURNS: usize = 3;
/// Facts taken from one conversation at most.
const MAX_FACTS: usize = 8;

/// The first sentence of `text` (up to 240 characters).
fn first_sentence(text: &str) -> &str {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|(i, c)| matches!(c, '.' | '!' | '?') && t[i + c.len_utf8()..].starts_with(char::is_whitespace))
        .map_or(t.len(), |(i, c)| i + c.len_utf8());
    let mut s = &t[..end];
    if s.len() > 240 {
        let mut cut = 240;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s = &s[..cut];
    }
    s
}

fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(['.', '!', '?', '\n']).map(str::trim).filter(|s| !s.is_empty())
}

fn speaker(m: &Memory) -> &str {
    m.context.speaker.as_deref().unwrap_or("someone")
}

/// A first-person statement worth keeping as a fact.
fn is_fact(sentence: &str) -> bool {
    let words: Vec<String> = text::words(sentence).collect();
    if words.len() < 4 || words.len() > 40 || sentence.ends_with('?') {
        return false;
    }
    let first_person =
        words.iter().any(|w| matches!(w.as_str(), "i" | "my" | "we" | "our" | "i'm" | "i've" | "me"));
    first_person && text::content_words(sentence).len() >= 2
}

/// The extractive summary and facts of a conversation's turns (in time order).
pub(super) fn draft(turns: &[Memory]) -> Draft {
    let date = turns.first().map(|m| m.context.occurred_at.date().to_string()).unwrap_or_default();
    let speakers: BTreeSet<&str> = turns.iter().map(speaker).collect();
    let mut scored: Vec<(usize, usize)> = turns
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (text::content_words(first_sentence(&m.text)).into_iter().collect::<BTreeSet<_>>().len(), i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = scored.iter().take(SUMMARY_TURNS).map(|s| s.1).collect();
    chosen.sort_unstable();
    let quoted: Vec<String> = chosen
        .iter()
        .map(|&i| format!("{}: \"{}\"", speaker(&turns[i]), first_sentence(&turns[i].text)))
        .collect();
    let who = speakers.into_iter().collect::<Vec<_>>().join(", ");
    let summary = format!("Conversation of {} turns on {date} ({who}). {}", turns.len(), quoted.join(" "));
    let mut facts = Vec::new();
    'turns: for (i, m) in turns.iter().enumerate() {
        for s in sentences(&m.text) {
            if facts.len() >= MAX_FACTS {
                break 'turns;
            }
            if is_fact(s) {
                facts.push(FactDraft {
                    text: format!("{} said: {s}", speaker(m)),
                    who: Some(speaker(m).to_owned()),
                    when: None,
                    place: m.context.place.clone(),
                    topics: text::content_words(s).into_iter().take(5).collect(),
                    sources: vec![i],
                    generated: false,
                });
            }
        }
    }
    Draft { summary, facts }
}
