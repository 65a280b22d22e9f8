//! Stop sequences over streamed text: the answer ends where a stop sequence begins, and text
//! that might be the start of one is held back from the stream until it is decided.

/// Watches generated text for stop sequences and hands out what is safe to stream.
#[derive(Debug, Default)]
pub(crate) struct StopWatcher {
    stops: Vec<String>,
    text: String,
    /// Bytes of `text` already streamed.
    sent: usize,
    stopped: bool,
}

impl StopWatcher {
    pub fn new(stops: &[String]) -> StopWatcher {
        StopWatcher { stops: stops.to_vec(), ..Default::default() }
    }

    /// Add generated text; returns what may be streamed now, and whether a stop sequence was
    /// produced (the text is then cut before it, and nothing more may be added).
    pub fn push(&mut self, piece: &str) -> (&str, bool) {
        if self.stopped {
            return ("", true);
        }
        let from = self.sent;
        self.text.push_str(piece);
        // A stop may begin in text already held back: search from the earliest byte a stop
        // could start at.
        let longest = self.stops.iter().map(String::len).max().unwrap_or(0);
        let search_from = floor_char(&self.text, from.saturating_sub(longest));
        let found = self
            .stops
            .iter()
            .filter_map(|s| self.text[search_from..].find(s.as_str()).map(|i| search_from + i))
            .min();
        if let Some(at) = found {
            self.text.truncate(at);
            self.stopped = true;
            // Held-back text is never past a stop's start, so `at >= from` (else nothing).
            let start = from.min(at);
            self.sent = at;
            return (&self.text[start..at], true);
        }
        // Hold back the longest tail that is a prefix of some stop sequence.
        let mut hold = 0;
        for s in &self.stops {
            for k in (1..s.len().min(self.text.len() - from) + 1).rev() {
                if self.text.ends_with(&s[..k]) && s.is_char_boundary(k) {
                    hold = hold.max(k);
                    break;
                }
            }
        }
        let upto = floor_char(&self.text, self.text.len() - hold);
        self.sent = upto.max(from);
        (&self.text[from..self.sent], false)
    }

    /// The held-back tail, once generation ended without a stop.
    pub fn flush(&mut self) -> &str {
        let from = self.sent;
        self.sent = self.text.len();
        &self.text[from..]
    }

    /// The whole answer so far (cut at a stop sequence when one was produced).
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(stops: &[&str], pieces: &[&str]) -> (String, String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut w = StopWatcher::new(&stops);
        let mut streamed = String::new();
        let mut stopped = false;
        for p in pieces {
            let (out, s) = w.push(p);
            streamed.push_str(out);
            stopped = s;
            if s {
                break;
            }
        }
        if !stopped {
            streamed.push_str(w.flush());
        }
        (streamed, w.text().to_owned(), stopped)
    }

    #[test]
    fn stops_cut_the_answer_and_never_reach_the_stream() {
        assert_eq!(
            stream(&["END"], &["hello E", "N", "D and more"]),
            ("hello ".into(), "hello ".into(), true)
        );
        assert_eq!(stream(&["\n\n"], &["a\n", "b"]), ("a\nb".into(), "a\nb".into(), false));
        assert_eq!(stream(&["xyz"], &["abc"]), ("abc".into(), "abc".into(), false));
        assert_eq!(stream(&[], &["é", "ü"]), ("éü".into(), "éü".into(), false));
        assert_eq!(stream(&["ab"], &["xa", "a", "b"]), ("xa".into(), "xa".into(), true));
    }
}
