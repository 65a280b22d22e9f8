//! A byte-level recognizer of one JSON object, for constrained decoding: the local
//! generator asks it which candidate tokens keep the answer a prefix of valid JSON, so JSON
//! mode gets syntactically valid JSON from a model as small as SmolLM2-135M (the servers get
//! the same from their own JSON format options, which also ask for an object: OpenAI's
//! `json_object`, Ollama's `format: "json"`). A pushdown automaton over bytes, as
//! llama.cpp's JSON grammar: cloning it is cheap (a short stack), so a candidate is tried on
//! a clone.

/// Longest run of whitespace accepted outside strings: keeps a model from padding forever.
const MAX_BLANKS: u8 = 12;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the top-level value: only `{`.
    Start,
    /// A value is expected (after `:`, `,` in an array, or `[`; `]` closes when `empty`).
    Value { empty_array: bool },
    /// After `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value inside an object or array: `,` or the closing bracket.
    AfterValue,
    /// In a string; `key` when it is an object's key.
    Str { key: bool, escape: u8 },
    /// In a number.
    Number(Num),
    /// In `true`, `false` or `null`: the literal and how many bytes were read.
    Literal(&'static [u8], u8),
    /// The top-level value is complete; only whitespace may follow.
    Done,
}

/// Where a JSON answer stands after the bytes fed so far.
#[derive(Debug, Clone)]
pub struct JsonGuard {
    stack: Vec<Frame>,
    state: State,
    blanks: u8,
}

impl Default for JsonGuard {
    fn default() -> Self {
        JsonGuard::new()
    }
}

impl JsonGuard {
    pub fn new() -> JsonGuard {
        JsonGuard { stack: Vec::new(), state: State::Start, blanks: 0 }
    }

    /// Whether the top-level value is complete.
    pub fn complete(&self) -> bool {
        self.state == State::Done
    }

    /// Feed `bytes`; false (and the guard left in an unspecified state) when they cannot
    /// continue valid JSON. Try candidates on a clone.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        bytes.iter().all(|&b| self.byte(b))
    }

    /// Whether `bytes` would keep the answer valid (the guard unchanged).
    pub fn accepts(&self, bytes: &[u8]) -> bool {
        !bytes.is_empty() && self.clone().feed(bytes)
    }

    fn blank(&mut self, b: u8) -> Option<bool> {
        if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            self.blanks += 1;
            return Some(self.blanks <= MAX_BLANKS);
        }
        self.blanks = 0;
        None
    }

    /// A value ended: back to its container, or done.
    fn value_done(&mut self) {
        self.state = if self.stack.is_empty() { State::Done } else { State::AfterValue };
    }

    fn open(&mut self, frame: Frame) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            return false;
        }
        self.stack.push(frame);
        self.state = match frame {
            Frame::Object => State::KeyOrEnd,
            Frame::Array => State::Value { empty_array: true },
        };
        true
    }

    fn close(&mut self, frame: Frame) -> bool {
        if self.stack.pop() != Some(frame) {
            return false;
        }
        self.value_done();
        true
    }

    fn byte(&mut self, b: u8) -> bool {
        match self.state {
            State::Str { key, escape } => return self.string_byte(b, key, escape),
            State::Number(n) => {
                if let Some(next) = number_step(n, b) {
                    self.state = State::Number(next);
                    return true;
                }
                if !matches!(n, Num::Zero | Num::Int | Num::Frac | Num::ExpDigits) {
                    return false;
                }
                // The byte ends the number and continues its container.
                self.value_done();
                return self.byte(b);
            }
            State::Literal(word, read) => {
                if word.get(read as usize) != Some(&b) {
                    return false;
                }
                if read as usize + 1 == word.len() {
                    self.value_done();
                } else {
                    self.state = State::Literal(word, read + 1);
                }
                return true;
            }
            _ => {}
        }
        if let Some(ok) = self.blank(b) {
            return ok;
        }
        match (self.state, b) {
            (State::Start, b'{') => self.open(Frame::Object),
            (State::Value { empty_array: true }, b']') => self.close(Frame::Array),
            (State::Value { .. }, _) => self.value_start(b),
            (State::KeyOrEnd, b'}') => self.close(Frame::Object),
            (State::KeyOrEnd | State::Key, b'"') => {
                self.state = State::Str { key: true, escape: 0 };
                true
            }
            (State::Colon, b':') => {
                self.state = State::Value { empty_array: false };
                true
            }
            (State::AfterValue, b',') => {
                self.state = match self.stack.last() {
                    Some(Frame::Object) => State::Key,
                    _ => State::Value { empty_array: false },
                };
                true
            }
            (State::AfterValue, b'}') => self.close(Frame::Object),
            (State::AfterValue, b']') => self.close(Frame::Array),
            _ => false,
        }
    }

    fn value_start(&mut self, b: u8) -> bool {
        self.state = match b {
            b'{' => return self.open(Frame::Object),
            b'[' => return self.open(Frame::Array),
            b'"' => State::Str { key: false, escape: 0 },
            b'-' => State::Number(Num::Minus),
            b'0' => State::Number(Num::Zero),
            b'1'..=b'9' => State::Number(Num::Int),
            b't' => State::Literal(b"true", 1),
            b'f' => State::Literal(b"false", 1),
            b'n' => State::Literal(b"null", 1),
            _ => return false,
        };
        true
    }

    /// `escape`: 0 outside an escape, 1 after `\`, 2..=5 hex digits of `\u` still to read
    /// (5 = four to go).
    fn string_byte(&mut self, b: u8, key: bool, escape: u8) -> bool {
        let next = match (escape, b) {
            (0, b'"') => {
                if key {
                    self.state = State::Colon;
                } else {
                    self.value_done();
                }
                return true;
            }
            (0, b'\\') => 1,
            (0, c) if c < 0x20 => return false,
            (0, _) => 0,
            (1, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 0,
            (1, b'u') => 5,
            (2..=5, c) if c.is_ascii_hexdigit() => {
                if escape == 2 {
                    0
                } else {
                    escape - 1
                }
            }
            _ => return false,
        };
        self.state = State::Str { key, escape: next };
        true
    }
}

fn number_step(n: Num, b: u8) -> Option<Num> {
    Some(match (n, b) {
        (Num::Minus, b'0') => Num::Zero,
        (Num::Minus, b'1'..=b'9') => Num::Int,
        (Num::Int, b'0'..=b'9') => Num::Int,
        (Num::Zero | Num::Int, b'.') => Num::Dot,
        (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
        (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
        (Num::Exp, b'+' | b'-') => Num::ExpSign,
        (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(s: &str) -> bool {
        let mut g = JsonGuard::new();
        g.feed(s.as_bytes()) && g.complete()
    }

    #[test]
    fn accepts_what_serde_accepts() {
        for s in [
            r#"{}"#,
            r#"{"a": 1, "b": [true, false, null], "c": {"d": "e\"\\\u00e9"}}"#,
            r#"{"n": [0, -1, 2.5, -0.25e+10, 3E2, "x", [], {}]}"#,
            "{\n  \"summary\": \"Caroline adopted a beagle.\",\n  \"facts\": [\"x\"]\n}",
            r#"{"é": "ünïcödé ✓"}"#,
        ] {
            assert!(valid(s), "{s}");
            assert!(serde_json::from_str::<serde_json::Value>(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_what_is_not_json() {
        for s in [
            "hello",
            "\"a top-level string\"",
            "42",
            "[1, 2]",
            "{a: 1}",
            r#"{"a" 1}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1,}"#,
            r#"{"a": [1, ]}"#,
            r#"{"a": tru}"#,
            r#"{"a": "\x"}"#,
            "{\"a\": \"line\nbreak\"}",
            r#"{"a": 1}}"#,
            r#"{"a": [1}}"#,
            r#"{"a": -}"#,
            r#"{"a": 1.}"#,
        ] {
            let mut g = JsonGuard::new();
            assert!(!(g.feed(s.as_bytes()) && g.complete()), "{s}");
        }
    }

    #[test]
    fn prefixes_and_padding() {
        let mut g = JsonGuard::new();
        assert!(g.feed(b"  {\"facts\": [\"a\", 1"));
        assert!(!g.complete());
        assert!(g.accepts(b"2, 3]"));
        assert!(!g.accepts(b"}"), "the array is open");
        assert!(!g.accepts(b""), "an empty token makes no progress");
        assert!(g.feed(b"]}"));
        assert!(g.complete());
        assert!(g.accepts(b"\n"), "whitespace may follow");
        assert!(!g.accepts(b"x"));
        assert!(!JsonGuard::new().accepts(&[b' '; 13]), "endless padding is refused");
        let deep = format!("{{\"a\": {}", "[".repeat(MAX_DEPTH));
        assert!(!JsonGuard::new().accepts(deep.as_bytes()));
    }
}
