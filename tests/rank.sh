#!/bin/sh
set -eu

# RANK SH
# One rank of a test task (tests/rank_task.sh): prints one line saying which
# rank it is and where it runs, as the launcher told it, then sleeps
# RANK_SLEEP seconds (default 0).

usage() {
  echo "usage: rank.sh [-h]   (env: RANK_SLEEP; run under a launcher by tests/rank_task.sh)"
}

if [ "${1:-}" = "-h" ]; then usage; exit 0; fi

echo "RANK" \
     "rank=${SLURM_PROCID:-${PMI_RANK:-${ALPS_APP_PE:-none}}}" \
     "size=${SLURM_NTASKS:-${PMI_SIZE:-none}}" \
     "step=${SLURM_JOB_ID:-none}.${SLURM_STEP_ID:-none}" \
     "node=${SLURMD_NODENAME:-none}" \
     "pid=$$"
sleep "${RANK_SLEEP:-0}"
