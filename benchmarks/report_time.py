# REPORT BENCHMARK PY
# How long the end-of-run report takes, and how much memory, on a large
# search: writes a results.csv of N tasks (6 dimensions, 1,024 slots of
# 20-40 s tasks, as the scale benchmark's) into a scratch folder and times
# Report.write_report on it (text and the PNGs it writes: no intermediate.png,
# since these tasks report no intermediate values).
#   benchmarks/run.sh report_time [--tasks N] [--slots N]

import argparse
import csv
import io
import json
import os
import random
import resource
import sys
import tempfile
import time

from common import QUICK, banner, table

import Report
from Results import results_columns

NAMES = ["a", "b", "c", "d", "e", "f"]


def make_search(folder: str, tasks: int, slots: int, seed: int = 1) -> None:
    """A finished search of `tasks` tasks: run.json and results.csv."""
    problem = {n: {"low": 0.0, "high": 1.0} for n in NAMES[:5]}
    problem["f"] = [16, 32, 64]
    with open(os.path.join(folder, "run.json"), "w") as stream:
        json.dump({"problem": problem, "optimizer": {"n_initial_points": 10}}, stream)
    rng = random.Random(seed)
    free_at = [0.0] * slots
    with open(os.path.join(folder, "results.csv"), "w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(results_columns(NAMES))
        for task in range(tasks):
            slot = min(range(slots), key=free_at.__getitem__)
            start, seconds = free_at[slot] + 0.01, rng.uniform(20, 40)
            free_at[slot] = start + seconds
            x = [rng.random() for _ in range(5)]
            writer.writerow([task, "ok", sum((v - 0.3) ** 2 for v in x), f"{seconds:.3f}", *x,
                             rng.choice([16, 32, 64]), f"{start:.3f}",
                             f"{start + seconds:.3f}", slot, 1000 + task, 0, ""])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=60 if QUICK else 6000)
    parser.add_argument("--slots", type=int, default=16 if QUICK else 1024)
    args = parser.parse_args(argv)
    banner(f"report: the end-of-run report on {args.tasks} tasks, {args.slots} slots")
    with tempfile.TemporaryDirectory() as folder:
        make_search(folder, args.tasks, args.slots)
        began, cpu = time.perf_counter(), time.process_time()
        summary = Report.write_report(folder, out=io.StringIO())
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        sizes = {name: os.path.getsize(summary.plots[name]) for name in summary.figures}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(table(["tasks", "slots", "wall s", "CPU s", "max RSS MiB", "PNG KiB"],
                [[args.tasks, args.slots, f"{wall:.1f}", f"{cpu:.1f}", f"{rss:.0f}",
                  " ".join(f"{n}={s // 1024}" for n, s in sizes.items())]]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
