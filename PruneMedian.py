# PRUNE MEDIAN PY
# The median stopping rule (Golovin et al., Vizier, KDD 2017), one of the
# rules Pruner.py registers: a task whose best score so far is worse than
# the median of the other tasks' scores at its latest step is stopped.
# Scores are kept per step in sorted flat arrays, so recording one costs a
# sorted insert and judging a task a bisection.

from array import array
from bisect import bisect_left, insort
from collections.abc import Sequence

from Direction import minimized
from PruneRule import PrunerSettings, TaskCurve, Verdict


class MedianRule:
    """Stop a task whose best so far is worse than the others' median at its step.

    Parameters
    ----------
    settings : PrunerSettings
        min_steps (no decision before it) and min_tasks (others needed at the step).
    direction : str
        "min" or "max", to word the values as the tasks wrote them.
    """

    def __init__(self, settings: PrunerSettings, direction: str) -> None:
        self.settings = settings
        self.direction = direction
        self.by_step: dict[int, array] = {}  # every task's score at a step, sorted

    def record(self, task_id: int, curve: TaskCurve, step: int, score: float) -> None:
        """Add `score` to the scores at `step`."""
        insort(self.by_step.setdefault(step, array("d")), score)

    def judge(self, task_id: int, curve: TaskCurve) -> Verdict | None:
        """Compare the task's best so far with the median of the others at its latest step."""
        step = curve.last_step
        scores = self.by_step.get(step, array("d"))
        others = len(scores) - 1
        if step < self.settings.min_steps or others < self.settings.min_tasks \
                or curve.last_value is None:
            return None
        middle = median_without(scores, minimized(curve.last_value, self.direction))
        if curve.best <= middle:
            return None
        best, middle = (minimized(v, self.direction) for v in (curve.best, middle))
        return Verdict(step, f"its best value so far {best:.6g} is worse than {middle:.6g}, "
                             f"the median of the {others} other tasks' values at step {step}")


def median(values: Sequence[float]) -> float:
    """The median of sorted `values` (not empty)."""
    return median_without(values, None)


def median_without(values: Sequence[float], left_out: float | None) -> float:
    """The median of sorted `values` with one occurrence of `left_out` removed (None: none).

    `left_out`, when given, is one of `values`; what is left is not empty.
    """
    skip = len(values) if left_out is None else bisect_left(values, left_out)
    n = len(values) - (left_out is not None)

    def nth(k: int) -> float:
        return float(values[k if k < skip else k + 1])

    middle = n // 2
    return nth(middle) if n % 2 else (nth(middle - 1) + nth(middle)) / 2
