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
  echo "  OUTPUT:      the output folder of a search (holds results.csv)"
  echo "  --top N:     list the N best points (default 10)"
  echo "  --no-plots:  print the text report only"
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
python_env "$THIS" "skopt sklearn numpy matplotlib" "$THIS/requirements.txt"

exec "$PY" "$THIS/Report.py" "$@"
