# LAUNCH HELPERS PY
# Small helpers shared by the launcher tests (test_submit, test_slurm,
# test_mpich): a clean environment, the output folder's rows and task
# outputs, and skipping (or failing, when required) without the real thing.

import csv
import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

import Layout

ROOT = Path(__file__).resolve().parent.parent
SHIMS = ROOT / "tests" / "shims"
MAIN = str(ROOT / "main.sh")
RANK_TASK = str(ROOT / "tests" / "rank_task.sh")
RANK_PROGRAM = str(ROOT / "tests" / "rank.sh")
SCHEDULER_VARIABLES = ("SLURM_", "PBS_", "COBALT_", "SBATCH_", "SHIM_")


def clean_env(tmp_path: Path, shims: bool = True, python: bool = True,
              **extra: str) -> dict[str, str]:
    """This environment without batch job variables (shims first on PATH).

    Inside a real batch job, these tests must not think they are one.
    python: PYTHON is this interpreter (else unset, as a user's may be).
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(SCHEDULER_VARIABLES)
           and k not in ("PROJECT", "OUTPUT", "DRYRUN", "LAUNCH", "PYTHON",
                         "BENCHMARKS")}
    if python:
        env["PYTHON"] = sys.executable
    else:  # the user's python3 has the bundle's packages
        folder = tmp_path / "python3-on-path"
        folder.mkdir(exist_ok=True)
        (folder / "python3").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        (folder / "python3").chmod(0o755)
        env["PATH"] = f"{folder}{os.pathsep}{env['PATH']}"
    if shims:
        env["PATH"] = f"{SHIMS}{os.pathsep}{env.get('PATH', '')}"
    env["SHIM_LOG"] = str(tmp_path / "shim.log")
    env["TASK_DELAY"] = "0"
    env.update(extra)
    return env


def require(variables: tuple[str, ...], reason: str) -> None:
    """Skip for reason, or fail if one of variables is set to 1."""
    required = [v for v in variables if os.environ.get(v) == "1"]
    if required:
        pytest.fail(f"{reason} (and {required[0]}=1)")
    pytest.skip(reason)


def write_cfg(folder: Path, **cfg) -> str:
    """A cfg file whose task is tests/rank_task.sh; its name."""
    cfg = {"script": RANK_TASK, **cfg}
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return "cfg.json"


def results(output: Path) -> list[dict[str, str]]:
    """The rows of results.csv."""
    with open(output / "results.csv", newline="") as fp:
        return list(csv.DictReader(fp))


def task_text(output: Path, task: int | str) -> str:
    """What task number `task` printed."""
    return Path(Layout.output_file(str(output), int(task))).read_text()


def launch_line(text: str) -> str:
    """The LAUNCH a rank task printed."""
    lines = [x for x in text.splitlines() if x.startswith("LAUNCH: ")]
    assert len(lines) == 1, text
    return lines[0][len("LAUNCH: "):]


def rank_lines(text: str) -> list[dict[str, str]]:
    """The RANK lines of a rank task's ranks, as dicts."""
    return [dict(re.findall(r"(\w+)=(\S+)", line))
            for line in text.splitlines() if line.startswith("RANK ")]


def overlapping(rows: list[dict[str, str]]
                ) -> list[tuple[dict[str, str], dict[str, str]]]:
    """The pairs of tasks that ran at the same time."""
    pairs = []
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if float(a["start"]) < float(b["end"]) and \
               float(b["start"]) < float(a["end"]):
                pairs.append((a, b))
    return pairs


def printed(stdout: str) -> dict[str, str]:
    """The NAME=VALUE and NAME: VALUE lines a submit script printed."""
    values = {}
    for line in stdout.splitlines():
        for separator in ("=", ": "):
            name, found, value = line.partition(separator)
            if found and name.isupper() and name.isidentifier():
                values[name] = value
                break
    return values
