# LAUNCH PLAN PY
# `main.sh --check`: what the first round of tasks would get, without
# starting or writing anything. main.py runs every check of a real start
# (cfg, task script, numbers, machine, launcher, launch limits) and then,
# instead of setting OUTPUT up, asks this module for the plan: one line per
# concurrency slot, `slot S:` with the task's host(s), its LAUNCH prefix and
# the environment that pins its devices (Launcher.launch, as the loop gets
# them).
#
# Call order (main.py): made_up_count -> planned_environ ->
# choose_launcher(..., which(made_up))
# -> made_up_hosts -> launcher.check -> Machines.limits -> header, plan_lines.
# With --nodes N (the submit scripts give the job's node count) the plan is
# drawn on N made-up nodes; without it, on the batch job's own nodes, and
# outside a job on one made-up node.

import shlex
import shutil
from collections.abc import Mapping

import Schedulers
from Launcher import (
    AprunLauncher,
    Launcher,
    MpiexecLauncher,
    SeatPool,
    SrunLauncher,
    Which,
)
from Machines import Machine

MADE_UP_SOURCE = "--nodes"
MISSING = "not on PATH here"
PLANNED_JOB = "(planned)"  # the job id of a job not submitted yet


def made_up_host(index: int) -> str:
    """The name of the index-th made-up host (1-based): node1, node2, ..."""
    return f"node{index}"


def in_batch_job(environ: Mapping[str, str]) -> bool:
    """True inside a batch job (a job variable that `launcher: auto` reads is set)."""
    return Schedulers.detect(environ) is not None


def made_up_count(check: bool, nodes: int | None, environ: Mapping[str, str]) -> int | None:
    """How many made-up nodes the plan is drawn on (None: a run, or the job's own nodes).

    --nodes N says; without it, one outside a batch job.
    """
    if not check:
        return None
    if nodes is not None:
        return nodes
    return None if in_batch_job(environ) else 1


def which(made_up: int | None) -> Which:
    """shutil.which; for a plan on made-up nodes (a job elsewhere), a launcher
    missing on this host is named as such instead of refused: the job's
    nodes are what must have it."""
    if made_up is None:
        return shutil.which
    return lambda program: shutil.which(program) or f"{program} ({MISSING})"


def planned_environ(environ: Mapping[str, str], machine: Machine,
                    made_up: int | None) -> dict[str, str]:
    """The environment the launcher is chosen in: on made-up nodes of a generic
    batch system's record (cfg machine: slurm, pbs, cobalt), that system's
    job variable is set, as it will be in the job."""
    planned = dict(environ)
    if made_up is not None:
        planned.update({s.job_variable: PLANNED_JOB for s in Schedulers.SCHEDULERS
                        if s.machine == machine.name})
    return planned


def made_up_hosts(launcher: Launcher, count: int) -> None:
    """Make the launcher see a job of `count` made-up nodes (node1, node2, ...).

    srun and mpiexec get a pool of them; aprun (ALPS places each launch
    itself) gets the job's size; no launcher runs on this host.
    """
    if isinstance(launcher, (SrunLauncher, MpiexecLauncher)):
        launcher.pool = SeatPool([made_up_host(i + 1) for i in range(count)],
                                 MADE_UP_SOURCE, launcher.pack)
    elif isinstance(launcher, AprunLauncher):
        launcher.environ[launcher.size_variables[0]] = str(count)


def plan_lines(launcher: Launcher, parallelism: int, concurrency: int) -> list[str]:
    """One line per slot of the first round: hosts, LAUNCH and the pinning environment.

    The slots are taken in the loop's order (slot 0 first, each acquiring
    the first free hosts) from the launcher's own pool, which is then given
    back: the launcher is left as it was.
    """
    lines = []
    placements = []
    for slot in range(concurrency):
        placement = launcher.acquire(parallelism)
        placements.append(placement)
        launch = launcher.launch(parallelism, placement)
        hosts = launch.env.get("TASK_HOSTS") or \
            (f"(placed by {launch.argv[0]})" if launch.argv else "this host")
        pinning = _pinning(launch.env)
        lines.append(f"slot {slot}: {hosts}  LAUNCH={shlex.quote(shlex.join(launch.argv))}"
                     + (f"  {pinning}" if pinning else ""))
    for placement in placements:
        launcher.release(placement)
    return lines


def _pinning(env: Mapping[str, str]) -> str:
    """The task's own variables but TASK_HOSTS (shown first), as NAME=value words."""
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items()
                    if name != "TASK_HOSTS")


def header(launcher: Launcher, made_up: int | None, parallelism: int, concurrency: int,
           points_max: int) -> str:
    """The line above the plan: the numbers it is drawn for, and on which hosts."""
    where = ("this host" if launcher.name == "none" else "the batch job's nodes"
             if made_up is None else f"{made_up} made-up node(s)")
    return (f"check: OK: {concurrency} task(s) at once, {points_max} in all, each on "
            f"{parallelism} node(s); the first round on {where}:")
