# SEARCH PY
# The search algorithm: a skopt Optimizer plus the points still pending.
# ask(k) / tell(points, values) / fail(points); no processes, no files,
# so tests and benchmarks can drive it with simulated time.

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from skopt import Optimizer
from skopt.acquisition import _gaussian_acquisition

from Problem import Problem
from utils import UsageError

INT32_MAX = np.iinfo(np.int32).max
# Acquisition functions whose values we can score ourselves for batches.
SCORABLE = ("LCB", "EI", "PI")


@dataclass
class Snapshot:
    """What a proposal needs, copied under the caller's lock."""

    X: list[list[Any]]
    y: list[float]
    pending: list[list[Any]]
    failed: list[list[Any]]
    seed: int
    version: int


def make_optimizer(problem: Problem, kwargs: dict[str, Any],
                   random_state: Any = None) -> Optimizer:
    """Build a skopt Optimizer from cfg arguments, as a UsageError if they are bad."""
    kwargs = dict(kwargs)
    if random_state is not None:
        kwargs["random_state"] = random_state
    if kwargs.get("base_estimator") == "dummy":
        # skopt's "dummy" fails with scikit-learn >= 1.6; random search is an
        # endless initial phase, which needs no model at all.
        kwargs["base_estimator"] = "ET"
        kwargs["n_initial_points"] = 2**62
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Optimizer(problem.space, **kwargs)
    except (TypeError, ValueError, AttributeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cfg key 'optimizer': skopt.Optimizer rejects {kwargs!r}: {first}") \
            from None


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

    Notes
    -----
    While fewer than `n_initial_points` results are known, points come from
    the optimizer exactly as the original workflow asked for them
    (`ask(n_points=POINTS_INIT)`, then `ask(n_points=1)` per point). After
    that, each proposal fits one scratch optimizer to the results plus a lie
    for every pending or failed point and picks from its acquisition.
    """

    def __init__(self, problem: Problem, optimizer_kwargs: dict[str, Any],
                 lie: str = "max", resume_offset: int = 0) -> None:
        self.problem = problem
        self.kwargs = dict(optimizer_kwargs)
        self.lie = lie
        seed = self.kwargs.get("random_state")
        if resume_offset and isinstance(seed, int):
            seed = int(np.random.RandomState(seed).randint(0, INT32_MAX) + resume_offset) % INT32_MAX
            self.kwargs["random_state"] = seed
        self.optimizer = make_optimizer(problem, self.kwargs)
        self.n_initial_points = self.optimizer.n_initial_points_
        self.pending: list[list[Any]] = []
        self.failed: list[list[Any]] = []
        self.version = 0  # results told so far
        self._asked = False

    # -- state ----------------------------------------------------------
    @property
    def in_random_phase(self) -> bool:
        """True while points are drawn at random (too few results for a model)."""
        return len(self.optimizer.yi) < self.n_initial_points

    def tell(self, points: Sequence[list[Any]], values: Sequence[float]) -> None:
        """Record finished points and their objective values (no model fit here)."""
        if not points:
            return
        for point in points:
            self._unpend(point)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.optimizer.tell([list(p) for p in points], [float(v) for v in values],
                                fit=False)
        self.version += len(points)

    def fail(self, points: Sequence[list[Any]]) -> None:
        """Record points whose tasks failed: never told, never proposed again."""
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
        """Draw `k` points of the initial phase, as the original workflow did."""
        points: list[list[Any]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not self._asked:
                self._asked = True
                first = min(k, max(self.n_initial_points, 1))
                points += self.optimizer.ask(n_points=first)
            while len(points) < k:
                self.optimizer.cache_ = {}  # ask(1) twice without a tell repeats itself
                points += self.optimizer.ask(n_points=1)
        return [list(p) for p in points]

    def snapshot(self) -> Snapshot:
        """Copy the state a model-based proposal needs (cheap; call under a lock)."""
        return Snapshot(X=[list(x) for x in self.optimizer.Xi], y=list(self.optimizer.yi),
                        pending=[list(p) for p in self.pending],
                        failed=[list(p) for p in self.failed],
                        seed=int(self.optimizer.rng.randint(0, INT32_MAX)),
                        version=self.version)

    def register(self, points: Sequence[list[Any]]) -> None:
        """Mark points proposed from a snapshot as pending."""
        self.pending.extend(list(p) for p in points)

    def lie_value(self, y: Sequence[float]) -> float | None:
        """The constant lie told for pending points (None: do not tell them)."""
        if self.lie == "none" or not y:
            return None
        return float({"max": np.max, "mean": np.mean, "min": np.min}[self.lie](y))

    def propose(self, snap: Snapshot, k: int) -> list[list[Any]]:
        """Propose `k` points from one model fit; pure, safe outside the lock.

        The scratch optimizer is told the results, then the pending points and
        the failed points at the lie (failed points at the worst value seen),
        so one fit sees all of them. The first point is skopt's own choice;
        further points are the next best candidates of the same acquisition,
        each far enough from the points already chosen.
        """
        lie = self.lie_value(snap.y)
        worst = float(np.max(snap.y))
        X = snap.X + snap.failed
        y = snap.y + [worst] * len(snap.failed)
        if lie is not None:
            X, y = X + snap.pending, y + [lie] * len(snap.pending)
        scratch = make_optimizer(self.problem, self.kwargs, random_state=snap.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scratch.tell(X, y)
            first = list(scratch.ask())
        taken = [list(p) for p in snap.pending] + [list(p) for p in snap.failed] + X
        if first in taken:
            first = list(self.problem.space.rvs(random_state=scratch.rng)[0])
        points = [first]
        if k > 1:
            points += self._more_candidates(scratch, first, k - 1, taken)
        return points

    def _more_candidates(self, scratch: Optimizer, first: list[Any], k: int,
                         taken: list[list[Any]]) -> list[list[Any]]:
        """The next `k` best acquisition candidates, spread apart (one fit, no refit)."""
        space = scratch.space
        n = max(scratch.n_points, 4 * k)
        candidates = space.rvs(n_samples=n, random_state=scratch.rng)
        Xt = space.transform(candidates)
        acq = scratch.acq_func if scratch.acq_func in SCORABLE else "LCB"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = _gaussian_acquisition(Xt, scratch.models[-1], y_opt=np.min(scratch.yi),
                                           acq_func=acq, acq_func_kwargs=scratch.acq_func_kwargs)
        alive = np.ones(n, dtype=bool)
        radius_count = max(1, n // (4 * (k + 1)))
        chosen = [space.transform([first])[0]]
        points: list[list[Any]] = []
        order = np.argsort(values)
        for centre in chosen:
            self._exclude_near(Xt, centre, alive, radius_count)
        for index in order:
            if len(points) == k:
                break
            if not alive[index]:
                continue
            point = list(candidates[index])
            if point in taken or point in points:
                alive[index] = False
                continue
            points.append(point)
            self._exclude_near(Xt, Xt[index], alive, radius_count)
        while len(points) < k:  # a tiny space: fill with random points
            points.append(list(space.rvs(random_state=scratch.rng)[0]))
        return points

    @staticmethod
    def _exclude_near(Xt: np.ndarray, centre: np.ndarray, alive: np.ndarray, count: int) -> None:
        """Mark the `count` candidates nearest to `centre` as used."""
        distance = np.sum((Xt - centre) ** 2, axis=1)
        nearest = np.argpartition(distance, min(count, len(distance) - 1))[:count]
        alive[nearest] = False
