# JOINED LOOP PY
# The search loop's steps (Workflow.py) that belong to a joined search
# (Joined.py): a ticket toward POINTS_MAX for each task before it starts
# (Tickets.py); how many tasks may still be issued and whether all were;
# the search's tasks done by every driver; waiting, with nothing to run,
# while another driver's tickets are unfinished (in case it dies); and
# every SYNC_INTERVAL seconds the sync: the other drivers' new rows are
# told to the search (their running points pending there), their tasks'
# intermediate values to the pruner (its median and rungs count every
# driver's tasks; it stops only this driver's), and the tickets of drivers
# that are gone are queued in the Issuer to run again. The status line and
# the summary name the drivers alive and how many tasks each runs.
#
# Call order (Workflow): sync() before the first point and whenever
# due() in the loop; ticket() then started() for each task; left(),
# issued_all(), waiting() and done() as the loop asks; close() at the end.
# Threading: the loop's thread only.

import time
from collections.abc import Callable

import Layout
from Issues import Issue, Issuer, Points
from Joined import SYNC_INTERVAL, Joined, alive_words
from Pruner import Pruner
from Status import Status
from StopReason import Stopping, StopReason
from Tally import Tally
from Tickets import Claim
from utils import debug, shout


class JoinedLoop:
    """This driver's loop steps in a joined search.

    Parameters
    ----------
    joined : this driver's part in the search, and what it sees of the others
    points : the search, told the others' results
    issuer : where lost tickets are queued, and points that hold a ticket wait
    points_failed : how the loop stops when the search raises
    pruner : this driver's pruner (None: the search prunes nothing)
    """

    def __init__(self, joined: Joined, points: Points, issuer: Issuer,
                 points_failed: Callable[[BaseException], None],
                 pruner: Pruner | None) -> None:
        self.joined = joined
        self.points = points
        self.issuer = issuer
        self.pruner = pruner
        self.points_failed = points_failed
        self.claims: dict[int, Claim] = {}  # this driver's task -> its ticket's claim
        self.next_sync = 0.0  # when to read the other drivers' journals next

    def due(self) -> bool:
        """It is time to read the other drivers' journals."""
        return time.time() >= self.next_sync

    def sync(self) -> bool:
        """Tell the search what the other drivers recorded; queue the lost tickets.

        Returns whether tickets were taken over (issuing may start again).
        """
        self.next_sync = time.time() + SYNC_INTERVAL
        seen = self.joined.sync()
        try:
            if seen.pending:
                self.points.pend(seen.pending)
            if seen.told:
                self.points.tell([p for p, _ in seen.told], [v for _, v in seen.told])
            if seen.failed:
                self.points.fail(seen.failed)
            if seen.dropped:
                self.points.drop(seen.dropped)
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self.points_failed(err)
        if self.pruner is not None:
            for task_id, step, value in seen.progress:
                self.pruner.observe(task_id, step, value)
        if seen.lags:
            debug(f"others: told {len(seen.lags)} result(s), seconds after their end: "
                  + " ".join(f"{lag:.3f}" for lag in seen.lags))
        lost = self.joined.lost()
        if not lost:
            return False
        shout(f"taking over {len(lost)} ticket(s) of driver(s) that are gone "
              f"({', '.join(sorted({x.claim.driver for x in lost}))}): their tasks "
              f"{', '.join(Layout.task_name(x.claim.task) for x in lost[:10])} are issued again")
        self.issuer.lost += lost
        return True

    def ticket(self, issue: Issue, task_id: int) -> Claim | None:
        """Claim a ticket for task `task_id` (None: every ticket, or this one, is taken)."""
        tickets = self.joined.tickets
        if issue.claim is None:
            return tickets.claim_new(task_id)
        claim = issue.claim.next(self.joined.name, task_id)
        return claim if tickets.claim(claim) else None

    def started(self, task_id: int, claim: Claim) -> None:
        """Task `task_id` started under `claim` (a second try takes its next generation)."""
        self.claims[task_id] = claim

    def issued_all(self) -> bool:
        """Every ticket was claimed and none waits in the Issuer."""
        return self.joined.tickets.exhausted and not self.issuer.tickets_held()

    def left(self) -> int:
        """How many tasks this driver may still issue, at most."""
        tickets = self.joined.tickets
        return tickets.points_max - tickets.cursor + self.issuer.tickets_held()

    def waiting(self, stopping: Stopping | None, stop_at: float | None) -> bool:
        """Nothing to run, with tickets unfinished: wait (as long as this driver could
        issue) in case their driver dies."""
        if stopping is not None and stopping.reason is not StopReason.POINTS_MAX:
            return False
        if stop_at is not None and time.time() >= stop_at:
            return False  # the job ends: the ones that stay take the tickets over
        return not self.joined.settled()

    def done(self) -> int:
        """Tasks of the whole search done toward POINTS_MAX, by every driver."""
        return self.joined.finished()

    def recorded(self, task_id: int, status: Status) -> None:
        """One of this driver's tasks ended, its row recorded `status`."""
        self.joined.record(task_id, status)

    @property
    def others(self) -> Tally:
        """The other drivers' (and earlier runs') finished tasks."""
        return self.joined.others

    def status_words(self, running: int) -> str:
        """What the status line adds: the drivers alive, and the tasks each runs (this
        one: `running`)."""
        alive = self.joined.alive_drivers()
        counts = self.joined.running_per_driver() | {self.joined.name: running}
        return f", drivers alive {len(alive)}: {alive_words(alive, counts)}"

    def summary_line(self, points_max: int, issued: int) -> str:
        """The end-of-run line: the whole search done, this driver's part, the others
        still alive (this one's heartbeat is gone by now)."""
        alive = self.joined.alive_drivers()
        return (f"joined search: done {self.done()}/{points_max} by every driver; "
                f"this one ran {issued} task(s); drivers alive: "
                f"{alive_words(alive, self.joined.running_per_driver())}")

    def close(self) -> None:
        """This driver is gone for the others."""
        self.joined.close()
