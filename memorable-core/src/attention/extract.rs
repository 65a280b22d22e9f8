//! Deterministic who / what / where extraction from memories, in this order of rules:
//!
//! - **who**: a memory's speaker; every known speaker of the user and every configured
//!   person its text mentions (whole words, case-insensitive); and capitalized name spans
//!   (one or more capitalized words, not a function word, month or weekday; a sentence's
//!   first word only when it is a known name) that are not places.
//! - **where**: a memory's `place`; configured places its text mentions; capitalized spans
//!   right after "in", "at" or "near".
//! - **what**: a memory's topics, then its content words (stopwords, names, places,
//!   numbers and words shorter than 3 letters dropped; case-folded).
//!
//! Each name counts once per memory. Lists are sorted by count (descending), then name.

use std::collections::{BTreeMap, BTreeSet};

use super::frame::Mention;
use crate::config::AttentionConfig;
use crate::memory::Memory;
use crate::text;

pub(crate) struct Summary {
    pub who: Vec<Mention>,
    pub what: Vec<Mention>,
    pub places: Vec<Mention>,
}

/// Capitalized words that name a day, not a person.
fn is_calendar_word(lower: &str) -> bool {
    text::MONTHS.contains(&lower)
        || text::WEEKDAYS.contains(&lower)
        || ["today", "tomorrow", "yesterday"].contains(&lower)
}

/// Words that open a place name: "in Lisbon", "at Café Roma", "near Central Park".
const PLACE_CUES: &[&str] = &["in", "at", "near"];
/// Capitalized words that are not names (greetings, interjections, pronoun "I").
const NOT_NAMES: &[&str] =
    &["hey", "hi", "hello", "thanks", "thank", "wow", "yes", "yeah", "oh", "ok", "okay", "i", "im"];

fn is_name_word(w: &str) -> bool {
    let mut chars = w.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    let lower = w.to_lowercase();
    first_upper
        && w.chars().count() > 1
        && !text::is_stopword(&lower)
        && !is_calendar_word(&lower)
        && !NOT_NAMES.contains(&lower.as_str())
}

/// Capitalized spans of `text`: (span, word before it lowercased, starts a sentence).
fn spans(text: &str) -> Vec<(String, Option<String>, bool)> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut before: Option<String> = None;
    let mut sentence_start = true;
    let mut cur_starts = false;
    let mut prev_word: Option<String> = None;
    for piece in text.split_whitespace() {
        let word = piece.trim_matches(|c: char| !c.is_alphanumeric());
        let word = word.split(['\'', '’']).next().unwrap_or(word);
        if !word.is_empty() && is_name_word(word) {
            if cur.is_empty() {
                before = prev_word.clone();
                cur_starts = sentence_start;
            }
            cur.push(word);
        } else if !cur.is_empty() {
            out.push((cur.join(" "), before.take(), cur_starts));
            cur.clear();
        }
        // A span ends at punctuation after the word, too.
        let ends = piece.ends_with([',', '.', '!', '?', ';', ':']);
        if ends && !cur.is_empty() {
            out.push((cur.join(" "), before.take(), cur_starts));
            cur.clear();
        }
        sentence_start = piece.ends_with(['.', '!', '?']);
        if !word.is_empty() {
            prev_word = Some(word.to_lowercase());
        }
    }
    if !cur.is_empty() {
        out.push((cur.join(" "), before, cur_starts));
    }
    out
}

fn mentions(words: &[String], name: &str) -> bool {
    let parts: Vec<String> = text::words(name).collect();
    !parts.is_empty() && words.windows(parts.len()).any(|w| w == parts.as_slice())
}

fn top(counts: BTreeMap<String, u32>, k: usize) -> Vec<Mention> {
    let mut v: Vec<Mention> = counts.into_iter().map(|(name, count)| Mention { name, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v.truncate(k);
    v
}

pub(crate) fn summarize(memories: &[Memory], known: &[String], cfg: &AttentionConfig, k: usize) -> Summary {
    let mut who: BTreeMap<String, u32> = BTreeMap::new();
    let mut what: BTreeMap<String, u32> = BTreeMap::new();
    let mut places: BTreeMap<String, u32> = BTreeMap::new();
    let people: Vec<&String> = known.iter().chain(&cfg.people).collect();
    for m in memories {
        let words: Vec<String> = text::words(&m.text).collect();
        let mut m_who: BTreeSet<String> = BTreeSet::new();
        let mut m_places: BTreeSet<String> = BTreeSet::new();
        if let Some(s) = &m.context.speaker {
            m_who.insert(s.clone());
        }
        for p in &people {
            if mentions(&words, p) {
                m_who.insert((*p).clone());
            }
        }
        if let Some(p) = &m.context.place {
            m_places.insert(p.clone());
        }
        for p in &cfg.places {
            if mentions(&words, p) {
                m_places.insert(p.clone());
            }
        }
        for (span, before, starts) in spans(&m.text) {
            let known_name = people.iter().any(|p| p.eq_ignore_ascii_case(&span));
            // A sentence's first word is capitalized anyway: "Ask Priya" names only Priya.
            let (span, starts) = match span.split_once(' ') {
                Some((first, rest))
                    if starts && !known_name && !people.iter().any(|p| p.eq_ignore_ascii_case(first)) =>
                {
                    (rest.to_owned(), false)
                }
                _ => (span, starts),
            };
            let known_name = known_name || people.iter().any(|p| p.eq_ignore_ascii_case(&span));
            if before.as_deref().is_some_and(|b| PLACE_CUES.contains(&b)) && !known_name {
                m_places.insert(span);
            } else if (!starts || known_name)
                && !m_places.iter().any(|p| p.eq_ignore_ascii_case(&span))
                && !m_who.iter().any(|p| p.eq_ignore_ascii_case(&span))
            {
                m_who.insert(span);
            }
        }
        let named: BTreeSet<String> =
            m_who.iter().chain(&m_places).flat_map(|n| text::words(n).collect::<Vec<_>>()).collect();
        let mut m_what: BTreeSet<String> = m.context.topics.iter().map(|t| t.to_lowercase()).collect();
        for w in &words {
            if w.chars().count() >= 3
                && !text::is_stopword(w)
                && !named.contains(w)
                && !is_calendar_word(w)
                && !w.chars().all(|c| c.is_ascii_digit())
            {
                m_what.insert(w.clone());
            }
        }
        for n in m_who {
            *who.entry(n).or_default() += 1;
        }
        for n in m_places {
            *places.entry(n).or_default() += 1;
        }
        for n in m_what {
            *what.entry(n).or_default() += 1;
        }
    }
    Summary { who: top(who, k), what: top(what, k), places: top(places, k) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitalized_spans() {
        let s = spans("Hey Mel! I met Jean Luc at Café Roma in Lisbon. Tomorrow we fly.");
        let names: Vec<&str> = s.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, vec!["Mel", "Jean Luc", "Café Roma", "Lisbon"]);
        assert_eq!(s[2].1.as_deref(), Some("at"));
    }
}
