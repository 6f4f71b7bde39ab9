# TEST SLURM GRES
# The search on the real 2-node Slurm cluster with 4 stand-in GPUs (GRES,
# /dev/tty[0-3]) and 8 CPUs per node: 8 single-GPU tasks at once, each a
# job step with its own (node, CUDA_VISIBLE_DEVICES) pair and 2 CPUs.

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BUNDLE, meet, write_cfg, write_script

# the step itself waits until all 8 steps have noted their devices: they hold them at once
STEP = ("export MEET\n$LAUNCH bash -c "
        + shlex.quote(meet("$SLURMD_NODENAME $CUDA_VISIBLE_DEVICES $SLURM_CPUS_PER_TASK", 8))
        + '\necho 1 > "$TASK_RESULT"\n')


def gres_ready() -> bool:
    if not shutil.which("salloc"):
        return False
    text = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True,
                          check=False).stdout
    return "gpu:4" in text


@pytest.mark.skipif(not gres_ready(), reason="no GRES Slurm cluster (tests/slurm-start.sh)")
def test_eight_single_gpu_tasks_at_once(tmp_path: Path) -> None:
    meet = tmp_path / "meet"
    meet.mkdir()
    script = write_script(tmp_path, f"MEET={str(meet)!r}\n" + STEP)
    cfg = write_cfg(tmp_path, {"script": str(script), "machine": "slurm",
                               "tasks_per_node": 4, "gpus_per_node": 4})
    result = subprocess.run(["salloc", "-N2", "--exclusive", "-t", "5",
                             str(BUNDLE / "main.sh"), "-c", str(cfg), "-o",
                             str(tmp_path / "out"), "1", "8", "8"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    seen = [p.read_text().split() for p in meet.iterdir()]
    assert len(seen) == 8
    pairs = {(node, devices) for node, devices, _ in seen}
    assert len(pairs) == 8  # each task on its own device
    assert {cpus for _, _, cpus in seen} == {"2"}  # the 8 CPUs split 4 ways
