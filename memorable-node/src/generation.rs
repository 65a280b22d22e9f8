//! `generate`, `consolidate` and jobs. Generation and consolidation run off the JS thread
//! (Promises); streamed text and progress reach their JS callbacks on the JS thread, each
//! call waited for so that `false` can stop the work.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use memorable_core as core;
use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task, ValueType};
use napi_derive::napi;
use serde_json::Value;

use crate::error::{async_error, panic_message, sync_error};
use crate::handle::Memorable;
use crate::task::Job;
use crate::values::{js_id, Date};

type Code = &'static str;

/// One chat message.
#[napi(object)]
pub struct ChatMessage {
    #[napi(ts_type = "'system' | 'user' | 'assistant'")]
    pub role: String,
    pub content: String,
}

/// What to generate: a `prompt` (the user's message of a chat, or with `raw` a plain
/// completion) or `messages`.
#[napi(object)]
pub struct GenerateRequest {
    pub prompt: Option<String>,
    pub messages: Option<Vec<ChatMessage>>,
    /// Send the prompt without the chat template.
    pub raw: Option<bool>,
    /// A system message before the prompt.
    pub system: Option<String>,
    /// Default 256.
    pub max_tokens: Option<u32>,
    /// Default 0 (greedy).
    pub temperature: Option<f64>,
    /// Default 1.
    pub top_p: Option<f64>,
    /// Default 0: the same seed repeats a sampled answer.
    pub seed: Option<i64>,
    pub stop: Option<Vec<String>>,
    /// Ask for JSON and check the answer parses (one retry, then INVALID_OUTPUT).
    pub json: Option<bool>,
    /// Text the answer begins with (the local model continues it; servers ignore it).
    pub answer_prefix: Option<String>,
}

impl GenerateRequest {
    fn into_core(self) -> core::Result<core::GenerateRequest> {
        let messages = self
            .messages
            .map(|m| {
                m.into_iter()
                    .map(|m| Ok(core::ChatMessage::new(m.role.parse()?, m.content)))
                    .collect::<core::Result<Vec<_>>>()
            })
            .transpose()?;
        let request =
            core::GenerateRequest::from_parts(self.prompt, messages, self.raw.unwrap_or(false), self.system)?;
        let d = core::GenerateRequest::default();
        Ok(request
            .max_tokens(self.max_tokens.map_or(d.max_tokens, |n| n as usize))
            .temperature(self.temperature.map_or(d.temperature, |t| t as f32))
            .top_p(self.top_p.map_or(d.top_p, |t| t as f32))
            .seed(self.seed.map_or(0, |s| s as u64))
            .stop(self.stop.unwrap_or_default())
            .json(self.json.unwrap_or(false)))
        .map(|r| match self.answer_prefix {
            Some(p) => r.answer_prefix(p),
            None => r,
        })
    }
}

/// A generated answer.
#[napi(object)]
pub struct Generation {
    pub text: String,
    pub tokens: Vec<u32>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    #[napi(ts_type = "'stop' | 'length'")]
    pub finish_reason: String,
    pub model: String,
}

impl From<core::Generation> for Generation {
    fn from(g: core::Generation) -> Self {
        Generation {
            text: g.text,
            tokens: g.tokens,
            prompt_tokens: g.prompt_tokens as u32,
            completion_tokens: g.completion_tokens as u32,
            finish_reason: g.finish_reason.to_string(),
            model: g.model,
        }
    }
}

/// Options of `consolidate`.
#[napi(object)]
pub struct ConsolidateOptions {
    pub session: Option<String>,
    pub since: Option<Date>,
    pub until: Option<Date>,
}

fn consolidate_request(user: String, o: Option<ConsolidateOptions>) -> core::ConsolidateRequest {
    let mut r = core::ConsolidateRequest::new(user);
    if let Some(o) = o {
        r.session = o.session;
        r.since = o.since.map(|d| d.0);
        r.until = o.until.map(|d| d.0);
    }
    r
}

/// A JS callback of streamed text, called on the JS thread.
pub type TextCallback = ThreadsafeFunction<String, Unknown<'static>, String, Status, false>;
/// A JS progress callback of consolidation (the progress as a plain object).
pub type JsonCallback = ThreadsafeFunction<Value, Unknown<'static>, Value, Status, false>;

/// Call a JS callback and wait for it: `Ok(false)` when it returned `false`.
pub(crate) fn call_js<T: 'static + Send + napi::bindgen_prelude::ToNapiValue>(
    callback: &ThreadsafeFunction<T, Unknown<'static>, T, Status, false>,
    value: T,
) -> napi::Result<bool> {
    let (tx, rx) = mpsc::sync_channel(1);
    let status = callback.call_with_return_value(
        value,
        ThreadsafeFunctionCallMode::Blocking,
        move |ret: napi::Result<Unknown<'static>>, _env| {
            let go_on = ret.and_then(|v| {
                // SAFETY: cast only after checking the value is a boolean.
                Ok(v.get_type()? != ValueType::Boolean || unsafe { v.cast::<bool>() }?)
            });
            let _ = tx.send(go_on);
            Ok(())
        },
    );
    if status != Status::Ok {
        return Err(napi::Error::new(status, "calling the callback failed"));
    }
    rx.recv().unwrap_or_else(|_| {
        Err(napi::Error::from_reason("the callback was dropped (is Node.js shutting down?)"))
    })
}

/// `generate` off the JS thread.
pub struct Generate {
    inner: core::Memorable,
    request: Option<core::Result<core::GenerateRequest>>,
    on_text: Option<TextCallback>,
}

impl Task for Generate {
    type Output = (core::Result<core::Generation>, Option<napi::Error>);
    type JsValue = Generation;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let on_text = self.on_text.take();
        let request = self.request.take().ok_or_else(|| napi::Error::from_reason("task already ran"))?;
        let mut thrown = None;
        let mut stream = |piece: &str| match &on_text {
            None => true,
            Some(cb) => call_js(cb, piece.to_owned()).unwrap_or_else(|e| {
                thrown = Some(e);
                false
            }),
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            request.and_then(|r| self.inner.generate_stream(&r, &mut stream))
        }))
        .unwrap_or_else(|p| Err(core::Error::Panic(panic_message(p))));
        Ok((result, thrown))
    }

    fn resolve(&mut self, env: Env, (result, thrown): Self::Output) -> napi::Result<Generation> {
        if let Some(thrown) = thrown {
            return Err(thrown);
        }
        result.map(Into::into).map_err(|e| async_error(&env, e))
    }
}

/// One memory consolidation wrote.
#[napi(object)]
pub struct ConsolidatedMemory {
    pub id: i64,
    pub kind: String,
    pub session: Option<String>,
    pub text: String,
    pub derived_from: Vec<i64>,
    #[napi(ts_type = "'generator' | 'extractive'")]
    pub path: String,
}

impl From<core::ConsolidatedMemory> for ConsolidatedMemory {
    fn from(m: core::ConsolidatedMemory) -> Self {
        ConsolidatedMemory {
            id: js_id(m.id),
            kind: m.kind,
            session: m.session,
            text: m.text,
            derived_from: m.derived_from.into_iter().map(js_id).collect(),
            path: m.path.to_string(),
        }
    }
}

/// What a consolidation did.
#[napi(object)]
pub struct ConsolidationReport {
    pub job: i64,
    pub user: String,
    /// `generator` when the generator wrote every session's memories, else `extractive`.
    #[napi(ts_type = "'generator' | 'extractive'")]
    pub path: String,
    pub model: Option<String>,
    pub sessions: u32,
    pub source_memories: u32,
    pub summaries: Vec<ConsolidatedMemory>,
    pub facts: Vec<ConsolidatedMemory>,
    pub warnings: Vec<String>,
    pub cancelled: bool,
    pub duration_ms: f64,
}

impl From<core::ConsolidationReport> for ConsolidationReport {
    fn from(r: core::ConsolidationReport) -> Self {
        ConsolidationReport {
            job: js_id(r.job),
            user: r.user,
            path: r.path.to_string(),
            model: r.model,
            sessions: r.sessions as u32,
            source_memories: r.source_memories as u32,
            summaries: r.summaries.into_iter().map(Into::into).collect(),
            facts: r.facts.into_iter().map(Into::into).collect(),
            warnings: r.warnings,
            cancelled: r.cancelled,
            duration_ms: r.duration_ms,
        }
    }
}

/// `consolidate` off the JS thread.
pub struct Consolidate {
    inner: core::Memorable,
    request: core::ConsolidateRequest,
    on_progress: Option<JsonCallback>,
}

impl Task for Consolidate {
    type Output = (core::Result<core::ConsolidationReport>, Option<napi::Error>);
    type JsValue = ConsolidationReport;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let on_progress = self.on_progress.take();
        let mut thrown = None;
        let mut progress = |p: &core::ConsolidationProgress| match &on_progress {
            None => true,
            Some(cb) => call_js(cb, serde_json::to_value(p).unwrap_or(Value::Null)).unwrap_or_else(|e| {
                thrown = Some(e);
                false
            }),
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.inner.consolidate_with_progress(&self.request, &mut progress)
        }))
        .unwrap_or_else(|p| Err(core::Error::Panic(panic_message(p))));
        Ok((result, thrown))
    }

    fn resolve(&mut self, env: Env, (result, thrown): Self::Output) -> napi::Result<ConsolidationReport> {
        if let Some(thrown) = thrown {
            return Err(thrown);
        }
        result.map(Into::into).map_err(|e| async_error(&env, e))
    }
}

pub(crate) fn to_json<T: serde::Serialize>(v: T) -> napi::Result<Value, Code> {
    serde_json::to_value(v).map_err(|e| sync_error(e.into()))
}

#[napi]
impl Memorable {
    /// Generate text with the store's generator (loaded on first use; never on the write
    /// path). `onText(piece)` receives the text as it is generated; returning `false` stops.
    /// Rejects with `NO_GENERATOR` when there is none.
    #[napi(
        ts_args_type = "request: GenerateRequest, onText?: (piece: string) => boolean | void",
        ts_return_type = "Promise<Generation>"
    )]
    pub fn generate(&self, request: GenerateRequest, on_text: Option<TextCallback>) -> AsyncTask<Generate> {
        AsyncTask::new(Generate { inner: self.inner.clone(), request: Some(request.into_core()), on_text })
    }

    /// How the generator was chosen: requested, chosen, modelId, decisions, ...
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn generator_report(&self) -> napi::Result<Value, Code> {
        to_json(self.inner.generator_report().map_err(sync_error)?)
    }

    /// Take the model registry's active versions (after an update, activate or rollback)
    /// without closing the handle; models given at open stay.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn reload_models(&self) -> AsyncTask<Job<()>> {
        let inner = self.inner.clone();
        AsyncTask::new(Job::new(move || inner.reload_models()))
    }

    /// Consolidate a user's memories into one `summary` memory per session and `fact`
    /// memories, each with `derived_from` its sources, with the generator or extractively.
    /// `onProgress(progress)` after each session (`{ job, sessions_done, sessions_total,
    /// summaries, facts }`); returning `false` cancels.
    #[napi(
        ts_args_type = "user: string, options?: ConsolidateOptions, onProgress?: (progress: Record<string, unknown>) => boolean | void",
        ts_return_type = "Promise<ConsolidationReport>"
    )]
    pub fn consolidate(
        &self,
        user: String,
        options: Option<ConsolidateOptions>,
        on_progress: Option<JsonCallback>,
    ) -> AsyncTask<Consolidate> {
        AsyncTask::new(Consolidate {
            inner: self.inner.clone(),
            request: consolidate_request(user, options),
            on_progress,
        })
    }

    /// Start a consolidation in the background; returns its job id.
    #[napi]
    pub fn consolidate_in_background(
        &self,
        user: String,
        options: Option<ConsolidateOptions>,
    ) -> napi::Result<i64, Code> {
        self.inner
            .consolidate_in_background(&consolidate_request(user, options))
            .map(js_id)
            .map_err(sync_error)
    }

    /// A job: { id, kind, state, user, params, progress, result, error, log, created_at,
    /// updated_at }. Throws `NOT_FOUND` for an unknown id.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn job(&self, id: i64) -> napi::Result<Value, Code> {
        to_json(self.inner.job(id.max(0) as u64).map_err(sync_error)?)
    }

    /// The newest jobs.
    #[napi(ts_return_type = "Array<Record<string, any>>")]
    pub fn jobs(&self) -> napi::Result<Value, Code> {
        to_json(self.inner.jobs().map_err(sync_error)?)
    }

    /// Ask a running job to stop (what it wrote stays); returns the job.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn cancel_job(&self, id: i64) -> napi::Result<Value, Code> {
        to_json(self.inner.cancel_job(id.max(0) as u64).map_err(sync_error)?)
    }
}
