//! Emotion fusion: readings from several sources fused into one state per conversation,
//! attached to what is remembered in it, and kept across reopening the store.
//!
//! Run: `cargo run --release --example emotion` (docs/emotion.md quotes this file).

use memorable::emotion::{HistoryRange, Reading, Semantics, Source, Vocabulary};
use memorable::{Config, Memorable, NewMemory};

fn main() -> memorable::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.emotion.half_life_secs = 120.0; // readings lose half their weight every 2 minutes
    config.emotion.weights.face = 0.4;
    let mem = Memorable::builder(dir.path()).config(config.clone()).open()?;

    // EVI prosody (dense: every name measured), a face frame (sparse: only names over the
    // cutoff; the others were measured low), and a custom sensor.
    mem.observe(
        Reading::new("call-42", Source::Evi)
            .score("Joy", 0.62)
            .score("Excitement", 0.41)
            .score("Tiredness", 0.05),
    )?;
    mem.observe(
        Reading::new("call-42", Source::Face)
            .score("joy", 0.7)
            .score("surprise (positive)", 0.3)
            .confidence(0.9)
            .semantics(Semantics::Sparse { missing: 0.0, vocabulary: Some(Vocabulary::Hume) }),
    )?;
    mem.observe(
        Reading::new("call-42", Source::Custom("wristband".into()))
            .score("calmness", 0.2)
            .score("heart rate up", 0.8),
    )?;

    let state = mem.emotional_state("call-42")?;
    println!(
        "dominant: {:?}, valence {:+.2}, arousal {:+.2}, confidence {:.2}",
        state.dominant, state.valence, state.arousal, state.confidence
    );
    for s in &state.sources {
        println!(
            "  {:<16} weight {:.2} confidence {:.2} share {:.2}",
            s.source.to_string(),
            s.weight,
            s.confidence,
            s.share
        );
    }
    println!("  kept outside the catalog: {:?}", state.extras);

    // A memory remembered in the session carries the session's fused state.
    let id = mem.remember(NewMemory::new("alice", "I got the job!").session("call-42"))?;
    let snapshot = mem.get(id)?.emotion.expect("the session has a state");
    println!("memory #{id}: {:?} (valence {:+.2})", snapshot.dominant, snapshot.valence);

    let history = mem.emotional_history("call-42", &HistoryRange::last(10))?;
    println!("{} states in the history", history.len());
    mem.close_context("call-42")?;
    mem.close()?;

    // State, history and the closed flag survive reopening.
    let mem = Memorable::builder(dir.path()).config(config).open()?;
    let contexts = mem.contexts()?;
    println!(
        "after reopen: {} readings in {}, open: {}",
        contexts[0].readings, contexts[0].context, contexts[0].open
    );
    assert_eq!(mem.emotional_history("call-42", &HistoryRange::default())?.len(), history.len());
    mem.close()
}
