# ISSUES PY
# Which points the search loop (Workflow.py) starts next, and where: first
# the second tries of points whose task failed at once on some hosts (on a
# seat off those hosts while enough others are usable), then the points an
# earlier run lost (resume), then points held back when the system allowed
# no more processes, then new points of the search (Points: the Proposer).
# Each comes as an Issue: its point, where it came from (Origin.py), its
# seat (Launcher.py) and, for a second try, its first hosts. Here too: the
# strikes and quarantine of the hosts a task failed on at once (BadNodes.py
# holds the policy), which mark its point for a second try. In a joined
# search (Joined.py) an issue may carry the claim of its ticket (Tickets.py):
# a second try's, a point held back, or a ticket taken over from a driver
# that is gone (Lost), whose point comes anew from the search when its row
# is unknown. On the loop's thread only.

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from BadNodes import BadNodes
from Joined import Lost
from Launcher import Launcher, Placement
from ModelShare import ModelShare
from Objectives import Told
from Origin import Origin
from Status import Status
from Task import Outcome, Task
from Tickets import Claim
from utils import shout


class Points(Protocol):
    """Where new points come from (Proposer, or a benchmark's baseline)."""

    origins: list[Origin]  # where each point the last take() returned came from
    share: ModelShare  # how many of the points it gave the model chose

    def start(self) -> None: ...
    def take(self, k: int) -> list[list[Any]]: ...
    def tell(self, points: list[list[Any]], values: list[Told]) -> None: ...
    def fail(self, points: list[list[Any]]) -> None: ...
    def drop(self, points: list[list[Any]]) -> None: ...
    def pend(self, points: list[list[Any]]) -> None: ...  # evaluated elsewhere (Joined.py)
    def failure(self) -> BaseException | None: ...  # why no more points can come
    def close(self) -> None: ...


@dataclass
class Retry:
    """A point whose task failed at once on `hosts`: to run once more elsewhere."""

    point: list[Any]
    hosts: tuple[str, ...]
    claim: Claim | None = None  # its first try's ticket (a joined search)


@dataclass
class Issue:
    """One task about to start: its point, where it came from, its seat and, for a
    second try, the hosts its first try failed on; in a joined search, the claim its
    ticket is taken again after (a second try's, a held point's, a lost ticket's)."""

    point: list[Any]
    origin: Origin
    seat: Placement = None
    first_hosts: tuple[str, ...] = ()
    claim: Claim | None = None


@dataclass
class Issuer:
    """The queues of points to issue, and the seats they take.

    reissue : points an earlier run lost (Plan.reissue), issued again first
    """

    points: Points
    launcher: Launcher
    parallelism: int
    bad_nodes: BadNodes
    reissue: list[list[Any]] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)  # failed at once: for other hosts
    held: list[Issue] = field(default_factory=list)  # new points that could not start yet
    lost: list[Lost] = field(default_factory=list)  # tickets of drivers that are gone
    retried: int = 0  # points tried again elsewhere (this run)

    def choose(self, want: int) -> list[Issue]:
        """Up to `want` issues, each with its seat; what the search's take() raises is
        raised, with the issues chosen before it put back."""
        issues = self._second_tries(want)
        while self.reissue and len(issues) < want:
            issues.append(Issue(self.reissue.pop(0), Origin.AGAIN))
        while self.held and len(issues) < want:
            issues.append(self.held.pop(0))
        unknown: list[Claim] = []  # lost tickets whose point is not known: new points
        while self.lost and len(issues) + len(unknown) < want:
            lost = self.lost.pop(0)
            if lost.point is None:
                unknown.append(lost.claim)
            else:
                issues.append(Issue(lost.point, Origin.AGAIN, claim=lost.claim))
        if len(issues) < want:
            try:
                taken = self.points.take(want - len(issues))
            except BaseException:
                self.lost[:0] = [Lost(claim, None) for claim in unknown]
                self.put_back(issues)
                raise
            new = [Issue(p, o) for p, o in zip(taken, self.points.origins, strict=True)]
            for issue, claim in zip(new, unknown, strict=False):
                issue.claim = claim
            issues += new
        for issue in issues:
            if issue.origin is not Origin.ELSEWHERE:
                issue.seat = self.launcher.acquire(self.parallelism)
        return issues

    def _second_tries(self, want: int) -> list[Issue]:
        """Points that failed at once, each on a seat off its first hosts while enough
        other hosts are left (a later quarantine may leave none)."""
        issues: list[Issue] = []
        for retry in list(self.retries):
            if len(issues) == want:
                break
            avoid = retry.hosts if self.elsewhere(retry.hosts) else ()
            seat = self.launcher.acquire(self.parallelism, avoid)
            if seat is not None:
                self.retries.remove(retry)
                issues.append(Issue(retry.point, Origin.ELSEWHERE, seat, retry.hosts,
                                    retry.claim))
        return issues

    def put_back(self, issues: list[Issue]) -> None:
        """Issues that will not start now: seats back, points back in their queues."""
        for issue in issues:
            self.launcher.release(issue.seat)
            issue.seat = None
        self.retries[:0] = [Retry(i.point, i.first_hosts, i.claim) for i in issues
                            if i.origin is Origin.ELSEWHERE]
        self.reissue[:0] = [i.point for i in issues
                            if i.origin is Origin.AGAIN and i.claim is None]
        self.lost[:0] = [Lost(i.claim, i.point) for i in issues
                         if i.origin is Origin.AGAIN and i.claim is not None]
        self.held[:0] = [i for i in issues if i.origin in (Origin.RANDOM, Origin.MODEL)]

    def give_up(self, issues: list[Issue]) -> None:
        """Issues that will never start (OUTPUT cannot take their files)."""
        for issue in issues:
            self.launcher.release(issue.seat)
        self.points.drop([i.point for i in issues])

    def elsewhere(self, hosts: Sequence[str]) -> bool:
        """Enough usable hosts of the pool, `hosts` aside, for one task."""
        pool = self.launcher.pool
        return pool is not None and pool.others(hosts) >= self.parallelism

    def judge(self, task: Task, outcome: Outcome, may_retry: bool) -> None:
        """Strikes and quarantine of the task's hosts; mark its point to try elsewhere
        (when `may_retry`: the search still issues points)."""
        pool = self.launcher.pool
        if pool is None or not task.placement or not self.bad_nodes.on or task.process is None:
            return
        hosts = list(task.placement.hosts)
        if outcome.status is not Status.FAILED or \
                not self.bad_nodes.at_once(task.end - task.start):
            self.bad_nodes.cleared(hosts)
            return
        if task.first_hosts:  # failed at once on two sets of hosts: the point is bad
            self.bad_nodes.cleared(list(task.first_hosts))
            return
        for host in self.bad_nodes.failed_at_once(hosts, pool.usable, self.parallelism):
            pool.quarantine(host)
            shout(f"node {host} quarantined: {self.bad_nodes.quarantined[host]} task(s) in a "
                  f"row failed on it within {self.bad_nodes.seconds:g} s of their start; "
                  f"{pool.usable} host(s) left")
        if self.elsewhere(hosts) and may_retry:
            task.retried = True
            outcome.reason += f"; failed at once on {','.join(hosts)}: tried again elsewhere"

    def try_again(self, tasks: list[Task], claims: Mapping[int, Claim]) -> None:
        """Queue the points of tasks marked by judge(), for other hosts (with their
        tickets' `claims`, by task, in a joined search)."""
        for task in tasks:
            assert task.placement is not None  # only a task of the pool is tried again
            self.retries.append(Retry(task.point, tuple(task.placement.hosts),
                                      claims.get(task.id)))
            self.retried += 1

    def tickets_held(self) -> int:
        """Tickets claimed before whose points wait here to run (a joined search)."""
        return len(self.lost) + len(self.retries) + sum(1 for i in self.held if i.claim)

    def summary(self) -> str:
        """`bad nodes: ...` for the end of the run ('' when nothing happened)."""
        if not self.retried and not self.bad_nodes.quarantined:
            return ""
        return (f"bad nodes: {self.retried} point(s) that failed at once were tried again "
                f"elsewhere; {self.bad_nodes.summary() or 'no node quarantined'}")
