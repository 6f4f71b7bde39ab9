# TEST PRUNER PY
# Pruner.py and its rules (PruneMedian.py, PruneAsha.py): the median rule
# and ASHA on known learning curves, their thresholds (min_steps,
# min_tasks, the top 1/η), direction, one read bringing many steps at once
# (judged once, on its latest step and best so far, and the verdict names
# the step, rung and values it used), the registry, and that a pruner fed the
# recorded history decides as the one that lived it.

import random

import pytest

from PruneAsha import AshaRule
from PruneMedian import median, median_without
from Pruner import RULES, Pruner
from PruneRule import PrunerSettings, Verdict


def curve(level: float, steps: int = 9) -> list[float]:
    """A learning curve that falls towards `level`."""
    return [level + 1.0 / step for step in range(1, steps + 1)]


def read(pruner: Pruner, task_id: int, steps: dict[int, float]) -> Verdict | None:
    """One read of a task's output bringing `steps` (step -> value) at once; the verdict."""
    for step, value in steps.items():
        pruner.observe(task_id, step, value)
    return pruner.decide(task_id)


def run_whole(pruner: Pruner, task_id: int, values: list[float]) -> int | None:
    """Feed a task's curve one step per read; the step at which it is stopped (None: never)."""
    for step, value in enumerate(values, start=1):
        verdict = read(pruner, task_id, {step: value})
        if verdict is not None:
            assert verdict.step == step
            return step
    return None


def test_median_stops_a_task_worse_than_the_median_of_the_others() -> None:
    pruner = Pruner(PrunerSettings("median", min_steps=3, min_tasks=4))
    for task_id, level in enumerate([0.1, 0.2, 0.3, 0.4]):
        assert run_whole(pruner, task_id, curve(level)) is None  # too few others
    assert run_whole(pruner, 4, curve(0.24)) is None  # better than the median (0.25 + 1/step)
    # the median of the other five at a step is 0.24 + 1/step; 0.35 + 1/step is worse
    # from the start, but nothing is stopped before min_steps
    assert run_whole(pruner, 5, curve(0.35)) == 3
    assert pruner.last_value(5) == curve(0.35)[2]
    assert pruner.last_value(99) is None


def test_median_compares_the_best_so_far_and_needs_min_tasks_at_that_step() -> None:
    pruner = Pruner(PrunerSettings("median", min_steps=1, min_tasks=2))
    for task_id in range(2):
        run_whole(pruner, task_id, [1.0, 1.0, 1.0])
    # a task that was once better than the median and then got worse goes on: its best counts
    assert read(pruner, 2, {1: 0.5}) is None
    assert read(pruner, 2, {2: 1.5}) is None
    # only one other task reached step 4: no decision there
    assert read(pruner, 0, {4: 1.0}) is None
    assert read(pruner, 3, {4: 9.0}) is None
    assert read(pruner, 3, {5: 9.0}) is None  # nobody else at step 5
    assert read(pruner, 4, {1: 1.1}) is not None  # worse than the median 1.0 of three others


def test_one_read_with_many_steps_is_judged_on_its_latest_step_and_best() -> None:
    """Issue 18: the first value worse than the median stopped the task, then the log
    named the read's last step and the best of the whole read."""
    pruner = Pruner(PrunerSettings("median", min_steps=1, min_tasks=2))
    for task_id, level in enumerate([0.0782, 0.09]):
        run_whole(pruner, task_id, [level + 0.1 / step for step in range(1, 26)])
    # at step 7 its 0.157 is worse than the others' median (0.0982); by step 25 its best
    # 0.0761 is better than both others' (0.0822, 0.094): the read as a whole goes on
    steps = {step: 0.157 if step <= 7 else 0.0761 for step in range(1, 26)}
    assert read(pruner, 2, steps) is None
    # a task behind at its latest step is stopped there, and the verdict says with what
    verdict = read(pruner, 3, {step: 0.2 - step / 1000 for step in range(1, 26)})
    assert verdict == Verdict(25, "its best value so far 0.175 is worse than 0.0822, the "
                                  "median of the 3 other tasks' values at step 25")


def test_asha_keeps_the_top_third_at_each_rung() -> None:
    settings = PrunerSettings("asha", min_steps=1, reduction_factor=3, min_tasks=2)
    pruner = Pruner(settings)
    assert [AshaRule(settings, "min").rung_step(k) for k in range(4)] == [1, 3, 9, 27]
    assert run_whole(pruner, 0, curve(0.5)) is None
    assert run_whole(pruner, 1, curve(0.6)) is None  # one other at each rung: no decision
    # rung 0 holds 1.5 and 1.6; with 3 tasks the top ceil(3/3) = 1 goes on
    assert run_whole(pruner, 2, curve(0.55)) == 1
    assert run_whole(pruner, 3, curve(0.4)) is None  # the best everywhere
    # rung 0: 1.4 1.5 1.55 1.6 and this 1.45: 1 better, ceil(5/3) = 2 go on; rung 1 (step 3):
    # 0.7333 0.8333 0.9333 and this 0.7833: 1 better, ceil(4/3) = 2 go on;
    # rung 2 (step 9): 0.5111 0.6111 0.7111 and this 0.5611: 1 better, go on
    assert run_whole(pruner, 4, curve(0.45)) is None


def test_asha_judges_a_read_crossing_several_rungs_at_the_last_one() -> None:
    settings = PrunerSettings("asha", min_steps=1, reduction_factor=3, min_tasks=2)
    pruner = Pruner(settings)
    for task_id, level in enumerate([0.5, 0.6]):
        run_whole(pruner, task_id, [level + 1.0 / step for step in range(1, 10)])
    # behind at rungs 0 (step 1) and 1 (step 3), but by step 9 the best at rung 2: goes on
    assert read(pruner, 3, {1: 9.0, 2: 9.0, 3: 9.0, 9: 0.1, 10: 0.1}) is None
    # behind at rungs 0 and 2, then the best of all at step 12: its best so far counts
    assert read(pruner, 4, {1: 5.0, 9: 4.0, 12: 0.05}) is None
    # behind at rung 2 and still at step 12: its best so far (0.8) passes rungs 0 and 1, and
    # at rung 2 among the five that reached it 0.1, 0.6111, 0.7111 are better, 2 go on
    verdict = read(pruner, 5, {1: 2.0, 9: 0.9, 12: 0.8})
    assert verdict == Verdict(12, "its best value so far 0.8 is not in the top 2 of the 5 "
                                  "tasks at rung 2 (step 9, 1/3 go on): 3 are better")
    # a read that reaches no new rung is no decision
    assert read(pruner, 5, {13: 0.8}) is None


def test_asha_a_rung_with_too_few_tasks_does_not_hide_an_earlier_one() -> None:
    pruner = Pruner(PrunerSettings("asha", min_steps=1, reduction_factor=3, min_tasks=2))
    for task_id in range(2):
        run_whole(pruner, task_id, [0.5, 0.5, 0.5])  # rungs 0 (step 1) and 1 (step 3)
    # alone at rung 2 (step 9): judged at rung 0, the first it reached in this read
    verdict = read(pruner, 2, {1: 0.9, 3: 0.9, 9: 0.9})
    assert verdict == Verdict(9, "its best value so far 0.9 is not in the top 1 of the 3 "
                                 "tasks at rung 0 (step 1, 1/3 go on): 2 are better")


def test_asha_with_a_fractional_reduction_factor() -> None:
    rule = AshaRule(PrunerSettings("asha", min_steps=2, reduction_factor=1.5), "min")
    assert [rule.rung_step(k) for k in range(5)] == [2, 3, 5, 7, 11]


def test_direction_max_stops_the_low_ones() -> None:
    pruner = Pruner(PrunerSettings("median", min_steps=1, min_tasks=2), direction="max")
    read(pruner, 0, {1: 0.9})
    read(pruner, 1, {1: 0.8})
    assert read(pruner, 2, {1: 0.95}) is None
    verdict = read(pruner, 3, {1: 0.7})
    assert verdict is not None and "best value so far 0.7 is worse than 0.9," in verdict.reason


def test_median_of_sorted_values() -> None:
    assert median([1.0]) == 1.0
    assert median([1.0, 2.0]) == 1.5
    assert median([1.0, 2.0, 10.0]) == 2.0
    assert median_without([1.0, 2.0, 10.0], 2.0) == 5.5
    assert median_without([1.0, 2.0, 2.0, 10.0], 2.0) == 2.0
    assert median_without([1.0, 2.0, 10.0, 11.0], 1.0) == 10.0


def test_the_registry_names_every_rule_and_refuses_others() -> None:
    assert list(RULES) == ["median", "asha"]
    with pytest.raises(ValueError, match="pruner rule 'hyperband': expected one of median, asha"):
        Pruner(PrunerSettings("hyperband"))


def test_replaying_the_history_decides_as_the_pruner_that_lived_it() -> None:
    rng = random.Random(7)
    for rule in RULES:
        settings = PrunerSettings(rule, min_steps=2, reduction_factor=2, min_tasks=3)
        reads = []  # [(task, step, value)] per read, in the order a search records them
        running: dict[int, list[float]] = {}
        reached: dict[int, int] = {}
        next_task = 0
        while next_task < 40 or running:
            while next_task < 40 and len(running) < 4:
                running[next_task] = curve(rng.uniform(0, 1), rng.randint(4, 12))
                reached[next_task] = 0
                next_task += 1
            found = []
            for task_id in rng.sample(sorted(running), rng.randint(1, len(running))):
                for _ in range(rng.randint(1, 3)):  # a read brings 1 to 3 steps of a task
                    if reached[task_id] < len(running[task_id]):
                        reached[task_id] += 1
                        found.append((task_id, reached[task_id],
                                      running[task_id][reached[task_id] - 1]))
                if reached[task_id] == len(running[task_id]):
                    del running[task_id]
            reads.append(found)

        def live(pruner: Pruner, reads: list, stopped: set[int]) -> list[Verdict | None]:
            decisions = []
            for found in reads:
                named = dict.fromkeys(t for t, s, v in found if pruner.observe(t, s, v)
                                      and t not in stopped)
                for task_id in named:
                    verdict = pruner.decide(task_id)
                    if verdict is not None:
                        stopped.add(task_id)
                    decisions.append(verdict)
            return decisions

        lived_stopped: set[int] = set()
        cut = len(reads) // 2
        lived = Pruner(settings)
        first, second = live(lived, reads[:cut], lived_stopped), live(lived, reads[cut:],
                                                                       lived_stopped)
        assert any(first + second), rule
        resumed = Pruner(settings)
        for found in reads[:cut]:
            for task_id, step, value in found:
                resumed.observe(task_id, step, value)
        replayed_stopped = {t for t in lived_stopped if any(t == f[0] for r in reads[:cut]
                                                            for f in r)}
        assert live(resumed, reads[cut:], set(replayed_stopped)) == second
