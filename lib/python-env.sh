# shellcheck shell=bash
# PYTHON ENV SH
# Sourced by main.sh, report.sh and tests/run.sh: picks the Python that
# runs the bundle and makes sure its packages are there.
#   python_env BUNDLE_DIR "MODULES" REQUIREMENTS...
# sets PY to: $PYTHON if set (used as it is); else the bundle's .venv if it
# has MODULES; else python3 if it has MODULES; else it creates (or repairs)
# BUNDLE_DIR/.venv from the REQUIREMENTS files, saying so.

# PY is this file's result, read by the scripts that source it.
# shellcheck disable=SC2034
python_env() {
  local bundle=$1 modules=$2
  shift 2
  local check="import ${modules// /, }"
  if [ -n "${PYTHON:-}" ]; then
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
    echo "python_env: error: no python3 on PATH; install Python 3.11+ or set PYTHON" >&2
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
