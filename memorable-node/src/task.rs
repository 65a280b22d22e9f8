//! [`Job`]: one core call run on the libuv thread pool as an `AsyncTask`, so heavy calls
//! (open, remember, recall, update) return Promises and never block the event loop.
//! [`Reembed`]: the same for `reembed`, whose progress callback runs on the JS thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use memorable_core as core;
use napi::bindgen_prelude::{ToNapiValue, TypeName, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task, ValueType};

use crate::error::{async_error, panic_message};
use crate::types::{ReembedProgress, ReembedReport};

type Work<T> = Box<dyn FnOnce() -> core::Result<T> + Send>;

/// A core call and the conversion of its result, run off the JS thread.
pub struct Job<T> {
    work: Option<Work<T>>,
}

impl<T> Job<T> {
    pub fn new(work: impl FnOnce() -> core::Result<T> + Send + 'static) -> Self {
        Job { work: Some(Box::new(work)) }
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Job<T> {
    type Output = core::Result<T>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take().ok_or_else(|| napi::Error::from_reason("task already ran"))?;
        // A panic must not unwind into libuv: report it as a PANIC error instead.
        Ok(catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|p| Err(core::Error::Panic(panic_message(p)))))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|e| async_error(&env, e))
    }
}

/// The JS progress callback of `reembed`, called on the JS thread through a threadsafe
/// function; its return value is read as a JS value (`false` pauses).
pub type ProgressCallback =
    ThreadsafeFunction<ReembedProgress, Unknown<'static>, ReembedProgress, Status, false>;

/// `Memorable::reembed` run off the JS thread. Each progress report blocks the worker until
/// the JS callback has returned; a callback that throws pauses the migration (the core sees
/// `false`) and its exception rejects the Promise once the core call has returned.
pub struct Reembed {
    inner: core::Memorable,
    model: String,
    on_progress: Option<ProgressCallback>,
}

impl Reembed {
    pub fn new(inner: core::Memorable, model: String, on_progress: Option<ProgressCallback>) -> Self {
        Reembed { inner, model, on_progress }
    }
}

impl Task for Reembed {
    /// The core's result, and what the callback threw (if it did).
    type Output = (core::Result<core::ReembedReport>, Option<napi::Error>);
    type JsValue = ReembedReport;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let on_progress = self.on_progress.take();
        let mut thrown = None;
        let mut progress = |p: &core::ReembedProgress| match &on_progress {
            None => true,
            Some(callback) => call_progress(callback, p).unwrap_or_else(|e| {
                thrown = Some(e);
                false
            }),
        };
        let result = catch_unwind(AssertUnwindSafe(|| self.inner.reembed(&self.model, &mut progress)))
            .unwrap_or_else(|p| Err(core::Error::Panic(panic_message(p))));
        Ok((result, thrown))
    }

    fn resolve(&mut self, env: Env, (result, thrown): Self::Output) -> napi::Result<ReembedReport> {
        if let Some(thrown) = thrown {
            return Err(thrown);
        }
        result.map(Into::into).map_err(|e| async_error(&env, e))
    }
}

/// Call the JS callback with `p` and wait for it: `Ok(false)` when it returned `false`.
fn call_progress(callback: &ProgressCallback, p: &core::ReembedProgress) -> napi::Result<bool> {
    let (tx, rx) = mpsc::sync_channel(1);
    let status = callback.call_with_return_value(
        p.clone().into(),
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
        return Err(napi::Error::new(status, "calling the reembed progress callback failed"));
    }
    rx.recv().unwrap_or_else(|_| {
        Err(napi::Error::from_reason("the reembed progress callback was dropped (is Node.js shutting down?)"))
    })
}
