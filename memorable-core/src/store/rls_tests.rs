//! Row-level security of a PostgreSQL store, tried from inside (see `store::scope`).

use crate::store::db::params;
use crate::store::pg_url::testing::TestDb;
use crate::store::scope::for_user;
use crate::store::{get_memory, previous_versions, PgTarget, Store, StoreOptions};

/// Row-level security tried from inside: with the scope set to alice, queries that ask for
/// bob's rows by id or by key (the bug RLS is there for) find nothing, on a role that owns
/// the tables and is no superuser (how MemoRable should connect).
#[test]
fn a_scoped_read_cannot_see_another_users_rows() {
    let Some(db) = TestDb::create("rls") else { return };
    // A login role that owns the database (and so its public schema and the tables it
    // creates), not superuser.
    let role = format!("rls_{}", std::process::id());
    let mut admin = postgres::Client::connect(&db.admin_url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'rls-pass' NOSUPERUSER NOBYPASSRLS;
             ALTER DATABASE {} OWNER TO {role};",
            db.name()
        ))
        .unwrap();
    let url = db.url_as(&role, "rls-pass");
    let store = Store::open_postgres(&PgTarget::parse(&url).unwrap(), &StoreOptions::default()).unwrap();
    let (alice, bob, bobs) = {
        let w = store.locked();
        let alice = crate::store::ensure_user(&w, "alice", 1).unwrap();
        let bob = crate::store::ensure_user(&w, "bob", 1).unwrap();
        let insert = |user: i64, text: &str| -> i64 {
            w.insert_id(
                "INSERT INTO memories(user_key, text, kind, occurred_at, importance, created_at, updated_at)
                 VALUES (?1, ?2, 'message', 1, 0.5, 1, 1)",
                "id",
                params![user, text],
            )
            .unwrap()
        };
        insert(alice, "alice's secret");
        let bobs = insert(bob, "bob's secret");
        w.execute(
            "INSERT INTO memory_versions(memory_id, version, text, kind, tags, metadata, importance, valid_from, valid_to)
             VALUES (?1, 1, 'bob''s old secret', 'message', '[]', '{}', 0.5, 0, 1)",
            params![bobs],
        )
        .unwrap();
        (alice, bob, bobs)
    };
    let count = |sql: &str| store.read(|c| Ok(c.query_row(sql, (), |r| r.get::<_, i64>(0))?)).unwrap();
    {
        let _alice = for_user(alice);
        assert!(store.read(|c| get_memory(c, bobs as u64)).unwrap().is_none(), "bob's memory by id");
        assert_eq!(count("SELECT count(*) FROM memories"), 1, "only alice's rows");
        let bob_rows: i64 = store
            .read(|c| {
                Ok(c.query_row("SELECT count(*) FROM memories WHERE user_key = ?1", params![bob], |r| {
                    r.get(0)
                })?)
            })
            .unwrap();
        assert_eq!(bob_rows, 0, "bob's rows by key");
        assert!(store.read(|c| previous_versions(c, bobs as u64)).unwrap().is_empty(), "bob's old versions");
    }
    // Store-wide again once the scope ends.
    assert_eq!(count("SELECT count(*) FROM memories"), 2);
    assert!(store.read(|c| get_memory(c, bobs as u64)).unwrap().is_some());
    assert_eq!(store.read(|c| previous_versions(c, bobs as u64)).unwrap().len(), 1);
    drop(store);
    admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", db.name())).unwrap();
    admin.batch_execute(&format!("DROP ROLE {role}")).unwrap();
}
