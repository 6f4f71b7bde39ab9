# TEST PLOTS PY
# The PNGs do not mislead: convergence marks the first task a model chose
# (started.csv's origin), nothing for an all-random search (DUMMY, any
# case), failed tasks off the value axis; objective has one colour scale
# with a colour bar, a band on its 1-D panels, integer ticks on integer
# axes; timeline ends a running task at its log's last write; a full disk
# leaves no NAME.png.tmp behind (a real tmpfs, as test_disk.py).

import csv
import io
import os
from pathlib import Path

import pytest
from matplotlib.collections import PolyCollection
from test_disk import mount_tmpfs
from test_report import PROBLEM, ROWS, T0, make_output

import Layout
import Report
from Results import started_columns


def write_started(folder: Path, origins: dict[int, str], running: tuple[int, ...] = ()) -> None:
    """started.csv for ROWS (and `running` ids with no result), with each point's origin."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(started_columns(["drop", "batch_size"]))
    for row in ROWS:
        writer.writerow([row[0], f"{T0 + row[5]:.3f}", row[7], 1000 + row[0], row[3], row[4],
                         origins.get(row[0], "random")])
    for number in running:
        writer.writerow([number, f"{T0 + 95:.3f}", 1, 1000 + number, 0.5, 64, "model"])
    (folder / "started.csv").write_text(buffer.getvalue())


def marks(summary: Report.ReportSummary) -> list[str]:
    ax = summary.figures["convergence"].axes[0]
    return [line.get_label() for line in ax.lines if line.get_linestyle() == ":"]


@pytest.mark.parametrize("estimator", ["DUMMY", "dummy", "Dummy"])
def test_dummy_search_has_no_random_phase_mark(tmp_path: Path, estimator: str) -> None:
    run = {"problem": PROBLEM, "optimizer": {"base_estimator": estimator,
                                             "n_initial_points": 4}}
    output = make_output(tmp_path / "out", run=run)
    summary = Report.write_report(str(output), out=io.StringIO())
    assert summary.notes["convergence"] is None
    assert marks(summary) == []
    write_started(output, {})  # with origins too: all random, nothing to mark
    summary = Report.write_report(str(output), out=io.StringIO())
    assert marks(summary) == []


def test_convergence_marks_the_first_task_a_model_chose(tmp_path: Path) -> None:
    run = {"problem": PROBLEM, "optimizer": {"base_estimator": "GP", "n_initial_points": 4}}
    output = make_output(tmp_path / "out", run=run)
    # at concurrency 2 the model's first point is task 6, not n_initial_points=4
    write_started(output, {n: "model" for n in range(6, 15)} | {9: "again"})
    summary = Report.write_report(str(output), out=io.StringIO())
    assert summary.first_model == 6
    assert marks(summary) == ["first task a model chose (task 6)"]
    ax = summary.figures["convergence"].axes[0]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [5.5]
    # origins recorded but no model point yet: no mark (not n_initial_points)
    write_started(output, {})
    assert marks(Report.write_report(str(output), out=io.StringIO())) == []
    # an older folder without the origin column: the end of the random phase, as before
    (output / "started.csv").unlink()
    assert marks(Report.write_report(str(output), out=io.StringIO())) == [
        "end of the random phase (n_initial_points=4)"]


def test_failed_tasks_are_not_drawn_at_a_value(tmp_path: Path) -> None:
    summary = Report.write_report(str(make_output(tmp_path / "out")), out=io.StringIO())
    ax = summary.figures["convergence"].axes[0]
    failed = {r[0] for r in ROWS if r[1] != "ok"}
    found = set()
    for points in ax.collections:
        if "no objective" in str(points.get_label()):
            # on the task axis (x in data, y in axes fraction), below the plot area
            assert points.get_offset_transform() is ax.get_xaxis_transform()
            offsets = points.get_offsets()
            assert all(y < 0 for y in offsets[:, 1])
            found |= {int(x) for x in offsets[:, 0]}
    assert found == failed
    legend = ax.get_legend()
    assert legend is not None and legend.get_bbox_to_anchor().x0 > ax.bbox.x1  # beside the data


def test_objective_has_one_colour_scale_and_bands(tmp_path: Path) -> None:
    problem = {"drop": {"low": 0.0, "high": 0.9}, "batch_size": [16, 32, 64, 128, 256, 512]}
    summary = Report.write_report(str(make_output(tmp_path / "out",
                                                  run={"problem": problem})), out=io.StringIO())
    assert summary.notes["objective"] is None
    fig = summary.figures["objective"]
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert len(bars) == 1 and "objective" in bars[0].get_ylabel()
    panels = [a for a in fig.axes if a.get_visible() and a not in bars]
    meshes = [c for a in panels for c in a.collections if hasattr(c, "norm")
              and c.get_array() is not None and c.get_array().ndim >= 1 and c.get_cmap().name
              .startswith("viridis")]
    assert meshes and len({(m.norm.vmin, m.norm.vmax) for m in meshes}) == 1  # one scale
    bands = [c for a in panels for c in a.collections if isinstance(c, PolyCollection)
             and c.get_label() == "\u00b1 1 sd"]
    assert bands  # drop's 1-D panel
    assert fig._suptitle is not None and fig.get_layout_engine() is not None  # not clipped


def test_integer_axis_has_integer_ticks(tmp_path: Path) -> None:
    problem = {"drop": {"low": 0.0, "high": 0.9}, "batch_size": {"low": 16, "high": 29}}
    rows = [(*r[:4], 16 + r[0] % 14, *r[5:]) for r in ROWS]
    summary = Report.write_report(str(make_output(tmp_path / "out", rows=rows,
                                                  run={"problem": problem})),
                                  out=io.StringIO())
    fig = summary.figures["objective"]
    fig.canvas.draw()
    axes = [a for a in fig.axes if a.get_visible() and a.get_xlabel() == "batch_size"]
    assert axes
    for ax in axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_running_task_ends_at_its_logs_last_write(tmp_path: Path) -> None:
    output = make_output(tmp_path / "out")
    write_started(output, {}, running=(15,))
    log = Layout.output_file(str(output), 15)
    os.makedirs(os.path.dirname(log))
    Path(log).write_text("epoch 1\n")
    os.utime(log, (T0 + 97.0, T0 + 97.0))
    summary = Report.write_report(str(output), out=io.StringIO())
    (task,) = summary.running
    assert task.end == pytest.approx(T0 + 97.0)
    ax = summary.figures["timeline"].axes[0]
    (bars,) = [c for c in ax.collections if c.get_hatch() == "//"]
    (path,) = bars.get_paths()
    assert max(path.vertices[:, 0]) == pytest.approx(97.0)  # seconds since the first start


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 256 KiB tmpfs (skipped when it cannot be mounted)."""
    yield from mount_tmpfs(tmp_path / "disk", "size=256k")


def test_full_disk_leaves_no_tmp_png(tiny_disk: Path) -> None:
    output = make_output(tiny_disk / "out")
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # the rest of the disk
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        Report.write_report(str(output), out=io.StringIO(), err=io.StringIO())
    assert [p.name for p in output.iterdir() if p.name.endswith(".tmp")] == []
    assert [p.name for p in output.iterdir() if p.suffix == ".png"] == []


def test_plots_follow_direction_max(tmp_path: Path) -> None:
    import numpy as np

    output = make_output(tmp_path / "out", run={"problem": PROBLEM, "direction": "max"})
    summary = Report.write_report(str(output), out=io.StringIO())
    ax = summary.figures["convergence"].axes[0]
    ok = sorted((r[0], r[2]) for r in ROWS if r[1] == "ok")
    best_line = next(line for line in ax.lines if line.get_label() == "best so far")
    assert list(best_line.get_ydata()) == pytest.approx(
        np.maximum.accumulate([value for _, value in ok]))
    assert "higher is better" in ax.get_ylabel()
    fig = summary.figures["objective"]
    (bar,) = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert "higher is better" in bar.get_ylabel()


def test_objective_two_parameters_reads_whole(tmp_path: Path) -> None:
    # the legend in the empty top-right panel (off the data), the title in lines that fit,
    # a band that never goes under 0 when no objective did, pruned tasks said left out
    rows = [*ROWS[:-1], (ROWS[-1][0], "pruned", None, *ROWS[-1][3:])]
    summary = Report.write_report(str(make_output(tmp_path / "out", rows=rows,
                                                  run={"problem": PROBLEM})), out=io.StringIO())
    fig = summary.figures["objective"]
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    panels = [a for a in fig.axes if a not in bars]
    corner = panels[1]  # row 0, column 1
    assert not corner.axison and corner.get_legend() is not None
    assert [a for a in panels if a is not corner and a.get_legend() is not None] == []
    title = fig._suptitle.get_text()
    assert "1 pruned task(s) left out" in title
    assert max(len(line) for line in title.splitlines()) <= fig.get_figwidth() * 11
    bands = [c for a in panels for c in a.collections if isinstance(c, PolyCollection)
             and c.get_label() == "\u00b1 1 sd"]
    assert bands and min(float(p.vertices[:, 1].min()) for b in bands
                         for p in b.get_paths()) >= 0.0
    assert bars[0].get_ylabel() == "objective (lower is better)"
