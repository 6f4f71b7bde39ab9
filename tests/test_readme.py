# TEST README PY
# Every command the documentation shows (a line starting with `$ ` in a
# listing) and every Python listing is run here, in reading order (README
# first, then the docs pages as README's "Where to go next" links them:
# tests/doc_pages.py), in one scratch folder that links to the bundle, or
# is one that CI runs (checked against .ci/run): so the docs cannot rot.

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUNDLE
from doc_pages import README, pages

# A `$ ` line, or a Python listing (its source), in reading order.
STEP = re.compile(r"^\$ (?P<command>[^\n]+)$|^\[source,python\]\n----\n(?P<python>.*?)^----$",
                  flags=re.MULTILINE | re.DOTALL)
STEPS = [(m["command"], m["python"]) for page in pages() for m in STEP.finditer(page.read_text())]
COMMANDS = [command for command, _ in STEPS if command]
README_COMMANDS = re.findall(r"^\$ (.+)$", README.read_text(), flags=re.MULTILINE)

# Commands CI runs itself (.ci/run), with the words of .ci/run that run them.
RUN_BY_CI = {
    "tests/run.sh": "tests/run.sh",
    "sudo .ci/install-system.sh": "bash .ci/install-system.sh",
    "sudo tests/slurm-start.sh": "bash tests/slurm-start.sh",
    "REQUIRE_SLURM=1 python3 -m pytest -q tests/test_launcher_table.py tests/test_submit.py "
    "tests/test_slurm.py tests/test_mpich.py": "export REQUIRE_SLURM=1",
}
# Long benchmarks run here in their quick form (the same code, fewer tasks).
QUICK = {"BENCHMARK_QUICK": "1"}


def scratch_bundle(folder: Path) -> None:
    """Fill a folder with links to the bundle's entries, so `./main.sh` works there."""
    for entry in BUNDLE.iterdir():
        if entry.name not in ("output", ".git", ".pytest_cache", ".ruff_cache"):
            (folder / entry.name).symlink_to(entry)


def prepare(command: str, finished_output: Path | None, folder: Path) -> str:
    """The command as run here: placeholders filled, submissions only printed."""
    command = re.sub(r"/tmp/(\w+)", lambda m: str(folder / m.group(1)), command)  # first
    if re.search(r"\bOUTPUT\b(?!=)", command):
        assert finished_output is not None, f"{command!r} needs an earlier run"
        command = re.sub(r"\bOUTPUT\b(?!=)", shlex.quote(str(finished_output)), command)
    if re.match(r"^(\S+=\S+ )*\./submit-\w+\.sh ", command):  # print what it would submit
        command = re.sub(r"(\./submit-\w+\.sh) ", r"\1 -n ", command, count=1)
    return command


def test_readme_shows_the_two_setup_commands() -> None:
    assert README_COMMANDS[:2] == ["./main.sh", "tests/run.sh"]


def test_the_docs_pages_have_commands_run() -> None:
    assert len(pages()) > 1 and len(COMMANDS) > len(README_COMMANDS)


def test_commands_left_to_ci_are_in_ci() -> None:
    ci = (BUNDLE / ".ci" / "run").read_text()
    for command, words in RUN_BY_CI.items():
        assert command in COMMANDS, f"the docs no longer show {command!r}: update RUN_BY_CI"
        assert words in ci, f"{command!r} is left to CI, but .ci/run does not run it"


def test_every_command_and_python_listing_runs(tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    scratch_bundle(folder)
    env = dict(os.environ, PYTHON=sys.executable, TASK_DELAY="0.1",
               PATH=f"{BUNDLE / 'tests' / 'shims'}:{os.environ['PATH']}", **QUICK)
    env.pop("OUTPUT", None)
    finished: Path | None = None
    ran = 0
    for command, python in STEPS:
        if command in RUN_BY_CI:
            continue
        if command:
            # pipefail: `... | tail -1` fails when its first command does
            argv = ["bash", "-o", "pipefail", "-c", prepare(command, finished, tmp_path)]
        else:  # a Python listing; OUTPUT in it is the folder of an earlier run
            assert finished is not None or "OUTPUT" not in python, "OUTPUT needs an earlier run"
            argv = [sys.executable, "-c", python.replace("OUTPUT", str(finished))]
        done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, f"failed: {command or python}\n{done.stdout}\n" \
            f"{done.stderr}"
        ran += 1
        outputs = sorted((folder / "output").glob("*/results.csv")) \
            if (folder / "output").exists() else []
        if outputs and finished is None:
            finished = outputs[0].parent
    assert ran >= 10


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in RUN_BY_CI])
def test_commands_name_files_that_exist(command: str) -> None:
    for word in shlex.split(command):
        if word.startswith(("./", "tasks/", "benchmarks/")) and "/" in word.lstrip("./"):
            assert (BUNDLE / word).exists(), f"{command!r}: {word} does not exist"
        elif word.startswith("./"):
            assert (BUNDLE / word[2:]).exists(), f"{command!r}: {word} does not exist"
