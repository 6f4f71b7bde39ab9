# BEST PY
# The best ok task's point, out of the search. OUTPUT/best.json is kept by
# the driver: each time a finished task beats the best so far, the file is
# rewritten whole (a temp file, then os.replace: a reader or a job chained
# after the search never sees part of it). `report.sh OUTPUT --best` prints
# the point alone, as the task received it (the same JSON as its PARAMS
# argument), from results.csv.
#
# Driver:  keeper = Keeper(output)                    (Workflow.__init__)
#          keeper.keep(the whole search's Tally best)  (Workflow._record)
# Report:  point_json(params) of the best row's typed params (recorded_params)
# On the search loop's thread only.

import os
from collections.abc import Mapping
from typing import Any

import Layout
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


def write_best(output: str, record: Mapping[str, Any]) -> None:
    """Write OUTPUT/best.json whole: a temp file beside it, then os.replace."""
    path = best_path(output)
    partial = path + ".partial"
    with open(partial, "w") as stream:
        stream.write(json_dumps(record) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


class Keeper:
    """Keeps OUTPUT/best.json on the best ok task of the whole search (Tally's best).

    Parameters
    ----------
    output : the search's folder
    """

    def __init__(self, output: str) -> None:
        self.output = output
        self.written: int | None = None  # the task best.json names

    def keep(self, best: Best | None) -> None:
        """Write best.json when `best` is another task than the one it names.

        A failed write is a warning: results.csv is the record, best.json a copy
        of one of its rows (the next better task writes it again).
        """
        if best is None or best.task_id == self.written:
            return
        try:
            write_best(self.output, best_record(best.task_id, best.objective, best.params,
                                                best.metrics))
        except OSError as err:
            warn(f"cannot write {best_path(self.output)}: {err.strerror}")
            return
        self.written = best.task_id
