//! Durable storage: SQLite (bundled) in WAL mode, the source of truth for memories, their
//! vectors, version history and the FTS5 keyword index.
//!
//! One writer connection (behind a mutex, so writes are serialized in commit order) and a
//! small pool of read connections that see consistent WAL snapshots while the writer works.
//! The directory is locked with an OS file lock, so a second process gets a clear
//! [`Error::Locked`] instead of a corrupted store.

mod access;
#[cfg(feature = "postgres")]
mod changes;
pub(crate) mod db;
pub(crate) mod derived;
mod emotion_row;
pub(crate) mod examples;
mod filters;
pub(crate) mod jobs;
mod layout;
mod options;
#[cfg(feature = "postgres")]
mod pg_schema;
pub(crate) mod pg_url;
mod queries;
mod rank_cache;
mod recall_sql;
mod reembed;
mod rekey;
#[cfg(feature = "postgres")]
mod remote;
pub mod schema;
#[cfg(feature = "postgres")]
pub(crate) mod transfer;
mod usage;

use std::fs::{File, OpenOptions};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

pub(crate) use db::Db;
#[cfg(feature = "postgres")]
pub(crate) use pg_url::PgTarget;
#[cfg(feature = "postgres")]
pub(crate) use remote::RemoteChanges;

pub(crate) use filters::Filters;
mod backend;
mod location;
mod locks;
#[cfg(all(test, feature = "postgres"))]
mod rls_tests;
mod scope;
pub use backend::StoreMetrics;
pub(crate) use layout::{
    UserKey, VectorId, INDEX_DIR, META_MODEL_ID, META_REEMBED_DONE, META_REEMBED_TARGET,
};
pub use layout::{DB_FILE, LOCK_FILE};
pub(crate) use location::Location;
pub(crate) use locks::lock_users;
pub use options::{Durability, StoreOptions};
pub(crate) use queries::*;
pub(crate) use rank_cache::RecallCache;
pub(crate) use recall_sql::*;
pub(crate) use reembed::*;
pub use rekey::rekey;
pub(crate) use scope::for_user;
pub(crate) use usage::{add_usage, memory_bytes, user_usage};

use crate::crypto::{self, EncryptionKey, MasterKey};
use crate::error::{Error, Result};

/// The locked writer connection; see [`Store::writer`].
pub(crate) struct WriteGuard<'a> {
    conn: MutexGuard<'a, Db>,
    /// `None` for a guard that changes no memory ([`Store::locked`]).
    generation: Option<&'a AtomicU64>,
    /// `None` for a guard that only adds memories ([`Store::appender`]); else
    /// [`Store::rows_generation`] and [`Store::texts_generation`].
    changes: Option<[&'a AtomicU64; 2]>,
}

impl Deref for WriteGuard<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.conn
    }
}

impl DerefMut for WriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        &mut self.conn
    }
}

impl Drop for WriteGuard<'_> {
    // Runs before the mutex is released, so no later writer's commit can slip in between.
    fn drop(&mut self) {
        for counter in self.generation.into_iter().chain(self.changes.into_iter().flatten()) {
            counter.fetch_add(1, Ordering::AcqRel);
        }
    }
}

pub(crate) struct Store {
    path: Option<PathBuf>,
    writer: Mutex<Db>,
    readers: Vec<Mutex<Db>>,
    next_reader: AtomicUsize,
    /// Bumped after every write that may change memories (see [`Store::generation`]).
    generation: AtomicU64,
    /// Bumped after every write that may change an existing memory (see
    /// [`Store::rows_generation`]).
    rows_generation: AtomicU64,
    /// Bumped after every write that may change or remove an existing memory (see
    /// [`Store::texts_generation`]).
    texts_generation: AtomicU64,
    /// Recall's access counts not yet written (see [`access`]).
    pub(crate) access: access::AccessLog,
    /// The database key of an encrypted store (also what its exports are sealed with).
    key: Option<MasterKey>,
    /// A shared store's instance name and change-log position (see [`remote`]).
    #[cfg(feature = "postgres")]
    remote: Option<remote::Remote>,
    /// Filtered semantic search runs in the database (PostgreSQL with pgvector).
    vectors_in_db: bool,
    // Held for the life of the store; dropping it releases the OS lock.
    _lock: Option<File>,
}

/// Called before a store of an older schema is migrated, with the writer connection, the
/// store directory and the versions from and to; returns the backup it wrote (named in a
/// failed migration's error). The builder supplies it (maintenance's pre-migration backup),
/// so the store need not know how backups are made.
pub(crate) type BeforeMigration = fn(&Connection, Option<&MasterKey>, &Path, u32, u32) -> Result<PathBuf>;

impl Store {
    /// Open (creating if needed) the store in `dir`; `before_migration` runs before an older
    /// store is migrated forward.
    pub fn open(
        dir: &Path,
        config: &StoreOptions,
        key: Option<&EncryptionKey>,
        before_migration: Option<BeforeMigration>,
    ) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| not_writable(dir, e))?;
        let lock = lock_dir(dir)?;
        let db = dir.join(DB_FILE);
        // Under the lock: the key marker of a new encrypted store is written here.
        let master = crypto::store_key(dir, &db, key)?;
        let mut writer = Connection::open(&db).map_err(|e| open_error(dir, e))?;
        crypto::apply(&writer, master.as_ref())?;
        crypto::read_header(&writer, master.as_ref(), dir, |e| open_error(dir, e))?;
        if let Some(m) = &master {
            crypto::repair_marker(dir, m)?;
        }
        configure(&writer, config, true)?;
        let found = schema::version(&writer)?;
        let backup = match before_migration {
            Some(hook) if found > 0 && found < schema::SCHEMA_VERSION => {
                Some(hook(&writer, master.as_ref(), dir, found, schema::SCHEMA_VERSION)?)
            }
            _ => None,
        };
        schema::migrate(&mut writer, backup.as_deref())?;
        fts_secure_delete(&writer)?;
        let readers = (0..config.read_connections)
            .map(|_| {
                let c = Connection::open_with_flags(
                    &db,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                crypto::apply(&c, master.as_ref())?;
                configure(&c, config, false)?;
                Ok(Mutex::new(Db::Sqlite(c)))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut store = Store::assemble(Db::Sqlite(writer), readers);
        store.path = Some(dir.to_path_buf());
        store.key = master;
        store._lock = Some(lock);
        Ok(store)
    }

    /// Open (creating its tables if needed) the store in a PostgreSQL database: one writer
    /// connection and `read_connections` readers, like a directory's store, but no lock:
    /// any number of instances share the database.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(target: &PgTarget, config: &StoreOptions) -> Result<Store> {
        // Every connection of this instance carries its name: the change log records who
        // wrote, so an instance skips its own changes when it polls.
        let instance = format!("memorable-{:016x}", u64::from_le_bytes(crypto::random::<8>()?));
        let target = target.named(&instance);
        // Every connection counts its re-opens here (metrics).
        let reconnects = std::sync::Arc::new(AtomicU64::new(0));
        let connect =
            || Ok::<_, Error>(Db::Postgres(Box::new(db::pg::PgConn::connect(&target, reconnects.clone())?)));
        let mut writer = connect()?;
        pg_schema::migrate(&mut writer, crate::time::now_ms())?;
        let vectors_in_db = pg_schema::enable_vector_search(&mut writer)?;
        // Where this instance starts reading the change log: its caches are built from rows
        // read after this.
        let remote = remote::Remote::new(instance, changes::horizon(&writer)?, reconnects.clone());
        let readers =
            (0..config.read_connections).map(|_| Ok(Mutex::new(connect()?))).collect::<Result<Vec<_>>>()?;
        tracing::info!(database = %target, "opened a PostgreSQL store");
        let mut store = Store::assemble(writer, readers);
        store.remote = Some(remote);
        store.vectors_in_db = vectors_in_db;
        Ok(store)
    }

    /// Read what other instances changed since the last call and mark this store's caches
    /// stale accordingly; `None` when nothing changed, or no other process writes here.
    #[cfg(feature = "postgres")]
    pub fn poll_remote(&self) -> Result<Option<RemoteChanges>> {
        let Some(remote) = &self.remote else { return Ok(None) };
        let changes = self.read(|c| remote.poll(c)).inspect_err(|_| remote.stats.failed())?;
        remote.stats.polled(changes.as_ref());
        if let Some(changes) = &changes {
            let edited = match changes {
                RemoteChanges::Users(users) => users.iter().any(|c| c.edited),
                RemoteChanges::Everything => true,
            };
            self.generation.fetch_add(1, Ordering::AcqRel);
            if edited {
                self.rows_generation.fetch_add(1, Ordering::AcqRel);
                self.texts_generation.fetch_add(1, Ordering::AcqRel);
            }
        }
        if remote.prune_due() {
            remote.prune(&self.locked());
        }
        Ok(changes)
    }

    /// The store's connections: how many read connections it has and how many are in use
    /// now, and whether the writer is (health reports it).
    pub fn connection_state(&self) -> serde_json::Value {
        let busy = self.readers.iter().filter(|r| r.is_locked()).count();
        serde_json::json!({
            "readers": self.readers.len(),
            "readers_busy": busy,
            "writer_busy": self.writer.is_locked(),
        })
    }

    /// The backend and how this instance keeps up with the others (metrics).
    pub fn backend_metrics(&self) -> StoreMetrics {
        #[cfg(feature = "postgres")]
        if let Some(remote) = &self.remote {
            return remote.stats.metrics();
        }
        StoreMetrics { backend: "sqlite".into(), ..Default::default() }
    }

    /// Whether filtered semantic search runs in the database ([`nearest_in_db`]: PostgreSQL
    /// with the `vector` extension installed).
    pub fn searches_vectors_in_db(&self) -> bool {
        self.vectors_in_db
    }

    /// Whether other processes may write to this store at the same time (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        #[cfg(feature = "postgres")]
        return self.remote.is_some();
        #[cfg(not(feature = "postgres"))]
        false
    }

    /// A store of these connections, in memory and unshared until the caller says otherwise.
    fn assemble(writer: Db, readers: Vec<Mutex<Db>>) -> Store {
        Store {
            path: None,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            rows_generation: AtomicU64::new(0),
            texts_generation: AtomicU64::new(0),
            access: Default::default(),
            key: None,
            #[cfg(feature = "postgres")]
            remote: None,
            vectors_in_db: false,
            _lock: None,
        }
    }

    /// A store that lives in memory only (one connection serves reads and writes).
    pub fn open_in_memory(config: &StoreOptions) -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn, config, true)?;
        schema::migrate(&mut conn, None)?;
        fts_secure_delete(&conn)?;
        Ok(Store::assemble(Db::Sqlite(conn), Vec::new()))
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The key of an encrypted store (`None`: plain, or in memory).
    pub fn master_key(&self) -> Option<&MasterKey> {
        self.key.as_ref()
    }

    /// The writer connection. Holding it serializes writes, which also orders vector ids.
    /// Releasing it bumps [`Store::generation`].
    pub fn writer(&self) -> WriteGuard<'_> {
        WriteGuard {
            conn: self.writer.lock(),
            generation: Some(&self.generation),
            changes: Some([&self.rows_generation, &self.texts_generation]),
        }
    }

    /// The writer connection for a write that only adds memories (with their vectors,
    /// keyword rows and history) and changes no existing one: releasing it bumps
    /// [`Store::generation`] but not [`Store::rows_generation`].
    pub fn appender(&self) -> WriteGuard<'_> {
        WriteGuard { conn: self.writer.lock(), generation: Some(&self.generation), changes: None }
    }

    /// The writer connection for work that changes no memory: writes to other tables
    /// (emotional contexts) and reads that must not see a write half-applied (an index
    /// catching up, health counts, an in-memory backup). Releasing it bumps no generation,
    /// so what recall caches stays valid.
    pub fn locked(&self) -> WriteGuard<'_> {
        WriteGuard { conn: self.writer.lock(), generation: None, changes: None }
    }

    /// Count an access of each of `ids` (see [`access`]); writes the log out when it is
    /// full and the writer is free, never waiting for it.
    pub fn record_access(&self, ids: &[crate::memory::MemoryId], now: i64) -> Result<()> {
        if self.access.record(ids, now) {
            if let Some(mut conn) = self.writer.try_lock() {
                // Access counts change the rows ranking caches, which catches up from the
                // counts written (see [`access`]), not the set of memories.
                self.access.flush(&mut conn)?;
            }
        }
        Ok(())
    }

    /// A counter that changes after every write to memories. Read it *before* reading
    /// what you cache, and the cached value is current as long as the counter is unchanged
    /// (a write that commits meanwhile bumps it after its commit).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Like [`Store::generation`], but unchanged by writes that only add memories: what
    /// is cached of an existing memory stays current while it is unchanged.
    pub fn rows_generation(&self) -> u64 {
        self.rows_generation.load(Ordering::Acquire)
    }

    /// Like [`Store::rows_generation`], but also unchanged by access counts: what is cached
    /// of the memories' texts (the keyword index) stays current while it is unchanged.
    pub fn texts_generation(&self) -> u64 {
        self.texts_generation.load(Ordering::Acquire)
    }

    /// Run `f` on a read connection (a consistent snapshot of the last commit), restricted
    /// to the user of this thread's [`for_user`] scope if any.
    pub fn read<T>(&self, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        let run = |conn: &Db| {
            conn.restrict_to(scope::current())?;
            f(conn)
        };
        if self.readers.is_empty() {
            return run(&self.writer.lock());
        }
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Some(conn) = self.readers[(start + i) % n].try_lock() {
                return run(&conn);
            }
        }
        run(&self.readers[start % n].lock())
    }

    /// Size of the database and its WAL on disk, in bytes (0 in memory; on PostgreSQL the
    /// database's size as the server reports it, 0 when it cannot be read).
    pub fn disk_bytes(&self) -> u64 {
        #[cfg(feature = "postgres")]
        if self.is_shared() {
            let size = self.read(|c| {
                Ok(c.query_row("SELECT pg_database_size(current_database())", (), |r| r.get::<_, i64>(0))?)
            });
            return size.map_or(0, |n| n.max(0) as u64);
        }
        let Some(dir) = &self.path else { return 0 };
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(dir.join(format!("{DB_FILE}{suffix}"))).ok())
            .map(|m| m.len())
            .sum()
    }

    /// After a forget: fold the WAL into the database and truncate it, so the frames that
    /// held the forgotten rows (written when they were stored) leave the disk. A reader in
    /// the middle of a read transaction holds older frames; the checkpoint is retried for a
    /// short while, then left to the next one (logged).
    pub fn erase_checkpoint(&self) -> Result<()> {
        if self.path.is_none() {
            return Ok(());
        }
        for attempt in 0..ERASE_CHECKPOINT_TRIES {
            let busy: i64 = self.writer().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(2 << attempt.min(4)));
        }
        tracing::warn!(
            "a reader held the WAL: forgotten rows stay in its old frames until the next checkpoint"
        );
        Ok(())
    }

    /// Fold the WAL back into the database file.
    pub fn checkpoint(&self) -> Result<()> {
        self.access.flush(&mut self.writer.lock())?;
        self.rows_generation.fetch_add(1, Ordering::AcqRel);
        if self.path.is_some() {
            self.writer().execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        }
        Ok(())
    }
}

/// A connection to the PostgreSQL store at `target` for maintenance (restore, verify), not
/// an open store: no caches, no change-log reader. With `migrate`, an empty or older
/// database is brought to this build's schema first.
#[cfg(feature = "postgres")]
pub(crate) fn connect_postgres(target: &PgTarget, migrate: bool) -> Result<Db> {
    let mut db = Db::Postgres(Box::new(db::pg::PgConn::connect(target, Default::default())?));
    if migrate {
        pg_schema::migrate(&mut db, crate::time::now_ms())?;
    }
    Ok(db)
}

/// Schema version of the store behind `db`, on either backend.
pub(crate) fn stored_version(db: &Db) -> Result<u32> {
    match db.sqlite() {
        Some(c) => schema::version(c),
        #[cfg(feature = "postgres")]
        None => pg_schema::version(db),
        #[cfg(not(feature = "postgres"))]
        None => unreachable!("only SQLite without the postgres feature"),
    }
}

/// Attempts of [`Store::erase_checkpoint`] (about 0.2 s in all) before it leaves the WAL to the
/// next checkpoint.
const ERASE_CHECKPOINT_TRIES: u32 = 10;

/// FTS5's `secure-delete` option (SQLite 3.44+), kept in the index's own config table: a
/// deleted row's tokens are removed from the index segments instead of being masked by a
/// delete marker, so a forgotten text's words leave the file. Set once; idempotent.
fn fts_secure_delete(conn: &Connection) -> Result<()> {
    let on: Option<i64> = conn
        .query_row("SELECT v FROM memories_fts_config WHERE k = 'secure-delete'", [], |r| r.get(0))
        .optional()?;
    if on != Some(1) {
        conn.execute("INSERT INTO memories_fts(memories_fts, rank) VALUES ('secure-delete', 1)", [])?;
    }
    Ok(())
}

fn configure(conn: &Connection, config: &StoreOptions, writer: bool) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // `rarray(?)`: a list of ids bound as one parameter, so ranking's statements with
    // id lists of any length are prepared once and cached.
    rusqlite::vtab::array::load_module(conn)?;
    if writer {
        // journal_mode returns a row, so it is read rather than executed.
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        let sync = match config.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        // secure_delete: the content of deleted rows is overwritten with zeros in the pages
        // they leave (forget must not leave text in free space).
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 8192; PRAGMA secure_delete = ON;"
        ))?;
    }
    // 32 MiB of page cache per connection: the vector blobs of a large batch fit. And up to
    // 1 GiB of the database file mapped: reads of mapped pages need no copy and survive the
    // cache reset a connection does when another one committed.
    conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA mmap_size = 1073741824;")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Take the store directory's OS lock (held while the returned file lives).
fn lock_dir(dir: &Path) -> Result<File> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(|e| not_writable(dir, e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { path: dir.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(not_writable(dir, e)),
    }
}

fn not_writable(dir: &Path, e: std::io::Error) -> Error {
    Error::NotWritable { path: dir.to_path_buf(), reason: e.to_string() }
}

fn open_error(dir: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) => {
            Error::NotWritable { path: dir.to_path_buf(), reason: e.to_string() }
        }
        Some(rusqlite::ErrorCode::NotADatabase) => {
            Error::Corrupt(format!("{} is not a MemoRable store: {e}", dir.display()))
        }
        _ => e.into(),
    }
}
