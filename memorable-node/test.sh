#!/usr/bin/env bash
# Build and test the Node binding from a clean checkout, non-interactively:
#   memorable-node/test.sh
# npm install (builds the addon through the install script, release profile, shared target
# dir) → generated index.js / index.d.ts must not drift → node --test → examples → TypeScript
# example type-check → install from a separate consumer project (import + require).
# The interop tests need the CLI: $MEMORABLE_BIN, else <repo>/target/release/memorable
# (built here when missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export CI=true
export CARGO_TARGET_DIR="$repo/target"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

step() { printf '\n== %s\n' "$*"; }

step "CLI for the interop tests"
if [[ -z "${MEMORABLE_BIN:-}" ]]; then
  cargo build --release --manifest-path "$repo/Cargo.toml" -p memorable --bin memorable
  export MEMORABLE_BIN="$repo/target/release/memorable"
fi

step "npm install in memorable-node (builds the addon)"
snapshot="$(mktemp -d)"
trap 'rm -rf "$snapshot"' EXIT
cp "$here/index.js" "$here/index.d.ts" "$snapshot/"
(cd "$here" && npm install)

step "generated index.js / index.d.ts unchanged"
diff -u "$snapshot/index.js" "$here/index.js"
diff -u "$snapshot/index.d.ts" "$here/index.d.ts"
if git -C "$repo" ls-files --error-unmatch memorable-node/index.js memorable-node/index.d.ts >/dev/null 2>&1; then
  git -C "$repo" diff --exit-code -- memorable-node/index.js memorable-node/index.d.ts
else
  echo "note: index.js / index.d.ts are not committed yet (compared with the checked-out files only)"
fi

step "node --test"
(cd "$here" && node --test)

step "examples/node/quickstart.mjs"
mkdir -p "$repo/examples/node/node_modules"
ln -sfn "$here" "$repo/examples/node/node_modules/memorable"
node "$repo/examples/node/quickstart.mjs"

step "tsc --noEmit examples/node/quickstart.ts"
"$here/node_modules/.bin/tsc" --noEmit -p "$repo/examples/node/tsconfig.json"

step "install from a consumer project"
consumer="$(mktemp -d)"
trap 'rm -rf "$snapshot" "$consumer"' EXIT
# npm >= 11 runs a dependency's install script only when the project allows it.
cat > "$consumer/package.json" <<'JSON'
{ "name": "memorable-consumer", "version": "1.0.0", "private": true,
  "allowScripts": { "memorable": true } }
JSON
# Remove the built addon so the import below proves the consumer install rebuilt it.
rm -f "$here"/*.node
(cd "$consumer" && npm install "$here")
cat > "$consumer/esm.mjs" <<'JS'
import { Memorable } from 'memorable'
const mem = Memorable.openInMemory()
const id = await mem.remember('I adopted a puppy named Biscuit', { user: 'alice' })
const [hit] = await mem.recall('puppy', { user: 'alice' })
if (hit.memory.id !== id) throw new Error('esm: recall missed')
mem.close()
console.log('import ok')
JS
cat > "$consumer/cjs.cjs" <<'JS'
const { Memorable } = require('memorable')
Memorable.open(require('node:os').tmpdir() + '/memorable-consumer-' + process.pid).then(async (mem) => {
  const id = await mem.remember('The quarterly report is due on Friday', { user: 'alice' })
  const [hit] = await mem.recall('report', { user: 'alice' })
  if (hit.memory.id !== id) throw new Error('cjs: recall missed')
  mem.close()
  require('node:fs').rmSync(require('node:os').tmpdir() + '/memorable-consumer-' + process.pid, { recursive: true })
  console.log('require ok')
}).catch((e) => { console.error(e); process.exit(1) })
JS
(cd "$consumer" && node esm.mjs && node cjs.cjs)
# The consumer build regenerated the loader too: still no drift.
diff -u "$snapshot/index.js" "$here/index.js"
diff -u "$snapshot/index.d.ts" "$here/index.d.ts"

step "serverless example (examples/serverless): its handlers, called as the platform calls them, against PostgreSQL"
(cd "$here/../examples/serverless" && npm install --ignore-scripts --no-audit --no-fund && npm test)

step "all Node checks passed"
