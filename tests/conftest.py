# CONFTEST PY
# Shared test helpers: run the real bundle (main.sh or main.py) end to
# end with real subprocesses, and read what it wrote.

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BUNDLE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BUNDLE))


def run_main(args: list[str], env: dict[str, str] | None = None, timeout: float = 120,
             via: str = "main.sh", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ./main.sh (or main.py with this Python) and capture its output."""
    full_env = dict(os.environ)
    full_env.setdefault("TASK_DELAY", "0.05")
    full_env.pop("OUTPUT", None)
    full_env["PYTHON"] = sys.executable
    if env:
        full_env.update(env)
    if via == "main.sh":
        argv = [str(BUNDLE / "main.sh"), *args]
    else:
        argv = [sys.executable, "-u", str(BUNDLE / "main.py"), *args]
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout,
                          check=False,
                          cwd=cwd or BUNDLE)


def resume_line(output: Path | str) -> str:
    """The line a stopped run prints to continue its search (exact, shell-quoted)."""
    return f"to resume: {shlex.join([str(BUNDLE / 'main.sh'), '--resume', '-o', str(output)])}"


def read_results(output: Path) -> list[dict[str, str]]:
    """The rows of OUTPUT/results.csv."""
    with open(output / "results.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def write_cfg(folder: Path, cfg: dict, name: str = "cfg.json") -> Path:
    """Write a cfg file and return its path."""
    path = folder / name
    path.write_text(json.dumps(cfg))
    return path


def meet(note: str, count: int | str) -> str:
    """Bash lines: write `note` to $MEET/$TASK_ID, then wait until `count` tasks have
    written theirs (an event, the others' notes, never a fixed sleep): the tasks then
    hold what they noted at the same time."""
    return (f'echo "{note}" > "$MEET/$TASK_ID"\n'
            'for _ in $(seq 1200); do\n'
            f'  [ "$(ls "$MEET" | wc -l)" -ge {count} ] && break\n'
            '  sleep 0.05\n'
            'done')


def write_script(folder: Path, body: str, name: str = "task-under-test.sh") -> Path:
    """Write an executable bash task script (body after `set -eu`)."""
    path = folder / name
    path.write_text("#!/bin/bash\nset -eu\n" + body + "\n")
    path.chmod(0o755)
    return path


def run_task(tmp_path: Path, script: Path, points_max: int = 1, concurrency: int = 1,
             output: Path | None = None, timeout: float = 120, via: str = "main.sh",
             **cfg: object) -> tuple[subprocess.CompletedProcess, Path]:
    """Run a search of `script` (cfg keys as keywords) on 1 node; return its result and
    OUTPUT (default tmp_path/out)."""
    cfg_file = write_cfg(tmp_path, {"script": str(script), **cfg})
    out = output or tmp_path / "out"
    args = ["-c", str(cfg_file), "-o", str(out), "1", str(concurrency), str(points_max)]
    return run_main(args, timeout=timeout, via=via), out


@pytest.fixture
def bundle() -> Path:
    return BUNDLE



def sync_as_another_driver(output: str, config: Any, points_max: int) -> tuple[Any, Any]:
    """One sync of a new driver "me" of the joined search in `output` (a loaded Config):
    what it saw of the other drivers' journals (Joined.Seen), and its closed Joined."""
    from Joined import Joined, claim_folder
    joined = Joined(output, claim_folder(output, "me"), False, config.problem, config.goals,
                    config.metrics, points_max)
    try:
        return joined.sync(), joined
    finally:
        joined.close()
