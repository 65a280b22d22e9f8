//! Query analysis: what a recall's text says beyond its words. Deterministic, no model.
//!
//! - **Keyword terms** for BM25: content words (question words and other stopwords
//!   stripped; the keyword index stems both sides), minus the names of people the
//!   query is about (those are matched through who-matching instead, since a person's own
//!   turns rarely contain their name while turns addressed to them do), and minus the words
//!   of the dates it names (matched through date grounding instead).
//! - **People**: known speakers of the user's memories named in the query (case-insensitive
//!   whole words, possessives included), and other capitalized names (not first word).
//! - **Subject**: the speaker the query is about: the only one it names, or the first of
//!   two unless "and" / "or" joins them ("What did Jon tell Gina?" is about Jon; "What do
//!   Jon and Gina like?" about both).
//! - **First-person variant**: when the query has a subject, the same question phrased as
//!   that person would say it, the other person of a two-person question as "you" ("What
//!   did Caroline research?" → "What did I research?"; "What does Melanie think about
//!   Caroline's decision?" → "What does I think about your decision?"); the semantic score
//!   takes the better of both phrasings.
//! - **Dates** named in the query ("8 May 2023", "May 8, 2023", "June 2023", "2022"): the
//!   spans they cover, for date grounding against `occurred_at`.
//! - **Asks when**: the query asks for a time ("When did ...", "what year ...", "how long
//!   ago ..."), so the memory that answers it likely says when ("last week", "yesterday",
//!   "in March"): the expected answer type of classic question answering.

use time::{Date, Month, PrimitiveDateTime, Time};

use crate::text;
use crate::time::to_ms;

/// What the ranking needs to know about a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueryAnalysis {
    /// Lowercased content words for BM25 (never empty unless the query has no words).
    pub keyword_terms: Vec<String>,
    /// Known speakers the query names (as stored), in the order it names them.
    pub speakers: Vec<String>,
    /// The speaker the query is about: the only one it names, or the first of several
    /// unless they are joined ("Jon and Gina"); None when it names none or a joined pair.
    pub subject: Option<String>,
    /// Other capitalized names in the query, lowercased.
    pub names: Vec<String>,
    /// The query phrased in the first person of the one speaker it is about.
    pub first_person: Option<String>,
    /// Every person the query names (speakers and other names) as a
    /// [`text::word_line`]: what who-matching looks for in a memory's word line.
    pub mentions: Vec<String>,
    /// `[start, end)` unix-millisecond spans of the dates the query names.
    pub dates: Vec<(i64, i64)>,
    /// The query asks for a time ("When did ...", "What year ...", "How long ago ...").
    pub asks_when: bool,
}

/// Words after "when" that make it a question about time ("when did", "when is"), not a
/// clause ("what did she do when she ...").
const WHEN_AUXILIARIES: [&str; 15] = [
    "did", "does", "do", "is", "was", "were", "are", "will", "would", "has", "have", "had", "can", "could",
    "should",
];

/// Whether the lowercased words of a query ask for a time.
fn asks_when(words: &[String]) -> bool {
    let at = |i: usize| words.get(i).map_or("", String::as_str);
    if at(0) == "when" {
        return true;
    }
    (0..words.len()).any(|i| match at(i) {
        "when" => WHEN_AUXILIARIES.contains(&at(i + 1)),
        "what" | "which" => matches!(at(i + 1), "year" | "month" | "date" | "day" | "time"),
        "how" => at(i + 1) == "long" && at(i + 2) == "ago",
        _ => false,
    })
}

/// Words that say when something happened relative to when it was said, as whole
/// lowercased words (named days and months count too: see [`says_when`]).
const RELATIVE_TIME_WORDS: [&str; 17] = [
    "yesterday",
    "today",
    "tonight",
    "tomorrow",
    "ago",
    "last",
    "next",
    "since",
    "recently",
    "week",
    "weeks",
    "weekend",
    "weekends",
    "month",
    "months",
    "year",
    "years",
];

/// Whether a memory's word line ([`text::word_line`]) says when something happened: a
/// relative time word, a weekday, or a month ("may" only as a month would be too often the
/// verb).
pub(crate) fn says_when(word_line: &str) -> bool {
    word_line.split(' ').any(|w| {
        RELATIVE_TIME_WORDS.contains(&w)
            || text::WEEKDAYS.contains(&w)
            || (w != "may" && text::MONTHS.contains(&w))
    })
}

/// Words with their byte spans, case kept.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// Analyse `query` against the user's known speakers.
pub(crate) fn analyze(query: &str, known_speakers: &[String]) -> QueryAnalysis {
    let toks = tokens(query);
    let lower: Vec<String> = toks.iter().map(|(_, w)| w.to_lowercase()).collect();
    // Known speakers named, in the order the query names them: (token span, speaker).
    let mut named: Vec<(usize, usize, String)> = Vec::new();
    for s in known_speakers {
        let parts: Vec<String> = text::words(s).collect();
        if parts.is_empty() || named.iter().any(|(_, _, n)| n == s) {
            continue;
        }
        if let Some(at) = lower.windows(parts.len()).position(|w| w == parts.as_slice()) {
            named.push((at, at + parts.len(), s.clone()));
        }
    }
    named.sort_by_key(|(at, _, _)| *at);
    let subject = match named.as_slice() {
        [] => None,
        [(_, _, one)] => Some(one.clone()),
        // "Jon and Gina": both are the subject; "What did Jon tell Gina": Jon is.
        [(_, end, first), (at, _, _), ..] => {
            let between = &lower[*end..*at];
            let joined = between.is_empty() || matches!(between, [w] if w == "and" || w == "or");
            (!joined).then(|| first.clone())
        }
    };
    let speakers: Vec<String> = named.iter().map(|(_, _, s)| s.clone()).collect();
    let speaker_words: Vec<String> = speakers.iter().flat_map(|s| text::words(s)).collect();
    let mut names = Vec::new();
    for (i, (_, w)) in toks.iter().enumerate() {
        let capitalized = w.chars().next().is_some_and(char::is_uppercase) && w.chars().count() > 1;
        let l = &lower[i];
        if i > 0
            && capitalized
            && !text::is_stopword(l)
            && month(l).is_none()
            && !speaker_words.contains(l)
            && !names.contains(l)
        {
            names.push(l.clone());
        }
    }
    let (dates, date_words) = dates(&lower);
    let mut keyword_terms: Vec<String> = Vec::new();
    for w in text::content_words(query) {
        if !speaker_words.contains(&w) && !date_words.contains(&w) && !keyword_terms.contains(&w) {
            keyword_terms.push(w);
        }
    }
    if keyword_terms.is_empty() {
        keyword_terms = text::content_words(query);
        keyword_terms.dedup();
    }
    let first_person = match (speakers.as_slice(), &subject) {
        ([one], _) => first_person(query, &toks, one, None),
        ([a, b], Some(_)) => first_person(query, &toks, a, Some(b)),
        _ => None,
    };
    let mentions: Vec<String> =
        speakers.iter().chain(&names).map(|n| text::word_line(n)).filter(|l| l.len() > 1).collect();
    let asks_when = asks_when(&lower);
    QueryAnalysis { keyword_terms, speakers, subject, names, first_person, mentions, dates, asks_when }
}

/// The query with `speaker` and third-person pronouns turned into the first person, and
/// `addressee` (the other person of a two-person question) into the second.
fn first_person(
    query: &str,
    toks: &[(usize, &str)],
    speaker: &str,
    addressee: Option<&str>,
) -> Option<String> {
    let name: Vec<String> = text::words(speaker).collect();
    let other: Vec<String> = addressee.map(|a| text::words(a).collect()).unwrap_or_default();
    let matches = |i: usize, name: &[String]| {
        !name.is_empty()
            && i + name.len() <= toks.len()
            && toks[i..i + name.len()].iter().zip(name).all(|((_, t), n)| t.to_lowercase() == *n)
    };
    // "Caroline's" (the name, an apostrophe, then "s").
    let possessive = |i: usize, name: &[String]| {
        toks.get(i + name.len())
            .is_some_and(|(p, t)| t.eq_ignore_ascii_case("s") && query[..*p].ends_with(['\'', '’']))
    };
    let mut out = String::with_capacity(query.len());
    let mut last = 0;
    let mut i = 0;
    let mut changed = false;
    while i < toks.len() {
        let (pos, w) = toks[i];
        let l = w.to_lowercase();
        let (replacement, consumed) = if matches(i, &name) {
            // "Caroline's" → "my"; "Caroline" → "I" ("me" after a preposition-like word is
            // not worth the guess: embeddings barely tell them apart).
            if possessive(i, &name) {
                ("my", name.len() + 1)
            } else {
                ("I", name.len())
            }
        } else if matches(i, &other) {
            if possessive(i, &other) {
                ("your", other.len() + 1)
            } else {
                ("you", other.len())
            }
        } else {
            match l.as_str() {
                "she" | "he" => ("I", 1),
                "her" | "his" => ("my", 1),
                "him" => ("me", 1),
                "hers" => ("mine", 1),
                "herself" | "himself" => ("myself", 1),
                _ => ("", 0),
            }
        };
        if consumed == 0 {
            i += 1;
            continue;
        }
        let end_tok = &toks[i + consumed - 1];
        out.push_str(&query[last..pos]);
        out.push_str(replacement);
        last = end_tok.0 + end_tok.1.len();
        i += consumed;
        changed = true;
    }
    out.push_str(&query[last..]);
    changed.then_some(out)
}

fn month(w: &str) -> Option<Month> {
    let m = match w {
        "january" | "jan" => Month::January,
        "february" | "feb" => Month::February,
        "march" | "mar" => Month::March,
        "april" | "apr" => Month::April,
        "may" => Month::May,
        "june" | "jun" => Month::June,
        "july" | "jul" => Month::July,
        "august" | "aug" => Month::August,
        "september" | "sep" | "sept" => Month::September,
        "october" | "oct" => Month::October,
        "november" | "nov" => Month::November,
        "december" | "dec" => Month::December,
        _ => return None,
    };
    Some(m)
}

fn year(w: &str) -> Option<i32> {
    let y: i32 = w.parse().ok()?;
    (w.len() == 4 && (1900..=2199).contains(&y)).then_some(y)
}

fn day(w: &str) -> Option<u8> {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix_ok = matches!(&w[digits.len()..], "" | "st" | "nd" | "rd" | "th");
    let d: u8 = digits.parse().ok()?;
    (suffix_ok && (1..=31).contains(&d) && digits.len() <= 2).then_some(d)
}

fn ms(date: Date) -> i64 {
    to_ms(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
}

/// Spans of the dates named in lowercased words: a day (±1 day, for time zones and
/// "that night"), a month, or a year. A month without a year matches no span (it would
/// need a reference year); a bare number is a year only when it has four digits. Also
/// returns the words that named them: they stay out of the keyword terms, since a memory
/// rarely spells out its own date (its `occurred_at` carries it) and "25" or "2022" would
/// only match unrelated numbers.
fn dates(words: &[String]) -> (Vec<(i64, i64)>, Vec<String>) {
    let mut spans = Vec::new();
    let mut used = vec![false; words.len()];
    for i in 0..words.len() {
        let Some(m) = month(&words[i]) else { continue };
        // "may" is also a verb: only a month next to a day or a year.
        let before_day = i.checked_sub(1).and_then(|j| day(&words[j]).map(|d| (j, d)));
        let after_day = words.get(i + 1).and_then(|w| day(w)).map(|d| (i + 1, d));
        let day_at = before_day.or(after_day);
        let year_at = (i + 1..(i + 3).min(words.len())).find_map(|j| year(&words[j]).map(|y| (j, y)));
        let Some((yj, y)) = year_at else { continue };
        used[yj] = true;
        used[i] = true;
        match day_at.and_then(|(j, d)| Date::from_calendar_date(y, m, d).ok().map(|dt| (j, dt))) {
            Some((j, date)) => {
                used[j] = true;
                let start = ms(date) - 86_400_000;
                spans.push((start, start + 3 * 86_400_000));
            }
            None => {
                let Ok(first) = Date::from_calendar_date(y, m, 1) else { continue };
                let next = if m == Month::December {
                    Date::from_calendar_date(y + 1, Month::January, 1)
                } else {
                    Date::from_calendar_date(y, m.next(), 1)
                };
                if let Ok(next) = next {
                    spans.push((ms(first), ms(next)));
                }
            }
        }
    }
    for (i, w) in words.iter().enumerate() {
        if used[i] {
            continue;
        }
        if let Some(y) = year(w) {
            if let (Ok(a), Ok(b)) = (
                Date::from_calendar_date(y, Month::January, 1),
                Date::from_calendar_date(y + 1, Month::January, 1),
            ) {
                used[i] = true;
                spans.push((ms(a), ms(b)));
            }
        }
    }
    let used_words = words.iter().zip(&used).filter(|(_, u)| **u).map(|(w, _)| w.clone()).collect();
    (spans, used_words)
}

/// True when `at` falls in one of `spans`.
pub(crate) fn in_spans(at: i64, spans: &[(i64, i64)]) -> bool {
    spans.iter().any(|&(a, b)| a <= at && at < b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn known() -> Vec<String> {
        vec!["Caroline".into(), "Melanie".into(), "Jean Luc".into()]
    }

    #[test]
    fn names_terms_and_first_person() {
        let a = analyze("What did Caroline research about adoption?", &known());
        assert_eq!(a.speakers, vec!["Caroline".to_string()]);
        assert_eq!(a.keyword_terms, vec!["research", "adoption"]);
        assert_eq!(a.first_person.as_deref(), Some("What did I research about adoption?"));
        let a = analyze("What is Caroline's identity and how does she feel?", &known());
        assert_eq!(a.first_person.as_deref(), Some("What is my identity and how does I feel?"));
        let a = analyze("Did Melanie and Caroline meet Bob in Paris?", &known());
        assert_eq!(a.speakers.len(), 2);
        assert_eq!(a.subject, None, "a joined pair is not one subject");
        assert!(a.first_person.is_none());
        assert_eq!(a.names, vec!["bob", "paris"]);
        // The words of a named date are matched through date grounding, not BM25.
        let a = analyze("What gift did Melanie get on 25 May, 2022 for the may fair?", &known());
        assert_eq!(a.keyword_terms, vec!["gift", "get", "fair"]);
        assert_eq!(a.dates.len(), 1);
        let a = analyze("where does jean luc live", &known());
        assert_eq!(a.speakers, vec!["Jean Luc".to_string()]);
        assert_eq!(a.first_person.as_deref(), Some("where does I live"));
    }

    #[test]
    fn the_first_of_two_people_is_the_subject_and_the_other_is_addressed() {
        // Speakers are listed in the query's order, whatever the order of `known`.
        let a = analyze("What does Melanie think about Caroline's decision to adopt?", &known());
        assert_eq!(a.speakers, vec!["Melanie".to_string(), "Caroline".to_string()]);
        assert_eq!(a.subject.as_deref(), Some("Melanie"));
        assert_eq!(a.first_person.as_deref(), Some("What does I think about your decision to adopt?"));
        let a = analyze("What book did Caroline recommend to Melanie?", &known());
        assert_eq!(a.subject.as_deref(), Some("Caroline"));
        assert_eq!(a.first_person.as_deref(), Some("What book did I recommend to you?"));
        let a = analyze("What do Caroline or Melanie like?", &known());
        assert_eq!(a.subject, None);
        assert_eq!(analyze("Where does Melanie live?", &known()).subject.as_deref(), Some("Melanie"));
        assert_eq!(analyze("Where does Bob live?", &known()).subject, None);
    }

    #[test]
    fn questions_about_time_and_memories_that_say_when() {
        let asks = |q: &str| analyze(q, &known()).asks_when;
        assert!(asks("When did Caroline go to the support group?"));
        assert!(asks("In what year did Melanie start painting?"));
        assert!(asks("How long ago was Caroline's 18th birthday?"));
        assert!(asks("So when is the party?"));
        assert!(!asks("What did Melanie do when she was sad?"));
        assert!(!asks("What does Caroline like?"));
        assert!(says_when(&text::word_line("I went to a support group yesterday.")));
        assert!(says_when(&text::word_line("Back in March we moved")));
        assert!(!says_when(&text::word_line("You may go, it was great")));
    }

    #[test]
    fn dates_are_grounded() {
        let day = |w: &str| dates(&text::words(w).collect::<Vec<_>>()).0;
        let may8 = to_ms(datetime!(2023-05-08 13:56 UTC));
        let spans = day("What did Melanie do on 8 May, 2023?");
        assert_eq!(spans.len(), 1);
        assert!(in_spans(may8, &spans));
        assert!(!in_spans(to_ms(datetime!(2023-05-11 00:00 UTC)), &spans));
        assert!(in_spans(may8, &day("on May 8th 2023")));
        let june = day("in June 2023");
        assert!(in_spans(to_ms(datetime!(2023-06-30 23:59 UTC)), &june));
        assert!(!in_spans(to_ms(datetime!(2023-07-01 00:00 UTC)), &june));
        assert!(in_spans(may8, &day("back in 2023")));
        assert!(day("you may go").is_empty());
        assert!(day("in May").is_empty());
    }
}
