//! The PostgreSQL store (`postgres://` URLs) against a real server: the cluster
//! `scripts/pg-cluster.sh` starts (`scripts/test.sh` does, and exports its URL as
//! `MEMORABLE_TEST_PG_URL`). Without that variable these tests fail, unless
//! `MEMORABLE_SKIP_PG=1` says to skip them (an opt-out that prints, never a silent skip).
//! Each test works in a database of its own, created here and dropped at the end.

use memorable_core::{ErrorCode, Memorable, MemoryUpdate, NewMemory, Recall, RecallMode};

use crate::common::{hashing_config, seed};

/// A database of its own on the test cluster, dropped when this is dropped.
pub struct TestDb {
    admin: String,
    name: String,
    pub url: String,
}

impl TestDb {
    /// `None` (after saying so) when `MEMORABLE_SKIP_PG=1`; panics when no cluster is named.
    pub fn create(tag: &str) -> Option<TestDb> {
        let Ok(admin) = std::env::var("MEMORABLE_TEST_PG_URL") else {
            if std::env::var("MEMORABLE_SKIP_PG").as_deref() == Ok("1") {
                eprintln!("MEMORABLE_SKIP_PG=1: PostgreSQL test {tag} skipped");
                return None;
            }
            panic!(
                "MEMORABLE_TEST_PG_URL is not set: start a cluster with `eval \"$(scripts/pg-cluster.sh start)\"` (or set MEMORABLE_SKIP_PG=1 to skip the PostgreSQL tests)"
            );
        };
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("t_{tag}_{}_{n}_{}", std::process::id(), rand_suffix());
        let mut client =
            postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test cluster");
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
        let url = format!("{base}/{name}");
        Some(TestDb { admin, name, url })
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A PostgreSQL store with the hashing embedder.
pub fn open_postgres(url: &str) -> Memorable {
    Memorable::builder(url).config(hashing_config()).open().unwrap()
}

#[test]
fn users_are_isolated_and_forget_user_cascades() {
    let Some(db) = TestDb::create("isolation") else { return };
    let mem = open_postgres(&db.url);
    let a = mem.remember(NewMemory::new("alice", "alice keeps bees on the roof")).unwrap();
    let b = mem.remember(NewMemory::new("bob", "bob keeps bees in the garden")).unwrap();
    let hits = mem.recall(&Recall::new("alice", "bees").limit(10)).unwrap();
    assert_eq!(hits.iter().map(|h| h.memory.id).collect::<Vec<_>>(), vec![a]);
    let removed = mem.forget_user("alice").unwrap();
    assert_eq!(removed, 1);
    assert_eq!(mem.get(a).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(mem.get(b).unwrap().user, "bob");
}

#[test]
fn a_bad_url_or_an_unreachable_server_is_a_coded_error_without_the_password() {
    let e = Memorable::open("postgres://u:hunter2@127.0.0.1:1/none").unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreUnavailable, "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = Memorable::open("postgresql://u:hunter2@127.0.0.1:notaport/none").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfig, "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

/// Wait (polling) until `f` holds, up to `deadline`; returns how long it took.
fn within(deadline: std::time::Duration, mut f: impl FnMut() -> bool) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < deadline {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    None
}

fn recalled(mem: &Memorable, user: &str, query: &str) -> Vec<u64> {
    mem.recall(&Recall::new(user, query).limit(20)).unwrap().iter().map(|h| h.memory.id).collect()
}

#[test]
fn another_instance_sees_writes_edits_and_forgets_within_the_sync_interval() {
    let Some(db) = TestDb::create("instances") else { return };
    let (a, b) = (open_postgres(&db.url), open_postgres(&db.url));
    let first = a.remember(NewMemory::new("alice", "the hedgehog lives under the shed")).unwrap();
    // b loads alice's index now, from the rows: it has the first memory.
    assert_eq!(recalled(&b, "alice", "hedgehog"), vec![first]);

    // Written by a after b's index exists: b's sync thread brings it in.
    let second = a.remember(NewMemory::new("alice", "the hedgehog eats slugs at night")).unwrap();
    // The default interval is 100 ms; a generous deadline, the measured delay printed.
    let deadline = std::time::Duration::from_secs(5);
    let took = within(deadline, || recalled(&b, "alice", "hedgehog").contains(&second));
    eprintln!("b saw a's write after {took:?}");
    assert!(took.is_some(), "b never saw a's write");

    // An edit: b's keyword index and ranking rows follow.
    a.update(second, MemoryUpdate::default().text("the hedgehog eats beetles at dawn")).unwrap();
    let took = within(deadline, || recalled(&b, "alice", "beetles").first() == Some(&second));
    eprintln!("b saw a's edit after {took:?}");
    assert!(took.is_some(), "b never saw a's edit");

    // A forget: b stops returning it.
    a.forget(first).unwrap();
    let took = within(deadline, || !recalled(&b, "alice", "hedgehog").contains(&first));
    eprintln!("b saw a's forget after {took:?}");
    assert!(took.is_some(), "b kept returning a memory a forgot");
    assert_eq!(recalled(&b, "alice", "hedgehog"), vec![second]);

    // And the other way round.
    let third = b.remember(NewMemory::new("alice", "a second hedgehog visits the garden")).unwrap();
    assert!(within(deadline, || recalled(&a, "alice", "hedgehog").contains(&third)).is_some());

    // Metrics per backend: b polled and found a's changes; the Prometheus text labels them.
    let store = b.metrics().unwrap().store;
    assert_eq!(store.backend, "postgres");
    assert!(store.sync_polls >= 1 && store.sync_changes >= 3 && store.sync_errors == 0, "{store:?}");
    assert!(store.sync_lag_seconds < 5.0, "{store:?}");
    let text = b.metrics_prometheus().unwrap();
    assert!(text.contains("memorable_store_info{backend=\"postgres\"} 1"), "{text}");
    assert!(text.contains("memorable_store_sync_polls_total{backend=\"postgres\"}"), "{text}");
}

#[test]
fn a_sync_interval_out_of_range_is_refused() {
    let mut config = hashing_config();
    config.sync_interval_ms = 5;
    let e = Memorable::builder("postgres://u@127.0.0.1:1/none").config(config).open().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfig, "{e}");
}

#[test]
fn health_and_stats_work_on_postgres() {
    let Some(db) = TestDb::create("health") else { return };
    let mem = open_postgres(&db.url);
    seed(&mem);
    let report = mem.health().unwrap();
    let store = report.checks.iter().find(|c| c.name == "store").unwrap();
    assert_eq!(store.status, memorable_core::HealthStatus::Ok, "{store:?}");
    assert_eq!(store.details["backend"], "postgres");
    // The test cluster's role is a superuser: health says row-level security does not bind it.
    assert!(store.details["row_level_security"].as_str().unwrap().starts_with("bypassed"), "{store:?}");
    assert_eq!(store.details["connections"]["readers"], 4);
    assert_eq!(store.details["replicas"], 0);
    assert!(
        ["absent", "available", "installed"].contains(&store.details["vector_extension"].as_str().unwrap())
    );
    assert_ne!(report.status, memorable_core::HealthStatus::Failing, "{report:?}");
    let stats = mem.stats().unwrap();
    assert_eq!(stats.memories, 6);
}

/// A database migrated by a newer build is refused, and left as it was.
#[test]
fn a_newer_schema_is_refused_untouched() {
    let Some(db) = TestDb::create("newer") else { return };
    open_postgres(&db.url).close().unwrap();
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let applied: i64 = c.query_one("SELECT count(*) FROM memorable_schema", &[]).unwrap().get(0);
    assert_eq!(applied as usize, memorable_core::SCHEMA_VERSION as usize - 8, "one row from 9 up");
    c.batch_execute("INSERT INTO memorable_schema(version, applied_at) VALUES (99, 0)").unwrap();
    let e = Memorable::builder(&db.url).config(hashing_config()).open().unwrap_err();
    assert_eq!(e.code(), ErrorCode::NewerVersion, "{e}");
    let versions: i64 = c.query_one("SELECT count(*) FROM memorable_schema", &[]).unwrap().get(0);
    assert_eq!(versions, applied + 1, "nothing applied, nothing removed");
}

/// `sslmode=require` connects over TLS to a server with a self-signed certificate (the test
/// cluster's), as libpq's `require` does; the server sees every connection encrypted.
#[test]
fn sslmode_require_encrypts_the_connections() {
    let Some(db) = TestDb::create("tls") else { return };
    let mem = open_postgres(&format!("{}?sslmode=require", db.url));
    mem.remember(NewMemory::new("alice", "sent over TLS")).unwrap();
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let (all, encrypted): (i64, i64) = {
        let row = admin
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.application_name LIKE 'memorable-%' AND a.datname = current_database()",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(all >= 5, "the handle's writer and readers: {all}");
    assert_eq!(encrypted, all, "every connection of the handle is encrypted");
    mem.close().unwrap();
}

/// With pgvector: filtered recall is scanned exactly by the database, and answers as the
/// directory store does. Opt-in: it needs the `vector` extension on the test server
/// (`scripts/build-pgvector.sh`), which Debian's archive lacks; run with
/// `cargo test -p memorable-core --test main -- --ignored pgvector`.
#[test]
#[ignore = "opt-in: needs the vector extension on the test server (scripts/build-pgvector.sh)"]
fn with_pgvector_filtered_recall_runs_in_the_database() {
    let Some(db) = TestDb::create("pgvector") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let local = crate::common::open_hashing(tmp.path());
    // Rows written before the extension exists are converted when a store next opens.
    let before = open_postgres(&db.url);
    let mut ids = seed(&before);
    seed(&local);
    before.close().unwrap();
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin.batch_execute("CREATE EXTENSION vector").unwrap();
    let mem = open_postgres(&db.url);
    let store = mem.health().unwrap().checks.into_iter().find(|c| c.name == "store").unwrap();
    assert_eq!(store.details["vector_extension"], "in use", "{store:?}");
    for (i, text) in
        ["my puppy chewed the sofa", "the puppy school starts Monday", "puppy teeth"].iter().enumerate()
    {
        let m = NewMemory::new("alice", *text).tags(["pets"]).speaker(if i == 0 { "alice" } else { "bob" });
        ids.push(mem.remember(m.clone()).unwrap());
        local.remember(m).unwrap();
    }
    let unconverted: i64 =
        admin.query_one("SELECT count(*) FROM vectors WHERE embedding IS NULL", &[]).unwrap().get(0);
    assert_eq!(unconverted, 0);
    let semantic = |m: &Memorable, r: &Recall| -> Vec<(u64, i64)> {
        m.recall(r)
            .unwrap()
            .iter()
            .map(|h| (h.memory.id, (h.breakdown.semantic.unwrap_or(0.0) * 1e4).round() as i64))
            .collect()
    };
    for r in [
        Recall::new("alice", "a young dog").tags(["pets"]).limit(5),
        Recall::new("alice", "puppy").speaker("bob").limit(5),
        Recall::new("alice", "what did the family plan").tags(["family", "pets"]).limit(5),
    ] {
        assert_eq!(semantic(&mem, &r), semantic(&local, &r), "{r:?}");
    }
    // The database's vectors choose the candidates: a memory whose `embedding` no longer
    // matches the query's dimension is not one (its `data`, what scores read, is untouched).
    let r = Recall::new("alice", "a young dog").tags(["pets"]).mode(RecallMode::Semantic).limit(10);
    let other = *ids.last().unwrap();
    assert!(semantic(&mem, &r).iter().any(|h| h.0 == other));
    admin
        .execute("UPDATE vectors SET embedding = '[1,2,3]' WHERE memory_id = $1", &[&(other as i64)])
        .unwrap();
    // (Another writer's change, for this handle: it reads it within the sync interval.)
    let gone = within(std::time::Duration::from_secs(5), || semantic(&mem, &r).iter().all(|h| h.0 != other));
    assert!(gone.is_some(), "{:?}", semantic(&mem, &r));
    assert!(semantic(&local, &r).iter().any(|h| h.0 == other), "the directory store still finds it");
    mem.close().unwrap();
}
