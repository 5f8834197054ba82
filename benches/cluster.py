#!/usr/bin/env python3
"""The etcd benchmark: tradegraph on a 3-member etcd cluster, against sled.

    python3 benches/cluster.py            # the full run (about 20 minutes)
    python3 benches/cluster.py --quick    # 1 run of 2 s each, 2,000 and 5,000 shipments

It builds the server with the etcd backend (`cargo build --release --features
etcd`, binaries in --target-dir, default $CARGO_TARGET_DIR or target), starts
three etcd members on loopback with tests/etcd/cluster.sh (ports shifted by
ETCD_PORT_BASE=--port-base, 300 unless told), and seeds the cluster and a sled
database with the same --shipments synthetic shipments (each seeding timed).
Then, with benches/load.py's requests, checks and wrk driver:

  matrix        Q1 to Q4 at concurrency 1, 16 and 64 and M1 (durable
                createShipment) at 1, 8 and 64, as load.py runs them, on one
                server over etcd and one over sled, the two alternating run by
                run; every read answer of both must equal the bytes the sled
                server answered first (so the etcd server's answers equal
                sled's), every createShipment must answer a created shipment;
  two servers   M1 at c=64 split over two servers on the same etcd prefix
                (two wrk processes of c=32 at once, summed), against one
                server at c=64 on etcd and one on sled, in turns;
  capacity      a fresh cluster seeded with its seed records, then with
                --capacity-shipments synthetic shipments (timed); each
                member's dbSize and dbSizeInUse (etcd's JSON gateway) after a
                compaction and a defragmentation, its data directory on disk
                and its memory; from them the bytes per shipment, the
                shipments under etcd's recommended 8 GiB quota, and what
                three members fit on this machine's disk and memory.

Nothing is pinned (taskset): the etcd members need CPU as much as the server,
and on two cores any pinning would hand one side a core of its own. The
section goes into BENCHMARKS.md (--benchmarks) after this script's marker,
which benches/load.py keeps when it rewrites the file; results.json goes to
--work-dir. The exit status is 1 when a run failed its checks.
"""

import argparse
import http.client
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHES))
# No benches/__pycache__ left in the work tree by the import.
sys.dont_write_bytecode = True
import load  # noqa: E402  (benches/load.py: servers, requests, wrk, machine state, sections)

ROOT = load.ROOT
CLUSTER_SH = ROOT / "tests" / "etcd" / "cluster.sh"
MEMBERS = 3
PREFIX = "bench/"
READS = ["q1", "q2", "q3", "q4"]
# M1 across servers: the total concurrency, split evenly over the servers.
SPLIT_CONCURRENCY = 64
SPLIT_SERVERS = 2
# etcd's recommended largest --quota-backend-bytes.
QUOTA_BYTES = 8 << 30
GIB = 1 << 30


def main():
    args = parse_args()
    work = Path(args.work_dir)
    if args.report_only:
        results = json.loads(Path(args.report_only).read_text())
    else:
        results = run(args, work)
        saved = work / "results.json"
        saved.write_text(json.dumps(results, indent=1))
        print(f"raw results: {saved}")
    if "wrong_answers" not in results:
        results["wrong_answers"] = wrong_answers(work)
    report = write_report(results)
    (work / "cluster.md").write_text(report)
    if args.benchmarks:
        load.write_section(Path(args.benchmarks), "cluster.py", report)
    print()
    print(report)
    failures = [r for r in results["runs"] if r["failure"]]
    if failures:
        print(f"{len(failures)} runs failed their checks", file=sys.stderr)
        sys.exit(1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1 run of 2 s, 2,000 shipments, capacity at 5,000 (unless the"
                             " flags below say otherwise): to check that the script works")
    parser.add_argument("--shipments", type=int,
                        help="synthetic shipments of the compared databases (default 10,000)")
    parser.add_argument("--capacity-shipments", type=int,
                        help="synthetic shipments of the capacity cluster (default 100,000)")
    parser.add_argument("--runs", type=int, help="runs per server and measurement (default 3)")
    parser.add_argument("--duration", type=int, help="seconds per run (default 10)")
    parser.add_argument("--port-base", type=int, default=300,
                        help="ETCD_PORT_BASE of tests/etcd/cluster.sh (default 300)")
    parser.add_argument("--target-dir",
                        default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")),
                        help="cargo's target directory (default $CARGO_TARGET_DIR, else target)")
    parser.add_argument("--skip-build", action="store_true",
                        help="use the release binaries as built (with --features etcd)")
    parser.add_argument("--work-dir", default=str(ROOT / "target" / "bench-cluster"),
                        help="the sled database, logs and raw results (default"
                             " target/bench-cluster)")
    parser.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"),
                        help="the file whose section this script writes (default BENCHMARKS.md;"
                             " empty: none)")
    parser.add_argument("--report-only", metavar="RESULTS_JSON",
                        help="only write the report from a saved results.json")
    parser.add_argument("--rust-log", default="info",
                        help="RUST_LOG of the servers (default info, as deployed)")
    parser.add_argument("--note", default="", help="what else the machine was doing")
    args = parser.parse_args()
    defaults = ((2, 2_000, 5_000, 1) if args.quick else (10, 10_000, 100_000, 3))
    for name, value in zip(("duration", "shipments", "capacity_shipments", "runs"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


# ---------------------------------------------------------------- the run

def run(args, work):
    load.ensure_wrk()
    target = Path(args.target_dir)
    if not target.is_absolute():
        target = ROOT / target
    build = ["cargo", "build", "--release", "--features", "etcd"]
    if not args.skip_build:
        load.step(shlex.join(build))
        subprocess.run(build, cwd=ROOT, check=True,
                       env=dict(os.environ, CARGO_TARGET_DIR=str(target)))
    binaries = {name: target / "release" / name for name in ("tradegraph", "seed")}
    for folder in ("requests", "bodies", "logs"):
        shutil.rmtree(work / folder, ignore_errors=True)
        (work / folder).mkdir(parents=True)
    # benches/wrk.lua appends each run's first wrong answer here, whole.
    os.environ["WRK_WRONG_FILE"] = str(work / "logs" / "wrong-answers.txt")
    results = {
        "settings": {"shipments": args.shipments, "capacity_shipments": args.capacity_shipments,
                     "runs": args.runs, "duration": args.duration, "rust_log": args.rust_log,
                     "flags": load.BENCHMARK_FLAGS, "quick": args.quick, "note": args.note,
                     "members": MEMBERS, "port_base": args.port_base,
                     "build": f"CARGO_TARGET_DIR={target} {shlex.join(build)}",
                     "command": shlex.join(["python3", "benches/cluster.py"]
                                           + load.without_note(sys.argv[1:]))},
        "machine": load.describe_machine(),
        "etcd": subprocess.run(["etcd", "--version"], capture_output=True,
                               text=True).stdout.splitlines()[0],
        "started": load.machine_state(),
        "runs": [],
    }
    token, token_hash = load.make_token(binaries["tradegraph"])
    sled_dir = work / f"db-sled-{args.shipments}"
    results["seed_seconds"] = {
        "sled": load.seed(binaries["seed"], sled_dir, args.shipments, reuse=False)}
    with Cluster("bench", args.port_base, work) as cluster:
        results["seed_seconds"]["etcd"] = seed_etcd(binaries["seed"], cluster, args.shipments)
        compare(args, binaries, work, cluster, sled_dir, token, token_hash, results)
    with Cluster("capacity", args.port_base, work) as cluster:
        results["capacity"] = measure_capacity(args, binaries, work, cluster)
    results["finished"] = load.machine_state()
    return results


def compare(args, binaries, work, cluster, sled_dir, token, token_hash, results):
    """The matrix, then M1 across two servers."""
    def etcd_server(label):
        return load.Server.tradegraph_on(binaries["tradegraph"], cluster.store_flags(), work,
                                         label, None, args.rust_log, token_hash,
                                         extra=load.BENCHMARK_FLAGS, name="etcd")

    sled = load.Server.tradegraph_on(binaries["tradegraph"], ["--data-dir", str(sled_dir)],
                                     work, "sled", None, args.rust_log, token_hash,
                                     extra=load.BENCHMARK_FLAGS, name="sled")
    etcd = etcd_server("etcd")
    second = etcd_server("etcd-second")
    try:
        load.step("starting the servers (unpinned)")
        sled.start()
        etcd.start()
        results["q3"] = prepare_requests(sled, etcd, work)
        runs = load.Load(work, args.duration, False, token, results["runs"])
        for scenario, concurrencies in load.MATRIX:
            load.step(f"{scenario}: etcd and sled")
            runs.warm_up(scenario, [sled, etcd])
            for concurrency in concurrencies:
                for run_number in range(args.runs):
                    order = [etcd, sled] if run_number % 2 == 0 else [sled, etcd]
                    for server in order:
                        runs.measure(scenario, scenario, server, concurrency, run_number)
        load.step(f"m1 at c{SPLIT_CONCURRENCY}: two servers on one prefix, one on etcd, one"
                  " on sled")
        second.start()
        runs.warm_up("m1", [second])
        turns = ["two", "etcd", "sled"]
        for run_number in range(args.runs):
            for turn in turns[run_number % 3:] + turns[:run_number % 3]:
                if turn == "two":
                    measure_split(runs, [etcd, second], run_number)
                else:
                    runs.measure("m1 split", "m1", etcd if turn == "etcd" else sled,
                                 SPLIT_CONCURRENCY, run_number)
    finally:
        for server in (sled, etcd, second):
            server.stop()


def prepare_requests(sled, etcd, work):
    """Writes the requests, captures the sled server's answers as the bytes
    both servers' answers are checked against, and makes sure the etcd server
    answers the same bytes now; Q3 starts 90% of the way into its list, found
    by paging on each server (the cursors must agree)."""
    load.step("preparing requests and capturing expected bodies")
    cursors = {name: load.deep_cursor(server.port, load.request_body)
               for name, server in (("sled", sled), ("etcd", etcd))}
    if cursors["sled"] != cursors["etcd"]:
        raise RuntimeError(f"q3: the deep cursors differ: {cursors}")
    for scenario in READS:
        variables = {"after": cursors["sled"]["cursor"]} if scenario == "q3" else {}
        expected = load.capture(work, scenario, sled, load.request_body(scenario, **variables))
        status, answer = load.post(etcd.port, scenario,
                                   (work / "requests" / f"{scenario}.json").read_bytes())
        if status != 200 or answer != expected:
            raise RuntimeError(f"{scenario}: the etcd server answers {status} {answer[:300]!r},"
                               f" the sled server {expected[:300]!r}")
    # No shipment is created here: one would join Q2's list (it has no
    # filter), so every read runs before the first write (M1 is the
    # matrix's last), and M1's warm-up checks its answers.
    (work / "requests" / "m1.json").write_bytes(load.request_body("m1"))
    return cursors["sled"]


def measure_split(runs, servers, run_number):
    """M1 through several servers at once, one wrk each, at an even share of
    SPLIT_CONCURRENCY: one record per server, and one of their sum."""
    share = SPLIT_CONCURRENCY // len(servers)
    figures = [None] * len(servers)

    def drive(index):
        figures[index] = runs.wrk("m1", servers[index], share, runs.duration)

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if any(f is None for f in figures):
        raise RuntimeError("a wrk of the two-server run failed (see above)")
    for index, part in enumerate(figures):
        runs.record("m1 split part", "m1", f"etcd #{index + 1}", share, run_number, part)
    total = {key: sum(f[key] for f in figures)
             for key in ("requests", "checked", "wrong", "socket_errors", "status_errors",
                         "timeouts")}
    # wrk's percentiles do not add up: the sum's are the worse of the parts'.
    # Both ran for the same seconds; the longer one's divides the sum.
    total.update(duration_us=max(f["duration_us"] for f in figures),
                 p50_us=max(f["p50_us"] for f in figures),
                 p99_us=max(f["p99_us"] for f in figures),
                 max_us=max(f["max_us"] for f in figures),
                 mean_us=statistics.mean(f["mean_us"] for f in figures),
                 first_wrong=next((f["first_wrong"] for f in figures if f["first_wrong"]), ""),
                 rss_mib=max(f["rss_mib"] for f in figures))
    runs.record("m1 split", "m1", f"etcd ×{len(servers)}", SPLIT_CONCURRENCY, run_number, total)


def seed_etcd(binary, cluster, n_shipments):
    """Seeds the cluster's prefix with n synthetic shipments; returns the seconds."""
    load.step(f"seeding etcd ({PREFIX}) with {n_shipments:,} synthetic shipments")
    start = time.monotonic()
    subprocess.run([str(binary), *cluster.store_flags(), "--synthetic-shipments",
                    str(n_shipments)], check=True, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    print(f"   {seconds:.1f} s")
    return seconds


def measure_capacity(args, binaries, work, cluster):
    """Sizes of a fresh cluster with the seed records alone, then with the
    capacity shipments; a server's start and memory on it."""
    result = {"shipments": args.capacity_shipments}
    seed_etcd(binaries["seed"], cluster, 0)
    result["empty"] = cluster.sizes()
    result["seed_seconds"] = seed_etcd(binaries["seed"], cluster, args.capacity_shipments)
    result["before_compaction"] = cluster.sizes()
    load.step("compacting and defragmenting")
    result["compacted_at"] = cluster.compact_and_defragment()
    result["full"] = cluster.sizes()
    load.step(f"a server on {args.capacity_shipments:,} shipments")
    server = load.Server.tradegraph_on(binaries["tradegraph"], cluster.store_flags(), work,
                                       "capacity", None, args.rust_log,
                                       extra=load.BENCHMARK_FLAGS, name="etcd")
    start = time.monotonic()
    try:
        server.start()
        result["server_ready_seconds"] = time.monotonic() - start
        result["server_rss_mib"] = round(server.rss_mib(), 1)
    finally:
        server.stop()
    disk = shutil.disk_usage(cluster.root)
    meminfo = {line.split(":")[0]: int(line.split()[1]) * 1024
               for line in Path("/proc/meminfo").read_text().splitlines()}
    result["machine"] = {"disk_total": disk.total, "disk_free": disk.free,
                         "disk_path": str(cluster.root),
                         "memory_total": meminfo["MemTotal"],
                         "memory_available": meminfo["MemAvailable"],
                         "df": subprocess.run(["df", "-h", "/work"], capture_output=True,
                                              text=True).stdout.strip(),
                         "free": subprocess.run(["free", "-g"], capture_output=True,
                                                text=True).stdout.strip()}
    return result


class Cluster:
    """etcd members on loopback, started by tests/etcd/cluster.sh in a bash
    that lives as long as the cluster: closing its input ends it, and its
    EXIT trap kills the members and removes their data."""

    def __init__(self, name, port_base, work):
        self.name = name
        self.port_base = port_base
        self.log = work / "logs" / f"cluster-{name}.log"
        self.process = None

    def __enter__(self):
        load.step(f"starting {MEMBERS} etcd members ({self.name}, ETCD_PORT_BASE"
                  f" {self.port_base})")
        script = (f'source {shlex.quote(str(CLUSTER_SH))} && etcd_install >&2'
                  f' && etcd_start_cluster {self.name} {MEMBERS} || exit 1\n'
                  'echo "$ETCD_URLS"; echo "$ETCD_ROOT"; echo "${ETCD_PIDS[*]}"\n'
                  'read -r _\n')
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, env=dict(os.environ, ETCD_PORT_BASE=str(self.port_base)))
        lines = [self.process.stdout.readline().decode().strip() for _ in range(3)]
        if not all(lines):
            self.process.wait()
            raise RuntimeError(f"the etcd cluster did not start; see {self.log}")
        self.urls = lines[0].split(",")
        self.root = Path(lines[1])
        self.pids = [int(pid) for pid in lines[2].split()]
        return self

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait()

    def store_flags(self):
        return ["--etcd", ",".join(self.urls), "--etcd-prefix", PREFIX]

    def call(self, url, path, body):
        """A POST to a member's JSON gateway; its JSON answer."""
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        try:
            connection.request("POST", path, json.dumps(body),
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                raise RuntimeError(f"{url}{path}: {response.status} {answer[:300]!r}")
            return json.loads(answer)
        finally:
            connection.close()

    def sizes(self):
        """Each member's backend sizes, data directory on disk and memory."""
        members = []
        for index, url in enumerate(self.urls):
            status = self.call(url, "/v3/maintenance/status", {})
            directory = self.root / f"{self.name}{index}"
            members.append({
                "url": url,
                "revision": int(status["header"]["revision"]),
                "db_size": int(status["dbSize"]),
                "db_size_in_use": int(status.get("dbSizeInUse", status["dbSize"])),
                "disk": directory_bytes(directory),
                "wal": directory_bytes(directory / "member" / "wal"),
                "rss": process_rss(self.pids[index]),
            })
        return members

    def compact_and_defragment(self):
        """Compacts away every revision older than the current one, then
        defragments each member; returns the revision compacted at."""
        revision = self.sizes()[0]["revision"]
        self.call(self.urls[0], "/v3/kv/compaction", {"revision": str(revision),
                                                      "physical": True})
        for url in self.urls:
            self.call(url, "/v3/maintenance/defragment", {})
        return revision


def directory_bytes(path):
    """Bytes a directory takes on disk (du)."""
    output = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(output.stdout.split()[0]) if output.returncode == 0 else 0


def process_rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def wrong_answers(work):
    """The wrong answers benches/wrk.lua kept whole, each told apart: the
    data of an expected body exactly (as JSON, fields in any order), or not."""
    path = work / "logs" / "wrong-answers.txt"
    if not path.exists():
        return []
    bodies = {p.stem: p.read_bytes() for p in (work / "bodies").glob("*.json")}
    found = []
    for line in path.read_bytes().splitlines():
        status, _, body = line.partition(b" ")
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        variant = next((v for v, b in bodies.items() if json.loads(b) == answer), None)
        wrong = {"status": status.decode(), "same_data_as": variant, "body": body[:300].decode()}
        if variant:
            expected = bodies[variant]
            at = next((i for i, (x, y) in enumerate(zip(body, expected)) if x != y),
                      min(len(body), len(expected)))
            wrong.update(offset=at, got=body[max(at - 40, 0):at + 80].decode(),
                         expected=expected[max(at - 40, 0):at + 80].decode())
        found.append(wrong)
    return found


# ---------------------------------------------------------------- the report

def write_report(results):
    settings = results["settings"]
    machine = results["machine"]
    runs = results["runs"]
    seeded = results["seed_seconds"]
    quick = (" (quick mode: one short run per measurement, figures are indicative only)"
             if settings["quick"] else "")
    lines = [
        "## On etcd",
        "",
        "Generated by `benches/cluster.py`: tradegraph on a 3-member etcd cluster against"
        " tradegraph on sled, measured in this one run on the same machine.",
        "",
        f"- Command: `{settings['command']}`{quick}; build: `{settings['build']}`",
        f"- Date: {machine['date']}; commit {machine['commit']}; {results['etcd']}",
    ]
    lines += load.machine_lines(results, settings["note"])
    lines += [
        f"- Database: {settings['shipments']:,} synthetic shipments besides the seed records,"
        f" seeded by `seed --synthetic-shipments {settings['shipments']}` into a sled"
        f" directory ({seeded['sled']:.1f} s) and under the prefix `{PREFIX}` of the cluster"
        f" ({seeded['etcd']:.1f} s).",
        f"- Cluster: {settings['members']} members on loopback, started by"
        " `tests/etcd/cluster.sh` (`etcd_start_cluster`, ETCD_PORT_BASE"
        f" {settings['port_base']}; revision auto-compaction keeping 100,000, quota 2 GiB,"
        " data directories on the same disk as the sled database). The server is given all"
        " three client URLs.",
        f"- Each figure is the median of {settings['runs']} runs of {settings['duration']} s"
        " per server (wrk, one thread), the etcd and the sled server alternating run by run."
        " Concurrencies and requests are load.py's (`benches/scenarios.json`); Q3 starts"
        f" {results['q3']['position']:,} of {results['q3']['total']:,} into its list.",
        "- Nothing is pinned: on 2 cores the three etcd members, the server and wrk share both"
        " cores, as the sled server and wrk do. Pinning the server to one core, as load.py"
        " does, would leave the members and wrk one core between them, and give sled's"
        " in-process store a core etcd's does not get.",
        "- Every answer is checked (`benches/wrk.lua`): each read must equal the bytes the"
        " sled server answered before the runs, which the etcd server was first shown to"
        " answer too, so every etcd read answer equals sled's; each `createShipment` must"
        " answer a created shipment and no error (each one acknowledged only once durable:"
        " in sled flushed, on etcd committed by a quorum). A wrong answer, socket error,"
        " non-2xx status or timeout fails the run.",
        f"- Flags on every server: `{' '.join(settings['flags'])}`, and a write token;"
        f" `RUST_LOG={settings['rust_log']}`.",
        "",
        "### etcd against sled",
        "",
        "| scenario | conc. | etcd req/s | p50 ms | p99 ms | sled req/s | p50 ms | p99 ms"
        " | etcd/sled |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, concurrencies in load.MATRIX:
        for concurrency in concurrencies:
            etcd, sled = (load.medians(runs, scenario=scenario, concurrency=concurrency,
                                       server=name) for name in ("etcd", "sled"))
            if etcd and sled:
                lines.append(f"| {load.SCENARIOS[scenario]['title']} | {concurrency}"
                             f" | {figures(etcd)} | {figures(sled)}"
                             f" | {etcd['rps'] / sled['rps']:.3f} |")
    lines += [
        "",
        f"### M1 at c={SPLIT_CONCURRENCY} across two servers",
        "",
        f"Two servers on the same prefix, each driven by its own wrk at"
        f" c={SPLIT_CONCURRENCY // SPLIT_SERVERS} at the same time (requests/s summed; p50"
        " and p99 the worse of the two), against one server at"
        f" c={SPLIT_CONCURRENCY} on etcd and one on sled; the three took turns run by run.",
        "",
        "| servers | conc. | req/s | p50 ms | p99 ms | vs one on etcd | vs one on sled |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    split = {name: load.medians(runs, scenario="m1 split", server=name)
             for name in (f"etcd ×{SPLIT_SERVERS}", "etcd", "sled")}
    labels = {f"etcd ×{SPLIT_SERVERS}": f"two on etcd (c={SPLIT_CONCURRENCY // SPLIT_SERVERS}"
                                        " each)",
              "etcd": "one on etcd", "sled": "one on sled"}
    for name, m in split.items():
        if m and split["etcd"] and split["sled"]:
            lines.append(f"| {labels[name]} | {SPLIT_CONCURRENCY} | {figures(m)}"
                         f" | {m['rps'] / split['etcd']['rps']:.3f}"
                         f" | {m['rps'] / split['sled']['rps']:.3f} |")
    parts = [r for r in runs if r["scenario"] == "m1 split part"]
    if parts:
        lines += ["", "Each part of the two-server runs, in order: "
                  + ", ".join(f"{r['server']} {load.fmt_rps(r['rps'])}/s (p99"
                              f" {load.fmt_ms(r['p99_ms'])} ms)" for r in parts) + "."]
    lines += [""] + capacity_lines(results["capacity"])
    lines += wrong_lines(results)
    lines += ["", "### Every run", "",
              "Requests/s of each run, in the order they ran (medians above).", "",
              "| measurement | conc. | server | requests/s | failures |",
              "| --- | ---: | --- | --- | --- |"]
    groups = {}
    for r in runs:
        groups.setdefault((r["scenario"], r["concurrency"], r["server"]), []).append(r)
    for (scenario, concurrency, server), chosen in groups.items():
        failures = "; ".join(r["failure"] for r in chosen if r["failure"]) or "none"
        lines.append(f"| {scenario} | {concurrency} | {server} | "
                     + ", ".join(load.fmt_rps(r["rps"]) for r in chosen) + f" | {failures} |")
    return "\n".join(lines) + "\n"


def wrong_lines(results):
    """What the failed runs' wrong answers were, if any run failed."""
    failed = [r for r in results["runs"] if r["failure"]]
    if not failed:
        return []
    wrong = results.get("wrong_answers", [])
    reordered = [w for w in wrong if w["same_data_as"]]
    lines = [
        "",
        "### Wrong answers",
        "",
        f"{len(failed)} runs failed their checks, with"
        f" {sum(r['wrk']['wrong'] for r in failed):,} wrong answers in all (see Every run),"
        " all of them counted in the figures above. `benches/wrk.lua` kept the first of each"
        f" run whole: {len(reordered)} of those {len(wrong)} hold exactly the data of the"
        " expected answer, with the fields of an object in another order; the check compares"
        " bytes, so they count as wrong.",
    ]
    for w in reordered[:2]:
        lines += ["", f"- {w['same_data_as']}, from byte {w['offset']:,}:",
                  f"  - answered `…{w['got']}…`", f"  - expected `…{w['expected']}…`"]
    return lines


def figures(m):
    return f"{load.fmt_rps(m['rps'])} | {load.fmt_ms(m['p50_ms'])} | {load.fmt_ms(m['p99_ms'])}"


def capacity_lines(capacity):
    n = capacity["shipments"]
    empty, before, full = capacity["empty"], capacity["before_compaction"], capacity["full"]
    # The members hold the same keys; their files differ a little.
    largest = max(m["db_size"] for m in full)
    per_shipment = (largest - max(m["db_size"] for m in empty)) / n
    disk_per_shipment = (max(m["disk"] for m in full) - max(m["disk"] for m in empty)) / n
    quota_shipments = (QUOTA_BYTES - max(m["db_size"] for m in empty)) / per_shipment
    machine = capacity["machine"]
    # Three full copies on one disk; the members' files are memory-mapped, and
    # a member's file past the memory the three can share is read from disk.
    disk_shipments = machine["disk_free"] / MEMBERS / disk_per_shipment
    memory_shipments = machine["memory_available"] / MEMBERS / per_shipment
    holds, binding = min((quota_shipments, "8 GiB quota"), (disk_shipments, "disk"))
    lines = [
        "### How much a cluster holds",
        "",
        f"A fresh 3-member cluster, seeded with its seed records, then with {n:,} synthetic"
        f" shipments in {capacity['seed_seconds']:.1f} s ({n / capacity['seed_seconds']:,.0f}"
        " shipments/s). Sizes from each member's `POST /v3/maintenance/status` (etcd's JSON"
        " gateway): `dbSize` is the backend file, the figure the quota counts; `dbSizeInUse`"
        " the pages in it that hold data. Then every revision before the last was compacted"
        f" (`/v3/kv/compaction` at {capacity['compacted_at']:,}) and each member defragmented"
        " (`/v3/maintenance/defragment`). Disk is the member's data directory (`du`: backend"
        " and write-ahead log), memory its resident set.",
        "",
        "| member | state | dbSize | dbSizeInUse | data dir on disk | of it WAL | RSS |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for state, members in (("seed records only", empty), (f"{n:,} shipments", before),
                           ("after compaction and defragment", full)):
        for index, m in enumerate(members):
            lines.append(f"| {index} | {state} | {mib(m['db_size'])} | {mib(m['db_size_in_use'])}"
                         f" | {mib(m['disk'])} | {mib(m['wal'])} | {mib(m['rss'])} |")
    lines += [
        "",
        f"- Bytes per shipment: **{per_shipment:,.0f}** in the backend file (largest member"
        f" after defragmenting, less the seed records' file, over {n:,}); on disk with the"
        f" write-ahead log, {disk_per_shipment:,.0f}.",
        f"- Under etcd's recommended quota of 8 GiB (`--quota-backend-bytes 8589934592`):"
        f" about **{quota_shipments / 1e6:,.1f} million shipments**, with no history kept."
        " Every update keeps the old value until compaction, so the history auto-compaction"
        " retains comes out of the same 8 GiB; and the quota counts the file, free pages too,"
        " which only a defragmentation returns.",
        f"- A server on {n:,} shipments got ready in {capacity['server_ready_seconds']:.1f} s"
        f" and held {capacity['server_rss_mib']:.0f} MiB resident.",
        f"- On this machine the three members keep full copies on the one disk and"
        f" memory-map them: the {gib(machine['disk_free'])} free on the disk of"
        f" `{machine['disk_path']}` hold three copies of about {disk_shipments / 1e6:,.0f}"
        f" million shipments ({disk_per_shipment:,.0f} bytes each with the log), and the"
        f" {gib(machine['memory_available'])} of available memory keep three backend files"
        f" of about {memory_shipments / 1e6:,.0f} million resident. So here the"
        f" {binding} binds first: about **{holds / 1e6:,.1f} million shipments**"
        + (f", of which about {memory_shipments / 1e6:,.0f} million with every member's file"
           " in memory (past that, reads fault pages in from disk)."
           if memory_shipments < holds else ", all of it in memory."),
        "",
        "```",
        machine["df"],
        machine["free"],
        "```",
    ]
    return lines


def mib(n_bytes):
    return f"{n_bytes / (1 << 20):,.1f} MiB"


def gib(n_bytes):
    return f"{n_bytes / GIB:,.1f} GiB"


if __name__ == "__main__":
    main()
