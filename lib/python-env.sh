# shellcheck shell=bash
# PYTHON ENV SH
# Sourced by main.sh, report.sh and tests/run.sh: picks the Python that
# runs the bundle and makes sure its packages are there.
#   python_env BUNDLE_DIR "MODULES" REQUIREMENTS...
# sets PY to: $PYTHON if set (checked: it must run, be Python 3.11+ and find
# MODULES, else one line `<script>: error: PYTHON=...: ...` and status 2);
# else the bundle's .venv if it has MODULES; else python3 if it has MODULES;
# else it creates (or repairs) BUNDLE_DIR/.venv from the REQUIREMENTS files,
# saying so.

# Prints "ok-42" when run by a Python 3.11+ that finds every module named in
# its arguments (found, not imported: that takes seconds); else why not.
PYTHON_PROBE='import sys
if sys.version_info < (3, 11):
    print("is Python %d.%d; expected 3.11 or newer" % sys.version_info[:2])
    sys.exit(3)
import importlib.util
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
if missing:
    print("has no module " + ", ".join(missing))
    sys.exit(4)
print("ok-" + str(6 * 7))'

# python_check PYTHON "MODULES" REQUIREMENTS...: status 0 if PYTHON will do;
# else one line on stderr naming it and what is wrong, and status 2.
python_check() {
  local python=$1 modules=$2 me=${0##*/} said code=0
  shift 2
  if ! command -v -- "$python" >/dev/null 2>&1; then
    echo "$me: error: PYTHON=$python: no such program (expected a Python 3.11+ interpreter;" \
      "unset PYTHON to use the bundle's own)" >&2
    return 2
  fi
  # shellcheck disable=SC2086 # MODULES is a list of names
  said=$("$python" -c "$PYTHON_PROBE" $modules 2>&1 </dev/null) || code=$?
  if [ "$code" = 0 ] && [ "$said" = "ok-42" ]; then
    return 0
  fi
  case "$code" in
    3) ;;
    4) said="$said (install: $python -m pip install ${*/#/-r }; or unset PYTHON)" ;;
    *) said=${said##*$'\n'}
       said="does not run as Python (exit code $code${said:+: ${said:0:100}})" ;;
  esac
  echo "$me: error: PYTHON=$python: $said" >&2
  return 2
}

# PY is this file's result, read by the scripts that source it.
# shellcheck disable=SC2034
python_env() {
  local bundle=$1 modules=$2
  shift 2
  local check="import ${modules// /, }"
  if [ -n "${PYTHON:-}" ]; then
    python_check "$PYTHON" "$modules" "$@" || return 2
    PY=$PYTHON
    return 0
  fi
  local venv="$bundle/.venv"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    PY=$venv/bin/python
    return 0
  fi
  if [ ! -x "$venv/bin/python" ] && command -v python3 >/dev/null 2>&1 \
      && python3 -c "$check" 2>/dev/null; then
    PY=$(command -v python3)
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || {
    echo "${0##*/}: error: no python3 on PATH; install Python 3.11+ or set PYTHON" >&2
    return 2
  }
  if [ ! -x "$venv/bin/python" ]; then
    echo "setting up: creating $venv (Python packages from ${*##*/}) ..."
    python3 -m venv "$venv"
  else
    echo "setting up: installing missing packages into $venv ..."
  fi
  local requirement args=()
  for requirement in "$@"; do
    args+=(-r "$requirement")
  done
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"
  PY=$venv/bin/python
  echo "setting up: done"
}
