# PRUNER PY
# Stops hopeless tasks early from their intermediate values (Progress.py).
# The registry of pruning rules (the one home of their cfg names: Config
# asks it; a new rule is one file, PruneX.py after PruneRule.py's protocol,
# and one line here) and the history they share, each task's curve.
# Call order, per read of the tasks' output: observe() every value the read
# brought, from every task, in journal order; then decide() once for each
# running task the read named. A decision takes everything the read brought
# together (the task's latest step and its best so far), and depends only
# on the recorded history: replaying the journal (progress.csv) with
# observe() alone restores the state a resumed search decides from.

from Direction import minimized
from PruneAsha import AshaRule
from PruneMedian import MedianRule
from PruneRule import PrunerSettings, Rule, TaskCurve, Verdict

RULES: dict[str, type[Rule]] = {"median": MedianRule, "asha": AshaRule}


class Pruner:
    """Records the tasks' intermediate values and asks the cfg's rule whether they go on.

    Parameters
    ----------
    settings : PrunerSettings
        The rule (a name in RULES) and its numbers.
    direction : str
        "min" (default) or "max": which way the objective is better.
    """

    def __init__(self, settings: PrunerSettings, direction: str = "min") -> None:
        if settings.rule not in RULES:
            raise ValueError(f"pruner rule {settings.rule!r}: expected one of {', '.join(RULES)}")
        self.direction = direction
        self.rule: Rule = RULES[settings.rule](settings, direction)
        self.tasks: dict[int, TaskCurve] = {}

    def observe(self, task_id: int, step: int, value: float) -> bool:
        """Record task `task_id`'s `value` at `step`; False: ignored (not after its last step)."""
        curve = self.tasks.setdefault(task_id, TaskCurve())
        if step <= curve.last_step:
            return False
        score = minimized(value, self.direction)
        curve.best = min(curve.best, score)
        curve.last_step, curve.last_value = step, value
        self.rule.record(task_id, curve, step, score)
        return True

    def decide(self, task_id: int) -> Verdict | None:
        """Whether the running task stops (a Verdict naming the step and why) or goes on."""
        curve = self.tasks.get(task_id)
        return None if curve is None else self.rule.judge(task_id, curve)

    def last_value(self, task_id: int) -> float | None:
        """The task's last recorded intermediate value (None: it reported none)."""
        curve = self.tasks.get(task_id)
        return None if curve is None else curve.last_value
