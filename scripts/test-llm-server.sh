#!/usr/bin/env bash
# The generation role against real llama.cpp (from PyPI llama-cpp-python[server], built from
# source with this machine's compiler), on the SmolLM2 GGUF of the model cache:
#   1. greedy parity: `memorable generate --raw --temperature 0` == llama.cpp's completion
#      (scripts/llm_parity.py: same prompt token count, same text);
#   2. llama.cpp's OpenAI-compatible server on 127.0.0.1 (one generating, one serving
#      embeddings with mean pooling): the CLI's `generate --model openai:smollm2`, then the
#      opt-in Rust suite `llm_server::` (SSE streaming, stops, JSON mode, /v1/models,
#      /v1/embeddings, consolidation through the server);
#   3. the generating server is killed: SERVER_UNAVAILABLE without a hang, and a store that
#      used it falls back to the local GGUF and says so in its report.
#
#   scripts/test-llm-server.sh          (CI runs it; needs scripts/fetch-model.sh smollm2)
#
# The venv lives in $MEMORABLE_LLM_VENV (default target/llm-venv) and is reused; building
# llama-cpp-python takes ~9 minutes on 2 cores.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
bin="${MEMORABLE_BIN:-$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/memorable}"
venv="${MEMORABLE_LLM_VENV:-$CARGO_TARGET_DIR/llm-venv}"
version=0.3.36

step() { printf '\n==> %s\n' "$*"; }

# No multimodal tool. The x86-64 AVX2 kernels (AVX2, FMA, F16C, BMI2), not -march=native: on a
# host that reports AMX (Sapphire Rapids) a native build runs ggml's AMX path, which crashes
# (SIGSEGV in the first batched decode) in this machine's VM; AVX2 is also the instruction
# set the parity below was established on, and every CI host has it.
cmake_args="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
if ! "$venv/bin/python" -c "import llama_cpp.server, llama_cpp; assert llama_cpp.__version__ == '$version'" 2>/dev/null \
  || [[ "$(cat "$venv/cmake-args" 2>/dev/null)" != "$cmake_args" ]]; then
  step "building llama-cpp-python[server]==$version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$venv/bin/pip" install -q --no-cache-dir "llama-cpp-python[server]==$version"
  echo "$cmake_args" >"$venv/cmake-args"
fi
py="$venv/bin/python"

gguf="$(python3 - "$repo/models/manifest.json" <<'PY'
import json, os, sys
entry = next(m for m in json.load(open(sys.argv[1]))["models"] if m["name"] == "smollm2")
if os.environ.get("MEMORABLE_MODEL_DIR"):
    cache = os.environ["MEMORABLE_MODEL_DIR"]
elif os.environ.get("MEMORABLE_HOME"):
    cache = os.path.join(os.environ["MEMORABLE_HOME"], "models")
else:
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "memorable", "models")
print(os.path.join(cache, "smollm2", entry["files"][0]["path"]))
PY
)"
[[ -f "$gguf" ]] || { echo "SmolLM2 is not in the model cache ($gguf): run scripts/fetch-model.sh smollm2"; exit 1; }

step "building the CLI and the engine tests"
cargo build --release --quiet --bin memorable
cargo test --release --quiet -p memorable-core --test main --no-run

step "greedy parity with llama.cpp"
"$py" scripts/llm_parity.py "$gguf" "$bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
gen_port="$(free_port)"
embed_port="$(free_port)"
logs="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT

serve() { # port, extra args...
  local port="$1"; shift
  "$py" -m llama_cpp.server --model "$gguf" --model_alias smollm2 --host 127.0.0.1 --port "$port" \
    --n_threads 2 "$@" >"$logs/server-$port.log" 2>&1 &
  pids+=("$!")
}
wait_up() { # port
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$1/v1/models" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "llama.cpp's server on port $1 did not come up:"; cat "$logs/server-$1.log"; return 1
}

step "starting llama.cpp's server (generation on $gen_port, embeddings on $embed_port)"
serve "$gen_port"
gen_pid="${pids[0]}"
# SmolLM2 is causal: without pooling llama.cpp answers a vector per token.
serve "$embed_port" --embedding true --kv_overrides llama.pooling_type=int:1
wait_up "$gen_port"
wait_up "$embed_port"

step "memorable generate --model openai:smollm2 (the CLI against the server)"
out="$("$bin" --store "$logs/store" --embedder hashing --openai-url "http://127.0.0.1:$gen_port/v1" \
  generate --model openai:smollm2 --raw --max-tokens 8 --json "1, 2, 3,")"
echo "$out"
python3 -c 'import json,sys; g=json.loads(sys.argv[1]); assert g["model"]=="openai:smollm2" and g["text"].startswith(" 4, 5"), g' "$out"

export MEMORABLE_TEST_OPENAI_URL="http://127.0.0.1:$gen_port/v1"
export MEMORABLE_TEST_OPENAI_EMBED_URL="http://127.0.0.1:$embed_port/v1"
export MEMORABLE_TEST_OPENAI_PID="$gen_pid"
step "llm_server:: tests against the live server"
cargo test --release -p memorable-core --test main -- --ignored --exact \
  llm_server::openai_backend_against_llama_cpp_server llm_server::openai_embeddings_against_llama_cpp_server
step "llm_server:: the server killed"
cargo test --release -p memorable-core --test main -- --ignored --exact \
  llm_server::llm_server_killed_falls_back_to_the_local_generator
echo
echo "llama.cpp server checks passed"
