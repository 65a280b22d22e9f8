//! What a store directory holds and the meta keys its database carries: one list, read by
//! the engine, maintenance (backup, verify, restore) and health alike.

/// File name of the SQLite database inside a store directory.
pub const DB_FILE: &str = "memorable.db";
/// File whose OS lock marks the store as open by one process.
pub const LOCK_FILE: &str = "LOCK";
/// Directory of index dumps inside a store directory.
pub(crate) const INDEX_DIR: &str = "index";
/// Meta key recording the embedder whose vectors the store holds.
pub(crate) const META_MODEL_ID: &str = "embedder_model_id";
/// Meta key of a re-embedding in progress: the model id it migrates to.
pub(crate) const META_REEMBED_TARGET: &str = "reembed_target_model_id";
/// Meta key of a re-embedding in progress: memories done so far.
pub(crate) const META_REEMBED_DONE: &str = "reembed_done";

/// Row id of a user in the `users` table (names are resolved once per call).
pub(crate) type UserKey = i64;
/// Row id of a vector; changes whenever a memory is re-embedded.
pub(crate) type VectorId = u64;
