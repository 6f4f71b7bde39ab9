# STATUS PY
# The one vocabulary of how a task ended, and what each ending means for
# the search, the failure budget, POINTS_MAX and resume, and the word for a
# task with no ending yet (RUNNING). Every file asks this one; no other file
# spells a status.
#
#   status    search is told          failure  counts to POINTS_MAX  resume issues again
#   ok        its value               no       yes                   no
#   failed    worst value seen        yes      yes                   no (--retry-failed: once)
#   timeout   worst value seen        yes      yes                   no (--retry-failed: once)
#   killed    nothing (dropped)       no       no                    yes, once
#   pruned    its last progress value no       yes                   no

from enum import StrEnum

# What the report and the plots show for a task that started and has no
# results.csv row (still running, or cut off by a crash): no ending, so no Status.
RUNNING = "running"


class Status(StrEnum):
    """How a task ended: the `status` column of results.csv."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    KILLED = "killed"
    PRUNED = "pruned"

    @property
    def has_value(self) -> bool:
        """The search is told the task's value (ok, or pruned with its last value)."""
        return self in (Status.OK, Status.PRUNED)

    @property
    def is_failure(self) -> bool:
        """Counts against max_failures; the search is told the worst value seen."""
        return self in (Status.FAILED, Status.TIMEOUT)

    @property
    def is_done(self) -> bool:
        """The task ran to a decided end and counts toward POINTS_MAX."""
        return self is not Status.KILLED

    @property
    def stopped_as(self) -> str:
        """Why a task the driver stopped ended with this status (results.csv's reason)."""
        return {Status.TIMEOUT: "timed out", Status.PRUNED: "pruned"}.get(
            self, "stopped by the driver")


def parse_status(text: str) -> Status:
    """The Status recorded as `text`; ValueError names what is expected."""
    try:
        return Status(text)
    except ValueError:
        raise ValueError(f"status {text!r}: expected one of "
                         f"{', '.join(s.value for s in Status)}") from None
