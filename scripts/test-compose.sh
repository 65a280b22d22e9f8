#!/usr/bin/env bash
# Bring up deploy/compose.yaml (with the development override deploy/compose.dev.yaml) with
# podman-compose and check it end to end: the server comes up on PostgreSQL, remembers and
# recalls over HTTP (the rows are in the database), generates through the LLM service, and
# picks up an edited settings file without a restart (hot reload).
#
#   sudo scripts/test-compose.sh
#
# The compose file names the official images for users; no image registry is reachable on the
# project's machines, so this script substitutes them by the file's own variables (not by
# editing it): POSTGRES_IMAGE is Debian's PostgreSQL behind the official image's entrypoint
# contract (deploy/test/postgres.Dockerfile), LLM_IMAGE the in-repo Ollama API mock
# (deploy/test/ollama-mock.Dockerfile), MEMORABLE_IMAGE the repository's Dockerfile (built
# like scripts/test-container.sh does, unless MEMORABLE_CONTAINER_WORKDIR already holds it).
# Not part of .ci/run (image builds take longer than CI's budget); its last result is written
# in docs/deployment.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '==> %s\n' "$*"; }
[[ $(id -u) -eq 0 ]] || { echo "rootful podman: run as root" >&2; exit 2; }
started=$SECONDS
command -v podman-compose >/dev/null || {
  say "installing podman-compose"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
}
# shellcheck source=podman-env.sh
source "$root/scripts/podman-env.sh"

project="memorabletest$$"
compose=(podman-compose -p "$project" -f "$root/deploy/compose.yaml" -f "$root/deploy/compose.dev.yaml")
cleanup() {
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  # podman-compose 1.0.3 leaves the project's network and anonymous volumes behind.
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  podman volume prune -f >/dev/null 2>&1 || true
  if [[ -z "$keep" ]]; then
    podman rmi -af >/dev/null 2>&1 || true
    rm -rf "$W"
  fi
}
trap cleanup EXIT

podman_base_image
export MEMORABLE_IMAGE=localhost/memorable:test POSTGRES_IMAGE=localhost/test-postgres:15 LLM_IMAGE=localhost/test-ollama-mock
if ! podman image exists "$MEMORABLE_IMAGE"; then
  say "building the server image (the repository's Dockerfile)"
  podman_build "$MEMORABLE_IMAGE" "$root/Dockerfile" "$root"
fi
say "building the stand-ins for the official postgres and ollama images"
podman_build "$POSTGRES_IMAGE" "$root/deploy/test/postgres.Dockerfile" "$root/deploy/test" >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
(cd "$root" && cargo build --release --quiet -p ollama-mock --bin ollama-mock)
mkdir -p "$W/llm"
cp "$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/ollama-mock" "$W/llm/"
podman_build "$LLM_IMAGE" "$root/deploy/test/ollama-mock.Dockerfile" "$W/llm" >/dev/null

# The settings directory the development override mounts: one key, for alice.
key_of() { printf 'key-%s-%s' "$1" "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
key1=$(key_of one)
key2=$(key_of two)
mkdir -p "$W/config"
settings() {
  printf '[[server.keys]]\nname = "one"\nsha256 = "%s"\nusers = ["alice"]\n' "$(sha "$key1")"
  [[ ${1:-} == both ]] && printf '\n[[server.keys]]\nname = "two"\nsha256 = "%s"\nusers = ["alice"]\n' "$(sha "$key2")"
  true
}
settings > "$W/config/server.toml"
chmod -R a+rX "$W/config"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export POSTGRES_PASSWORD="pw-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export MEMORABLE_GENERATOR=ollama:tiny MEMORABLE_PORT=$port
export MEMORABLE_CONFIG_DIR="$W/config" MEMORABLE_SETTINGS="$W/config/server.toml"

say "podman-compose up (compose.yaml + compose.dev.yaml)"
"${compose[@]}" up -d >"$W/compose-up.log" 2>&1 || { cat "$W/compose-up.log"; exit 1; }
url="http://127.0.0.1:$port"
t0=$SECONDS
until curl -fsS "$url/healthz" >/dev/null 2>&1; do
  if (( SECONDS - t0 > 180 )); then "${compose[@]}" logs memorable 2>&1 | tail -30; echo "no /healthz after 180 s" >&2; exit 1; fi
  sleep 2
done
say "the server is healthy after $((SECONDS - t0))s (it waits for PostgreSQL by restarting)"

api() { local key=$1; shift; curl -fsS -H "Authorization: Bearer $key" -H 'content-type: application/json' "$@"; }
id=$(api "$key1" -X POST "$url/v1/memories" -d '{"user":"alice","text":"I adopted a beagle puppy named Biscuit"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
hit=$(api "$key1" -X POST "$url/v1/recall" -d '{"user":"alice","query":"what is my dog called?","limit":3}' \
  | python3 -c 'import json,sys; h=json.load(sys.stdin)["hits"]; print(h[0]["id"] if h else "none")')
[[ $hit == "$id" ]] || { echo "recall did not return memory $id" >&2; exit 1; }
container() { podman ps --filter "label=io.podman.compose.project=$project" --format '{{.Names}}' | grep "_$1_" | head -1; }
rows=$(podman exec "$(container postgres)" psql -U memorable -d memorable -tAc "SELECT count(*) FROM memories")
[[ $rows == 1 ]] || { echo "the database holds $rows memories, not 1" >&2; exit 1; }
say "remembered $id and recalled it; the row is in PostgreSQL"

out=$(podman exec "$(container memorable)" memorable generate --json "Say hello to the garden")
python3 - "$out" <<'PY'
import json, sys
g = json.loads(sys.argv[1])
assert g["text"].strip(), g
assert "tiny" in g["model"], g
PY
say "generated through the LLM service: $(python3 -c 'import json,sys; g=json.loads(sys.argv[1]); print(g["model"], repr(g["text"][:40]))' "$out")"

# Hot reload: a second key added to the mounted settings works without a restart.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key2" -H 'content-type: application/json' \
  -X POST "$url/v1/recall" -d '{"user":"alice","query":"dog"}')
[[ $code == 401 ]] || { echo "the second key answered $code before it was added" >&2; exit 1; }
settings both > "$W/config/server.toml.new" && mv "$W/config/server.toml.new" "$W/config/server.toml"
chmod a+r "$W/config/server.toml"
t0=$SECONDS
until api "$key2" -X POST "$url/v1/recall" -d '{"user":"alice","query":"dog"}' >/dev/null 2>&1; do
  if (( SECONDS - t0 > 30 )); then echo "the edited settings were not picked up in 30 s" >&2; exit 1; fi
  sleep 1
done
say "the edited settings file took effect after $((SECONDS - t0))s without a restart"

say "compose checks passed in $((SECONDS - started))s"
