//! Per-user point-in-time restore: bring one user's memories back to how they were at an
//! instant, from the version history, without touching any other user.
//!
//! At instant T, each of the user's memories is: created after T → erased; unchanged since
//! T → kept; changed after T → its fields become those of the version valid at T (written
//! as a new version, so the restore itself shows in `history()` and can be undone the same
//! way). Limits, by design: what `forget` / `forget_user` erased is gone (they erase
//! history too) and is not brought back; a memory's session, coordinates and emotional
//! snapshot never change after it is stored, so they need no history; versions written
//! before schema 2 did not record topics and place, which then keep their current value.

use crate::store::db::{params, Db};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::memory::{Memory, MemoryId, Metadata};
use crate::store::{self, UpdatedFields, UserKey};
use crate::time::to_ms;

/// What [`crate::Memorable::restore_user`] changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreUserReport {
    pub user: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Memories brought back to an earlier version.
    pub reverted: Vec<MemoryId>,
    /// Memories created after the instant, now erased.
    pub removed: Vec<MemoryId>,
    /// Memories already as they were at the instant.
    pub unchanged: u64,
    /// Memories whose version at the instant is missing from the history (left as they are).
    pub unrestorable: Vec<MemoryId>,
}

/// The fields of a past version.
struct PastVersion {
    version: u32,
    text: String,
    kind: String,
    speaker: Option<String>,
    tags: Vec<String>,
    metadata: Metadata,
    importance: f32,
    topics: Option<Vec<String>>,
    place: Option<Option<String>>,
}

impl PastVersion {
    /// True when `m` already has every field this version restores.
    fn matches(&self, m: &Memory) -> bool {
        self.text == m.text
            && self.kind == m.kind
            && self.speaker == m.context.speaker
            && self.tags == m.tags
            && self.metadata == m.metadata
            && self.importance == m.importance
            && self.topics.as_ref().is_none_or(|t| *t == m.context.topics)
            && self.place.as_ref().is_none_or(|p| *p == m.context.place)
    }
}

enum Step {
    Keep,
    Remove,
    Revert(Box<PastVersion>),
    Unrestorable,
}

/// Bring `user`'s memories back to how they were at `at` (see
/// [`crate::Memorable::restore_user`]).
pub(crate) fn restore_user(engine: &Engine, user: &str, at: OffsetDateTime) -> Result<RestoreUserReport> {
    crate::memory::validate_user(user)?;
    let _span = tracing::info_span!("restore_user").entered();
    let t = to_ms(at);
    let mut report = RestoreUserReport {
        user: user.to_owned(),
        at,
        reverted: Vec::new(),
        removed: Vec::new(),
        unchanged: 0,
        unrestorable: Vec::new(),
    };
    // Plan on a snapshot, embed outside any lock, then apply under the writer lock,
    // checking that nothing changed in between.
    let Some(user_key) = engine.store.read(|c| store::user_key(c, user))? else {
        return Ok(report);
    };
    let plan = engine.store.read(|c| plan(c, user_key, t))?;
    let texts: Vec<&str> = plan
        .iter()
        .filter_map(|(m, s)| match s {
            Step::Revert(v) if v.text != m.text => Some(v.text.as_str()),
            _ => None,
        })
        .collect();
    let mut vectors = if texts.is_empty() { Vec::new() } else { engine.embed(&texts)? }.into_iter();
    let now = crate::time::now_ms();
    let _load = engine.indexes.load_lock.lock();
    let mut writer = engine.store.writer();
    let tx = writer.transaction()?;
    for (old, step) in &plan {
        let current = store::get_memory(&tx, old.id)?;
        if current.as_ref().map(|(m, _)| m.version) != Some(old.version) {
            return Err(Error::Storage(format!(
                "memory {} changed while user {user:?} was being restored; nothing was changed, try again",
                old.id
            )));
        }
        match step {
            Step::Keep => report.unchanged += 1,
            Step::Unrestorable => report.unrestorable.push(old.id),
            Step::Remove => {
                store::delete_memory(&tx, old.id)?;
                report.removed.push(old.id);
            }
            Step::Revert(v) => {
                let vector = if v.text != old.text { vectors.next() } else { None };
                let fields = UpdatedFields {
                    text: &v.text,
                    kind: &v.kind,
                    speaker: v.speaker.as_deref(),
                    topics: v.topics.as_deref().unwrap_or(&old.context.topics),
                    place: match &v.place {
                        Some(p) => p.as_deref(),
                        None => old.context.place.as_deref(),
                    },
                    tags: &v.tags,
                    metadata: &v.metadata,
                    importance: v.importance,
                };
                let model = engine.model_id().to_owned();
                store::update_memory(
                    &tx,
                    old,
                    &fields,
                    vector.as_deref().map(|v| (v, model.as_str(), user_key)),
                    now,
                )?;
                report.reverted.push(old.id);
                tracing::debug!(id = old.id, to_version = v.version, "memory reverted");
            }
        }
    }
    tx.commit()?;
    drop(writer);
    // Vectors changed: drop the user's index and dump; the next call rebuilds it.
    engine.deletes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    engine.indexes.remove(user_key);
    if let Some(dir) = &engine.index_dir {
        crate::index::remove_dump(dir, user_key);
    }
    engine.metrics.memories_updated.add(report.reverted.len() as u64);
    engine.metrics.memories_forgotten.add(report.removed.len() as u64);
    tracing::info!(
        reverted = report.reverted.len(),
        removed = report.removed.len(),
        unchanged = report.unchanged,
        "user restored to a point in time"
    );
    Ok(report)
}

/// What to do with each of the user's memories to reach instant `t` (ms).
fn plan(c: &Db, user_key: UserKey, t: i64) -> Result<Vec<(Memory, Step)>> {
    let ids: Vec<MemoryId> = {
        let mut stmt = c.prepare("SELECT id FROM memories WHERE user_key = ?1 ORDER BY id")?;
        let rows = stmt.query_map([user_key], |r| r.get::<_, i64>(0))?;
        rows.map(|r| r.map(|id| id as MemoryId)).collect::<crate::store::db::SqlResult<_>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some((m, _)) = store::get_memory(c, id)? else { continue };
        let step = if to_ms(m.created_at) > t {
            Step::Remove
        } else if to_ms(m.updated_at) <= t {
            Step::Keep
        } else {
            match version_at(c, id, t)? {
                // Already equal (e.g. restored to this instant before): nothing to write.
                Some(v) if v.matches(&m) => Step::Keep,
                Some(v) => Step::Revert(Box::new(v)),
                None => Step::Unrestorable,
            }
        };
        out.push((m, step));
    }
    Ok(out)
}

/// The past version of memory `id` valid at `t` (valid_from <= t < valid_to).
fn version_at(c: &Db, id: MemoryId, t: i64) -> Result<Option<PastVersion>> {
    let mut stmt = c.prepare_cached(
        "SELECT version, text, kind, speaker, tags, metadata, importance, topics, place
         FROM memory_versions WHERE memory_id = ?1 AND valid_from <= ?2 AND valid_to > ?2
         ORDER BY version DESC LIMIT 1",
    )?;
    let mut rows = stmt.query(params![id as i64, t])?;
    let Some(r) = rows.next()? else { return Ok(None) };
    let tags: String = r.get(4)?;
    let metadata: String = r.get(5)?;
    let topics: Option<String> = r.get(7)?;
    // A recorded version (schema 2+) always has topics; then a NULL place means "no place".
    let place = topics.as_ref().map(|_| r.get::<_, Option<String>>(8)).transpose()?;
    Ok(Some(PastVersion {
        version: r.get(0)?,
        text: r.get(1)?,
        kind: r.get(2)?,
        speaker: r.get(3)?,
        tags: serde_json::from_str(&tags)?,
        metadata: serde_json::from_str(&metadata)?,
        importance: r.get::<_, f64>(6)? as f32,
        topics: topics.as_deref().map(serde_json::from_str).transpose()?,
        place,
    }))
}
