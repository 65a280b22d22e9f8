//! Idempotent writes: a memory written with a client key is stored once per user and key;
//! a `remember` that repeats the key (a retry, from any process) answers the stored id.

use std::collections::HashMap;

use super::Engine;
use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{self, Db, PreparedMemory};

/// A memory prepared for writing, with the vector its caller supplied.
type Item = (PreparedMemory, Option<Vec<f32>>);

/// What each position of a `remember` call answers.
enum Slot {
    /// The memory this call writes (in order).
    Written,
    /// Stored before under the same key.
    Existing(MemoryId),
    /// The same key as an earlier position of this call.
    SameAs(usize),
}

/// The answers of the positions a call does not write.
pub(super) struct Known {
    slots: Vec<Slot>,
}

impl Known {
    /// Every position's id, given the ids of the memories written (in order).
    pub fn answer(&self, written: Vec<MemoryId>) -> Vec<MemoryId> {
        let mut written = written.into_iter();
        let mut out: Vec<MemoryId> = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let id = match slot {
                Slot::Written => written.next().unwrap_or_default(),
                Slot::Existing(id) => *id,
                Slot::SameAs(first) => out[*first],
            };
            out.push(id);
        }
        out
    }
}

impl Engine {
    /// Split `prepared` into what must be written and the answers of the rest (keys stored
    /// before, or repeated within the call).
    pub(super) fn known_client_keys(&self, prepared: Vec<Item>) -> Result<(Vec<Item>, Known)> {
        let mut slots = Vec::with_capacity(prepared.len());
        let mut keep = Vec::with_capacity(prepared.len());
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (pos, item) in prepared.into_iter().enumerate() {
            let Some(key) = item.0.client_key.clone() else {
                slots.push(Slot::Written);
                keep.push(item);
                continue;
            };
            let user = item.0.user.clone();
            if let Some(&first) = seen.get(&(user.clone(), key.clone())) {
                slots.push(Slot::SameAs(first));
                continue;
            }
            let stored = self.store.read(|c| match store::user_key(c, &user)? {
                Some(user_key) => store::memory_by_client_key(c, user_key, &key),
                None => Ok(None),
            })?;
            seen.insert((user, key), pos);
            match stored {
                Some(id) => slots.push(Slot::Existing(id)),
                None => {
                    slots.push(Slot::Written);
                    keep.push(item);
                }
            }
        }
        Ok((keep, Known { slots }))
    }

    /// Whether another process stored one of these keys since [`Engine::known_client_keys`]
    /// looked (asked inside the write's transaction, under its users' locks).
    pub(super) fn client_keys_taken(&self, tx: &Db, prepared: &[PreparedMemory]) -> Result<bool> {
        for p in prepared {
            let Some(key) = &p.client_key else { continue };
            if let Some(user_key) = store::user_key(tx, &p.user)? {
                if store::memory_by_client_key(tx, user_key, key)?.is_some() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
