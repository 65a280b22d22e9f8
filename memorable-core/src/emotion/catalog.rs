//! The expression catalog: every emotion MemoRable knows by name. It is the union of Hume's
//! 48 canonical expressions (legacy face / prosody / burst models and EVI), the 5 extra names
//! of Hume's language model, and the 28 GoEmotions labels: 62 expressions, each with a
//! canonical snake_case id, a display name, a colour, and valence / arousal coordinates.
//!
//! Names from every source vocabulary resolve to catalog ids through [`resolve`]: Hume's
//! capitalised legacy names (`"Surprise (positive)"`), the v1 API's lowercase names
//! (`"surprise (positive)"`), GoEmotions labels (`"gratitude"`) and the ids themselves
//! (`"surprise_positive"`). A name that resolves to nothing is not an error: readings keep it
//! as an extra dimension (see [`crate::emotion::Reading`]).
//!
//! Valence and arousal come from the NRC Valence, Arousal, and Dominance Lexicon v1
//! (Mohammad, ACL 2018; 20,000 English words rated by best-worst scaling, scores in [0, 1]):
//! each expression takes the mean of its name's words (`"aesthetic appreciation"` = mean of
//! `aesthetic` and `appreciation`, `"surprise (negative)"` = mean of `surprise` and
//! `negative`), mapped to [-1, 1] by `2x - 1`. `entrancement` is not in the lexicon and uses
//! its synonym `enchantment`. docs/emotion.md lists every expression with its source words.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Number of expressions in the catalog (the length of every catalog vector).
pub const LEN: usize = 62;

/// A source vocabulary of expression names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vocabulary {
    /// Hume's 48 canonical expressions: the legacy face, prosody and burst models and EVI's
    /// prosody scores (and, up to one name, the v1 face model).
    Hume,
    /// Hume's language model: the 48 plus annoyance, disapproval, enthusiasm, gratitude and
    /// sarcasm.
    HumeLanguage,
    /// The 28 GoEmotions labels (27 emotions + neutral).
    #[serde(rename = "goemotions")]
    GoEmotions,
}

const HUME: u8 = 1;
const HUME_LANGUAGE: u8 = 2;
const GOEMOTIONS: u8 = 4;

impl Vocabulary {
    fn bit(self) -> u8 {
        match self {
            Vocabulary::Hume => HUME,
            Vocabulary::HumeLanguage => HUME_LANGUAGE,
            Vocabulary::GoEmotions => GOEMOTIONS,
        }
    }
}

crate::named::named_enum!(Vocabulary, "vocabulary", crate::error::Error::InvalidInput, {
    Hume => "hume",
    HumeLanguage => "hume_language",
    GoEmotions => "goemotions",
});

/// One expression of the catalog. Serialized (for every binding) with its `vocabularies` and
/// `aliases` too.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expression {
    /// Canonical id, snake_case (`"surprise_positive"`); stable across versions.
    pub id: &'static str,
    /// Display name; for Hume's expressions exactly Hume's legacy spelling
    /// (`"Surprise (positive)"`).
    pub name: &'static str,
    /// Display colour, `#rrggbb`.
    pub color: &'static str,
    /// Pleasantness in [-1, 1] (NRC VAD valence, rescaled).
    pub valence: f32,
    /// Activation in [-1, 1] (NRC VAD arousal, rescaled).
    pub arousal: f32,
    vocabularies: u8,
}

impl Serialize for Expression {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let vocabularies = self.vocabularies();
        let mut st = s.serialize_struct("Expression", 7)?;
        st.serialize_field("id", self.id)?;
        st.serialize_field("name", self.name)?;
        st.serialize_field("color", self.color)?;
        st.serialize_field("valence", &self.valence)?;
        st.serialize_field("arousal", &self.arousal)?;
        st.serialize_field("vocabularies", &vocabularies)?;
        st.serialize_field("aliases", &self.aliases())?;
        st.end()
    }
}

impl Expression {
    /// Whether the expression belongs to a source vocabulary.
    pub fn in_vocabulary(&self, vocabulary: Vocabulary) -> bool {
        self.vocabularies & vocabulary.bit() != 0
    }

    /// The source vocabularies the expression belongs to.
    pub fn vocabularies(&self) -> Vec<Vocabulary> {
        Vocabulary::ALL.into_iter().filter(|v| self.in_vocabulary(*v)).collect()
    }

    /// Hume's legacy (and EVI) spelling, e.g. `"Surprise (positive)"`, for Hume's 53 names.
    pub fn hume_name(&self) -> Option<&'static str> {
        self.in_vocabulary(Vocabulary::HumeLanguage).then_some(self.name)
    }

    /// The v1 Expression Measurement spelling (lowercase), e.g. `"surprise (positive)"`.
    pub fn hume_v1_name(&self) -> Option<String> {
        self.hume_name().map(str::to_lowercase)
    }

    /// The GoEmotions label, e.g. `"gratitude"`.
    pub fn goemotions_label(&self) -> Option<&'static str> {
        // GoEmotions labels are exactly the lowercase single-word ids.
        self.in_vocabulary(Vocabulary::GoEmotions).then_some(self.id)
    }

    /// Every spelling that resolves to this expression in some source vocabulary (the id
    /// first), without duplicates.
    pub fn aliases(&self) -> Vec<String> {
        let mut out = vec![self.id.to_owned()];
        let candidates =
            [Some(self.name.to_owned()), self.hume_v1_name(), self.goemotions_label().map(str::to_owned)];
        for a in candidates.into_iter().flatten() {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }
}

const fn e(
    id: &'static str,
    name: &'static str,
    color: &'static str,
    valence: f32,
    arousal: f32,
    vocabularies: u8,
) -> Expression {
    Expression { id, name, color, valence, arousal, vocabularies }
}

/// The catalog, in a fixed order: Hume's 48 (alphabetical, as Hume lists them), the language
/// model's 5 extras, then the GoEmotions-only labels. Colours are the original plan's palette;
/// where it had none, or gave two expressions the same colour (calmness / interest and
/// guilt / neutral), the second got a new distinct colour.
static EXPRESSIONS: [Expression; LEN] = [
    e("admiration", "Admiration", "#ffc58f", 0.9380, 0.1660, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("adoration", "Adoration", "#ffc6cc", 0.7700, 0.3980, HUME | HUME_LANGUAGE),
    e("aesthetic_appreciation", "Aesthetic Appreciation", "#e2cbff", 0.6250, -0.0290, HUME | HUME_LANGUAGE),
    e("amusement", "Amusement", "#febf52", 0.8580, 0.6740, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("anger", "Anger", "#b21816", -0.6660, 0.7300, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("anxiety", "Anxiety", "#6e42cc", -0.7080, 0.7300, HUME | HUME_LANGUAGE),
    e("awe", "Awe", "#7dabd3", -0.0620, 0.4800, HUME | HUME_LANGUAGE),
    e("awkwardness", "Awkwardness", "#d7d99d", -0.6660, -0.0920, HUME | HUME_LANGUAGE),
    e("boredom", "Boredom", "#a4a4a4", -0.6660, -0.7220, HUME | HUME_LANGUAGE),
    e("calmness", "Calmness", "#a9cce1", 0.8680, -0.7900, HUME | HUME_LANGUAGE),
    e("concentration", "Concentration", "#336cff", 0.4700, 0.0000, HUME | HUME_LANGUAGE),
    e("confusion", "Confusion", "#c66a26", -0.4900, 0.3340, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("contemplation", "Contemplation", "#b0aeef", 0.1040, -0.3520, HUME | HUME_LANGUAGE),
    e("contempt", "Contempt", "#76842d", -0.5880, 0.2700, HUME | HUME_LANGUAGE),
    e("contentment", "Contentment", "#e5c6b4", 0.7500, 0.2200, HUME | HUME_LANGUAGE),
    e("craving", "Craving", "#54591c", 0.0200, 0.5100, HUME | HUME_LANGUAGE),
    e("desire", "Desire", "#aa0d59", 0.7920, 0.3840, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("determination", "Determination", "#ff5c00", 0.5520, 0.4500, HUME | HUME_LANGUAGE),
    e("disappointment", "Disappointment", "#006c7c", -0.7700, -0.0200, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("disgust", "Disgust", "#1a7a41", -0.8960, 0.5500, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("distress", "Distress", "#c5f264", -0.8540, 0.6800, HUME | HUME_LANGUAGE),
    e("doubt", "Doubt", "#998644", -0.2100, -0.2980, HUME | HUME_LANGUAGE),
    e("ecstasy", "Ecstasy", "#ff48a4", 0.5920, 0.8440, HUME | HUME_LANGUAGE),
    e("embarrassment", "Embarrassment", "#63c653", -0.7140, 0.3700, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("empathic_pain", "Empathic Pain", "#ca5555", -0.2280, 0.3350, HUME | HUME_LANGUAGE),
    e("entrancement", "Entrancement", "#7554d6", 0.6320, 0.5500, HUME | HUME_LANGUAGE),
    e("envy", "Envy", "#1d4921", -0.5200, 0.4080, HUME | HUME_LANGUAGE),
    e("excitement", "Excitement", "#fff974", 0.7920, 0.3680, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("fear", "Fear", "#d1c9ef", -0.8540, 0.6800, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("guilt", "Guilt", "#879aa1", -0.5840, 0.1340, HUME | HUME_LANGUAGE),
    e("horror", "Horror", "#772e7a", -0.7700, 0.7000, HUME | HUME_LANGUAGE),
    e("interest", "Interest", "#5fb0c9", 0.5600, 0.3340, HUME | HUME_LANGUAGE),
    e("joy", "Joy", "#ffd600", 0.9600, 0.6480, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("love", "Love", "#f44f4c", 1.0000, 0.0380, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("nostalgia", "Nostalgia", "#b087a1", -0.1660, -0.3260, HUME | HUME_LANGUAGE),
    e("pain", "Pain", "#8c1d1d", -0.9760, 0.5300, HUME | HUME_LANGUAGE),
    e("pride", "Pride", "#9a4cb6", 0.4580, 0.2680, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("realization", "Realization", "#217aa8", 0.1080, 0.0200, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("relief", "Relief", "#fe927a", 0.6880, -0.4440, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("romance", "Romance", "#f0cc86", 0.9600, 0.3640, HUME | HUME_LANGUAGE),
    e("sadness", "Sadness", "#305575", -0.8960, -0.4240, HUME | HUME_LANGUAGE | GOEMOTIONS),
    e("satisfaction", "Satisfaction", "#a6ddaf", 0.8780, 0.2740, HUME | HUME_LANGUAGE),
    e("shame", "Shame", "#8a6262", -0.8800, 0.3400, HUME | HUME_LANGUAGE),
    e("surprise_negative", "Surprise (negative)", "#70e63a", -0.0230, 0.4020, HUME | HUME_LANGUAGE),
    e("surprise_positive", "Surprise (positive)", "#7affff", 0.8340, 0.3850, HUME | HUME_LANGUAGE),
    e("sympathy", "Sympathy", "#7f88e0", 0.6540, -0.0060, HUME | HUME_LANGUAGE),
    e("tiredness", "Tiredness", "#757575", -0.2260, -0.1840, HUME | HUME_LANGUAGE),
    e("triumph", "Triumph", "#ec8132", 0.9380, 0.5960, HUME | HUME_LANGUAGE),
    e("annoyance", "Annoyance", "#e0603c", -0.6660, 0.4360, HUME_LANGUAGE | GOEMOTIONS),
    e("disapproval", "Disapproval", "#5e4b3c", -0.8300, 0.1020, HUME_LANGUAGE | GOEMOTIONS),
    e("enthusiasm", "Enthusiasm", "#ffa62b", 0.8760, 0.6320, HUME_LANGUAGE),
    e("gratitude", "Gratitude", "#f7a8c8", 0.7700, -0.1180, HUME_LANGUAGE | GOEMOTIONS),
    e("sarcasm", "Sarcasm", "#9c7c38", -0.7500, 0.3700, HUME_LANGUAGE),
    e("approval", "Approval", "#8fd14f", 0.7080, -0.0800, GOEMOTIONS),
    e("caring", "Caring", "#f29bb0", 0.2700, -0.0620, GOEMOTIONS),
    e("curiosity", "Curiosity", "#4fc3c8", 0.5000, 0.5100, GOEMOTIONS),
    e("grief", "Grief", "#2b3a55", -0.8600, 0.2800, GOEMOTIONS),
    e("nervousness", "Nervousness", "#8f6fe0", -0.6740, 0.8300, GOEMOTIONS),
    e("neutral", "Neutral", "#c8c8c8", -0.0620, -0.6320, GOEMOTIONS),
    e("optimism", "Optimism", "#ffe066", 0.8980, 0.1300, GOEMOTIONS),
    e("remorse", "Remorse", "#6b4c6e", -0.7940, 0.3460, GOEMOTIONS),
    e("surprise", "Surprise", "#b8f5a0", 0.7500, 0.7500, GOEMOTIONS),
];

/// Every expression, in catalog order.
pub fn expressions() -> &'static [Expression; LEN] {
    &EXPRESSIONS
}

/// The expression at a catalog index.
pub fn expression(index: usize) -> &'static Expression {
    &EXPRESSIONS[index]
}

/// The expression with this canonical id.
pub fn get(id: &str) -> Option<&'static Expression> {
    index_of(id).map(expression)
}

/// The catalog index of a canonical id.
pub fn index_of(id: &str) -> Option<usize> {
    aliases().get(id).filter(|&i| EXPRESSIONS[i].id == id)
}

/// Catalog indices ordered by id (the order of every `BTreeMap` keyed by id).
pub(crate) fn by_id() -> &'static [usize; LEN] {
    static ORDER: OnceLock<[usize; LEN]> = OnceLock::new();
    ORDER.get_or_init(|| {
        let mut order: [usize; LEN] = std::array::from_fn(|i| i);
        order.sort_by_key(|&i| EXPRESSIONS[i].id);
        order
    })
}

/// Resolve a name from any source vocabulary (or an id) to its catalog index.
///
/// Exact spellings (ids, Hume legacy names, v1 lowercase names, GoEmotions labels) are found
/// without allocating; anything else is normalized (trimmed, lowercased, every run of
/// non-alphanumeric characters made one `_`) and matched against the ids, so
/// `"Surprise (Positive)"` and `"surprise-positive"` resolve too. `None` means the name is
/// not in the catalog: keep it as an extra dimension.
pub fn resolve(name: &str) -> Option<usize> {
    let table = aliases();
    if let Some(i) = table.get(name) {
        return Some(i);
    }
    table.get(&normalize(name))
}

/// Lowercase, every run of characters other than ASCII letters and digits made one `_`,
/// no leading or trailing `_`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Exact spellings (ids, display names, v1 lowercase names, GoEmotions labels) → catalog
/// index, built once.
///
/// Every score of every reading is looked up here, so this is the fusion hot path: an
/// open-addressing table keyed by a name's length and its first and last 8 bytes (which, for
/// names up to 16 bytes, are the whole name), so a lookup is two loads, one multiply and
/// usually one probe, without hashing byte by byte.
fn aliases() -> &'static AliasTable {
    static TABLE: OnceLock<AliasTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = AliasTable { slots: vec![None; ALIAS_SLOTS] };
        for (i, e) in EXPRESSIONS.iter().enumerate() {
            t.insert(e.id, i as u8);
            t.insert(e.name, i as u8);
            if e.in_vocabulary(Vocabulary::HumeLanguage) {
                // The v1 spelling is the display name lowercased; most equal the id, and only
                // the others are kept (for the life of the process: the table is static).
                let lower = e.name.to_lowercase();
                if t.get(&lower).is_none() {
                    t.insert(Box::leak(lower.into_boxed_str()), i as u8);
                }
            }
        }
        t
    })
}

const ALIAS_SLOTS: usize = 512;

#[derive(Clone, Copy)]
struct AliasSlot {
    first: u64,
    last: u64,
    name: &'static str,
    index: u8,
}

struct AliasTable {
    slots: Vec<Option<AliasSlot>>,
}

/// Two words that, with the name's length, identify a name of up to 16 bytes: its first
/// and last 8 bytes (shorter names are packed into the first word).
#[inline]
fn words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 8 {
        let first = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let last = u64::from_le_bytes(b[n - 8..].try_into().expect("8 bytes"));
        (first, last)
    } else if n >= 4 {
        // Two overlapping 4-byte loads cover every byte; with the length they are unique.
        let lo = u32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
        let hi = u32::from_le_bytes(b[n - 4..].try_into().expect("4 bytes"));
        (u64::from(lo) | u64::from(hi) << 32, 0)
    } else {
        (b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x)), 0)
    }
}

#[inline]
fn slot_of(first: u64, last: u64, len: usize) -> usize {
    let h = (first ^ last.rotate_left(29) ^ ((len as u64) << 56)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - ALIAS_SLOTS.trailing_zeros())) as usize
}

impl AliasTable {
    fn insert(&mut self, name: &'static str, index: u8) {
        if self.get(name).is_some() {
            return;
        }
        let (first, last) = words(name.as_bytes());
        let mut i = slot_of(first, last, name.len());
        while self.slots[i].is_some() {
            i = (i + 1) % ALIAS_SLOTS;
        }
        self.slots[i] = Some(AliasSlot { first, last, name, index });
    }

    #[inline]
    fn get(&self, name: &str) -> Option<usize> {
        let b = name.as_bytes();
        let (first, last) = words(b);
        let mut i = slot_of(first, last, b.len());
        loop {
            let s = self.slots[i].as_ref()?;
            // Up to 16 bytes the two words are the whole name; longer ones compare in full.
            if s.first == first
                && s.last == last
                && s.name.len() == b.len()
                && (b.len() <= 16 || s.name.as_bytes() == b)
            {
                return Some(s.index as usize);
            }
            i = (i + 1) % ALIAS_SLOTS;
        }
    }
}

/// A fast non-keyed hash (FxHash's word-at-a-time mix): expression names and context ids
/// are short, and every score of every reading is looked up on the fusion hot path, where
/// SipHash would cost more than the fusion itself. The maps it serves hold the catalog's
/// aliases and an application's own contexts, so hash flooding is not a concern.
#[derive(Clone, Copy, Default)]
pub(crate) struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}

pub(crate) struct Fx(u64);

impl Fx {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for Fx {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_score_codes_are_the_catalog_order() {
        // Stored rows hold a score's name as its index in `packed_scores::NAMES`: the catalog
        // may only grow at its end, and each new id is appended there too.
        let names = crate::packed_scores::NAMES;
        assert!(names.len() >= LEN && names.len() < 255);
        for (i, e) in expressions().iter().enumerate() {
            assert_eq!(names[i], e.id, "catalog index {i}");
        }
    }

    #[test]
    fn ids_are_unique_snake_case_and_colours_distinct() {
        let mut ids = std::collections::HashSet::new();
        let mut colours = std::collections::HashSet::new();
        for e in expressions() {
            assert!(ids.insert(e.id), "duplicate id {}", e.id);
            assert_eq!(normalize(e.id), e.id, "{} is not canonical snake_case", e.id);
            assert!(colours.insert(e.color), "colour {} used twice", e.color);
            assert!(e.color.len() == 7 && e.color.starts_with('#'));
            assert!(u32::from_str_radix(&e.color[1..], 16).is_ok());
            assert!((-1.0..=1.0).contains(&e.valence) && (-1.0..=1.0).contains(&e.arousal));
        }
        let count = |v| expressions().iter().filter(|e| e.in_vocabulary(v)).count();
        assert_eq!(count(Vocabulary::Hume), 48);
        assert_eq!(count(Vocabulary::HumeLanguage), 53);
        assert_eq!(count(Vocabulary::GoEmotions), 28);
    }

    #[test]
    fn normalize_and_resolve() {
        assert_eq!(normalize("  Surprise (Positive) "), "surprise_positive");
        assert_eq!(normalize("jaw drop"), "jaw_drop");
        assert_eq!(resolve("Surprise (negative)"), index_of("surprise_negative"));
        assert_eq!(resolve("surprise (positive)"), index_of("surprise_positive"));
        assert_eq!(resolve("EMPATHIC-PAIN"), index_of("empathic_pain"));
        assert_eq!(resolve("surprise"), index_of("surprise"));
        assert_eq!(resolve("feeling uplifted"), None);
        assert_eq!(resolve(""), None);
    }
}
