#!/bin/bash
# shellcheck disable=SC2034  # variables used by submit-common.sh
set -eu

# SUBMIT PBS
# Submits main.sh to PBS Pro (ALCF Polaris, Aurora); tasks run under
# mpiexec (Cray PALS), each on its own hosts from PBS_NODEFILE.  Asks for
# place=scatter: one chunk per host (PBS may pack chunks otherwise).
# Use 'submit-pbs.sh -h' for help

THIS=$( cd "$( dirname "$0" )" && pwd )
PROGRAM=submit-pbs.sh
SCHEDULER=PBS
QUEUE=debug
JOB_VARIABLES=( "PBS_JOBID=(planned)" "PBS_O_HOST=$( hostname )" )
NEED_PROJECT=1
ARRAY_OPTION=-J
ARRAY_INDEX=^array_index^
EXTRA_OPTS="s:f:"
EXTRA_SYNOPSIS=" [-s SYSTEM] [-f FILESYSTEMS]"
SYSTEM=${PBS_SYSTEM:-polaris}
FILESYSTEMS=${PBS_FILESYSTEMS:-}

extra_usage()
{
  echo "  -s SYSTEM    -l select=NODES:system=SYSTEM (default: \$PBS_SYSTEM, else polaris)"
  echo "  -f FILESYSTEMS  -l filesystems=... (default: \$PBS_FILESYSTEMS, else"
  echo "               home:eagle on polaris, home:flare on aurora, else home)"
  echo "Waits (-W) with qsub -W block=true."
}

extra_option()
{
  case $1 in
    s) SYSTEM=$2 ;;
    f) FILESYSTEMS=$2 ;;
    *) submit_error "unknown option -$1" ;;
  esac
}

default_filesystems()
{
  case $SYSTEM in
    polaris) echo home:eagle ;;
    aurora)  echo home:flare ;;
    *)       echo home ;;
  esac
}

submit_command()
{
  local ENV
  ENV=$( job_env , )
  if [[ -z $FILESYSTEMS ]]
  then
    FILESYSTEMS=$( default_filesystems )
  fi
  CMD=( qsub -A "$PROJECT"
             -q "$QUEUE"
             -l "select=$NODES:system=$SYSTEM"
             -l place=scatter
             -l "walltime=$WALLTIME"
             -l "filesystems=$FILESYSTEMS"
             "${ARRAY_ARGS[@]}"
             -N async-local
             -j oe
             -o "$LOG"
             -v "$ENV" )
  if (( WAIT ))
  then
    CMD+=( -W block=true )
  fi
  # PBS starts jobs in $HOME: the job changes to this folder first
  CMD+=( -- /bin/sh -c "$( job_shell )" )
}

wait_command()
{
  # qsub -W block=true has waited
  WAIT_CMD=()
}

# shellcheck source=submit-common.sh
source "$THIS/submit-common.sh"
submit_main "$@"
