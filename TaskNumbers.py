# TASK NUMBERS PY
# The next task's number, claimed by mkdir of its folder (Layout.task_dir):
# mkdir is atomic on NFS, Lustre and GPFS, so a number another driver of a
# joined search (Joined.py) took first is skipped, and no two tasks share
# one. The shard folder above (Layout.SHARD) is made once per SHARD
# numbers, not checked at every launch (one metadata call less per task).
#
# Call order (Workflow): take() for each task of a turn before they start
# (each take advances past its number: no failed mkdir for the next); then,
# in the same order, started() for each that did, or give_back() for each
# that could not (its number is taken again next, unless a later task of
# the turn started: then it stays unused). Threading: the loop's only.

import contextlib
import os

import Layout


class TaskNumbers:
    """The task numbers of one driver, from `first` on."""

    def __init__(self, output: str, first: int) -> None:
        self.output = output
        self.next_id = first  # the lowest number this driver may take next
        self.shard_made = ""  # the shard folder this driver made last

    def take(self) -> int:
        """Make the next free task's folder; return its number (OSError: OUTPUT's fault)."""
        while True:
            folder = Layout.task_dir(self.output, self.next_id)
            shard = os.path.dirname(folder)
            if shard != self.shard_made:
                os.makedirs(shard, exist_ok=True)
                self.shard_made = shard
            try:
                os.mkdir(folder)
            except FileExistsError:
                self.next_id += 1
                continue
            self.next_id += 1
            return self.next_id - 1

    def started(self, task_id: int) -> None:
        """Task `task_id` started: the next number is above it."""
        self.next_id = max(self.next_id, task_id + 1)

    def give_back(self, task_id: int) -> None:
        """Task `task_id` did not start: remove its folder (Task.launch may have), and take
        its number next."""
        with contextlib.suppress(OSError):
            os.rmdir(Layout.task_dir(self.output, task_id))
        self.next_id = min(self.next_id, task_id)
