#!/usr/bin/env python3
"""The storage benchmark: one storage layout against another, in one run.

    python3 benches/storage.py --before DIR             # the full run, 1,000,000 shipments
    python3 benches/storage.py --before DIR --quick --shipments 20000 \\
        --small-shipments 2000 --duration 3             # to try it out

DIR holds the "before" release binaries, `DIR/tradegraph` and `DIR/seed`
(an older release, built beforehand). The "after" binaries are built from
this tree (`cargo build --release --bins`, unless --skip-build), and so is
the key-space census, `benches/keyspace.rs` (`--example keyspace`), which
reads a database of either layout with plain sled. Release binaries are
looked for in $CARGO_TARGET_DIR/release (default target/release). To try
the script while this tree does not build, `--after DIR2` takes the "after"
binaries from DIR2 instead (and builds none of them), and `--keyspace BINARY`
names a census built elsewhere.

For each side it seeds --shipments synthetic shipments (timed) and a small
database of --small-shipments with that side's own `seed`, counts the keys
and bytes of every sled tree, times opening the large database and
answering a first Q1 with the page cache dropped (3 times), and then, with
every server pinned to core 0 and wrk on core 1 as in benches/load.py,
measures peak resident memory while serving Q2 and then Q3 (90% deep) at 64
connections, Q3's p50 at concurrency 1 on the large and the small database,
and durable createShipment (M1) at 64 connections on the small one: each
the median of --runs runs (3; 1 with --quick), the two sides alternating
run by run and the order flipping each time.

A newer server upgrades an older database when it opens it, so each side
keeps its databases in its own folder (WORK/before, WORK/after) and only its
own binaries ever open them.

It prints a Markdown section for BENCHMARKS.md and writes it to --output,
with the raw results in results.json beside it. It reuses benches/load.py's
building blocks (seeding, page-cache dropping, servers, wrk, medians).
"""

import argparse
import hashlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHES))
# No benches/__pycache__ left in the work tree by the import.
sys.dont_write_bytecode = True
import load  # noqa: E402  (benches/load.py, found through the path above)

ROOT = load.ROOT
SIDES = ("before", "after")


def flags(side):
    """The flags a side's servers get: the "after" side, built from this
    tree, has the per-client cost budget on by default, which would refuse
    wrk's one address, so it gets load.py's BENCHMARK_FLAGS; the "before"
    binaries are older releases that may not take them."""
    return load.BENCHMARK_FLAGS if side == "after" else ()
# The figures this benchmark measures with wrk, in the order they run:
# (name, scenario as load.py names its request, database, concurrency).
MEASUREMENTS = [
    ("q2 c64", "q2", "large", 64),
    ("q3 c64", "q3", "large", 64),
    ("q3 c1 large", "q3", "large", 1),
    ("q3 c1 small", "q3small", "small", 1),
    ("m1 c64", "m1", "small", 64),
]
OPEN_TIMES = 3


def main():
    args = parse_args()
    results = run(args)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    saved = output.parent / "results.json"
    saved.write_text(json.dumps(results, indent=1))
    report = write_report(results)
    output.write_text(report)
    if args.benchmarks:
        write_into_benchmarks(Path(args.benchmarks), report)
    print()
    print(report)
    print(f"wrote {output}; raw results: {saved}")
    failures = [r for r in results["runs"] if r["failure"]]
    if failures:
        print(f"{len(failures)} runs failed their checks: see {output}", file=sys.stderr)
        sys.exit(1)


def write_into_benchmarks(path, report):
    """Puts the report into BENCHMARKS.md after its marker, in place of the
    section there: load.py rewrites what is above the first marker and keeps
    the rest."""
    load.write_section(path, "storage.py", report)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, metavar="DIR",
                        help="the directory of the older release's `tradegraph` and `seed`")
    # The "after" side from prebuilt binaries instead of this tree: for trying
    # the script while the tree does not build (both sides the same binaries).
    parser.add_argument("--after", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--keyspace", metavar="BINARY",
                        help="the key-space census to run (default: the `keyspace` example,"
                             " built from this tree)")
    parser.add_argument("--quick", action="store_true",
                        help="one run of 3 s per figure (unless --runs/--duration say otherwise)")
    parser.add_argument("--shipments", type=int, default=1_000_000,
                        help="synthetic shipments in the large databases (default 1,000,000)")
    parser.add_argument("--small-shipments", type=int, default=10_000,
                        help="synthetic shipments in the small databases (default 10,000)")
    parser.add_argument("--runs", type=int,
                        help="wrk runs per side and figure, the median reported (default 3,"
                             " 1 with --quick)")
    parser.add_argument("--duration", type=int,
                        help="seconds per wrk run (default 10, 3 with --quick)")
    parser.add_argument("--work-dir", default=str(ROOT / "target" / "bench-storage"),
                        help="databases and logs (default target/bench-storage)")
    parser.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"),
                        help="also write the report at the end of this file, after load.py's marker "
                             "(empty: do not)")
    parser.add_argument("--output", default=str(ROOT / "target" / "bench-storage" / "storage.md"),
                        help="the Markdown section (default target/bench-storage/storage.md);"
                             " results.json goes beside it")
    parser.add_argument("--skip-build", action="store_true",
                        help="use the release binaries of this tree as built")
    parser.add_argument("--rust-log", default="info",
                        help="RUST_LOG of the servers (default info, as deployed)")
    parser.add_argument("--note", default="", help="what else the machine was doing")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    return args


# ---------------------------------------------------------------- the run

def run(args):
    load.ensure_wrk()
    builds = []
    binaries = find_binaries(args, builds)
    work = Path(args.work_dir)
    results = {
        "settings": {"shipments": args.shipments, "small_shipments": args.small_shipments,
                     "runs": args.runs, "duration": args.duration, "rust_log": args.rust_log, "quick": args.quick,
                     "note": args.note,
                     "command": shlex.join(["python3", "benches/storage.py"]
                                           + load.without_note(sys.argv[1:]))},
        "machine": load.describe_machine(),
        "binaries": dict({side: {name: describe_binary(path)
                                 for name, path in binaries[side].items()} for side in SIDES},
                         keyspace=describe_binary(binaries["keyspace"])),
        "started": load.machine_state(),
        "sides": {side: {} for side in SIDES},
        "commands": builds,
        "runs": [],
    }
    commands = Commands(results["commands"])
    side_work = {side: work / side for side in SIDES}
    for side in SIDES:
        for folder in ("requests", "bodies", "logs"):
            path = side_work[side] / folder
            if path.exists():
                for stale in path.iterdir():
                    stale.unlink()
            path.mkdir(parents=True, exist_ok=True)
    large = {side: side_work[side] / f"db-{args.shipments}" for side in SIDES}
    small = {side: side_work[side] / f"db-small-{args.small_shipments}" for side in SIDES}
    sides = results["sides"]
    phases = results["phase_seconds"] = {}
    clock = time.monotonic()

    # Seeding, the large databases and then the small ones, the order flipped.
    for side in SIDES:
        sides[side]["seed_seconds"] = seed(binaries[side]["seed"], large[side],
                                           args.shipments, commands)
    for side in reversed(SIDES):
        sides[side]["small_seed_seconds"] = seed(binaries[side]["seed"], small[side],
                                                 args.small_shipments, commands)
    phases["seeding"] = time.monotonic() - clock
    clock = time.monotonic()
    # The census before any server opens a database.
    for side in SIDES:
        sides[side]["keyspace"] = census(binaries["keyspace"], large[side], commands)
        sides[side]["keyspace_small"] = census(binaries["keyspace"], small[side], commands)

    phases["census"] = time.monotonic() - clock
    clock = time.monotonic()
    # Opening, page cache dropped, the sides taking turns.
    for side in SIDES:
        sides[side]["open"] = {"seconds": [], "page_cache_dropped": True}
        commands.add(f"RUST_LOG={args.rust_log} "
                     + shlex.join([str(binaries[side]["tradegraph"]), "--data-dir",
                                   str(large[side]), "--bind", "127.0.0.1:PORT"])
                     + "  # until the first right answer to Q1, page cache dropped")
    for attempt in range(OPEN_TIMES):
        for side in in_turn(attempt):
            opened = load.measure_open(binaries[side]["tradegraph"], large[side],
                                       side_work[side], args.rust_log, times=1)
            sides[side]["open"]["seconds"] += opened["seconds"]
            sides[side]["open"]["page_cache_dropped"] &= opened["page_cache_dropped"]

    phases["open"] = time.monotonic() - clock
    clock = time.monotonic()
    measure_load(args, binaries, side_work, large, small, results, commands)
    phases["load"] = time.monotonic() - clock
    results["finished"] = load.machine_state()
    return results


def measure_load(args, binaries, side_work, large, small, results, commands):
    """Starts every side's servers on core 0 (large database, and small one
    with a write token), prepares the requests as load.py does, and runs
    MEASUREMENTS, the sides alternating."""
    servers, loads = {}, {}
    try:
        for side in SIDES:
            token, token_hash = load.make_token(binaries[side]["tradegraph"])
            servers[side] = {
                "large": load.Server.tradegraph(binaries[side]["tradegraph"], large[side],
                                                side_work[side], "large", load.SERVER_CORE,
                                                args.rust_log, extra=flags(side)),
                "small": load.Server.tradegraph(binaries[side]["tradegraph"], small[side],
                                                side_work[side], "small", load.SERVER_CORE,
                                                args.rust_log, token_hash, extra=flags(side)),
            }
            load.step(f"{side}: starting the servers")
            for server in servers[side].values():
                # Names the side in load.py's progress lines and records.
                server.name = f"{side}"
                server.start()
                commands.add(f"RUST_LOG={args.rust_log} "
                             + shlex.join(server.argv).replace(token_hash, "$TOKEN_HASH"))
            # Writes Q2's and Q3's requests, finds the deep cursors by paging
            # and captures the expected bodies; creates one shipment.
            results["sides"][side]["q3"] = load.prepare_requests(servers[side], side_work[side],
                                                                 token)
            loads[side] = load.Load(side_work[side], args.duration, True, token, results["runs"])
        turn = 0
        for name, variant, database, concurrency in MEASUREMENTS:
            load.step(f"{name} ({database} database)")
            for side in in_turn(turn):
                loads[side].warm_up(variant, [servers[side][database]])
            for run_number in range(args.runs):
                for side in in_turn(turn):
                    server = servers[side][database]
                    commands.add(wrk_command(side_work[side], variant, server, concurrency,
                                             args.duration))
                    loads[side].measure(name, variant, server, concurrency, run_number)
                    results["runs"][-1]["side"] = side
                turn += 1
    finally:
        for side_servers in servers.values():
            for server in side_servers.values():
                server.stop()


def in_turn(index):
    """The sides in the order of turn `index`: before first on even turns."""
    return SIDES if index % 2 == 0 else tuple(reversed(SIDES))


def find_binaries(args, builds):
    """Builds what is to be built (adding the commands to `builds`), and
    finds each side's binaries and the census; fails before anything runs
    when one is missing."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    release = target / "release"
    if not args.skip_build:
        # Two builds, as load.py does: the server as deployed, then the
        # example, whose target would otherwise unify the dev-dependencies'
        # features into the server.
        wanted = []
        if not args.after:
            wanted.append(["cargo", "build", "--release", "--bins"])
        if not args.keyspace:
            wanted.append(["cargo", "build", "--release", "--example", "keyspace"])
        for command in wanted:
            load.step(shlex.join(command))
            subprocess.run(command, cwd=ROOT, check=True)
            builds.append(shlex.join(command) + f"  # in {ROOT}, target {target}")
    after = Path(args.after) if args.after else release
    binaries = {
        "before": {"tradegraph": Path(args.before) / "tradegraph",
                   "seed": Path(args.before) / "seed"},
        "after": {"tradegraph": after / "tradegraph", "seed": after / "seed"},
    }
    keyspace = Path(args.keyspace) if args.keyspace else release / "examples" / "keyspace"
    for path in [keyspace] + [path for paths in binaries.values() for path in paths.values()]:
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{path}: no such executable")
    binaries["keyspace"] = keyspace.resolve()
    return binaries


def describe_binary(path):
    data = Path(path).read_bytes()
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest()}


class Commands:
    """The commands run, each once, in the order first run."""

    def __init__(self, kept):
        self.kept = kept

    def add(self, command):
        if command not in self.kept:
            self.kept.append(command)


def seed(binary, data_dir, n_shipments, commands):
    commands.add(shlex.join([str(binary), "--data-dir", str(data_dir), "--synthetic-shipments",
                             str(n_shipments)]) + "  # timed")
    return load.seed(binary, data_dir, n_shipments, reuse=False)


def census(keyspace, data_dir, commands):
    """The keys and bytes of every tree of a database, from `keyspace`."""
    load.step(f"counting the keys of {data_dir}")
    commands.add(shlex.join([str(keyspace), str(data_dir)]))
    output = subprocess.run([str(keyspace), str(data_dir)], capture_output=True, text=True,
                            check=True).stdout
    counted = json.loads(output)
    trees = counted["trees"]
    counted["keys"] = sum(tree["keys"] for tree in trees.values())
    counted["bytes"] = sum(tree["key_bytes"] + tree["value_bytes"] for tree in trees.values())
    counted["allocated"] = allocated_bytes(data_dir)
    print(f"   {counted['keys']:,} keys, {counted['bytes']:,} bytes of keys and values,"
          f" {counted['size_on_disk']:,} bytes on disk")
    return counted


def allocated_bytes(folder):
    """The bytes the files of a folder take on disk, as du counts them: sled's
    size_on_disk is the files' lengths, and its log file may be sparse."""
    return sum(os.stat(Path(parent) / name).st_blocks * 512
               for parent, _, names in os.walk(folder) for name in names
               if name != "bench-seeded")  # load.seed's marker, not sled's


def wrk_command(work, variant, server, concurrency, duration):
    """The command line load.Load.wrk runs for a measurement (the token
    shown as $TOKEN), for the report."""
    expected = "created" if variant == "m1" else str(work / "bodies" / f"{variant}.json")
    command = ["taskset", "-c", load.LOAD_CORE, "wrk", "-t1", f"-c{concurrency}",
               f"-d{duration}s", "--timeout", "10s", "-s", str(BENCHES / "wrk.lua"),
               f"http://127.0.0.1:{server.port}/graphql", "--", variant,
               str(work / "requests" / f"{variant}.json"), expected]
    text = shlex.join(command)
    return text + " '$TOKEN'" if variant == "m1" else text


# ---------------------------------------------------------------- the report

def write_report(results):
    settings = results["settings"]
    machine = results["machine"]
    sides = results["sides"]
    n_large, n_small = settings["shipments"], settings["small_shipments"]
    table = {side: figures(sides[side], results["runs"], side, n_large, n_small)
             for side in SIDES}

    def figure(side, key):
        return table[side][key]

    rows = [
        (f"seeding {n_large:,} shipments, s", "seed", 1),
        (f"seeding {n_small:,} shipments, s", "small_seed", 1),
        ("keys in the large database", "keys", 0),
        ("keys per shipment (all keys / shipments)", "keys_per", 2),
        (f"keys per shipment, marginal (large − small) / {n_large - n_small:,}", "keys_marginal", 2),
        ("bytes of keys and values per shipment", "bytes_per", 1),
        ("bytes of keys and values per shipment, marginal", "bytes_marginal", 1),
        ("bytes on disk per shipment (sled size_on_disk)", "disk_per", 1),
        ("bytes allocated on disk per shipment (du)", "allocated_per", 1),
        (f"open + first Q1, page cache dropped, s (median of {OPEN_TIMES})", "open", 3),
        ("peak RSS serving Q2 then Q3 at c64, MiB", "rss", 1),
        ("Q2 at c64, req/s", "q2_rps", 0),
        ("Q3 (90% deep) at c64, req/s", "q3_rps", 0),
        (f"Q3 p50 at c1, large ({n_large:,}), ms", "q3_large_p50", 2),
        (f"Q3 p50 at c1, small ({n_small:,}), ms", "q3_small_p50", 2),
        ("Q3 p50 large / small", "q3_scaling", 2),
        ("M1 durable createShipment at c64 (small database), req/s", "m1_rps", 0),
        ("M1 at c64, p50 ms", "m1_p50", 2),
    ]
    same = (results["binaries"]["before"]["tradegraph"]["sha256"]
            == results["binaries"]["after"]["tradegraph"]["sha256"])
    lines = [
        "## Storage layout: before and after",
        "",
        "Generated by `benches/storage.py`: both layouts measured in this one run, on the same"
        " machine, the sides taking turns measurement by measurement."
        + (" **Both sides ran the same binaries** (a trial of the script, not a comparison)."
           if same else ""),
        "",
        f"- Command: `{settings['command']}`"
        + (" (quick mode: short runs, figures are indicative only)" if settings["quick"] else ""),
        f"- Date: {machine['date']}; commit {machine['commit']}",
    ]
    lines += load.machine_lines(results, settings["note"])
    lines += [
        f"- Before: `{results['binaries']['before']['tradegraph']['path']}` (sha256"
        f" {results['binaries']['before']['tradegraph']['sha256'][:12]}); after:"
        f" `{results['binaries']['after']['tradegraph']['path']}` (sha256"
        f" {results['binaries']['after']['tradegraph']['sha256'][:12]}).",
        f"- Databases: {n_large:,} synthetic shipments (large) and {n_small:,} (small), each"
        " seeded by its side's own `seed` into its own folder, besides the seed records; the"
        " per-shipment figures divide the whole database by the large one's shipments, the"
        " marginal ones divide the difference between the large and the small database by the"
        " difference of their shipments (so the seed records drop out).",
        "- Keys and bytes: `keyspace` (`benches/keyspace.rs`), plain sled, right after seeding.",
        "- Open: from starting the server to its first right answer to Q1, the page cache"
        " dropped before each start" + ("" if all(sides[s]["open"]["page_cache_dropped"]
                                              for s in SIDES) else " (**could not drop it**)")
        + ", nothing pinned.",
        f"- Load: every server pinned to core 0 and wrk (one thread) to core 1; each figure"
        f" is the median of {settings['runs']} run{'s' if settings['runs'] > 1 else ''} of"
        f" {settings['duration']} s per side, after a 1 s warm-up, the sides alternating run by"
        " run; every answer checked by `benches/wrk.lua`. All four servers (each side's large"
        " and small database) run at once, idle but for the one measured. RSS is the highest"
        " VmRSS sampled every 0.1 s during the Q2 and Q3 runs at c64 on the large database."
        " Q3 starts 90% deep: "
        + "; ".join(f"{side} {sides[side]['q3']['large']['position']:,} of"
                    f" {sides[side]['q3']['large']['total']:,} (large),"
                    f" {sides[side]['q3']['small']['position']:,} of"
                    f" {sides[side]['q3']['small']['total']:,} (small)" for side in SIDES)
        + ".",
        f"- Server log level `RUST_LOG={settings['rust_log']}`.",
        "",
        "| figure | before | after | after/before |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, key, digits in rows:
        before, after = figure("before", key), figure("after", key)
        lines.append(f"| {label} | {fmt(before, digits)} | {fmt(after, digits)}"
                     f" | {fmt_ratio(before, after)} |")
    lines.append("")

    failures = [r for r in results["runs"] if r["failure"]]
    if failures:
        lines += ["**Failed runs** (their figures are not to be used):", ""]
        lines += [f"- {r['side']} {r['scenario']}: {r['failure']}" for r in failures]
        lines.append("")

    lines += ["### Every run", "",
              "Each wrk run in the order it ran (medians above).", "",
              "| figure | side | req/s | p50 ms | peak RSS MiB | failure |",
              "| --- | --- | ---: | ---: | ---: | --- |"]
    for r in results["runs"]:
        lines.append(f"| {r['scenario']} | {r['side']} | {load.fmt_rps(r['rps'])}"
                     f" | {load.fmt_ms(r['p50_ms'])} | {r['wrk']['rss_mib']:.1f}"
                     f" | {r['failure'] or 'none'} |")
    lines.append("")
    phases = results["phase_seconds"]
    lines += ["Time taken, s: " + ", ".join(f"{name} {seconds:.0f}"
                                            for name, seconds in phases.items()) + ".", ""]

    lines += ["### Keys per tree (large database)", "",
              "| tree | before keys | before bytes | after keys | after bytes |",
              "| --- | ---: | ---: | ---: | ---: |"]
    names = sorted(set(sides["before"]["keyspace"]["trees"]) | set(sides["after"]["keyspace"]["trees"]))
    for name in names:
        cells = []
        for side in SIDES:
            tree = sides[side]["keyspace"]["trees"].get(name)
            cells += ([f"{tree['keys']:,}", f"{tree['key_bytes'] + tree['value_bytes']:,}"]
                      if tree else ["—", "—"])
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    totals = []
    for side in SIDES:
        totals += [f"{sides[side]['keyspace']['keys']:,}", f"{sides[side]['keyspace']['bytes']:,}"]
    lines.append("| all | " + " | ".join(totals) + " |")
    lines.append("")

    lines += ["### Commands", "",
              "In the order first run (PORT: a free port; a fresh token per side).", "",
              "```"]
    lines += results["commands"]
    lines += ["```", ""]
    return "\n".join(lines)


def figures(side_results, runs, side, n_large, n_small):
    """Every figure of the table for one side (None where not measured):
    wrk's as medians over the runs, RSS as the highest sample of any."""
    big, little = side_results["keyspace"], side_results["keyspace_small"]
    extra = n_large - n_small
    q2, q3, q3_large, q3_small, m1 = (load.medians(runs, scenario=name, side=side)
                                      for name, *_ in MEASUREMENTS)
    rss = [r["wrk"]["rss_mib"] for r in runs
           if r["side"] == side and r["scenario"] in ("q2 c64", "q3 c64")]
    return {
        "seed": side_results["seed_seconds"],
        "small_seed": side_results["small_seed_seconds"],
        "keys": big["keys"],
        "keys_per": big["keys"] / n_large,
        "keys_marginal": (big["keys"] - little["keys"]) / extra if extra > 0 else None,
        "bytes_per": big["bytes"] / n_large,
        "bytes_marginal": (big["bytes"] - little["bytes"]) / extra if extra > 0 else None,
        "disk_per": big["size_on_disk"] / n_large,
        "allocated_per": big["allocated"] / n_large,
        "open": statistics.median(side_results["open"]["seconds"]),
        "rss": max(rss, default=None),
        "q2_rps": q2 and q2["rps"],
        "q3_rps": q3 and q3["rps"],
        "q3_large_p50": q3_large and q3_large["p50_ms"],
        "q3_small_p50": q3_small and q3_small["p50_ms"],
        "q3_scaling": (q3_large["p50_ms"] / q3_small["p50_ms"]
                       if q3_large and q3_small and q3_small["p50_ms"] else None),
        "m1_rps": m1 and m1["rps"],
        "m1_p50": m1 and m1["p50_ms"],
    }


def fmt(value, digits):
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_ratio(before, after):
    if before is None or after is None or before == 0:
        return "—"
    return f"{after / before:.3f}"


if __name__ == "__main__":
    main()
