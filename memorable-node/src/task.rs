//! [`Job`]: one core call run on the libuv thread pool as an `AsyncTask`, so heavy calls
//! (open, remember, recall, update) return Promises and never block the event loop.

use std::panic::{catch_unwind, AssertUnwindSafe};

use memorable_core as core;
use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{async_error, panic_message};

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
