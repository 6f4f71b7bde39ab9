# FAILURES PY
# Benchmark of the search beside a failure region (issue 21): a synthetic
# network-tuning problem whose tasks "run out of memory" when batch size x
# width x layers is too large, and whose best settings lie just inside the
# memory limit. Simulated asynchronous runs (8 workers, the random task
# durations of quality.py), 100 evaluations, >= 10 seeds, for async-local
# (the product's Search, failed tasks told by fail()), the same without
# its feasibility model (failed points only told at the worst value, as
# before issue 21), random search and Optuna's TPE (constant liar, an
# out-of-memory trial told as FAIL, as a user's exception would). Per
# method: failed tasks, the best feasible loss, the CPU of the method, and
# the share of the points issued after 50 results that a feasibility model
# fitted to what was known when each was issued (Feasibility, the judge
# for every method) predicts to fail with P > 0.5.
#   python3 benchmarks/failures.py [--seeds 10] [--evaluations 100] [--workers 8]
#       [--methods ...] [--jobs N]

import argparse
import heapq
import importlib.util
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, banner, table
from quality import durations

from Config import DEFAULT_OPTIMIZER
from Feasibility import MAX_FAIL_PROBABILITY, Feasibility
from Problem import Problem
from Search import Search

OURS, BLIND, RANDOM, TPE = ("async-local", "async-local, no feasibility model", "random",
                            "optuna TPE (constant liar, FAIL)")
STRICT = (0.3, 0.2)  # variants of async-local: P(fail) allowed up to this
STRICTER = tuple(f"async-local, P(fail) <= {p}" for p in STRICT)
METHODS = (OURS, BLIND, RANDOM, TPE, *STRICTER)
DEFAULT_METHODS = (OURS, BLIND, RANDOM, TPE)
JUDGED_AFTER = 50  # results known before an issued point is judged
MEMORY_GB = 40.0  # the simulated GPU's memory
SPEC = {
    "batch_size": {"low": 16, "high": 1024, "prior": "log-uniform"},
    "width": {"low": 32, "high": 2048, "prior": "log-uniform"},
    "layers": {"low": 1, "high": 4},
    "learning_rate": {"low": 1e-4, "high": 1e-1, "prior": "log-uniform"},
    "dropout": {"low": 0.0, "high": 0.5},
}

Point = list[Any]
Finished = list[tuple[Point, bool]]  # a run's tasks as they finished: point, failed
Issued = list[tuple[Point, int]]  # the points issued, and the tasks finished by then


def memory_gb(point: Point) -> float:
    """Simulated GPU memory of a task: activations grow with batch x width x layers."""
    batch, width, layers = point[0], point[1], point[2]
    return 1.0 + 2.0e-4 * batch * width * layers


def loss(point: Point) -> float:
    """Simulated validation loss: more capacity helps (towards the memory limit), so do
    batches of about 200, the learning rate's best value grows with the batch, dropout
    is best near 0.2."""
    batch, width, layers, rate, dropout = point
    capacity = math.log2(width / 16) * math.sqrt(layers)  # 1 .. 14
    best_rate = -3.3 + 0.5 * math.log10(batch / 16)
    return (0.1 + 1.5 / (1.0 + capacity) + 0.4 * (math.log10(rate) - best_rate) ** 2
            + 0.15 * (math.log2(batch / 16) / 6 - 0.6) ** 2 + 0.3 * (dropout - 0.2) ** 2)


def fails(point: Point) -> bool:
    """The task runs out of memory."""
    return memory_gb(point) > MEMORY_GB


class Blind(Feasibility):
    """A feasibility model that allows every candidate: the search before issue 21."""

    def allowed(self, ok_rows: np.ndarray, failed_rows: np.ndarray, candidates: np.ndarray,
                rng: np.random.RandomState) -> np.ndarray:
        return np.ones(len(candidates), dtype=bool)


def run_search(n: int, workers: int, seed: int,
               feasibility: Feasibility | None = None) -> tuple[Finished, Issued]:
    """The product's Search in simulated time: a freed slot gets a point from a fit to
    every result known then (failed tasks told by fail()); `feasibility` replaces its
    feasibility model."""
    search = Search(Problem(SPEC), dict(DEFAULT_OPTIMIZER, random_state=seed), "max")
    if feasibility is not None:
        search.feasibility = feasibility
    times = durations(seed, n)
    clock: list[tuple[float, int, Point]] = []
    issued: Issued = []
    finished: Finished = []
    for point in search.ask(min(workers, n)):
        heapq.heappush(clock, (times[len(issued)], len(issued), point))
        issued.append((point, 0))
    while clock:
        now, _, point = heapq.heappop(clock)
        finished.append((point, fails(point)))
        if finished[-1][1]:
            search.fail([point])
        else:
            search.tell([point], [loss(point)])
        if len(issued) < n:
            new = search.ask(1)[0]
            heapq.heappush(clock, (now + times[len(issued)], len(issued), new))
            issued.append((new, len(finished)))
    return finished, issued


def run_random(n: int, workers: int, seed: int) -> tuple[Finished, Issued]:
    """Random points, issued as the slots free up (the tasks before them finished)."""
    points = [list(p) for p in Problem(SPEC).space.rvs(n, random_state=seed)]
    return [(p, fails(p)) for p in points], [(p, max(0, i - workers))
                                             for i, p in enumerate(points)]


def run_tpe(n: int, workers: int, seed: int) -> tuple[Finished, Issued]:
    """Optuna's TPE with constant_liar=True, asynchronous in simulated time; an
    out-of-memory trial is told as FAIL."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {name: (optuna.distributions.IntDistribution(spec["low"], spec["high"],
                                                         log="prior" in spec)
                    if isinstance(spec["low"], int) else
                    optuna.distributions.FloatDistribution(spec["low"], spec["high"],
                                                           log="prior" in spec))
             for name, spec in SPEC.items()}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed,
                                                                   constant_liar=True))
    times = durations(seed, n)
    clock: list[tuple[float, int, Any]] = []
    issued: Issued = []
    finished: Finished = []

    def issue(at: float) -> None:
        trial = study.ask(dists)
        heapq.heappush(clock, (at + times[len(issued)], len(issued), trial))
        issued.append(([trial.params[name] for name in SPEC], len(finished)))

    for _ in range(min(workers, n)):
        issue(0.0)
    while clock:
        now, _, trial = heapq.heappop(clock)
        point = [trial.params[name] for name in SPEC]
        finished.append((point, fails(point)))
        if finished[-1][1]:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, loss(point))
        if len(issued) < n:
            issue(now)
    return finished, issued


def judged_share(finished: Finished, issued: Issued) -> float:
    """The share of the points issued after JUDGED_AFTER tasks finished that a
    feasibility model fitted to the tasks finished then predicts to fail."""
    space = Problem(SPEC).space
    judge = Feasibility()
    late = [(p, count) for p, count in issued if count >= JUDGED_AFTER]
    rng = np.random.RandomState(0)
    flagged = 0
    for point, count in late:
        ok = [p for p, failed in finished[:count] if not failed]
        bad = [p for p, failed in finished[:count] if failed]
        p_fail = judge.fail_probability(space.transform(ok), space.transform(bad),
                                        space.transform([point]), rng) if bad else None
        flagged += int(p_fail is not None and p_fail[0] > MAX_FAIL_PROBABILITY)
    return flagged / max(1, len(late))


RUNNERS: dict[str, Callable[..., tuple[Finished, Issued]]] = {
    OURS: run_search, BLIND: lambda n, w, s: run_search(n, w, s, Blind()),
    RANDOM: run_random, TPE: run_tpe,
    **{name: lambda n, w, s, p=p: run_search(n, w, s, Feasibility(p))
       for name, p in zip(STRICTER, STRICT)}}


def one_run(job: tuple[str, int, int, int]) -> tuple[str, int, int, int, float, float, float]:
    """Failed tasks (in all, and of the points issued after JUDGED_AFTER tasks finished),
    best feasible loss, CPU seconds and the judged share of one run."""
    method, seed, n, workers = job
    warnings.simplefilter("ignore")
    began = time.process_time()
    finished, issued = RUNNERS[method](n, workers, seed)
    seconds = time.process_time() - began
    failed = sum(1 for _, broke in finished if broke)
    best = min((loss(p) for p, broke in finished if not broke), default=math.inf)
    late = sum(1 for point, count in issued if count >= JUDGED_AFTER and fails(point))
    return method, seed, failed, late, best, seconds, judged_share(finished, issued)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8, help="simulated concurrency")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                        choices=METHODS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes running the seeds (default: the cores)")
    quick = ["--seeds", "1", "--evaluations", "60"] if QUICK else []
    args = parser.parse_args(quick + sys.argv[1:])
    if TPE in args.methods and importlib.util.find_spec("optuna") is None:
        parser.error("Optuna is not installed: use benchmarks/run.sh failures (it installs "
                     "benchmarks/requirements.txt), or drop it with --methods")
    banner(f"failures: out-of-memory region, {args.evaluations} evaluations, {args.workers} "
           f"simulated workers, {args.seeds} seeds")
    space = Problem(SPEC).space
    share = np.mean([fails(list(p)) for p in space.rvs(10000, random_state=0)])
    print(f"the out-of-memory region: {100 * share:.0f} % of the space (uniform draws); "
          f"judged: points issued after {JUDGED_AFTER} tasks finished")
    jobs = [(method, seed, args.evaluations, args.workers)
            for seed in range(args.seeds) for method in args.methods]
    runs: dict[str, list[tuple[int, int, float, float, float]]] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for method, _, failed, late, best, seconds, judged in pool.map(one_run, jobs):
            runs.setdefault(method, []).append((failed, late, best, seconds, judged))
    rows = []
    for method in args.methods:
        failed, late, best, seconds, judged = (np.array(c) for c in zip(*runs[method]))
        rows.append([method, f"{np.median(failed):.0f} ({failed.min()}-{failed.max()})",
                     f"{failed.sum()}", f"{late.sum()}", f"{np.median(best):.4f}",
                     f"{100 * np.median(judged):.0f} % ({100 * judged.max():.0f} %)",
                     f"{np.median(seconds):.2f} ({seconds.max():.2f})"])
    print(table(["method", "failed tasks: median (range)", "in all",
                 f"in all, of the points issued after {JUDGED_AFTER} finished",
                 "best feasible loss: median",
                 f"issued where P(fail) > {MAX_FAIL_PROBABILITY}: median (max)",
                 "CPU s per run: median (max)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
