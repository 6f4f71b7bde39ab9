# TEST LATENCY PY
# What keeps a finished task's replacement quick at 1,024 slots and 10,000
# results (issue 22), each checked on the work it does, never on a time:
# the loop runs with start-up's objects out of the collector's reach
# (Heap.py); a snapshot for the fitter carries only the results it has
# not had (Search.snapshot(since), Proposer.Held) and the fit is the same;
# the random phase draws the original's points without fitting a model;
# a replacement starts before the sweep for what ended tasks left behind,
# after its predecessor's row is written, and never waits for its fsync.

import csv
import errno
import gc
import io
import itertools
import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from skopt.learning import RandomForestRegressor

from Config import DEFAULT_OPTIMIZER, Config
from Launcher import Launcher
from Problem import Problem
from Proposer import FitSettings, Fitter, Held, Proposer
from Results import open_journals
from Search import Search
from utils import LOG
from Workflow import Plan, Workflow

LIMIT = 60  # seconds: a safety net against a hang, never a timing assertion
TASK = """#!/bin/bash
echo 0.5 > "$TASK_RESULT"
"""


def objective(point: list) -> float:
    return float(sum((x - 0.3) ** 2 for x in point))


def space(d: int = 3) -> Problem:
    return Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(d)})


def told(search: Search, n: int) -> None:
    """Tell `n` more results (points of the search's own random draws)."""
    points = search.ask_random(n)
    search.tell(points, [objective(p) for p in points])


class FreezeWatch(Proposer):
    """The product's Proposer, noting whether the heap was frozen at each take."""

    def __init__(self, search: Search, notify: Any) -> None:
        super().__init__(search, notify, in_process=False)
        self.frozen: list[int] = []

    def take(self, k: int) -> list[list[Any]]:
        self.frozen.append(gc.get_freeze_count())
        return super().take(k)


def search_folder(tmp_path: Path) -> tuple[Config, Path]:
    """A cfg of TASK on space() and an empty OUTPUT folder for it."""
    script = tmp_path / "task.sh"
    script.write_text(TASK)
    script.chmod(0o755)
    output = tmp_path / "out"
    output.mkdir()
    return Config(script=str(script), problem=space()), output


def loop_of(config: Config, output: Path, concurrency: int, points_max: int) -> Workflow:
    """The search loop of `config` into `output`, its fits in a thread."""
    plan = Plan(parallelism=1, concurrency=concurrency, points_max=points_max,
                output=str(output))
    workflow: Workflow
    points = Proposer(Search(config.problem, config.optimizer), lambda: workflow.wake(),
                      in_process=False)
    workflow = Workflow(config, plan, points, Launcher(reason="test"), dict(os.environ),
                        open_journals(str(output), config.problem.names, config.metrics))
    return workflow


def three_tasks_one_at_a_time(tmp_path: Path) -> Workflow:
    """The loop of search_folder's search: 3 tasks, one at a time, fits in a thread."""
    config, output = search_folder(tmp_path)
    return loop_of(config, output, concurrency=1, points_max=3)


def four_lanes(tmp_path: Path, points_max: int) -> tuple[Workflow, Path]:
    """The loop of search_folder's search at CONCURRENCY 4, fits in a thread: the first
    turn (the random phase) starts 4 tasks together. Returns it and its OUTPUT."""
    config, output = search_folder(tmp_path)
    return loop_of(config, output, concurrency=4, points_max=points_max), output


def test_the_loop_runs_with_start_up_objects_frozen(tmp_path: Path) -> None:
    config, output = search_folder(tmp_path)
    plan = Plan(parallelism=1, concurrency=2, points_max=4, output=str(output))
    workflow: Workflow
    points = FreezeWatch(Search(config.problem, config.optimizer), lambda: workflow.wake())
    workflow = Workflow(config, plan, points, Launcher(reason="test"), dict(os.environ),
                        open_journals(str(output), config.problem.names, config.metrics))
    assert gc.get_freeze_count() == 0
    assert workflow.run() == 0
    assert points.frozen and all(count > 0 for count in points.frozen)
    assert gc.get_freeze_count() == 0  # thawed when the loop ends


def test_a_snapshot_since_holds_only_the_newer_results() -> None:
    search = Search(space(), DEFAULT_OPTIMIZER)
    told(search, 12)
    search.register([[0.5, 0.5, 0.5]])
    whole, part = search.snapshot(), search.snapshot(since=10)
    assert (part.first, part.X, part.y) == (10, whole.X[10:], whole.y[10:])
    assert part.pending == whole.pending and part.version == whole.version
    with pytest.raises(ValueError, match="without its first 10 results"):
        search.propose(part, 1)  # only a whole one can be proposed from


def test_held_results_make_each_snapshot_whole() -> None:
    search = Search(space(), DEFAULT_OPTIMIZER)
    told(search, 12)
    held = Held()
    assert held.whole(search.snapshot()).X == search.optimizer.Xi
    told(search, 3)
    whole = held.whole(search.snapshot(since=len(held)))
    assert whole.X == search.optimizer.Xi and whole.y == search.optimizer.yi
    assert len(held) == 15 and whole.first == 0
    with pytest.raises(ValueError, match="from result 3, but 15 are held"):
        held.whole(search.snapshot(since=3))
    assert held.whole(search.snapshot()).X == search.optimizer.Xi  # a whole one starts over


@pytest.mark.parametrize("in_process", [False, True])
def test_the_fitter_sent_only_new_results_proposes_the_same_points(in_process: bool) -> None:
    """A fit on a snapshot since the results held is the fit on the whole snapshot."""
    search = Search(space(), DEFAULT_OPTIMIZER)
    told(search, 12)
    reference = FitSettings.of(search).search()  # the same calls, whole snapshots
    fitter = Fitter(search, in_process=in_process)
    try:
        for _ in range(3):
            whole = search.snapshot()
            part = search.snapshot(since=len(fitter.held))
            part.seed = whole.seed  # the same random numbers for both fits
            assert fitter.propose(part, 3) == reference.propose(whole, 3)
            assert len(fitter.held) == len(search.optimizer.yi)
            told(search, 4)
    finally:
        fitter.close()


@pytest.mark.parametrize("generator", ["random", "lhs"])
def test_the_random_phase_fits_no_model(monkeypatch: pytest.MonkeyPatch, generator: str) -> None:
    """skopt's ask(n_points) fits a forest on its lies once they reach n_initial_points
    (0.5 s on the loop's thread as the design ended); the points need no fit."""
    points = {}
    for fits in ("allowed", "refused"):
        if fits == "refused":
            def refuse(*args: Any, **kwargs: Any) -> None:
                raise AssertionError("a model was fitted in the random phase")
            monkeypatch.setattr(RandomForestRegressor, "fit", refuse)
        search = Search(space(), dict(DEFAULT_OPTIMIZER, initial_point_generator=generator))
        drawn = search.ask(4)  # the original's ask(POINTS_INIT) ...
        while search.in_random_phase:  # ... then ask(1) per result, up to the last one
            search.tell(drawn[-1:], [objective(drawn[-1])])
            drawn += search.ask(1)
        points[fits] = drawn
    assert points["refused"] == points["allowed"]


def test_a_first_ask_beyond_what_the_design_has_left_is_answered() -> None:
    """A resumed search told 8 of a 10-point design asks for 4: skopt's own ask answers
    (2 design points, 2 from its fit on the lies), as before the ask without a fit."""
    first = Search(space(), DEFAULT_OPTIMIZER)
    drawn = first.ask(8)
    search = Search(space(), DEFAULT_OPTIMIZER, resume_offset=8)  # the resumed run's
    search.tell(drawn, [objective(p) for p in drawn])
    assert search.in_random_phase and search.n_initial_points == 10
    more = search.ask(4)
    assert len(more) == 4 and len({tuple(p) for p in more + drawn}) == 12

def test_a_replacement_starts_before_the_sweep_for_leftovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading every child's /proc entry is O(running tasks): it waits for the launches."""
    monkeypatch.setattr("Workflow.SWEEP_INTERVAL", 0.0)  # a sweep after every exit
    calls: list[str] = []
    for name in ("_started", "_record", "_sweep"):
        method = getattr(Workflow, name)

        def noted(self: Workflow, *args: Any, _method: Any = method, _name: str = name) -> Any:
            calls.append(_name.strip("_"))
            return _method(self, *args)
        monkeypatch.setattr(Workflow, name, noted)
    workflow = three_tasks_one_at_a_time(tmp_path)
    assert workflow.run() == 0
    assert calls == ["started", "record", "started", "sweep", "record", "started", "sweep",
                     "record"]


def test_the_sweep_for_leftovers_comes_at_most_every_sweep_interval(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 1,024 tasks a sweep costs the loop 2 ms of CPU: not one after every exit."""
    monkeypatch.setattr("Workflow.SWEEP_INTERVAL", 3600.0)
    sweeps: list[float] = []
    sweep = Workflow._sweep

    def noted(self: Workflow) -> None:
        sweeps.append(self.next_sweep)
        sweep(self)
    monkeypatch.setattr(Workflow, "_sweep", noted)
    workflow = three_tasks_one_at_a_time(tmp_path)
    assert workflow.run() == 0
    assert sweeps == [0.0]  # the first exit's; the others' wait an hour (the end's sweep stops
    # their leftovers: tests/test_leftovers.py)


# Task 0 ends at once; task 1 leaves a process in a session of its own and ends once task 0
# is recorded (so within SWEEP_INTERVAL of the sweep after task 0); task 2 ends well only
# if that process is stopped while it runs, though no other task ends meanwhile.
LEFT_LATE = """#!/bin/bash
set -eu
case "$TASK_ID" in
  0) ;;
  1) setsid sleep 300 > /dev/null 2>&1 < /dev/null &
     echo "$!" > "$OUTPUT/left"
     until [ "$(wc -l < "$OUTPUT/results.csv")" -ge 2 ]; do sleep 0.01; done ;;
  2) until [ -s "$OUTPUT/left" ]; do sleep 0.01; done
     left=$(cat "$OUTPUT/left")
     for _ in $(seq 200); do
       state=$(sed 's/.*) //' "/proc/$left/stat" 2>/dev/null | cut -d' ' -f1) || true
       case "$state" in ""|Z|X) echo 1 > "$TASK_RESULT"; exit 0 ;; esac
       sleep 0.02
     done
     exit 5 ;;
esac
echo 1 > "$TASK_RESULT"
"""


def test_a_sweep_put_off_comes_when_no_task_ends(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's sleep ends at the next sweep's time when tasks ended since the last."""
    monkeypatch.setattr("Workflow.SWEEP_INTERVAL", 0.5)
    script = tmp_path / "task.sh"
    script.write_text(LEFT_LATE)
    script.chmod(0o755)
    output = tmp_path / "out"
    output.mkdir()
    # nothing else wakes the loop meanwhile: no look at the outputs, no status line
    config = Config(script=str(script), problem=space(), progress_interval=600.0,
                    status_interval=600.0)
    assert loop_of(config, output, concurrency=3, points_max=3).run() == 0
    with open(output / "results.csv", newline="") as stream:
        assert [row["status"] for row in csv.DictReader(stream)] == ["ok"] * 3


def test_the_spawns_of_one_turn_overlap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    """Each Popen waits until its child has exec'd, the GIL free meanwhile: a turn's tasks
    start from the Spawner's threads at once, not one after another (issue 22)."""
    workflow, output = four_lanes(tmp_path, points_max=4)
    # the first two spawns wait for each other: one after another, they never meet
    together = threading.Barrier(2, timeout=LIMIT)
    calls = itertools.count()
    popen = subprocess.Popen

    def launched(*args: Any, **kwargs: Any) -> subprocess.Popen:
        if next(calls) < 2:
            together.wait()
        return popen(*args, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", launched)
    assert workflow.run() == 0
    assert not together.broken
    with open(output / "started.csv", newline="") as stream:
        ids = [int(row["id"]) for row in csv.DictReader(stream)]
    assert len(ids) == 4 and ids == sorted(set(ids))  # the rows in id order, as before


def test_points_a_turn_could_not_start_for_want_of_processes_come_back_in_their_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks 1 and 2 of a turn of 4 find no process left (EAGAIN), 0 and 3 start: their
    points are the next two issued, 1's first, whatever order the Spawner's threads ran."""
    workflow, output = four_lanes(tmp_path, points_max=6)
    tried: dict[str, str] = {}  # task id -> its point (the script's argument)
    lock = threading.Lock()
    popen = subprocess.Popen

    def launched(argv: list[str], *args: Any, **kwargs: Any) -> subprocess.Popen:
        task_id = kwargs["env"]["TASK_ID"]
        with lock:
            first = task_id not in tried
            tried[task_id] = argv[2]
        if first and task_id in ("1", "2"):
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return popen(argv, *args, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", launched)
    assert workflow.run() == 0
    with open(output / "started.csv", newline="") as stream:
        ids = [row["id"] for row in csv.DictReader(stream)]
    assert ids[:2] == ["0", "3"] and len(ids) == 6
    assert [tried[task_id] for task_id in ids[2:4]] == [tried["1"], tried["2"]]


def test_a_replacement_starts_after_the_row_is_written_and_never_waits_for_its_fsync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row written survives the driver killed outright; only the OS's crash, which
    ends the tasks too, needs the fsync: it runs on a thread of its own, done by the end."""
    workflow = three_tasks_one_at_a_time(tmp_path)
    results = workflow.journals.results
    events: list[tuple[str, bool]] = []  # (what, on the loop's thread)

    def on_results(name: str, call: Any) -> Any:
        def noted(fd: int, *args: Any) -> Any:
            if fd == results._fd:
                events.append((name, threading.current_thread() is threading.main_thread()))
            return call(fd, *args)
        return noted
    monkeypatch.setattr(os, "write", on_results("write", os.write))
    monkeypatch.setattr(os, "fsync", on_results("fsync", os.fsync))
    popen = subprocess.Popen

    def launched(*args: Any, **kwargs: Any) -> subprocess.Popen:
        events.append(("launch", True))
        return popen(*args, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", launched)
    assert workflow.run() == 0
    assert [what for what, _ in events if what != "fsync"] == \
        ["launch", "write", "launch", "write", "launch", "write"]
    assert all(on_loop == (what != "fsync") for what, on_loop in events)
    assert events[-1][0] == "fsync", "the last row is synced before the run ends"


def test_a_failed_fsync_stops_the_run_as_a_full_disk_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said = io.StringIO()
    monkeypatch.setattr(LOG, "handlers", [logging.StreamHandler(said)])
    workflow = three_tasks_one_at_a_time(tmp_path)
    results = workflow.journals.results
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if fd == results._fd:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    assert workflow.run() != 0
    assert f"cannot write {results.path}: Input/output error; stopping" in said.getvalue()
