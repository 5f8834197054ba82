#!/usr/bin/env bash
# Runs the GraphiQL playground (playground.test.mjs) and the dashboard
# (dashboard.test.mjs) in headless Chromium against a freshly seeded
# tradegraph server; offline.mjs is what they share. Chromium is Debian's `chromium`
# package, installed here when missing (needs root, as on CI);
# `playwright-core` is pinned in package-lock.json and downloads no browser.
# Needs Node.js and npm; builds the server if needed. Screenshots go to
# tests/browser/screenshots/ (playground.png, dashboard*.png).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

# Chromium, and a font for the Chinese names in the screenshot.
packages=(chromium fonts-wqy-microhei)
if [ ! -x "$CHROMIUM" ] || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
  echo "installing Debian packages: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${packages[@]}" \
    || { apt-get update && apt-get install -y --no-install-recommends "${packages[@]}"; }
fi
# Debian's wrapper script prints a harmless shell complaint on stderr.
"$CHROMIUM" --version 2>/dev/null

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$root" && cargo build --quiet --bin tradegraph)

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# A write token for this run only, so the tests can create shipments and see
# their subscriptions deliver the events.
token="tg_browser_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
hash="$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
"${CARGO_TARGET_DIR:-$root/target}/debug/tradegraph" --bind "127.0.0.1:$port" --data-dir "$data/data" \
  --write-token-hash "$hash" >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT

for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$port/ready" >/dev/null; then break; fi
  sleep 0.1
done

TRADEGRAPH_URL="http://127.0.0.1:$port" TRADEGRAPH_WRITE_TOKEN="$token" \
  node --test --test-concurrency=1 --test-reporter=spec \
  "$here/playground.test.mjs" "$here/dashboard.test.mjs"
