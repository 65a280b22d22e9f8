//! The filters a store query understands (a recall's, after its window is resolved).

/// Filters of a recall in store terms (times in unix milliseconds, `[since, until)`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filters {
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub tags: Vec<String>,
    pub kinds: Vec<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.session.is_none()
            && self.speaker.is_none()
            && self.tags.is_empty()
            && self.kinds.is_empty()
            && self.since.is_none()
            && self.until.is_none()
    }

    /// True when the filters can match nothing (an empty time range).
    pub fn is_void(&self) -> bool {
        matches!((self.since, self.until), (Some(a), Some(b)) if a >= b)
    }
}
