# TEST WALLTIME
# The job's end on every scheduler (Walltime.py): Slurm's SLURM_JOB_END_TIME
# or squeue, PBS through the qstat shim (tests/shims/qstat: PBS cannot run
# here), Cobalt's COBALT_ENDTIME, cfg walltime; a scheduler command that
# fails is one warning line and no deadline. Then the stop itself: at the
# job's end less kill_grace and REPORT_TIME the driver stops its running
# tasks, recorded `killed` (never `failed`, though the task exits 1 on
# SIGTERM), and a resume issues them again: with the PBS qstat shim, and in a
# real Slurm batch job (sbatch --time=1; Slurm 22.05 has no
# SLURM_JOB_END_TIME: the end comes from squeue).

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    BUNDLE,
    read_results,
    resume_line,
    run_main,
    write_cfg,
    write_script,
)
from launch_helpers import clean_env

import Walltime
from utils import set_log_level

STAMP = "%Y-%m-%dT%H:%M:%S"


def answers(text: str = "", error: str = ""):
    """A runner that answers every command with `text` (or fails with `error`); its calls."""
    calls: list[list[str]] = []

    def runner(argv: list[str], environ: dict[str, str]) -> str:
        calls.append(argv)
        if error:
            raise Walltime.SourceError(error)
        return text
    return runner, calls


def test_slurm_end_time_variable_needs_no_command():
    runner, calls = answers()
    env = {"SLURM_JOB_ID": "7", "SLURM_JOB_END_TIME": "1796500000"}
    assert Walltime.scheduler_end(env, runner) == (1796500000.0, "SLURM_JOB_END_TIME")
    assert calls == []


def test_slurm_squeue_end():
    end = time.time() + 3600
    runner, calls = answers(time.strftime(STAMP, time.localtime(end)) + "\n")
    found, source = Walltime.scheduler_end({"SLURM_JOB_ID": "42"}, runner)
    assert calls == [["squeue", "-h", "-j", "42", "-o", "%e"]]
    assert source == "squeue -h -j 42 -o %e"
    assert found == pytest.approx(end, abs=1)


def test_slurm_no_time_limit():
    runner, _ = answers("NONE\n")
    assert Walltime.scheduler_end({"SLURM_JOB_ID": "42"}, runner) == \
        (None, "squeue -h -j 42 -o %e")


def test_cobalt():
    runner, calls = answers()
    assert Walltime.scheduler_end({"COBALT_ENDTIME": "1796500000"}, runner) == \
        (1796500000.0, "COBALT_ENDTIME")
    assert calls == []


def test_no_batch_job():
    assert Walltime.scheduler_end({}, answers()[0]) == (None, "")


INVALID = "squeue -h -j 9 -o %e: exit code 1: slurm_load_jobs error: Invalid job id specified"
PBS_JSON = "qstat -f -F json 1.pbs: cannot read stime + Resource_List.walltime"
NO_STIME = {"Jobs": {"1.pbs": {"Resource_List": {"walltime": "01:00:00"}}}}
BAD_LIMIT = {"Jobs": {"1.pbs": {"stime": "Sat Dec  5 20:00:00 2026",
                                "Resource_List": {"walltime": "1 hour"}}}}


@pytest.mark.parametrize("env,text,error,message", [
    ({"SLURM_JOB_ID": "9"}, "", INVALID,
     f"the Slurm job ends: {INVALID}; no deadline from Slurm"),
    ({"SLURM_JOB_ID": "9"}, "soon\n", "",
     "squeue -h -j 9 -o %e: 'soon': expected YYYY-MM-DDTHH:MM:SS"),
    ({"SLURM_JOB_END_TIME": "nan", "SLURM_JOB_ID": "9"}, "", "",
     "SLURM_JOB_END_TIME='nan': expected epoch seconds"),
    ({"COBALT_ENDTIME": "tomorrow"}, "", "", "COBALT_ENDTIME='tomorrow': expected epoch"),
    ({"PBS_JOBID": "1.pbs"}, "not json", "", f"{PBS_JSON} (JSONDecodeError"),
    ({"PBS_JOBID": "1.pbs"}, json.dumps(NO_STIME), "", f"{PBS_JSON} (KeyError: 'stime')"),
    ({"PBS_JOBID": "1.pbs"}, json.dumps(BAD_LIMIT), "",
     f"{PBS_JSON} (ValueError: duration '1 hour': expected HH:MM:SS)"),
])
def test_a_bad_answer_is_one_warning_and_no_deadline(capsys, env, text, error, message):
    runner, _ = answers(text, error)
    assert Walltime.scheduler_end(env, runner) == (None, "")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: walltime: cannot tell when the ")
    assert message in err
    assert "Traceback" not in err


def pbs_env(tmp_path: Path, stime: float, walltime: str, job: str = "5.shim-pbs",
            **extra: str) -> dict[str, str]:
    """A PBS job's environment with the qstat shim first on PATH."""
    return clean_env(tmp_path, PBS_JOBID=job, SHIM_PBS_STIME=str(int(stime)),
                     SHIM_PBS_WALLTIME=walltime, **extra)


def test_pbs_qstat_shim(tmp_path):
    # a real process: qstat -f -F json's stime + Resource_List.walltime
    stime = time.time() - 100
    env = pbs_env(tmp_path, stime, "01:02:03")
    end, source = Walltime.scheduler_end(env)
    assert source == "qstat -f -F json 5.shim-pbs"
    assert end == int(stime) + 3723
    calls = [json.loads(x) for x in (tmp_path / "shim.log").read_text().splitlines()]
    assert calls == [["qstat", "-f", "-F", "json", "5.shim-pbs"]]


def test_pbs_without_walltime_has_no_end(tmp_path):
    env = pbs_env(tmp_path, time.time(), "")
    assert Walltime.scheduler_end(env) == (None, "qstat -f -F json 5.shim-pbs")


@pytest.mark.parametrize("path,message", [
    ("shims", "qstat -f -F json 5.shim-pbs: exit code 153: qstat: Unknown Job Id 5.shim-pbs"),
    ("empty", "qstat: not found"),
])
def test_pbs_qstat_fails(tmp_path, capsys, path, message):
    env = pbs_env(tmp_path, time.time(), "01:00:00")
    del env["SHIM_PBS_STIME"]  # the shim knows no such job
    if path == "empty":
        (tmp_path / "empty").mkdir()
        env["PATH"] = str(tmp_path / "empty")
    assert Walltime.scheduler_end(env) == (None, "")
    err = capsys.readouterr().err
    assert err == f"warning: walltime: cannot tell when the PBS job ends: {message}; " \
        "no deadline from PBS\n"


def test_job_end_takes_the_earliest_and_says_which(capsys):
    set_log_level("INFO")  # to this test's stdout
    runner, _ = answers()
    now = 1796500000.0
    env = {"COBALT_ENDTIME": str(now + 600)}
    assert Walltime.job_end(60, env, runner, now=now) == now + 60
    assert "(60 s from now; from cfg walltime 60 s)\n" in capsys.readouterr().out
    assert Walltime.job_end(6000, env, runner, now=now) == now + 600
    assert "(600 s from now; from COBALT_ENDTIME)\n" in capsys.readouterr().out
    assert Walltime.job_end(None, {}, runner, now=now) is None
    assert Walltime.stop_time(now, 10) == now - 10 - Walltime.REPORT_TIME
    assert Walltime.stop_time(None, 10) is None


# -- the stop: killed, never failed; issued again on resume -------------------------------

# Ends at once with FAST set (the resume); else runs until stopped and, as a
# training script may, exits 1 on SIGTERM: still `killed`, the driver stopped it.
TASK = """
if [ -n "${FAST:-}" ]; then echo 0.5 > "$TASK_RESULT"; exit 0; fi
trap 'echo "task $TASK_ID: SIGTERM"; exit 1' TERM
echo "task $TASK_ID runs"
sleep 300 & wait
"""
GRACE = 2
# Seconds from the search's start to the stop: what main.sh needs to start
# the first tasks on a loaded machine.
WINDOW = 15


def check_stopped(out: Path, text: str, tasks: int) -> None:
    """`tasks` rows, all killed by the walltime stop; the resume line printed."""
    rows = read_results(out)
    assert len(rows) == tasks, text
    assert {r["status"] for r in rows} == {"killed"}, text
    assert all(r["reason"] == "stopped by the driver (exit code 1)" for r in rows), text
    assert f"stopping {tasks} running task(s) (grace {GRACE} s); recorded killed" in text
    assert "stopped before the end of walltime; " + resume_line(out) in text
    assert "Traceback" not in text


def test_pbs_walltime_stop_records_killed_and_resume_issues_again(tmp_path):
    script = write_script(tmp_path, TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "kill_grace": GRACE,
                               "launcher": "none"})
    out = tmp_path / "out"
    length = int(Walltime.REPORT_TIME) + GRACE + WINDOW
    env = pbs_env(tmp_path, time.time(), f"00:00:{length}")
    env["PYTHON"] = sys.executable
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "2", "6"], env=env)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert " s from now; from qstat -f -F json 5.shim-pbs)\n" in text
    check_stopped(out, text, 2)
    killed = {r["drop"] for r in read_results(out)}

    again = run_main(["--resume", "-o", str(out), "-c", str(cfg), "1", "2", "6"],
                     env={"FAST": "1"})
    assert again.returncode == 0, again.stdout + again.stderr
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["killed"] * 2 + ["ok"] * 6
    assert killed <= {r["drop"] for r in rows[2:]}, "the killed points are issued again"


def slurm_ready() -> bool:
    """A Slurm cluster that answers (tests/slurm-start.sh)."""
    if not all(shutil.which(c) for c in ("sbatch", "squeue", "sinfo")):
        return False
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20,
                              check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def test_slurm_walltime_stop_records_killed(tmp_path):
    # a real batch job of 1 minute; Slurm 22.05: the end is squeue's
    if not slurm_ready():
        if os.environ.get("REQUIRE_SLURM") == "1":
            pytest.fail("no Slurm cluster, and REQUIRE_SLURM=1")
        pytest.skip("no Slurm cluster (start one with tests/slurm-start.sh)")
    script = write_script(tmp_path, TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "kill_grace": GRACE,
                               "launcher": "none"})
    out = tmp_path / "out"
    log = tmp_path / "job.txt"
    env = clean_env(tmp_path, shims=False)
    job = f"cd {tmp_path} && exec {BUNDLE / 'main.sh'} -c {cfg} -o {out} 1 2 6"
    done = subprocess.run(["sbatch", "--wait", "--time=1", "--nodes=1", "--output", str(log),
                           "--wrap", job], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    text = log.read_text() if log.exists() else ""
    assert done.returncode == 0, done.stdout + done.stderr + text
    assert "DUE TO TIME LIMIT" not in text
    assert " s from now; from squeue -h -j " in text and " -o %e)\n" in text
    check_stopped(out, text, 2)
