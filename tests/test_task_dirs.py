# TEST TASK DIRS PY
# Every task runs in its own working directory (Layout.task_dir): the
# README's own minimal task, which writes train.log into its working
# directory and greps it, run verbatim at concurrency 8, records every
# task's own value.

import math
import re
from pathlib import Path

from conftest import BUNDLE, read_results, run_main, write_cfg

import Layout

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
