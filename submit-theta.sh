#!/bin/bash
# shellcheck disable=SC2034  # variables used by submit-common.sh
set -eu

# SUBMIT THETA
# Submits main.sh to Cobalt (ALCF Theta); tasks run under aprun.
# Use 'submit-theta.sh -h' for help

THIS=$( cd "$( dirname "$0" )" && pwd )
PROGRAM=submit-theta.sh
SCHEDULER=Cobalt
QUEUE=default
JOB_VARIABLES=( "COBALT_JOBID=(planned)" )
NEED_PROJECT=1
ARRAY_OPTION=""
ARRAY_INDEX=""
EXTRA_OPTS=""
EXTRA_SYNOPSIS=""

extra_usage()
{
  echo "Waits (-W) with cqwait.  Cobalt's --env cannot pass a value with ':'."
}

extra_option()
{
  submit_error "unknown option -$1"
}

submit_command()
{
  local ENV
  ENV=$( job_env : )
  CMD=( qsub --project "$PROJECT"
             --queue "$QUEUE"
             --nodecount "$NODES"
             --time "$WALLTIME"
             --output "$LOG"
             --error "$LOG"
             --env "$ENV"
             "${JOB_ARGS[@]}" )
}

wait_command()
{
  WAIT_CMD=( cqwait "$JOB" )
}

# shellcheck source=submit-common.sh
source "$THIS/submit-common.sh"
submit_main "$@"
