# TEST DISK PY
# Running out of disk for real: OUTPUT on a small tmpfs mounted here (root
# only; skipped with the reason otherwise). The run must say so, stop
# cleanly, and leave results.csv holding complete rows only.

import csv
import io
import subprocess
from pathlib import Path

import pytest
from conftest import resume_line, run_main, run_task, write_cfg, write_script

import Layout

# Rows longer than a page, so that every row needs fresh space on the tmpfs.
LONG = 6000
# two categorical values long enough that a few rows fill the small disk
WORDS = {"word": ["a" * LONG, "b" * LONG]}
# Task 2 writes its result, waits until the driver has recorded its start
# (so that the full disk always meets the driver's next write, its row in
# results.csv, never the started row), then fills the disk and succeeds.
FILLING_TASK = """
echo 0.5 > "$TASK_RESULT"
if [ "$TASK_ID" = 2 ]; then
  until grep -q '^2,' "$OUTPUT/started.csv"; do sleep 0.01; done
  head -c 64M /dev/zero || echo "task $TASK_ID: disk full" >&2
fi
exit 0
"""


def mount_tmpfs(disk: Path, options: str):
    """Mount a tmpfs with these options on `disk` (skip when not root), unmount afterwards."""
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs."""
    yield from mount_tmpfs(tmp_path / "disk", "size=1m")


@pytest.fixture
def few_inodes(tmp_path: Path):
    """A tmpfs with room for 64 files and folders."""
    yield from mount_tmpfs(tmp_path / "disk", "size=4m,nr_inodes=64")


def test_disk_full_while_writing_results_stops_cleanly(tmp_path: Path, small_disk: Path) -> None:
    script = write_script(tmp_path, FILLING_TASK)
    done, output = run_task(tmp_path, script, 6, output=small_disk / "out", via="main.py",
                            timeout=60, problem=WORDS)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert f"cannot write {output}/results.csv: No space left on device; stopping" in text
    assert "Workflow failed!" in text
    assert f"after making room in {output}, " + resume_line(output) in text
    assert "summary: ok=2 failed=0 timeout=0 killed=0" in text, "counts what was recorded"
    assert "TASK 0002 ended (failed) but its row could not be recorded" in text
    data = (output / "results.csv").read_bytes()
    assert data.endswith(b"\n"), "a torn row was left behind"
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [r["id"] for r in rows] == ["0", "1"]
    assert all(r["status"] == "ok" and len(r["word"]) == LONG for r in rows)
    started = list(csv.DictReader(io.StringIO((output / "started.csv").read_text())))
    assert [r["id"] for r in started] == ["0", "1", "2"], "nothing issued after the error"


def test_resume_after_disk_full_issues_the_lost_task_again(tmp_path: Path,
                                                           small_disk: Path) -> None:
    script = write_script(tmp_path, FILLING_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "problem": WORDS})
    output = small_disk / "out"
    done = run_main(["-c", str(cfg), "-o", str(output), "1", "1", "4"], via="main.py")
    assert done.returncode == 1
    Path(Layout.output_file(str(output), 2)).unlink()  # the user makes room
    done = run_main(["--resume", "-c", str(cfg), "-o", str(output), "1", "1", "4"],
                    via="main.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 task(s) to issue again, numbering from 0003" in done.stdout
    ids = [r["id"] for r in csv.DictReader(io.StringIO((output / "results.csv").read_text()))]
    assert ids == ["0", "1", "3", "4"]


def test_no_room_for_a_task_folder_is_an_output_error_not_a_task_failure(
        tmp_path: Path, few_inodes: Path) -> None:
    # task 0 succeeds after using up every inode: task 1's folder cannot be made
    script = write_script(tmp_path, """
echo 0.5 > "$TASK_RESULT"
i=0; while : > "f$i" 2>/dev/null; do i=$((i + 1)); done
""")
    done, output = run_task(tmp_path, script, 4, output=few_inodes / "out", via="main.py",
                            timeout=60)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert f"cannot write task 0001's files in {output}: No space left on device; stopping" \
        in text
    assert "summary: ok=1 failed=0 timeout=0 killed=0" in text
    assert f"after making room in {output}, to resume: " in text
    rows = list(csv.DictReader(io.StringIO((output / "results.csv").read_text())))
    assert [(r["id"], r["status"]) for r in rows] == [("0", "ok")]
