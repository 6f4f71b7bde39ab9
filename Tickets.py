# TICKETS PY
# POINTS_MAX exact across the drivers of a joined search (Joined.py). A
# task counts toward POINTS_MAX under a ticket, 0 to POINTS_MAX-1; a driver
# takes one before it launches a task by creating the symbolic link
# OUTPUT/claims/TTTTTT.0 whose target names the driver and the task
# ("NAME/ID"). symlink() creates the name and its content in one step and
# fails with EEXIST when the name exists, on NFS, Lustre and GPFS alike: of
# the drivers that try one ticket, exactly one gets it, and a reader never
# sees a claim without its owner. A ticket whose task did not finish (its
# driver died, or stopped it: killed) is taken again by generation:
# TTTTTT.1, TTTTTT.2, ... The claim of the highest generation names the task
# that counts; a task tried once more on other hosts (BadNodes.py) takes
# the next generation of its first try's ticket. Nothing is ever removed.
#
# What a driver knows of the others' claims: a full scan() lists claims/
# (with 100,000 tickets, about a tenth of a second on a quiet machine;
# benchmarks/jobs.py measures it), so the sync (Joined.lost) scans rarely
# and otherwise advance()s: it reads the new tickets' first claims only
# (they are taken in order, 0 upward, so the claimed ones are a prefix); a
# claim lost to another driver notes the winner's.
#
# Threading: the loop's thread only.

import os
from dataclasses import dataclass

import Layout


@dataclass(frozen=True)
class Claim:
    """One claim on a ticket: which generation, and the task it is for."""

    ticket: int
    generation: int
    driver: str
    task: int

    def next(self, driver: str, task: int) -> "Claim":
        """The claim that takes this ticket again, for `task` of `driver`."""
        return Claim(self.ticket, self.generation + 1, driver, task)


def _parse(name: str) -> tuple[int, int] | None:
    ticket, _, generation = name.partition(".")
    if not (ticket.isdigit() and generation.isdigit()):
        return None
    return int(ticket), int(generation)


class Tickets:
    """The tickets of a joined search, as one driver claims and sees them."""

    def __init__(self, output: str, driver: str, points_max: int) -> None:
        self.output = output
        self.driver = driver
        self.points_max = points_max
        self.folder = os.path.join(output, Layout.CLAIMS)
        os.makedirs(self.folder, exist_ok=True)
        self.cursor = 0  # no ticket below it is free
        self.latest: dict[int, Claim] = {}  # ticket -> its claim of the highest generation
        self._seen: set[str] = set()  # the claim names already read

    @property
    def exhausted(self) -> bool:
        """Every ticket was claimed once: no new point can be issued."""
        return self.cursor >= self.points_max

    def claim(self, claim: Claim) -> bool:
        """Make `claim` (False: another driver holds that name)."""
        path = Layout.claim_path(self.output, claim.ticket, claim.generation)
        target = f"{claim.driver}/{claim.task}"
        try:
            os.symlink(target, path)
        except FileExistsError:
            try:  # a retransmitted NFS request may report our own success as EEXIST
                found = os.readlink(path)
            except OSError:
                return False
            if found != target:
                self._note_target(claim.ticket, claim.generation, found)
                return False
        self._note(claim)
        return True

    def claim_new(self, task: int) -> Claim | None:
        """Claim the lowest free ticket for `task`; None when every ticket is taken."""
        while not self.exhausted:
            claim = Claim(self.cursor, 0, self.driver, task)
            self.cursor += 1
            if self.claim(claim):
                return claim
        return None

    def advance(self) -> dict[int, Claim]:
        """Read the first claims of the tickets claimed since the last look (no listing);
        every ticket's latest claim known."""
        ticket = max(self.cursor, len(self.latest))
        while ticket < self.points_max:
            try:
                found = os.readlink(Layout.claim_path(self.output, ticket, 0))
            except OSError:
                break
            self._note_target(ticket, 0, found)
            ticket += 1
        while self.cursor in self.latest:
            self.cursor += 1
        return self.latest

    def scan(self) -> dict[int, Claim]:
        """Read the claims made since the last scan; every ticket's latest claim."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return self.latest
        for name in names:
            parsed = _parse(name) if name not in self._seen else None
            if parsed is None:
                continue
            try:
                found = os.readlink(os.path.join(self.folder, name))
            except OSError:
                continue
            self._note_target(parsed[0], parsed[1], found)
        while self.cursor in self.latest:
            self.cursor += 1
        return self.latest

    def _note_target(self, ticket: int, generation: int, target: str) -> None:
        """Note the claim whose symbolic link's target is `target` ("NAME/ID")."""
        driver, _, task = target.rpartition("/")
        if task.isdigit():
            self._note(Claim(ticket, generation, driver, int(task)))

    def _note(self, claim: Claim) -> None:
        self._seen.add(os.path.basename(
            Layout.claim_path(self.output, claim.ticket, claim.generation)))
        known = self.latest.get(claim.ticket)
        if known is None or known.generation < claim.generation:
            self.latest[claim.ticket] = claim
