# SURROGATES PY
# skopt's Optimizer built from the cfg's "optimizer" arguments, with its
# surrogates made to work with today's scikit-learn and numpy (GBRT, dummy)
# and the forests' predictions made faster (the same numbers); the GP's
# proposals (Acquisition.GPProposal) for the settings they serve.

import copy
import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils import Tags
from sklearn.utils._tags import RegressorTags
from skopt import Optimizer
from skopt.learning import (
    ExtraTreesRegressor,
    GradientBoostingQuantileRegressor,
    RandomForestRegressor,
)
from skopt.space import Space

from Acquisition import GPProposal
from Problem import Problem
from utils import UsageError

INT32_MAX = np.iinfo(np.int32).max
# Surrogates the cfg may name (skopt's base_estimator strings).
SURROGATES = ("RF", "ET", "GP", "GBRT", "DUMMY")
# Acquisition functions whose values we can score ourselves for batches.
SCORABLE = ("LCB", "EI", "PI")


class QuantileGBRT(GradientBoostingQuantileRegressor):
    """skopt's GBRT surrogate, repaired for scikit-learn >= 1.6 and numpy >= 2.4.

    skopt 0.10.2 declares `GradientBoostingQuantileRegressor(BaseEstimator,
    RegressorMixin)`, a mixin order that new scikit-learn no longer reads as
    a regressor, and its `predict(return_std=True)` calls `np.in1d`, removed
    in numpy 2.4. This subclass says it is a regressor and predicts without
    `np.in1d`; fitting is skopt's own.
    """

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        return tags

    def predict(self, X: Any, return_std: bool = False, return_quantiles: bool = False) -> Any:
        """The median, or (median, std from the 16 % and 84 % quantiles)."""
        if return_quantiles:
            return np.asarray([r.predict(X) for r in self.regressors_]).T
        quantiles = list(self.quantiles)
        mean = self.regressors_[quantiles.index(0.5)].predict(X)
        if not return_std:
            return mean
        if not {0.16, 0.5, 0.84} <= set(quantiles):
            raise ValueError("return_std needs the quantiles 0.16, 0.5 and 0.84")
        low = self.regressors_[quantiles.index(0.16)].predict(X)
        high = self.regressors_[quantiles.index(0.84)].predict(X)
        return mean, (high - low) / 2.0


class FastForest:
    """A fitted skopt RF/ET surrogate that predicts mean and std in one pass.

    skopt's `predict(return_std=True)` walks every tree twice through
    scikit-learn's checked `predict` and `apply`, and the forest's mean once
    more; here each tree's leaves are looked up once (`tree_.apply`), and the
    mean and std follow from the leaf values and impurities: the same
    numbers (section 4.3.2 of arXiv:1211.0906, as skopt), about 3x faster.
    """

    def __init__(self, forest: Any) -> None:
        self.forest = forest

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Mean (and std) of the forest at the transformed points `X`."""
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        trees = self.forest.estimators_
        mean = np.zeros(len(X32))
        second = np.zeros(len(X32))
        for tree in trees:
            leaves = tree.tree_.apply(X32)
            value = tree.tree_.value[leaves, 0, 0]
            mean += value
            if return_std:
                second += np.maximum(tree.tree_.impurity[leaves], self.forest.min_variance)
                second += value ** 2
        mean /= len(trees)
        if not return_std:
            return mean
        variance = second / len(trees) - mean ** 2
        return mean, np.sqrt(np.maximum(variance, 0.0))


def fast_model(model: Any) -> Any:
    """The model itself, or a faster predictor with the same predictions."""
    if type(model) in (RandomForestRegressor, ExtraTreesRegressor) \
            and model.criterion == "squared_error" and model.n_outputs_ == 1:
        return FastForest(model)
    return model


def surrogate_name(kwargs: dict[str, Any]) -> str | None:
    """The cfg's base_estimator in capitals (None: an estimator object)."""
    name = kwargs.get("base_estimator", "GP")
    return name.upper() if isinstance(name, str) else None


def make_state_optimizer(problem: Problem, kwargs: dict[str, Any]) -> Optimizer:
    """The Optimizer that keeps a search's results and draws its random phase.

    It never fits (tell(fit=False), and asks only while no model is due), so
    its surrogate does not matter; what does is its space: skopt normalizes
    a GP's space, and a normalized real dimension draws its random points
    an ulp apart from the cfg's own space. The state keeps the cfg's space
    (a GP is replaced by RF, which draws the same random numbers), so the
    random phase is the original's, whatever the surrogate.
    """
    if surrogate_name(kwargs) == "GP":
        make_optimizer(problem, kwargs)  # the cfg's settings are checked all the same
        kwargs = dict(kwargs, base_estimator="RF", acq_optimizer="sampling")
    return make_optimizer(problem, kwargs)


def gp_proposal(problem: Problem, kwargs: dict[str, Any]) -> GPProposal | None:
    """The GP proposals for a GP with a sampled EI, LCB or PI (else None: skopt's own)."""
    if surrogate_name(kwargs) != "GP":
        return None
    model = make_optimizer(problem, kwargs)
    if model.acq_func not in SCORABLE or model.acq_optimizer != "sampling":
        return None
    return GPProposal(model.space, model.acq_func, model.acq_func_kwargs or {}, problem)


def make_optimizer(problem: Problem, kwargs: dict[str, Any],
                   random_state: Any = None) -> Optimizer:
    """Build a skopt Optimizer from cfg arguments, as a UsageError if they are bad.

    It gets a copy of the problem's dimensions: skopt changes a GP's
    dimensions in place (normalizes them).
    """
    kwargs = dict(kwargs)
    if random_state is not None:
        kwargs["random_state"] = random_state
    name = kwargs.get("base_estimator", "GP")
    if isinstance(name, str):
        if name.upper() not in SURROGATES:
            raise UsageError(f"cfg key 'optimizer.base_estimator': expected one of "
                             f"{', '.join(SURROGATES)}, got {name!r}")
        name = name.upper()
    if name == "DUMMY":
        # skopt's "dummy" fails with scikit-learn >= 1.6; random search is an
        # endless initial phase, which needs no model at all.
        kwargs["base_estimator"] = "ET"
        kwargs["n_initial_points"] = 2**62
    elif name == "GBRT":
        seed = np.random.RandomState(kwargs.get("random_state")).randint(0, INT32_MAX) \
            if not isinstance(kwargs.get("random_state"), np.random.RandomState) else None
        gbrt = GradientBoostingRegressor(n_estimators=30, loss="quantile")
        kwargs["base_estimator"] = QuantileGBRT(base_estimator=gbrt, random_state=seed,
                                                n_jobs=kwargs.get("n_jobs", 1))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Optimizer(Space(copy.deepcopy(problem.space.dimensions)), **kwargs)
    except (TypeError, ValueError, AttributeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cfg key 'optimizer': skopt.Optimizer rejects {kwargs!r}: {first}") \
            from None
