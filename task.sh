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

# shellcheck source=tasks/task-lib.sh
source "$THIS/tasks/task-lib.sh"
task_start "$@"

DELAY=${TASK_DELAY:-$(( RANDOM % 3 ))}
echo "delay $DELAY"
task_launch "${PYTHON:-python3}" "$THIS/tasks/synthetic.py" "$PARAMS" "$DELAY" "$TASK_RESULT"
