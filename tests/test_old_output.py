# TEST OLD OUTPUT
# Output folders written by earlier versions (tests/fixtures/output-<commit>,
# made by `./main.sh -o DIR 1 2 4` at that commit, PNGs left out, the
# bundle's path replaced by @BUNDLE@) must still resume and report after
# every format change: ef4cd02 wrote each task's files flat in OUTPUT,
# b28be32 under tasks/SSS/NNNN/; neither kept a copy of its cfg.

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BUNDLE, read_results, run_main

FIXTURES = sorted((BUNDLE / "tests" / "fixtures").glob("output-*"))


def copy_fixture(fixture: Path, tmp_path: Path) -> Path:
    output = tmp_path / fixture.name
    shutil.copytree(fixture, output)
    run = output / "run.json"
    run.write_text(run.read_text().replace("@BUNDLE@", str(BUNDLE)))
    return output


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_an_old_output_resumes_and_reports(fixture: Path, tmp_path: Path) -> None:
    output = copy_fixture(fixture, tmp_path)
    before = read_results(output)
    assert len(before) == 4
    done = run_main(["--resume", "-o", str(output), "1", "2", "6"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resume: 4 result(s) told to the search, 0 failed, 0 task(s) to issue again, " \
        "numbering from 0004" in done.stdout
    rows = read_results(output)
    assert rows[:4] == before, "the earlier rows stay as they were"
    assert sorted(r["id"] for r in rows[4:]) == ["4", "5"]  # in the order they ended
    report = subprocess.run([str(BUNDLE / "report.sh"), str(output)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "tasks: 6 finished (ok 6," in report.stdout
    again = run_main(["--resume", "-o", str(output)])  # the recorded numbers: 1 2 6
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(read_results(output)) == 6
