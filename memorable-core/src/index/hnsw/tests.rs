//! Recall, filtering, batches, duplicates and dumps of [`super::DenseHnsw`].
use super::*;

/// Unit vectors around `centres` clusters (a hard set: near neighbours are close together).
fn clustered(n: usize, dim: usize, centres: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let c: Vec<Vec<f32>> = (0..centres).map(|_| (0..dim).map(|_| next()).collect()).collect();
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = c[i % centres].iter().map(|x| x + 0.9 * next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect()
}

#[test]
fn recall_at_10_against_an_exact_scan() {
    // Clustered like the set of `index::tests::dense_walk_recall_at_10_stays_high`, with
    // ef_construction 200 (that test uses the engine's 100) and tighter clusters.
    let (dim, n) = (64, 6_000);
    let all = clustered(n + 200, dim, 60, 7);
    let mut g = DenseHnsw::new(dim, HnswParams::default());
    for (i, v) in all[..n].iter().enumerate() {
        g.insert(i as u64, v);
    }
    assert_eq!(g.len(), n);
    let queries = &all[n..];
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let recall = |ef: usize| {
        let mut hits = 0;
        for q in queries {
            let mut exact: Vec<(f32, u64)> =
                all[..n].iter().enumerate().map(|(i, v)| (1.0 - dot(q, v), i as u64)).collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let truth: Vec<u64> = exact[..10].iter().map(|e| e.1).collect();
            hits += g.search(q, 10, ef).iter().filter(|(id, _)| truth.contains(id)).count();
        }
        hits as f64 / (10 * queries.len()) as f64
    };
    let (r32, r64) = (recall(32), recall(64));
    assert!(r32 >= 0.95 && r64 >= 0.99, "recall@10 {r32:.3} at ef 32, {r64:.3} at ef 64");
    // Closest first, distances consistent with the vectors.
    let got = g.search(&queries[0], 10, 64);
    assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
    let d0 = 1.0 - dot(&queries[0], &all[got[0].0 as usize]);
    assert!((got[0].1 - d0).abs() < 1e-5);
}

#[test]
fn small_and_empty_graphs() {
    let mut g = DenseHnsw::new(4, HnswParams::default());
    assert!(g.search(&[1.0, 0.0, 0.0, 0.0], 3, 10).is_empty());
    g.insert(42, &[1.0, 0.0, 0.0, 0.0]);
    g.insert(7, &[0.0, 1.0, 0.0, 0.0]);
    let got = g.search(&[0.9, 0.1, 0.0, 0.0], 5, 10);
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [42, 7]);
}

#[test]
fn builds_are_reproducible() {
    let all = clustered(500, 16, 5, 3);
    let build = || {
        let mut g = DenseHnsw::new(16, HnswParams::default());
        for (i, v) in all.iter().enumerate() {
            g.insert(i as u64, v);
        }
        g
    };
    let (a, b) = (build(), build());
    assert_eq!(a.level0, b.level0);
    assert_eq!(a.search(&all[3], 5, 20), b.search(&all[3], 5, 20));
}

fn build(all: &[Vec<f32>], dim: usize) -> DenseHnsw {
    let mut g = DenseHnsw::new(dim, HnswParams::default());
    for (i, v) in all.iter().enumerate() {
        g.insert(i as u64, v);
    }
    g
}

#[test]
fn a_filtered_walk_returns_only_accepted_points_and_finds_them() {
    let all = clustered(3_000, 32, 30, 11);
    let g = build(&all, 32);
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let (mut hits, mut want) = (0, 0);
    for q in all.iter().step_by(97) {
        // Every third point only: the walk goes through the others.
        let got = g.search_filter(q, 10, 64, |id| id % 3 == 0);
        assert!(got.len() == 10 && got.iter().all(|(id, _)| id % 3 == 0), "{got:?}");
        let mut exact: Vec<(f32, u64)> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(i, v)| (1.0 - dot(q, v), i as u64))
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0));
        hits += got.iter().filter(|(id, _)| exact[..10].iter().any(|e| e.1 == *id)).count();
        want += 10;
    }
    assert!(hits as f64 / want as f64 >= 0.95, "filtered recall {hits}/{want}");
    assert!(g.search_filter(&all[0], 5, 16, |_| false).is_empty());
}

#[test]
fn exact_duplicates_keep_their_other_links() {
    // The same vector many times (the same text remembered again): each copy must still
    // reach the rest of the graph, so every point stays findable.
    let mut all = clustered(600, 16, 6, 5);
    for i in 0..50 {
        all.push(all[i % 5].clone());
    }
    let g = build(&all, 16);
    for (i, v) in all.iter().enumerate().step_by(7) {
        let got = g.search(v, 60, 80);
        assert!(got.iter().any(|(id, _)| *id == i as u64 || all[*id as usize] == *v), "point {i} not found");
    }
    for i in 0..g.len() as u32 {
        assert!(g.links(i, 0).len() >= 2, "node {i} has {} links", g.links(i, 0).len());
    }
}

#[test]
fn batches_planned_together_are_linked_to_each_other() {
    // A batch planned on an empty graph: only the apply-time links join its points.
    let all = clustered(400, 16, 4, 9);
    let mut g = DenseHnsw::new(16, HnswParams::default());
    let levels: Vec<u8> = all.iter().map(|_| g.draw_level()).collect();
    let plans: Vec<Plan> = all.iter().zip(&levels).map(|(v, l)| g.plan(v, *l)).collect();
    let mut peers = Vec::new();
    for (i, (v, plan)) in all.iter().zip(&plans).enumerate() {
        peers.push(g.apply(i as u64, v, plan, &peers));
    }
    for (i, v) in all.iter().enumerate().step_by(13) {
        assert_eq!(g.search(v, 1, 32)[0].0, i as u64);
    }
}

#[test]
fn a_dump_reads_back_the_same_graph_and_damage_is_refused() {
    let all = clustered(800, 24, 8, 4);
    let g = build(&all, 24);
    let (mut graph, mut vectors) = (Vec::new(), Vec::new());
    g.write_graph(&mut graph).unwrap();
    g.write_vectors(&mut vectors, None).unwrap();
    let back = DenseHnsw::read(&graph, &vectors).unwrap();
    assert_eq!(
        (back.level0.clone(), back.ids.clone(), back.levels.clone()),
        (g.level0.clone(), g.ids.clone(), g.levels.clone())
    );
    assert_eq!(back.exact, g.exact);
    assert_eq!(
        (back.upper.clone(), back.entry, back.max_level, back.rng),
        (g.upper.clone(), g.entry, g.max_level, g.rng)
    );
    assert_eq!(back.search(&all[5], 5, 32), g.search(&all[5], 5, 32));
    // Truncated, extended, or a link pointing outside: errors, never a panic.
    assert!(DenseHnsw::read(&graph[..graph.len() - 3], &vectors).is_err());
    assert!(DenseHnsw::read(&graph, &vectors[..vectors.len() - 1]).is_err());
    assert!(DenseHnsw::read(&[graph.clone(), vec![0]].concat(), &vectors).is_err());
    let header = 8 + 4 * 8 + 8 + 4 + 1;
    let first_link = header + 800 * 9 + 4;
    let mut bad = graph.clone();
    bad[first_link..first_link + 4].copy_from_slice(&900u32.to_le_bytes());
    assert_eq!(DenseHnsw::read(&bad, &vectors).unwrap_err(), "a link out of range");
    for at in (0..graph.len()).step_by(191) {
        let mut flipped = graph.clone();
        flipped[at] ^= 0xa5;
        let _ = DenseHnsw::read(&flipped, &vectors);
    }
    let empty = DenseHnsw::new(24, HnswParams::default());
    let (mut eg, mut ev) = (Vec::new(), Vec::new());
    empty.write_graph(&mut eg).unwrap();
    empty.write_vectors(&mut ev, None).unwrap();
    assert!(DenseHnsw::read(&eg, &ev).unwrap().is_empty());
}

#[test]
fn the_half_precision_kernels_agree_and_results_carry_exact_distances() {
    let v = clustered(3, 389, 1, 2);
    let h: Vec<u16> = v[1].iter().map(|x| half::f16::from_f32(*x).to_bits()).collect();
    let want = dot16_portable(&v[0], &h);
    let exact: f32 = v[0].iter().zip(&v[1]).map(|(a, b)| a * b).sum();
    assert!((want - exact).abs() < 2e-3, "f16 dot {want} vs f32 {exact}");
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("fma") && has!("f16c") {
            // SAFETY: features checked just above.
            let got = unsafe { dot16_avx2(&v[0], &h) };
            assert!((got - want).abs() < 1e-5, "avx2 {got} vs {want}");
        }
        if has!("avx512f") {
            // SAFETY: feature checked just above.
            let got = unsafe { dot16_512(&v[0], &h) };
            assert!((got - want).abs() < 1e-5, "avx512 {got} vs {want}");
        }
    }
    // The walk measures in f16, the results are re-ranked in f32: distances are exact.
    let all = clustered(500, 389, 5, 8);
    let g = build(&all, 389);
    for q in all.iter().step_by(50) {
        for (id, d) in g.search(q, 5, 32) {
            let e = 1.0 - q.iter().zip(&all[id as usize]).map(|(a, b)| a * b).sum::<f32>();
            assert!((d - e).abs() < 1e-5, "{d} vs {e}");
        }
    }
}
