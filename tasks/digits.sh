#!/bin/bash
# DIGITS SH
# A real task: trains a small neural network (scikit-learn MLPClassifier)
# on the handwritten digits that ship with scikit-learn and writes its
# validation log-loss to TASK_RESULT. Seconds per task on one core; no
# download, no GPU. See digits-1.json and README.adoc (the digits example).
# The work runs under $LAUNCH, as any task's must.
# With DRYRUN=1 it prints the command and writes a value derived from a
# hash of the parameters instead of training.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: digits.sh PARALLELISM PARAMS_JSON   (env: TASK_RESULT, LAUNCH, PYTHON, DRYRUN)"
}

# shellcheck source=tasks/task-lib.sh
source "$THIS/task-lib.sh"
task_start "$@"

# One core per task: concurrent tasks must not fight over BLAS threads.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

task_launch_or_stand_in "${PYTHON:-python3}" "$THIS/digits_train.py" "$PARAMS" "$TASK_RESULT"
