# TEST OPTUNA
# `report.sh OUTPUT --optuna FILE`: a search of every status (ok, pruned,
# failed, timeout, killed, and one still running) written as an Optuna
# journal; Optuna loads it and every trial matches results.csv, started.csv
# and progress.csv (state, value, params with their distributions,
# intermediate values); optuna-dashboard serves it (on 127.0.0.1 only) and
# its HTTP API lists the same trials.

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import BUNDLE

optuna = pytest.importorskip("optuna")
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

FIXTURE = BUNDLE / "tests" / "fixtures" / "output-b28be32"
HEADER = "id,status,objective,seconds,drop,batch_size,start,end,slot,pid,exit_code,reason"
ROWS = [  # id, status, objective, drop, batch_size
    (0, "ok", "0.40477392044361055", "0.3690935629679824", "256"),
    (1, "pruned", "0.9", "0.8395811989630504", "32"),
    (2, "failed", "", "0.7536495199979558", "512"),
    (3, "timeout", "", "0.40034926107103663", "512"),
    (4, "killed", "", "0.125", "16"),
    (5, "ok", "0.25", "0.5", "64"),
]
RUNNING = (6, "0.75", "128")
PROGRESS = [(0, 1, 0.6), (0, 2, 0.45), (1, 1, 0.95), (1, 2, 0.9), (6, 1, 0.7)]
EXPECTED = {"ok": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL,
            "timeout": TrialState.FAIL, "killed": TrialState.RUNNING,
            "running": TrialState.RUNNING}


def search_folder(tmp_path: Path) -> Path:
    """An OUTPUT of every status, one task still running, intermediate values."""
    out = tmp_path / "search"
    out.mkdir()
    (out / "run.json").write_text((FIXTURE / "run.json").read_text()
                                  .replace("@BUNDLE@", str(BUNDLE)))
    start = 1796505316.0
    (out / "results.csv").write_text(HEADER + "\n" + "".join(
        f"{i},{status},{objective},1.5,{drop},{size},{start + i},{start + i + 1.5},0,"
        f"{100 + i},{'' if status in ('killed', 'timeout') else 0},\n"
        for i, status, objective, drop, size in ROWS))
    started = "id,start,slot,pid,drop,batch_size,origin\n" + "".join(
        f"{i},{start + i},0,{100 + i},{drop},{size},random\n"
        for i, _, _, drop, size in ROWS + [(RUNNING[0], "", "", *RUNNING[1:])])
    (out / "started.csv").write_text(started)
    (out / "progress.csv").write_text("id,step,value,time\n" + "".join(
        f"{i},{step},{value},{start + 9}\n" for i, step, value in PROGRESS))
    return out


def export(out: Path, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BUNDLE / "report.sh"), str(out), "--optuna", str(target)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_every_trial_matches_the_search(tmp_path):
    out = search_folder(tmp_path)
    target = tmp_path / "study.log"
    done = export(out, target)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"optuna: wrote study 'search' (7 trials) to {target}; browse it "
                           f"with optuna-dashboard {target}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["search", "study.log"]
    study = optuna.load_study(study_name="search",
                              storage=JournalStorage(JournalFileBackend(str(target))))
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    trials = study.get_trials(deepcopy=False)
    statuses = [row[1] for row in ROWS] + ["running"]
    assert [t.user_attrs["task_id"] for t in trials] == list(range(7))
    assert [t.state for t in trials] == [EXPECTED[s] for s in statuses]
    params = [(drop, size) for _, _, _, drop, size in ROWS] + [RUNNING[1:]]
    for trial, (drop, size), row in zip(trials, params, ROWS + [None]):
        assert trial.params == {"drop": float(drop), "batch_size": int(size)}
        assert trial.distributions == {
            "drop": optuna.distributions.FloatDistribution(0.0, 0.9),
            "batch_size": optuna.distributions.CategoricalDistribution(
                [16, 32, 64, 128, 256, 512])}
        assert trial.value == (float(row[2]) if row and row[1] == "ok" else None)
        curve = {step: value for i, step, value in PROGRESS if i == trial.number}
        assert trial.intermediate_values == curve
    assert study.best_trial.user_attrs["task_id"] == 5
    assert export(out, target).returncode == 2  # never appends to an existing file


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_optuna_dashboard_serves_it(tmp_path):
    program = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    if program is None:
        pytest.skip("optuna-dashboard is not installed (requirements-dev.txt)")
    target = tmp_path / "study.log"
    assert export(search_folder(tmp_path), target).returncode == 0
    port = free_port()
    server = subprocess.Popen([program, str(target), "--host", "127.0.0.1", "--port", str(port),
                               "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        studies = None
        for _ in range(600):  # until it answers (or has died)
            if server.poll() is not None:
                pytest.fail(f"optuna-dashboard exited: {server.stderr.read().decode()}")
            try:
                studies = fetch(f"http://127.0.0.1:{port}/api/studies")
                break
            except OSError:
                time.sleep(0.1)
        assert studies is not None, "optuna-dashboard never answered"
        [summary] = studies["study_summaries"]
        assert summary["study_name"] == "search"
        detail = fetch(f"http://127.0.0.1:{port}/api/studies/{summary['study_id']}")
        trials = detail["trials"]
        assert [{a["key"]: a["value"] for a in t["user_attrs"]}["task_id"]
                for t in trials] == [str(i) for i in range(7)]
        assert [t["state"] for t in trials] == ["Complete", "Pruned", "Fail", "Fail",
                                                "Running", "Complete", "Running"]
        assert [t.get("values") for t in trials if t["state"] == "Complete"] == \
            [[0.40477392044361055], [0.25]]
        assert [(v["step"], v["value"]) for v in trials[1]["intermediate_values"]] == \
            [(1, 0.95), (2, 0.9)]
    finally:
        server.terminate()
        server.wait(timeout=30)
