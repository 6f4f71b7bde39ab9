# TEST OBJECTIVES
# Several objectives and constraints (issue 21): Objectives.py's record on its
# own (the Pareto set, minimized vectors, feasibility by status and by
# constraint), then with real tasks writing two metrics: the Pareto set in the
# summary, the report and `report.sh --best`, constraint-breaking and failed
# tasks never in it, resume, and the cfgs refused in one line.

import io
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    BUNDLE,
    read_results,
    run_main,
    run_task,
    sync_as_another_driver,
    write_cfg,
    write_script,
)

import Objectives
import Plots
import Report
from Config import load_config
from Objectives import Constraint, Objective, pareto_indices
from Status import Status
from Tally import Best, Standing, Tally, status_line

TWO = Objectives.Objectives((Objective("val_loss"), Objective("accuracy", "max")),
                            (Constraint("gpu_mem_gb", high=40),), several=True)


def dominated(u, v) -> bool:
    """True when v dominates u (all minimized)."""
    return all(b <= a for a, b in zip(u, v)) and any(b < a for a, b in zip(u, v))


def test_pareto_indices_keep_exactly_the_non_dominated() -> None:
    rng = random.Random(7)
    for size in (0, 1, 2, 5, 40):
        for width in (1, 2, 3):
            vectors = [tuple(rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(width))
                       for _ in range(size)]
            expected = [i for i, u in enumerate(vectors)
                        if not any(dominated(u, v) for v in vectors) and u not in vectors[:i]]
            assert pareto_indices(vectors) == expected


def test_pareto_indices_keep_the_first_of_equal_vectors() -> None:
    assert pareto_indices([(2, 2), (1, 2), (1, 2), (2, 1), (1, 3)]) == [1, 3]
    assert pareto_indices([(0.5,), (0.2,), (0.2,)]) == [1]


def test_minimized_turns_a_max_objective_and_front_reads_values_as_written() -> None:
    assert TWO.minimized((0.2, 0.9)) == (0.2, -0.9)
    assert TWO.told((0.2, 0.9)) == (0.2, -0.9)
    # higher accuracy is better: (0.3, 0.95) is not dominated by (0.2, 0.9)
    assert TWO.front([(0.2, 0.9), (0.3, 0.95), (0.3, 0.8)]) == [0, 1]


def test_values_need_every_named_objective() -> None:
    assert TWO.values(None, {"val_loss": 0.2, "accuracy": 0.9}) == (0.2, 0.9)
    assert TWO.values(0.2, {"val_loss": 0.2}) is None
    assert TWO.missing({"val_loss": 0.2}) == ["accuracy"]
    single = Objectives.Objectives()
    assert single.values(0.5, {}) == (0.5,)
    assert single.told((0.5,)) == 0.5
    assert single.missing({}) == []


@pytest.mark.parametrize(("status", "metrics", "feasible"), [
    (Status.OK, {"gpu_mem_gb": 40}, True),
    (Status.OK, {"gpu_mem_gb": 41}, False),
    (Status.OK, {}, False),  # the constrained metric is missing
    (Status.FAILED, {}, False),
    (Status.TIMEOUT, {}, False),
    (Status.KILLED, {}, True),
    (Status.PRUNED, {}, True),
])
def test_feasible_by_status_and_constraint(status, metrics, feasible) -> None:
    assert TWO.feasible(status, metrics) is feasible


def test_a_failure_not_counted_infeasible_is_feasible() -> None:
    lenient = Objectives.Objectives(infeasible=(Status.TIMEOUT,))
    assert lenient.feasible(Status.FAILED, {})
    assert not lenient.feasible(Status.TIMEOUT, {})


def test_constraint_wording() -> None:
    assert Constraint("gpu_mem_gb", high=40).wording() == "gpu_mem_gb <= 40"
    assert Constraint("recall", low=0.5).wording() == "recall >= 0.5"
    assert Constraint("x", 1, 2).wording() == "1 <= x <= 2"


# -- with real tasks --------------------------------------------------------------

# task N reports VALUES[N] = (val_loss, train_seconds, gpu_mem_gb); task 3 fails, task 7
# forgets train_seconds, task 2 breaks gpu_mem_gb <= 40 (it would be on the front)
VALUES = ["0.5 10 20", "0.3 30 20", "0.1 50 60", "", "0.4 40 10", "0.2 45 30", "0.6 5 10",
          "", "0.35 20 10", "0.05 60 50"]
FRONT = [0, 1, 5, 6]  # of tasks 0-7 (4 is dominated by 1)
TWO_METRICS = f"""
values=({' '.join(f'"{v}"' for v in VALUES)})
case "$TASK_ID" in
  3) echo "out of memory"; exit 3 ;;
  7) echo '{{"val_loss": 0.01}}' > "$TASK_RESULT"; exit 0 ;;
esac
set -- ${{values[$TASK_ID]}}
echo "{{\\"val_loss\\": $1, \\"train_seconds\\": $2, \\"gpu_mem_gb\\": $3}}" > "$TASK_RESULT"
"""
# x is log-uniform: the model's columns (normalized) are not the space's own (log10)
CFG = {"problem": {"x": {"low": 1e-4, "high": 1e-1, "prior": "log-uniform"},
                   "act": ["relu", "tanh"]},
       "objectives": [{"name": "val_loss", "direction": "min"},
                      {"name": "train_seconds", "direction": "min"}],
       "constraints": [{"metric": "gpu_mem_gb", "max": 40}], "max_failures": 2}


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BUNDLE / "report.sh"), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def pareto_ids(text: str) -> list[int]:
    return [int(entry["id"]) for entry in json.loads(text)]


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    """A search of 8 tasks, one at a time (task N has the values VALUES[N])."""
    folder = tmp_path_factory.mktemp("two")
    script = write_script(folder, TWO_METRICS)
    done, out = run_task(folder, script, points_max=8, via="main.py", **CFG)
    assert done.returncode == 0, done.stdout + done.stderr
    (folder / "log").write_text(done.stdout + done.stderr)
    return out


def test_the_summary_lists_the_pareto_set_of_feasible_tasks(searched: Path) -> None:
    log = (searched.parent / "log").read_text()
    assert "pareto: 4 point(s) on the front of val_loss (lower is better), train_seconds " \
        "(lower is better)" in log
    lines = [line for line in log.splitlines() if "pareto: task " in line]
    assert [int(re.search(r"task (\d+)", line)[1]) for line in lines] == FRONT
    assert "task 0001 val_loss=0.3 train_seconds=30 gpu_mem_gb=20 x=" in lines[1]


def test_results_record_why_a_task_is_infeasible_or_not_ok(searched: Path) -> None:
    rows = {int(r["id"]): r for r in read_results(searched)}
    assert rows[2]["status"] == "ok" and rows[2]["reason"] == "infeasible: breaks gpu_mem_gb <= 40"
    assert rows[7]["status"] == "failed"
    assert rows[7]["reason"] == "result has no finite train_seconds (an objective)"
    # the objective column is the first objective; the objectives are metric columns
    assert (rows[1]["objective"], rows[1]["val_loss"], rows[1]["train_seconds"]) == \
        ("0.3", "0.3", "30.0")


def test_best_json_and_report_best_hold_the_pareto_set(searched: Path) -> None:
    assert pareto_ids((searched / "best.json").read_text()) == FRONT
    done = report(str(searched), "--best")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [e["id"] for e in entries] == FRONT
    rows = {int(r["id"]): r for r in read_results(searched)}
    first = entries[0]
    assert first["objectives"] == {"val_loss": 0.5, "train_seconds": 10.0}
    assert first["metrics"] == {"gpu_mem_gb": 20.0}
    assert first["params"] == {"x": float(rows[0]["x"]), "act": rows[0]["act"]}


def test_the_report_lists_the_pareto_set_and_draws_the_front(searched: Path) -> None:
    done = report(str(searched))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "pareto set: 4 of 5 feasible ok tasks on the front (val_loss (lower is better), " \
        "train_seconds (lower is better)):" in text
    assert "infeasible: 1 ok task(s) broke a constraint (gpu_mem_gb <= 40)" in text
    table = text.split("pareto set:")[1].splitlines()[1:6]
    assert table[0].split()[:4] == ["id", "val_loss", "train_seconds", "gpu_mem_gb"]
    assert [int(line.split()[0]) for line in table[1:]] == [5, 1, 0, 6]  # by val_loss
    assert (searched / "pareto.png").stat().st_size > 0
    csv_top = report(str(searched), "--csv", "--top", "2").stdout.splitlines()
    assert [line.split(",")[0] for line in csv_top[1:]] == ["5", "1"]


def test_convergence_and_objective_draw_each_objective(searched: Path) -> None:
    summary = Report.write_report(str(searched), out=io.StringIO())
    assert summary.notes["convergence"] is None and summary.notes["objective"] is None
    panels = summary.figures["convergence"].axes
    assert [ax.get_ylabel() for ax in panels] == ["val_loss (lower is better)",
                                                  "train_seconds (lower is better)"]
    # each panel's best so far: of the feasible ok tasks 0, 1, 4, 5, 6 (not task 2's 0.1)
    assert [ax.lines[0].get_ydata()[-1] for ax in panels] == [0.2, 5.0]
    grid = summary.figures["objective"].axes
    assert len(grid) == 2 * 2  # a row per objective, a panel per parameter
    assert [ax.get_ylabel() for ax in grid if ax.get_ylabel()] == [
        "val_loss\n(lower is better)", "train_seconds\n(lower is better)"]


def test_each_objectives_model_is_asked_in_the_columns_it_was_fitted_in(
        searched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The partial dependence's random points are encoded as the model's own (x is
    log-uniform: normalized to [0, 1] for the model, not its log10), for every row."""
    fitted, asked = [], []
    fit = Plots._surrogate

    def spied(space, points, values):
        model = fit(space, points, values)
        fitted.append(model.X_train_)
        predict = model.predict
        model.predict = lambda X, **kw: asked.append(np.asarray(X)) or predict(X, **kw)
        return model

    monkeypatch.setattr(Plots, "_surrogate", spied)
    Report.write_report(str(searched), out=io.StringIO())
    assert len(fitted) == 2 and len(asked) >= 2  # a model per objective
    for columns in (*fitted, *asked):
        assert 0.0 <= columns.min() and columns.max() <= 1.0


def test_resume_keeps_the_front_and_tells_the_search(searched: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(searched, out)
    done = run_main(["--resume", "-o", str(out), "1", "1", "10"], via="main.py")
    assert done.returncode == 0, done.stdout + done.stderr
    log = done.stdout + done.stderr
    # told: 5 feasible ok; failed points: tasks 3 and 7 (failed) and 2 (infeasible)
    assert "resume: 5 result(s) told to the search, 3 failed" in log
    # task 8 (0.35, 20) joins the front; task 9 breaks the constraint
    assert "pareto: 5 point(s) on the front" in log
    assert pareto_ids((out / "best.json").read_text()) == [0, 1, 5, 6, 8]
    assert pareto_ids(report(str(out), "--best").stdout) == [0, 1, 5, 6, 8]


def test_a_failure_not_counted_infeasible_is_forgotten(tmp_path: Path) -> None:
    script = write_script(tmp_path, TWO_METRICS)
    done, out = run_task(tmp_path, script, points_max=4, via="main.py",
                         **dict(CFG, infeasible=["timeout"]))
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = run_main(["--resume", "-o", str(out), "1", "1", "4"], via="main.py")
    # task 3 failed: not a failed point (timeout alone is infeasible); task 2 still is
    assert "resume: 2 result(s) told to the search, 1 failed" in resumed.stdout + resumed.stderr


@pytest.mark.parametrize(("cfg", "says"), [
    ({"direction": "max"}, "cfg keys 'direction' and 'objectives': expected one of them"),
    ({"pruner": {"rule": "median"}}, "cfg keys 'objectives' and 'pruner': expected one of them"),
    ({"constraints": [{"metric": "gpu_mem_gb"}]},
     "cfg key 'constraints[0]': expected a \"metric\" and a \"min\" or \"max\""),
    ({"objectives": [{"name": "x"}]}, ("cfg key 'objectives[0].name': metric name 'x' is not "
                                      "allowed")),
    ({"infeasible": ["killed"]}, ("cfg key 'infeasible': expected distinct statuses among "
                                 "failed, timeout")),
])
def test_contradictory_cfgs_are_refused_in_one_line(tmp_path: Path, cfg, says) -> None:
    path = write_cfg(tmp_path, dict(CFG, **cfg))
    done = run_main(["-c", str(path), "-o", str(tmp_path / "out"), "1", "1", "2"],
                    via="main.py")
    assert done.returncode == 2
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_the_status_line_counts_the_front() -> None:
    tally = Tally()
    for task, values in enumerate([(0.5, 10.0), (0.3, 30.0), (0.4, 40.0)]):
        tally.add(Status.OK, 1.0, Best(values, task, {}), TWO)
    line = status_line(tally, Standing(done=3, points_max=8, concurrency=1, ages=[],
                                       issuing=True, pruning=False, elapsed=1.0, several=True))
    assert "front 2 point(s)" in line and "best" not in line


def test_a_warm_start_tells_feasible_results_and_infeasible_points(searched: Path,
                                                                    tmp_path: Path) -> None:
    script = write_script(tmp_path, TWO_METRICS)
    done, _ = run_task(tmp_path, script, points_max=1, via="main.py",
                       **dict(CFG, warm_start=[str(searched)]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"warm start: {searched / 'results.csv'}: 5 ok result(s) used, 3 failed point(s)" \
        in done.stdout + done.stderr
    # a search of other objectives finds no column for them: nothing is used
    other = dict(CFG, warm_start=[str(searched)], objectives=[{"name": "recall"},
                                                              {"name": "val_loss"}])
    done, _ = run_task(tmp_path, script, points_max=1, via="main.py",
                       output=tmp_path / "other", **other)
    assert "none of its 6 ok result(s) used: it has no column recall" in done.stdout + done.stderr


CONSTRAINED = """
values=(0.5 0.1 0.3 0.2)
mem=(10 50 10 30)
echo "{\\"objective\\": ${values[$TASK_ID]}, \\"mem\\": ${mem[$TASK_ID]}}" > "$TASK_RESULT"
"""


def test_one_objective_with_a_constraint_keeps_the_best_feasible(tmp_path: Path) -> None:
    script = write_script(tmp_path, CONSTRAINED)
    done, out = run_task(tmp_path, script, points_max=4, via="main.py",
                         problem={"x": {"low": 0.0, "high": 1.0}},
                         constraints=[{"metric": "mem", "min": 5, "max": 20}])
    assert done.returncode == 0, done.stdout + done.stderr
    # task 1 (0.1) and task 3 (0.2) break mem <= 20: the best is task 2's 0.3
    assert re.search(r"^best: task 0002 objective=0.3 mem=10 ", done.stdout, re.MULTILINE)
    assert json.loads((out / "best.json").read_text())["id"] == 2
    text = report(str(out), "--no-plots").stdout
    assert "best 2 of 2 feasible ok tasks (lower is better):" in text
    assert "infeasible: 2 ok task(s) broke a constraint (5 <= mem <= 20)" in text
    assert not (out / "pareto.png").exists()


def test_a_joined_driver_sees_the_others_front_and_infeasible_points(tmp_path: Path) -> None:
    """Another driver's rows (--join): feasible ok ones told as vectors, the constraint-
    breaking and failed ones as failed points; the others' tally keeps their front."""
    from Joined import claim_folder
    from Results import Journal, results_columns

    config = load_config(str(write_cfg(tmp_path, CFG)))
    output = str(tmp_path / "out")
    os.makedirs(output)
    journal = Journal(os.path.join(claim_folder(output, "other"), "results.csv"),
                      results_columns(config.problem.names, config.metrics))
    row = {"id": 0, "status": "ok", "objective": "0.5", "seconds": "1", "x": "0.5",
           "act": "relu", "start": "0", "end": "1", "slot": 0, "pid": 1, "exit_code": 0,
           "reason": "", "val_loss": "0.5", "train_seconds": "10", "gpu_mem_gb": "20"}
    journal.append([row, dict(row, id=1, x="0.1", val_loss="0.3", train_seconds="30"),
                    dict(row, id=2, x="0.2", val_loss="0.1", gpu_mem_gb="60"),
                    dict(row, id=3, x="0.3", status="failed", val_loss="", train_seconds="",
                         gpu_mem_gb=""),
                    dict(row, id=4, x="0.4", val_loss="0.4", train_seconds="40")])
    journal.close()
    seen, joined = sync_as_another_driver(output, config, 8)
    assert seen.told == [([0.5, "relu"], (0.5, 10.0)), ([0.1, "relu"], (0.3, 30.0)),
                         ([0.4, "relu"], (0.4, 40.0))]
    assert seen.failed == [[0.2, "relu"], [0.3, "relu"]]
    assert [b.task_id for b in joined.others.front] == [0, 1]


@pytest.mark.parametrize(("status", "objective", "metrics", "verdict"), [
    (Status.OK, None, {"val_loss": 0.2, "accuracy": 0.9, "gpu_mem_gb": 1}, ("tell", (0.2, 0.9))),
    (Status.OK, None, {"val_loss": 0.2, "accuracy": 0.9, "gpu_mem_gb": 50}, ("fail", None)),
    (Status.FAILED, None, {}, ("fail", None)),
    (Status.KILLED, None, {}, ("drop", None)),
])
def test_verdict_says_what_a_result_tells_the_search(status, objective, metrics, verdict) -> None:
    assert TWO.verdict(status, objective, metrics) == verdict
    lenient = Objectives.Objectives(infeasible=())
    assert lenient.verdict(Status.TIMEOUT, None, {}) == ("drop", None)
    assert lenient.verdict(Status.PRUNED, 0.4, {}) == ("tell", (0.4,))


def test_a_dry_run_stands_in_every_objective_and_constrained_metric(tmp_path: Path) -> None:
    """DRYRUN=1 with the digits task: its stand-in result names what TASK_METRICS asks for
    (the cfg's objectives and constrained metrics), so the smoke test of a two-objective
    cfg runs tasks that are ok, not failed for a missing objective."""
    cfg = json.loads((BUNDLE / "digits-1.json").read_text())
    del cfg["pruner"]  # refused with several objectives
    cfg.update(script=str(BUNDLE / "tasks" / "digits.sh"),
               objectives=[{"name": "val_loss", "direction": "min"},
                           {"name": "fit_time", "direction": "min"}],
               constraints=[{"metric": "mem_gb", "max": 0.5}])
    out = tmp_path / "out"
    done = run_main(["-c", str(write_cfg(tmp_path, cfg)), "-o", str(out), "1", "2", "6"],
                    env={"DRYRUN": "1"}, via="main.py")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["ok"] * 6
    assert all(0 < float(r["val_loss"]) < 1 and 0 < float(r["fit_time"]) < 1
               and 0 < float(r["mem_gb"]) < 1 for r in rows)
    assert len({(r["val_loss"], r["fit_time"]) for r in rows}) == 6  # one value per name
    infeasible = [r for r in rows if float(r["mem_gb"]) > 0.5]
    assert all(r["reason"].startswith("infeasible: ") for r in infeasible)
    front = {entry["id"] for entry in json.loads((out / "best.json").read_text())}
    assert front and not front & {int(r["id"]) for r in infeasible}
