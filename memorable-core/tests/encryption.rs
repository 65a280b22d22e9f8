//! Encryption at rest: a store opened with a key leaves no text, keyword token or vector in
//! plaintext in any file it writes (database, WAL, shared memory, key marker, backups,
//! exports); a missing or wrong key is `WRONG_KEY` and changes nothing; `rekey` rotates the
//! key; backups, restore, export and import keep working under the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use memorable_core::{
    rekey, restore_with_key, verify_with_key, Config, Embedder, EncryptionKey, ErrorCode, HashingEmbedder,
    Memorable, NewMemory, Recall,
};

use crate::common::hashing_config;

const SECRET: &str = "Quixotrembla";
const TOKEN: &str = "quixotrembla";
const FILLER: &str = "marmalade";

fn key(s: &str) -> EncryptionKey {
    EncryptionKey::new(s).unwrap()
}

fn config_with(k: Option<&str>) -> Config {
    let mut c = hashing_config();
    c.encryption_key = k.map(key);
    // A graph from the first vector, so these small stores write index dumps to check.
    c.exact_search_threshold = 0;
    c
}

fn open(dir: &Path, k: Option<&str>) -> memorable_core::Result<Memorable> {
    Memorable::builder(dir).config(config_with(k)).open()
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    crate::common::files_under(dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

fn containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    crate::common::files_containing(dir, needle)
}

/// Memories with the secret, filler to spread it over many pages, an emotion reading; then
/// a recall (which loads the index), a backup and an export into `root`.
fn fill_and_copy(mem: &Memorable, root: &Path) -> Vec<u8> {
    let text = format!("my therapist said {SECRET} is the word for how I feel about my sister");
    mem.remember(NewMemory::new("ann", text.clone()).session("s1")).unwrap();
    for i in 0..300 {
        mem.remember(NewMemory::new("ann", format!("note {i}: {FILLER} on toast again")).session("s1"))
            .unwrap();
    }
    let hits = mem.recall(&Recall::new("ann", format!("{SECRET} sister")).limit(3)).unwrap();
    assert!(hits[0].memory.text.contains(SECRET));
    mem.backup(root.join("backup.mrbak")).unwrap();
    assert_eq!(mem.export_user_to("ann", true, root.join("ann.jsonl")).unwrap(), 301);
    mem.checkpoint().unwrap();
    // The vector of the secret memory, as the hashing embedder makes it: 16 of its bytes.
    let v = HashingEmbedder::new(384).embed(&[text.as_str()]).unwrap().remove(0);
    let at = v.iter().position(|x| *x != 0.0).unwrap();
    v[at..at + 4].iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn an_encrypted_store_writes_no_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain_dir, enc_dir) = (tmp.path().join("plain"), tmp.path().join("enc"));
    std::fs::create_dir_all(&plain_dir).unwrap();
    std::fs::create_dir_all(&enc_dir).unwrap();
    // The same work on a plain store: the search below must find what it looks for.
    let plain = open(&plain_dir.join("store"), None).unwrap();
    let plain_vector = fill_and_copy(&plain, &plain_dir);
    plain.close().unwrap();
    for needle in [SECRET.as_bytes(), TOKEN.as_bytes(), FILLER.as_bytes(), &plain_vector[..]] {
        assert!(!containing(&plain_dir, needle).is_empty(), "the control found no {needle:?}");
    }

    let mem = open(&enc_dir.join("store"), Some("correct horse battery staple")).unwrap();
    let vector = fill_and_copy(&mem, &enc_dir);
    // While open (WAL and shared memory present) and after close.
    for pass in ["open", "closed"] {
        for needle in [SECRET.as_bytes(), TOKEN.as_bytes(), FILLER.as_bytes(), b"note 17:", &vector[..]] {
            let found = containing(&enc_dir, needle);
            assert!(
                found.is_empty(),
                "{pass}: {:?} in plaintext in {found:?}",
                String::from_utf8_lossy(needle)
            );
        }
        if pass == "open" {
            mem.close().unwrap();
        }
    }
    // The index dump was written, sealed: the greps above cover its files too.
    let index = enc_dir.join("store").join("index");
    let manifests: Vec<serde_json::Value> = std::fs::read_dir(&index)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    // (Where no RAM directory exists, an encrypted store writes no dump at all.)
    let ram = std::env::var_os("MEMORABLE_RAM_DIR").map(PathBuf::from).unwrap_or_else(|| "/dev/shm".into());
    if ram.is_dir() {
        assert_eq!(manifests.len(), 1);
        assert_eq!(manifests[0]["sealed"], true);
    } else {
        assert!(manifests.is_empty(), "a dump without a RAM directory to stage it in");
    }
    // And nothing about the key itself is on disk.
    assert!(containing(&enc_dir, b"correct horse").is_empty());

    // Everything comes back with the key, the index from its sealed dump.
    let mem = open(&enc_dir.join("store"), Some("correct horse battery staple")).unwrap();
    let hits = mem.recall(&Recall::new("ann", SECRET).limit(1)).unwrap();
    assert!(hits[0].memory.text.contains(SECRET));
    mem.checkpoint().unwrap();
    let stats = mem.stats().unwrap();
    assert_eq!(stats.memories, 301);
    if ram.is_dir() {
        assert_eq!(stats.loaded_indexes[0].origin, memorable_core::IndexOrigin::Dump);
    }
    assert_eq!(stats.loaded_indexes[0].points, 301);
    // Forgetting removes the sealed dump (the vector must not stay there, even encrypted).
    mem.forget(hits[0].memory.id).unwrap();
    assert!(!index.join("u1.json").exists(), "the sealed dump holding the vector is gone");
    mem.close().unwrap();
    let mem = open(&enc_dir.join("store"), Some("correct horse battery staple")).unwrap();
    assert!(mem
        .recall(&Recall::new("ann", SECRET).limit(5))
        .unwrap()
        .iter()
        .all(|h| !h.memory.text.contains(SECRET)));
}

#[test]
fn a_missing_or_wrong_key_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mem = open(&dir, Some("k1")).unwrap();
    mem.remember(NewMemory::new("ann", "the first memory")).unwrap();
    mem.close().unwrap();
    let before = files(&dir);
    for k in [None, Some("k2"), Some("K1"), Some("k1 ")] {
        let err = open(&dir, k).err().unwrap();
        assert_eq!(err.code(), ErrorCode::WrongKey, "{k:?}: {err}");
        assert_eq!(err.code().name(), "WRONG_KEY");
        // Nothing of the key (given or right) appears in the message.
        assert!(!err.to_string().contains("k2") && !err.to_string().contains("k1"), "{err}");
    }
    let after = files(&dir);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (p, b) in &before {
        if !p.ends_with("LOCK") {
            assert!(after[p] == *b, "{} changed", p.display());
        }
    }
    // A plain store refuses a key; a damaged plain database is still CORRUPT, not WRONG_KEY.
    let plain = tmp.path().join("plain");
    open(&plain, None).unwrap().close().unwrap();
    assert_eq!(open(&plain, Some("k1")).err().unwrap().code(), ErrorCode::WrongKey);
    let bogus = tmp.path().join("bogus");
    std::fs::create_dir_all(&bogus).unwrap();
    std::fs::write(bogus.join("memorable.db"), vec![7u8; 4096]).unwrap();
    assert_eq!(open(&bogus, None).err().unwrap().code(), ErrorCode::Corrupt);
    // The key's Debug form and the config's are redacted.
    let c = config_with(Some("hunter2hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!serde_json::to_string(&c).unwrap().contains("hunter2"));
    // Reopening with the right key works and sees the memory.
    assert_eq!(open(&dir, Some("k1")).unwrap().stats().unwrap().memories, 1);
}

#[test]
fn rekey_rotates_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mem = open(&dir, Some("old key")).unwrap();
    for i in 0..50 {
        mem.remember(NewMemory::new("ann", format!("memory {i} of {SECRET}"))).unwrap();
    }
    // Not while the store is open; not with the wrong old key.
    assert_eq!(rekey(&dir, &key("old key"), &key("new key")).unwrap_err().code(), ErrorCode::Locked);
    mem.close().unwrap();
    assert_eq!(rekey(&dir, &key("nope"), &key("new key")).unwrap_err().code(), ErrorCode::WrongKey);
    rekey(&dir, &key("old key"), &key("new key")).unwrap();
    assert_eq!(open(&dir, Some("old key")).err().unwrap().code(), ErrorCode::WrongKey);
    let mem = open(&dir, Some("new key")).unwrap();
    assert_eq!(mem.stats().unwrap().memories, 50);
    assert_eq!(mem.recall(&Recall::new("ann", SECRET).limit(50)).unwrap().len(), 50);
    mem.close().unwrap();
    assert!(containing(&dir, SECRET.as_bytes()).is_empty());
    assert!(verify_with_key(&dir, Some(&key("new key")), &mut |_, _| {}).unwrap().ok);
    // A plain store has no key to rotate.
    let plain = tmp.path().join("plain");
    open(&plain, None).unwrap().close().unwrap();
    assert_eq!(rekey(&plain, &key("a"), &key("b")).unwrap_err().code(), ErrorCode::WrongKey);
}

#[test]
fn backups_restores_and_exports_keep_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mem = open(&dir, Some("k")).unwrap();
    for i in 0..20 {
        mem.remember(NewMemory::new("ann", format!("memory {i} about {SECRET}"))).unwrap();
    }
    let backup = tmp.path().join("b.mrbak");
    let report = mem.backup(&backup).unwrap();
    assert_eq!(report.memories, 20);
    let export = tmp.path().join("ann.jsonl");
    mem.export_user_to("ann", true, &export).unwrap();
    mem.close().unwrap();
    assert!(containing(tmp.path(), SECRET.as_bytes()).is_empty());

    // verify: without the key it cannot look inside; with it, it checks everything.
    let err = verify_with_key(&backup, None, &mut |_, _| {}).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongKey);
    assert_eq!(
        verify_with_key(&backup, Some(&key("x")), &mut |_, _| {}).unwrap_err().code(),
        ErrorCode::WrongKey
    );
    let v = verify_with_key(&backup, Some(&key("k")), &mut |_, _| {}).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.memories, 20);

    // restore: the restored store is encrypted with the same key.
    let restored = tmp.path().join("restored");
    assert_eq!(
        restore_with_key(&backup, &restored, None, &mut |_, _| {}).unwrap_err().code(),
        ErrorCode::WrongKey
    );
    assert!(!restored.exists());
    restore_with_key(&backup, &restored, Some(&key("k")), &mut |_, _| {}).unwrap();
    assert_eq!(open(&restored, None).err().unwrap().code(), ErrorCode::WrongKey);
    let back = open(&restored, Some("k")).unwrap();
    assert_eq!(back.stats().unwrap().memories, 20);

    // import: a sealed export opens with the key of the store importing it (same key here).
    let other = open(&tmp.path().join("other"), Some("k")).unwrap();
    let r = other.import_jsonl_from(&export, 8, &mut |_| {}).unwrap();
    assert_eq!(r.imported, 20);
    assert_eq!(r.vectors_kept, 20);
    // A store with another key cannot read it; a damaged export is CORRUPT.
    let stranger = open(&tmp.path().join("stranger"), Some("other")).unwrap();
    assert_eq!(stranger.import_jsonl_from(&export, 8, &mut |_| {}).unwrap_err().code(), ErrorCode::WrongKey);
    let mut bytes = std::fs::read(&export).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let damaged = tmp.path().join("damaged.jsonl");
    std::fs::write(&damaged, bytes).unwrap();
    let fresh = open(&tmp.path().join("fresh"), Some("k")).unwrap();
    assert_eq!(fresh.import_jsonl_from(&damaged, 1000, &mut |_| {}).unwrap_err().code(), ErrorCode::Corrupt);
    assert_eq!(fresh.stats().unwrap().memories, 0, "a damaged import writes nothing (one batch)");
}
