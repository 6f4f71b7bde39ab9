#!/bin/bash
# shellcheck disable=SC2034  # variables used by submit-common.sh
set -eu

# SUBMIT SLURM
# Submits main.sh to Slurm (Frontier, Perlmutter, clusters); each task
# runs as its own job step (srun --exact) on its own nodes.  The batch
# shell (main.sh) gets SIGTERM 60 s before the end (--signal=B:TERM@60: a
# plain TERM@60 signals the job steps, the tasks, which then count as
# failed); the job asks for the GPUs its steps take (--gpus-per-node) when
# GPUS_PER_NODE, -g, the cfg's gpus_per_node or its machine (where Slurm
# pins the devices: perlmutter) says how many.
# Use 'submit-slurm.sh -h' for help

THIS=$( cd "$( dirname "$0" )" && pwd )
PROGRAM=submit-slurm.sh
SCHEDULER=Slurm
QUEUE=""
JOB_VARIABLES=( "SLURM_JOB_ID=(planned)" )
NEED_PROJECT=0
ARRAY_OPTION=--array
ARRAY_INDEX=%a
EXTRA_OPTS="C:g:"
EXTRA_SYNOPSIS=" [-C CONSTRAINT] [-g GPUS]"
CONSTRAINT=""
GPUS=${GPUS_PER_NODE:-}

extra_usage()
{
  echo "  -C CONSTRAINT  --constraint (e.g. gpu on Perlmutter)"
  echo "  -g GPUS      --gpus-per-node GPUS, for the tasks' steps (default: \$GPUS_PER_NODE,"
  echo "               else the cfg's gpus_per_node (-c CFG), else its machine's where Slurm"
  echo "               pins the devices (perlmutter); none when 0 or unset)"
  echo "-q is the partition; -A (or \$PROJECT) the account, left out if neither."
  echo "The job has its nodes exclusively (--exclusive).  Waits (-W) with sbatch --wait."
}

extra_option()
{
  case $1 in
    C) CONSTRAINT=$2 ;;
    g) GPUS=$2 ;;
    *) submit_error "unknown option -$1" ;;
  esac
}

cfg_gpus()
# The cfg's gpus_per_node, from -c CFG / --cfg CFG of the main args ("" if none)
{
  local I CFG=""
  for (( I = 0; I < ${#MAIN_ARGS[@]}; I++ ))
  do
    case ${MAIN_ARGS[I]} in
      -c|--cfg) CFG=${MAIN_ARGS[I+1]:-} ;;
      --cfg=*) CFG=${MAIN_ARGS[I]#--cfg=} ;;
    esac
  done
  [[ -n $CFG && -r $CFG ]] || return 0
  # main.sh checks the cfg in the job; here only the one number is read: the cfg's
  # gpus_per_node, else its machine's where Slurm pins the devices (Machines.py)
  "${PYTHON:-python3}" -c 'import json, sys
sys.path.insert(0, sys.argv[2])
from Machines import MACHINES
cfg = json.load(open(sys.argv[1]))
value = cfg.get("gpus_per_node")
machine = MACHINES.get(cfg.get("machine", ""))
if value is None and machine is not None and not machine.device_variable:
    value = machine.gpus_per_node
print(value if isinstance(value, int) and not isinstance(value, bool) else "")' \
    "$CFG" "$THIS" 2> /dev/null || true
}

submit_command()
{
  local ENV
  ENV=$( job_env , )
  if [[ -z $GPUS ]]
  then
    GPUS=$( cfg_gpus )
  fi
  if [[ -n $GPUS ]] && ! [[ $GPUS =~ ^[0-9]+$ ]]
  then
    submit_error "GPUS '$GPUS': expected an integer >= 0"
  fi
  CMD=( sbatch --parsable
               --nodes "$NODES"
               --time "$WALLTIME"
               --signal=B:TERM@60 )
  if [[ -n $GPUS ]] && (( 10#$GPUS > 0 ))
  then
    CMD+=( --gpus-per-node "$(( 10#$GPUS ))" )
  fi
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
  CMD+=( "${ARRAY_ARGS[@]}"
         --exclusive
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
