#!/bin/bash
# TESTS RUN SH
# The test command: prepares the same Python environment as main.sh plus
# the test tools (requirements-dev.txt), then runs pytest: on the test
# files or folders given (as pytest takes them, `FILE::TEST` too), else on
# the whole suite in tests/.
set -eu

THIS=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: tests/run.sh [-h] [PYTEST_ARGS...] [TEST_PATHS...]   (default: all of tests/)"
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac

# Paths are taken from where this was run (pytest runs in the bundle).
ARGS=()
PATHS=0
for arg in "$@"; do
  case "$arg" in
    -*) ARGS+=("$arg") ;;
    *)
      if [ -e "${arg%%::*}" ]; then
        case "$arg" in
          /*) ARGS+=("$arg") ;;
          *) ARGS+=("$PWD/$arg") ;;
        esac
        PATHS=$((PATHS + 1))
      else
        ARGS+=("$arg")  # an option's value (-k resume), or a path that pytest will refuse
      fi ;;
  esac
done
if [ "$PATHS" = 0 ]; then
  ARGS+=(tests)
fi

# shellcheck source=lib/python-env.sh
source "$THIS/lib/python-env.sh"
python_env "$THIS" "skopt sklearn numpy matplotlib optuna optuna_dashboard pytest" \
  "$THIS/requirements.txt" "$THIS/requirements-dev.txt"

cd "$THIS"
exec "$PY" -m pytest -q "${ARGS[@]}"
