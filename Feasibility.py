# FEASIBILITY PY
# Where failures lie: a GP fitted to the feasibility of the results (0: a
# result, 1: a failed point: a broken constraint, an out-of-memory task), in
# skopt's normalized space, whose mean, calibrated on the points' own
# leave-one-out predictions (Platt scaling), is the probability that a
# point fails. A proposal keeps only the candidates it predicts feasible
# (P(fail) <= MAX_FAIL_PROBABILITY), whatever the acquisition: LCB values
# are signed, so a product with P(feasible) would not rank them, and the
# ranking of the feasible candidates stays the acquisition's own.
#
# Call order: Feasibility() once per search (Search, in the fitting
# process); per proposal allowed(ok_rows, failed_rows, candidates, rng):
# fit the kernel (only when the points grew by REFIT_GROWTH since the last
# fit; each fit from the same initial kernel, never from the last one),
# condition on the labels, predict at the candidates. Without a failed
# point it predicts nothing and allows every candidate (a search without
# failures proposes as before, bit for bit).
#
# Why each fit starts afresh, with floors on the noise and length scales
# (issue 21): a fit on few points may find a kernel that interpolates the
# labels (noise at its bound, length scales of 0.01-0.02): a later fit
# started there stayed there (log marginal likelihood -10^5 where a fresh
# fit finds +9), and its model allowed points that all failed: 16-21 % of
# a run's late points where a fresh model predicts failure.

import warnings
from typing import Any

import numpy as np
from scipy.linalg import cho_solve
from scipy.special import expit
from sklearn.gaussian_process.kernels import ConstantKernel, DotProduct, Matern, WhiteKernel
from skopt.learning import GaussianProcessRegressor

from Acquisition import LENGTH_BOUNDS, MAX_FIT_POINTS, MAX_MODEL_POINTS, _lbfgs, _Posterior

MAX_FAIL_PROBABILITY = 0.5  # candidates predicted to fail more often are not proposed
FALLBACK_SHARE = 0.1  # when none is allowed: the candidates least likely to fail
CALIBRATION_C = 100.0  # inverse regularization of the Platt scaling (two parameters)
CALIBRATION_STEPS = 25  # Newton steps of its fit, at most
LOGIT_ALL_FAILED = 10.0  # P(fail) when no point succeeded: expit(10)
REFIT_GROWTH = 1.5  # refit the kernel when the points grew by this factor
FIT_ITERATIONS = 40  # L-BFGS iterations of a kernel fit
# 0/1 labels are a step no smooth kernel follows: some of them are noise to it
NOISE_BOUNDS = (1e-2, 1.0)  # of the noise term (the labels' variance is at most 0.25)
MIN_LENGTH = 0.05  # of each column's length scale (normalized)


def calibration(model: _Posterior, labels: np.ndarray) -> tuple[float, float]:
    """Platt scaling of the GP's mean: P(fail) = expit(slope x mean + intercept), fitted
    to its leave-one-out means at the points (Rasmussen & Williams, 6.5).

    The mean of a GP on 0/1 labels is shrunk towards the failure rate, most
    of all beside a boundary: uncalibrated, it says 0.3 where half fail.
    """
    inverse = cho_solve((model.L, True), np.eye(len(labels)))
    loo = labels - model.alpha / np.diag(inverse)
    if len(set(labels)) < 2:  # every point failed
        return 0.0, LOGIT_ALL_FAILED
    return logistic_fit(loo, labels)


def logistic_fit(x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of a one-feature logistic regression (Newton's method, an L2
    penalty 1 / CALIBRATION_C on the slope: scikit-learn's fit costs 10x more here)."""
    X = np.column_stack([x, np.ones(len(x))])
    penalty = np.diag([1.0 / CALIBRATION_C, 0.0])
    w = np.zeros(2)
    for _ in range(CALIBRATION_STEPS):
        p = expit(X @ w)
        gradient = X.T @ (p - labels) + penalty @ w
        hessian = (X * (p * (1 - p))[:, None]).T @ X + penalty + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return float(w[0]), float(w[1])


class Feasibility:
    """A GP on 0/1 feasibility labels; kept between proposals for its kernel.

    Parameters
    ----------
    max_fail_probability : float
        Candidates predicted to fail more often than this are not proposed.
    """

    def __init__(self, max_fail_probability: float = MAX_FAIL_PROBABILITY) -> None:
        self.max_fail_probability = max_fail_probability
        self.fitted: Any = None  # the last fitted kernel
        self.fitted_on = 0  # points at the last kernel fit
        self.fits = 0

    @staticmethod
    def kernel(columns: int) -> Any:
        """Amplitude x Matern 5/2 with one length scale per column, plus a linear trend
        (failures that grow with a size go on growing beyond the points seen), plus noise."""
        return ConstantKernel(0.25, (1e-2, 1e1)) \
            * Matern(length_scale=np.full(columns, 0.5),
                     length_scale_bounds=np.tile((MIN_LENGTH, LENGTH_BOUNDS[1]), (columns, 1)),
                     nu=2.5) \
            + ConstantKernel(0.1, (1e-3, 1e1)) * DotProduct(0.1, (1e-2, 1e1)) \
            + WhiteKernel(NOISE_BOUNDS[0], NOISE_BOUNDS)

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
        kernel = self.fit(rows, labels, rng)
        model = _Posterior(kernel.k1, float(np.exp(kernel.k2.theta[0])), rows, labels,
                           float(np.mean(labels)))
        slope, intercept = calibration(model, labels)
        mean = model.signal(candidates, model.Z) @ model.alpha + model.offset  # no variance
        return expit(slope * mean + intercept)

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

    def fit(self, rows: np.ndarray, labels: np.ndarray, rng: np.random.RandomState) -> Any:
        """The kernel, fitted afresh when the points grew by REFIT_GROWTH, else the last one."""
        if self.fitted is not None and len(labels) < REFIT_GROWTH * self.fitted_on:
            return self.fitted
        self.fitted_on = len(labels)
        if len(labels) > MAX_FIT_POINTS:
            keep = np.sort(rng.choice(len(labels), MAX_FIT_POINTS, replace=False))
            rows, labels = rows[keep], labels[keep]
        gp = GaussianProcessRegressor(kernel=self.kernel(rows.shape[1]), normalize_y=False,
                                      optimizer=_lbfgs(FIT_ITERATIONS), n_restarts_optimizer=0,
                                      random_state=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(rows, labels - np.mean(labels))
        self.fitted = gp.kernel_
        self.fits += 1
        return self.fitted
