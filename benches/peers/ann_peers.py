"""hnswlib and faiss on the MiniLM vectors `benches/ann.rs` writes to target/ann/ (issue 32,
part 4): base vectors, ~900 held-out queries and their exact top 10. Same parameters as the
engine's graph (M 16, ef_construction 200, inner product on unit vectors), one thread; per ef
the recall@10 and queries/s (best of 3; queries in one call per ef, so no per-query Python
overhead), and faiss' exact flat index for reference. Prints one JSON object per system a line.

    target/peers-venv/bin/python benches/peers/ann_peers.py [--million] [--no-faiss]
    # after `cargo bench --bench ann [-- --million]`

benches/peers/ann_run.sh runs the engine's bench and this one alternately and prints the table.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384]
K = 10


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = REPO / ("target/ann/million" if "--million" in sys.argv else "target/ann")
    base = np.fromfile(d / "base.f32", dtype="<f4").reshape(-1, 384)
    queries = np.fromfile(d / "queries.f32", dtype="<f4").reshape(-1, 384)
    truth = np.fromfile(d / "truth.u32", dtype="<u4").reshape(-1, K)
    return base, queries, truth


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:K]) & set(t)) / K for f, t in zip(found, truth)]))


def sweep(search, queries: np.ndarray, truth: np.ndarray, set_ef) -> list[dict]:
    rows = []
    for ef in EFS:
        set_ef(ef)
        best, found = float("inf"), None
        for _ in range(3):
            t = time.perf_counter()
            found = search(queries)
            best = min(best, time.perf_counter() - t)
        rows.append({"ef": ef, "recall": recall(found, truth), "qps": len(queries) / best})
    return rows


def main() -> None:
    import faiss
    import hnswlib

    faiss.omp_set_num_threads(1)
    base, queries, truth = load()
    out = []

    t = time.perf_counter()
    h = hnswlib.Index(space="ip", dim=base.shape[1])
    h.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=100)
    h.add_items(base, np.arange(len(base)), num_threads=1)
    build = time.perf_counter() - t
    h.set_num_threads(1)
    rows = sweep(lambda q: h.knn_query(q, k=K, num_threads=1)[0], queries, truth, h.set_ef)
    out.append({"system": "hnswlib 0.8.0", "build_s": build, "sweep": rows})

    if "--no-faiss" in sys.argv:
        for o in out:
            print(json.dumps(o))
        return
    t = time.perf_counter()
    f = faiss.IndexHNSWFlat(base.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    f.hnsw.efConstruction = 200
    f.add(base)
    build = time.perf_counter() - t

    def set_faiss_ef(ef: int) -> None:
        f.hnsw.efSearch = ef

    rows = sweep(lambda q: f.search(q, K)[1], queries, truth, set_faiss_ef)
    out.append({"system": f"faiss {faiss.__version__} HNSWFlat", "build_s": build, "sweep": rows})

    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    t = time.perf_counter()
    found = flat.search(queries, K)[1]
    secs = time.perf_counter() - t
    out.append({"system": f"faiss {faiss.__version__} FlatIP (exact)", "build_s": 0.0,
                "sweep": [{"ef": 0, "recall": recall(found, truth), "qps": len(queries) / secs}]})
    for o in out:
        print(json.dumps(o))


if __name__ == "__main__":
    sys.exit(main())
