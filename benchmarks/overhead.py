# OVERHEAD PY
# Benchmark 1: replacement latency (a task's own exit -> its successor
# spawned) and the driver's CPU time per task, with real subprocess tasks,
# at history sizes 100 and 2,000 and concurrency 16 and 256, 6 dimensions;
# against the original's inline loop (refit on every tell, then
# ask(n_points=1) per point) in the same run. The inline loop is a switch
# of this benchmark only, not a product option.
#   python3 benchmarks/overhead.py [--history 100 2000] [--concurrency 16 256] ...

import argparse
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (
    QUICK,
    banner,
    clean_up,
    ms,
    proposer_factory,
    read_tasks,
    replacements,
    run_loop,
    seeded_search,
    space6,
    table,
)

from ModelShare import ModelShare
from Origin import Origin
from Search import Search

QUICK_ARGS = ["--history", "20", "--concurrency", "4", "--tasks", "8", "--inline-tasks", "2"]
# task durations (s) per concurrency: about 20-40 completions a second
SLEEP = {16: (0.2, 0.6), 256: (4.0, 12.0)}


class InlinePoints:
    """The original's loop: every tell refits, every point is ask(n_points=1).

    skopt's `tell` refits and scores 10,000 candidates; its `ask` copies the
    optimizer (a refit) and tells the copy a lie (another). Only the first
    `budget` tells refit (the ones the original would have followed by an
    ask), so the drain after the last ask costs nothing.
    """

    def __init__(self, search: Search, budget: int) -> None:
        self.optimizer = search.optimizer
        self.fits_left = budget
        self.first = True
        self.origins: list[Origin] = []  # of the points the last take returned
        self.share = ModelShare()  # of every point taken
        x, y = self.optimizer.Xi.pop(), self.optimizer.yi.pop()
        self.optimizer._n_initial_points += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.optimizer.tell(x, y)  # the model the original would have by now

    def start(self) -> None:
        pass

    def take(self, k: int) -> list[list[Any]]:
        if self.first:  # the first wave is not a replacement: drawn at random, not measured
            self.first = False
            self.origins = [Origin.RANDOM] * k
            self.share.add(self.origins, after_design=False)
            return [list(p) for p in self.optimizer.space.rvs(k, random_state=0)]
        self.origins = [Origin.MODEL] * k
        self.share.add(self.origins, after_design=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [list(self.optimizer.ask(n_points=1)[0]) for _ in range(k)]

    def tell(self, points: list[list[Any]], values: list[float]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for point, value in zip(points, values):
                fit = self.fits_left > 0
                self.fits_left -= 1
                self.optimizer.tell(list(point), float(value), fit=fit)

    def fail(self, points: list[list[Any]]) -> None:
        pass

    def drop(self, points: list[list[Any]]) -> None:
        pass

    def failure(self) -> BaseException | None:
        return None

    def close(self) -> None:
        pass


def inline_factory(search: Search, budget: int) -> Callable[[Callable[[], None]], Any]:
    return lambda notify: InlinePoints(search, budget)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[100, 2000],
                        help="results told before the run (default 100 2000)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--tasks", type=int, default=0,
                        help="replacements per async run (default 25 x 16 or 4 x 256)")
    parser.add_argument("--inline-tasks", type=int, default=30,
                        help="replacements per inline (original) run (default 30)")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for this run (default: the product's)")
    parser.add_argument("--modes", nargs="+", default=["async", "inline"],
                        choices=["async", "inline"])
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    args = parser.parse_args(QUICK_ARGS + sys.argv[1:] if QUICK else None)
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    banner("overhead: replacement latency and driver CPU per task (real subprocess tasks)")
    print(f"switch interval: {sys.getswitchinterval() * 1000:.2f} ms")
    root = tempfile.mkdtemp(prefix="async-local-overhead-")
    problem = space6()
    rows = []
    figures: dict[tuple[int, int, str], dict[str, float]] = {}
    for history in args.history:
        for concurrency in args.concurrency:
            sleep = SLEEP.get(concurrency, (0.2, 0.6))
            for mode in args.modes:
                search = seeded_search(problem, history)
                if mode == "async":
                    more = args.tasks or max(400, 4 * concurrency)
                    make = proposer_factory(search)
                else:
                    more = args.inline_tasks
                    make = inline_factory(search, more)
                out = os.path.join(root, f"{mode}-h{history}-c{concurrency}")
                print(f"running {mode:6s} history={history} concurrency={concurrency} "
                      f"tasks={concurrency + more} sleep={sleep[0]:g}-{sleep[1]:g} s ...",
                      flush=True)
                stats = run_loop(make, problem, concurrency, concurrency + more, out, sleep,
                                 out + ".log")
                tasks = read_tasks(out)
                to_spawn, to_run = replacements(tasks)
                # per replacement: the first wave costs no model in either loop, and the
                # inline loop refits only for the tells that are followed by an ask
                cpu_per_task = stats["cpu"] / len(to_spawn)
                figures[(history, concurrency, mode)] = {
                    "p50": float(np.percentile(to_spawn, 50)),
                    "p99": float(np.percentile(to_spawn, 99)), "cpu": cpu_per_task}
                rows.append([history, concurrency, mode, len(to_spawn), ms(to_spawn, 50),
                             ms(to_spawn, 99), ms(to_spawn, 100), ms(to_run, 99),
                             f"{1000 * cpu_per_task:.1f}", f"{stats['wall']:.1f}",
                             stats["waits"] if mode == "async" else "-",
                             stats["spared"] if mode == "async" else "-",
                             stats["fits"] if mode == "async" else "-"])
    print()
    print("latency: a task's own last timestamp -> its successor (same slot) spawned;"
          " 'run p99': -> the successor's first line ran")
    print(table(["history", "concurrency", "loop", "replacements", "p50 ms", "p99 ms",
                 "max ms", "run p99 ms", "CPU ms/repl.", "wall s", "waits", "spare", "fits"], rows))
    print("waits: takes that left slots idle (no point ready or spare); spare: points handed "
          "out from the last fit's spares; fits: model fits (each proposes a whole batch); "
          "CPU per replacement: the driver's CPU (with its model-fitting process) over the "
          "replacements")
    ratios = []
    for history in args.history:
        for concurrency in args.concurrency:
            a = figures.get((history, concurrency, "async"))
            b = figures.get((history, concurrency, "inline"))
            if a and b:
                ratios.append([history, concurrency, f"{b['p50'] / a['p50']:.0f}x",
                               f"{b['p99'] / a['p99']:.0f}x", f"{b['cpu'] / a['cpu']:.1f}x"])
    if ratios:
        print()
        print("inline (original) / async-local:")
        print(table(["history", "concurrency", "p50 latency", "p99 latency", "CPU per replacement"],
                    ratios))
    clean_up(root, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
