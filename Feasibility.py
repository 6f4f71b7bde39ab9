# FEASIBILITY PY
# Where failures lie: a GP fitted to the feasibility of the results (0: a
# result, 1: a failed point: a broken constraint, an out-of-memory task), in
# skopt's normalized space, whose mean is the probability that a point
# fails. A proposal keeps only the candidates it predicts feasible
# (P(fail) <= MAX_FAIL_PROBABILITY), whatever the acquisition: LCB values
# are signed, so a product with P(feasible) would not rank them, and the
# ranking of the feasible candidates stays the acquisition's own.
#
# Call order: Feasibility() once per search (Search, in the fitting
# process); per proposal allowed(ok_rows, failed_rows, candidates, rng):
# fit the kernel (only when the points grew by REFIT_GROWTH since the last
# fit, as the objective's GP), condition on the labels, predict at the
# candidates. Without a failed point it predicts nothing and allows every
# candidate (a search without failures proposes as before, bit for bit).

import warnings
from typing import Any

import numpy as np
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from skopt.learning import GaussianProcessRegressor

from Acquisition import (
    FIT_ITERATIONS,
    LENGTH_BOUNDS,
    MAX_FIT_POINTS,
    MAX_MODEL_POINTS,
    NOISE_BOUNDS,
    REFIT_GROWTH,
    REFIT_ITERATIONS,
    _lbfgs,
    _Posterior,
)

MAX_FAIL_PROBABILITY = 0.5  # candidates predicted to fail more often are not proposed
FALLBACK_SHARE = 0.1  # when none is allowed: the candidates least likely to fail


class Feasibility:
    """A GP on 0/1 feasibility labels; kept between proposals for its kernel.

    Parameters
    ----------
    max_fail_probability : float
        Candidates predicted to fail more often than this are not proposed.
    """

    def __init__(self, max_fail_probability: float = MAX_FAIL_PROBABILITY) -> None:
        self.max_fail_probability = max_fail_probability
        self.theta: np.ndarray | None = None  # the last fitted kernel hyperparameters
        self.fitted_on = 0  # points at the last kernel fit
        self.failed_on = 0  # failed points among them
        self.fits = 0

    @staticmethod
    def kernel(columns: int) -> Any:
        """Amplitude x Matern 5/2 with one length scale per column, plus noise."""
        return ConstantKernel(0.25, (1e-2, 1e1)) \
            * Matern(length_scale=np.full(columns, 0.5),
                     length_scale_bounds=np.tile(LENGTH_BOUNDS, (columns, 1)), nu=2.5) \
            + WhiteKernel(1e-2, NOISE_BOUNDS)

    def fail_probability(self, ok_rows: np.ndarray, failed_rows: np.ndarray,
                         candidates: np.ndarray,
                         rng: np.random.RandomState) -> np.ndarray | None:
        """P(fail) at each candidate (None: no failed point, nothing to predict).

        Parameters
        ----------
        ok_rows, failed_rows : ndarray
            Transformed rows of the results and of the failed points.
        candidates : ndarray
            Transformed rows to predict at.
        rng : RandomState
            Draws the subset of the results when there are too many.
        """
        if not len(failed_rows):
            return None
        if len(ok_rows) + len(failed_rows) > MAX_MODEL_POINTS:
            failed_rows = failed_rows[-MAX_MODEL_POINTS // 2:]
            room = MAX_MODEL_POINTS - len(failed_rows)
            if len(ok_rows) > room:
                ok_rows = ok_rows[np.sort(rng.choice(len(ok_rows), room, replace=False))]
        rows = np.vstack([ok_rows, failed_rows])
        labels = np.concatenate([np.zeros(len(ok_rows)), np.ones(len(failed_rows))])
        kernel = self.fit(rows, labels, len(failed_rows), rng)
        model = _Posterior(kernel.k1, float(np.exp(kernel.k2.theta[0])), rows, labels,
                           float(np.mean(labels)))
        return np.clip(model.predict(candidates)[0], 0.0, 1.0)

    def allowed(self, ok_rows: np.ndarray, failed_rows: np.ndarray, candidates: np.ndarray,
                rng: np.random.RandomState) -> np.ndarray:
        """Which candidates may be proposed: those predicted to fail at most
        max_fail_probability of the time.

        When the model predicts every candidate to fail, the FALLBACK_SHARE
        least likely to are allowed (a search is never left without points).
        """
        p_fail = self.fail_probability(ok_rows, failed_rows, candidates, rng)
        if p_fail is None:
            return np.ones(len(candidates), dtype=bool)
        allowed = p_fail <= self.max_fail_probability
        if not allowed.any():
            count = max(1, int(FALLBACK_SHARE * len(candidates)))
            allowed[np.argsort(p_fail, kind="stable")[:count]] = True
        return allowed

    def fit(self, rows: np.ndarray, labels: np.ndarray, failed: int,
            rng: np.random.RandomState) -> Any:
        """The kernel, refitted when the points or the failed ones among them grew by
        REFIT_GROWTH, else the last one."""
        kernel = self.kernel(rows.shape[1])
        if self.theta is not None and len(labels) < REFIT_GROWTH * self.fitted_on \
                and failed < REFIT_GROWTH * self.failed_on:
            return kernel.clone_with_theta(self.theta)
        if self.theta is not None:
            kernel = kernel.clone_with_theta(self.theta)
        self.fitted_on, self.failed_on = len(labels), failed
        if len(labels) > MAX_FIT_POINTS:
            keep = np.sort(rng.choice(len(labels), MAX_FIT_POINTS, replace=False))
            rows, labels = rows[keep], labels[keep]
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False,
                                      optimizer=_lbfgs(FIT_ITERATIONS if self.theta is None
                                                        else REFIT_ITERATIONS),
                                      n_restarts_optimizer=0, random_state=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(rows, labels - np.mean(labels))
        self.theta = gp.kernel_.theta
        self.fits += 1
        return kernel.clone_with_theta(self.theta)
