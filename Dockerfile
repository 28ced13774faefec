# syntax=docker/dockerfile:1
# Two images from one build:
#   docker build --target daemon  -t ghcr.io/mcp-ephemeral-k8s/daemon:0.1.0 .
#   docker build --target runtime -t ghcr.io/mcp-ephemeral-k8s/runtime:0.1.0 .
# `daemon` runs `mcp-ephemeral-k8s serve`; `runtime` is what every child pod runs: the same
# binary as its bridge, plus uv/uvx and Node's npx, as a non-root user with a writable home.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own that changes only with Cargo.lock.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src/bin/mcp-test-server \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > src/bin/mcp-test-server/main.rs \
    && touch src/lib.rs \
    && cargo build --profile dist --locked --bin mcp-ephemeral-k8s \
    && rm -rf src
COPY src src
COPY presets presets
RUN touch src/main.rs src/lib.rs \
    && cargo build --profile dist --locked --bin mcp-ephemeral-k8s \
    && strip target/dist/mcp-ephemeral-k8s

FROM debian:bookworm-slim AS daemon
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 mcp \
    && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin mcp
COPY --from=build /src/target/dist/mcp-ephemeral-k8s /usr/local/bin/mcp-ephemeral-k8s
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["mcp-ephemeral-k8s"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

FROM node:20-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM to the bridge and reaps the orphans uvx/npx leave.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git python3 python3-venv tini \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir uv==0.13.9 \
    && ln -s /opt/uv/bin/uv /opt/uv/bin/uvx /usr/local/bin/ \
    && groupadd --gid 65532 mcp \
    && useradd --uid 65532 --gid 65532 --create-home --home-dir /home/mcp --shell /usr/sbin/nologin mcp
ENV HOME=/home/mcp \
    UV_CACHE_DIR=/home/mcp/.cache/uv \
    UV_TOOL_DIR=/home/mcp/.local/share/uv/tools \
    UV_PYTHON_PREFERENCE=only-system \
    UV_LINK_MODE=copy \
    NPM_CONFIG_CACHE=/home/mcp/.npm \
    NPM_CONFIG_PREFER_OFFLINE=true \
    NPM_CONFIG_UPDATE_NOTIFIER=false
COPY --from=build /src/target/dist/mcp-ephemeral-k8s /usr/local/bin/mcp-ephemeral-k8s
USER 65532:65532
WORKDIR /home/mcp
# The built-in presets' packages, at the versions presets/ names, installed as the user and
# at the paths children run them with: uvx runs an installed tool, npx finds the exact
# version in its cache (and, preferring it, asks no registry), so these presets start
# without a download, and without internet. Keep this list equal to
# presets/ (a test compares them).
RUN uv tool install mcp-server-time==2026.10.19 \
    && uv tool install mcp-server-fetch==2026.10.24 \
    && uv tool install mcp-server-git==2026.10.19 \
    && uv tool install kubernetes-mcp-server==0.0.69 \
    && npm exec --yes --package=@modelcontextprotocol/server-everything@2026.8.31 -- true \
    && npm exec --yes --package=@modelcontextprotocol/server-filesystem@2026.8.31 -- true \
    && uv cache clean
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "mcp-ephemeral-k8s"]
CMD ["bridge", "--host", "0.0.0.0", "--port", "8080", "--", "uvx", "mcp-server-time"]
