#!/bin/bash
# DIGITS SH
# A real task: trains a small neural network (scikit-learn MLPClassifier)
# on the handwritten digits that ship with scikit-learn and writes its
# validation log-loss to TASK_RESULT. Seconds per task on one core; no
# download, no GPU. See digits-1.json and docs/digits-walkthrough.adoc.
# The work runs under $LAUNCH, as any task's must.
# With DRYRUN=1 it prints the command and writes a value derived from a
# hash of the parameters instead of training.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: digits.sh PARALLELISM PARAMS_JSON   (env: TASK_RESULT, LAUNCH, PYTHON, DRYRUN)"
}

if [ "${1:-}" = "-h" ]; then usage; exit 0; fi
if [ "$#" -ne 2 ]; then usage >&2; exit 2; fi

PARALLELISM=$1
PARAMS=$2
: "${TASK_RESULT:?TASK_RESULT is not set: run this through main.sh}"

echo "TASK: $$"
echo "PARALLELISM: $PARALLELISM"
echo "PARAMS: $PARAMS"

# One core per task: concurrent tasks must not fight over BLAS threads.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

WORK=( "${PYTHON:-python3}" "$THIS/digits_train.py" "$PARAMS" "$TASK_RESULT" )
read -r -a PREFIX <<< "${LAUNCH:-}"
if [ "${DRYRUN:-0}" = 1 ]; then
  echo "DRYRUN: would run: ${PREFIX[*]+${PREFIX[*]} }${WORK[*]}"
  # A stand-in value in (0, 1), the same for the same parameters.
  HASH=$(printf '%s' "$PARAMS" | cksum | cut -d ' ' -f 1)
  VALUE=$(( HASH % 999999 + 1 ))
  printf '0.%06d\n' "$VALUE" > "$TASK_RESULT"
  echo "DRYRUN: wrote $(cat "$TASK_RESULT") to $TASK_RESULT"
  exit 0
fi
exec ${PREFIX[@]+"${PREFIX[@]}"} "${WORK[@]}"
