# TEST PROPOSER PY
# The Proposer with its real thread and no processes: take() never waits,
# demand and reserve, fresh points replacing stale ones, errors handed to
# the loop. A fake notify (an Event) stands for the loop's wake-up; waits
# have a generous safety limit and no assertion is about time.

import dataclasses
import math
import os
import signal
import threading

import pytest

from Config import DEFAULT_OPTIMIZER
from Problem import Problem
from Proposer import MIN_RESERVE, FitSettings, Fitter, Proposer
from Search import Search

LIMIT = 120  # seconds: a safety net against a hang, never a timing assertion


def objective(point: list) -> float:
    return float(sum((x - 0.3) ** 2 for x in point))


class Loop:
    """Stands for the search loop: notify() sets an event the test waits on."""

    def __init__(self) -> None:
        self.woken = threading.Event()

    def notify(self) -> None:
        self.woken.set()


def make(warm: bool = True, in_process: bool = False) -> tuple[Proposer, Search, Loop]:
    problem = Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(3)})
    search = Search(problem, DEFAULT_OPTIMIZER, "max")
    if warm:
        points = search.ask(10)
        search.tell(points, [objective(p) for p in points])
    loop = Loop()
    return Proposer(search, loop.notify, in_process=in_process), search, loop


def wait_until(proposer: Proposer, loop: Loop, condition) -> None:
    """Wait for notifications until condition() holds under the lock."""
    while True:
        with proposer.lock:
            if condition():
                return
            if proposer.error is not None:
                raise proposer.error
        assert loop.woken.wait(LIMIT), "the proposer never woke the loop"
        loop.woken.clear()


@pytest.fixture
def running():
    made = []

    def start(warm: bool = True, in_process: bool = False):
        proposer, search, loop = make(warm, in_process)
        proposer.start()
        made.append(proposer)
        return proposer, search, loop
    yield start
    for proposer in made:
        proposer.close()


def test_the_random_phase_is_served_at_once(running):
    proposer, search, _ = running(warm=False)
    points = proposer.take(4)
    assert len(points) == 4
    assert search.pending == points


def test_take_never_waits_and_records_the_demand():
    proposer, _, loop = make()  # thread not started: nothing can be ready
    assert proposer.take(5) == []
    assert proposer.demand == 5
    assert proposer.waits == 1
    assert not loop.woken.is_set()


def test_demand_is_proposed_in_the_background():
    proposer, search, loop = make()
    # before the thread starts nothing is ready: the whole take is demand (once started,
    # a take could be served by the reserve and the spare points, leaving no demand)
    assert proposer.take(3) == []
    proposer.start()
    try:
        wait_until(proposer, loop, lambda: len(proposer.ready) >= 3)
        points = proposer.take(3)
    finally:
        proposer.close()
    assert len(points) == 3
    assert all(p in search.pending for p in points)


def test_a_reserve_is_kept_beyond_the_demand(running):
    proposer, _, loop = running()
    proposer.take(4)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= MIN_RESERVE)
    with proposer.lock:
        assert proposer.reserve >= MIN_RESERVE


def test_ready_points_are_pending_and_distinct(running):
    proposer, search, loop = running()
    proposer.take(6)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 6)
    with proposer.lock:
        ready = [p for p, _ in proposer.ready]
        assert all(p in search.pending for p in ready)
        assert len({repr(p) for p in ready}) == len(ready)


def test_the_reserve_follows_the_loops_appetite():
    proposer, _, _ = make()
    proposer._size_reserve(10)
    assert proposer.reserve == 22  # twice the appetite, plus two
    proposer._size_reserve(0)
    assert MIN_RESERVE <= proposer.reserve < 22  # falls slowly
    proposer._size_reserve(30)
    assert proposer.reserve == 62  # rises at once


def test_stale_points_are_replaced_and_dropped(running):
    proposer, search, loop = running()
    proposer.take(2)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 2)
    with proposer.lock:
        old = [p for p, _ in proposer.ready]
    proposer.tell([[0.31, 0.29, 0.3]], [0.0])  # a new result makes them stale
    wait_until(proposer, loop, lambda: proposer.ready and all(
        version == search.version for _, version in proposer.ready))
    with proposer.lock:
        fresh = [p for p, _ in proposer.ready]
        for point in old:
            if point not in fresh:
                assert point not in search.pending  # replaced ones are no longer pending


def test_results_and_failures_reach_the_search(running):
    proposer, search, loop = running()
    proposer.take(2)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 2)
    a, b = proposer.take(2)
    proposer.tell([a], [0.5])
    proposer.fail([b])
    with proposer.lock:
        assert a in search.optimizer.Xi
        assert b in search.failed
        assert a not in search.pending and b not in search.pending


def test_close_forgets_points_nobody_took(running):
    proposer, search, loop = running()
    proposer.take(3)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 3)
    proposer.close()
    assert proposer.ready == type(proposer.ready)()
    assert search.pending == []


def test_an_error_in_the_thread_reaches_the_loop(running, monkeypatch):
    proposer, search, loop = make()

    def broken(snap, k):
        raise RuntimeError("model exploded")
    monkeypatch.setattr(search, "propose", broken)
    proposer.start()  # it proposes its reserve at once, and fails
    try:
        assert loop.woken.wait(LIMIT)
        assert isinstance(proposer.failure(), RuntimeError)  # the loop asks on each wake-up
        with pytest.raises(RuntimeError, match="model exploded"):
            proposer.take(1)
    finally:
        proposer.close()


def test_the_first_fit_is_bridged_with_random_points():
    """Leaving the random phase, slots get the initial design's next points, not a wait."""
    proposer, search, _ = make(warm=False)  # thread not started: the first fit never ends
    points = proposer.take(10)
    search.tell(points[:10], [objective(p) for p in points[:10]])
    assert not search.in_random_phase
    bridge = proposer.take(3)
    assert len(bridge) == 3
    assert all(p in search.pending for p in bridge)
    assert proposer.bridged == 3


def test_takes_count_model_points_after_the_design_and_their_staleness(running):
    proposer, search, loop = running()
    proposer.take(3)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 3)
    with proposer.lock:
        point = [0.9, 0.9, 0.9]
        search.register([point])
        search.tell([point], [objective(point)])  # one result since the ready points' fit
        points = proposer.take(2)
        assert proposer.origins == ["model", "model"]
        assert proposer.staleness == [1, 1]
        assert proposer.share.chosen_late == proposer.share.issued_late == len(points) == 2


def test_a_model_that_cannot_keep_up_is_said_once(capsys):
    proposer, search, _ = make(warm=False)  # thread not started: the first fit never ends
    points = proposer.take(10)
    search.tell(points, [objective(p) for p in points])
    for _ in range(3):
        proposer.take(4)  # bridged: random points after the design
    assert proposer.share.issued_late == 12 and proposer.share.chosen_late == 0
    proposer.close()
    proposer.close()
    said = capsys.readouterr().err
    assert said.count("the model chose only 0 of the 12 points") == 1
    assert "the first fit had not landed" in said


def test_a_resumed_search_is_never_bridged():
    proposer, _, _ = make(warm=True)  # results known before the first take: no random phase
    assert proposer.take(3) == []
    assert proposer.bridged == 0


def test_the_fit_runs_in_a_separate_process(running):
    proposer, search, loop = running(in_process=True)
    proposer.take(4)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 4)
    points = proposer.take(4)
    assert len({repr(p) for p in points}) == 4
    assert all(p in search.pending for p in points)
    assert proposer.fitter is not None and proposer.fitter.pid is not None
    assert proposer.fitter.cpu > 0  # the fits ran there, not in this process


def test_the_fitting_process_is_a_batch_job_at_the_drivers_priority():
    """Not nice 10: on a loaded node that starved the fits (issue 22)."""
    _, search, _ = make()
    fitter = Fitter(search, in_process=True)
    try:
        assert len(fitter.propose(search.snapshot(), 2)) == 2  # it is serving: set up
        assert fitter.pid is not None
        assert os.sched_getscheduler(fitter.pid) == os.SCHED_BATCH
        assert os.getpriority(os.PRIO_PROCESS, fitter.pid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        fitter.close()


def test_the_fitting_process_runs_in_a_session_of_its_own():
    """Not in the driver's: with autogroup scheduling a session shares one fair share of a
    core, and a fit then took the loop's share while it spawned tasks (issue 22)."""
    _, search, _ = make()
    fitter = Fitter(search, in_process=True)
    try:
        assert len(fitter.propose(search.snapshot(), 2)) == 2  # it is serving: set up
        assert fitter.pid is not None
        assert os.getsid(fitter.pid) == fitter.pid != os.getsid(0)
    finally:
        fitter.close()


def test_a_dead_fitting_process_falls_back_to_the_driver():
    _, search, _ = make()
    fitter = Fitter(search, in_process=True)
    try:
        assert fitter.pid is not None
        os.kill(fitter.pid, signal.SIGKILL)
        points = fitter.propose(search.snapshot(), 3)
        assert len(points) == 3
        assert fitter.pid is None and fitter.conn is None  # from now on in the driver
    finally:
        fitter.close()


def test_close_leaves_no_fitting_process_behind():
    proposer, _, _ = make(in_process=True)
    proposer.start()
    assert proposer.fitter is not None
    pid = proposer.fitter.pid
    assert pid is not None
    proposer.close()
    gone = threading.Event()
    for _ in range(LIMIT * 10):  # the forkserver reaps it: wait until it is gone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone.set()
            break
        gone.wait(0.1)
    assert gone.is_set()


def test_spare_points_fill_in_when_the_ready_ones_run_out(running):
    proposer, search, loop = running()
    proposer.take(2)
    wait_until(proposer, loop, lambda: len(proposer.ready) >= 2 and proposer.spare)
    with proposer.lock:
        ready = len(proposer.ready)
        spare = list(proposer.spare)
        assert not any(p in search.pending for p in spare)  # no lie about spare points
        waits = proposer.waits
        points = proposer.take(ready + 1)
        assert len(points) == ready + 1
        assert points[-1] in spare and points[-1] in search.pending
        assert proposer.spared == 1 and proposer.waits == waits


def test_the_fitting_process_gets_the_searchs_settings_once_and_frozen():
    problem = Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(3)})
    search = Search(problem, DEFAULT_OPTIMIZER, "mean", resume_offset=7)  # shifts random_state
    points = search.ask(10)
    search.tell(points, [objective(p) for p in points])
    settings = FitSettings.of(search)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.lie = "max"  # type: ignore[misc]
    assert dict(settings.optimizer) == search.kwargs and settings.lie == "mean"
    fitter = Fitter(search, in_process=True)
    try:
        snap = search.snapshot()
        assert fitter.propose(snap, 3) == search.propose(snap, 3)  # same settings, same fit
    finally:
        fitter.close()


def test_the_fitting_process_proposes_for_several_objectives_and_failures():
    problem = Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(3)})
    search = Search(problem, DEFAULT_OPTIMIZER, "max", objectives=2)
    points = search.ask(12)
    search.fail(points[:3])
    search.tell(points[3:], [(objective(p), -objective(p)) for p in points[3:]])
    assert FitSettings.of(search).objectives == 2
    fitter = Fitter(search, in_process=True)
    try:
        snap = search.snapshot()
        assert fitter.propose(snap, 3) == search.propose(snap, 3)  # vectors, failures, weights
    finally:
        fitter.close()


def test_an_error_in_the_fitting_process_reaches_the_caller():
    _, search, _ = make()
    fitter = Fitter(search, in_process=True)
    try:
        snap = search.snapshot()
        snap.y[0] = math.nan  # scikit-learn refuses it, in the fitting process
        with pytest.raises(ValueError, match="NaN"):
            fitter.propose(snap, 2)
        assert fitter.pid is not None  # the process lives on: the loop decides
    finally:
        fitter.close()
