# TRADEOFF PY
# The two-objective example's work (tradeoff-1.json, docs/objectives.adoc):
# a stand-in for training a network, in no time. A wider, deeper network
# reaches a lower validation loss but trains longer and needs more GPU
# memory, as does a larger batch; a point that needs more than OOM_GB
# "runs out of memory" (exit 1, the task fails).
#   tradeoff.py PARAMS_JSON RESULT_FILE
# Writes {"val_loss": ..., "train_seconds": ..., "gpu_mem_gb": ...}.

import json
import math
import sys

OOM_GB = 48.0  # the memory of the pretend GPU


def metrics(params: dict) -> dict[str, float]:
    """The pretend training's validation loss, time and memory for a point."""
    size = params["width"] * params["layers"]
    batch = params["batch_size"]
    val_loss = (0.05 + 1.5 / math.sqrt(size) + (math.log10(params["lr"]) + 2.5) ** 2 / 15
                + 0.01 * math.log2(batch / 16))
    train_seconds = 2.0 + size / 16 * math.sqrt(64 / batch)
    return {"val_loss": round(val_loss, 4), "train_seconds": round(train_seconds, 1),
            "gpu_mem_gb": round(size * batch / 10000, 2)}


def main(argv: list[str]) -> int:
    params, result = json.loads(argv[1]), argv[2]
    found = metrics(params)
    if found["gpu_mem_gb"] > OOM_GB:
        print(f"CUDA out of memory: {found['gpu_mem_gb']} GB needed, {OOM_GB} GB here")
        return 1
    with open(result, "w") as stream:
        stream.write(json.dumps(found) + "\n")
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
