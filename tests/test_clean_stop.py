# TEST CLEAN STOP PY
# Errors outside the tasks end the run the way a full disk does: one line
# naming the error, running tasks stopped and recorded `killed`, the
# summary, the resume line, exit 1, no traceback. And a kernel the driver
# cannot work on is refused with one line before the first task.

import os
import subprocess
import sys
from pathlib import Path

from conftest import (
    BUNDLE,
    read_results,
    resume_line,
    run_main,
    write_cfg,
    write_script,
)

# Makes every random-forest fit in the model fitting process raise (the
# driver's own fits work): scikit-learn refusing its input.
FAILING_FIT = """
import os
if os.environ.get("FAIL_MODEL_FIT"):
    import multiprocessing
    from sklearn.ensemble._forest import BaseForest
    real_fit = BaseForest.fit

    def fit(self, *args, **kwargs):
        if multiprocessing.current_process().name != "MainProcess":
            raise ValueError("Input y contains NaN.\\n(made to fail by the test)")
        return real_fit(self, *args, **kwargs)
    BaseForest.fit = fit
"""

# Task 0 ends at once; task 1 ends once task 2 runs (so the first fit, which
# fails, starts with a task running); every later task runs until stopped.
TASKS = """
case "$TASK_ID" in
  0) echo 1 > "$TASK_RESULT" ;;
  1) until [ -d "$OUTPUT/tasks/000/0002" ]; do sleep 0.01; done; echo 2 > "$TASK_RESULT" ;;
  *) echo "task $TASK_ID waits"; sleep 300 & echo "$!" >> "$OUTPUT/pids"; wait ;;
esac
"""


def test_an_error_while_proposing_points_stops_the_run_cleanly(tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAILING_FIT)
    script = write_script(tmp_path, TASKS)
    cfg = write_cfg(tmp_path, {"script": str(script), "kill_grace": 5,
                               "optimizer": {"n_initial_points": 2, "base_estimator": "RF"}})
    out = tmp_path / "out"
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "2", "8"], timeout=120,
                    env={"FAIL_MODEL_FIT": "1", "PYTHONPATH": str(hook)})
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert "stop issuing tasks: cannot propose points: ValueError: Input y contains NaN. " \
        "(made to fail by the test)" in done.stdout
    assert "Workflow failed!" in done.stdout
    assert resume_line(out) in done.stdout
    rows = {int(r["id"]): r for r in read_results(out)}
    assert rows[0]["status"] == "ok" and rows[1]["status"] == "ok"
    assert rows[2]["status"] == "killed" and "stopped by the driver" in rows[2]["reason"]
    started = (out / "started.csv").read_text().splitlines()[1:]
    assert len(started) == len(rows), "every started task has its row"
    assert all(r["status"] == "killed" for i, r in rows.items() if i >= 2)
    assert all(r["exit_code"] != "-9" for r in rows.values()), "stopped, not SIGKILLed"
    killed = sum(r["status"] == "killed" for r in rows.values())
    assert f"summary: ok=2 failed=0 timeout=0 killed={killed}" in done.stdout
    for pid in map(int, (out / "pids").read_text().split()):
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"


def test_no_pidfd_open_is_refused_before_the_first_task(tmp_path: Path) -> None:
    """Linux < 5.3 has no pidfd_open (ENOSYS): one line, exit 2, nothing written."""
    out = tmp_path / "out"
    code = f"""
import errno, os, runpy, sys
def pidfd_open(pid, flags=0):
    raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))
os.pidfd_open = pidfd_open
sys.argv = ["main.py", "-o", {str(out)!r}, "1", "1", "1"]
runpy.run_path({str(BUNDLE / "main.py")!r}, run_name="__main__")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=BUNDLE, timeout=120, check=False,
                          env=dict(os.environ, TASK_DELAY="0"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pidfd_open" in done.stderr and "Linux 5.3" in done.stderr
    assert "started:" not in done.stdout
    assert not out.exists()
