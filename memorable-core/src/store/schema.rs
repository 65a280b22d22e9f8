//! Schema versions and forward migrations.
//!
//! The schema version lives in SQLite's `user_version`. A store at an older version is
//! migrated forward in one transaction (all or nothing); a store at a newer version than
//! [`SCHEMA_VERSION`] is refused, never touched.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Schema version this build writes.
pub const SCHEMA_VERSION: u32 = 10;

/// `MIGRATIONS[i]` takes a store from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    user_key   INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- AUTOINCREMENT: ids are never reused, even after the newest memory is forgotten.
CREATE TABLE memories (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_key         INTEGER NOT NULL REFERENCES users(user_key),
    text             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    session          TEXT,
    speaker          TEXT,
    topics           TEXT NOT NULL DEFAULT '[]',
    occurred_at      INTEGER NOT NULL,
    place            TEXT,
    lat              REAL,
    lon              REAL,
    tags             TEXT NOT NULL DEFAULT '[]',
    metadata         TEXT NOT NULL DEFAULT '{}',
    importance       REAL NOT NULL,
    emotion          TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    access_count     INTEGER NOT NULL DEFAULT 0,
    last_accessed_at INTEGER
);
CREATE INDEX memories_user_time    ON memories(user_key, occurred_at);
CREATE INDEX memories_user_session ON memories(user_key, session);
CREATE INDEX memories_user_speaker ON memories(user_key, speaker);

CREATE TABLE memory_tags (
    memory_id INTEGER NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (memory_id, tag)
) WITHOUT ROWID;
CREATE INDEX memory_tags_tag ON memory_tags(tag, memory_id);

-- One current vector per memory; a new vector_id on every re-embedding, so the HNSW
-- index can tell a replaced vector from the current one.
CREATE TABLE vectors (
    vector_id INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id INTEGER NOT NULL UNIQUE,
    user_key  INTEGER NOT NULL,
    model_id  TEXT NOT NULL,
    dim       INTEGER NOT NULL,
    data      BLOB NOT NULL
);
CREATE INDEX vectors_user ON vectors(user_key, vector_id);

-- Previous versions only; the current version is the row in `memories`.
CREATE TABLE memory_versions (
    memory_id  INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    text       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    speaker    TEXT,
    tags       TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    importance REAL NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to   INTEGER NOT NULL,
    PRIMARY KEY (memory_id, version)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE memories_fts USING fts5(
    text,
    content = 'memories',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF text ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
END;
"#;

/// Schema 2: versions record the topics and place they replaced, so a point-in-time
/// restore brings them back too. Versions written at schema 1 keep NULL there ("not
/// recorded"); a recorded version always has topics (a JSON array), so a NULL place next to
/// them means "no place".
const V2: &str = r#"
ALTER TABLE memory_versions ADD COLUMN topics TEXT;
ALTER TABLE memory_versions ADD COLUMN place TEXT;
"#;

/// Schema 3: the emotional layer. Per-context fusion state (one row per context and source, the
/// decayed sums as JSON keyed by expression id), a bounded history of fused states, and
/// counts of expression names outside the catalog.
const V3: &str = r#"
CREATE TABLE emotion_contexts (
    context_key INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    readings    INTEGER NOT NULL DEFAULT 0,
    history_seq INTEGER NOT NULL DEFAULT 0,
    closed_at   INTEGER
);

CREATE TABLE emotion_sources (
    context_key INTEGER NOT NULL REFERENCES emotion_contexts(context_key),
    source      TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (context_key, source)
) WITHOUT ROWID;

CREATE TABLE emotion_history (
    context_key INTEGER NOT NULL REFERENCES emotion_contexts(context_key),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (context_key, seq)
) WITHOUT ROWID;
CREATE INDEX emotion_history_time ON emotion_history(context_key, at);

CREATE TABLE emotion_unknown_names (
    name  TEXT PRIMARY KEY,
    count INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Schema 4: a memory's arousal (from its emotional snapshot) as a column of its own, so
/// ranking reads a number instead of parsing the snapshot's JSON for every candidate.
const V4: &str = r#"
ALTER TABLE memories ADD COLUMN arousal REAL;
UPDATE memories SET arousal = json_extract(emotion, '$.arousal')
 WHERE emotion IS NOT NULL AND json_valid(emotion);
"#;

/// Schema 5: new memories enter the FTS index from `store::insert_memory`, no longer from a
/// trigger. A trigger makes each `INSERT INTO memories` a multi-row write, which SQLite wraps
/// in a statement savepoint, and FTS5 flushes its pending terms to disk at every savepoint:
/// one tiny segment per memory, merged over and over (half of a `remember_batch`). A plain
/// single-row insert into the FTS table opens no savepoint, so a batch's terms are flushed
/// once, at commit. (Updates and deletes keep their triggers: they come one at a time.)
const V5: &str = r#"
DROP TRIGGER IF EXISTS memories_fts_insert;
"#;

/// Schema 6: derived memories and background jobs. A summary or fact written by consolidation
/// lists the memories it came from (`derived_from`, JSON, read with the row) and the same
/// links are indexed by source in `memory_sources`, so forgetting a source finds what was
/// derived from it. `jobs` holds persisted background work (consolidation, training): its
/// parameters, state, progress, result and log.
const V6: &str = r#"
ALTER TABLE memories ADD COLUMN derived_from TEXT;
CREATE TABLE memory_sources (
    memory_id INTEGER NOT NULL,
    source_id INTEGER NOT NULL,
    PRIMARY KEY (memory_id, source_id)
) WITHOUT ROWID;
CREATE INDEX memory_sources_source ON memory_sources(source_id, memory_id);
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    user_key   INTEGER,
    params     TEXT NOT NULL,
    progress   TEXT NOT NULL DEFAULT '{}',
    result     TEXT,
    error      TEXT,
    log        TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, id);
"#;

/// Schema 7: what each user holds (memories, bytes of text and metadata) in their `users`
/// row, for quotas (`limits.*`). Inserts add to it from the write path, once per user per
/// batch (an insert trigger would cost FTS5 a flush per memory, see schema 5); deletes and
/// updates of text or metadata adjust it here, whatever code path they come from.
const V7: &str = r#"
ALTER TABLE users ADD COLUMN memories INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE users SET
    memories = (SELECT count(*) FROM memories m WHERE m.user_key = users.user_key),
    bytes = (SELECT coalesce(sum(length(CAST(m.text AS BLOB)) + length(CAST(m.metadata AS BLOB))), 0)
             FROM memories m WHERE m.user_key = users.user_key);
CREATE TRIGGER memories_usage_delete AFTER DELETE ON memories BEGIN
    UPDATE users SET memories = memories - 1,
                     bytes = bytes - length(CAST(old.text AS BLOB)) - length(CAST(old.metadata AS BLOB))
     WHERE user_key = old.user_key;
END;
CREATE TRIGGER memories_usage_update AFTER UPDATE OF text, metadata ON memories BEGIN
    UPDATE users SET bytes = bytes - length(CAST(old.text AS BLOB)) - length(CAST(old.metadata AS BLOB))
                               + length(CAST(new.text AS BLOB)) + length(CAST(new.metadata AS BLOB))
     WHERE user_key = new.user_key;
END;
"#;

/// Schema 8: custom classifiers. `classifiers` holds each application-defined label set and
/// its mapping onto catalog expressions; `examples` the labelled texts a classifier trains on
/// (scope 0 = the application's, else the user key of the user they belong to; a
/// correction also names the memory it corrects), one row per (classifier, scope, text) so
/// duplicates collapse; `calibrations` a user's per-label thresholds learnt from their
/// corrections; `job_checkpoints` the last checkpoint of a training job (weights, optimizer
/// state, position), so an interrupted job resumes where it was.
const V8: &str = r#"
CREATE TABLE classifiers (
    name       TEXT PRIMARY KEY,
    labels     TEXT NOT NULL,
    mapping    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE examples (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    classifier TEXT NOT NULL,
    scope_key  INTEGER NOT NULL DEFAULT 0,
    text       TEXT NOT NULL,
    labels     TEXT NOT NULL,
    source     TEXT NOT NULL,
    memory_id  INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (classifier, scope_key, text)
);
CREATE INDEX examples_scope ON examples(scope_key, classifier);
CREATE TABLE calibrations (
    classifier TEXT NOT NULL,
    user_key   INTEGER NOT NULL,
    version    TEXT NOT NULL,
    thresholds TEXT NOT NULL,
    examples   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (classifier, user_key)
) WITHOUT ROWID;
CREATE TABLE job_checkpoints (
    job_id     INTEGER PRIMARY KEY,
    state      TEXT NOT NULL,
    data       BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
"#;

/// Schema 9: idempotent writes. A memory may carry its writer's client key, unique per user
/// (`remember` with a key already stored answers that memory's id).
const V9: &str = r#"
ALTER TABLE memories ADD COLUMN client_key TEXT;
CREATE UNIQUE INDEX memories_client_key ON memories(user_key, client_key) WHERE client_key IS NOT NULL;
"#;

/// Schema 10: emotion scores packed (`crate::packed_scores`) in `memories.emotion` and
/// `emotion_history.state`. No table changes: rows written before read as they are, and the
/// version makes a build from before refuse a store whose rows it could not read
/// (`NEWER_VERSION`) instead of failing on them one by one.
pub(super) const V10: &str = "-- emotion scores packed in memories.emotion and emotion_history.state";

/// Bring the store to [`SCHEMA_VERSION`], or refuse it when it is newer. Every step runs in
/// one transaction: a failure rolls all of them back ([`Error::MigrationFailed`]) and the
/// store stays at its version. `backup` names the backup taken before, for the error.
pub fn migrate(conn: &mut Connection, backup: Option<&std::path::Path>) -> Result<()> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::NewerVersion { found, supported: SCHEMA_VERSION });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let failed = |reason: String| Error::MigrationFailed {
        from: found,
        to: SCHEMA_VERSION,
        reason,
        backup: backup.map(|b| format!("; a backup taken before is at {}", b.display())).unwrap_or_default(),
    };
    let tx = conn.transaction()?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let to = i as u32 + 1;
        tracing::info!(from = i, to, "migrating store schema");
        tx.execute_batch(sql).map_err(|e| failed(format!("step to schema {to}: {e}")))?;
        if found > 0 && testing::take_migration_failure(to) {
            return Err(failed(format!("step to schema {to}: failure injected by a test")));
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(|e| failed(e.to_string()))?;
    tx.commit().map_err(|e| failed(e.to_string()))?;
    Ok(())
}

/// Schema version of an open connection.
pub fn version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Test hooks. Not part of the API: they exist so tests can prove that a failed migration
/// rolls back.
#[doc(hidden)]
pub mod testing {
    use std::sync::atomic::{AtomicU32, Ordering};

    static FAIL_MIGRATION_TO: AtomicU32 = AtomicU32::new(0);

    /// Make the next migration to schema `version` fail after its statements ran, before
    /// it commits (one shot).
    pub fn fail_next_migration_to(version: u32) {
        FAIL_MIGRATION_TO.store(version, Ordering::SeqCst);
    }

    pub(crate) fn take_migration_failure(version: u32) -> bool {
        FAIL_MIGRATION_TO.compare_exchange(version, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }
}
