#!/usr/bin/env python3
"""The attack benchmark: a victim's latency under the costliest requests the limits allow.

    python3 benches/attack.py                     # 200,000 and 1,000,000 shipments (about 5 minutes)
    python3 benches/attack.py --quick             # 20,000 shipments, short runs, to try it out
    python3 benches/attack.py --benchmarks BENCHMARKS.md   # also put the report there

It builds the release server (`cargo build --release --bins`, unless
--skip-build; binaries in --target-dir, default $CARGO_TARGET_DIR or target),
seeds a database of each --sizes synthetic shipments once (kept for later runs
while the `seed` binary is the same), and starts `tradegraph` on it with its
default flags, pinned to core 0 as benches/load.py pins it. Then, per size:

  probe     from 127.0.0.3, so that no per-client budget of the victim or of
            the attackers pays for it: candidate requests of each kind below,
            each sent once; the server's `extensions.cost` of an answer, or a
            refusal's code and estimate, picks the largest sizes accepted
            (nothing is taken from the cost rules, which change);
  alone     the victim alone for --alone seconds: one HTTP/1.1 keep-alive
            connection from 127.0.0.2, one request at a time, asking for one
            province, every answer checked against the first;
  attack    wrk (8 connections, one thread, on core 1 with the victim) loops
            from 127.0.0.1 over the chosen requests (benches/attack.lua) for
            --attack seconds after --warm-up, while the victim asks again.

The attack's requests, one of each kind in turn:

  count     `totalCount` of shipments over two filters (synthetic and mode);
  page      a page of `first` (the largest accepted, at most 100) over
            several filters that few shipments meet, with `totalCount`;
  fan-out   every province, its `first` shipments (the largest accepted),
            and each shipment's links, just under `--max-cost`;
  rare fan-out  the same, each province's page over a filter few meet.

The report gives the victim's p50 and p99 alone and under attack per size
against the target (p99 under attack < 100 ms), every attacker response by
HTTP status and by `extensions.code`, socket errors and timeouts, the exact
queries and their reported costs, the machine (as load.py records it), the
command, commit and binary hash. It goes to --output (results.json beside
it) and, with --benchmarks, into that file's section after this script's
marker. The exit status is 1 when the victim, alone, got a wrong answer or a
socket error, or the server died: what the attack does to the victim and
every missed target are reported, not failed.
"""

import argparse
import http.client
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHES))
# No benches/__pycache__ left in the work tree by the imports.
sys.dont_write_bytecode = True
import load  # noqa: E402  (benches/load.py: servers, seeding, machine state, report sections)
import storage  # noqa: E402  (benches/storage.py: binary hashes)

ROOT = load.ROOT
# Where each party connects from: every IPv4 address is a client of its own.
ATTACKER_ADDRESS = "127.0.0.1"
VICTIM_ADDRESS = "127.0.0.2"
PROBE_ADDRESS = "127.0.0.3"
ATTACKERS = 8
# The victim's target, from the issue.
TARGET_P99_MS = 100
# The victim's request, and a pause between its requests so that it is a
# client of its own, not a second load.
VICTIM_QUERY = '{ province(code: "CN-GD") { name nameZh id } }'
VICTIM_PAUSE_S = 0.005
# Codes of requests refused before they run, when the probe gets one.
REFUSED_BEFORE_RUNNING = {"QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES",
                          "TOO_MANY_DIRECTIVES", "TOO_MANY_TOKENS", "BAD_USER_INPUT"}
MAX_FIRST = 100

# The attack's requests. No query selects a field named `code`: attack.lua
# counts every `"code":"..."` of a body as an error's or a notice's code.
# Each kind has candidates, all tried by the probe: the accepted one of the
# highest reported cost is used, the first of them on a tie. They run from
# the widest to the narrowest (about the slowest first, as measured while every
# filtered count cost the same), so that some are accepted however the cost
# rules charge what a filter scans.
COUNT_FILTERS = [
    # The issue's: the narrowest index of the two is a mode's, a quarter of all.
    '{synthetic: true, mode: SEA}',
    '{synthetic: true, shipper: "BYD"}',
    '{synthetic: true, destinationPartner: "AR"}',
    '{synthetic: true, originProvince: "CN-GD"}',
    '{synthetic: true, originProvince: "CN-XZ"}',
]
# A page over filters few shipments meet walks its narrowest index until
# the page is full, and its totalCount reads it all.
PAGE_FILTERS = [
    # Both freight routes are rail: none at sea, and the route index is an eighth of all.
    ('{synthetic: true, mode: SEA, route: "YIWU-XINJIANG-EUROPE"}', None),
    # About one shipment in 170 of the shipper's sixth.
    ('{synthetic: true, mode: SEA, shipper: "BYD", destinationPartner: "AR"}', None),
    # One day in the year, in quantity order, over a mode's quarter.
    ('{synthetic: true, mode: SEA, departedFrom: "2025-06-01", departedTo: "2025-06-01"}',
     '{field: QUANTITY, direction: DESC}'),
    # About one in 170 of a small province's thirty-first.
    ('{synthetic: true, originProvince: "CN-XZ", shipper: "BYD", destinationPartner: "AR"}',
     None),
]
LINKS = ("reference departedOn originProvince { name } destinationPartner { name }"
         " shipper { name } route { name } origin { name } destination { name }")
# Each province's page in the rare fan-out.
FAN_OUT_FILTER = ('{synthetic: true, departedFrom: "2025-06-01", departedTo: "2025-06-01"}',
                  '{field: QUANTITY, direction: DESC}')


def main():
    args = parse_args()
    if args.report_only:
        results = json.loads(Path(args.report_only).read_text())
    else:
        results = run(args)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        saved = output.parent / "results.json"
        saved.write_text(json.dumps(results, indent=1))
        print(f"raw results: {saved}")
    report = write_report(results)
    output.write_text(report)
    if args.benchmarks:
        load.write_section(Path(args.benchmarks), "attack.py", report)
    print()
    print(report)
    print(f"wrote {output}" + (f" and its section of {args.benchmarks}" if args.benchmarks else ""))
    failures = [f"{size['shipments']:,}: {failure}" for size in results["sizes"]
                for failure in size["failures"]]
    if failures:
        print("the run failed its checks:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="20,000 shipments, 3 s alone, 5 s under attack (unless the flags"
                             " below say otherwise): to check that the script works")
    parser.add_argument("--sizes", type=lambda text: [int(n) for n in text.split(",")],
                        help="synthetic shipments of each database, comma-separated"
                             " (default 200000,1000000; 20000 with --quick)")
    parser.add_argument("--alone", type=int,
                        help="seconds the victim runs alone (default 20, 3 with --quick)")
    parser.add_argument("--attack", type=int,
                        help="seconds the victim runs under attack (default 30, 5 with --quick)")
    parser.add_argument("--warm-up", type=int, default=2,
                        help="seconds the attackers run before the victim starts again (default 2)")
    parser.add_argument("--target-dir",
                        default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")),
                        help="cargo's target directory, the server taken from its release/"
                             " (default $CARGO_TARGET_DIR, else target)")
    parser.add_argument("--skip-build", action="store_true",
                        help="use the release binaries as built")
    parser.add_argument("--work-dir", default=str(ROOT / "target" / "bench-attack"),
                        help="databases and logs (default target/bench-attack)")
    parser.add_argument("--reseed", action="store_true",
                        help="seed the databases again even when they are kept")
    parser.add_argument("--output", default=str(ROOT / "target" / "bench-attack" / "attack.md"),
                        help="the Markdown section (default target/bench-attack/attack.md);"
                             " results.json goes beside it")
    parser.add_argument("--benchmarks", metavar="BENCHMARKS_MD",
                        help="also write the section into this file, after this script's marker"
                             " (default: do not)")
    parser.add_argument("--report-only", metavar="RESULTS_JSON",
                        help="only write the report from a saved results.json")
    parser.add_argument("--rust-log", default="info",
                        help="RUST_LOG of the server (default info, as deployed)")
    parser.add_argument("--note", default="", help="what else the machine was doing")
    parser.add_argument("--server-flags", default="",
                        help="flags for the server beside the defaults, as one string (e.g."
                             " \"--cost-budget-per-minute 0\", to see what the other limits"
                             " do alone); the report names them")
    args = parser.parse_args()
    if args.sizes is None:
        args.sizes = [20_000] if args.quick else [200_000, 1_000_000]
    if args.alone is None:
        args.alone = 3 if args.quick else 20
    if args.attack is None:
        args.attack = 5 if args.quick else 30
    return args


# ---------------------------------------------------------------- the run

def run(args):
    load.ensure_wrk()
    target = Path(args.target_dir)
    if not target.is_absolute():
        target = ROOT / target
    commands = []
    if not args.skip_build:
        command = ["cargo", "build", "--release", "--bins"]
        load.step(shlex.join(command))
        subprocess.run(command, cwd=ROOT, check=True,
                       env=dict(os.environ, CARGO_TARGET_DIR=str(target)))
        commands.append(f"CARGO_TARGET_DIR={target} {shlex.join(command)}  # in {ROOT}")
    binaries = {name: target / "release" / name for name in ("tradegraph", "seed")}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{path}: no such executable (build it, or name --target-dir)")
    work = Path(args.work_dir)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    results = {
        "settings": {"sizes": args.sizes, "alone": args.alone, "attack": args.attack,
                     "warm_up": args.warm_up, "rust_log": args.rust_log, "quick": args.quick,
                     "note": args.note, "attackers": ATTACKERS,
                     "server_flags": shlex.split(args.server_flags),
                     "victim_pause_s": VICTIM_PAUSE_S,
                     "command": shlex.join(["python3", "benches/attack.py"]
                                           + load.without_note(sys.argv[1:]))},
        "machine": load.describe_machine(),
        "binaries": {name: storage.describe_binary(path) for name, path in binaries.items()},
        "started": load.machine_state(),
        "commands": commands,
        "sizes": [],
    }
    for n_shipments in args.sizes:
        data_dir = work / f"db-{n_shipments}"
        seed(binaries["seed"], data_dir, n_shipments, args.reseed, commands)
        results["sizes"].append(measure(args, binaries["tradegraph"], data_dir, n_shipments,
                                        work, commands))
    results["finished"] = load.machine_state()
    return results


def seed(binary, data_dir, n_shipments, reseed, commands):
    """Seeds a database once: one seeded by this same `seed` binary is kept
    (a newer server may change the layout, or upgrade a database it opens)."""
    marker = data_dir / "bench-seeded-by"
    seeded_by = storage.describe_binary(binary)["sha256"]
    kept = not reseed and marker.exists() and marker.read_text() == seeded_by
    commands.append(shlex.join([str(binary), "--data-dir", str(data_dir),
                                "--synthetic-shipments", str(n_shipments)])
                    + ("  # kept from an earlier run" if kept else ""))
    load.seed(binary, data_dir, n_shipments, reuse=kept)
    marker.write_text(seeded_by)


def measure(args, tradegraph, data_dir, n_shipments, work, commands):
    """One size: the probe, the victim alone, then under attack."""
    label = f"attack-{n_shipments}"
    server = load.Server.tradegraph(tradegraph, data_dir, work, label, load.SERVER_CORE,
                                    args.rust_log, extra=shlex.split(args.server_flags))
    result = {"shipments": n_shipments, "failures": []}
    load.step(f"{n_shipments:,} shipments: starting the server (default flags, core"
              f" {load.SERVER_CORE})")
    server.start()
    port = str(server.port)
    commands.append(f"RUST_LOG={args.rust_log} " + shlex.join(server.argv).replace(port, "PORT"))
    try:
        load.step(f"{n_shipments:,} shipments: probing from {PROBE_ADDRESS}")
        probe = Probe(server.port)
        result["probe"] = probe.run()
        chosen = result["probe"]["chosen"]
        for kind, entry in chosen.items():
            print(f"   {kind:13} cost {entry['cost']!s:>6}  {entry['seconds']:6.2f} s"
                  f"  {entry['query']}", flush=True)
        requests = work / f"{label}.requests"
        requests.write_text("".join(json.dumps({"query": entry["query"]}) + "\n"
                                    for entry in chosen.values()))

        victim = Victim(server.port)
        victim.prime()
        load.step(f"{n_shipments:,} shipments: the victim alone for {args.alone} s")
        result["alone"] = victim.run(args.alone)
        print(f"   {summary_line(result['alone'])}", flush=True)

        duration = args.warm_up + args.attack + 1
        command = ["taskset", "-c", load.LOAD_CORE, "wrk", "-t1", f"-c{ATTACKERS}",
                   f"-d{duration}s", "--timeout", "30s", "-s", str(BENCHES / "attack.lua"),
                   f"http://{ATTACKER_ADDRESS}:{server.port}/graphql", "--", str(requests)]
        commands.append(shlex.join(command).replace(port, "PORT"))
        load.step(f"{n_shipments:,} shipments: {ATTACKERS} attackers for {duration} s,"
                  f" the victim after {args.warm_up} s for {args.attack} s")
        attackers = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        try:
            time.sleep(args.warm_up)
            result["under_attack"] = victim.run(args.attack)
        finally:
            stdout, stderr = attackers.communicate()
        print(f"   {summary_line(result['under_attack'])}", flush=True)
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if attackers.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed: {stdout}\n{stderr}")
        result["attackers"] = json.loads(lines[-1])
        figures = result["attackers"]
        print(f"   attackers: {figures['requests']:,} responses, statuses {figures['statuses']},"
              f" codes {figures['codes']}, socket errors"
              f" {figures['connect_errors'] + figures['read_errors'] + figures['write_errors']},"
              f" timeouts {figures['timeouts']}", flush=True)
        result["rss_mib"] = round(server.rss_mib(), 1)
        server.check_alive()
    finally:
        server.stop()
    # Under attack, what the victim suffers is the measurement; alone, it
    # means the benchmark itself is wrong.
    if result["alone"]["failures"]:
        result["failures"].append("victim alone: " + "; ".join(result["alone"]["failures"]))
    return result


def summary_line(phase):
    return (f"victim: {phase['requests']:,} answers, p50 {fmt_ms(phase['p50_ms'])} ms,"
            f" p99 {fmt_ms(phase['p99_ms'])} ms, max {fmt_ms(phase['max_ms'])} ms"
            + (f"; {'; '.join(phase['failures'])}" if phase["failures"] else ""))


def graphql(port, query, source_address, timeout=300):
    """POSTs one query on a connection of its own; (status, parsed body or
    None, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                            source_address=(source_address, 0))
    body = json.dumps({"query": query}).encode()
    try:
        start = time.monotonic()
        connection.request("POST", "/graphql", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        seconds = time.monotonic() - start
    finally:
        connection.close()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return response.status, parsed, seconds


class Probe:
    """Finds the largest requests of each kind the server accepts, from
    what it answers: `extensions.cost` of an answer, the code and estimate
    of a refusal. Every request sent is kept, for the report."""

    def __init__(self, port):
        self.port = port
        self.sent = []

    def send(self, kind, query):
        """Sends a query (waiting out a rate limit); an outcome record."""
        while True:
            status, body, seconds = graphql(self.port, query, PROBE_ADDRESS)
            errors = (body or {}).get("errors") or []
            codes = [error.get("extensions", {}).get("code") for error in errors]
            if "RATE_LIMITED" in codes:
                wait = max(error.get("extensions", {}).get("retryAfterSeconds", 1)
                           for error in errors)
                print(f"   (rate limited: waiting {wait} s)", flush=True)
                time.sleep(min(wait, 60))
                continue
            break
        refusals = [code for code in codes if code in REFUSED_BEFORE_RUNNING]
        cost = ((body or {}).get("extensions") or {}).get("cost", {}).get("requested")
        if cost is None:
            cost = next((error["extensions"].get("value") for error in errors
                         if error.get("extensions", {}).get("code") == "QUERY_TOO_COMPLEX"), None)
        outcome = {
            "kind": kind, "query": query, "status": status, "seconds": round(seconds, 3),
            "accepted": status < 500 and body is not None and not refusals,
            "cost": cost, "codes": [code for code in codes if code],
            "message": errors[0].get("message") if errors else None,
        }
        self.sent.append(outcome)
        return outcome

    def largest(self, kind, make, high):
        """The accepted outcome of make(n) with the largest n in 1..high,
        found by bisection (costs grow with n), or the refusal of make(1)."""
        best = self.send(kind, make(high))
        if best["accepted"]:
            return best
        low_outcome = self.send(kind, make(1))
        if not low_outcome["accepted"]:
            return low_outcome
        low, high = 1, high - 1
        best = low_outcome
        while low < high:
            middle = (low + high + 1) // 2
            outcome = self.send(kind, make(middle))
            if outcome["accepted"]:
                low, best = middle, outcome
            else:
                high = middle - 1
        return best

    def run(self):
        chosen = {}
        chosen["count"] = self.costliest([
            self.send("count", f"{{ shipments(filter: {where}) {{ totalCount }} }}")
            for where in COUNT_FILTERS])
        chosen["page"] = self.costliest([
            self.largest("page", lambda first, where=where, order=order: page_query(
                where, order, first), MAX_FIRST)
            for where, order in PAGE_FILTERS])
        status, body, _ = graphql(self.port, "{ provinces { totalCount } }", PROBE_ADDRESS)
        n_provinces = min(body["data"]["provinces"]["totalCount"], MAX_FIRST)
        chosen["fan-out"] = self.fan_out("fan-out", n_provinces, None)
        chosen["rare fan-out"] = self.fan_out("rare fan-out", n_provinces, FAN_OUT_FILTER)
        return {"chosen": chosen, "sent": self.sent, "provinces": n_provinces}

    def fan_out(self, kind, n_provinces, rare):
        """Every province (or fewer, if even one shipment each is refused)
        and the most shipments each that are accepted."""
        while True:
            outcome = self.largest(kind, lambda first: fan_out_query(n_provinces, first, rare),
                                   MAX_FIRST)
            if outcome["accepted"] or n_provinces == 1:
                return outcome
            n_provinces = max(1, n_provinces // 2)

    @staticmethod
    def costliest(outcomes):
        """The accepted outcome of the highest cost, the first on a tie;
        else the first refusal (the attack sends it anyway)."""
        accepted = [o for o in outcomes if o["accepted"]]
        if not accepted:
            return outcomes[0]
        # max() keeps the first of equals.
        return max(accepted, key=lambda o: o["cost"] or 0)


def page_query(where, order, first):
    ordered = f", orderBy: {order}" if order else ""
    return (f"{{ shipments(filter: {where}{ordered}, first: {first}) {{ totalCount"
            f" edges {{ cursor node {{ reference departedOn }} }}"
            f" pageInfo {{ hasNextPage endCursor }} }} }}")


def fan_out_query(n_provinces, first, rare):
    where = f"filter: {rare[0]}, orderBy: {rare[1]}, " if rare else ""
    return (f"{{ provinces(first: {n_provinces}) {{ edges {{ node {{ name"
            f" shipments({where}first: {first}) {{ edges {{ node {{ {LINKS} }} }} }}"
            f" }} }} }} }}")


class Victim:
    """One client on one keep-alive connection from VICTIM_ADDRESS, asking
    for one province again and again and checking every answer against the
    first; runs on the load generator's core."""

    def __init__(self, port):
        self.port = port
        self.body = json.dumps({"query": VICTIM_QUERY}).encode()
        self.connection = None
        self.expected = None

    def connect(self):
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(VICTIM_ADDRESS, 0))

    def prime(self):
        """Takes the first answer as the one every later answer must equal."""
        status, body = self.ask()
        if status != 200 or not load.answered(body):
            raise RuntimeError(f"the victim's query failed: {status} {body[:300]!r}")
        self.expected = body

    def ask(self):
        if self.connection is None:
            self.connect()
        self.connection.request("POST", "/graphql", self.body,
                                {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, response.read()

    def run(self, seconds):
        """Asks for `seconds`; the latencies' percentiles and what went wrong."""
        figures = {}
        thread = threading.Thread(target=self.loop, args=(seconds, figures))
        thread.start()
        thread.join()
        return figures

    def loop(self, seconds, figures):
        # Linux pins the calling thread alone: the victim shares the load
        # generator's core, away from the server's.
        os.sched_setaffinity(0, {int(load.LOAD_CORE)})
        latencies, failures = [], {}
        first_wrong, uncoded = None, 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                status, body = self.ask()
            except (OSError, http.client.HTTPException) as error:
                # A timeout, a refused or reset connection, or one the server
                # closed (RemoteDisconnected): all dropped, by name.
                kind = "timeouts" if isinstance(error, socket.timeout) else type(error).__name__
                failures[kind] = failures.get(kind, 0) + 1
                self.connection.close()
                self.connection = None
                continue
            elapsed = time.perf_counter() - start
            if status != 200 or body != self.expected:
                kind = "wrong answers" if status == 200 else f"HTTP {status}"
                failures[kind] = failures.get(kind, 0) + 1
                uncoded += b'"code":' not in body
                first_wrong = first_wrong or f"{status} {body[:300]!r}"
            else:
                latencies.append(elapsed * 1000)
            time.sleep(VICTIM_PAUSE_S)
        latencies.sort()
        figures.update({
            "requests": len(latencies),
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else None,
            "mean_ms": statistics.fmean(latencies) if latencies else None,
            "dropped": sum(n for kind, n in failures.items()
                           if kind != "wrong answers" and not kind.startswith("HTTP ")),
            "server_errors": sum(n for kind, n in failures.items() if kind.startswith("HTTP 5")),
            "uncoded": uncoded,
            "failures": [f"{n} {kind}" for kind, n in failures.items()]
            + ([f"first wrong: {first_wrong}"] if first_wrong else []),
        })


def percentile(ordered, p):
    """The nearest-rank percentile of sorted values, or None."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# ---------------------------------------------------------------- the report

def fmt_ms(value):
    return "—" if value is None else load.fmt_ms(value)


def write_report(results):
    settings = results["settings"]
    machine = results["machine"]
    binary = results["binaries"]["tradegraph"]
    lines = [
        "## Attack: the most expensive requests the limits allow, and a victim",
        "",
        f"Generated by `benches/attack.py`: a victim asks for one province, alone and while"
        f" {settings['attackers']} attackers loop over the most expensive counts, pages and"
        " fan-outs that the server's default flags accept (issue 11).",
        "",
        f"- Command: `{settings['command']}`"
        + (" (quick mode: short runs, figures are indicative only)" if settings["quick"] else ""),
        f"- Date: {machine['date']}; commit {machine['commit']}",
        f"- Server: `{binary['path']}` (sha256 {binary['sha256'][:12]}), default flags but"
        f" `--data-dir` and `--bind`"
        + (f" `{shlex.join(settings['server_flags'])}`" if settings.get("server_flags") else "")
        + f", `RUST_LOG={settings['rust_log']}`, pinned to core"
        f" {load.SERVER_CORE} (`taskset`, so one actix worker).",
    ]
    lines += load.machine_lines(results, settings["note"])
    lines += [
        f"- Victim: `{VICTIM_QUERY}` from {VICTIM_ADDRESS}, one HTTP/1.1 keep-alive"
        f" connection, one request at a time with {settings['victim_pause_s'] * 1000:g} ms"
        f" between them, pinned to core {load.LOAD_CORE}; every answer checked against the"
        f" first. {settings['alone']} s alone, then {settings['attack']} s under attack,"
        f" starting {settings['warm_up']} s after the attackers.",
        f"- Attackers: wrk, one thread, {settings['attackers']} keep-alive connections from"
        f" {ATTACKER_ADDRESS} on core {load.LOAD_CORE} (`benches/attack.lua`), each sending"
        " the next of the requests below as soon as its last was answered, 30 s timeout.",
        f"- The requests were chosen by a probe from {PROBE_ADDRESS}: candidates sent once"
        " each, the largest sizes the server accepted (by its `extensions.cost`, or a"
        " refusal's code) kept; the probe's requests are listed at the end.",
        "",
        "| shipments | victim alone p50 ms | p99 ms | under attack p50 ms | p99 ms | max ms"
        " | answers alone / under attack | victim's failures under attack |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for size in results["sizes"]:
        alone, attacked = size["alone"], size["under_attack"]
        lines.append(f"| {size['shipments']:,} | {fmt_ms(alone['p50_ms'])}"
                     f" | {fmt_ms(alone['p99_ms'])} | {fmt_ms(attacked['p50_ms'])}"
                     f" | {fmt_ms(attacked['p99_ms'])} | {fmt_ms(attacked['max_ms'])}"
                     f" | {alone['requests']:,} / {attacked['requests']:,}"
                     f" | {'; '.join(attacked['failures']) or 'none'} |")
    lines += ["", "### Targets", "", "From the issue, each with what this run measured.", "",
              "| target | shipments | measured | verdict |", "| --- | ---: | --- | --- |"]
    for size in results["sizes"]:
        lines += [target_row(row, size["shipments"]) for row in targets(size)]
    lines += ["", "### Attackers", "",
              "Every response the attackers got. Codes are every `extensions.code` their bodies"
              " carried (of errors and of notices: no attack query selects a field named"
              " `code`); uncoded, the refusals and errors that carried none. Socket errors are"
              " wrk's connect, read and write errors: a dropped connection is one.", "",
              "| shipments | responses (per s) | p50 / p99 ms | HTTP statuses | codes"
              " | with errors | uncoded | socket errors (connect, read, write) | timeouts |",
              "| ---: | --- | --- | --- | --- | ---: | ---: | --- | ---: |"]
    codes_seen = set()
    for size in results["sizes"]:
        figures = size["attackers"]
        codes_seen |= set(figures["codes"])
        rate = figures["requests"] / (figures["duration_us"] / 1e6)
        lines.append(
            f"| {size['shipments']:,} | {figures['requests']:,} ({rate:,.1f})"
            f" | {figures['p50_us'] / 1000:,.1f} / {figures['p99_us'] / 1000:,.1f}"
            f" | {counts_text(figures['statuses'])} | {counts_text(figures['codes'])}"
            f" | {figures['with_errors']:,} | {figures['uncoded']:,}"
            f" | {figures['connect_errors']}, {figures['read_errors']}, {figures['write_errors']}"
            f" | {figures['timeouts']} |")
    lines.append("")
    for size in results["sizes"]:
        for outcome in size["probe"]["sent"]:
            codes_seen |= set(outcome["codes"])
    lines += ["Codes seen (attack and probe): "
              + (", ".join(f"`{code}`" for code in sorted(codes_seen)) or "none") + ".", ""]

    for size in results["sizes"]:
        probe = size["probe"]
        lines += [f"### The attack's requests on {size['shipments']:,} shipments", "",
                  "Sent in this order, round and round; cost as the server reported it"
                  " (`extensions.cost.requested`, or a refusal's estimate), and the seconds"
                  " the probe's one request took alone.", ""]
        for kind, outcome in probe["chosen"].items():
            state = "accepted" if outcome["accepted"] else "refused: " + ", ".join(outcome["codes"])
            lines += [f"- {kind}: cost {outcome['cost']}, {state}, {outcome['seconds']:.2f} s"
                      " alone" + (f", codes {', '.join(outcome['codes'])}"
                                  if outcome["accepted"] and outcome["codes"] else ""),
                      "", "  ```graphql", f"  {outcome['query']}", "  ```", ""]
        lines += ["<details><summary>Every request of the probe</summary>", "",
                  "| kind | query | HTTP | cost | codes | s |",
                  "| --- | --- | ---: | ---: | --- | ---: |"]
        for outcome in probe["sent"]:
            lines.append(f"| {outcome['kind']} | `{outcome['query']}` | {outcome['status']}"
                         f" | {outcome['cost']} | {', '.join(outcome['codes']) or '—'}"
                         f" | {outcome['seconds']:.2f} |")
        lines += ["", "</details>", ""]

    lines += ["### Commands", "", "In the order first run (PORT: a free port).", "", "```"]
    lines += [command for index, command in enumerate(results["commands"])
              if command not in results["commands"][:index]]
    lines += ["```", ""]
    return "\n".join(lines)


def targets(size):
    """(target, measured text, met) for one size."""
    attacked, figures = size["under_attack"], size["attackers"]
    p99 = attacked["p99_ms"]
    rows = [(f"victim p99 under attack < {TARGET_P99_MS} ms",
             "no answer" if p99 is None else f"{fmt_ms(p99)} ms",
             p99 is not None and p99 < TARGET_P99_MS,
             p99 is not None and load.share(p99, TARGET_P99_MS, "limit"))]
    server_errors = sum(n for status, n in figures["statuses"].items() if int(status) >= 500)
    sockets = figures["connect_errors"] + figures["read_errors"] + figures["write_errors"]
    rows.append(("no 5xx and no dropped connection",
                 f"attackers: {server_errors} 5xx, {sockets} socket errors,"
                 f" {figures['timeouts']} timeouts; victim: {attacked['server_errors']} 5xx,"
                 f" {attacked['dropped']} dropped",
                 server_errors + sockets + figures["timeouts"] + attacked["server_errors"]
                 + attacked["dropped"] == 0, None))
    refusals = sum(n for status, n in figures["statuses"].items() if status != "200")
    rows.append(("every refusal a clear error with a code",
                 f"attackers: {figures['uncoded']} without a code, of {refusals:,} non-200"
                 f" answers and {figures['with_errors']:,} answers with errors; victim:"
                 f" {attacked['uncoded']} without a code",
                 figures["uncoded"] + attacked["uncoded"] == 0, None))
    return rows


def target_row(row, n_shipments):
    target, measured, met, how_far = row
    verdict = ("met" if met else "missed") + (f" ({how_far})" if how_far else "")
    return f"| {target} | {n_shipments:,} | {measured} | {verdict} |"


def counts_text(counts):
    return ", ".join(f"{key}: {n:,}" for key, n in sorted(counts.items())) or "none"


if __name__ == "__main__":
    main()
