#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python) on the same GGUF, thread count and work as benches/generate.rs:
load time, prompt processing and decode tokens/s, peak RSS. Prints one JSON object.

    python3 benches/peers/llama_cpp_generate.py MODEL.gguf THREADS PROMPT_TOKENS DECODE_TOKENS REPS
"""
import json
import resource
import sys
import time

from llama_cpp import Llama

path, threads, n_prompt, n_decode, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
started = time.perf_counter()
llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=2048, n_batch=512, verbose=False)
load_s = time.perf_counter() - started

# The same token ids as the Rust side: a deterministic walk over ordinary vocabulary.
prompt = [(i * 7919) % 40000 + 1000 for i in range(n_prompt)]
pp, dec = [], []
for _ in range(reps):
    llm.reset()
    t = time.perf_counter()
    llm.eval(prompt)
    pp.append(n_prompt / (time.perf_counter() - t))
    t = time.perf_counter()
    for i in range(n_decode):
        llm.eval([(i * 104729) % 40000 + 1000])
    dec.append(n_decode / (time.perf_counter() - t))
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
pp.sort(); dec.sort()
print(json.dumps({"load_s": load_s, "prompt_tok_s": pp[len(pp) // 2], "decode_tok_s": dec[len(dec) // 2], "peak_rss_mb": rss_mb}))
