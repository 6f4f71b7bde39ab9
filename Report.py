# REPORT PY
# How did the search go? Reads OUTPUT/results.csv (finished or still being
# written), prints counts, the best points and the utilization, and draws
# convergence.png, objective.png, timeline.png and intermediate.png (from
# progress.csv) into OUTPUT.
#
# Library: write_report(output) is called by the driver at the end of a run.
# CLI:     ./report.sh [--top N] [--no-plots] OUTPUT

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import matplotlib

matplotlib.use("Agg")  # headless: no display needed, before pyplot is imported

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator

import Direction
import Eta
import Layout
from Problem import Problem
from Progress import read_curves
from Results import (
    FIXED_AFTER,
    FIXED_BEFORE,
    STARTED_FIXED,
    read_journal,
    split_results_header,
    started_names,
    superseded_failures,
)
from Status import Status
from utils import UsageError

PROG = "report.sh"
PLOTS = {
    "convergence": "best objective so far against task number",
    "objective": "partial dependence of the objective on each parameter",
    "timeline": "tasks per concurrency slot over time",
    "intermediate": "each task's intermediate values against the step (x: pruned)",
}
COLORS = {"ok": "tab:green", "failed": "tab:red", "timeout": "tab:orange",
          "killed": "tab:purple", "pruned": "tab:blue", "running": "lightgrey"}
INTERMEDIATE_LINES = 200  # tasks up to which each intermediate curve is drawn bold
DPI = 100
SURROGATE_POINTS = 300  # rows the objective plot's Gaussian process is fitted to, at most
TIMELINE_LABELS = 200  # tasks up to which each bar carries its task number
TIMELINE_TICKS = 40  # slots up to which each one is labelled
STATUSES_DONE = {s.value for s in Status if s.is_done}  # count toward POINTS_MAX


class ReportError(UsageError):
    """OUTPUT cannot be reported on (missing, no results.csv, wrong header)."""


@dataclass
class Row:
    """One finished task, as read back from results.csv."""

    id: int
    status: str
    objective: float | None
    seconds: float
    params: dict[str, str]
    start: float
    end: float
    slot: int | None
    metrics: dict[str, str] = field(default_factory=dict)  # cfg `metrics`, as written
    origin: str = ""  # running tasks: started.csv's origin (random, model, again)


@dataclass
class ReportSummary:
    """What the report found, and where it put the plots.

    `plots` maps a plot name (convergence, objective, timeline) to its PNG
    path; `figures` to its matplotlib Figure; `notes` to the message drawn
    instead of the plot when there was too little to draw (else None).
    """

    output: str
    params: list[str]
    rows: list[Row]
    running: list[Row]
    counts: dict[str, int]
    best: list[Row]
    total_seconds: float
    wall_seconds: float | None
    concurrency: int
    utilization: float | None
    direction: str = Direction.DEFAULT
    points_max: int | None = None  # run.json's POINTS_MAX (None: unknown)
    done: int = 0  # finished tasks that count toward POINTS_MAX
    eta: float | None = None  # seconds left, from the task times seen (Eta.estimate)
    eta_time: float = 0.0  # when the ETA was estimated (epoch seconds)
    plots: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: dict[str, str | None] = field(default_factory=dict)


# ---- reading ---------------------------------------------------------------

def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def read_rows(output: str) -> tuple[list[str], list[Row]]:
    """Read OUTPUT/results.csv: the parameter names and the finished tasks.

    Raises
    ------
    ReportError
        OUTPUT is not a folder, has no results.csv, or its header is not
        the results.csv header.
    """
    if not os.path.isdir(output):
        raise ReportError(f"OUTPUT {output}: no such folder; expected a search output folder")
    path = os.path.join(output, "results.csv")
    if not os.path.isfile(path):
        raise ReportError(f"{path}: no such file; expected the results.csv of a search")
    header, records = read_journal(path)
    if not header and not records:  # created, header not written yet
        return [], []
    expected = ",".join(FIXED_BEFORE + ["<parameters>"] + FIXED_AFTER + ["<metrics>"])
    columns = split_results_header(header)
    if columns is None:
        raise ReportError(f"{path}: header {','.join(header)!r} is not a results.csv header; "
                          f"expected {expected!r}")
    names, metrics = columns
    rows = []
    for number, record in enumerate(records, start=2):
        row = _row(record, names, metrics)
        if row is None:
            print(f"{PROG}: warning: {path}: line {number}: unreadable id, seconds, start or "
                  "end; skipping it", file=sys.stderr)
            continue
        rows.append(row)
    return names, rows


def _row(record: dict[str, str], names: list[str], metrics: list[str]) -> Row | None:
    number, start, end = _int(record["id"]), _float(record["start"]), _float(record["end"])
    seconds = _float(record["seconds"])
    if number is None or start is None or end is None:
        return None
    objective = _float(record["objective"]) if record["status"] == Status.OK else None
    if objective is not None and not math.isfinite(objective):
        objective = None
    return Row(id=number, status=record["status"], objective=objective,
               seconds=end - start if seconds is None else seconds,
               params={n: record[n] for n in names}, start=start, end=end,
               slot=_int(record["slot"]), metrics={m: record[m] for m in metrics})


def read_running(output: str, finished: set[int]) -> list[Row]:
    """Tasks in OUTPUT/started.csv with no row in results.csv yet.

    Their `end` is the last sign of life known: the latest time stamp in the
    journals or their NNNN.txt log, whichever is later.
    """
    path = os.path.join(output, "started.csv")
    if not os.path.isfile(path):
        return []
    header, records = read_journal(path)
    if header[:len(STARTED_FIXED)] != STARTED_FIXED:
        return []
    running = []
    names = started_names(header)
    for record in records:
        number, start = _int(record["id"]), _float(record["start"])
        if number is None or start is None or number in finished:
            continue
        log = Layout.find_output_file(output, number)
        end = max(start, os.path.getmtime(log) if os.path.exists(log) else start)
        running.append(Row(id=number, status="running", objective=None, seconds=0.0,
                           params={n: record[n] for n in names}, start=start, end=end,
                           slot=_int(record["slot"]), origin=record.get("origin", "")))
    return running


def first_model_task(output: str) -> int | None:
    """The first task whose point a model chose (started.csv's origin), None when unknown.

    Folders written before started.csv had an `origin` column say nothing.
    """
    path = os.path.join(output, "started.csv")
    if not os.path.isfile(path):
        return None
    ids = [_int(r["id"]) for r in read_journal(path)[1] if r.get("origin") == "model"]
    return min((i for i in ids if i is not None), default=None)


def read_run(output: str) -> dict[str, Any]:
    """OUTPUT/run.json (the run's settings), or {} when missing or unreadable."""
    try:
        with open(os.path.join(output, "run.json")) as stream:
            run = json.load(stream)
    except (OSError, ValueError):
        return {}
    return run if isinstance(run, dict) else {}


# ---- numbers ---------------------------------------------------------------

def summarize(output: str, names: list[str], rows: list[Row], running: list[Row],
              top: int = 10, run: dict[str, Any] | None = None,
              now: float | None = None) -> ReportSummary:
    """Counts by status, the best `top` ok tasks, task time, wall time, utilization.

    utilization = sum of task seconds / (concurrency x wall time), where
    concurrency is the number of distinct slots used and wall time is the
    last end minus the first start. With the run's settings (run.json):
    the direction the tasks are ranked in, and how far the search is
    (done of POINTS_MAX) with the ETA of a search still running (Eta.py,
    as the driver's status lines).
    """
    run = run or {}
    direction = run.get("direction", Direction.DEFAULT)
    direction = direction if direction in Direction.DIRECTIONS else Direction.DEFAULT
    counts = {status.value: 0 for status in Status}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    ranked = sorted((r for r in rows if r.objective is not None),
                    key=lambda r: (Direction.rank_key(r.objective, direction), r.id))
    total = sum(r.seconds for r in rows)
    wall = max(r.end for r in rows) - min(r.start for r in rows) if rows else None
    slots = {r.slot for r in rows if r.slot is not None}
    concurrency = max(1, len(slots))
    utilization = total / (concurrency * wall) if wall else None
    failures = [s.value for s in Status if s.is_failure]
    records = [dict(r.params, id=str(r.id), status=r.status) for r in rows]
    started = [dict(r.params, id=str(r.id)) for r in running]
    try:
        superseded = superseded_failures(records, started, names, failures)
    except KeyError:  # started.csv of other parameters: nothing is superseded
        superseded = set()
    counted = [r for r in rows if r.status in STATUSES_DONE and r.id not in superseded]
    points_max = run.get("points_max")
    points_max = points_max if isinstance(points_max, int) and points_max > 0 else None
    eta = None
    now = time.time() if now is None else now
    if points_max is not None:
        width = run.get("points_init")
        width = min(width, points_max) if isinstance(width, int) and width > 0 else concurrency
        eta = Eta.estimate(points_max - len(counted) - len(running), width,
                           Eta.mean(sum(r.seconds for r in counted), len(counted)),
                           [now - r.start for r in running])
    return ReportSummary(output=output, params=names, rows=rows, running=running,
                         counts=counts, best=ranked[:top], total_seconds=total,
                         wall_seconds=wall, concurrency=concurrency,
                         utilization=utilization, direction=direction,
                         points_max=points_max, done=len(counted), eta=eta,
                         eta_time=now)


def _cell(text: str) -> str:
    """A parameter value for the table: floats to 4 significant digits."""
    if _int(text) is not None:
        return text
    value = _float(text)
    return text if value is None else f"{value:.4g}"


def format_report(summary: ReportSummary) -> list[str]:
    """The text report, as lines."""
    counts = summary.counts
    lines = [f"report: {summary.output}",
             f"tasks: {len(summary.rows)} finished ("
             + ", ".join(f"{s} {n}" for s, n in counts.items()) + f"), "
             f"{len(summary.running)} running or unfinished"]
    if summary.points_max is not None:
        left = summary.points_max - summary.done
        eta = f"; ETA {Eta.duration(summary.eta)} if the search is still running" \
            if left > 0 else ""
        lines.append(f"progress: done {summary.done} of {summary.points_max} (POINTS_MAX){eta}")
    n_ok = sum(1 for r in summary.rows if r.objective is not None)
    if summary.best:
        lines.append(f"best {len(summary.best)} of {n_ok} ok tasks "
                     f"({Direction.wording(summary.direction)}):")
        head = ["id", "objective"] + summary.params + ["seconds"]
        table = [head] + [[str(r.id), f"{r.objective:.6g}"]
                          + [_cell(r.params[n]) for n in summary.params]
                          + [f"{r.seconds:.1f}"] for r in summary.best]
        widths = [max(len(line[k]) for line in table) for k in range(len(head))]
        lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in table]
    else:
        lines.append("best: no ok task yet")
    lines += _pruned_lines(summary.rows)
    lines.append(f"total task time: {summary.total_seconds:.1f} s")
    if summary.wall_seconds is None:
        lines += ["wall time: n/a (no finished task)", "utilization: n/a"]
    else:
        lines.append(f"wall time: {summary.wall_seconds:.1f} s")
        if summary.utilization is None:
            lines.append("utilization: n/a (zero wall time)")
        else:
            lines.append(f"utilization: {100 * summary.utilization:.1f} % = "
                         f"{summary.total_seconds:.1f} s of tasks / ({summary.concurrency} "
                         f"slot{'s' if summary.concurrency != 1 else ''} x "
                         f"{summary.wall_seconds:.1f} s)")
    return lines


def _pruned_lines(rows: list[Row]) -> list[str]:
    """How many tasks the pruner stopped and the task-seconds that saved, estimated.

    Each pruned task is taken to have needed as long as the median ok task
    had it run on; what it did not spend of that is saved.
    """
    pruned = [r.seconds for r in rows if r.status == "pruned"]
    whole = [r.seconds for r in rows if r.status == "ok"]
    if not pruned:
        return []
    if not whole:
        return [(f"pruned: {len(pruned)} task(s) stopped early ({sum(pruned):.1f} s spent "
                 "on them; no ok task to estimate what that saved)")]
    typical = float(np.median(whole))
    saved = sum(max(0.0, typical - s) for s in pruned)
    return [(f"pruned: {len(pruned)} task(s) stopped early after {sum(pruned):.1f} s; about "
             f"{saved:.0f} task-seconds saved (each against the median ok task's "
             f"{typical:.1f} s)")]


# ---- plots -----------------------------------------------------------------

class _Unavailable(Exception):
    """Too little data for a plot: its message is drawn instead."""


def _message_figure(title: str, message: str) -> Figure:
    fig = plt.figure(figsize=(6, 3.5))
    fig.text(0.5, 0.62, title, ha="center", va="center", fontsize=13, weight="bold")
    fig.text(0.5, 0.42, message, ha="center", va="center", fontsize=11, wrap=True)
    return fig


def _random_phase(run: dict[str, Any]) -> int | None:
    """How many points skopt draws at random before it fits a model (from run.json)."""
    optimizer = run.get("optimizer")
    if not isinstance(optimizer, dict) or optimizer.get("base_estimator") == "dummy":
        return None
    count = optimizer.get("n_initial_points", 10)  # skopt's default
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 \
        else None


def plot_convergence(summary: ReportSummary, run: dict[str, Any]) -> Figure:
    """Best objective so far against task id (skopt's plot_convergence).

    Each ok task is a dot at its own objective; tasks that did not finish ok
    are crosses along the bottom.
    """
    from skopt.plots import plot_convergence as skopt_convergence
    from skopt.utils import create_result

    ok = sorted((r for r in summary.rows if r.objective is not None), key=lambda r: r.id)
    if not ok:
        raise _Unavailable("no task has finished ok yet")
    ids = [r.id for r in ok]
    values = [r.objective for r in ok]
    result = create_result([[r.id] for r in ok], values)
    fig, ax = plt.subplots(figsize=(8, 5))
    skopt_convergence(result, ax=ax)
    line = ax.lines[-1]
    line.set_xdata(ids)  # skopt counts calls 1..n: show the task ids instead
    line.set_label("best so far")
    ax.scatter(ids, values, s=18, color="tab:grey", alpha=0.7, zorder=3, label="each ok task")
    bad = [r.id for r in summary.rows if r.objective is None]
    if bad:
        ax.scatter(bad, [0.03] * len(bad), marker="x", color="tab:red", zorder=3,
                   transform=ax.get_xaxis_transform(), label="not ok (failed, timeout, killed)")
    random_phase = _random_phase(run)
    first, last = min(r.id for r in summary.rows), max(r.id for r in summary.rows)
    if random_phase is not None and first + random_phase <= last:
        ax.axvline(first + random_phase - 0.5, color="tab:blue", linestyle=":", lw=1.5,
                   label=f"end of the random phase (n_initial_points={random_phase})")
    if min(values) > 0 and max(values) / min(values) > 10:
        ax.set_yscale("log")  # a few bad points must not flatten the curve
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)
    ax.set_xlim(first - 0.5, last + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Convergence: best objective {min(values):.4g} after {len(summary.rows)} tasks")
    ax.set_xlabel("task id")
    ax.set_ylabel("objective (lower is better)")
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()
    return fig


def problem_space(names: list[str], rows: list[Row], run: dict[str, Any]) -> Any:
    """The skopt Space of the search: from run.json's problem, else inferred.

    Inferred from the values in results.csv: integers -> Integer, numbers ->
    Real (log-uniform when positive and spanning over two decades), anything
    else -> Categorical.
    """
    from skopt.space import Categorical, Integer, Real, Space

    spec = run.get("problem")
    if isinstance(spec, dict) and list(spec) == names:
        try:
            return Problem(spec).space
        except UsageError as err:
            print(f"{PROG}: warning: run.json problem: {err}; inferring the space from "
                  "results.csv", file=sys.stderr)
    dims = []
    for name in names:
        texts = [r.params[name] for r in rows]
        numbers = [_float(t) for t in texts]
        if None in numbers or not texts:
            dims.append(Categorical(sorted(set(texts)), name=name))
            continue
        low, high = min(numbers), max(numbers)
        if low == high:
            dims.append(Categorical([texts[0]], name=name))
        elif all(_int(t) is not None for t in texts):
            dims.append(Integer(int(low), int(high), name=name))
        else:
            prior = "log-uniform" if low > 0 and high / low > 100 else "uniform"
            dims.append(Real(low, high, prior=prior, name=name))
    return Space(dims)


def _point(space: Any, row: Row) -> list[Any] | None:
    """The point of a row in `space`, or None when it is not in it."""
    from skopt.space import Categorical, Integer

    values: list[Any] = []
    for dim in space.dimensions:
        text = row.params[dim.name]
        if isinstance(dim, Categorical):
            by_text = {str(c): c for c in dim.categories}
            if text not in by_text:
                return None
            values.append(by_text[text])
        else:
            number = _float(text)
            if number is None:
                return None
            values.append(round(number) if isinstance(dim, Integer) else number)
    return values if values in space else None


def surrogate_sample(pairs: list[tuple[list[Any], float]],
                     limit: int = SURROGATE_POINTS) -> list[tuple[list[Any], float]]:
    """At most `limit` (point, value) pairs for the surrogate: the best third and a
    seeded random sample of the rest, in their original order.

    A Gaussian process costs O(n^3) time and O(n^2) memory: fitted to every
    row of a search with thousands of results it takes minutes and gigabytes.
    """
    if len(pairs) <= limit:
        return pairs
    order = sorted(range(len(pairs)), key=lambda k: pairs[k][1])
    best = order[:limit // 3]
    rest = np.random.RandomState(0).choice(order[limit // 3:], limit - len(best), replace=False)
    return [pairs[k] for k in sorted([*best, *rest.tolist()])]


def _surrogate(space: Any, points: list[list[Any]], values: list[float]) -> Any:
    """A Gaussian process fitted to the ok points (quick to predict from)."""
    from skopt.utils import cook_estimator

    model = cook_estimator("GP", space=space, random_state=0, noise="gaussian")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. length scales at their bounds
        model.fit(space.transform(points), values)
    return model


def plot_objective(summary: ReportSummary, run: dict[str, Any]) -> Figure:
    """Partial dependence of the objective on each parameter (skopt's plot_objective).

    The surrogate is a Gaussian process fitted to the ok rows of results.csv.
    """
    from skopt.plots import plot_objective as skopt_objective
    from skopt.space import Categorical
    from skopt.utils import create_result

    ok = [r for r in summary.rows if r.objective is not None]
    if len(ok) < 2:
        raise _Unavailable(f"needs at least 2 tasks finished ok, has {len(ok)}")
    space = problem_space(summary.params, ok, run)
    pairs = [(p, r.objective) for r in ok if (p := _point(space, r)) is not None]
    if len(pairs) < len(ok):
        print(f"{PROG}: warning: objective plot: {len(ok) - len(pairs)} ok task(s) outside the "
              "problem's space left out", file=sys.stderr)
    if len(pairs) < 2:
        raise _Unavailable(f"needs at least 2 ok tasks inside the space, has {len(pairs)}")
    total = len(pairs)
    pairs = surrogate_sample(pairs)
    points, values = [p for p, _ in pairs], [v for _, v in pairs]
    varying = [(k, d) for k, d in enumerate(space.dimensions) if not d.is_constant]
    if not varying:
        raise _Unavailable("no parameter varies: nothing to plot against")
    model = _surrogate(space, points, values)
    fitted = f"{len(points)} ok tasks" if len(points) == total else \
        f"{len(points)} of {total} ok tasks: the best and a random sample"
    title = (f"Partial dependence of the objective on each parameter (Gaussian process "
             f"fitted to {fitted})\ncontours: yellow = lower objective;  "
             f"dots: tasks;  red star and dashed line: best task")
    if len(varying) == 1:
        return _objective_1d(space, model, varying[0], points, values, title)
    result = create_result(points, values, space=space, models=[model])
    size = 2.6
    width, head = size * len(varying), 1.3  # inches: the grid, the title above it
    fig, outer = plt.subplots(figsize=(width, width + head))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skopt_objective(result, ax=outer, n_points=30, n_samples=200, wspace=0.45, hspace=0.45)
    grid = np.array(fig.axes[1:], dtype=object).reshape(len(varying), len(varying))
    for i, (_, dim_i) in enumerate(varying):
        for j, (_, dim_j) in enumerate(varying):
            ax = grid[i, j]
            if j > i:
                continue
            for points in ax.collections[1:] if i != j else []:  # after the contours
                points.set_clip_on(False)  # a best point on a bound shows whole
            axes = [(ax.xaxis, dim_j)] + ([(ax.yaxis, dim_i)] if i != j else [])
            for axis, dim in axes:
                if isinstance(dim, Categorical):
                    if len(dim.categories) <= 8:  # skopt prunes the first and last
                        axis.set_major_locator(FixedLocator(range(len(dim.categories))))
                elif dim.prior != "log-uniform":
                    axis.set_major_locator(MaxNLocator(4, prune="both"))
            ax.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=11, y=1 - 0.15 / (width + head), va="top")
    fig.subplots_adjust(top=1 - head / (width + head), bottom=0.7 / (width + head), left=0.1)
    return fig


def _objective_1d(space: Any, model: Any, varying: tuple[int, Any], points: list[list[Any]],
                  values: list[float], title: str) -> Figure:
    """One varying parameter: the surrogate's mean (and spread) along it."""
    from skopt.space import Categorical

    index, dim = varying
    if isinstance(dim, Categorical):
        xs = list(range(len(dim.categories)))
        grid = [list(p) for p in [points[0]] * len(xs)]
        for k, category in enumerate(dim.categories):
            grid[k][index] = category
        observed = [dim.categories.index(p[index]) for p in points]
    else:
        low, high = dim.bounds
        xs = (np.geomspace(low, high, 60) if dim.prior == "log-uniform"
              else np.linspace(low, high, 60)).tolist()
        grid = [list(points[0]) for _ in xs]
        for row, x in zip(grid, xs):
            row[index] = x
        observed = [p[index] for p in points]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean, std = model.predict(space.transform(grid), return_std=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(xs, mean, color="tab:blue", label="surrogate mean")
    ax.fill_between(xs, mean - std, mean + std, color="tab:blue", alpha=0.2,
                    label="surrogate mean \u00b1 1 sd")
    ax.scatter(observed, values, color="k", s=14, zorder=3, label="ok tasks")
    best = int(np.argmin(values))
    ax.scatter([observed[best]], [values[best]], color="tab:red", marker="*", s=150, zorder=4,
               label="best task")
    if isinstance(dim, Categorical):
        ax.set_xticks(xs, [str(c) for c in dim.categories])
    elif dim.prior == "log-uniform":
        ax.set_xscale("log")
    ax.set_xlabel(dim.name)
    ax.set_ylabel("objective (lower is better)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_timeline(summary: ReportSummary) -> Figure:
    """One row per concurrency slot; each task a bar from start to end, coloured by status."""
    tasks = summary.rows + summary.running
    if not tasks:
        raise _Unavailable("no task has started yet")
    t0 = min(r.start for r in tasks)
    span = max(max(r.end for r in tasks) - t0, 1e-9)
    slots = sorted({r.slot for r in tasks if r.slot is not None})
    lanes = {slot: k for k, slot in enumerate(slots)}
    labels = [str(s) for s in slots]
    if any(r.slot is None for r in tasks):
        lanes[None] = len(labels)
        labels.append("?")
    fig, ax = plt.subplots(figsize=(10, min(12.0, 1.8 + 0.5 * len(labels))))
    bars: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for r in tasks:
        bars.setdefault((lanes[r.slot], r.status), []).append((r.start - t0, r.end - r.start))
    edge = 0.5 if len(tasks) <= TIMELINE_LABELS else 0.0  # thousands of edges blacken it
    for (lane, status), spans in bars.items():  # one artist per lane and status
        ax.broken_barh(spans, (lane - 0.4, 0.8), facecolors=COLORS.get(status, "tab:brown"),
                       edgecolor="black", lw=edge, hatch="//" if status == "running" else None)
    if len(tasks) <= TIMELINE_LABELS:
        for r in tasks:
            if r.end - r.start > 0.03 * span:
                ax.text((r.start + r.end) / 2 - t0, lanes[r.slot], str(r.id), ha="center",
                        va="center", fontsize=7)
    present = [s for s in list(COLORS) + sorted({r.status for r in tasks} - set(COLORS))
               if any(r.status == s for r in tasks)]
    ax.legend(handles=[Patch(facecolor=COLORS.get(s, "tab:brown"), edgecolor="black",
                             hatch="//" if s == "running" else None,
                             label="running / unfinished" if s == "running" else s)
                       for s in present],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="status")
    if len(labels) <= TIMELINE_TICKS:
        ax.set_yticks(range(len(labels)), labels)
    else:  # hundreds of slots: a few numbered ticks, not a smear of labels
        ax.yaxis.set_major_locator(MaxNLocator(TIMELINE_TICKS, integer=True))
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0, span * 1.01)
    ax.set_xlabel("seconds since the first task started")
    ax.set_ylabel("concurrency slot")
    use = ("n/a" if summary.utilization is None
           else f"{100 * summary.utilization:.0f} %")
    ax.set_title(f"Timeline: {len(tasks)} tasks on {len(labels)} slot"
                 f"{'s' if len(labels) != 1 else ''}, utilization {use}")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_intermediate(summary: ReportSummary, curves: dict[int, list[tuple[int, float]]]
                      ) -> Figure:
    """Every task's intermediate values against the step (Optuna's intermediate-values plot).

    One line per task, coloured by how it ended; a pruned task's line ends
    in a cross where the pruner stopped it.
    """
    from matplotlib.collections import LineCollection

    if not curves:
        raise _Unavailable("no task reported intermediate values (PROGRESS lines or "
                           "progress_pattern)")
    status = {r.id: r.status for r in summary.rows + summary.running}
    fig, ax = plt.subplots(figsize=(8, 5))
    groups: dict[str, list[list[tuple[int, float]]]] = {}
    for task_id, curve in curves.items():
        groups.setdefault(status.get(task_id, "running"), []).append(curve)
    values = [v for curve in curves.values() for _, v in curve]
    many = len(curves) > INTERMEDIATE_LINES  # thousands of lines: thinner and fainter
    order = [s for s in COLORS if s in groups] + sorted(set(groups) - set(COLORS))
    for name in order:
        lines = groups[name]
        color = COLORS.get(name, "tab:brown")
        label = f"{name} ({len(lines)})"
        ax.add_collection(LineCollection(lines, colors=color, linewidths=0.6 if many else 1.2,
                                         alpha=0.35 if many else 0.8, label=label,
                                         zorder=3 if name == "ok" else 2))
        ends = [curve[-1] for curve in lines]
        if name == "pruned":
            ax.scatter([s for s, _ in ends], [v for _, v in ends], marker="x", s=24,
                       color=color, zorder=4)
        elif name != "ok":  # where a running, killed or failed task's curve stops
            ax.scatter([s for s, _ in ends], [v for _, v in ends], marker=".", s=10,
                       color=color, zorder=4)
    steps = [s for curve in curves.values() for s, _ in curve]
    ax.set_xlim(min(steps) - 0.5, max(steps) + 0.5)
    low, high = min(values), max(values)
    if low > 0 and high / low > 10:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)
        ax.set_ylim(low / 1.2, high * 1.2)
    else:
        pad = 0.05 * (high - low or abs(high) or 1.0)
        ax.set_ylim(low - pad, high + pad)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    pruned = len(groups.get("pruned", []))
    ax.set_title(f"Intermediate values: {len(curves)} tasks, {pruned} pruned (x: where "
                 "it was stopped)")
    ax.set_xlabel("step")
    ax.set_ylabel("intermediate value (lower is better)")
    ax.legend(loc="upper right", fontsize=9, title="status")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _save(fig: Figure, path: str) -> None:
    """Write a PNG atomically (a viewer never sees half a file)."""
    tmp = path + ".tmp"
    fig.savefig(tmp, format="png", dpi=DPI)
    os.replace(tmp, path)


def write_plots(summary: ReportSummary, run: dict[str, Any], err: TextIO = sys.stderr) -> None:
    """Draw the plots (PLOTS) into summary.output, recording paths, figures and notes.

    Too little data (or a plotting failure) gives a PNG with the reason in
    it and a warning on `err`; it never raises for that.
    """
    makers = {"convergence": lambda: plot_convergence(summary, run),
              "objective": lambda: plot_objective(summary, run),
              "timeline": lambda: plot_timeline(summary),
              "intermediate": lambda: plot_intermediate(summary, read_curves(summary.output))}
    for name, make in makers.items():
        note = None
        try:
            fig = make()
        except _Unavailable as why:
            note = str(why)
        except Exception as bug:  # noqa: BLE001 -- a plot must never take the run down
            note = f"could not draw it: {type(bug).__name__}: {bug}"
            print(f"{PROG}: warning: {name}.png: {note}", file=err)
        if note is not None:
            fig = _message_figure(f"{name}.png: {PLOTS[name]}", note)
        path = os.path.join(summary.output, f"{name}.png")
        _save(fig, path)
        plt.close(fig)
        summary.plots[name] = path
        summary.figures[name] = fig
        summary.notes[name] = note


def write_report(output_dir: str, out: TextIO = sys.stdout, top: int = 10,
                 plots: bool = True, err: TextIO = sys.stderr) -> ReportSummary:
    """Print the report of OUTPUT on `out` and write its PNGs (PLOTS) into it.

    Parameters
    ----------
    output_dir : str
        A search's OUTPUT folder, finished or still being written.
    out : text stream
        Where the text report goes.
    top : int
        How many of the best points to list.
    plots : bool
        False: print the text only.

    Returns
    -------
    ReportSummary
        The numbers, and the PNG paths and figures.

    Raises
    ------
    ReportError
        OUTPUT is missing, has no results.csv, or a results.csv with a wrong header.
    """
    names, rows = read_rows(output_dir)
    running = read_running(output_dir, {r.id for r in rows})
    run = read_run(output_dir)
    summary = summarize(output_dir, names, rows, running, top=top, run=run)
    for line in format_report(summary):
        print(line, file=out)
    if plots:
        write_plots(summary, run, err=err)
        print("plots:", file=out)
        width = max(len(path) for path in summary.plots.values())
        for name, path in summary.plots.items():
            note = summary.notes[name]
            print(f"  {path.ljust(width)}  {PLOTS[name] if note is None else 'not drawn: ' + note}",
                  file=out)
    out.flush()
    return summary


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{PROG}: error: {message} (see {PROG} -h)", file=sys.stderr)
        sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: report on an OUTPUT folder. Exit 0, or 2 on bad input."""
    parser = _Parser(prog=PROG, description="Report on a search's OUTPUT folder (finished or "
                     "still being written): counts by status, best points, utilization; "
                     "writes convergence.png, objective.png and timeline.png into it.")
    parser.add_argument("output", metavar="OUTPUT", help="the search's output folder")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="how many of the best points to list (default 10)")
    parser.add_argument("--no-plots", action="store_true", help="print the text report only")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error(f"--top: expected a positive integer, got {args.top}")
    try:
        write_report(args.output, top=args.top, plots=not args.no_plots)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{PROG}: error: {err.filename or args.output}: {err.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
