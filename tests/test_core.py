# TEST CORE PY
# The core bundle end to end with real subprocesses: the original's sample
# points, the progress vocabulary, results.csv, the task protocol, failures
# and bad results, hostile parameter values, the Uno cfg in DRYRUN.

import itertools
import json
import os
from pathlib import Path

import pytest
from conftest import BUNDLE, read_results, run_main, write_cfg, write_script

import Layout

SAMPLE = [(0.3690935629679824, 256), (0.8395811989630504, 32), (0.6031331534420412, 64),
          (0.31583820140922964, 256), (0.7536495199979558, 512), (0.40034926107103663, 512),
          (0.731156389521627, 32), (0.7195980974464558, 64)]
HEADER = ("id,status,objective,seconds,drop,batch_size,start,end,slot,pid,exit_code,reason")


def test_bare_run_gives_the_original_sample(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_main(["-o", str(out)])
    assert done.returncode == 0, done.stdout + done.stderr
    rows = sorted(read_results(out), key=lambda r: int(r["id"]))
    assert [(float(r["drop"]), int(r["batch_size"])) for r in rows] == SAMPLE
    assert [r["status"] for r in rows] == ["ok"] * 8
    for line in ("search start:", "started: ", "tasks_running: ", "Workflow success!",
                 "main.sh: OK", "TIME: "):
        assert line in done.stdout
    assert done.stdout.count("started: ") == 8


def test_task_gets_plain_json_and_the_protocol_environment(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = write_script(tmp_path, """
printf '%s' "$2" > "params-$TASK_ID.json"
{ echo "argc=$# parallelism=$1 PARALLELISM=$PARALLELISM"; echo "cwd=$PWD"; echo "OUTPUT=$OUTPUT"
  echo "TASK_ID=$TASK_ID"; echo "TASK_RESULT=$TASK_RESULT"; echo "DRYRUN=${DRYRUN-unset}"
  echo "LAUNCH=[${LAUNCH-unset}]"; } > "env-$TASK_ID.txt"
echo 1.5 > "$TASK_RESULT"
""")
    cfg = write_cfg(tmp_path, {"script": script.name, "launcher": "none"})
    done = run_main(["-c", str(cfg), "-o", str(out), "3", "2", "2"], env={"DRYRUN": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    first, second = out / "tasks" / "000" / "0000", out / "tasks" / "000" / "0001"
    assert (first / "params-0.json").read_text() == \
        '{"drop": 0.3690935629679824, "batch_size": 256}'
    env = (second / "env-1.txt").read_text().splitlines()
    assert env == ["argc=2 parallelism=3 PARALLELISM=3", f"cwd={second}", f"OUTPUT={out}",
                   "TASK_ID=1", f"TASK_RESULT={second}/0001.result", "DRYRUN=1", "LAUNCH=[]"]
    assert (first / "0000.txt").exists() and (second / "0001.result").read_text() == "1.5\n"


def test_results_csv_has_one_complete_row_per_task(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_main(["-o", str(out), "1", "3", "5"])
    assert done.returncode == 0, done.stderr
    lines = (out / "results.csv").read_text().splitlines()
    assert lines[0] == HEADER
    rows = read_results(out)
    assert sorted(int(r["id"]) for r in rows) == [0, 1, 2, 3, 4]
    for row in rows:
        assert row["status"] == "ok" and row["reason"] == "" and row["exit_code"] == "0"
        assert float(row["objective"]) >= 0
        assert float(row["end"]) >= float(row["start"])
        assert abs(float(row["seconds"]) - (float(row["end"]) - float(row["start"]))) < 0.01
        assert 0 <= int(row["slot"]) < 3 and int(row["pid"]) > 0
        value = Path(Layout.result_file(str(out), int(row["id"]))).read_text()
        assert float(row["objective"]) == float(value)


def test_objective_is_told_so_the_search_improves(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_main(["-o", str(out), "1", "2", "24"], timeout=300)
    assert done.returncode == 0, done.stderr
    rows = sorted(read_results(out), key=lambda r: int(r["id"]))
    first = min(float(r["objective"]) for r in rows[:10])  # the random phase
    later = min(float(r["objective"]) for r in rows[10:])
    assert later < first, (first, later)


FAILING_TASK = """
if [ "$TASK_ID" = 2 ]; then echo "about to fail"; echo "disk on fire" >&2; exit 3; fi
sleep 0.3
echo 0.5 > "$TASK_RESULT"
"""


def test_a_failed_task_stops_new_issues_and_drains(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = write_script(tmp_path, FAILING_TASK)
    cfg = write_cfg(tmp_path, {"script": script.name})
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "3", "20"])
    assert done.returncode == 1
    assert "Workflow failed!" in done.stdout
    assert "main.sh: FAIL: python exited with code: 1" in done.stdout
    assert "TASK 0002 FAILED: exit code 3" in done.stdout
    assert "disk on fire" in done.stdout  # the tail of its output file
    rows = {int(r["id"]): r for r in read_results(out)}
    failed = rows[2]
    assert failed["status"] == "failed" and failed["reason"] == "exit code 3"
    assert failed["objective"] == ""
    assert all(float(r["start"]) <= float(failed["end"]) for r in rows.values())
    assert {r["status"] for i, r in rows.items() if i != 2} == {"ok"}  # drained, not killed
    assert len(rows) < 20


@pytest.mark.parametrize("body, reason", [
    ("true", "no result file 0000.result"),
    (': > "$TASK_RESULT"', "empty result file 0000.result"),
    ('echo "loss=0.3" > "$TASK_RESULT"', "result is not a number: 'loss=0.3'"),
    ('echo nan > "$TASK_RESULT"', "result is not finite: 'nan'"),
    ('echo -inf > "$TASK_RESULT"', "result is not finite: '-inf'"),
    ("kill -SEGV $$", "killed by SIGSEGV"),
])
def test_bad_results_are_failures(tmp_path: Path, body: str, reason: str) -> None:
    out = tmp_path / "out"
    script = write_script(tmp_path, body)
    cfg = write_cfg(tmp_path, {"script": script.name})
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "1", "3"])
    assert done.returncode == 1, done.stdout
    rows = read_results(out)
    assert len(rows) == 1
    assert rows[0]["status"] == "failed" and rows[0]["reason"] == reason
    assert f"TASK 0000 FAILED: {reason}" in done.stdout


HOSTILE = ["it's \"quoted\"", "two  spaces", "$(touch pwned-dollar)", "x; touch pwned-semi",
           "`touch pwned-tick`", "back\\slash & | > <", "ünïcødé"]


def test_hostile_values_reach_the_task_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = write_script(tmp_path, """
printf '%s' "$2" > "argv-$TASK_ID.json"
echo 1 > "$TASK_RESULT"
""")
    cfg = write_cfg(tmp_path, {"script": script.name, "problem": {"text": HOSTILE}})
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "4", "12"])
    assert done.returncode == 0, done.stdout + done.stderr
    seen = set()
    for row in read_results(out):
        handed = (Path(Layout.task_dir(str(out), int(row["id"]))) / f"argv-{row['id']}.json"
                  ).read_bytes()
        assert handed == json.dumps({"text": row["text"]}).encode()
        seen.add(json.loads(handed)["text"])
    assert seen <= set(HOSTILE) and len(seen) >= 3
    assert not list(tmp_path.rglob("pwned*")) and not list(BUNDLE.glob("pwned*"))


def test_default_output_is_a_fresh_timestamped_folder(tmp_path: Path) -> None:
    first = run_main(["1", "1", "1"], cwd=tmp_path)
    second = run_main(["1", "1", "1"], cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    folders = sorted((tmp_path / "output").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert len(read_results(folder)) == 1


def test_output_env_variable_is_used(tmp_path: Path) -> None:
    out = tmp_path / "from-env"
    done = run_main(["1", "1", "1"], env={"OUTPUT": str(out)})
    assert done.returncode == 0, done.stderr
    assert len(read_results(out)) == 1


def test_a_folder_holding_a_search_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_main(["-o", str(out), "1", "1", "1"]).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = run_main(["-o", str(out), "1", "1", "1"])
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0
    assert "already holds a search" in again.stderr and "--resume" in again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_uno_dryrun_runs_no_model(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_main(["-c", str(BUNDLE / "uno-1.json"), "-o", str(out), "1", "2", "3"],
                    env={"DRYRUN": "1", "TASK_DELAY": "0.1"})
    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_results(out)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"ok"}
    text = Path(Layout.output_file(str(out), 0)).read_text()
    assert "DRYRUN: would run:" in text and "uno_baseline_keras2.py --learning_rate" in text
    assert 0 <= float(rows[0]["objective"]) < 1


def test_uno_without_benchmarks_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("BENCHMARKS", "DRYRUN")}
    env["DRYRUN"] = "0"
    done = run_main(["-c", str(BUNDLE / "uno-1.json"), "-o", str(out), "1", "1", "1"], env=env)
    assert done.returncode == 1
    assert "BENCHMARKS is not set" in done.stdout


def test_help_exits_zero() -> None:
    done = run_main(["-h"])
    assert done.returncode == 0 and "usage: main.sh" in done.stdout


def test_log_level_warning_shows_only_what_matters(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, {"log_level": "WARNING", "script": str(BUNDLE / "task.sh")})
    done = run_main(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "2", "3"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started: " not in done.stdout and "tasks_running: " not in done.stdout
    assert "summary: ok=3" in done.stdout and "Workflow success!" in done.stdout


def test_log_level_debug_shows_commands_and_fits(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, {"log_level": "DEBUG", "script": str(BUNDLE / "task.sh"),
                               "optimizer": {"n_initial_points": 2}})
    done = run_main(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "1", "4"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started: " in done.stdout
    folder = tmp_path / "out" / "tasks" / "000" / "0000"
    assert f"0000: LAUNCH='' cwd={folder} argv: {BUNDLE / 'task.sh'} 1 " \
        "'{\"drop\": 0.3690935629679824, \"batch_size\": 256}'" in done.stdout
    assert "proposer: fit 1 on 2 results" in done.stdout


def test_launch_delay_spaces_the_launches(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cfg = write_cfg(tmp_path, {"launch_delay": 0.4, "script": str(BUNDLE / "task.sh")})
    done = run_main(["-c", str(cfg), "-o", str(out), "1", "3", "3"], env={"TASK_DELAY": "2"})
    assert done.returncode == 0, done.stdout + done.stderr
    starts = sorted(float(r["start"]) for r in read_results(out))
    assert len(starts) == 3
    assert all(later - earlier >= 0.4 for earlier, later in itertools.pairwise(starts)), starts
