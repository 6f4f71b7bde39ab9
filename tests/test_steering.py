# TEST STEERING PY
# Steering and trusting a search (issue 13): cfg `direction` (max for an
# accuracy), extra `metrics` in results.csv from a JSON result, `warm_start`
# from earlier searches, `--retry-failed`, DRYRUN recorded in run.json, and
# the whole search's `best:` after a resume. Real processes throughout.

import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import read_results, run_main, write_cfg, write_script
from test_validation import snapshot

import Report
import Resume
from Config import load_config
from Launcher import Launcher
from Proposer import Proposer
from Results import open_journals
from Search import Search
from Task import read_result
from utils import set_log_level
from Workflow import Plan, Workflow

# The value of a point is its x (an integer parameter).
X_TASK = """
X=$(echo "$2" | sed 's/.*"x": *\\([0-9]*\\).*/\\1/')
echo "$X" > "$TASK_RESULT"
"""


def run(tmp_path: Path, cfg: dict[str, Any], args: list[str], body: str = X_TASK,
        output: str = "out", env: dict[str, str] | None = None):
    script = write_script(tmp_path, body)
    cfg_path = write_cfg(tmp_path, dict(cfg, script=str(script)))
    done = run_main(["-c", str(cfg_path), "-o", str(tmp_path / output), *args], via="main.py",
                    env=env, timeout=120)
    return done, tmp_path / output


# -- direction -----------------------------------------------------------------

class Spy:
    """The real Proposer, with the values the loop tells it written down."""

    def __init__(self, proposer: Proposer) -> None:
        self.proposer = proposer
        self.told: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.proposer, name)

    def tell(self, points: list[list[Any]], values: list[float]) -> None:
        self.told += values
        self.proposer.tell(points, values)


def test_direction_max_makes_the_search_minimize_the_negated_value(tmp_path: Path) -> None:
    script = write_script(tmp_path, X_TASK)
    config = load_config(str(write_cfg(tmp_path, {
        "script": str(script), "direction": "max", "problem": {"x": {"low": 1, "high": 50}}})))
    output = str(tmp_path / "out")
    os.makedirs(output)
    plan = Plan(parallelism=1, concurrency=2, points_max=6, output=output)
    workflow: Workflow
    spy = Spy(Proposer(Search(config.problem, config.optimizer), lambda: workflow.wake()))
    journals = open_journals(output, config.problem.names, config.metrics)
    workflow = Workflow(config, plan, spy, Launcher(reason="test"),
                        dict(os.environ, OUTPUT=output, PYTHON=sys.executable), journals)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        set_log_level("INFO")  # its lines into `out`
        assert workflow.run() == 0
    set_log_level("INFO")
    rows = read_results(Path(output))
    written = sorted(float(r["objective"]) for r in rows)
    assert sorted(-v for v in spy.told) == written  # told -value, results.csv keeps the value
    assert all(v > 0 for v in written)
    best = max(rows, key=lambda r: float(r["objective"]))
    assert f"best: task {int(best['id']):04d} objective={float(best['objective']):g}" \
        in out.getvalue()


def test_direction_max_report_ranks_the_highest_first(tmp_path: Path) -> None:
    done, output = run(tmp_path, {"direction": "max", "problem": {"x": {"low": 1, "high": 50}},
                                  "status_interval": 0.01}, ["1", "2", "8"])
    assert done.returncode == 0, done.stdout + done.stderr
    values = sorted((float(r["objective"]) for r in read_results(output)), reverse=True)
    assert "(higher is better):" in done.stdout
    table = done.stdout.split("(higher is better):\n")[1].splitlines()[1:9]
    assert [float(line.split()[1]) for line in table] == values
    assert "best: task" in done.stdout and f"objective={values[0]:g}" in done.stdout
    summary = Report.write_report(str(output), out=io.StringIO(), plots=False)
    assert summary.best[0].objective == values[0]


def test_replay_tells_the_negated_values_of_a_max_search(tmp_path: Path) -> None:
    done, output = run(tmp_path, {"direction": "max", "problem": {"x": {"low": 1, "high": 50}}},
                       ["1", "2", "4"])
    assert done.returncode == 0, done.stdout + done.stderr
    config = load_config(str(tmp_path / "cfg.json"))
    search = Search(config.problem, config.optimizer)
    recorded = Resume.read_recorded(config, str(output))
    replayed = Resume.replay(config, str(output), recorded, search)
    done_before, earlier = replayed.done_before, replayed.earlier
    values = [float(r["objective"]) for r in read_results(output)]
    assert sorted(search.optimizer.yi) == sorted(-v for v in values)
    assert done_before == 4 and earlier.best is not None and earlier.best.objective == max(values)


def test_a_different_direction_is_not_resumed(tmp_path: Path) -> None:
    done, output = run(tmp_path, {"problem": {"x": {"low": 1, "high": 50}}}, ["1", "2", "2"])
    assert done.returncode == 0
    before = snapshot(output)
    again, _ = run(tmp_path, {"direction": "max", "problem": {"x": {"low": 1, "high": 50}}},
                   ["--resume", "1", "2", "4"])
    assert again.returncode == 2 and "the recorded 'direction' differs" in again.stderr
    assert snapshot(output) == before


# -- metrics --------------------------------------------------------------------

METRICS_TASK = """
case "$TASK_ID" in
  0) echo '{"objective": 0.25, "val_acc": 0.91, "epochs": 7, "note": "ignored"}' > "$TASK_RESULT" ;;
  1) echo 0.5 > "$TASK_RESULT" ;;
  *) echo '{"val_acc": 0.5}' > "$TASK_RESULT" ;;
esac
"""


def test_the_best_line_shows_the_metrics_of_the_best_task(tmp_path: Path) -> None:
    """The best task's cfg `metrics` beside its objective (those it reported), in the run
    that found it and in a resumed run (told by the replay of results.csv)."""
    cfg = {"metrics": ["val_acc", "epochs", "val_loss"], "max_failures": 5}
    done, _ = run(tmp_path, cfg, ["1", "1", "3"], body=METRICS_TASK)
    assert done.returncode == 0, done.stdout + done.stderr
    best = "best: task 0000 objective=0.25 val_acc=0.91 epochs=7 drop="
    assert best in done.stdout
    again, _ = run(tmp_path, cfg, ["--resume", "1", "1", "4"], body=METRICS_TASK)
    assert again.returncode == 0, again.stdout + again.stderr
    assert best in again.stdout


def test_metrics_from_a_json_result_become_columns(tmp_path: Path) -> None:
    done, output = run(tmp_path, {"metrics": ["val_acc", "epochs", "val_loss"],
                                  "max_failures": 1}, ["1", "1", "3"], body=METRICS_TASK)
    assert done.returncode == 0, done.stdout + done.stderr
    header = (output / "results.csv").read_text().splitlines()[0]
    assert header.endswith(",reason,val_acc,epochs,val_loss")
    rows = read_results(output)
    assert [(r["status"], r["objective"], r["val_acc"], r["epochs"], r["val_loss"])
            for r in rows[:2]] == [("ok", "0.25", "0.91", "7.0", ""), ("ok", "0.5", "", "", "")]
    assert rows[2]["status"] == "failed"
    assert rows[2]["reason"].startswith('result is a JSON object without a finite number '
                                        'under "objective"')
    summary = Report.write_report(str(output), out=io.StringIO(), plots=False)
    assert summary.params == ["drop", "batch_size"]  # metrics are not parameters
    assert [r.metrics for r in summary.rows[:2]] == [{"val_acc": "0.91", "epochs": "7.0",
                                                       "val_loss": ""},
                                                      {"val_acc": "", "epochs": "", "val_loss": ""}]
    # a run keeps its header: other metrics on resume are refused, OUTPUT untouched
    before = snapshot(output)
    again, _ = run(tmp_path, {"metrics": ["val_acc"], "max_failures": 1},
                   ["--resume", "1", "1", "4"], body=METRICS_TASK)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "cannot resume: the recorded 'metrics' differs" in again.stderr
    assert snapshot(output) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("0.5", (0.5, "", {})),
    ('{"objective": -2, "val_acc": 0.75}', (-2.0, "", {"val_acc": 0.75})),
    ('{"objective": 1, "val_acc": NaN}', (None, "result is not finite: 'NaN' in a JSON object",
                                          {})),
    ('{"objective": true}', (None, ('result is a JSON object without a finite number under '
                                    '"objective" (got \'True\')'), {})),
    ("{", (None, ("result is not a JSON object: Expecting property name enclosed in double "
                  "quotes at character 1"), {})),
    ('{"objective": 1, "val_acc": "high"}', (1.0, "", {})),
])
def test_a_result_file_holds_a_number_or_a_json_object(tmp_path: Path, text: str,
                                                       expected: tuple) -> None:
    path = tmp_path / "0000.result"
    path.write_text(text + "\n")
    assert read_result(str(path), ["val_acc"]) == expected


def test_a_metric_named_like_a_column_is_refused(tmp_path: Path) -> None:
    for bad, says in ((["seconds"], "metric name 'seconds' is not allowed"),
                      (["drop"], "metric name 'drop' is not allowed"),
                      (["a", "a"], "metric name 'a' appears twice"), ("a", "list of strings")):
        done = run_main(["-c", str(write_cfg(tmp_path, {"metrics": bad}))], via="main.py")
        assert done.returncode == 2 and says in done.stderr, done.stderr


# -- warm start -------------------------------------------------------------------

def test_warm_start_tells_earlier_results_and_skips_the_random_phase(tmp_path: Path) -> None:
    first, earlier = run(tmp_path, {"problem": {"x": {"low": 0, "high": 40}}},
                         ["1", "4", "12"], output="earlier")
    assert first.returncode == 0, first.stdout + first.stderr
    rows = read_results(earlier)
    inside = sum(1 for r in rows if int(r["x"]) <= 20)
    assert 0 < inside < 12
    cfg = {"problem": {"x": {"low": 0, "high": 20}},
           "optimizer": {"n_initial_points": inside},
           "warm_start": [str(earlier), str(earlier / "results.csv")]}
    done, output = run(tmp_path, cfg, ["1", "2", "4"])
    assert done.returncode == 0, done.stdout + done.stderr
    line = (f"warm start: {earlier / 'results.csv'}: {inside} ok result(s) used, "
            f"{12 - inside} dropped (outside this search's space)")
    assert done.stdout.count(line) == 2
    assert f"warm start: {2 * inside} earlier result(s) told to the search (no random phase)" \
        in done.stdout
    started = (output / "started.csv").read_text().splitlines()
    assert started[0].endswith(",origin") and started[1].endswith(",model"), started


def test_warm_start_from_a_search_of_other_parameters_uses_nothing(tmp_path: Path) -> None:
    first, earlier = run(tmp_path, {"problem": {"y": {"low": 0, "high": 4}}}, ["1", "2", "2"],
                         body='echo 1 > "$TASK_RESULT"\n', output="earlier")
    assert first.returncode == 0
    done, _ = run(tmp_path, {"problem": {"x": {"low": 0, "high": 4}},
                             "warm_start": [str(earlier)], "log_level": "WARNING"},
                  ["1", "1", "1"])
    assert done.returncode == 0, done.stderr
    assert f"warm start: {earlier / 'results.csv'}: none of its 2 ok result(s) used: it has " \
        "no column x" in done.stdout


def test_warm_start_needs_an_earlier_search(tmp_path: Path) -> None:
    done = run_main(["-c", str(write_cfg(tmp_path, {"warm_start": ["nowhere"]}))], via="main.py")
    assert done.returncode == 2
    assert f"cfg key 'warm_start': {tmp_path / 'nowhere'} does not exist" in done.stderr


# -- --retry-failed, DRYRUN, best after a resume ------------------------------------

BROKEN_TASK = """
if [ -e "$OUTPUT/../broken" ]; then echo "BENCHMARKS is not set"; exit 1; fi
echo "0.$TASK_ID" > "$TASK_RESULT"
"""


def test_retry_failed_issues_each_failed_point_once_more(tmp_path: Path) -> None:
    (tmp_path / "broken").touch()
    first, output = run(tmp_path, {"max_failures": 10}, ["1", "2", "4"], body=BROKEN_TASK)
    assert first.returncode == 0, first.stdout  # 4 failures, within max_failures=10
    assert [r["status"] for r in read_results(output)] == ["failed"] * 4
    (tmp_path / "broken").unlink()
    plain, _ = run(tmp_path, {"max_failures": 10}, ["--resume", "1", "2", "4"],
                   body=BROKEN_TASK)
    assert "0 task(s) to issue again" in plain.stdout and len(read_results(output)) == 4
    retried, _ = run(tmp_path, {"max_failures": 10}, ["--resume", "--retry-failed", "1", "2", "4"],
                     body=BROKEN_TASK)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "4 task(s) to issue again (4 failed one(s) retried)" in retried.stdout
    rows = read_results(output)
    def point(r: dict[str, str]) -> tuple[str, str]:
        return r["drop"], r["batch_size"]

    assert sorted(map(point, rows[4:])) == sorted(map(point, rows[:4]))
    assert [r["status"] for r in rows[4:]] == ["ok"] * 4
    started = (output / "started.csv").read_text().splitlines()
    assert all(line.endswith(",again") for line in started[5:]), started
    again, _ = run(tmp_path, {"max_failures": 10}, ["--resume", "--retry-failed", "1", "2", "4"],
                   body=BROKEN_TASK)
    assert "resume: 4 result(s) told to the search, 0 failed, 0 task(s) to issue again" \
        in again.stdout  # the failures were superseded: nothing left to retry or count
    assert len(read_results(output)) == 8


def test_retry_failed_needs_resume(tmp_path: Path) -> None:
    done = run_main(["--retry-failed", "-o", str(tmp_path / "out")], via="main.py")
    assert done.returncode == 2 and "--retry-failed" in done.stderr and "--resume" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("first", "then", "says"), [
    ("1", "", "it holds a dry run (DRYRUN=1), and this run is for real"),
    ("", "1", "it holds a real search, and this run is with DRYRUN=1"),
])
def test_a_dry_run_folder_is_not_resumed_for_real(tmp_path: Path, first: str, then: str,
                                                   says: str) -> None:
    body = 'echo 0.5 > "$TASK_RESULT"\n'
    done, output = run(tmp_path, {}, ["1", "2", "2"], body=body, env={"DRYRUN": first})
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((output / "run.json").read_text())["dryrun"] is (first == "1")
    before = snapshot(output)
    again, _ = run(tmp_path, {}, ["--resume", "1", "2", "4"], body=body, env={"DRYRUN": then})
    assert again.returncode == 2 and len(again.stderr.splitlines()) == 1, again.stderr
    assert says in again.stderr
    assert snapshot(output) == before


def test_best_covers_the_whole_search_after_a_resume(tmp_path: Path) -> None:
    body = 'echo "$((TASK_ID + 1))" > "$TASK_RESULT"\n'  # the first task is the best
    first, output = run(tmp_path, {}, ["1", "1", "2"], body=body)
    assert "best: task 0000 objective=1" in first.stdout
    resumed, _ = run(tmp_path, {"status_interval": 0.01}, ["--resume", "1", "1", "4"],
                     body=body)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "best: task 0000 objective=1 " in resumed.stdout
    statuses = [line for line in resumed.stdout.splitlines() if line.startswith("status:")]
    assert statuses and all("/4," in line and "best 1 (task 0000)" in line for line in statuses)
    assert json.loads((output / "run.json").read_text())["points_max"] == 4
