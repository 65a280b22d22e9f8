#!/usr/bin/env bash
# Build the server image (the repository's Dockerfile) with rootful podman and check it end to
# end: start it with a store volume and a settings file, wait for /healthz, remember and recall
# over HTTP, restart the container and recall again (the volume kept the data), and check that
# the server runs as a non-root user and that the image's HEALTHCHECK passes; the server backs
# itself up into the volume (MEMORABLE_BACKUP_DIR) and docs/deployment.md's restore drill, run
# inside the container, brings the memory back from the newest backup.
#
#   sudo scripts/test-container.sh
#
# No image registry is reachable on the project's machines (../shared/docs/containers.md), so
# this script makes the base image from Debian's archive with debootstrap and tags it with the
# names the Dockerfile uses (debian:bookworm-slim, rust:1-bookworm). A user's build takes the
# official images; here the build stage gets the host's Rust toolchain mounted read-only at the
# official image's paths (no toolchain download is reachable), while every crate and the
# MiniLM weights still come from the registries. Not part of .ci/run (a cold image build takes
# longer than CI's budget); its last result is written in docs/deployment.md.
#
# Environment: MEMORABLE_CONTAINER_WORKDIR keeps podman's storage (and the base image) between
# runs (default: a fresh temporary folder, removed at the end).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '==> %s\n' "$*"; }
[[ $(id -u) -eq 0 ]] || { echo "rootful podman: run as root" >&2; exit 2; }
started=$SECONDS

# shellcheck source=podman-env.sh
source "$root/scripts/podman-env.sh"

name="memorable-test-$$"
volume="memorable-test-data-$$"
image="localhost/memorable:test"
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  if [[ -z "$keep" ]]; then
    podman rmi -af >/dev/null 2>&1 || true
    rm -rf "$W"
  fi
}
trap cleanup EXIT

podman_base_image

say "podman build (the Dockerfile; the host's Rust toolchain mounted into the build stage)"
build_started=$SECONDS
podman_build "$image" "$root/Dockerfile" "$root"
build_secs=$((SECONDS - build_started))
size=$(podman image inspect "$image" --format '{{.Size}}')
say "image built in ${build_secs}s, $((size / 1024 / 1024)) MiB"

# A settings file with one key for alice (the server keeps only its SHA-256).
key="test-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
cat > "$W/server.toml" <<CONF
[[server.keys]]
name = "test"
sha256 = "$digest"
users = ["alice"]
CONF
chmod 644 "$W/server.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
podman volume create "$volume" >/dev/null
podman run -d --name "$name" -p "127.0.0.1:$port:8420" \
  -v "$volume:/var/lib/memorable" -v "$W/server.toml:/etc/memorable/server.toml:ro" \
  -e MEMORABLE_CONFIG=/etc/memorable/server.toml \
  -e MEMORABLE_BACKUP_DIR=/var/lib/memorable/backups -e MEMORABLE_BACKUP_EVERY_SECS=2 \
  -e MEMORABLE_BACKUP_KEEP=3 "$image" >/dev/null

url="http://127.0.0.1:$port"
wait_healthy() {
  local t0=$SECONDS
  until curl -fsS "$url/healthz" >/dev/null 2>&1; do
    if (( SECONDS - t0 > 120 )); then podman logs "$name" | tail -20; echo "no /healthz after 120 s" >&2; exit 1; fi
    sleep 1
  done
  echo $((SECONDS - t0))
}
api() { curl -fsS -H "Authorization: Bearer $key" -H 'content-type: application/json' "$@"; }
say "waiting for /healthz"
first_up=$(wait_healthy)
say "healthy after ${first_up}s"

id=$(api -X POST "$url/v1/memories" -d '{"user":"alice","text":"I adopted a beagle puppy named Biscuit"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
recall() {
  api -X POST "$url/v1/recall" -d '{"user":"alice","query":"what is my dog called?","limit":3}' \
    | python3 -c 'import json,sys; h=json.load(sys.stdin)["hits"]; print(h[0]["id"] if h else "none")'
}
[[ $(recall) == "$id" ]] || { echo "recall did not return memory $id" >&2; exit 1; }
say "remembered $id and recalled it"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/v1/recall" -H 'content-type: application/json' \
  -d '{"user":"alice","query":"dog"}')
[[ $code == 401 ]] || { echo "a request without the key answered $code" >&2; exit 1; }

uid=$(podman exec "$name" id -u)
[[ $uid != 0 ]] || { echo "the server runs as root" >&2; exit 1; }
say "the server runs as uid $uid ($(podman exec "$name" id -un))"
podman healthcheck run "$name" >/dev/null || { echo "the image's HEALTHCHECK failed" >&2; exit 1; }
say "HEALTHCHECK passes"

say "restarting the container"
podman restart "$name" >/dev/null
again_up=$(wait_healthy)
[[ $(recall) == "$id" ]] || { echo "after the restart, recall lost memory $id" >&2; exit 1; }
say "after the restart (healthy in ${again_up}s) memory $id is recalled from the volume"

# docs/deployment.md's restore drill, as written, inside the container on its scheduled
# backups (in the volume): the memory remembered before the restart comes back from one.
sleep 3
drill=$(awk '/^```sh drill$/ {on = 1; next} /^```$/ {on = 0} on' "$root/docs/deployment.md")
out=$(podman exec -w /tmp -e DRILL_USER=alice "$name" sh -ec "$drill")
grep -q "Biscuit" <<<"$out" || { echo "the restore drill did not bring memory $id back: $out" >&2; exit 1; }
say "the restore drill restored the newest scheduled backup ($(podman exec "$name" sh -c 'ls /var/lib/memorable/backups | wc -l') kept)"

say "container checks passed in $((SECONDS - started))s (build ${build_secs}s, image $((size / 1024 / 1024)) MiB)"
