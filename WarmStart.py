# WARM START PY
# cfg `warm_start`: the results of earlier searches (their OUTPUT folders
# or results.csv files) told to a new search before its first point, as a
# resumed search is told them (History.py's rule: feasible ok and pruned
# tasks their values, infeasible ones as failed points). A result is used
# when its file has a column for every parameter of this problem and every
# metric its objectives and constraints name, and its point lies inside
# this space; the rest are dropped and counted in the log. With at least
# n_initial_points values, the model picks the very first point: no random
# phase.

from dataclasses import dataclass, field
from typing import Any

from skopt.space import Integer

from History import History
from Objectives import Objectives, Told
from Problem import Problem
from Results import read_journal
from Search import Search
from Status import Status
from utils import UsageError, say, shout


@dataclass
class Earlier:
    """What the earlier searches give this one."""

    points: list[list[Any]] = field(default_factory=list)
    # minimized (Objectives.told: a float, a tuple with several objectives)
    values: list[Told] = field(default_factory=list)
    failed: list[list[Any]] = field(default_factory=list)  # told as failed points
    lines: list[str] = field(default_factory=list)  # one per file, for the log


def read(paths: list[str], problem: Problem, goals: Objectives) -> Earlier:
    """Read what each results.csv in `paths` tells a search of `problem`.

    Raises
    ------
    UsageError
        A file cannot be read or is no results.csv (one line naming it).
    """
    earlier = Earlier()
    for path in paths:
        try:
            header, rows = read_journal(path)
        except OSError as err:
            raise UsageError(f"cfg key 'warm_start': cannot read {path}: "
                             f"{err.strerror}") from None
        if "status" not in header or "objective" not in header or "id" not in header:
            raise UsageError(f"cfg key 'warm_start': {path} is not a results.csv (no id, "
                             "status and objective columns)")
        missing = [n for n in problem.names + goals.metric_names() if n not in header]
        if missing:
            ok = sum(1 for r in rows if r["status"] == Status.OK)
            earlier.lines.append(f"warm start: {path}: none of its {ok} ok result(s) "
                                 f"used: it has no column {', '.join(missing)}")
            continue
        try:
            history = History(rows, [], problem.names, goals)
            told, failures = history.told(), history.infeasible()
        except ValueError as err:
            raise UsageError(f"cfg key 'warm_start': {path}: {err}") from None
        earlier.lines.append(_take(earlier, path, problem, goals, told, failures))
    return earlier


def _take(earlier: Earlier, path: str, problem: Problem, goals: Objectives,
          told: list[tuple[dict[str, str], tuple[float, ...]]],
          failures: list[dict[str, str]]) -> str:
    """Add one file's results that fit `problem` to `earlier`; its log line."""
    used = {Status.OK.value: 0, Status.PRUNED.value: 0}
    outside = 0
    for row, value in told:
        point = _point(problem, row)
        if point is None:
            outside += 1
            continue
        earlier.points.append(point)
        earlier.values.append(goals.told(value))
        used[row["status"]] += 1
    failed = [p for p in (_point(problem, r) for r in failures) if p is not None]
    earlier.failed += failed
    outside += len(failures) - len(failed)
    line = f"warm start: {path}: {used[Status.OK]} ok result(s) used"
    if used[Status.PRUNED]:
        line += f", {used[Status.PRUNED]} pruned one(s) at their last value"
    if failed:
        line += f", {len(failed)} failed point(s)"
    return line + f", {outside} dropped (outside this search's space)"


def _point(problem: Problem, row: dict[str, str]) -> list[Any] | None:
    """The row's point, or None where it does not fit this search."""
    try:
        point = problem.point(row)
        if any(isinstance(d, Integer) and row[d.name] != "" and float(row[d.name]) != p
               for d, p in zip(problem.space.dimensions, point)):
            return None  # 4.63 is no value of an integer parameter
    except ValueError:
        return None
    return point if problem.contains(point) else None


def tell(earlier: Earlier, search: Search) -> None:
    """Tell the search the earlier results (one tell), and log what was used."""
    for line in earlier.lines:
        (say if " used," in line else shout)(line)
    search.fail(earlier.failed)
    if earlier.points:
        search.tell(earlier.points, earlier.values)
        phase = "no random phase" if not search.in_random_phase else \
            f"{search.n_initial_points - len(search.optimizer.yi)} random point(s) still to draw"
        say(f"warm start: {len(earlier.points)} earlier result(s) told to the search "
            f"({phase})")
