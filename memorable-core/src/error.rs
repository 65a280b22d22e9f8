//! The one error type of MemoRable and its stable codes.
//!
//! Every fallible call in the core returns [`Result<T>`]. Bindings (Python, Node, C) map
//! errors by [`ErrorCode`], never by message text, so the numbers and names below are a
//! public contract: they never change meaning, and a retired code stays reserved.

use std::path::PathBuf;

/// Result alias used throughout MemoRable.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable error codes shared by every binding (see `docs/errors.md`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Input was rejected for a reason not covered by a more specific code.
    InvalidInput = 1,
    /// Text was empty or whitespace only.
    EmptyText = 2,
    /// Text longer than the configured limit.
    TextTooLong = 3,
    /// The user id was missing or blank.
    MissingUser = 4,
    /// A vector had NaN/inf values or the wrong length.
    InvalidVector = 5,
    /// Metadata was not a JSON object (or otherwise invalid).
    InvalidMetadata = 6,
    /// The configuration did not validate.
    InvalidConfig = 7,
    /// Text passed through the C ABI was not valid UTF-8.
    InvalidUtf8 = 8,
    /// A required pointer argument was NULL (C ABI only).
    NullPointer = 9,
    /// No memory (or other object) with that id.
    NotFound = 10,
    /// SQLite or the file system failed.
    Storage = 20,
    /// The store directory is locked by another process.
    Locked = 21,
    /// The store directory cannot be created or written.
    NotWritable = 22,
    /// The store was written by a newer MemoRable.
    NewerVersion = 23,
    /// On-disk data failed an integrity check.
    Corrupt = 24,
    /// The embedding model failed or is missing.
    Model = 30,
    /// The store's vectors were made by a different embedding model.
    ModelMismatch = 31,
    /// No emotion classifier is available (none shipped for this embedder, a file failed
    /// its checksum, or classification is off); the message says which.
    ClassifierUnavailable = 35,
    /// An emotion classifier was paired with an encoder other than the one it was trained on.
    ClassifierMismatch = 36,
    /// The handle was closed.
    Closed = 40,
    /// A Rust panic was caught at an FFI boundary.
    Panic = 50,
    /// A bug: an invariant did not hold.
    Internal = 60,
}

impl ErrorCode {
    /// The stable name of the code, e.g. `"EMPTY_TEXT"` (Node's `error.code`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::EmptyText => "EMPTY_TEXT",
            ErrorCode::TextTooLong => "TEXT_TOO_LONG",
            ErrorCode::MissingUser => "MISSING_USER",
            ErrorCode::InvalidVector => "INVALID_VECTOR",
            ErrorCode::InvalidMetadata => "INVALID_METADATA",
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::InvalidUtf8 => "INVALID_UTF8",
            ErrorCode::NullPointer => "NULL_POINTER",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Storage => "STORAGE",
            ErrorCode::Locked => "LOCKED",
            ErrorCode::NotWritable => "NOT_WRITABLE",
            ErrorCode::NewerVersion => "NEWER_VERSION",
            ErrorCode::Corrupt => "CORRUPT",
            ErrorCode::Model => "MODEL",
            ErrorCode::ModelMismatch => "MODEL_MISMATCH",
            ErrorCode::ClassifierUnavailable => "CLASSIFIER_UNAVAILABLE",
            ErrorCode::ClassifierMismatch => "CLASSIFIER_MISMATCH",
            ErrorCode::Closed => "CLOSED",
            ErrorCode::Panic => "PANIC",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The broad family of the code, used by bindings to pick an exception class.
    pub fn category(self) -> ErrorCategory {
        match self as u32 {
            1..=9 => ErrorCategory::InvalidInput,
            10..=19 => ErrorCategory::NotFound,
            20..=29 => ErrorCategory::Storage,
            30..=39 => ErrorCategory::Model,
            _ => ErrorCategory::Other,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Families of error codes; each binding maps one family to one exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    InvalidInput,
    NotFound,
    Storage,
    Model,
    Other,
}

/// Everything that can go wrong in MemoRable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("text is empty or whitespace only")]
    EmptyText,
    #[error("text has {chars} characters, over the limit of {limit}")]
    TextTooLong { chars: usize, limit: usize },
    #[error("a user id is required and must not be blank")]
    MissingUser,
    #[error("invalid vector: {0}")]
    InvalidVector(String),
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("{what} must not be NULL")]
    NullPointer { what: &'static str },
    #[error("no memory with id {0}")]
    NotFound(u64),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("store {path} is locked by another process (only one process may open a store)")]
    Locked { path: PathBuf },
    #[error("store directory {path} is not writable: {reason}")]
    NotWritable { path: PathBuf, reason: String },
    #[error(
        "store schema version {found} was written by a newer MemoRable (this build reads up to {supported}); upgrade MemoRable to open it"
    )]
    NewerVersion { found: u32, supported: u32 },
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("model error: {0}")]
    Model(String),
    #[error(
        "the store's vectors were made by model {stored:?} but the embedder in use is {current:?}; open it with the same embedder, or re-embed it"
    )]
    ModelMismatch { stored: String, current: String },
    #[error("emotion classification is unavailable: {0}")]
    ClassifierUnavailable(String),
    #[error(
        "the emotion classifier was trained on {trained_on:?} but the encoder offered is {offered:?}; it only runs on the encoder it was trained on"
    )]
    ClassifierMismatch { trained_on: String, offered: String },
    #[error("this Memorable handle is closed")]
    Closed,
    #[error("panic: {0}")]
    Panic(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidInput(_) => ErrorCode::InvalidInput,
            Error::EmptyText => ErrorCode::EmptyText,
            Error::TextTooLong { .. } => ErrorCode::TextTooLong,
            Error::MissingUser => ErrorCode::MissingUser,
            Error::InvalidVector(_) => ErrorCode::InvalidVector,
            Error::InvalidMetadata(_) => ErrorCode::InvalidMetadata,
            Error::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Error::InvalidUtf8 { .. } => ErrorCode::InvalidUtf8,
            Error::NullPointer { .. } => ErrorCode::NullPointer,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Storage(_) => ErrorCode::Storage,
            Error::Locked { .. } => ErrorCode::Locked,
            Error::NotWritable { .. } => ErrorCode::NotWritable,
            Error::NewerVersion { .. } => ErrorCode::NewerVersion,
            Error::Corrupt(_) => ErrorCode::Corrupt,
            Error::Model(_) => ErrorCode::Model,
            Error::ModelMismatch { .. } => ErrorCode::ModelMismatch,
            Error::ClassifierUnavailable(_) => ErrorCode::ClassifierUnavailable,
            Error::ClassifierMismatch { .. } => ErrorCode::ClassifierMismatch,
            Error::Closed => ErrorCode::Closed,
            Error::Panic(_) => ErrorCode::Panic,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("JSON encoding: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        // These numbers are a public contract of the Python, Node and C bindings.
        assert_eq!(ErrorCode::EmptyText as u32, 2);
        assert_eq!(ErrorCode::NotFound as u32, 10);
        assert_eq!(ErrorCode::NewerVersion as u32, 23);
        assert_eq!(ErrorCode::Panic as u32, 50);
        assert_eq!(ErrorCode::ClassifierUnavailable as u32, 35);
        assert_eq!(ErrorCode::ClassifierMismatch as u32, 36);
        assert_eq!(ErrorCode::ClassifierMismatch.category(), ErrorCategory::Model);
        assert_eq!(Error::TextTooLong { chars: 2, limit: 1 }.code(), ErrorCode::TextTooLong);
        assert_eq!(ErrorCode::Locked.category(), ErrorCategory::Storage);
        assert_eq!(ErrorCode::Closed.category(), ErrorCategory::Other);
    }
}
