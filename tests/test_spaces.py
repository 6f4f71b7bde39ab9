# TEST SPACES
# Issue 21's conditional parameters and forbidden combinations, with real
# tasks: each task's PARAMS (and its params_to_flags.py flags) hold exactly
# the active parameters, results.csv and started.csv leave the inactive
# ones empty, no started point matches a forbid clause (the clauses remove
# most of a small space: the initial design, random and model points all
# pass the filter), no point repeats one that differs only in inactive
# values; the report, --best, --csv, --optuna, a resume and a warm start
# read the empty cells back; bad conditions are one-line errors, exit 2.

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import BUNDLE, read_results, run_main, write_cfg, write_script

from Config import DEFAULT_OPTIMIZER
from Problem import Problem
from Search import Search

PROBLEM: dict[str, Any] = {
    "optimizer": ["sgd", "adam"],
    "lr": {"low": 1e-4, "high": 0.1, "prior": "log-uniform"},
    "momentum": {"low": 0.0, "high": 0.99, "when": {"optimizer": ["sgd"]}},
    "nesterov": {"choices": [False, True], "when": {"optimizer": "sgd"}},
    # chained: inactive whenever nesterov is (adam), though nesterov's fixed value is false
    "dampening": {"low": 0.0, "high": 0.5, "when": {"nesterov": [False]}},
    "layers": {"low": 1, "high": 3},
    "width3": {"low": 8, "high": 64, "when": {"layers": [3]}},
    "batch_size": [8, 16, 32, 64],
}
# adam only with batch 64, and never one layer with batch 64: 7 of 16 (optimizer, batch,
# layers = 1 or not) combinations left
FORBID = [{"optimizer": "adam", "batch_size": [8, 16, 32]},
          {"layers": 1, "batch_size": 64}]
CONDITIONAL = ("momentum", "nesterov", "dampening", "width3")

# The task: PARAMS and its flags kept in OUTPUT/seen, an objective of the gated values.
TASK = f'''PARAMS=$2
mkdir -p "$OUTPUT/seen"
echo "$PARAMS" > "$OUTPUT/seen/$TASK_ID.json"
"{sys.executable}" "{BUNDLE}/tasks/params_to_flags.py" "$PARAMS" > "$OUTPUT/seen/$TASK_ID.flags"
"{sys.executable}" - "$PARAMS" > "$TASK_RESULT" <<'EOF'
import json, math, sys
p = json.loads(sys.argv[1])
loss = (math.log10(p["lr"]) + 2) ** 2 + (p["momentum"] - 0.9) ** 2 if "momentum" in p else 0.5
print(loss + abs(p.get("width3", 32) - 32) / 64 + p["layers"] / 10)
EOF'''


def expected_active(row: dict[str, str]) -> set[str]:
    """The active parameters of a recorded row, by the rules written out here."""
    active = set(PROBLEM) - set(CONDITIONAL)
    if row["optimizer"] == "sgd":
        active |= {"momentum", "nesterov"}
        if row["nesterov"] == "False":
            active.add("dampening")
    if row["layers"] == "3":
        active.add("width3")
    return active


def forbidden(row: dict[str, str]) -> bool:
    return (row["optimizer"] == "adam" and row["batch_size"] != "64") \
        or (row["layers"] == "1" and row["batch_size"] == "64")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def search(tmp_path: Path, points: int, output: Path | None = None,
           **extra: Any) -> tuple[subprocess.CompletedProcess, Path]:
    script = write_script(tmp_path, TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "problem": PROBLEM, "forbid": FORBID,
                               "optimizer": {"n_initial_points": 8}, **extra})
    out = output or tmp_path / "out"
    return run_main(["-c", str(cfg), "-o", str(out), "1", "3", str(points)],
                    env={"TASK_DELAY": "0"}, timeout=300), out


def check_rows(out: Path) -> list[dict[str, str]]:
    """Every started and finished row obeys the rules; return the results rows."""
    started, results = read_csv(out / "started.csv"), read_results(out)
    for row in started + results:
        active = expected_active(row)
        assert not forbidden(row), row
        assert {n for n in PROBLEM if row[n] != ""} == active, row
    points = [tuple(r[n] for n in PROBLEM) for r in results]
    assert len(set(points)) == len(points)  # inactive values never tell two points apart
    return results


def test_tasks_get_only_active_parameters_and_never_a_forbidden_point(tmp_path: Path) -> None:
    done, out = search(tmp_path, 30)
    assert done.returncode == 0, done.stdout + done.stderr
    results = check_rows(out)
    assert len(results) == 30 and {r["status"] for r in results} == {"ok"}
    assert {r["optimizer"] for r in results} == {"sgd", "adam"}
    for row in results:
        params = json.loads((out / "seen" / f"{row['id']}.json").read_text())
        assert set(params) == expected_active(row)
        flags = (out / "seen" / f"{row['id']}.flags").read_text().split()
        assert {f[2:] for f in flags if f.startswith("--")} == set(params)


def test_the_report_best_csv_and_optuna_read_empty_cells(tmp_path: Path) -> None:
    done, out = search(tmp_path, 12)
    assert done.returncode == 0, done.stdout + done.stderr
    results = read_results(out)

    def report(*args: str) -> str:
        shown = subprocess.run([str(BUNDLE / "report.sh"), str(out), *args],
                               capture_output=True, text=True, timeout=300, check=False)
        assert shown.returncode == 0, shown.stderr
        return shown.stdout

    table = report("--no-plots", "--top", "12").split("best 12 of 12 ok tasks")[1]
    assert any(" - " in line for line in table.splitlines()[2:])
    best = min(results, key=lambda r: float(r["objective"]))
    assert set(json.loads(report("--best"))) == expected_active(best)
    assert len(read_csv_text(report("--csv"))) == 12
    report()  # the plots
    pytest.importorskip("optuna")
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    report("--optuna", str(tmp_path / "study.log"))
    study = optuna.load_study(study_name="out", storage=JournalStorage(
        JournalFileBackend(str(tmp_path / "study.log"))))
    by_id = {r["id"]: r for r in results}
    for trial in study.trials:
        assert set(trial.params) == expected_active(by_id[str(trial.user_attrs["task_id"])])


def read_csv_text(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(text.splitlines()))


def test_resume_and_warm_start_of_a_conditional_search(tmp_path: Path) -> None:
    done, out = search(tmp_path, 10)
    assert done.returncode == 0, done.stdout + done.stderr
    again = run_main(["--resume", "-o", str(out), "1", "3", "20"], env={"TASK_DELAY": "0"},
                     timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resume: 10 result(s) told to the search, 0 failed" in again.stdout
    assert len(check_rows(out)) == 20
    warm = tmp_path / "warm"
    warm.mkdir()
    done, other = search(warm, 6, warm_start=[str(out / "results.csv")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"warm start: {out / 'results.csv'}: 20 ok result(s) used, 0 dropped" \
        in done.stdout
    assert "no random phase" in done.stdout
    check_rows(other)


def test_a_lost_point_now_forbidden_is_not_issued_again(tmp_path: Path) -> None:
    done, out = search(tmp_path, 4)
    assert done.returncode == 0, done.stdout + done.stderr
    started = read_csv(out / "started.csv")
    lost = dict(started[0], id="4", optimizer="adam", batch_size="8", momentum="",
                nesterov="", dampening="")  # an earlier run's task that left no result
    with open(out / "started.csv", "a", newline="") as stream:
        csv.DictWriter(stream, fieldnames=list(started[0])).writerow(lost)
    again = run_main(["--resume", "-o", str(out), "1", "3", "8"], env={"TASK_DELAY": "0"},
                     timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 task(s) to issue again (1 forbidden now: not issued), numbering from 0005" \
        in again.stdout
    assert not any(forbidden(r) for r in read_results(out))
    assert "again" not in [r["origin"] for r in read_csv(out / "started.csv")]


@pytest.mark.parametrize("change, expected", [
    ({"problem": dict(PROBLEM, momentum={"low": 0.0, "high": 1.0, "when": {"optimiser": "sgd"}})},
     "problem.momentum.when: unknown parameter 'optimiser'; expected one of optimizer"),
    ({"problem": {"a": {"low": 0, "high": 3, "when": {"b": [1]}},
                  "b": {"low": 0, "high": 3, "when": {"a": [1]}}}},
     "problem.a.when: the conditions form a cycle (a -> b -> a)"),
    ({"problem": dict(PROBLEM, momentum={"low": 0.0, "high": 1.0, "when": {"optimizer": "rms"}})},
     "problem.momentum.when.optimizer: 'rms' is not one of the choices of optimizer"),
    ({"problem": dict(PROBLEM, width3={"low": 8, "high": 64, "when": {"layers": [4]}})},
     "problem.width3.when.layers: 4 is not a whole number in the range of layers [1, 3]"),
    ({"problem": dict(PROBLEM, width3={"low": 8, "high": 64, "when": {"lr": [0.01]}})},
     "problem.width3.when.lr: lr is a real parameter"),
    ({"problem": dict(PROBLEM, width3={"low": 8, "high": 64, "when": ["layers"]})},
     "problem.width3.when: expected a non-empty object of parameter -> value"),
    ({"forbid": {"optimizer": "adam"}}, "forbid: expected a list of objects"),
    ({"forbid": [{"optimizer": "adam"}, {}]}, "forbid[1]: expected a non-empty object"),
    ({"forbid": [{"batch": [8]}]}, "forbid[0]: unknown parameter 'batch'"),
    ({"forbid": [{"batch_size": [8, 12]}]},
     "forbid[0].batch_size: 12 is not one of the choices of batch_size"),
    ({"forbid": [{"optimizer": ["sgd", "adam"]}]},
     "forbid: each of 2000 random points of the problem is forbidden"),
])
def test_bad_conditions_are_one_line_errors(tmp_path: Path, change: dict[str, Any],
                                            expected: str) -> None:
    cfg = write_cfg(tmp_path, {"problem": PROBLEM, **change})
    done = run_main(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "1", "1"])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert expected in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("surrogate", ["GP", "RF"])
def test_no_path_of_the_search_issues_a_forbidden_or_repeated_point(surrogate: str) -> None:
    problem = Problem({"optimizer": ["sgd", "adam"], "x": {"low": 0.0, "high": 1.0},
                       "momentum": {"low": 0.0, "high": 1.0, "when": {"optimizer": ["sgd"]}},
                       "n": {"low": 1, "high": 10}})
    problem.forbid([{"optimizer": "sgd", "n": list(range(1, 10))}])  # sgd only with n = 10
    search = Search(problem, dict(DEFAULT_OPTIMIZER, base_estimator=surrogate,
                                  n_initial_points=6), lie="max")
    issued: list[list[Any]] = []
    for _ in range(10):
        points = search.ask(4)
        issued += points
        search.tell(points, [p[1] + (p[2] - 0.7) ** 2 for p in points])
    assert all(problem.allowed(p) and problem.canonical(p) == p for p in issued)
    assert all(p[2] == 0.0 for p in issued if p[0] == "adam")
    assert len({tuple(p) for p in issued}) == len(issued)
    assert any(p[0] == "sgd" for p in issued)  # the allowed sgd corner is found
