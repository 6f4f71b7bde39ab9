#!/bin/bash
# PRUNE TASK SH
# Benchmark task of benchmarks/prune.py: trains PRUNE_MODEL (digits or
# boosting, see benchmarks/prune_task.py) on one core under $LAUNCH,
# printing its validation loss after every step as PROGRESS lines.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: prune-task.sh PARALLELISM PARAMS_JSON   (env: PRUNE_MODEL, TASK_RESULT, LAUNCH, PYTHON)"
}

# shellcheck source=tasks/task-lib.sh
source "$THIS/../tasks/task-lib.sh"
task_start "$@"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
task_launch "${PYTHON:-python3}" "$THIS/prune_task.py" "${PRUNE_MODEL:-digits}" "$PARAMS" \
  "$TASK_RESULT"
