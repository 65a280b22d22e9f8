//! What crosses the seam: parameters bound to a statement ([`Param`], [`Params`]) and the
//! columns read back ([`Column`]). SQLite gets them through rusqlite's own traits, so its
//! conversions are exactly rusqlite's; PostgreSQL converts them by the server's column type.

use std::rc::Rc;

use rusqlite::types::{FromSql, ToSql};

/// A parameter value as PostgreSQL binds it (SQLite binds through [`ToSql`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    /// A list bound as one parameter: SQLite's `rarray(?)`, PostgreSQL's `= ANY($n)`.
    List(&'a [rusqlite::types::Value]),
}

/// A value a statement can bind.
pub(crate) trait Param: ToSql {
    fn value(&self) -> Value<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value<'_> {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, u32, u8, i8, u16, i16);

impl Param for u64 {
    fn value(&self) -> Value<'_> {
        // rusqlite refuses a u64 above i64::MAX; so does the seam (same value, same error).
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Param for usize {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Param for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Param for f64 {
    fn value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}

impl Param for f32 {
    fn value(&self) -> Value<'_> {
        Value::Real(f64::from(*self))
    }
}

impl Param for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Param for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Param for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl Param for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl Param for Rc<Vec<rusqlite::types::Value>> {
    fn value(&self) -> Value<'_> {
        Value::List(self)
    }
}

impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

impl<T: Param + ?Sized> Param for Box<T> {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

/// The parameters of one statement, handed over as a slice without allocating.
pub(crate) trait Params {
    fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R;
}

impl Params for [&dyn Param; 0] {
    fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R {
        f(&[])
    }
}

impl Params for () {
    fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R {
        f(&[])
    }
}

impl Params for &[&dyn Param] {
    fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R {
        f(self)
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: Param> Params for [T; $n] {
            fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R {
                let list: [&dyn Param; $n] = std::array::from_fn(|i| &self[i] as &dyn Param);
                f(&list)
            }
        }
        impl<T: Param> Params for &[T; $n] {
            fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R {
                (*self).with_list(f)
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// Parameters collected at run time (a query whose filters vary).
pub(crate) struct ParamList<'a>(pub Vec<&'a dyn Param>);

impl Params for ParamList<'_> {
    fn with_list<R>(&self, f: impl FnOnce(&[&dyn Param]) -> R) -> R {
        f(&self.0)
    }
}

/// `params_from_iter` for the seam: any iterator of parameters.
pub(crate) fn params_from_iter<'a, P: Param + 'a>(items: impl IntoIterator<Item = &'a P>) -> ParamList<'a> {
    ParamList(items.into_iter().map(|p| p as &dyn Param).collect())
}

/// `params![a, b, ...]`: a statement's parameters of mixed types.
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::db::Param]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::db::Param),+] as &[&dyn $crate::store::db::Param]
    };
}
pub(crate) use params;

/// A column a row can be read as. SQLite reads through [`FromSql`] (rusqlite's rules);
/// PostgreSQL converts from the column's server type.
pub(crate) trait Column: FromSql + Sized {
    #[cfg(feature = "postgres")]
    fn from_pg(v: super::pg_cell::Cell<'_>) -> Result<Self, String>;
}

#[cfg(feature = "postgres")]
use super::pg_cell::Cell;

macro_rules! int_column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            #[cfg(feature = "postgres")]
            fn from_pg(v: Cell<'_>) -> Result<Self, String> {
                let i = v.int()?;
                <$t>::try_from(i).map_err(|_| format!("{i} out of range"))
            }
        }
    )*};
}
int_column!(i64, i32, u32, u8, u16, usize, u64);

impl Column for bool {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        Ok(v.int()? != 0)
    }
}

impl Column for f64 {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        v.real()
    }
}

impl Column for f32 {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        Ok(v.real()? as f32)
    }
}

impl Column for String {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        v.text()
    }
}

impl Column for Vec<u8> {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        v.blob()
    }
}

impl<T: Column> Column for Option<T> {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_pg(v).map(Some)
        }
    }
}

/// Any value, as a copy between backends moves it (`maintenance::transfer`).
impl Param for rusqlite::types::Value {
    fn value(&self) -> Value<'_> {
        use rusqlite::types::Value as V;
        match self {
            V::Null => Value::Null,
            V::Integer(i) => Value::Int(*i),
            V::Real(f) => Value::Real(*f),
            V::Text(s) => Value::Text(s),
            V::Blob(b) => Value::Blob(b),
        }
    }
}

impl Column for rusqlite::types::Value {
    #[cfg(feature = "postgres")]
    fn from_pg(v: Cell<'_>) -> Result<Self, String> {
        use rusqlite::types::Value as V;
        if v.is_null() {
            return Ok(V::Null);
        }
        v.dynamic()
    }
}
