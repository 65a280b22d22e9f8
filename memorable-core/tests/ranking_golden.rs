//! Ranking golden cases from tests/fixtures/ranking.json (shared with the Python, Node and
//! C tests): each case on a fresh in-memory store with the hashing embedder.

use memorable_core::{Builder, Config, NewMemory, Recall, Recalled, ScoreBreakdown};
use serde_json::Value;

fn term(b: &ScoreBreakdown, name: &str) -> f32 {
    let v = serde_json::to_value(b).unwrap();
    v[name].as_f64().unwrap_or_else(|| panic!("no breakdown term {name}")) as f32
}

#[test]
fn ranking_golden_cases() {
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/ranking.json"))
        .unwrap();
    let fixture: Value = serde_json::from_str(&raw).unwrap();
    let user = fixture["user"].as_str().unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut config = Config::default();
        config.embedder = "hashing".into();
        let mem = Builder::in_memory().config(config).open().unwrap();
        let mut keys = Vec::new();
        let mut items = Vec::new();
        for m in case["memories"].as_array().unwrap() {
            keys.push(m["key"].as_str().unwrap().to_owned());
            let mut nm: NewMemory = serde_json::from_value(m.clone()).unwrap();
            nm.user = user.into();
            items.push(nm);
        }
        let ids = mem.remember_batch(items).unwrap();
        let mut recall: Recall = serde_json::from_value(case["recall"].clone()).unwrap();
        recall.user = user.into();
        let hits: Vec<Recalled> = mem.recall(&recall).unwrap();
        let key_of = |id: u64| keys[ids.iter().position(|i| *i == id).unwrap()].clone();
        let got: Vec<String> = hits.iter().map(|h| key_of(h.memory.id)).collect();
        if let Some(first) = case["first"].as_str() {
            assert_eq!(got[0], first, "{name}: ranking {got:?}, hits {hits:#?}");
        }
        if let Some(order) = case["order"].as_array() {
            let pos: Vec<usize> = order
                .iter()
                .map(|k| {
                    got.iter()
                        .position(|g| g == k.as_str().unwrap())
                        .unwrap_or_else(|| panic!("{name}: {k} missing from {got:?}"))
                })
                .collect();
            assert!(pos.windows(2).all(|w| w[0] < w[1]), "{name}: order {order:?} not in {got:?}");
        }
        for z in case["zero"].as_array().into_iter().flatten() {
            for h in &hits {
                assert_eq!(
                    term(&h.breakdown, z.as_str().unwrap()),
                    0.0,
                    "{name}: {z} must be 0: {:?}",
                    h.breakdown
                );
            }
        }
        for p in case["positive"].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap();
            let (hit, t) = match p.split_once(':') {
                Some((key, t)) => (&hits[got.iter().position(|g| g == key).unwrap()], t),
                None => (&hits[0], p),
            };
            assert!(term(&hit.breakdown, t) > 0.0, "{name}: {p} must be > 0: {:?}", hit.breakdown);
        }
        for h in &hits {
            assert!(
                (h.score - h.breakdown.total()).abs() < 1e-4,
                "{name}: score is the sum of the breakdown"
            );
            // Session neighbours lend relevance; they never take a memory's own away.
            assert!(h.breakdown.context >= 0.0, "{name}: context must not be negative: {:?}", h.breakdown);
        }
    }
}
