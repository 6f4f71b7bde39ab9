# MAIN PY
# The main Python program: wiring only. Reads the arguments and the cfg,
# checks every input before anything is written, takes OUTPUT's lock, sets
# the folder up (or takes it up: Resume.py), runs the search loop
# (Workflow.py), writes the report, and returns the exit code. With --join
# it is one of several drivers of one search (Joined.py): the first records
# the search; one that finds OUTPUT's lock held by a live joined driver
# writes its journals in a folder of its own; the last to end writes the report.

try:
    import StopEarly  # noqa: F401 - first: stop signals are handled from here on
except KeyboardInterrupt:  # Ctrl-C in the moment before: stopped all the same
    raise SystemExit(130) from None

# isort: split
import argparse
import os
import resource
import sys
import time
import zlib
from typing import Any, NoReturn

import Joined
import LaunchPlan
import Layout
import Machines
import OutputLock
import Resume
import Signals
import Walltime
import WarmStart
from Config import Config, has_control_character, load_config
from Launcher import Launcher, LaunchError, choose_launcher
from Progress import read_history
from Proposer import Proposer
from Results import JournalError, Journals, open_journals
from Search import Search
from Task import require_pidfd
from utils import UsageError, say, set_log_level, shout, warn
from Workflow import Plan, Workflow

PROG = "main.sh"
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
    parser.add_argument("--join", action="store_true",
                        help="add this job's tasks to the search in OUTPUT, which the first "
                        "driver to come creates (several jobs, one search: docs/jobs.adoc)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="with --resume: issue each failed or timed-out point once more")
    parser.add_argument("--check", action="store_true",
                        help="check everything, start nothing, write nothing; print the "
                        "first round's launch plan (exit 0: the run would start, 2: not)")
    parser.add_argument("--nodes", type=positive_int, metavar="N",
                        help="with --check: plan on N made-up nodes (default: the batch "
                        "job's, else 1)")
    parser.add_argument("parallelism", nargs="?", type=positive_int, metavar="PARALLELISM",
                        help="nodes per task (default 1; with --resume, the recorded one)")
    parser.add_argument("points_init", nargs="?", type=positive_int, metavar="POINTS_INIT",
                        help="tasks at once: the CONCURRENCY (default 4; with --resume, "
                        "the recorded one)")
    parser.add_argument("points_max", nargs="?", type=positive_int, metavar="POINTS_MAX",
                        help="tasks in total (default 8; with --resume, the recorded one)")
    args = parser.parse_args(argv)
    if args.nodes is not None and not args.check:
        raise UsageError("--nodes N draws the plan of --check: give it with --check")
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed retries the failed points of a recorded search: "
                         "give it with --resume")
    if args.join and args.resume:
        raise UsageError("--join and --resume: give one (--join also takes up a search "
                         "that every job left)")
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
    if args.resume or args.join:
        word = "--resume" if args.resume else "--join"
        raise UsageError(f"{word} needs the folder of the search: -o OUTPUT (or $OUTPUT)")
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    path = os.path.abspath(os.path.join("output", stamp))
    suffix = 1
    while os.path.exists(path):
        suffix += 1
        path = os.path.abspath(os.path.join("output", f"{stamp}_{suffix}"))
    return path


def check_output(output: str, resume: bool, join: bool = False) -> None:
    """Refuse an OUTPUT that cannot be written, or that holds a search without --resume
    (or --join, which takes a folder with or without a search)."""
    holds = [f for f in Layout.SEARCH_FILES if os.path.exists(os.path.join(output, f))]
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError(f"OUTPUT {output}: exists and is not a folder")
    if join and holds and Layout.RUN not in holds:
        raise UsageError(f"OUTPUT {output}: --join needs {Layout.RUN}, which is missing")
    resume = resume or (join and bool(holds))
    if resume and not holds:
        raise UsageError(f"OUTPUT {output}: --resume given, but it holds no search "
                         f"(no {Layout.RUN})")
    if resume and Layout.RUN not in holds:
        raise UsageError(f"OUTPUT {output}: --resume needs {Layout.RUN}, which is missing")
    if holds and not resume:
        raise UsageError(f"OUTPUT {output}: already holds a search ({', '.join(holds)}); "
                         "use --resume to continue it, or choose another folder")
    probe = output
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"OUTPUT {output}: {probe} is not writable")




def dry_run(environ: dict[str, str]) -> bool:
    """True when DRYRUN=1: the tasks run no model (see tasks/task-lib.sh)."""
    return environ.get("DRYRUN", "0") == "1"


def raise_fd_limit() -> None:
    """Thousands of concurrent tasks need thousands of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(argv: list[str]) -> int:
    """Check everything, then run the search; return the exit code."""
    args = parse_args(argv)
    require_pidfd()
    output = choose_output(args)
    check_output(output, args.resume, args.join)
    environ = dict(os.environ)
    points_init_given = args.points_init is not None
    config, run_record = read_settings(args, output, environ)
    set_log_level(config.log_level)
    machine, why = Machines.choose(config.machine, environ)
    say(f"machine: {machine.name} ({why})")
    Resume.fill_numbers(args, run_record)
    made_up = LaunchPlan.made_up_count(args.check, args.nodes, environ)
    launcher = chosen_launcher(config, machine, environ, made_up)
    if args.join and not points_init_given and (args.nodes or LaunchPlan.in_batch_job(environ)):
        fit_points_init(args, launcher)
    concurrency = min(args.points_init, args.points_max)
    if args.points_init > args.points_max:
        shout(f"note: POINTS_INIT={args.points_init} > POINTS_MAX={args.points_max}: "
            f"only {args.points_max} task(s) will run, all at once")
    check_launcher(launcher, args.parallelism, concurrency)
    notes, refusal = Machines.limits(machine, args.points_max, concurrency)
    if refusal:
        raise UsageError(f"machine {machine.name}: {refusal}")
    for note in notes:
        shout(note)
    if config.launch_delay is None:
        config.launch_delay = machine.launch_delay
    say(f"launcher: {launcher.name} ({launcher.reason})")
    warm = WarmStart.read(config.warm_start, config.problem, config.goals)
    if args.check:
        print(LaunchPlan.header(launcher, made_up, args.parallelism, concurrency, args.points_max))
        print("\n".join(LaunchPlan.plan_lines(launcher, args.parallelism, concurrency)))
        return 0
    os.makedirs(output, exist_ok=True)
    name = Joined.driver_name(environ) if args.join else ""
    lock = take_lock(output, name)
    try:
        return search(args, config, output, run_record, launcher, environ, warm, concurrency,
                      name, lock is not None)
    finally:
        if lock is not None:
            lock.release()


def take_lock(output: str, name: str) -> OutputLock.OutputLock | None:
    """OUTPUT's lock; for a joined driver (`name`), None when a live joined driver holds it."""
    if not name:
        return OutputLock.acquire(output)
    try:
        return OutputLock.acquire(output, join=name)
    except OutputLock.InUse as err:
        if not err.holder.get("join"):
            raise
        return None


def read_settings(args: argparse.Namespace, output: str,
                  environ: dict[str, str]) -> tuple[Config, dict[str, Any] | None]:
    """The cfg of this run and, with --resume, OUTPUT's run.json (a joined search goes on
    joined: --resume of one becomes --join)."""
    run_record = Resume.read_run(output) if args.resume else None
    if run_record is not None and run_record.get("joined"):
        if args.retry_failed:
            raise UsageError(f"OUTPUT {output}: --retry-failed: not for a search of several "
                             "jobs (--join)")
        args.join, args.resume, run_record = True, False, None
    if args.join:
        return Resume.join_run(output, args, dry_run(environ), args.check), None
    if run_record is not None:
        config = Resume.resume_config(output, args.cfg, run_record)
        Resume.check_settings(config, output, run_record, dry_run(environ))
        return config, run_record
    return load_config(args.cfg), None


def chosen_launcher(config: Config, machine: Machines.Machine, environ: dict[str, str],
                    made_up: int | None) -> Launcher:
    """The launcher of this run (on `made_up` made-up nodes for --check), or a one-line
    UsageError."""
    try:
        launcher = choose_launcher(config.launcher, config.launcher_args, config.ppn,
                                   LaunchPlan.planned_environ(environ, machine, made_up),
                                   LaunchPlan.which(made_up), machine=machine,
                                   tasks_per_node=config.tasks_per_node,
                                   gpus_per_node=config.gpus_per_node, cpu_count=os.cpu_count())
        if made_up is not None:
            LaunchPlan.made_up_hosts(launcher, made_up)
    except LaunchError as err:
        raise UsageError(f"launcher: {err}") from None
    return launcher


def fit_points_init(args: argparse.Namespace, launcher: Launcher) -> None:
    """A joined job given no POINTS_INIT (the recorded one is another job's): as many tasks
    at once as this job's nodes hold (the submit scripts' NODES, or the job's own), where
    the allocation says."""
    fits = launcher.fits(args.parallelism)
    if fits:
        args.points_init = fits
        say(f"POINTS_INIT={fits}: the tasks of PARALLELISM={args.parallelism} this job's "
            "nodes hold at once")


def check_launcher(launcher: Launcher, parallelism: int, concurrency: int) -> None:
    """PARALLELISM and the concurrency fit the allocation, or a one-line UsageError."""
    try:
        launcher.check(parallelism, concurrency)
    except LaunchError as err:
        raise UsageError(f"launcher: {err}") from None


def search(args: argparse.Namespace, config: Config, output: str,
           run_record: dict[str, Any] | None, launcher: Launcher, environ: dict[str, str],
           warm: WarmStart.Earlier, concurrency: int, name: str = "", leader: bool = True) -> int:
    """Set up (or take up) OUTPUT, which this driver holds (a joined driver `name`: or one
    of the drivers of its search, `leader` when it holds the lock), and run the search.

    A stop signal before the loop takes over (Signals.py) still ends with the
    resume line once run.json is recorded.
    """
    plan = Plan(parallelism=args.parallelism, concurrency=concurrency,
                points_max=args.points_max, output=output,
                end_time=Walltime.job_end(config.walltime, environ),
                resume_command=Resume.resume_line(output, dry_run(environ)))
    try:
        if name:
            workflow = join(config, plan, launcher, environ, warm, name, leader)
        else:
            workflow = set_up(args, config, plan, run_record, launcher, environ, warm)
        code = workflow.run()
    except Signals.Interrupted:
        if os.path.exists(Layout.path(output, Layout.RUN)):
            shout(f"to resume: {plan.resume_command}")
        raise
    Signals.loop_ended(code)  # a signal now cuts the report short
    others = Joined.alive_drivers(output) if name else []
    if others:
        say(f"report: left to the last driver of the search ({len(others)} still running: "
            f"{', '.join(others)})")
    else:
        write_report(output)
    return Signals.exit_code(code)


def join(config: Config, plan: Plan, launcher: Launcher, environ: dict[str, str],
         warm: WarmStart.Earlier, name: str, leader: bool) -> Workflow:
    """Join the search in OUTPUT as driver `name` (Joined.py); the loop, ready to run."""
    output = plan.output
    folder = Joined.claim_folder(output, name)
    journals = open_output_journals(config, output if leader else folder)
    search = Search(config.problem, config.optimizer, config.pending_lie,
                    zlib.crc32(os.path.basename(folder).encode()),  # its own random points
                    objectives=config.goals.count)
    WarmStart.tell(warm, search)
    plan.first_id = Layout.highest_task_id(output) + 1
    role = " (it writes OUTPUT's journals)" if leader else ""
    say(f"joined the search in {output} as driver {os.path.basename(folder)}{role}")
    raise_fd_limit()
    environ.update(OUTPUT=output, PYTHON=sys.executable)
    joined = Joined.Joined(output, folder, leader, config.problem, config.goals,
                           config.metrics, plan.points_max)
    workflow: Workflow
    proposer = Proposer(search, notify=lambda: workflow.wake())
    workflow = Workflow(config, plan, proposer, launcher, environ, journals, joined)
    return workflow


def set_up(args: argparse.Namespace, config: Config, plan: Plan,
           run_record: dict[str, Any] | None, launcher: Launcher, environ: dict[str, str],
           warm: WarmStart.Earlier) -> Workflow:
    """Record the run in OUTPUT (or replay what it recorded); the loop, ready to run."""
    output = plan.output
    if run_record is not None:
        journals = open_output_journals(config, output)
        recorded = Resume.read_recorded(config, output, args.retry_failed)
        search = Search(config.problem, config.optimizer, config.pending_lie,
                        len(recorded.history.started), objectives=config.goals.count)
        replayed = Resume.replay(config, output, recorded, search)
        plan.done_before, plan.reissue, plan.earlier = \
            replayed.done_before, replayed.reissue, replayed.earlier
        plan.first_id = recorded.next_id
        plan.progress = read_history(output, recorded.history.results)
        Resume.stop_leftovers(output, recorded, config.kill_grace)
        Resume.record_resume(config, output, args, run_record)
    else:
        Resume.record_run(config, output, args, dry_run(environ))
        journals = open_output_journals(config, output)
        search = Search(config.problem, config.optimizer, config.pending_lie,
                        objectives=config.goals.count)
    WarmStart.tell(warm, search)
    raise_fd_limit()
    environ.update(OUTPUT=output, PYTHON=sys.executable)
    workflow: Workflow
    proposer = Proposer(search, notify=lambda: workflow.wake())
    workflow = Workflow(config, plan, proposer, launcher, environ, journals)
    return workflow


def open_output_journals(config: Config, output: str) -> Journals:
    """OUTPUT's journals, or one line naming the one that cannot be appended to."""
    try:
        return open_journals(output, config.problem.names, config.metrics)
    except JournalError as err:
        raise UsageError(f"OUTPUT {output}: cannot continue: {err}") from None
    except OSError as err:
        raise UsageError(f"OUTPUT {output}: cannot write {err.filename or output}: "
                         f"{err.strerror or err}") from None


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
