# TEST STATUS PY
# Watching a search (issue 13): the driver's `status:` lines (done N/POINTS_MAX,
# running, failed, best with its task, elapsed, ETA) at every log level, the
# one ETA estimate they share with the report, and the exit code of a search
# that ends within its max_failures budget. Real processes throughout.

import io
import re
from pathlib import Path

import pytest
from conftest import run_main, write_cfg, write_script
from test_signals import finish, start, wait_until

import Eta
import Report
from Config import load_config
from Status import Status
from Task import Task
from utils import UsageError

# Task 0 succeeds, task 1 fails, task 2 runs until the test creates OUTPUT/../go.
WAITING_TASK = """
case "$TASK_ID" in
  0) echo 0.5 > "$TASK_RESULT" ;;
  1) echo "no licence"; exit 3 ;;
  *) while [ ! -e "$OUTPUT/../go" ]; do sleep 0.05; done; echo 0.25 > "$TASK_RESULT" ;;
esac
"""
STATUS = re.compile(r"^status: done (\d+)/(\d+), running (\d+), failed (\d+), "
                    r"best (?:none yet|([^ ]+) \(task (\d{4})\)), elapsed (\S+), ETA (\S+)$")


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_status_lines_show_progress_at_every_log_level(tmp_path: Path, level: str) -> None:
    script = write_script(tmp_path, WAITING_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "status_interval": 0.05,
                               "max_failures": 1, "log_level": level})
    log = tmp_path / "log"
    proc = start(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "3", "3"], log=log)
    wait_until(lambda: "status: done 2/3, running 1" in log.read_text(),
               "a status line after tasks 0 and 1 ended")
    report = io.StringIO()  # ./report.sh on the running search: of POINTS_MAX, the same ETA
    summary = Report.write_report(str(tmp_path / "out"), out=report, plots=False)
    rows = summary.rows
    assert (summary.done, summary.points_max, len(summary.running)) == (2, 3, 1)
    assert summary.eta == Eta.estimate(0, 3, Eta.mean(sum(r.seconds for r in rows), 2),
                                       [summary.eta_time - summary.running[0].start])
    assert f"progress: done 2 of 3 (POINTS_MAX); ETA {Eta.duration(summary.eta)}" \
        in report.getvalue().splitlines()  # its driver runs: no "if"
    (tmp_path / "go").touch()
    text = finish(proc, log)
    assert proc.returncode == 0, text  # one failure, within max_failures=1
    lines = [line for line in text.splitlines() if line.startswith("status:")]
    assert "\r" not in text
    seen = [STATUS.match(line) for line in lines]
    assert all(seen), lines
    middle = next(m for m in seen if m and m.group(1) == "2")
    assert middle.groups()[:6] == ("2", "3", "1", "1", "0.5", "0000")
    assert middle.group(8) != "?"  # an ETA once tasks have finished
    assert ("started: " in text) == (level == "INFO")  # per-task lines at INFO only
    assert "Workflow success! (1 failed task(s), within max_failures=1)" in text
    assert "summary: ok=2 failed=1" in text


def test_a_failure_beyond_the_budget_still_exits_1(tmp_path: Path) -> None:
    script = write_script(tmp_path, 'exit 3\n')
    cfg = write_cfg(tmp_path, {"script": str(script), "max_failures": 1})
    done = run_main(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "1", "4"], via="main.py")
    assert done.returncode == 1, done.stdout
    assert "Workflow failed!" in done.stdout
    assert "2 failed task(s), more than max_failures=1" in done.stdout


@pytest.mark.parametrize("value", [0, 0.001, -1, "60", None, True])
def test_status_interval_is_checked(tmp_path: Path, value: object) -> None:
    cfg = write_cfg(tmp_path, {"status_interval": value})
    with pytest.raises(UsageError, match="cfg key 'status_interval': expected"):
        load_config(str(cfg))


def test_status_interval_defaults_to_a_minute(tmp_path: Path) -> None:
    assert load_config(None).status_interval == 60
    assert load_config(str(write_cfg(tmp_path, {"status_interval": 0.5}))).status_interval == 0.5


def test_eta_spreads_the_work_left_over_the_slots() -> None:
    assert Eta.estimate(10, 5, None, [1.0]) is None  # no task finished yet
    # 10 unstarted x 4 s + (4-1) + (4-3) s left of the running = 44 task-s on 4 slots
    assert Eta.estimate(10, 4, 4.0, [1.0, 3.0]) == pytest.approx(11.0)
    # nothing unstarted: the longest running task decides, a straggler adds nothing
    assert Eta.estimate(0, 50, 10.0, [2.0, 30.0]) == pytest.approx(8.0)
    assert Eta.estimate(0, 4, 10.0, []) == 0.0


def test_durations_read_at_a_glance() -> None:
    assert [Eta.duration(s) for s in (None, 0, 42.4, 312, 11100, 3 * 86400 + 7200)] == \
        ["?", "0s", "42s", "5m12s", "3h05m", "3d02h"]
    assert Eta.mean(10.0, 4) == 2.5 and Eta.mean(0.0, 0) is None


@pytest.mark.parametrize("status", list(Status))
def test_a_task_the_driver_stopped_has_a_reason_for_any_status(tmp_path: Path,
                                                               status: Status) -> None:
    """Task.outcome words the stop for every Status (it raised KeyError for ok, failed)."""
    task = Task(id=0, point=[0.5], params={"x": 0.5}, slot=0, stop_reason=status,
                returncode=-15)
    outcome = task.outcome(str(tmp_path))
    assert outcome.status is status
    assert outcome.reason.endswith(" (killed by SIGTERM)") and len(outcome.reason) > 20
