# TEST JOBS PY
# Several jobs, one search (--join, Joined.py, Tickets.py): four drivers
# started at once on one OUTPUT, one of them killed with SIGKILL while its
# tasks run; on the real Slurm test cluster, a job array of three with one
# job scancelled. Real processes throughout; every wait is for an event (a file
# a driver writes), never for a lucky ordering.

import csv
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUNDLE, run_main, sync_as_another_driver, write_cfg, write_script
from launch_helpers import clean_env, printed
from test_signals import wait_until
from test_slurm import nodes, queued, submit, wait_for  # noqa: F401 - nodes: a fixture

from Results import JournalTail, read_journal
from Tickets import Claim, Tickets

# Every task waits at the gate until the test opens it, then runs task.sh.
GATED_TASK = f"""
while [ ! -e "$OUTPUT/../gate" ]; do sleep 0.05; done
exec {BUNDLE / "task.sh"} "$@"
"""
POINTS_MAX = 24
JOB_VARIABLES = ("SLURM_JOB_ID", "PBS_JOBID", "COBALT_JOBID")


def start_driver(args: list[str], log: Path) -> subprocess.Popen:
    """main.py itself (its pid names its driver folder), in a session of its own."""
    env = dict(os.environ, PYTHON=sys.executable, TASK_DELAY="0.2")
    for name in ("OUTPUT", *JOB_VARIABLES):
        env.pop(name, None)
    with open(log, "w") as stream:
        return subprocess.Popen([sys.executable, "-u", str(BUNDLE / "main.py"), *args],
                                env=env, stdout=stream, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=BUNDLE)


def journal_rows(output: Path, name: str) -> list[dict[str, str]]:
    """Every driver's rows of journal `name` (OUTPUT's and each drivers/NAME/'s)."""
    paths = [output / name] + sorted((output / "drivers").glob(f"*/{name}"))
    return [row for path in paths if path.exists() for row in read_journal(str(path))[1]]


def claims(output: Path) -> dict[tuple[int, int], tuple[str, int]]:
    """(ticket, generation) -> (driver, task) of every claim in OUTPUT/claims/."""
    found = {}
    for link in (output / "claims").iterdir():
        ticket, generation = map(int, link.name.split("."))
        driver, task = os.readlink(link).rsplit("/", 1)
        found[ticket, generation] = (driver, int(task))
    return found


def victim_folder(output: Path, pid: int) -> Path | None:
    found = list((output / "drivers").glob(f"*-{pid}"))
    return found[0] if found else None


def test_four_drivers_one_killed(tmp_path: Path) -> None:
    """POINTS_MAX unique rows, the killed driver's running points issued again once under
    their tickets, nothing duplicated, unique task numbers; the report counts every job."""
    script = write_script(tmp_path, GATED_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script)})
    output = tmp_path / "out"
    args = ["--join", "-c", str(cfg), "-o", str(output), "1", "2", str(POINTS_MAX)]
    drivers = [start_driver(args, tmp_path / f"driver{n}.log") for n in range(4)]
    try:
        victim = drivers[3]
        folder: list[Path] = []

        def victim_runs_a_task() -> bool:
            found = victim_folder(output, victim.pid)
            if found is None or not (output / "claims").exists():
                return False
            folder[:] = [found]
            started = {int(r["id"]) for r in journal_rows(output, "started.csv")}
            return any(d == found.name and t in started for d, t in claims(output).values())

        wait_until(victim_runs_a_task, "the victim driver to start a task", limit=60)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        name = folder[0].name
        lost = {t for d, t in claims(output).values() if d == name}
        (tmp_path / "gate").touch()
        codes = [d.wait(timeout=120) for d in drivers[:3]]
    finally:
        (tmp_path / "gate").touch()
        for driver in drivers:
            if driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
    logs = [(tmp_path / f"driver{n}.log").read_text() for n in range(3)]
    assert codes == [0, 0, 0], logs
    results = journal_rows(output, "results.csv")
    ids = [int(r["id"]) for r in results]
    assert len(ids) == len(set(ids)), f"a task number is recorded twice: {sorted(ids)}"
    started = [int(r["id"]) for r in journal_rows(output, "started.csv")]
    assert len(started) == len(set(started)), f"a task number started twice: {sorted(started)}"
    assert [r["status"] for r in results].count("ok") == POINTS_MAX, results
    assert len(results) == POINTS_MAX  # the victim recorded no result: its tasks were lost
    taken = claims(output)
    latest = {t: max(g for (t2, g) in taken if t2 == t) for t, _ in taken}
    assert sorted(latest) == list(range(POINTS_MAX))
    assert {taken[t, g][1] for t, g in latest.items()} == set(ids)  # each ticket: one task
    # the victim's tasks were lost, each ticket taken again once (generation 1), on its point
    assert lost and {taken[t, 0][1] for t, g in latest.items() if g} == lost
    assert all(g <= 1 for g in latest.values())
    points = {int(r["id"]): (r["drop"], r["batch_size"])
              for r in journal_rows(output, "started.csv")}
    again = {taken[t, 0][1]: taken[t, 1][1] for t, g in latest.items() if g}
    assert all(points[old] == points[new] for old, new in again.items() if old in points)
    assert any("taking over" in log for log in logs)
    report = subprocess.run([str(BUNDLE / "report.sh"), str(output), "--csv"],
                            env=dict(os.environ, PYTHON=sys.executable), capture_output=True,
                            text=True, check=False)
    table = list(csv.DictReader(io.StringIO(report.stdout)))
    assert sorted(int(r["id"]) for r in table) == sorted(ids), report.stderr


def test_join_refuses_another_search(tmp_path: Path) -> None:
    """A POINTS_MAX (or a cfg) that describes another search: one line, exit 2."""
    cfg = write_cfg(tmp_path, {"script": str(BUNDLE / "task.sh")})
    output = tmp_path / "out"
    first = run_main(["--join", "-c", str(cfg), "-o", str(output), "1", "2", "3"])
    assert first.returncode == 0, first.stdout + first.stderr
    again = run_main(["--join", "-o", str(output), "1", "2", "5"])
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"main.sh: error: OUTPUT {output}: cannot join: its POINTS_MAX is 3, not 5"]
    other = write_cfg(tmp_path, {"script": str(BUNDLE / "task.sh"), "pending_lie": "min"},
                      name="other.json")
    refused = run_main(["--join", "-c", str(other), "-o", str(output)])
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "the recorded 'pending_lie' differs" in refused.stderr


def test_join_refuses_a_single_job_search(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, {"script": str(BUNDLE / "task.sh")})
    output = tmp_path / "out"
    assert run_main(["-c", str(cfg), "-o", str(output), "1", "2", "2"]).returncode == 0
    joined = run_main(["--join", "-o", str(output)])
    assert joined.returncode == 2
    assert "holds the search of a single job" in joined.stderr


def element(array: str, job: str) -> str:
    """The ARRAY_INDEX name of the array's job whose SLURM_JOB_ID is `job` (scancel of the
    plain id of an array's job is silently ignored on the test cluster)."""
    lines = subprocess.run(["squeue", "--noheader", "--jobs", array, "--format", "%i %A"],
                           capture_output=True, text=True, timeout=20, check=True).stdout
    names = [n for n, i in (line.split() for line in lines.splitlines()) if i == job]
    assert names, f"job {job} is not in the queue of array {array}: {lines!r}"
    return names[0]


@pytest.mark.usefixtures("nodes")
def test_slurm_job_array_one_cancelled(tmp_path: Path) -> None:
    """Three jobs of one array (submit-slurm.sh -a 3) feed one search on the real cluster;
    one is scancelled while its task runs: the same checks as above, one log per job."""
    script = write_script(tmp_path, GATED_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script)})
    env = clean_env(tmp_path, shims=False, ASYNC_LOCAL_LEASE="5", TASK_DELAY="0.2")
    tasks = 6
    submitted = submit(["-a", "3", "-t", str(tasks), "-w", "00:05:00", "1", "1", "-c", str(cfg)],
                       env, tmp_path)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    values = printed(submitted.stdout)
    array, output = values["JOB"], Path(values["OUTPUT"])
    victim: list[str] = []

    def a_driver_runs_a_task() -> bool:
        if not (output / "claims").exists():
            return False
        started = {int(r["id"]) for r in journal_rows(output, "started.csv")}
        running = [d for d, t in claims(output).values() if t in started]
        victim[:] = running[:1]
        return bool(running)

    try:
        wait_for(a_driver_runs_a_task, 120, "a job's driver to start a task")
        job = element(array, victim[0].split("-")[0])
        subprocess.run(["scancel", job], check=True, timeout=20)
        wait_for(lambda: not queued(job), 60, f"job {job} to leave the queue")
    finally:
        (output.parent / "gate").touch()
    wait_for(lambda: not queued(array), 240, f"the job array {array} to end")
    results = journal_rows(output, "results.csv")
    ids = [int(r["id"]) for r in results]
    assert len(ids) == len(set(ids)), f"a task number is recorded twice: {sorted(ids)}"
    started = [int(r["id"]) for r in journal_rows(output, "started.csv")]
    assert len(started) == len(set(started))
    taken = claims(output)
    latest = {t: max(g for (t2, g) in taken if t2 == t) for t, _ in taken}
    assert sorted(latest) == list(range(tasks))
    statuses = {int(r["id"]): r["status"] for r in results}
    assert [statuses[taken[t, g][1]] for t, g in latest.items()] == ["ok"] * tasks, results
    assert list(statuses.values()).count("ok") == tasks  # nothing counted twice
    lost = {t for (t, g), (d, _) in taken.items() if d == victim[0] and g == 0}
    assert lost and all(latest[t] == 1 for t in lost)  # taken again, once
    logs = sorted(p.name for p in output.parent.glob(f"{output.name}.job-*.txt"))
    assert logs == [f"{output.name}.job-{i}.txt" for i in range(3)]
    report = subprocess.run([str(BUNDLE / "report.sh"), str(output), "--csv"], env=env,
                            capture_output=True, text=True, check=False)
    assert len(report.stdout.splitlines()) == len(results) + 1, report.stderr


def test_journal_tail_reads_only_new_complete_rows(tmp_path: Path) -> None:
    """A torn last line waits for its newline; each read returns only the new rows."""
    path = tmp_path / "results.csv"
    tail = JournalTail(str(path))
    assert tail.read_new() == []  # not written yet
    path.write_bytes(b"id,value\n1,a\n2,")
    assert tail.read_new() == [{"id": "1", "value": "a"}]
    with open(path, "ab") as stream:
        stream.write(b'"b\nc"\n3,d\n')
    assert tail.read_new() == [{"id": "2", "value": "b\nc"}, {"id": "3", "value": "d"}]
    assert tail.read_new() == []


def test_a_ticket_goes_to_one_claim(tmp_path: Path) -> None:
    """Two drivers claim: each ticket once, in order; a next generation once."""
    first, second = Tickets(str(tmp_path), "a", 3), Tickets(str(tmp_path), "b", 3)
    assert first.claim_new(0) == Claim(0, 0, "a", 0)
    assert second.claim_new(1) == Claim(1, 0, "b", 1)  # ticket 0 is taken: the next one
    assert first.claim_new(2) == Claim(2, 0, "a", 2)
    assert second.claim_new(3) is None and second.exhausted
    again = Claim(1, 0, "b", 1).next("a", 4)
    assert first.claim(again) and not second.claim(Claim(1, 0, "b", 1).next("b", 5))
    assert second.scan()[1] == again


def test_tickets_advance_reads_the_new_claims_without_a_listing(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """advance() learns the tickets the others took since (in order, from the first free
    one) without listing claims/; a claim lost to another driver notes the winner's."""
    first, second = Tickets(str(tmp_path), "a", 4), Tickets(str(tmp_path), "b", 4)
    assert first.claim_new(0) and first.claim_new(1) and first.claim_new(2)

    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"listed {path}")

    monkeypatch.setattr(os, "listdir", no_listing)
    assert second.advance() == {t: Claim(t, 0, "a", t) for t in range(3)}
    assert second.cursor == 3 and second.claim_new(3) == Claim(3, 0, "b", 3)
    again = Claim(1, 0, "a", 1).next("a", 4)
    assert first.claim(again) and not second.claim(Claim(1, 0, "a", 1).next("b", 5))
    assert second.latest[1] == again


def test_csv_into_a_pipe_closed_early(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, {"script": str(BUNDLE / "task.sh")})
    output = tmp_path / "out"
    assert run_main(["--join", "-c", str(cfg), "-o", str(output), "1", "2", "4"]).returncode == 0
    piped = subprocess.run(f"{BUNDLE / 'report.sh'} {output} --csv | head -1", shell=True,
                           env=dict(os.environ, PYTHON=sys.executable), capture_output=True,
                           text=True, check=False)
    assert piped.stdout.startswith("id,status,") and piped.stderr == ""


# Task 0 waits at gate0, every other task at gate.
TWO_GATES = f"""
GATE=gate; [ "$TASK_ID" -eq 0 ] && GATE=gate0
while [ ! -e "$OUTPUT/../$GATE" ]; do sleep 0.05; done
exec {BUNDLE / "task.sh"} "$@"
"""


def test_a_driver_that_ends_leaves_the_others_tasks_alone(tmp_path: Path) -> None:
    """Driver A runs tasks 0 and 2, driver B task 1 between them; A is stopped (SIGTERM):
    at its end it stops its own tasks' leftovers only, and B's task 1 ends ok."""
    script = write_script(tmp_path, TWO_GATES)
    cfg = write_cfg(tmp_path, {"script": str(script)})
    output = tmp_path / "out"
    args = ["--join", "-c", str(cfg), "-o", str(output), "1", "1", "6"]

    def started(task: int) -> bool:
        return task in {int(r["id"]) for r in journal_rows(output, "started.csv")}

    first = start_driver(args, tmp_path / "a.log")
    second = None
    try:
        wait_until(lambda: started(0), "driver A to start task 0", limit=60)
        second = start_driver(args, tmp_path / "b.log")
        wait_until(lambda: started(1), "driver B to start task 1", limit=60)
        (tmp_path / "gate0").touch()
        wait_until(lambda: started(2), "driver A to start task 2", limit=60)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 128 + signal.SIGTERM
        (tmp_path / "gate").touch()
        assert second.wait(timeout=120) == 0, (tmp_path / "b.log").read_text()
    finally:
        (tmp_path / "gate").touch()
        for driver in (first, second):
            if driver is not None and driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
    status = {int(r["id"]): r["status"] for r in journal_rows(output, "results.csv")}
    assert status[1] == "ok", status
    assert list(status.values()).count("ok") == 6


def test_a_row_of_another_problem_is_skipped(tmp_path: Path, capsys) -> None:
    """Another driver's row that does not fit this search is named and skipped; the rows
    after it are told."""
    from Config import load_config
    from Joined import claim_folder
    from Results import Journal, results_columns

    config = load_config(None)
    output = str(tmp_path)
    journal = Journal(os.path.join(claim_folder(output, "other"), "results.csv"),
                      results_columns(config.problem.names, config.metrics))
    row = {"id": 0, "status": "ok", "objective": "0.5", "seconds": "1", "drop": "0.2",
           "batch_size": "999", "start": "0", "end": "1", "slot": 0, "pid": 1,
           "exit_code": 0, "reason": ""}
    journal.append([row, dict(row, id=1, batch_size="64")])
    journal.close()
    seen, _ = sync_as_another_driver(output, config, 4)
    assert [point for point, _ in seen.told] == [[0.2, 64]]
    assert "skipping a row that does not fit this search" in capsys.readouterr().err


def test_join_without_hard_links_is_refused(tmp_path: Path, monkeypatch) -> None:
    """Where link() is refused, run.json cannot be created race-free: one line, no traceback."""
    import argparse
    import errno

    import Resume
    from utils import UsageError

    def no_links(source: str, target: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    args = argparse.Namespace(cfg=None, parallelism=None, points_init=None, points_max=None)
    with pytest.raises(UsageError, match="--join needs a file system with hard links"):
        Resume.join_run(str(tmp_path / "out"), args, False)
    assert not (tmp_path / "out" / "run.json").exists()


# Every task runs once `open` exists, but for the tasks the test holds (`hold-ID`).
HELD_TASK = f"""
while [ ! -e "$OUTPUT/../open" ] || [ -e "$OUTPUT/../hold-$TASK_ID" ]; do sleep 0.05; done
exec {BUNDLE / "task.sh"} "$@"
"""


def test_an_orphan_task_that_ends_late_is_not_counted(tmp_path: Path) -> None:
    """Driver B is SIGKILLed alone: its task V goes on (an orphan), and ends only after
    driver A ran V's point again (task R) and recorded it. V's late result is counted
    nowhere: no row for V, R's row stays, POINTS_MAX ok rows, the report says so and a
    resume issues nothing."""
    script = write_script(tmp_path, HELD_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script)})
    output = tmp_path / "out"
    points_max = 6
    first = start_driver(["--join", "-c", str(cfg), "-o", str(output), "1", "2",
                          str(points_max)], tmp_path / "a.log")
    second = None
    victim: list[tuple[str, int]] = []
    try:
        wait_until((output / "claims").exists, "driver A to make the tickets", limit=60)
        second = start_driver(["--join", "-o", str(output), "1", "1"], tmp_path / "b.log")

        def victim_runs_a_task() -> bool:
            folder = victim_folder(output, second.pid)
            started = {int(r["id"]) for r in journal_rows(output, "started.csv")}
            victim[:] = [(d, t) for d, t in claims(output).values()
                         if folder is not None and d == folder.name and t in started]
            return bool(victim)

        wait_until(victim_runs_a_task, "driver B to start a task", limit=60)
        name, orphan = victim[0]
        (tmp_path / f"hold-{orphan}").touch()
        os.kill(second.pid, signal.SIGKILL)  # the driver only: its task goes on
        second.wait(timeout=10)
        (tmp_path / "open").touch()
        ticket = next(t for (t, g), (_, task) in claims(output).items() if task == orphan)

        def reissue_recorded() -> bool:
            again = claims(output).get((ticket, 1))
            return again is not None and again[1] in {
                int(r["id"]) for r in journal_rows(output, "results.csv")}

        wait_until(reissue_recorded, "driver A to record the orphan's point run again",
                   limit=60)
        reissued = claims(output)[ticket, 1][1]
        result = Path(output / "tasks" / "000" / f"{orphan:04d}" / f"{orphan:04d}.result")
        (tmp_path / f"hold-{orphan}").unlink()
        wait_until(result.exists, "the orphan task to write its result", limit=60)
        assert first.wait(timeout=120) == 0, (tmp_path / "a.log").read_text()
    finally:
        (tmp_path / "open").touch()
        for path in tmp_path.glob("hold-*"):
            path.unlink()
        for driver in (first, second):
            if driver is not None and driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
    results = journal_rows(output, "results.csv")
    status = {int(r["id"]): r["status"] for r in results}
    assert len(status) == len(results) == points_max, results  # one row each, V's none
    assert orphan not in status and status[reissued] == "ok"
    assert claims(output)[ticket, 0] == (name, orphan)
    table = subprocess.run([str(BUNDLE / "report.sh"), str(output), "--csv"],
                           env=dict(os.environ, PYTHON=sys.executable), capture_output=True,
                           text=True, check=False).stdout
    assert sorted(int(r["id"]) for r in csv.DictReader(io.StringIO(table))) == sorted(status)
    resumed = run_main(["--resume", "-o", str(output)])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "started:" not in resumed.stdout + resumed.stderr
    assert len(journal_rows(output, "results.csv")) == points_max


class ToldNothing:
    """A search that takes what it is told (JoinedLoop.sync's points)."""

    def pend(self, points: list) -> None: ...
    def tell(self, points: list, values: list) -> None: ...
    def fail(self, points: list) -> None: ...
    def drop(self, points: list) -> None: ...


def write_rows(folder: str, results: list[dict], started: list[dict]) -> None:
    """Append rows (with the default cfg's parameters) to the journals in `folder`."""
    from Config import load_config
    from Results import open_journals

    names = load_config(None).problem.names
    journals = open_journals(folder, names, [])
    params = {"drop": "0.2", "batch_size": "64"}
    assert sorted(params) == sorted(names)
    journals.results.append([dict(params, objective="0.5", status="ok", seconds="",
                                  pid=1, exit_code=0, reason="", **row) for row in results])
    journals.started.append([dict(params, pid=1, origin="random", **row) for row in started])
    journals.close()


def test_the_status_line_and_the_report_name_each_driver_alive_and_its_tasks(
        tmp_path: Path) -> None:
    """Which drivers are alive and how many tasks each runs: the status line (this driver's
    own count, the others' from their journals) and the report's `drivers:` line."""
    import OutputLock
    import Report
    from Config import load_config
    from Joined import Joined, claim_folder
    from JoinedLoop import JoinedLoop

    config = load_config(None)
    output = str(tmp_path)
    other = claim_folder(output, "other")
    write_rows(other, [{"id": 0, "start": 1, "end": 2, "slot": 0}],
               [{"id": t, "start": 1, "slot": t} for t in range(3)])
    beat = OutputLock.beat(os.path.join(other, "heartbeat"),
                           OutputLock.holder_content(name="other"))
    joined = Joined(output, claim_folder(output, "me"), False, config.problem,
                    config.goals, config.metrics, 8)
    loop = JoinedLoop(joined, ToldNothing(), None, print, None)
    try:
        loop.sync()
        assert loop.status_words(4) == ", drivers alive 2: me (running 4), other (running 2)"
        out = io.StringIO()
        Report.write_report(output, out, plots=False)
    finally:
        loop.close()
        beat.release()
    assert "drivers: 2 joined this search; alive: me (running 0), other (running 2)\n" \
        in out.getvalue()
    assert loop.summary_line(8, 5) == ("joined search: done 0/8 by every driver; this one "
                                      "ran 5 task(s); drivers alive: none")


def test_the_report_utilization_counts_every_drivers_slots(tmp_path: Path) -> None:
    """Two drivers, each with slots 0 and 1 busy for 10 s (the leader's in OUTPUT's
    journal, the other's in its own): 100 %, not 200 %."""
    import Report

    output = str(tmp_path)
    os.makedirs(tmp_path / "drivers" / "leader")
    for number, folder in enumerate((output, str(tmp_path / "drivers" / "other"))):
        os.makedirs(folder, exist_ok=True)
        write_rows(folder, [{"id": 2 * number + slot, "start": 100, "end": 110, "slot": slot}
                            for slot in (0, 1)], [])
    out = io.StringIO()
    summary = Report.write_report(output, out, plots=False)
    assert summary.utilization == pytest.approx(1.0)
    assert ("utilization: 100.0 % = 40.0 s of tasks / 40.0 slot-seconds (2 drivers' "
            "journals, each its slots x its own wall time)") in out.getvalue()


def test_the_pruner_counts_the_other_drivers_values(tmp_path: Path) -> None:
    """Another driver's tasks' intermediate values reach this driver's pruner at the sync:
    its own task, worse than their median at step 3, is stopped."""
    from Config import load_config
    from Joined import Joined, claim_folder
    from JoinedLoop import JoinedLoop
    from Pruner import Pruner
    from PruneRule import PrunerSettings
    from Results import PROGRESS_COLUMNS, Journal

    config = load_config(None)
    output = str(tmp_path)
    journal = Journal(os.path.join(claim_folder(output, "other"), "progress.csv"),
                      PROGRESS_COLUMNS)
    journal.append([{"id": t, "step": 3, "value": "0.1", "time": "0"} for t in range(4)])
    journal.close()
    joined = Joined(output, claim_folder(output, "me"), False, config.problem,
                    config.goals, config.metrics, 8)
    pruner = Pruner(PrunerSettings(rule="median", min_steps=3, min_tasks=4))
    loop = JoinedLoop(joined, ToldNothing(), None, print, pruner)
    try:
        loop.sync()
    finally:
        loop.close()
    pruner.observe(9, 3, 0.9)
    verdict = pruner.decide(9)
    assert verdict is not None and "the median of the 4 other tasks' values" in verdict.reason


@pytest.mark.usefixtures("nodes")
def test_a_job_joining_without_numbers_runs_what_its_nodes_hold(tmp_path: Path) -> None:
    """`submit-slurm.sh -j OUTPUT NODES` without numbers: the recorded POINTS_INIT (4) is
    another job's. The pre-check (-n) plans NODES tasks at once on NODES nodes instead of
    refusing, numbers given are still checked, and the job on the real cluster runs as many
    tasks at once as its own node holds."""
    cfg = write_cfg(tmp_path, {"script": str(BUNDLE / "task.sh")})
    output = tmp_path / "out"
    first = run_main(["--join", "-c", str(cfg), "-o", str(output), "1", "4", "8"])
    assert first.returncode == 0, first.stdout + first.stderr
    env = clean_env(tmp_path, shims=False, TASK_DELAY="0.05")
    for nodes_given in ("1", "2"):
        planned = submit(["-n", "-w", "00:05:00", "-j", str(output), nodes_given], env,
                         tmp_path)
        assert planned.returncode == 0, planned.stderr
        assert f"check: OK: {nodes_given} task(s) at once" in planned.stdout
    refused = submit(["-n", "-w", "00:05:00", "-j", str(output), "1", "1", "4"], env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "main.sh: error: launcher: CONCURRENCY 4 needs 4 nodes at PARALLELISM 1 but --nodes "
        "lists 1")
    joined = submit(["-W", "-w", "00:05:00", "-j", str(output), "1"], env, tmp_path)
    assert joined.returncode == 0, joined.stdout + joined.stderr
    log = Path(printed(joined.stdout)["LOG"]).read_text()
    assert "POINTS_INIT=1: the tasks of PARALLELISM=1 this job's nodes hold at once" in log
    assert "CONCURRENCY=1 " in log
