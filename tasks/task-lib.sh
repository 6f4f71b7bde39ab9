# shellcheck shell=bash
# TASK LIB SH
# The task protocol's common part, sourced by the task scripts (task.sh,
# tasks/*.sh), each of which defines usage() first:
#   task_start "$@"       checks `SCRIPT PARALLELISM PARAMS` and TASK_RESULT,
#                         sets PARALLELISM and PARAMS, prints the header
#   task_launch CMD...    runs CMD under $LAUNCH; with DRYRUN=1 prints the
#                         full command and runs CMD without the launcher
#   task_launch_or_stand_in CMD...
#                         runs CMD under $LAUNCH; with DRYRUN=1 prints the
#                         full command and writes a stand-in result instead:
#                         a value in (0, 1) from a hash of PARAMS or, when
#                         TASK_METRICS names metrics (cfg objectives and
#                         constraints), a JSON object of it and one such
#                         value for each metric

task_start() {
  if [ "${1:-}" = "-h" ]; then usage; exit 0; fi
  if [ "$#" -ne 2 ]; then usage >&2; exit 2; fi
  PARALLELISM=$1
  PARAMS=$2
  : "${TASK_RESULT:?TASK_RESULT is not set: run this through main.sh}"
  echo "TASK: $$"
  echo "PARALLELISM: $PARALLELISM"
  echo "PARAMS: $PARAMS"
}

# The launcher prefix as words (LAUNCH is shlex-quoted by the driver and
# holds no quoted spaces for the launchers it builds).
_task_prefix() {
  read -r -a PREFIX <<< "${LAUNCH:-}"
}

task_launch() {
  _task_prefix
  if [ "${DRYRUN:-0}" = 1 ] && [ "${#PREFIX[@]}" -gt 0 ]; then
    echo "DRYRUN: would run: ${PREFIX[*]} $*"
    PREFIX=()
  fi
  exec ${PREFIX[@]+"${PREFIX[@]}"} "$@"
}

# A stand-in value in (0, 1) from a hash of PARAMS and the name $1.
_task_stand_in() {
  local hash
  hash=$(printf '%s%s' "$PARAMS" "$1" | cksum | cut -d ' ' -f 1)
  printf '0.%06d\n' "$(( hash % 999999 + 1 ))"
}

task_launch_or_stand_in() {
  _task_prefix
  if [ "${DRYRUN:-0}" = 1 ]; then
    echo "DRYRUN: would run: ${PREFIX[*]+${PREFIX[*]} }$*"
    sleep "${TASK_DELAY:-1}"
    if [ -n "${TASK_METRICS:-}" ]; then
      local name fields
      fields="\"objective\": $(_task_stand_in "")"
      for name in $TASK_METRICS; do
        fields="$fields, \"$name\": $(_task_stand_in "$name")"
      done
      echo "{$fields}" > "$TASK_RESULT"
    else
      _task_stand_in "" > "$TASK_RESULT"
    fi
    echo "DRYRUN: wrote $(cat "$TASK_RESULT") to $TASK_RESULT"
    exit 0
  fi
  exec ${PREFIX[@]+"${PREFIX[@]}"} "$@"
}
