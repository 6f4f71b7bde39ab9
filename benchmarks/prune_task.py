# PRUNE TASK PY
# The work of benchmarks/prune-task.sh: one of two real models, trained
# here in seconds, printing `PROGRESS <step> <validation loss>` after every
# step and writing the best step's validation loss to RESULT_FILE (the
# checkpoint one keeps, as Keras' ModelCheckpoint(save_best_only) does: the
# value the pruners' "best so far" judges).
#   prune_task.py MODEL PARAMS_JSON RESULT_FILE     (env: PRUNE_STEPS)
#   digits    tasks/digits_train.py's MLPClassifier on the digits, its
#             training images nudged by one pixel in four directions (5 times
#             the images, as scikit-learn's RBM example does: epochs that
#             outweigh the start of Python), PRUNE_STEPS epochs (default 100)
#   boosting  scikit-learn's GradientBoostingClassifier on the same digits,
#             PRUNE_STEPS steps (default 24) of 5 boosting stages (trees per
#             class), grown with warm_start; the validation log-loss after each
# The split (75 % / 25 %) and the seeds are fixed: a point's curve depends on
# the point only.

import json
import math
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tasks"))

STEPS = os.environ.get("PRUNE_STEPS", "")  # steps per task (the benchmark sets it)
EPOCHS = int(STEPS or 100)
BOOST_STEPS = int(STEPS or 24)
BOOST_STAGES = 5
BOOSTING_DEFAULTS = {"learning_rate": 0.1, "max_depth": 3, "subsample": 1.0,
                     "min_samples_leaf": 1}


def nudged(data: tuple) -> tuple:
    """The training images and each shifted by one pixel up, down, left, right."""
    import numpy as np

    X_train, X_val, y_train, y_val = data
    images = X_train.reshape(-1, 8, 8)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    shifted = [padded[:, 1 + dy:9 + dy, 1 + dx:9 + dx].reshape(len(images), 64)
               for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]
    return np.vstack(shifted), X_val, np.tile(y_train, len(shifted)), y_val


def digits(params: dict) -> float:
    """The digits example's MLP for EPOCHS epochs (it prints its own PROGRESS lines)."""
    import digits_train
    return digits_train.train(digits_train.parse_params(json.dumps(dict(params,
                                                                        epochs=EPOCHS))),
                              nudged(digits_train.load_data()), keep_best=True)


def boosting(params: dict) -> float:
    """Gradient-boosted trees on the digits, BOOST_STAGES more stages per step."""
    import digits_train
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import log_loss

    unknown = sorted(set(params) - set(BOOSTING_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}")
    given = dict(BOOSTING_DEFAULTS, **params)
    # the MLP's split (trees ignore the scale)
    X_train, X_val, y_train, y_val = digits_train.load_data()
    model = GradientBoostingClassifier(
        n_estimators=BOOST_STAGES, learning_rate=float(given["learning_rate"]),
        max_depth=int(given["max_depth"]), subsample=float(given["subsample"]),
        min_samples_leaf=int(given["min_samples_leaf"]), warm_start=True, random_state=0)
    classes = np.unique(y_train)
    loss = best = math.inf
    for step in range(1, BOOST_STEPS + 1):
        model.n_estimators = BOOST_STAGES * step
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        loss = float(log_loss(y_val, model.predict_proba(X_val), labels=classes))
        if not math.isfinite(loss):
            loss = 1e3
        best = min(best, loss)
        print(f"PROGRESS {step} {loss!r}", flush=True)
    return best


MODELS = {"digits": digits, "boosting": boosting}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in MODELS:
        print(f"usage: prune_task.py {'|'.join(MODELS)} PARAMS_JSON RESULT_FILE",
              file=sys.stderr)
        return 2
    loss = MODELS[argv[1]](json.loads(argv[2]))
    with open(argv[3], "w") as stream:
        stream.write(f"{loss!r}\n")
    print(f"validation loss {loss!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
