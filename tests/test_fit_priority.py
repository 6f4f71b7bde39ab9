# TEST FIT PRIORITY PY
# The fitting process yields the cores to the loop and its tasks while a fit
# can wait, and takes a fair share when it cannot (FitPriority.py): its
# session's nice value, per fit, in a session that is not the driver's; a
# refused change is tried again at the next fit; which fits are urgent, and
# a fit that becomes urgent while it runs is raised.

import errno
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

import FitPriority
from Config import DEFAULT_OPTIMIZER
from FitPriority import FAIR, YIELDING, SessionNice
from Problem import Problem
from Proposer import Fitter, Proposer
from Search import Search

LIMIT = 120  # seconds: a safety net against a hang, never a timing assertion
AUTOGROUP = "/proc/self/autogroup"
GROUP = "/autogroup-7 nice 0\n"  # what the file reads where autogroup applies


def session_nice(pid: int) -> int:
    """A process's session nice value, as /proc/PID/autogroup gives it ("/autogroup-N nice K")."""
    with open(f"/proc/{pid}/autogroup") as stream:
        return int(stream.read().split()[-1])


def session_group(pid: int) -> str:
    """/proc/PID/autogroup as it reads: empty in the default group (a session never
    given one, as that of PID 1 and of CI's test runner, which never called setsid)."""
    with open(f"/proc/{pid}/autogroup") as stream:
        return stream.read()


@contextmanager
def apart_child() -> Iterator[int]:
    """A process that leads a session of its own, as the fitting process does: its pid."""
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def warm_search() -> Search:
    problem = Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(3)})
    search = Search(problem, DEFAULT_OPTIMIZER, "max")
    points = search.ask(10)
    search.tell(points, [sum((x - 0.3) ** 2 for x in p) for p in points])
    return search


def test_the_nice_value_follows_the_fits_urgency(tmp_path: Path) -> None:
    path = tmp_path / "autogroup"
    path.write_text(GROUP)
    with apart_child() as pid:
        nice = SessionNice(pid, str(path))
        nice.fit(urgent=False)
        assert path.read_text() == str(YIELDING)
        path.unlink()
        nice.fit(urgent=False)  # unchanged: not written again
        assert not path.exists()
        nice.fit(urgent=True)
        assert path.read_text() == str(FAIR)


def test_a_process_still_in_the_drivers_session_is_left_alone(tmp_path: Path) -> None:
    """Its session is the driver's until it has left it (start_apart): never lower that."""
    path = tmp_path / "autogroup"
    child = subprocess.Popen(["sleep", "300"])  # in this session
    try:
        nice = SessionNice(child.pid, str(path))
        nice.fit(urgent=False)
        assert not path.exists() and nice.nice is None and nice.usable
    finally:
        child.kill()
        child.wait()


def test_a_change_refused_for_now_is_tried_at_the_next_fit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel takes one change in 100 ms from unprivileged processes (EAGAIN)."""
    path = tmp_path / "autogroup"
    path.write_text(GROUP)
    with apart_child() as pid:
        nice = SessionNice(pid, str(path))

        def busy(file: str, mode: str = "r") -> IO[str]:
            if "w" in mode:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return open(file, mode)
        monkeypatch.setattr(FitPriority, "open", busy, raising=False)
        nice.fit(urgent=False)
        assert nice.nice is None and nice.usable
        monkeypatch.undo()
        nice.fit(urgent=False)
        assert path.read_text() == str(YIELDING) and nice.nice == YIELDING


def test_a_session_without_a_group_of_its_own_is_left_alone(tmp_path: Path) -> None:
    """Its file is empty (the default group, as PID 1's), and a write would fail."""
    path = tmp_path / "autogroup"
    path.write_text("")
    with apart_child() as pid:
        nice = SessionNice(pid, str(path))
        nice.fit(urgent=False)
        assert not nice.usable and nice.nice is None and path.read_text() == ""


def test_no_autogroup_ends_the_tries(tmp_path: Path) -> None:
    with apart_child() as pid:
        nice = SessionNice(pid, str(tmp_path / "missing" / "autogroup"))
        nice.fit(urgent=False)
        assert not nice.usable
        nice.fit(urgent=True)  # no error, nothing tried
        assert nice.nice is None


@pytest.mark.skipif(not os.path.exists(AUTOGROUP), reason="no autogroup scheduling here")
def test_the_fitting_process_yields_the_cores_unless_its_fit_is_urgent() -> None:
    ours = session_group(os.getpid())
    search = warm_search()
    fitter = Fitter(search, in_process=True)
    pause = threading.Event()
    try:
        assert fitter.pid is not None
        assert len(fitter.propose(search.snapshot(), 1)) == 1  # serving: out of our session
        if not session_group(fitter.pid):
            pytest.skip("autogroup is off: the fitting process's session has no group")
        nice = SessionNice(fitter.pid)
        for urgent, wanted in ((False, YIELDING), (True, FAIR)):
            for _ in range(LIMIT * 5):  # each change may wait for anyone's last one (100 ms)
                nice.fit(urgent)
                if not nice.usable:  # the write refused for good (EPERM, a read-only /proc)
                    pytest.skip("this machine refuses changes of a session's nice value")
                if session_nice(fitter.pid) == wanted:
                    break
                pause.wait(0.2)
            assert session_nice(fitter.pid) == wanted
            assert len(fitter.propose(search.snapshot(), 1)) == 1
    finally:
        fitter.close()
    assert session_group(os.getpid()) == ours  # the driver's session is left as it was


def test_a_fit_is_urgent_when_the_loop_waits_or_the_ready_points_run_low() -> None:
    proposer = Proposer(warm_search(), lambda: None, in_process=False)  # no thread
    assert proposer.take(3) == []  # the loop waits for 3 points
    assert proposer._urgent(need=5)
    proposer.demand = 0
    proposer.taken_per_fit = 4.0  # the loop took 4 points during the last fit
    proposer.ready.extend(([0.1 * i] * 3, 0) for i in range(4))
    assert proposer._urgent(need=2)  # 4 ready: they may run out before the fit lands
    proposer.ready.append(([0.9] * 3, 0))
    assert not proposer._urgent(need=1)  # 5 ready: enough for one fit's takes
    assert not proposer._urgent(need=0)  # replacing stale points never is


def test_a_fit_that_becomes_urgent_while_it_runs_is_raised(tmp_path: Path) -> None:
    """Left at 19 beside eight CPU hogs, one fit took the whole run (issue 22)."""
    path = tmp_path / "autogroup"
    path.write_text(GROUP)
    proposer = Proposer(warm_search(), lambda: None, in_process=False)  # no thread
    with apart_child() as pid:
        proposer.nice = SessionNice(pid, str(path))
        proposer.nice.fit(urgent=False)  # a fit that could wait is under way
        proposer.fits, proposer.urgent = 1, False
        assert proposer.take(2) == []  # nothing ready: the loop waits
        assert path.read_text() == str(FAIR)
        assert proposer.urgent and proposer.urgent_fits == 1


class Noted(SessionNice):
    """A SessionNice that notes what it was asked (and sets nothing)."""

    def __init__(self) -> None:
        super().__init__(os.getpid(), "/nonexistent/autogroup")
        self.asked: list[bool] = []

    def fit(self, urgent: bool) -> None:
        self.asked.append(urgent)


def test_the_thread_asks_for_fits_that_can_wait_as_such() -> None:
    woken = threading.Event()
    proposer = Proposer(warm_search(), woken.set, in_process=False)
    noted = proposer.nice = Noted()

    def wait_for(condition: Callable[[], bool]) -> None:
        while True:
            with proposer.lock:
                assert proposer.error is None
                if condition():
                    return
            assert woken.wait(LIMIT), "the proposer never woke the loop"
            woken.clear()
    assert proposer.take(2) == []  # before the thread starts nothing is ready: the loop waits
    proposer.start()
    try:
        wait_for(lambda: len(proposer.ready) >= 2)
        proposer.tell([[0.31, 0.29, 0.3]], [0.0])  # the ready points go stale
        wait_for(lambda: False in noted.asked)  # their replacement (or a top-up) can wait
    finally:
        proposer.close()
    assert noted.asked[0] is True


def test_a_failed_fitting_process_is_left_alone() -> None:
    """Once it has ended its pid may be another process's: that session is never set."""
    proposer = Proposer(warm_search(), lambda: None)  # fits in a process; no thread
    fitter = proposer.fitter = Fitter(proposer.search, in_process=True)
    try:
        assert fitter.pid is not None
        proposer.nice = SessionNice(fitter.pid)
        fitter.stop()  # the process ends: fits would run in the driver from now on
        proposer._set_priority(urgent=False)
        assert proposer.nice is None
    finally:
        fitter.close()
