# TEST PALS
# Four single-GPU tasks packed on one Polaris-shaped node (machine polaris,
# tasks_per_node 4) in a PBS job, launched through a PALS stand-in
# (tests/pals/mpiexec, named as such: PALS runs only on Cray machines) that
# checks the flags MPICH's Hydra lacks (--cpu-bind list:) and then runs the
# ranks with the real Hydra. The four meet while running: each holds its
# own GPU (Polaris's reversed order) and its own 8 of the node's 32 cores.

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import meet
from launch_helpers import MAIN, ROOT, clean_env, require

# each task notes what its rank got, then waits for all four
STEP = ("$LAUNCH bash -c " + shlex.quote(meet("$PALS_STANDIN_CPU_BIND $CUDA_VISIBLE_DEVICES "
                                             "$PMI_RANK", 4))
        + '\necho 1 > "$TASK_RESULT"\n')


def hydra() -> None:
    mpiexec = shutil.which("mpiexec")
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             check=False).stdout if mpiexec else ""
    if "HYDRA" not in version:
        require(("REQUIRE_MPICH", "REQUIRE_SLURM"), "MPICH's Hydra mpiexec not found")


def pbs_job(tmp_path: Path) -> dict[str, str]:
    nodefile = tmp_path / "nodefile"
    nodefile.write_text("localhost\n")
    env = clean_env(tmp_path, shims=False, PBS_JOBID="4242.fake-pbs",
                    PBS_NODEFILE=str(nodefile))
    env["PATH"] = f"{ROOT / 'tests' / 'pals'}:{env['PATH']}"
    return env


def test_four_tasks_on_one_polaris_node_through_pals(tmp_path: Path) -> None:
    hydra()
    meet = tmp_path / "meet"
    meet.mkdir()
    script = tmp_path / "task.sh"
    script.write_text(f"#!/bin/bash\nset -eu\nexport MEET={str(meet)!r}\n{STEP}")
    script.chmod(0o755)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(f'{{"script": "{script}", "machine": "polaris", "tasks_per_node": 4}}')
    done = subprocess.run([MAIN, "-c", str(cfg), "-o", str(tmp_path / "out"), "1", "4", "4"],
                          env=pbs_job(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          timeout=180, check=False)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text[-4000:]
    assert "machine: polaris (requested" in text.splitlines()[0]
    seen = [p.read_text().split() for p in meet.iterdir()]
    assert len(seen) == 4
    assert sorted(devices for _, devices, _ in seen) == ["0", "1", "2", "3"]
    cores = [set() for _ in seen]
    for each, (bind, _, rank) in zip(cores, seen):
        assert rank == "0"
        for part in bind.split(","):
            low, _, high = part.partition("-")
            each.update(range(int(low), int(high or low) + 1))
    assert all(len(c) == 8 for c in cores)  # 32 cores, 4 ways
    assert len(set().union(*cores)) == 32  # disjoint


@pytest.mark.parametrize("flags", [["--cpu-bind", "list:0-7:8-15"], ["--cpu-bind", "list:0-"],
                                   ["--bind-to", "core"]])
def test_the_pals_stand_in_refuses_what_pals_would(tmp_path: Path, flags: list[str]) -> None:
    """The stand-in is a check, not a pass-through: a binding for 2 ranks with --ppn 1,
    a malformed list, a Hydra-only flag."""
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "shim.py"), "pals", "-n", "1",
                           "--ppn", "1", "--hosts", "localhost", *flags, "true"],
                          env=pbs_job(tmp_path), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0 and "pals stand-in" in done.stderr
