# Sourced by the etcd suites: installs etcd and protoc when missing, and
# starts etcd members on loopback ports, each in a data directory of its
# own, stopped when the sourcing script exits.
#
#   etcd_install               apt-get installs etcd-server, protobuf-compiler
#                              and libprotobuf-dev (protoc's imports)
#   etcd_start_single NAME     one member; sets ETCD_URLS
#   etcd_start_cluster NAME N  N members; sets ETCD_URLS and ETCD_PIDS
#   etcd_kill INDEX            SIGKILLs member INDEX (from 0)
#   etcd_restart INDEX         starts member INDEX again, on its data
#   etcd_leader                the index of the member that leads
#   etcd_start_secure          one member on TLS with client certificates and
#                              users (root, password in ETCD_SECURE_PASSWORD);
#                              sets ETCD_SECURE_URL and ETCD_SECURE_DIR (its
#                              ca.pem, client.pem, client-key.pem)
#
# Ports: client 23790 + 10 * INDEX, peer 23791 + 10 * INDEX, shifted by
# ETCD_PORT_BASE (default 0) so that two clusters can run at once.

etcd_install() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v protoc >/dev/null || missing+=(protobuf-compiler)
  # protoc's own imports (google/protobuf/*.proto), which etcd-client's
  # protos use: only recommended by protobuf-compiler, so asked for.
  [ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
  # For the certificates of etcd_start_secure.
  command -v openssl >/dev/null || missing+=(openssl)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}"
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/etcd-apt.log 2>&1; then
      apt-get update >>/tmp/etcd-apt.log 2>&1
      apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/etcd-apt.log 2>&1 \
        || { cat /tmp/etcd-apt.log; return 1; }
    fi
  fi
  # Debian installs etcd as a service and starts it on 2379: the suites
  # use their own ports and members, so that one is left alone.
  # sed, not head: head would leave etcd writing to a closed pipe, and
  # with pipefail its SIGPIPE fails the script.
  etcd --version | sed -n 1p
}

ETCD_ROOT="$(mktemp -d /tmp/tradegraph-etcd.XXXXXX)"
ETCD_PIDS=()
ETCD_NAMES=()
ETCD_CLUSTER=""
ETCD_STATE="new"

etcd_stop_all() {
  for pid in "${ETCD_PIDS[@]}"; do
    [ -n "$pid" ] && { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true
  done
  rm -rf "$ETCD_ROOT"
}
trap etcd_stop_all EXIT

etcd_port() { echo $((23790 + ${ETCD_PORT_BASE:-0} + 10 * $1 + $2)); }

# Starts member INDEX of the cluster described by ETCD_CLUSTER.
etcd_run_member() {
  local index="$1" name="${ETCD_NAMES[$1]}"
  local client peer
  client="http://127.0.0.1:$(etcd_port "$index" 0)"
  peer="http://127.0.0.1:$(etcd_port "$index" 1)"
  etcd --name "$name" --data-dir "$ETCD_ROOT/$name" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state "$ETCD_STATE" \
    --initial-cluster-token "$ETCD_ROOT" \
    --auto-compaction-mode revision --auto-compaction-retention 100000 \
    --quota-backend-bytes $((2 * 1024 * 1024 * 1024)) \
    --heartbeat-interval 100 --election-timeout 1000 \
    --logger zap --log-level error >"$ETCD_ROOT/$name.log" 2>&1 &
  ETCD_PIDS[$index]=$!
}

# Waits until every member of ETCD_URLS answers its health check; curl
# takes the arguments given (TLS files).
etcd_wait_healthy() {
  local deadline=$((SECONDS + 30)) url
  for url in ${ETCD_URLS//,/ }; do
    until curl -fsS "$@" "$url/health" 2>/dev/null | grep -q '"health":"true"'; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "etcd at $url is not healthy after 30 s:" >&2
        tail -20 "$ETCD_ROOT"/*.log >&2
        return 1
      fi
      sleep 0.2
    done
  done
}

etcd_start_cluster() {
  local name="$1" n="$2" index urls=()
  ETCD_CLUSTER=""
  for ((index = 0; index < n; index++)); do
    ETCD_NAMES[$index]="$name$index"
    ETCD_CLUSTER+="${ETCD_CLUSTER:+,}$name$index=http://127.0.0.1:$(etcd_port "$index" 1)"
    urls+=("http://127.0.0.1:$(etcd_port "$index" 0)")
  done
  ETCD_URLS="$(IFS=,; echo "${urls[*]}")"
  for ((index = 0; index < n; index++)); do
    etcd_run_member "$index"
  done
  etcd_wait_healthy
  ETCD_STATE="existing"
}

etcd_start_single() { etcd_start_cluster "$1" 1; }

etcd_kill() {
  kill -9 "${ETCD_PIDS[$1]}" 2>/dev/null || true
  wait "${ETCD_PIDS[$1]}" 2>/dev/null || true
  ETCD_PIDS[$1]=""
}

etcd_restart() { etcd_run_member "$1"; }

# The index of the member that leads, from each member's status (etcd's
# JSON gateway, so that no etcdctl is needed).
etcd_leader() {
  local index status
  for index in "${!ETCD_NAMES[@]}"; do
    [ -n "${ETCD_PIDS[$index]}" ] || continue
    status="$(curl -fsS -m 2 -X POST "http://127.0.0.1:$(etcd_port "$index" 0)/v3/maintenance/status" -d '{}' 2>/dev/null)" || continue
    local member leader
    member="$(sed -n 's/.*"member_id":"\([0-9]*\)".*/\1/p' <<<"$status")"
    leader="$(sed -n 's/.*"leader":"\([0-9]*\)".*/\1/p' <<<"$status")"
    if [ -n "$member" ] && [ "$member" = "$leader" ]; then
      echo "$index"
      return 0
    fi
  done
  return 1
}

# A certificate signed by the test CA in $1: name $2, for $3 (serverAuth or
# clientAuth), with the subject alternative names $4.
etcd_certificate() {
  local dir="$1" name="$2" usage="$3" names="$4"
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" \
    -subj "/CN=tradegraph-test-$name" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$names" "$usage" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
}

# One member that takes clients only over TLS, with a certificate the test
# CA signed, and with authentication on: user root, role root.
etcd_start_secure() {
  local index=9 dir="$ETCD_ROOT/secure-tls" client peer
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
    -days 2 -subj "/CN=tradegraph-test-ca" 2>/dev/null
  # etcd's JSON gateway connects to the member with the server's own
  # certificate, so it serves clients too.
  etcd_certificate "$dir" server serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
  etcd_certificate "$dir" client clientAuth "DNS:tradegraph-client"
  client="https://127.0.0.1:$(etcd_port "$index" 0)"
  peer="http://127.0.0.1:$(etcd_port "$index" 1)"
  etcd --name secure --data-dir "$ETCD_ROOT/secure" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "secure=$peer" --initial-cluster-state new \
    --cert-file "$dir/server.pem" --key-file "$dir/server-key.pem" \
    --trusted-ca-file "$dir/ca.pem" --client-cert-auth \
    --logger zap --log-level error >"$ETCD_ROOT/secure.log" 2>&1 &
  ETCD_PIDS[$index]=$!
  ETCD_SECURE_URL="$client"
  ETCD_SECURE_DIR="$dir"
  ETCD_SECURE_PASSWORD="root-$RANDOM$RANDOM"
  local tls=(--cacert "$dir/ca.pem" --cert "$dir/client.pem" --key "$dir/client-key.pem")
  ETCD_URLS="$client" etcd_wait_healthy "${tls[@]}"
  # Authentication through the JSON gateway, so that no etcdctl is needed.
  local call
  for call in \
    'role/add {"name":"root"}' \
    "user/add {\"name\":\"root\",\"password\":\"$ETCD_SECURE_PASSWORD\"}" \
    'user/grant {"user":"root","role":"root"}' \
    'enable {}'; do
    curl -fsS "${tls[@]}" -X POST "$client/v3/auth/${call%% *}" -d "${call#* }" >/dev/null
  done
}
