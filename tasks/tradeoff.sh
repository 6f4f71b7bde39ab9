#!/bin/bash
# TRADEOFF SH
# The two-objective example's task (tradeoff-1.json): writes a JSON result
# with a validation loss, a training time and a GPU memory for its point,
# as a real training script would report them (tasks/tradeoff.py). A point
# that needs too much memory fails, as a real one runs out of it. It takes
# TASK_DELAY seconds (default 0.5), a pretend training's time. The work
# runs under $LAUNCH, as any task's must.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: tradeoff.sh PARALLELISM PARAMS_JSON   (env: TASK_RESULT, LAUNCH, PYTHON, TASK_DELAY, DRYRUN)"
}

# shellcheck source=tasks/task-lib.sh
source "$THIS/task-lib.sh"
task_start "$@"

sleep "${TASK_DELAY:-0.5}"
task_launch "${PYTHON:-python3}" "$THIS/tradeoff.py" "$PARAMS" "$TASK_RESULT"
