//! The tokenizer a GGUF carries in its metadata, applied with llama.cpp's rules so that the
//! same text gives the same ids as llama.cpp (`src/llama-vocab.cpp`, `src/unicode.cpp`):
//!
//! - **BPE** (`tokenizer.ggml.model = "gpt2"`: SmolLM2, StarCoder, ...): special tokens are cut
//!   out first (longest first); each remaining stretch is pre-split (for the `smollm` /
//!   `starcoder` family every digit on its own, then GPT-2's pattern as llama.cpp's
//!   hand-written matcher applies it), byte-level encoded (GPT-2's byte → char table), and
//!   merged by rank (lowest first, leftmost on ties).
//! - **SentencePiece** (`"llama"`: TinyLlama, Mistral, Llama 2): spaces become `▁`, a `▁` is
//!   prefixed when the model asks for it, symbols are merged by the highest vocabulary score,
//!   and text without a token falls back to `<0xXX>` byte tokens.
//!
//! BOS / EOS are added only when the file's `add_bos_token` / `add_eos_token` say so (absent:
//! llama.cpp's default per model type). Special tokens in the text are parsed (as llama.cpp's
//! server and llama-cpp-python do for prompts).

use std::collections::{BinaryHeap, HashMap};
use std::sync::OnceLock;

use super::file::GgufFile;
use crate::error::{Error, Result};

/// llama.cpp's token types.
const TYPE_UNKNOWN: i32 = 2;
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;
const TYPE_BYTE: i32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bpe,
    Spm,
}

/// How BPE text is split before merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pre {
    /// GPT-2's pattern only (`gpt2`, `default`).
    Gpt2,
    /// Every digit alone, then GPT-2's pattern (`smollm`, `starcoder`, `refact`, ...).
    DigitsThenGpt2,
}

pub struct Tokenizer {
    kind: Kind,
    pre: Pre,
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    types: Vec<i32>,
    scores: Vec<f32>,
    /// BPE merge ranks: (left, right) → rank.
    ranks: HashMap<(String, String), u32>,
    /// Special tokens (control, user-defined, unknown), longest text first.
    special: Vec<(String, u32)>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    unk: Option<u32>,
    /// Tokens that end generation (EOS, EOT and friends).
    eog: Vec<u32>,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("kind", &self.kind).field("tokens", &self.tokens.len()).finish()
    }
}

fn strings(file: &GgufFile, key: &str) -> Result<Vec<String>> {
    let arr =
        file.get(key).and_then(|v| v.as_array()).ok_or_else(|| Error::Model(format!("GGUF has no {key}")))?;
    arr.iter()
        .map(|v| {
            v.as_str().map(str::to_owned).ok_or_else(|| Error::Model(format!("{key} holds a non-string")))
        })
        .collect()
}

impl Tokenizer {
    /// The tokenizer described by a GGUF's `tokenizer.ggml.*` metadata.
    pub fn from_gguf(file: &GgufFile) -> Result<Tokenizer> {
        let model = file.str("tokenizer.ggml.model")?;
        let kind = match model {
            "gpt2" => Kind::Bpe,
            "llama" => Kind::Spm,
            other => {
                return Err(Error::Model(format!(
                    "tokenizer model {other:?} is not supported (gpt2 and llama are); serve this model with Ollama or an OpenAI-compatible server"
                )))
            }
        };
        let pre = match file.get("tokenizer.ggml.pre").and_then(|v| v.as_str()).unwrap_or("default") {
            "default" | "gpt2" | "gpt-2" => Pre::Gpt2,
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
                Pre::DigitsThenGpt2
            }
            other if kind == Kind::Bpe => {
                return Err(Error::Model(format!(
                    "BPE pre-tokenizer {other:?} is not supported (gpt2, smollm, starcoder are); serve this model with Ollama or an OpenAI-compatible server"
                )))
            }
            _ => Pre::Gpt2,
        };
        let tokens = strings(file, "tokenizer.ggml.tokens")?;
        let n = tokens.len();
        let int_array = |key: &str| -> Option<Vec<i32>> {
            file.get(key)?.as_array()?.iter().map(|v| v.as_u64().map(|x| x as i32)).collect()
        };
        let types = int_array("tokenizer.ggml.token_type").unwrap_or_else(|| vec![1; n]);
        let scores: Vec<f32> = file
            .get("tokenizer.ggml.scores")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|v| v.as_f32().unwrap_or(0.0)).collect())
            .unwrap_or_else(|| vec![0.0; n]);
        if types.len() != n || scores.len() != n {
            return Err(Error::Model("tokenizer token types or scores do not match its tokens".into()));
        }
        let mut ranks = HashMap::new();
        if kind == Kind::Bpe {
            for (i, merge) in strings(file, "tokenizer.ggml.merges")?.into_iter().enumerate() {
                // "left right", split at the first space after position 0 (a left part may be
                // a lone space-like char).
                let cut = merge.char_indices().skip(1).find(|(_, c)| *c == ' ').map(|(i, _)| i);
                let Some(cut) = cut else { continue };
                ranks.insert((merge[..cut].to_owned(), merge[cut + 1..].to_owned()), i as u32);
            }
        }
        let ids: HashMap<String, u32> =
            tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let id_of = |key: &str| {
            file.get(key).and_then(|v| v.as_u64()).map(|v| v as u32).filter(|v| (*v as usize) < n)
        };
        let bos = id_of("tokenizer.ggml.bos_token_id");
        let eos = id_of("tokenizer.ggml.eos_token_id");
        let unk = id_of("tokenizer.ggml.unknown_token_id").or_else(|| (kind == Kind::Spm).then_some(0));
        let flag = |key: &str| file.get(key).and_then(|v| v.as_bool());
        // llama.cpp's defaults: SentencePiece models add BOS, BPE models do not unless asked.
        let add_bos = flag("tokenizer.ggml.add_bos_token").unwrap_or(kind == Kind::Spm);
        let add_eos = flag("tokenizer.ggml.add_eos_token").unwrap_or(false);
        let add_space_prefix = flag("tokenizer.ggml.add_space_prefix").unwrap_or(kind == Kind::Spm);
        let mut special: Vec<(String, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                !t.is_empty() && matches!(types[*i], TYPE_CONTROL | TYPE_USER_DEFINED | TYPE_UNKNOWN)
            })
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        special.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        // End of generation: EOS and the end-of-turn / end-of-text markers llama.cpp knows.
        let mut eog: Vec<u32> = eos.into_iter().collect();
        for (i, t) in tokens.iter().enumerate() {
            let marker = matches!(
                t.as_str(),
                "<|eot_id|>"
                    | "<|im_end|>"
                    | "<|end|>"
                    | "<end_of_turn>"
                    | "<|endoftext|>"
                    | "<EOT>"
                    | "</s>"
                    | "<|end_of_text|>"
            );
            if marker && !eog.contains(&(i as u32)) {
                eog.push(i as u32);
            }
        }
        if let Some(id) = id_of("tokenizer.ggml.eot_token_id") {
            if !eog.contains(&id) {
                eog.push(id);
            }
        }
        Ok(Tokenizer {
            kind,
            pre,
            tokens,
            ids,
            types,
            scores,
            ranks,
            special,
            bos,
            eos,
            unk,
            eog,
            add_bos,
            add_eos,
            add_space_prefix,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Whether `id` ends generation.
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.contains(&id)
    }

    /// Token ids of `text`: special tokens parsed, BOS / EOS added when the model asks for
    /// them and `add_special` is true.
    pub fn encode(&self, text: &str, add_special: bool) -> Vec<u32> {
        let mut out = Vec::new();
        if add_special && self.add_bos {
            out.extend(self.bos);
        }
        // SentencePiece: llama.cpp prefixes a space to text at the start and after every
        // special token.
        let mut after_special = true;
        for piece in self.partition(text) {
            match piece {
                Piece::Special(id) => {
                    out.push(id);
                    after_special = true;
                }
                Piece::Text(t) => {
                    match self.kind {
                        Kind::Bpe => self.bpe(t, &mut out),
                        Kind::Spm => self.spm(t, self.add_space_prefix && after_special, &mut out),
                    }
                    after_special = false;
                }
            }
        }
        if add_special && self.add_eos {
            out.extend(self.eos);
        }
        out
    }

    /// The bytes a token stands for (control tokens: none).
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(text) = self.tokens.get(id as usize) else { return Vec::new() };
        match self.types[id as usize] {
            TYPE_CONTROL | TYPE_UNKNOWN => Vec::new(),
            TYPE_BYTE => parse_byte_token(text).map(|b| vec![b]).unwrap_or_default(),
            TYPE_USER_DEFINED => text.as_bytes().to_vec(),
            _ => match self.kind {
                Kind::Bpe => text.chars().filter_map(|c| char_to_byte().get(&c).copied()).collect(),
                Kind::Spm => text.replace('\u{2581}', " ").into_bytes(),
            },
        }
    }

    /// A token's text exactly as the vocabulary spells it (`<|im_start|>`), for templates.
    pub fn decode_special(&self, id: u32) -> String {
        self.tokens.get(id as usize).cloned().unwrap_or_default()
    }

    /// The text of a sequence of tokens (invalid UTF-8 across the ends replaced).
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.token_bytes(id)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Cut `text` at special tokens, longest first (llama.cpp's `tokenizer_st_partition`).
    fn partition<'a>(&self, text: &'a str) -> Vec<Piece<'a>> {
        let mut pieces = vec![Piece::Text(text)];
        for (special, id) in &self.special {
            let mut next = Vec::with_capacity(pieces.len());
            for p in pieces {
                let Piece::Text(mut rest) = p else {
                    next.push(p);
                    continue;
                };
                while let Some(at) = rest.find(special.as_str()) {
                    if at > 0 {
                        next.push(Piece::Text(&rest[..at]));
                    }
                    next.push(Piece::Special(*id));
                    rest = &rest[at + special.len()..];
                }
                if !rest.is_empty() {
                    next.push(Piece::Text(rest));
                }
            }
            pieces = next;
        }
        pieces
    }

    fn bpe(&self, text: &str, out: &mut Vec<u32>) {
        let map = byte_to_char();
        for word in pre_split(text, self.pre) {
            let encoded: String = word.bytes().map(|b| map[b as usize]).collect();
            if let Some(&id) = self.ids.get(&encoded) {
                // A whole word in the vocabulary merges to itself (llama.cpp checks merges
                // anyway, but the result is the same for every vocabulary it ships).
                if self.ranks.is_empty() || encoded.chars().count() == 1 {
                    out.push(id);
                    continue;
                }
            }
            let symbols: Vec<String> = encoded.chars().map(String::from).collect();
            for sym in
                merge(symbols, |a, b| self.ranks.get(&(a.to_owned(), b.to_owned())).map(|r| -(*r as f64)))
            {
                match self.ids.get(&sym) {
                    Some(&id) => out.push(id),
                    // llama.cpp emits each byte's own token, dropping bytes without one.
                    None => out.extend(sym.chars().filter_map(|c| self.ids.get(&c.to_string()).copied())),
                }
            }
        }
    }

    fn spm(&self, text: &str, prefix: bool, out: &mut Vec<u32>) {
        let mut s = String::with_capacity(text.len() + 3);
        if prefix {
            s.push('\u{2581}');
        }
        s.push_str(&text.replace(' ', "\u{2581}"));
        let symbols: Vec<String> = s.chars().map(String::from).collect();
        let merged = merge(symbols, |a, b| {
            self.ids.get(&format!("{a}{b}")).map(|&id| self.scores[id as usize] as f64)
        });
        for sym in merged {
            match self.ids.get(&sym) {
                Some(&id) => out.push(id),
                None => {
                    // Byte fallback: each UTF-8 byte as its <0xXX> token, else unknown.
                    for b in sym.bytes() {
                        match self.ids.get(&format!("<0x{b:02X}>")) {
                            Some(&id) => out.push(id),
                            None => out.extend(self.unk),
                        }
                    }
                }
            }
        }
    }
}

enum Piece<'a> {
    Text(&'a str),
    Special(u32),
}

fn parse_byte_token(t: &str) -> Option<u8> {
    let hex = t.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// Merge adjacent symbols, best-scoring pair first (leftmost on ties), until no pair scores.
/// `score(a, b)` is `None` when `a+b` cannot merge; higher is better.
fn merge(mut symbols: Vec<String>, score: impl Fn(&str, &str) -> Option<f64>) -> Vec<String> {
    if symbols.len() < 2 {
        return symbols;
    }
    // Linked list over `symbols`; merged-away symbols become empty.
    let n = symbols.len();
    let mut prev: Vec<isize> = (0..n as isize).map(|i| i - 1).collect();
    let mut next: Vec<usize> = (1..=n).collect();
    #[derive(PartialEq)]
    struct Cand {
        score: f64,
        left: usize,
        text_len: usize,
    }
    impl Eq for Cand {}
    impl PartialOrd for Cand {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Cand {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            // Max-heap: higher score first, then the leftmost.
            self.score.total_cmp(&o.score).then(o.left.cmp(&self.left))
        }
    }
    let mut heap = BinaryHeap::new();
    let push = |heap: &mut BinaryHeap<Cand>, symbols: &[String], l: usize, r: usize| {
        if let Some(s) = score(&symbols[l], &symbols[r]) {
            heap.push(Cand { score: s, left: l, text_len: symbols[l].len() + symbols[r].len() });
        }
    };
    for i in 0..n - 1 {
        push(&mut heap, &symbols, i, i + 1);
    }
    while let Some(c) = heap.pop() {
        let l = c.left;
        let r = next[l];
        // Stale: the left symbol was merged away, or its right neighbour changed.
        if symbols[l].is_empty() || r >= n || symbols[l].len() + symbols[r].len() != c.text_len {
            continue;
        }
        let right = std::mem::take(&mut symbols[r]);
        symbols[l].push_str(&right);
        next[l] = next[r];
        if next[r] < n {
            prev[next[r]] = l as isize;
        }
        if prev[l] >= 0 {
            push(&mut heap, &symbols, prev[l] as usize, l);
        }
        if next[l] < n {
            push(&mut heap, &symbols, l, next[l]);
        }
    }
    symbols.into_iter().filter(|s| !s.is_empty()).collect()
}

/// GPT-2's byte → printable char table.
fn byte_to_char() -> &'static [char; 256] {
    static MAP: OnceLock<[char; 256]> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = ['\0'; 256];
        let mut assigned = [false; 256];
        for b in (0x21..=0x7E).chain(0xA1..=0xAC).chain(0xAE..=0xFF) {
            map[b] = char::from_u32(b as u32).expect("latin-1");
            assigned[b] = true;
        }
        let mut n = 0;
        for b in 0..256 {
            if !assigned[b] {
                map[b] = char::from_u32(256 + n).expect("valid");
                n += 1;
            }
        }
        map
    })
}

fn char_to_byte() -> &'static HashMap<char, u8> {
    static MAP: OnceLock<HashMap<char, u8>> = OnceLock::new();
    MAP.get_or_init(|| byte_to_char().iter().enumerate().map(|(b, c)| (*c, b as u8)).collect())
}

/// Unicode classes the pre-tokenizer needs, as llama.cpp defines them.
#[derive(Clone, Copy, Default)]
struct Flags {
    letter: bool,
    number: bool,
    whitespace: bool,
    /// Assigned (any general category): unassigned code points match nothing.
    assigned: bool,
}

fn flags(c: char) -> Flags {
    let whitespace = matches!(c as u32, 0x09..=0x0D | 0x20 | 0x85 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000);
    if c.is_ascii() {
        return Flags {
            letter: c.is_ascii_alphabetic(),
            number: c.is_ascii_digit(),
            whitespace,
            assigned: true,
        };
    }
    static CLASSES: OnceLock<[regex::Regex; 3]> = OnceLock::new();
    let [l, n, unassigned] = CLASSES.get_or_init(|| {
        [r"^\p{L}$", r"^\p{N}$", r"^\p{Cn}$"].map(|p| regex::Regex::new(p).expect("valid class"))
    });
    let mut buf = [0u8; 4];
    let s: &str = c.encode_utf8(&mut buf);
    Flags { letter: l.is_match(s), number: n.is_match(s), whitespace, assigned: !unassigned.is_match(s) }
}

/// Split `text` as llama.cpp's BPE pre-tokenizer does.
fn pre_split(text: &str, pre: Pre) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut ranges = vec![(0usize, chars.len())];
    if pre == Pre::DigitsThenGpt2 {
        // `\p{N}`: every number code point alone, the stretches between kept.
        let mut split = Vec::new();
        let mut start = 0;
        for (i, &(_, c)) in chars.iter().enumerate() {
            if flags(c).number {
                if i > start {
                    split.push((start, i));
                }
                split.push((i, i + 1));
                start = i + 1;
            }
        }
        if start < chars.len() {
            split.push((start, chars.len()));
        }
        ranges = split;
    }
    let mut words = Vec::new();
    for (a, b) in ranges {
        gpt2_split(&chars[a..b], &mut |x, y| {
            let from = chars[a + x].0;
            let to = chars.get(a + y).map_or(text.len(), |c| c.0);
            words.push(&text[from..to]);
        });
    }
    words
}

/// llama.cpp's `unicode_regex_split_custom_gpt2`: the pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` over one piece.
fn gpt2_split(cs: &[(usize, char)], emit: &mut dyn FnMut(usize, usize)) {
    let n = cs.len();
    let get = |i: usize| cs.get(i).map(|c| c.1);
    let fl = |i: usize| get(i).map(flags).unwrap_or_default();
    let mut pos = 0;
    while pos < n {
        let start = pos;
        let c = cs[pos].1;
        let f = fl(pos);
        if c == '\'' && pos + 1 < n {
            let c1 = get(pos + 1);
            if matches!(c1, Some('s' | 't' | 'm' | 'd')) {
                pos += 2;
                emit(start, pos);
                continue;
            }
            if pos + 2 < n {
                let pair = (c1, get(pos + 2));
                if matches!(pair, (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l'))) {
                    pos += 3;
                    emit(start, pos);
                    continue;
                }
            }
        }
        let f2 = if c == ' ' { fl(pos + 1) } else { f };
        if f2.letter {
            pos += usize::from(c == ' ');
            while fl(pos).letter {
                pos += 1;
            }
            emit(start, pos);
            continue;
        }
        if f2.number {
            pos += usize::from(c == ' ');
            while fl(pos).number {
                pos += 1;
            }
            emit(start, pos);
            continue;
        }
        if !(f2.whitespace || f2.letter || f2.number) && f2.assigned {
            pos += usize::from(c == ' ');
            loop {
                let g = fl(pos);
                if pos >= n || g.whitespace || g.letter || g.number || !g.assigned {
                    break;
                }
                pos += 1;
            }
            emit(start, pos);
            continue;
        }
        let mut spaces = 0;
        while fl(pos + spaces).whitespace {
            spaces += 1;
        }
        if spaces > 1 && pos + spaces < n {
            pos += spaces - 1;
            emit(start, pos);
            continue;
        }
        if spaces > 0 {
            pos += spaces;
            emit(start, pos);
            continue;
        }
        pos += 1;
        emit(start, pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_pre_split_matches_llama_cpp_rules() {
        let split = |t: &str, p| pre_split(t, p).into_iter().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(split("Hello world", Pre::Gpt2), ["Hello", " world"]);
        assert_eq!(split("I'm here, you're", Pre::Gpt2), ["I", "'m", " here", ",", " you", "'re"]);
        assert_eq!(split("a  1", Pre::Gpt2), ["a", " ", " 1"]);
        assert_eq!(split("year 2024!", Pre::DigitsThenGpt2), ["year", " ", "2", "0", "2", "4", "!"]);
        assert_eq!(split("x \n\ny", Pre::Gpt2), ["x", " \n", "\n", "y"]);
        assert_eq!(split("end  ", Pre::Gpt2), ["end", "  "]);
    }

    #[test]
    fn merges_pick_the_best_pair_then_the_leftmost() {
        let ranks: HashMap<(&str, &str), f64> =
            [(("a", "b"), -1.0), (("b", "c"), -0.5), (("ab", "c"), -2.0)].into_iter().collect();
        let sym = |s: &str| s.chars().map(String::from).collect::<Vec<_>>();
        let score = |a: &str, b: &str| ranks.get(&(a, b)).copied();
        // "bc" (rank 0.5) beats "ab" (rank 1): a + bc, and "a"+"bc" does not merge.
        assert_eq!(merge(sym("abc"), score), ["a", "bc"]);
        assert_eq!(merge(sym("ab"), score), ["ab"]);
        // Ties go to the leftmost pair.
        let tie = |a: &str, b: &str| (a == b).then_some(1.0);
        assert_eq!(merge(sym("aaa"), tie), ["aa", "a"]);
    }

    #[test]
    fn byte_table_is_gpt2s() {
        let m = byte_to_char();
        assert_eq!(m[b' ' as usize], '\u{120}');
        assert_eq!(m[b'\n' as usize], '\u{10A}');
        assert_eq!(m[b'A' as usize], 'A');
        assert_eq!(char_to_byte()[&'\u{120}'], b' ');
    }
}
