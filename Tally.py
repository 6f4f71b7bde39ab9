# TALLY PY
# What a search has done so far, and the lines that say it: the counts by
# Status, the task times and the best result (with the cfg `metrics` the
# best task reported) or, with several objectives, the Pareto set of the
# feasible ok results (Objectives.py), the `status:` line printed every
# status_interval seconds and the end-of-run `summary:` and `best:` (or
# `pareto:`) lines. The loop
# (Workflow.py) adds each finished task; Resume.py tallies the earlier
# runs of a resumed search the same way, and the two are joined for the
# lines. Plain data on the loop's thread: no I/O here.

from dataclasses import dataclass, field
from typing import Any

import Eta
from Objectives import Objectives
from Status import Status
from utils import format_params


@dataclass(frozen=True)
class Best:
    """A feasible ok task of the best (or Pareto) set: its objective values as written
    (the first is results.csv's `objective`), number, parameters and cfg `metrics`."""

    values: tuple[float, ...]
    task_id: int
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def objective(self) -> float:
        """The `objective` column's value: the first objective."""
        return self.values[0]

    def line(self, goals: Objectives) -> str:
        """`best: task NNNN objective=V [metric=V ...] name=value ...`; with several
        objectives `pareto: task NNNN objective=V ... [metric=V ...] name=value ...`."""
        if goals.several:  # the objectives first
            words = [f"pareto: task {self.task_id:04d}"]
            words += [f"{name}={value:.6g}" for name, value in zip(goals.names, self.values,
                                                                     strict=True)]
        else:
            words = [f"best: task {self.task_id:04d} objective={self.objective:.6g}"]
        words += [f"{name}={value:.6g}" for name, value in self.metrics.items()
                  if not goals.several or name not in goals.names]
        words.append(format_params(self.params, self.params.values()))
        return " ".join(words)


@dataclass
class Tally:
    """Counts, task times and the best results, for the summary and status lines.

    `front` holds the feasible ok results no other one dominates
    (Objectives.pareto_indices, the first of equal ones kept): with one
    objective, the best alone.
    """

    counts: dict[Status, int] = field(default_factory=lambda: dict.fromkeys(Status, 0))
    front: list[Best] = field(default_factory=list)
    longest: float = 0.0
    seconds: float = 0.0  # the durations of the finished tasks, summed
    finished: int = 0  # tasks that count toward POINTS_MAX

    @property
    def best(self) -> Best | None:
        """The best result with one objective (the first of the front's with several)."""
        return self.front[0] if self.front else None

    def add(self, status: Status, seconds: float, best: Best | None, goals: Objectives,
            superseded: bool = False) -> None:
        """Count one finished task; `best`: a feasible ok task's result, kept if no result
        of the front dominates or equals it by `goals`.

        A superseded one (its point runs again elsewhere, BadNodes.py) is a
        recorded row, but not a task toward POINTS_MAX: its second try is.
        """
        self.counts[status] += 1
        self.longest = max(self.longest, seconds)
        if status.is_done and not superseded:
            self.seconds += seconds
            self.finished += 1
        if status is Status.OK and best is not None:
            self._keep(best, goals)

    def _keep(self, best: Best, goals: Objectives) -> None:
        everyone = self.front + [best]
        kept = goals.front([b.values for b in everyone])  # the earlier ones first
        self.front = sorted((everyone[k] for k in kept), key=lambda b: b.task_id)

    def joined(self, earlier: "Tally | None", goals: Objectives) -> "Tally":
        """This tally with an earlier one (the earlier runs of a resumed search)."""
        if earlier is None:
            return self
        whole = Tally(counts={s: n + earlier.counts[s] for s, n in self.counts.items()},
                      longest=max(self.longest, earlier.longest),
                      seconds=self.seconds + earlier.seconds,
                      finished=self.finished + earlier.finished, front=list(earlier.front))
        for best in self.front:
            whole._keep(best, goals)
        return whole

    def best_lines(self, goals: Objectives) -> list[str]:
        """The end-of-run `best:` line, or with several objectives a `pareto:` line for
        each result of the front after one that counts them (none: no feasible ok task)."""
        if not self.front:
            return []
        lines = [b.line(goals) for b in self.front]
        if goals.several:
            lines.insert(0, f"pareto: {len(self.front)} point(s) on the front of "
                            f"{goals.wording()}")
        return lines

    @property
    def failed(self) -> int:
        """Failed and timed-out tasks."""
        return sum(n for s, n in self.counts.items() if s.is_failure)

    def summary_line(self) -> str:
        """`summary: ok=N failed=N timeout=N killed=N pruned=N`."""
        return "summary: " + " ".join(f"{s.value}={n}" for s, n in self.counts.items())


@dataclass(frozen=True)
class Standing:
    """Where a search stands for its `status:` line."""

    done: int  # tasks finished, earlier runs too
    points_max: int
    concurrency: int
    ages: list[float]  # how long each running task has run
    issuing: bool  # more tasks will be issued
    pruning: bool  # a pruner is on
    elapsed: float  # seconds since this run began
    several: bool = False  # several objectives: the front's size in place of the best


def status_line(whole: Tally, now: Standing) -> str:
    """`status: done N/POINTS_MAX, running, failed, [pruned,] best, elapsed, ETA`."""
    unstarted = now.points_max - now.done - len(now.ages) if now.issuing else 0
    eta = Eta.estimate(unstarted, now.concurrency, Eta.mean(whole.seconds, whole.finished),
                       now.ages)
    words = [f"done {now.done}/{now.points_max}", f"running {len(now.ages)}",
             f"failed {whole.failed}"]
    if now.pruning or whole.counts[Status.PRUNED]:
        words.append(f"pruned {whole.counts[Status.PRUNED]}")
    if now.several:
        words.append(f"front {len(whole.front)} point(s)")
    elif whole.best is not None:
        words.append(f"best {whole.best.objective:.6g} (task {whole.best.task_id:04d})")
    else:
        words.append("best none yet")
    words += [f"elapsed {Eta.duration(now.elapsed)}", f"ETA {Eta.duration(eta)}"]
    return "status: " + ", ".join(words)
