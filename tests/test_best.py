# TEST BEST
# The best point, out: OUTPUT/best.json kept up to date by the driver as the
# best changes (each task sees the best of those before it), `report.sh
# --best` (the point exactly as the task received it), `--csv` and
# `--top K --csv` (results.csv's columns), the best table's metrics, and no
# ETA for a search whose driver is gone.

import csv
import io
import json
import subprocess

from conftest import BUNDLE, read_results, run_main, run_task, write_script

import Report

# one task at a time: task N records the best.json it finds, then reports a value
VALUES = [0.5, 0.3, 0.7, 0.2, 0.25, 0.9, 0.1, 0.8]  # the first search runs 5
TASK = f"""
cp "$OUTPUT/best.json" "$OUTPUT/../seen-$TASK_ID" 2>/dev/null || true
printf '%s' "$2" > "$OUTPUT/../params-$TASK_ID"
values=({' '.join(map(str, VALUES))})
echo "{{\\"objective\\": ${{values[$TASK_ID]}}, \\"val_loss\\": 1.$TASK_ID}}" > "$TASK_RESULT"
"""
PROBLEM = {"lr": {"low": 1e-5, "high": 1.0, "prior": "log-uniform"}, "units": [16, 32, 64],
           "act": ["relu", "tanh"], "layers": {"low": 1, "high": 5}}


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BUNDLE / "report.sh"), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def search(tmp_path):
    script = write_script(tmp_path, TASK)
    done, out = run_task(tmp_path, script, points_max=5, concurrency=1,
                         via="main.py", problem=PROBLEM, metrics=["val_loss"])
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_best_json_follows_the_best_and_report_gives_the_point(tmp_path):
    out = search(tmp_path)
    sent = [(tmp_path / f"params-{i}").read_text() for i in range(5)]
    # best.json as each task found it at its start: the best of the tasks before it
    assert not (tmp_path / "seen-0").exists()
    best_before = [None, 0, 1, 1, 3]
    for task_id, best in enumerate(best_before[1:], start=1):
        seen = json.loads((tmp_path / f"seen-{task_id}").read_text())
        assert seen == {"id": best, "objective": VALUES[best],
                        "params": json.loads(sent[best]), "metrics": {"val_loss": 1 + best / 10}}
    final = json.loads((out / "best.json").read_text())
    assert final["id"] == 3 and final["params"] == json.loads(sent[3])
    assert not list(out.glob("*.partial"))

    best = report(str(out), "--best")
    assert best.returncode == 0, best.stderr
    assert best.stdout == sent[3] + "\n"  # byte for byte the task's PARAMS

    table = report(str(out), "--csv")
    assert table.returncode == 0, table.stderr
    assert table.stdout == (out / "results.csv").read_text()
    top = report(str(out), "--top", "2", "--csv")
    rows = list(csv.DictReader(io.StringIO(top.stdout)))
    assert [r["id"] for r in rows] == ["3", "4"]
    assert rows == [r for r in read_results(out) if r["id"] in ("3", "4")]
    assert rows[0]["val_loss"] == "1.3"


def test_best_table_shows_the_metrics(tmp_path):
    out = search(tmp_path)
    text = io.StringIO()
    Report.write_report(str(out), out=text, plots=False)
    lines = text.getvalue().splitlines()
    head = lines.index("best 5 of 5 ok tasks (lower is better):")
    assert lines[head + 1].split() == ["id", "objective", "val_loss", "lr", "units", "act",
                                       "layers", "seconds"]
    assert lines[head + 2].split()[:3] == ["3", "0.2", "1.3"]
    # the driver is gone: a stopped search has no ETA
    run = json.loads((out / "run.json").read_text())
    run["points_max"] = 9
    (out / "run.json").write_text(json.dumps(run))
    text = io.StringIO()
    Report.write_report(str(out), out=text, plots=False)
    assert "progress: done 5 of 9 (POINTS_MAX); stopped (no driver runs it): resume it to " \
        "go on" in text.getvalue().splitlines()
    assert "ETA" not in text.getvalue()


def test_refusals(tmp_path):
    script = write_script(tmp_path, "exit 3")
    out = run_task(tmp_path, script, via="main.py")[1]
    best = report(str(out), "--best")
    assert (best.returncode, best.stdout) == (2, "")
    assert best.stderr == f"report.sh: error: OUTPUT {out}: no ok task yet, so no best point\n"
    both = report(str(out), "--best", "--csv")
    assert both.returncode == 2
    assert both.stderr.splitlines()[-1] == ("report.sh: error: --best, --csv and --optuna: "
                                            "expected one of them (see report.sh -h)")


def test_a_resumed_search_keeps_the_earlier_best(tmp_path):
    out = search(tmp_path)
    done = run_main(["--resume", "-o", str(out), "1", "1", "8"], via="main.py")
    assert done.returncode == 0, done.stdout + done.stderr
    # task 5 (0.9) is worse than the earlier runs' best (task 3, 0.2): best.json stays
    assert json.loads((tmp_path / "seen-6").read_text())["id"] == 3
    final = json.loads((out / "best.json").read_text())
    assert (final["id"], final["objective"]) == (6, 0.1)
    assert final["params"] == json.loads((tmp_path / "params-6").read_text())
