# TEST REPORT PY
# The report's numbers against a results.csv made for the test, a torn
# last line, a folder still being written, the PNGs (valid images of a
# sensible size that show the data), bad input (exit 2, one line), and
# the digits example's task script run on its own and under main.sh.

import csv
import io
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BUNDLE, read_results, run_main

import Layout
import Plots
import Report
from Progress import read_curves

T0 = 1_700_000_000.0
NAMES = ["drop", "batch_size"]
PROBLEM = {"drop": {"low": 0.0, "high": 0.9}, "batch_size": [16, 32, 64, 128, 256, 512]}
# id, status, objective, drop, batch_size, start (s after T0), end, slot.
# Slot 0 is busy from 0 to 100 s, slot 1 from 0 to 50 s: utilization
# = 150 task-seconds / (2 slots x 100 s) = 0.75.
ROWS = [
    (0, "ok", 0.50, 0.10, 32, 0, 10, 0),
    (1, "ok", 0.40, 0.80, 64, 0, 10, 1),
    (2, "ok", 0.35, 0.30, 16, 10, 20, 0),
    (3, "failed", None, 0.55, 512, 10, 20, 1),
    (4, "ok", 0.20, 0.25, 64, 20, 30, 0),
    (5, "ok", 0.90, 0.05, 256, 20, 30, 1),
    (6, "ok", 0.20, 0.45, 128, 30, 40, 0),
    (7, "timeout", None, 0.70, 16, 30, 40, 1),
    (8, "ok", 0.15, 0.35, 64, 40, 50, 0),
    (9, "ok", 0.60, 0.60, 32, 40, 50, 1),
    (10, "ok", 0.12, 0.32, 64, 50, 60, 0),
    (11, "ok", 0.30, 0.20, 128, 60, 70, 0),
    (12, "killed", None, 0.85, 512, 70, 80, 0),
    (13, "ok", 0.11, 0.28, 32, 80, 90, 0),
    (14, "ok", 0.70, 0.75, 256, 90, 100, 0),
]
BEST_10 = [13, 10, 8, 4, 6, 11, 2, 1, 0, 9]  # by objective; the tie at 0.20 by id
HEADER = ["id", "status", "objective", "seconds", *NAMES,
          "start", "end", "slot", "pid", "exit_code", "reason"]


def csv_line(row: tuple) -> str:
    number, status, objective, drop, batch, start, end, slot = row
    buffer = io.StringIO()
    reason = "" if status == "ok" else f"{status}, see {number:04d}.txt"
    csv.writer(buffer, lineterminator="\n").writerow(
        [number, status, "" if objective is None else repr(objective), f"{end - start:.3f}",
         drop, batch, f"{T0 + start:.3f}", f"{T0 + end:.3f}", slot, 1000 + number,
         0 if status == "ok" else 1, reason])
    return buffer.getvalue()


def make_output(folder: Path, rows: list[tuple] = ROWS, run: dict | None = None) -> Path:
    """An OUTPUT folder holding results.csv with `rows` (and run.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = ",".join(HEADER) + "\n" + "".join(csv_line(r) for r in rows)
    (folder / "results.csv").write_text(text)
    if run is not None:
        (folder / "run.json").write_text(json.dumps(run))
    return folder


def report(folder: Path, **kwargs) -> tuple[Report.ReportSummary, str]:
    out = io.StringIO()
    summary = Report.write_report(str(folder), out=out, **kwargs)
    return summary, out.getvalue()


def run_report_sh(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run([str(BUNDLE / "report.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk; fails unless the file is a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_pngs(output: Path) -> None:
    """Every plot is a PNG, but intermediate.png, which exists only with values to draw,
    and pareto.png, only with several objectives (none of these searches has them)."""
    drawn = {"intermediate": bool(read_curves(str(output))), "pareto": False}
    assert set(drawn) == set(Plots.ONLY_WITH_DATA)
    for name in Report.PLOTS:
        if not drawn.get(name, True):
            assert not (output / f"{name}.png").exists(), name  # no placeholder image
        else:
            check_png(output / f"{name}.png")


def check_png(path: Path) -> np.ndarray:
    """A valid PNG of a sensible size that is not blank; returns its pixels."""
    import matplotlib.image

    width, height = png_size(path)
    assert 400 <= width <= 2500 and 250 <= height <= 2500, (path, width, height)
    pixels = matplotlib.image.imread(str(path))
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05, f"{path} looks blank"
    return pixels


# ---- the numbers -------------------------------------------------------------

def test_numbers_against_a_made_results_csv(tmp_path: Path) -> None:
    output = make_output(tmp_path / "out", run={"problem": PROBLEM})
    summary, text = report(output)
    assert summary.params == NAMES
    assert summary.counts == {"ok": 12, "failed": 1, "timeout": 1, "killed": 1, "pruned": 0}
    assert [r.id for r in summary.best] == BEST_10
    assert summary.total_seconds == pytest.approx(150.0)
    assert summary.wall_seconds == pytest.approx(100.0)
    assert summary.concurrency == 2
    assert summary.utilization == pytest.approx(0.75)
    lines = text.splitlines()
    assert "tasks: 15 finished (ok 12, failed 1, timeout 1, killed 1, pruned 0)" in text
    assert "total task time: 150.0 s" in lines
    assert "wall time: 100.0 s" in lines
    assert "utilization: 75.0 % = 150.0 s of tasks / (2 slots x 100.0 s)" in lines
    table = lines.index(next(line for line in lines if line.startswith("best 10 of 12")))
    assert lines[table + 1].split() == ["id", "objective", "drop", "batch_size", "seconds"]
    body = [line.split() for line in lines[table + 2:table + 12]]
    assert [int(cells[0]) for cells in body] == BEST_10
    assert body[0] == ["13", "0.11", "0.28", "32", "10.0"]


def test_top_option_and_no_plots(tmp_path: Path) -> None:
    output = make_output(tmp_path / "out")
    summary, text = report(output, top=3, plots=False)
    assert [r.id for r in summary.best] == BEST_10[:3]
    assert "best 3 of 12 ok tasks" in text
    assert not list(output.glob("*.png"))


def test_torn_last_line_is_ignored_with_one_warning(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    output = make_output(tmp_path / "out")
    with open(output / "results.csv", "a") as stream:
        stream.write(csv_line((15, "ok", 0.01, 0.3, 64, 100, 101, 1))[:25])  # crash mid-row
    summary, _ = report(output, plots=False)
    assert 15 not in [r.id for r in summary.rows]
    assert summary.counts["ok"] == 12
    assert summary.best[0].id == 13
    warnings = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(warnings) == 1 and "torn" in warnings[0]


def test_folder_still_being_written(tmp_path: Path) -> None:
    output = make_output(tmp_path / "out", rows=ROWS[:4])
    with open(output / "started.csv", "w") as stream:
        stream.write("id,start,slot,pid,drop,batch_size\n")
        stream.writelines(f"{row[0]},{T0 + row[5]:.3f},{row[7]},{1000 + row[0]},0.5,64\n"
                          for row in ROWS[:6])
        stream.write("6,17")  # being appended right now
    summary, text = report(output)
    assert [r.id for r in summary.running] == [4, 5]
    assert "4 finished (ok 3, failed 1, timeout 0, killed 0, pruned 0), " \
        "2 running or unfinished" in text
    timeline = summary.figures["timeline"].axes[0]
    assert sum(len(c.get_paths()) for c in timeline.collections) == 6  # a bar per task, running too
    check_pngs(output)


def test_header_only_and_empty_results_csv(tmp_path: Path) -> None:
    for text in (",".join(HEADER) + "\n", ""):
        output = tmp_path / f"out{len(text)}"
        output.mkdir()
        (output / "results.csv").write_text(text)
        summary, report_text = report(output)
        assert summary.counts == {"ok": 0, "failed": 0, "timeout": 0, "killed": 0, "pruned": 0}
        assert "best: no ok task yet" in report_text
        assert "utilization: n/a" in report_text
        for name in Report.PLOTS:
            assert summary.notes[name], name  # a message instead of a plot
        check_pngs(output)


# ---- the plots ---------------------------------------------------------------

def test_pngs_show_the_data(tmp_path: Path) -> None:
    output = make_output(tmp_path / "out", run={"problem": PROBLEM,
                                                 "optimizer": {"n_initial_points": 4}})
    summary, text = report(output)
    assert summary.notes == {"convergence": None, "objective": None, "timeline": None,
                             "intermediate": "no task reported intermediate values "
                                             "(PROGRESS lines or progress_pattern)",
                             "pareto": "the search has one objective (cfg `objectives` names "
                                       "several)"}
    for name, path in summary.plots.items():
        assert path == str(output / f"{name}.png")
        assert f"  {path}  " in text
    check_pngs(output)
    assert f"intermediate.png  not written: {summary.notes['intermediate']}" in text
    # convergence: the best-so-far line, in task id order, over the ok tasks
    ax = summary.figures["convergence"].axes[0]
    ok = sorted((r[0], r[2]) for r in ROWS if r[1] == "ok")
    best_line = next(line for line in ax.lines if line.get_label() == "best so far")
    assert list(best_line.get_xdata()) == [number for number, _ in ok]
    assert list(best_line.get_ydata()) == pytest.approx(
        np.minimum.accumulate([value for _, value in ok]))
    assert any("n_initial_points=4" in line.get_label() for line in ax.lines)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    # objective: one partial dependence panel per parameter, labelled
    fig = summary.figures["objective"]
    labels = {a.get_xlabel() for a in fig.axes} | {a.get_ylabel() for a in fig.axes}
    assert set(NAMES) <= labels
    # timeline: one bar per task, one row per slot
    ax = summary.figures["timeline"].axes[0]
    assert sum(len(c.get_paths()) for c in ax.collections) == len(ROWS)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]
    assert "utilization 75 %" in ax.get_title()


def test_objective_plot_degrades_gracefully(tmp_path: Path) -> None:
    one_ok = [ROWS[0], ROWS[3]]
    summary, _ = report(make_output(tmp_path / "one", rows=one_ok))
    assert "at least 2" in summary.notes["objective"]
    assert summary.notes["convergence"] is None
    check_png(tmp_path / "one" / "objective.png")
    # batch_size constant: a single varying parameter, drawn as a curve
    same_batch = [(*r[:4], 64, *r[5:]) for r in ROWS]
    summary, _ = report(make_output(tmp_path / "flat", rows=same_batch))
    assert summary.notes["objective"] is None
    ax = summary.figures["objective"].axes[0]
    assert ax.get_xlabel() == "drop"
    check_png(tmp_path / "flat" / "objective.png")


def test_space_from_run_json_or_inferred(tmp_path: Path) -> None:
    from skopt.space import Categorical, Integer, Real

    rows = Report.read_rows(str(make_output(tmp_path / "out")))[1]
    space = Plots.problem_space(NAMES, rows, {"problem": PROBLEM}).space
    assert isinstance(space.dimensions[0], Real) and space.dimensions[0].bounds == (0.0, 0.9)
    assert isinstance(space.dimensions[1], Categorical)
    assert list(space.dimensions[1].categories) == [16, 32, 64, 128, 256, 512]
    inferred = Plots.problem_space(NAMES, rows, {}).space
    assert isinstance(inferred.dimensions[0], Real)
    assert inferred.dimensions[0].bounds == (0.05, 0.85)
    assert isinstance(inferred.dimensions[1], Integer)
    assert inferred.dimensions[1].prior == "uniform"


# ---- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("case", ["missing", "empty-folder", "wrong-header", "no-argument"])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "out"
    if case != "missing":
        folder.mkdir()
    if case == "wrong-header":
        (folder / "results.csv").write_text("a,b,c\n1,2,3\n")
    result = run_report_sh() if case == "no-argument" else run_report_sh(str(folder))
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("report.sh: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_report_sh_help_and_success(tmp_path: Path) -> None:
    result = run_report_sh("-h")
    assert result.returncode == 0 and result.stdout.startswith("usage: report.sh")
    output = make_output(tmp_path / "out", run={"problem": PROBLEM})
    result = run_report_sh(str(output))
    assert result.returncode == 0, result.stderr
    assert "utilization: 75.0 %" in result.stdout
    check_pngs(output)


# ---- the digits example --------------------------------------------------------

DIGITS_POINT = {"hidden_layer_size": 32, "alpha": 1e-4, "learning_rate_init": 3e-3,
                "batch_size": 64}


def run_digits(tmp_path: Path, params: dict, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHON=sys.executable, TASK_RESULT=str(tmp_path / "0000.result"),
                LAUNCH="", TASK_ID="0", OUTPUT=str(tmp_path), PARALLELISM="1")
    full.pop("DRYRUN", None)
    full.update(env)
    return subprocess.run([str(BUNDLE / "tasks" / "digits.sh"), "1", json.dumps(params)],
                          env=full, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)


def test_digits_task_trains_and_writes_a_loss(tmp_path: Path) -> None:
    launcher = tmp_path / "launcher.sh"  # a LAUNCH prefix that leaves a mark
    launcher.write_text(f'#!/bin/bash\ntouch "{tmp_path}/launched"\nexec "$@"\n')
    launcher.chmod(0o755)
    result = run_digits(tmp_path, DIGITS_POINT, LAUNCH=str(launcher))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "launched").exists()
    loss = float((tmp_path / "0000.result").read_text())
    assert math.isfinite(loss) and 0 < loss < 2.3  # better than guessing 1 of 10 digits
    assert "validation accuracy" in result.stdout


def test_digits_task_dryrun_and_bad_params(tmp_path: Path) -> None:
    result = run_digits(tmp_path, DIGITS_POINT, DRYRUN="1", LAUNCH="mpiexec -n 2")
    assert result.returncode == 0, result.stderr
    assert "DRYRUN: would run: mpiexec -n 2 " in result.stdout
    value = float((tmp_path / "0000.result").read_text())
    assert 0 < value < 1
    again = run_digits(tmp_path, DIGITS_POINT, DRYRUN="1")
    assert float((tmp_path / "0000.result").read_text()) == value  # same params, same value
    bad = run_digits(tmp_path, {"hidden_layer_sise": 32})
    assert bad.returncode == 2 and again.returncode == 0
    assert "unknown parameter 'hidden_layer_sise'" in bad.stderr


def test_digits_search_writes_report_and_plots(tmp_path: Path) -> None:
    output = tmp_path / "digits"
    result = run_main(["-c", "digits-1.json", "-o", str(output), "1", "2", "6"], timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_results(output)
    # digits-1.json prunes: a hopeless 5th or 6th task may end early (docs/steering.adoc, Pruning)
    assert len(rows) == 6 and {r["status"] for r in rows} <= {"ok", "pruned"}
    assert all(0 < float(r["objective"]) < 10 for r in rows)
    tail = result.stdout.splitlines()[-len(Report.PLOTS) - 4:]
    check_pngs(output)
    for name in Report.PLOTS:
        assert any(str(output / f"{name}.png") in line for line in tail), tail
    report_sh = run_report_sh(str(output))
    ok = sum(r["status"] == "ok" for r in rows)
    assert report_sh.returncode == 0 and f"best {ok} of {ok} ok tasks" in report_sh.stdout


def test_digits_dryrun_search_and_the_docs_of_the_example(tmp_path: Path) -> None:
    output = tmp_path / "digits-dry"
    result = run_main(["-c", "digits-1.json", "-o", str(output), "1", "2", "8"],
                      env={"DRYRUN": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_results(output)
    assert len(rows) == 8 and all(0 < float(r["objective"]) < 1 for r in rows)
    assert "DRYRUN: would run: " in Path(Layout.output_file(str(output), 0)).read_text()
    walkthrough = (BUNDLE / "docs" / "digits.adoc").read_text()  # the walk-through's page
    assert (BUNDLE / "digits-1.json").read_text() in walkthrough  # the cfg shown is the cfg
    # shown in "Reading the plots", and pareto.png with several objectives
    its_plots = (BUNDLE / "docs" / "steering.adoc").read_text() \
        + (BUNDLE / "docs" / "objectives.adoc").read_text()
    for name in Report.PLOTS:
        assert f"image::{name}.png[" in its_plots
        check_png(BUNDLE / "docs" / f"{name}.png")


def test_surrogate_sample_is_bounded_and_keeps_the_best() -> None:
    """Thousands of rows must not reach the O(n^3) Gaussian process."""
    from Plots import SURROGATE_POINTS, surrogate_sample

    pairs = [([k], float((k * 7919) % 5000)) for k in range(5000)]
    sample = surrogate_sample(pairs)
    assert len(sample) == SURROGATE_POINTS
    best = sorted(pairs, key=lambda p: p[1])[:SURROGATE_POINTS // 3]
    assert all(p in sample for p in best)
    assert [p[0][0] for p in sample] == sorted(p[0][0] for p in sample)  # order kept
    assert surrogate_sample(pairs[:50]) == pairs[:50]


def test_a_categorical_value_over_the_csv_field_limit(tmp_path: Path) -> None:
    """A value of 200 KB (csv's reader stops at 131072 characters by default) is
    reported like any other: the report reads every row the journal wrote."""
    from Results import Journal, results_columns

    output = tmp_path / "out"
    output.mkdir()
    journal = Journal(Layout.path(str(output), Layout.RESULTS), results_columns(["c"]))
    big = "v" * 200_000
    journal.append([{"id": i, "status": "ok", "objective": 0.1 * i, "seconds": 1, "c": c,
                     "start": T0 + i, "end": T0 + i + 1, "slot": 0, "pid": 1, "exit_code": 0,
                     "reason": ""} for i, c in enumerate(["small", big])])
    journal.close()
    summary = Report.write_report(str(output), out=io.StringIO(), plots=False)
    assert [r.params["c"] for r in summary.best] == ["small", big]
