#!/usr/bin/env bash
# Seeds a database of N synthetic shipments, exports it, starts tradegraph
# on the database and the peer on the export, runs check.mjs against both,
# and stops the two servers. Run from anywhere; see README.md.
#
#   benches/peer/check.sh                 # 10,000 shipments, target/debug binaries
#   N=1000 BIN=target/release benches/peer/check.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
N="${N:-10000}"
BIN="${BIN:-$repo/target/debug}"
TRADEGRAPH_PORT="${TRADEGRAPH_PORT:-18301}"
PEER_PORT="${PEER_PORT:-18302}"
work="$(mktemp -d "${TMPDIR:-/tmp}/tradegraph-peer.XXXXXX")"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() {
  local url="$1" log="$2"
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$url" && return 0
    sleep 0.2
  done
  echo "no answer from $url; its log:" >&2
  cat "$log" >&2
  return 1
}

for binary in seed tradegraph; do
  if [ ! -x "$BIN/$binary" ]; then
    echo "no $BIN/$binary: build it (cargo build --bins) or pass BIN=<dir of the binaries>" >&2
    exit 2
  fi
done
[ -d "$here/node_modules" ] || (cd "$here" && npm ci --no-audit --no-fund)

echo "seeding $N synthetic shipments in $work/db"
"$BIN/seed" --data-dir "$work/db" --synthetic-shipments "$N" >"$work/seed.log" 2>&1 ||
  { cat "$work/seed.log" >&2; exit 1; }
"$BIN/tradegraph" export --data-dir "$work/db" >"$work/export.jsonl" 2>"$work/export.log" ||
  { cat "$work/export.log" >&2; exit 1; }

"$BIN/tradegraph" --data-dir "$work/db" --bind "127.0.0.1:$TRADEGRAPH_PORT" \
  --cost-budget-per-minute 0 >"$work/tradegraph.log" 2>&1 &
pids+=("$!")
node "$here/server.mjs" --export "$work/export.jsonl" --port "$PEER_PORT" >"$work/peer.log" 2>&1 &
pids+=("$!")
wait_for "http://127.0.0.1:$TRADEGRAPH_PORT/health" "$work/tradegraph.log"
wait_for "http://127.0.0.1:$PEER_PORT/health" "$work/peer.log"

node "$here/check.mjs" --tradegraph "http://127.0.0.1:$TRADEGRAPH_PORT" --peer "http://127.0.0.1:$PEER_PORT"
