"""Overhead of the bindings: the same calls from Rust, Python, Node and C on the same store.

    python memorable-py/bench/bench_binding.py [--memories 10000] [--queries 256]
        [--repeat 2] [--rounds 7] [--langs rust,python,node,c] [--callgrind]

Run it with the interpreter that has `memorable` installed (`memorable-py/test.sh` leaves one
in target/py-venv). It needs the Rust timer (`cargo bench --bench binding_baseline`, built
here if missing), and, for the other languages, the Node addon (`npm install` in
memorable-node) and the C timer (`make -C memorable-c bench`); a language whose timer is
missing is reported as such and left out.

1. Data: the texts and queries of `benches/core.rs` (same generator, same seeds): N memories
   of 8-15 words from a skewed 5,000-word vocabulary, queries of 3-5 words.
2. `remember_batch` of N items in one call, into a new on-disk store, from each language in
   turn (Python: a list of N dicts), for several rounds.
3. Python writes one store of the N memories (`remember_batch` of dicts, then `checkpoint`);
   then every round runs each language's timer on it, in a rotating order, each in a fresh
   process: open, one untimed pass over the queries, REPEAT timed passes of
   `recall(limit=10)`, one call at a time.
4. Reported: per language the median over rounds of the per-call wall-clock p50 and of the
   process CPU time per call, and the medians over rounds of (language / Rust of the same
   round) for both. Interleaving the languages within each round and taking ratios cancels
   much of the load other processes put on the machine; CPU time is barely affected by it
   at all (wall time is, heavily, on a shared machine). The 1-minute load average is printed
   with every figure.
5. `--callgrind`: instructions per recall under valgrind's callgrind (independent of load):
   each timer runs with 1 and with 2 timed passes over a 64-query subset, and the difference
   divided by 64 is the cost of one recall with everything around it cancelled.

Every timer uses the hashing embedder (`embedder="hashing"`): the default "auto" would pick
MiniLM when cached and time the model instead of the binding.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MASK = (1 << 64) - 1
LANGS = ("rust", "python", "node", "c")


class TextGen:
    """The xorshift text generator of benches/core.rs, bit for bit."""

    def __init__(self, seed: int) -> None:
        self.x = seed

    def next(self) -> int:
        x = self.x
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
        self.x = x
        return x

    def word(self) -> str:
        u = (self.next() % 10_000) / 10_000.0
        return f"w{int(u * u * 5_000.0)}"

    def text(self, lo: int, hi: int) -> str:
        n = lo + self.next() % (hi - lo + 1)
        return " ".join(self.word() for _ in range(n))


def load() -> float:
    return os.getloadavg()[0]


# ------------------------------------------------------------------ the Python timer


def time_recall(store: str, queries_file: str, repeat: int) -> dict[str, Any]:
    from memorable import Memorable

    queries = [q for q in Path(queries_file).read_text().splitlines() if q]
    with Memorable.open(store, embedder="hashing") as mem:
        for q in queries:
            mem.recall(q, user="bench", limit=10)
        times = []
        cpu = time.process_time_ns()
        for _ in range(repeat):
            for q in queries:
                t = time.perf_counter_ns()
                hits = mem.recall(q, user="bench", limit=10)
                times.append(time.perf_counter_ns() - t)
                assert len(hits) == 10
        cpu_us = (time.process_time_ns() - cpu) / 1e3 / len(times)
    times.sort()
    at = lambda q: times[round((len(times) - 1) * q)] / 1e3  # noqa: E731
    return {"lang": "python", "op": "recall", "n": len(times), "p50_us": at(0.5),
            "p95_us": at(0.95), "mean_us": sum(times) / len(times) / 1e3, "cpu_us": cpu_us}


def time_ingest(store: str, texts_file: str) -> dict[str, Any]:
    from memorable import Memorable

    items = [{"text": t, "user": "bench"} for t in Path(texts_file).read_text().splitlines() if t]
    with Memorable.open(store, embedder="hashing") as mem:
        t, cpu = time.perf_counter(), time.process_time()
        ids = mem.remember_batch(items)
        secs, cpu_s = time.perf_counter() - t, time.process_time() - cpu
        assert len(ids) == len(items)
    return {"lang": "python", "op": "remember_batch", "n": len(items), "total_s": secs,
            "cpu_s": cpu_s}


# ------------------------------------------------------------------ the driver


def rust_timer() -> list[str] | None:
    """Path of the built `binding_baseline` bench executable (building it if needed)."""
    out = subprocess.run(
        ["cargo", "bench", "--bench", "binding_baseline", "--no-run", "--message-format=json"],
        cwd=REPO, capture_output=True, text=True,
    )
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "binding_baseline":
            if msg.get("executable"):
                return [msg["executable"]]
    print(f"rust timer: build failed\n{out.stderr[-2000:]}", file=sys.stderr)
    return None


def timers(langs: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for lang in langs:
        cmd: list[str] | None = None
        if lang == "rust":
            cmd = rust_timer()
        elif lang == "python":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--timer"]
        elif lang == "node":
            script = REPO / "memorable-node" / "bench" / "bench_binding.mjs"
            if shutil.which("node") and list((REPO / "memorable-node").glob("*.node")):
                cmd = ["node", str(script)]
            else:
                print("node timer: no built addon (run npm install in memorable-node); skipped")
        elif lang == "c":
            exe = REPO / "memorable-c" / "build" / "bench_binding"
            subprocess.run(["make", "-s", "-C", str(REPO / "memorable-c"), "bench"], check=False)
            if exe.is_file():
                cmd = [str(exe)]
            else:
                print("c timer: make -C memorable-c bench failed; skipped")
        if cmd:
            found[lang] = cmd
    return found


def run_timer(cmd: list[str], *args: str) -> dict[str, Any]:
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise SystemExit(f"{cmd} {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def callgrind_instructions(cmd: list[str], *args: str) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd, *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        raise SystemExit(f"callgrind {cmd} failed:\n{out.stderr[-3000:]}")
    m = re.search(r"Collected : (\d+)", out.stderr)
    assert m, out.stderr[-2000:]
    return int(m.group(1))


def rotate(xs: list[str], k: int) -> list[str]:
    k %= len(xs)
    return xs[k:] + xs[:k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2, help="timed passes over the queries")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ingest-rounds", type=int, default=3)
    parser.add_argument("--langs", default=",".join(LANGS))
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--timer", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.timer:  # this script as the Python timer, in its own process
        op, *rest = args.timer
        result = time_recall(rest[0], rest[1], int(rest[2]) if len(rest) > 2 else 1) \
            if op == "recall" else time_ingest(rest[0], rest[1])
        print(json.dumps(result))
        return

    import memorable
    from memorable import Memorable

    langs = [lang for lang in args.langs.split(",") if lang]
    cmds = timers(langs)
    langs = [lang for lang in langs if lang in cmds]
    assert "rust" in langs, "the Rust baseline is required"
    gen = TextGen(42)
    texts = [gen.text(8, 15) for _ in range(args.memories)]
    qgen = TextGen(7)
    queries = [qgen.text(3, 5) for _ in range(args.queries)]

    print(f"memorable {memorable.__version__} binding benchmark: {args.memories:,} memories, "
          f"{args.queries} queries x {args.repeat} timed passes, {args.rounds} rounds, "
          f"languages {', '.join(langs)}; {os.cpu_count()} CPUs; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    with tempfile.TemporaryDirectory(prefix="memorable-bench-") as tmp:
        texts_file = Path(tmp) / "texts.txt"
        texts_file.write_text("\n".join(texts) + "\n")
        queries_file = Path(tmp) / "queries.txt"
        queries_file.write_text("\n".join(queries) + "\n")

        # remember_batch of N items, each language in turn, a new store each time.
        wall: dict[str, list[float]] = {lang: [] for lang in langs}
        cpu: dict[str, list[float]] = {lang: [] for lang in langs}
        ingest_load = []
        for r in range(args.ingest_rounds):
            ingest_load.append(load())
            for lang in rotate(langs, r):
                store = Path(tmp) / f"ingest-{lang}-{r}"
                res = run_timer(cmds[lang], "ingest", str(store), str(texts_file))
                wall[lang].append(res["total_s"])
                cpu[lang].append(res["cpu_s"])
                shutil.rmtree(store)
            print(f"  ingest round {r + 1}: load {ingest_load[-1]:.2f}  " + "  ".join(
                f"{lang} {wall[lang][-1]:.3f} s (CPU {cpu[lang][-1]:.3f} s)" for lang in langs))
        print(f"\nremember_batch of {args.memories:,} items in one call (median of "
              f"{args.ingest_rounds} rounds; load {min(ingest_load):.1f}-{max(ingest_load):.1f}):")
        for lang in langs:
            w, c = statistics.median(wall[lang]), statistics.median(cpu[lang])
            print(f"  {lang:7s} wall {w:7.3f} s ({args.memories / w:7,.0f}/s, "
                  f"x{w / statistics.median(wall['rust']):.3f} of Rust)  "
                  f"CPU {c:7.3f} s ({args.memories / c:7,.0f}/CPU-s, "
                  f"x{c / statistics.median(cpu['rust']):.3f} of Rust)")

        # The store every recall timer reads: written from Python.
        store = Path(tmp) / "store"
        items = [{"text": t, "user": "bench"} for t in texts]
        with Memorable.open(store, embedder="hashing") as mem:
            mem.remember_batch(items)
            mem.checkpoint()

        fields = ("p50_us", "mean_us", "cpu_us")
        got_all: dict[str, dict[str, list[float]]] = {
            lang: {f: [] for f in fields} for lang in langs}
        ratio: dict[str, dict[str, list[float]]] = {
            lang: {f: [] for f in fields} for lang in langs}
        loads = []
        for r in range(args.rounds):
            loads.append(load())
            got = {}
            for lang in rotate(langs, r):
                got[lang] = run_timer(cmds[lang], "recall", str(store), str(queries_file),
                                      str(args.repeat))
            for lang in langs:
                for f in fields:
                    got_all[lang][f].append(got[lang][f])
                    ratio[lang][f].append(got[lang][f] / got["rust"][f])
            print(f"  recall round {r + 1}: load {loads[-1]:.2f}  " + "  ".join(
                f"{lang} p50 {got[lang]['p50_us']:.1f} us (CPU {got[lang]['cpu_us']:.1f} us)"
                for lang in langs))
        print(f"\nrecall(limit=10) at {args.memories:,} memories, per call "
              f"(median over {args.rounds} rounds; load {min(loads):.1f}-{max(loads):.1f}):")
        med = statistics.median
        for lang in langs:
            g, q = got_all[lang], ratio[lang]
            print(f"  {lang:7s} wall p50 {med(g['p50_us']):8.1f} us (x{med(q['p50_us']):.3f} of Rust, "
                  f"rounds {min(q['p50_us']):.3f}-{max(q['p50_us']):.3f})  "
                  f"CPU {med(g['cpu_us']):8.1f} us (x{med(q['cpu_us']):.3f} of Rust, "
                  f"rounds {min(q['cpu_us']):.3f}-{max(q['cpu_us']):.3f})")

        if args.callgrind:
            sub = Path(tmp) / "queries64.txt"
            sub.write_text("\n".join(queries[:64]) + "\n")
            print("\ncallgrind: instructions per recall (2 passes minus 1 pass, / 64):")
            per: dict[str, float] = {}
            for lang in langs:
                if lang == "node":
                    print("  node    skipped (V8 under valgrind: not representative)")
                    continue
                one = callgrind_instructions(cmds[lang], "recall", str(store), str(sub), "1")
                two = callgrind_instructions(cmds[lang], "recall", str(store), str(sub), "2")
                per[lang] = (two - one) / 64
            for lang, n in per.items():
                print(f"  {lang:7s} {n:12,.0f} instructions  x{n / per['rust']:.3f} of Rust")


if __name__ == "__main__":
    main()
