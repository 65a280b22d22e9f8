"""MiniLM embedding against ONNX Runtime in one run on this machine (issue 32, part 4): MemoRable's
native forward (f32 and `minilm-int8`, timed by its Rust bench `benches/int8.rs --json`) and
ONNX Runtime (f32, and int8 by ORT's own dynamic quantization), alternating process by process,
best of the rounds. Not part of CI; figures go to docs/benchmarks.md.

    target/peers-venv/bin/python benches/peers/embed_peers.py --int8-bench PATH [--rounds 3]

benches/peers/embed_run.sh builds the Rust bench and calls this. No ONNX MiniLM ships in a
package registry this machine reaches, so the ONNX model is built here from the same
safetensors (the BERT graph as Hugging Face exports it: separate Q/K/V products, additive
mask, exact-erf GELU, opset 17), then given ORT's documented BERT path: the transformer
optimizer (`onnxruntime.transformers.optimizer`, model_type "bert": attention, SkipLayerNorm,
bias-GELU fusions) and `quantize_dynamic` (per-channel int8 weights, dynamic activations) for
int8. Its vectors are checked against the numpy reference before timing. Texts: the first 2,000
GoEmotions training texts, sorted by length and cut in batches of 32 (padded to each batch's
longest, as sentence-transformers does), and the first 500 one at a time; 2 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

THREADS = 2
TEXTS = 2000
SINGLE = 500


def build_onnx(folder: Path, out: Path) -> None:
    """The encoder (last hidden state) as an ONNX graph from the safetensors weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    raw = load_file(str(folder / "model.safetensors"))
    w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}
    cfg = json.loads((folder / "config.json").read_text())
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    hd, eps = d // heads, cfg.get("layer_norm_eps", 1e-12)
    inits, nodes = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, ins: list[str], out_name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, ins, [out_name], name=out_name, **attrs))
        return out_name

    def linear(x: str, prefix: str, name: str) -> str:
        wt = const(f"{name}.w", w[f"{prefix}.weight"].T.copy())
        b = const(f"{name}.b", w[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, wt], f"{name}.mm"), b], f"{name}.out")

    def layer_norm(x: str, prefix: str, name: str) -> str:
        g, b = const(f"{name}.g", w[f"{prefix}.weight"]), const(f"{name}.beta", w[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], f"{name}.out", axis=-1, epsilon=eps)

    e = "embeddings."
    word = node("Gather", [const("word", w[e + "word_embeddings.weight"]), "input_ids"], "emb.word")
    shape = node("Shape", ["input_ids"], "emb.shape")
    length = node("Gather", [shape, const("one", np.array(1, np.int64))], "emb.len", axis=0)
    positions = node("Range", [const("zero", np.array(0, np.int64)), length, "one"], "emb.positions")
    pos = node("Gather", [const("pos", w[e + "position_embeddings.weight"]), positions], "emb.pos")
    typ = const("typ", w[e + "token_type_embeddings.weight"][0])
    x = node("Add", [node("Add", [word, pos], "emb.wp"), typ], "emb.sum")
    x = layer_norm(x, e + "LayerNorm", "emb.ln")
    # Two Unsqueezes, then Cast, Sub, Mul: the mask path of a PyTorch export, which ORT's
    # attention fusion looks for.
    mask = node("Unsqueeze", ["attention_mask", const("axis1", np.array([1], np.int64))], "mask.3d")
    mask = node("Unsqueeze", [mask, const("axis2", np.array([2], np.int64))], "mask.4d")
    mask = node("Cast", [mask], "mask.f", to=TensorProto.FLOAT)
    inv = node("Sub", [const("onef", np.array(1.0, np.float32)), mask], "mask.inv")
    bias = node("Mul", [inv, const("neg", np.array(-10000.0, np.float32))], "mask.bias")
    split_heads = const("heads_shape", np.array([0, 0, heads, hd], np.int64))
    merge_heads = const("merge_shape", np.array([0, 0, d], np.int64))
    sqrt_hd = const("sqrt_hd", np.array(np.sqrt(hd), np.float32))
    for layer in range(cfg["num_hidden_layers"]):
        p, n = f"encoder.layer.{layer}.", f"l{layer}"

        def heads_of(name: str, perm: list[int]) -> str:
            t = linear(x, p + f"attention.self.{name}", f"{n}.{name}")
            return node("Transpose", [node("Reshape", [t, split_heads], f"{n}.{name}.r")], f"{n}.{name}.t", perm=perm)

        q, k, v = heads_of("query", [0, 2, 1, 3]), heads_of("key", [0, 2, 3, 1]), heads_of("value", [0, 2, 1, 3])
        s = node("Add", [node("Div", [node("MatMul", [q, k], f"{n}.qk"), sqrt_hd], f"{n}.scaled"), bias], f"{n}.masked")
        probs = node("Softmax", [s], f"{n}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{n}.ctx")], f"{n}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_heads], f"{n}.ctx.r")
        a = node("Add", [linear(ctx, p + "attention.output.dense", f"{n}.ao"), x], f"{n}.ao.res")
        a = layer_norm(a, p + "attention.output.LayerNorm", f"{n}.ln1")
        h = linear(a, p + "intermediate.dense", f"{n}.fi")
        # x * 0.5 * (1 + erf(x / sqrt 2)), in the order a PyTorch export writes it.
        erf = node("Erf", [node("Div", [h, const(f"{n}.s2", np.array(np.sqrt(2), np.float32))], f"{n}.hs")], f"{n}.erf")
        gelu = node("Mul", [node("Mul", [h, node("Add", [erf, "onef"], f"{n}.erf1")], f"{n}.xg"),
                            const(f"{n}.half", np.array(0.5, np.float32))], f"{n}.gelu")
        o = node("Add", [linear(gelu, p + "output.dense", f"{n}.fo"), a], f"{n}.fo.res")
        x = layer_norm(o, p + "output.LayerNorm", f"{n}.ln2")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="out"))
    dims = ["batch", "seq"]
    graph = helper.make_graph(
        nodes,
        "minilm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [d])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


class OrtMiniLM:
    """An ONNX MiniLM session with sentence-transformers' batching, pooling and normalization."""

    def __init__(self, path: Path, tok_folder: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        st = json.loads((tok_folder / "sentence_bert_config.json").read_text())
        self.tok = Tokenizer.from_file(str(tok_folder / "tokenizer.json"))
        self.tok.enable_truncation(st["max_seq_length"])
        self.tok.enable_padding()

    def embed(self, texts: list[str], batch: int = 32) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), 384), np.float32)
        for i in range(0, len(texts), batch):
            idx = order[i : i + batch]
            enc = self.tok.encode_batch([texts[j] for j in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            (h,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            m = mask[:, :, None].astype(np.float32)
            pooled = (h * m).sum(1) / m.sum(1)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def per_second(embed, texts: list[str], batch: int) -> float:
    t = time.perf_counter()
    if batch == 1:
        for s in texts:
            embed([s], 1)
    else:
        embed(texts, batch)
    return len(texts) / (time.perf_counter() - t)


def goemotions(n: int) -> list[str]:
    path = peers.REPO.parent / "shared/data/goemotions/train.tsv"
    lines = path.read_text().splitlines()[1:]
    return [t for t in (line.split("\t")[0] for line in lines) if t.strip()][:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--int8-bench", required=True, type=Path, help="the built benches/int8.rs binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=peers.REPO / "target/peers-onnx")
    args = ap.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    folder = Path(os.environ.get("MEMORABLE_HOME", Path.home() / ".cache/memorable")) / "models/minilm"
    args.work.mkdir(parents=True, exist_ok=True)
    plain, fused, int8 = (args.work / f for f in ("minilm.onnx", "minilm-opt.onnx", "minilm-opt-int8.onnx"))
    build_onnx(folder, plain)
    # opt_level 0: the Python fusions only (level 1 first runs ORT offline, which imports torch
    # here); the session applies ORT_ENABLE_ALL at load anyway.
    opt = optimize_model(str(plain), model_type="bert", num_heads=12, hidden_size=384, opt_level=0)
    fusions = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    opt.save_model_to_file(str(fused))
    import onnx

    # Fused operators (contrib domain) carry no inferred output types: tell the quantizer.
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, per_channel=True, extra_options=extra)

    texts = goemotions(TEXTS)
    ref = peers.NumpyMiniLM(folder).embed(texts[:200])
    systems = {"ort-f32": OrtMiniLM(fused, folder), "ort-int8": OrtMiniLM(int8, folder)}
    parity = {}
    for name, s in systems.items():
        v = s.embed(texts[:200])
        parity[name] = float((v * ref).sum(1).min())
    f32_all, int8_all = systems["ort-f32"].embed(texts), systems["ort-int8"].embed(texts)
    ort_int8_cos = (f32_all * int8_all).sum(1)

    best: dict[str, list[float]] = {k: [0.0, 0.0] for k in ("memorable-f32", "memorable-int8", *systems)}
    env = dict(os.environ, RAYON_NUM_THREADS=str(THREADS))
    for r in range(args.rounds):
        out = subprocess.run([str(args.int8_bench), "--json"], capture_output=True, text=True, env=env, check=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        for k in ("f32", "int8"):
            best[f"memorable-{k}"][0] = max(best[f"memorable-{k}"][0], m[k]["batch32"])
            best[f"memorable-{k}"][1] = max(best[f"memorable-{k}"][1], m[k]["batch1"])
        for name, s in systems.items():
            best[name][0] = max(best[name][0], per_second(s.embed, texts, 32))
            best[name][1] = max(best[name][1], per_second(s.embed, texts[:SINGLE], 1))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[0]:.0f}/{v[1]:.0f}" for k, v in best.items()), file=sys.stderr)

    import onnxruntime

    print(f"\n== MiniLM embedding, {THREADS} threads, {TEXTS} GoEmotions texts (batch 1: first {SINGLE}) ==")
    print(f"onnxruntime {onnxruntime.__version__}; ORT fusions: {fusions}")
    print(f"ORT cosine to the numpy reference (min over 200 texts): {parity}")
    print(f"ORT int8 vs ORT f32 cosine over the texts: min {ort_int8_cos.min():.5f}, mean {ort_int8_cos.mean():.5f}")
    print(f"{'system':<18}{'batch 32 (sent/s)':>20}{'batch 1 (sent/s)':>20}")
    for k, (b32, b1) in best.items():
        print(f"{k:<18}{b32:>20.1f}{b1:>20.1f}")
    print("ratios (MemoRable / ORT):")
    for mine, theirs in (("memorable-f32", "ort-f32"), ("memorable-int8", "ort-int8"), ("memorable-int8", "ort-f32")):
        a, b = best[mine], best[theirs]
        print(f"  {mine} / {theirs}: batch 32 {a[0] / b[0]:.2f}x, batch 1 {a[1] / b[1]:.2f}x")


if __name__ == "__main__":
    main()
