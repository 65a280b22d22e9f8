//! Type conversions between Python values and core types: JSON-compatible values
//! (metadata, config), timezone-aware datetimes, and the dicts of `remember_batch`.
//!
//! Conversion failures that the core would report (metadata not JSON, a naive datetime,
//! an unknown key) are raised as core errors so they carry a stable code.

use memorable_core::{Error, NewMemory};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyTzInfo};
use serde_json::{Map, Number, Value};
use time::{OffsetDateTime, UtcDateTime};

use crate::errors::to_py;

/// Deepest nesting accepted in a JSON-compatible value (guards against cycles).
const MAX_JSON_DEPTH: usize = 128;

/// A JSON-compatible Python value (dict with str keys, list, tuple, str, int, float, bool,
/// None) as a JSON value; the error names the offending part.
pub fn json_from_py(obj: &Bound<'_, PyAny>) -> Result<Value, String> {
    json_from_py_at(obj, 0)
}

fn json_from_py_at(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, String> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!("nested deeper than {MAX_JSON_DEPTH} levels (or cyclic)"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int subclass.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(format!("integer {obj} does not fit in 64 bits"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("{f} is not a JSON number"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str().map_err(|e| e.to_string())?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| format!("dict key {k:?} is not a str"))?;
            map.insert(key.to_str().map_err(|e| e.to_string())?.to_owned(), json_from_py_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = obj.extract().map_err(|e: PyErr| e.to_string())?;
        return items
            .iter()
            .map(|v| json_from_py_at(v, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(format!("a value of type {type_name} is not JSON-compatible"))
}

/// A JSON value as the plain Python value (dict, list, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|v| json_to_py(py, v)).collect::<PyResult<Vec<_>>>()?)?
                .into_any()
        }
        Value::Object(map) => map_to_py(py, map)?.into_any(),
    })
}

/// A JSON object as a Python dict.
pub fn map_to_py<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, json_to_py(py, v)?)?;
    }
    Ok(dict)
}

/// Metadata given by the caller, as JSON (the core checks that it is an object).
pub fn metadata_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    json_from_py(obj).map_err(|e| to_py(obj.py(), Error::InvalidMetadata(e)))
}

/// A timezone-aware `datetime`; naive datetimes are rejected (InvalidInputError) rather
/// than guessed to be UTC or local time.
pub fn datetime_from_py(obj: &Bound<'_, PyAny>) -> PyResult<OffsetDateTime> {
    let py = obj.py();
    let dt = obj.cast::<PyDateTime>()?;
    if dt.call_method0("utcoffset")?.is_none() {
        return Err(to_py(
            py,
            Error::InvalidInput(format!(
                "naive datetime {dt}: give a timezone-aware datetime, e.g. datetime.now(timezone.utc)"
            )),
        ));
    }
    // Any tzinfo (zoneinfo included) → UTC, which the `time` conversion reads exactly.
    dt.call_method1("astimezone", (PyTzInfo::utc(py)?,))?.extract()
}

/// A core timestamp as a timezone-aware UTC `datetime`.
pub fn datetime_to_py(py: Python<'_>, at: OffsetDateTime) -> PyResult<Bound<'_, PyAny>> {
    Ok(UtcDateTime::from(at).into_pyobject(py)?.into_any())
}

pub fn opt_datetime(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<OffsetDateTime>> {
    obj.filter(|o| !o.is_none()).map(datetime_from_py).transpose()
}

/// One item of `remember_batch`: a dict with `text`, `user` and `remember`'s keyword
/// arguments. Unknown keys are rejected; missing `text` / `user` are left empty for the
/// core to reject (EMPTY_TEXT / MISSING_USER).
pub fn new_memory_from_dict(obj: &Bound<'_, PyAny>) -> PyResult<NewMemory> {
    let py = obj.py();
    let dict = obj.cast::<PyDict>()?;
    let mut m = NewMemory::default();
    for (key, value) in dict.iter() {
        let key: String = key.extract()?;
        if value.is_none() {
            // None means "not given", as for the keyword arguments of `remember`.
            continue;
        }
        match key.as_str() {
            "text" => m.text = value.extract()?,
            "user" => m.user = value.extract()?,
            "session" => m.session = Some(value.extract()?),
            "speaker" => m.speaker = Some(value.extract()?),
            "occurred_at" => m.occurred_at = Some(datetime_from_py(&value)?),
            "place" => m.place = Some(value.extract()?),
            "tags" => m.tags = value.extract()?,
            "metadata" => m.metadata = Some(metadata_from_py(&value)?),
            "importance" => m.importance = Some(value.extract()?),
            "kind" => m.kind = Some(value.extract()?),
            "topics" => m.topics = value.extract()?,
            "lat" => m.lat = Some(value.extract()?),
            "lon" => m.lon = Some(value.extract()?),
            "embedding" => m.embedding = Some(value.extract()?),
            "derived_from" => m.derived_from = value.extract()?,
            "client_key" => m.client_key = Some(value.extract()?),
            "emotion" => m.emotion = Some(serde_from_py(py, "emotion", &value)?),
            other => {
                return Err(to_py(py, Error::InvalidInput(format!("unknown memory field {other:?}"))));
            }
        }
    }
    Ok(m)
}

/// A core value as the plain Python value its serde form describes (dicts, lists, ...).
pub(crate) fn serde_to_py<'py>(
    py: Python<'py>,
    value: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| to_py(py, memorable_core::Error::from(e)))?;
    json_to_py(py, &json)
}

/// A dict (e.g. `weights=`, `mood=`) → a core value by its serde form.
pub(crate) fn serde_from_py<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    what: &str,
    obj: &Bound<'_, PyAny>,
) -> PyResult<T> {
    let json = json_from_py(obj)
        .map_err(|e| to_py(py, memorable_core::Error::InvalidInput(format!("{what}: {e}"))))?;
    serde_json::from_value(json)
        .map_err(|e| to_py(py, memorable_core::Error::InvalidInput(format!("{what}: {e}"))))
}
