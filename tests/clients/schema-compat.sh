#!/usr/bin/env bash
# Fails when schema.graphql at HEAD breaks clients of the version at HEAD~1
# (the previous commit of main): GraphQL Inspector's diff, pinned in
# package-lock.json, through schema-compat.mjs, which allows removing only
# what the previous version had already marked @deprecated(reason: ...).
#
# Usage: tests/clients/schema-compat.sh [REPO_DIR]   (default: this repository)
# Passes, saying why, when there is nothing to compare with: no previous
# commit, a shallow clone without it, or no schema.graphql there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "${1:-$here/../..}" && git rev-parse --show-toplevel)"

if [ ! -d "$here/node_modules/@graphql-inspector/core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! git -C "$repo" cat-file -e HEAD:schema.graphql 2>/dev/null; then
  echo "schema compatibility: HEAD has no schema.graphql; nothing to check"
  exit 0
fi
if ! git -C "$repo" rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; then
  if [ "$(git -C "$repo" rev-parse --is-shallow-repository)" = "true" ]; then
    echo "schema compatibility: SKIPPED, this is a shallow clone without HEAD~1 (fetch with --depth=2 or more to check)"
  else
    echo "schema compatibility: HEAD is the first commit; nothing to compare with"
  fi
  exit 0
fi
if ! git -C "$repo" cat-file -e 'HEAD~1:schema.graphql' 2>/dev/null; then
  echo "schema compatibility: HEAD~1 has no schema.graphql; nothing to compare with"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$repo" show 'HEAD~1:schema.graphql' >"$work/old.graphql"
git -C "$repo" show 'HEAD:schema.graphql' >"$work/new.graphql"
echo "schema compatibility: $(git -C "$repo" rev-parse --short HEAD~1) -> $(git -C "$repo" rev-parse --short HEAD)"
node "$here/schema-compat.mjs" "$work/old.graphql" "$work/new.graphql"
