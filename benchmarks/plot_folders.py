# BENCHMARKS PLOT FOLDERS PY
# Synthetic OUTPUT folders to look at the report's PNGs at 8, 50 and 1,000
# slots: run.json (a real, a log-uniform real, an integer and a categorical
# parameter with long names), results.csv (ok with a noisy objective, some
# failed, timeout and killed tasks), started.csv with each point's origin
# (random while the first results are out, then model), a few tasks still
# running with an output file last written before now, and progress.csv.
#   benchmarks/run.sh plot_folders FOLDER [--slots 8 50 1000] [--report]
# makes FOLDER/slots-N for each N (and runs the report on it with --report).

import argparse
import csv
import io
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import Layout
from Results import PROGRESS_COLUMNS, results_columns, started_columns

PROBLEM = {"lr": {"low": 1e-5, "high": 1e-1, "prior": "log-uniform"},
           "drop": {"low": 0.0, "high": 0.9},
           "layers": {"low": 1, "high": 8},
           "optimizer": ["sgd_with_momentum", "adam", "adamw_amsgrad", "rmsprop"]}
T0 = 1_700_000_000.0


def objective(lr: float, drop: float, layers: int, optimizer: str, rng: random.Random) -> float:
    """A loss: best near lr 1e-3, drop 0.3, 4 layers, adam; plus noise."""
    penalty = {"sgd_with_momentum": 0.3, "adam": 0.0, "adamw_amsgrad": 0.05, "rmsprop": 0.15}
    return (0.1 + (math.log10(lr) + 3) ** 2 * 0.05 + (drop - 0.3) ** 2 + 0.02 * (layers - 4) ** 2
            + penalty[optimizer] + rng.gauss(0, 0.02))


def make(folder: str, slots: int, tasks: int, seed: int = 1) -> None:
    """One OUTPUT folder of `tasks` tasks on `slots` slots, the last few still running."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    with open(os.path.join(folder, "run.json"), "w") as stream:
        json.dump({"problem": PROBLEM, "points_max": tasks + slots,
                   "optimizer": {"base_estimator": "GP", "n_initial_points": 10}}, stream)
    names = list(PROBLEM)
    results, started, progress = io.StringIO(), io.StringIO(), io.StringIO()
    rw, sw, pw = (csv.writer(s, lineterminator="\n") for s in (results, started, progress))
    rw.writerow(results_columns(names))
    sw.writerow(started_columns(names))
    pw.writerow(PROGRESS_COLUMNS)
    free = [0.0] * slots
    first_result = math.inf
    for task in range(tasks):
        slot = min(range(slots), key=free.__getitem__)
        start = free[slot] + rng.uniform(0.05, 0.3)
        origin = "random" if start < first_result or task < 10 else "model"
        point = [10 ** rng.uniform(-5, -1), rng.uniform(0, 0.9), rng.randint(1, 8),
                 rng.choice(PROBLEM["optimizer"])]
        if origin == "model":  # closer to the optimum
            point = [10 ** rng.gauss(-3, 0.7), min(0.9, abs(rng.gauss(0.3, 0.15))),
                     max(1, min(8, round(rng.gauss(4, 1.5)))),
                     rng.choice(["adam", "adamw_amsgrad"])]
            point[0] = min(1e-1, max(1e-5, point[0]))
        seconds = rng.uniform(20, 40)
        end = start + seconds
        free[slot] = end
        first_result = min(first_result, end)
        sw.writerow([task, f"{T0 + start:.3f}", slot, 1000 + task, *point, origin])
        running = task >= tasks - max(1, slots // 8)
        value = objective(*point, rng)  # type: ignore[arg-type]
        steps = rng.randint(3, 10) if not running else 4
        for step in range(steps):
            pw.writerow([task, step, f"{value * (1 + 2 / (step + 1)):.5f}",
                         f"{T0 + start + step:.3f}"])
        if running:
            path = Layout.output_file(folder, task)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as stream:
                stream.write("training...\n")
            written = T0 + start + seconds / 2
            os.utime(path, (written, written))
            continue
        draw = rng.random()
        status = "ok" if draw < 0.85 else "failed" if draw < 0.93 else \
            "timeout" if draw < 0.97 else "killed"
        rw.writerow([task, status, f"{value:.6g}" if status == "ok" else "", f"{seconds:.3f}",
                     *point, f"{T0 + start:.3f}", f"{T0 + end:.3f}", slot, 1000 + task,
                     0 if status == "ok" else 1, "" if status == "ok" else status])
    for name, text in (("results.csv", results), ("started.csv", started),
                       ("progress.csv", progress)):
        with open(os.path.join(folder, name), "w") as stream:
            stream.write(text.getvalue())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="synthetic OUTPUT folders for the report's PNGs")
    parser.add_argument("folder")
    parser.add_argument("--slots", type=int, nargs="+", default=[8, 50, 1000])
    parser.add_argument("--report", action="store_true", help="run the report on each")
    args = parser.parse_args(argv)
    for slots in args.slots:
        out = os.path.join(args.folder, f"slots-{slots}")
        make(out, slots, tasks=max(60, 6 * slots))
        print(out)
        if args.report:
            import Report
            Report.write_report(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
