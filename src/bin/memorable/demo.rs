//! `memorable demo`: a newcomer's first run on a temporary store.

use std::io::Write;

use anyhow::Result;
use memorable::{NewMemory, Recall};
use serde_json::json;

use crate::util::{describe, open, parse_time};

/// A short conversation a newcomer can recognise in the recall results.
const DEMO_TURNS: &[(&str, &str, &str)] = &[
    ("2024-05-01T09:12:00Z", "Maya", "I finally adopted a puppy! She's a beagle called Biscuit."),
    ("2024-05-01T09:13:00Z", "Sam", "No way, congratulations! How old is she?"),
    ("2024-05-01T09:14:00Z", "Maya", "Ten weeks. She already chewed through my running shoes."),
    ("2024-05-03T18:40:00Z", "Maya", "I'm nervous about my job interview at the aquarium on Friday."),
    ("2024-05-03T18:42:00Z", "Sam", "You'll do great, you know more about octopuses than anyone."),
    ("2024-05-10T20:05:00Z", "Maya", "I got the job! I start as a marine educator in June."),
    ("2024-05-12T11:30:00Z", "Maya", "My sister Lena is visiting from Lisbon next weekend."),
    ("2024-05-12T11:31:00Z", "Sam", "Take her to the night market, the dumplings there are amazing."),
    ("2024-05-20T07:45:00Z", "Maya", "Training for the half marathon is going badly, my knee hurts."),
    ("2024-05-21T08:00:00Z", "Maya", "The physio said to rest the knee for two weeks and swim instead."),
];

const DEMO_QUERIES: &[&str] = &[
    "what is the name of Maya's dog?",
    "where did Maya get a job?",
    "who is coming to visit?",
    "what happened to her knee?",
];

pub(crate) fn demo(embedder: &str, as_json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mem = open(dir.path(), embedder)?;
    let stats = mem.stats()?;
    let batch: Vec<NewMemory> = DEMO_TURNS
        .iter()
        .map(|(at, who, text)| {
            Ok(NewMemory::new("maya", *text).speaker(*who).session("chat-1").occurred_at(parse_time(at)?))
        })
        .collect::<Result<_>>()?;
    mem.remember_batch(batch)?;
    let mut out = Vec::new();
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if !as_json {
        writeln!(w, "MemoRable demo — {} turns remembered for user \"maya\"", DEMO_TURNS.len())?;
        writeln!(
            w,
            "embedder: {}{}\n",
            stats.embedder.model_id,
            if stats.embedder.fallback {
                " (fallback: lexical hashing; fetch the MiniLM model for semantic recall)"
            } else {
                ""
            }
        )?;
    }
    for q in DEMO_QUERIES {
        let hits = mem.recall(&Recall::new("maya", *q).limit(3))?;
        if as_json {
            out.push(json!({
                "query": q,
                "hits": hits.iter().map(|h| json!({"id": h.memory.id, "text": h.memory.text, "score": h.score})).collect::<Vec<_>>()
            }));
        } else {
            writeln!(w, "? {q}")?;
            for h in &hits {
                writeln!(w, "  {:.4}  {}", h.score, describe(&h.memory))?;
            }
            writeln!(w)?;
        }
    }
    if as_json {
        writeln!(w, "{}", json!({"embedder": stats.embedder, "queries": out}))?;
    }
    mem.close()?;
    Ok(())
}
