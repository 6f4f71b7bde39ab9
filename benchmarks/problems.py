# BENCHMARKS PROBLEMS PY
# The problems of the quality benchmark: published BBOB functions (COCO's
# `cocoex`, instance 1, 6 or 11 + seed % 5, on [-5, 5]^d), three classics (Branin,
# Hartmann-6, a mixed categorical / integer / real Branin) and three real
# scikit-learn model-tuning problems (log-scale, integer and categorical
# parameters; each evaluation trains in well under a second); LARGE: 10-D
# and 20-D BBOB functions for the large settings, not run by default;
# HELD_OUT, VALIDATION and VALIDATION2: 3-20-D ones to check a model change on
# problems it was not made on (VALIDATION on instances 6-10, VALIDATION2 on
# 11-15, each run once per change);
# CONDITIONAL: an MLP/SGD-like space whose optimizer and depth gate other
# parameters ("when", issue 21), and its flat twin (the same objective, no
# "when": what the conditions are worth), not run by default either.
# A problem is a cfg "problem" object, an objective of (point, seed) and
# the optimum of that seed's instance (None: the best value any method found).
# TWO_OBJECTIVES (issue 21, benchmarks/multi.py): three functions of COCO's
# bi-objective suite bbob-biobj and an SVM's validation error against its
# training cost; each objective returns a pair of values to minimize.

import math
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

INSTANCES = 5  # BBOB instances the seeds cycle through


@dataclass(frozen=True)
class Biobjective:
    """One problem of two objectives, both minimized: its space, objective and their names."""

    kind: str
    spec: dict[str, Any]
    objective: Callable[[list[Any], int], tuple[float, float]]
    names: tuple[str, str]
    coco: bool = False  # needs COCO's cocoex (coco-experiment)

    def instance(self, seed: int) -> int:
        """The problem instance a seed runs (0: the problem has one)."""
        return 1 + seed % INSTANCES if self.coco else 0


@dataclass(frozen=True)
class Benchmark:
    """One problem: its space (cfg "problem" object), objective and optimum."""

    kind: str
    spec: dict[str, Any]
    objective: Callable[[list[Any], int], float]
    optimum: Callable[[int], float | None]
    coco: bool = False  # needs COCO's cocoex (coco-experiment)


# -- BBOB (COCO) ----------------------------------------------------------------
@cache
def _bbob(function: int, dimension: int, instance: int) -> tuple[Any, float]:
    """The COCO problem and its optimal value (from its optimal point)."""
    import cocoex
    suite = cocoex.Suite("bbob", f"instances:{instance}",
                         f"function_indices:{function} dimensions:{dimension}")
    problem = suite.get_problem_by_function_dimension_instance(function, dimension, instance)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # COCO writes the optimal point to a file in the working folder
        try:
            problem._best_parameter("print")
            with open("._bbob_problem_best_parameter.txt") as text:
                x_opt = [float(v) for v in text.read().split()]
        finally:
            os.chdir(here)
    return problem, float(problem(x_opt))


def bbob(function: int, dimension: int, kind: str, first_instance: int = 1) -> Benchmark:
    """BBOB function `function` in `dimension` dimensions, instance first_instance + seed % 5."""
    def objective(point: list[Any], seed: int) -> float:
        return float(_bbob(function, dimension, first_instance + seed % INSTANCES)[0](point))

    def optimum(seed: int) -> float:
        return _bbob(function, dimension, first_instance + seed % INSTANCES)[1]
    return Benchmark(kind, {f"x{i}": {"low": -5.0, "high": 5.0} for i in range(dimension)},
                     objective, optimum, coco=True)


@cache
def _biobj(function: int, dimension: int, instance: int) -> Any:
    """The COCO bi-objective problem (bbob-biobj)."""
    import cocoex
    suite = cocoex.Suite("bbob-biobj", f"instances:{instance}",
                         f"function_indices:{function} dimensions:{dimension}")
    return suite.get_problem_by_function_dimension_instance(function, dimension, instance)


def biobj(function: int, dimension: int, kind: str) -> Biobjective:
    """bbob-biobj function `function` in `dimension` dimensions, instance 1 + seed % 5."""
    def objective(point: list[Any], seed: int) -> tuple[float, float]:
        first, second = _biobj(function, dimension, 1 + seed % INSTANCES)(point)
        return float(first), float(second)
    return Biobjective(kind, {f"x{i}": {"low": -5.0, "high": 5.0} for i in range(dimension)},
                       objective, ("f1", "f2"), coco=True)


# -- classics ---------------------------------------------------------------------
HARTMANN_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                       [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
HARTMANN_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886],
                              [2329, 4135, 8307, 3736, 1004, 9991],
                              [2348, 1451, 3522, 2883, 3047, 6650],
                              [4047, 8828, 8732, 5743, 1091, 381]])
HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
CATEGORY_COST = {"a": 2.0, "b": 0.0, "c": 1.0, "d": 3.0}
BRANIN_SPEC = {"x1": {"low": -5.0, "high": 10.0}, "x2": {"low": 0.0, "high": 15.0}}


def branin(x1: float, x2: float) -> float:
    """Branin-Hoo; minimum 0.397887 at three points."""
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def hartmann6(x: list[float], seed: int = 0) -> float:
    """Hartmann-6; minimum -3.32237."""
    inner = np.sum(HARTMANN_A * (np.asarray(x, dtype=float) - HARTMANN_P) ** 2, axis=1)
    return float(-np.sum(HARTMANN_ALPHA * np.exp(-inner)))


def mixed(point: list[Any], seed: int = 0) -> float:
    """Branin in (x1, x2) plus a cost per category plus (n - 7)^2 / 10; minimum 0.397887."""
    c, x1, x2, n = point
    return branin(x1, x2) + CATEGORY_COST[c] + (n - 7) ** 2 / 10


# -- scikit-learn model tuning (validation loss; optimum: the best found) -----------
@cache
def _data(name: str) -> tuple[np.ndarray, ...]:
    """A fixed train / validation split of a dataset bundled with scikit-learn."""
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    X, y = (load_digits if name == "digits" else load_breast_cancer)(return_X_y=True)
    if name == "digits":
        X, y = X[:900], y[:900]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.33, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def svm(point: list[Any], seed: int = 0) -> float:
    """Validation error of an RBF SVM on digits: C and gamma on log scales, shrinking."""
    from sklearn.svm import SVC
    C, gamma, shrinking = point
    X_train, X_test, y_train, y_test = _data("digits")
    model = SVC(C=C, gamma=gamma, shrinking=shrinking == "yes").fit(X_train, y_train)
    return float(1.0 - model.score(X_test, y_test))


def mlp(point: list[Any], seed: int = 0) -> float:
    """Validation log-loss of a small MLP on digits (width, depth, rates, activation)."""
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier
    width, layers, alpha, rate, activation = point
    X_train, X_test, y_train, y_test = _data("digits")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 30 epochs: part of the problem
        model = MLPClassifier(hidden_layer_sizes=(int(width),) * int(layers), alpha=alpha,
                              learning_rate_init=rate, activation=activation, max_iter=30,
                              random_state=0).fit(X_train, y_train)
    return float(log_loss(y_test, model.predict_proba(X_test), labels=model.classes_))


def forest(point: list[Any], seed: int = 0) -> float:
    """Validation log-loss of a random forest on breast cancer (integers, a fraction, a choice)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import log_loss
    trees, depth, features, leaf, criterion = point
    X_train, X_test, y_train, y_test = _data("cancer")
    model = RandomForestClassifier(n_estimators=int(trees), max_depth=int(depth),
                                   max_features=features, min_samples_leaf=int(leaf),
                                   criterion=criterion, random_state=0, n_jobs=1)
    model.fit(X_train, y_train)
    return float(log_loss(y_test, np.clip(model.predict_proba(X_test), 1e-6, 1 - 1e-6)))


# -- a conditional space (issue 21) -------------------------------------------------
MLP_SGD_SPEC: dict[str, Any] = {
    "optimizer": ["sgd", "adam", "rmsprop"],
    "learning_rate": {"low": 1e-5, "high": 1.0, "prior": "log-uniform"},
    "momentum": {"low": 0.0, "high": 0.99, "when": {"optimizer": ["sgd"]}},
    "nesterov": {"choices": [False, True], "when": {"optimizer": ["sgd"]}},
    "beta1": {"low": 0.5, "high": 0.999, "when": {"optimizer": ["adam"]}},
    "rho": {"low": 0.5, "high": 0.99, "when": {"optimizer": ["rmsprop"]}},
    "layers": {"low": 1, "high": 3},
    "units1": {"low": 16, "high": 512, "prior": "log-uniform"},
    "units2": {"low": 16, "high": 512, "prior": "log-uniform", "when": {"layers": [2, 3]}},
    "units3": {"low": 16, "high": 512, "prior": "log-uniform", "when": {"layers": [3]}},
    "dropout": {"low": 0.0, "high": 0.5},
    "batch_size": [16, 32, 64, 128, 256],
}


def mlp_sgd(point: list[Any], seed: int) -> float:
    """A synthetic validation error of an MLP trained by SGD, Adam or RMSprop: 0 at best.

    Each optimizer has its own best learning rate (SGD's moves with its
    momentum: what counts is lr / (1 - momentum)), shifted by the seed;
    SGD with momentum 0.9 and Nesterov reaches 0, Adam 0.01 and RMSprop 0.03
    at best. Depth and widths (units 256, 128, 64 at best; fewer layers cost
    0.04 each), dropout 0.2 and batch 64 add their share. Only the active
    parameters are read.
    """
    p = dict(zip(MLP_SGD_SPEC, point))
    shift = np.random.RandomState(seed).uniform(-0.5, 0.5)
    rate = math.log10(p["learning_rate"])
    if p["optimizer"] == "sgd":
        error = 0.3 * (rate - math.log10(1 - p["momentum"]) - (-0.5 + shift)) ** 2 \
            + 0.5 * (p["momentum"] - 0.9) ** 2 + (0.0 if p["nesterov"] else 0.02)
    elif p["optimizer"] == "adam":
        error = 0.3 * (rate - (-3.0 + shift)) ** 2 + 2 * (p["beta1"] - 0.9) ** 2 + 0.01
    else:
        error = 0.3 * (rate - (-3.3 + shift)) ** 2 + 2 * (p["rho"] - 0.9) ** 2 + 0.03
    layers = int(p["layers"])
    error += 0.04 * (3 - layers)
    for units, best in list(zip([p["units1"], p.get("units2"), p.get("units3")],
                                (256, 128, 64)))[:layers]:
        error += 0.01 * (math.log2(units) - math.log2(best)) ** 2
    return error + 0.4 * (p["dropout"] - 0.2) ** 2 \
        + 0.01 * abs(math.log2(p["batch_size"]) - 6)


def svm_cost(point: list[Any], seed: int = 0) -> tuple[float, float]:
    """Validation error of an RBF SVM on digits fitted to the first `samples` training
    points, and its cost: samples x support vectors / 1,000 (libsvm's kernel evaluations
    scale so; deterministic, unlike measured seconds, so that seeds compare)."""
    from sklearn.svm import SVC
    C, gamma, samples = point
    X_train, X_test, y_train, y_test = _data("digits")
    model = SVC(C=C, gamma=gamma).fit(X_train[:int(samples)], y_train[:int(samples)])
    return (float(1.0 - model.score(X_test, y_test)),
            int(samples) * int(model.n_support_.sum()) / 1000)


def _fixed(value: float | None) -> Callable[[int], float | None]:
    return lambda seed: value


PROBLEMS: dict[str, Benchmark] = {
    "sphere-5d": bbob(1, 5, "smooth"),
    "ellipsoid-5d": bbob(2, 5, "ill-conditioned"),
    "step-ellipsoid-5d": bbob(7, 5, "plateaus"),
    "rosenbrock-5d": bbob(8, 5, "ill-conditioned valley"),
    "rotated-ellipsoid-10d": bbob(10, 10, "ill-conditioned, 10-D"),
    "bent-cigar-2d": bbob(12, 2, "ill-conditioned"),
    "rastrigin-2d": bbob(15, 2, "multimodal"),
    "schaffers-5d": bbob(17, 5, "multimodal"),
    "schwefel-2d": bbob(20, 2, "multimodal, weak structure"),
    "gallagher101-2d": bbob(21, 2, "multimodal, many peaks"),
    "gallagher21-5d": bbob(22, 5, "multimodal"),
    "lunacek-5d": bbob(24, 5, "multimodal, two funnels"),
    # larger spaces, for the large settings (issue 22: 256-1,024 workers, 2,000-10,000
    # evaluations)
    "ellipsoid-10d": bbob(2, 10, "ill-conditioned, 10-D"),
    "rosenbrock-10d": bbob(8, 10, "ill-conditioned valley, 10-D"),
    "rastrigin-10d": bbob(15, 10, "multimodal, 10-D"),
    "gallagher21-20d": bbob(22, 20, "multimodal, 20-D"),
    "sphere-20d": bbob(1, 20, "smooth, 20-D"),
    # held out (issue 22): checks of a model change made on the four above, at 8 x 100
    "attractive-sector-10d": bbob(6, 10, "asymmetric, 10-D"),
    "rotated-rosenbrock-10d": bbob(9, 10, "ill-conditioned valley, rotated, 10-D"),
    "discus-10d": bbob(11, 10, "one steep direction, 10-D"),
    "sharp-ridge-10d": bbob(13, 10, "non-smooth ridge, 10-D"),
    "different-powers-20d": bbob(14, 20, "ill-conditioned, 20-D"),
    "weierstrass-10d": bbob(16, 10, "rugged, 10-D"),
    "schaffers-ill-10d": bbob(18, 10, "multimodal, ill-conditioned, 10-D"),
    "griewank-rosenbrock-10d": bbob(19, 10, "multimodal valley, 10-D"),
    "step-ellipsoid-10d": bbob(7, 10, "plateaus, 10-D"),
    "lunacek-10d": bbob(24, 10, "two funnels, 10-D"),
    "rastrigin-5d": bbob(15, 5, "multimodal"),
    # validation (issue 22, third session): functions and dimensions none of the above has,
    # on instances 6-10 (the others run 1-5), chosen before any run on them, to check once a
    # change tuned on LARGE and HELD_OUT, at 8 x 100
    "separable-rastrigin-10d": bbob(3, 10, "multimodal, separable, 10-D", 6),
    "buche-rastrigin-10d": bbob(4, 10, "multimodal, asymmetric, 10-D", 6),
    "linear-slope-20d": bbob(5, 20, "linear, optimum on the boundary, 20-D", 6),
    "step-ellipsoid-20d": bbob(7, 20, "plateaus, 20-D", 6),
    "rosenbrock-20d": bbob(8, 20, "ill-conditioned valley, 20-D", 6),
    "rotated-ellipsoid-20d": bbob(10, 20, "ill-conditioned, rotated, 20-D", 6),
    "bent-cigar-10d": bbob(12, 10, "ill-conditioned, 10-D", 6),
    "different-powers-10d": bbob(14, 10, "ill-conditioned, 10-D", 6),
    "schaffers-10d": bbob(17, 10, "multimodal, 10-D", 6),
    "schwefel-10d": bbob(20, 10, "multimodal, weak structure, 10-D", 6),
    "gallagher101-10d": bbob(21, 10, "multimodal, many peaks, 10-D", 6),
    "ellipsoid-20d": bbob(2, 20, "ill-conditioned, 20-D", 6),
    # second validation (issue 22, sixth session): 3-20-D functions and dimensions none of the
    # above has, on instances 11-15, fixed before any run on them, to check once a change tuned
    # on LARGE, HELD_OUT and VALIDATION, at 8 x 100
    "attractive-sector-3d": bbob(6, 3, "asymmetric, 3-D", 11),
    "sharp-ridge-3d": bbob(13, 3, "non-smooth ridge, 3-D", 11),
    "lunacek-3d": bbob(24, 3, "two funnels, 3-D", 11),
    "rotated-rosenbrock-5d": bbob(9, 5, "ill-conditioned valley, rotated", 11),
    "discus-5d": bbob(11, 5, "one steep direction", 11),
    "weierstrass-5d": bbob(16, 5, "rugged", 11),
    "schaffers-ill-5d": bbob(18, 5, "multimodal, ill-conditioned", 11),
    "gallagher101-5d": bbob(21, 5, "multimodal, many peaks", 11),
    "linear-slope-10d": bbob(5, 10, "linear, optimum on the boundary, 10-D", 11),
    "gallagher21-10d": bbob(22, 10, "multimodal, 10-D", 11),
    "discus-20d": bbob(11, 20, "one steep direction, 20-D", 11),
    "attractive-sector-20d": bbob(6, 20, "asymmetric, 20-D", 11),
    "branin": Benchmark("smooth, 3 optima", BRANIN_SPEC, lambda p, s: branin(*p),
                        _fixed(0.397887)),
    "hartmann6": Benchmark("multimodal, 6-D", {f"x{i}": {"low": 0.0, "high": 1.0}
                                               for i in range(6)}, hartmann6, _fixed(-3.32237)),
    "mixed": Benchmark("categorical, integer, real", {"c": ["a", "b", "c", "d"], **BRANIN_SPEC,
                                                     "n": {"low": 0, "high": 10}},
                       mixed, _fixed(0.397887)),
    "svm-digits": Benchmark("model tuning: log-scale, binary choice",
                            {"C": {"low": 1e-2, "high": 1e3, "prior": "log-uniform"},
                             "gamma": {"low": 1e-5, "high": 1.0, "prior": "log-uniform"},
                             "shrinking": ["yes", "no"]}, svm, _fixed(None)),
    "mlp-digits": Benchmark("model tuning: integer, log-scale, categorical",
                            {"width": {"low": 4, "high": 128, "prior": "log-uniform"},
                             "layers": {"low": 1, "high": 3},
                             "alpha": {"low": 1e-6, "high": 1.0, "prior": "log-uniform"},
                             "rate": {"low": 1e-4, "high": 0.3, "prior": "log-uniform"},
                             "activation": ["relu", "tanh", "logistic"]}, mlp, _fixed(None)),
    "forest-cancer": Benchmark("model tuning: integer, real, categorical",
                               {"trees": {"low": 5, "high": 60}, "depth": {"low": 1, "high": 16},
                                "features": {"low": 0.05, "high": 1.0},
                                "leaf": {"low": 1, "high": 30},
                                "criterion": ["gini", "entropy", "log_loss"]}, forest,
                               _fixed(None)),
    "mlp-sgd": Benchmark("conditional: optimizer- and depth-gated", MLP_SGD_SPEC, mlp_sgd,
                         _fixed(0.0)),
    "mlp-sgd-flat": Benchmark("mlp-sgd without its conditions", {
        name: {k: v for k, v in spec.items() if k != "when"} if isinstance(spec, dict) else spec
        for name, spec in MLP_SGD_SPEC.items()}, mlp_sgd, _fixed(0.0)),
}
BBOB = {name for name, benchmark in PROBLEMS.items() if benchmark.coco}
LARGE = ("ellipsoid-10d", "rosenbrock-10d", "rastrigin-10d", "gallagher21-20d", "sphere-20d")
CONDITIONAL = ("mlp-sgd", "mlp-sgd-flat")
HELD_OUT = ("attractive-sector-10d", "rotated-rosenbrock-10d", "discus-10d", "sharp-ridge-10d",
            "different-powers-20d", "weierstrass-10d", "schaffers-ill-10d",
            "griewank-rosenbrock-10d", "step-ellipsoid-10d", "lunacek-10d", "rastrigin-5d")
VALIDATION = ("separable-rastrigin-10d", "buche-rastrigin-10d", "linear-slope-20d",
              "step-ellipsoid-20d", "rosenbrock-20d", "rotated-ellipsoid-20d", "bent-cigar-10d",
              "different-powers-10d", "schaffers-10d", "schwefel-10d", "gallagher101-10d",
              "ellipsoid-20d")
VALIDATION2 = ("attractive-sector-3d", "sharp-ridge-3d", "lunacek-3d", "rotated-rosenbrock-5d",
               "discus-5d", "weierstrass-5d", "schaffers-ill-5d", "gallagher101-5d",
               "linear-slope-10d", "gallagher21-10d", "discus-20d", "attractive-sector-20d")
# the 18 of issue 11, run by default
SUITE = [name for name in PROBLEMS
         if name not in LARGE + HELD_OUT + VALIDATION + VALIDATION2 + CONDITIONAL]

# bbob-biobj f01 = (sphere, sphere), f11 = (separable ellipsoid, separable ellipsoid),
# f46 = (Rastrigin, Rastrigin): smooth, ill-conditioned, multimodal, in 5-D as the BBOB
# problems above
TWO_OBJECTIVES: dict[str, Biobjective] = {
    "sphere-sphere-5d": biobj(1, 5, "smooth, separable"),
    "ellipsoid-ellipsoid-5d": biobj(11, 5, "ill-conditioned (10^6), separable"),
    "rastrigin-rastrigin-5d": biobj(46, 5, "multimodal"),
    "svm-error-cost": Biobjective("model tuning: log-scale, integer",
                                  {"C": {"low": 1e-2, "high": 1e3, "prior": "log-uniform"},
                                   "gamma": {"low": 1e-5, "high": 1.0, "prior": "log-uniform"},
                                   "samples": {"low": 30, "high": 603}},
                                  svm_cost, ("error", "cost")),
}
