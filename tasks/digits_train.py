# DIGITS TRAIN PY
# A real model to tune out of the box: trains scikit-learn's MLPClassifier
# on the handwritten digits that ship with scikit-learn (no download), and
# writes the validation log-loss (lower is better) to RESULT_FILE. After
# every epoch it prints `PROGRESS <epoch> <validation loss>`, the
# intermediate value a cfg "pruner" decides on (README, Pruning).
#   digits_train.py PARAMS_JSON RESULT_FILE
# PARAMS_JSON keys (all optional, defaults below): hidden_layer_size,
# alpha, learning_rate_init, batch_size, epochs.
# Under a parallel launcher every rank starts; rank 0 trains, the others
# say where they run and exit.

import json
import math
import os
import socket
import sys
import time
import warnings
from typing import Any

DEFAULTS = {"hidden_layer_size": 64, "alpha": 1e-4, "learning_rate_init": 1e-3,
            "batch_size": 64, "epochs": 30}
SEED = 0  # fixed split and initial weights: a point's value depends on the point only
RANK_VARIABLES = ("PMI_RANK", "PMIX_RANK", "SLURM_PROCID", "ALPS_APP_PE", "OMPI_COMM_WORLD_RANK")


def rank() -> int:
    """This process's rank under a parallel launcher (0 when run alone)."""
    for name in RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def parse_params(text: str) -> dict:
    """The hyperparameters: PARAMS_JSON over DEFAULTS; TypeError/ValueError if bad."""
    try:
        given = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"PARAMS_JSON is not JSON: {err.msg}") from None
    if not isinstance(given, dict):
        raise TypeError(f"PARAMS_JSON: expected an object, got {text!r}")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"PARAMS_JSON: unknown parameter {unknown[0]!r}; "
                         f"expected some of {', '.join(DEFAULTS)}")
    params = dict(DEFAULTS, **given)
    for name in ("hidden_layer_size", "batch_size", "epochs"):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or value != int(value) or value < 1:
            raise ValueError(f"PARAMS_JSON: {name}: expected a positive integer, got {value!r}")
        params[name] = int(value)
    for name in ("alpha", "learning_rate_init"):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"PARAMS_JSON: {name}: expected a number > 0, got {value!r}")
        params[name] = float(value)
    return params


Data = tuple[Any, Any, Any, Any]  # X_train, X_val, y_train, y_val


def load_data() -> Data:
    """The digits, pixels scaled to 0..1, split 75 % / 25 % (stratified, fixed seed)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return tuple(train_test_split(X / 16.0, y, test_size=0.25, stratify=y,  # pixels are 0..16
                                  random_state=SEED))


def train(params: dict, data: Data | None = None, keep_best: bool = False) -> float:
    """Train on the training images, return the log-loss on the validation ones.

    `data` defaults to load_data(); with `keep_best` the result is the best
    epoch's validation loss (the checkpoint one would keep) instead of the last.
    """
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.neural_network import MLPClassifier

    X_train, X_val, y_train, y_val = data if data is not None else load_data()
    model = MLPClassifier(hidden_layer_sizes=(params["hidden_layer_size"],),
                          alpha=params["alpha"],
                          learning_rate_init=params["learning_rate_init"],
                          batch_size=params["batch_size"], random_state=SEED)
    classes = np.unique(y_train)
    print(f"data: {len(X_train)} training and {len(X_val)} validation images of 8x8 pixels",
          flush=True)
    start = time.time()
    loss = best = math.inf
    for epoch in range(1, params["epochs"] + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X_train, y_train, classes=classes)
        proba = model.predict_proba(X_val)
        loss = float(log_loss(y_val, proba, labels=classes))
        if not math.isfinite(loss):
            loss = 1e3  # diverged
        best = min(best, loss)
        print(f"PROGRESS {epoch} {loss!r}", flush=True)
        if epoch % 5 == 0 or epoch == params["epochs"]:
            print(f"epoch {epoch:3d}: training loss {model.loss_:.4f}, validation loss "
                  f"{loss:.4f}, validation accuracy "
                  f"{accuracy_score(y_val, classes[proba.argmax(axis=1)]):.4f} "
                  f"({time.time() - start:.1f} s)", flush=True)
    return best if keep_best else loss


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: digits_train.py PARAMS_JSON RESULT_FILE", file=sys.stderr)
        return 2
    try:
        params = parse_params(argv[1])
    except (TypeError, ValueError) as err:
        print(f"digits_train.py: error: {err}", file=sys.stderr)
        return 2
    me = rank()
    print(f"rank {me} on {socket.gethostname()} pid {os.getpid()}", flush=True)
    if me != 0:
        return 0
    print("params: " + " ".join(f"{k}={v}" for k, v in params.items()), flush=True)
    loss = train(params)
    with open(argv[2], "w") as stream:
        stream.write(f"{loss!r}\n")
    print(f"validation loss {loss!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
