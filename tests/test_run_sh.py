# TEST RUN SH PY
# tests/run.sh passes test paths on as pytest takes them (only those run),
# from any folder; with none it runs the whole suite.

import os
import subprocess
import sys
from pathlib import Path

from conftest import BUNDLE


def collect(args: list[str], cwd: Path) -> list[str]:
    """The test files tests/run.sh would run (pytest --collect-only)."""
    done = subprocess.run([str(BUNDLE / "tests" / "run.sh"), "--collect-only", "-q", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300, check=False,
                          env=dict(os.environ, PYTHON=sys.executable))
    assert done.returncode == 0, done.stdout + done.stderr
    return sorted({line.split("::")[0].split(":")[0] for line in done.stdout.splitlines()
                   if line.startswith("tests/")})


def test_a_test_file_given_runs_alone() -> None:
    assert collect(["tests/test_task_dirs.py"], BUNDLE) == ["tests/test_task_dirs.py"]


def test_paths_are_taken_from_where_it_runs(tmp_path: Path) -> None:
    tests = BUNDLE / "tests"
    assert collect([os.path.relpath(tests / "test_run_sh.py", tmp_path)], tmp_path) == \
        ["tests/test_run_sh.py"]
    one = f"{tests / 'test_disk.py'}::test_disk_full_while_writing_results_stops_cleanly"
    assert collect([one, "-k", "disk"], tmp_path) == ["tests/test_disk.py"]


def test_no_path_runs_the_whole_suite() -> None:
    every = sorted(f"tests/{p.name}" for p in (BUNDLE / "tests").glob("test_*.py"))
    assert collect([], BUNDLE) == every
