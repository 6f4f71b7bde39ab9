# TEST TASK ERRORS PY
# Nothing a task does may hang the driver or flood it: a script that cannot
# start is a failed row and the failure policy goes on; a result or output
# file replaced by a FIFO is never opened blocking; a failing task's last
# lines come from a bounded tail; a result is a number only in ASCII
# decimal syntax.

import os
import stat
from pathlib import Path

import pytest
from conftest import read_results, run_task, write_script

from utils import LINE_CHARS, decimal_number, read_regular, tail

# Each run gets this long at most: a hang fails the test instead of the suite.
LIMIT = 90



def write_raw(folder: Path, text: str, name: str = "task.sh") -> Path:
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def failed_row(tmp_path: Path, script: Path, said: str = "") -> dict[str, str]:
    """Run a search of one task of `script`, which must fail; return its row."""
    done, out = run_task(tmp_path, script, timeout=LIMIT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert said in done.stdout and "Workflow failed!" in done.stdout
    rows = read_results(out)
    assert len(rows) == 1 and rows[0]["status"] == "failed"
    return rows[0]


@pytest.mark.parametrize("text, reason", [
    ("#!/nonexistent\n", "cannot start: its interpreter is missing (#!/nonexistent)"),
    ("echo no shebang\n", "is not an executable format (no #! line?)"),
])
def test_a_script_that_cannot_start_is_a_failed_row(tmp_path: Path, text: str,
                                                    reason: str) -> None:
    row = failed_row(tmp_path, write_raw(tmp_path, text), "TASK 0000 FAILED: cannot start: ")
    assert reason in row["reason"]
    assert row["pid"] == "" and row["exit_code"] == ""


def test_the_failure_policy_goes_on_after_a_task_that_cannot_start(tmp_path: Path) -> None:
    script = write_raw(tmp_path, "#!/nonexistent\n")
    done, out = run_task(tmp_path, script, 10, max_failures=2, timeout=LIMIT)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["failed"] * 3
    assert "3 failed task(s), more than max_failures=2" in done.stdout


def test_a_script_removed_mid_run_fails_the_next_task(tmp_path: Path) -> None:
    script = write_script(tmp_path, 'rm -f -- "$0"\necho 1 > "$TASK_RESULT"')
    done, out = run_task(tmp_path, script, 3, timeout=LIMIT)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert rows[1]["reason"] == f"cannot start: the task script {script} is gone"


def test_parameters_too_long_for_argv_fail_the_task(tmp_path: Path) -> None:
    # one argv word may hold 128 KiB (MAX_ARG_STRLEN); PARAMS here is 140 KB
    script = write_script(tmp_path, 'echo 1 > "$TASK_RESULT"')
    done, out = run_task(tmp_path, script, timeout=LIMIT,
                         problem={"a": ["x" * 70_000], "b": ["y" * 70_000]})
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    rows = read_results(out)
    assert rows[0]["status"] == "failed"
    assert rows[0]["reason"].startswith("cannot start: the parameters are too long for a "
                                        "command line (E2BIG: ")


def test_a_fifo_as_result_file_never_blocks(tmp_path: Path) -> None:
    script = write_script(tmp_path, 'mkfifo "$TASK_RESULT"')
    done, out = run_task(tmp_path, script, timeout=LIMIT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert read_results(out)[0]["reason"] == "cannot read 0000.result: not a regular file"


def test_a_fifo_as_output_file_never_blocks(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
log=$(printf '%04d.txt' "$TASK_ID")
rm -f "$log"; mkfifo "$log"
exit 3""")
    done, _ = run_task(tmp_path, script, timeout=LIMIT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "TASK 0000 FAILED: exit code 3" in done.stdout


def test_a_huge_last_line_is_bounded(tmp_path: Path) -> None:
    script = write_script(tmp_path, "head -c 5000000 /dev/zero | tr '\\0' x\nexit 1")
    done, _ = run_task(tmp_path, script, timeout=LIMIT)
    assert done.returncode == 1
    assert "TASK 0000 FAILED: exit code 1" in done.stdout
    assert f"  | {'x' * LINE_CHARS}[... " in done.stdout
    assert len(done.stdout) < 20_000, "the driver printed the whole output"


def test_tail_reads_only_the_end(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text("first\n" + "y" * 100_000 + "\nsecond\nthird\n")
    assert tail(str(path), 2) == ["second", "third"]
    assert tail(str(path), 3, limit=20, width=5) == ["yyyyy[... 1 more]", "secon[... 1 more]",
                                                     "third"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert tail(str(fifo)) == []
    with pytest.raises(OSError, match="not a regular file"):
        read_regular(str(fifo), 10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("text", ["1_000", "٣", "1e999", "0x10", "1,5", "--1", "", "e5", "."])
def test_decimal_number_refuses_what_float_would_take(text: str) -> None:
    with pytest.raises(ValueError, match="^not (a number|finite): "):
        decimal_number(text)


@pytest.mark.parametrize("text, value", [("7", 7.0), ("-1.5", -1.5), (" 2e-3\n", 0.002),
                                         ("+.5", 0.5), ("3.", 3.0), ("1E+2", 100.0)])
def test_decimal_number_takes_ascii_decimals(text: str, value: float) -> None:
    assert decimal_number(text) == value


@pytest.mark.parametrize("body, reason", [
    ('echo 1_000 > "$TASK_RESULT"', "result is not a number: '1_000'"),
    ('echo ٣ > "$TASK_RESULT"', "result is not a number: '٣'"),
    ('echo 1e999 > "$TASK_RESULT"', "result is not finite: '1e999'"),
])
def test_results_that_only_float_takes_are_failures(tmp_path: Path, body: str,
                                                    reason: str) -> None:
    assert failed_row(tmp_path, write_script(tmp_path, body))["reason"] == reason
