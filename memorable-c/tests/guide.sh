#!/usr/bin/env bash
# Compile and run every ```c block of a Markdown file (docs/guide.md), each in a fresh scratch
# directory; called by `make -C memorable-c test-guide` with CC, CFLAGS and LDFLAGS set.
set -euo pipefail
guide="$1"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# One file per block, named by the line its fence opens on.
awk -v out="$scratch" '
  /^```c$/ { inside = 1; file = sprintf("%s/guide-line%d.c", out, NR + 1); next }
  /^```$/ && inside { inside = 0; close(file); next }
  inside { print > file }
' "$guide"
shopt -s nullglob
blocks=("$scratch"/guide-line*.c)
[[ ${#blocks[@]} -gt 0 ]] || { echo "no \`\`\`c block in $guide" >&2; exit 1; }
for src in "${blocks[@]}"; do
  name="$(basename "$src" .c)"
  echo "== $guide:${name#guide-line}"
  # shellcheck disable=SC2086 # flags are word lists
  ${CC:-cc} $CFLAGS "$src" -o "$scratch/$name" $LDFLAGS
  mkdir "$scratch/$name.run"
  (cd "$scratch/$name.run" && env -u MEMORABLE_KEY "$scratch/$name")
done
echo "docs/guide.md: ${#blocks[@]} C block(s) ran"
