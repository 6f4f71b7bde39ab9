# TEST MPICH
# A search whose task is a real MPI program (tests/mpi_hello.c), launched
# by MPICH's mpiexec (Hydra) as a PBS job would: PBS_JOBID set and a
# PBS_NODEFILE that lists hosts once per rank.  Hosts are names Hydra runs
# on this machine without ssh: localhost and 127.0.0.1.  Checks that every
# task got all of its ranks and that running tasks held disjoint hosts.
# Skips without MPICH, unless REQUIRE_MPICH=1 or REQUIRE_SLURM=1 (CI).
# Also: errors before the first task (too small, launcher missing).

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from launch_helpers import (
    MAIN,
    ROOT,
    clean_env,
    launch_line,
    overlapping,
    rank_lines,
    require,
    results,
    task_text,
    write_cfg,
)

LOCAL_HOSTS = ["localhost", "127.0.0.1"]


@pytest.fixture(scope="module")
def mpi_hello(tmp_path_factory) -> str:
    """tests/mpi_hello.c built with MPICH's mpicc (else skip or fail)."""
    mpiexec, mpicc = shutil.which("mpiexec"), shutil.which("mpicc")
    why = None
    if not (mpiexec and mpicc):
        why = "MPICH's mpiexec and mpicc not found (Debian: mpich)"
    else:
        version = subprocess.run([mpiexec, "--version"], capture_output=True,
                                 text=True, timeout=30, check=False)
        if "HYDRA" not in version.stdout:
            why = f"{mpiexec} is not MPICH's Hydra"
    if why:
        require(("REQUIRE_MPICH", "REQUIRE_SLURM"), why)
    program = tmp_path_factory.mktemp("mpi") / "mpi_hello"
    subprocess.run([mpicc, "-o", str(program),
                    str(ROOT / "tests" / "mpi_hello.c")], check=True,
                   timeout=120)
    return str(program)


def run_main(folder: Path, args: list[str], env: dict[str, str]
             ) -> subprocess.CompletedProcess:
    """Run main.sh in folder."""
    return subprocess.run([MAIN] + args, env=env, cwd=folder,
                          capture_output=True, text=True, timeout=180,
                          check=False)


def pbs_env(tmp_path: Path, hosts: list[str], per_host: int, **extra: str
            ) -> dict[str, str]:
    """A PBS job's environment: PBS_JOBID, PBS_NODEFILE."""
    nodefile = tmp_path / "nodefile"
    nodefile.write_text("".join(f"{h}\n" * per_host for h in hosts))
    return clean_env(tmp_path, shims=False, PBS_JOBID="4242.fake-pbs",
                     PBS_NODEFILE=str(nodefile), **extra)


# PARALLELISM, ppn, CONCURRENCY, POINTS_MAX, the host groups of the first
# tasks (started together), in order
CASES = [
    (1, 2, 2, 4, ["localhost", "127.0.0.1"]),
    (2, 1, 1, 2, ["localhost,127.0.0.1"]),
    (1, 1, 2, 4, ["localhost", "127.0.0.1"]),
]


@pytest.mark.parametrize("parallelism,ppn,concurrency,points,first", CASES)
def test_mpi_tasks(tmp_path, mpi_hello, parallelism, ppn, concurrency,
                   points, first):
    cfg = write_cfg(tmp_path, ppn=ppn)
    env = pbs_env(tmp_path, LOCAL_HOSTS, per_host=2, RANK_PROGRAM=mpi_hello,
                  RANK_SLEEP="1")
    output = tmp_path / "out"
    result = run_main(tmp_path, ["-c", cfg, "-o", str(output),
                                 str(parallelism), str(concurrency),
                                 str(points)], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("launcher: mpiexec (PBS job 4242.fake-pbs (PBS_JOBID) and "
            "mpiexec found at") in result.stdout
    rows = results(output)
    assert sorted(int(r["id"]) for r in rows) == list(range(points))
    assert {r["status"] for r in rows} == {"ok"}
    ranks = parallelism * ppn
    groups = {}
    for row in rows:
        text = task_text(output, row["id"])
        launch = launch_line(text).split()
        assert launch[:5] == ["mpiexec", "-n", str(ranks), "--ppn", str(ppn)]
        assert launch[5] == "--hosts" and len(launch) == 7
        hosts = launch[6].split(",")
        assert len(hosts) == parallelism
        assert set(hosts) <= set(LOCAL_HOSTS)
        groups[row["id"]] = set(hosts)
        seen = rank_lines(text)
        # every rank of the task, each knowing the task's size
        assert sorted(int(r["rank"]) for r in seen) == list(range(ranks))
        assert sorted(int(r["pmi_rank"]) for r in seen) == list(range(ranks))
        assert {r["size"] for r in seen} == {str(ranks)}
    # the first CONCURRENCY tasks start together, on the pool's groups
    assert [",".join(sorted(groups[str(i)], key=LOCAL_HOSTS.index))
            for i in range(concurrency)] == first
    for a, b in overlapping(rows):
        assert not groups[a["id"]] & groups[b["id"]], (a, b)


def test_allocation_too_small(tmp_path, mpi_hello):
    cfg = write_cfg(tmp_path)
    env = pbs_env(tmp_path, LOCAL_HOSTS, per_host=4)
    result = run_main(tmp_path, ["-c", cfg, "-o", str(tmp_path / "out"),
                                 "1", "3", "6"], env)
    assert result.returncode == 2
    assert ("CONCURRENCY 3 needs 3 nodes at PARALLELISM 1 but PBS_NODEFILE "
            "lists 2") in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "tasks").exists()


def test_requested_launcher_missing(tmp_path):
    # aprun is not on this machine (the shims are not on PATH here)
    if shutil.which("aprun"):
        pytest.skip("aprun is on PATH")
    cfg = write_cfg(tmp_path, launcher="aprun")
    env = clean_env(tmp_path, shims=False)
    result = run_main(tmp_path, ["-c", cfg, "-o", str(tmp_path / "out"),
                                 "1", "2", "4"], env)
    assert result.returncode == 2
    assert "launcher aprun requested but aprun is not on PATH" in \
        result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "tasks").exists()


def test_mpiexec_real_hosts_flag(tmp_path, mpi_hello):
    # the words Launcher.py emits, run by Hydra as they stand
    from Launcher import choose_launcher

    env = pbs_env(tmp_path, LOCAL_HOSTS, per_host=1)
    launcher = choose_launcher("auto", [], 2, env)
    group = launcher.acquire(2)
    words = launcher.prefix(2, group)
    assert words == ["mpiexec", "-n", "4", "--ppn", "2", "--hosts",
                     "localhost,127.0.0.1"]
    answer = subprocess.run(words + [mpi_hello], capture_output=True,
                            text=True, timeout=120, check=False,
                            env=dict(os.environ, RANK_SLEEP="0"))
    assert answer.returncode == 0, answer.stderr
    assert sorted(r["rank"] for r in rank_lines(answer.stdout)) == \
        ["0", "1", "2", "3"]
