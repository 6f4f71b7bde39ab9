#!/bin/bash
# TASK SH
# Dummy task for testing: prints its PID and parameters, sleeps a short
# random delay (0-2 s, or TASK_DELAY), and writes a deterministic synthetic
# objective of its parameters to TASK_RESULT (see tasks/synthetic.py).
# The work runs under $LAUNCH, as a real task's would.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: task.sh PARALLELISM PARAMS_JSON   (env: TASK_RESULT, LAUNCH, TASK_DELAY, DRYRUN)"
}

if [ "${1:-}" = "-h" ]; then usage; exit 0; fi
if [ "$#" -ne 2 ]; then usage >&2; exit 2; fi

PARALLELISM=$1
PARAMS=$2
: "${TASK_RESULT:?TASK_RESULT is not set: run this through main.sh}"

echo "TASK: $$"
echo "PARALLELISM: $PARALLELISM"
echo "PARAMS: $PARAMS"
DELAY=${TASK_DELAY:-$(( RANDOM % 3 ))}
echo "delay $DELAY"

WORK=( "${PYTHON:-python3}" "$THIS/tasks/synthetic.py" "$PARAMS" "$DELAY" "$TASK_RESULT" )
read -r -a PREFIX <<< "${LAUNCH:-}"
if [ "${DRYRUN:-0}" = 1 ] && [ "${#PREFIX[@]}" -gt 0 ]; then
  echo "DRYRUN: would run: ${LAUNCH} ${WORK[*]}"
  PREFIX=()
fi
exec ${PREFIX[@]+"${PREFIX[@]}"} "${WORK[@]}"
