#!/usr/bin/env bash
# Build the PostgreSQL `vector` extension (pgvector) from a source tree and install it into
# Debian's PostgreSQL (15 by default), so `CREATE EXTENSION vector;` works.
#
#   sudo scripts/build-pgvector.sh SRC_DIR            # build + install (skips if already installed)
#   sudo FORCE=1 scripts/build-pgvector.sh SRC_DIR    # rebuild + reinstall anyway
#   sudo scripts/build-pgvector.sh --check SRC_DIR    # ... then smoke-test in a throwaway cluster
#
# Where the source comes from: this script downloads nothing. Debian 12's archive has no
# pgvector package for its PostgreSQL 15, so take a tagged release of
# https://github.com/pgvector/pgvector (a clone, a mirror or a release tarball; tested with
# v0.8.6, commit 8ee86c96f0fd72390f890aa8a336fda6d3ab4c6c), e.g.:
#
#   git clone --depth 1 --branch v0.8.6 https://github.com/pgvector/pgvector.git /tmp/pgvector
#   sudo scripts/build-pgvector.sh --check /tmp/pgvector
#
# Environment:
#   PG_CONFIG  pg_config of the target server (default /usr/lib/postgresql/15/bin/pg_config).
#   OPTFLAGS   passed to make when set. pgvector compiles with -march=native by default, which is
#              right when building on the machine that runs the server; set OPTFLAGS="" to build a
#              vector.so that can be copied to other x86-64 machines.
#   FORCE=1    rebuild and reinstall even if the same version is already installed.
#   JOBS       make parallelism (default 1: keep the build polite next to other work).
#
# Caveats:
#   * postgresql-server-dev-NN pins the exact minor version of the server packages, so installing
#     it may upgrade postgresql-NN in place (15.18 -> 15.20 when this was written). Running
#     clusters keep running the old binary until restarted; restart them afterwards.
#   * vector.control has no `trusted = true`, so CREATE EXTENSION vector needs a superuser (once
#     per database); after that ordinary roles can use the type, operators and indexes.
set -euo pipefail

check=0
if [[ "${1:-}" == "--check" ]]; then check=1; shift; fi
src="${1:-}"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
JOBS="${JOBS:-1}"

say() { printf '[build-pgvector] %s\n' "$*"; }
die() { printf '[build-pgvector] error: %s\n' "$*" >&2; exit 1; }

[[ -n "$src" ]] || die "usage: $0 [--check] SRC_DIR (a pgvector source tree; see the header for where to get one)"
[[ -f "$src/vector.control" && -f "$src/Makefile" && -f "$src/src/vector.c" ]] \
  || die "$src does not look like a pgvector source tree (no vector.control / Makefile / src/vector.c)"
src=$(cd "$src" && pwd)
# Installing system packages and writing into PostgreSQL's lib/share dirs needs root.
[[ $(id -u) -eq 0 ]] || die "run as root (apt-get install and make install write system directories)"
[[ -x "$PG_CONFIG" ]] || die "$PG_CONFIG not found: install the server first (apt-get install postgresql)"

# The extension version is what `CREATE EXTENSION vector` installs by default.
version=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$src/vector.control")
[[ -n "$version" ]] || die "cannot read default_version from $src/vector.control"
pg_version=$("$PG_CONFIG" --version)                  # e.g. "PostgreSQL 15.20 (Debian ...)"
pg_major=$(sed -E 's/^PostgreSQL ([0-9]+).*/\1/' <<<"$pg_version")
say "source: $src (pgvector $version)"
say "target: $pg_version via $PG_CONFIG"

# 1. Build prerequisites. The server headers (and PGXS makefiles) live in
#    postgresql-server-dev-NN; it also pulls clang/llvm, which PGXS uses to emit JIT bitcode.
pkg_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }
need=()
pkg_installed "postgresql-server-dev-$pg_major" || need+=("postgresql-server-dev-$pg_major")
{ command -v make >/dev/null && command -v gcc >/dev/null; } || need+=(build-essential)
if ((${#need[@]})); then
  say "installing with apt: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${need[@]}" || { apt-get update && apt-get install -y "${need[@]}"; }
  new_pg_version=$("$PG_CONFIG" --version)
  [[ "$new_pg_version" == "$pg_version" ]] \
    || say "note: apt moved the server from '$pg_version' to '$new_pg_version'; restart running clusters"
  pg_version=$new_pg_version
else
  say "postgresql-server-dev-$pg_major and a compiler are already installed"
fi
[[ -f "$("$PG_CONFIG" --pgxs)" ]] || die "PGXS makefile missing after install: $("$PG_CONFIG" --pgxs)"

pkglibdir=$("$PG_CONFIG" --pkglibdir)
extdir="$("$PG_CONFIG" --sharedir)/extension"

# 2. Idempotence: the same version already installed for this server -> nothing to do.
installed=""
if [[ -f "$extdir/vector.control" && -f "$pkglibdir/vector.so" ]]; then
  installed=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$extdir/vector.control")
fi
if [[ "$installed" == "$version" && "${FORCE:-0}" != 1 ]]; then
  say "pgvector $version is already installed in $pkglibdir (FORCE=1 to rebuild)"
else
  [[ -n "$installed" ]] && say "replacing installed pgvector $installed with $version"
  # 3. Build in a scratch copy so the source tree stays pristine (it may be read-only or shared,
  #    and a stale build for another PostgreSQL major would otherwise be reused by make).
  build=$(mktemp -d /tmp/pgvector-build.XXXXXX)
  trap 'rm -rf "$build"' EXIT
  cp -a "$src/." "$build/"
  make_args=(-C "$build" PG_CONFIG="$PG_CONFIG")
  [[ -n "${OPTFLAGS+set}" ]] && make_args+=(OPTFLAGS="$OPTFLAGS")
  # Drop any objects a previous in-tree build left behind (possibly for another server).
  make "${make_args[@]}" clean >/dev/null
  say "building: make -j$JOBS ${make_args[*]}"
  make -j"$JOBS" "${make_args[@]}" >"$build/make.log" 2>&1 || { tail -n 40 "$build/make.log" >&2; die "build failed"; }
  # 4. Install vector.so into pkglibdir, vector.control + SQL scripts into the extension dir,
  #    headers and JIT bitcode next to the server's.
  say "installing: make ${make_args[*]} install"
  make "${make_args[@]}" install >"$build/install.log" 2>&1 || { tail -n 40 "$build/install.log" >&2; die "install failed"; }
  say "installed $pkglibdir/vector.so and $extdir/vector.control (+ vector--*.sql)"
fi

# 5. Optional smoke test: a throwaway cluster (scripts/pg-cluster.sh runs it as a non-root user
#    on 127.0.0.1), CREATE EXTENSION as its superuser, one distance, then stop and delete it.
if ((check)); then
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  command -v psql >/dev/null || die "psql not found for --check"
  say "smoke test in a throwaway cluster"
  env_out=$("$here/pg-cluster.sh" start)
  eval "$env_out"
  # shellcheck disable=SC2154  # set by the eval above
  trap '"$here/pg-cluster.sh" stop "$PG_CLUSTER_DIR"; rm -rf "${build:-/nonexistent}"' EXIT
  got=$(psql "$MEMORABLE_TEST_PG_URL" -X -At -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION vector" \
    -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'" \
    -c "SELECT round(('[1,2,3]'::vector <=> '[1,2,4]'::vector)::numeric, 6)" | tr '\n' ' ')
  # 1 - 17/sqrt(14*21) = 0.008540 (cosine distance)
  [[ "$got" == "CREATE EXTENSION $version 0.008540 " ]] || die "smoke test failed, got: $got"
  say "smoke test ok: extension $version loads, '[1,2,3]' <=> '[1,2,4]' = 0.008540"
fi
say "done. In each database (as a superuser): CREATE EXTENSION IF NOT EXISTS vector;"
