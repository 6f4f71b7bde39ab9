# OBJECTIVES PY
# What a search is after, as one record: the cfg's objectives (each a
# metric name and a Direction), its constraints on metrics and the task
# statuses it counts as infeasible. The one home of what a result is worth:
# its objective values as the task wrote them (`values`), the same values
# minimized for the search (`minimized`, `told`), whether it is feasible
# (`feasible`, with the constraints it broke: `broken`), what it tells the
# search (`verdict`: Search.tell, .fail or .drop) and which results are on
# the Pareto front (`pareto_indices`, over minimized vectors). The loop
# (Workflow.py), History.py (resume, warm start, report), Joined.py,
# Tally.py, Best.py and Plots.py all ask it; Config.py builds it
# (Config.goals, and recorded_goals from a run's run.json).
#
# Without cfg `objectives` a search has one objective, results.csv's
# `objective` column, ranked by cfg `direction` (today's behaviour). With
# `objectives`, each is a metric the task's JSON result names; the
# `objective` column holds the first one's value. Plain data: no I/O.

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

import Direction
from Status import Status

OBJECTIVE = "objective"  # the single objective's name: results.csv's column
# the statuses a cfg may count as infeasible (those that are failures), and the default
INFEASIBLE_CHOICES = tuple(s for s in Status if s.is_failure)
DEFAULT_INFEASIBLE = INFEASIBLE_CHOICES
# what Search.tell takes for one point: a float with one objective, else a tuple of M
Told = float | tuple[float, ...]
# what a finished task tells the search (Objectives.verdict): Search.tell, .fail or .drop
TELL, FAIL, DROP = "tell", "fail", "drop"


@dataclass(frozen=True)
class Objective:
    """One objective: a metric and which way it is better (Direction.DIRECTIONS)."""

    name: str
    direction: str = Direction.DEFAULT


@dataclass(frozen=True)
class Constraint:
    """A bound a feasible result keeps: `low <= metric <= high` (either may be None)."""

    metric: str
    low: float | None = None
    high: float | None = None

    def holds(self, metrics: Mapping[str, float]) -> bool:
        """True when the result reported the metric and it is within the bounds."""
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def wording(self) -> str:
        """`gpu_mem_gb <= 40`, `0.5 <= recall`, as the log and the report say it."""
        if self.low is not None and self.high is not None:
            return f"{self.low:g} <= {self.metric} <= {self.high:g}"
        if self.high is not None:
            return f"{self.metric} <= {self.high:g}"
        return f"{self.metric} >= {self.low:g}"


@dataclass(frozen=True)
class Objectives:
    """The cfg's objectives, constraints and infeasible statuses.

    Parameters
    ----------
    objectives : the objectives in the cfg's order (one: the `objective` column)
    constraints : the bounds a feasible ok result keeps
    infeasible : the failure statuses counted as infeasible (the search is
        told them as failed points); other failures are forgotten
    several : True when the cfg names its objectives (cfg `objectives`):
        their values are metrics of the task's JSON result
    """

    objectives: tuple[Objective, ...] = (Objective(OBJECTIVE),)
    constraints: tuple[Constraint, ...] = ()
    infeasible: tuple[Status, ...] = DEFAULT_INFEASIBLE
    several: bool = False

    @property
    def count(self) -> int:
        """How many objectives: M, the length of each value vector."""
        return len(self.objectives)

    @property
    def names(self) -> list[str]:
        """The objectives' names, in the cfg's order."""
        return [o.name for o in self.objectives]

    @property
    def result_key(self) -> str:
        """The JSON result's key read as results.csv's `objective`: the first objective."""
        return self.objectives[0].name

    def metric_names(self) -> list[str]:
        """The metrics the record needs recorded: named objectives, then constrained ones."""
        names = self.names if self.several else []
        return list(dict.fromkeys(names + [c.metric for c in self.constraints]))

    def values(self, objective: float | None, metrics: Mapping[str, float]
               ) -> tuple[float, ...] | None:
        """A result's objective values as the task wrote them; None when one is missing."""
        if not self.several:
            return None if objective is None else (objective,)
        found = tuple(metrics.get(name) for name in self.names)
        return None if any(v is None for v in found) else found  # type: ignore[return-value]

    def missing(self, metrics: Mapping[str, float]) -> list[str]:
        """The named objectives a result did not report (a result without one is not ok)."""
        return [name for name in self.names if name not in metrics] if self.several else []

    def minimized(self, values: Sequence[float]) -> tuple[float, ...]:
        """The vector the search minimizes for objective values as written."""
        return tuple(Direction.minimized(v, o.direction)
                     for v, o in zip(values, self.objectives, strict=True))

    def told(self, values: Sequence[float]) -> Told:
        """What Search.tell takes for these values: a float with one objective, else a tuple."""
        vector = self.minimized(values)
        return vector[0] if self.count == 1 else vector

    def broken(self, metrics: Mapping[str, float]) -> list[Constraint]:
        """The constraints a result breaks (a missing metric breaks its constraint)."""
        return [c for c in self.constraints if not c.holds(metrics)]

    def feasible(self, status: Status, metrics: Mapping[str, float]) -> bool:
        """False for an infeasible status and for an ok result that breaks a constraint."""
        if status in self.infeasible:
            return False
        return status is not Status.OK or not self.broken(metrics)

    def verdict(self, status: Status, objective: float | None, metrics: Mapping[str, float]
                ) -> tuple[str, tuple[float, ...] | None]:
        """What a finished task tells the search: (TELL, its objective values as written)
        for a feasible one with a value, (FAIL, None) for an infeasible one, (DROP, None)
        for one the search forgets (a failure not counted infeasible, a killed task)."""
        if not self.feasible(status, metrics):
            return FAIL, None
        values = self.values(objective, metrics) if status.has_value else None
        return (DROP, None) if values is None else (TELL, values)

    def as_good(self, values: Sequence[float], other: Sequence[float]) -> bool:
        """True when `values` are as good as `other` in every objective (dominate or equal)."""
        return all(a <= b for a, b in zip(self.minimized(values), self.minimized(other),
                                          strict=True))

    def front(self, values: Sequence[Sequence[float]]) -> list[int]:
        """The indices of the Pareto set of objective values as written (feasible ones)."""
        return pareto_indices([self.minimized(v) for v in values])

    def wording(self) -> str:
        """How to read the objectives: `val_loss (lower is better), ...`."""
        return ", ".join(f"{o.name} ({Direction.wording(o.direction)})" for o in self.objectives)


def pareto_indices(vectors: Sequence[Sequence[float]]) -> list[int]:
    """The indices of the vectors no other vector dominates, ascending.

    All are minimized: `u` dominates `v` when it is no worse in every
    component and better in one. Of equal vectors the first is kept (with
    one objective: the first best, as Tally and the report rank). One
    stable pass in lexicographic order, each vector compared with the
    front so far only (a vector that dominates or equals it sorts earlier).
    With two objectives that comparison is with the lowest second value
    before it, in one vectorized pass (each ParEGO fit asks: Scalarization).
    """
    if len(vectors) == 0:
        return []
    table = np.asarray(vectors, dtype=float)
    order = np.lexsort(table.T[::-1])  # stable: equal vectors in their order
    if table.shape[1] == 2:
        second = table[order, 1]
        lowest_before = np.minimum.accumulate(np.concatenate([[np.inf], second[:-1]]))
        return sorted(int(i) for i in order[second < lowest_before])
    front: list[int] = []
    for index in order:
        vector = table[index]
        kept = table[front]
        if front and bool(np.any(np.all(kept <= vector, axis=1))):
            continue
        front.append(int(index))
    return sorted(front)


SINGLE = Objectives()  # a search without cfg `objectives`, `constraints` or `infeasible`
