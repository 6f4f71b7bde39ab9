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
                if os.readlink(path) != target:
                    return False
            except OSError:
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
                driver, _, task = os.readlink(os.path.join(self.folder, name)).rpartition("/")
            except OSError:
                continue
            if task.isdigit():
                self._note(Claim(parsed[0], parsed[1], driver, int(task)))
        while self.cursor in self.latest:
            self.cursor += 1
        return self.latest

    def _note(self, claim: Claim) -> None:
        self._seen.add(os.path.basename(
            Layout.claim_path(self.output, claim.ticket, claim.generation)))
        known = self.latest.get(claim.ticket)
        if known is None or known.generation < claim.generation:
            self.latest[claim.ticket] = claim
