# HISTORY PY
# The one reader of what a search recorded, for whoever takes it up:
# Resume (the search goes on), WarmStart (a new search learns from an
# earlier one) and Report (how it went). What each recorded task tells a
# search, and whether it counts toward POINTS_MAX, is written here once,
# following Status.py's table:
#
#   ok, pruned        told its value (a pruned task: its last progress value)
#   failed, timeout   told as a failed point (the model puts it at the worst value seen)
#   killed            not told, not counted; a resumed search issues its point again
#
# With cfg `objectives` and `constraints` (Objectives.py), an ok task is
# told its objective values only when feasible; an ok task that breaks a
# constraint is told as a failed point, as are the failure statuses the cfg
# counts as infeasible (the others are not told). A failure whose point a
# later task ran again (superseded: --retry-failed, or a point moved off a
# bad node) is neither told nor counted. The report's "best" (or Pareto
# set) is chosen from the feasible ok tasks: a pruned value is a partial one.
#
# The rows may come from several journals at once (one journal per driver
# when several jobs feed one search): read_journals takes them together,
# task numbers being unique across them. run.json is read here too
# (read_run_file), strictly by Resume, leniently by Report.

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import Layout
from Objectives import FAIL, Objectives
from Results import read_journal
from Status import Status, parse_status

Row = dict[str, str]


class RunFileError(ValueError):
    """OUTPUT's run.json cannot be read, or is no JSON object."""


def read_run_file(output: str) -> dict[str, Any]:
    """OUTPUT's run.json (the run's settings and arguments).

    Raises
    ------
    RunFileError
        It is missing, unreadable, not JSON or not a JSON object (the
        message says which; Resume refuses, Report goes on without it).
    """
    try:
        with open(Layout.path(output, Layout.RUN)) as stream:
            recorded = json.load(stream)
    except (OSError, ValueError) as err:
        raise RunFileError(f"cannot read {Layout.RUN}: {err}") from None
    if not isinstance(recorded, dict):
        raise RunFileError(f"{Layout.RUN} is not a JSON object")
    return recorded


def read_journals(paths: Iterable[str]) -> tuple[list[str], list[Row]]:
    """The header and the rows of one or several journals of the same columns.

    Paths that do not exist are skipped (a journal not written yet).

    Raises
    ------
    ValueError
        Two journals have different headers (naming the second).
    """
    header, each = read_each_journal(paths)
    return header, [row for _, rows in each for row in rows]


def read_each_journal(paths: Iterable[str]) -> tuple[list[str], list[tuple[str, list[Row]]]]:
    """As read_journals, the rows kept apart by journal: (path, its rows) for each one
    that exists, in the order given."""
    header: list[str] = []
    each: list[tuple[str, list[Row]]] = []
    for path in paths:
        if not os.path.exists(path):
            continue
        columns, found = read_journal(path)
        if header and columns and columns != header:
            raise ValueError(f"{path} has the columns {','.join(columns)!r}, "
                             f"not {','.join(header)!r}")
        header = header or columns
        each.append((path, found))
    return header, each


def row_numbers(row: Row, names: Iterable[str]) -> dict[str, float]:
    """The finite numbers a row holds in the columns `names` (empty or other cells left out)."""
    found = {}
    for name in names:
        try:
            number = float(row.get(name) or "nan")
        except ValueError:
            continue
        if math.isfinite(number):
            found[name] = number
    return found


def row_verdict(row: Row, goals: Objectives) -> tuple[str, tuple[float, ...] | None]:
    """What a row tells the search (Objectives.verdict): TELL with its objective values,
    FAIL or DROP."""
    return goals.verdict(parse_status(row["status"]),
                         row_numbers(row, ["objective"]).get("objective"),
                         row_numbers(row, goals.metric_names()))


def told_values(row: Row, goals: Objectives) -> tuple[float, ...] | None:
    """The objective values (as written) a row tells the search: those of a feasible ok or
    pruned task, all finite; None for any other row."""
    return row_verdict(row, goals)[1]


def _key(row: Row, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(row[n] for n in names)


def latest_ids(rows: Iterable[Row], names: Sequence[str]) -> dict[tuple[str, ...], int]:
    """The highest task number that ran each point (keyed by its parameter values)."""
    latest: dict[tuple[str, ...], int] = {}
    for row in rows:
        key = _key(row, names)
        latest[key] = max(latest.get(key, -1), int(row["id"]))
    return latest


@dataclass
class History:
    """The recorded tasks of a search and what each tells it.

    results : results.csv rows (how each task ended)
    started : started.csv rows (each launch; a task that could not start
        has a results row only). Empty where only a results.csv is known
        (a warm start's file, a report's folder without one).
    names : the parameter columns that make a point
    goals : the search's objectives and constraints (default: one objective)

    Raises ValueError (a status or id that is none) or KeyError (a row
    without a parameter column) when built from rows of another problem.
    """

    results: list[Row]
    started: list[Row]
    names: Sequence[str]
    goals: Objectives = field(default_factory=Objectives)
    superseded: set[int] = field(init=False)
    latest_started: dict[tuple[str, ...], int] = field(init=False)

    def __post_init__(self) -> None:
        latest = latest_ids([*self.started, *self.results], self.names)
        self.superseded = {int(r["id"]) for r in self.results
                           if parse_status(r["status"]).is_failure
                           and latest[_key(r, self.names)] != int(r["id"])}
        self.latest_started = latest_ids(self.started, self.names)

    def kept(self) -> list[Row]:
        """The results rows that still say something (superseded failures left out)."""
        return [r for r in self.results if int(r["id"]) not in self.superseded]

    def told(self) -> list[tuple[Row, tuple[float, ...]]]:
        """The rows whose values the search is told (feasible ok and pruned), with them."""
        pairs = [(r, told_values(r, self.goals)) for r in self.kept()]
        return [(r, v) for r, v in pairs if v is not None]

    def failures(self) -> list[Row]:
        """The failed and timed-out rows (those --retry-failed issues again)."""
        return [r for r in self.kept() if parse_status(r["status"]).is_failure]

    def infeasible(self) -> list[Row]:
        """The rows the search is told as failed points (infeasible: Objectives.feasible)."""
        return [r for r in self.kept() if row_verdict(r, self.goals)[0] == FAIL]

    def done(self) -> list[Row]:
        """The rows that count toward POINTS_MAX ("done N of POINTS_MAX")."""
        return [r for r in self.kept() if parse_status(r["status"]).is_done]

    def best_candidates(self) -> list[tuple[Row, tuple[float, ...]]]:
        """The feasible ok rows with their values: what "best" is chosen from."""
        return [(r, v) for r, v in self.told() if r["status"] == Status.OK]

    def lost(self) -> list[Row]:
        """The started rows to issue again: no row that counts, and no later
        task ran the point (a task killed or cut off by the driver's end)."""
        ended = {int(r["id"]) for r in self.results if parse_status(r["status"]).is_done}
        return [r for r in self.started if int(r["id"]) not in ended
                and self.latest_started[_key(r, self.names)] == int(r["id"])]
