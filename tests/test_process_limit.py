# TEST PROCESS LIMIT PY
# A CONCURRENCY beyond what the system lets the driver start (a pids cgroup,
# a user's `ulimit -u`): the driver runs with the lanes that could start and
# says so once, never hangs and never loses a row. Real processes under a
# real limit: a pids cgroup of its own when this runs as root (root is not
# bound by RLIMIT_NPROC), else RLIMIT_NPROC over the user's own processes.

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BUNDLE, read_results, write_cfg, write_script

# Processes (and threads) the driver needs besides its tasks: main.sh, Python and
# its threads, the forkserver, the resource tracker and the model fitting process.
DRIVER_PROCESSES = 24
TASKS_AT_ONCE = 16  # what the limit leaves for tasks, about
# The task writes its result, then becomes `sleep` (no second process of its own).
TASK = 'echo 0.5 > "$TASK_RESULT"\nexec sleep 0.3\n'


def cgroup_roots() -> list[Path]:
    """Where a pids cgroup can be made: cgroup v1's pids hierarchy, or v2's."""
    roots = [Path("/sys/fs/cgroup/pids")]
    unified = Path("/sys/fs/cgroup")
    try:
        if "pids" in (unified / "cgroup.subtree_control").read_text().split():
            roots.append(unified)
    except OSError:
        pass
    return [root for root in roots if os.access(root, os.W_OK)]


def user_threads() -> int:
    """Threads of this user's processes now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            status = dict(line.split(":", 1) for line in
                          (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue  # not a process, or gone meanwhile
        if int(status["Uid"].split()[0]) == os.getuid():
            count += int(status["Threads"])
    return count


@pytest.fixture
def process_limit() -> Iterator[list[str]]:
    """An argv prefix that runs a command allowed DRIVER_PROCESSES + TASKS_AT_ONCE
    processes; skips where no limit can be set."""
    limit = DRIVER_PROCESSES + TASKS_AT_ONCE
    if os.geteuid() != 0:
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        code = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_NPROC, "
                f"({user_threads() + limit}, {hard})); os.execv(sys.argv[1], sys.argv[1:])")
        yield [sys.executable, "-c", code]
        return
    for root in cgroup_roots():
        group = root / f"async-local-test-{os.getpid()}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(limit))
        except OSError:
            continue
        yield ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs")]
        try:
            group.rmdir()
        except OSError:
            pass
        return
    pytest.skip("as root, RLIMIT_NPROC is not enforced, and no pids cgroup can be made "
                "here (/sys/fs/cgroup/pids or a v2 hierarchy with pids, writable)")


def test_a_concurrency_beyond_the_process_limit_runs_with_what_could_start(
        tmp_path: Path, process_limit: list[str]) -> None:
    script = write_script(tmp_path, TASK)
    cfg = write_cfg(tmp_path, {"script": str(script)})
    output = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("OUTPUT", None)
    done = subprocess.run([*process_limit, str(BUNDLE / "main.sh"), "-c", str(cfg), "-o",
                           str(output), "1", "1000", "80"], env=env, capture_output=True,
                          text=True, timeout=600, check=False, cwd=BUNDLE)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text[-3000:]
    notes = [line for line in text.splitlines() if "no more processes" in line]
    assert len(notes) == 1 and notes[0].startswith("note: "), notes
    lanes = int(notes[0].split(" lane(s)")[0].rsplit(" ", 1)[1])
    assert 0 < lanes < DRIVER_PROCESSES + TASKS_AT_ONCE
    rows = read_results(output)
    assert [r["status"] for r in rows] == ["ok"] * 80
    assert max(int(r["slot"]) for r in rows) < 1000
    started = (output / "started.csv").read_text().splitlines()
    assert len(started) == 1 + 80  # every row of every task that ran
    assert sorted(int(r["id"]) for r in rows) == list(range(80))
    assert "Workflow success!" in text and "FAILED" not in text


def test_when_not_one_task_can_start_the_run_stops_with_the_resume_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """No process at all for a task (EAGAIN at the first spawn, nothing running): a clean
    stop that says why and how to resume, no row recorded, no task folder left."""
    import Layout
    import Task
    from Config import load_config
    from Launcher import Launcher
    from Proposer import Proposer
    from Results import open_journals
    from Search import Search
    from utils import set_log_level
    from Workflow import Plan, Workflow

    def no_process(self: Task.Task, *args: object) -> None:
        raise Task.NoProcessLeft("Resource temporarily unavailable")

    monkeypatch.setattr(Task.Task, "launch", no_process)
    config = load_config(str(write_cfg(tmp_path, {"script": str(write_script(tmp_path, TASK))})))
    output = tmp_path / "out"
    output.mkdir()
    plan = Plan(parallelism=1, concurrency=4, points_max=8, output=str(output),
                resume_command="RESUME")
    workflow: Workflow
    proposer = Proposer(Search(config.problem, config.optimizer), lambda: workflow.wake())
    workflow = Workflow(config, plan, proposer, Launcher(reason="test"), dict(os.environ),
                        open_journals(str(output), config.problem.names, config.metrics))
    set_log_level("INFO")
    assert workflow.run() == 1
    text = capsys.readouterr()
    text = text.out + text.err
    assert "stop issuing tasks: cannot start a task: Resource temporarily unavailable (the " \
        "system allows no more processes)" in text
    assert "Workflow failed!" in text and "to resume: RESUME" in text
    assert read_results(output) == []
    assert not os.path.exists(Layout.task_dir(str(output), 0))  # no task folder left
