# WALLTIME PY
# When the batch job ends, asked once before the search starts, and when
# the driver must therefore stop its tasks. The sources:
#   cfg `walltime`     seconds from now (the earliest end wins over the scheduler's)
#   the job's scheduler (Schedulers.py says which, and where each keeps the end):
#     Slurm            SLURM_JOB_END_TIME (Slurm 23.02 on), else
#                      `squeue -h -j $SLURM_JOB_ID -o %e` (22.05 and older)
#     PBS Pro          no end time in the environment: `qstat -f -F json $PBS_JOBID`,
#                      the job's "stime" + "Resource_List": {"walltime": "HH:MM:SS"}
#     Cobalt           COBALT_ENDTIME (epoch seconds)
# A scheduler command that fails, hangs or prints what does not parse is one
# warning line and no end from that source, never a traceback. The driver
# stops issuing when a task could not finish before stop_time(), and at
# stop_time() stops its running tasks (recorded `killed`, issued again on
# resume), so that it has ended before the scheduler kills the job.

import json
import math
import subprocess
import time
from collections.abc import Callable

import Schedulers
from Schedulers import Scheduler
from utils import say, warn

# Seconds kept after the tasks are stopped (kill_grace after SIGTERM) for the
# summary, the journals' last writes and the end-of-run report.
REPORT_TIME = 30.0
# Seconds a scheduler command may take before it counts as failed.
COMMAND_TIMEOUT = 30.0

Runner = Callable[[list[str], dict[str, str]], str]


class SourceError(Exception):
    """A scheduler's answer cannot be had or read: the one-line warning."""


def run_command(argv: list[str], environ: dict[str, str]) -> str:
    """Run a scheduler command; its stdout, or SourceError naming what went wrong."""
    shown = " ".join(argv)
    try:
        done = subprocess.run(argv, env=environ, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SourceError(f"{argv[0]}: not found") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"{shown}: no answer in {COMMAND_TIMEOUT:g} s") from None
    except OSError as err:
        raise SourceError(f"{shown}: {err.strerror}") from None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [""])[-1][:200]
        raise SourceError(f"{shown}: exit code {done.returncode}" + (f": {last}" if last else ""))
    return done.stdout


def seconds(text: str) -> float:
    """A PBS duration, `[[HH:]MM:]SS` (as qstat prints it) or plain seconds."""
    parts = str(text).strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"duration {text!r}: expected HH:MM:SS")
    total = 0.0
    for part in parts:
        total = total * 60 + int(part)
    return total


def epoch(text: str, key: str) -> float:
    """A finite epoch-seconds value of an environment variable."""
    try:
        value = float(text)
    except ValueError:
        raise SourceError(f"{key}={text!r}: expected epoch seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise SourceError(f"{key}={text!r}: expected epoch seconds")
    return value


def squeue_end(text: str, source: str, job: str) -> float | None:
    """squeue's %e: the end in local time, or a word for no time limit."""
    text = text.strip()
    if text in ("NONE", "Unknown", "N/A", "UNLIMITED"):  # no time limit
        return None
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise SourceError(f"{source}: {text[:80]!r}: expected YYYY-MM-DDTHH:MM:SS") from None


def qstat_end(text: str, source: str, job: str) -> float | None:
    """PBS Pro's qstat JSON: the job's start time ("stime") + Resource_List.walltime."""
    try:
        jobs = json.loads(text)["Jobs"]
        record = jobs.get(job) or next(iter(jobs.values()))
        limit = record.get("Resource_List", {}).get("walltime")
        if limit is None:
            return None  # no walltime: no end
        stime = time.mktime(time.strptime(" ".join(record["stime"].split()),
                                          "%a %b %d %H:%M:%S %Y"))
        return stime + seconds(limit)
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration) as err:
        raise SourceError(f"{source}: cannot read stime + Resource_List.walltime "
                          f"({type(err).__name__}: {str(err)[:120]})") from None


# How each scheduler's end command answers (by the command's name).
END_READERS: dict[str, Callable[[str, str, str], float | None]] = {
    "squeue": squeue_end, "qstat": qstat_end}


def ask_end(scheduler: Scheduler, environ: dict[str, str], runner: Runner
            ) -> tuple[float | None, str]:
    """The job's end from `scheduler`: its end variable, else its end command."""
    variable = scheduler.end_variable
    if variable and environ.get(variable):
        return epoch(environ[variable], variable), variable
    job = scheduler.job(environ)
    argv = [word.replace("{job}", job) for word in scheduler.end_command]
    if not argv or not job:
        raise SourceError(f"{variable or scheduler.job_variable} is not set")
    source = " ".join(argv)
    return END_READERS[argv[0]](runner(argv, environ), source, job), source


def scheduler_end(environ: dict[str, str], runner: Runner = run_command
                  ) -> tuple[float | None, str]:
    """(the job's end or None, which source said so); "" when not in a batch job."""
    scheduler = Schedulers.ending(environ)
    if scheduler is None:
        return None, ""
    try:
        return ask_end(scheduler, environ, runner)
    except SourceError as err:
        name = scheduler.name
        warn(f"walltime: cannot tell when the {name} job ends: {err}; no deadline from {name}")
        return None, ""


def job_end(walltime: float | None, environ: dict[str, str], runner: Runner = run_command,
            now: float | None = None) -> float | None:
    """The job's end, epoch seconds (None: none known): the earliest of cfg
    `walltime` and the scheduler's; the log says which source gave it."""
    now = time.time() if now is None else now
    end, source = scheduler_end(environ, runner)
    if walltime and (end is None or now + walltime < end):
        end, source = now + walltime, f"cfg walltime {walltime:g} s"
    if end is None:
        if source:
            say(f"walltime: the job has no time limit ({source})")
        return None
    say(f"walltime: the job ends at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(end))}"
        f" ({end - now:.0f} s from now; from {source})")
    return end


def stop_time(end: float | None, kill_grace: float) -> float | None:
    """When the driver stops its running tasks: kill_grace + REPORT_TIME before the end."""
    return None if end is None else end - kill_grace - REPORT_TIME
