# LEFTOVERS PY
# Processes a task leaves behind outside its process group (`setsid cmd &`,
# a double-fork daemon): the driver stops them when their task has ended,
# and by the end of the run at the latest.
#
# The driver is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): an orphan
# of a task becomes the driver's child instead of init's. So its leftovers
# are found among the driver's own children (never by listing all of /proc
# on the way), told apart by the environment the task gave them (OUTPUT
# and TASK_ID, which every process of the task inherits), and killed with
# their process group once their task is no longer running. Orphans that
# exit on their own are reaped here (waitpid on that pid only: the tasks'
# and multiprocessing's children are left to their owners). At the end of
# the run, a last sweep repeats until no leftover is left, then looks
# through /proc once for any process of this run's tasks that escaped.

import ctypes
import os
import selectors
import signal
import time

from Task import find_leftovers
from utils import proc_stat

PR_SET_CHILD_SUBREAPER = 36
ENVIRON_BYTES = 1 << 20  # a process's environment is read up to this much
FINAL_ROUNDS = 10  # the end-of-run sweep: each round may uncover orphans of the last
FINAL_WAIT = 5.0  # seconds a round waits for the processes it killed to die


def become_subreaper() -> bool:
    """Make orphaned descendants this process's children (Linux 3.4+); False if refused."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children() -> list[int]:
    """This process's children (those of every thread)."""
    pids: list[int] = []
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread}/children") as stream:
                pids.extend(int(p) for p in stream.read().split())
        except (OSError, ValueError):
            continue
    return pids


def _state(pid: int) -> str:
    """The process state letter (Z: a zombie), or "" when it is gone."""
    fields = proc_stat(pid)
    return fields[0] if fields else ""


def _task_environ(pid: int) -> tuple[bytes, bytes] | None:
    """(OUTPUT, TASK_ID) from a process's environment, or None when it has no TASK_ID."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as stream:
            data = stream.read(ENVIRON_BYTES)
    except OSError:
        return None
    env = dict(item.split(b"=", 1) for item in data.split(b"\0") if b"=" in item)
    if b"TASK_ID" not in env:
        return None
    return env.get(b"OUTPUT", b""), env[b"TASK_ID"]


class Leftovers:
    """Finds and stops what tasks of one run leave behind.

    Parameters
    ----------
    output : str
        The run's OUTPUT (as the tasks have it in their environment).
    """

    def __init__(self, output: str) -> None:
        self.output = output
        self.real_output = os.path.realpath(output).encode()
        self.subreaper = become_subreaper()
        self.helpers: set[int] = set()  # children that are no task's (multiprocessing's)
        self.killed: set[int] = set()  # leftovers killed and not reaped yet

    def sweep(self, running: set[int], task_pids: set[int]) -> int:
        """Kill the leftovers of tasks no longer running; reap orphans that have exited.

        Parameters
        ----------
        running : set of int
            Numbers of the tasks still running: their processes are left alone.
        task_pids : set of int
            The running tasks' main processes (their owners reap them).

        Returns
        -------
        int
            How many leftover processes were sent SIGKILL.
        """
        count = 0
        for pid in children():
            if pid in task_pids or pid in self.helpers:
                continue
            if _state(pid) in ("Z", "X", ""):
                self._reap(pid)
                continue
            found = _task_environ(pid)
            if found is None:
                self.helpers.add(pid)
                continue
            output, task_id = found
            if os.path.realpath(output) != self.real_output or \
                    not task_id.isdigit() or int(task_id) in running:
                continue
            self._kill(pid)
            count += 1
        return count

    def _kill(self, pid: int) -> None:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        self.killed.add(pid)

    def _reap(self, pid: int) -> None:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        self.killed.discard(pid)

    def finish(self, ids: set[int]) -> int:
        """At the end of the run: stop every leftover of these tasks; return how many.

        Rounds of sweep, each waiting (bounded) for what it killed to die,
        until a round finds nothing; then one look through /proc for
        processes of these tasks that are not this process's children.
        """
        total = 0
        for _ in range(FINAL_ROUNDS):
            count = self.sweep(set(), set())
            total += count
            if not self.killed:
                break
            self._wait_dead(FINAL_WAIT)
            for pid in list(self.killed):
                self._reap(pid)
            if not count:
                break
        escaped = find_leftovers(self.output, ids)
        for group, pids in escaped.items():
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass
            total += len(pids)
        return total

    def _wait_dead(self, limit: float) -> None:
        """Wait until the killed processes have died (pidfds), at most `limit` seconds."""
        deadline = time.monotonic() + limit
        with selectors.DefaultSelector() as selector:
            for pid in self.killed:
                try:
                    selector.register(os.pidfd_open(pid), selectors.EVENT_READ)
                except OSError:
                    continue  # gone already
            try:
                while selector.get_map() and time.monotonic() < deadline:
                    for key, _ in selector.select(deadline - time.monotonic()):
                        selector.unregister(key.fd)
                        os.close(key.fd)
            finally:
                for key in list(selector.get_map().values()):
                    os.close(key.fd)
