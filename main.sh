#!/bin/bash
# MAIN SH
# Shell interface for the Python program: picks the Python (creating .venv
# on the first run if needed), runs main.py, reports OK or FAIL and TIME.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  cat <<USAGE
usage: main.sh [-c CFG] [-o OUTPUT] [--resume [--retry-failed] | --join]
               [--check [--nodes N]] [-h]
               [PARALLELISM [POINTS_INIT [POINTS_MAX]]]
Runs an asynchronous skopt search: POINTS_INIT tasks at a time, POINTS_MAX
in all, each task on PARALLELISM nodes (defaults 1 4 8).
  -c CFG          the cfg file (JSON), e.g. uno-1.json
  -o OUTPUT       output folder (default \$OUTPUT, else ./output/<timestamp>/)
  --resume        continue the search recorded in OUTPUT
  --retry-failed  with --resume: issue each failed or timed-out point once more
  --check         check everything, start and write nothing, print the launch plan
                  of the first round (exit 0: the run would start, 2: it would not)
  --nodes N       with --check: plan on N made-up nodes (default: the job's, else 1)
  --join          add this job's tasks to the search in OUTPUT (-o needed), which
                  the first driver to come creates: several jobs, one search
  -h              this help
Environment: PYTHON selects the interpreter; DRYRUN=1 passes to the tasks.
USAGE
}

for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
  esac
done

# Until Python runs, a stop signal ends this script as it would end Python:
# one line and exit code 128+N (a trap runs once the command under way is done).
# shellcheck disable=SC2317 # run by the traps below
stopped() {  # NAME CODE
  echo "main.sh: stopped by SIG$1" >&2 || true
  exit "$2"
}
trap 'stopped TERM 143' TERM
trap 'stopped INT 130' INT
trap 'stopped HUP 129' HUP

# shellcheck source=lib/python-env.sh
source "$THIS/lib/python-env.sh"
python_env "$THIS" "skopt sklearn numpy matplotlib" "$THIS/requirements.txt"

START=$(date +%s%N)
# Python runs in the background so that a SIGTERM, SIGINT or SIGHUP sent
# to this script alone (a batch system ending the job script, a closed ssh
# session) reaches it: bash runs a trap only once the foreground command
# is done, and dies of a plain SIGTERM or SIGHUP leaving its child behind.
# A background job would start with SIGINT ignored, and an ignored Ctrl-C
# is lost: Python starts with SIGINT at its default and puts its own
# handlers in place first thing (StopEarly.py). `wait` returns early when a
# trap ran; wait again until Python has really exited. Python counts a
# signal that arrives twice within a moment (sent to the whole process
# group and forwarded from here as well) once.
CHILD=""
PENDING=""
TRAPPED=""
forward() {  # SIGNAL: pass it on to Python (or remember it until Python runs)
  TRAPPED=1
  if [ -n "$CHILD" ]; then kill -s "$1" "$CHILD" 2>/dev/null || true; else PENDING=$1; fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP
( trap - INT; exec "$PY" -u "$THIS/main.py" "$@" ) &
CHILD=$!
if [ -n "$PENDING" ]; then forward "$PENDING"; fi
CODE=""
while :; do
  TRAPPED=""
  STATUS=0
  wait "$CHILD" || STATUS=$?
  if [ -n "$CODE" ] && { [ "$STATUS" = 127 ] || [ "$STATUS" -lt 0 ]; }; then
    break  # the wait before had collected the exit status after all (bash: 127 or -1)
  fi
  CODE=$STATUS
  if [ -z "$TRAPPED" ]; then
    break
  fi  # else a trap interrupted the wait: wait again
done
trap - TERM INT HUP
STOP=$(date +%s%N)

# after a SIGHUP the terminal may be gone: these lines must not change the exit code
if [ "$CODE" = 0 ]; then
  echo "main.sh: OK" 2>/dev/null || true
else
  echo "main.sh: FAIL: python exited with code: $CODE" 2>/dev/null || true
fi
TENTHS=$(( (STOP - START) / 100000000 ))
echo "TIME: $(( TENTHS / 10 )).$(( TENTHS % 10 ))" 2>/dev/null || true
exit "$CODE"
