# Sourced by the peers scripts: sets `repo`, `venv` and CARGO_TARGET_DIR, and makes the
# virtualenv under target/peers-venv with benches/peers/requirements.txt (PyPI).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
venv="$repo/target/peers-venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$repo/benches/peers/requirements.txt" </dev/null
