# RESUME
# What a search leaves in OUTPUT for the next run, and how the next run
# takes it up: run.json (the settings and arguments a resumed run shares),
# cfg.json (a copy of the cfg, so that `./main.sh --resume -o OUTPUT` alone
# carries on, whatever became of the original file), and the replay of the
# journals (results.csv, started.csv) into a new Search: what each row tells
# the search, counts and issues again is History.py's rule.
#
# Call order (main.py): read_run -> resume_config -> fill_numbers ->
# read_recorded -> Search(...) -> replay -> stop_leftovers -> record_resume;
# a first run calls record_run (which keeps the cfg copy) instead. A driver
# that joins a search (--join) calls join_run: the first one to come records
# the search, race-free; the others take up the recorded one.

import argparse
import json
import os
import shlex
import time
from dataclasses import dataclass, field
from typing import Any

import Layout
from Config import Config, load_config, read_cfg_bytes, read_cfg_text
from History import History, RunFileError, read_journals, read_run_file, row_numbers
from Results import results_columns
from Search import Search
from Status import parse_status
from Tally import Best, Tally
from Task import find_leftovers, stop_groups
from utils import UsageError, say, shout

NUMBERS = ("parallelism", "points_init", "points_max")  # the positional arguments
DEFAULT_NUMBERS = {"parallelism": 1, "points_init": 4, "points_max": 8}
MAIN_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.sh")


def resume_line(output: str, dryrun: bool) -> str:
    """The exact command that continues the search in `output`, shell-quoted."""
    words = [MAIN_SH, "--resume", "-o", output]
    return ("DRYRUN=1 " if dryrun else "") + " ".join(shlex.quote(w) for w in words)


def read_run(output: str) -> dict[str, Any]:
    """OUTPUT's run.json, or a one-line UsageError."""
    try:
        return read_run_file(output)
    except RunFileError as err:
        raise UsageError(f"OUTPUT {output}: cannot resume: {err}") from None


def resume_config(output: str, given: str | None, run: dict[str, Any]) -> Config:
    """The cfg of a resumed run: the one given with -c, else the copy kept in OUTPUT.

    A folder written before the copy existed falls back on the cfg path
    that run.json recorded, and the built-in defaults when it recorded none.
    A surrogate the cfg does not name is the one the run recorded: a search
    begun under the old default (RF) goes on with RF.
    """
    if given is not None:
        return _recorded_surrogate(load_config(given), run)
    copy = Layout.path(output, Layout.CFG_COPY)
    if os.path.exists(copy):
        base = run.get("cfg_dir")
        return _recorded_surrogate(load_config(copy, base if isinstance(base, str) else None),
                                   run)
    original = run.get("cfg")
    if original is None:
        return _recorded_surrogate(load_config(None), run)
    if not isinstance(original, str) or not os.path.isfile(original):
        raise UsageError(f"OUTPUT {output}: cannot resume: it keeps no copy of its cfg and "
                         f"the recorded cfg file {original!r} is gone; give it with -c CFG")
    return _recorded_surrogate(load_config(original), run)


def _recorded_surrogate(config: Config, run: dict[str, Any]) -> Config:
    """`config` with run.json's base_estimator when its cfg file names none."""
    recorded = run.get("optimizer")
    if not isinstance(recorded, dict) or "base_estimator" not in recorded:
        return config
    named = read_cfg_text(config.path).get("optimizer") if config.path else None
    if isinstance(named, dict) and "base_estimator" in named:
        return config
    config.optimizer = dict(config.optimizer, base_estimator=recorded["base_estimator"])
    return config


def fill_numbers(args: argparse.Namespace, run: dict[str, Any] | None) -> None:
    """PARALLELISM, POINTS_INIT, POINTS_MAX not given: the recorded ones, else the defaults."""
    for name in NUMBERS:
        if getattr(args, name) is None:
            recorded = (run or {}).get(name)
            ok = isinstance(recorded, int) and not isinstance(recorded, bool) and recorded > 0
            setattr(args, name, recorded if ok else DEFAULT_NUMBERS[name])


@dataclass
class Recorded:
    """What an earlier run left in OUTPUT, checked against this run's settings."""

    history: History  # results.csv and started.csv, and what they tell the search
    next_id: int  # the first free task number
    retry: list[dict[str, str]] = field(default_factory=list)  # failed rows to issue again


def check_settings(config: Config, output: str, run: dict[str, Any], dryrun: bool) -> None:
    """Refuse a cfg that describes another search, or a dry run resumed for real."""
    for key, value in config.settings().items():
        if json.loads(json.dumps(run.get(key))) != json.loads(json.dumps(value)):
            raise UsageError(f"OUTPUT {output}: cannot resume: the recorded {key!r} differs "
                             f"from this run's ({run.get(key)!r} != {value!r})")
    if "dryrun" in run and run["dryrun"] != dryrun:
        was, now = ("a dry run (DRYRUN=1)", "for real") if run["dryrun"] \
            else ("a real search", "with DRYRUN=1")
        raise UsageError(f"OUTPUT {output}: cannot resume: it holds {was}, and this run is "
                         f"{now}; keep DRYRUN as it was, or start a new OUTPUT")


def read_recorded(config: Config, output: str, retry_failed: bool = False) -> Recorded:
    """Read the journals of the search recorded in OUTPUT (writes nothing there).

    What they tell the search is History's rule; with `retry_failed`, each
    failed point not superseded is issued again, once.
    """
    names = config.problem.names
    header, results = read_journals(Layout.all_journals(output, Layout.RESULTS))
    expected = results_columns(names, config.metrics)
    if header and header != expected:
        raise UsageError(f"OUTPUT {output}: cannot resume: {Layout.RESULTS} has the columns "
                         f"{','.join(header)!r}, this run's cfg makes {','.join(expected)!r} "
                         "(a run keeps its parameters and metrics)")
    try:
        history = History(results, read_journals(Layout.all_journals(output, Layout.STARTED))[1],
                          names, config.goals)
        ids = [int(r["id"]) for r in history.results + history.started]
        retry = history.failures() if retry_failed else []
    except (KeyError, ValueError) as err:
        raise UsageError(f"OUTPUT {output}: cannot resume: a recorded row does not fit the "
                         f"problem: {err!r}") from None
    ids.append(Layout.highest_task_id(output))
    return Recorded(history, max(ids, default=-1) + 1, retry)


@dataclass
class Replayed:
    """What the replay gives the new run's Plan."""

    done_before: int  # finished tasks: they count toward POINTS_MAX
    reissue: list[list[Any]]  # points of lost tasks and of failed ones retried
    earlier: Tally  # the earlier runs' counts, task times and best


def replay(config: Config, output: str, recorded: Recorded, search: Search) -> Replayed:
    """Tell the search what an earlier run recorded (one tell for all results), and
    tally the earlier runs (counts, task times, best) for the status lines and summary."""
    problem, goals = config.problem, config.goals
    history = recorded.history
    tally = Tally()
    retried = {int(r["id"]) for r in recorded.retry}
    try:
        told = [(problem.point(r), v) for r, v in history.told()]
        failed = [problem.point(r) for r in history.infeasible() if int(r["id"]) not in retried]
        lost = [problem.point(r) for r in history.lost()]
        retry = [problem.point(r) for r in recorded.retry]
        best_values = {int(r["id"]): v for r, v in history.best_candidates()}
        for r in history.kept():
            if int(r["id"]) in retried:
                continue
            status = parse_status(r["status"])
            values = best_values.get(int(r["id"]))
            best = Best(values, int(r["id"]), problem.params(problem.point(r)),
                        row_numbers(r, config.metrics)) if values is not None else None
            tally.add(status, float(r["seconds"] or 0), best, goals)
    except (KeyError, ValueError) as err:
        raise UsageError(f"OUTPUT {output}: cannot resume: a recorded row does not fit the "
                         f"problem: {err}") from None
    search.tell([p for p, _ in told], [goals.told(v) for _, v in told])
    search.fail(failed)
    again = f" ({len(retry)} failed one(s) retried)" if retry else ""
    # a forbid clause added since is obeyed by the points issued again too
    reissue = [p for p in lost + retry if problem.allowed(p)]
    if len(reissue) < len(lost) + len(retry):
        again += f" ({len(lost) + len(retry) - len(reissue)} forbidden now: not issued)"
    say(f"resume: {len(told)} result(s) told to the search, {len(failed)} failed, "
        f"{len(reissue)} task(s) to issue again{again}, numbering from "
        f"{recorded.next_id:04d}")
    return Replayed(tally.finished, reissue, tally)


def stop_leftovers(output: str, recorded: Recorded, grace: float) -> None:
    """Stop the tasks of an earlier driver that died without stopping them."""
    ended = {int(r["id"]) for r in recorded.history.results}
    groups = find_leftovers(output, set(range(recorded.next_id)) - ended)
    if not groups:
        return
    shout(f"resume: stopping {len(groups)} task(s) still running from the earlier run "
          f"(process groups {' '.join(map(str, sorted(groups)))})")
    stop_groups(groups, grace)


def keep_cfg_copy(output: str, config: Config) -> None:
    """Copy the cfg file into OUTPUT (whole or not at all); none for the built-in defaults."""
    copy = Layout.path(output, Layout.CFG_COPY)
    if config.path is None or os.path.abspath(config.path) == copy:
        return
    write_whole(copy, read_cfg_bytes(config.path))


def _run_record(config: Config, args: argparse.Namespace, dryrun: bool) -> dict[str, Any]:
    record = dict(config.settings())
    record.update({name: getattr(args, name) for name in NUMBERS})
    record.update(cfg=config.path, cfg_dir=config.path and os.path.dirname(config.path),
                  created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), dryrun=dryrun)
    return record


def record_run(config: Config, output: str, args: argparse.Namespace, dryrun: bool) -> None:
    """Write run.json (the settings a resumed run must share) and the cfg copy."""
    path = Layout.path(output, Layout.RUN)
    if os.path.exists(path):
        raise UsageError(f"OUTPUT {output}: already holds {Layout.RUN}")
    keep_cfg_copy(output, config)
    record = _run_record(config, args, dryrun)
    write_whole(path, (json.dumps(record, indent=2) + "\n").encode())


def join_run(output: str, args: argparse.Namespace, dryrun: bool,
             checking: bool = False) -> Config:
    """The cfg of a joined search: recorded here by the first driver, race-free (run.json is
    written whole to a file of this driver's own, then link()ed: of the drivers of a job
    array, one creates it), else the recorded one, checked as --resume checks it.
    `checking` (--check): nothing is recorded, OUTPUT is left as it is.

    Job-local numbers not given (PARALLELISM, POINTS_INIT) default to the recorded ones;
    a POINTS_MAX given must be the recorded one.
    """
    path = Layout.path(output, Layout.RUN)
    if not os.path.exists(path):
        config = load_config(args.cfg)
        fill_numbers(args, None)
        if checking:
            return config
        os.makedirs(output, exist_ok=True)
        own = f"{path}.{os.uname().nodename}.{os.getpid()}"
        record = dict(_run_record(config, args, dryrun), joined=True)
        write_whole(own, (json.dumps(record, indent=2) + "\n").encode())
        try:
            os.link(own, path)
            created = os.stat(own).st_nlink == 2
        except FileExistsError:
            created = False
        except OSError as err:  # no hard links here: no race-free creation (docs/jobs.adoc)
            raise UsageError(f"OUTPUT {output}: cannot join: link() of {Layout.RUN} failed: "
                             f"{err.strerror}; --join needs a file system with hard links")
        finally:
            os.unlink(own)
        if created:
            keep_cfg_copy(output, config)  # until it is there, the others read record["cfg"]
            return config
    run = read_run(output)
    if not run.get("joined"):
        raise UsageError(f"OUTPUT {output}: holds the search of a single job (its {Layout.RUN} "
                         "was not made by --join); continue it with --resume")
    given = args.points_max
    if given is not None and given != run.get("points_max"):
        raise UsageError(f"OUTPUT {output}: cannot join: its POINTS_MAX is "
                         f"{run.get('points_max')}, not {given}")
    config = resume_config(output, args.cfg, run)
    check_settings(config, output, run, dryrun)
    fill_numbers(args, run)
    return config


def record_resume(config: Config, output: str, args: argparse.Namespace,
                  run: dict[str, Any]) -> None:
    """Update run.json to this run's arguments (and cfg, when one was given)."""
    record = dict(run)
    record.update({name: getattr(args, name) for name in NUMBERS})
    record["resumed"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    copy = Layout.path(output, Layout.CFG_COPY)
    if config.path is not None and os.path.abspath(config.path) != copy:
        keep_cfg_copy(output, config)
        record.update(cfg=config.path, cfg_dir=os.path.dirname(config.path))
    write_whole(Layout.path(output, Layout.RUN), (json.dumps(record, indent=2) + "\n").encode())


def write_whole(path: str, data: bytes) -> None:
    """Write a file whole or not at all: a kill while writing leaves no part of it."""
    partial = path + ".partial"
    with open(partial, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.rename(partial, path)
    folder = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
