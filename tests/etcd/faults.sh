#!/usr/bin/env bash
# The fault drill of the etcd backend (issue 12, "Faults"). It starts a
# three-member etcd cluster on loopback and two servers on one key prefix,
# and has writers send `createShipment` under idempotency keys through both,
# each retrying the same key on the other server until it is acknowledged,
# while the etcd leader and later one server are SIGKILLed and restarted.
# It then finds every acknowledged shipment through both servers, gets the
# same shipment back for every key sent again to the other server, counts
# exactly one shipment per key, and runs `tradegraph check`. Last, it kills
# two of the three members: both servers must answer `/ready` with 503 and
# GraphQL with a fast 503 `UNAVAILABLE`, and recover by themselves once the
# members are back. It prints what it measured, and exits 1 at the first
# promise broken, keeping the logs.
#
# Runs alone or from tests/etcd.sh; builds the debug binary with
# `--features etcd` (in CARGO_TARGET_DIR, default target/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
# Ports of its own, so that it runs beside another cluster on the default
# ones (tests/etcd.sh keeps its single member up while this runs).
ETCD_PORT_BASE="${ETCD_PORT_BASE:-100}"
source "$here/cluster.sh"

# Eight writers, which go on until the faults are over and at least
# MIN_KEYS keys are acknowledged in all, or MORE_SECS more have passed.
N_WRITERS=8
MIN_KEYS=300
MORE_SECS=30
# How long one writer retries one key before the drill fails.
KEY_DEADLINE_SECS=60
# "Fast": the default --etcd-timeout-ms is 2000, so an answer without
# quorum should come in about 2 s; 5 s leaves room for a loaded machine.
FAST_SECS=5
# What each request selects of a shipment, compared field for field.
SHIPMENT_FIELDS='id reference version cargo note quantity { value unit } originProvince { code }'

work="$(mktemp -d /tmp/tradegraph-faults.XXXXXX)"
run="faults-$(date +%s)-$$"
prefix="$run/"
token="tg_$run"
token_hash="$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
SERVER_PORTS=()
SERVER_PIDS=()
WRITER_PIDS=()
SUBSCRIBER_PID=""

# Kills what this script started (cluster.sh's etcd_stop_all, chained in
# the one EXIT trap, stops the members); on failure keeps the logs.
faults_stop() {
  local status="$1" pid
  for pid in "${WRITER_PIDS[@]}" "${SERVER_PIDS[@]}"; do
    [ -n "$pid" ] && { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true
  done
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    cp "$ETCD_ROOT"/*.log "$work"/ 2>/dev/null || true
    echo "faults: logs and answers kept in $work" >&2
  fi
}
trap 'faults_stop $?; etcd_stop_all' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

now_ms() {
  local micros="${EPOCHREALTIME/./}"
  echo $((micros / 1000))
}

# Appends a line to the summary printed at the end, and prints it now.
figure() { echo "$*" | tee -a "$work/figures"; }

# The JSON work: building requests, reading answers, and the checks. Python,
# since jq may be missing; the HTTP is curl's.
read -r -d '' FAULTS_PY <<'PY' || true
import glob, json, os, sys

SHIPMENT_FIELDS = os.environ["SHIPMENT_FIELDS"]
# curl's exit codes for a server that is down or was killed mid-request.
NO_ANSWER = {"7": "connection refused", "52": "empty reply", "55": "send failed",
             "56": "connection reset"}


def codes(answer):
    return [error.get("extensions", {}).get("code") for error in answer.get("errors", [])]


def shipment_of(answer):
    return answer["data"]["createShipment"]["shipment"]


def writes(work, leader_down, leader_up, server_down, server_up):
    """Checks the writers' records; writes acked.json (key -> server, shipment)."""
    acks, problems = {}, []
    for path in sorted(glob.glob(f"{work}/acked.*")):
        for line in open(path):
            key, server, attempt, at, body = line.rstrip("\n").split("\t", 4)
            answer = json.loads(body)
            if "errors" in answer or shipment_of(answer)["note"] != key:
                problems.append(f"{key}: acknowledged with {body}")
                continue
            acks[key] = {"server": int(server), "attempts": int(attempt) + 1, "at": int(at),
                         "shipment": shipment_of(answer)}
    refusals, unexpected = {}, []
    for path in sorted(glob.glob(f"{work}/refused.*.tsv")):
        for line in open(path):
            key, server, attempt, at, rc, status, body = line.rstrip("\n").split("\t")
            if rc != "0":
                kind = f"curl exit {rc} ({NO_ANSWER.get(rc, 'timed out' if rc == '28' else 'failed')})"
                expected = rc in NO_ANSWER
            else:
                answer = json.load(open(body))
                found = codes(answer)
                kind = f"HTTP {status} {','.join(map(str, found)) or 'no code'}"
                expected = status == "503" and found and all(c == "UNAVAILABLE" for c in found)
            refusals[kind] = refusals.get(kind, 0) + 1
            if not expected:
                unexpected.append(f"{key} on server {server}, attempt {attempt}: {kind}: "
                                  + (open(body).read() if rc == "0" else "(no answer)"))
    ids = [ack["shipment"]["id"] for ack in acks.values()]
    references = [ack["shipment"]["reference"] for ack in acks.values()]
    if len(set(ids)) != len(ids) or len(set(references)) != len(references):
        problems.append("two keys were answered with the same shipment")
    json.dump(acks, open(f"{work}/acked.json", "w"))

    times = sorted(ack["at"] for ack in acks.values())
    during = lambda start, end: sum(start <= at <= end for at in times)
    # The longest wait for an acknowledgement in the 10 s after the kill.
    window = [leader_down] + [at for at in times if leader_down < at <= leader_down + 10_000]
    stall = max((later - earlier for earlier, later in zip(window, window[1:])), default=0)
    print(f"writes acknowledged: {len(acks)} keys, {sum(a['attempts'] > 1 for a in acks.values())} "
          f"of them after retries, {sum(a['attempts'] for a in acks.values())} attempts")
    print("refused attempts: " + (", ".join(f"{n} x {kind}" for kind, n in sorted(refusals.items())) or "none"))
    print(f"acknowledged while the etcd leader was down: {during(leader_down, leader_up)}; "
          f"longest pause between acknowledgements from the leader kill: {stall} ms")
    print(f"acknowledged while server 1 was down: {during(server_down, server_up)}")
    for line in problems + unexpected:
        print("  " + line, file=sys.stderr)
    return not problems and not unexpected


def resend_plan(work):
    """Each acknowledged key with the server that did not acknowledge it."""
    for key, ack in json.load(open(f"{work}/acked.json")).items():
        print(key, 1 - ack["server"])


def passed(problems):
    """Prints each problem found, and says whether there was none."""
    for line in problems:
        print("  " + line, file=sys.stderr)
    return not problems


def resends(work):
    acks, problems = json.load(open(f"{work}/acked.json")), []
    for key, ack in acks.items():
        status = open(f"{work}/resend/{key}.status").read().strip()
        if not status.startswith("200 "):
            problems.append(f"{key}: sent again, no answer: {status}")
            continue
        answer = json.load(open(f"{work}/resend/{key}.body"))
        if "errors" in answer or shipment_of(answer) != ack["shipment"]:
            problems.append(f"{key}: first {ack['shipment']}, sent again: {answer}")
    print(f"keys sent again to the other server: {len(acks)}, "
          f"answered with the first shipment: {len(acks) - len(problems)}")
    return passed(problems)


def nodes_requests(work):
    acks = json.load(open(f"{work}/acked.json"))
    ids = [ack["shipment"]["id"] for ack in acks.values()]
    query = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Shipment {{ {SHIPMENT_FIELDS} }} }} }}"
    for batch, start in enumerate(range(0, len(ids), 50)):
        with open(f"{work}/nodes/{batch}.request", "w") as request:
            json.dump({"query": query, "variables": {"ids": ids[start:start + 50]}}, request)


def nodes(work, server):
    by_id = {ack["shipment"]["id"]: ack["shipment"] for ack in json.load(open(f"{work}/acked.json")).values()}
    found, problems = 0, []
    for path in sorted(glob.glob(f"{work}/nodes/*.request")):
        asked = json.load(open(path))["variables"]["ids"]
        answer = json.load(open(path.replace(".request", f".server{server}")))
        if "errors" in answer:
            problems.append(f"{path}: {answer}")
            continue
        for id, node in zip(asked, answer["data"]["nodes"]):
            if node == by_id[id]:
                found += 1
            else:
                problems.append(f"{id}: acknowledged {by_id[id]}, read {node}")
    print(f"server {server} finds {found} of {len(by_id)} acknowledged shipments by id, unchanged")
    return passed(problems)


def page_request(after):
    query = ("query($after: String) { shipments(first: 100, after: $after) { totalCount "
             "pageInfo { hasNextPage endCursor } nodes { id note } } }")
    print(json.dumps({"query": query, "variables": {"after": after or None}}))


def page_next(path):
    """The cursor of the next page, or nothing after the last."""
    page = json.load(open(path))["data"]["shipments"]["pageInfo"]
    print(page["endCursor"] if page["hasNextPage"] else "")


def listing(work, server, run, before):
    """Every shipment of the prefix, listed through SERVER: exactly one per key."""
    acks, rows, total = json.load(open(f"{work}/acked.json")), [], None
    for path in sorted(glob.glob(f"{work}/pages/server{server}.*"), key=lambda p: int(p.rsplit(".", 1)[1])):
        shipments = json.load(open(path))["data"]["shipments"]
        total = shipments["totalCount"]
        rows += shipments["nodes"]
    ours = [row["note"] for row in rows if (row["note"] or "").startswith(run + "-w")]
    problems = []
    if len(rows) != total:
        problems.append(f"the pages list {len(rows)} shipments, totalCount says {total}")
    if total - before != len(acks):
        problems.append(f"totalCount went from {before} to {total}, for {len(acks)} keys")
    if sorted(ours) != sorted(acks):
        doubled = sorted({note for note in ours if ours.count(note) > 1})
        missing = sorted(set(acks) - set(ours))
        stray = sorted(set(ours) - set(acks))
        problems.append(f"duplicated {doubled[:10]}, missing {missing[:10]}, not acknowledged {stray[:10]}")
    print(f"server {server} lists {len(rows)} shipments (totalCount {before} before the writers, "
          f"{total} after): {len(ours)} from the writers, for {len(acks)} keys")
    return passed(problems)


def subscribe(work, url):
    """Follows shipmentEvents on the server at URL over WebSocket
    (graphql-transport-ws, by hand: no client library is needed), writing
    each event to events.jsonl, until the file stop-events appears."""
    import base64, select, socket, struct
    host, port = url.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)))

    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise SystemExit("the server closed the subscription")
            data += chunk
        return data

    def send(opcode, data):
        mask = os.urandom(4)
        length = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(data))
        sock.sendall(bytes([0x80 | opcode]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def frame():
        first, second = exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", exactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", exactly(8))[0]
        return first & 0x0F, exactly(length)

    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += exactly(1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise SystemExit(f"no WebSocket upgrade: {head!r}")
    send(1, json.dumps({"type": "connection_init", "payload": {}}).encode())
    send(1, json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { shipmentEvents { kind sequence shipment { note } } }"}}).encode())
    with open(f"{work}/events.jsonl", "w") as out:
        while not os.path.exists(f"{work}/stop-events"):
            if not select.select([sock], [], [], 0.5)[0]:
                continue
            opcode, data = frame()
            if opcode == 9:
                send(10, data)
            elif opcode == 8:
                raise SystemExit(f"the server closed the subscription: {data!r}")
            elif opcode == 1:
                message = json.loads(data)
                if message["type"] == "ping":
                    send(1, json.dumps({"type": "pong"}).encode())
                elif message["type"] == "next":
                    if "errors" in message["payload"]:
                        raise SystemExit(f"the subscription failed: {message}")
                    event = message["payload"]["data"]["shipmentEvents"]
                    out.write(json.dumps({"kind": event["kind"], "sequence": event["sequence"],
                                          "note": event["shipment"]["note"]}) + "\n")
                    out.flush()
                elif message["type"] != "connection_ack":
                    raise SystemExit(f"unexpected message: {message}")


def events(work):
    """Checks the subscriber's events against the acknowledged keys: one
    CREATED event for each, none else, with sequences one after another."""
    acks = json.load(open(f"{work}/acked.json"))
    seen = [json.loads(line) for line in open(f"{work}/events.jsonl")]
    problems = []
    sequences = [event["sequence"] for event in seen]
    gaps = [(a, b) for a, b in zip(sequences, sequences[1:]) if b != a + 1]
    if gaps:
        problems.append(f"sequences not one after another: {gaps[:10]}")
    notes = [event["note"] for event in seen if event["kind"] == "CREATED"]
    if sorted(notes) != sorted(acks) or len(notes) != len(seen):
        doubled = sorted({note for note in notes if notes.count(note) > 1})
        missing = sorted(set(acks) - set(notes))
        other = [event for event in seen if event["kind"] != "CREATED" or event["note"] not in acks]
        problems.append(f"events twice {doubled[:10]}, missing {missing[:10]}, not of a key {other[:10]}")
    span = f"sequences {sequences[0]} to {sequences[-1]}" if sequences else "none"
    print(f"server 0's subscriber: {len(seen)} events ({span}) for {len(acks)} keys, "
          f"across the leader kill and server 1's")
    return passed(problems)


def field(path, dotted):
    value = json.load(open(path))
    for name in dotted.split("."):
        value = value[name]
    print(value)


def codes_of(path):
    print(",".join(map(str, codes(json.load(open(path))))) or "none")


verb, args = sys.argv[1], sys.argv[2:]
numbers = lambda values: [int(value) for value in values]
ok = {
    "writes": lambda: writes(args[0], *numbers(args[1:])),
    "resend-plan": lambda: resend_plan(args[0]),
    "resends": lambda: resends(args[0]),
    "nodes-requests": lambda: nodes_requests(args[0]),
    "nodes": lambda: nodes(args[0], int(args[1])),
    "page-request": lambda: page_request(args[0] if args else ""),
    "page-next": lambda: page_next(args[0]),
    "listing": lambda: listing(args[0], int(args[1]), args[2], int(args[3])),
    "field": lambda: field(args[0], args[1]),
    "subscribe": lambda: subscribe(args[0], args[1]),
    "events": lambda: events(args[0]),
    "count-acked": lambda: print(len(json.load(open(f"{args[0]}/acked.json")))),
    "codes": lambda: codes_of(args[0]),
}[verb]()
sys.exit(0 if ok is None or ok else 1)
PY
export SHIPMENT_FIELDS
py() { python3 -c "$FAULTS_PY" "$@"; }

server_url() { echo "http://127.0.0.1:${SERVER_PORTS[$1]}"; }

server_start() {
  local index="$1"
  "$binary" --bind "127.0.0.1:${SERVER_PORTS[$index]}" \
    --etcd "$ETCD_URLS" --etcd-prefix "$prefix" --write-token-hash "$token_hash" \
    >>"$work/server$index.log" 2>&1 &
  SERVER_PIDS[$index]=$!
}

server_kill() {
  kill -9 "${SERVER_PIDS[$1]}" 2>/dev/null || true
  wait "${SERVER_PIDS[$1]}" 2>/dev/null || true
  SERVER_PIDS[$1]=""
}

# The status of server INDEX's /ready, 000 when it does not answer.
ready_status() {
  curl -sS -m 10 -o /dev/null -w '%{http_code}' "$(server_url "$1")/ready" 2>/dev/null || true
}

# Waits until server INDEX's /ready answers STATUS; fails after SECS.
wait_ready_status() {
  local index="$1" status="$2" secs="$3" deadline=$((SECONDS + $3))
  until [ "$(ready_status "$index")" = "$status" ]; do
    if [ -n "${SERVER_PIDS[$index]}" ] && ! kill -0 "${SERVER_PIDS[$index]}" 2>/dev/null; then
      tail -20 "$work/server$index.log" >&2
      fail "server $index exited"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "server $index's /ready did not answer $status within $secs s"
    sleep 0.1
  done
}

# POSTs the request in file REQUEST to server INDEX; the answer goes to file
# BODY, and "STATUS SECONDS" to standard output. Returns curl's exit code.
graphql_post() {
  local index="$1" request="$2" body="$3"
  curl -sS -m 15 -o "$body" -w '%{http_code} %{time_total}' \
    -H 'content-type: application/json' -H "authorization: Bearer $token" \
    --data-binary "@$request" "$(server_url "$index")/graphql" 2>/dev/null
}

# The createShipment request for KEY (letters, digits and hyphens, so
# nothing to escape). Built by printf, not Python: the writers make one per
# key, and a Python start per key slowed them down markedly on a busy
# 2-core machine.
create_request() {
  printf '{"query":"mutation($input: CreateShipmentInput!, $key: String!) { createShipment(input: $input, idempotencyKey: $key) { shipment { %s } } }","variables":{"key":"%s","input":{"cargo":"fault drill cargo","originProvince":"Jiangsu","quantity":{"value":"3","unit":"containers"},"note":"%s"}}}\n' \
    "$SHIPMENT_FIELDS" "$1" "$1"
}

# Writer WRITER: sends keys "$run-wWRITER-N", N = 0, 1, ..., until the stop
# file appears, each retried on the other server until it is acknowledged.
# Acknowledgements go to acked.WRITER, refused attempts to refused.WRITER.tsv.
writer() {
  local writer="$1" n=0 attempt key server answer rc started
  local request="$work/writer$writer.request" body
  while [ ! -e "$work/stop" ]; do
    key="$run-w$writer-$n"
    create_request "$key" >"$request"
    attempt=0
    started=$SECONDS
    while :; do
      server=$(((writer + n + attempt) % 2))
      body="$work/answers/$key.$attempt"
      rc=0
      answer="$(graphql_post "$server" "$request" "$body")" || rc=$?
      if [ "$rc" -eq 0 ] && [ "${answer%% *}" = 200 ] && ! grep -q '"errors"' "$body"; then
        printf '%s\t%s\t%s\t%s\t%s\n' "$key" "$server" "$attempt" "$(now_ms)" \
          "$(tr -d '\n' <"$body")" >>"$work/acked.$writer"
        rm -f "$body"
        break
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$server" "$attempt" "$(now_ms)" "$rc" \
        "${answer%% *}" "$body" >>"$work/refused.$writer.tsv"
      if [ $((SECONDS - started)) -ge "$KEY_DEADLINE_SECS" ]; then
        echo "$key" >>"$work/gave-up"
        break
      fi
      attempt=$((attempt + 1))
      sleep 0.2
    done
    n=$((n + 1))
  done
}

# Sends each acknowledged key again, to the server that did not acknowledge
# it, from N_WRITERS senders at once; answers go to resend/KEY.*.
resend_all() {
  local sender pids=()
  py resend-plan "$work" >"$work/resend-plan"
  for ((sender = 0; sender < N_WRITERS; sender++)); do
    (
      line=0
      while read -r key server; do
        if [ $((line % N_WRITERS)) -eq "$sender" ]; then
          create_request "$key" >"$work/resend/$key.request"
          graphql_post "$server" "$work/resend/$key.request" "$work/resend/$key.body" \
            >"$work/resend/$key.status" || echo "000 curl exit $?" >"$work/resend/$key.status"
        fi
        line=$((line + 1))
      done <"$work/resend-plan"
    ) &
    pids+=($!)
  done
  # By id: a bare `wait` would wait for the servers too.
  for sender in "${pids[@]}"; do
    wait "$sender" || fail "a sender stopped with an error"
  done
}

# Waits until both servers' /ready answer STATUS, within SECS, polling both
# at once; writes each one's wait, in ms since SINCE, to file NAME.INDEX.
wait_both_ready_status() {
  local status="$1" secs="$2" since="$3" name="$4" index pids=()
  for index in 0 1; do
    (
      wait_ready_status "$index" "$status" "$secs"
      echo $(($(now_ms) - since)) >"$work/$name.$index"
    ) &
    pids+=($!)
  done
  for index in 0 1; do
    wait "${pids[$index]}" || fail "server $index's /ready did not answer $status within $secs s"
  done
}

# Lists every shipment of the prefix through server INDEX, a page per file.
list_all() {
  local index="$1" page=0 after=""
  while :; do
    py page-request "$after" >"$work/pages/request"
    graphql_post "$index" "$work/pages/request" "$work/pages/server$index.$page" >/dev/null \
      || fail "listing through server $index: curl exit $?"
    after="$(py page-next "$work/pages/server$index.$page")"
    [ -n "$after" ] || return 0
    page=$((page + 1))
  done
}

# The number of shipments server INDEX counts.
shipment_count() {
  echo '{"query":"{ shipments { totalCount } }"}' >"$work/count.request"
  graphql_post "$1" "$work/count.request" "$work/count.body" >/dev/null \
    || fail "counting through server $1: curl exit $?"
  py field "$work/count.body" data.shipments.totalCount
}

mkdir -p "$work/answers" "$work/resend" "$work/nodes" "$work/pages"

echo "== etcd and protoc"
etcd_install

echo "== cargo build --features etcd --bin tradegraph"
cargo build --locked --features etcd --bin tradegraph
binary="${CARGO_TARGET_DIR:-target}/debug/tradegraph"

echo "== a three-member etcd cluster and two servers on prefix $prefix"
etcd_start_cluster faults 3
echo "members at $ETCD_URLS"
read -r port0 port1 < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')
SERVER_PORTS=("$port0" "$port1")
started=$(now_ms)
server_start 0
server_start 1
wait_ready_status 0 200 60
wait_ready_status 1 200 60
figure "servers ready (one seeding, one waiting on the lock): $(($(now_ms) - started)) ms"
count_before="$(shipment_count 0)"

echo "== a subscriber on server 0; $N_WRITERS writers through both servers; the leader, then server 1, SIGKILLed"
py subscribe "$work" "$(server_url 0)" 2>"$work/subscriber.log" &
SUBSCRIBER_PID=$!
WRITER_PIDS+=("$SUBSCRIBER_PID")
sleep 1
for ((writer_index = 0; writer_index < N_WRITERS; writer_index++)); do
  writer "$writer_index" &
  WRITER_PIDS+=($!)
done
sleep 3

leader="$(etcd_leader)" || fail "no etcd member leads"
leader_down=$(now_ms)
etcd_kill "$leader"
echo "killed member $leader, the leader"
until new_leader="$(etcd_leader)"; do
  [ $(($(now_ms) - leader_down)) -lt 20000 ] || fail "no new leader 20 s after the leader was killed"
  sleep 0.1
done
figure "leader kill: member $new_leader leads $(($(now_ms) - leader_down)) ms after member $leader was SIGKILLed"
sleep 4
etcd_restart "$leader"
etcd_wait_healthy
leader_up=$(now_ms)
echo "member $leader back after $((leader_up - leader_down)) ms"
sleep 3

server_down=$(now_ms)
server_kill 1
echo "killed server 1"
sleep 2
server_start 1
wait_ready_status 1 200 60
server_up=$(now_ms)
figure "server 1 SIGKILLed, restarted and ready again after $((server_up - server_down)) ms"
deadline=$((SECONDS + MORE_SECS))
while [ "$(cat "$work"/acked.* | wc -l)" -lt "$MIN_KEYS" ] && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 0.5
done
touch "$work/stop"
for pid in "${WRITER_PIDS[@]}"; do
  [ "$pid" = "$SUBSCRIBER_PID" ] || wait "$pid" || fail "a writer stopped with an error"
done
[ ! -e "$work/gave-up" ] || fail "writers gave up on keys after $KEY_DEADLINE_SECS s: $(cat "$work/gave-up")"

echo "== every acknowledged write, through both servers"
py writes "$work" "$leader_down" "$leader_up" "$server_down" "$server_up" | tee -a "$work/figures" \
  || fail "the writers were refused in ways the servers promise not to, or answered wrongly (above)"
resend_all
py resends "$work" | tee -a "$work/figures" \
  || fail "a key sent again to the other server did not return its first shipment (above)"
# Every event is published within moments of its write; then the
# subscriber stops.
deadline=$((SECONDS + 15))
until [ "$(wc -l <"$work/events.jsonl")" -ge "$(py count-acked "$work")" ] || [ "$SECONDS" -ge "$deadline" ]; do
  sleep 0.5
done
touch "$work/stop-events"
wait "$SUBSCRIBER_PID" || fail "the subscriber failed: $(cat "$work/subscriber.log")"
WRITER_PIDS=()
py events "$work" | tee -a "$work/figures" \
  || fail "the subscriber on server 0 did not get each write's event once, in order (above)"
py nodes-requests "$work"
for index in 0 1; do
  for request in "$work"/nodes/*.request; do
    graphql_post "$index" "$request" "${request%.request}.server$index" >/dev/null \
      || fail "reading shipments through server $index: curl exit $?"
  done
  py nodes "$work" "$index" | tee -a "$work/figures" \
    || fail "server $index lost or changed acknowledged shipments (above)"
  list_all "$index"
  py listing "$work" "$index" "$run" "$count_before" | tee -a "$work/figures" \
    || fail "server $index does not list exactly one shipment per key (above)"
done

echo "== tradegraph check"
"$binary" check --etcd "$ETCD_URLS" --etcd-prefix "$prefix" | tee "$work/check.log" \
  || fail "tradegraph check found the cluster's data inconsistent"
figure "tradegraph check: exit 0, $(tail -1 "$work/check.log")"

echo "== quorum loss: two of the three members SIGKILLed"
count_before="$(shipment_count 0)"
create_request "$run-quorum" >"$work/quorum-create.request"
echo '{"query":"{ shipments(first: 1) { totalCount nodes { id } } }"}' >"$work/quorum-query.request"
leader="$(etcd_leader)" || fail "no etcd member leads"
follower=$(((leader + 1) % 3))
quorum_down=$(now_ms)
etcd_kill "$leader"
etcd_kill "$follower"
echo "killed members $leader (the leader) and $follower"
wait_both_ready_status 503 20 "$quorum_down" first-503
figure "time to the first /ready 503: server 0 $(cat "$work/first-503.0") ms, server 1 $(cat "$work/first-503.1") ms"
for index in 0 1; do
  for kind in query create; do
    answer="$(graphql_post "$index" "$work/quorum-$kind.request" "$work/quorum-$kind.$index")" \
      || fail "a $kind without quorum on server $index: curl exit $? (no answer within 15 s)"
    read -r status seconds <<<"$answer"
    code="$(py codes "$work/quorum-$kind.$index")"
    figure "without quorum, a $kind on server $index: HTTP $status $code in $seconds s"
    [ "$status" = 503 ] && [ "$code" = UNAVAILABLE ] \
      || fail "a $kind without quorum must answer 503 UNAVAILABLE: $(cat "$work/quorum-$kind.$index")"
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < $FAST_SECS else 1)" "$seconds" \
      || fail "a $kind without quorum took $seconds s, over $FAST_SECS s"
  done
done

echo "== the members back: the servers recover by themselves"
etcd_restart "$leader"
etcd_restart "$follower"
quorum_up=$(now_ms)
wait_both_ready_status 200 60 "$quorum_up" ready-again
# The mutation refused without quorum, sent again under its key until it
# succeeds; each refusal is named in the summary.
deadline=$((SECONDS + 30))
refusals=""
until answer="$(graphql_post 0 "$work/quorum-create.request" "$work/quorum-create.again")" \
  && [ "${answer%% *}" = 200 ] && [ "$(py codes "$work/quorum-create.again")" = none ]; do
  refusals+=" ${answer%% *}:$(py codes "$work/quorum-create.again" 2>/dev/null || echo 'no answer')"
  [ "$SECONDS" -lt "$deadline" ] || fail "no mutation succeeds 30 s after the members came back: $(cat "$work/quorum-create.again")"
  sleep 0.2
done
mutation_again=$(($(now_ms) - quorum_up))
figure "recovery: /ready 200 again after server 0 $(cat "$work/ready-again.0") ms, server 1 $(cat "$work/ready-again.1") ms; a mutation succeeds after $mutation_again ms (refused before:${refusals:- none})"
for index in 0 1; do
  count_after="$(shipment_count "$index")"
  # The refused mutation and its resend under the same key made one shipment.
  [ "$count_after" -eq $((count_before + 1)) ] \
    || fail "server $index counts $count_after shipments, expected $((count_before + 1))"
done

# A panic inside a request is answered as INTERNAL and would show above;
# one on a background task (the watch, the lease keeper) only in the log.
! grep -n panicked "$work"/server*.log || fail "a server panicked (above)"

echo "== summary"
cat "$work/figures"
