//! Node.js binding of MemoRable (napi-rs v3). Each method extracts its arguments, makes one
//! core call and converts the result; all behaviour lives in `memorable-core`.
//!
//! Heavy calls (`open`, `remember`, `rememberBatch`, `recall`, `update`, `reembed`,
//! `classify`) run on the libuv thread pool as `AsyncTask`s and return Promises; cheap calls
//! are synchronous. Errors are JS `Error`s whose `code` is the core's stable code name
//! (`"EMPTY_TEXT"`, `"NOT_FOUND"`, ...).

mod classifiers;
mod classify;
mod emotion;
mod error;
mod generation;
mod handle;
mod hume;
mod ops;
mod task;
mod types;
mod values;

use memorable_core as core;
use napi::bindgen_prelude::{AsyncTask, Either};
use napi_derive::napi;
use serde_json::Value;

use crate::error::sync_error;
pub use crate::error::{error_codes, ErrorCodeInfo};
pub use crate::handle::Memorable;
use crate::task::{Job, ProgressCallback, Reembed};
use crate::types::{
    config_json, memory_id, Memory, MemoryVersion, RecallOptions, Recalled, RecentOptions, RememberItem,
    RememberOptions, SelectionReport, Stats, UpdateOptions,
};

/// Synchronous methods throw errors whose `code` is the core's stable code name.
type Code = &'static str;

#[napi]
impl Memorable {
    /// Open (or create) the store in directory `path`. `options` are the core `Config` fields,
    /// camelCase (`maxTextChars`) or snake_case (`max_text_chars`).
    #[napi(
        ts_args_type = "path: string, options?: Record<string, unknown>",
        ts_return_type = "Promise<Memorable>"
    )]
    pub fn open(path: String, options: Option<Value>) -> AsyncTask<Job<Memorable>> {
        let json = config_json(options);
        AsyncTask::new(Job::new(move || {
            let config = core::Config::from_json(&json)?;
            let inner = core::Memorable::builder(path).config(config).open()?;
            Ok(Memorable { inner })
        }))
    }

    /// A store that lives in memory and vanishes with the handle.
    #[napi(ts_args_type = "options?: Record<string, unknown>")]
    pub fn open_in_memory(options: Option<Value>) -> napi::Result<Memorable, Code> {
        let config = core::Config::from_json(&config_json(options)).map_err(sync_error)?;
        let inner = core::Builder::in_memory().config(config).open().map_err(sync_error)?;
        Ok(Memorable { inner })
    }

    /// Persist everything and release the store; later calls fail with code `CLOSED`.
    /// Closing twice is fine.
    #[napi]
    pub fn close(&self) -> napi::Result<(), Code> {
        self.inner.close().map_err(sync_error)
    }

    /// Store one memory; resolves to its id once it is durable.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn remember(&self, text: String, options: RememberOptions) -> AsyncTask<Job<i64>> {
        let (inner, memory) = (self.inner.clone(), options.into_core(text));
        AsyncTask::new(Job::new(move || inner.remember(memory).map(|id| id as i64)))
    }

    /// Store many memories in one transaction (all or nothing); resolves to their ids.
    #[napi(ts_return_type = "Promise<Array<number>>")]
    pub fn remember_batch(&self, items: Vec<RememberItem>) -> AsyncTask<Job<Vec<i64>>> {
        let inner = self.inner.clone();
        let memories: Vec<core::NewMemory> = items.into_iter().map(Into::into).collect();
        AsyncTask::new(Job::new(move || {
            inner.remember_batch(memories).map(|ids| ids.into_iter().map(|id| id as i64).collect())
        }))
    }

    /// Find a user's memories by meaning and keywords (or one of them, with `mode`), best first.
    #[napi(ts_return_type = "Promise<Array<Recalled>>")]
    pub fn recall(&self, query: String, options: RecallOptions) -> AsyncTask<Job<Vec<Recalled>>> {
        let (inner, request) = (self.inner.clone(), options.into_core(query));
        AsyncTask::new(Job::new(move || {
            inner.recall(&request?).map(|hits| hits.into_iter().map(Into::into).collect())
        }))
    }

    /// A user's memories, newest first (by when they occurred): `recent(user, window?)` for
    /// the memories in a window before now ("short" | "medium" | "long" | seconds), or
    /// `recent(options)` with the filters of `recall`.
    #[napi(
        ts_args_type = "userOrOptions: string | RecentOptions, window?: 'short' | 'medium' | 'long' | number"
    )]
    pub fn recent(
        &self,
        user_or_options: Either<String, RecentOptions>,
        window: Option<serde_json::Value>,
    ) -> napi::Result<Vec<Memory>, Code> {
        let request = match user_or_options {
            Either::A(user) => {
                let mut r = core::Recall::new(user, "").limit(core::RECENT_LIMIT);
                r.window = types::window(window).map_err(sync_error)?;
                r
            }
            Either::B(options) => {
                let mut r = options.into_core(String::new()).map_err(sync_error)?;
                if let Some(w) = types::window(window).map_err(sync_error)? {
                    r.window = Some(w);
                }
                r
            }
        };
        let memories = self.inner.recent_matching(&request).map_err(sync_error)?;
        Ok(memories.into_iter().map(Into::into).collect())
    }

    /// Who / what / when / where of the user's memories in `window` before now (all of them
    /// when omitted); `emotion` is the current dominant emotion or null.
    #[napi(
        ts_args_type = "user: string, window?: 'short' | 'medium' | 'long' | number",
        ts_return_type = "ContextFrame"
    )]
    pub fn context_frame(
        &self,
        user: String,
        window: Option<serde_json::Value>,
    ) -> napi::Result<serde_json::Value, Code> {
        let window = types::window(window).map_err(sync_error)?;
        let frame = self.inner.context_frame(&user, window).map_err(sync_error)?;
        serde_json::to_value(frame).map_err(|e| sync_error(core::Error::from(e)))
    }

    /// The memory with this id (code `NOT_FOUND` if there is none).
    #[napi]
    pub fn get(&self, id: i64) -> napi::Result<Memory, Code> {
        let id = memory_id(id).map_err(sync_error)?;
        self.inner.get(id).map(Into::into).map_err(sync_error)
    }

    /// Change a memory; resolves to the updated memory. A new text is re-embedded and the
    /// previous version kept in the history.
    #[napi(ts_return_type = "Promise<Memory>")]
    pub fn update(&self, id: i64, changes: UpdateOptions) -> AsyncTask<Job<Memory>> {
        let (inner, update) = (self.inner.clone(), core::MemoryUpdate::from(changes));
        AsyncTask::new(Job::new(move || inner.update(memory_id(id)?, update).map(Into::into)))
    }

    /// Every user holding memories (ids starting with `prefix`, if given), by id, with how
    /// many memories each holds.
    #[napi]
    pub fn users(&self, prefix: Option<String>) -> napi::Result<Vec<UserMemories>, Code> {
        let users = self.inner.users(prefix.as_deref()).map_err(sync_error)?;
        Ok(users.into_iter().map(|u| UserMemories { user: u.user, memories: u.memories as i64 }).collect())
    }

    /// The memories derived from this one (a consolidation's summaries and facts), by id.
    #[napi]
    pub fn derived(&self, id: i64) -> napi::Result<Vec<Memory>, Code> {
        let id = memory_id(id).map_err(sync_error)?;
        let memories = self.inner.derived(id).map_err(sync_error)?;
        Ok(memories.into_iter().map(Into::into).collect())
    }

    /// Every version of a memory, oldest first; the last one is current.
    #[napi]
    pub fn history(&self, id: i64) -> napi::Result<Vec<MemoryVersion>, Code> {
        let id = memory_id(id).map_err(sync_error)?;
        let versions = self.inner.history(id).map_err(sync_error)?;
        Ok(versions.into_iter().map(Into::into).collect())
    }

    /// Erase a memory: its row, vector, keywords and history.
    #[napi]
    pub fn forget(&self, id: i64) -> napi::Result<(), Code> {
        let id = memory_id(id).map_err(sync_error)?;
        self.inner.forget(id).map_err(sync_error)
    }

    /// Erase everything of a user; returns how many memories were removed.
    #[napi]
    pub fn forget_user(&self, user: String) -> napi::Result<i64, Code> {
        self.inner.forget_user(&user).map(|n| n as i64).map_err(sync_error)
    }

    /// Counts, embedder in use, and health of the loaded indexes.
    #[napi]
    pub fn stats(&self) -> napi::Result<Stats, Code> {
        self.inner.stats().map(Into::into).map_err(sync_error)
    }

    /// How the embedding model was chosen: environment, candidates, reasons, limits.
    #[napi]
    pub fn selection_report(&self) -> napi::Result<SelectionReport, Code> {
        self.inner.selection_report().map(Into::into).map_err(sync_error)
    }

    /// Migrate the store's vectors to the catalog model `model` (e.g. `"minilm"`), batch by
    /// batch; resolves once it is done or paused. `onProgress` is called on the JS thread
    /// after every committed batch; returning `false` pauses (`completed: false`), and a later
    /// call resumes. If it throws, the migration pauses and the Promise rejects with that error.
    #[napi(
        ts_args_type = "model: string, onProgress?: (progress: ReembedProgress) => boolean | void",
        ts_return_type = "Promise<ReembedReport>"
    )]
    pub fn reembed(&self, model: String, on_progress: Option<ProgressCallback>) -> AsyncTask<Reembed> {
        AsyncTask::new(Reembed::new(self.inner.clone(), model, on_progress))
    }

    /// Dump changed indexes and fold the write-ahead log into the database.
    #[napi]
    pub fn checkpoint(&self) -> napi::Result<(), Code> {
        self.inner.checkpoint().map_err(sync_error)
    }
}

/// A user holding memories, as listed by `users()`.
#[napi(object)]
pub struct UserMemories {
    pub user: String,
    pub memories: i64,
}
