# BENCHMARKS COMMON PY
# What the benchmarks share: the bundle on sys.path, the 6-dimensional
# benchmark space, running the real search loop (Workflow) on real
# subprocess tasks (beside CPU hogs if asked), reading back the times the
# tasks measured themselves and where each point came from (the model or
# random, and how stale), and printing tables with the exact command that
# made them.

import contextlib
import csv
import itertools
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.dirname(HERE)
if BUNDLE not in sys.path:
    sys.path.insert(0, BUNDLE)

import Layout
from Config import DEFAULT_OPTIMIZER, Config
from Issues import Points
from Launcher import Launcher
from Origin import Origin
from Problem import Problem
from Proposer import Proposer
from Results import open_journals
from Search import Search
from utils import LOG, set_log_level
from Workflow import Plan, Workflow

SLEEP_TASK = os.path.join(HERE, "sleep-task.sh")


QUICK = bool(os.environ.get("BENCHMARK_QUICK"))  # the same code on a tiny load (README test)


def command_line() -> str:
    """The exact command that runs this benchmark again (from the bundle's folder)."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    return shlex.join(["benchmarks/run.sh", name, *sys.argv[1:]])


def banner(title: str) -> None:
    """Print what runs and the command that repeats it."""
    print(f"== {title}")
    print(f"command: {command_line()}   (in {BUNDLE}; or: python3 benchmarks/"
          f"{os.path.basename(sys.argv[0])} with the same arguments)")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}", flush=True)
    if QUICK:
        print("BENCHMARK_QUICK is set: a tiny load, to check the benchmark runs (not figures)")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, right-aligned."""
    text = [[str(h) for h in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in text]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def space6() -> Problem:
    """Six real dimensions in [0, 1] (names x0..x5)."""
    return Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(6)})


def seeded_search(problem: Problem, history: int, seed: int = 0) -> Search:
    """The default search, already told `history` random results."""
    search = Search(problem, DEFAULT_OPTIMIZER, "max")
    if history:
        rng = np.random.RandomState(seed)
        points = [list(map(float, x)) for x in rng.rand(history, len(problem.names))]
        search.tell(points, [float(np.sum((np.asarray(p) - 0.3) ** 2)) for p in points])
    return search


def raise_fd_limit() -> None:
    """Thousands of concurrent tasks need thousands of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_rss_mib() -> float:
    """Peak resident memory of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_loop(make_points: Callable[[Callable[[], None]], Points], problem: Problem,
             concurrency: int, points_max: int, output: str, sleep: tuple[float, float],
             log: str, launcher: Launcher | None = None) -> dict[str, Any]:
    """Run the product's search loop on sleep-task.sh; return wall and CPU seconds.

    `make_points(notify)` builds what the loop takes points from (the
    Proposer, or a benchmark baseline); `notify` wakes the loop. `launcher`
    places the tasks (default: none, each runs here as it is).
    """
    raise_fd_limit()
    os.makedirs(output, exist_ok=False)
    config = Config(script=SLEEP_TASK, problem=problem)
    plan = Plan(parallelism=1, concurrency=concurrency, points_max=points_max, output=output)
    environ = dict(os.environ, OUTPUT=output, PYTHON=sys.executable,
                   SLEEP_MIN=f"{sleep[0]:.3f}", SLEEP_MAX=f"{sleep[1]:.3f}")
    workflow: Workflow
    points = make_points(lambda: workflow.wake())
    journals = open_journals(output, config.problem.names, config.metrics)
    workflow = Workflow(config, plan, points, launcher or Launcher(reason="benchmark"), environ,
                        journals)
    cpu = cpu_seconds()
    began = time.time()
    with open(log, "w") as stream, contextlib.redirect_stdout(stream):
        set_log_level("WARNING")  # failures, stops and the summary go to the log
        try:
            code = workflow.run()
        finally:
            LOG.handlers[:] = []
    wall = time.time() - began
    if code != 0:
        raise SystemExit(f"benchmark: the search loop exited with code {code}; see {log}")
    # the driver's CPU: this process (loop and threads) plus its model-fitting process
    cpu = cpu_seconds() - cpu + getattr(points, "fit_cpu", 0.0)
    return {"wall": wall, "cpu": cpu, "loop_cpu": cpu - getattr(points, "fit_cpu", 0.0),
            "began": began, "ended": began + wall,
            "waits": getattr(points, "waits", 0), "fits": getattr(points, "fits", 0),
            "urgent_fits": getattr(points, "urgent_fits", 0),
            "spared": getattr(points, "spared", 0),
            "chosen_late": getattr(getattr(points, "share", None), "chosen_late", 0),
            "issued_late": getattr(getattr(points, "share", None), "issued_late", 0),
            "staleness": np.asarray(getattr(points, "stale_log", []), dtype=float)}


class RecordingProposer(Proposer):
    """The product's Proposer, keeping the staleness of every model point it handed out."""

    def __init__(self, search: Search, notify: Callable[[], None]) -> None:
        super().__init__(search, notify)
        self.stale_log: list[int] = []

    def take(self, k: int) -> list[list[Any]]:
        """Proposer.take, and the staleness of its model points (only the loop calls it)."""
        points = super().take(k)
        self.stale_log += [s for s, o in zip(self.staleness, self.origins) if o == Origin.MODEL]
        return points


def proposer_factory(search: Search) -> Callable[[Callable[[], None]], Points]:
    """The product's way: a Proposer over `search` (recording the staleness of its points)."""
    return lambda notify: RecordingProposer(search, notify)


@contextlib.contextmanager
def cpu_hogs(count: int, apart: bool = False) -> Iterator[None]:
    """`count` busy processes at the driver's priority while the block runs.

    They run in the driver's session, or `apart`, each in a session of its
    own, as the driver's tasks run: with autogroup scheduling (Linux, where
    /proc/sys/kernel/sched_autogroup_enabled is 1 and the processes are in
    the root CPU cgroup) a session is a group that gets one fair share of a
    core, so a hog in the driver's session takes the loop's share.
    """
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=apart)
            for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def share_columns(stats: dict[str, Any]) -> list[str]:
    """Model share after the initial design, and the staleness p50 / p99 / max of its points."""
    stale = stats["staleness"]
    share = stats["chosen_late"] / stats["issued_late"] if stats["issued_late"] else float("nan")
    spread = "-" if not len(stale) else " / ".join(
        f"{np.percentile(stale, q):.0f}" for q in (50, 99, 100))
    return [f"{stats['chosen_late']} of {stats['issued_late']} ({share:.3f})", spread]


SHARE_HEADER = ["model chose (after design)", "staleness p50 / p99 / max"]
SHARE_NOTE = ("model chose: points the model picked of those issued after the initial random "
              "design (the others: random points while the first fit ran); staleness: results "
              "that arrived between a model point's fit and its launch")


def read_tasks(output: str) -> list[dict[str, Any]]:
    """Every finished task: id, slot, driver start/end, and its own t0/t1."""
    with open(os.path.join(output, "results.csv"), newline="") as stream:
        rows = list(csv.DictReader(stream))
    tasks = []
    for row in rows:
        task = {"id": int(row["id"]), "slot": int(row["slot"]), "start": float(row["start"]),
                "end": float(row["end"]), "status": row["status"]}
        with open(Layout.find_output_file(output, task["id"])) as stream:
            for line in stream:
                if line.startswith("RAN "):
                    _, t0, t1, _ = line.split()
                    task["t0"], task["t1"] = float(t0), float(t1)
                elif line.startswith("HELD "):
                    _, task["hosts"], task["devices"] = line.split()
        tasks.append(task)
    return tasks


def replacements(tasks: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Latencies (s) from a task's own exit to its successor's spawn, and to its first line.

    The successor is the next task in the same slot; the exit is the time
    the task measured as its last, so a late reap counts in full.
    """
    by_slot: dict[int, list[dict[str, Any]]] = {}
    for task in tasks:
        by_slot.setdefault(task["slot"], []).append(task)
    to_spawn, to_run = [], []
    for slot_tasks in by_slot.values():
        slot_tasks.sort(key=lambda t: t["start"])
        for before, after in itertools.pairwise(slot_tasks):
            to_spawn.append(after["start"] - before["t1"])
            to_run.append(after["t0"] - before["t1"])
    return np.asarray(to_spawn), np.asarray(to_run)


def ms(values: np.ndarray, q: float) -> str:
    """A percentile of seconds, in ms."""
    if len(values) == 0:
        return "-"
    return f"{1000 * float(np.percentile(values, q)):.1f}"


def clean_up(root: str, keep: bool) -> None:
    """Remove a benchmark's scratch outputs, or say where they were kept."""
    if keep:
        print(f"outputs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
