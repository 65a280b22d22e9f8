//! The SQL behind every store operation. Functions take a connection (or transaction) so
//! the handle decides locking and transaction scope; none of them commits on its own.

use crate::store::db::{params, params_from_iter, Db, Dialect, OptionalExtension, Param, Row};

use super::Filters;
use crate::error::{Error, Result};
use crate::memory::{Context, EmotionSnapshot, Memory, MemoryId, MemoryVersion, Metadata};
use crate::time::{from_ms, to_ms};

use super::layout::{UserKey, VectorId};

/// A memory validated and embedded, ready to insert.
pub(crate) struct PreparedMemory {
    pub user: String,
    pub text: String,
    pub kind: String,
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub topics: Vec<String>,
    pub occurred_at: i64,
    pub place: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub tags: Vec<String>,
    pub metadata: Metadata,
    pub importance: f32,
    pub emotion: Option<EmotionSnapshot>,
    /// Memories this one was derived from (checked to exist and to be the user's).
    pub derived_from: Vec<MemoryId>,
    /// The caller's idempotency key (unique per user).
    pub client_key: Option<String>,
    pub vector: Vec<f32>,
}

/// Fields of a memory after an update (the caller merges old and new).
pub(crate) struct UpdatedFields<'a> {
    pub text: &'a str,
    pub kind: &'a str,
    pub speaker: Option<&'a str>,
    pub topics: &'a [String],
    pub place: Option<&'a str>,
    pub tags: &'a [String],
    pub metadata: &'a Metadata,
    pub importance: f32,
}

pub(crate) fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn blob_to_vector(b: &[u8]) -> Result<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return Err(Error::Corrupt(format!("vector blob of {} bytes is not f32-aligned", b.len())));
    }
    let mut v = vec![0f32; b.len() / 4];
    // Little-endian targets store f32 as the blob does: one copy (recall reads hundreds).
    #[cfg(target_endian = "little")]
    // SAFETY: `v` owns exactly `b.len()` bytes, any bit pattern is a valid f32, and the two
    // buffers cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(b.as_ptr(), v.as_mut_ptr().cast::<u8>(), b.len())
    };
    #[cfg(not(target_endian = "little"))]
    for (x, c) in v.iter_mut().zip(b.chunks_exact(4)) {
        *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Ok(v)
}

// ---- meta -------------------------------------------------------------------------------

pub(crate) fn meta_get(conn: &Db, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn meta_set(conn: &Db, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

// ---- users ------------------------------------------------------------------------------

pub(crate) fn user_key(conn: &Db, user: &str) -> Result<Option<UserKey>> {
    Ok(conn
        .prepare_cached("SELECT user_key FROM users WHERE name = ?1")?
        .query_row([user], |r| r.get(0))
        .optional()?)
}

/// The memory `user_key` stored under `client_key`, if any.
pub(crate) fn memory_by_client_key(
    conn: &Db,
    user_key: UserKey,
    client_key: &str,
) -> Result<Option<MemoryId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM memories WHERE user_key = ?1 AND client_key = ?2")?
        .query_row(params![user_key, client_key], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|id| id as MemoryId))
}

pub(crate) fn ensure_user(conn: &Db, user: &str, now: i64) -> Result<UserKey> {
    if let Some(k) = user_key(conn, user)? {
        return Ok(k);
    }
    Ok(conn.insert_id(
        "INSERT INTO users(name, created_at) VALUES (?1, ?2)",
        "user_key",
        params![user, now],
    )?)
}

// ---- memories ---------------------------------------------------------------------------

/// Insert one memory, its tags and its vector; returns (memory id, vector id).
pub(crate) fn insert_memory(
    conn: &Db,
    user_key: UserKey,
    m: &PreparedMemory,
    model_id: &str,
    now: i64,
) -> Result<(MemoryId, VectorId)> {
    let id = conn.insert_id(
        "INSERT INTO memories(user_key, text, kind, session, speaker, topics, occurred_at,
                              place, lat, lon, tags, metadata, importance, created_at, updated_at,
                              emotion, arousal, derived_from, client_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15, ?16, ?17, ?18)",
        "id",
        params![
            user_key,
            m.text,
            m.kind,
            m.session,
            m.speaker,
            serde_json::to_string(&m.topics)?,
            m.occurred_at,
            m.place,
            m.lat,
            m.lon,
            serde_json::to_string(&m.tags)?,
            serde_json::to_string(&m.metadata)?,
            f64::from(m.importance),
            now,
            m.emotion.as_ref().map(super::emotion_row::to_stored).transpose()?,
            m.emotion.as_ref().map(|e| f64::from(e.arousal)),
            (!m.derived_from.is_empty()).then(|| serde_json::to_string(&m.derived_from)).transpose()?,
            m.client_key,
        ],
    )?;
    if !m.derived_from.is_empty() {
        super::derived::link(conn, id as MemoryId, user_key, &m.derived_from)?;
    }
    // Not a trigger: see schema V5 (a trigger makes FTS5 flush once per memory). PostgreSQL
    // stores have no FTS table: keyword search runs on the per-user index built from texts.
    if conn.dialect() == Dialect::Sqlite {
        conn.prepare_cached("INSERT INTO memories_fts(rowid, text) VALUES (?1, ?2)")?
            .execute(params![id, m.text])?;
    }
    insert_tags(conn, id, &m.tags)?;
    let vector_id = insert_vector(conn, id, user_key, model_id, &m.vector)?;
    Ok((id as MemoryId, vector_id))
}

fn insert_tags(conn: &Db, id: i64, tags: &[String]) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO memory_tags(memory_id, tag) VALUES (?1, ?2)")?;
    for t in tags {
        stmt.execute(params![id, t])?;
    }
    Ok(())
}

fn insert_vector(
    conn: &Db,
    memory_id: i64,
    user_key: UserKey,
    model_id: &str,
    v: &[f32],
) -> Result<VectorId> {
    let id = conn.insert_id(
        "INSERT INTO vectors(memory_id, user_key, model_id, dim, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        "vector_id",
        params![memory_id, user_key, model_id, v.len() as i64, vector_to_blob(v)],
    )?;
    Ok(id as VectorId)
}

pub(super) const MEMORY_COLUMNS: &str = "m.id, u.name, m.text, m.kind, m.session, m.speaker, m.topics,
    m.occurred_at, m.place, m.lat, m.lon, m.tags, m.metadata, m.importance, m.created_at,
    m.updated_at, m.version, m.user_key, m.emotion, m.derived_from";
/// How many columns [`MEMORY_COLUMNS`] selects (a query can select more after them).
pub(super) const MEMORY_COLUMN_COUNT: usize = 20;
/// Index of `occurred_at` (unix ms) in [`MEMORY_COLUMNS`].
pub(super) const MEMORY_OCCURRED_AT: usize = 7;

pub(super) fn memory_from_row(r: &Row<'_>) -> crate::store::db::SqlResult<Memory> {
    let json_err = |i: usize, e: serde_json::Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    };
    let topics: String = r.get(6)?;
    let tags: String = r.get(11)?;
    let metadata: String = r.get(12)?;
    let emotion: Option<String> = r.get(18)?;
    let derived_from: Option<String> = r.get(19)?;
    Ok(Memory {
        id: r.get::<_, i64>(0)? as MemoryId,
        user: r.get(1)?,
        text: r.get(2)?,
        kind: r.get(3)?,
        session: r.get(4)?,
        context: Context {
            speaker: r.get(5)?,
            topics: serde_json::from_str(&topics).map_err(|e| json_err(6, e))?,
            occurred_at: from_ms(r.get(7)?),
            place: r.get(8)?,
            lat: r.get(9)?,
            lon: r.get(10)?,
        },
        tags: serde_json::from_str(&tags).map_err(|e| json_err(11, e))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| json_err(12, e))?,
        importance: r.get::<_, f64>(13)? as f32,
        created_at: from_ms(r.get(14)?),
        updated_at: from_ms(r.get(15)?),
        version: r.get(16)?,
        emotion: emotion
            .as_deref()
            .map(super::emotion_row::from_stored)
            .transpose()
            .map_err(|e| json_err(18, e))?,
        derived_from: derived_from
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| json_err(19, e))?
            .unwrap_or_default(),
    })
}

pub(crate) fn get_memory(conn: &Db, id: MemoryId) -> Result<Option<(Memory, UserKey)>> {
    let sql = format!(
        "SELECT {MEMORY_COLUMNS} FROM memories m JOIN users u ON u.user_key = m.user_key
         WHERE m.id = ?1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id as i64], |r| Ok((memory_from_row(r)?, r.get(17)?)))
        .optional()?)
}

/// Memories of a user, newest `occurred_at` first (ties by id), after `filters`.
pub(crate) fn list_memories(
    conn: &Db,
    user_key: UserKey,
    filters: &Filters,
    limit: usize,
    offset: usize,
) -> Result<Vec<Memory>> {
    let mut args: Vec<Box<dyn Param>> = vec![Box::new(user_key)];
    let where_sql = filter_sql(filters, &mut args);
    let sql = format!(
        "SELECT {MEMORY_COLUMNS} FROM memories m JOIN users u ON u.user_key = m.user_key
         WHERE m.user_key = ?1 {where_sql}
         ORDER BY m.occurred_at DESC, m.id DESC LIMIT {limit} OFFSET {offset}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), memory_from_row)?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// Every user holding memories (whose name starts with `prefix`, if given), by name, with
/// their memory counts.
pub(crate) fn users_with_counts(conn: &Db, prefix: Option<&str>) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.name, count(*) FROM memories m JOIN users u ON u.user_key = m.user_key
         WHERE CAST(?1 AS TEXT) IS NULL OR substr(u.name, 1, length(CAST(?1 AS TEXT))) = ?1
         GROUP BY m.user_key, u.name ORDER BY u.name",
    )?;
    let rows = stmt.query_map([prefix], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// Write an update: the old version goes to history, the row takes the new fields, and a new
/// vector replaces the old one when given. Returns the (old, new) vector ids when replaced.
pub(crate) fn update_memory(
    conn: &Db,
    old: &Memory,
    new: &UpdatedFields<'_>,
    new_vector: Option<(&[f32], &str, UserKey)>,
    now: i64,
) -> Result<Option<(VectorId, VectorId)>> {
    let id = old.id as i64;
    conn.prepare_cached(
        "INSERT INTO memory_versions(memory_id, version, text, kind, speaker, tags, metadata,
                                     importance, valid_from, valid_to, topics, place)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        id,
        old.version,
        old.text,
        old.kind,
        old.context.speaker,
        serde_json::to_string(&old.tags)?,
        serde_json::to_string(&old.metadata)?,
        f64::from(old.importance),
        to_ms(old.updated_at),
        now,
        serde_json::to_string(&old.context.topics)?,
        old.context.place,
    ])?;
    conn.prepare_cached(
        "UPDATE memories SET text = ?2, kind = ?3, speaker = ?4, topics = ?5, place = ?6,
                tags = ?7, metadata = ?8, importance = ?9, updated_at = ?10, version = version + 1
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        new.text,
        new.kind,
        new.speaker,
        serde_json::to_string(new.topics)?,
        new.place,
        serde_json::to_string(new.tags)?,
        serde_json::to_string(new.metadata)?,
        f64::from(new.importance),
        now,
    ])?;
    conn.prepare_cached("DELETE FROM memory_tags WHERE memory_id = ?1")?.execute([id])?;
    insert_tags(conn, id, new.tags)?;
    let Some((v, model_id, user_key)) = new_vector else { return Ok(None) };
    let old_vid: i64 = conn
        .prepare_cached("SELECT vector_id FROM vectors WHERE memory_id = ?1")?
        .query_row([id], |r| r.get(0))?;
    conn.prepare_cached("DELETE FROM vectors WHERE memory_id = ?1")?.execute([id])?;
    let new_vid = insert_vector(conn, id, user_key, model_id, v)?;
    Ok(Some((old_vid as VectorId, new_vid)))
}

/// Previous versions of a memory, oldest first (the current one is not included).
pub(crate) fn previous_versions(conn: &Db, id: MemoryId) -> Result<Vec<MemoryVersion>> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, text, kind, speaker, tags, metadata, importance, valid_from, valid_to
         FROM memory_versions WHERE memory_id = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([id as i64], |r| {
        let tags: String = r.get(4)?;
        let metadata: String = r.get(5)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            tags,
            metadata,
            r.get::<_, f64>(6)?,
            r.get(7)?,
            r.get(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (version, text, kind, speaker, tags, metadata, importance, from, to): (
            u32,
            String,
            String,
            Option<String>,
            String,
            String,
            f64,
            i64,
            i64,
        ) = row?;
        out.push(MemoryVersion {
            version,
            text,
            kind,
            speaker,
            tags: serde_json::from_str(&tags)?,
            metadata: serde_json::from_str(&metadata)?,
            importance: importance as f32,
            valid_from: from_ms(from),
            valid_to: Some(from_ms(to)),
        });
    }
    Ok(out)
}

/// Delete a memory with its vector, tags, history and FTS entry (by trigger).
/// Returns the vector id it had, or `None` when the id is unknown.
pub(crate) fn delete_memory(conn: &Db, id: MemoryId) -> Result<Option<VectorId>> {
    Ok(delete_memory_row(conn, id)?.map(|(vid, _)| vid))
}

/// Delete one memory with its vector, tags, history and links; returns its vector id and the
/// memories that were derived only from it (see [`delete_cascade`]).
pub(crate) fn delete_memory_row(conn: &Db, id: MemoryId) -> Result<Option<(VectorId, Vec<MemoryId>)>> {
    let raw = id as i64;
    let vid: Option<i64> = conn
        .prepare_cached("SELECT vector_id FROM vectors WHERE memory_id = ?1")?
        .query_row([raw], |r| r.get(0))
        .optional()?;
    let text: Option<String> = conn
        .prepare_cached("SELECT text FROM memories WHERE id = ?1")?
        .query_row([raw], |r| r.get(0))
        .optional()?;
    let Some(text) = text else { return Ok(None) };
    conn.prepare_cached("DELETE FROM memories WHERE id = ?1")?.execute([raw])?;
    conn.prepare_cached("DELETE FROM vectors WHERE memory_id = ?1")?.execute([raw])?;
    conn.prepare_cached("DELETE FROM memory_tags WHERE memory_id = ?1")?.execute([raw])?;
    conn.prepare_cached("DELETE FROM memory_versions WHERE memory_id = ?1")?.execute([raw])?;
    let orphans = super::derived::unlink(conn, id, &text)?;
    Ok(Some((vid.unwrap_or(0) as VectorId, orphans)))
}

/// Delete every row of a user; returns how many memories were removed.
pub(crate) fn delete_user(conn: &Db, user_key: UserKey) -> Result<usize> {
    let owned = "SELECT id FROM memories WHERE user_key = ?1";
    conn.execute(&format!("DELETE FROM memory_versions WHERE memory_id IN ({owned})"), [user_key])?;
    conn.execute(&format!("DELETE FROM memory_tags WHERE memory_id IN ({owned})"), [user_key])?;
    conn.execute(&format!("DELETE FROM memory_sources WHERE memory_id IN ({owned})"), [user_key])?;
    conn.execute(
        "DELETE FROM job_checkpoints WHERE job_id IN (SELECT id FROM jobs WHERE user_key = ?1)",
        [user_key],
    )?;
    conn.execute("DELETE FROM jobs WHERE user_key = ?1", [user_key])?;
    conn.execute("DELETE FROM examples WHERE scope_key = ?1", [user_key])?;
    conn.execute("DELETE FROM calibrations WHERE user_key = ?1", [user_key])?;
    conn.execute("DELETE FROM vectors WHERE user_key = ?1", [user_key])?;
    let n = conn.execute("DELETE FROM memories WHERE user_key = ?1", [user_key])?;
    conn.execute("DELETE FROM users WHERE user_key = ?1", [user_key])?;
    Ok(n)
}

// ---- vectors and candidates -------------------------------------------------------------

/// (vector id, memory id) of every live vector of a user made by `model_id`.
pub(crate) fn live_vector_ids(
    conn: &Db,
    user_key: UserKey,
    model_id: &str,
) -> Result<Vec<(VectorId, MemoryId)>> {
    let mut stmt = conn
        .prepare_cached("SELECT vector_id, memory_id FROM vectors WHERE user_key = ?1 AND model_id = ?2")?;
    let rows = stmt.query_map(params![user_key, model_id], |r| {
        Ok((r.get::<_, i64>(0)? as VectorId, r.get::<_, i64>(1)? as MemoryId))
    })?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// A vector row: (vector id, memory id, components).
pub(crate) type VectorRow = (VectorId, MemoryId, Vec<f32>);

/// Vectors of a user with id above `after`, in id order.
pub(crate) fn vectors_after(
    conn: &Db,
    user_key: UserKey,
    model_id: &str,
    after: VectorId,
) -> Result<Vec<VectorRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT vector_id, memory_id, data FROM vectors
         WHERE user_key = ?1 AND model_id = ?2 AND vector_id > ?3 ORDER BY vector_id",
    )?;
    let mut rows = stmt.query(params![user_key, model_id, after as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(vector_row(&r)?);
    }
    Ok(out)
}

/// A row whose first three columns are vector id, memory id and vector blob. The blob is
/// read in place (a store's first recall reads every vector of the user).
fn vector_row(r: &crate::store::db::Row<'_>) -> Result<VectorRow> {
    let vector = r.with_opt_blob(2, |b| match b {
        Some(b) => Ok(blob_to_vector(b)?),
        None => Err(Error::Corrupt("vector blob: NULL".into()).into()),
    })?;
    Ok((r.get::<_, i64>(0)? as VectorId, r.get::<_, i64>(1)? as MemoryId, vector))
}

/// Vectors of the user's memories that pass `filters`, or `None` when more than `cap` do
/// (the caller then searches the HNSW index with a filter instead).
pub(crate) fn filtered_vectors(
    conn: &Db,
    user_key: UserKey,
    filters: &Filters,
    cap: usize,
) -> Result<Option<Vec<VectorRow>>> {
    let mut args: Vec<Box<dyn Param>> = vec![Box::new(user_key)];
    let where_sql = filter_sql(filters, &mut args);
    let sql = format!(
        "SELECT v.vector_id, v.memory_id, v.data FROM memories m
         JOIN vectors v ON v.memory_id = m.id
         WHERE m.user_key = ?1 {where_sql} LIMIT {}",
        cap + 1
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(vector_row(&r)?);
        if out.len() > cap {
            return Ok(None);
        }
    }
    Ok(Some(out))
}

/// The `k` memories of the user passing `filters` nearest to `query` by cosine (the inner
/// product of unit vectors), exactly, computed by the database with the `vector` extension
/// (see `pg_schema::enable_vector_search`): the filtered set's vectors never leave the server.
/// (memory id, similarity), best first; ties by id, as the local exact scan.
pub(crate) fn nearest_in_db(
    conn: &Db,
    user_key: UserKey,
    filters: &Filters,
    query: &[f32],
    k: usize,
) -> Result<Vec<(MemoryId, f32)>> {
    let mut args: Vec<Box<dyn Param>> = vec![Box::new(user_key)];
    let where_sql = filter_sql(filters, &mut args);
    // pgvector's text form; the parameter is bound as text and cast (its binary form differs).
    let text = query.iter().map(f32::to_string).collect::<Vec<_>>().join(",");
    args.push(Box::new(format!("[{text}]")));
    let q = format!("CAST(CAST(?{} AS TEXT) AS vector)", args.len());
    let sql = format!(
        "SELECT v.memory_id, CAST(-(v.embedding <#> {q}) AS DOUBLE PRECISION) FROM memories m
         JOIN vectors v ON v.memory_id = m.id
         WHERE m.user_key = ?1 {where_sql} AND vector_dims(v.embedding) = {}
         ORDER BY v.embedding <#> {q}, v.memory_id LIMIT {k}",
        query.len()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok((r.get::<_, i64>(0)? as MemoryId, r.get::<_, f64>(1)? as f32))
    })?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// Memory ids of the user's memories that pass `filters` (for filtered HNSW search and date
/// candidates), at most `limit` of them when given.
pub(crate) fn filtered_memory_ids(
    conn: &Db,
    user_key: UserKey,
    filters: &Filters,
    limit: Option<usize>,
) -> Result<Vec<MemoryId>> {
    let mut args: Vec<Box<dyn Param>> = vec![Box::new(user_key)];
    let where_sql = filter_sql(filters, &mut args);
    let limit_sql = limit.map_or(String::new(), |n| format!(" LIMIT {n}"));
    let sql = format!("SELECT m.id FROM memories m WHERE m.user_key = ?1 {where_sql}{limit_sql}");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, i64>(0))?;
    Ok(rows.map(|r| r.map(|id| id as MemoryId)).collect::<crate::store::db::SqlResult<_>>()?)
}

/// The texts of a user's memories with an id above `after` (in no set order): what the keyword
/// index is built from (`after` = 0) and caught up with (`after` = the last id it holds;
/// ids only grow, see the `memories` table).
pub(crate) fn memory_texts(conn: &Db, user_key: UserKey, after: MemoryId) -> Result<Vec<(MemoryId, String)>> {
    // A full build walks the user's rows through the user index; a catch-up walks the rowid
    // range above `after` (`+` keeps SQLite from scanning all of the user's rows instead).
    let sql = if after == 0 {
        "SELECT id, text FROM memories WHERE user_key = ?1 AND id > ?2"
    } else {
        "SELECT id, text FROM memories WHERE +user_key = ?1 AND id > ?2"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params![user_key, after as i64], |r| Ok((r.get::<_, i64>(0)? as MemoryId, r.get(1)?)))?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// SQL conditions (each starting with AND) for `filters`, pushing their parameters.
fn filter_sql(filters: &Filters, args: &mut Vec<Box<dyn Param>>) -> String {
    let mut sql = String::new();
    let mut push = |sql: &mut String, cond: &str, v: Box<dyn Param>| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
    };
    if let Some(s) = &filters.session {
        push(&mut sql, " AND m.session = ?", Box::new(s.clone()));
    }
    if let Some(s) = &filters.speaker {
        push(&mut sql, " AND m.speaker = ?", Box::new(s.clone()));
    }
    if let Some(t) = filters.since {
        push(&mut sql, " AND m.occurred_at >= ?", Box::new(t));
    }
    if let Some(t) = filters.until {
        push(&mut sql, " AND m.occurred_at < ?", Box::new(t));
    }
    if !filters.kinds.is_empty() {
        let mut conds = Vec::new();
        for k in &filters.kinds {
            let mut c = String::new();
            push(&mut c, "m.kind = ?", Box::new(k.clone()));
            conds.push(c);
        }
        sql.push_str(&format!(" AND ({})", conds.join(" OR ")));
    }
    for t in &filters.tags {
        push(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM memory_tags t WHERE t.memory_id = m.id AND t.tag = ?)",
            Box::new(t.clone()),
        );
    }
    sql
}

// ---- statistics -------------------------------------------------------------------------

pub(crate) struct Counts {
    pub memories: u64,
    pub users: u64,
    pub versions: u64,
}

pub(crate) fn counts(conn: &Db) -> Result<Counts> {
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n as u64);
    Ok(Counts {
        memories: one("SELECT count(*) FROM memories")?,
        users: one("SELECT count(*) FROM users")?,
        versions: one("SELECT count(*) FROM memory_versions")?,
    })
}

/// Delete memory `id` and, in turn, every memory derived only from what is deleted (a
/// summary of a forgotten conversation goes with it). Returns each deleted memory with its
/// vector id, `id` first; empty when `id` does not exist.
pub(crate) fn delete_cascade(conn: &Db, id: MemoryId) -> Result<Vec<(MemoryId, VectorId)>> {
    let mut deleted = Vec::new();
    let mut queue = vec![id];
    while let Some(next) = queue.pop() {
        if let Some((vid, orphans)) = delete_memory_row(conn, next)? {
            deleted.push((next, vid));
            queue.extend(orphans);
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_column_constants_match_the_column_list() {
        let columns: Vec<&str> = MEMORY_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(columns.len(), MEMORY_COLUMN_COUNT);
        assert_eq!(columns[MEMORY_OCCURRED_AT], "m.occurred_at");
    }
}
