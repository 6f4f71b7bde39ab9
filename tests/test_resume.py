# TEST RESUME PY
# --resume after the driver died (SIGKILL at any moment), after a SIGTERM,
# with a torn last row, with leftover tasks of the dead driver still
# running; real processes and signals throughout.

import os
import re
import signal
import subprocess
from pathlib import Path
from typing import ClassVar

from conftest import BUNDLE, read_results, run_main, write_cfg, write_script
from test_signals import alive, count_lines, finish, sigkill_driver, start, wait_until

import Resume
from Config import load_config
from Search import Search
from Task import find_leftovers

# Tasks 0 and 1 finish at once; later ones hang while OUTPUT/../hang exists.
HANGING_TASK = """
echo "$TASK_ID $$" >> "$OUTPUT/pids"
if [ "$TASK_ID" -ge 2 ] && [ -e "$OUTPUT/../hang" ]; then
  sleep 120 &
  echo "$TASK_ID $!" >> "$OUTPUT/pids"
  wait
fi
echo "0.$TASK_ID" > "$TASK_RESULT"
"""


def rows_by_id(output: Path) -> dict[int, dict[str, str]]:
    rows = read_results(output)
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == len(set(ids)), f"a task is recorded twice: {sorted(ids)}"
    return dict(zip(ids, rows))


def params(row: dict[str, str]) -> tuple[str, str]:
    return row["drop"], row["batch_size"]


def started_rows(output: Path) -> dict[int, dict[str, str]]:
    import csv
    with open(output / "started.csv", newline="") as stream:
        return {int(r["id"]): r for r in csv.DictReader(stream)}


def test_sigkill_after_k_of_n_then_resume(tmp_path: Path) -> None:
    output = tmp_path / "out"
    log = tmp_path / "log1"
    os.environ["TASK_DELAY"] = "0.3"
    try:
        proc = start(["-o", str(output), "1", "2", "10"], via="main.py", log=log)
    finally:
        del os.environ["TASK_DELAY"]
    wait_until(lambda: count_lines(output / "results.csv") >= 1 + 3, "3 finished tasks")
    sigkill_driver(proc)
    before = rows_by_id(output)
    k = len(before)
    assert 3 <= k < 10
    highest = max(started_rows(output))
    files_before = {p.relative_to(output): p.read_bytes() for p in output.rglob("*.txt")}

    done = run_main(["--resume", "-o", str(output), "1", "2", "10"], env={"TASK_DELAY": "0.05"})
    assert done.returncode == 0, done.stdout + done.stderr
    after = rows_by_id(output)
    for task_id, row in before.items():  # every earlier result, exactly once, unchanged
        assert after[task_id] == row
    new_ids = sorted(set(after) - set(before))
    assert new_ids and min(new_ids) > highest, "numbering must continue after the highest"
    assert len(after) == 10, "finished tasks count toward POINTS_MAX"
    assert all(r["status"] == "ok" for r in after.values())
    assert f"resume: {k} result(s) told to the search" in done.stdout
    for name, data in files_before.items():  # no file is overwritten (a lost task may add)
        assert (output / name).read_bytes().startswith(data)
    lost = [i for i in started_rows(output) if i <= highest and i not in before]
    reissued = {params(after[i]) for i in new_ids}
    assert all(params(started_rows(output)[i]) in reissued for i in lost), \
        "tasks running when the driver died must be issued again"


def test_leftovers_killed_lost_tasks_reissued_once(tmp_path: Path) -> None:
    script = write_script(tmp_path, HANGING_TASK)
    cfg = str(write_cfg(tmp_path, {"script": str(script), "kill_grace": 1}))
    output = tmp_path / "out"
    (tmp_path / "hang").touch()
    # run 1: tasks 2 and 3 hang; the driver is SIGKILLed and leaves them running
    proc = start(["-c", cfg, "-o", str(output), "1", "2", "6"], via="main.py",
                 log=tmp_path / "log1")
    # their started rows are journaled just after the spawns: wait for them too
    wait_until(lambda: count_lines(output / "pids") >= 6 and {2, 3} <= set(started_rows(output)),
               "tasks 2 and 3 to hang, with their started rows")
    sigkill_driver(proc)
    leftovers = [int(line.split()[1]) for line in (output / "pids").read_text().splitlines()
                 if int(line.split()[0]) >= 2]
    assert all(alive(p) for p in leftovers), "the dead driver's tasks should still run"
    first = started_rows(output)
    assert sorted(rows_by_id(output)) == [0, 1]

    # run 2: kills the leftovers, issues 2 and 3 again as 4 and 5 (which hang), gets SIGTERM
    proc = start(["--resume", "-c", cfg, "-o", str(output), "1", "2", "6"], via="main.py",
                 log=tmp_path / "log2")
    wait_until(lambda: count_lines(output / "pids") >= 10 and {4, 5} <= set(started_rows(output)),
               "tasks 4 and 5 to hang, with their started rows")
    assert not any(alive(p) for p in leftovers), "resume must stop the dead driver's tasks"
    text = (tmp_path / "log2").read_text()
    assert "stopping 2 task(s) still running from the earlier run" in text
    second = started_rows(output)
    assert {params(second[4]), params(second[5])} == {params(first[2]), params(first[3])}
    os.kill(proc.pid, signal.SIGTERM)
    text = finish(proc, tmp_path / "log2")
    assert proc.returncode == 143, text
    rows = rows_by_id(output)
    assert [rows[i]["status"] for i in (4, 5)] == ["killed", "killed"]

    # run 3: issues the killed 4 and 5 again (not 2 and 3 a second time), to POINTS_MAX
    (tmp_path / "hang").unlink()
    done = run_main(["--resume", "-c", cfg, "-o", str(output), "1", "2", "6"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 task(s) to issue again, numbering from 0006" in done.stdout
    rows = rows_by_id(output)
    ok = sorted(i for i, r in rows.items() if r["status"] == "ok")
    assert ok == [0, 1, 6, 7, 8, 9]
    third = started_rows(output)
    assert {params(third[6]), params(third[7])} == {params(first[2]), params(first[3])}
    assert sorted(third) == list(range(10))


def test_leftover_search_never_touches_a_reused_pid(tmp_path: Path) -> None:
    """Only processes whose environment names this OUTPUT and a lost task number are hit."""
    output = tmp_path / "out"
    output.mkdir()
    task = subprocess.Popen(["sleep", "60"], start_new_session=True,
                            env=dict(os.environ, OUTPUT=str(output), TASK_ID="7"))
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        assert find_leftovers(str(output), {3, 8}) == {}  # other task numbers
        assert find_leftovers(str(tmp_path), {7}) == {}  # another OUTPUT
        assert find_leftovers(str(output), {7, stranger.pid}) == {task.pid: [task.pid]}
    finally:
        for proc in (task, stranger):
            proc.kill()
            proc.wait()


def test_torn_last_rows_are_ignored_and_cut(tmp_path: Path) -> None:
    output = tmp_path / "out"
    done = run_main(["-o", str(output), "1", "2", "4"])
    assert done.returncode == 0, done.stderr
    with open(output / "results.csv", "ab") as stream:
        stream.write(b"9,ok,0.12,0.0")  # the driver died in the middle of this row
    with open(output / "started.csv", "ab") as stream:
        stream.write(b"4,17955")
    done = run_main(["--resume", "-o", str(output), "1", "2", "6"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "torn last line" in done.stderr
    rows = rows_by_id(output)
    assert sorted(rows) == [0, 1, 2, 3, 4, 5]
    for name in ("results.csv", "started.csv"):
        text = (output / name).read_text()
        assert text.endswith("\n") and "0.12,0.0" not in text and "4,17955\n" not in text


def test_resume_tells_all_results_in_one_batch(tmp_path: Path) -> None:
    output = tmp_path / "out"
    done = run_main(["-o", str(output), "1", "3", "6"])
    assert done.returncode == 0, done.stderr

    class Counting(Search):
        calls: ClassVar[list[int]] = []

        def tell(self, points, values) -> None:
            self.calls.append(len(points))
            super().tell(points, values)

    config = load_config(None)
    recorded = Resume.read_recorded(config, str(output))
    search = Counting(config.problem, config.optimizer)
    replayed = Resume.replay(config, str(output), recorded, search)
    assert Counting.calls == [6]
    assert (replayed.done_before, replayed.reissue) == (6, [])
    assert len(search.optimizer.yi) == 6


def test_resume_refuses_another_problem_and_leaves_output_alone(tmp_path: Path) -> None:
    output = tmp_path / "out"
    assert run_main(["-o", str(output), "1", "2", "2"]).returncode == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in output.rglob("*") if p.is_file()}
    cfg = write_cfg(tmp_path, {"problem": {"drop": {"low": 0.0, "high": 0.5}}})
    done = run_main(["--resume", "-c", str(cfg), "-o", str(output), "1", "2", "4"])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot resume: the recorded 'problem' differs" in done.stderr
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in output.rglob("*") if p.is_file()}
    assert after == before


def test_output_holds_no_code_executing_format(tmp_path: Path) -> None:
    """Resume reads run.json and the CSV journals only: nothing pickled is written or read."""
    output = tmp_path / "out"
    assert run_main(["-o", str(output), "1", "2", "3"]).returncode == 0
    kinds = {p.suffix for p in output.rglob("*") if p.is_file()}
    assert kinds <= {".csv", ".json", ".txt", ".result", ".png"}
    loaders = re.compile(r"\b(pickle|joblib|shelve|marshal|dill|np\.load|skopt\.load|eval|exec)\b")
    for source in BUNDLE.glob("*.py"):
        found = loaders.findall(source.read_text())
        assert not found, f"{source.name} uses {found}: no code-executing format from OUTPUT"


def test_resume_keeps_the_recorded_surrogate_unless_the_cfg_names_one(tmp_path: Path) -> None:
    """A search begun under the old default (RF) goes on with RF; a cfg's own choice stands."""
    run = {"optimizer": {"base_estimator": "RF"}}
    plain = write_cfg(tmp_path, {"problem": {"x": {"low": 0.0, "high": 1.0}}}, "plain.json")
    named = write_cfg(tmp_path, {"problem": {"x": {"low": 0.0, "high": 1.0}},
                                 "optimizer": {"base_estimator": "ET"}}, "named.json")
    assert Resume.resume_config(str(tmp_path), str(plain), run).optimizer["base_estimator"] == "RF"
    assert Resume.resume_config(str(tmp_path), None, run).optimizer["base_estimator"] == "RF"
    assert Resume.resume_config(str(tmp_path), str(named), run).optimizer["base_estimator"] == "ET"
    assert Resume.resume_config(str(tmp_path), str(plain), {}).optimizer["base_estimator"] == "GP"
