# Shared by scripts/test-container.sh and scripts/test-compose.sh (sourced): rootful podman
# set up as ../shared/docs/containers.md says works on the project's machines (runc, cgroupfs,
# explicit ulimits, storage in one folder), and the Debian base image made with debootstrap and
# tagged with the names the Dockerfiles use (no image registry is reachable here).
#
# Sets W (podman's folder: MEMORABLE_CONTAINER_WORKDIR, else a fresh temporary one) and
# `keep` (non-empty when W is the caller's, kept at the end).

command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || {
  say "installing podman, runc, debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
}

keep=${MEMORABLE_CONTAINER_WORKDIR:-}
W=${keep:-$(mktemp -d /tmp/memorable-podman.XXXXXX)}
mkdir -p "$W/tmp" "$W/net"
cat > "$W/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$W/storage"
runroot = "$W/run/storage"
CONF
cat > "$W/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/run/events.log"
tmp_dir = "$W/run/libpod"
image_copy_tmp_dir = "$W/tmp"
[network]
network_config_dir = "$W/net"
CONF
export CONTAINERS_CONF="$W/containers.conf" CONTAINERS_STORAGE_CONF="$W/storage.conf" TMPDIR="$W/tmp"


# The base image, once per podman folder, tagged as the official images it stands for.
podman_base_image() {
  if ! podman image exists localhost/bookworm-base; then
    say "base image from Debian's archive (debootstrap)"
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    debootstrap --variant=minbase bookworm "$W/rootfs" "$mirror" >/dev/null
    tar -C "$W/rootfs" --numeric-owner -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/bookworm-base >/dev/null
    rm -rf "$W/rootfs"
  fi
  podman tag localhost/bookworm-base docker.io/library/debian:bookworm-slim
  podman tag localhost/bookworm-base docker.io/library/rust:1-bookworm
}

# Build `$2` (a Dockerfile path, context `$3`) as image `$1` with the host's Rust toolchain
# and extra CA certificates mounted (see test-container.sh for why).
podman_build() {
  local image=$1 dockerfile=$2 context=$3
  local rustup_home=${RUSTUP_HOME:-$HOME/.rustup} cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
  local mounts=(--volume "$rustup_home:/usr/local/rustup:ro" --volume "$cargo_bin:/usr/local/cargo/bin:ro")
  # This machine's egress goes through a TLS-inspecting proxy whose CA the host trusts: the
  # build stage trusts it too (the Dockerfile runs update-ca-certificates).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mounts+=(--volume /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)
  fi
  podman build --format docker --pull=never "${mounts[@]}" -f "$dockerfile" -t "$image" "$context"
}
