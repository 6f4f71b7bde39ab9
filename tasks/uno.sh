#!/bin/bash
# UNO SH
# Task script for the CANDLE Uno benchmark: runs
# $BENCHMARKS/Pilot1/Uno/uno_baseline_keras2.py under $LAUNCH with the
# point as --name value flags, and writes the last val_loss it reports to
# TASK_RESULT. With DRYRUN=1 it runs no model: it prints the command it
# would run, sleeps a moment and writes a value derived from a hash of the
# parameters.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: uno.sh PARALLELISM PARAMS_JSON   (env: TASK_RESULT, LAUNCH, BENCHMARKS, DRYRUN)"
}

# shellcheck source=tasks/task-lib.sh
source "$THIS/task-lib.sh"
task_start "$@"
PY=${PYTHON:-python3}

# The point as --name value flags (argv words, never through a shell).
mapfile -t FLAGS < <("$PY" "$THIS/params_to_flags.py" "$PARAMS")

if [ "${DRYRUN:-0}" = 1 ]; then
  task_launch_or_stand_in "$PY" "${BENCHMARKS:-\$BENCHMARKS}/Pilot1/Uno/uno_baseline_keras2.py" \
    "${FLAGS[@]}"
fi

if [ -z "${BENCHMARKS:-}" ]; then
  echo "uno.sh: error: BENCHMARKS is not set: export BENCHMARKS=/path/to/your/Benchmarks" \
       "clone, or set DRYRUN=1 to test without the model" >&2
  exit 2
fi
UNO=$BENCHMARKS/Pilot1/Uno/uno_baseline_keras2.py
if [ ! -f "$UNO" ]; then
  echo "uno.sh: error: $UNO not found: is BENCHMARKS=$BENCHMARKS a CANDLE Benchmarks clone?" >&2
  exit 2
fi

LOG=uno-$TASK_ID.log
read -r -a PREFIX <<< "${LAUNCH:-}"
set -x
${PREFIX[@]+"${PREFIX[@]}"} "$PY" "$UNO" "${FLAGS[@]}" --save_path "$OUTPUT/uno-$TASK_ID" 2>&1 \
  | tee "$LOG"
set +x
# Keras prints "... val_loss: 0.1234 ..." once per epoch: keep the last.
VAL_LOSS=$(grep -o "val_loss: [-0-9.eE+naif]*" "$LOG" | tail -n 1 | cut -d " " -f 2)
if [ -z "$VAL_LOSS" ]; then
  echo "uno.sh: error: no val_loss in the model's output ($LOG)" >&2
  exit 1
fi
echo "$VAL_LOSS" > "$TASK_RESULT"
echo "val_loss $VAL_LOSS"
