# MAIN PY
# The main Python program: reads the arguments and the cfg, checks every
# input before the first task starts, sets up (or resumes) the output
# folder, and runs the search loop.

try:
    import StopEarly  # noqa: F401 - first: stop signals are handled from here on
except KeyboardInterrupt:  # Ctrl-C in the moment before: stopped all the same
    raise SystemExit(130) from None

# isort: split
import argparse
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

import Layout
import Machines
import Signals
import WarmStart
from Config import Config, has_control_character, load_config
from Direction import minimized
from Launcher import LaunchError, choose_launcher
from Progress import read_history
from Proposer import Proposer
from Results import read_journal, results_columns, superseded_failures
from Search import Search
from Status import Status, parse_status
from Task import find_leftovers, require_pidfd, stop_groups
from utils import UsageError, say, set_log_level, shout, warn
from Workflow import Plan, Tally, Workflow

PROG = "main.sh"
SEARCH_FILES = ("run.json", "results.csv", "started.csv")
MAX_ARGUMENT = 10**6  # PARALLELISM, POINTS_INIT, POINTS_MAX


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def positive_int(text: str) -> int:
    """An argparse type: a whole number in ASCII digits, 1 to MAX_ARGUMENT.

    int() would also take "٢", " 3", "+3" and "1_000"; a number on the
    command line is plain digits.
    """
    digits = text.removeprefix("-")
    shown = repr(text) if len(text) <= 30 else f"{len(text)} characters"
    if not (digits.isascii() and digits.isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {shown}")
    shown = text if len(text) <= 30 else f"a {len(digits)}-digit number"
    if text.startswith("-") or not digits.strip("0"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {shown}")
    if len(digits) > len(str(MAX_ARGUMENT)) or int(digits) > MAX_ARGUMENT:
        raise argparse.ArgumentTypeError(f"expected a number <= {MAX_ARGUMENT}, got {shown}")
    return int(digits)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line (see README.adoc)."""
    parser = Parser(prog=PROG, description="Asynchronous hyperparameter search with skopt.")
    parser.add_argument("-c", "--cfg", help="the cfg file (JSON); default: built-in defaults")
    parser.add_argument("-o", "--output", help="output folder (default: $OUTPUT, else "
                        "./output/<YYYY-MM-DD_HH-MM-SS>/)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the search recorded in OUTPUT")
    parser.add_argument("--retry-failed", action="store_true",
                        help="with --resume: issue each failed or timed-out point once more")
    parser.add_argument("parallelism", nargs="?", default=1,
                        type=positive_int, metavar="PARALLELISM",
                        help="nodes per task (default 1)")
    parser.add_argument("points_init", nargs="?", default=4, type=positive_int,
                        metavar="POINTS_INIT", help="tasks at once: the CONCURRENCY (default 4)")
    parser.add_argument("points_max", nargs="?", default=8, type=positive_int,
                        metavar="POINTS_MAX", help="tasks in total (default 8)")
    args = parser.parse_args(argv)
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed retries the failed points of a recorded search: "
                         "give it with --resume")
    return args


def choose_output(args: argparse.Namespace) -> str:
    """The output folder's absolute path (not created yet).

    `-o ""` is refused; an empty $OUTPUT counts as unset. A path with a
    control character (a newline, a tab) is refused: it would break every
    log line and the printed resume command.
    """
    given = args.output if args.output is not None else os.environ.get("OUTPUT") or None
    if args.output == "":
        raise UsageError("argument -o/--output: expected a folder path, got ''")
    if given is not None:
        if has_control_character(given):
            raise UsageError(f"OUTPUT {given!r}: expected a path without control characters "
                             "(newline, tab, ...)")
        return os.path.abspath(given)
    if args.resume:
        raise UsageError("--resume needs the folder to continue: -o OUTPUT (or $OUTPUT)")
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    path = os.path.abspath(os.path.join("output", stamp))
    suffix = 1
    while os.path.exists(path):
        suffix += 1
        path = os.path.abspath(os.path.join("output", f"{stamp}_{suffix}"))
    return path


def check_output(output: str, resume: bool) -> None:
    """Refuse an OUTPUT that cannot be written, or that holds a search without --resume."""
    holds = [f for f in SEARCH_FILES if os.path.exists(os.path.join(output, f))]
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError(f"OUTPUT {output}: exists and is not a folder")
    if resume and not holds:
        raise UsageError(f"OUTPUT {output}: --resume given, but it holds no search (no run.json)")
    if resume and "run.json" not in holds:
        raise UsageError(f"OUTPUT {output}: --resume needs run.json, which is missing")
    if holds and not resume:
        raise UsageError(f"OUTPUT {output}: already holds a search ({', '.join(holds)}); "
                         "use --resume to continue it, or choose another folder")
    probe = output
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"OUTPUT {output}: {probe} is not writable")


def end_time(config: Config, environ: dict[str, str]) -> float | None:
    """When the batch job ends: cfg walltime, else what the scheduler says."""
    if config.walltime:
        return time.time() + config.walltime
    for key in ("SLURM_JOB_END_TIME", "COBALT_ENDTIME"):
        try:
            return float(environ[key])
        except (KeyError, ValueError):
            continue
    return None


@dataclass
class Recorded:
    """What an earlier run left in OUTPUT, checked against this run's settings."""

    rows: list[dict[str, str]]  # results.csv
    issued: list[dict[str, str]]  # started.csv
    lost: list[dict[str, str]]  # started rows to issue again
    next_id: int  # the first free task number
    retry: list[dict[str, str]] = field(default_factory=list)  # failed rows to issue again
    superseded: set[int] = field(default_factory=set)  # failed tasks a later task retried


def dry_run(environ: dict[str, str]) -> bool:
    """True when DRYRUN=1: the tasks run no model (see tasks/task-lib.sh)."""
    return environ.get("DRYRUN", "0") == "1"


def read_recorded(config: Config, output: str, dryrun: bool = False,
                  retry_failed: bool = False) -> Recorded:
    """Read the search recorded in OUTPUT (writes nothing there).

    A task is lost (issued again) when it has no row in results.csv, or a
    `killed` one, and its point was not issued again by a later task. A
    failed (or timed-out) task whose point a later task ran again is
    superseded: neither told to the search nor counted. With
    `retry_failed`, each failed point not superseded is issued again, once.
    A dry-run folder is not resumed for real, nor the reverse.
    """
    try:
        with open(os.path.join(output, "run.json")) as stream:
            recorded = json.load(stream)
    except (OSError, ValueError) as err:
        raise UsageError(f"OUTPUT {output}: cannot resume: cannot read run.json: {err}") from None
    if not isinstance(recorded, dict):
        raise UsageError(f"OUTPUT {output}: cannot resume: run.json is not a JSON object")
    for key, value in config.settings().items():
        if json.loads(json.dumps(recorded.get(key))) != json.loads(json.dumps(value)):
            raise UsageError(f"OUTPUT {output}: cannot resume: the recorded {key!r} differs "
                             f"from this run's ({recorded.get(key)!r} != {value!r})")
    if "dryrun" in recorded and recorded["dryrun"] != dryrun:
        was, now = ("a dry run (DRYRUN=1)", "for real") if recorded["dryrun"] \
            else ("a real search", "with DRYRUN=1")
        raise UsageError(f"OUTPUT {output}: cannot resume: it holds {was}, and this run is "
                         f"{now}; keep DRYRUN as it was, or start a new OUTPUT")
    results = os.path.join(output, "results.csv")
    started = os.path.join(output, "started.csv")
    header, rows = read_journal(results) if os.path.exists(results) else ([], [])
    expected = results_columns(config.problem.names, config.metrics)
    if header and header != expected:
        raise UsageError(f"OUTPUT {output}: cannot resume: results.csv has the columns "
                         f"{','.join(header)!r}, this run's cfg makes {','.join(expected)!r} "
                         "(a run keeps its parameters and metrics)")
    issued = read_journal(started)[1] if os.path.exists(started) else []
    names = config.problem.names
    try:
        ids = [int(r["id"]) for r in rows + issued]
        finished = {int(r["id"]) for r in rows if parse_status(r["status"]).is_done}
        latest: dict[tuple[str, ...], int] = {}
        for row in issued:
            key = tuple(row[n] for n in names)
            latest[key] = max(latest.get(key, -1), int(row["id"]))
        lost = [r for r in issued if int(r["id"]) not in finished
                and latest[tuple(r[n] for n in names)] == int(r["id"])]
        failures = [s.value for s in Status if s.is_failure]
        superseded = superseded_failures(rows, issued, names, failures)
        retry = [r for r in rows if r["status"] in failures
                 and int(r["id"]) not in superseded] if retry_failed else []
    except (KeyError, ValueError) as err:
        raise UsageError(f"OUTPUT {output}: cannot resume: a recorded row does not fit the "
                         f"problem: {err!r}") from None
    ids.append(Layout.highest_task_id(output))
    return Recorded(rows, issued, lost, max(ids, default=-1) + 1, retry, superseded)


def replay(config: Config, output: str, recorded: Recorded,
           search: Search) -> tuple[int, list[list[Any]], Tally]:
    """Tell the search what an earlier run recorded (one tell for all results).

    Returns the number of finished tasks (they count toward POINTS_MAX),
    the points of the lost tasks and of the failed ones retried (to issue
    again, under new numbers), and the earlier runs' tally (counts, task
    times, best) for the status lines and the summary.
    """
    problem = config.problem
    skipped = recorded.superseded | {int(r["id"]) for r in recorded.retry}
    rows = [r for r in recorded.rows if int(r["id"]) not in skipped]
    earlier = Tally()
    try:
        ok = [(problem.point(r), float(r["objective"])) for r in rows
              if parse_status(r["status"]).has_value and r["objective"]]
        failed = [problem.point(r) for r in rows if parse_status(r["status"]).is_failure]
        lost = [problem.point(r) for r in recorded.lost]
        retry = [problem.point(r) for r in recorded.retry]
        for r in rows:
            status = parse_status(r["status"])
            value = float(r["objective"]) if status is Status.OK and r["objective"] else None
            earlier.add(status, float(r["seconds"] or 0), value, int(r["id"]),
                        problem.params(problem.point(r)), config.direction)
    except (KeyError, ValueError) as err:
        raise UsageError(f"OUTPUT {output}: cannot resume: a recorded row does not fit the "
                         f"problem: {err}") from None
    search.tell([p for p, _ in ok], [minimized(v, config.direction) for _, v in ok])
    search.fail(failed)
    retried = f" ({len(retry)} failed one(s) retried)" if retry else ""
    say(f"resume: {len(ok)} result(s) told to the search, {len(failed)} failed, "
        f"{len(lost) + len(retry)} task(s) to issue again{retried}, numbering from "
        f"{recorded.next_id:04d}")
    return earlier.finished, lost + retry, earlier


def stop_leftovers(output: str, recorded: Recorded, grace: float) -> None:
    """Stop the tasks of an earlier driver that died without stopping them."""
    ended = {int(r["id"]) for r in recorded.rows}
    groups = find_leftovers(output, set(range(recorded.next_id)) - ended)
    if not groups:
        return
    shout(f"resume: stopping {len(groups)} task(s) still running from the earlier run "
        f"(process groups {' '.join(map(str, sorted(groups)))})")
    stop_groups(groups, grace)


def record_run(config: Config, output: str, args: argparse.Namespace) -> None:
    """Write run.json: the settings a resumed run must share."""
    record = dict(config.settings())
    record.update(parallelism=args.parallelism, points_init=args.points_init,
                  points_max=args.points_max, cfg=config.path,
                  created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  dryrun=dry_run(dict(os.environ)))
    path = os.path.join(output, "run.json")
    if os.path.exists(path):
        raise UsageError(f"OUTPUT {output}: already holds run.json")
    write_run_json(output, record)


def write_run_json(output: str, record: dict[str, Any]) -> None:
    """Write run.json whole or not at all: a kill while writing leaves no empty one."""
    path = os.path.join(output, "run.json")
    partial = path + ".partial"
    with open(partial, "w") as stream:
        json.dump(record, stream, indent=2)
        stream.write("\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.rename(partial, path)
    folder = os.open(output, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def record_resume(output: str, args: argparse.Namespace) -> None:
    """Update run.json's arguments to this run's (the report's "of POINTS_MAX")."""
    with open(os.path.join(output, "run.json")) as stream:
        record = json.load(stream)
    record.update(parallelism=args.parallelism, points_init=args.points_init,
                  points_max=args.points_max, resumed=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write_run_json(output, record)


def raise_fd_limit() -> None:
    """Thousands of concurrent tasks need thousands of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(argv: list[str]) -> int:
    """Check everything, then run the search; return the exit code."""
    args = parse_args(argv)
    require_pidfd()
    config = load_config(args.cfg)
    set_log_level(config.log_level)
    machine, why = Machines.choose(config.machine, os.environ)
    say(f"machine: {machine.name} ({why})")
    output = choose_output(args)
    check_output(output, args.resume)
    concurrency = min(args.points_init, args.points_max)
    if args.points_init > args.points_max:
        shout(f"note: POINTS_INIT={args.points_init} > POINTS_MAX={args.points_max}: "
            f"only {args.points_max} task(s) will run, all at once")
    environ = dict(os.environ)
    try:
        launcher = choose_launcher(config.launcher, config.launcher_args, config.ppn, environ,
                                   machine=machine, tasks_per_node=config.tasks_per_node,
                                   gpus_per_node=config.gpus_per_node, cpu_count=os.cpu_count())
        launcher.check(args.parallelism, concurrency)
    except LaunchError as err:
        raise UsageError(f"launcher: {err}") from None
    notes, refusal = Machines.limits(machine, args.points_max, concurrency)
    if refusal:
        raise UsageError(f"machine {machine.name}: {refusal}")
    for note in notes:
        shout(note)
    if config.launch_delay is None:
        config.launch_delay = machine.launch_delay
    say(f"launcher: {launcher.name} ({launcher.reason})")
    search = Search(config.problem, config.optimizer, config.pending_lie)
    plan = Plan(parallelism=args.parallelism, concurrency=concurrency,
                points_max=args.points_max, output=output, end_time=end_time(config, environ))
    warm = WarmStart.read(config.warm_start, config.problem, config.direction)
    if args.resume:
        recorded = read_recorded(config, output, dry_run(environ), args.retry_failed)
        search = Search(config.problem, config.optimizer, config.pending_lie,
                        len(recorded.issued))
        plan.done_before, plan.reissue, plan.earlier = replay(config, output, recorded, search)
        plan.first_id = recorded.next_id
        plan.progress = read_history(output, recorded.rows)
        stop_leftovers(output, recorded, config.kill_grace)
        record_resume(output, args)
    else:
        os.makedirs(output, exist_ok=True)
        record_run(config, output, args)
    WarmStart.tell(warm, search)
    raise_fd_limit()
    environ.update(OUTPUT=output, PYTHON=sys.executable)
    workflow: Workflow
    proposer = Proposer(search, notify=lambda: workflow.wake())
    workflow = Workflow(config, plan, proposer, launcher, environ)
    code = workflow.run()
    Signals.loop_ended(code)  # a signal now cuts the report short
    write_report(output)
    return Signals.exit_code(code)


def write_report(output: str) -> None:
    """Print the report and write the plots; a failure here never fails the run."""
    try:
        import Report
        Report.write_report(output)
    except ImportError:
        return
    except Exception as err:  # noqa: BLE001 - the search itself is done and recorded
        warn(f"report: could not write the report: {err}")


def one_line(text: str) -> str:
    """`text` with control characters escaped (a path may hold a newline)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main() -> int:
    try:
        return run(sys.argv[1:])
    except UsageError as err:
        print(f"{PROG}: error: {one_line(str(err))}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
