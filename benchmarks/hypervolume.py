# BENCHMARKS HYPERVOLUME PY
# The metric of the multi-objective benchmark (benchmarks/multi.py): the
# hypervolume of a run's non-dominated values, both objectives normalized
# per problem and instance by the ideal and nadir point of the non-dominated
# set of a fixed random sample (SAMPLE uniform points, the same for every
# method and seed of that instance), against the fixed reference point
# REFERENCE of the normalized space (the nadir plus 10 %). The volume itself
# is Optuna's exact one (optuna._hypervolume, WFG; in 2-D a sweep); values
# beyond the reference point add nothing. The non-dominated set is the
# product's (Objectives.pareto_indices).

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from common import BUNDLE  # noqa: F401  (the bundle on sys.path)

from Objectives import pareto_indices

SAMPLE = 2_000  # uniform points that fix a problem instance's ideal and nadir
REFERENCE = np.array([1.1, 1.1])  # in normalized objectives: the sample's nadir plus 10 %


def non_dominated(values: Any) -> np.ndarray:
    """The rows of `values` (minimized) no other row dominates, in their order (the
    product's Pareto set: Objectives.pareto_indices)."""
    table = np.asarray(values, dtype=float)
    return table[pareto_indices(table.tolist())]


def bounds(objective: Callable[[list[Any]], Sequence[float]], space: Any,
           size: int = SAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """Ideal and nadir of the non-dominated values of `size` uniform points (seed 0)."""
    points = space.rvs(size, random_state=0)
    front = non_dominated(np.array([objective(list(p)) for p in points], dtype=float))
    return front.min(axis=0), front.max(axis=0)


def hypervolume(values: Sequence[Sequence[float]], ideal: np.ndarray, nadir: np.ndarray) -> float:
    """The normalized hypervolume of `values` against REFERENCE (0: none inside it)."""
    from optuna._hypervolume import compute_hypervolume
    normalized = (np.asarray(values, dtype=float) - ideal) / (nadir - ideal)
    inside = normalized[np.all(normalized <= REFERENCE, axis=1)]
    if not len(inside):
        return 0.0
    return float(compute_hypervolume(non_dominated(inside), REFERENCE, assume_pareto=True))
