# OPTUNA EXPORT PY
# `report.sh OUTPUT --optuna FILE`: the search as an Optuna study, so that
# optuna-dashboard and Optuna's plots (importances, parallel coordinates,
# contour, slice, intermediate values) browse it. Written by Optuna's own
# API into its journal format (JournalStorage over a JournalFileBackend):
# one trial per task, in task order, with its parameters and their
# distributions (from run.json's problem), its value or state (STATES), its
# intermediate values (progress.csv), its start and end, and as user
# attributes its task id, status, reason and cfg metrics.
#
# Optuna is optional: only this module imports it, and report.sh installs
# it (requirements-optuna.txt) only when --optuna is given. The file is
# written beside FILE and renamed into place: whole, or not at all.

import datetime
import os
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from skopt.space import Categorical, Integer

import Best
import Report
from Config import recorded_goals
from Problem import Problem
from Progress import read_curves
from Status import Status
from utils import UsageError

# How each task's status reads in Optuna; a task still running (started.csv
# only) is RUNNING too
STATES = {Status.OK: TrialState.COMPLETE, Status.PRUNED: TrialState.PRUNED,
          Status.FAILED: TrialState.FAIL, Status.TIMEOUT: TrialState.FAIL,
          Status.KILLED: TrialState.RUNNING}
DIRECTIONS = {"min": StudyDirection.MINIMIZE, "max": StudyDirection.MAXIMIZE}


def distributions(problem: Problem) -> dict[str, BaseDistribution]:
    """Each parameter's Optuna distribution, from the skopt dimension it was searched in."""
    found: dict[str, BaseDistribution] = {}
    for dim in problem.space.dimensions:
        log = getattr(dim, "prior", "") == "log-uniform"
        if isinstance(dim, Categorical):
            found[dim.name] = CategoricalDistribution(list(dim.categories))
        elif isinstance(dim, Integer):
            found[dim.name] = IntDistribution(int(dim.low), int(dim.high), log=log)
        else:
            found[dim.name] = FloatDistribution(float(dim.low), float(dim.high), log=log)
    return found


def _time(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch)


def trial(row: Report.Row, problem_spec: Any, dists: dict[str, BaseDistribution],
          curve: list[tuple[int, float]]) -> FrozenTrial:
    """The Optuna trial of one task (a results.csv row, or a running one)."""
    state = STATES[Status(row.status)] if row.status != "running" else TrialState.RUNNING
    value = row.objective if state is TrialState.COMPLETE else None
    attrs: dict[str, Any] = {"task_id": row.id, "status": row.status}
    attrs.update({name: text for name, text in row.metrics.items() if text != ""})
    # an inactive parameter is absent from the trial, as in a define-by-run Optuna study
    params = Best.recorded_params(problem_spec, row.params)
    made = optuna.trial.create_trial(
        state=state, value=value, params=params,
        distributions={name: dists[name] for name in params}, user_attrs=attrs,
        intermediate_values=dict(curve))
    made.datetime_start = _time(row.start)
    made.datetime_complete = None if state is TrialState.RUNNING else _time(row.end)
    return made


def export(output: str, path: str) -> str:
    """Write OUTPUT's search to the new Optuna journal file `path`; a line saying so."""
    if os.path.lexists(path):
        raise UsageError(f"--optuna {path}: exists; expected a new file (the export "
                         "writes a whole study)")
    rows = Report.read_rows(output)[1]
    running = Report.read_running(output, {r.id for r in rows})[0]
    run = Report.read_run(output)
    first_direction = recorded_goals(run).objectives[0].direction  # the objective column's
    spec = run.get("problem")
    dists = distributions(Problem(spec))
    curves = read_curves(output)
    try:
        trials = [trial(row, spec, dists, curves.get(row.id, []))
                  for row in sorted(rows + running, key=lambda r: r.id)]
    except ValueError as err:
        raise UsageError(f"OUTPUT {output}: a task's point does not fit run.json's "
                         f"problem: {err}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    partial = f"{path}.partial-{os.getpid()}"
    name = os.path.basename(os.path.normpath(output))
    try:
        storage = JournalStorage(JournalFileBackend(partial))
        study = optuna.create_study(study_name=name, storage=storage,
                                    direction=DIRECTIONS[first_direction])
        study.add_trials(trials)
        os.replace(partial, path)
    except OSError as err:
        raise UsageError(f"--optuna {path}: cannot write it: {err.strerror}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return (f"optuna: wrote study {name!r} ({len(trials)} trials) to {path}; browse it with "
            f"optuna-dashboard {path}")
