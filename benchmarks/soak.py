#!/usr/bin/env python3
# SOAK PY
# A benchmark, not a test: runs the real driver (main.py) over thousands of
# tiny tasks at a high concurrency and watches it from outside: its open
# descriptors, its RSS and its zombie children after the first 100 tasks
# and near the end. A leak shows as figures that grow with the task count.
#   benchmarks/run.sh soak [--tasks 5000] [--concurrency 64] [--no-report]

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent.parent
# The tiniest task that keeps the protocol: one number in TASK_RESULT.
TASK = '#!/bin/sh\necho "$TASK_ID" > /dev/null\necho 1.0 > "$TASK_RESULT"\n'


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="soak.py", description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000, help="POINTS_MAX (default 5000)")
    parser.add_argument("--concurrency", type=int, default=64, help="POINTS_INIT (default 64)")
    parser.add_argument("--first", type=int, default=100,
                        help="tasks finished at the first sample (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    parser.add_argument("--no-report", action="store_true",
                        help="stop the driver once its search loop has ended, before its "
                             "report (default: let the run end as a user's would)")
    return parser.parse_args(argv)


def finished(results: Path) -> int:
    """Rows in results.csv (its lines less the header)."""
    try:
        with open(results, "rb") as stream:
            return max(0, stream.read().count(b"\n") - 1)
    except FileNotFoundError:
        return 0


def sample(pid: int) -> dict[str, int]:
    """The driver seen from /proc: descriptors, RSS (KiB), threads, children.

    zombies: exited children not reaped yet at that instant (a task that just
    ended and the driver has not woken up for); stuck_zombies: those still
    not reaped half a second later, which would be a leak.
    """
    fds = os.listdir(f"/proc/{pid}/fd")
    pidfds = 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[pidfd]":
                pidfds += 1
        except OSError:
            pass
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    children = len(children_of(pid))
    zombies = zombie_children(pid)
    return {"fds": len(fds), "pidfds": pidfds, "other_fds": len(fds) - pidfds,
            "rss_kib": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "children": children, "zombies": len(zombies),
            "stuck_zombies": len(zombies & zombie_children(pid, wait=0.5))}


def children_of(pid: int) -> dict[int, bytes]:
    """The children of pid and their states (b"Z" for a zombie), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(b")") + 2:].split()[:2]
        if int(ppid) == pid:
            found[int(entry)] = state
    return found


def zombie_children(pid: int, wait: float = 0.0) -> set[int]:
    """Exited children of pid not reaped yet (after `wait` seconds)."""
    time.sleep(wait)
    return {child for child, state in children_of(pid).items() if state == b"Z"}


def show(label: str, done: int, figures: dict[str, int]) -> None:
    print(f"{label:>6} after {done:5d} tasks: " + " ".join(f"{k}={v}" for k, v in
                                                          figures.items()), flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    script = work / "task.sh"
    script.write_text(TASK)
    script.chmod(0o755)
    cfg = work / "soak.json"
    # random search: the model is not what is measured here
    cfg.write_text(json.dumps({"script": str(script), "log_level": "WARNING",
                               "optimizer": {"base_estimator": "dummy"}}))
    output = work / "out"
    log = work / "driver.log"
    argv = [sys.executable, "-u", str(BUNDLE / "main.py"), "-c", str(cfg), "-o", str(output),
            "1", str(args.concurrency), str(args.tasks)]
    print("soak:", " ".join(argv[2:]), flush=True)
    began = time.monotonic()
    with open(log, "w") as stream:
        driver = subprocess.Popen(argv, stdout=stream, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
    marks = [args.first, args.tasks // 2, args.tasks - 2 * args.concurrency]
    # sampled while the loop runs (the report at the end is another program's job)
    taken: list[tuple[int, dict[str, int]]] = []
    results = output / "results.csv"
    while driver.poll() is None and marks:
        done = finished(results)
        if done >= marks[0]:
            try:
                figures = sample(driver.pid)
            except (OSError, KeyError):
                break
            taken.append((done, figures))
            show("start" if len(taken) == 1 else "later", done, figures)
            while marks and done >= marks[0]:
                marks.pop(0)
        time.sleep(0.01)
    while driver.poll() is None and b"summary:" not in log.read_bytes():
        time.sleep(0.01)
    if driver.poll() is None and args.no_report:
        driver.terminate()  # the loop is over; its report is not what is measured here
    code = driver.wait()
    seconds = time.monotonic() - began
    total = finished(results)
    with open(results, newline="") as stream:
        rows = list(csv.DictReader(stream))
    loop = max(float(r["end"]) for r in rows) - min(float(r["start"]) for r in rows)
    print(f"driver exit code {code}{' (stopped after its loop)' if args.no_report else ''}; "
          f"{total} tasks: the loop took {loop:.1f} s ({total / loop:.0f} tasks/s), the "
          f"whole run {seconds:.1f} s; log {log}")
    if len(taken) >= 2:
        (first, a), (last, b) = taken[0], taken[-1]
        print(f"from {first} to {last} tasks: other_fds {a['other_fds']} -> {b['other_fds']}, "
              f"RSS {a['rss_kib']} -> {b['rss_kib']} KiB ({b['rss_kib'] - a['rss_kib']:+d}), "
              f"zombies {a['zombies']} -> {b['zombies']}")
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
