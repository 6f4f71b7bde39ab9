# TEST PRUNE PY
# Pruning end to end with real processes: each task prints a known
# learning curve for its point (x + 1/step), one step at a time, as
# explicit PROGRESS lines or as Keras-like lines read through
# progress_pattern. Tasks the rule gives up on end early with status
# pruned and their last value; the decisions are those the rule takes on
# the recorded history (progress.csv), also across an interrupted and
# resumed search; bad pruner and progress_pattern values are one-line
# errors with exit code 2.

import csv
import json
import math
import os
import signal
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import read_results, run_main, write_cfg, write_script
from test_signals import finish, start, wait_until
from test_validation import main_in_process, refused

import Layout

STEPS = 5
# The task waits until the driver journaled each step before printing the
# next, so every decision is taken while the task runs (no race with its end).
CURVE_TASK = """
X=$("$PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1])["x"])' "$2")
for step in $(seq 1 {steps}); do
  value=$(awk -v x="$X" -v s="$step" 'BEGIN {{ printf "%.6f", x + 1 / s }}')
  {print_step}
  n=0
  until grep -q "^$TASK_ID,$step," "$OUTPUT/progress.csv"; do
    n=$((n + 1))
    if [ "$n" -gt 6000 ]; then echo "step $step never journaled" >&2; exit 1; fi
    sleep 0.01
  done
done
echo "$value" > "$TASK_RESULT"
echo DONE
"""
PRINT_STEP = {"explicit": 'echo "PROGRESS $step $value"',
              "pattern": 'echo "epoch $step/{steps} - loss: 9.9 - val_loss: $value - acc: 0.5"'}
KERAS_PATTERN = r"val_loss: ([-+0-9.eE]+)"


def curve_cfg(tmp_path: Path, mode: str, pruner: dict, seed: int = 3) -> str:
    body = CURVE_TASK.format(steps=STEPS,
                             print_step=PRINT_STEP[mode].format(steps=STEPS))
    script = write_script(tmp_path, body, name=f"curve-{mode}.sh")
    cfg = {"script": str(script), "problem": {"x": {"low": 0.0, "high": 1.0}},
           "optimizer": {"n_initial_points": 50, "random_state": seed},
           "progress_interval": 0.05, "pruner": pruner}
    if mode == "pattern":
        cfg["progress_pattern"] = KERAS_PATTERN
    return str(write_cfg(tmp_path, cfg))


def journaled(output: Path) -> list[tuple[int, int, float]]:
    return [(i, s, v) for found in journaled_reads(output) for i, s, v in found]


def journaled_reads(output: Path) -> list[list[tuple[int, int, float]]]:
    """progress.csv's rows, one list per read of the tasks' output (rows of a read share
    their time)."""
    reads: list[list[tuple[int, int, float]]] = []
    last = None
    with open(output / "progress.csv", newline="") as stream:
        for row in csv.DictReader(stream):
            if row["time"] != last:
                reads.append([])
                last = row["time"]
            reads[-1].append((int(row["id"]), int(row["step"]), float(row["value"])))
    return reads


def expected_stops(reads: list[list[tuple[int, int, float]]], statuses: dict[int, str],
                   pruner: dict) -> dict[int, int]:
    """The step at which the rule stops each task, replaying the journal in its order.

    A plain restatement of the rules (docs/steering.adoc, Pruning) on the recorded
    history: a read's values are all recorded, then each task it named is
    judged once on its best so far, at its latest step (median) or at each
    rung the read crossed (asha). Tasks that were
    interrupted (killed) are left out of it.
    """
    rule, min_steps, min_tasks = pruner["rule"], pruner["min_steps"], pruner["min_tasks"]
    eta = pruner.get("reduction_factor", 3)
    at_step: dict[int, list[float]] = defaultdict(list)
    at_rung: dict[int, list[float]] = defaultdict(list)
    best: dict[int, float] = {}
    last: dict[int, tuple[int, float]] = {}
    rung: dict[int, int] = defaultdict(int)
    stops: dict[int, int] = {}
    for found in reads:
        new_rungs: dict[int, list[int]] = defaultdict(list)
        for task_id, step, value in found:
            if statuses[task_id] == "killed":
                continue
            best[task_id] = min(best.get(task_id, math.inf), value)
            last[task_id] = (step, value)
            at_step[step].append(value)
            while step >= math.ceil(min_steps * eta ** rung[task_id] - 1e-9):
                at_rung[rung[task_id]].append(best[task_id])
                new_rungs[task_id].append(rung[task_id])
                rung[task_id] += 1
        for task_id in dict.fromkeys(i for i, _, _ in found):
            if task_id in stops or statuses[task_id] == "killed":
                continue
            step, value = last[task_id]
            if rule == "median":
                others = list(at_step[step])
                others.remove(value)
                if step >= min_steps and len(others) >= min_tasks \
                        and best[task_id] > statistics.median(others):
                    stops[task_id] = step
                continue
            for k in new_rungs[task_id]:  # the rungs this read crossed, lowest first
                reached = at_rung[k]
                better = sum(1 for v in reached if v < best[task_id])
                if len(reached) > min_tasks and better >= math.ceil(len(reached) / eta):
                    stops[task_id] = step
                    break
    return stops


def check_pruned_as_the_rule_says(output: Path, pruner: dict) -> dict[int, str]:
    rows = {int(r["id"]): r for r in read_results(output)}
    statuses = {i: r["status"] for i, r in rows.items()}
    progress = journaled(output)
    stops = expected_stops(journaled_reads(output), statuses, pruner)
    for task_id, row in rows.items():
        if row["status"] == "killed":
            continue
        text = Layout.output_file(str(output), task_id)
        done = "DONE" in Path(text).read_text()
        steps = [(s, v) for i, s, v in progress if i == task_id]
        if task_id in stops:
            assert row["status"] == "pruned", (task_id, stops[task_id], steps)
            assert not done and not Path(Layout.result_file(str(output), task_id)).exists()
            assert float(row["objective"]) == steps[-1][1]  # its last intermediate value
            assert steps[-1][0] <= stops[task_id] + 1 < STEPS + 1 or stops[task_id] == STEPS
            assert "pruned" in row["reason"]
        else:
            assert row["status"] == "ok", (task_id, steps)
            assert done and [s for s, _ in steps] == list(range(1, STEPS + 1))
            x = float(row["x"])
            assert [v for _, v in steps] == pytest.approx([x + 1 / s for s in range(1, 6)],
                                                          abs=1e-6)
    return statuses


@pytest.mark.parametrize("mode", ["explicit", "pattern"])
def test_hopeless_tasks_end_early_with_status_pruned(tmp_path: Path, mode: str) -> None:
    pruner = {"rule": "median", "min_steps": 2, "min_tasks": 2}
    cfg = curve_cfg(tmp_path, mode, pruner)
    output = tmp_path / "out"
    done = run_main(["-c", cfg, "-o", str(output), "1", "1", "10"])
    assert done.returncode == 0, done.stdout + done.stderr  # pruned tasks are no failures
    statuses = check_pruned_as_the_rule_says(output, pruner)
    assert list(statuses.values()).count("pruned") >= 2, statuses
    assert list(statuses.values()).count("ok") >= 3, statuses
    assert "pruning:  " in done.stdout and ", the median of the " in done.stdout
    pruned = list(statuses.values()).count("pruned")
    assert f"pruned={pruned}" in done.stdout
    assert "Workflow success!" in done.stdout
    check_report_shows_pruning(output, pruned, done.stdout)


def check_report_shows_pruning(output: Path, pruned: int, printed: str) -> None:
    """The report counts pruned tasks and the time saved; the plots show them."""
    import io

    import Report
    assert f"pruned: {pruned} task(s) stopped early after " in printed
    assert "task-seconds saved" in printed
    summary = Report.write_report(str(output), out=io.StringIO(), err=io.StringIO())
    assert summary.notes["intermediate"] is None  # drawn, not a message
    assert (output / "intermediate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    legend = summary.figures["intermediate"].axes[0].get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert f"pruned ({pruned})" in labels and any(label.startswith("ok (") for label in labels)
    timeline = summary.figures["timeline"].axes[0].get_legend()
    assert "pruned" in [text.get_text() for text in timeline.get_texts()]


def test_asha_keeps_the_top_third_at_each_rung(tmp_path: Path) -> None:
    pruner = {"rule": "asha", "min_steps": 1, "reduction_factor": 3, "min_tasks": 2}
    cfg = curve_cfg(tmp_path, "explicit", pruner, seed=5)
    output = tmp_path / "out"
    done = run_main(["-c", cfg, "-o", str(output), "1", "1", "8"])
    assert done.returncode == 0, done.stdout + done.stderr
    statuses = check_pruned_as_the_rule_says(output, pruner)
    assert list(statuses.values()).count("pruned") >= 2, statuses
    assert "1/3 go on): " in done.stdout


def test_a_resumed_search_prunes_as_the_uninterrupted_one(tmp_path: Path) -> None:
    """The pruner's history survives a SIGTERM: decisions after resume use the earlier
    tasks' curves (without them, min_tasks would not be met), and the interrupted
    task's partial curve does not count twice."""
    pruner = {"rule": "median", "min_steps": 2, "min_tasks": 4}
    cfg = curve_cfg(tmp_path, "explicit", pruner, seed=4)
    output = tmp_path / "out"
    log = tmp_path / "log1"
    proc = start(["-c", cfg, "-o", str(output), "1", "1", "12"], via="main.py", log=log)
    wait_until(lambda: (output / "progress.csv").exists() and
               any(i == 5 and s == 2 for i, s, _ in journaled(output)), "task 5 at step 2", 60)
    proc.send_signal(signal.SIGTERM)
    text = finish(proc, log)
    assert proc.returncode == 143, text
    before = {int(r["id"]): r["status"] for r in read_results(output)}
    assert before[5] == "killed" and len(before) == 6, before

    done = run_main(["--resume", "-c", cfg, "-o", str(output), "1", "1", "12"])
    assert done.returncode == 0, done.stdout + done.stderr
    statuses = check_pruned_as_the_rule_says(output, pruner)
    assert len(statuses) == 13
    assert any(statuses[i] == "pruned" for i in range(6, 10)), statuses
    # pruned points are told with their last value and never issued again
    assert "result(s) told to the search" in done.stdout
    with open(output / "started.csv", newline="") as stream:
        issued = [r["x"] for r in csv.DictReader(stream)]
    pruned_x = [r["x"] for r in read_results(output) if r["status"] == "pruned"]
    assert all(issued.count(x) == 1 for x in pruned_x)


# Each task prints its five steps in one write, so one read brings them all; tasks
# run one after the other. Task 1 is behind at steps 1-4 and ahead at step 5; task 2
# is behind throughout. A task waits until its step 5 is journaled (the decision is
# taken in the same look), then task 2 waits to be stopped.
AT_ONCE_TASK = r"""
case "$TASK_ID" in
  0) set -- 0.5 0.5 0.5 0.5 0.5 ;;
  1) set -- 0.9 0.9 0.9 0.9 0.1 ;;
  *) set -- 0.9 0.9 0.9 0.8 0.9 ;;
esac
printf 'PROGRESS 1 %s\nPROGRESS 2 %s\nPROGRESS 3 %s\nPROGRESS 4 %s\nPROGRESS 5 %s\n' "$@"
for _ in $(seq 6000); do
  if grep -q "^$TASK_ID,5," "$OUTPUT/progress.csv"; then break; fi
  sleep 0.01
done
if [ "$TASK_ID" = 2 ]; then for _ in $(seq 6000); do sleep 0.01; done; fi
echo "$5" > "$TASK_RESULT"
"""


def test_a_read_of_many_steps_is_judged_on_its_last_step_and_logged_truly(
        tmp_path: Path) -> None:
    """Issue 18: task 1 was stopped for its step 1 while the log named step 5 and its best."""
    script = write_script(tmp_path, AT_ONCE_TASK)
    cfg = write_cfg(tmp_path, {"script": str(script), "progress_interval": 0.05,
                               "pruner": {"rule": "median", "min_steps": 1, "min_tasks": 1}})
    output = tmp_path / "out"
    done = run_main(["-c", str(cfg), "-o", str(output), "1", "1", "3"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["status"] for r in read_results(output)] == ["ok", "ok", "pruned"]
    pruning = [line for line in done.stdout.splitlines() if line.startswith("pruning: ")]
    assert pruning == [("pruning:  0002 at step 5: its best value so far 0.8 is worse than "
                        "0.3, the median of the 2 other tasks' values at step 5")]


BAD = {
    "unknown rule": ({"pruner": {"rule": "hyperband"}},
                     "'pruner.rule': expected one of median, asha"),
    "no rule": ({"pruner": {"min_steps": 3}},
                "cfg key 'pruner': expected an object with a \"rule\""),
    "not an object": ({"pruner": "median"}, "cfg key 'pruner'"),
    "unknown key": ({"pruner": {"rule": "median", "warmup": 3}}, "'pruner.warmup': unknown"),
    "min_steps 0": ({"pruner": {"rule": "median", "min_steps": 0}}, "'pruner.min_steps'"),
    "min_steps 2.5": ({"pruner": {"rule": "asha", "min_steps": 2.5}}, "'pruner.min_steps'"),
    "factor 1": ({"pruner": {"rule": "asha", "reduction_factor": 1}},
                 "'pruner.reduction_factor': expected a value > 1"),
    "factor text": ({"pruner": {"rule": "asha", "reduction_factor": "3"}},
                    "'pruner.reduction_factor': expected a number"),
    "min_tasks -1": ({"pruner": {"rule": "median", "min_tasks": -1}}, "'pruner.min_tasks'"),
    "pattern without group": ({"progress_pattern": "val_loss: [0-9.]+"},
                              "'progress_pattern': 'val_loss: [0-9.]+' expected exactly one group"),
    "pattern with two groups": ({"progress_pattern": "(loss): ([0-9.]+)"}, "exactly one group"),
    "pattern that does not compile": ({"progress_pattern": "val_loss: ([0-9.]+"},
                                      "does not compile"),
    "pattern not text": ({"progress_pattern": 3}, "'progress_pattern': expected a regular"),
    "interval 0": ({"progress_interval": 0}, "'progress_interval': expected a value >= 0.01"),
    "interval 1e-9": ({"progress_interval": 1e-9}, "'progress_interval': expected a value >= 0.01"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_pruner_and_progress_values_are_one_line_errors(tmp_path: Path, case: str,
                                                            capsys, monkeypatch) -> None:
    cfg, says = BAD[case]
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    output = tmp_path / "out"
    refused(main_in_process(["-c", str(path), "-o", str(output)], capsys, monkeypatch), says)
    assert not output.exists()


def test_a_bad_pattern_through_main_sh(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, {"progress_pattern": "val_loss: ([0-9.]+"})
    refused(run_main(["-c", str(cfg), "-o", str(tmp_path / "out")]), "does not compile")
    assert not (tmp_path / "out").exists()


# Test shim for CANDLE Uno (TensorFlow and its data cannot run here): prints what
# Keras 2 prints per epoch, a progress bar redrawn with \b and \r, then the epoch's
# metrics, then a callback's line.
UNO_SHIM = r'''
import sys
args = sys.argv[1:]
epochs = int(args[args.index("--epochs") + 1])
for epoch in range(1, epochs + 1):
    print(f"Epoch {epoch}/{epochs}")
    bar = "".join(f"\r{n:3d}/100 [==>....] - ETA: 1s - loss: 0.{n:02d}" + "\b" * 45
                  for n in range(0, 100, 10))
    sys.stdout.write(bar + f"\r100/100 [======] - 1s 5ms/step - loss: {1 / epoch:.4f}"
                     f" - val_loss: {2 / epoch:.4f} - val_acc: 0.5\n")
    print(f"Epoch {epoch:05d}: val_loss improved from inf to {2 / epoch:.5f}")
'''


def test_uno_sh_unchanged_reports_every_epoch_through_uno_1_json(tmp_path: Path,
                                                                  bundle: Path) -> None:
    uno = tmp_path / "Benchmarks" / "Pilot1" / "Uno"
    uno.mkdir(parents=True)
    (uno / "uno_baseline_keras2.py").write_text(UNO_SHIM)
    output = tmp_path / "out"
    done = run_main(["-c", str(bundle / "uno-1.json"), "-o", str(output), "1", "2", "2"],
                    env={"BENCHMARKS": str(tmp_path / "Benchmarks"), "DRYRUN": "0"})
    assert done.returncode == 0, done.stdout + done.stderr
    progress = journaled(output)
    for row in read_results(output):
        epochs = int(row["epochs"])
        mine = [(s, v) for i, s, v in progress if i == int(row["id"])]
        assert mine == [(e, round(2 / e, 4)) for e in range(1, epochs + 1)], row
        assert float(row["objective"]) == mine[-1][1]


def test_digits_reports_its_validation_loss_every_epoch(tmp_path: Path, bundle: Path) -> None:
    result = tmp_path / "r"
    done = run_main_task(bundle / "tasks" / "digits.sh", {"epochs": 3, "hidden_layer_size": 16},
                         result)
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith("PROGRESS ")]
    assert [int(w[1]) for w in lines] == [1, 2, 3]
    losses = [float(w[2]) for w in lines]
    assert losses[0] > losses[2] > 0 and losses[2] == float(result.read_text())
    digits_cfg = json.loads((bundle / "digits-1.json").read_text())
    assert digits_cfg["pruner"]["rule"] in ("median", "asha")


@pytest.mark.parametrize("model", ["digits", "boosting"])
def test_the_benchmark_task_keeps_its_best_step(tmp_path: Path, bundle: Path, model: str) -> None:
    """benchmarks/prune-task.sh reports the best step's value (the kept checkpoint)."""
    result = tmp_path / "r"
    # a learning rate this high overshoots after its first steps: the best is not the last
    params = {"learning_rate_init": 0.1, "batch_size": 16} if model == "digits" \
        else {"learning_rate": 1.0, "max_depth": 5, "min_samples_leaf": 1}
    env = dict(os.environ, PRUNE_MODEL=model, PRUNE_STEPS="6")
    done = run_main_task(bundle / "benchmarks" / "prune-task.sh", params, result, env)
    losses = [float(line.split()[2]) for line in done.stdout.splitlines()
              if line.startswith("PROGRESS ")]
    assert len(losses) == 6 and float(result.read_text()) == min(losses)
    if model == "digits":  # the training images and their four one-pixel nudges
        assert "data: 6735 training and 450 validation images" in done.stdout


def run_main_task(script: Path, params: dict, result: Path,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a task script on its own, as the driver would (no launcher)."""
    env = dict(env or os.environ, TASK_RESULT=str(result), LAUNCH="", PYTHON=sys.executable)
    env.pop("DRYRUN", None)
    done = subprocess.run([str(script), "1", json.dumps(params)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


# The model on a compute node: the curve printed by a program srun starts there,
# reaching NNNN.txt only through srun (the driver reads nothing else).
SRUN_CURVE = r'''
import json, os, sys, time
x = json.loads(sys.argv[1])["x"]
journal = os.path.join(os.environ["OUTPUT"], "progress.csv")
for step in range(1, int(sys.argv[2]) + 1):
    value = f"{x + 1 / step:.6f}"
    print(f"PROGRESS {step} {value}", flush=True)
    deadline = time.monotonic() + 60
    while not any(line.startswith(f"{os.environ['TASK_ID']},{step},")
                  for line in open(journal)):
        if time.monotonic() > deadline:
            sys.exit(f"step {step} never journaled")
        time.sleep(0.01)
with open(os.environ["TASK_RESULT"], "w") as stream:
    stream.write(value + "\n")
print("DONE", flush=True)
'''


def test_pruning_when_the_model_runs_under_srun(tmp_path: Path) -> None:
    from launch_helpers import clean_env, launch_line, printed, task_text
    from test_slurm import slurm_nodes, submit
    if len(slurm_nodes()) < 2:
        if os.environ.get("REQUIRE_SLURM") == "1":
            pytest.fail("no Slurm cluster of 2 nodes ready, and REQUIRE_SLURM=1")
        pytest.skip("no Slurm cluster of 2 nodes ready (tests/slurm-start.sh starts one)")
    (tmp_path / "curve.py").write_text(SRUN_CURVE)
    script = write_script(tmp_path, f'read -r -a PREFIX <<< "${{LAUNCH:-}}"\n'
                          f'echo "LAUNCH: ${{LAUNCH:-}}"\n'
                          f'exec "${{PREFIX[@]}}" "$PYTHON" {tmp_path / "curve.py"} "$2" {STEPS}')
    pruner = {"rule": "median", "min_steps": 2, "min_tasks": 2}
    write_cfg(tmp_path, {"script": str(script), "problem": {"x": {"low": 0.0, "high": 1.0}},
                         "optimizer": {"n_initial_points": 50, "random_state": 3},
                         "progress_interval": 0.05, "pruner": pruner})
    env = clean_env(tmp_path, shims=False)
    done = submit(["-W", "-t", "8", "-w", "00:05:00", "2", "1", "-c", "cfg.json"], env,
                  tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    output = Path(printed(done.stdout)["OUTPUT"])
    statuses = check_pruned_as_the_rule_says(output, pruner)
    assert len(statuses) == 8 and "pruned" in statuses.values() and "ok" in statuses.values()
    assert all(launch_line(task_text(output, i)).startswith("srun ") for i in statuses)
