# SEARCH PY
# The search algorithm: a skopt Optimizer plus the points still pending.
# ask(k) / tell(points, values) / fail(points); no processes, no files,
# so tests and benchmarks can drive it with simulated time. Several
# objectives are told as vectors and scalarized afresh for each fit
# (Scalarization.parego); failed points feed a feasibility model
# (Feasibility) that keeps proposals out of where failures lie.

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.base import clone
from skopt import Optimizer
from skopt.acquisition import _gaussian_acquisition

from Acquisition import RANDOM_REDRAWS
from Feasibility import Feasibility
from Problem import Problem
from Scalarization import parego, random_weights
from Surrogates import (
    INT32_MAX,
    SCORABLE,
    fast_model,
    gp_proposal,
    make_optimizer,
    make_state_optimizer,
)

MAX_WEIGHTS = 8  # scalarizations of the objectives per proposal, however large the batch
POINTS_PER_WEIGHT = 16  # points of a batch per scalarization (up to MAX_WEIGHTS of them)


@dataclass
class Snapshot:
    """What a proposal needs, copied under the caller's lock.

    `first` results came before X[0]: a snapshot taken `since` them holds
    only the newer ones (its receiver keeps the earlier: Proposer.Held).
    """

    X: list[list[Any]]
    y: list[float]
    pending: list[list[Any]]
    failed: list[list[Any]]
    seed: int
    version: int
    first: int = 0  # the results before this one are not in X, y, vectors (Proposer.Held)
    vectors: list[tuple[float, ...]] = field(default_factory=list)  # several objectives


class Search:
    """Asynchronous ask/tell over a skopt Optimizer, aware of pending points.

    Parameters
    ----------
    problem : Problem
        The search space.
    optimizer_kwargs : dict
        Keyword arguments of `skopt.Optimizer` (the cfg "optimizer").
    lie : {"max", "mean", "min", "none"}
        The value a pending point is assumed to have while the model picks
        the next points (constant liar); "none" ignores pending points.
    resume_offset : int
        Tasks already issued by an earlier run: shifts the random state so
        that a resumed search does not draw the same random points again.
    objectives : int
        How many objectives a result has: 1 (a value), or more (a tuple of
        values, each minimized, told in the cfg's order).

    Notes
    -----
    While fewer than `n_initial_points` results are known, points come from
    the optimizer exactly as the original workflow asked for them
    (`ask(n_points=POINTS_INIT)`, then `ask(n_points=1)` per point), on the
    cfg's own space whatever the surrogate (Surrogates.make_state_optimizer).
    After that, with the GP (the default) each proposal is
    Acquisition.GPProposal's: a GP believing its own mean at pending points;
    with a forest, one scratch optimizer is fitted to the results plus a lie
    for every pending or failed point and picks from its acquisition.
    With several objectives, each fit sees one random augmented Chebyshev
    scalarization of them (ParEGO); the state optimizer holds the first.
    Once a point failed, only candidates that a GP on feasibility predicts
    to fail at most half the time are proposed (Feasibility).
    """

    def __init__(self, problem: Problem, optimizer_kwargs: dict[str, Any],
                 lie: str = "max", resume_offset: int = 0, objectives: int = 1) -> None:
        if objectives < 1:
            raise ValueError(f"objectives: expected 1 or more, got {objectives}")
        self.problem = problem
        self.objectives = objectives
        self.kwargs = dict(optimizer_kwargs)
        self.lie = lie
        seed = self.kwargs.get("random_state")
        if resume_offset and isinstance(seed, int):
            drawn = int(np.random.RandomState(seed).randint(0, INT32_MAX))
            seed = (drawn + resume_offset) % INT32_MAX
            self.kwargs["random_state"] = seed
        self.optimizer = make_state_optimizer(problem, self.kwargs)
        self.gp = gp_proposal(problem, self.kwargs)  # None: forests, skopt's own acquisition
        self.n_initial_points = self.optimizer.n_initial_points_
        self.pending: list[list[Any]] = []
        self.failed: list[list[Any]] = []
        self.vectors: list[tuple[float, ...]] = []  # of the results, with several objectives
        self.feasibility = Feasibility()  # fitted where propose() runs (the fitting process)
        self.version = 0  # results told so far
        self._asked = False

    # -- state ----------------------------------------------------------
    @property
    def in_random_phase(self) -> bool:
        """True while points are drawn at random (too few results for a model)."""
        return len(self.optimizer.yi) < self.n_initial_points

    def tell(self, points: Sequence[list[Any]], values: Sequence[Any]) -> None:
        """Record finished points and their objective values (no model fit here).

        A value is a float, or with several objectives a sequence of them
        (minimized, in the cfg's order).
        """
        if not points:
            return
        if self.objectives > 1:
            vectors = [tuple(float(v) for v in vector) for vector in values]
            if any(len(vector) != self.objectives for vector in vectors):
                raise ValueError(f"tell: expected {self.objectives} values per result")
            self.vectors += vectors
            values = [vector[0] for vector in vectors]
        for point in points:
            self._unpend(point)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.optimizer.tell([list(p) for p in points], [float(v) for v in values],
                                fit=False)
        self.version += len(points)

    def fail(self, points: Sequence[list[Any]]) -> None:
        """Record infeasible points (a failed task, a broken constraint): never told,
        never proposed again, and the feasibility model's failures."""
        for point in points:
            self._unpend(point)
            self.failed.append(list(point))

    def drop(self, points: Sequence[list[Any]]) -> None:
        """Forget pending points that will not be evaluated (killed, discarded)."""
        for point in points:
            self._unpend(point)

    def _unpend(self, point: list[Any]) -> None:
        try:
            self.pending.remove(list(point))
        except ValueError:
            pass

    # -- asking -----------------------------------------------------------
    def ask(self, k: int) -> list[list[Any]]:
        """Return `k` new points and mark them pending."""
        if self.in_random_phase:
            points = self.ask_random(k)
        else:
            points = self.propose(self.snapshot(), k)
        self.pending.extend(points)
        return points

    def ask_random(self, k: int) -> list[list[Any]]:
        """Draw `k` points of the initial phase, as the original workflow did.

        Past the initial phase (skopt's ask would fit a model), these are
        plain random points from the optimizer's random state. A point that
        was told, is pending or failed is drawn again (a few times at most:
        a tiny space may have nothing new left).
        """
        taken = {tuple(p) for p in self.optimizer.Xi + self.pending + self.failed}
        tries = RANDOM_REDRAWS * k
        points: list[list[Any]] = []

        def keep(batch: list[list[Any]]) -> None:
            nonlocal tries
            for point in self.admitted(batch):
                key = tuple(point)
                if key in taken and tries > 0:
                    tries -= 1
                    continue
                taken.add(key)
                points.append(list(point))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not self.in_random_phase:
                while len(points) < k:
                    keep(self.problem.space.rvs(n_samples=k - len(points),
                                                random_state=self.optimizer.rng))
                return points
            if not self._asked:
                self._asked = True
                keep(self._ask_as_skopt(min(k, max(self.n_initial_points, 1))))
            while len(points) < k:
                keep(self._ask_as_skopt(1))
        return points[:k]

    def admitted(self, points: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """The points allowed by the problem, inactive parameters at their fixed values (the
        filter every point passes before it is issued)."""
        canonical, allowed = self.problem.admit(points)
        return [p for p, ok in zip(canonical, allowed) if ok]

    def random_point(self, rng: np.random.RandomState) -> list[Any]:
        """One random point the problem allows (Problem.forbid leaves some)."""
        while True:
            drawn = self.admitted(self.problem.space.rvs(random_state=rng))
            if drawn:
                return drawn[0]

    def _ask_as_skopt(self, n: int) -> list[list[Any]]:
        """The points skopt's `ask(n_points=n)` draws in the random phase, without its fit.

        skopt asks a copy of the optimizer, telling it a lie after each point;
        when the lies make up n_initial_points it fits the surrogate, which
        nobody uses (a forest of 100 trees: 0.5 s on the loop's thread as the
        initial design ends, issue 22). Here the lies are told without a fit.
        More points than the design has left (a resumed search) are skopt's
        own, as before: past the design, its points come from that fit.
        """
        if n > self.optimizer._n_initial_points:
            self.optimizer.cache_ = {}  # ask twice without a tell repeats itself
            return [list(p) for p in self.optimizer.ask(n_points=n)]
        copy = self.optimizer.copy(random_state=self.optimizer.rng.randint(0, INT32_MAX))
        points = []
        for _ in range(n):
            point = copy.ask()
            points.append(point)
            copy.tell(point, 0.0, fit=False)  # as a lie: its value draws nothing
        return points

    def snapshot(self, since: int = 0) -> Snapshot:
        """Copy the state a model-based proposal needs (call under a lock); of the results,
        those after the first `since` only (the copy's cost does not grow with them)."""
        return Snapshot(X=[list(x) for x in self.optimizer.Xi[since:]],
                        y=list(self.optimizer.yi[since:]),
                        pending=[list(p) for p in self.pending],
                        failed=[list(p) for p in self.failed],
                        seed=int(self.optimizer.rng.randint(0, INT32_MAX)),
                        version=self.version, first=since,
                        vectors=list(self.vectors[since:]))

    def register(self, points: Sequence[list[Any]]) -> None:
        """Mark points proposed from a snapshot as pending."""
        self.pending.extend(list(p) for p in points)

    def lie_value(self, y: Sequence[float]) -> float | None:
        """The constant lie told for pending points (None: do not tell them)."""
        if self.lie == "none" or not y:
            return None
        values = np.asarray(y, dtype=float)
        return float(values.max() if self.lie == "max" else
                     values.min() if self.lie == "min" else values.mean())

    def training_set(self, snap: Snapshot) -> tuple[list[list[Any]], list[float]]:
        """Results, then failed points at the worst value, then pending points at the lie."""
        lie = self.lie_value(snap.y)
        X = snap.X + snap.failed
        y = snap.y + [float(np.max(snap.y))] * len(snap.failed)
        if lie is not None:
            X, y = X + snap.pending, y + [lie] * len(snap.pending)
        return X, y

    def propose(self, snap: Snapshot, k: int) -> list[list[Any]]:
        """Propose `k` points from one model fit; safe outside the lock.

        With the GP: Acquisition.GPProposal.propose (between calls it keeps
        the kernel's last hyperparameters and the points' transformed rows).
        With a forest, the scratch optimizer is told the results, then the
        failed points at the worst value seen and the pending points at the
        lie, so one fit sees all of them. With a sampling acquisition (LCB, EI, PI: the default)
        the surrogate scores skopt's `n_points` random candidates once, and
        the batch is the best candidates in order, each outside the
        neighbourhood of the points chosen before it; the first point is
        the one skopt's own `ask` would pick. Other settings (gp_hedge,
        lbfgs) take skopt's `ask` for the first point. With several
        objectives: propose_pareto. Once points failed, candidates the
        feasibility model predicts to fail are left out.
        """
        if snap.first:
            raise ValueError(f"a snapshot without its first {snap.first} results: "
                             "Proposer.Held makes it whole")
        if self.objectives > 1:
            return self.propose_pareto(snap, k)
        return self._propose_scalar(snap, k)

    def _propose_scalar(self, snap: Snapshot, k: int) -> list[list[Any]]:
        """propose() for the snapshot's values `y` (one objective, or a scalarization)."""
        rng = np.random.RandomState(snap.seed)
        if self.gp is not None:
            return self.gp.propose(snap.X, snap.y, snap.failed, snap.pending, self.lie, k,
                                   rng, self.feasibility)
        X, y = self.training_set(snap)
        scratch = make_optimizer(self.problem, self.kwargs, random_state=snap.seed)
        taken = [list(p) for p in X]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if scratch.acq_func in SCORABLE and scratch.acq_optimizer == "sampling" \
                    and scratch.base_estimator_ is not None:
                model = clone(scratch.base_estimator_)
                model.fit(scratch.space.transform(X), y)
                return self._best_candidates(scratch, model, float(np.min(y)), [], k, taken,
                                             snap)
            scratch.tell(X, y)
            first = self.problem.canonical(list(scratch.ask()))
        if first in taken or not self.problem.allowed(first):
            first = self.random_point(scratch.rng)
        if k == 1:
            return [first]
        return self._best_candidates(scratch, scratch.models[-1], float(np.min(y)),
                                     [first], k - 1, taken, snap)

    def propose_pareto(self, snap: Snapshot, k: int) -> list[list[Any]]:
        """`k` points towards the Pareto front: ParEGO scalarizations of the vectors.

        Each group of up to POINTS_PER_WEIGHT points (at most MAX_WEIGHTS
        groups, so a batch of 1,000 costs 8 proposals, not 60) is proposed
        for its own random weights, with the groups before it pending: a
        large batch spreads along the front instead of crowding one part of
        it. The weights and the groups' seeds come from the snapshot's seed.
        """
        rng = np.random.RandomState(snap.seed)
        groups = min(MAX_WEIGHTS, math.ceil(k / POINTS_PER_WEIGHT))
        points: list[list[Any]] = []
        for group in range(groups):
            size = k // groups + (group < k % groups)
            scalar = replace(snap, y=parego(snap.vectors, random_weights(self.objectives, rng)),
                             pending=snap.pending + points,
                             seed=int(rng.randint(0, INT32_MAX)))
            points += self._propose_scalar(scalar, size)
        return points

    def _best_candidates(self, scratch: Optimizer, model: Any, y_opt: float,
                         chosen: list[list[Any]], k: int,
                         taken: list[list[Any]], snap: Snapshot) -> list[list[Any]]:
        """The best `k` acquisition candidates, spread apart (one fit, no refit).

        Each chosen point excludes its nearest n/(4(k+1)) candidates (n
        candidates in all), so a batch of k covers at most about a quarter
        of them and never crowds one basin. Candidates the feasibility
        model predicts to fail (with `snap`'s failed points) are left out.
        """
        space = scratch.space
        candidates = self.admitted(space.rvs(n_samples=max(scratch.n_points, 4 * (k + len(chosen))),
                                             random_state=scratch.rng))
        n = len(candidates)
        Xt = space.transform(candidates)
        acq = scratch.acq_func if scratch.acq_func in SCORABLE else "LCB"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = _gaussian_acquisition(Xt, fast_model(model), y_opt=y_opt, acq_func=acq,
                                           acq_func_kwargs=scratch.acq_func_kwargs)
        alive = np.ones(n, dtype=bool)
        if snap.failed:
            alive &= self.feasibility.allowed(space.transform(snap.X),
                                              space.transform(snap.failed), Xt, scratch.rng)
        radius_count = max(1, n // (4 * (k + len(chosen) + 1))) if k + len(chosen) > 1 else 0
        for point in chosen:
            self._exclude_near(Xt, space.transform([point])[0], alive, radius_count)
        points: list[list[Any]] = []
        seen = {repr(p) for p in taken} | {repr(p) for p in chosen}
        for index in np.argsort(values, kind="stable"):
            if len(points) == k:
                break
            if not alive[index]:
                continue
            point = list(candidates[index])
            if repr(point) in seen:
                continue
            seen.add(repr(point))
            points.append(point)
            self._exclude_near(Xt, Xt[index], alive, radius_count)
        while len(points) < k:  # a tiny space: fill with random points
            points.append(self.random_point(scratch.rng))
        return chosen + points

    @staticmethod
    def _exclude_near(Xt: np.ndarray, centre: np.ndarray, alive: np.ndarray, count: int) -> None:
        """Mark the `count` candidates nearest to `centre` as used."""
        if count <= 0:
            return
        distance = np.sum((Xt - centre) ** 2, axis=1)
        nearest = np.argpartition(distance, min(count, len(distance) - 1))[:count]
        alive[nearest] = False
