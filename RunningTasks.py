# RUNNING TASKS PY
# The tasks that run, as the search loop (Workflow.py) watches them: each
# task's pidfd in one selector beside the loop's wake-up socket, so that one
# select() sleeps until a task exits, a signal arrives or another thread
# has news; and the deadlines that stop them (task_timeout: SIGTERM, then
# SIGKILL kill_grace seconds after a stop). Stopping a task is SIGTERM to
# its process group now and SIGKILL after the grace. On the loop's thread only.

import heapq
import math
import selectors
import signal
import socket
import time
from collections.abc import Iterator

from Status import Status
from Task import Task
from utils import shout


class RunningTasks:
    """The running tasks by pidfd, their deadlines, and the select() the loop sleeps in.

    Parameters
    ----------
    wake : socket
        The read end the loop is woken through (signals, new points).
    kill_grace, task_timeout : float
        Seconds from SIGTERM to SIGKILL; a task's longest run (0: none).
    """

    def __init__(self, wake: socket.socket, kill_grace: float, task_timeout: float) -> None:
        self.wake = wake
        self.kill_grace = kill_grace
        self.task_timeout = task_timeout
        self.by_fd: dict[int, Task] = {}
        self.deadlines: list[tuple[float, int, int]] = []  # (when, task id, pidfd)
        self.selector = selectors.DefaultSelector()
        self.selector.register(wake, selectors.EVENT_READ, None)

    def __len__(self) -> int:
        return len(self.by_fd)

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self.by_fd.values()))

    def add(self, task: Task) -> None:
        """Watch a task that started (its timeout counts from its start)."""
        self.by_fd[task.pidfd] = task
        self.selector.register(task.pidfd, selectors.EVENT_READ, task)
        if self.task_timeout:
            heapq.heappush(self.deadlines,
                           (task.start + self.task_timeout, task.id, task.pidfd))

    def wait(self, timeout: float | None) -> list[Task]:
        """Sleep until an event or `timeout` s; return the tasks that ended (reaped)."""
        finished: list[Task] = []
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                self._drain_wake()
            elif key.data.reap():
                self.selector.unregister(key.fileobj)
                del self.by_fd[key.fd]
                finished.append(key.data)
        return finished

    def _drain_wake(self) -> None:
        try:
            while self.wake.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def next_deadline(self) -> float:
        """When the next stop or kill is due (inf: none)."""
        while self.deadlines and self.deadlines[0][2] not in self.by_fd:
            heapq.heappop(self.deadlines)
        return self.deadlines[0][0] if self.deadlines else math.inf

    def stop(self, task: Task, reason: Status) -> None:
        """SIGTERM the task's group now, SIGKILL it after the grace period."""
        if task.stop_reason:
            return
        task.stop_reason = reason
        task.signal_group(signal.SIGTERM)
        task.kill_at = time.time() + self.kill_grace
        heapq.heappush(self.deadlines, (task.kill_at, task.id, task.pidfd))

    def stop_all(self, reason: Status) -> None:
        for task in self:
            self.stop(task, reason)

    def kill_all(self) -> None:
        """SIGKILL every running task's group now (no grace)."""
        for task in self:
            task.signal_group(signal.SIGKILL)

    def fire_deadlines(self) -> None:
        """Stop the tasks past task_timeout; SIGKILL those past their grace."""
        now = time.time()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, task_id, fd = heapq.heappop(self.deadlines)
            task = self.by_fd.get(fd)
            if task is None or task.id != task_id:
                continue
            if not task.stop_reason:
                shout(f"TASK {task.name} ran past task_timeout={self.task_timeout:g} s;"
                      " stopping it")
                self.stop(task, Status.TIMEOUT)
            elif now >= task.kill_at:
                task.signal_group(signal.SIGKILL)

    def close(self) -> None:
        self.selector.close()
