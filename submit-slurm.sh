#!/bin/bash
# shellcheck disable=SC2034  # variables used by submit-common.sh
set -eu

# SUBMIT SLURM
# Submits main.sh to Slurm (Frontier, Perlmutter, clusters); each task
# runs as its own job step (srun --exact) on its own nodes.
# Use 'submit-slurm.sh -h' for help

THIS=$( cd "$( dirname "$0" )" && pwd )
PROGRAM=submit-slurm.sh
SCHEDULER=Slurm
QUEUE=""
NEED_PROJECT=0
EXTRA_OPTS="C:"
EXTRA_SYNOPSIS=" [-C CONSTRAINT]"
CONSTRAINT=""

extra_usage()
{
  echo "  -C CONSTRAINT  --constraint (e.g. gpu on Perlmutter)"
  echo "-q is the partition; -A (or \$PROJECT) the account, left out if neither."
  echo "The job has its nodes exclusively (--exclusive).  Waits (-W) with sbatch --wait."
}

extra_option()
{
  case $1 in
    C) CONSTRAINT=$2 ;;
    *) submit_error "unknown option -$1" ;;
  esac
}

submit_command()
{
  local ENV
  ENV=$( job_env , )
  CMD=( sbatch --parsable
               --nodes "$NODES"
               --time "$WALLTIME" )
  if [[ -n $PROJECT ]]
  then
    CMD+=( --account "$PROJECT" )
  fi
  if [[ -n $QUEUE ]]
  then
    CMD+=( --partition "$QUEUE" )
  fi
  if [[ -n $CONSTRAINT ]]
  then
    CMD+=( --constraint "$CONSTRAINT" )
  fi
  CMD+=( --exclusive
         --job-name async-local
         --output "$LOG"
         "--export=ALL,$ENV" )
  if (( WAIT ))
  then
    CMD+=( --wait )
  fi
  CMD+=( --wrap "$( job_shell )" )
}

wait_command()
{
  # sbatch --wait has waited
  WAIT_CMD=()
}

# shellcheck source=submit-common.sh
source "$THIS/submit-common.sh"
submit_main "$@"
