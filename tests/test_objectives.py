# TEST OBJECTIVES
# Several objectives and constraints (issue 21): Objectives.py's record on its
# own (the Pareto set, minimized vectors, feasibility by status and by
# constraint), then with real tasks writing two metrics: the Pareto set in the
# summary, the report and `report.sh --best`, constraint-breaking and failed
# tasks never in it, resume, and the cfgs refused in one line.

import random

import pytest

import Objectives
from Objectives import Constraint, Objective, pareto_indices
from Status import Status

TWO = Objectives.Objectives((Objective("val_loss"), Objective("accuracy", "max")),
                            (Constraint("gpu_mem_gb", high=40),), several=True)


def dominated(u, v) -> bool:
    """True when v dominates u (all minimized)."""
    return all(b <= a for a, b in zip(u, v)) and any(b < a for a, b in zip(u, v))


def test_pareto_indices_keep_exactly_the_non_dominated() -> None:
    rng = random.Random(7)
    for size in (0, 1, 2, 5, 40):
        for width in (1, 2, 3):
            vectors = [tuple(rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(width))
                       for _ in range(size)]
            expected = [i for i, u in enumerate(vectors)
                        if not any(dominated(u, v) for v in vectors) and u not in vectors[:i]]
            assert pareto_indices(vectors) == expected


def test_pareto_indices_keep_the_first_of_equal_vectors() -> None:
    assert pareto_indices([(2, 2), (1, 2), (1, 2), (2, 1), (1, 3)]) == [1, 3]
    assert pareto_indices([(0.5,), (0.2,), (0.2,)]) == [1]


def test_minimized_turns_a_max_objective_and_front_reads_values_as_written() -> None:
    assert TWO.minimized((0.2, 0.9)) == (0.2, -0.9)
    assert TWO.told((0.2, 0.9)) == (0.2, -0.9)
    # higher accuracy is better: (0.3, 0.95) is not dominated by (0.2, 0.9)
    assert TWO.front([(0.2, 0.9), (0.3, 0.95), (0.3, 0.8)]) == [0, 1]


def test_values_need_every_named_objective() -> None:
    assert TWO.values(None, {"val_loss": 0.2, "accuracy": 0.9}) == (0.2, 0.9)
    assert TWO.values(0.2, {"val_loss": 0.2}) is None
    assert TWO.missing({"val_loss": 0.2}) == ["accuracy"]
    single = Objectives.Objectives()
    assert single.values(0.5, {}) == (0.5,)
    assert single.told((0.5,)) == 0.5
    assert single.missing({}) == []


@pytest.mark.parametrize(("status", "metrics", "feasible"), [
    (Status.OK, {"gpu_mem_gb": 40}, True),
    (Status.OK, {"gpu_mem_gb": 41}, False),
    (Status.OK, {}, False),  # the constrained metric is missing
    (Status.FAILED, {}, False),
    (Status.TIMEOUT, {}, False),
    (Status.KILLED, {}, True),
    (Status.PRUNED, {}, True),
])
def test_feasible_by_status_and_constraint(status, metrics, feasible) -> None:
    assert TWO.feasible(status, metrics) is feasible


def test_a_failure_not_counted_infeasible_is_feasible() -> None:
    lenient = Objectives.Objectives(infeasible=(Status.TIMEOUT,))
    assert lenient.feasible(Status.FAILED, {})
    assert not lenient.feasible(Status.TIMEOUT, {})


def test_constraint_wording() -> None:
    assert Constraint("gpu_mem_gb", high=40).wording() == "gpu_mem_gb <= 40"
    assert Constraint("recall", low=0.5).wording() == "recall >= 0.5"
    assert Constraint("x", 1, 2).wording() == "1 <= x <= 2"
