//! The PostgreSQL side of the seam: one connection ([`PgConn`]) that runs the store's SQL
//! with its placeholders renumbered, binds [`Value`]s by the type the server inferred for
//! each parameter, and reads columns by their server type ([`Cell`]). A connection the
//! server dropped is re-opened on the next call; the call that saw the drop fails with
//! `STORE_UNAVAILABLE`, never half-done (every write runs in a transaction).

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, Statement};

use super::error::{SqlError, SqlResult};
use super::value::{Param, Value};
use crate::error::Error;

use super::super::pg_url::PgTarget;

/// One connection to the store's PostgreSQL database.
pub(crate) struct PgConn {
    target: PgTarget,
    client: RefCell<Option<Client>>,
    /// Prepared statements by their SQLite-dialect text (what the store hands over).
    statements: RefCell<HashMap<String, Statement>>,
    /// The user this session's `memorable.user_key` is set to (`None`: unset or empty),
    /// so it is only sent when it changes.
    restricted_to: std::cell::Cell<Option<i64>>,
    /// Where re-opens (after the server dropped the connection) are counted: the store's
    /// metrics.
    reconnects: Arc<AtomicU64>,
}

impl PgConn {
    pub fn connect(target: &PgTarget, reconnects: Arc<AtomicU64>) -> crate::error::Result<PgConn> {
        let client = target.connect()?;
        Ok(PgConn {
            target: target.clone(),
            client: RefCell::new(Some(client)),
            statements: RefCell::default(),
            restricted_to: std::cell::Cell::new(None),
            reconnects,
        })
    }

    /// Run `f` on the live client, reconnecting first if the last call lost it.
    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> SqlResult<T> {
        let mut slot = self.client.borrow_mut();
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            self.statements.borrow_mut().clear();
            // A new session starts with the setting unset.
            self.restricted_to.set(None);
            *slot = None;
            *slot = Some(self.target.connect()?);
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let client = slot.as_mut().expect("connected above");
        let out = f(client);
        if client.is_closed() {
            // Statements belong to the connection that prepared them.
            *slot = None;
            self.statements.borrow_mut().clear();
        }
        out.map_err(error)
    }

    pub fn prepare(&self, sql: &str) -> SqlResult<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let text = translate(sql);
        let stmt = self.with_client(|c| c.prepare(&text))?;
        self.statements.borrow_mut().insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    /// Set this session's `memorable.user_key` (row-level security) when it differs.
    pub fn restrict_to(&self, user_key: Option<i64>) -> SqlResult<()> {
        if self.restricted_to.get() == user_key
            && self.client.borrow().as_ref().is_some_and(|c| !c.is_closed())
        {
            return Ok(());
        }
        let value = user_key.map(|k| k.to_string()).unwrap_or_default();
        let stmt = self.prepare("SELECT set_config('memorable.user_key', ?1, false)")?;
        self.query_prepared(&stmt, &[&value])?;
        self.restricted_to.set(user_key);
        Ok(())
    }

    pub fn batch(&self, sql: &str) -> SqlResult<()> {
        self.with_client(|c| c.batch_execute(sql))
    }

    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> SqlResult<usize> {
        let stmt = self.prepare(sql)?;
        self.execute_prepared(&stmt, params)
    }

    pub fn execute_prepared(&self, stmt: &Statement, params: &[&dyn Param]) -> SqlResult<usize> {
        let args = args(params);
        let refs = arg_refs(&args);
        Ok(self.with_client(|c| c.execute(stmt, &refs))? as usize)
    }

    /// Every row of `sql` (no parameters) handed to `f` as it arrives from the server, so a
    /// whole table can be read without holding it in memory; an error from `f` stops the
    /// read and is returned.
    pub fn each_row(
        &self,
        sql: &str,
        f: &mut dyn FnMut(&postgres::Row) -> crate::error::Result<()>,
    ) -> crate::error::Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let stmt = self.prepare(sql)?;
        let mut failed = None;
        self.with_client(|c| {
            let mut rows = c.query_raw(&stmt, std::iter::empty::<&(dyn ToSql + Sync)>())?;
            while let Some(row) = rows.next()? {
                if let Err(e) = f(&row) {
                    failed = Some(e);
                    break;
                }
            }
            Ok(())
        })?;
        failed.map_or(Ok(()), Err)
    }

    pub fn query_prepared(&self, stmt: &Statement, params: &[&dyn Param]) -> SqlResult<Vec<postgres::Row>> {
        let args = args(params);
        let refs = arg_refs(&args);
        self.with_client(|c| c.query(stmt, &refs))
    }
}

fn args<'a>(params: &'a [&'a dyn Param]) -> Vec<Arg<'a>> {
    params.iter().map(|p| Arg(p.value())).collect()
}

fn arg_refs<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// A driver error as the store reports it: a lost or refused connection is
/// `STORE_UNAVAILABLE` (retry), anything else `STORAGE`. The message is the server's or the
/// driver's, which never holds the password.
pub(crate) fn error(e: postgres::Error) -> SqlError {
    let unavailable = e.is_closed()
        || e.as_db_error().is_none() && e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|c| {
            let c = c.code();
            // 08: connection exception; 57P01-57P03: the server is shutting down / starting.
            c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03")
        });
    let message = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    SqlError::Failed(if unavailable { Error::StoreUnavailable(message) } else { Error::Storage(message) })
}

impl From<postgres::Error> for SqlError {
    fn from(e: postgres::Error) -> Self {
        error(e)
    }
}

/// The store's SQL in PostgreSQL's dialect: `?N` / `?` placeholders become `$N`, `IN
/// rarray(?N)` becomes `= ANY($N)` (a list bound as an array) and `INSERT OR IGNORE` an
/// `ON CONFLICT DO NOTHING`. Quoted text is left alone.
pub(crate) fn translate(sql: &str) -> String {
    let mut sql = sql.replace("IN rarray(", "= ANY(");
    if let Some(rest) = sql.trim_start().strip_prefix("INSERT OR IGNORE") {
        sql = format!("INSERT{rest} ON CONFLICT DO NOTHING");
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    digits = next.to_string();
                    next += 1;
                }
                out.push('$');
                out.push_str(&digits);
            }
            c => out.push(c),
        }
    }
    out
}

/// One parameter, converted to the type the server inferred for it.
#[derive(Debug)]
struct Arg<'a>(Value<'a>);

type BoxError = Box<dyn StdError + Sync + Send>;

impl ToSql for Arg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let mismatch = || -> BoxError { format!("cannot bind {:?} as {ty}", self.0).into() };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => Err(mismatch()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                _ => Err(mismatch()),
            },
            Value::Text(s) => match *ty {
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.to_sql(ty, out),
            },
            Value::Blob(b) => b.to_sql(ty, out),
            Value::List(items) => {
                use rusqlite::types::Value as V;
                match *ty {
                    Type::INT8_ARRAY => items
                        .iter()
                        .map(|v| match v {
                            V::Integer(i) => Ok(*i),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<Vec<i64>, _>>()?
                        .to_sql(ty, out),
                    Type::TEXT_ARRAY => items
                        .iter()
                        .map(|v| match v {
                            V::Text(s) => Ok(s.as_str()),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<Vec<&str>, _>>()?
                        .to_sql(ty, out),
                    _ => Err(mismatch()),
                }
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn placeholders_are_renumbered_outside_quotes() {
        assert_eq!(
            translate("SELECT a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = $12"
        );
        assert_eq!(
            translate("UPDATE t SET a = ?, b = ? WHERE c = '?'"),
            "UPDATE t SET a = $1, b = $2 WHERE c = '?'"
        );
        assert_eq!(
            translate("SELECT id FROM m WHERE id IN rarray(?2)"),
            "SELECT id FROM m WHERE id = ANY($2)"
        );
        assert_eq!(
            translate("INSERT OR IGNORE INTO t(a) VALUES (?1)"),
            "INSERT INTO t(a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
    }
}
