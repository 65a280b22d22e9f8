//! The storage seam: one connection type, [`Db`], for both backends. Its methods are the
//! subset of rusqlite's the engine uses (`execute`, `query_row`, `prepare_cached`, rows,
//! transactions), so the SQL of every store operation is written once: on SQLite it runs
//! as it always did, through rusqlite itself; on PostgreSQL the same text is run with its
//! placeholders renumbered (`?1` → `$1`), and the few statements that differ between the
//! two ask [`Db::dialect`]. Nothing above `store` knows which backend runs.

mod error;
#[cfg(feature = "postgres")]
pub(crate) mod pg;
#[cfg(feature = "postgres")]
mod pg_cell;
mod value;

use std::ops::Deref;

use rusqlite::{CachedStatement, Connection};

use crate::error::Error;

pub(crate) use error::{OptionalExtension, SqlError, SqlResult};
pub(crate) use value::{params, params_from_iter, Column, Param, Params};

/// Which SQL a connection speaks, for the statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// One connection to the store's database.
pub(crate) enum Db {
    Sqlite(Connection),
    #[cfg(feature = "postgres")]
    Postgres(Box<pg::PgConn>),
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, its backup API, FTS5,
    /// SQLCipher); `None` on PostgreSQL.
    pub fn sqlite(&self) -> Option<&Connection> {
        match self {
            Db::Sqlite(c) => Some(c),
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => None,
        }
    }

    /// Like [`Db::sqlite`], for an operation that has no PostgreSQL form: a coded error
    /// naming it instead of `None`.
    pub fn sqlite_only(&self, what: &str) -> crate::error::Result<&Connection> {
        self.sqlite()
            .ok_or_else(|| Error::Unsupported(format!("{what} is not available on a PostgreSQL store")))
    }

    /// Restrict what this connection reads to `user_key`'s rows (`None`: every user's):
    /// row-level security on PostgreSQL (see `store::scope`); nothing on SQLite.
    pub fn restrict_to(&self, user_key: Option<i64>) -> SqlResult<()> {
        match self {
            Db::Sqlite(_) => Ok(()),
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => c.restrict_to(user_key),
        }
    }

    pub fn execute(&self, sql: &str, params: impl Params) -> SqlResult<usize> {
        match self {
            Db::Sqlite(c) => params.with_list(|p| Ok(c.prepare_cached(sql)?.execute(lite(p))?)),
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => params.with_list(|p| c.execute(sql, p)),
        }
    }

    /// Statements without parameters, separated by `;`.
    pub fn execute_batch(&self, sql: &str) -> SqlResult<()> {
        match self {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => c.batch(sql),
        }
    }

    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> SqlResult<T>,
    ) -> SqlResult<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    pub fn prepare_cached(&self, sql: &str) -> SqlResult<Stmt<'_>> {
        match self {
            Db::Sqlite(c) => Ok(Stmt::Sqlite(c.prepare_cached(sql)?)),
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => Ok(Stmt::Postgres(c, c.prepare(sql)?)),
        }
    }

    /// Same as [`Db::prepare_cached`] (statements are cached on both backends).
    pub fn prepare(&self, sql: &str) -> SqlResult<Stmt<'_>> {
        self.prepare_cached(sql)
    }

    /// Run an `INSERT` and return the new row's id (its `INTEGER PRIMARY KEY` on SQLite,
    /// `RETURNING id` on PostgreSQL: `id` names the key column).
    pub fn insert_id(&self, sql: &str, id: &str, params: impl Params) -> SqlResult<i64> {
        match self {
            Db::Sqlite(c) => {
                params.with_list(|p| c.prepare_cached(sql)?.execute(lite(p)))?;
                Ok(c.last_insert_rowid())
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => {
                let sql = format!("{sql} RETURNING {id}");
                let stmt = c.prepare(&sql)?;
                let rows = params.with_list(|p| c.query_prepared(&stmt, p))?;
                rows.first().ok_or(SqlError::NoRows).and_then(|r| Row::Postgres(r).get(0))
            }
        }
    }

    /// Every row of `sql` (no parameters) handed to `f` in turn, streamed from the database
    /// (a whole table is never held in memory); an error from `f` stops the read.
    pub fn each_row(
        &self,
        sql: &str,
        f: &mut dyn FnMut(&Row<'_>) -> crate::error::Result<()>,
    ) -> crate::error::Result<()> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare(sql)?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    f(&Row::Sqlite(row))?;
                }
                Ok(())
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => c.each_row(sql, &mut |row| f(&Row::Postgres(row))),
        }
    }

    /// Begin a transaction: committed by [`Tx::commit`], rolled back when dropped without.
    pub fn transaction(&mut self) -> SqlResult<Tx<'_>> {
        self.execute_batch("BEGIN")?;
        Ok(Tx { db: self, done: false })
    }
}

fn lite<'a>(p: &'a [&'a dyn Param]) -> impl rusqlite::Params + 'a {
    rusqlite::params_from_iter(p.iter().map(|p| *p as &dyn rusqlite::ToSql))
}

/// An open transaction (see [`Db::transaction`]); it reads and writes as its connection.
pub(crate) struct Tx<'a> {
    db: &'a mut Db,
    done: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> SqlResult<()> {
        self.done = true;
        self.db.execute_batch("COMMIT")
    }
}

impl Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.db.execute_batch("ROLLBACK") {
                tracing::warn!(error = %Error::from(e), "rollback failed");
            }
        }
    }
}

/// A prepared statement.
pub(crate) enum Stmt<'a> {
    Sqlite(CachedStatement<'a>),
    #[cfg(feature = "postgres")]
    Postgres(&'a pg::PgConn, postgres::Statement),
}

impl Stmt<'_> {
    pub fn execute(&mut self, params: impl Params) -> SqlResult<usize> {
        match self {
            Stmt::Sqlite(s) => params.with_list(|p| Ok(s.execute(lite(p))?)),
            #[cfg(feature = "postgres")]
            Stmt::Postgres(c, s) => params.with_list(|p| c.execute_prepared(s, p)),
        }
    }

    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> SqlResult<T>,
    ) -> SqlResult<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => f(&r),
            None => Err(SqlError::NoRows),
        }
    }

    pub fn query(&mut self, params: impl Params) -> SqlResult<Rows<'_>> {
        match self {
            Stmt::Sqlite(s) => params.with_list(|p| Ok(Rows::Sqlite(s.query(lite(p))?))),
            #[cfg(feature = "postgres")]
            Stmt::Postgres(c, s) => {
                let rows = params.with_list(|p| c.query_prepared(s, p))?;
                Ok(Rows::Postgres(rows.into_iter(), None))
            }
        }
    }

    /// Every row mapped by `f`, read as the iterator advances.
    pub fn query_map<T, F>(&mut self, params: impl Params, f: F) -> SqlResult<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> SqlResult<T>,
    {
        Ok(MappedRows { rows: self.query(params)?, f })
    }
}

/// The rows of a query, read one at a time.
pub(crate) enum Rows<'s> {
    Sqlite(rusqlite::Rows<'s>),
    #[cfg(feature = "postgres")]
    Postgres(std::vec::IntoIter<postgres::Row>, Option<postgres::Row>),
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)] // a lending iterator, as rusqlite's
    pub fn next(&mut self) -> SqlResult<Option<Row<'_>>> {
        match self {
            Rows::Sqlite(r) => Ok(r.next()?.map(Row::Sqlite)),
            #[cfg(feature = "postgres")]
            Rows::Postgres(it, current) => {
                *current = it.next();
                Ok(current.as_ref().map(Row::Postgres))
            }
        }
    }
}

/// [`Stmt::query_map`]'s iterator.
pub(crate) struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F: FnMut(&Row<'_>) -> SqlResult<T>> Iterator for MappedRows<'_, F> {
    type Item = SqlResult<T>;
    fn next(&mut self) -> Option<SqlResult<T>> {
        match self.rows.next() {
            Ok(Some(r)) => Some((self.f)(&r)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// A column index (only `usize`: an integer literal needs no annotation).
pub(crate) trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// A row of a query's result.
#[derive(Clone, Copy)]
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    #[cfg(feature = "postgres")]
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `i` (0-based) as a `T`. The index's type parameter mirrors rusqlite's
    /// `get::<_, T>` so call sites read the same.
    pub fn get<I: RowIndex, T: Column>(&self, i: I) -> SqlResult<T> {
        let i = i.index();
        match self {
            Row::Sqlite(r) => Ok(r.get(i)?),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => T::from_pg(pg_cell::Cell::new(r, i))
                .map_err(|e| SqlError::Failed(Error::Storage(format!("column {i}: {e}")))),
        }
    }

    /// Column `i` as a borrowed blob (`None`: NULL), without copying (vectors are read
    /// this way).
    pub fn with_opt_blob<T>(&self, i: usize, f: impl FnOnce(Option<&[u8]>) -> SqlResult<T>) -> SqlResult<T> {
        match self {
            Row::Sqlite(r) => f(r.get_ref(i)?.as_blob_or_null().map_err(rusqlite::Error::from)?),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => {
                // A bare NULL column comes typed as text: read it as absent, whatever its type.
                if pg_cell::Cell::new(r, i).is_null() {
                    return f(None);
                }
                let b: &[u8] = r.try_get(i).map_err(pg::error)?;
                f(Some(b))
            }
        }
    }
}
