"""MemoRable against embedded peers in one run, on this machine (issue 32, part 4).

Run through benches/peers/run.sh, which makes the virtualenv (PyPI only) and installs
MemoRable's Python binding from this checkout. Not part of CI.

End to end on LoCoMo (ingest every turn, then ask every question of categories 1-4):
  - MemoRable through its Python binding, defaults (hybrid recall; every text also gets its
    emotion reading: the default write path), and once more with the emotional layer off;
  - LanceDB (vector search, and hybrid search: its FTS index + vector, RRF reranker);
  - Chroma (its HNSW vector search).
The peers get the same all-MiniLM-L6-v2 weights (MemoRable's model cache) through a numpy
forward (`NumpyMiniLM`: the sentence-transformers recipe - tokenize, truncate at 256, BERT,
mean pooling, L2 normalization - checked against MemoRable's vectors before timing), called
the way sentence-transformers calls a model (the whole input sorted by length, batches of 32).
PyPI is the only registry this machine reaches, and PyPI's torch wheels pull the CUDA stack;
LanceDB's and Chroma's documented MiniLM paths download weights from hosts not reachable here
(Hugging Face, Chroma's S3), so both are handed the vectors instead (their documented
"bring your own embeddings" path). Embedding time is inside every ingest and query figure.

Each system runs in its own process (peak RSS is that process's), twice, in alternating order
(A B C, then C B A); the better of the two runs is kept for timings. Prints one table and the
ratios MemoRable / peer, and writes them as JSON with --json.

    benches/peers/run.sh [--data ../shared/data/locomo/locomo-dev.json] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MONTHS = "January February March April May June July August September October November December".split()


# ---- data ----------------------------------------------------------------------------------


def session_time(s: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware datetime (UTC), as the Rust harness reads it."""
    m = re.match(r"(\d+):(\d+)\s*(am|pm) on (\d+) (\w+),? (\d+)", s.strip())
    if not m:
        raise ValueError(f"session time {s!r}")
    hour, minute, ampm, day, month, year = m.groups()
    h = int(hour) % 12 + (12 if ampm == "pm" else 0)
    return datetime(int(year), MONTHS.index(month) + 1, int(day), h, int(minute), tzinfo=timezone.utc)


def load(path: Path) -> list[dict]:
    convs = []
    for i, item in enumerate(json.loads(path.read_text())):
        c = item["conversation"]
        turns = []
        n = 1
        while f"session_{n}" in c:
            at = session_time(c[f"session_{n}_date_time"])
            for t in c[f"session_{n}"]:
                text = t.get("text", "")
                if t.get("blip_caption"):
                    text = f"{text} [shares a photo: {t['blip_caption']}]"
                turns.append({"dia_id": t["dia_id"], "speaker": t["speaker"], "text": text, "session": n, "at": at})
            n += 1
        known = {t["dia_id"] for t in turns}
        questions = []
        for q in item.get("qa", []):
            evidence = [e for e in q.get("evidence", []) if e in known]
            if q.get("category") in (1, 2, 3, 4) and evidence:
                questions.append({"question": q["question"], "evidence": evidence})
        convs.append({"name": item.get("sample_id", f"conv-{i}"), "turns": turns, "questions": questions})
    return convs


# ---- the numpy MiniLM --------------------------------------------------------------------


class NumpyMiniLM:
    """all-MiniLM-L6-v2 in numpy, from a sentence-transformers folder."""

    def __init__(self, folder: Path, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file
        from scipy.special import erf
        from tokenizers import Tokenizer

        self.erf = erf
        raw = load_file(str(folder / "model.safetensors"))
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}
        cfg = json.loads((folder / "config.json").read_text())
        st = json.loads((folder / "sentence_bert_config.json").read_text())
        self.heads = cfg["num_attention_heads"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.batch_size = batch_size
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(st["max_seq_length"])
        self.tok.enable_padding()
        e = "embeddings."
        self.word = w[e + "word_embeddings.weight"]
        self.pos = w[e + "position_embeddings.weight"]
        self.typ = w[e + "token_type_embeddings.weight"][0]
        self.eln = (w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"])
        self.layers = []
        for l in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{l}."
            g = lambda n: w[p + n]  # noqa: E731
            qkv = np.concatenate([g(f"attention.self.{x}.weight") for x in ("query", "key", "value")]).T.copy()
            qkv_b = np.concatenate([g(f"attention.self.{x}.bias") for x in ("query", "key", "value")])
            self.layers.append(
                (
                    qkv, qkv_b,
                    g("attention.output.dense.weight").T.copy(), g("attention.output.dense.bias"),
                    (g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias")),
                    g("intermediate.dense.weight").T.copy(), g("intermediate.dense.bias"),
                    g("output.dense.weight").T.copy(), g("output.dense.bias"),
                    (g("output.LayerNorm.weight"), g("output.LayerNorm.bias")),
                )
            )

    def ln(self, x: np.ndarray, gb: tuple) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * gb[0] + gb[1]

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        n, length = ids.shape
        # Token rows as one matrix (n * length, d): every dense layer is one GEMM.
        x = self.ln(self.word[ids] + self.pos[:length] + self.typ, self.eln).reshape(n * length, -1)
        d = x.shape[-1]
        hd = d // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for qkv, qkv_b, ao, ao_b, aln, fi, fi_b, fo, fo_b, oln in self.layers:
            t = (x @ qkv + qkv_b).reshape(n, length, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = t[0], t[1], t[2]
            s = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / np.sqrt(hd)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n * length, d)
            x = self.ln(ctx @ ao + ao_b + x, aln)
            h = x @ fi + fi_b
            h *= 0.5 * (1.0 + self.erf(h * np.float32(1.0 / np.sqrt(2.0))))
            x = self.ln(h @ fo + fo_b + x, oln)
        x = x.reshape(n, length, d)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        # As sentence-transformers' encode: the whole input sorted by length, then batches.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.word.shape[1]), np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            enc = self.tok.encode_batch([texts[j] for j in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
            out[idx] = self.forward(ids, mask)
        return out


# ---- one system, in its own process ------------------------------------------------------


def recall_at(evidence: list[str], got: list[str], k: int) -> float:
    top = set(got[:k])
    return sum(e in top for e in evidence) / len(evidence)


def ask(convs: list[dict], search) -> tuple[list[float], list[float]]:
    """Every question of every conversation through `search(conversation name, question)` ->
    the dia ids of its top 10, timed: (latencies in seconds, R@10 of each)."""
    lat, r10 = [], []
    for c in convs:
        for q in c["questions"]:
            t = time.perf_counter()
            got = search(c["name"], q["question"])
            lat.append(time.perf_counter() - t)
            r10.append(recall_at(q["evidence"], got, 10))
    return lat, r10


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_memorable(convs: list[dict], workdir: Path, emotion: bool) -> dict:
    import memorable

    mem = memorable.Memorable.open(workdir / "store", emotion={"enabled": emotion})
    dia: dict[int, str] = {}
    t0 = time.perf_counter()
    for c in convs:
        items = [
            {"text": t["text"], "user": c["name"], "speaker": t["speaker"], "session": f"session_{t['session']}", "occurred_at": t["at"]}
            for t in c["turns"]
        ]
        for i, t in zip(mem.remember_batch(items), c["turns"]):
            dia[i] = t["dia_id"]
    ingest = time.perf_counter() - t0
    model = mem.stats()["embedder"]["model_id"]
    lat, r10 = ask(convs, lambda user, q: [dia[h.memory.id] for h in mem.recall(q, user=user, limit=10)])
    mem.close()
    return {"ingest_s": ingest, "latency": lat, "r10": r10, "disk": dir_bytes(workdir / "store"), "model": model}


def run_lancedb(convs: list[dict], workdir: Path, model: NumpyMiniLM, hybrid: bool) -> dict:
    import lancedb
    import pyarrow as pa

    db = lancedb.connect(str(workdir / "lance"))
    tables = {}
    t0 = time.perf_counter()
    for c in convs:
        texts = [t["text"] for t in c["turns"]]
        vecs = model.embed(texts)
        data = pa.table(
            {
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), vecs.shape[1]),
                "text": texts,
                "dia_id": [t["dia_id"] for t in c["turns"]],
            }
        )
        tbl = db.create_table(c["name"], data=data)
        if hybrid:
            tbl.create_fts_index("text")
        tables[c["name"]] = tbl
    ingest = time.perf_counter() - t0
    def search(name: str, question: str) -> list[str]:
        qv = model.embed([question])[0]
        if hybrid:
            rows = tables[name].search(query_type="hybrid").vector(qv).text(question).limit(10).to_list()
        else:
            rows = tables[name].search(qv).metric("cosine").limit(10).to_list()
        return [r["dia_id"] for r in rows]

    lat, r10 = ask(convs, search)
    return {"ingest_s": ingest, "latency": lat, "r10": r10, "disk": dir_bytes(workdir / "lance")}


def run_chroma(convs: list[dict], workdir: Path, model: NumpyMiniLM) -> dict:
    import chromadb

    client = chromadb.PersistentClient(path=str(workdir / "chroma"))
    cols = {}
    t0 = time.perf_counter()
    for c in convs:
        texts = [t["text"] for t in c["turns"]]
        vecs = model.embed(texts)
        col = client.create_collection(c["name"], embedding_function=None, metadata={"hnsw:space": "cosine"})
        step = client.get_max_batch_size()
        for i in range(0, len(texts), step):
            col.add(
                ids=[t["dia_id"] for t in c["turns"][i : i + step]],
                embeddings=vecs[i : i + step],
                documents=texts[i : i + step],
            )
        cols[c["name"]] = col
    ingest = time.perf_counter() - t0
    def search(name: str, question: str) -> list[str]:
        res = cols[name].query(query_embeddings=model.embed([question]), n_results=10, include=[])
        return res["ids"][0]

    lat, r10 = ask(convs, search)
    return {"ingest_s": ingest, "latency": lat, "r10": r10, "disk": dir_bytes(workdir / "chroma")}


def child(system: str, data: Path, model_dir: Path) -> None:
    convs = load(data)
    with tempfile.TemporaryDirectory(prefix=f"peers-{system}-") as tmp:
        work = Path(tmp)
        if system.startswith("memorable"):
            out = run_memorable(convs, work, emotion=system == "memorable")
        else:
            model = NumpyMiniLM(model_dir)
            model.embed(["warm-up"])
            if system == "lancedb-vector":
                out = run_lancedb(convs, work, model, hybrid=False)
            elif system == "lancedb-hybrid":
                out = run_lancedb(convs, work, model, hybrid=True)
            else:
                out = run_chroma(convs, work, model)
        out["turns"] = sum(len(c["turns"]) for c in convs)
        out["rss_mb"] = peak_rss_mb()
        print(json.dumps(out))


# ---- the parent: versions, the parity check, the runs, the table -------------------------


def check_parity(model_dir: Path) -> float:
    """Cosine of the numpy MiniLM to MemoRable's own vectors (`memorable embed`) on a few texts."""
    bin_ = os.environ.get("MEMORABLE_BIN") or shutil.which("memorable")
    texts = ["I adopted a puppy last week!", "What did Caroline paint in 2022?", "ok"]
    if not bin_:
        return float("nan")
    out = subprocess.run([bin_, "--embedder", "minilm", "embed", *texts], check=True, capture_output=True, text=True)
    ref = np.array([json.loads(l)["embedding"] for l in out.stdout.splitlines()], np.float32)
    got = NumpyMiniLM(model_dir).embed(texts)
    return float(min((ref * got).sum(1)))


def versions() -> dict:
    from importlib.metadata import version

    v = {"python": platform.python_version()}
    for p in ("memorable", "lancedb", "chromadb", "numpy", "pyarrow"):
        try:
            v[p] = version(p)
        except Exception:  # noqa: BLE001
            v[p] = "?"
    flags = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            f = set(line.split(":")[1].split())
            flags = " ".join(x for x in ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni") if x in f)
            break
    model = next((l.split(":")[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    v["cpu"] = f"{os.cpu_count()} x {model} ({flags})"
    return v


SYSTEMS = ["memorable", "memorable-no-emotion", "lancedb-vector", "lancedb-hybrid", "chroma"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data/locomo/locomo-dev.json")
    ap.add_argument("--model-dir", type=Path, default=Path(os.environ.get("MEMORABLE_HOME", Path.home() / ".cache/memorable")) / "models/minilm")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.model_dir)
        return
    systems = args.systems.split(",")
    info = versions()
    info["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["numpy_minilm_min_cosine_to_memorable"] = check_parity(args.model_dir)
    print(json.dumps(info, indent=1), file=sys.stderr)
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for rep in range(args.repeats):
        for s in systems if rep % 2 == 0 else list(reversed(systems)):
            print(f"run {rep + 1}: {s}", file=sys.stderr)
            p = subprocess.run([sys.executable, __file__, "--child", s, "--data", str(args.data), "--model-dir", str(args.model_dir)], check=True, capture_output=True, text=True)
            runs[s].append(json.loads(p.stdout.strip().splitlines()[-1]))
    rows = {}
    for s, rs in runs.items():
        best = min(rs, key=lambda r: r["ingest_s"])
        p50 = min(statistics.median(r["latency"]) for r in rs) * 1e3
        p99 = min(float(np.percentile(r["latency"], 99)) for r in rs) * 1e3
        rows[s] = {
            "ingest_turns_per_s": best["turns"] / best["ingest_s"],
            "query_p50_ms": p50,
            "query_p99_ms": p99,
            "r10": float(np.mean(best["r10"])),
            "questions": len(best["r10"]),
            "disk_mib": best["disk"] / 2**20,
            "peak_rss_mb": max(r["rss_mb"] for r in rs),
        }
    print(f"\n{'system':<22} {'ingest turns/s':>15} {'query p50 ms':>13} {'p99 ms':>8} {'R@10':>6} {'disk MiB':>9} {'peak RSS MB':>12}")
    for s, r in rows.items():
        print(f"{s:<22} {r['ingest_turns_per_s']:>15.1f} {r['query_p50_ms']:>13.2f} {r['query_p99_ms']:>8.2f} {r['r10']:>6.3f} {r['disk_mib']:>9.2f} {r['peak_rss_mb']:>12.0f}")
    ratios = {}
    if "memorable" in rows:
        m = rows["memorable"]
        print("\nMemoRable (defaults) / peer: ingest speed, query p50 (lower is better), R@10, disk (lower is better)")
        for s, r in rows.items():
            if s.startswith("memorable"):
                continue
            ratios[s] = {
                "ingest": m["ingest_turns_per_s"] / r["ingest_turns_per_s"],
                "query_p50": m["query_p50_ms"] / r["query_p50_ms"],
                "r10": m["r10"] / r["r10"],
                "disk": m["disk_mib"] / r["disk_mib"],
            }
            x = ratios[s]
            print(f"  vs {s:<18} ingest {x['ingest']:.2f}x  p50 {x['query_p50']:.2f}x  R@10 {x['r10']:.2f}x  disk {x['disk']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"info": info, "rows": rows, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
