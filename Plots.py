# PLOTS PY
# The report's PNGs, drawn from what Report.py read (a ReportSummary) into
# OUTPUT: convergence.png, objective.png (a Gaussian process fitted to the
# ok tasks, its partial dependence on each parameter, over the space of
# run.json or one inferred from results.csv), timeline.png,
# intermediate.png (from progress.csv) and pareto.png. With several
# objectives, convergence.png and objective.png draw each objective in
# its own panels (a row of them for objective.png).
#
# Call order: Report.write_report reads, prints, then write_plots(summary,
# run). Each PNG is written atomically (NAME.png.PID.tmp, then renamed; the
# .tmp is removed when the write fails). A plot that has too little data,
# or fails, becomes a PNG saying why, never an exception. The GP fit and
# its predictions run with one BLAS thread (threadpoolctl): on a busy
# allocation more threads only fight over the cores.

import copy
import math
import os
import sys
import textwrap
import warnings
from typing import TYPE_CHECKING, Any, TextIO

import matplotlib

matplotlib.use("Agg")  # headless: no display needed, before pyplot is imported

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FuncFormatter,
    LogFormatterSciNotation,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)
from threadpoolctl import threadpool_limits

import Direction
import Layout
from Problem import Problem
from Progress import finite, read_curves
from Status import RUNNING, Status
from utils import UsageError, int_or_none

if TYPE_CHECKING:  # Report imports this module; only the types come back
    from Report import ReportSummary, Row

PROG = "report.sh"  # the command these plots are drawn by (Report.py asks here)
PLOTS = {
    "convergence": "best objective so far against task number",
    "objective": "partial dependence of the objective on each parameter",
    "timeline": "tasks per concurrency slot over time",
    "intermediate": "each task's intermediate values against the step (x: pruned)",
    "pareto": "the Pareto front over every ok result, two objectives (x: infeasible)",
}
COLORS = {Status.OK: "tab:green", Status.FAILED: "tab:red", Status.TIMEOUT: "tab:orange",
          Status.KILLED: "tab:purple", Status.PRUNED: "tab:blue", RUNNING: "lightgrey"}
# plots with no PNG at all when there is nothing to draw
ONLY_WITH_DATA = ("intermediate", "pareto")
INTERMEDIATE_LINES = 200  # tasks up to which each intermediate curve is drawn bold
DPI = 100
SURROGATE_POINTS = 300  # rows the objective plot's Gaussian process is fitted to, at most
SAMPLES = 30  # random points the partial dependence averages over
SD_SAMPLES = 10  # of which its sd band averages over
GRID_1D = 40  # points along a numeric parameter (1-D panels)
GRID_2D = 16  # points along each numeric parameter (2-D panels)
CATEGORY_LABELS = 12  # categories up to which each one is labelled
TIMELINE_LABELS = 200  # tasks up to which each bar carries its task number
TIMELINE_TICKS = 40  # slots up to which each one is labelled


class Unavailable(Exception):
    """Too little data for a plot: its message is drawn instead."""


def _message_figure(title: str, message: str) -> Figure:
    fig = plt.figure(figsize=(6, 3.5))
    fig.text(0.5, 0.62, title, ha="center", va="center", fontsize=13, weight="bold")
    fig.text(0.5, 0.42, message, ha="center", va="center", fontsize=11, wrap=True)
    return fig


def _log_axis(axis: Any) -> None:
    """A log axis with plain numbers (0.01, not 10^-2) and 2, 5 minor ticks."""
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    axis.set_minor_formatter(plain)


# ---- convergence -----------------------------------------------------------

def random_phase(run: dict[str, Any]) -> int | None:
    """How many points skopt draws at random before it fits a model (from run.json).

    None when every point is random (base_estimator DUMMY, any case) or the
    optimizer settings are unknown.
    """
    optimizer = run.get("optimizer")
    if not isinstance(optimizer, dict):
        return None
    estimator = optimizer.get("base_estimator")
    if isinstance(estimator, str) and estimator.lower() == "dummy":
        return None
    count = optimizer.get("n_initial_points", 10)  # skopt's default
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 \
        else None


def _model_marker(summary: "ReportSummary", run: dict[str, Any]) -> tuple[float, str] | None:
    """Where the model's first choice is marked: (x, legend label), None for no mark.

    started.csv's origin names the first task whose point a model chose;
    a folder written before it had that column falls back to the end of
    skopt's random phase. An all-random search (DUMMY) gets no mark.
    """
    if random_phase(run) is None:
        return None
    if summary.first_model is not None:
        return summary.first_model - 0.5, f"first task a model chose (task {summary.first_model})"
    if summary.origins_known:
        return None  # origins recorded, and no model chose a point yet
    count = random_phase(run)
    first = min(r.id for r in summary.rows)
    if count is None or first + count > max(r.id for r in summary.rows):
        return None
    return first + count - 0.5, f"end of the random phase (n_initial_points={count})"


def plot_convergence(summary: "ReportSummary", run: dict[str, Any]) -> Figure:
    """Best objective so far against task id (as skopt's plot_convergence).

    Each ok task is a dot at its own objective; tasks that did not finish ok
    have no objective and are ticks on the task axis, below the plot area.
    With several objectives, one panel per objective, each its own best so
    far over the feasible ok tasks (the two ends of a two-objective front),
    in the task's own units: the front's hypervolume would need a reference
    point the cfg does not give, and its scale changes with it (pareto.png
    draws the front itself).
    """
    goals = summary.goals
    count = goals.count if goals.several else 1
    ok = sorted((r for r in summary.rows if r.values is not None), key=lambda r: r.id)
    if not ok:
        raise Unavailable("no task has finished ok yet")
    ids = [r.id for r in ok]
    vectors = [r.values for r in ok if r.values is not None]
    fig, grid = plt.subplots(count, 1, figsize=(9, 5 if count == 1 else 1.2 + 2.6 * count),
                             sharex=True, squeeze=False)
    panels = list(grid[:, 0])
    marker = _model_marker(summary, run)
    bests = []
    for k, ax in enumerate(panels):
        direction = goals.objectives[k].direction if goals.several else summary.direction
        values = [float(v[k]) for v in vectors]
        best = values[:1]
        for value in values[1:]:
            best.append(Direction.best([best[-1], value], direction))
        bests.append(best[-1])
        ax.step(ids, best, where="post", color="tab:blue", lw=2, zorder=4, label="best so far")
        ax.scatter(ids, values, s=18 if len(ids) <= 1000 else 6, color="tab:grey", alpha=0.7,
                   zorder=3, label="each ok task", edgecolors="none")
        if marker is not None:
            ax.axvline(marker[0], color="tab:purple", linestyle=":", lw=1.5, label=marker[1])
        if min(values) > 0 and max(values) / min(values) > 10:
            ax.set_yscale("log")  # a few bad points must not flatten the curve
            _log_axis(ax.yaxis)
        name = goals.names[k] if goals.several else "objective"
        ax.set_ylabel(f"{name} ({Direction.wording(direction)})")
        ax.grid(alpha=0.3)
    ax = panels[-1]
    first, last = min(r.id for r in summary.rows), max(r.id for r in summary.rows)
    bad: dict[str, list[int]] = {}
    for r in summary.rows:
        if r.objective is None:
            bad.setdefault(r.status, []).append(r.id)
    for row, (status, numbers) in enumerate(sorted(bad.items())):  # no value: one row of
        ax.scatter(numbers, [-0.03 * (row + 1)] * len(numbers),  # marks each, below the axis
                   marker="|", s=40 if len(summary.rows) <= 1000 else 20, clip_on=False,
                   color=COLORS.get(status, "tab:brown"), transform=ax.get_xaxis_transform(),
                   label=f"{status}: {len(numbers)} (no objective)")
    ax.set_xlim(first - 0.5, last + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", pad=3.5 + 12 * len(bad))
    ax.set_xlabel("task id")
    if goals.several:
        _suptitle(fig, [(f"Convergence: the best of each objective so far after "
                        f"{len(summary.rows)} tasks"),
                        ", ".join(f"{n} {b:.4g}" for n, b in zip(goals.names, bests))])
    else:
        ax.set_title(f"Convergence: best objective {bests[0]:.4g} after {len(summary.rows)} "
                     "tasks")
    panels[0].legend(*_legend_entries(panels), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                     fontsize=9)
    fig.tight_layout()
    return fig


# ---- objective -------------------------------------------------------------

def problem_space(names: list[str], rows: list["Row"], run: dict[str, Any]) -> Problem:
    """The Problem of the search: run.json's problem, else one inferred from the rows.

    Inferred from the values in results.csv: integers -> an int range,
    numbers -> a real range (log-uniform when positive and spanning over
    two decades), anything else (or a single value) -> choices.
    """
    spec = run.get("problem")
    if isinstance(spec, dict) and list(spec) == names:
        try:
            return Problem(spec)
        except UsageError as err:
            print(f"{PROG}: warning: {Layout.RUN} problem: {err}; inferring the space from "
                  f"{Layout.RESULTS}", file=sys.stderr)
    inferred: dict[str, Any] = {}
    for name in names:
        texts = [r.params[name] for r in rows]
        numbers = [finite(t) for t in texts]
        low = min((n for n in numbers if n is not None), default=None)
        high = max((n for n in numbers if n is not None), default=None)
        if None in numbers or low is None or high is None or low == high:
            inferred[name] = sorted(set(texts))
        elif all(int_or_none(t) is not None for t in texts):
            inferred[name] = {"low": int(low), "high": int(high), "type": "int"}
        else:
            prior = "log-uniform" if low > 0 and high / low > 100 else "uniform"
            inferred[name] = {"low": low, "high": high, "type": "real", "prior": prior}
    return Problem(inferred)


def _point(problem: Problem, row: "Row") -> list[Any] | None:
    """The point of a row in the problem's space (Problem.point), None when outside it."""
    try:
        point = problem.point(row.params)
    except (ValueError, KeyError):
        return None
    return point if point in problem.space else None


def surrogate_sample(pairs: list[tuple[list[Any], float]],
                     limit: int = SURROGATE_POINTS) -> list[tuple[list[Any], float]]:
    """At most `limit` (point, value) pairs for the surrogate: the best third and a
    seeded random sample of the rest, in their original order.

    A Gaussian process costs O(n^3) time and O(n^2) memory: fitted to every
    row of a search with thousands of results it takes minutes and gigabytes.
    `value` is the minimized one (Direction.minimized).
    """
    if len(pairs) <= limit:
        return pairs
    order = sorted(range(len(pairs)), key=lambda k: pairs[k][1])
    best = order[:limit // 3]
    rest = np.random.RandomState(0).choice(order[limit // 3:], limit - len(best), replace=False)
    return [pairs[k] for k in sorted([*best, *rest.tolist()])]


def model_space(problem: Problem) -> Any:
    """The problem's space as the plots' Gaussian process sees it: a copy, each
    parameter normalized to [0, 1] (categoricals one-hot).

    skopt's cook_estimator normalizes the space it is given *in place*; given
    the problem's own, the points encoded before a fit (its own log10 and
    raw integer columns) and after it would disagree. Every encoding of a
    plot (tasks, random base points, grids) goes through this one copy.
    """
    from skopt.utils import normalize_dimensions

    return normalize_dimensions(copy.deepcopy(problem.space.dimensions))


def _surrogate(space: Any, points: list[list[Any]], values: list[float]) -> Any:
    """A Gaussian process fitted to the ok points (quick to predict from), one BLAS thread.

    `space` is a model_space: cook_estimator's normalization leaves it as it is.
    """
    from skopt.utils import cook_estimator

    model = cook_estimator("GP", space=space, random_state=0, noise="gaussian",
                           n_restarts_optimizer=0)  # a plot: one fit from the defaults
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # e.g. length scales at their bounds
        model.fit(space.transform(points), values)
    return model


class _Axis:
    """One parameter as drawn: the values along it and where they go on the axis."""

    def __init__(self, dim: Any, index: int, column: int, count: int) -> None:
        from skopt.space import Categorical, Integer

        self.dim, self.index, self.column = dim, index, column
        self.categorical = isinstance(dim, Categorical)
        self.log = not self.categorical and dim.prior == "log-uniform"
        self.integer = isinstance(dim, Integer)
        if self.categorical:
            self.values: list[Any] = list(dim.categories)
        else:
            low, high = dim.bounds
            grid = np.geomspace(low, high, count) if self.log else np.linspace(low, high, count)
            self.values = sorted({round(float(v)) for v in grid}) if self.integer \
                else grid.tolist()
        self.positions = list(range(len(self.values))) if self.categorical else self.values
        self.columns = dim.transform([self.values[0]]).size if self.categorical else 1

    def place(self, value: Any) -> float:
        """Where a task's value goes along the axis."""
        return float(self.values.index(value)) if self.categorical else float(value)

    def encode(self) -> np.ndarray:
        """The grid values as the model sees them: rows of this dimension's columns."""
        return np.asarray(self.dim.transform(self.values), dtype=float).reshape(
            len(self.values), self.columns)

    def style(self, axis: Any, many: bool = False) -> None:
        """Ticks: category names (thinned, slanted when long), integers, plain log numbers."""
        if self.categorical:
            labels = [str(c) for c in self.values]
            step = max(1, math.ceil(len(labels) / CATEGORY_LABELS))
            shown = min(len(labels), CATEGORY_LABELS)
            slant = axis.axis_name == "x" and \
                max(len(t) for t in labels) * shown > (12 if many else 40)
            axis.set_ticks(self.positions[::step], labels[::step],
                           **({"rotation": 45, "ha": "right"} if slant else {}))
        elif self.log:
            (axis.axes.set_xscale if axis.axis_name == "x" else axis.axes.set_yscale)("log")
            if many or self.dim.bounds[1] / self.dim.bounds[0] > 100:  # 10^k: short labels
                axis.set_major_formatter(LogFormatterSciNotation())
                axis.set_minor_formatter(NullFormatter())
            else:
                _log_axis(axis)
        else:
            axis.set_major_locator(MaxNLocator(4 if many else 6, integer=self.integer))

    def limits(self) -> tuple[float, float]:
        if self.categorical:
            return -0.5, len(self.values) - 0.5
        low, high = self.dim.bounds
        return float(low), float(high)


def _partial(model: Any, base: np.ndarray, axes: list[_Axis], std: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's mean (and sd) averaged over `base` rows, on the grid of `axes`.

    The result has one entry per grid point (shape: the axes' value counts).
    The sd, O(n^2) per prediction, is averaged over the first SD_SAMPLES rows.
    """
    mean = _predict(model, base, axes, False)
    return mean, _predict(model, base[:SD_SAMPLES], axes, True) if std else None


def _predict(model: Any, base: np.ndarray, axes: list[_Axis], std: bool) -> np.ndarray:
    """The model's mean (std: its sd) on the grid of `axes`, averaged over `base` rows."""
    import itertools

    encoded = [a.encode() for a in axes]
    combos = list(itertools.product(*[range(len(a.values)) for a in axes]))
    rows = np.repeat(base[np.newaxis, :, :], len(combos), axis=0)
    for k, combo in enumerate(combos):
        for a, enc, i in zip(axes, encoded, combo):
            rows[k, :, a.column:a.column + a.columns] = enc[i]
    flat = rows.reshape(-1, base.shape[1])
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        values = model.predict(flat, return_std=True)[1] if std else model.predict(flat)
    shape = tuple(len(a.values) for a in axes)
    return np.asarray(values).reshape(len(combos), -1).mean(axis=1).reshape(shape)


def _ok_points(summary: "ReportSummary", run: dict[str, Any]
               ) -> tuple[Problem, list[tuple[list[Any], tuple[float, ...]]]]:
    """The problem's space and the (point, objective values) of the ok tasks inside it
    (at least two, else Unavailable); tasks outside it are left out with a warning."""
    ok = [r for r in summary.rows if r.values is not None]
    if len(ok) < 2:
        raise Unavailable(f"needs at least 2 tasks finished ok, has {len(ok)}")
    problem = problem_space(summary.params, ok, run)
    pairs = [(p, tuple(float(v) for v in r.values)) for r in ok
             if r.values is not None and (p := _point(problem, r)) is not None]
    if len(pairs) < len(ok):
        print(f"{PROG}: warning: objective plot: {len(ok) - len(pairs)} ok task(s) outside the "
              "problem's space left out", file=sys.stderr)
    if len(pairs) < 2:
        raise Unavailable(f"needs at least 2 ok tasks inside the space, has {len(pairs)}")
    return problem, pairs


def _objective_title(summary: "ReportSummary", fitted: int, total: int) -> list[str]:
    """The lines of objective.png's title: what is drawn, what the model was fitted to,
    the marks, and the pruned tasks left out."""
    sample = f"{fitted} ok tasks" if fitted == total else \
        f"{fitted} of {total} ok tasks: the best and a random sample"
    heading = f"Partial dependence of the objective ({Direction.wording(summary.direction)})"
    parts = [heading + " on each parameter",
             f"Gaussian process fitted to {sample}; band: \u00b1 1 sd",
             "dots: tasks; red star and dashed line: best task"]
    pruned = sum(1 for r in summary.rows if r.status == Status.PRUNED)
    if pruned:
        parts.append(f"{pruned} pruned task(s) left out (stopped early: no final value)")
    return parts


def plot_objective(summary: "ReportSummary", run: dict[str, Any]) -> Figure:
    """Partial dependence of the objective on each parameter (as skopt's plot_objective).

    A Gaussian process is fitted to the ok rows (at most SURROGATE_POINTS);
    each 1-D panel is its mean along one parameter, averaged over random
    points, with a band of its mean standard deviation; each 2-D panel its
    mean over two parameters, all on one colour scale with a colour bar.
    """
    direction = summary.direction
    problem, pairs = _ok_points(summary, run)
    space = model_space(problem)
    total = len(pairs)
    sample = surrogate_sample([(p, Direction.minimized(v[0], direction)) for p, v in pairs])
    points = [p for p, _ in sample]
    values = [Direction.minimized(v, direction) for _, v in sample]  # back as written
    columns = np.cumsum([0] + [d.transformed_size for d in space.dimensions])
    varying = [(k, d) for k, d in enumerate(space.dimensions) if not d.is_constant]
    if not varying:
        raise Unavailable("no parameter varies: nothing to plot against")
    model = _surrogate(space, points, values)
    base = np.asarray(space.transform(space.rvs(SAMPLES, random_state=0)), dtype=float)
    axes1 = [_Axis(d, k, int(columns[k]), GRID_1D) for k, d in varying]
    axes2 = [_Axis(d, k, int(columns[k]), GRID_2D) for k, d in varying]
    best = int(np.argmin([Direction.minimized(v, direction) for v in values]))
    parts = _objective_title(summary, len(points), total)
    bounds = _bounds(values)
    n = len(varying)
    if n == 1:
        fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
        _panel_1d(ax, model, base, axes1[0], points, values, best, bounds=bounds)
        ax.set_xlabel(axes1[0].dim.name)
        ax.set_ylabel(f"objective ({Direction.wording(direction)})")
        _suptitle(fig, parts)
        fig.legend(*_legend_entries([ax]), loc="outside lower center", ncols=4, fontsize=8)
        return fig
    size = 2.4 if n <= 4 else 2.0 if n <= 6 else 1.7  # inches per panel
    fig, grid = plt.subplots(n, n, figsize=(size * n + 1.6, size * n + 1.2),
                             layout="constrained", squeeze=False)
    lines = [_partial(model, base, [a], std=True) for a in axes1]
    surfaces = {(i, j): _partial(model, base, [axes2[j], axes2[i]])[0]
                for i in range(n) for j in range(i)}
    low = min(float(s.min()) for s in surfaces.values())
    high = max(float(s.max()) for s in surfaces.values())
    levels = np.linspace(low, high, 13) if high > low else np.linspace(low - 1, high + 1, 3)
    cmap = "viridis" if direction == "max" else "viridis_r"  # yellow: better
    tops = [float(np.minimum(m + s, bounds[1]).max()) for m, s in lines if s is not None]
    bottoms = [float(np.maximum(m - s, bounds[0]).min()) for m, s in lines if s is not None]
    ylim = (min(bottoms + values), max(tops + values))
    pad = 0.05 * (ylim[1] - ylim[0] or 1.0)
    contour: Any = None
    for i in range(n):
        for j in range(n):
            ax = grid[i, j]
            if j > i:
                ax.set_axis_off()  # the top-right corner holds the legend
                continue
            many = n > 3
            if i == j:
                _panel_1d(ax, model, base, axes1[i], points, values, best,
                          line=lines[i], bounds=bounds)
                ax.set_ylim(ylim[0] - pad, ylim[1] + pad)  # one scale for every curve
                ax.yaxis.set_label_position("right")
                ax.yaxis.tick_right()
            else:
                ax_x, ax_y = axes2[j], axes2[i]
                xs = [ax_x.positions[k] for k in range(len(ax_x.values))]
                ys = [ax_y.positions[k] for k in range(len(ax_y.values))]
                if ax_x.categorical or ax_y.categorical:  # cells, not contours between them
                    ax.pcolormesh(xs, ys, surfaces[(i, j)].T, shading="nearest", cmap=cmap,
                                  norm=BoundaryNorm(levels, plt.get_cmap(cmap).N))
                else:
                    contour = ax.contourf(xs, ys, surfaces[(i, j)].T, levels=levels,
                                          cmap=cmap)
                px = [ax_x.place(p[ax_x.index]) for p in points]
                py = [ax_y.place(p[ax_y.index]) for p in points]
                ax.scatter(px, py, s=4 if len(points) > 100 else 8, c="k", lw=0, alpha=0.6)
                ax.scatter([px[best]], [py[best]], marker="*", s=90, c="tab:red",
                           clip_on=False, zorder=4)
                ax.set_xlim(*axes2[j].limits())
                ax.set_ylim(*axes2[i].limits())
                ax_y.style(ax.yaxis, many)
            axes1[j].style(ax.xaxis, many)
            if i == n - 1:
                ax.set_xlabel(axes1[j].dim.name)
            else:
                ax.tick_params(axis="x", which="both", labelbottom=False)
            if j == 0 and i > 0:
                ax.set_ylabel(axes1[i].dim.name)
            elif i != j:
                ax.tick_params(axis="y", which="both", labelleft=False)
            ax.tick_params(labelsize=7 if many else 8)
    if n > 1:
        mappable = contour if contour is not None else plt.cm.ScalarMappable(
            BoundaryNorm(levels, plt.get_cmap(cmap).N), cmap)
        bar = fig.colorbar(mappable, ax=grid[1:, :].ravel().tolist(), location="right")
        bar.set_label(f"objective ({Direction.wording(direction)})", fontsize=8)
        diagonal = [grid[k, k] for k in range(n)]
        legend = grid[0, n - 1].legend(*_legend_entries(diagonal), loc="center", fontsize=8,
                                       frameon=False)
        legend.set_in_layout(False)  # the empty corner holds it; the panels keep their size
    _suptitle(fig, parts)
    return fig


def plot_each_objective(summary: "ReportSummary", run: dict[str, Any]) -> Figure:
    """With several objectives: one row of panels per objective, each panel its partial
    dependence on one parameter (a Gaussian process per objective, fitted as
    plot_objective's); the 2-D panels are left out (count x n^2 of them)."""
    goals = summary.goals
    problem, pairs = _ok_points(summary, run)
    space = model_space(problem)
    varying = [(k, d) for k, d in enumerate(space.dimensions) if not d.is_constant]
    if not varying:
        raise Unavailable("no parameter varies: nothing to plot against")
    columns = np.cumsum([0] + [d.transformed_size for d in space.dimensions])
    base = np.asarray(space.transform(space.rvs(SAMPLES, random_state=0)), dtype=float)
    axes1 = [_Axis(d, k, int(columns[k]), GRID_1D) for k, d in varying]
    n, many = len(axes1), len(axes1) > 3
    size = 2.6 if n <= 4 else 2.0
    fig, grid = plt.subplots(goals.count, n, figsize=(size * n + 1.2, 2.3 * goals.count + 1.4),
                             layout="constrained", squeeze=False)
    fitted = 0
    for row, objective in enumerate(goals.objectives):
        sample = surrogate_sample([(p, Direction.minimized(v[row], objective.direction))
                                   for p, v in pairs])
        fitted = len(sample)
        points = [p for p, _ in sample]
        values = [Direction.minimized(v, objective.direction) for _, v in sample]  # as written
        model = _surrogate(space, points, [v for _, v in sample])
        best = int(np.argmin([v for _, v in sample]))
        for column, axis in enumerate(axes1):
            ax = grid[row, column]
            _panel_1d(ax, model, base, axis, points, values, best, bounds=_bounds(values))
            axis.style(ax.xaxis, many)
            ax.tick_params(labelsize=7 if many else 8)
            if row == goals.count - 1:
                ax.set_xlabel(axis.dim.name)
            if column == 0:
                ax.set_ylabel(f"{objective.name}\n({Direction.wording(objective.direction)})")
    sample_text = f"{fitted} ok tasks" if fitted == len(pairs) else \
        f"{fitted} of {len(pairs)} ok tasks: each objective's best and a random sample"
    parts = ["Partial dependence of each objective (a row each) on each parameter",
             f"a Gaussian process per objective fitted to {sample_text}; band: \u00b1 1 sd",
             "dots: tasks; red star and dashed line: the objective's best task"]
    _suptitle(fig, parts)
    fig.legend(*_legend_entries(list(grid.ravel())), loc="outside lower center", ncols=4,
               fontsize=8)
    return fig


def _suptitle(fig: Figure, parts: list[str]) -> None:
    """The title's parts on as many lines as the figure's width needs (none clipped)."""
    width = int(fig.get_figwidth() * 11)  # characters of 10-point text per line
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += "; " + part
        else:
            lines += textwrap.wrap(part, width)
    fig.suptitle("\n".join(lines), fontsize=10)


def _legend_entries(axes: list[Axes]) -> tuple[list[Any], list[str]]:
    """The legend handles and labels of `axes`, each label once (for one figure legend)."""
    found: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            found.setdefault(label, handle)
    return list(found.values()), list(found)


def _bounds(values: list[float]) -> tuple[float, float]:
    """Where the objective can lie, as its values show: a band never crosses 0 that
    no task crossed (a loss of 0 or more stays so), else unbounded."""
    low = 0.0 if min(values) >= 0 else -math.inf
    high = 0.0 if max(values) <= 0 else math.inf
    return low, high


def _panel_1d(ax: Axes, model: Any, base: np.ndarray, axis: _Axis, points: list[list[Any]],
              values: list[float], best: int,
              line: tuple[np.ndarray, np.ndarray | None] | None = None,
              bounds: tuple[float, float] = (-math.inf, math.inf)) -> None:
    """One parameter: the partial dependence's mean, its ± 1 sd band (within `bounds`),
    the tasks. The figure draws the legend (_legend_entries), off the data."""
    mean, sd = line if line is not None else _partial(model, base, [axis], std=True)
    xs = axis.positions
    if axis.categorical:  # no order between categories: a mark and a bar each, no line
        yerr = None if sd is None else np.vstack([mean - np.maximum(mean - sd, bounds[0]),
                                                  np.minimum(mean + sd, bounds[1]) - mean])
        ax.errorbar(xs, mean, yerr=yerr, fmt="o", color="tab:blue", ms=5, capsize=4, zorder=5,
                    label="partial dependence (mean \u00b1 1 sd)")
    else:
        ax.plot(xs, mean, color="tab:blue", lw=1.5, label="partial dependence (mean)")
        if sd is not None:
            ax.fill_between(xs, np.maximum(mean - sd, bounds[0]),
                            np.minimum(mean + sd, bounds[1]), color="tab:blue", alpha=0.2,
                            label="\u00b1 1 sd")
    observed = [axis.place(p[axis.index]) for p in points]
    ax.scatter(observed, values, color="k", s=6 if len(points) > 100 else 12, zorder=3,
               lw=0, alpha=0.6, label="ok tasks")
    ax.axvline(observed[best], color="tab:red", linestyle="--", lw=1)
    ax.scatter([observed[best]], [values[best]], color="tab:red", marker="*", s=120, zorder=4,
               clip_on=False, label="best task")
    ax.set_xlim(*axis.limits())
    ax.grid(alpha=0.3)

# ---- timeline and intermediate values ---------------------------------------

def plot_timeline(summary: "ReportSummary") -> Figure:
    """One row per concurrency slot; each task a bar from start to end, coloured by status."""
    tasks = summary.rows + summary.running
    if not tasks:
        raise Unavailable("no task has started yet")
    t0 = min(r.start for r in tasks)
    span = max(max(r.end for r in tasks) - t0, 1e-9)
    slots = sorted({r.slot for r in tasks if r.slot is not None})
    lanes: dict[int | None, int] = {slot: k for k, slot in enumerate(slots)}
    labels = [str(s) for s in slots]
    if any(r.slot is None for r in tasks):
        lanes[None] = len(labels)
        labels.append("?")
    fig, ax = plt.subplots(figsize=(10, min(12.0, 1.8 + 0.5 * len(labels))))
    bars: dict[str, list[tuple[float, float, int]]] = {}
    for r in tasks:
        bars.setdefault(r.status, []).append((r.start - t0, r.end - t0, lanes[r.slot]))
    edge = 0.5 if len(tasks) <= TIMELINE_LABELS else 0.0  # thousands of edges blacken it
    for status, spans in bars.items():  # one artist per status: thousands of bars draw fast
        a = np.asarray(spans, dtype=float)
        left, right, low, high = a[:, 0], a[:, 1], a[:, 2] - 0.4, a[:, 2] + 0.4
        verts = np.stack([np.column_stack(c) for c in
                          ((left, low), (left, high), (right, high), (right, low))], axis=1)
        ax.add_collection(PolyCollection(list(verts), facecolors=COLORS.get(status, "tab:brown"),
                                         edgecolors="black", linewidths=edge,
                                         hatch="//" if status == RUNNING else None))
    if len(tasks) <= TIMELINE_LABELS:
        for r in tasks:
            if r.end - r.start > 0.03 * span:
                ax.text((r.start + r.end) / 2 - t0, lanes[r.slot], str(r.id), ha="center",
                        va="center", fontsize=7)
    present = [s for s in list(COLORS) + sorted({r.status for r in tasks} - set(COLORS))
               if any(r.status == s for r in tasks)]
    ax.legend(handles=[Patch(facecolor=COLORS.get(s, "tab:brown"), edgecolor="black",
                             hatch="//" if s == RUNNING else None,
                             label=f"{RUNNING} / unfinished" if s == RUNNING else s)
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


def _written_values(summary: "ReportSummary", row: "Row") -> tuple[float, ...] | None:
    """An ok row's objective values as written, feasible or not (None: one is missing)."""
    numbers = {}
    for name in summary.goals.names:
        try:
            numbers[name] = float(row.metrics.get(name, ""))
        except ValueError:
            return None
    return summary.goals.values(None, numbers)


def plot_pareto(summary: "ReportSummary") -> Figure:
    """The first two objectives of every ok result; the Pareto set (feasible, on the front
    of all the objectives) joined by its staircase, infeasible results as crosses."""
    goals = summary.goals
    if not goals.several or goals.count < 2:
        raise Unavailable("the search has one objective (cfg `objectives` names several)")
    ok = [(r, v) for r in summary.rows if r.status == Status.OK
          and (v := _written_values(summary, r)) is not None]
    if not ok:
        raise Unavailable("no ok task with every objective yet")
    front = [r.values for r in summary.rows if r.values is not None]
    front = [front[k] for k in goals.front(front)]  # every one, not the report's first `top`
    fig, ax = plt.subplots(figsize=(7, 5))
    feasible = np.array([v[:2] for r, v in ok if not r.infeasible]).reshape(-1, 2)
    broken = np.array([v[:2] for r, v in ok if r.infeasible]).reshape(-1, 2)
    ax.scatter(feasible[:, 0], feasible[:, 1], s=18, color="tab:grey", alpha=0.6,
               label="feasible")
    if len(broken):
        ax.scatter(broken[:, 0], broken[:, 1], s=30, marker="x", color="tab:red",
                   label="infeasible")
    steps = sorted((v[0], v[1]) for v in front)
    if goals.count == 2:  # the edge of what the set dominates: along x first when low x wins
        ax.step([s[0] for s in steps], [s[1] for s in steps], color="tab:green", alpha=0.5,
                where="post" if goals.objectives[0].direction == "min" else "pre")
    if steps:
        ax.scatter([s[0] for s in steps], [s[1] for s in steps], s=40, color="tab:green",
                   edgecolors="black", zorder=3, label=f"Pareto set ({len(front)})")
    ax.set_xlabel(f"{goals.names[0]} ({Direction.wording(goals.objectives[0].direction)})")
    ax.set_ylabel(f"{goals.names[1]} ({Direction.wording(goals.objectives[1].direction)})")
    more = f" (the first 2 of {goals.count} objectives)" if goals.count > 2 else ""
    ax.set_title(f"Pareto front: {len(front)} of {len(ok)} ok tasks{more}")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_intermediate(summary: "ReportSummary", curves: dict[int, list[tuple[int, float]]]
                      ) -> Figure:
    """Every task's intermediate values against the step (Optuna's intermediate-values plot).

    One line per task, coloured by how it ended; a pruned task's line ends
    in a cross where the pruner stopped it.
    """
    from matplotlib.collections import LineCollection

    if not curves:
        raise Unavailable("no task reported intermediate values (PROGRESS lines or "
                           "progress_pattern)")
    status = {r.id: r.status for r in summary.rows + summary.running}
    fig, ax = plt.subplots(figsize=(8, 5))
    groups: dict[str, list[list[tuple[int, float]]]] = {}
    for task_id, curve in curves.items():
        groups.setdefault(status.get(task_id, RUNNING), []).append(curve)
    values = [v for curve in curves.values() for _, v in curve]
    many = len(curves) > INTERMEDIATE_LINES  # thousands of lines: thinner and fainter
    order = [s for s in COLORS if s in groups] + sorted(set(groups) - set(COLORS))
    for name in order:
        lines = groups[name]
        color = COLORS.get(name, "tab:brown")
        label = f"{name} ({len(lines)})"
        ax.add_collection(LineCollection(lines, colors=color, linewidths=0.6 if many else 1.2,
                                         alpha=0.35 if many else 0.8, label=label,
                                         zorder=3 if name == Status.OK else 2))
        ends = [curve[-1] for curve in lines]
        if name == Status.PRUNED:
            ax.scatter([s for s, _ in ends], [v for _, v in ends], marker="x", s=24,
                       color=color, zorder=4)
        elif name != Status.OK:  # where a running, killed or failed task's curve stops
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
    pruned = len(groups.get(Status.PRUNED, []))
    ax.set_title(f"Intermediate values: {len(curves)} tasks, {pruned} pruned (x: where "
                 "it was stopped)")
    ax.set_xlabel("step")
    ax.set_ylabel(f"intermediate value ({Direction.wording(summary.direction)})")
    ax.legend(loc="upper right", fontsize=9, title="status")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _save(fig: Figure, path: str) -> None:
    """Write a PNG atomically (a viewer never sees half a file)."""
    tmp = f"{path}.{os.getpid()}.tmp"  # two drivers of a joined search may both write it
    try:
        fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    except BaseException:
        try:  # a full disk leaves no NAME.png.tmp behind
            os.remove(tmp)
        except OSError:
            pass
        raise


def write_plots(summary: "ReportSummary", run: dict[str, Any], err: TextIO = sys.stderr) -> None:
    """Draw the plots (PLOTS) into summary.output, recording paths, figures and notes.

    Too little data (or a plotting failure) gives a PNG with the reason in
    it and a warning on `err`; it never raises for that. A plot of
    ONLY_WITH_DATA with nothing to draw is not written (an old one is
    removed): its note says why.
    """
    makers = {"convergence": lambda: plot_convergence(summary, run),
              "objective": lambda: (plot_each_objective if summary.goals.several
                                    else plot_objective)(summary, run),
              "timeline": lambda: plot_timeline(summary),
              "intermediate": lambda: plot_intermediate(summary, read_curves(summary.output)),
              "pareto": lambda: plot_pareto(summary)}
    for name, make in makers.items():
        note = None
        try:
            fig = make()
        except Unavailable as why:
            note = str(why)
        except Exception as bug:  # noqa: BLE001 -- a plot must never take the run down
            note = f"could not draw it: {type(bug).__name__}: {bug}"
            print(f"{PROG}: warning: {Layout.plot_name(name)}: {note}", file=err)
        path = Layout.plot_file(summary.output, name)
        summary.plots[name] = path
        summary.notes[name] = note
        if note is not None and name in ONLY_WITH_DATA:
            if os.path.exists(path):
                os.remove(path)
            continue
        if note is not None:
            fig = _message_figure(f"{Layout.plot_name(name)}: {PLOTS[name]}", note)
        _save(fig, path)
        plt.close(fig)
        summary.figures[name] = fig


