//! Small text utilities shared by the hashing embedder and keyword search.

/// English function words that carry no topic: dropped from hashing features and keyword
/// queries (never from stored text), so "what is the name of her dog" matches on "name", "dog".
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because",
    "been", "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
    "during", "each", "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
    "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "s", "same", "she", "should", "so", "some", "such", "t", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
];

/// Month names, lowercased, January first.
pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Weekday names, lowercased, Monday first.
pub(crate) const WEEKDAYS: [&str; 7] =
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// True for an English function word (input must be lowercase).
pub(crate) fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Lowercased runs of alphanumeric characters, split the way SQLite FTS5's `unicode61`
/// tokenizer splits (apostrophes separate tokens).
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_words(text).map(str::to_lowercase)
}

/// The runs of alphanumeric characters of `text`, case kept: [`words`] before lowercasing
/// (for callers that lowercase without allocating when they can).
pub(crate) fn raw_words(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// The lowercased [`words`] of `text` joined by single spaces, with a space before and
/// after: a phrase of words occurs in the text when `" phrase words "` occurs in the line.
pub(crate) fn word_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len() + 2);
    line.push(' ');
    for w in words(text) {
        line.push_str(&w);
        line.push(' ');
    }
    line
}

/// `words` without stopwords, unless that would leave nothing.
pub(crate) fn content_words(text: &str) -> Vec<String> {
    let all: Vec<String> = words(text).collect();
    let content: Vec<String> = all.iter().filter(|w| !is_stopword(w)).cloned().collect();
    if content.is_empty() {
        all
    } else {
        content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_sorted_and_content_words() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]), "STOPWORDS must stay sorted");
        assert_eq!(content_words("What is the name of Maya's dog?"), vec!["name", "maya", "dog"]);
        assert_eq!(content_words("who is it"), vec!["who", "is", "it"]);
    }
}
