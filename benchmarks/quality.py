# QUALITY PY
# Benchmark 3: search quality of simulated asynchronous runs (8 workers,
# random task durations) on the problems of benchmarks/problems.py (BBOB
# functions from COCO, classics, scikit-learn model tuning): median and IQR
# of the simple regret after 100 evaluations over 10 seeds, for async-local
# (the product's Search with the default optimizer and the Proposer's
# prefetch: a freed slot gets a point proposed before the result that freed
# it), random search and Optuna's TPE with constant_liar=True (optionally
# sequential skopt), the counts against TPE and random, the geometric mean
# of regret / random's (each ratio clipped at 1/100: a found optimum is not
# a ratio of 1e-7), and the CPU seconds per run and per 1,000 evaluations
# of each method. Large settings (issue 22): --workers 256 or 1024,
# --evaluations 2000-10000, --exits-per-fit (the exits the Proposer sees
# during one fit at that scale), 10-D and 20-D BBOB problems, and beside
# TPE Optuna's GPSampler ('optuna GP': needs torch, which run.sh installs
# only for a command that names it) and forests ('async-local ET', 'RF').
# Several jobs, one search (issue 19): 'async-local joined' runs JOINED
# searches of --workers / JOINED workers each, as the drivers of a joined
# search do (each its own random state), every one told the others'
# results --share-delay after their end and their running points pending
# --share-delay after their start; against 'async-local' at --workers.
# --record keeps each run (a JSON line) as it ends; --summarize FILE...
# prints the tables of recorded runs (problems run apart, methods
# re-measured) alone. On the conditional problem (issue 21, --problems
# mlp-sgd), beside TPE over the flat space (every parameter, the gated ones
# ignored by the objective when inactive), 'optuna TPE (define-by-run)' and
# 'optuna TPE (multivariate, group)' ask define-by-run: a gated parameter is
# suggested only when active.
# --multi: several objectives, benchmarks/multi.py.
#   python3 benchmarks/quality.py [--seeds 10] [--evaluations 100] [--workers 8]
#       [--exits-per-fit 1] [--share-delay 0.1] [--jobs N] [--record FILE]
#       [--summarize FILE...]

import argparse
import heapq
import importlib.util
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, banner, table
from problems import BBOB, PROBLEMS, SUITE

from Config import DEFAULT_OPTIMIZER
from Problem import Problem
from Search import Search
from Surrogates import FastForest

OURS, RANDOM, TPE, GP = "async-local", "random", "optuna TPE (constant liar)", "optuna GP"
JOINED_METHOD = "async-local joined"
BY_RUN, GROUPED = "optuna TPE (define-by-run)", "optuna TPE (multivariate, group)"
METHODS = (OURS, RANDOM, TPE, GP, BY_RUN, GROUPED, "sequential skopt", JOINED_METHOD)
JOINED = 4  # the searches (drivers) of 'async-local joined', sharing the workers
DEFAULT_METHODS = (OURS, RANDOM, TPE)
FLOOR = 1e-9  # regrets below this count as this (a found optimum) in ratios
CLIP = 0.01  # a ratio to random's counts as at least this in the geometric mean
ALPHA = 0.05  # significance of a difference of regrets to TPE's (Mann-Whitney U)

Objective = Callable[[list[Any]], float]


def durations(seed: int, count: int) -> np.ndarray:
    """Simulated task durations: 0.5-2.5 (any unit), the same for every method."""
    return np.random.RandomState(1000 + seed).uniform(0.5, 2.5, count)


def reserve(exits_per_fit: int) -> int:
    """The points the Proposer keeps ready when this many tasks exit during one fit."""
    return 2 * exits_per_fit + 2


def run_async_local(problem: Problem, f: Objective, n: int, workers: int, seed: int,
                    lie: str = "max", exits_per_fit: int = 1, **optimizer: Any) -> list[float]:
    """The product's Search in simulated time, with the Proposer's prefetch (`simulate`)."""
    search = Search(problem, dict(DEFAULT_OPTIMIZER, random_state=seed, **optimizer), lie)
    return simulate(search, f, n, workers, seed, exits_per_fit)


def simulate(search: Search, f: Callable[[list[Any]], Any], n: int, workers: int, seed: int,
             exits_per_fit: int = 1) -> list[Any]:
    """The values of `n` points of `search`, asynchronous in simulated time, in arrival order.

    A slot freed at an event gets a point proposed before the results of
    that event arrived (the ready reserve); then the results are told and,
    once `exits_per_fit` tasks exited since the last fit, the reserve is
    proposed afresh from one fit (stale points replaced). A slot that
    finds no point ready gets one from a fit of its own (the loop would
    wait for it).
    """
    exits = 0
    times = durations(seed, n)
    clock: list[tuple[float, int, list[Any]]] = []
    ready: list[list[Any]] = []
    values: list[Any] = []
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
        exits += len(done)
        if exits < exits_per_fit and ready:
            continue
        exits = 0
        search.drop(ready)  # stale: replaced by fresh points from one fit
        ready = []
        if issued < n and not search.in_random_phase:
            ready = search.propose(search.snapshot(), min(reserve(exits_per_fit), n - issued))
            search.register(ready)
    return values


class Driver:
    """One search of a joined run: its Search, its ready reserve, its exits since a fit."""

    def __init__(self, search: Search, exits_per_fit: int) -> None:
        self.search = search
        self.exits_per_fit = exits_per_fit
        self.ready: list[list[Any]] = []
        self.exits = 0

    def take(self, want: int) -> list[list[Any]]:
        """Up to `want` points for freed slots before the results that freed them are told:
        the reserve, or random points in the random phase (as run_async_local)."""
        new, self.ready = self.ready[:want], self.ready[want:]
        if len(new) < want and self.search.in_random_phase:
            new += self.search.ask(want - len(new))
        return new

    def refit(self, exited: int, left: int) -> None:
        """After `exited` own tasks ended: the reserve proposed afresh from one fit."""
        self.exits += exited
        if self.exits < self.exits_per_fit and self.ready:
            return
        self.exits = 0
        self.search.drop(self.ready)
        self.ready = []
        if left > 0 and not self.search.in_random_phase:
            self.ready = self.search.propose(self.search.snapshot(),
                                             min(reserve(self.exits_per_fit), left))
            self.search.register(self.ready)


def share(drivers: list[Driver], k: int, point: list[Any], value: float | None) -> None:
    """Driver k's point reaches the others: pending (value None: it started), or told."""
    for other, driver in enumerate(drivers):
        if other != k:
            if value is None:
                driver.search.register([point])
            else:
                driver.search.tell([point], [value])


def run_joined(problem: Problem, f: Objective, n: int, workers: int, seed: int,
               lie: str = "max", exits_per_fit: int = 1, share_delay: float = 0.1,
               **optimizer: Any) -> list[float]:
    """JOINED searches of workers / JOINED slots each, as a joined search's drivers.

    POINTS_MAX (n) is shared (the tickets). Each search is told its own
    results at once and the others' `share_delay` after their end; the
    others' running points are pending in it from `share_delay` after
    their start (the drivers read each other's journals once a second).
    """
    drivers = [Driver(Search(problem, dict(DEFAULT_OPTIMIZER, random_state=seed, **optimizer),
                             lie, resume_offset=1 + k), exits_per_fit) for k in range(JOINED)]
    times = durations(seed, n)
    events: list[tuple[float, int, str, int, list[Any], float]] = []  # time, order, kind, ...
    values: list[float] = []
    issued = 0

    def start(now: float, k: int, points: list[list[Any]]) -> None:
        nonlocal issued
        for point in points:
            end = now + times[issued]
            heapq.heappush(events, (end, issued, "end", k, point, 0.0))
            heapq.heappush(events, (now + share_delay, issued, "started", k, point, 0.0))
            issued += 1

    for k, driver in enumerate(drivers):
        if n > issued:  # POINTS_MAX below the workers: the last drivers find none left
            start(0.0, k, driver.search.ask(min(workers // JOINED, n - issued)))
    while events:
        now, _, kind, k, point, value = heapq.heappop(events)
        if kind != "end":
            share(drivers, k, point, value if kind == "told" else None)
        else:
            value = f(point)
            values.append(value)
            driver = drivers[k]
            want = min(1, n - issued)
            new = driver.take(want)
            driver.search.tell([point], [value])
            if len(new) < want:  # the loop would wait for the model here
                new += driver.search.ask(want - len(new))
            heapq.heappush(events, (now + share_delay, n + len(values), "told", k, point, value))
            start(now, k, new)
            driver.refit(1, n - issued)
    return values


def run_sequential(problem: Problem, f: Objective, n: int, workers: int,
                   seed: int) -> list[float]:
    """skopt's own ask/tell, one point at a time, the original's optimizer (RF, LCB)."""
    from skopt import Optimizer
    optimizer = Optimizer(problem.space, **dict(DEFAULT_OPTIMIZER, base_estimator="RF",
                                                 acq_func="LCB", random_state=seed))
    values = []
    for _ in range(n):
        point = optimizer.ask()
        values.append(f(point))
        optimizer.tell(point, values[-1])
    return values


def run_random(problem: Problem, f: Objective, n: int, workers: int, seed: int) -> list[float]:
    return [f(list(p)) for p in problem.space.rvs(n, random_state=seed)]


def run_optuna(problem: Problem, f: Objective, n: int, workers: int, seed: int,
               sampler: str = "TPE") -> list[float]:
    """Optuna's TPE with constant_liar=True (or its GPSampler, which conditions on
    running trials itself), asynchronous in simulated time."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True)
                                if sampler == "TPE" else optuna.samplers.GPSampler(seed=seed))
    return simulate_study(study, problem, f, n, workers, seed)


def optuna_space(problem: Problem) -> dict[str, Any]:
    """The problem's space as Optuna distributions, by parameter name."""
    import optuna
    from skopt.space import Categorical, Integer
    dists: dict[str, Any] = {}
    for dim in problem.space.dimensions:
        log = getattr(dim, "prior", "") == "log-uniform"
        if isinstance(dim, Categorical):
            dists[dim.name] = optuna.distributions.CategoricalDistribution(list(dim.categories))
        elif isinstance(dim, Integer):
            dists[dim.name] = optuna.distributions.IntDistribution(int(dim.low), int(dim.high),
                                                                   log=log)
        else:
            dists[dim.name] = optuna.distributions.FloatDistribution(dim.low, dim.high, log=log)
    return dists


def simulate_study(study: Any, problem: Problem, f: Callable[[list[Any]], Any], n: int,
                   workers: int, seed: int) -> list[Any]:
    """The values of `n` trials of an Optuna study (ask/tell), asynchronous in simulated
    time, in arrival order."""
    dists = optuna_space(problem)
    times = durations(seed, n)
    clock: list[tuple[float, int, Any]] = []
    values: list[Any] = []
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


def run_optuna_by_run(problem: Problem, f: Objective, n: int, workers: int, seed: int,
                      grouped: bool = False) -> list[float]:
    """Optuna's TPE (constant_liar=True; with `grouped`, multivariate=True, group=True) on
    the problem written define-by-run: each parameter suggested when its conditions hold
    (Problem's rules, parents first), as an Optuna user writes a conditional space."""
    import optuna
    from skopt.space import Categorical, Integer

    from Conditions import value_text
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(
        seed=seed, multivariate=grouped, group=grouped, constant_liar=True))
    dims = problem.space.dimensions

    def ask() -> tuple[Any, list[Any]]:
        trial = study.ask()
        point: list[Any] = []
        for index, dim in enumerate(dims):
            rule = problem.rules.conditions.get(index, {})
            if not all(point[parent] is not None and value_text(dims[parent], point[parent])
                       in texts for parent, texts in rule.items()):
                point.append(None)
            elif isinstance(dim, Categorical):
                point.append(trial.suggest_categorical(dim.name, list(dim.categories)))
            elif isinstance(dim, Integer):
                point.append(trial.suggest_int(dim.name, int(dim.low), int(dim.high),
                                               log=dim.prior == "log-uniform"))
            else:
                point.append(trial.suggest_float(dim.name, dim.low, dim.high,
                                                 log=dim.prior == "log-uniform"))
        return trial, [problem.fixed[i] if v is None else v for i, v in enumerate(point)]

    times = durations(seed, n)
    clock: list[tuple[float, int, Any, list[Any]]] = []
    values: list[float] = []
    for issued in range(min(workers, n)):
        heapq.heappush(clock, (times[issued], issued, *ask()))
    issued = min(workers, n)
    while clock:
        now, _, trial, point = heapq.heappop(clock)
        values.append(f(point))
        study.tell(trial, values[-1])
        if issued < n:
            heapq.heappush(clock, (now + times[issued], issued, *ask()))
            issued += 1
    return values


def run_optuna_grouped(problem: Problem, f: Objective, n: int, workers: int,
                       seed: int) -> list[float]:
    """run_optuna_by_run with multivariate=True, group=True."""
    return run_optuna_by_run(problem, f, n, workers, seed, grouped=True)


def run_optuna_gp(problem: Problem, f: Objective, n: int, workers: int,
                  seed: int) -> list[float]:
    """Optuna's GPSampler (torch), asynchronous in simulated time."""
    return run_optuna(problem, f, n, workers, seed, sampler="GP")


RUNNERS = {OURS: run_async_local, RANDOM: run_random, TPE: run_optuna, GP: run_optuna_gp,
           BY_RUN: run_optuna_by_run, GROUPED: run_optuna_grouped,
           "sequential skopt": run_sequential, JOINED_METHOD: run_joined}


def speed_up_forests() -> None:
    """Score skopt's RF/ET with FastForest (the same numbers, ~3x faster) in this process."""
    from skopt.learning import forest

    for cls in (forest.RandomForestRegressor, forest.ExtraTreesRegressor):
        def predict(self, X, return_std=False):
            return FastForest(self).predict(X, return_std)
        cls.predict = predict


def variant(method: str) -> tuple[Callable, dict[str, Any]]:
    """The runner of a method: `async-local lie=mean`, `async-local ET acq_func=EI`, ..."""
    if method in RUNNERS:
        return RUNNERS[method], {}
    options: dict[str, Any] = {}
    for word in method.split()[1:]:
        name, _, value = word.partition("=")
        if not value:
            name, value = "base_estimator", word
        options[name] = value
    return run_async_local, options


def one_run(job: tuple[str, str, int, int, int, int, float]
            ) -> tuple[str, str, int, float, float]:
    """Best value and CPU seconds (the method's, not the objective's) of one run."""
    name, method, seed, n, workers, exits_per_fit, share_delay = job
    warnings.simplefilter("ignore")
    speed_up_forests()
    benchmark = PROBLEMS[name]
    runner, options = variant(method)
    if runner in (run_async_local, run_joined):
        options["exits_per_fit"] = exits_per_fit
    if runner is run_joined:
        options["share_delay"] = share_delay
    objective_seconds = [0.0]

    def f(point: list[Any]) -> float:
        began = time.process_time()
        value = benchmark.objective(list(point), seed)
        objective_seconds[0] += time.process_time() - began
        return value
    began = time.process_time()
    values = runner(Problem(benchmark.spec), f, n, workers, seed, **options)
    seconds = time.process_time() - began - objective_seconds[0]
    assert len(values) == n, (method, len(values))
    return name, method, seed, min(values), seconds


def summary(problems: list[str], methods: list[str], best: dict[tuple[str, str, int], float],
            seeds: int, optima: dict[tuple[str, int], float | None]
            ) -> tuple[list[list[str]], dict[str, dict[str, float]]]:
    """The table rows (median regret, IQR, / random), and per method the counts and ratios."""
    rows = []
    medians: dict[tuple[str, str], float] = {}
    samples: dict[tuple[str, str], list[float]] = {}
    for name in problems:
        found = min(v for (p, _, _), v in best.items() if p == name)
        for method in methods:
            regrets = []
            for seed in range(seeds):
                optimum = optima[(name, seed)]
                regrets.append(best[(name, method, seed)] - (found if optimum is None
                                                              else optimum))
            q1, median, q3 = np.percentile(regrets, [25, 50, 75])
            medians[(name, method)] = float(median)
            samples[(name, method)] = regrets
            rows.append([name, method, f"{median:.4g}", f"{q1:.4g} - {q3:.4g}"])
    scores: dict[str, dict[str, float]] = {}
    for method in methods:
        ratios: list[float] = []
        beat_tpe, beat_random, beat_gp, worse, better = 0, 0, 0, 0, 0
        for name in problems:
            mine = max(medians[(name, method)], FLOOR)
            if (name, GP) in medians:
                beat_gp += mine <= max(medians[(name, GP)], FLOOR)
            if (name, RANDOM) in medians:
                ratios.append(mine / max(medians[(name, RANDOM)], FLOOR))
                beat_random += mine <= max(medians[(name, RANDOM)], FLOOR)
            if (name, TPE) in medians:
                beat_tpe += mine <= max(medians[(name, TPE)], FLOOR)
                if method != TPE:
                    worse += differs(samples[(name, method)], samples[(name, TPE)], "greater")
                    better += differs(samples[(name, method)], samples[(name, TPE)], "less")
        scores[method] = {"vs TPE": beat_tpe, "vs random": beat_random, "vs GP": beat_gp,
                          "geo-mean / random": _geo_mean(np.maximum(ratios, CLIP)),
                          "unclipped": _geo_mean(ratios), "worse": worse, "better": better}
    for row in rows:
        ratio = max(medians[(row[0], row[1])], FLOOR) / max(medians.get((row[0], RANDOM),
                                                                         math.nan), FLOOR)
        row.append(f"{ratio:.3f}")
    return rows, scores


def differs(mine: list[float], theirs: list[float], alternative: str) -> bool:
    """Whether `mine` is significantly greater / less (Mann-Whitney U, one-sided, p < 0.05)."""
    if np.ptp(mine + theirs) == 0:
        return False
    return bool(mannwhitneyu(mine, theirs, alternative=alternative).pvalue < ALPHA)


def _geo_mean(ratios: Any) -> float:
    return float(np.exp(np.mean(np.log(ratios)))) if len(ratios) else math.nan


def report(problems: list[str], methods: list[str], seeds: int,
           best: dict[tuple[str, str, int], float], cpu: dict[str, list[tuple[float, int]]],
           optima: dict[tuple[str, int], float | None]) -> None:
    """The table per problem and method, and the scores per method.

    `cpu` holds each run's (CPU seconds, evaluations) per method.
    """
    rows, scores = summary(problems, methods, best, seeds, optima)
    print()
    print(table(["problem", "method", "median regret", "IQR", "/ random"], rows))
    print()
    versus_gp = ["no worse than optuna GP"] if GP in methods else []
    print(table(["method", "no worse than TPE", "significantly worse / better than TPE",
                 *versus_gp, "no worse than random",
                 f"geo-mean / random (ratios >= {CLIP})", "unclipped",
                 "search CPU s per run (median, max)", "per 1,000 evaluations (median)"],
                [[m, f"{scores[m]['vs TPE']:.0f} of {len(problems)}",
                  f"{scores[m]['worse']:.0f} / {scores[m]['better']:.0f}",
                  *[f"{scores[m]['vs GP']:.0f} of {len(problems)}" for _ in versus_gp],
                  f"{scores[m]['vs random']:.0f} of {len(problems)}",
                  f"{scores[m]['geo-mean / random']:.3f}", f"{scores[m]['unclipped']:.3g}",
                  f"{np.median([c for c, _ in cpu[m]]):.2f}, {max(c for c, _ in cpu[m]):.2f}",
                  f"{np.median([1000 * c / n for c, n in cpu[m]]):.2f}"] for m in methods]))
    if OURS in methods and JOINED_METHOD in methods:
        print(versus(problems, seeds, best, optima))
    print("(regret: best value minus the optimum; for the model-tuning problems, minus the "
          "best value any run found; significantly: Mann-Whitney U over the seeds, one-sided, "
          f"p < {ALPHA}; CPU: the method's own, objective excluded)")


def versus(problems: list[str], seeds: int, best: dict[tuple[str, str, int], float],
           optima: dict[tuple[str, int], float | None]) -> str:
    """'async-local joined' against 'async-local', problem by problem, seed by seed."""
    no_worse, worse, better = 0, [], []
    for name in problems:
        found = min(v for (p, _, _), v in best.items() if p == name)
        regrets = {method: [best[(name, method, seed)] - (
            found if optima[(name, seed)] is None else optima[(name, seed)])
            for seed in range(seeds)] for method in (OURS, JOINED_METHOD)}
        joined, single = regrets[JOINED_METHOD], regrets[OURS]
        no_worse += max(float(np.median(joined)), FLOOR) <= max(float(np.median(single)), FLOOR)
        if differs(joined, single, "greater"):
            worse.append(name)
        if differs(joined, single, "less"):
            better.append(name)
    return (f"{JOINED_METHOD} ({JOINED} searches) against {OURS}: median regret no worse on "
            f"{no_worse} of {len(problems)} problems; significantly worse on {len(worse)} "
            f"({', '.join(worse) or '-'}), better on {len(better)} ({', '.join(better) or '-'})")


def summarize(files: list[str], problems: list[str] | None) -> int:
    """The tables of recorded runs: the problems and methods every seed ran, later lines first."""
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    for name in files:
        with open(name) as lines:
            for line in lines:
                run = json.loads(line)
                runs[(run["problem"], run["method"], run["seed"])] = run
    kept = problems or list(dict.fromkeys(p for p, _, _ in runs))
    methods = list(dict.fromkeys(m for _, m, _ in runs))
    seeds = min(sum(1 for (p, m, _) in runs if (p, m) == (name, method))
                for name in kept for method in methods)
    best = {k: r["best"] for k, r in runs.items() if k[0] in kept and k[2] < seeds}
    cpu: dict[str, list[tuple[float, int]]] = {}
    for (name, method, seed), run in runs.items():
        if name in kept and seed < seeds:  # runs before issue 22 were all of 100 evaluations
            cpu.setdefault(method, []).append((run["cpu"], run.get("evaluations", 100)))
    optima = {(r["problem"], r["seed"]): r["optimum"] for r in runs.values()}
    print(f"{len(kept)} problems, {seeds} seeds each, from {', '.join(files)}")
    report(kept, methods, seeds, best, cpu, optima)
    return 0


def main() -> int:
    if "--multi" in sys.argv[1:]:  # several objectives: benchmarks/multi.py
        import multi
        return multi.main([word for word in sys.argv[1:] if word != "--multi"])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8, help="simulated concurrency")
    parser.add_argument("--exits-per-fit", type=int, default=1,
                        help="tasks that exit during one of async-local's fits (default 1: "
                             "a fit per exit; at 1,024 slots of 20-40 s tasks, 34 exit a "
                             "second)")
    parser.add_argument("--share-delay", type=float, default=0.1,
                        help="'async-local joined': how long after a task's start (end) the "
                             "other searches see its point pending (its result), in the "
                             "task durations' unit (0.5-2.5; default 0.1: 1-2 s of a 20-40 s "
                             "task)")
    parser.add_argument("--problems", nargs="+", default=SUITE, choices=list(PROBLEMS),
                        help="default: the 18 of the suite (not the LARGE, HELD_OUT, VALIDATION, "
                             "VALIDATION2 or CONDITIONAL ones)")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                        help=f"of {', '.join(METHODS)}; also variants of async-local: "
                             "'async-local RF', 'async-local lie=mean acq_func=LCB', ...")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes running the seeds (default: the cores)")
    parser.add_argument("--record", metavar="FILE",
                        help="append each run (a JSON line) to FILE as it ends")
    parser.add_argument("--summarize", nargs="+", metavar="FILE",
                        help="print the tables of runs recorded in FILEs (of --problems if "
                             "given), run nothing")
    quick = ["--seeds", "1", "--evaluations", "14", "--problems", "branin",
             "svm-digits"] if QUICK else []
    args = parser.parse_args(quick + sys.argv[1:])
    bbob = [name for name in args.problems if name in BBOB]
    if bbob and not args.summarize and importlib.util.find_spec("cocoex") is None:
        parser.error(f"COCO's cocoex is not installed; the BBOB problems need it "
                     f"({', '.join(bbob)}): use "
                     "benchmarks/run.sh quality in a fresh clone, or pip install "
                     "coco-experiment==2.8.2, or choose other --problems")
    if args.summarize:
        return summarize(args.summarize, args.problems if "--problems" in sys.argv else None)
    if {TPE, GP, BY_RUN, GROUPED} & set(args.methods) \
            and importlib.util.find_spec("optuna") is None:
        parser.error("Optuna is not installed: use benchmarks/run.sh quality (it installs "
                     "benchmarks/requirements.txt), or drop it with --methods")
    if GP in args.methods and importlib.util.find_spec("torch") is None:
        parser.error(f"'{GP}' needs torch: use benchmarks/run.sh quality (it installs "
                     "torch==2.13.0 for a command that names it), or drop it with --methods")
    banner(f"quality: simple regret after {args.evaluations} evaluations, {args.workers} "
           f"simulated workers, {args.seeds} seeds, {args.exits_per_fit} exit(s) per fit")
    print("optimizer: " + ", ".join(f"{k}={v}" for k, v in DEFAULT_OPTIMIZER.items()
                                    if k != "random_state") + ", random_state=seed; lie=max")
    methods = list(args.methods)
    jobs = [(name, method, seed, args.evaluations, args.workers, args.exits_per_fit,
             args.share_delay)
            for name in args.problems for seed in range(args.seeds) for method in methods]
    began = time.time()
    best: dict[tuple[str, str, int], float] = {}
    cpu: dict[str, list[tuple[float, int]]] = {}
    optima: dict[tuple[str, int], float | None] = {}
    with open(args.record or os.devnull, "a") as record, \
            ProcessPoolExecutor(args.jobs) as pool:
        for name, method, seed, value, seconds in pool.map(one_run, jobs):
            best[(name, method, seed)] = value
            cpu.setdefault(method, []).append((seconds, args.evaluations))
            optima[(name, seed)] = PROBLEMS[name].optimum(seed)
            record.write(json.dumps({"problem": name, "method": method, "seed": seed,
                                     "best": value, "cpu": seconds,
                                     "optimum": optima[(name, seed)],
                                     "evaluations": args.evaluations, "workers": args.workers,
                                     "exits_per_fit": args.exits_per_fit,
                                     "share_delay": args.share_delay}) + "\n")
            record.flush()
    report(args.problems, methods, args.seeds, best, cpu, optima)
    print(f"wall: {time.time() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
