//! JS values that every shape uses: `Date`, ids and numbers with their shortest decimal form.

use std::collections::BTreeMap;
use std::ptr;

use memorable_core as core;
use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{check_status, sys, Status, ValueType};
use time::OffsetDateTime;

/// A JS `Date` (millisecond precision) as the core's `OffsetDateTime` (UTC).
/// Named `Date` so the generated TypeScript says `Date`.
pub struct Date(pub OffsetDateTime);

impl TypeName for Date {
    fn type_name() -> &'static str {
        "Date"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for Date {
    unsafe fn validate(env: sys::napi_env, value: sys::napi_value) -> napi::Result<sys::napi_value> {
        let mut is_date = false;
        check_status!(unsafe { sys::napi_is_date(env, value, &mut is_date) })?;
        if !is_date {
            return Err(napi::Error::new(Status::DateExpected, "expected a Date"));
        }
        Ok(ptr::null_mut())
    }
}

impl FromNapiValue for Date {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut ms = 0.0;
        check_status!(unsafe { sys::napi_get_date_value(env, value, &mut ms) }, "expected a Date")?;
        let at = if ms.is_finite() {
            OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
        } else {
            None
        };
        at.map(Date)
            .ok_or_else(|| napi::Error::new(Status::DateExpected, "invalid Date (out of range or NaN)"))
    }
}

impl ToNapiValue for Date {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let ms = (val.0.unix_timestamp_nanos() / 1_000_000) as f64;
        let mut out = ptr::null_mut();
        check_status!(unsafe { sys::napi_create_date(env, ms, &mut out) }, "creating a Date failed")?;
        Ok(out)
    }
}

pub(crate) fn date(d: Option<Date>) -> Option<OffsetDateTime> {
    d.map(|d| d.0)
}

pub(crate) fn f32s(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|x| x as f32).collect()
}

/// Memory ids are u64 in the core and plain JS numbers here (exact below 2^53).
pub fn memory_id(id: i64) -> core::Result<core::MemoryId> {
    u64::try_from(id)
        .map_err(|_| core::Error::InvalidInput(format!("memory ids are non-negative integers, got {id}")))
}

pub(crate) fn js_id(id: core::MemoryId) -> i64 {
    id as i64
}

/// An f32 as the JS number with the same shortest decimal form (0.7f32 → 0.7, not
/// 0.699999988079071), so a value given to `remember` reads back as written.
pub(crate) fn js_f32(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// Scores as JS numbers with their shortest decimal form.
pub(crate) fn f32_map(m: BTreeMap<String, f32>) -> BTreeMap<String, f64> {
    m.into_iter().map(|(k, v)| (k, js_f32(v))).collect()
}
