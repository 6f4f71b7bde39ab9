# PRUNE PY
# Benchmark: what pruning saves on real models. The same search (the
# product's loop, Search and Proposer, same seed, same POINTS_MAX) runs
# without a pruner, with the median rule and with ASHA; each rule tells the
# search a pruned point's last value (the product's choice,
# Status.PRUNED.has_value), or with --variants *-nothing tells it nothing.
# Two samplers: random (the same points with and without a rule, so the
# best differs only if the rule stopped the best point: the rule's own
# accuracy) and gp (the default model-based search, which the told values
# steer: its best also moves with the search's path).
# Run it alone: tasks' start-up slows on busy cores. Two real models
# train in seconds here (benchmarks/prune_task.py): the digits MLP (one
# validation loss per epoch) and gradient-boosted trees on the digits (one
# per 5 boosting stages). Per model and variant, over the seeds: the
# task-seconds spent (sum of the tasks' run times, what node-hours bill)
# and the best final value (the best ok task's validation loss).
# Target: the same best final value (within 1 %) for at most half the
# task-seconds.
#   python3 benchmarks/prune.py [--seeds 5] [--tasks 32] [--concurrency 2]

import argparse
import contextlib
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BUNDLE, HERE, QUICK, banner, clean_up, table

from Config import load_config
from Launcher import Launcher
from Proposer import Proposer
from Results import open_journals
from Search import Search
from Status import Status
from utils import set_log_level
from Workflow import Plan, Workflow

TASK = os.path.join(HERE, "prune-task.sh")
with open(os.path.join(BUNDLE, "digits-1.json")) as _stream:
    DIGITS_PROBLEM = json.load(_stream)["problem"]
BOOSTING_PROBLEM = {
    "learning_rate": {"low": 0.01, "high": 1.0, "prior": "log-uniform"},
    "max_depth": {"low": 1, "high": 5},
    "subsample": {"low": 0.3, "high": 1.0},
    "min_samples_leaf": {"low": 1, "high": 40},
}
# per model: its search space, steps per task, and each rule's settings
MODELS: dict[str, dict[str, Any]] = {
    "digits": {"problem": DIGITS_PROBLEM, "steps": 100,
               "median": {"rule": "median", "min_steps": 4, "min_tasks": 4},
               "asha": {"rule": "asha", "min_steps": 4, "reduction_factor": 3,
                        "min_tasks": 4}},
    "boosting": {"problem": BOOSTING_PROBLEM, "steps": 24,
                 "median": {"rule": "median", "min_steps": 2, "min_tasks": 4},
                 "asha": {"rule": "asha", "min_steps": 2, "reduction_factor": 3,
                          "min_tasks": 4}},
}
# variant -> (rule, the search is told a pruned point's last value)
VARIANTS = {"none": (None, True), "median": ("median", True), "asha": ("asha", True),
            "median-nothing": ("median", False), "asha-nothing": ("asha", False)}
# sampler -> the cfg optimizer (random: an endless initial phase of seeded random points)
SAMPLERS: dict[str, dict[str, Any]] = {
    "random": {"base_estimator": "DUMMY"},
    "gp": {"base_estimator": "GP", "acq_func": "EI", "n_initial_points": 6},
}
PROGRESS_INTERVAL = 0.2  # s: tasks here last seconds (the default, 5 s, suits epochs of minutes)


@contextlib.contextmanager
def pruned_told_nothing(really: bool) -> Iterator[None]:
    """The other choice for Status.PRUNED.has_value: the search is told nothing."""
    if not really:
        yield
        return
    kept = vars(Status)["has_value"]
    # setattr: a property of the enum replaced for this benchmark only (mypy-clean)
    setattr(Status, "has_value", property(lambda status: status is Status.OK))  # noqa: B010 - mypy refuses a plain assignment to the enum's property
    try:
        yield
    finally:
        setattr(Status, "has_value", kept)  # noqa: B010 - mypy refuses a plain assignment to the enum's property


def search_name(model: str, sampler: str, variant: str, seed: int) -> str:
    """The name of one search's OUTPUT folder (and cfg, log) under the root."""
    return f"{model}-{sampler}-{variant}-{seed}"


def run_search(root: str, model: str, sampler: str, variant: str, seed: int, tasks: int,
               concurrency: int) -> dict[str, float]:
    """One search: returns task-seconds, best final value, pruned tasks, wall seconds."""
    rule, told = VARIANTS[variant]
    spec = MODELS[model]
    name = search_name(model, sampler, variant, seed)
    output = os.path.join(root, name)
    cfg = {"script": TASK, "problem": spec["problem"],
           "optimizer": dict(SAMPLERS[sampler], random_state=seed),
           "progress_interval": PROGRESS_INTERVAL, "task_timeout": 600}
    if rule:
        cfg["pruner"] = spec[rule]
    path = os.path.join(root, name + ".json")
    with open(path, "w") as stream:
        json.dump(cfg, stream)
    config = load_config(path)
    os.makedirs(output)
    plan = Plan(parallelism=1, concurrency=concurrency, points_max=tasks, output=output)
    environ = dict(os.environ, OUTPUT=output, PYTHON=sys.executable, PRUNE_MODEL=model,
                   PRUNE_STEPS=str(spec["steps"]))
    search = Search(config.problem, config.optimizer, config.pending_lie)
    workflow: Workflow
    points = Proposer(search, lambda: workflow.wake())
    journals = open_journals(output, config.problem.names, config.metrics)
    workflow = Workflow(config, plan, points, Launcher(reason="benchmark"), environ, journals)
    began = time.time()
    with open(os.path.join(root, name + ".log"), "w") as log, \
            contextlib.redirect_stdout(log), pruned_told_nothing(not told):
        set_log_level("INFO")  # the driver's lines into this search's log
        code = workflow.run()
    if code != 0:
        raise SystemExit(f"prune benchmark: {name} exited with code {code}; see {root}")
    return dict(measure(output), wall=time.time() - began)


def measure(output: str) -> dict[str, float]:
    """What one finished search spent and found, from its journals.

    training_seconds counts each task from its first intermediate value
    (when the driver read it) to its end: the part pruning can save. The
    rest of a task's time is its start (bash, Python, scikit-learn, the
    data) and its first step, which every task pays.
    """
    with open(os.path.join(output, "results.csv"), newline="") as stream:
        rows = list(csv.DictReader(stream))
    first: dict[str, float] = {}
    with open(os.path.join(output, "progress.csv"), newline="") as stream:
        for row in csv.DictReader(stream):
            first.setdefault(row["id"], float(row["time"]))
    ok = [float(r["objective"]) for r in rows if r["status"] == Status.OK]
    return {"task_seconds": sum(float(r["seconds"]) for r in rows),
            "training_seconds": sum(max(0.0, float(r["end"]) - first.get(r["id"],
                                                                         float(r["end"])))
                                    for r in rows),
            "best": min(ok), "pruned": sum(r["status"] == Status.PRUNED for r in rows)}


def summarize(model: str, sampler: str,
              runs: dict[str, list[dict[str, float]]]) -> list[list[Any]]:
    """One row per variant: means over the seeds, and against no pruning."""
    base = runs["none"]
    rows = []
    for variant, results in runs.items():
        seconds = [r["task_seconds"] for r in results]
        best = [r["best"] for r in results]
        ratio = statistics.mean(s / b["task_seconds"] for s, b in zip(seconds, base))
        training = statistics.mean(r["training_seconds"] / b["training_seconds"]
                                   for r, b in zip(results, base))
        gap = (statistics.mean(best) / statistics.mean(r["best"] for r in base) - 1) * 100
        same = sum(r["best"] <= b["best"] * 1.01 for r, b in zip(results, base))
        met = "" if variant == "none" else \
            ("yes" if ratio <= 0.5 and gap <= 1.0 else "no")
        rows.append([model, sampler, variant, f"{statistics.mean(seconds):.1f}", f"{ratio:.2f}",
                     f"{training:.2f}", f"{statistics.mean(best):.4f}",
                     f"{statistics.median(best):.4f}", f"{gap:+.1f}",
                     f"{same}/{len(results)}",
                     f"{statistics.mean(r['pruned'] for r in results):.1f}", met])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="Task-seconds and best final value, "
                                     "with and without pruning, on two real models.")
    parser.add_argument("--seeds", type=int, default=1 if QUICK else 5)
    parser.add_argument("--tasks", type=int, default=5 if QUICK else 32,
                        help="POINTS_MAX of each search")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--models", default="digits,boosting")
    parser.add_argument("--samplers", default="gp" if QUICK else "random,gp",
                        help=f"comma-separated, from: {', '.join(SAMPLERS)}")
    parser.add_argument("--variants", default="none,median" if QUICK else "none,median,asha",
                        help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--keep", action="store_true", help="keep the searches' outputs")
    parser.add_argument("--summarize", metavar="DIR",
                        help="run nothing: the tables again from the outputs an earlier "
                        "run kept in DIR (--keep)")
    args = parser.parse_args()
    models = args.models.split(",")
    samplers = args.samplers.split(",")
    variants = [v.strip() for v in args.variants.split(",")]
    if "none" not in variants or not set(variants) <= set(VARIANTS) or \
            not set(models) <= set(MODELS) or not set(samplers) <= set(SAMPLERS):
        parser.error(f"--models from {', '.join(MODELS)}; --samplers from "
                     f"{', '.join(SAMPLERS)}; --variants from {', '.join(VARIANTS)}, with none")
    banner("prune: task-seconds and best final value, with and without pruning")
    if QUICK:
        for spec in MODELS.values():
            spec["steps"] = 6
    print(f"{args.seeds} seed(s) x {len(variants)} variant(s) x {len(samplers)} sampler(s) "
          f"per model; each search "
          f"{args.tasks} tasks, {args.concurrency} at a time; progress read every "
          f"{PROGRESS_INTERVAL} s", flush=True)
    for model in models:
        spec = MODELS[model]
        print(f"{model}: {spec['steps']} steps per task; median {json.dumps(spec['median'])}; "
              f"asha {json.dumps(spec['asha'])}", flush=True)
    root = args.summarize or tempfile.mkdtemp(prefix="prune-bench-")
    rows = []
    for model in models:
        for sampler in samplers:
            runs: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
            for seed in range(args.seeds):
                for variant in variants:
                    name = search_name(model, sampler, variant, seed)
                    if args.summarize:
                        runs[variant].append(measure(os.path.join(root, name)))
                        continue
                    result = run_search(root, model, sampler, variant, seed, args.tasks,
                                        args.concurrency)
                    runs[variant].append(result)
                    print(f"  {name:>26}: {result['task_seconds']:6.1f} task-s, best "
                          f"{result['best']:.4f}, pruned {result['pruned']}, "
                          f"wall {result['wall']:.0f} s", flush=True)
            rows += summarize(model, sampler, runs)
    print()
    print(table(["model", "sampler", "variant", "task-s", "vs none", "training-s vs none",
                 "best (mean)", "best (median)", "best gap %", "seeds within 1 %", "pruned",
                 "target met"], rows))
    print("task-s: tasks' run time summed, mean over seeds; vs none: mean per-seed ratio; "
          "training-s: from each task's first intermediate value to its end (the part "
          "pruning can save); best gap: mean best final value against no pruning (+ is "
          "worse); seeds within 1 %: seeds whose best is no worse than no pruning's by "
          "more than 1 %; target: gap <= 1 % at <= 0.50 of the task-s")
    if not args.summarize:
        clean_up(root, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
