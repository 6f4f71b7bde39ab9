#!/bin/bash
# BENCHMARKS RUN SH
# One command per benchmark: prepares the bundle's Python (as main.sh does,
# plus benchmarks/requirements.txt for quality), raises the open-files limit,
# and runs benchmarks/NAME.py with any further arguments.
#   benchmarks/run.sh overhead|scale|pack|proposal_cost|spawn_cost|quality|failures|report_time|plot_folders|soak|prune|jobs [ARGS...]
set -eu

THIS=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<USAGE
usage: benchmarks/run.sh [-h] overhead|scale|pack|proposal_cost|spawn_cost|quality|failures|report_time|plot_folders|soak|prune|jobs [ARGS...]
  overhead  replacement latency and driver CPU per task vs the original inline loop (~6 min)
  scale     slot utilization and the model's share of the points: 1,024 x 20-40 s tasks
            (6,000) and 16 x 1 s tasks (2,000) (~6 min); --hogs N beside N busy processes
            (--hogs-apart: each in a session of its own)
  pack      GPU utilization on a Polaris-shaped allocation: 128 nodes x 4 GPUs, single-GPU
            20-40 s tasks packed vs whole-node; driver CPU per replacement at 512 and 4,096
            slots (~10 min)
  proposal_cost  CPU of one proposal at 500-10,000 results with 1,023 points pending, a
            1,000-point batch, and the driver's copy per fit, no tasks (~1 min)
  spawn_cost  what a wake-up's spawns (Popen, as Task.launch) cost the loop beside CPU hogs:
            serial, from threads, pinned, with a short slice (~2 min)
  quality   simple regret on 18 problems (BBOB, classics, scikit-learn tuning): async-local,
            random, Optuna TPE (10 seeds, ~15 min on 2 cores); --methods 'optuna GP'
            installs torch==2.13.0 for Optuna's GPSampler; --multi: hypervolume on two
            objectives (3 bbob-biobj functions, an SVM's error vs cost): async-local, Optuna
            NSGA-II and multi-objective TPE, random (10 seeds, 100 and 300 evaluations)
  failures  failed tasks beside an out-of-memory region: async-local with and without its
            feasibility model, random, Optuna TPE (10 seeds x 100 evaluations, ~15 min)
  report_time  the end-of-run report (text and PNGs) on 6,000 tasks, 1,024 slots (~5 s)
  plot_folders  synthetic OUTPUT folders at 8, 50, 1,000 slots, to look at the PNGs
            (FOLDER [--slots N...] [--report])
  soak      5,000 tiny tasks at concurrency 64: the driver's descriptors, RSS, zombies (~15 s)
  prune     task-seconds and best final value with no pruner, the median rule and ASHA, on
            the digits MLP and boosted trees, random and GP searches, 5 seeds (~65 min; run it alone)
  jobs      several jobs, one search: 4 drivers x 256 slots of 20-40 s tasks joining one
            OUTPUT against 1 driver x 1,024 slots: utilization, how soon a result is told to
            the others, duplicates; reading 30,000 results (~20 min)
ARGS go to benchmarks/NAME.py (see benchmarks/run.sh NAME -h).
Environment: PYTHON selects the interpreter (else as main.sh: python3 or .venv).
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
  overhead|scale|pack|proposal_cost|spawn_cost|quality|failures|report_time|plot_folders|soak|prune|jobs) NAME=$1; shift ;;
  *) echo "run.sh: error: benchmark ${1}: expected overhead, scale, pack, proposal_cost, spawn_cost, quality, failures, report_time, plot_folders, soak, prune or jobs" >&2; exit 2 ;;
esac

# shellcheck source=lib/python-env.sh
source "$THIS/lib/python-env.sh"
if [ "$NAME" = quality ] || [ "$NAME" = failures ]; then
  # cocoex (the BBOB problems) is installed with the rest but not required: without it
  # quality.py says which problems need it (the README test runs the others)
  python_env "$THIS" "skopt sklearn numpy matplotlib optuna" \
    "$THIS/requirements.txt" "$THIS/benchmarks/requirements.txt"
else
  python_env "$THIS" "skopt sklearn numpy matplotlib" "$THIS/requirements.txt"
fi
case " $* " in
  *"optuna GP"*)  # Optuna's GPSampler needs torch: installed for this command, never for a search
    "$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q torch==2.13.0 ;;
esac

HARD=$(ulimit -Hn)
ulimit -n "$HARD" 2>/dev/null || true
cd "$THIS"
exec "$PY" -u "benchmarks/$NAME.py" "$@"
