//! A store's rows copied between the two backends, table by table: a PostgreSQL store
//! backed up into an SQLite database (the backup file's format, whichever backend wrote it)
//! and a backup restored into a PostgreSQL database. The two schemas have the same tables
//! and columns at the same version (see `pg_schema`), so one list of tables in an order that
//! satisfies every reference, and the SQLite side's column lists, drive the copy.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::Connection;

use super::db::{params, params_from_iter, Db, Dialect};
use super::schema;
use crate::error::{Error, Result};

/// Every table of a store, parents before the rows that name them. `meta` first: what model
/// made the vectors travels with them.
pub(crate) const TABLES: &[&str] = &[
    "meta",
    "users",
    "memories",
    "memory_tags",
    "vectors",
    "memory_versions",
    "emotion_contexts",
    "emotion_sources",
    "emotion_history",
    "emotion_unknown_names",
    "memory_sources",
    "jobs",
    "classifiers",
    "examples",
    "calibrations",
    "job_checkpoints",
];

/// Tables whose key the database hands out, and the key: after a copy, the next id handed
/// out continues after the source's (a forgotten memory's id is never reused, on either
/// backend).
const KEYS: &[(&str, &str)] = &[
    ("users", "user_key"),
    ("memories", "id"),
    ("vectors", "vector_id"),
    ("emotion_contexts", "context_key"),
    ("jobs", "id"),
    ("examples", "id"),
];

/// Run `f` inside one read snapshot of `db` (PostgreSQL: `REPEATABLE READ`, so every table
/// is read as of the same instant while other instances keep writing).
pub(crate) fn in_snapshot<T>(db: &Db, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
    db.execute_batch(match db.dialect() {
        Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        Dialect::Sqlite => "BEGIN",
    })?;
    let out = f(db);
    // Read only: ending it either way changes nothing.
    let end = db.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
    let out = out?;
    end?;
    Ok(out)
}

/// Rows in all the tables of the store behind `db`.
fn row_count(db: &Db) -> Result<u64> {
    let mut n = 0u64;
    for t in TABLES {
        n += db.query_row(&format!("SELECT count(*) FROM {t}"), (), |r| r.get::<_, i64>(0))? as u64;
    }
    Ok(n)
}

/// Copy every row of the store behind `src` (read inside [`in_snapshot`] by the caller) into
/// a new SQLite database at `dest`, created at this build's schema. Returns the rows copied.
pub(crate) fn into_sqlite(src: &Db, dest: &Path) -> Result<u64> {
    let mut lite = Connection::open(dest)?;
    schema::migrate(&mut lite, None)?;
    let mut dest = Db::Sqlite(lite);
    let tx = dest.transaction()?;
    let lite = tx.sqlite_only("copy")?;
    let copied = copy_rows(src, &tx, lite, &mut |_| {})?;
    for (table, key) in KEYS {
        let last = last_key(src, table, key)?;
        tx.execute("DELETE FROM sqlite_sequence WHERE name = ?1", [table])?;
        tx.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?1, ?2)", params![table, last])?;
    }
    // The keyword index is derived from the memories (an external-content FTS5 table).
    tx.execute("INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')", ())?;
    tx.commit()?;
    Ok(copied)
}

/// Copy every row of the SQLite store `src` into the PostgreSQL store `dest`, which must
/// hold no memories, users or other rows ([`Error::DestinationExists`] naming `what`
/// otherwise: nothing is written). One transaction: all rows or none; `check` sees the
/// copy before it commits (an error rolls it back).
pub(crate) fn into_postgres(
    src: Connection,
    dest: &mut Db,
    what: &str,
    progress: &mut dyn FnMut(u64, u64),
    check: &mut dyn FnMut(&Db) -> Result<()>,
) -> Result<u64> {
    let src = Db::Sqlite(src);
    let lite = src.sqlite_only("copy")?;
    let total = row_count(&src)?;
    let tx = dest.transaction()?;
    // No instance writes while the copy runs (they wait on the lock, then see the rows).
    tx.execute_batch(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", TABLES.join(", ")))?;
    for t in TABLES.iter().filter(|t| **t != "meta") {
        let any: bool = tx.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {t})"), (), |r| r.get(0))?;
        if any {
            return Err(Error::DestinationExists { path: what.into() });
        }
    }
    // What a store opened on the empty database wrote (its model) gives way to the backup's.
    tx.execute("DELETE FROM meta", ())?;
    let copied = copy_rows(&src, &tx, lite, &mut |n| progress(n, total))?;
    for (table, key) in KEYS {
        let last = last_key_sqlite(lite, table, key)?;
        tx.query_row(
            &format!("SELECT setval(pg_get_serial_sequence('{table}', '{key}'), greatest(?1, 1), ?1 > 0)"),
            params![last],
            |_| Ok(()),
        )?;
    }
    check(&tx)?;
    tx.commit()?;
    progress(copied, total);
    Ok(copied)
}

/// Every row of every table from `src` into `dest` (inside its transaction), by the columns
/// of the SQLite side's schema (`lite`: the source's or the destination's connection);
/// `progress(rows)` every 1024 rows. Returns the rows copied.
fn copy_rows(src: &Db, dest: &Db, lite: &Connection, progress: &mut dyn FnMut(u64)) -> Result<u64> {
    let mut copied = 0u64;
    for table in TABLES {
        let cols = columns(lite, table)?;
        let mut insert = dest.prepare_cached(&insert_sql(table, &cols))?;
        each_row(src, &select_sql(table, &cols), cols.len(), &mut |row| {
            insert.execute(params_from_iter(row.iter()))?;
            copied += 1;
            if copied.is_multiple_of(1024) {
                progress(copied);
            }
            Ok(())
        })?;
    }
    Ok(copied)
}

/// The columns of `table` in the SQLite schema, in order.
fn columns(lite: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = lite.prepare(&format!("PRAGMA table_info({table})"))?;
    let cols = stmt.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<Vec<_>>>()?;
    if cols.is_empty() {
        return Err(Error::Storage(format!("the schema has no table {table}")));
    }
    Ok(cols)
}

fn select_sql(table: &str, cols: &[String]) -> String {
    format!("SELECT {} FROM {table}", cols.join(", "))
}

fn insert_sql(table: &str, cols: &[String]) -> String {
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO {table}({}) VALUES ({})", cols.join(", "), marks.join(", "))
}

/// Every row `sql` selects from `src`, `width` columns each, handed to `f` one at a time.
fn each_row(src: &Db, sql: &str, width: usize, f: &mut dyn FnMut(&[Value]) -> Result<()>) -> Result<()> {
    let mut values = Vec::with_capacity(width);
    src.each_row(sql, &mut |row| {
        values.clear();
        for i in 0..width {
            values.push(row.get::<_, Value>(i)?);
        }
        f(&values)
    })
}

/// The last key `table` handed out on PostgreSQL (its sequence, or a larger key present).
fn last_key(src: &Db, table: &str, key: &str) -> Result<i64> {
    let sql = match src.dialect() {
        Dialect::Postgres => format!(
            "SELECT greatest(coalesce(pg_sequence_last_value(pg_get_serial_sequence('{table}', '{key}')::regclass), 0),
                             coalesce(max({key}), 0)) FROM {table}"
        ),
        Dialect::Sqlite => return last_key_sqlite(src.sqlite_only("copy")?, table, key),
    };
    Ok(src.query_row(&sql, (), |r| r.get(0))?)
}

/// The last key `table` handed out on SQLite (`sqlite_sequence` for an AUTOINCREMENT key,
/// or a larger key present).
fn last_key_sqlite(src: &Connection, table: &str, key: &str) -> Result<i64> {
    Ok(src.query_row(
        &format!(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0), coalesce(max({key}), 0)) FROM {table}"
        ),
        [table],
        |r| r.get(0),
    )?)
}
