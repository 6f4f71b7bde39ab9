# shellcheck shell=bash
# SUBMIT COMMON
# What submit-theta.sh, submit-pbs.sh and submit-slurm.sh share: the
# options, NODES / PARALLELISM arithmetic, the timestamped output folder
# (or, with -r OUTPUT, the search folder a new job resumes; with -j OUTPUT,
# the search a new job joins), a job array of -a JOBS jobs that join one new
# search (main.sh --join), printing and recording what was submitted, and
# waiting for the job.
# Sourced, not run.  The script that sources it defines:
#   PROGRAM             its name, for messages
#   SCHEDULER           Cobalt, PBS or Slurm
#   QUEUE               the default queue ("": the scheduler's default)
#   NEED_PROJECT        1 if the scheduler needs a project (-A or $PROJECT)
#   EXTRA_OPTS          getopts letters of its own options (e.g. "s:f:")
#   extra_usage()       prints help lines for its own options
#   extra_option L V    handles its own option letter L with value V
#   submit_command()    fills the array CMD with the submit command line
#   wait_command()      fills WAIT_CMD with the command that waits for $JOB
#                       (empty when the submit command itself blocks)
#   JOB_VARIABLES       NAME=VALUE words the job will have that choose its
#                       machine and launcher (for main.sh's checks here)
#   ARRAY_OPTION        its job-array option (--array, -J; "": no arrays), given
#                       ARRAY_ARGS=( OPTION 0-(JOBS-1) ) to put in CMD
#   ARRAY_INDEX         what its log path says for the array index (%a, ^array_index^)
# and then calls: submit_main "$@"
# Before submitting, main.sh's own checks run here for a job of NODES nodes
# (main.py --check --nodes NODES): a cfg or number the job would refuse is
# refused now, with main.sh's one line and exit code 2; -n prints the plan.

# Defaults shared by all schedulers (the original's walltime):
WALLTIME=00:02:00
WALLTIME_GIVEN=0
RESUME=""
JOIN=""
JOBS=""
ARRAY_ARGS=()
PROJECT=${PROJECT:-}
WAIT=0
DRY=0
TASKS=""
# Variables passed into the job when they are set here:
PASS_ENV=( DRYRUN PYTHON BENCHMARKS )

submit_usage()
{
  echo "usage: $PROGRAM [-q QUEUE] [-w WALLTIME] [-A PROJECT] [-W] [-t TASKS] [-n]$EXTRA_SYNOPSIS"
  echo "       ${PROGRAM//?/ } NODES PARALLELISM [main args...]"
  echo "       $PROGRAM [options] -r OUTPUT NODES [main args...]"
  echo "       $PROGRAM [options] -j OUTPUT NODES [main args...]"
  echo "Submits main.sh to $SCHEDULER on NODES nodes: CONCURRENCY = NODES / PARALLELISM"
  echo "tasks at a time, each on PARALLELISM nodes, TASKS in all."
  echo "  -q QUEUE     queue (default: ${QUEUE:-that of the scheduler})"
  echo "  -w WALLTIME  HH:MM:SS (default: $WALLTIME)"
  echo "  -A PROJECT   project to charge (default: \$PROJECT)"
  echo "  -W           wait for the job to end; exit 0 if the search ended OK"
  echo "  -t TASKS     tasks in all (default: CONCURRENCY x 10)"
  echo "  -n           print the launch plan and the submit command, submit nothing"
  echo "  -r OUTPUT    resume the search in OUTPUT in a new job: it runs"
  echo "               main.sh --resume -o OUTPUT [main args...] (the search's own settings;"
  echo "               numbers after NODES are main.sh's), its log OUTPUT.resume-<timestamp>.txt"
  if [[ -n $ARRAY_OPTION ]]
  then
    echo "  -a JOBS      submit JOBS jobs (a job array, $ARRAY_OPTION) that feed one new search:"
    echo "               each runs main.sh --join -o OUTPUT [main args...] PARALLELISM"
    echo "               CONCURRENCY TASKS (TASKS in all, default CONCURRENCY x 10 x JOBS);"
    echo "               job I's log is output/<timestamp>.job-I.txt"
  fi
  echo "  -j OUTPUT    one more job that joins the search in OUTPUT: it runs"
  echo "               main.sh --join -o OUTPUT [main args...], its log OUTPUT.join-<timestamp>.txt"
  echo "  main args    given to main.sh before its numbers, e.g. -c uno-1.json"
  extra_usage
  echo "The job runs: main.sh [main args...] PARALLELISM CONCURRENCY TASKS"
  echo "with OUTPUT=output/<timestamp> (also ${PASS_ENV[*]} if set);"
  echo "its log is output/<timestamp>.txt.  Warns when WALLTIME is left at $WALLTIME."
  echo "Runs main.sh's checks for NODES nodes first (main.sh --check): refuses what the job would."
}

submit_error()
# Bad input: one line on stderr, exit 2
{
  echo "$PROGRAM: error: $*" >&2
  exit 2
}

positive()
# Check that $2 (named $1) is an integer >= 1
{
  if ! [[ $2 =~ ^[0-9]+$ ]] || (( 10#$2 < 1 ))
  then
    submit_error "$1 '$2': expected an integer >= 1"
  fi
}

sh_quote()
# Print the arguments quoted for /bin/sh (where needed), separated by spaces
{
  local WORD WORDS=() Q="'"
  for WORD in "$@"
  do
    if [[ -z $WORD || $WORD =~ [^A-Za-z0-9_./:=,@%+-] ]]
    then
      WORD=$Q${WORD//$Q/$Q\\$Q$Q}$Q
    fi
    WORDS+=( "$WORD" )
  done
  echo "${WORDS[*]}"
}

job_shell()
# The /bin/sh command line that runs the job in this folder
{
  echo "cd $( sh_quote "$PWD" ) && exec $( sh_quote "${JOB_ARGS[@]}" )"
}

job_env()
# Print the variables of the job as NAME=VALUE, joined by $1.
# A value holding $1 cannot be passed: that is an error.
{
  local SEPARATOR=$1 NAME VALUE PAIRS=()
  for NAME in OUTPUT "${PASS_ENV[@]}"
  do
    [[ -n ${!NAME:-} ]] || continue
    VALUE=${!NAME}
    if [[ $VALUE == *"$SEPARATOR"* ]]
    then
      submit_error "$NAME '$VALUE': cannot hold '$SEPARATOR' for $SCHEDULER"
    fi
    PAIRS+=( "$NAME=$VALUE" )
  done
  local IFS=$SEPARATOR
  echo "${PAIRS[*]}"
}

new_arguments()
# NODES PARALLELISM [main args...]: CONCURRENCY, TASKS and MAIN_ARGS
{
  if (( ${#} < 2 ))
  then
    submit_usage >&2
    submit_error "expected NODES PARALLELISM [main args...]"
  fi
  positive NODES "$1"
  positive PARALLELISM "$2"
  NODES=$(( 10#$1 ))
  PARALLELISM=$(( 10#$2 ))
  shift 2
  MAIN_ARGS=( "$@" )
  if (( PARALLELISM > NODES ))
  then
    submit_error "PARALLELISM $PARALLELISM: expected at most NODES $NODES"
  fi
  CONCURRENCY=$(( NODES / PARALLELISM ))
  if (( NODES % PARALLELISM ))
  then
    echo "$PROGRAM: warning: NODES $NODES is not a multiple of" \
         "PARALLELISM $PARALLELISM: $(( NODES % PARALLELISM )) node(s) idle" >&2
  fi
  TASKS_GIVEN=$TASKS
  if [[ -z $TASKS ]]
  then
    TASKS=$(( CONCURRENCY * 10 ))
  fi
  positive TASKS "$TASKS"
  TASKS=$(( 10#$TASKS ))
}

resume_arguments()
# -r OUTPUT NODES [main args...]: OUTPUT must hold a search; the job passes
# the main args as given (the search keeps its recorded settings)
{
  if (( ${#} < 1 ))
  then
    submit_usage >&2
    submit_error "expected NODES [main args...] after -r OUTPUT"
  fi
  if [[ -n $TASKS ]]
  then
    submit_error "-t: not with -r (a resumed search keeps its POINTS_MAX;" \
                 "give main.sh's numbers after NODES)"
  fi
  positive NODES "$1"
  NODES=$(( 10#$1 ))
  shift
  MAIN_ARGS=( "$@" )
  if [[ ! -f $RESUME/run.json && ! -f $RESUME/results.csv ]]
  then
    submit_error "OUTPUT '$RESUME': expected a search folder (run.json or results.csv)"
  fi
  RESUME=$( cd "$RESUME" && pwd )
}

pre_check()
# main.sh's checks (cfg, task script, numbers, machine and launch limits) for
# the job's arguments on NODES nodes, in this folder as the job will be; with
# -n, the plan of the first round.  A refusal: main.sh's one line, exit 2.
{
  local PLAN CODE=0
  # shellcheck source=lib/python-env.sh
  source "$THIS/lib/python-env.sh"
  python_env "$THIS" "skopt sklearn numpy matplotlib" "$THIS/requirements.txt" >&2 || exit 2
  PLAN=$( env "${JOB_VARIABLES[@]}" OUTPUT="$OUTPUT" \
            "$PY" "$THIS/main.py" --check --nodes "$NODES" "${JOB_ARGS[@]:1}" ) || CODE=$?
  if (( CODE ))
  then
    exit "$CODE"  # main.py said why on stderr, in one line
  fi
  if (( DRY ))
  then
    echo "$PLAN"
  fi
}

all_ok()
# Whether the job's log (each job's of an array) says main.sh: OK
{
  local FILE COUNT=0
  if [[ -z $JOBS ]]
  then
    grep -q "^main.sh: OK" "$LOG" 2> /dev/null
    return
  fi
  for FILE in "$OUTPUT".job-*.txt
  do
    grep -q "^main.sh: OK" "$FILE" 2> /dev/null || return 1
    COUNT=$(( COUNT + 1 ))
  done
  (( COUNT == JOBS ))
}

submit_main()
{
  local OPTION
  while getopts ":hq:w:A:Wt:nr:j:a:$EXTRA_OPTS" OPTION
  do
    case $OPTION in
      h) submit_usage ; exit 0 ;;
      q) QUEUE=$OPTARG ;;
      w) WALLTIME=$OPTARG ; WALLTIME_GIVEN=1 ;;
      r) RESUME=$OPTARG ;;
      j) JOIN=$OPTARG ;;
      a) JOBS=$OPTARG ;;
      A) PROJECT=$OPTARG ;;
      W) WAIT=1 ;;
      t) TASKS=$OPTARG ;;
      n) DRY=1 ;;
      :) submit_error "option -$OPTARG needs a value (see -h)" ;;
      \?) submit_error "unknown option -$OPTARG (see -h)" ;;
      *) extra_option "$OPTION" "${OPTARG:-}" ;;
    esac
  done
  shift $(( OPTIND - 1 ))

  if [[ -n $RESUME && -n $JOIN ]]
  then
    submit_error "-r and -j: give one (-r resumes a search, -j joins one)"
  fi
  if [[ -n $JOBS ]]
  then
    [[ -n $ARRAY_OPTION ]] || submit_error "-a: $SCHEDULER job arrays are not supported here"
    [[ -z $RESUME && -z $JOIN ]] || submit_error "-a: not with -r or -j (-a starts a new search)"
    positive JOBS "$JOBS"
    JOBS=$(( 10#$JOBS ))
    (( JOBS >= 2 )) || submit_error "JOBS '$JOBS': expected at least 2 (one job: leave -a out)"
    # shellcheck disable=SC2034 # put in CMD by the sourcing script
    ARRAY_ARGS=( "$ARRAY_OPTION" "0-$(( JOBS - 1 ))" )
  fi
  if [[ -n $JOIN ]]
  then
    RESUME=$JOIN
    resume_arguments "$@"
  elif [[ -n $RESUME ]]
  then
    resume_arguments "$@"
  else
    new_arguments "$@"
  fi
  if [[ -n $JOBS && -z $TASKS_GIVEN ]]
  then
    TASKS=$(( TASKS * JOBS ))
  fi
  if [[ ! $WALLTIME =~ ^[0-9]+(:[0-9]{2}){0,2}$ ]]
  then
    submit_error "WALLTIME '$WALLTIME': expected HH:MM:SS"
  fi
  if (( NEED_PROJECT )) && [[ -z $PROJECT ]]
  then
    submit_error "no project: give -A PROJECT or set PROJECT"
  fi

  if (( ! WALLTIME_GIVEN ))
  then
    echo "$PROGRAM: warning: WALLTIME left at its default $WALLTIME" \
         "(the original's 2 minutes): give -w HH:MM:SS" >&2
  fi

  TIMESTAMP=$( date "+%Y-%m-%d_%H-%M-%S" )
  local NAME=submit
  if [[ -n $RESUME ]]
  then
    # The folder taken up names the job's log and records:
    # OUTPUT.resume-<timestamp>.txt (-r), OUTPUT.join-<timestamp>.txt (-j)
    local HOW=resume
    if [[ -n $JOIN ]]; then HOW="join"; fi
    OUTPUT=$RESUME
    NAME=submit.$HOW-$TIMESTAMP
    LOG=$OUTPUT.$HOW-$TIMESTAMP.txt
    JOB_ARGS=( "$THIS/main.sh" "--$HOW" -o "$OUTPUT" "${MAIN_ARGS[@]}" )
  else
    OUTPUT=$PWD/output/$TIMESTAMP
    local SUFFIX=1
    while [[ -e $OUTPUT ]]
    do
      OUTPUT=$PWD/output/${TIMESTAMP}_$SUFFIX
      SUFFIX=$(( SUFFIX + 1 ))
    done
    LOG=$OUTPUT.txt
    JOB_ARGS=( "$THIS/main.sh" "${MAIN_ARGS[@]}"
               "$PARALLELISM" "$CONCURRENCY" "$TASKS" )
    if [[ -n $JOBS ]]
    then
      LOG=$OUTPUT.job-$ARRAY_INDEX.txt
      JOB_ARGS=( "$THIS/main.sh" --join -o "$OUTPUT" "${MAIN_ARGS[@]}"
                 "$PARALLELISM" "$CONCURRENCY" "$TASKS" )
    fi
  fi
  CMD=()
  submit_command
  pre_check
  local RECORD=$OUTPUT/$NAME.txt
  if (( DRY ))
  then
    RECORD=/dev/null
  else
    mkdir -p "$OUTPUT"
  fi
  {
    echo "OUTPUT=$OUTPUT"
    echo "LOG=$LOG"
    echo "NODES=$NODES"
    if [[ -n $JOIN ]]
    then
      echo "JOIN=$OUTPUT"
    elif [[ -n $RESUME ]]
    then
      echo "RESUME=$OUTPUT"
    else
      [[ -z $JOBS ]] || echo "JOBS=$JOBS"
      echo "PARALLELISM=$PARALLELISM"
      echo "CONCURRENCY=$CONCURRENCY"
      echo "TASKS=$TASKS"
    fi
    echo "SUBMIT: $( sh_quote "${CMD[@]}" )"
  } | tee "$RECORD"
  if (( DRY ))
  then
    exit 0
  fi

  local CODE
  set +e
  "${CMD[@]}" | tee "$OUTPUT/$NAME.out"
  CODE=${PIPESTATUS[0]}
  set -e
  # The first word of the submit command's first line: the job id
  JOB=$( head -n 1 "$OUTPUT/$NAME.out" )
  JOB=${JOB%%;*}
  JOB=${JOB%% *}
  if (( CODE )) && { (( ! WAIT )) || [[ -z $JOB ]] ; }
  then
    echo "$PROGRAM: FAIL: ${CMD[0]} exited with code: $CODE" | \
      tee -a "$RECORD" >&2
    exit 1
  fi
  echo "JOB=$JOB" | tee -a "$RECORD"
  WAIT_CMD=()
  if (( WAIT ))
  then
    wait_command
  fi
  if (( ${#WAIT_CMD[@]} ))
  then
    echo "WAIT: $( sh_quote "${WAIT_CMD[@]}" )" | tee -a "$RECORD"
    "${WAIT_CMD[@]}" || CODE=$?
  fi
  if (( ! WAIT ))
  then
    exit 0
  fi
  if all_ok
  then
    echo "$PROGRAM: job $JOB: OK" | tee -a "$RECORD"
    exit 0
  fi
  echo "$PROGRAM: job $JOB: FAIL (exit code $CODE): see $LOG" | \
    tee -a "$RECORD" >&2
  exit 1
}
