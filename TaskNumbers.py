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
# that could not. A number given back is taken again first, though a later
# task of its turn started (the Spawner starts a turn's tasks at once, so
# a process limit may refuse any of them): no number is left unused.
# Threading: the loop's only.

import contextlib
import heapq
import os

import Layout


class TaskNumbers:
    """The task numbers of one driver, from `first` on."""

    def __init__(self, output: str, first: int) -> None:
        self.output = output
        self.next_id = first  # the lowest number this driver may take next
        self.shard_made = ""  # the shard folder this driver made last
        self.given_back: list[int] = []  # numbers to take again first (a heap)

    def take(self) -> int:
        """Make the next free task's folder; return its number (OSError: OUTPUT's fault)."""
        while self.given_back:
            task_id = heapq.heappop(self.given_back)
            with contextlib.suppress(FileExistsError):  # else another driver took it
                self._claim(task_id)
                return task_id
        while True:
            try:
                self._claim(self.next_id)
            except FileExistsError:
                self.next_id += 1
                continue
            self.next_id += 1
            return self.next_id - 1

    def _claim(self, task_id: int) -> None:
        """mkdir the task's folder (FileExistsError: the number is taken)."""
        folder = Layout.task_dir(self.output, task_id)
        shard = os.path.dirname(folder)
        if shard != self.shard_made:
            os.makedirs(shard, exist_ok=True)
            self.shard_made = shard
        os.mkdir(folder)

    def started(self, task_id: int) -> None:
        """Task `task_id` started: the next number is above it."""
        self.next_id = max(self.next_id, task_id + 1)

    def give_back(self, task_id: int) -> None:
        """Task `task_id` did not start: remove its folder (Task.launch may have), and take
        its number again first."""
        with contextlib.suppress(OSError):
            os.rmdir(Layout.task_dir(self.output, task_id))
        heapq.heappush(self.given_back, task_id)
