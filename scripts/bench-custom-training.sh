#!/usr/bin/env bash
# Custom classifier benchmark (docs/benchmarks.md, "Custom emotion classifiers"): GoEmotions
# mapped to Ekman's seven labels, imported with the CLI exactly as a user would, trained with
# a preset, then scored on GoEmotions dev (texts the job never saw) by `memorable classify`.
#
#   scripts/bench-custom-training.sh [quick|full] [THREADS]
#
# Needs the MiniLM in the model cache (scripts/fetch-model.sh) and ../shared/data. The
# trained versions go into a private model cache (the real MiniLM linked in), so the
# machine's registry is left alone.
set -euo pipefail
preset=${1:-quick}
threads=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MEMORABLE_SHARED_DATA:-$root/../shared/data}
bin=${MEMORABLE_BIN:-$root/target/release/memorable}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
real_cache=${MEMORABLE_MODEL_DIR:-${MEMORABLE_HOME:+$MEMORABLE_HOME/models}}
real_cache=${real_cache:-$HOME/.cache/memorable/models}
(cd "$real_cache/minilm" && find -L . -type f) | while read -r f; do
  mkdir -p "$work/models/minilm/$(dirname "$f")"
  ln -s "$real_cache/minilm/$f" "$work/models/minilm/$f"
done
export MEMORABLE_MODEL_DIR=$work/models MEMORABLE_STORE=$work/store
python3 "$root/scripts/goemotions-ekman.py" "$data/goemotions" "$work/ekman" >/dev/null
"$bin" examples import --classifier ekman "$work/ekman/train.jsonl"
start=$(date +%s.%N)
"$bin" --json train emotion --classifier ekman --preset "$preset" --threads "$threads" --wait >"$work/job.json"
end=$(date +%s.%N)
python3 - "$work/job.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = j["result"]
print(f"job {j['id']}: {j['state']}, {r['decision']}")
print(f"evaluation split ({r['new']['texts']} texts): macro-F1 {r['new']['macro_f1']:.4f}, micro-F1 {r['new']['micro_f1']:.4f}, ECE {r['new']['ece']:.4f}")
print(f"steps {r['steps']}, job seconds {r['seconds']:.0f}")
PY
echo "wall seconds (train --wait): $(echo "$end - $start" | bc)"
python3 -c "import json,sys; [print(json.loads(l)['text'].replace('\n',' ')) for l in open(sys.argv[1])]" "$work/ekman/dev.jsonl" >"$work/dev.txt"
"$bin" classify --classifier ekman --file "$work/dev.txt" >"$work/pred.jsonl"
echo -n "GoEmotions dev (unseen) mapped to Ekman: "
python3 "$root/scripts/eval-classify.py" "$work/ekman/dev.jsonl" "$work/pred.jsonl"
