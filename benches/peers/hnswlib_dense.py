"""hnswlib on the dense set of memorable-core's `index::tests::dense_walk_recall_at_10_stays_high`
(same distribution: 6,000 unit vectors of dimension 64 spread around 60 centres, 200 queries
near stored points), recall@10 against an exact scan at ef 64 / 128 / 256, three build seeds.

    python3 -m venv /tmp/hv && /tmp/hv/bin/pip install numpy hnswlib
    /tmp/hv/bin/python benches/peers/hnswlib_dense.py

Figures and the engine's own in docs/benchmarks.md ("Dense recall"). Not part of CI.
"""

import hnswlib
import numpy as np

rng = np.random.default_rng(7)
DIM = 64


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


centres = unit(rng.uniform(-0.5, 0.5, (60, DIM)))
noise = unit(rng.uniform(-0.5, 0.5, (6200, DIM)))
data = unit(centres[np.arange(6000) % 60] + 0.9 * noise[:6000])
queries = unit(data[np.arange(200) * 29] + 0.3 * noise[6000:])
exact = np.argsort(-(queries @ data.T), axis=1)[:, :10]

for seed in range(3):
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=6000, ef_construction=100, M=16, random_seed=seed)
    index.add_items(data, np.arange(6000), num_threads=1)
    figures = []
    for ef in (64, 128, 256):
        index.set_ef(ef)
        labels, _ = index.knn_query(queries, k=10, num_threads=1)
        recall = np.mean([len(set(labels[i]) & set(exact[i])) / 10 for i in range(200)])
        figures.append(f"ef {ef}: {recall:.3f}")
    print(f"hnswlib M=16 ef_construction=100 seed {seed}:", ", ".join(figures))
