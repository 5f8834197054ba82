#!/usr/bin/env bash
# Refreshes assets/graphiql/ from the versions pinned in package-lock.json:
# the published browser (UMD) builds of GraphiQL 4 and React 18 that
# tradegraph compiles into its binary, their licenses, and the notices of
# every package in the pinned tree (the GraphiQL bundle inlines its own
# dependencies). To move to other versions, edit package.json, run
# `npm install` here to update the lockfile, then run this script, and
# commit all of it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../assets/graphiql"
modules="$here/node_modules"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p "$out"
cp "$modules/graphiql/graphiql.min.js" "$modules/graphiql/graphiql.min.css" "$out/"
cp "$modules/react/umd/react.production.min.js" "$out/"
cp "$modules/react-dom/umd/react-dom.production.min.js" "$out/"
cp "$modules/graphiql/LICENSE" "$out/graphiql.LICENSE"
cp "$modules/react/LICENSE" "$out/react.LICENSE"
cp "$modules/react-dom/LICENSE" "$out/react-dom.LICENSE"
node "$here/notices.mjs" "$here" >"$out/THIRD-PARTY-NOTICES.txt"
echo "assets/graphiql updated:"
ls -l "$out"
