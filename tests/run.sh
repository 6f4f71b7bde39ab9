#!/bin/bash
# TESTS RUN SH
# The test command: prepares the same Python environment as main.sh plus
# the test tools (requirements-dev.txt), then runs pytest on tests/.
set -eu

THIS=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: tests/run.sh [-h] [PYTEST_ARGS...]   (runs the whole suite by default)"
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac

# shellcheck source=lib/python-env.sh
source "$THIS/lib/python-env.sh"
python_env "$THIS" "skopt sklearn numpy matplotlib optuna pytest" \
  "$THIS/requirements.txt" "$THIS/requirements-dev.txt"

cd "$THIS"
exec "$PY" -m pytest -q "$@" tests
