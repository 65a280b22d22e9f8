//! A conversation's consolidation before it is written: what the generator's JSON or the
//! extractive path produce, and what `consolidate` validates and stores.

/// A conversation's summary and facts before they are written.
#[derive(Debug)]
pub(crate) struct Draft {
    pub summary: String,
    pub facts: Vec<FactDraft>,
}

#[derive(Debug)]
pub(crate) struct FactDraft {
    pub text: String,
    pub who: Option<String>,
    pub when: Option<String>,
    pub place: Option<String>,
    pub topics: Vec<String>,
    /// Indices into the conversation's turns.
    pub sources: Vec<usize>,
    /// Written by the generator (else extracted from the turns).
    pub generated: bool,
}
