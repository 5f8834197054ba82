#!/usr/bin/env bash
# Runs real GraphQL clients unchanged against real tradegraph servers:
# Apollo Client, urql, graphql-ws, GraphQL Code Generator with `tsc
# --noEmit`, and graphql-js validation of examples/operations (versions
# pinned in package-lock.json), then the schema-compatibility check's own
# tests. Each test file starts its own debug server on a free port over a
# fresh temporary database (server.mjs), so exact figures hold in any order.
# Needs Node.js 20+ and npm; builds the server if needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$root" && cargo build --quiet --locked --bin tradegraph)

export TRADEGRAPH_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/tradegraph"
cd "$here"
node --test --test-reporter=spec ./*.test.mjs
