# JOBS PY
# Benchmark: several jobs, one search (--join, docs/jobs.adoc). Runs the real
# drivers (main.py) on sleep tasks: DRIVERS drivers of SLOTS slots each joining
# one OUTPUT, against one driver of DRIVERS x SLOTS slots, and reports:
#   - aggregate steady utilization of the slots (task-measured run time, from the
#     first to the last launch of the slowest lane, as benchmarks/scale.py)
#   - how long until a result of one driver is told to another (p50, p99: the
#     drivers' debug lines `others: told ...`, from the task's end)
#   - duplicates: task numbers recorded twice, ok rows beyond POINTS_MAX
# and, without tasks, the time a driver that joins takes to read every journal
# of a search of 30,000 results (its first sync: Joined.sync), and the cost
# of reading a claims/ folder of 100,000 tickets: the first Tickets.scan
# (each claim read), a later one (a listing, nothing new: each driver's
# sync every FULL_SCAN_INTERVAL) and Tickets.advance with nothing new
# (its sync every second). --reads-only measures these alone.
#   python3 benchmarks/jobs.py [--drivers 4] [--slots 256] [--tasks 6000] [--sleep 20-40]
#       [--results 30000] [--claims 100000] [--reads-only]

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, banner, clean_up, read_tasks, table

import Layout
from Config import load_config
from History import read_journals
from Joined import Joined, claim_folder
from Results import Journal, results_columns
from Tickets import Claim, Tickets

BUNDLE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAG = re.compile(r"others: told \d+ result\(s\), seconds after their end: ([\d. ]+)")


def run_drivers(out: str, drivers: int, slots: int, tasks: int, sleep: tuple[float, float],
                logs: str) -> float:
    """Start `drivers` drivers at once on OUTPUT `out` (--join when more than one); wall s."""
    cfg = os.path.join(logs, "cfg.json")
    with open(cfg, "w") as stream:
        json.dump({"script": os.path.join(BUNDLE, "benchmarks", "sleep-task.sh"),
                   "log_level": "DEBUG", "status_interval": 3600}, stream)
    env = dict(os.environ, SLEEP_MIN=str(sleep[0]), SLEEP_MAX=str(sleep[1]))
    join = ["--join"] if drivers > 1 else []
    began = time.time()
    procs = []
    for number in range(drivers):
        with open(os.path.join(logs, f"{os.path.basename(out)}.{number}.log"), "w") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-u", os.path.join(BUNDLE, "main.py"), *join, "-c", cfg,
                 "-o", out, "1", str(slots), str(tasks)], stdout=log, stderr=subprocess.STDOUT,
                env=env))
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"jobs: a driver of {out} exited {codes}; see its log in {logs}")
    return time.time() - began


def steady_utilization(tasks: list[dict], slots: int) -> float:
    """Busy share of the slots between the first launch and the last task's start."""
    low = min(t["start"] for t in tasks)
    high = max(t["start"] for t in tasks)
    busy = sum(max(0.0, min(t["t1"], high) - max(t["t0"], low)) for t in tasks)
    return busy / (slots * (high - low)) if high > low else 0.0


def all_rows(out: str) -> list[dict[str, str]]:
    return read_journals(Layout.all_journals(out, Layout.RESULTS))[1]


def lags(logs: str, name: str) -> list[float]:
    found: list[float] = []
    for log in os.listdir(logs):
        if log.startswith(name + "."):
            with open(os.path.join(logs, log)) as stream:
                for match in LAG.finditer(stream.read()):
                    found += [float(x) for x in match.group(1).split()]
    return sorted(found)


def quantile(values: list[float], q: float) -> str:
    return f"{values[min(len(values) - 1, int(q * len(values)))]:.2f}" if values else "-"


def read_time(root: str, results: int, drivers: int) -> float:
    """Seconds a driver that joins takes to read `results` rows of `drivers` journals."""
    out = os.path.join(root, "read")
    os.makedirs(out)
    config = load_config(None)
    columns = results_columns(config.problem.names, config.metrics)
    for number in range(drivers):
        folder = claim_folder(out, f"d{number}")
        journal = Journal(Layout.path(folder, Layout.RESULTS), columns)
        rows = []
        for task in range(number, results, drivers):
            rows.append({"id": task, "status": "ok", "objective": repr(task / results),
                         "seconds": "30.000", "drop": "0.25", "batch_size": "64",
                         "start": "0", "end": "30", "slot": task % 256, "pid": 1,
                         "exit_code": 0, "reason": ""})
        journal.append(rows)
        journal.close()
    joined = Joined(out, claim_folder(out, "reader"), False, config.problem, config.goals,
                    config.metrics, results)
    try:
        began = time.perf_counter()
        seen = joined.sync()
        seconds = time.perf_counter() - began
    finally:
        joined.close()
    assert len(seen.told) == results, len(seen.told)
    return seconds


def scan_time(root: str, claims: int) -> tuple[float, float, float]:
    """Seconds of Tickets.scan over `claims` tickets of 4 drivers: the first scan, the
    median of 5 later ones (nothing new), and the median of 5 advance()s (nothing new)."""
    out = os.path.join(root, "scan")
    os.makedirs(out)
    writers = [Tickets(out, f"d{number}", claims) for number in range(4)]
    for ticket in range(claims):
        assert writers[ticket % 4].claim(Claim(ticket, 0, f"d{ticket % 4}", ticket))
    reader = Tickets(out, "reader", claims + 1)  # a ticket still free: advance() probes it
    began = time.perf_counter()
    assert len(reader.scan()) == claims
    first = time.perf_counter() - began
    medians = []
    for look in (reader.scan, reader.advance):
        seconds = []
        for _ in range(5):
            began = time.perf_counter()
            look()
            seconds.append(time.perf_counter() - began)
        medians.append(sorted(seconds)[2])
    return first, medians[0], medians[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drivers", type=int, default=4)
    parser.add_argument("--slots", type=int, default=256, help="slots per driver")
    parser.add_argument("--tasks", type=int, default=6000, help="POINTS_MAX")
    parser.add_argument("--sleep", default="20-40", help="task seconds, MIN-MAX")
    parser.add_argument("--results", type=int, default=30000,
                        help="results in the journals a joining driver reads")
    parser.add_argument("--claims", type=int, default=100000,
                        help="tickets in the claims/ folder Tickets.scan reads")
    parser.add_argument("--reads-only", action="store_true",
                        help="measure the journals' read and the claims' scan alone")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    quick = ["--slots", "2", "--tasks", "40", "--sleep", "0.2-0.4", "--results", "3000",
             "--claims", "3000"]
    args = parser.parse_args(quick + sys.argv[1:] if QUICK else None)
    low, high = (float(x) for x in args.sleep.split("-"))
    banner(f"jobs: {args.drivers} drivers x {args.slots} slots on one OUTPUT against 1 driver "
           f"x {args.drivers * args.slots} slots, {args.tasks} tasks of {args.sleep} s")
    root = tempfile.mkdtemp(prefix="async-local-jobs-")
    rows = []
    runs = [] if args.reads_only else [("joined", args.drivers, args.slots),
                                       ("single", 1, args.drivers * args.slots)]
    for name, drivers, slots in runs:
        out = os.path.join(root, name)
        print(f"running {name}: {drivers} driver(s) x {slots} slots ...", flush=True)
        wall = run_drivers(out, drivers, slots, args.tasks, (low, high), root)
        tasks = read_tasks_all(out)
        results = all_rows(out)
        ids = [r["id"] for r in results]
        duplicates = len(ids) - len(set(ids)) + max(
            0, [r["status"] for r in results].count("ok") - args.tasks)
        told = lags(root, name)
        rows.append([name, f"{drivers}x{slots}", f"{wall:.1f}",
                     f"{steady_utilization(tasks, drivers * slots):.3f}",
                     quantile(told, 0.5), quantile(told, 0.99), duplicates])
    if rows:
        print(table(["run", "drivers x slots", "wall s", "steady utilization", "told p50 s",
                     "told p99 s", "duplicates"], rows))
    seconds = read_time(root, args.results, args.drivers)
    print(f"a driver that joins reads {args.results} results of {args.drivers} journals "
          f"in {seconds:.2f} s")
    first, later, advance = scan_time(root, args.claims)
    print(f"Tickets.scan of {args.claims} claims: {first:.2f} s the first time, "
          f"{later:.3f} s a later one (nothing new); Tickets.advance: {1000 * advance:.3f} ms")
    clean_up(root, args.keep)
    return 0


def read_tasks_all(out: str) -> list[dict]:
    """read_tasks of every driver's results (the joined folder's rows are in several
    journals; the tasks' own output files are all under OUTPUT/tasks)."""
    merged = os.path.join(out, "all-results")
    os.makedirs(merged, exist_ok=True)
    header, rows = read_journals(Layout.all_journals(out, Layout.RESULTS))
    os.symlink(os.path.join(out, Layout.TASKS), os.path.join(merged, Layout.TASKS))
    journal = Journal(os.path.join(merged, Layout.RESULTS), header)
    journal.append(rows)
    journal.close()
    return read_tasks(merged)


if __name__ == "__main__":
    sys.exit(main())
