# PRUNE ASHA PY
# Asynchronous successive halving (Li et al., MLSys 2020), one of the rules
# Pruner.py registers. Rungs sit at min_steps·η^k steps. A task reaching a
# rung enters it with its best score up to the step that reached it (so the
# recorded history alone decides what a rung holds). When judged, a task is
# ranked by its best score so far at each rung it reached since it was last
# judged, lowest first, as Optuna's SuccessiveHalvingPruner does: unless it
# is in the top ⌈n/η⌉ of the n tasks at a rung (itself included), it is
# stopped, and the verdict names that rung.

import math
from array import array
from bisect import bisect_left, insort

from Direction import minimized
from PruneRule import PrunerSettings, TaskCurve, Verdict


class AshaRule:
    """Keep the top 1/η of the tasks at each rung.

    Parameters
    ----------
    settings : PrunerSettings
        min_steps (the first rung), reduction_factor (η), min_tasks (others at a rung).
    direction : str
        "min" or "max", to word the values as the tasks wrote them.
    """

    def __init__(self, settings: PrunerSettings, direction: str) -> None:
        self.settings = settings
        self.direction = direction
        self.rungs: list[array] = []  # the scores tasks entered each rung with, sorted
        self.next_rung: dict[int, int] = {}  # task -> the rung it reaches next
        self.unjudged: dict[int, int] = {}  # task -> its lowest rung not yet judged

    def rung_step(self, k: int) -> int:
        """The step of rung k: min_steps·η^k, rounded up."""
        return math.ceil(self.settings.min_steps * self.settings.reduction_factor ** k - 1e-9)

    def record(self, task_id: int, curve: TaskCurve, step: int, score: float) -> None:
        """Enter the task into every rung `step` reaches, with its best so far."""
        k = self.next_rung.get(task_id, 0)
        while step >= self.rung_step(k):
            if k == len(self.rungs):
                self.rungs.append(array("d"))
            insort(self.rungs[k], curve.best)
            self.unjudged.setdefault(task_id, k)
            k += 1
        self.next_rung[task_id] = k

    def judge(self, task_id: int, curve: TaskCurve) -> Verdict | None:
        """Rank the task's best so far at each rung it reached since it was last judged."""
        first = self.unjudged.pop(task_id, None)
        if first is None:
            return None  # no rung reached since
        for rung in range(first, self.next_rung[task_id]):
            scores = self.rungs[rung]
            if len(scores) - 1 < self.settings.min_tasks:
                continue
            # tasks strictly better (its own entry, from an earlier step, is no better)
            better = bisect_left(scores, curve.best)
            keep = math.ceil(len(scores) / self.settings.reduction_factor)
            if better >= keep:
                best = minimized(curve.best, self.direction)
                return Verdict(curve.last_step,
                               f"its best value so far {best:.6g} is not in the top {keep} of "
                               f"the {len(scores)} tasks at rung {rung} (step "
                               f"{self.rung_step(rung)}, 1/{self.settings.reduction_factor:g} "
                               f"go on): {better} are better")
        return None
