# TEST TASK DIRS PY
# Every task runs in its own working directory (Layout.task_dir): the
# README's own minimal task, which writes train.log into its working
# directory and greps it, run verbatim at concurrency 8, records every
# task's own value.

import math
import os
import re
from pathlib import Path

from conftest import BUNDLE, read_results, run_main, write_cfg

import Layout
from TaskNumbers import TaskNumbers

# A stand-in for the README's $HOME/my-model/train.py: prints its epochs
# slowly (so that tasks overlap), the last val_loss a function of the point.
TRAIN_PY = """
import argparse, json, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--params")
params = json.loads(parser.parse_args().params)
value = params["drop"] + params["batch_size"] / 1000
for epoch in range(5):
    print(f"epoch {epoch}: val_loss: {value + 1 - epoch / 4:.6f}", flush=True)
    time.sleep(0.05)
"""


def readme_minimal_task() -> str:
    """The minimal task script exactly as README.adoc shows it."""
    readme = (BUNDLE / "README.adoc").read_text()
    found = re.search(r"A minimal task script:\n\n\[source,bash\]\n----\n(.*?)\n----\n",
                      readme, flags=re.DOTALL)
    assert found, "README.adoc no longer shows its minimal task script"
    return found.group(1) + "\n"


def test_the_readme_task_at_concurrency_8_records_each_tasks_own_value(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "my-model").mkdir(parents=True)
    (home / "my-model" / "train.py").write_text(TRAIN_PY)
    script = tmp_path / "my-task.sh"
    script.write_text(readme_minimal_task())
    script.chmod(0o755)
    assert "> train.log" in script.read_text()
    out = tmp_path / "out"
    cfg = write_cfg(tmp_path, {"script": str(script)})
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "8", "32"], env={"HOME": str(home)},
                    timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_results(out)
    assert len(rows) == 32 and {r["status"] for r in rows} == {"ok"}
    for row in rows:
        own = float(row["drop"]) + int(row["batch_size"]) / 1000
        assert math.isclose(float(row["objective"]), own, abs_tol=1e-6), row
        folder = Path(Layout.task_dir(str(out), int(row["id"])))
        assert (folder / "train.log").exists()
        assert (folder / f"{int(row['id']):04d}.txt").exists()
    assert not (out / "train.log").exists()


def test_a_turns_numbers_cost_one_mkdir_each_and_a_number_given_back_is_taken_next(
        tmp_path: Path, monkeypatch) -> None:
    """A turn takes all its numbers before its tasks start (Spawner): each take is one
    mkdir, not one more per number taken before it in the turn."""
    made: list[str] = []
    mkdir = os.mkdir
    monkeypatch.setattr(os, "mkdir",
                        lambda path, *args, **kwargs: made.append(path) or mkdir(path, *args,
                                                                                 **kwargs))
    numbers = TaskNumbers(str(tmp_path), 0)
    assert [numbers.take() for _ in range(3)] == [0, 1, 2]
    folders = {Layout.task_dir(str(tmp_path), task_id) for task_id in range(9)}
    assert len([path for path in made if path in folders]) == 3  # its shard's aside
    for task_id in (0, 1):
        numbers.started(task_id)
    numbers.give_back(2)  # its launch failed: no folder, and the number is the next one
    assert not os.path.exists(Layout.task_dir(str(tmp_path), 2))
    assert numbers.take() == 2
    numbers.started(2)
    assert numbers.take() == 3


def test_a_number_given_back_below_one_that_started_is_taken_again(tmp_path: Path) -> None:
    """A turn's tasks start at once (Spawner): under a process limit task 1 may be refused
    while task 2 starts; 1 is the next number all the same, and none is left unused."""
    numbers = TaskNumbers(str(tmp_path), 0)
    assert [numbers.take() for _ in range(3)] == [0, 1, 2]
    numbers.started(0)
    numbers.give_back(1)
    numbers.started(2)
    assert [numbers.take() for _ in range(2)] == [1, 3]
    numbers.give_back(3)
    os.mkdir(Layout.task_dir(str(tmp_path), 3))  # another driver of a joined search took it
    assert numbers.take() == 4
