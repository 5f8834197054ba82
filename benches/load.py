#!/usr/bin/env python3
"""The load benchmark: tradegraph over real HTTP, against a ceiling.

    python3 benches/load.py            # the full run (about 45 minutes)
    python3 benches/load.py --quick    # one short run of each, to try it out

It builds the release binaries (`tradegraph`, `seed` and the `ceiling`
example), seeds a database of --shipments synthetic shipments (timed) and a
small one of --small-shipments, times how long a server takes to open the large
one and answer a first query, then starts tradegraph and the ceiling (an
actix-web server that answers with the response bytes tradegraph gave,
captured here) and drives both with wrk, installing wrk with apt-get when it
is missing. The scenarios are the queries of benches/scenarios.json:

  q1, q2, q4   at concurrency 1, 16 and 64, on the large database;
  q3           the same, from a cursor 90% of the way through its list;
  m1           durable createShipment at concurrency 1, 8 and 64, on the small
               database (its writes never touch the lists the reads ask for);
  q3 scaling   at concurrency 1: the deep page on the large and the small
               database, and the first page on the large one.

Each measurement is --runs runs of --duration seconds per server, alternating
tradegraph and the ceiling run by run, with the servers pinned to core 0 and
wrk to core 1 (taskset), then one more run each with nothing pinned, and one
pinned run of each read scenario against a server with the response cache
on (--response-cache-mb 64). Every tradegraph server gets BENCHMARK_FLAGS
(--cost-budget-per-minute 0: the per-client budget, on by default, would
refuse wrk's one address), and BENCHMARK_FLAGS are stated in BENCHMARKS.md. Every
response body is checked (benches/wrk.lua): a wrong or failed answer fails
the run. The medians go into BENCHMARKS.md and benches/results.svg, which
this script writes (from a saved results.json alone with --report-only).
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ROOT / "benches"
SCENARIOS = json.loads((BENCHES / "scenarios.json").read_text())
READ_CONCURRENCY = [1, 16, 64]
WRITE_CONCURRENCY = [1, 8, 64]
SERVER_CORE = "0"
LOAD_CORE = "1"
# How far into Q3's list its deep page starts.
DEEP_FRACTION = 0.9
# The matrix, in the order it runs and is reported.
MATRIX = [("q1", READ_CONCURRENCY), ("q2", READ_CONCURRENCY), ("q3", READ_CONCURRENCY),
          ("q4", READ_CONCURRENCY), ("m1", WRITE_CONCURRENCY)]
# The read scenarios run again with the response cache on, and its size.
CACHED = ["q1", "q2", "q3", "q4"]
RESPONSE_CACHE_MB = "64"
# Flags every tradegraph server of this benchmark gets, stated in BENCHMARKS.md
# (passed at each call, not in Server.tradegraph: benches/storage.py starts
# binaries built at older commits, which take no budget of 0).
# The per-client cost budget is on by default; wrk sends thousands of requests
# a second from one address, which is the load the budget exists to refuse,
# so it is turned off to measure throughput.
BENCHMARK_FLAGS = ["--cost-budget-per-minute", "0"]
# The Q3 scaling comparison at concurrency 1: variant -> what it is.
SCALING = {
    "q3": "page 90% deep, large database",
    "q3first": "first page, large database",
    "q3small": "page 90% deep, small database",
}


def main():
    args = parse_args()
    if args.report_only:
        results = json.loads(Path(args.report_only).read_text())
    else:
        results = run(args)
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
        saved = Path(args.work_dir) / "results.json"
        saved.write_text(json.dumps(results, indent=1))
        print(f"raw results: {saved}")
    write_report(results, Path(args.output), Path(args.svg))
    print(f"wrote {args.output} and {args.svg}")
    failures = [r for r in results["runs"] if r["failure"]]
    if failures:
        print(f"{len(failures)} runs failed their checks: see {args.output}", file=sys.stderr)
        sys.exit(1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one run of 3 s per measurement (unless --runs/--duration say otherwise)")
    parser.add_argument("--shipments", type=int, default=1_000_000,
                        help="synthetic shipments in the large database (default 1,000,000)")
    parser.add_argument("--small-shipments", type=int, default=10_000,
                        help="synthetic shipments in the small database (default 10,000)")
    parser.add_argument("--runs", type=int, help="pinned runs per server and measurement (default 3)")
    parser.add_argument("--duration", type=int, help="seconds per run (default 10)")
    parser.add_argument("--work-dir", default=str(ROOT / "target" / "bench-load"),
                        help="databases, logs and raw results (default target/bench-load)")
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep a large database from an earlier run (its seeding is then not timed)")
    parser.add_argument("--skip-build", action="store_true", help="use the release binaries as built")
    parser.add_argument("--rust-log", default="info",
                        help="RUST_LOG of the server (default info, as deployed: a log line per request)")
    parser.add_argument("--note", default="",
                        help="what else the machine was doing, for BENCHMARKS.md")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--svg", default=str(BENCHES / "results.svg"))
    parser.add_argument("--report-only", metavar="RESULTS_JSON",
                        help="only write the report and chart from a saved results.json")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    return args


# ---------------------------------------------------------------- the run

def run(args):
    ensure_wrk()
    if not args.skip_build:
        step("building the release binaries")
        # Two builds: the server as deployed, then the ceiling, whose example
        # target would otherwise unify the dev-dependencies' features into it.
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "--example", "ceiling"], cwd=ROOT,
                       check=True)
    binaries = {
        "tradegraph": ROOT / "target" / "release" / "tradegraph",
        "seed": ROOT / "target" / "release" / "seed",
        "ceiling": ROOT / "target" / "release" / "examples" / "ceiling",
    }
    work = Path(args.work_dir)
    for folder in ("requests", "bodies", "logs"):
        shutil.rmtree(work / folder, ignore_errors=True)
        (work / folder).mkdir(parents=True)
    results = {
        "settings": {"shipments": args.shipments, "small_shipments": args.small_shipments,
                     "runs": args.runs, "duration": args.duration, "rust_log": args.rust_log,
                     "flags": BENCHMARK_FLAGS,
                     "quick": args.quick, "note": args.note,
                     # The note is reported on its own line.
                     "command": shlex.join(["python3", "benches/load.py"] + without_note(sys.argv[1:]))},
        "machine": describe_machine(),
        "started": machine_state(),
        "runs": [],
    }
    token, token_hash = make_token(binaries["tradegraph"])

    large = work / f"db-{args.shipments}"
    small = work / f"db-small-{args.small_shipments}"
    results["seed_seconds"] = seed(binaries["seed"], large, args.shipments, args.reuse_data)
    seed(binaries["seed"], small, args.small_shipments, reuse=False)
    results["open"] = measure_open(binaries["tradegraph"], large, work, args.rust_log,
                                   extra=BENCHMARK_FLAGS)

    for pinned in (True, False):
        phase = "pinned" if pinned else "unpinned"
        step(f"{phase}: starting the servers")
        core = SERVER_CORE if pinned else None
        servers = {
            "large": Server.tradegraph(binaries["tradegraph"], large, work, f"{phase}-large",
                                       core, args.rust_log, extra=BENCHMARK_FLAGS),
            "small": Server.tradegraph(binaries["tradegraph"], small, work, f"{phase}-small",
                                       core, args.rust_log, token_hash, extra=BENCHMARK_FLAGS),
            "ceiling": Server("ceiling", [str(binaries["ceiling"]), "--bodies",
                                          str(work / "bodies")], work, f"{phase}-ceiling", core),
        }
        try:
            servers["large"].start()
            servers["small"].start()
            if pinned:
                results["q3"] = prepare_requests(servers, work, token)
            servers["ceiling"].start()
            load = Load(work, args.duration, pinned, token, results["runs"])
            runs = args.runs if pinned else 1
            for scenario, concurrencies in MATRIX:
                target = servers["small"] if scenario == "m1" else servers["large"]
                step(f"{phase}: {scenario}")
                load.warm_up(scenario, [target, servers["ceiling"]])
                for concurrency in concurrencies:
                    for run_number in range(runs):
                        order = [target, servers["ceiling"]]
                        if run_number % 2:
                            order.reverse()
                        for server in order:
                            load.measure(scenario, scenario, server, concurrency, run_number)
            if pinned:
                step("pinned: q3 scaling at concurrency 1")
                for run_number in range(runs):
                    for variant in SCALING:
                        server = servers["small"] if variant == "q3small" else servers["large"]
                        load.measure("q3 scaling", variant, server, 1, run_number)
        finally:
            for server in servers.values():
                server.stop()
    measure_cached(binaries, large, work, args, results)
    results["finished"] = machine_state()
    return results


def measure_cached(binaries, large, work, args, results):
    """The read scenarios, pinned, with the response cache on: one run per
    server and concurrency, the two servers alternating."""
    step("pinned, response cache on")
    servers = {
        "large": Server.tradegraph(binaries["tradegraph"], large, work, "cached-large",
                                   SERVER_CORE, args.rust_log,
                                   extra=[*BENCHMARK_FLAGS, "--response-cache-mb",
                                          RESPONSE_CACHE_MB]),
        "ceiling": Server("ceiling", [str(binaries["ceiling"]), "--bodies", str(work / "bodies")],
                          work, "cached-ceiling", SERVER_CORE),
    }
    try:
        for server in servers.values():
            server.start()
        load = Load(work, args.duration, True, None, results["runs"], cached=True)
        for scenario in CACHED:
            step(f"pinned, response cache on: {scenario}")
            load.warm_up(scenario, [servers["large"], servers["ceiling"]])
            for index, concurrency in enumerate(READ_CONCURRENCY):
                order = [servers["large"], servers["ceiling"]]
                if index % 2:
                    order.reverse()
                for server in order:
                    load.measure(scenario, scenario, server, concurrency, 0)
    finally:
        for server in servers.values():
            server.stop()


def without_note(argv):
    """The command-line arguments less `--note` and its text."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--note":
            skip = True
        elif not argument.startswith("--note="):
            kept.append(argument)
    return kept


def step(text):
    print(f"== {text}", flush=True)


def ensure_wrk():
    """Installs wrk from Debian's packages when it is missing."""
    if shutil.which("wrk"):
        return
    step("installing wrk (apt-get)")
    subprocess.run(["apt-get", "update"], check=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)


def describe_machine():
    def output(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"
    cpu = next((line.split(":", 1)[1].strip() for line in output(["lscpu"]).splitlines()
                if line.startswith("Model name")), "unknown")
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    commit = output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = output(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory) / (1 << 20), 1),
        "kernel": platform.release(),
        "rustc": output(["rustc", "--version"]),
        # `wrk --version` prints its version with the usage, and exits 1.
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        .stdout.split(" [")[0],
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_state():
    """The load average and the busiest processes, to say what else ran."""
    busiest = subprocess.run(["ps", "-eo", "pcpu=,comm=", "--sort=-pcpu"],
                             capture_output=True, text=True).stdout.splitlines()
    return {
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "busiest": [" ".join(line.split()[1:]) + f" ({line.split()[0]}% CPU)"
                    for line in busiest[:5] if line.strip()],
    }


def make_token(tradegraph):
    lines = subprocess.run([str(tradegraph), "token"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    fields = dict(line.split(":", 1) for line in lines[:2])
    return fields["token"].strip(), fields["hash"].strip()


def seed(binary, data_dir, n_shipments, reuse):
    """Seeds a database with n synthetic shipments; returns the seconds it
    took, or None when an earlier database was kept."""
    marker = data_dir / "bench-seeded"
    if reuse and marker.exists() and marker.read_text() == str(n_shipments):
        step(f"keeping {data_dir} ({n_shipments:,} synthetic shipments)")
        return None
    step(f"seeding {data_dir} with {n_shipments:,} synthetic shipments")
    shutil.rmtree(data_dir, ignore_errors=True)
    start = time.monotonic()
    subprocess.run([str(binary), "--data-dir", str(data_dir), "--synthetic-shipments",
                    str(n_shipments)], check=True, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    marker.write_text(str(n_shipments))
    print(f"   {seconds:.1f} s")
    return seconds


def drop_page_cache():
    """Empties the kernel's page cache, so an open reads from disk; returns
    whether it could (root only)."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def measure_open(tradegraph, data_dir, work, rust_log, times=3, extra=()):
    """Seconds from starting a server on the database to its first right
    answer to Q1, `times` times."""
    step(f"timing start-up on {data_dir}")
    request = json.dumps({"query": SCENARIOS["q1"]["query"],
                          "variables": SCENARIOS["q1"]["variables"]}).encode()
    seconds, cold = [], []
    for attempt in range(times):
        cold.append(drop_page_cache())
        server = Server.tradegraph(tradegraph, data_dir, work, f"open-{attempt}", None, rust_log,
                                   extra=extra)
        start = time.monotonic()
        server.spawn()
        while True:
            try:
                status, body = post(server.port, "q1", request)
                if status == 200 and answered(body):
                    break
            except OSError:
                pass
            if time.monotonic() - start > 120:
                raise RuntimeError(f"no answer to Q1 after 120 s; see {server.log}")
            server.check_alive()
            time.sleep(0.005)
        seconds.append(time.monotonic() - start)
        server.stop()
    print("   " + ", ".join(f"{s:.2f} s" for s in seconds))
    return {"seconds": seconds, "page_cache_dropped": all(cold)}


def answered(body):
    """Whether a body is a GraphQL answer with data and no error."""
    try:
        response = json.loads(body)
    except ValueError:
        return False
    return "errors" not in response and response.get("data") is not None


def post(port, scenario, body, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "x-bench-scenario": scenario}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", "/graphql", body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A server process, pinned to a core or not, logging to a file."""

    def __init__(self, name, argv, work, label, core, env=None, ready_path=None):
        self.name = name
        self.port = free_port()
        self.argv = argv + ["--bind", f"127.0.0.1:{self.port}"]
        if core is not None:
            self.argv = ["taskset", "-c", core] + self.argv
        self.log = work / "logs" / f"{label}.log"
        self.env = dict(os.environ, **(env or {}))
        self.ready_path = ready_path
        self.process = None

    @classmethod
    def tradegraph(cls, binary, data_dir, work, label, core, rust_log, token_hash=None,
                   extra=()):
        """A tradegraph server on the sled database in data_dir."""
        return cls.tradegraph_on(binary, ["--data-dir", str(data_dir)], work, label, core,
                                 rust_log, token_hash, extra)

    @classmethod
    def tradegraph_on(cls, binary, store_flags, work, label, core, rust_log, token_hash=None,
                      extra=(), name="tradegraph"):
        """A tradegraph server on the store that store_flags name (`--data-dir
        DIR`, or `--etcd URLS --etcd-prefix PREFIX`), reported as `name`."""
        argv = [str(binary), *store_flags, *extra]
        if token_hash:
            argv += ["--write-token-hash", token_hash]
        return cls(name, argv, work, label, core, {"RUST_LOG": rust_log}, "/ready")

    def spawn(self):
        log = open(self.log, "ab")
        # taskset execs the server, so the pid is the server's.
        self.process = subprocess.Popen(self.argv, stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL, env=self.env)
        log.close()

    def start(self):
        self.spawn()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            self.check_alive()
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                if self.ready_path is None:
                    connection.connect()
                    return
                connection.request("GET", self.ready_path)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not get ready; see {self.log}")

    def check_alive(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}); see {self.log}")

    def rss_mib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        """SIGTERM, then up to a minute to flush and exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def prepare_requests(servers, work, token):
    """Writes each variant's request body, finds Q3's deep cursors by paging,
    and captures tradegraph's answers as the expected bodies the checks and
    the ceiling use."""
    step("preparing requests and capturing expected bodies")
    large_cursor = deep_cursor(servers["large"].port, request_body)
    small_cursor = deep_cursor(servers["small"].port, request_body)
    variants = {
        "q1": (servers["large"], request_body("q1")),
        "q2": (servers["large"], request_body("q2")),
        "q3": (servers["large"], request_body("q3", after=large_cursor["cursor"])),
        "q3first": (servers["large"], request_body("q3")),
        "q3small": (servers["small"], request_body("q3", after=small_cursor["cursor"])),
        "q4": (servers["large"], request_body("q4")),
    }
    for variant, (server, body) in variants.items():
        capture(work, variant, server, body)
    # One shipment created now, for the ceiling to answer with.
    body = request_body("m1")
    (work / "requests" / "m1.json").write_bytes(body)
    status, created = post(servers["small"].port, "m1", body, token)
    if status != 200 or not answered(created):
        raise RuntimeError(f"m1: createShipment failed: {status} {created[:300]!r}")
    (work / "bodies" / "m1.json").write_bytes(created)
    return {"large": large_cursor, "small": small_cursor}


def request_body(scenario, **variables):
    """The JSON request of a scenario of benches/scenarios.json, with its
    variables changed by `variables`."""
    return json.dumps({"query": SCENARIOS[scenario]["query"],
                       "variables": dict(SCENARIOS[scenario]["variables"], **variables)}).encode()


def capture(work, variant, server, body):
    """Writes a read variant's request and the server's answer to it, the
    bytes every later answer is checked against (wrk.lua), after making sure
    it is a right answer that a second request repeats; returns the answer."""
    (work / "requests" / f"{variant}.json").write_bytes(body)
    status, first = post(server.port, variant, body)
    _, second = post(server.port, variant, body)
    if status != 200 or not answered(first) or first != second:
        raise RuntimeError(f"{variant}: no steady right answer: {status} {first[:300]!r}")
    (work / "bodies" / f"{variant}.json").write_bytes(first)
    return first


def deep_cursor(port, request):
    """The cursor after which Q3's page starts DEEP_FRACTION of the way into
    its list, found as a client finds it: by paging with Q3 itself."""
    after, seen, total = None, 0, None
    while True:
        status, body = post(port, "q3", request("q3", after=after))
        if status != 200 or not answered(body):
            raise RuntimeError(f"q3 paging failed: {status} {body[:300]!r}")
        shipments = json.loads(body)["data"]["shipments"]
        total = shipments["totalCount"]
        seen += len(shipments["edges"])
        after = shipments["pageInfo"]["endCursor"]
        if seen >= total * DEEP_FRACTION or not shipments["pageInfo"]["hasNextPage"]:
            return {"cursor": after, "position": seen, "total": total}


class Load:
    """Runs wrk against a server and records what it measured."""

    def __init__(self, work, duration, pinned, token, runs, cached=False):
        self.cached = cached
        self.work = work
        self.duration = duration
        self.pinned = pinned
        self.token = token
        self.runs = runs

    def wrk(self, variant, server, concurrency, duration):
        expected = "created" if variant == "m1" else str(self.work / "bodies" / f"{variant}.json")
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s",
                   "-s", str(BENCHES / "wrk.lua"), f"http://127.0.0.1:{server.port}/graphql",
                   "--", variant, str(self.work / "requests" / f"{variant}.json"), expected]
        if variant == "m1":
            command.append(self.token)
        if self.pinned:
            command = ["taskset", "-c", LOAD_CORE] + command
        peak = [0.0]
        sampling = threading.Event()

        def sample():
            while not sampling.wait(0.1):
                peak[0] = max(peak[0], server.rss_mib())

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            output = subprocess.run(command, capture_output=True, text=True)
        finally:
            sampling.set()
            sampler.join()
        server.check_alive()
        lines = [line for line in output.stdout.splitlines() if line.startswith("{")]
        if output.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed: {output.stdout}\n{output.stderr}")
        figures = json.loads(lines[-1])
        figures["rss_mib"] = round(max(peak[0], server.rss_mib()), 1)
        return figures

    def warm_up(self, scenario, servers):
        for server in servers:
            figures = self.wrk(scenario, server, 16, 1)
            if failure_of(figures):
                raise RuntimeError(f"{scenario} on {server.name}: {failure_of(figures)}")

    def measure(self, scenario, variant, server, concurrency, run_number):
        figures = self.wrk(variant, server, concurrency, self.duration)
        return self.record(scenario, variant, server.name, concurrency, run_number, figures)

    def record(self, scenario, variant, server_name, concurrency, run_number, figures):
        """Keeps and prints the figures of one wrk run; returns its record."""
        record = {
            "scenario": scenario, "variant": variant, "server": server_name,
            "concurrency": concurrency, "pinned": self.pinned, "cached": self.cached,
            "run": run_number,
            "rps": figures["requests"] / (figures["duration_us"] / 1e6),
            "p50_ms": figures["p50_us"] / 1000, "p99_ms": figures["p99_us"] / 1000,
            "failure": failure_of(figures), "wrk": figures,
        }
        self.runs.append(record)
        print(f"   {variant:8} c{concurrency:<3} {server_name:10} {record['rps']:9.0f} req/s"
              f"  p50 {record['p50_ms']:7.2f} ms  p99 {record['p99_ms']:7.2f} ms"
              f"  rss {figures['rss_mib']:6.1f} MiB  {record['failure'] or 'all answers right'}",
              flush=True)
        return record


def failure_of(figures):
    """What was wrong in a wrk run, or None."""
    problems = []
    if figures["requests"] == 0:
        problems.append("no requests completed")
    if figures["wrong"]:
        problems.append(f"{figures['wrong']} wrong answers (first: {figures['first_wrong']})")
    if figures["checked"] != figures["requests"]:
        problems.append(f"{figures['requests'] - figures['checked']} answers unchecked")
    for key in ("socket_errors", "status_errors", "timeouts"):
        if figures[key]:
            problems.append(f"{figures[key]} {key.replace('_', ' ')}")
    return "; ".join(problems) or None


# ---------------------------------------------------------------- the report

def medians(runs, **match):
    """The median requests/s, p50 and p99 of the runs that match, and how
    many there were, or None."""
    # Runs recorded before the response-cache phase existed carry no "cached".
    chosen = [r for r in runs if all(r.get(key, False) == value for key, value in match.items())]
    if not chosen:
        return None
    return {
        "rps": statistics.median(r["rps"] for r in chosen),
        "p50_ms": statistics.median(r["p50_ms"] for r in chosen),
        "p99_ms": statistics.median(r["p99_ms"] for r in chosen),
        "all_rps": [r["rps"] for r in chosen],
        "n": len(chosen),
        "failed": sum(1 for r in chosen if r["failure"]),
    }


def fmt_rps(value):
    return f"{value:,.0f}"


def fmt_ms(value):
    return f"{value:.2f}"


def write_report(results, output, svg_path):
    runs = results["runs"]
    settings = results["settings"]
    machine = results["machine"]
    table = {}
    for pinned in (True, False):
        for scenario, concurrencies in MATRIX:
            for concurrency in concurrencies:
                for server in ("tradegraph", "ceiling"):
                    table[(pinned, scenario, concurrency, server)] = medians(
                        runs, scenario=scenario, concurrency=concurrency, server=server,
                        pinned=pinned, cached=False)
    for scenario in CACHED:
        for concurrency in READ_CONCURRENCY:
            for server in ("tradegraph", "ceiling"):
                table[("cached", scenario, concurrency, server)] = medians(
                    runs, scenario=scenario, concurrency=concurrency, server=server, cached=True)
    scaling = {variant: medians(runs, scenario="q3 scaling", variant=variant)
               for variant in SCALING}
    write_svg(table, svg_path)

    lines = [
        "# Benchmarks",
        "",
        "Generated by `benches/load.py` (load over HTTP) from the run below; the in-process",
        "benchmarks (`cargo bench --bench inprocess`) print their own figures and are not",
        "part of this file. Speed is measured here only, never asserted in the tests.",
        "The sections at the end come from other drivers, each its own run:",
        "`benches/storage.py` (two storage layouts), `benches/attack.py` (a victim under",
        "the costliest requests) and `benches/cluster.py` (\"On etcd\": the etcd backend",
        "against sled, two servers on one cluster, and how much a cluster holds).",
        "",
        "## This run",
        "",
        f"- Command: `{settings['command']}`"
        + (" (quick mode: one short run per measurement, figures are indicative only)"
           if settings["quick"] else ""),
        f"- Date: {machine['date']}; commit {machine['commit']}",
    ]
    lines += machine_lines(results, settings["note"])
    lines += [
        f"- Databases: {settings['shipments']:,} synthetic shipments (large) and"
        f" {settings['small_shipments']:,} (small), besides the seed records.",
        f"- Each figure is the median of {settings['runs']} pinned runs of"
        f" {settings['duration']} s per server (wrk, one thread), tradegraph and the ceiling"
        " alternating run by run; the unpinned and response-cache tables have one run each.",
        f"- Server log level `RUST_LOG={settings['rust_log']}` (a log line per request, as"
        " deployed).",
        # Runs recorded before the cost budget was on by default set no flags.
        *([f"- Flags on every tradegraph server: `{' '.join(settings['flags'])}` (the per-client"
           " cost budget is on by default and off here: wrk sends thousands of requests a"
           " second from one address)."] if settings.get("flags") else []),
        "",
        "## Method",
        "",
        "- tradegraph and the ceiling (`benches/ceiling.rs`: actix-web answering `POST /graphql`",
        "  with the exact response bytes tradegraph gave for the same request, captured before",
        "  the runs) serve the same request bodies. Ratio = tradegraph requests/s / ceiling",
        "  requests/s.",
        "- Pinned: both servers on core 0 (`taskset -c 0`, so each runs one actix worker) and",
        "  wrk on core 1. Unpinned: nothing pinned (two workers each, sharing both cores with",
        "  wrk).",
        "- Every response body is checked by `benches/wrk.lua`: reads must equal the captured",
        "  bytes; `createShipment` must answer a created shipment and no error. Any wrong",
        "  answer, socket error, non-2xx status or timeout marks the run failed. The checks",
        "  cost wrk the same per response for both servers.",
        "- Queries: `benches/scenarios.json`. Q3 filters by origin province CN-GD, orders by",
        "  departure date and starts after a cursor found by paging 90% of the way through"
        + (f" ({results['q3']['large']['position']:,} of {results['q3']['large']['total']:,}"
           f" on the large database, {results['q3']['small']['position']:,} of"
           f" {results['q3']['small']['total']:,} on the small one)." if "q3" in results else "."),
        "- M1 runs on the small database, with a write token; its shipments (from Jiangsu)",
        "  are outside every list the reads ask for.",
        "- Response cache: the read scenarios again, pinned, against a server started with",
        f"  `--response-cache-mb {RESPONSE_CACHE_MB}` (off by default; every write invalidates it),",
        "  after a one-second warm-up, so nearly every request is a repeated one.",
        "",
    ]
    for pinned, heading in ((True, "Pinned: server on core 0, wrk on core 1"),
                            (False, "Unpinned"),
                            ("cached", "Pinned, response cache on (`--response-cache-mb "
                             f"{RESPONSE_CACHE_MB}`; one run each)")):
        lines += [f"## {heading}", "",
                  "| scenario | conc. | tradegraph req/s | p50 ms | p99 ms "
                  "| ceiling req/s | p50 ms | p99 ms | ratio |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for scenario, concurrencies in MATRIX:
            for concurrency in concurrencies:
                ours = table.get((pinned, scenario, concurrency, "tradegraph"))
                ceiling = table.get((pinned, scenario, concurrency, "ceiling"))
                if not ours or not ceiling:
                    continue
                lines.append(
                    f"| {SCENARIOS[scenario]['title']} | {concurrency} | {fmt_rps(ours['rps'])}"
                    f" | {fmt_ms(ours['p50_ms'])} | {fmt_ms(ours['p99_ms'])}"
                    f" | {fmt_rps(ceiling['rps'])} | {fmt_ms(ceiling['p50_ms'])}"
                    f" | {fmt_ms(ceiling['p99_ms'])} | {ours['rps'] / ceiling['rps']:.3f} |")
        lines.append("")
    lines += ["![Throughput and p99 latency per scenario](benches/results.svg)", ""]

    lines += ["## Q3 scaling (pinned, concurrency 1)", "",
              "| variant | req/s | p50 ms | p99 ms |", "| --- | ---: | ---: | ---: |"]
    for variant, label in SCALING.items():
        if scaling[variant]:
            m = scaling[variant]
            lines.append(f"| {label} | {fmt_rps(m['rps'])} | {fmt_ms(m['p50_ms'])}"
                         f" | {fmt_ms(m['p99_ms'])} |")
    lines.append("")

    lines += ["## Targets", "",
              "Guides from the issue, each with what this run measured.", "",
              "| target | measured | verdict |", "| --- | --- | --- |"]
    lines += [target_row(*row) for row in targets(results, table, scaling)]
    lines.append("")

    lines += ["## Every run", "",
              "Requests/s of each run, in the order they ran (medians above).", "",
              "| phase | scenario | conc. | server | requests/s | failures |",
              "| --- | --- | ---: | --- | --- | --- |"]
    groups = {}
    for r in runs:
        name = r["variant"] if r["scenario"] == r["variant"] else f"{r['scenario']}: {r['variant']}"
        phase = "pinned" if r["pinned"] else "unpinned"
        if r.get("cached"):
            phase = "pinned, response cache on"
        key = (phase, name, r["concurrency"], r["server"])
        groups.setdefault(key, []).append(r)
    for (phase, name, concurrency, server), chosen in groups.items():
        failures = "; ".join(r["failure"] for r in chosen if r["failure"]) or "none"
        lines.append(f"| {phase} | {name} | {concurrency} | {server} | "
                     + ", ".join(fmt_rps(r["rps"]) for r in chosen) + f" | {failures} |")
    lines.append("")
    output.write_text("\n".join(lines) + kept_sections(output))


def targets(results, table, scaling):
    """(target, measured text, met: True/False/None, how far) for each guide."""
    rows = []

    def ratio(scenario, concurrency):
        ours = table[(True, scenario, concurrency, "tradegraph")]
        ceiling = table[(True, scenario, concurrency, "ceiling")]
        return ours and ceiling and ours["rps"] / ceiling["rps"]

    for scenario, goal in (("q1", 0.5), ("q2", 0.18)):
        value = ratio(scenario, 64)
        rows.append((f"{scenario.upper()} pinned c64 ≥ {goal} of ceiling",
                     value and f"{value:.3f}", value and value >= goal,
                     value and share(value, goal, "target")))
    large, small, first = (scaling.get(v) for v in ("q3", "q3small", "q3first"))
    n_large = results["settings"]["shipments"]
    n_small = results["settings"]["small_shipments"]
    # Says so when the databases are not the sizes the targets name.
    sizes = "" if (n_large, n_small) == (1_000_000, 10_000) else f" (here {n_large:,} vs {n_small:,})"
    large_size = "" if n_large == 1_000_000 else f" (here {n_large:,})"
    if large and small:
        value = large["p50_ms"] / small["p50_ms"]
        rows.append((f"Q3 p50 at 1,000,000 ≤ 1.5× p50 at 10,000{sizes}",
                     f"{fmt_ms(large['p50_ms'])} ms vs {fmt_ms(small['p50_ms'])} ms: {value:.2f}×",
                     value <= 1.5, share(value, 1.5, "allowed factor")))
    if large and first:
        value = large["p50_ms"] / first["p50_ms"]
        rows.append(("Q3 90%-deep page p50 ≤ 1.5× first page",
                     f"{fmt_ms(large['p50_ms'])} ms vs {fmt_ms(first['p50_ms'])} ms: {value:.2f}×",
                     value <= 1.5, share(value, 1.5, "allowed factor")))
    q3 = table[(True, "q3", 16, "tradegraph")]
    if q3:
        rows.append(("Q3 p99 at c16 < 5 ms (pinned)", f"{fmt_ms(q3['p99_ms'])} ms",
                     q3["p99_ms"] < 5, share(q3["p99_ms"], 5, "limit")))
    seeded = results.get("seed_seconds")
    rows.append((f"seeding 1,000,000 synthetic shipments < 45 s{large_size}",
                 seeded and f"{seeded:.1f} s", seeded and seeded < 45,
                 seeded and share(seeded, 45, "limit")))
    opened = results.get("open")
    if opened:
        value = statistics.median(opened["seconds"])
        cache = "page cache dropped first" if opened["page_cache_dropped"] else "warm page cache"
        rows.append((f"open a 1M database and answer a first query < 2 s{large_size}",
                     f"{value:.2f} s (median of {', '.join(f'{s:.2f}' for s in opened['seconds'])} s;"
                     f" {cache})", value < 2, share(value, 2, "limit")))
    peak = max((r["wrk"]["rss_mib"] for r in results["runs"]
                if r["server"] == "tradegraph" and r["scenario"] in ("q2", "q3")
                and r["concurrency"] == 64 and not r.get("cached")), default=None)
    rows.append(("RSS serving Q2/Q3 at c64 on the large database < 256 MiB",
                 peak and f"{peak:.1f} MiB (highest sample)", peak and peak < 256,
                 peak and share(peak, 256, "limit")))
    cached = [(scenario, table.get(("cached", scenario, 64, "tradegraph")),
               table.get(("cached", scenario, 64, "ceiling"))) for scenario in CACHED]
    cached = [(scenario, ours["rps"] / ceiling["rps"]) for scenario, ours, ceiling in cached
              if ours and ceiling]
    if cached:
        worst = min(value for _, value in cached)
        rows.append(("repeated queries with the response cache ≥ 0.8 of ceiling (pinned c64)",
                     ", ".join(f"{scenario.upper()} {value:.3f}" for scenario, value in cached),
                     worst >= 0.8, share(worst, 0.8, "target, for the lowest")))
    for pinned in (True, False):
        m1 = table[(pinned, "m1", 64, "tradegraph")]
        if m1:
            rows.append((f"durable createShipment at c64 ≥ 2,000/s ({'pinned' if pinned else 'unpinned'})",
                         f"{fmt_rps(m1['rps'])}/s", m1["rps"] >= 2000,
                         share(m1["rps"], 2000, "target")))
    return rows


def share(value, bound, what):
    """How a figure compares with its bound, in words."""
    factor = value / bound
    return f"{factor:.0%} of the {what}" if factor < 2 else f"{factor:.1f}× the {what}"


def target_row(target, measured, met, how_far):
    if measured is None:
        return f"| {target} | not measured in this run | — |"
    verdict = "met" if met else "missed"
    return f"| {target} | {measured} | {verdict} ({how_far}) |"


# BENCHMARKS.md is this script's report, then a section from each other
# driver (benches/storage.py, benches/attack.py, benches/cluster.py), each
# from its marker up to the next driver's marker or the end. This script
# rewrites everything above the first marker and keeps the rest as it is;
# each other driver replaces its own section only (write_section). Every
# marker starts so:
MARKER_START = "<!-- benches/"


def section_marker(script):
    """The line a driver's section in BENCHMARKS.md starts with."""
    return f"{MARKER_START}{script} writes from here on -->"


def kept_sections(output):
    """The other drivers' sections of the report being replaced, if it has any."""
    if not output.exists():
        return ""
    old = output.read_text()
    at = old.find(MARKER_START)
    return "" if at < 0 else "\n" + old[at:]


def machine_lines(results, note):
    """The report's lines on the machine: what it is, how loaded it was at the
    start and the end of the run, and what else it was doing (`--note`)."""
    machine = results["machine"]
    lines = [
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB,"
        f" Linux {machine['kernel']}; {machine['rustc']}; {machine['wrk']}",
        f"- Load average (1, 5, 15 min) at the start: {results['started']['loadavg']},"
        f" at the end: {results['finished']['loadavg']}. Busiest processes at the start (CPU"
        " share over each one's life, from ps):"
        f" {', '.join(results['started']['busiest'])}.",
    ]
    if note:
        lines.append(f"- Machine state: {note}")
    return lines


def write_section(path, script, report):
    """Puts a driver's report into BENCHMARKS.md after its marker, in place of
    the section there (up to the next driver's marker), or at the end."""
    marker = section_marker(script)
    text = path.read_text() if path.exists() else ""
    at = text.find(marker)
    if at < 0:
        head, tail = text, ""
    else:
        head = text[:at]
        following = text.find(MARKER_START, at + len(marker))
        tail = "" if following < 0 else text[following:]
    section = f"{marker}\n\n{report.rstrip()}\n"
    path.write_text(head.rstrip("\n") + "\n\n" + section + ("\n" + tail if tail else ""))


def write_svg(table, path):
    """Two bar charts, throughput and p99 latency, per scenario and
    concurrency: tradegraph and the ceiling, pinned medians, log scales."""
    groups = [(scenario, concurrency) for scenario, concurrencies in MATRIX
              for concurrency in concurrencies
              if table[(True, scenario, concurrency, "tradegraph")]
              and table[(True, scenario, concurrency, "ceiling")]]
    colours = {"tradegraph": "#1f77b4", "ceiling": "#bbbbbb"}
    left, group_width, bar, plot_height, top = 70, 46, 16, 220, 50
    width = left + group_width * max(len(groups), 1) + 20
    panels = [("throughput, requests/s (pinned, log scale)", "rps", fmt_rps),
              ("p99 latency, ms (pinned, log scale)", "p99_ms", lambda ms: f"{ms:g}")]
    height = top + len(panels) * (plot_height + 90) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">tradegraph and its ceiling, per scenario'
           ' and concurrency</text>']
    for i, (server, colour) in enumerate(colours.items()):
        x = left + i * 110
        out.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 16}" y="36">{server}</text>')
    for index, (title, key, fmt) in enumerate(panels):
        y0 = top + index * (plot_height + 90)
        values = [table[(True, s, c, server)][key] for s, c in groups
                  for server in colours if table[(True, s, c, server)][key] > 0]
        if not values:
            continue
        low = 10 ** math.floor(math.log10(min(values)))
        high = 10 ** math.ceil(math.log10(max(values)))
        if high <= low:
            high = low * 10

        def y(value):
            fraction = (math.log10(max(value, low)) - math.log10(low)) / (
                math.log10(high) - math.log10(low))
            return y0 + 20 + plot_height * (1 - fraction)

        out.append(f'<text x="{left}" y="{y0 + 12}" font-size="12">{title}</text>')
        tick = low
        while tick <= high * 1.0001:
            out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"'
                       ' stroke="#e5e5e5"/>'
                       f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                       f'{fmt(tick)}</text>')
            tick *= 10
        for g, (scenario, concurrency) in enumerate(groups):
            x0 = left + g * group_width + 6
            for b, (server, colour) in enumerate(colours.items()):
                value = table[(True, scenario, concurrency, server)][key]
                top_y = y(value)
                out.append(f'<rect x="{x0 + b * bar}" y="{top_y:.1f}" width="{bar - 2}" '
                           f'height="{y0 + 20 + plot_height - top_y:.1f}" fill="{colour}">'
                           f'<title>{scenario} c{concurrency} {server}: {fmt(value)}</title></rect>')
            base = y0 + 20 + plot_height
            out.append(f'<text x="{x0 + bar}" y="{base + 14}" text-anchor="middle">'
                       f'{scenario}</text>'
                       f'<text x="{x0 + bar}" y="{base + 27}" text-anchor="middle">'
                       f'c{concurrency}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
