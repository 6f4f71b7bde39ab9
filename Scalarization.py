# SCALARIZATION PY
# Several objectives made one for a model fit (ParEGO, Knowles 2006): each
# objective normalized to [0, 1] over the Pareto front of the results (its
# ideal and nadir point: weights drawn evenly then aim evenly along the
# front, however far the worst results lie), then an augmented
# Chebyshev scalarization with weights drawn afresh for every fit, so that
# successive fits aim at different parts of the Pareto front. Every point
# of the front minimizes one such scalarization (unlike a weighted sum,
# which misses its concave parts). Search.propose calls parego() in the
# fitting process, with the snapshot's own random state.

from collections.abc import Sequence

import numpy as np

from Objectives import pareto_indices

AUGMENTATION = 0.05  # rho: the weighted sum's share, which breaks ties of the max


def random_weights(count: int, rng: np.random.RandomState) -> np.ndarray:
    """Weights drawn uniformly on the simplex (they sum to 1)."""
    return rng.dirichlet(np.ones(count))


def parego(vectors: Sequence[Sequence[float]], weights: np.ndarray) -> list[float]:
    """The augmented Chebyshev scalarization of minimized objective vectors.

    Parameters
    ----------
    vectors : sequence of sequences of float
        One vector of objective values (to minimize) per result.
    weights : ndarray
        One weight per objective (random_weights).

    Returns
    -------
    list of float
        max_i(w_i f_i) + AUGMENTATION * sum_i(w_i f_i) per result, each
        f_i scaled so that the front's ideal is 0 and its nadir 1 (results
        beyond the nadir above 1; an objective constant on the front: its
        range over the results, or 1).
    """
    values = np.asarray(vectors, dtype=float)
    low = values.min(axis=0)  # the front's ideal point too
    nadir = values[pareto_indices(vectors)].max(axis=0)
    high = np.where(nadir > low, nadir, values.max(axis=0))
    spread = np.where(high > low, high - low, 1.0)
    weighted = weights * (values - low) / spread
    return list(weighted.max(axis=1) + AUGMENTATION * weighted.sum(axis=1))
