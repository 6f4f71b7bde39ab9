#!/bin/bash
set -eu

# REPORT SH
# Shell interface for Report.py: how did the search in OUTPUT go?
# Prints counts by status, progress, the best points, task time, wall time
# and utilization; Plots.py writes convergence.png, objective.png,
# timeline.png and intermediate.png into OUTPUT. Works on a finished
# search or one still running.

usage()
{
  echo "usage: report.sh [-h] [--top N] [--no-plots] OUTPUT"
  echo "       report.sh OUTPUT --best | --csv [--top K] | --optuna FILE"
  echo "  OUTPUT:        the output folder of a search (holds results.csv)"
  echo "  --top N:       list the N best points (default 10)"
  echo "  --no-plots:    print the text report only"
  echo "  --best:        print the best ok task's point as JSON, as the task received it"
  echo "  --csv:         print the results table as CSV (with --top K: the K best ok rows)"
  echo "  --optuna FILE: write the search as an Optuna journal for optuna-dashboard FILE"
  echo "                 (installs optuna, requirements-optuna.txt, when missing)"
  echo "  PYTHON=/path/to/python selects the interpreter, as for main.sh"
}

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]
then
  usage
  exit 0
fi
if [ $# = 0 ]
then
  echo "report.sh: error: missing OUTPUT; expected the output folder of a search" \
       "(see report.sh -h)" >&2
  exit 2
fi

THIS=$( cd "$( dirname "$0" )" && /bin/pwd )
# shellcheck source=lib/python-env.sh
source "$THIS/lib/python-env.sh"
MODULES="skopt sklearn numpy matplotlib"
REQUIREMENTS=( "$THIS/requirements.txt" )
for ARG in "$@"
do
  case $ARG in
    --optuna|--optuna=*)  # only the export needs Optuna
      MODULES="$MODULES optuna"
      REQUIREMENTS+=( "$THIS/requirements-optuna.txt" ) ;;
  esac
done
python_env "$THIS" "$MODULES" "${REQUIREMENTS[@]}"

exec "$PY" "$THIS/Report.py" "$@"
