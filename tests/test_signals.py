# TEST SIGNALS PY
# SIGTERM and SIGINT to the driver, as a batch system or a terminal sends
# them: real processes, real signals. Tasks spawn children of their own;
# afterwards no process of the run may be alive.

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BUNDLE, read_results, resume_line, write_cfg, write_script

# A task that records its pid and its child's pid, then waits on the child.
SPAWNING_TASK = """
echo "$$" >> "$OUTPUT/pids"
sleep 120 &
echo "$!" >> "$OUTPUT/pids"
echo "task $TASK_ID waiting"
wait
"""
# The same, deaf to SIGTERM (the child inherits the ignored signal).
DEAF_TASK = "trap '' TERM\n" + SPAWNING_TASK


def start(args: list[str], via: str = "main.sh", log: Path | None = None) -> subprocess.Popen:
    """Start the driver in a session of its own (as a batch job would), output to `log`."""
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("OUTPUT", None)
    if via == "main.sh":
        argv = [str(BUNDLE / "main.sh"), *args]
    else:
        argv = [sys.executable, "-u", str(BUNDLE / "main.py"), *args]
    assert log is not None
    with open(log, "w") as stream:
        return subprocess.Popen(AS_FROM_A_TERMINAL + argv, env=env, stdout=stream,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=BUNDLE)


# Runs a command with SIGINT at its default, as a shell at a terminal does (this
# test run may itself have been started with SIGINT ignored, and bash cannot
# trap a signal that was ignored when it started). It becomes the command (exec).
AS_FROM_A_TERMINAL = [sys.executable, "-c", ("import os, signal, sys; "
                                             "signal.signal(signal.SIGINT, signal.SIG_DFL); "
                                             "os.execv(sys.argv[1], sys.argv[1:])")]


def wait_until(condition, what: str, limit: float = 20.0) -> None:
    """Wait (bounded) until condition() is true."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def count_lines(path: Path) -> int:
    try:
        return path.read_text().count("\n")
    except FileNotFoundError:
        return 0


def alive(pid: int) -> bool:
    """True when pid runs (a zombie waiting for its reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            state = stream.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def helpers_of(pid: int) -> list[int]:
    """Descendants of the driver that are not tasks (the proposer's worker processes)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as stream:
                children = [int(c) for c in stream.read().split()]
        except OSError:
            continue
        for child in children:
            try:
                with open(f"/proc/{child}/environ", "rb") as stream:
                    is_task = b"TASK_ID=" in stream.read()
            except OSError:
                continue
            if not is_task:
                found.append(child)
                todo.append(child)
    return found


def sigkill_driver(proc: subprocess.Popen) -> None:
    """SIGKILL the driver as an out-of-memory kill would. Its non-task helpers (the
    model-fitting process, multiprocessing's forkserver and resource tracker) must end
    by themselves; the tasks are left for resume to find."""
    helpers = helpers_of(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    try:
        wait_until(lambda: not any(alive(pid) for pid in helpers),
                   f"the driver's helper processes {helpers} to end with it")
    finally:
        for pid in helpers:  # clean up even when the assertion failed
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def recorded_pids(output: Path) -> list[int]:
    return [int(line) for line in (output / "pids").read_text().split()]


def run_until_tasks_wait(tmp_path: Path, body: str, cfg: dict, tasks: int = 2,
                         via: str = "main.sh") -> tuple[subprocess.Popen, Path, Path]:
    """Start a run of `tasks` parallel tasks and wait until every task and child runs."""
    script = write_script(tmp_path, body)
    cfg_path = write_cfg(tmp_path, dict(cfg, script=str(script)))
    output = tmp_path / "out"
    log = tmp_path / "log"
    proc = start(["-c", str(cfg_path), "-o", str(output), "1", str(tasks), str(2 * tasks)],
                 via=via, log=log)
    wait_until(lambda: count_lines(output / "pids") >= 2 * tasks, "the tasks to start")
    return proc, output, log


def finish(proc: subprocess.Popen, log: Path) -> str:
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return log.read_text()


def driver_pids(proc: subprocess.Popen) -> list[int]:
    """main.sh and its Python child."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    try:
        return [proc.pid, *map(int, children.read_text().split())]
    except FileNotFoundError:
        return [proc.pid]


def check_nothing_left(output: Path, extra: list[int]) -> None:
    pids = recorded_pids(output) + extra
    wait_until(lambda: not any(alive(p) for p in pids), "every process of the run to end",
               limit=5)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
@pytest.mark.parametrize("to_group", [False, True], ids=["main.sh", "group"])
def test_a_stop_signal_stops_everything_once(tmp_path: Path, signum: int, to_group: bool) -> None:
    """SIGTERM to the job script only (Cobalt, PBS) or to the whole step (Slurm); SIGHUP (an
    ssh session closed) to main.sh or to the whole job: each taken once, like SIGTERM."""
    proc, output, log = run_until_tasks_wait(tmp_path, SPAWNING_TASK, {"kill_grace": 5})
    driver = driver_pids(proc)
    (os.killpg if to_group else os.kill)(proc.pid, signum)
    text = finish(proc, log)
    assert proc.returncode == 128 + signum, text
    assert f"main.sh: FAIL: python exited with code: {128 + signum}" in text
    assert f"received {signal.Signals(signum).name}" in text
    assert "skipping the grace period" not in text
    assert resume_line(output) in text
    rows = read_results(output)
    assert sorted(r["status"] for r in rows) == ["killed", "killed"]
    assert all("stopped by the driver" in r["reason"] for r in rows)
    assert "summary: ok=0 failed=0 timeout=0 killed=2" in text
    check_nothing_left(output, driver)


def test_ctrl_c_once_then_twice_skips_the_grace(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole foreground group; a second one skips the grace."""
    proc, output, log = run_until_tasks_wait(tmp_path, DEAF_TASK, {"kill_grace": 600})
    driver = driver_pids(proc)
    os.killpg(proc.pid, signal.SIGINT)
    wait_until(lambda: "received SIGINT" in log.read_text(), "the driver to take the signal")
    time.sleep(1.0)  # a person's second Ctrl-C, not the echo of the first
    assert proc.poll() is None, "the deaf tasks must hold the driver in its grace period"
    assert "skipping the grace period" not in log.read_text()
    os.killpg(proc.pid, signal.SIGINT)
    text = finish(proc, log)  # a grace of 600 s would time this out
    assert proc.returncode == 130, text
    assert "skipping the grace period" in text
    rows = read_results(output)
    assert [r["status"] for r in rows] == ["killed", "killed"]
    assert all(r["exit_code"] == "-9" for r in rows), rows
    check_nothing_left(output, driver)


def test_task_deaf_to_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    proc, output, log = run_until_tasks_wait(tmp_path, DEAF_TASK, {"kill_grace": 1},
                                             via="main.py")
    os.kill(proc.pid, signal.SIGTERM)
    text = finish(proc, log)
    assert proc.returncode == 143, text
    rows = read_results(output)
    assert [r["status"] for r in rows] == ["killed", "killed"]
    assert all(r["exit_code"] == "-9" and "SIGKILL" in r["reason"] for r in rows), rows
    assert "skipping the grace period" not in text
    check_nothing_left(output, [proc.pid])


def test_task_that_exits_on_sigterm_leaves_no_child(tmp_path: Path) -> None:
    """The task's own SIGTERM handler exits at once; its child must not survive it."""
    body = "trap 'exit 7' TERM\n" + SPAWNING_TASK.replace(
        "sleep 120 &", "( trap '' TERM; exec sleep 120 ) &")
    proc, output, log = run_until_tasks_wait(tmp_path, body, {"kill_grace": 30},
                                             via="main.py")
    os.kill(proc.pid, signal.SIGTERM)
    text = finish(proc, log)
    assert proc.returncode == 143, text
    rows = read_results(output)
    assert [r["status"] for r in rows] == ["killed", "killed"]
    assert all(r["exit_code"] == "7" for r in rows), rows
    check_nothing_left(output, [proc.pid])


def python_child(proc: subprocess.Popen) -> int | None:
    """The pid of main.sh's Python child running main.py, once it exists."""
    for pid in driver_pids(proc)[1:]:
        try:
            if b"main.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


def test_ctrl_c_while_the_driver_starts_stops_it(tmp_path: Path) -> None:
    """main.sh starts Python as a background job (SIGINT ignored): Ctrl-C at once still stops it."""
    script = write_script(tmp_path, SPAWNING_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "kill_grace": 5})
    output, log = tmp_path / "out", tmp_path / "log"
    proc = start(["-c", str(cfg), "-o", str(output), "1", "2", "4"], log=log)
    # main.py's first line handles SIGHUP (Python alone does not): it then
    # imports skopt and scikit-learn, which takes seconds on a busy node
    wait_until(lambda: signal.SIGHUP in handled_signals(python_child(proc)),
               "main.py to take stop signals")
    os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches the whole group
    text = finish(proc, log)
    assert proc.returncode == 130, text
    assert "Workflow success!" not in text and "Traceback" not in text
    if (output / "results.csv").exists():  # the signal came once the loop ran: tasks killed
        assert {r["status"] for r in read_results(output)} <= {"killed"}
    if (output / "pids").exists():
        check_nothing_left(output, [])


def test_main_py_handles_stop_signals_before_its_slow_imports(tmp_path: Path) -> None:
    """Started with SIGINT ignored (as a background job is), main.py has its handlers in
    place before it imports numpy, scikit-learn or skopt (seconds on a busy node)."""
    code = f"""
import builtins, runpy, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
seen = {{}}
real_import = builtins.__import__
def watch(name, *args, **kwargs):
    top = name.split(".")[0]
    if top in ("numpy", "sklearn", "skopt") and not seen:
        seen.update((s.name, callable(signal.getsignal(s))) for s in
                    (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
    return real_import(name, *args, **kwargs)
builtins.__import__ = watch
sys.argv = ["main.py", "-h"]
try:
    runpy.run_path({str(BUNDLE / "main.py")!r}, run_name="__main__")
finally:
    print("handled before the slow imports:", seen)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=BUNDLE, timeout=120, check=False)
    assert "handled before the slow imports: {'SIGINT': True, 'SIGTERM': True, " \
        "'SIGHUP': True}" in done.stdout, done.stdout + done.stderr


def handled_signals(pid: int | None) -> set[int]:
    """The signals a process has handlers for (SigCgt in /proc/PID/status)."""
    if pid is None:
        return set()
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return set()
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask >> (n - 1) & 1}
    return set()


def send_when(proc: subprocess.Popen, log: Path, line: str, number: int) -> None:
    """Send a signal to the driver as soon as `line` shows in its log (if it still runs)."""
    wait_until(lambda: line in log.read_text() or proc.poll() is not None, repr(line))
    try:
        os.kill(proc.pid, number)
    except ProcessLookupError:
        pass


def check_stopped_without_a_crash(proc: subprocess.Popen, output: Path, log: Path) -> None:
    """A SIGTERM stop, however many signals followed: 143, no crash, both tasks killed."""
    text = finish(proc, log)
    assert proc.returncode == 143, text
    assert "Traceback" not in text and "Fatal Python error" not in text
    assert "to resume: " in text
    assert [r["status"] for r in read_results(output)] == ["killed", "killed"]
    check_nothing_left(output, [proc.pid])


@pytest.mark.parametrize("line", ["summary:", "to resume:", "report:"])
def test_a_second_signal_after_the_loop_ends_exits_cleanly(tmp_path: Path, line: str) -> None:
    proc, output, log = run_until_tasks_wait(tmp_path, SPAWNING_TASK, {"kill_grace": 5},
                                             via="main.py")
    os.kill(proc.pid, signal.SIGTERM)
    send_when(proc, log, line, signal.SIGINT)
    check_stopped_without_a_crash(proc, output, log)


def test_a_storm_of_signals_never_crashes_the_driver(tmp_path: Path) -> None:
    """SIGTERM again and again from the first one until the driver has exited."""
    proc, output, log = run_until_tasks_wait(tmp_path, SPAWNING_TASK, {"kill_grace": 5},
                                             via="main.py")
    while proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            break
        time.sleep(0.002)
    check_stopped_without_a_crash(proc, output, log)


def test_a_stop_whose_exit_was_lost_still_starts_no_task(tmp_path: Path) -> None:
    """Python can drop the SystemExit a handler raises (while compiling an import): the
    signal is remembered, and the loop starts stopped."""
    out = tmp_path / "out"
    code = f"""
import os, runpy, signal, sys
sys.path.insert(0, {str(BUNDLE)!r})
import StopEarly
try:
    os.kill(os.getpid(), signal.SIGINT)
except SystemExit:
    pass  # the exit is lost, as Python may lose it
sys.argv = ["main.py", "-o", {str(out)!r}, "1", "2", "4"]
runpy.run_path({str(BUNDLE / "main.py")!r}, run_name="__main__")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=BUNDLE, timeout=120, check=False)
    text = done.stdout + done.stderr
    assert done.returncode == 130, text
    assert "received SIGINT: issuing no more tasks; stopping 0 running task(s)" in text
    assert "started: " not in text and "to resume: " in text
    assert "Traceback" not in text


# -- a stop signal while the driver starts ---------------------------------------------
# PYTHON for main.sh: a wrapper that pauses at one point of the start-up (STOP_AT) until
# the test has sent its signal: it notes the pause in MARK and waits for the file GO.
# The signal goes to the whole process group (the batch system's way); the paused
# program is then stopped at exactly that point, however loaded the machine is.
PAUSING_PYTHON = """#!/bin/bash
pause() { : > "$MARK"; while [ ! -e "$GO" ]; do sleep 0.01; done; }
if [ "$1" != -u ]; then  # main.sh checks the interpreter (lib/python-env.sh)
  if [ "$STOP_AT" = check ]; then pause; fi
  exec "$REAL_PYTHON" "$@"
fi
if [ "$STOP_AT" = exec ]; then pause; fi  # main.sh's child, before Python runs
shift
exec "$REAL_PYTHON" -u -c "$HOOK" "$@"
"""
# Runs main.py (argv[1]) with a pause at STOP_AT: within its imports (skopt), once
# run.json is recorded, or as the model-fitting process starts (its forkserver runs,
# the loop's handlers are in place).
PAUSE_HOOK = """
import builtins, os, runpy, sys, time
def pause():
    open(os.environ["MARK"], "w").close()
    while not os.path.exists(os.environ["GO"]):
        time.sleep(0.01)
main = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(main))
import StopEarly
at = os.environ["STOP_AT"]
if at == "imports":
    real_import = builtins.__import__
    def watch(name, *args, **kwargs):
        if name.split(".")[0] == "skopt" and "skopt" not in sys.modules:
            pause()
        return real_import(name, *args, **kwargs)
    builtins.__import__ = watch
elif at == "recorded":
    import Resume
    record_run = Resume.record_run
    def recorded(*args, **kwargs):
        record_run(*args, **kwargs)
        pause()
    Resume.record_run = recorded
elif at == "fitter":
    import multiprocessing.forkserver
    server = multiprocessing.forkserver._forkserver
    ensure_running = server.ensure_running
    def started():
        ensure_running()
        pause()
    server.ensure_running = started
runpy.run_path(main, run_name="__main__")
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("at", ["check", "exec", "imports", "recorded", "fitter"])
def test_a_stop_signal_while_the_driver_starts_exits_128_plus_n(tmp_path: Path, at: str,
                                                                signum: int) -> None:
    """SIGTERM or SIGINT to the group at each point of the start-up: exit 128+N (never
    255, never a traceback), and the resume line once run.json is recorded."""
    python = write_script(tmp_path, PAUSING_PYTHON.split("\n", 1)[1], name="python")
    script = write_script(tmp_path, SPAWNING_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "kill_grace": 5})
    output, log, mark, go = (tmp_path / name for name in ("out", "log", "mark", "go"))
    env = dict(os.environ, PYTHON=str(python), REAL_PYTHON=sys.executable, STOP_AT=at,
               HOOK=PAUSE_HOOK, MARK=str(mark), GO=str(go))
    env.pop("OUTPUT", None)
    with open(log, "w") as stream:
        proc = subprocess.Popen(AS_FROM_A_TERMINAL + [str(BUNDLE / "main.sh"), "-c", str(cfg),
                                                      "-o", str(output), "1", "2", "4"],
                                env=env, stdout=stream, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=BUNDLE)
    wait_until(lambda: mark.exists() or proc.poll() is not None, f"the pause at {at}",
               limit=120)
    assert proc.poll() is None, log.read_text()
    os.killpg(proc.pid, signum)
    go.touch()
    text = finish(proc, log)
    assert proc.returncode == 128 + signum, text
    assert "Traceback" not in text and "started: " not in text
    assert (resume_line(output) in text) == (output / "run.json").exists(), text
    assert (output / "run.json").exists() == (at in ("recorded", "fitter"))
