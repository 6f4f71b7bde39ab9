#!/bin/bash
set -eu

# RANK TASK SH
# Test task for the real launcher tests (Slurm, MPICH, aprun shim): runs
# its ranks through $LAUNCH, each saying where it ran (tests/rank.sh, or
# the MPI program RANK_PROGRAM), then writes the synthetic objective of
# its parameters.  Unlike task.sh it runs the launcher even with DRYRUN=1:
# the ranks are the point of these tests.

THIS=$( cd "$( dirname "$0" )" && pwd )

usage()
{
  echo "usage: rank_task.sh PARALLELISM PARAMS_JSON" \
       "(env: TASK_RESULT, LAUNCH, RANK_PROGRAM, RANK_SLEEP)"
}

if [[ ${1:-} == -h ]]
then
  usage
  exit 0
fi
if (( ${#} != 2 ))
then
  usage >&2
  exit 2
fi
PARAMS=$2
: "${TASK_RESULT:?TASK_RESULT is not set: run this through main.sh}"

echo "LAUNCH: ${LAUNCH:-}"
read -r -a PREFIX <<< "${LAUNCH:-}"
${PREFIX[@]+"${PREFIX[@]}"} "${RANK_PROGRAM:-$THIS/rank.sh}"
"${PYTHON:-python3}" "$THIS/../tasks/synthetic.py" "$PARAMS" 0 "$TASK_RESULT"
