# TEST SLURM
# Against a real Slurm cluster (tests/slurm-start.sh starts one here): a
# DRYRUN search submitted with submit-slurm.sh -W, each task a job step of
# its own through srun on its own node; and a running search cancelled with
# scancel, leaving no task behind.  Skips without Slurm, unless
# REQUIRE_SLURM=1 (CI), where it fails.

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from launch_helpers import (
    MAIN,
    ROOT,
    clean_env,
    launch_line,
    overlapping,
    printed,
    rank_lines,
    results,
    task_text,
    write_cfg,
)

import Layout

COMMANDS = ("sbatch", "srun", "sinfo", "squeue", "scancel")


def slurm_nodes() -> list[str]:
    """The nodes of a Slurm cluster that answers and can run jobs."""
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return []
    try:
        answer = subprocess.run(["sinfo", "--Node", "--noheader",
                                 "--format", "%N %t"],
                                capture_output=True, text=True, timeout=20,
                                check=False)
    except subprocess.TimeoutExpired:
        return []
    return [line.split()[0] for line in answer.stdout.splitlines()
            if line.split()[1:2] and line.split()[1].rstrip("*")
            in ("idle", "mix", "alloc")]


@pytest.fixture(scope="module")
def nodes() -> list[str]:
    """At least two Slurm nodes ready for jobs (else skip or fail)."""
    found = slurm_nodes()
    if len(found) < 2:
        reason = (f"no Slurm cluster of 2 nodes ready (sinfo: {found}; "
                  "start one with tests/slurm-start.sh)")
        if os.environ.get("REQUIRE_SLURM") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SLURM=1")
        pytest.skip(reason)
    return found


def submit(args: list[str], env: dict[str, str], cwd: Path
           ) -> subprocess.CompletedProcess:
    """Run submit-slurm.sh."""
    return subprocess.run([str(ROOT / "submit-slurm.sh")] + args, env=env,
                          cwd=cwd, capture_output=True, text=True,
                          timeout=240, check=False)


def test_search_as_job_steps(tmp_path, nodes):
    cfg = write_cfg(tmp_path, ppn=2)
    env = clean_env(tmp_path, shims=False, DRYRUN="1", RANK_SLEEP="1")
    result = submit(["-W", "-t", "6", "-w", "00:05:00", "2", "1", "-c", cfg],
                    env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = printed(result.stdout)
    job, output, log = values["JOB"], Path(values["OUTPUT"]), values["LOG"]
    assert f"submit-slurm.sh: job {job}: OK" in result.stdout
    wrap = (f"cd {shlex.quote(str(tmp_path))} && exec {MAIN} "
            f"-c {cfg} 1 2 6")
    assert shlex.split(values["SUBMIT"]) == [
        "sbatch", "--parsable", "--nodes", "2", "--time", "00:05:00",
        "--signal=B:TERM@60", "--exclusive", "--job-name", "async-local", "--output", log,
        f"--export=ALL,OUTPUT={output},DRYRUN=1,PYTHON={env['PYTHON']}",
        "--wait", "--wrap", wrap]
    text = Path(log).read_text()
    assert f"Slurm job {job} (SLURM_JOB_ID) and srun found at" in text
    assert "main.sh: OK" in text

    rows = results(output)
    assert sorted(int(r["id"]) for r in rows) == list(range(6))
    assert {r["status"] for r in rows} == {"ok"}
    steps = {}
    for row in rows:
        task = task_text(output, row["id"])
        ranks = rank_lines(task)
        assert launch_line(task) == (
            "srun --nodes 1 --ntasks 2 --ntasks-per-node 2 --exact "
            f"--nodelist {ranks[0]['node']}")
        # all the ranks of the task, in one job step of this job, one node
        assert sorted(r["rank"] for r in ranks) == ["0", "1"]
        assert {r["size"] for r in ranks} == {"2"}
        assert len({r["step"] for r in ranks}) == 1
        assert len({r["node"] for r in ranks}) == 1
        step = ranks[0]["step"]
        assert step.split(".")[0] == job
        assert ranks[0]["node"] in nodes
        steps[row["id"]] = (step, ranks[0]["node"])
    assert len({step for step, _ in steps.values()}) == 6
    for a, b in overlapping(rows):
        assert steps[a["id"]][1] != steps[b["id"]][1], (a, b)


def processes_with(marker: str) -> list[int]:
    """The processes whose environment holds marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fp:
                if marker.encode() in fp.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def wait_for(check, seconds: float, what: str):
    """Poll check() until it is true; fail naming what after seconds."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {seconds} s for {what}")
        time.sleep(0.2)


def queued(job: str, steps: bool = False) -> list[str]:
    """squeue's lines for the job (or its steps)."""
    args = ["squeue", "--noheader", "--jobs", job] + (["--steps"] if steps
                                                       else [])
    answer = subprocess.run(args, capture_output=True, text=True, timeout=20,
                            check=False)
    return answer.stdout.split("\n")[:-1] if answer.returncode == 0 else []


def test_scancel_leaves_no_task(tmp_path, nodes):
    cfg = write_cfg(tmp_path)
    env = clean_env(tmp_path, shims=False, DRYRUN="1", RANK_SLEEP="300")
    result = submit(["-t", "4", "-w", "00:05:00", "2", "1", "-c", cfg],
                    env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = printed(result.stdout)
    job, output = values["JOB"], Path(values["OUTPUT"])
    marker = f"OUTPUT={output}"

    def both_ranks_running():
        texts = [Path(Layout.output_file(str(output), i)) for i in (0, 1)]
        return all(t.exists() and "RANK " in t.read_text() for t in texts)

    try:
        wait_for(both_ranks_running, 60, "tasks 0 and 1 to run their ranks")
        assert len(queued(job, steps=True)) >= 2
        assert processes_with(marker)
    finally:
        subprocess.run(["scancel", job], check=True, timeout=20)
    wait_for(lambda: not queued(job), 60, f"job {job} to leave the queue")
    wait_for(lambda: not processes_with(marker), 60,
             f"the processes of job {job} to end")
    assert queued(job, steps=True) == []
    rows = results(output) if (output / "results.csv").exists() else []
    assert {r["status"] for r in rows} <= {"killed", "failed"}
    assert not [r for r in rows if r["status"] == "ok"]


def test_refused_before_sbatch(tmp_path, nodes):
    # the case: a cfg that does not exist was submitted, and failed hours later
    env = clean_env(tmp_path, shims=False)
    for dry in (["-n"], []):
        result = submit(dry + ["-w", "00:10:00", "2", "1", "-c", "nonexist.json"], env, tmp_path)
        assert result.returncode == 2
        assert result.stderr == ("main.sh: error: cfg file nonexist.json: cannot read it: "
                                 "No such file or directory\n")
        assert "SUBMIT" not in result.stdout and "JOB=" not in result.stdout
        assert not (tmp_path / "output").exists()
