# TEST RESUME LINE
# A stopped run prints the exact command that continues it; run as printed,
# from another folder, after the original cfg was moved away, it carries on
# with the settings kept in OUTPUT (run.json and the cfg copy cfg.json).
# One driver per OUTPUT (OutputLock.py): a second one is refused with one
# line naming the first, a dead one's lock never blocks a resume. A journal
# that cannot be appended to is one line and exit 2, before anything is
# written.

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_results, resume_line, run_main, write_cfg, write_script
from test_signals import (
    alive,
    count_lines,
    driver_pids,
    finish,
    sigkill_driver,
    start,
    wait_until,
)

# Waits (with a child) while $OUTPUT/hold exists, else succeeds at once.
HOLDING_TASK = """
if [ -e "$OUTPUT/hold" ]; then
  echo "$$" >> "$OUTPUT/pids"
  sleep 120 &
  echo "$!" >> "$OUTPUT/pids"
  wait
fi
echo 0.5 > "$TASK_RESULT"
"""


def start_holding(tmp_path: Path, output: Path, log: Path,
                  via: str = "main.sh") -> subprocess.Popen:
    """A 2-at-a-time search of 4 whose first two tasks hold until told; its cfg
    (in cfgs/) names the script (in scripts/) by a relative path."""
    for folder in ("cfgs", "scripts"):
        (tmp_path / folder).mkdir(exist_ok=True)
    write_script(tmp_path / "scripts", HOLDING_TASK, name="hold.sh")
    cfg = write_cfg(tmp_path / "cfgs", {"script": "../scripts/hold.sh", "kill_grace": 5,
                                        "problem": {"x": {"low": 0.0, "high": 1.0}}})
    output.mkdir(parents=True)
    (output / "hold").touch()
    proc = start(["-c", str(cfg), "-o", str(output), "1", "2", "4"], via=via, log=log)
    wait_until(lambda: count_lines(output / "pids") >= 4, "the tasks to start")
    return proc


def test_the_printed_resume_line_continues_the_search_from_anywhere(tmp_path: Path) -> None:
    output = tmp_path / "a b'c" / "out"
    log = tmp_path / "log"
    proc = start_holding(tmp_path, output, log)
    os.kill(proc.pid, signal.SIGTERM)
    text = finish(proc, log)
    assert proc.returncode == 143, text
    line = next(li for li in text.splitlines() if li.startswith("to resume: "))
    assert line == resume_line(output)
    assert "'" in line, "a path with a quote and a space is shell-quoted"
    assert json.loads((output / "cfg.json").read_text())["script"] == "../scripts/hold.sh"
    shutil.move(tmp_path / "cfgs", tmp_path / "moved")  # the original cfg is gone
    (output / "hold").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("OUTPUT", None)
    done = subprocess.run(["bash", "-c", line.removeprefix("to resume: ")], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resume: 0 result(s) told to the search, 0 failed, 2 task(s) to issue again" \
        in done.stdout
    statuses = sorted(r["status"] for r in read_results(output))
    assert statuses == ["killed", "killed", "ok", "ok", "ok", "ok"]
    run = json.loads((output / "run.json").read_text())
    assert (run["parallelism"], run["points_init"], run["points_max"]) == (1, 2, 4)


def test_resume_with_no_cfg_file_uses_the_defaults_it_ran_with(tmp_path: Path) -> None:
    output = tmp_path / "out"
    first = run_main(["-o", str(output), "1", "2", "3"])
    assert first.returncode == 0, first.stdout + first.stderr
    assert not (output / "cfg.json").exists()
    again = run_main(["--resume", "-o", str(output), "1", "2", "5"], cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(read_results(output)) == 5


def test_a_cfg_given_with_resume_must_describe_the_same_search(tmp_path: Path) -> None:
    output = tmp_path / "out"
    first = run_main(["-c", str(write_cfg(tmp_path, {"problem": {"x": [1, 2]}})),
                      "-o", str(output), "1", "1", "1"])
    assert first.returncode == 0, first.stdout + first.stderr
    before = (output / "results.csv").read_bytes()
    other = write_cfg(tmp_path, {"problem": {"x": [1, 3]}}, name="other.json")
    done = run_main(["--resume", "-c", str(other), "-o", str(output)])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "the recorded 'problem' differs" in done.stderr
    assert (output / "results.csv").read_bytes() == before
    assert json.loads((output / "cfg.json").read_text()) == {"problem": {"x": [1, 2]}}


def test_a_second_driver_on_a_live_output_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out"
    log = tmp_path / "log"
    proc = start_holding(tmp_path, output, log)
    pids = [int(p) for p in (output / "pids").read_text().split()]
    driver = driver_pids(proc)[-1]  # main.sh's Python child
    for args in (["-o", str(output), "1", "1", "1"], ["--resume", "-o", str(output)]):
        done = run_main(args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
    assert f"in use by the driver pid {driver} on host {socket.gethostname()}" in done.stderr
    assert all(alive(p) for p in pids), "the second driver touched the first one's tasks"
    os.kill(proc.pid, signal.SIGTERM)
    text = finish(proc, log)
    assert proc.returncode == 143, text
    assert not (output / "driver.lock").exists(), "a driver removes its lock when it ends"


def test_a_dead_drivers_lock_does_not_block_a_resume(tmp_path: Path) -> None:
    output = tmp_path / "out"
    log = tmp_path / "log"
    proc = start_holding(tmp_path, output, log, via="main.py")
    sigkill_driver(proc)
    assert (output / "driver.lock").exists()
    (output / "hold").unlink()
    done = run_main(["--resume", "-o", str(output)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "taking over the lock of the driver pid" in done.stderr
    assert "is not running" in done.stderr


@pytest.mark.parametrize("age, refused", [(0, True), (3600, False)])
def test_a_lock_from_another_host_is_stale_after_its_heartbeat_stops(
        tmp_path: Path, age: float, refused: bool) -> None:
    output = tmp_path / "out"
    first = run_main(["-o", str(output), "1", "1", "1"])
    assert first.returncode == 0, first.stdout + first.stderr
    lock = output / "driver.lock"
    lock.write_text(json.dumps({"host": "login-elsewhere", "pid": 1, "since": "then"}))
    then = time.time() - age
    os.utime(lock, (then, then))
    done = run_main(["--resume", "-o", str(output), "1", "1", "2"])
    if refused:
        assert done.returncode == 2
        assert "in use by the driver pid 1 on host login-elsewhere" in done.stderr
        assert len(read_results(output)) == 1
    else:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "taking over the lock" in done.stderr and "heartbeat" in done.stderr


def test_a_results_csv_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    if shutil.which("chattr") is None:
        pytest.skip("chattr is missing")
    output = tmp_path / "out"
    first = run_main(["-o", str(output), "1", "1", "1"])
    assert first.returncode == 0, first.stdout + first.stderr
    results = output / "results.csv"
    if subprocess.run(["chattr", "+i", str(results)], check=False).returncode:
        pytest.skip("this file system has no immutable files")
    try:
        before = (output / "run.json").read_bytes()
        done = run_main(["--resume", "-o", str(output), "1", "1", "2"])
    finally:
        subprocess.run(["chattr", "-i", str(results)], check=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert f"cannot write {results}: Operation not permitted" in done.stderr
    assert (output / "run.json").read_bytes() == before, "nothing written"
    assert not list((output / "tasks").glob("*/0001"))


def test_a_journal_with_another_header_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    output = tmp_path / "out"
    first = run_main(["-o", str(output), "1", "1", "1"])
    assert first.returncode == 0, first.stdout + first.stderr
    started = output / "started.csv"
    started.write_text("id,when\n0,1\n")
    before = (output / "run.json").read_bytes()
    done = run_main(["--resume", "-o", str(output), "1", "1", "2"])
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{started} has the columns 'id,when', this run writes" in done.stderr
    assert (output / "run.json").read_bytes() == before
    assert started.read_text() == "id,when\n0,1\n"



def test_release_leaves_no_heartbeat_thread_behind(tmp_path: Path) -> None:
    """A daemon thread woken while the interpreter finalizes can abort it (seen in CI:
    "Fatal Python error: PyThreadState_Get"): release() joins the heartbeat, and a stop
    signal that cuts the join short is raised once the thread is gone."""
    import threading

    import Layout
    import OutputLock
    from Signals import Interrupted

    lock = OutputLock.acquire(str(tmp_path))
    beat = lock._heartbeat
    assert beat is not None and beat.is_alive()
    real_join = beat.join
    calls = []

    def join_cut_short(timeout: float | None = None) -> None:
        calls.append(timeout)
        if len(calls) == 1:  # as a signal handler's exception would, mid-join
            raise Interrupted(15, 143)
        real_join(timeout)

    beat.join = join_cut_short  # type: ignore[method-assign]
    with pytest.raises(Interrupted):
        lock.release()
    assert len(calls) == 2 and not beat.is_alive()
    assert "lock-heartbeat" not in [t.name for t in threading.enumerate()]
    assert not os.path.exists(Layout.path(str(tmp_path), Layout.LOCK))
