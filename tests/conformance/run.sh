#!/usr/bin/env bash
# Runs the GraphQL-over-HTTP audit suite (npm package graphql-http, pinned
# in package-lock.json) against a freshly seeded tradegraph server.
# Needs Node.js and npm; builds the server if needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$root" && cargo build --quiet --bin tradegraph)

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${CARGO_TARGET_DIR:-$root/target}/debug/tradegraph" --bind "127.0.0.1:$port" --data-dir "$data/data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT

for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$port/health" >/dev/null; then break; fi
  sleep 0.1
done

node "$here/audit.mjs" "http://127.0.0.1:$port/graphql"
