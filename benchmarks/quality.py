# QUALITY PY
# Benchmark 3: search quality of simulated asynchronous runs (8 workers,
# random task durations) on Branin, Hartmann-6 and a mixed categorical /
# integer / real problem: median and IQR of the simple regret after 100
# evaluations over 20 seeds, for async-local (the product's Search, with
# the Proposer's prefetch: a freed slot gets a point proposed before the
# result that freed it), sequential skopt (same optimizer, one point at a
# time), random search, and Optuna's TPE with constant_liar=True.
#   python3 benchmarks/quality.py [--seeds 20] [--evaluations 100] [--workers 8]

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

from Config import DEFAULT_OPTIMIZER
from Problem import Problem
from Search import Search
from Surrogates import FastForest

RESERVE = 4  # what the Proposer keeps ready when one task exits per fit (2 x 1 + 2)

HARTMANN_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                       [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
HARTMANN_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886],
                              [2329, 4135, 8307, 3736, 1004, 9991],
                              [2348, 1451, 3522, 2883, 3047, 6650],
                              [4047, 8828, 8732, 5743, 1091, 381]])
HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
CATEGORY_COST = {"a": 2.0, "b": 0.0, "c": 1.0, "d": 3.0}


def branin(x1: float, x2: float) -> float:
    """Branin-Hoo; minimum 0.397887 at three points."""
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def hartmann6(x: list[float]) -> float:
    """Hartmann-6; minimum -3.32237."""
    x = np.asarray(x, dtype=float)
    inner = np.sum(HARTMANN_A * (x - HARTMANN_P) ** 2, axis=1)
    return float(-np.sum(HARTMANN_ALPHA * np.exp(-inner)))


def mixed(point: list[Any]) -> float:
    """Branin in (x1, x2) plus a cost per category plus (n - 7)^2 / 10; minimum 0.397887."""
    c, x1, x2, n = point
    return branin(x1, x2) + CATEGORY_COST[c] + (n - 7) ** 2 / 10


PROBLEMS: dict[str, tuple[dict[str, Any], Callable[[list[Any]], float], float]] = {
    "branin": ({"x1": {"low": -5.0, "high": 10.0}, "x2": {"low": 0.0, "high": 15.0}},
               lambda p: branin(*p), 0.397887),
    "hartmann6": ({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(6)},
                  hartmann6, -3.32237),
    "mixed": ({"c": ["a", "b", "c", "d"], "x1": {"low": -5.0, "high": 10.0},
               "x2": {"low": 0.0, "high": 15.0}, "n": {"low": 0, "high": 10}},
              mixed, 0.397887),
}
METHODS = ("async-local", "sequential skopt", "random", "optuna TPE (constant liar)")


def durations(seed: int, count: int) -> np.ndarray:
    """Simulated task durations: 0.5-2.5 (any unit), the same for every method."""
    return np.random.RandomState(1000 + seed).uniform(0.5, 2.5, count)


def run_async_local(problem: Problem, f: Callable, n: int, workers: int, seed: int,
                    lie: str = "max", surrogate: str = "RF") -> list[float]:
    """The product's Search in simulated time, with the Proposer's prefetch.

    A slot freed at an event gets a point proposed before the results of
    that event arrived (the ready reserve); then the results are told and
    the reserve is proposed afresh from one fit (stale points replaced).
    """
    search = Search(problem, dict(DEFAULT_OPTIMIZER, random_state=seed,
                                  base_estimator=surrogate), lie)
    times = durations(seed, n)
    clock: list[tuple[float, int, list[Any]]] = []
    ready: list[list[Any]] = []
    values: list[float] = []
    issued = 0
    for point in search.ask(min(workers, n)):
        heapq.heappush(clock, (times[issued], issued, point))
        issued += 1
    while clock:
        now, _, point = heapq.heappop(clock)
        done = [point]
        while clock and clock[0][0] == now:
            done.append(heapq.heappop(clock)[2])
        want = min(len(done), n - issued)
        new = ready[:want]
        ready = ready[want:]
        if len(new) < want:  # the loop would wait for the model here
            new += search.ask(want - len(new)) if search.in_random_phase else []
        results = [f(p) for p in done]
        values += results
        search.tell(done, results)
        if len(new) < want:
            new += search.ask(want - len(new))
        for p in new:
            heapq.heappush(clock, (now + times[issued], issued, p))
            issued += 1
        search.drop(ready)  # stale: replaced by fresh points from one fit
        ready = []
        if issued < n and not search.in_random_phase:
            ready = search.propose(search.snapshot(), min(RESERVE, n - issued))
            search.register(ready)
    return values


def run_sequential(problem: Problem, f: Callable, n: int, workers: int, seed: int) -> list[float]:
    """skopt's own ask/tell, one point at a time, same optimizer settings."""
    from skopt import Optimizer
    optimizer = Optimizer(problem.space, **dict(DEFAULT_OPTIMIZER, random_state=seed))
    values = []
    for _ in range(n):
        point = optimizer.ask()
        values.append(f(point))
        optimizer.tell(point, values[-1])
    return values


def run_random(problem: Problem, f: Callable, n: int, workers: int, seed: int) -> list[float]:
    return [f(list(p)) for p in problem.space.rvs(n, random_state=seed)]


def run_optuna(problem: Problem, f: Callable, n: int, workers: int, seed: int) -> list[float]:
    """Optuna's TPE with constant_liar=True, asynchronous in simulated time."""
    import optuna
    from skopt.space import Categorical, Integer
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists: dict[str, Any] = {}
    for dim in problem.space.dimensions:
        if isinstance(dim, Categorical):
            dists[dim.name] = optuna.distributions.CategoricalDistribution(list(dim.categories))
        elif isinstance(dim, Integer):
            dists[dim.name] = optuna.distributions.IntDistribution(int(dim.low), int(dim.high))
        else:
            dists[dim.name] = optuna.distributions.FloatDistribution(dim.low, dim.high)
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    study = optuna.create_study(sampler=sampler)
    times = durations(seed, n)
    clock: list[tuple[float, int, Any]] = []
    values: list[float] = []
    for issued in range(min(workers, n)):
        heapq.heappush(clock, (times[issued], issued, study.ask(dists)))
    issued = min(workers, n)
    while clock:
        now, _, trial = heapq.heappop(clock)
        value = f([trial.params[name] for name in problem.names])
        values.append(value)
        study.tell(trial, value)
        if issued < n:
            heapq.heappush(clock, (now + times[issued], issued, study.ask(dists)))
            issued += 1
    return values


RUNNERS = {"async-local": run_async_local, "sequential skopt": run_sequential,
           "random": run_random, "optuna TPE (constant liar)": run_optuna}


def speed_up_forests() -> None:
    """Score skopt's RF/ET with FastForest (the same numbers, ~3x faster) in this process."""
    from skopt.learning import forest

    for cls in (forest.RandomForestRegressor, forest.ExtraTreesRegressor):
        def predict(self, X, return_std=False):
            return FastForest(self).predict(X, return_std)
        cls.predict = predict


def variant(method: str) -> tuple[Callable, dict[str, str]]:
    """The runner of a method name: `async-local lie=mean`, `async-local ET`, ..."""
    if method in RUNNERS:
        return RUNNERS[method], {}
    words = method.split()
    options = {}
    for word in words[1:]:
        if word.startswith("lie="):
            options["lie"] = word[4:]
        else:
            options["surrogate"] = word
    return run_async_local, options


def one_run(job: tuple[str, str, int, int, int]) -> tuple[str, str, int, float, float]:
    """Simple regret of one (problem, method, seed) run."""
    name, method, seed, n, workers = job
    warnings.simplefilter("ignore")
    speed_up_forests()
    spec, f, optimum = PROBLEMS[name]
    runner, options = variant(method)
    began = time.process_time()
    values = runner(Problem(spec), f, n, workers, seed, **options)
    assert len(values) == n, (method, len(values))
    return name, method, seed, min(values) - optimum, time.process_time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8, help="simulated concurrency")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS),
                        help=f"of {', '.join(METHODS)}; also 'async-local lie=mean', "
                             "'async-local ET' (see --lies, --surrogates)")
    parser.add_argument("--lies", nargs="*", default=[], choices=["max", "mean", "min", "none"],
                        help="also run async-local with these pending lies (default: max only)")
    parser.add_argument("--surrogates", nargs="*", default=[], choices=["ET", "GBRT", "GP"],
                        help="also run async-local with these surrogates instead of RF")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes running the seeds (default: the cores)")
    quick = ["--seeds", "1", "--evaluations", "14", "--problems", "branin"] if QUICK else []
    args = parser.parse_args(quick + sys.argv[1:])
    if "optuna TPE (constant liar)" in args.methods and importlib.util.find_spec("optuna") is None:
        parser.error("Optuna is not installed: use benchmarks/run.sh quality (it installs "
                     "benchmarks/requirements.txt), or drop it with --methods")
    banner(f"quality: simple regret after {args.evaluations} evaluations, {args.workers} "
           f"simulated workers, {args.seeds} seeds")
    print("optimizer: " + ", ".join(f"{k}={v}" for k, v in DEFAULT_OPTIMIZER.items()
                                    if k != "random_state") + ", random_state=seed; lie=max")
    methods = list(args.methods) + [f"async-local lie={lie}" for lie in args.lies] + \
        [f"async-local {surrogate}" for surrogate in args.surrogates]
    jobs = [(name, method, seed, args.evaluations, args.workers) for name in args.problems
            for seed in range(args.seeds) for method in methods]
    began = time.time()
    regrets: dict[tuple[str, str], list[float]] = {}
    cpu: dict[str, float] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for name, method, _, regret, seconds in pool.map(one_run, jobs):
            regrets.setdefault((name, method), []).append(regret)
            cpu[method] = cpu.get(method, 0.0) + seconds
    rows = []
    for name in args.problems:
        random_median = float(np.median(regrets[(name, "random")])) \
            if (name, "random") in regrets else math.nan
        for method in methods:
            values = np.asarray(regrets[(name, method)])
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            rows.append([name, method, f"{median:.4g}", f"{q1:.4g} - {q3:.4g}",
                         f"{median / random_median:.2f}" if random_median else "-"])
    print()
    print(table(["problem", "method", "median regret", "IQR", "/ random"], rows))
    print()
    print("CPU s per run: " + ", ".join(f"{m} {cpu[m] / (len(args.problems) * args.seeds):.1f}"
                                         for m in methods))
    print(f"wall: {time.time() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
