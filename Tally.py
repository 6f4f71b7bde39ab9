# TALLY PY
# What a search has done so far, and the lines that say it: the counts by
# Status, the task times and the best result (with the cfg `metrics` the
# best task reported), the `status:` line printed every status_interval
# seconds and the end-of-run `summary:` and `best:` lines. The loop
# (Workflow.py) adds each finished task; Resume.py tallies the earlier
# runs of a resumed search the same way, and the two are joined for the
# lines. Plain data on the loop's thread: no I/O here.

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import Eta
from Direction import better
from Status import Status
from utils import format_params


@dataclass(frozen=True)
class Best:
    """The best ok task: its objective, number, parameters and cfg `metrics`."""

    objective: float
    task_id: int
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """`best: task NNNN objective=V [metric=V ...] name=value ...`."""
        words = [f"best: task {self.task_id:04d} objective={self.objective:.6g}"]
        words += [f"{name}={value:.6g}" for name, value in self.metrics.items()]
        words.append(format_params(self.params, self.params.values()))
        return " ".join(words)


@dataclass
class Tally:
    """Counts, task times and the best result, for the summary and status lines."""

    counts: dict[Status, int] = field(default_factory=lambda: dict.fromkeys(Status, 0))
    best: Best | None = None
    longest: float = 0.0
    seconds: float = 0.0  # the durations of the finished tasks, summed
    finished: int = 0  # tasks that count toward POINTS_MAX

    def add(self, status: Status, seconds: float, best: Best | None, direction: str,
            superseded: bool = False) -> None:
        """Count one finished task; `best`: an ok task's result, kept if better by `direction`.

        A superseded one (its point runs again elsewhere, BadNodes.py) is a
        recorded row, but not a task toward POINTS_MAX: its second try is.
        """
        self.counts[status] += 1
        self.longest = max(self.longest, seconds)
        if status.is_done and not superseded:
            self.seconds += seconds
            self.finished += 1
        if status is Status.OK and best is not None:
            self._keep(best, direction)

    def _keep(self, best: Best, direction: str) -> None:
        if self.best is None or better(best.objective, self.best.objective, direction):
            self.best = best

    def joined(self, earlier: "Tally | None", direction: str) -> "Tally":
        """This tally with an earlier one (the earlier runs of a resumed search)."""
        if earlier is None:
            return self
        whole = Tally(counts={s: n + earlier.counts[s] for s, n in self.counts.items()},
                      longest=max(self.longest, earlier.longest),
                      seconds=self.seconds + earlier.seconds,
                      finished=self.finished + earlier.finished, best=earlier.best)
        if self.best is not None:
            whole._keep(self.best, direction)
        return whole

    @property
    def failed(self) -> int:
        """Failed and timed-out tasks."""
        return sum(n for s, n in self.counts.items() if s.is_failure)

    def summary_line(self) -> str:
        """`summary: ok=N failed=N timeout=N killed=N pruned=N`."""
        return "summary: " + " ".join(f"{s.value}={n}" for s, n in self.counts.items())


def row_metrics(row: Mapping[str, str], names: Iterable[str]) -> dict[str, float]:
    """The cfg `metrics` a results.csv row holds (an empty cell: not reported)."""
    return {name: float(row[name]) for name in names if row.get(name)}


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


def status_line(whole: Tally, now: Standing) -> str:
    """`status: done N/POINTS_MAX, running, failed, [pruned,] best, elapsed, ETA`."""
    unstarted = now.points_max - now.done - len(now.ages) if now.issuing else 0
    eta = Eta.estimate(unstarted, now.concurrency, Eta.mean(whole.seconds, whole.finished),
                       now.ages)
    words = [f"done {now.done}/{now.points_max}", f"running {len(now.ages)}",
             f"failed {whole.failed}"]
    if now.pruning or whole.counts[Status.PRUNED]:
        words.append(f"pruned {whole.counts[Status.PRUNED]}")
    if whole.best is not None:
        words.append(f"best {whole.best.objective:.6g} (task {whole.best.task_id:04d})")
    else:
        words.append("best none yet")
    words += [f"elapsed {Eta.duration(now.elapsed)}", f"ETA {Eta.duration(eta)}"]
    return "status: " + ", ".join(words)
