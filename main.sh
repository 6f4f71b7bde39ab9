#!/bin/bash
# MAIN SH
# Shell interface for the Python program: picks the Python (creating .venv
# on the first run if needed), runs main.py, reports OK or FAIL and TIME.
set -eu

THIS=$(cd "$(dirname "$0")" && pwd)

usage() {
  cat <<USAGE
usage: main.sh [-c CFG] [-o OUTPUT] [--resume] [-h] [PARALLELISM [POINTS_INIT [POINTS_MAX]]]
Runs an asynchronous skopt search: POINTS_INIT tasks at a time, POINTS_MAX
in all, each task on PARALLELISM nodes (defaults 1 4 8).
  -c CFG       the cfg file (JSON), e.g. uno-1.json
  -o OUTPUT    output folder (default \$OUTPUT, else ./output/<timestamp>/)
  --resume     continue the search recorded in OUTPUT
  -h           this help
Environment: PYTHON selects the interpreter; DRYRUN=1 passes to the tasks.
USAGE
}

for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
  esac
done

# shellcheck source=lib/python-env.sh
source "$THIS/lib/python-env.sh"
python_env "$THIS" "skopt sklearn numpy matplotlib" "$THIS/requirements.txt"

START=$(date +%s%N)
CODE=0
"$PY" -u "$THIS/main.py" "$@" || CODE=$?
STOP=$(date +%s%N)

if [ "$CODE" = 0 ]; then
  echo "main.sh: OK"
else
  echo "main.sh: FAIL: python exited with code: $CODE"
fi
TENTHS=$(( (STOP - START) / 100000000 ))
echo "TIME: $(( TENTHS / 10 )).$(( TENTHS % 10 ))"
exit "$CODE"
