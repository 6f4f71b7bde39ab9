# BEST PY
# The best ok task's point, out of the search. OUTPUT/best.json is kept by
# the driver: each time a finished task beats the best so far, the file is
# rewritten whole (a temp file, then os.replace: a reader or a job chained
# after the search never sees part of it). `report.sh OUTPUT --best` prints
# the point alone, as the task received it (the same JSON as its PARAMS
# argument), from results.csv. With several objectives (cfg `objectives`)
# both hold the Pareto set instead: a JSON list of its tasks, each with its
# objectives, point and other metrics (pareto_record), by task number.
#
# Driver:  keeper = Keeper(output, goals)               (Workflow.__init__)
#          keeper.keep(the whole search's Tally front)  (Workflow._record)
# Report:  point_json(params) of the best row's typed params (recorded_params),
#          pareto_json(records) of the Pareto set's rows
# On the search loop's thread only.

import os
from collections.abc import Mapping
from typing import Any

import Layout
from Objectives import Objectives
from Problem import Problem
from Tally import Best
from utils import json_dumps, warn


def best_path(output: str) -> str:
    """OUTPUT/best.json."""
    return Layout.path(output, Layout.BEST)


def point_json(params: Mapping[str, Any]) -> str:
    """The point as the task received it: its PARAMS argument (Task.launch)."""
    return json_dumps(dict(params))


def recorded_params(problem_spec: Any, row: Mapping[str, str]) -> dict[str, Any]:
    """A results.csv row's parameters as the task received them (typed, exact).

    results.csv holds each value as text (str of the value); the run's
    problem (run.json's `problem`, None: the default) maps it back, as a
    resumed run does. Raises UsageError or ValueError when it does not fit.
    """
    problem = Problem(problem_spec)
    return problem.params(problem.point(row))


def best_record(task_id: int, objective: float, params: Mapping[str, Any],
                metrics: Mapping[str, float]) -> dict[str, Any]:
    """best.json's content: the task, its objective, its point and its cfg metrics."""
    return {"id": task_id, "objective": objective, "params": dict(params),
            "metrics": dict(metrics)}


def pareto_record(task_id: int, objectives: Mapping[str, float], params: Mapping[str, Any],
                  metrics: Mapping[str, float]) -> dict[str, Any]:
    """One task of the Pareto set: its number, objectives, point and its other cfg metrics."""
    return {"id": task_id, "objectives": dict(objectives), "params": dict(params),
            "metrics": {k: v for k, v in metrics.items() if k not in objectives}}


def pareto_json(records: list[dict[str, Any]]) -> str:
    """The Pareto set as JSON: a list of pareto_record's, by task number."""
    return json_dumps(sorted(records, key=lambda r: r["id"]))


def front_records(front: list[Best], goals: Objectives) -> list[dict[str, Any]]:
    """The Pareto set of Tally's front as pareto_record's."""
    return [pareto_record(b.task_id, dict(zip(goals.names, b.values, strict=True)), b.params,
                          b.metrics) for b in front]


def write_best(output: str, text: str) -> None:
    """Write the JSON `text` to OUTPUT/best.json whole: a temp file beside it, then
    os.replace."""
    path = best_path(output)
    partial = path + ".partial"
    with open(partial, "w") as stream:
        stream.write(text + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


class Keeper:
    """Keeps OUTPUT/best.json on the best ok task of the whole search (Tally's best), or
    on its Pareto set with several objectives (Tally's front).

    Parameters
    ----------
    output : the search's folder
    goals : the search's objectives (Objectives.py)
    """

    def __init__(self, output: str, goals: Objectives) -> None:
        self.output = output
        self.goals = goals
        self.written: list[int] = []  # the tasks best.json names

    def keep(self, front: list[Best]) -> None:
        """Write best.json when `front` holds other tasks than the ones it names.

        A failed write is a warning: results.csv is the record, best.json a copy
        of its rows (the next change writes it again).
        """
        tasks = [b.task_id for b in front]
        if not front or tasks == self.written:
            return
        best = front[0]
        text = pareto_json(front_records(front, self.goals)) if self.goals.several \
            else json_dumps(best_record(best.task_id, best.objective, best.params, best.metrics))
        try:
            write_best(self.output, text)
        except OSError as err:
            warn(f"cannot write {best_path(self.output)}: {err.strerror}")
            return
        self.written = tasks
