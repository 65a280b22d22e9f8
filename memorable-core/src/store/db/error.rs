//! The seam's error: a failed statement, or no row where one was asked for.

use crate::error::Error;

/// A failed statement, or one that found no row where one was asked for (kept apart so
/// [`OptionalExtension::optional`] can tell them apart, as with rusqlite).
#[derive(Debug)]
pub(crate) enum SqlError {
    NoRows,
    Failed(Error),
}

pub(crate) type SqlResult<T> = std::result::Result<T, SqlError>;

impl From<SqlError> for Error {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::NoRows => Error::Storage("query returned no rows".into()),
            SqlError::Failed(e) => e,
        }
    }
}

impl From<Error> for SqlError {
    fn from(e: Error) -> Self {
        SqlError::Failed(e)
    }
}

impl From<rusqlite::Error> for SqlError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => SqlError::NoRows,
            e => SqlError::Failed(e.into()),
        }
    }
}

impl From<serde_json::Error> for SqlError {
    fn from(e: serde_json::Error) -> Self {
        SqlError::Failed(e.into())
    }
}

/// `.optional()` on a one-row query, as rusqlite's `OptionalExtension`.
pub(crate) trait OptionalExtension<T> {
    fn optional(self) -> SqlResult<Option<T>>;
}

impl<T> OptionalExtension<T> for SqlResult<T> {
    fn optional(self) -> SqlResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(SqlError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
