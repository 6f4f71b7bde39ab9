# FIT PRIORITY PY
# How the model-fitting process shares the driver's cores (Linux). It runs
# in a session of its own as a batch job, and the driver sets that
# session's nice value: 19 while the fit under way can wait (the points
# ready last until it lands), so that the loop and the tasks it starts run
# first whenever they wake; 0 as soon as it is urgent (the loop is waiting
# for points, or the ready ones may run out before it lands), for a fair
# share of the cores against every other session, so that a loaded node
# cannot starve the model (issue 22: at nice 10 the slots took random
# points). The driver raises a fit that becomes urgent while it runs: one
# left at 19 beside eight CPU hogs was starved, and the slots waited for
# points (utilization 0.40; benchmarks/scale-results.md, seventh session).
#
# Why the session: with autogroup scheduling (/proc/sys/kernel/
# sched_autogroup_enabled, processes in the root CPU cgroup) the kernel
# shares the cores between sessions first, each by its nice value in
# /proc/self/autogroup, which any process may raise and lower again
# between 0 and 19 (a process's own nice value, once raised, cannot be
# lowered without privilege). Without autogroup (no such file, or an empty
# one) nothing is written; where it is switched off (the sysctl) or the
# process is in a CPU cgroup of its own (a container's, a batch job's) it
# does not apply, and the writes change nothing.
# Beside a CPU hog at 1,024 slots a fitter at session nice 0 held the other
# core, and the loop and the tasks it started waited for one: replacement
# p99 35.4-36.1 ms; 21.0-34.1 ms with this (five runs; the goal is 20 ms).
#
# Call order: start_apart() once, in the fitting process as it starts; in
# the driver SessionNice(pid) once, then fit(urgent) whenever a fit starts
# or becomes urgent (under the Proposer's lock: from its thread and the loop's).

import errno
import os

YIELDING = 19  # the session's nice value while a fit can wait
FAIR = 0  # while it cannot


def start_apart() -> None:
    """Leave the driver's session (a group of its own) and run as a batch job."""
    os.setsid()  # never fails: a forked child is no process group leader
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux: the ordinary policy
        pass


class SessionNice:
    """The fitting process's session nice value (/proc/PID/autogroup), set per fit.

    Parameters
    ----------
    pid : int
        The fitting process: its session is set only once it leads one of
        its own (start_apart), never the driver's.
    path : str
        The autogroup file (default /proc/PID/autogroup; a test may point it
        elsewhere).
    """

    def __init__(self, pid: int, path: str = "") -> None:
        self.pid = pid
        self.path = path or f"/proc/{pid}/autogroup"
        self.nice: int | None = None  # as last set (None: not yet)
        self.usable = True  # False once the file is missing or refused
        self.apart = False  # the process leads a session of its own

    def fit(self, urgent: bool) -> None:
        """Set the session's nice value for the next fit (FAIR if urgent, else YIELDING).

        A refused write keeps the value: the kernel takes one change in 100
        ms from unprivileged processes (EAGAIN), so the next call tries
        again; a missing file (no autogroup) or a process gone ends the tries.
        """
        wanted = FAIR if urgent else YIELDING
        if not self.usable or wanted == self.nice or not self._apart():
            return
        try:
            with open(self.path, "w") as stream:
                stream.write(str(wanted))
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EBUSY):
                self.usable = False
            return
        self.nice = wanted

    def _apart(self) -> bool:
        """Whether the process leads a session of its own yet, whose group can be set
        (not: leave it alone).

        Once it does, its file is read once: it is empty where the process
        is in the default group (as PID 1 is, or where no group of its own
        could be made), and there the writes would fail.
        """
        if not self.apart:
            try:
                self.apart = os.getsid(self.pid) == self.pid
                if self.apart:
                    with open(self.path) as stream:
                        self.usable = bool(stream.read().strip())
            except OSError:  # gone, or no autogroup
                self.usable = False
        return self.apart and self.usable
