#!/usr/bin/env bash
# The cluster suites: installs etcd and protoc when missing (Debian
# packages), runs clippy and the unit tests with `--features etcd` against
# a single-member cluster it starts (the backend contract among them) and a
# member on TLS with client certificates and a password, and then the whole
# API suite a second time on etcd, one key prefix per test, and last the
# fault drill on a three-member cluster of its own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
source "$here/etcd/cluster.sh"

echo "== etcd and protoc"
etcd_install

echo "== cargo clippy --features etcd"
cargo clippy --all-targets --locked --features etcd -- -D warnings

echo "== a single-member etcd cluster"
etcd_start_single single
echo "members at $ETCD_URLS"
export TRADEGRAPH_TEST_ETCD="$ETCD_URLS"

echo "== a member on TLS with client certificates and users (a test CA, user root)"
etcd_start_secure
echo "member at $ETCD_SECURE_URL"
export TRADEGRAPH_TEST_ETCD_SECURE="$ETCD_SECURE_URL"
export TRADEGRAPH_TEST_ETCD_SECURE_DIR="$ETCD_SECURE_DIR"
export TRADEGRAPH_TEST_ETCD_SECURE_PASSWORD="$ETCD_SECURE_PASSWORD"

echo "== cargo test --features etcd (the library, on sled and etcd)"
cargo test --locked --features etcd --lib

echo "== the API suite on etcd (TRADEGRAPH_TEST_BACKEND=etcd, one key prefix per test)"
TRADEGRAPH_TEST_BACKEND=etcd cargo test --locked --features etcd --test api

echo "== the fault drill (tests/etcd/faults.sh: a three-member cluster, two servers, SIGKILLs, quorum loss)"
"$here/etcd/faults.sh"
