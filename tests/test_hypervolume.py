# TEST HYPERVOLUME PY
# The multi-objective benchmark's metric (benchmarks/hypervolume.py): the
# non-dominated filter, the normalization by a sample's ideal and nadir,
# and the hypervolume against the fixed reference point, on fronts whose
# volume is worked out by hand; and the harness run end to end on a tiny
# budget (benchmarks/run.sh quality --multi, the methods that need no
# multi-objective Search).

import os
import subprocess
import sys

import numpy as np
from conftest import BUNDLE

sys.path.insert(0, str(BUNDLE / "benchmarks"))
from hypervolume import REFERENCE, bounds, hypervolume, non_dominated

IDEAL, NADIR = np.array([0.0, 0.0]), np.array([1.0, 1.0])


def test_non_dominated_keeps_the_front_only() -> None:
    values = np.array([[0.5, 0.5], [0.2, 0.9], [0.6, 0.6], [0.9, 0.1], [0.2, 0.95], [0.5, 0.5]])
    assert non_dominated(values).tolist() == [[0.5, 0.5], [0.2, 0.9], [0.9, 0.1]]


def test_hypervolume_of_hand_worked_fronts() -> None:
    width = REFERENCE[0]
    assert np.isclose(hypervolume([[0.0, 0.0]], IDEAL, NADIR), width * width)
    # two boxes of 1.1 x 0.6 overlapping in 0.6 x 0.6; a dominated point adds nothing
    assert np.isclose(hypervolume([[0.0, 0.5], [0.5, 0.0], [0.7, 0.7]], IDEAL, NADIR),
                      2 * width * 0.6 - 0.36)


def test_hypervolume_normalizes_and_ignores_points_beyond_the_reference() -> None:
    ideal, nadir = np.array([10.0, 100.0]), np.array([20.0, 300.0])
    assert np.isclose(hypervolume([[15.0, 200.0]], ideal, nadir), 0.6 * 0.6)
    assert hypervolume([[25.0, 150.0], [12.0, 500.0]], ideal, nadir) == 0.0


def test_bounds_are_the_sample_fronts_ideal_and_nadir() -> None:
    class Line:  # uniform points x in [0, 1]: objectives (x, 1 - x), all non-dominated
        def rvs(self, size: int, random_state: int) -> list[list[float]]:
            return [[x] for x in np.random.RandomState(random_state).rand(size)]
    ideal, nadir = bounds(lambda p: (p[0], 1 - p[0] + 5), Line(), size=500)
    assert np.allclose(ideal, [0, 5], atol=0.01) and np.allclose(nadir, [1, 6], atol=0.01)


def test_the_harness_runs_and_reports_each_method_and_budget() -> None:
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("BENCHMARK_QUICK", None)
    done = subprocess.run([str(BUNDLE / "benchmarks" / "run.sh"), "quality", "--multi",
                           "--seeds", "2", "--evaluations", "10", "12", "--problems",
                           "svm-error-cost", "--methods", "random", "optuna NSGA-II",
                           "--jobs", "1"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()
            if line.lstrip().startswith("svm-error-cost")]
    assert sorted((r[1], r[2]) for r in rows) == [("10", "optuna"), ("10", "random"),
                                                  ("12", "optuna"), ("12", "random")]
    assert all(0 < float(r[-5]) <= REFERENCE.prod() for r in rows)  # the median
