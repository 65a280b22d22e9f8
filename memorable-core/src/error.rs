//! The one error type of MemoRable and its stable codes.
//!
//! Every fallible call in the core returns [`Result<T>`]. Bindings (Python, Node, C) map
//! errors by [`ErrorCode`], never by message text, so the numbers and names below are a
//! public contract: they never change meaning, and a retired code stays reserved.

use std::path::PathBuf;

/// Result alias used throughout MemoRable.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares [`ErrorCode`] from one table: variant = number, name, family. The enum, its
/// names, [`ErrorCode::ALL`], the numbers and the families all come from this list (as
/// rustls-ffi derives its error enum), and the drift tests compare docs/errors.md, the C
/// header and the bindings' lists with it.
macro_rules! error_codes {
    ($( $(#[doc = $doc:expr])* $variant:ident = $num:literal, $name:literal, $family:ident; )+) => {
        /// Stable error codes shared by every binding (see `docs/errors.md`).
        #[repr(u32)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* #[serde(rename = $name)] $variant = $num, )+
        }

        impl ErrorCode {
            /// Every code, in numeric order (metrics count errors by code).
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The stable name of the code, e.g. `"EMPTY_TEXT"` (Node's `error.code`).
            pub fn name(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name, )+ }
            }

            /// The broad family of the code, used by bindings to pick an exception class.
            pub fn category(self) -> ErrorCategory {
                match self { $( ErrorCode::$variant => ErrorCategory::$family, )+ }
            }
        }
    };
}

error_codes! {
    /// Input was rejected for a reason not covered by a more specific code.
    InvalidInput = 1, "INVALID_INPUT", InvalidInput;
    /// Text was empty or whitespace only.
    EmptyText = 2, "EMPTY_TEXT", InvalidInput;
    /// Text longer than the configured limit.
    TextTooLong = 3, "TEXT_TOO_LONG", InvalidInput;
    /// The user id was missing or blank.
    MissingUser = 4, "MISSING_USER", InvalidInput;
    /// A vector had NaN/inf values or the wrong length.
    InvalidVector = 5, "INVALID_VECTOR", InvalidInput;
    /// Metadata was not a JSON object (or otherwise invalid).
    InvalidMetadata = 6, "INVALID_METADATA", InvalidInput;
    /// The configuration did not validate.
    InvalidConfig = 7, "INVALID_CONFIG", InvalidInput;
    /// Text passed through the C ABI was not valid UTF-8.
    InvalidUtf8 = 8, "INVALID_UTF8", InvalidInput;
    /// A required pointer argument was NULL (C ABI only).
    NullPointer = 9, "NULL_POINTER", InvalidInput;
    /// No memory (or other object) with that id.
    NotFound = 10, "NOT_FOUND", NotFound;
    /// A batch carried more items than `limits.max_batch`; nothing was written.
    BatchTooLarge = 11, "BATCH_TOO_LARGE", InvalidInput;
    /// A memory's metadata was larger than `limits.max_metadata_bytes`; nothing was written.
    MetadataTooLarge = 12, "METADATA_TOO_LARGE", InvalidInput;
    /// SQLite or the file system failed.
    Storage = 20, "STORAGE", Storage;
    /// The store directory is locked by another process.
    Locked = 21, "LOCKED", Storage;
    /// The store directory cannot be created or written.
    NotWritable = 22, "NOT_WRITABLE", Storage;
    /// The store was written by a newer MemoRable.
    NewerVersion = 23, "NEWER_VERSION", Storage;
    /// On-disk data failed an integrity check.
    Corrupt = 24, "CORRUPT", Storage;
    /// A backup or restore target already exists (nothing is ever overwritten).
    DestinationExists = 25, "DESTINATION_EXISTS", Storage;
    /// A schema migration failed and was rolled back (the store is as it was).
    MigrationFailed = 26, "MIGRATION_FAILED", Storage;
    /// The write would take a user over `limits.max_memories_per_user` or
    /// `limits.max_bytes_per_user`; nothing was written.
    UserQuotaExceeded = 27, "USER_QUOTA_EXCEEDED", Storage;
    /// The store is at `limits.max_store_bytes`, or the write would take it over; nothing was
    /// written.
    StoreFull = 28, "STORE_FULL", Storage;
    /// An encrypted store (or sealed file) was opened without its key or with another key, or
    /// a plain store with a key; nothing was read or changed.
    WrongKey = 29, "WRONG_KEY", Storage;
    /// The embedding model failed or is missing.
    Model = 30, "MODEL", Model;
    /// The store's vectors were made by a different embedding model.
    ModelMismatch = 31, "MODEL_MISMATCH", Model;
    /// No installed version of a model has that name and version (model registry).
    ModelVersionNotFound = 32, "MODEL_VERSION_NOT_FOUND", Model;
    /// A model version failed its verification (checksums, load, smoke inference, probe
    /// parity) or its activation; it is marked failed and the active version is unchanged.
    ModelVerificationFailed = 33, "MODEL_VERIFICATION_FAILED", Model;
    /// `rollback` found no previous version to return to; nothing changed.
    NoPreviousVersion = 34, "NO_PREVIOUS_VERSION", Model;
    /// No emotion classifier is available (none shipped for this embedder, a file failed
    /// its checksum, or classification is off); the message says which.
    ClassifierUnavailable = 35, "CLASSIFIER_UNAVAILABLE", Model;
    /// An emotion classifier was paired with an encoder other than the one it was trained on.
    ClassifierMismatch = 36, "CLASSIFIER_MISMATCH", Model;
    /// A generator's answer did not have the form asked for (JSON mode), even after a retry.
    InvalidOutput = 37, "INVALID_OUTPUT", Model;
    /// No generator is configured or available (`generator = "none"`, or every candidate
    /// failed to load); the message says why.
    NoGenerator = 38, "NO_GENERATOR", Model;
    /// The handle was closed.
    Closed = 40, "CLOSED", Other;
    /// A Rust panic was caught at an FFI boundary.
    Panic = 50, "PANIC", Other;
    /// A bug: an invariant did not hold.
    Internal = 60, "INTERNAL", Other;
    /// Hume rejected the credentials (HTTP 401/403), or no API key was configured.
    HumeAuth = 70, "HUME_AUTH", Remote;
    /// Hume could not be reached (network, TLS, timeout, handshake), after the retries the
    /// reconnect policy allows.
    HumeConnection = 71, "HUME_CONNECTION", Remote;
    /// Hume rejected a request or ended a session with an error that needs a change on the
    /// caller's side (`config_invalid`, `audio_decode_failed`, ...); carries Hume's code.
    HumeRejected = 72, "HUME_REJECTED", Remote;
    /// Hume kept answering HTTP 429 after every retry.
    HumeRateLimited = 73, "HUME_RATE_LIMITED", Remote;
    /// Input over one of Hume's limits (frame, message or upload size), refused before
    /// anything was sent.
    HumeLimit = 74, "HUME_LIMIT", Remote;
    /// The Hume session already ended (closed, failed, or timed out).
    HumeSessionClosed = 75, "HUME_SESSION_CLOSED", Remote;
    /// A model server (Ollama, OpenAI-compatible) could not be reached, timed out, or kept
    /// answering 5xx after the retries.
    ServerUnavailable = 76, "SERVER_UNAVAILABLE", Remote;
    /// A model server refused the request: unknown model, bad request, or credentials.
    ServerRejected = 77, "SERVER_REJECTED", Remote;
    /// A model server answered with something that is not its protocol (malformed JSON or
    /// stream).
    ServerProtocol = 78, "SERVER_PROTOCOL", Remote;
    /// `memorable serve`: no API key, or a key the server does not know (HTTP 401).
    Unauthorized = 80, "UNAUTHORIZED", Other;
    /// `memorable serve`: the API key may not act for that user (HTTP 403).
    Forbidden = 81, "FORBIDDEN", Other;
    /// `memorable serve`: the key's rate limit was reached; retry after the answer's
    /// `Retry-After` (HTTP 429).
    RateLimited = 82, "RATE_LIMITED", Other;
    /// `memorable serve`: the request body was larger than `server.max_body_bytes` (HTTP 413).
    PayloadTooLarge = 83, "PAYLOAD_TOO_LARGE", InvalidInput;
    /// `memorable serve`: `server.max_in_flight` requests were running and none finished
    /// within `server.queue_timeout_ms` (HTTP 503); retry.
    Overloaded = 84, "OVERLOADED", Other;
    /// `memorable serve`: the request did not finish within `server.request_timeout_ms`
    /// (HTTP 503).
    Timeout = 85, "TIMEOUT", Other;
    /// The store's database server (PostgreSQL) cannot be reached or dropped the
    /// connection; nothing was written by the failed call. Retry: the connection is
    /// re-established on the next call.
    StoreUnavailable = 86, "STORE_UNAVAILABLE", Storage;
    /// The operation does not exist on this kind of store (an SQLite-only maintenance
    /// operation on a PostgreSQL store); nothing changed.
    Unsupported = 87, "UNSUPPORTED", InvalidInput;
}

impl ErrorCode {
    /// The code with this number (`None` for a number never assigned).
    pub fn from_u32(n: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| *c as u32 == n)
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = Error;
    /// A code by its stable name (`"EMPTY_TEXT"`).
    fn from_str(s: &str) -> Result<ErrorCode> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| Error::InvalidInput(format!("unknown error code name {s:?}")))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Families of error codes; each binding maps one family to one exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    InvalidInput,
    NotFound,
    Storage,
    Model,
    /// A remote service (Hume, a model server) failed or refused.
    Remote,
    Other,
}

impl ErrorCategory {
    /// The family as docs/errors.md names it (`"invalid input"`, `"not found"`, ...).
    pub fn label(self) -> &'static str {
        match self {
            ErrorCategory::InvalidInput => "invalid input",
            ErrorCategory::NotFound => "not found",
            ErrorCategory::Storage => "storage",
            ErrorCategory::Model => "model",
            ErrorCategory::Remote => "remote",
            ErrorCategory::Other => "other",
        }
    }
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
    #[error("a batch of {items} items is over the limit of {limit} (limits.max_batch)")]
    BatchTooLarge { items: usize, limit: usize },
    #[error("metadata of {bytes} bytes is over the limit of {limit} (limits.max_metadata_bytes)")]
    MetadataTooLarge { bytes: usize, limit: usize },
    #[error("no memory with id {0}")]
    NotFound(u64),
    #[error("no emotion context {0:?} (a context exists once it has had a reading)")]
    ContextNotFound(String),
    #[error("no job with id {0}")]
    JobNotFound(u64),
    #[error("no classifier named {0:?} (create it, or import examples into it)")]
    ClassifierNotFound(String),
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
    #[error("the user's quota would be exceeded: {0}; nothing was written")]
    UserQuotaExceeded(String),
    #[error("the store is full: {bytes} bytes on disk, the limit is {limit} (limits.max_store_bytes); nothing was written")]
    StoreFull { bytes: u64, limit: u64 },
    #[error("wrong encryption key: {0}")]
    WrongKey(String),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("{path} already exists; choose a new path (nothing is ever overwritten)")]
    DestinationExists { path: PathBuf },
    #[error("migration of the store schema from version {from} to {to} failed and was rolled back (the store is unchanged{backup}): {reason}")]
    MigrationFailed { from: u32, to: u32, reason: String, backup: String },
    #[error("model error: {0}")]
    Model(String),
    #[error(
        "the store's vectors were made by model {stored:?} but the embedder in use is {current:?}; open it with the same embedder, or re-embed it"
    )]
    ModelMismatch { stored: String, current: String },
    #[error("no installed model version {0}")]
    ModelVersionNotFound(String),
    #[error("model {model} failed verification: {reason}")]
    ModelVerificationFailed { model: String, reason: String },
    #[error("{0} has no previous version to roll back to; nothing changed")]
    NoPreviousVersion(String),
    #[error("emotion classification is unavailable: {0}")]
    ClassifierUnavailable(String),
    #[error(
        "the emotion classifier was trained on {trained_on:?} but the encoder offered is {offered:?}; it only runs on the encoder it was trained on"
    )]
    ClassifierMismatch { trained_on: String, offered: String },
    #[error("the model's answer is not valid: {0}")]
    InvalidOutput(String),
    #[error("no generator is available: {0}")]
    NoGenerator(String),
    #[error("this Memorable handle is closed")]
    Closed,
    #[error("panic: {0}")]
    Panic(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("Hume authentication failed: {0}")]
    HumeAuth(String),
    #[error("cannot reach Hume: {0}")]
    HumeConnection(String),
    #[error("Hume rejected the request ({code}): {message}")]
    HumeRejected { code: String, message: String },
    #[error("Hume is rate-limiting requests (HTTP 429) and every retry was refused: {0}")]
    HumeRateLimited(String),
    #[error("{0} (a Hume limit, checked before sending: nothing was sent)")]
    HumeLimit(String),
    #[error("the Hume session has ended: {0}")]
    HumeSessionClosed(String),
    #[error("the model server is unavailable: {0}")]
    ServerUnavailable(String),
    #[error("the model server refused the request: {0}")]
    ServerRejected(String),
    #[error("the model server broke its protocol: {0}")]
    ServerProtocol(String),
    #[error("the store's database is unavailable: {0}")]
    StoreUnavailable(String),
    #[error("not supported: {0}")]
    Unsupported(String),
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
            Error::NotFound(_)
            | Error::ContextNotFound(_)
            | Error::JobNotFound(_)
            | Error::ClassifierNotFound(_) => ErrorCode::NotFound,
            Error::Storage(_) => ErrorCode::Storage,
            Error::Locked { .. } => ErrorCode::Locked,
            Error::NotWritable { .. } => ErrorCode::NotWritable,
            Error::NewerVersion { .. } => ErrorCode::NewerVersion,
            Error::Corrupt(_) => ErrorCode::Corrupt,
            Error::DestinationExists { .. } => ErrorCode::DestinationExists,
            Error::MigrationFailed { .. } => ErrorCode::MigrationFailed,
            Error::BatchTooLarge { .. } => ErrorCode::BatchTooLarge,
            Error::MetadataTooLarge { .. } => ErrorCode::MetadataTooLarge,
            Error::UserQuotaExceeded(_) => ErrorCode::UserQuotaExceeded,
            Error::StoreFull { .. } => ErrorCode::StoreFull,
            Error::WrongKey(_) => ErrorCode::WrongKey,
            Error::Model(_) => ErrorCode::Model,
            Error::ModelVersionNotFound(_) => ErrorCode::ModelVersionNotFound,
            Error::ModelVerificationFailed { .. } => ErrorCode::ModelVerificationFailed,
            Error::NoPreviousVersion(_) => ErrorCode::NoPreviousVersion,
            Error::ModelMismatch { .. } => ErrorCode::ModelMismatch,
            Error::ClassifierUnavailable(_) => ErrorCode::ClassifierUnavailable,
            Error::ClassifierMismatch { .. } => ErrorCode::ClassifierMismatch,
            Error::InvalidOutput(_) => ErrorCode::InvalidOutput,
            Error::NoGenerator(_) => ErrorCode::NoGenerator,
            Error::Closed => ErrorCode::Closed,
            Error::Panic(_) => ErrorCode::Panic,
            Error::Internal(_) => ErrorCode::Internal,
            Error::HumeAuth(_) => ErrorCode::HumeAuth,
            Error::HumeConnection(_) => ErrorCode::HumeConnection,
            Error::HumeRejected { .. } => ErrorCode::HumeRejected,
            Error::HumeRateLimited(_) => ErrorCode::HumeRateLimited,
            Error::HumeLimit(_) => ErrorCode::HumeLimit,
            Error::HumeSessionClosed(_) => ErrorCode::HumeSessionClosed,
            Error::ServerUnavailable(_) => ErrorCode::ServerUnavailable,
            Error::ServerRejected(_) => ErrorCode::ServerRejected,
            Error::ServerProtocol(_) => ErrorCode::ServerProtocol,
            Error::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
            Error::Unsupported(_) => ErrorCode::Unsupported,
        }
    }
}

impl Error {
    /// This error of the `i`-th element of a batch, named in its message (`"item 3: ..."`,
    /// `"reading 0: ..."`) when the message is the caller's to read; the code is unchanged.
    /// Every batch call of the core and of every binding names its failing element this way.
    pub fn in_item(self, what: &str, i: usize) -> Error {
        match self {
            Error::InvalidInput(m) => Error::InvalidInput(format!("{what} {i}: {m}")),
            Error::InvalidMetadata(m) => Error::InvalidMetadata(format!("{what} {i}: {m}")),
            Error::InvalidVector(m) => Error::InvalidVector(format!("{what} {i}: {m}")),
            other => {
                tracing::debug!(item = i, what, "batch element rejected");
                other
            }
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
        assert_eq!(ErrorCode::HumeAuth as u32, 70);
        assert_eq!(ErrorCode::HumeSessionClosed as u32, 75);
        assert_eq!(ErrorCode::HumeLimit.category(), ErrorCategory::Remote);
        assert_eq!(ErrorCode::DestinationExists as u32, 25);
        assert_eq!(ErrorCode::MigrationFailed as u32, 26);
        assert_eq!(ErrorCode::MigrationFailed.category(), ErrorCategory::Storage);
        let mut last = 0;
        for c in ErrorCode::ALL {
            assert!(*c as u32 > last, "ErrorCode::ALL is in numeric order");
            last = *c as u32;
        }
    }
}
