# BENCHMARKS MULTI PY
# Benchmark 3, several objectives (issue 21; `benchmarks/run.sh quality
# --multi`, which quality.py hands to main here): simulated asynchronous
# runs (8 workers, the random task durations of quality.py) on the
# two-objective problems of benchmarks/problems.py (three bbob-biobj
# functions from COCO, an SVM's error against its training cost), at each
# budget of --evaluations, for async-local (the product's Search with two
# objectives and the Proposer's prefetch, quality.simulate), Optuna's
# NSGA-II and multi-objective TPE (constant liar), and random search; the
# metric is the normalized hypervolume of a run's non-dominated values
# (benchmarks/hypervolume.py). Prints the median and IQR per problem,
# budget and method, whether async-local is no worse than the best of the
# others, and each method's search CPU per run. --record keeps each run (a
# JSON line, with its non-dominated values) as it ends; --summarize FILE...
# prints the tables of recorded runs alone; --jobs processes run the runs.
#   benchmarks/run.sh quality --multi [--seeds 10] [--evaluations 100 300] [--workers 8]
#       [--problems ...] [--methods ...] [--jobs N] [--record FILE] [--summarize FILE...]

import argparse
import importlib.util
import json
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from typing import Any

import numpy as np
from common import QUICK, banner, table
from hypervolume import REFERENCE, SAMPLE, bounds, hypervolume, non_dominated
from problems import TWO_OBJECTIVES
from quality import ALPHA, OURS, RANDOM, TPE, differs, run_random, simulate, simulate_study

from Config import DEFAULT_OPTIMIZER
from Problem import Problem
from Search import Search

NSGA = "optuna NSGA-II"
METHODS = (OURS, NSGA, TPE, RANDOM)

Values = list[tuple[float, float]]
Objective = Callable[[list[Any]], tuple[float, float]]


def run_async_local(problem: Problem, f: Objective, n: int, workers: int, seed: int) -> Values:
    """The product's Search with two objectives, as quality.py runs it for one."""
    search = Search(problem, dict(DEFAULT_OPTIMIZER, random_state=seed), "max", objectives=2)
    return simulate(search, f, n, workers, seed)


def run_optuna(problem: Problem, f: Objective, n: int, workers: int, seed: int,
               sampler: str = "TPE") -> Values:
    """Optuna's multi-objective TPE (constant_liar=True) or NSGA-II (its default
    population of 50), both objectives minimized, asynchronous in simulated time."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen = (optuna.samplers.TPESampler(seed=seed, constant_liar=True) if sampler == "TPE"
              else optuna.samplers.NSGAIISampler(seed=seed))
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=chosen)
    return simulate_study(study, problem, f, n, workers, seed)


def run_nsga(problem: Problem, f: Objective, n: int, workers: int, seed: int) -> Values:
    return run_optuna(problem, f, n, workers, seed, sampler="NSGA-II")


RUNNERS: dict[str, Callable[..., list[Any]]] = {
    OURS: run_async_local, NSGA: run_nsga, TPE: run_optuna, RANDOM: run_random}


@cache
def instance_bounds(name: str, instance: int) -> tuple[np.ndarray, np.ndarray]:
    """Ideal and nadir of a problem instance (hypervolume.bounds, once per process)."""
    benchmark = TWO_OBJECTIVES[name]
    seed = instance - 1 if benchmark.coco else 0  # a seed that runs this instance
    return bounds(lambda p: benchmark.objective(p, seed), Problem(benchmark.spec).space)


def one_run(job: tuple[str, str, int, int, int]) -> dict[str, Any]:
    """One run: its hypervolume, search CPU seconds (objective excluded) and front."""
    name, method, seed, n, workers = job
    warnings.simplefilter("ignore")
    benchmark = TWO_OBJECTIVES[name]
    objective_seconds = [0.0]

    def f(point: list[Any]) -> tuple[float, float]:
        began = time.process_time()
        values = benchmark.objective(list(point), seed)
        objective_seconds[0] += time.process_time() - began
        return values
    began = time.process_time()
    values = RUNNERS[method](Problem(benchmark.spec), f, n, workers, seed)
    seconds = time.process_time() - began - objective_seconds[0]
    assert len(values) == n, (method, len(values))
    ideal, nadir = instance_bounds(name, benchmark.instance(seed))
    return {"problem": name, "method": method, "seed": seed, "evaluations": n,
            "workers": workers, "hypervolume": hypervolume(values, ideal, nadir),
            "cpu": seconds, "front": non_dominated(np.array(values)).tolist()}


def report(runs: list[dict[str, Any]]) -> None:
    """Median and IQR of the hypervolume per problem, budget and method; the scores."""
    problems = list(dict.fromkeys(r["problem"] for r in runs))
    methods = list(dict.fromkeys(r["method"] for r in runs))
    budgets = sorted({r["evaluations"] for r in runs})
    volumes: dict[tuple[str, int, str], list[float]] = {}
    cpu: dict[tuple[int, str], list[float]] = {}
    for run in runs:
        volumes.setdefault((run["problem"], run["evaluations"], run["method"]),
                           []).append(run["hypervolume"])
        cpu.setdefault((run["evaluations"], run["method"]), []).append(run["cpu"])
    rows, verdicts = [], []
    for name in problems:
        for budget in budgets:
            medians = {m: float(np.median(volumes[(name, budget, m)])) for m in methods}
            others = {m: v for m, v in medians.items() if m != OURS}
            if OURS in medians and others:
                best = max(others, key=others.__getitem__)
                mine, theirs = volumes[(name, budget, OURS)], volumes[(name, budget, best)]
                verdicts.append([name, budget, best, "yes" if medians[OURS] >= others[best]
                                 else "no", "worse" if differs(mine, theirs, "less") else
                                 "better" if differs(mine, theirs, "greater") else "-"])
            for method in methods:
                q1, q3 = np.percentile(volumes[(name, budget, method)], [25, 75])
                rows.append([name, budget, method, f"{medians[method]:.4f}",
                             f"{q1:.4f} - {q3:.4f}", len(volumes[(name, budget, method)])])
    print()
    print(table(["problem", "evaluations", "method", "median hypervolume", "IQR", "seeds"],
                rows))
    print()
    print(table(["evaluations", "method", "search CPU s per run (median, max)"],
                [[budget, method, f"{np.median(cpu[(budget, method)]):.2f}, "
                                  + f"{max(cpu[(budget, method)]):.2f}"]
                 for budget in budgets for method in methods]))
    if verdicts:
        print()
        print(table(["problem", "evaluations", "best of the others", f"{OURS} no worse",
                     "significantly"], verdicts))
        for budget in budgets:
            wins = sum(v[3] == "yes" for v in verdicts if v[1] == budget)
            print(f"{OURS} no worse than the best of the others after {budget} evaluations: "
                  f"{wins} of {len(problems)} problems")
    print(f"(hypervolume: of the normalized non-dominated values against ({REFERENCE[0]}, "
          f"{REFERENCE[1]}); normalized by the ideal and nadir of the non-dominated values of "
          f"{SAMPLE:,} uniform points per problem instance; significantly: Mann-Whitney U over "
          f"the seeds, one-sided, p < {ALPHA}; CPU: the method's own, objective excluded)")


def summarize(files: list[str]) -> int:
    """The tables of recorded runs, later lines replacing earlier ones of the same run."""
    runs: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for name in files:
        with open(name) as lines:
            for line in lines:
                run = json.loads(line)
                runs[(run["problem"], run["method"], run["seed"], run["evaluations"])] = run
    print(f"{len(runs)} runs, from {', '.join(files)}")
    report(list(runs.values()))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/run.sh quality --multi",
                                     description="hypervolume of simulated asynchronous runs "
                                                 "on two-objective problems")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evaluations", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--workers", type=int, default=8, help="simulated concurrency")
    parser.add_argument("--problems", nargs="+", default=list(TWO_OBJECTIVES),
                        choices=list(TWO_OBJECTIVES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes running the seeds (default: the cores)")
    parser.add_argument("--record", metavar="FILE",
                        help="append each run (a JSON line) to FILE as it ends")
    parser.add_argument("--summarize", nargs="+", metavar="FILE",
                        help="print the tables of runs recorded in FILEs, run nothing")
    quick = ["--seeds", "1", "--evaluations", "14", "--problems",
             "svm-error-cost"] if QUICK else []  # needs no cocoex
    args = parser.parse_args(quick + argv)
    if args.summarize:
        return summarize(args.summarize)
    coco = [name for name in args.problems if TWO_OBJECTIVES[name].coco]
    if coco and importlib.util.find_spec("cocoex") is None:
        parser.error(f"COCO's cocoex is not installed; the bbob-biobj problems need it "
                     f"({', '.join(coco)}): use benchmarks/run.sh quality --multi, or pip "
                     "install coco-experiment==2.8.2, or choose other --problems")
    if {NSGA, TPE} & set(args.methods) and importlib.util.find_spec("optuna") is None:
        parser.error("Optuna is not installed: use benchmarks/run.sh quality --multi (it "
                     "installs benchmarks/requirements.txt), or drop it with --methods")
    banner(f"quality --multi: hypervolume after {' and '.join(map(str, args.evaluations))} "
           f"evaluations, {args.workers} simulated workers, {args.seeds} seeds")
    jobs = [(name, method, seed, n, args.workers) for name in args.problems
            for n in args.evaluations for seed in range(args.seeds) for method in args.methods]
    began = time.time()
    runs = []
    with open(args.record or os.devnull, "a") as record, \
            ProcessPoolExecutor(args.jobs) as pool:
        for run in pool.map(one_run, jobs):
            runs.append(run)
            record.write(json.dumps(run) + "\n")
            record.flush()
    report(runs)
    print(f"wall: {time.time() - began:.0f} s")
    return 0
