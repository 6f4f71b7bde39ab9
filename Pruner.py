# PRUNER PY
# Stops hopeless tasks early from their intermediate values (Progress.py):
#   median  the median stopping rule (Golovin et al., Vizier, KDD 2017):
#           stop a task whose best value so far is worse than the median
#           of the other tasks' values at the same step
#   asha    asynchronous successive halving (Li et al., MLSys 2020): rungs
#           at min_steps * reduction_factor**k steps; a task that reaches
#           a rung and is not in the top 1/reduction_factor of the tasks
#           that reached it is stopped
# Decisions depend only on the recorded history, fed in journal order
# (progress.csv), so replaying the journal restores the state a resumed
# search decides from. The cost of one value does not grow with the
# number of tasks beyond a sorted insert (values kept in flat arrays).

import math
from array import array
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any

from Direction import minimized

RULES = ("median", "asha")


@dataclass(frozen=True)
class PrunerSettings:
    """The cfg `pruner` object, checked (see Config.py and README.adoc).

    Parameters
    ----------
    rule : str
        "median" or "asha".
    min_steps : int
        No task is stopped before this step; ASHA's first rung.
    reduction_factor : float
        ASHA's η (> 1): rungs at min_steps·η^k; the top 1/η go on.
    min_tasks : int
        A decision at a step (rung) needs this many other tasks' values there.
    """

    rule: str = "median"
    min_steps: int = 3
    reduction_factor: float = 3.0
    min_tasks: int = 4


DEFAULTS = PrunerSettings()


@dataclass
class TaskCurve:
    """What the pruner keeps of one task: its best and last, and its next rung."""

    best: float = math.inf  # minimized
    last_value: float | None = None
    last_step: int = -1
    rung: int = 0  # ASHA: the next rung to reach


@dataclass
class Pruner:
    """Decides, value by value, whether a running task goes on.

    Parameters
    ----------
    settings : PrunerSettings
        The rule and its numbers.
    direction : str
        "min" (default) or "max": which way the objective is better.
    """

    settings: PrunerSettings
    direction: str = "min"
    tasks: dict[int, TaskCurve] = field(default_factory=dict)
    by_step: dict[int, array] = field(default_factory=dict)  # median: sorted values at a step
    rungs: list[array] = field(default_factory=list)  # asha: sorted bests at each rung

    def observe(self, task_id: int, step: int, value: float, decide: bool = True) -> bool:
        """Record task `task_id`'s `value` at `step`; True: stop the task now.

        With `decide` False (a finished or stopping task, or replay) the
        value only joins the history. A step at or below the task's last one
        is ignored.
        """
        curve = self.tasks.setdefault(task_id, TaskCurve())
        if step <= curve.last_step:
            return False
        score = minimized(value, self.direction)
        curve.best = min(curve.best, score)
        curve.last_step, curve.last_value = step, value
        if self.settings.rule == "median":
            return self._median(curve, step, score, decide)
        return self._asha(curve, step, decide)

    def last_value(self, task_id: int) -> float | None:
        """The task's last recorded intermediate value (None: it reported none)."""
        curve = self.tasks.get(task_id)
        return None if curve is None else curve.last_value

    def explain(self, task_id: int) -> str:
        """Why the rule stops this task, in words (for the log)."""
        curve = self.tasks[task_id]
        best = minimized(curve.best, self.direction)
        if self.settings.rule == "median":
            return (f"its best value so far {best:.6g} is worse than the median of the "
                    f"other tasks at step {curve.last_step}")
        return (f"its best value so far {best:.6g} is not in the top "
                f"1/{self.settings.reduction_factor:g} at rung {curve.rung - 1} "
                f"(step {self.rung_step(curve.rung - 1)})")

    def rung_step(self, k: int) -> int:
        """The step of ASHA's rung k: min_steps·η^k, rounded up."""
        return math.ceil(self.settings.min_steps * self.settings.reduction_factor ** k - 1e-9)

    def _median(self, curve: TaskCurve, step: int, score: float, decide: bool) -> bool:
        others = self.by_step.setdefault(step, array("d"))
        stop = decide and step >= self.settings.min_steps and \
            len(others) >= self.settings.min_tasks and curve.best > median(others)
        insort(others, score)
        return stop

    def _asha(self, curve: TaskCurve, step: int, decide: bool) -> bool:
        stop = False
        while step >= self.rung_step(curve.rung):
            if curve.rung == len(self.rungs):
                self.rungs.append(array("d"))
            reached = self.rungs[curve.rung]
            if decide and not stop and len(reached) >= self.settings.min_tasks:
                better = bisect_left(reached, curve.best)  # tasks strictly better
                keep = math.ceil((len(reached) + 1) / self.settings.reduction_factor)
                stop = better >= keep
            insort(reached, curve.best)
            curve.rung += 1
        return stop


def median(values: Any) -> float:
    """The median of sorted `values` (not empty)."""
    n = len(values)
    middle = n // 2
    return float(values[middle]) if n % 2 else (values[middle - 1] + values[middle]) / 2
