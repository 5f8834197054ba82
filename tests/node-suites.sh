#!/usr/bin/env bash
# Every suite that needs Node.js or a browser, one after the other: the
# GraphQL-over-HTTP audit, the playground and dashboard in headless Chromium and the real
# client libraries. Each installs its pinned dependencies and starts its own
# fresh server(s).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

echo "== GraphQL-over-HTTP audit (graphql-http)"
"$here/conformance/run.sh"

echo "== GraphiQL playground and dashboard in headless Chromium"
"$here/browser/run.sh"

echo "== Client libraries (Apollo Client, urql, graphql-ws, codegen)"
"$here/clients/run.sh"
