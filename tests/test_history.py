# TEST HISTORY
# The one reader of journal rows (History.py): Status.py's table as a rule
# (ok and pruned told their value, failed and timeout told as failed
# points, killed issued again, a superseded failure neither told nor
# counted), and the same answer in the three places that take a search up:
# a resume, a warm start and the report (done N of POINTS_MAX, told, best).

import io
import json
from pathlib import Path

import pytest
from conftest import write_cfg

import Report
import Resume
import WarmStart
from Config import load_config
from History import History, read_journals
from Results import Journal, results_columns, started_columns
from Search import Search
from utils import UsageError

T0 = 1_700_000_000
# id, status, objective, x; id 2 failed and id 5 ran its point again (superseded),
# id 4 was killed, id 6 was started and has no row (the driver died)
RESULTS = [(0, "ok", "0.5", 1), (1, "pruned", "0.7", 2), (2, "failed", "", 3),
           (3, "timeout", "", 4), (4, "killed", "", 6), (5, "ok", "0.2", 3)]
STARTED = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (5, 3), (6, 7)]


def write_output(folder: Path) -> Path:
    """An OUTPUT of one parameter x with the rows above."""
    output = folder / "out"
    output.mkdir()
    results = Journal(str(output / "results.csv"), results_columns(["x"]))
    results.append([{"id": i, "status": s, "objective": v, "seconds": 1.0, "x": x,
                     "start": T0 + i, "end": T0 + i + 1, "slot": 0, "pid": 100 + i,
                     "exit_code": 0, "reason": ""} for i, s, v, x in RESULTS])
    results.close()
    started = Journal(str(output / "started.csv"), started_columns(["x"]))
    started.append([{"id": i, "start": T0 + i, "slot": 0, "pid": 100 + i, "x": x,
                     "origin": "random"} for i, x in STARTED])
    started.close()
    (output / "run.json").write_text(json.dumps({"points_max": 10, "points_init": 1}))
    return output


def ids(rows) -> list[int]:
    return sorted(int(r["id"]) for r in rows)


def test_the_rule_follows_the_status_table(tmp_path: Path) -> None:
    output = write_output(tmp_path)
    _, results = read_journals([str(output / "results.csv")])
    _, started = read_journals([str(output / "started.csv")])
    history = History(results, started, ["x"])
    assert [(int(r["id"]), v) for r, v in history.told()] == \
        [(0, (0.5,)), (1, (0.7,)), (5, (0.2,))]
    assert ids(history.failures()) == ids(history.infeasible()) == [3]
    assert history.superseded == {2}
    assert ids(history.done()) == [0, 1, 3, 5]
    assert ids(history.lost()) == [4, 6]
    assert [int(r["id"]) for r, _ in history.best_candidates()] == [0, 5]


def test_resume_warm_start_and_report_agree(tmp_path: Path) -> None:
    """Done is 4 everywhere; a resume and a warm start tell the same values (the pruned
    one too) and the same failed point; the report's best is the ok tasks only."""
    output = write_output(tmp_path)
    config = load_config(str(write_cfg(tmp_path, {"problem": {"x": {"low": 0, "high": 10}}})))
    recorded = Resume.read_recorded(config, str(output))
    resumed = Search(config.problem, config.optimizer)
    replayed = Resume.replay(config, str(output), recorded, resumed)
    assert replayed.done_before == 4 and sorted(replayed.reissue) == [[6], [7]]

    earlier = WarmStart.read([str(output / "results.csv")], config.problem, config.goals)
    warm = Search(config.problem, config.optimizer)
    WarmStart.tell(earlier, warm)
    for search in (resumed, warm):
        assert sorted(zip(search.optimizer.Xi, search.optimizer.yi)) == \
            [([1], 0.5), ([2], 0.7), ([3], 0.2)]
        assert search.failed == [[4]]
    line = (f"warm start: {output / 'results.csv'}: 2 ok result(s) used, 1 pruned one(s) "
            "at their last value, 1 failed point(s), 0 dropped (outside this search's space)")
    assert earlier.lines == [line]

    summary = Report.write_report(str(output), out=io.StringIO(), plots=False)
    assert summary.done == 4 == replayed.done_before
    assert [r.id for r in summary.best] == [5, 0]


def test_rows_of_several_journals_are_read_together(tmp_path: Path) -> None:
    """Several drivers' journals: one header, their rows together; another header refused."""
    paths = []
    for k, rows in enumerate((RESULTS[:3], RESULTS[3:])):
        path = tmp_path / f"results-{k}.csv"
        journal = Journal(str(path), ["id", "status", "objective", "x"])
        journal.append([{"id": i, "status": s, "objective": v, "x": x} for i, s, v, x in rows])
        journal.close()
        paths.append(str(path))
    header, rows = read_journals(paths + [str(tmp_path / "not-yet.csv")])
    assert header == ["id", "status", "objective", "x"] and ids(rows) == list(range(6))
    assert ids(History(rows, [], ["x"]).done()) == [0, 1, 3, 5]
    other = tmp_path / "other.csv"
    Journal(str(other), ["id", "status"]).close()
    with pytest.raises(ValueError, match="other.csv has the columns 'id,status'"):
        read_journals(paths + [str(other)])


def test_resume_refuses_a_results_csv_of_other_columns(tmp_path: Path) -> None:
    output = write_output(tmp_path)
    cfg = {"problem": {"x": {"low": 0, "high": 10}}, "metrics": ["loss"]}
    config = load_config(str(write_cfg(tmp_path, cfg)))
    with pytest.raises(UsageError) as info:
        Resume.read_recorded(config, str(output))
    assert str(info.value).startswith(f"OUTPUT {output}: cannot resume: results.csv has the "
                                      "columns 'id,status,objective,seconds,x,start,")
    assert str(info.value).endswith("(a run keeps its parameters and metrics)")
