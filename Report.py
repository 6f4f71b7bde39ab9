# REPORT PY
# How did the search go? Reads OUTPUT's journals (finished or still being
# written) through History.py, which also says which tasks are done (of
# POINTS_MAX) as a resume counts them; prints counts, progress, the best
# feasible ok points (with several objectives: the Pareto set, Objectives.py)
# and the utilization, then has Plots.py draw the PNGs into OUTPUT.
#
# Library: write_report(output) is called by the driver at the end of a run.
# CLI:     ./report.sh [--top N] [--no-plots] OUTPUT
#          ./report.sh OUTPUT --best | --csv [--top K] | --optuna FILE: the best
#          point (or the Pareto set) as JSON (Best.py), the results table as CSV,
#          an Optuna journal (OptunaExport.py), each instead of the report.

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from matplotlib.figure import Figure

import Best
import Direction
import Eta
import Layout
import OutputLock
import Plots
from Config import recorded_goals
from History import (
    History,
    RunFileError,
    read_each_journal,
    read_journals,
    read_run_file,
    told_values,
)
from Joined import alive_drivers, alive_words, journal_owner
from ModelShare import ModelShare, count_origins
from Objectives import SINGLE, Objectives
from Origin import Origin
from Plots import PLOTS, PROG
from Results import (
    FIXED_AFTER,
    FIXED_BEFORE,
    STARTED_FIXED,
    split_results_header,
    started_names,
)
from Status import RUNNING, Status
from utils import UsageError, int_or_none


class ReportError(UsageError):
    """OUTPUT cannot be reported on (missing, no results.csv, wrong header)."""


@dataclass
class Row:
    """One finished task, as read back from results.csv."""

    id: int
    status: str
    objective: float | None  # a feasible ok task's (the first objective's value)
    seconds: float
    params: dict[str, str]
    start: float
    end: float
    slot: int | None
    metrics: dict[str, str] = field(default_factory=dict)  # cfg `metrics`, as written
    origin: str = ""  # running tasks: started.csv's origin (random, model, again)
    journal: str = ""  # the folder of the journal it was read from (a driver's, or OUTPUT)
    values: tuple[float, ...] | None = None  # a feasible ok task's objective values
    infeasible: bool = False  # an ok task that broke a constraint (Objectives.py)


@dataclass
class ReportSummary:
    """What the report found, and where it put the plots.

    `best` holds the best `top` feasible ok tasks, or with several
    objectives the first `top` of the Pareto set (`front` tasks in all), by
    the first objective. `plots` maps a plot name (convergence, objective,
    timeline...) to its PNG path; `figures` to its matplotlib Figure; `notes` to the message drawn
    instead of the plot when there was too little to draw (else None).
    """

    output: str
    params: list[str]
    rows: list[Row]
    running: list[Row]
    counts: dict[str, int]
    best: list[Row]
    total_seconds: float
    wall_seconds: float | None
    concurrency: int  # the slots used: each journal's (driver's) distinct slots, summed
    utilization: float | None
    slot_seconds: float = 0.0  # each journal's slots x its own wall time, summed
    journals: int = 1  # the journals the rows came from (one per driver of a joined search)
    direction: str = Direction.DEFAULT
    goals: Objectives = SINGLE  # the run's objectives and constraints (run.json)
    front: int = 0  # tasks on the Pareto front (several objectives)
    points_max: int | None = None  # run.json's POINTS_MAX (None: unknown)
    done: int = 0  # finished tasks that count toward POINTS_MAX
    eta: float | None = None  # seconds left, from the task times seen (Eta.estimate)
    eta_time: float = 0.0  # when the ETA was estimated (epoch seconds)
    first_model: int | None = None  # the first task whose point a model chose
    origins_known: bool = False  # started.csv records where each point came from
    model_share: str = ""  # 'model chose N of M points' (started.csv's origins)
    driver_alive: bool = False  # a driver runs the search now (OutputLock.held_by_another)
    plots: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: dict[str, str | None] = field(default_factory=dict)


# ---- reading ---------------------------------------------------------------

def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_rows(output: str, goals: Objectives = SINGLE) -> tuple[list[str], list[Row]]:
    """Read OUTPUT/results.csv: the parameter names and the finished tasks (their
    objective values and feasibility by `goals`, the run's objectives).

    Raises
    ------
    ReportError
        OUTPUT is not a folder, has no results.csv, or its header is not
        the results.csv header.
    """
    if not os.path.isdir(output):
        raise ReportError(f"OUTPUT {output}: no such folder; expected a search output folder")
    path = Layout.path(output, Layout.RESULTS)
    paths = Layout.all_journals(output, Layout.RESULTS)  # every driver's (Joined.py)
    if not any(os.path.isfile(p) for p in paths):
        raise ReportError(f"{path}: no such file; expected the results.csv of a search")
    try:
        header, each = read_each_journal(paths)
    except ValueError as err:  # two drivers' journals of different columns
        raise ReportError(str(err)) from None
    if not header:  # created, header not written yet
        return [], []
    expected = ",".join(FIXED_BEFORE + ["<parameters>"] + FIXED_AFTER + ["<metrics>"])
    columns = split_results_header(header)
    if columns is None:
        raise ReportError(f"{path}: header {','.join(header)!r} is not a results.csv header; "
                          f"expected {expected!r}")
    names, metrics = columns
    rows = []
    for journal, records in each:
        for number, record in enumerate(records, start=2):
            row = _row(record, names, metrics, goals, os.path.dirname(journal))
            if row is None:
                print(f"{PROG}: warning: {journal}: line {number}: unreadable id, seconds, "
                      "start or end; skipping it", file=sys.stderr)
                continue
            rows.append(row)
    return names, rows


def _row(record: dict[str, str], names: list[str], metrics: list[str],
         goals: Objectives, journal: str) -> Row | None:
    number, start, end = int_or_none(record["id"]), _float(record["start"]), _float(record["end"])
    seconds = _float(record["seconds"])
    if number is None or start is None or end is None:
        return None
    ok = record["status"] == Status.OK
    values = told_values(record, goals) if ok else None  # best: feasible ok rows
    return Row(id=number, status=record["status"],
               objective=None if values is None else values[0],
               seconds=end - start if seconds is None else seconds,
               params={n: record[n] for n in names}, start=start, end=end,
               slot=int_or_none(record["slot"]), metrics={m: record[m] for m in metrics},
               values=values, infeasible=ok and values is None and bool(goals.constraints),
               journal=journal)


def read_running(output: str,
                 finished: set[int]) -> tuple[list[Row], int | None, bool, ModelShare]:
    """Tasks in OUTPUT/started.csv with no row in results.csv yet, and the model's first task.

    A running task's `end` is its last sign of life: the last write to its
    output file (Layout.py), never now. Also returned: the first task whose
    point a model chose (started.csv's origin; None: none yet or unknown),
    whether started.csv records origins at all (folders written before
    the `origin` column do not), and the counts of its model and random points.
    """
    paths = Layout.all_journals(output, Layout.STARTED)
    try:
        header, each = read_each_journal(paths)
    except ValueError:
        return [], None, False, ModelShare()
    if header[:len(STARTED_FIXED)] != STARTED_FIXED:
        return [], None, False, ModelShare()
    running = []
    names = started_names(header)
    models = []
    records = [(os.path.dirname(path), record) for path, found in each for record in found]
    for journal, record in records:
        number, start = int_or_none(record["id"]), _float(record["start"])
        if number is not None and record.get("origin") == Origin.MODEL:
            models.append(number)
        if number is None or start is None or number in finished:
            continue
        log = Layout.find_output_file(output, number)
        end = max(start, os.path.getmtime(log) if os.path.exists(log) else start)
        running.append(Row(id=number, status=RUNNING, objective=None, seconds=0.0,
                           params={n: record[n] for n in names}, start=start, end=end,
                           slot=int_or_none(record["slot"]), origin=record.get("origin", ""),
                           journal=journal))
    share = count_origins(record.get("origin", "") for _, record in records)
    return running, min(models, default=None), "origin" in header, share


def read_run(output: str) -> dict[str, Any]:
    """OUTPUT/run.json (the run's settings), or {} when missing or unreadable."""
    try:
        return read_run_file(output)
    except RunFileError:
        return {}


# ---- numbers ---------------------------------------------------------------

def summarize(output: str, names: list[str], rows: list[Row], running: list[Row],
              top: int = 10, run: dict[str, Any] | None = None,
              now: float | None = None) -> ReportSummary:
    """Counts by status, the best `top` ok tasks, task time, wall time, utilization.

    utilization = sum of task seconds / slot-seconds, where slot-seconds
    add up, for each journal (each driver of a joined search, which has
    slots of its own), its distinct slots used x its wall time, the last end
    minus the first start of its tasks. With the run's settings (run.json):
    the direction the tasks are ranked in, and how far the search is
    (done of POINTS_MAX) with the ETA of a search still running (Eta.py,
    as the driver's status lines).
    """
    run = run or {}
    goals = recorded_goals(run)
    direction = goals.objectives[0].direction  # the objective column's
    counts = {status.value: 0 for status in Status}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    scored = [r for r in rows if r.values is not None]
    if goals.several:
        scored = [scored[k] for k in goals.front([r.values for r in scored if r.values])]
    ranked = sorted(scored, key=lambda r: (Direction.rank_key(r.values[0] if r.values else 0.0,
                                                              direction), r.id))
    total = sum(r.seconds for r in rows)
    wall = max(r.end for r in rows) - min(r.start for r in rows) if rows else None
    spans = _spans(rows)
    concurrency = max(1, sum(slots for slots, _ in spans))
    slot_seconds = sum(slots * seconds for slots, seconds in spans)
    utilization = total / slot_seconds if slot_seconds else None
    done = {int(r["id"]) for r in _history(names, rows, running).done()}
    counted = [r for r in rows if r.id in done]
    points_max = run.get("points_max")
    points_max = points_max if isinstance(points_max, int) and points_max > 0 else None
    eta = None
    now = time.time() if now is None else now
    if points_max is not None:
        width = run.get("points_init")
        width = min(width, points_max) if isinstance(width, int) and width > 0 else concurrency
        eta = Eta.estimate(points_max - len(counted) - len(running), width,
                           Eta.mean(sum(r.seconds for r in counted), len(counted)),
                           [now - r.start for r in running])
    return ReportSummary(output=output, params=names, rows=rows, running=running,
                         counts=counts, best=ranked[:top], total_seconds=total,
                         wall_seconds=wall, concurrency=concurrency,
                         utilization=utilization, slot_seconds=slot_seconds,
                         journals=max(1, len(spans)), direction=direction, goals=goals,
                         front=len(ranked) if goals.several else 0, points_max=points_max,
                         done=len(counted), eta=eta,
                         eta_time=now)


def _spans(rows: list[Row]) -> list[tuple[int, float]]:
    """Each journal's distinct slots used (at least 1) and its wall time."""
    parts: dict[str, list[Row]] = {}
    for row in rows:
        parts.setdefault(row.journal, []).append(row)
    return [(max(1, len({r.slot for r in part if r.slot is not None})),
             max(r.end for r in part) - min(r.start for r in part))
            for part in parts.values()]


def _history(names: list[str], rows: list[Row], running: list[Row]) -> History:
    """What the rows tell the search (History.py), for the count of done tasks.

    A row whose status is no Status is left out (it counts toward nothing);
    running tasks of other parameters (started.csv of another search) are
    ignored: they supersede nothing.
    """
    known = {s.value for s in Status}
    results = [dict(r.params, id=str(r.id), status=r.status, objective="")
               for r in rows if r.status in known]
    started = [dict(r.params, id=str(r.id)) for r in running]
    try:
        return History(results, started, names)
    except KeyError:  # started.csv of other parameters: nothing is superseded
        return History(results, [], names)


def _cell(text: str) -> str:
    """A parameter value for the table: floats to 4 significant digits."""
    if int_or_none(text) is not None:
        return text
    value = _float(text)
    return text if value is None else f"{value:.4g}"


def format_report(summary: ReportSummary) -> list[str]:
    """The text report, as lines."""
    counts = summary.counts
    lines = [f"report: {summary.output}",
             f"tasks: {len(summary.rows)} finished ("
             + ", ".join(f"{s} {n}" for s, n in counts.items()) + f"), "
             f"{len(summary.running)} running or unfinished"]
    if summary.points_max is not None:
        left = summary.points_max - summary.done
        eta = "" if left <= 0 else f"; ETA {Eta.duration(summary.eta)}" \
            if summary.driver_alive else "; stopped (no driver runs it): resume it to go on"
        lines.append(f"progress: done {summary.done} of {summary.points_max} (POINTS_MAX){eta}")
    lines += _best_lines(summary)
    if summary.goals.constraints:
        broke = sum(1 for r in summary.rows if r.infeasible)
        lines.append(f"infeasible: {broke} ok task(s) broke a constraint ("
                     + ", ".join(c.wording() for c in summary.goals.constraints) + ")")
    lines += _pruned_lines(summary.rows)
    if summary.model_share:
        lines.append(summary.model_share)
    lines.append(f"total task time: {summary.total_seconds:.1f} s")
    if summary.wall_seconds is None:
        lines += ["wall time: n/a (no finished task)", "utilization: n/a"]
    else:
        lines.append(f"wall time: {summary.wall_seconds:.1f} s")
        if summary.utilization is None:
            lines.append("utilization: n/a (zero wall time)")
        elif summary.journals > 1:
            lines.append(f"utilization: {100 * summary.utilization:.1f} % = "
                         f"{summary.total_seconds:.1f} s of tasks / "
                         f"{summary.slot_seconds:.1f} slot-seconds ({summary.journals} "
                         "drivers' journals, each its slots x its own wall time)")
        else:
            lines.append(f"utilization: {100 * summary.utilization:.1f} % = "
                         f"{summary.total_seconds:.1f} s of tasks / ({summary.concurrency} "
                         f"slot{'s' if summary.concurrency != 1 else ''} x "
                         f"{summary.wall_seconds:.1f} s)")
    return lines


def _best_lines(summary: ReportSummary) -> list[str]:
    """The best feasible ok tasks as a table or, with several objectives, the Pareto set's."""
    goals = summary.goals
    feasible = "feasible ok" if goals.constraints else "ok"
    n_ok = sum(1 for r in summary.rows if r.objective is not None)
    if not summary.best:
        return [f"best: no {feasible} task yet"]
    if goals.several:
        shown = "" if len(summary.best) == summary.front else \
            f", the first {len(summary.best)} by {goals.names[0]}"
        lines = [(f"pareto set: {summary.front} of {n_ok} {feasible} tasks on the front{shown} "
                 f"({goals.wording()}):")]
        values = goals.names
    else:
        lines = [(f"best {len(summary.best)} of {n_ok} {feasible} tasks "
                 f"({Direction.wording(summary.direction)}):")]
        values = ["objective"]
    metrics = [m for m in summary.best[0].metrics if m not in values]
    head = ["id"] + values + metrics + summary.params + ["seconds"]
    table = [head] + [[str(r.id)] + [f"{v:.6g}" for v in r.values or ()]
                      + [_cell(r.metrics[m]) or "-" for m in metrics]
                      + [_cell(r.params[n]) or "-" for n in summary.params]
                      + [f"{r.seconds:.1f}"] for r in summary.best]
    widths = [max(len(line[k]) for line in table) for k in range(len(head))]
    return lines + ["  " + "  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in table]


def _pruned_lines(rows: list[Row]) -> list[str]:
    """How many tasks the pruner stopped and the task-seconds that saved, estimated.

    Each pruned task is taken to have needed as long as the median ok task
    had it run on; what it did not spend of that is saved.
    """
    pruned = [r.seconds for r in rows if r.status == Status.PRUNED]
    whole = [r.seconds for r in rows if r.status == Status.OK]
    if not pruned:
        return []
    if not whole:
        return [(f"pruned: {len(pruned)} task(s) stopped early ({sum(pruned):.1f} s spent "
                 "on them; no ok task to estimate what that saved)")]
    typical = float(np.median(whole))
    saved = sum(max(0.0, typical - s) for s in pruned)
    return [(f"pruned: {len(pruned)} task(s) stopped early after {sum(pruned):.1f} s; about "
             f"{saved:.0f} task-seconds saved (each against the median ok task's "
             f"{typical:.1f} s)")]


def write_report(output_dir: str, out: TextIO = sys.stdout, top: int = 10,
                 plots: bool = True, err: TextIO = sys.stderr) -> ReportSummary:
    """Print the report of OUTPUT on `out` and write its PNGs (PLOTS) into it.

    Parameters
    ----------
    output_dir : str
        A search's OUTPUT folder, finished or still being written.
    out : text stream
        Where the text report goes.
    top : int
        How many of the best points to list.
    plots : bool
        False: print the text only.

    Returns
    -------
    ReportSummary
        The numbers, and the PNG paths and figures.

    Raises
    ------
    ReportError
        OUTPUT is missing, has no results.csv, or a results.csv with a wrong header.
    """
    run = read_run(output_dir)
    names, rows = read_rows(output_dir, recorded_goals(run))
    running, first_model, origins_known, share = read_running(output_dir,
                                                              {r.id for r in rows})
    summary = summarize(output_dir, names, rows, running, top=top, run=run)
    summary.first_model, summary.origins_known = first_model, origins_known
    summary.model_share = share.line() if origins_known and share.issued else ""
    drivers = Layout.driver_names(output_dir)
    alive = alive_drivers(output_dir) if drivers else []
    summary.driver_alive = OutputLock.held_by_another(output_dir) or bool(alive)
    for line in format_report(summary):
        print(line, file=out)
    if drivers:  # a search of several jobs (--join)
        print(f"drivers: {len(drivers)} joined this search; alive: "
              f"{alive_words(alive, running_per_driver(output_dir, summary.running))}",
              file=out)
    if plots:
        Plots.write_plots(summary, run, err=err)
        print("plots:", file=out)
        width = max(len(path) for path in summary.plots.values())
        for name, path in summary.plots.items():
            note = summary.notes[name]
            said = PLOTS[name] if note is None else \
                ("not written: " if name in Plots.ONLY_WITH_DATA else "not drawn: ") + note
            print(f"  {path.ljust(width)}  {said}", file=out)
    out.flush()
    return summary


def running_per_driver(output: str, running: list[Row]) -> dict[str, int]:
    """How many of the running tasks each driver runs, by name (Joined.journal_owner)."""
    counts: dict[str, int] = {}
    for row in running:
        name = journal_owner(output, row.journal)
        counts[name] = counts.get(name, 0) + 1
    return counts


def _plot_names() -> str:
    """The PNG files the report writes, as a sentence lists them."""
    names = [Layout.plot_name(name) for name in PLOTS]
    return ", ".join(names[:-1]) + " and " + names[-1]


def best_point(output_dir: str) -> str:
    """The best feasible ok task's point as JSON, exactly as the task received it, or with
    several objectives the Pareto set as a JSON list (Best.py)."""
    run = read_run(output_dir)
    goals = recorded_goals(run)
    names, rows = read_rows(output_dir, goals)
    summary = summarize(output_dir, names, rows, [], top=len(rows), run=run)
    if not summary.best:
        feasible = "feasible ok" if goals.constraints else "ok"
        raise ReportError(f"OUTPUT {output_dir}: no {feasible} task yet, so no best point")
    records = []
    for row in summary.best if goals.several else summary.best[:1]:
        try:
            params = Best.recorded_params(run.get("problem"), row.params)
        except ValueError as err:
            raise ReportError(f"OUTPUT {output_dir}: task {row.id}'s point does not fit "
                              f"run.json's problem: {err}") from None
        if not goals.several:
            return Best.point_json(params)
        numbers = {m: float(t) for m, t in row.metrics.items() if _float(t) is not None}
        records.append(Best.pareto_record(row.id, dict(zip(goals.names, row.values or (),
                                                           strict=True)), params, numbers))
    return Best.pareto_json(records)


def write_csv(output_dir: str, out: TextIO, top: int | None = None) -> None:
    """Every driver's results rows of OUTPUT as one CSV (results.csv's columns), by task
    number; with `top`, the `top` best ok rows only, best first."""
    run = read_run(output_dir)
    names, rows = read_rows(output_dir, recorded_goals(run))  # the report's checks and errors
    header, records = read_journals(Layout.all_journals(output_dir, Layout.RESULTS))
    if top is None:
        records = sorted(records, key=lambda r: int_or_none(r["id"]) or 0)
    else:
        summary = summarize(output_dir, names, rows, [], top=top, run=run)
        by_id = {int_or_none(record["id"]): record for record in records}
        records = [by_id[row.id] for row in summary.best]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([record[column] for column in header] for record in records)
    out.flush()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{PROG}: error: {message} (see {PROG} -h)", file=sys.stderr)
        sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: report on an OUTPUT folder. Exit 0, or 2 on bad input."""
    parser = _Parser(prog=PROG, description="Report on a search's OUTPUT folder (finished or "
                     "still being written): counts by status, best points, utilization; "
                     f"writes {_plot_names()} into it.")
    parser.add_argument("output", metavar="OUTPUT", help="the search's output folder")
    parser.add_argument("--top", type=int, metavar="N",
                        help="how many of the best points to list (default 10); with --csv: "
                        "the N best ok rows only")
    parser.add_argument("--no-plots", action="store_true", help="print the text report only")
    parser.add_argument("--best", action="store_true",
                        help="print the best ok task's point as JSON, as the task received it "
                        "(with several objectives: the Pareto set, a JSON list)")
    parser.add_argument("--csv", action="store_true",
                        help="print the results table (results.csv's columns) as CSV")
    parser.add_argument("--optuna", metavar="FILE",
                        help="write the search as an Optuna journal file (needs optuna)")
    args = parser.parse_args(argv)
    if args.top is not None and args.top < 1:
        parser.error(f"--top: expected a positive integer, got {args.top}")
    if args.best + args.csv + (args.optuna is not None) > 1:
        parser.error("--best, --csv and --optuna: expected one of them")
    if args.top is not None and (args.best or args.optuna is not None):
        parser.error("--top: not with --best or --optuna (give it alone or with --csv)")
    try:
        if args.best:
            print(best_point(args.output), flush=True)
        elif args.csv:
            write_csv(args.output, sys.stdout, args.top)
        elif args.optuna is not None:
            import OptunaExport  # optuna is optional: only --optuna needs it
            print(OptunaExport.export(args.output, args.optuna), flush=True)
        else:
            write_report(args.output, top=args.top or 10, plots=not args.no_plots)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `report.sh OUTPUT --csv | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        print(f"{PROG}: error: {err.filename or args.output}: {err.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
