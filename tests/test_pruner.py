# TEST PRUNER PY
# Pruner.py: the median rule and ASHA on known learning curves, their
# thresholds (min_steps, min_tasks, the top 1/η), direction, and that a
# pruner fed the recorded history decides as the one that lived it.

import random

from Pruner import Pruner, PrunerSettings, median


def curve(level: float, steps: int = 9) -> list[float]:
    """A learning curve that falls towards `level`."""
    return [level + 1.0 / step for step in range(1, steps + 1)]


def run_whole(pruner: Pruner, task_id: int, values: list[float]) -> int | None:
    """Feed a task's curve; the step at which it is stopped (None: it ran to its end)."""
    for step, value in enumerate(values, start=1):
        if pruner.observe(task_id, step, value):
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
    assert not pruner.observe(2, 1, 0.5)
    assert not pruner.observe(2, 2, 1.5)
    # only one other task reached step 4: no decision there
    assert not pruner.observe(0, 4, 1.0)
    assert not pruner.observe(3, 4, 9.0)
    assert pruner.observe(3, 5, 9.0) is False  # nobody else at step 5
    assert pruner.observe(4, 1, 1.1)  # worse than the median 1.0 of three others


def test_asha_keeps_the_top_third_at_each_rung() -> None:
    settings = PrunerSettings("asha", min_steps=1, reduction_factor=3, min_tasks=2)
    pruner = Pruner(settings)
    assert [pruner.rung_step(k) for k in range(4)] == [1, 3, 9, 27]
    assert run_whole(pruner, 0, curve(0.5)) is None
    assert run_whole(pruner, 1, curve(0.6)) is None  # one other at each rung: no decision
    # rung 0 holds 1.5 and 1.6; with 3 tasks the top ceil(3/3) = 1 goes on
    assert run_whole(pruner, 2, curve(0.55)) == 1
    assert run_whole(pruner, 3, curve(0.4)) is None  # the best everywhere
    # rung 0: 1.4 1.5 1.55 1.6 and this 1.45: 1 better, ceil(5/3) = 2 go on; rung 1 (step 3):
    # 0.7333 0.8333 0.9333 and this 0.7833: 1 better, ceil(4/3) = 2 go on;
    # rung 2 (step 9): 0.5111 0.6111 0.7111 and this 0.5611: 1 better, go on
    assert run_whole(pruner, 4, curve(0.45)) is None
    # a step that jumps over rungs is compared at each rung it passed
    assert pruner.observe(5, 10, 0.9)


def test_asha_with_a_fractional_reduction_factor() -> None:
    pruner = Pruner(PrunerSettings("asha", min_steps=2, reduction_factor=1.5))
    assert [pruner.rung_step(k) for k in range(5)] == [2, 3, 5, 7, 11]


def test_direction_max_stops_the_low_ones() -> None:
    pruner = Pruner(PrunerSettings("median", min_steps=1, min_tasks=2), direction="max")
    pruner.observe(0, 1, 0.9)
    pruner.observe(1, 1, 0.8)
    assert not pruner.observe(2, 1, 0.95)
    assert pruner.observe(3, 1, 0.7)


def test_median_of_sorted_values() -> None:
    assert median([1.0]) == 1.0
    assert median([1.0, 2.0]) == 1.5
    assert median([1.0, 2.0, 10.0]) == 2.0


def test_replaying_the_history_decides_as_the_pruner_that_lived_it() -> None:
    rng = random.Random(7)
    for rule in ("median", "asha"):
        settings = PrunerSettings(rule, min_steps=2, reduction_factor=2, min_tasks=3)
        events = []  # (task, step, value) in the order a search records them
        running: dict[int, list[float]] = {}
        next_task = 0
        while next_task < 40 or running:
            if next_task < 40 and len(running) < 4:
                running[next_task] = curve(rng.uniform(0, 1), rng.randint(4, 12))
                next_task += 1
            task_id = rng.choice(sorted(running))
            step = 1 + sum(1 for e in events if e[0] == task_id)
            events.append((task_id, step, running[task_id][step - 1]))
            if step == len(running[task_id]):
                del running[task_id]
        lived = Pruner(settings)
        stopped: set[int] = set()
        decisions = []
        for task_id, step, value in events:
            stop = lived.observe(task_id, step, value, decide=task_id not in stopped)
            if stop:
                stopped.add(task_id)
            decisions.append(stop)
        assert any(decisions), rule
        cut = len(events) // 2
        resumed = Pruner(settings)
        for task_id, step, value in events[:cut]:
            resumed.observe(task_id, step, value, decide=False)
        replayed_stopped = {t for (t, _, _), d in zip(events[:cut], decisions) if d}
        for (task_id, step, value), decided in zip(events[cut:], decisions[cut:]):
            stop = resumed.observe(task_id, step, value, decide=task_id not in replayed_stopped)
            if stop:
                replayed_stopped.add(task_id)
            assert stop == decided
