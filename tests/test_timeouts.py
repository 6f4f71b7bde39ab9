# TEST TIMEOUTS PY
# task_timeout, max_failures, walltime and how failures are reported:
# real task processes that hang, fail, or write bad results.

import time
from pathlib import Path

from conftest import read_results, resume_line, run_main, write_cfg, write_script

import Walltime


def run_with(tmp_path: Path, body: str, cfg: dict, args: list[str]):
    script = write_script(tmp_path, body)
    cfg_path = write_cfg(tmp_path, dict(cfg, script=str(script)))
    output = tmp_path / "out"
    done = run_main(["-c", str(cfg_path), "-o", str(output), *args], via="main.py", timeout=60)
    return done, output


def test_task_timeout_kills_and_records_timeout(tmp_path: Path) -> None:
    body = """
if [ "$TASK_ID" = 1 ]; then echo "stuck on purpose"; sleep 120; fi
echo 0.5 > "$TASK_RESULT"
"""
    done, output = run_with(tmp_path, body, {"task_timeout": 1, "kill_grace": 1,
                                             "max_failures": 3}, ["1", "2", "4"])
    assert done.returncode == 0, done.stdout + done.stderr  # within max_failures
    rows = {r["id"]: r for r in read_results(output)}
    assert sorted(rows) == ["0", "1", "2", "3"]
    assert rows["1"]["status"] == "timeout"
    assert rows["1"]["exit_code"] == "-15" and "timed out" in rows["1"]["reason"]
    assert rows["1"]["objective"] == ""
    assert [rows[i]["status"] for i in "023"] == ["ok", "ok", "ok"]
    assert "TASK 0001 TIMEOUT" in done.stdout
    assert "| stuck on purpose" in done.stdout  # the tail of its output
    assert "summary: ok=3 failed=0 timeout=1 killed=0" in done.stdout


def test_timed_out_task_deaf_to_sigterm_gets_sigkill(tmp_path: Path) -> None:
    body = "trap '' TERM\nsleep 120 &\nwait\n"
    done, output = run_with(tmp_path, body, {"task_timeout": 1, "kill_grace": 1},
                            ["1", "1", "3"])
    assert done.returncode == 1, done.stdout + done.stderr
    rows = read_results(output)
    assert [r["status"] for r in rows] == ["timeout"]  # max_failures 0: the first one stops
    assert rows[0]["exit_code"] == "-9" and "SIGKILL" in rows[0]["reason"]


def test_first_failure_stops_issuing_by_default(tmp_path: Path) -> None:
    body = 'echo "boom: no licence for task $TASK_ID"\nexit 3\n'
    done, output = run_with(tmp_path, body, {}, ["1", "1", "5"])
    assert done.returncode == 1
    rows = read_results(output)
    assert [(r["status"], r["exit_code"], r["reason"]) for r in rows] == \
        [("failed", "3", "exit code 3")]
    assert "TASK 0000 FAILED: exit code 3" in done.stdout
    assert "| boom: no licence for task 0" in done.stdout
    assert "1 failed task(s), more than max_failures=0" in done.stdout
    assert "summary: ok=0 failed=1 timeout=0 killed=0" in done.stdout


def test_max_failures_keeps_going_until_failure_n_plus_1(tmp_path: Path) -> None:
    body = """
case "$TASK_ID" in
  1) exit 4 ;;
  3) echo "not a number" > "$TASK_RESULT" ;;
  4) kill -KILL $$ ;;
  *) echo 0.25 > "$TASK_RESULT" ;;
esac
"""
    done, output = run_with(tmp_path, body, {"max_failures": 2}, ["1", "1", "9"])
    assert done.returncode == 1, done.stdout + done.stderr
    rows = read_results(output)
    assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4"], "stop issuing at failure 3"
    reasons = {r["id"]: (r["status"], r["reason"]) for r in rows}
    assert reasons["1"] == ("failed", "exit code 4")
    assert reasons["3"] == ("failed", "result is not a number: 'not a number'")
    assert reasons["4"] == ("failed", "killed by SIGKILL")
    assert "3 failed task(s), more than max_failures=2" in done.stdout
    assert "summary: ok=2 failed=3 timeout=0 killed=0" in done.stdout


def test_failed_points_are_not_told_nor_proposed_again(tmp_path: Path) -> None:
    """A tiny categorical space: every point that failed must never come back."""
    body = 'if [ "$TASK_ID" -lt 3 ]; then exit 1; fi\necho 1.0 > "$TASK_RESULT"\n'
    problem = {"a": [1, 2, 3], "b": ["x", "y"]}
    done, output = run_with(tmp_path, body, {"problem": problem, "max_failures": 3},
                            ["1", "1", "6"])
    rows = read_results(output)
    assert len(rows) == 6, done.stdout + done.stderr
    failed = {(r["a"], r["b"]) for r in rows if r["status"] == "failed"}
    later = [(r["a"], r["b"]) for r in rows if r["status"] == "ok"]
    assert len(failed) == 3
    assert not failed & set(later), f"failed points {failed} proposed again: {later}"


def test_walltime_stops_issuing_before_the_end(tmp_path: Path) -> None:
    body = "sleep 1\necho 0.5 > \"$TASK_RESULT\"\n"
    # the tasks are stopped kill_grace + REPORT_TIME before the end: 2.5 s to run tasks
    cfg = {"walltime": Walltime.REPORT_TIME + 1 + 2.5, "kill_grace": 1}
    done, output = run_with(tmp_path, body, cfg, ["1", "1", "8"])
    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_results(output)
    assert 1 <= len(rows) < 8 and all(r["status"] == "ok" for r in rows)
    assert "stop issuing tasks: walltime:" in done.stdout
    assert resume_line(output) in done.stdout


def test_scheduler_end_time_is_a_walltime(tmp_path: Path) -> None:
    body = "sleep 1\necho 0.5 > \"$TASK_RESULT\"\n"
    script = write_script(tmp_path, body)
    cfg_path = write_cfg(tmp_path, {"script": str(script), "kill_grace": 1})
    output = tmp_path / "out"
    end = time.time() + Walltime.REPORT_TIME + 1 + 5
    done = run_main(["-c", str(cfg_path), "-o", str(output), "1", "1", "8"], via="main.py",
                    env={"SLURM_JOB_END_TIME": f"{end:.0f}"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(read_results(output)) < 8
    assert "stop issuing tasks: walltime:" in done.stdout
