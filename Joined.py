# JOINED PY
# One driver of a joined search (`--join`): several drivers, one per batch
# job, feed one search in one OUTPUT. Each driver has a folder of its own,
# OUTPUT/drivers/NAME/ (claimed by mkdir), with a heartbeat file its
# driver touches (OutputLock.beat: the lock's heartbeat, its lease). The
# driver that holds driver.lock appends to OUTPUT's journals; every other
# one appends only to the journals in its own folder: no two drivers, so no
# two hosts, ever append to one file.
#
# Each driver reads the others' journals by their new bytes only (Results.
# JournalTail), at most every SYNC_INTERVAL seconds from the loop's
# timeout: their results are told to its search, their running points are
# pending there until their results come, and their tasks' intermediate
# values go to its pruner beside its own. Which driver runs how many tasks
# is counted by journal folder; OUTPUT's journals belong to the driver that
# holds driver.lock (its content names it). Tickets (Tickets.py) make
# POINTS_MAX exact; a ticket whose driver is dead (its heartbeat file gone:
# it ended; its pid gone on this host; older than the lease on another)
# and whose task did not finish is lost: a live driver issues its point
# again under the next generation of the ticket, and only the driver whose
# claim succeeds runs it.
#
# Call order (Workflow): sync() every SYNC_INTERVAL -> lost() -> record()
# for this driver's own results; settled() says when the whole search is
# done; close() at the end. Threading: the loop's thread only; the
# heartbeat thread only touches the heartbeat file.

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import Layout
import OutputLock
import Schedulers
from History import row_numbers, row_verdict
from Objectives import FAIL, Objectives, Told
from Problem import Problem
from Results import JournalTail
from Status import Status, parse_status
from Tally import Best, Tally
from Tickets import Claim, Tickets
from utils import warn

SYNC_INTERVAL = 1.0  # seconds between two reads of the other drivers' journals
FULL_SCAN_INTERVAL = 30.0  # seconds between two listings of claims/ (else Tickets.advance)
NAMED = 10  # the alive drivers a line names, at most (a job array may have hundreds)

Row = dict[str, str]


def driver_name(environ: dict[str, str]) -> str:
    """This driver's name: its batch job's id (if any), host and pid."""
    scheduler = Schedulers.detect(environ)
    job = scheduler.job(environ) if scheduler is not None else ""
    words = [job, socket.gethostname().split(".")[0], str(os.getpid())]
    return "-".join(w.replace("/", "_") for w in words if w)


def claim_folder(output: str, name: str) -> str:
    """Make OUTPUT/drivers/NAME (mkdir: one driver each); NAME-2, ... when taken."""
    os.makedirs(os.path.join(output, Layout.DRIVERS), exist_ok=True)
    number = 1
    while True:
        folder = Layout.driver_dir(output, name if number == 1 else f"{name}-{number}")
        try:
            os.mkdir(folder)
            return folder
        except FileExistsError:
            number += 1


def alive_drivers(output: str) -> list[str]:
    """The drivers of the search in OUTPUT whose heartbeat is alive."""
    return [n for n in Layout.driver_names(output) if OutputLock.is_alive(
        os.path.join(Layout.driver_dir(output, n), Layout.HEARTBEAT))]


def journal_owner(output: str, folder: str) -> str:
    """The driver that writes the journals in `folder` (a journal folder of OUTPUT): its
    own folder's name, or for OUTPUT's, the joined driver holding driver.lock ("": none)."""
    if folder != output:
        return os.path.basename(folder)
    holder, _ = OutputLock.read_holder(Layout.path(output, Layout.LOCK))
    return str(holder.get("join", ""))


def alive_words(alive: list[str], running: dict[str, int]) -> str:
    """`NAME (running N), ...` for the drivers alive (at most NAMED of them), or `none`."""
    words = [f"{name} (running {running.get(name, 0)})" for name in alive[:NAMED]]
    if len(alive) > NAMED:
        words.append(f"and {len(alive) - NAMED} more")
    return ", ".join(words) or "none"


@dataclass
class Seen:
    """What one sync found in the other drivers' journals, for this driver's search."""

    # values minimized (Objectives.told: a float, a tuple with several objectives)
    told: list[tuple[list[Any], Told]] = field(default_factory=list)
    failed: list[list[Any]] = field(default_factory=list)
    dropped: list[list[Any]] = field(default_factory=list)
    pending: list[list[Any]] = field(default_factory=list)
    progress: list[tuple[int, int, float]] = field(default_factory=list)  # (id, step, value)
    # seconds from each result's task end until now (not for the first sync's rows)
    lags: list[float] = field(default_factory=list)


@dataclass
class Lost:
    """A ticket to take again: the point its dead driver's task ran (None: unknown)."""

    claim: Claim
    point: list[Any] | None


class Joined:
    """This driver's part in a joined search, and what it sees of the others.

    Parameters
    ----------
    output : the search's OUTPUT
    folder : this driver's own folder (made by claim_folder)
    leader : it holds driver.lock and appends to OUTPUT's journals
    problem, goals, metrics : the search's (to read rows)
    points_max : the search's POINTS_MAX
    """

    def __init__(self, output: str, folder: str, leader: bool, problem: Problem,
                 goals: Objectives, metrics: list[str], points_max: int) -> None:
        self.output = output
        self.name = os.path.basename(folder)
        self.folder = folder
        self.journal_folder = output if leader else folder
        self.problem = problem
        self.goals = goals
        self.metrics = metrics
        self.heartbeat = OutputLock.beat(os.path.join(folder, Layout.HEARTBEAT),
                                         OutputLock.holder_content(name=self.name))
        self.tickets = Tickets(output, self.name, points_max)
        self.tails: dict[str, JournalTail] = {}
        self.read_once: set[str] = set()  # this driver's own journals: read at the start only
        if leader:
            self.read_once = {Layout.path(output, n) for n in Layout.JOURNALS}
        self.done: dict[int, Status] = {}  # every task with a results row (all drivers)
        self.running: dict[int, Row] = {}  # other drivers' started rows without a result
        self.runs_in: dict[int, str] = {}  # each of those tasks' journal folder
        self.unfinished: dict[int, Row] = {}  # other drivers' results rows that do not count
        self.others = Tally()  # the other drivers' (and earlier runs') finished tasks
        self.reissued: set[Claim] = set()  # lost claims this driver already queued
        self.gone: set[str] = set()  # the drivers found gone by the last full scan
        self.scanned = -FULL_SCAN_INTERVAL  # when claims/ was last listed (time.monotonic)
        self.synced = False  # the first sync (what was recorded before) is done

    # -- reading the others -------------------------------------------------
    def _tail(self, path: str) -> list[Row]:
        tail = self.tails.get(path)
        if tail is None:
            tail = self.tails[path] = JournalTail(path)
        elif path in self.read_once:
            return []
        return tail.read_new()

    def _folders(self) -> list[str]:
        return [f for f in Layout.journal_folders(self.output) if f != self.folder]

    def sync(self) -> Seen:
        """Read the new rows of every other driver's journals (results first)."""
        seen = Seen()
        now = time.time()
        folders = self._folders()
        for folder in folders:
            path = Layout.path(folder, Layout.RESULTS)
            for row in self._tail(path):
                try:
                    self._result(row, seen)
                    if self.synced and row["end"]:
                        seen.lags.append(now - float(row["end"]))
                except (KeyError, ValueError) as err:
                    warn(f"{path}: skipping a row that does not fit this search: {err}")
        for folder in folders:
            path = Layout.path(folder, Layout.STARTED)
            for row in self._tail(path):
                try:
                    task, point = int(row["id"]), self.problem.point(row)
                except (KeyError, ValueError) as err:
                    warn(f"{path}: skipping a row that does not fit this search: {err}")
                    continue
                if task not in self.done:
                    self.running[task] = row
                    self.runs_in[task] = folder
                    seen.pending.append(point)
        for folder in folders:
            path = Layout.path(folder, Layout.PROGRESS)
            for row in self._tail(path):
                try:
                    seen.progress.append((int(row["id"]), int(row["step"]), float(row["value"])))
                except (KeyError, ValueError) as err:
                    warn(f"{path}: skipping a row that does not fit this search: {err}")
        self.synced = True
        return seen

    def _result(self, row: Row, seen: Seen) -> None:
        task, status = int(row["id"]), parse_status(row["status"])
        self.done[task] = status
        point = self.problem.point(row)
        self.running.pop(task, None)
        self.runs_in.pop(task, None)
        if not status.is_done:
            self.unfinished[task] = row  # killed: its ticket is issued again
        verdict, values = row_verdict(row, self.goals)
        if values is not None:
            seen.told.append((point, self.goals.told(values)))
        elif verdict == FAIL:
            seen.failed.append(point)
        else:
            seen.dropped.append(point)
        ok = values if status is Status.OK else None
        best = Best(ok, task, self.problem.params(point), row_numbers(row, self.metrics)) \
            if ok is not None and self._may_lead(ok) \
            else None  # (built only when it may be on the front: 30,000 rows in one read)
        self.others.add(status, float(row["seconds"] or 0), best, self.goals)

    def _may_lead(self, values: tuple[float, ...]) -> bool:
        """No result of the others' front is as good as `values` in every objective."""
        return not any(self.goals.as_good(known.values, values) for known in self.others.front)

    def record(self, task: int, status: Status) -> None:
        """One of this driver's own tasks ended, recorded `status`."""
        self.done[task] = status

    # -- tickets ------------------------------------------------------------
    def _finished(self, claim: Claim) -> bool:
        status = self.done.get(claim.task)
        return status is not None and status.is_done

    def lost(self) -> list[Lost]:
        """Tickets whose driver is dead and whose task did not finish, not queued yet.

        claims/ is listed (Tickets.scan) when a driver is newly found gone, and at least
        every FULL_SCAN_INTERVAL; between, only the new tickets are read (Tickets.advance).
        """
        gone = {name for name in Layout.driver_names(self.output)
                if name != self.name and not OutputLock.is_alive(
                    os.path.join(Layout.driver_dir(self.output, name), Layout.HEARTBEAT))}
        now = time.monotonic()
        if gone - self.gone or now - self.scanned >= FULL_SCAN_INTERVAL:
            self.gone, self.scanned = gone, now
            latest = self.tickets.scan()
        else:
            latest = self.tickets.advance()
        if not gone:
            return []
        found = []
        for claim in latest.values():
            if claim in self.reissued or self._finished(claim) or claim.driver not in gone:
                continue
            self.reissued.add(claim)
            self.runs_in.pop(claim.task, None)
            row = self.running.pop(claim.task, None) or self.unfinished.pop(claim.task, None)
            found.append(Lost(claim, self.problem.point(row) if row is not None else None))
        return found

    def finished(self) -> int:
        """Tickets whose task finished: the search's tasks done toward POINTS_MAX."""
        return sum(self._finished(c) for c in self.tickets.latest.values())

    def settled(self) -> bool:
        """Every ticket was claimed and its latest claim's task finished."""
        return self.tickets.exhausted and self.finished() >= self.tickets.points_max

    def alive_drivers(self) -> list[str]:
        """The drivers of this search that are alive (this one included)."""
        return alive_drivers(self.output)

    def running_per_driver(self) -> dict[str, int]:
        """How many tasks each other driver runs, by name (as far as the last sync saw)."""
        owners = {folder: journal_owner(self.output, folder)
                  for folder in set(self.runs_in.values())}
        counts: dict[str, int] = {}
        for folder in self.runs_in.values():
            counts[owners[folder]] = counts.get(owners[folder], 0) + 1
        return counts

    def close(self) -> None:
        """Stop the heartbeat and remove its file: this driver is gone for the others."""
        self.heartbeat.release()
