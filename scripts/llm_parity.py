"""Greedy parity of `memorable generate --raw --temperature 0` with llama.cpp on the same GGUF.

    python scripts/llm_parity.py MODEL.gguf MEMORABLE_BIN [--max-tokens N] [PROMPT ...]

llama.cpp runs through llama-cpp-python (`create_completion(temperature=0,
repeat_penalty=1.0)`, 2 threads); MemoRable through its CLI. For each prompt the prompt's
token count and the completion text must be equal. Exit status 1 on any mismatch.
Run by scripts/test-llm-server.sh.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from llama_cpp import Llama

PROMPTS = [
    "The quick brown fox",
    "Once upon a time, in a small village,",
    "def fibonacci(n):",
    "1, 2, 3,",
    "Q: Who wrote Hamlet?\nA:",
    "Les enfants jouent dans le jardin pendant que",
    "Memories are stored with who, what, when and where; a recall ranks them by",
    "<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n",
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("memorable")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("prompts", nargs="*")
    args = ap.parse_args()
    llm = Llama(model_path=args.model, n_threads=2, n_ctx=2048, verbose=False)
    bad = 0
    with tempfile.TemporaryDirectory() as store:
        for prompt in args.prompts or PROMPTS:
            llm.reset()
            ref = llm.create_completion(prompt, max_tokens=args.max_tokens, temperature=0.0, repeat_penalty=1.0)
            ref_text = ref["choices"][0]["text"]
            ref_prompt = len(llm.tokenize(prompt.encode(), add_bos=True, special=True))
            out = subprocess.run(
                [args.memorable, "--store", store, "--embedder", "hashing", "generate", "--model", "smollm2",
                 "--raw", "--temperature", "0", "--max-tokens", str(args.max_tokens), "--json", prompt],
                capture_output=True, text=True, check=True,
            )
            ours = json.loads(out.stdout)
            ok = ours["text"] == ref_text and ours["prompt_tokens"] == ref_prompt
            bad += not ok
            if ok:
                print(f"same  {prompt[:40]!r} -> {ours['text'][:50]!r}")
            else:
                print(f"DIFF  {prompt[:40]!r}\n  llama.cpp ({ref_prompt} prompt tokens) {ref_text!r}\n"
                      f"  memorable ({ours['prompt_tokens']} prompt tokens) {ours['text']!r}")
    print(f"greedy parity: {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
