#!/bin/bash
# SLEEP TASK SH
# Benchmark task: computes a cheap objective of its parameters (awk), sleeps
# a known duration, and prints the times it measured itself:
#   RAN <start epoch s> <end epoch s> <planned sleep ms>
# and, on a line of its own, the hosts and device it was given (benchmarks/pack.py):
#   HELD <TASK_HOSTS or -> <CUDA_VISIBLE_DEVICES or ->
# The duration is SLEEP_MIN..SLEEP_MAX seconds (default 1..1), drawn from
# TASK_ID, so a run is reproducible. Used by benchmarks/overhead.py and scale.py.
set -eu

T0=$EPOCHREALTIME

usage() {
  echo "usage: sleep-task.sh PARALLELISM PARAMS_JSON   (env: TASK_ID, TASK_RESULT, SLEEP_MIN, SLEEP_MAX)"
}

if [ "$#" -ne 2 ] || [ "$1" = "-h" ]; then usage >&2; exit 2; fi
: "${TASK_RESULT:?TASK_RESULT is not set: run this through the search loop}"

to_ms() {  # seconds with up to 3 decimals -> milliseconds
  local whole=${1%%.*} frac=000
  if [ "$1" != "$whole" ]; then frac=${1#*.}000; fi
  echo $(( 10#$whole * 1000 + 10#${frac:0:3} ))
}
LOW=$(to_ms "${SLEEP_MIN:-1}")
HIGH=$(to_ms "${SLEEP_MAX:-${SLEEP_MIN:-1}}")
RANDOM=${TASK_ID:-0}
MS=$(( LOW + (RANDOM * 32768 + RANDOM) % (HIGH - LOW + 1) ))

OBJECTIVE=$(awk -v p="$2" 'BEGIN { gsub(/"[^"]*"/, "", p); n = split(p, v, /[^-0-9.eE]+/)
  s = 0; for (i = 1; i <= n; i++) if (v[i] != "") s += (v[i] - 0.3) ^ 2; print s }')
sleep "$(( MS / 1000 )).$(printf '%03d' $(( MS % 1000 )))"

T1=$EPOCHREALTIME
echo "$OBJECTIVE" > "$TASK_RESULT"
echo "RAN $T0 $T1 $MS"
echo "HELD ${TASK_HOSTS:--} ${CUDA_VISIBLE_DEVICES:--}"
