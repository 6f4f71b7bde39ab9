# PRUNE RULE PY
# What a pruning rule is, and what it is given and gives back: the cfg
# `pruner` settings, the shared record of one task's curve, the verdict a
# rule returns, and the protocol every rule (PruneMedian.py, PruneAsha.py)
# follows. Pruner.py holds the registry of rules and feeds them; rules do
# not import it. A rule works on scores (minimized: lower is better,
# Direction.py) and words its verdict in the objective as the task wrote it.

import math
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PrunerSettings:
    """The cfg `pruner` object, checked (see Config.py and docs/steering.adoc#pruning).

    Parameters
    ----------
    rule : str
        A name in Pruner.RULES ("median" or "asha").
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


@dataclass
class TaskCurve:
    """What the pruner keeps of one task: its best score, its last step and value."""

    best: float = math.inf  # minimized
    last_step: int = -1
    last_value: float | None = None  # as the task wrote it


@dataclass(frozen=True)
class Verdict:
    """A rule's decision to stop a task: at which step, and why in words (for the log)."""

    step: int
    reason: str


class Rule(Protocol):
    """A pruning rule: it keeps its own history and judges a task on it.

    Pruner.observe calls `record` once per new value, in journal order;
    Pruner.decide calls `judge` once per read of a running task's output,
    after every value that read brought (from every task) was recorded.
    """

    def __init__(self, settings: PrunerSettings, direction: str) -> None: ...

    def record(self, task_id: int, curve: TaskCurve, step: int, score: float) -> None:
        """Add the task's `score` at `step` to the history (`curve` already holds it)."""

    def judge(self, task_id: int, curve: TaskCurve) -> Verdict | None:
        """Stop the task (a Verdict) or let it go on (None), on its latest step and best."""
