# TEST RECORDS
# Journals keep every row whole whatever a value holds, and run.json is
# written whole or not at all.

import json
from pathlib import Path

from conftest import read_results, run_main, write_cfg


def test_a_choice_holding_a_carriage_return_round_trips(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, {"problem": {"v": ["a\rb", "c"], "x": {"low": 0.0, "high": 1.0}}})
    out = tmp_path / "out"
    first = run_main(["-c", str(cfg), "-o", str(out), "1", "2", "4"])
    assert first.returncode == 0, first.stdout + first.stderr
    rows = read_results(out)
    assert len(rows) == 4
    assert all(r["v"] in ("a\rb", "c") for r in rows)
    second = run_main(["-c", str(cfg), "-o", str(out), "--resume", "1", "2", "6"])
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resume: 4 result(s)" in second.stdout
    assert "skipping" not in second.stderr
    assert len(read_results(out)) == 6


def test_run_json_is_written_whole_and_no_partial_file_is_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_main(["-o", str(out), "1", "1", "1"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((out / "run.json").read_text())["points_max"] == 1
    assert not list(out.glob("run.json.*"))
