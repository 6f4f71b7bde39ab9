# ACQUISITION PY
# Points from a Gaussian process (the default surrogate): skopt's GP with a
# Matern 5/2 kernel fitted to the (warped) results, an acquisition (LCB, EI
# or PI; LCB's kappa low while the best result keeps improving, back to the
# given one when it stalls) scored over random candidates plus perturbations
# of the best results (trust-region style local search); pending points and the first
# MODELLED_BATCH points of a batch are told to the model at its own mean
# (kriging believer); the rest of a large batch is qUCB: each point the
# best LCB of a random kappa, kept apart from the points picked before it.
#
# Call order: GPProposal(space, ...) once per search (Surrogates.gp_proposal);
# then per proposal propose(X, y, failed, pending, lie, k, rng): warp the
# values, fit the kernel (only when the results grew by a quarter since the
# last fit; no length scale shorter than the spacing of the results can
# support), condition on the results, the failed points (at the worst
# value) and the pending points (at the model's belief), score the fresh
# candidates (more of them for a large batch; none that repeats a known
# point; on a conditional space, inactive columns at their fixed values and
# no forbidden candidate: Problem.admit_rows), pick k one at a time, all on
# one BLAS thread. Kept between calls:
# the kernel's last hyperparameters (the kernel until the next fit, and
# where that fit starts), each point's transformed row (a cache), and the
# rows and keys of the results (which only grow: a proposal at 10,000
# results costs what it costs at 1,000).

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.stats import norm
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from skopt.learning import GaussianProcessRegressor
from skopt.space import Categorical, Integer, Space
from threadpoolctl import ThreadpoolController

from Problem import Problem

if TYPE_CHECKING:  # Feasibility imports this module's GP pieces
    from Feasibility import Feasibility

MAX_FIT_POINTS = 200  # results the kernel's hyperparameters are fitted to
MAX_MODEL_POINTS = 300  # results, failed and pending points the model is conditioned on
REFIT_GROWTH = 1.25  # refit the kernel when the results grew by this factor
FIT_ITERATIONS = 60  # L-BFGS iterations of the first kernel fit
REFIT_ITERATIONS = 25  # and of a refit, which starts from the last hyperparameters
RANDOM_CANDIDATES = 500
LOCAL_CANDIDATES = 700
INCUMBENTS = 5  # the best results the local candidates are drawn around
LOCAL_SCALES = (0.2, 0.05, 0.01)  # step sizes, in units of each (normalized) range
MODELLED_BATCH = 64  # points of a batch picked by the believer; more by qUCB
CANDIDATES_PER_POINT = 4  # more candidates for each point of a batch beyond MODELLED_BATCH
MAX_CANDIDATES = 8000  # candidates in all, however large the batch
RANDOM_REDRAWS = 20  # redraws of a random point already taken (Search.py asks too)
LENGTH_BOUNDS = (1e-2, 20.0)  # of each column's length scale (normalized); integers: >= a step
# and >= this share of the spacing of the fitted results (n points in d dimensions: n^(-1/d))
SPACING_FLOOR = 0.1
# LCB's kappa is KAPPA_FLOOR of the given one right after the best result improved, and
# grows back to all of it over STALL_PER_DIMENSION x d results in d dimensions without a
# better one (qUCB's mean kappa stays the given one)
KAPPA_FLOOR = 0.25
STALL_PER_DIMENSION = 1.0
NOISE_BOUNDS = (1e-6, 1e-1)  # of the noise term, in units of the warped values' variance
JITTER = 1e-8
# The model's matrices are small (at most MAX_MODEL_POINTS rows): more BLAS
# threads only spin against each other and the tasks (4x the CPU on 2 cores).
BLAS = ThreadpoolController()
Key = tuple[Any, ...]  # a point's identity: key(point)


def _lbfgs(iterations: int) -> Any:
    """scikit-learn's kernel optimizer, with its iterations bounded."""
    def optimizer(obj_func: Any, initial_theta: np.ndarray, bounds: np.ndarray) -> tuple:
        result = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                          options={"maxiter": iterations})
        return result.x, result.fun
    return optimizer


def warp(y: np.ndarray) -> np.ndarray:
    """Values made gentle for a GP: log(y - min + s), standardized.

    A GP with a stationary kernel fits a few huge values (a ridge, a steep
    wall) by shrinking its length scales, and then models nothing. The
    warped values keep the order of the results and tame heavy tails; s, a
    tenth of the spread of the better half, keeps the best ones apart.
    """
    y = np.asarray(y, dtype=float)
    low = np.min(y)
    spread = np.median(y) - low
    if not spread > 0:
        spread = (np.max(y) - low) or 1.0
    z = np.log(y - low + 0.1 * spread)
    std = np.std(z)
    return (z - np.mean(z)) / (std if std > 0 else 1.0)


class GPProposal:
    """Proposals from a GP on skopt's normalized space.

    Parameters
    ----------
    space : skopt.space.Space
        The search space, normalized (reals and integers in [0, 1], log
        scales in log, categories one-hot), as skopt builds it for a GP.
    acq_func : {"EI", "LCB", "PI"}
    acq_func_kwargs : dict
        skopt's: `xi` (EI, PI) and `kappa` (LCB).
    problem : Problem
        Whose conditions and forbidden points every candidate obeys.
    """

    def __init__(self, space: Space, acq_func: str, acq_func_kwargs: dict[str, Any],
                 problem: Problem) -> None:
        self.space = space
        self.problem = problem
        self.acq_func = acq_func
        self.xi = float(acq_func_kwargs.get("xi", 0.01))
        self.kappa = float(acq_func_kwargs.get("kappa", 1.96))
        self.theta: np.ndarray | None = None  # the last fitted kernel hyperparameters
        self.fitted_on = 0  # results at the last kernel fit
        self.fits = 0
        self.rows: dict[Key, np.ndarray] = {}  # transformed points, by key
        # the results seen so far (a search's results only grow): rows and keys
        self.results = np.empty((0, space.transformed_n_dims))
        self.result_keys: set[Key] = set()
        self.last_result: Key = ()  # the key of the last of them
        self.parts: list[tuple[Any, int, int]] = []  # dimension, its columns
        start = 0
        for dim in space.dimensions:
            self.parts.append((dim, start, start + dim.transformed_size))
            start += dim.transformed_size

    # -- the model ------------------------------------------------------------
    def kernel(self, fitted: int) -> Any:
        """Amplitude x Matern 5/2 with one length scale per column, plus noise.

        No length scale is shorter than SPACING_FLOOR times the spacing of
        `fitted` results (n^(-1/d) of the unit cube): with few results in
        many dimensions the marginal likelihood otherwise picks, for some
        columns, wiggles between the points that no result supports (0.01-0.03
        on a 20-D sphere at 50 results), and the model is its prior mean a
        step away from each result. The floor falls as the results grow
        (10-D: 0.08 at 10 results, 0.06 at 200).
        """
        n = self.space.transformed_n_dims
        bounds = np.tile(LENGTH_BOUNDS, (n, 1))
        bounds[:, 0] = max(LENGTH_BOUNDS[0],
                           SPACING_FLOOR * fitted ** (-1.0 / len(self.space.dimensions)))
        for dim, start, _ in self.parts:
            if isinstance(dim, Integer) and dim.high > dim.low:
                # no length below one step of the grid: the objective is only defined on it,
                # and what differs between neighbours is not a smooth wiggle between them
                grid = dim.transform([int(dim.low), int(dim.low) + 1])
                bounds[start, 0] = max(bounds[start, 0], float(abs(grid[1] - grid[0])))
        return ConstantKernel(1.0, (1e-2, 1e2)) \
            * Matern(length_scale=np.maximum(0.5, bounds[:, 0]), length_scale_bounds=bounds,
                     nu=2.5) \
            + WhiteKernel(1e-4, NOISE_BOUNDS)

    def fit(self, Xt: np.ndarray, u: np.ndarray, rng: np.random.RandomState) -> Any:
        """The kernel, refitted when the results grew by REFIT_GROWTH, else the last one."""
        kernel = self.kernel(min(len(u), MAX_FIT_POINTS))
        if self.theta is not None and len(u) < REFIT_GROWTH * self.fitted_on:
            return kernel.clone_with_theta(self.theta)
        if self.theta is not None:
            kernel = kernel.clone_with_theta(self.theta)
        self.fitted_on = len(u)
        if len(u) > MAX_FIT_POINTS:
            keep = _subset(u, MAX_FIT_POINTS, rng)
            Xt, u = Xt[keep], u[keep]
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False,
                                      optimizer=_lbfgs(FIT_ITERATIONS if self.theta is None
                                                        else REFIT_ITERATIONS),
                                      n_restarts_optimizer=1 if self.theta is None else 0,
                                      random_state=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(Xt, u)
        self.theta = gp.kernel_.theta
        self.fits += 1
        return kernel.clone_with_theta(self.theta)

    def transform(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        """skopt's transform of `points`, each point transformed once per search.

        (The transform of a categorical dimension costs ~3 ms a call: of every
        result at every proposal, a fifth of a run's CPU.)
        """
        keys = [key(p) for p in points]
        new = [i for i, k in enumerate(keys) if k not in self.rows]
        if new:
            for i, row in zip(new, self.space.transform([list(points[i]) for i in new])):
                self.rows[keys[i]] = row
        if not keys:
            return np.empty((0, self.space.transformed_n_dims))
        return np.array([self.rows[k] for k in keys])

    def transform_results(self, X: Sequence[Sequence[Any]]) -> np.ndarray:
        """The rows of a search's results, of which only the new ones are looked at.

        The results only grow: the rows and keys of those seen before are
        kept, so a proposal at 10,000 results costs no more than at 1,000
        (a new list of results, e.g. another search's, starts afresh).
        """
        seen = len(self.results)
        if seen > len(X) or (seen and key(X[seen - 1]) != self.last_result):
            self.results, self.result_keys, seen = self.results[:0], set(), 0
        if len(X) > seen:
            new = X[seen:]
            self.results = np.vstack([self.results, self.transform(new)])
            self.result_keys.update(key(p) for p in new)
            self.last_result = key(new[-1])
        return self.results

    # -- proposing ------------------------------------------------------------
    def propose(self, X: Sequence[list[Any]], y: Sequence[float],
                failed: Sequence[list[Any]], pending: Sequence[list[Any]], lie: str,
                k: int, rng: np.random.RandomState,
                feasibility: "Feasibility | None" = None) -> list[list[Any]]:
        """`k` new points (none a result, failed or pending) from one model, on one BLAS
        thread; with a `feasibility` model, none it predicts to fail."""
        with BLAS.limit(limits=1, user_api="blas"):
            return self._propose(X, y, failed, pending, lie, k, rng, feasibility)

    def _propose(self, X: Sequence[list[Any]], y: Sequence[float],
                 failed: Sequence[list[Any]], pending: Sequence[list[Any]], lie: str,
                 k: int, rng: np.random.RandomState,
                 feasibility: "Feasibility | None") -> list[list[Any]]:
        Xt = self.transform_results(X)
        taken = self.result_keys | {key(p) for p in [*failed, *pending]}
        u = warp(np.asarray(y, dtype=float))
        kernel = self.fit(Xt, u, rng)
        signal, noise = kernel.k1, float(np.exp(kernel.k2.theta[0]))
        # the model: results, and failed points at the worst value
        Zt, zu = Xt, u
        if failed:
            Zt = np.vstack([Xt, self.transform(failed)])
            zu = np.concatenate([u, np.full(len(failed), np.max(u))])
        if len(zu) > MAX_MODEL_POINTS:
            keep = _subset(zu, MAX_MODEL_POINTS, rng, recent=len(failed))
            Zt, zu = Zt[keep], zu[keep]
        offset = float(np.mean(u))
        model = _Posterior(signal, noise, Zt, zu, offset)
        if pending and lie != "none":
            # pending points at what the model believes of them (kriging believer)
            Pt = self.transform(pending[-MAX_MODEL_POINTS // 2:])
            if len(zu) + len(Pt) > MAX_MODEL_POINTS:
                keep = _subset(zu, MAX_MODEL_POINTS - len(Pt), rng, recent=len(failed))
                Zt, zu = Zt[keep], zu[keep]
            believed = model.predict(Pt)[0]
            model = _Posterior(signal, noise, np.vstack([Zt, Pt]),
                               np.concatenate([zu, believed]), offset)
        candidates = self.candidates(Xt, u, signal, rng)
        more = min(CANDIDATES_PER_POINT * (k - MODELLED_BATCH),
                   MAX_CANDIDATES - len(candidates))
        if more > 0:  # a large batch: drawn after the usual ones, which stay as they were
            share = RANDOM_CANDIDATES / (RANDOM_CANDIDATES + LOCAL_CANDIDATES)
            candidates = np.vstack([candidates, self.candidates(
                Xt, u, signal, rng, round(share * more), more - round(share * more))])
        candidates, allowed = self.problem.admit_rows(self.space, candidates)
        known = np.vstack([Xt, self.transform([*failed, *pending])])
        alive = fresh(candidates, known) & allowed
        if failed and feasibility is not None:
            alive &= feasibility.allowed(Xt, self.transform(failed), candidates, rng)
        points = self.pick(model, candidates, alive, float(np.min(u)), self.exploration(y), k,
                           taken, rng)
        return points + self.random_points(k - len(points), rng, taken)

    def candidates(self, Xt: np.ndarray, u: np.ndarray, signal: Any,
                   rng: np.random.RandomState, uniform_count: int = RANDOM_CANDIDATES,
                   local_count: int = LOCAL_CANDIDATES) -> np.ndarray:
        """Uniform random candidates, and perturbations of the best results.

        Built column by column in the normalized space (skopt's Space.transform
        of thousands of points costs more than the model): uniform draws of
        each dimension's prior, and Gaussian steps from the INCUMBENTS best
        results in a few dimensions at a time, at one of LOCAL_SCALES,
        longer along the directions the kernel finds flat (TuRBO's weights);
        integers are rounded as skopt rounds them, categories switch at random.
        """
        uniform = np.empty((uniform_count, Xt.shape[1]))
        best = Xt[np.argsort(u, kind="stable")[:INCUMBENTS]]
        local = best[rng.randint(0, len(best), local_count)]
        scale = np.asarray(LOCAL_SCALES)[rng.randint(0, len(LOCAL_SCALES), local_count)]
        lengths = np.exp(signal.k2.theta)
        weights = np.clip(lengths / np.exp(np.mean(np.log(lengths))), 0.25, 4.0) \
            if len(lengths) == Xt.shape[1] else np.ones(Xt.shape[1])
        moving = min(1.0, 4.0 / len(self.space.dimensions))  # a few dimensions at a time
        for dim, start, stop in self.parts:
            if isinstance(dim, Categorical):
                count = len(dim.categories)
                uniform[:, start:stop] = _one_hot(rng.randint(0, count, len(uniform)), stop - start)
                switch = np.nonzero(rng.rand(len(local)) < moving / 4)[0]
                local[switch, start:stop] = _one_hot(rng.randint(0, count, len(switch)),
                                                     stop - start)
                continue
            step = rng.normal(size=len(local)) * scale * weights[start]
            column = np.clip(local[:, start] + np.where(rng.rand(len(local)) < moving, step, 0.0),
                             0.0, 1.0)
            if isinstance(dim, Integer):  # rounded as skopt rounds them
                uniform[:, start] = dim.transform(dim.rvs(len(uniform), random_state=rng))
                column = dim.transform(dim.inverse_transform(column))
            else:
                uniform[:, start] = rng.rand(len(uniform))
            local[:, start] = column
        return np.vstack([uniform, local])

    def decode(self, row: np.ndarray) -> list[Any]:
        """The point of a transformed row, in the problem's own values (plain Python; inactive
        parameters at exactly their fixed values)."""
        point = self.space.inverse_transform(row[None, :])[0]
        plain = []
        for dim, value in zip(self.space.dimensions, point):
            if isinstance(dim, Categorical):  # numpy may have made the category a string
                texts = [str(c) for c in dim.categories]
                value = dim.categories[texts.index(str(value))]
            plain.append(value.item() if isinstance(value, np.generic) else value)
        return self.problem.canonical(plain) if self.problem.rules.conditions else plain

    def random_points(self, k: int, rng: np.random.RandomState,
                      taken: set[Key]) -> list[list[Any]]:
        """`k` random points, new if a few redraws find them (a tiny space may not)."""
        points: list[list[Any]] = []
        for _ in range(RANDOM_REDRAWS):
            if len(points) == k:
                break
            for point in self.allowed(self.space.rvs(k - len(points), random_state=rng)):
                if key(point) not in taken:
                    taken.add(key(point))
                    points.append(point)
        while len(points) < k:  # a forbidden draw gives none
            points += self.allowed(self.space.rvs(1, random_state=rng))
        return points

    def allowed(self, drawn: list[list[Any]]) -> list[list[Any]]:
        """Random draws as points (decode), the forbidden ones left out."""
        points = [self.decode(self.space.transform([point])[0]) for point in drawn]
        return [p for p, ok in zip(points, self.problem.admit(points)[1]) if ok]

    def exploration(self, y: Sequence[float]) -> float:
        """LCB's kappa for results `y` (in the order told): low while the best improves.

        Right after a better result, KAPPA_FLOOR of the given kappa (refine
        where the results improve); growing back to the given kappa as
        results without a better one accumulate, all of it after
        STALL_PER_DIMENSION per dimension (a stalled search explores again,
        as it did with a constant kappa). A schedule that fell with the
        results alone exploited a 2-5-D multimodal problem from 30 results
        on and lost its other basins (benchmarks/scale-results.md, third and
        sixth sessions).
        """
        stalled = len(y) - 1 - int(np.argmin(y))
        d = len(self.space.dimensions)
        return self.kappa * min(1.0, max(KAPPA_FLOOR, stalled / (STALL_PER_DIMENSION * d)))

    def acquisition(self, mean: np.ndarray, std: np.ndarray, best: float,
                    kappa: float) -> np.ndarray:
        """The acquisition to minimize (negated EI and PI, LCB as is, of this `kappa`)."""
        if self.acq_func == "LCB":
            return mean - kappa * std
        z = (best - self.xi - mean) / std
        if self.acq_func == "PI":
            return -norm.cdf(z)
        return -(std * (z * norm.cdf(z) + norm.pdf(z)))

    def pick(self, model: "_Posterior", Ct: np.ndarray, alive: np.ndarray, best: float,
             kappa: float, k: int, taken: set[Key],
             rng: np.random.RandomState) -> list[list[Any]]:
        """The batch: the believer's MODELLED_BATCH points, then qUCB's.

        Each of the first MODELLED_BATCH picks is told to the model at its
        own mean, in turn: that leaves the mean as it is and shrinks the
        variance around the pick (kriging believer), a rank-one update of
        the candidates' variances, no refit; its cost grows with the square
        of the batch. The rest (qUCB, as DeepHyper at large scale) costs
        the same per point: each is the best LCB of its own kappa, drawn
        from an exponential of mean kappa (a few explore, most refine), over
        the believer's final variances, and keeps a share of the candidates
        nearest to it from the points after it (local penalization). Only
        the `alive` candidates are picked (changed in place).
        """
        mean, var, V = model.predict(Ct)
        down: list[np.ndarray] = []  # rank-one updates of the posterior covariance
        points: list[list[Any]] = []
        while len(points) < min(k, MODELLED_BATCH) and alive.any():
            std = np.sqrt(np.maximum(var, 1e-12))
            score = np.where(alive, self.acquisition(mean, std, best, kappa), np.inf)
            index = int(np.argmin(score))
            alive[index] = False
            point = self.decode(Ct[index])
            if key(point) in taken:
                continue
            taken.add(key(point))
            points.append(point)
            # condition on the pick: covariance of every candidate with it
            cov = model.signal(Ct, Ct[index:index + 1])[:, 0] - V.T @ V[:, index]
            for w in down:
                cov -= w * w[index]
            s = max(float(var[index]) + model.noise, 1e-12)
            w = cov / np.sqrt(s)
            var = np.maximum(var - w ** 2, 0.0)
            down.append(w)
        if len(points) < k:
            points += self.pick_ucb(Ct, mean, np.sqrt(np.maximum(var, 1e-12)), alive,
                                    k - len(points), taken, rng)
        return points

    def pick_ucb(self, Ct: np.ndarray, mean: np.ndarray, std: np.ndarray, alive: np.ndarray,
                 k: int, taken: set[Key], rng: np.random.RandomState) -> list[list[Any]]:
        """`k` points by qUCB: a random kappa each, the nearest candidates then left out."""
        near = max(1, int(alive.sum()) // (4 * (k + 1)))
        points: list[list[Any]] = []
        while len(points) < k and alive.any():
            kappa = rng.exponential(self.kappa)
            index = int(np.argmin(np.where(alive, mean - kappa * std, np.inf)))
            distance = np.where(alive, np.sum((Ct - Ct[index]) ** 2, axis=1), np.inf)
            alive[np.argpartition(distance, min(near, len(Ct) - 1))[:near]] = False
            alive[index] = False
            point = self.decode(Ct[index])
            if key(point) not in taken:
                taken.add(key(point))
                points.append(point)
        return points


class _Posterior:
    """A GP posterior with fixed hyperparameters, on (transformed) points Z."""

    def __init__(self, signal: Any, noise: float, Z: np.ndarray, u: np.ndarray,
                 offset: float) -> None:
        self.signal, self.noise, self.Z, self.offset = signal, noise, Z, offset
        K = signal(Z) + (noise + JITTER) * np.eye(len(Z))
        self.L = cholesky(K, lower=True)
        self.alpha = cho_solve((self.L, True), u - self.offset)
        self.amplitude = float(signal.diag(Z[:1])[0])

    def predict(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance, and L^-1 k(Z, C) (for rank-one updates) at candidates C."""
        Ks = self.signal(C, self.Z)
        V = solve_triangular(self.L, Ks.T, lower=True)
        mean = Ks @ self.alpha + self.offset
        var = np.maximum(self.amplitude - np.sum(V ** 2, axis=0), 0.0)
        return mean, var, V


def _one_hot(index: np.ndarray, width: int) -> np.ndarray:
    """skopt's one-hot columns of category numbers (one 0/1 column for two categories)."""
    if width == 1:
        return index[:, None].astype(float)
    rows = np.zeros((len(index), width))
    rows[np.arange(len(index)), index] = 1.0
    return rows


def fresh(Ct: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Which candidates are neither a known point's row nor a copy of an earlier candidate.

    On a space of integers and categories most candidates repeat a point
    already known or drawn: weeding them out by their rows here spares a
    decode of each (skopt's inverse transform, ~1 ms) in the pick, where
    only their points' keys would have told them apart.
    """
    row = np.dtype((np.void, Ct.dtype.itemsize * Ct.shape[1]))
    rows = np.ascontiguousarray(Ct).view(row).ravel()
    alive = np.zeros(len(Ct), dtype=bool)
    alive[np.unique(rows, return_index=True)[1]] = True
    if len(known):
        alive &= ~np.isin(rows, np.ascontiguousarray(known, dtype=Ct.dtype).view(row).ravel())
    return alive


def key(point: Sequence[Any]) -> Key:
    """A point's identity: the same for numpy and plain Python values.

    A tuple, hashed far faster than the text of the point (at 1,000
    pending points the text took a third of a proposal's CPU).
    """
    return tuple([v.item() if isinstance(v, np.generic) else v for v in point])


def _subset(u: np.ndarray, size: int, rng: np.random.RandomState, recent: int = 0) -> np.ndarray:
    """Indices of at most `size` rows: the last `recent`, the best third, random others."""
    n = len(u)
    keep = list(range(n - min(recent, size // 2), n))
    order = np.argsort(u[:n - recent], kind="stable")
    keep += list(order[:max(0, size // 3)])
    rest = np.setdiff1d(np.arange(n), keep)
    keep += list(rng.choice(rest, size - len(keep), replace=False)) if size > len(keep) else []
    return np.sort(np.asarray(keep[:size]))
