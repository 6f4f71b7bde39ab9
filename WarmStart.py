# WARM START PY
# cfg `warm_start`: the `ok` results of earlier searches (their OUTPUT
# folders or results.csv files) told to a new search before its first
# point. A result is used when its file has a column for every parameter
# of this problem and its point lies inside this space; the rest are
# dropped and counted in the log. With at least n_initial_points of them,
# the model picks the very first point: no random phase.

import math
from dataclasses import dataclass, field
from typing import Any

from skopt.space import Integer

from Direction import minimized
from Problem import Problem
from Results import read_journal
from Search import Search
from Status import Status
from utils import UsageError, say, shout


@dataclass
class Earlier:
    """What the earlier searches give this one."""

    points: list[list[Any]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  # minimized (Direction)
    lines: list[str] = field(default_factory=list)  # one per file, for the log


def read(paths: list[str], problem: Problem, direction: str) -> Earlier:
    """Read the `ok` rows of each results.csv in `paths` that fit `problem`.

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
        if "status" not in header or "objective" not in header:
            raise UsageError(f"cfg key 'warm_start': {path} is not a results.csv (no status "
                             "and objective columns)")
        ok = [r for r in rows if r["status"] == Status.OK.value]
        missing = [n for n in problem.names if n not in header]
        if missing:
            earlier.lines.append(f"warm start: {path}: none of its {len(ok)} ok result(s) "
                                 f"used: it has no column {', '.join(missing)}")
            continue
        used = outside = 0
        for row in ok:
            point, value = _point(problem, row)
            if point is None or value is None:
                outside += 1
                continue
            earlier.points.append(point)
            earlier.values.append(minimized(value, direction))
            used += 1
        earlier.lines.append(f"warm start: {path}: {used} ok result(s) used, {outside} "
                             "dropped (outside this search's space)")
    return earlier


def _point(problem: Problem, row: dict[str, str]) -> tuple[list[Any] | None, float | None]:
    """The row's point and value, or None where it does not fit this search."""
    try:
        point = problem.point(row)
        value = float(row["objective"])
        if any(isinstance(d, Integer) and float(row[d.name]) != p
               for d, p in zip(problem.space.dimensions, point)):
            return None, None  # 4.63 is no value of an integer parameter
    except ValueError:
        return None, None
    if not math.isfinite(value) or not problem.contains(point):
        return None, None
    return point, value


def tell(earlier: Earlier, search: Search) -> None:
    """Tell the search the earlier results (one tell), and log what was used."""
    for line in earlier.lines:
        (say if " used," in line else shout)(line)
    if earlier.points:
        search.tell(earlier.points, earlier.values)
        phase = "no random phase" if not search.in_random_phase else \
            f"{search.n_initial_points - len(search.optimizer.yi)} random point(s) still to draw"
        say(f"warm start: {len(earlier.points)} earlier result(s) told to the search "
            f"({phase})")
