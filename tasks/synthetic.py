# SYNTHETIC PY
# The dummy task's work: on each rank, say where it runs and sleep the
# delay; rank 0 writes a deterministic synthetic objective of the
# parameters, so that a search over it visibly converges.
#   synthetic.py PARAMS_JSON DELAY RESULT_FILE
# Objective (lower is better, 0 at the optimum): a real x adds (x - 0.3)^2,
# a number n >= 1 that is an integer adds (log2(n) - 6)^2 / 10 (best at 64),
# any other value adds a fixed pseudo-random amount in [0, 1) from its text.

import hashlib
import json
import math
import os
import socket
import sys
import time

RANK_VARIABLES = ("PMI_RANK", "PMIX_RANK", "SLURM_PROCID", "ALPS_APP_PE", "OMPI_COMM_WORLD_RANK")


def term(value: object) -> float:
    """One parameter's share of the objective."""
    if isinstance(value, (bool, str)):
        digest = hashlib.sha256(str(value).encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32
    if isinstance(value, int) and value >= 1:
        return (math.log2(value) - 6) ** 2 / 10
    return (float(value) - 0.3) ** 2


def objective(params: dict) -> float:
    """The synthetic objective of a point."""
    return sum(term(v) for v in params.values())


def rank() -> int:
    """This process's rank under a parallel launcher (0 when run alone)."""
    for name in RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def main(argv: list[str]) -> int:
    params, delay, result = json.loads(argv[1]), float(argv[2]), argv[3]
    me = rank()
    print(f"rank {me} on {socket.gethostname()} pid {os.getpid()}", flush=True)
    time.sleep(delay)
    if me == 0:
        value = objective(params)
        with open(result, "w") as stream:
            stream.write(f"{value!r}\n")
        print(f"objective {value!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
