#!/usr/bin/env bash
# MCP with the official Python SDK (PyPI `mcp`) as the client: `memorable mcp` over stdio and
# `memorable serve` at /mcp over streamable HTTP (tests/mcp/test_mcp.py). Builds the release
# CLI if needed and a venv of its own (target/mcp-venv).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export MEMORABLE_BIN="${MEMORABLE_BIN:-$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/memorable}"
cargo build --release --quiet --bin memorable
venv="$CARGO_TARGET_DIR/mcp-venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
# The 2.x client API (streamable_http_client with an httpx2 client, snake_case results).
"$venv/bin/pip" install --quiet --disable-pip-version-check "mcp>=2.3,<3" "pytest>=8"
exec "$venv/bin/python" -m pytest -q tests/mcp
