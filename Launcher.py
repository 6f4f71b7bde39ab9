# LAUNCHER PY
# How a task's ranks reach their nodes: the LAUNCH prefix for none, aprun,
# srun and mpiexec, and the seat pool that keeps concurrent tasks apart.
# A seat is what one running task holds: its hosts (whole nodes), or with
# tasks_per_node > 1 a share of a node's devices and cores (from the
# machine's record in Machines.py). It is not the concurrency lane a task
# runs in (TASK_SLOT, results.csv's `slot`: the loop's, Workflow.py).
#
# The driver calls, once:      launcher = choose_launcher(...)
#                              launcher.check(parallelism, concurrency)
# and for each task:           room = launcher.room(parallelism)
#                              placement = launcher.acquire(parallelism[, avoid])
#                              launch = launcher.launch(parallelism, placement)
#                              LAUNCH = shlex.join(launch.argv); env |= launch.env
#                              ... task runs ...
#                              launcher.release(placement)
# and for a bad node:          launcher.pool.quarantine(host)  (BadNodes.py)
# All on the search loop's thread; the pool is a heap: a launch costs the
# same at 8 seats and at 4,096.
#
# Placement per scheduler:
#   Slurm:  the nodes of SLURM_JOB_NODELIST form a pool; each running task
#           is a job step on its own group of P of them
#           (srun --nodes P ... --exact --nodelist h1,h2).
#   PBS:    the unique hosts of PBS_NODEFILE form a pool; each running task
#           holds its own group of P of them (mpiexec ... --hosts h1,h2).
#   ALPS:   aprun places each launch itself.
# A finished task's group goes back to the pool, in allocation order.

from __future__ import annotations

import heapq
import itertools
import re
import shutil
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from Machines import (
    MACHINES,
    Machine,
    cpu_bind_list,
    node_cores,
    split_cores,
    split_devices,
)
from Schedulers import COBALT, PBS, SCHEDULERS, SLURM, job_variables

Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Launch:
    """What one task is launched with: the LAUNCH prefix and its own environment.

    argv : the launcher's words (LAUNCH, shell-joined); empty for none
    env : variables added to the task's environment (hosts, devices)
    """

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


class LaunchError(ValueError):
    """A launcher that cannot work: missing program, allocation too small."""


def _need(parallelism: int, concurrency: int) -> int:
    """Nodes needed by CONCURRENCY tasks of PARALLELISM nodes each."""
    for name, value in (("PARALLELISM", parallelism),
                        ("CONCURRENCY", concurrency)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LaunchError(f"{name} {value!r}: expected an integer >= 1")
    return parallelism * concurrency


def _too_small(parallelism: int, concurrency: int, have: int,
               source: str, tasks_per_node: int = 1) -> None:
    """Raise LaunchError when `have` nodes cannot hold the tasks."""
    need = _need(parallelism, concurrency)
    if tasks_per_node > 1:
        if parallelism != 1:
            raise LaunchError(f"tasks_per_node {tasks_per_node} needs PARALLELISM 1, "
                              f"got {parallelism}")
        need = -(-concurrency // tasks_per_node)
        if need > have:
            raise LaunchError(f"CONCURRENCY {concurrency} needs {need} nodes at "
                              f"tasks_per_node {tasks_per_node} but {source} {have} "
                              f"(NODES x tasks_per_node = {have * tasks_per_node})")
        return
    if need > have:
        raise LaunchError(f"CONCURRENCY {concurrency} needs {need} nodes at "
                          f"PARALLELISM {parallelism} but {source} {have}")


def _fits(parallelism: int, have: int, tasks_per_node: int) -> int:
    """How many tasks of `parallelism` nodes `have` nodes hold at once (0: not one)."""
    if tasks_per_node > 1:
        return have * tasks_per_node if parallelism == 1 else 0
    return have // parallelism


def _int_env(environ: Mapping[str, str], names: Sequence[str]
             ) -> tuple[str | None, int | None]:
    """The first of `names` set in environ to an integer: (name, value)."""
    for name in names:
        text = environ.get(name, "").strip()
        if text.isdigit():
            return name, int(text)
    return None, None


@dataclass(frozen=True)
class Packing:
    """How tasks share a node: seats per node, and each seat's devices and cores.

    machine : the machine's record (device variable, launcher details)
    tasks_per_node : seats per node (cfg tasks_per_node)
    gpus_per_node : devices per node (cfg gpus_per_node, else the machine's)
    devices, cores : seat k's devices and cores (Machines.split_*)
    """

    machine: Machine = MACHINES["local"]
    tasks_per_node: int = 1
    gpus_per_node: int = 0
    devices: tuple[tuple[str, ...], ...] = ((),)
    cores: tuple[tuple[int, ...], ...] = ((),)

    @property
    def packs(self) -> bool:
        """Tasks share nodes or get devices: the pool hands out seats."""
        return self.tasks_per_node > 1 or self.gpus_per_node > 0


def packing(machine: Machine, tasks_per_node: int, gpus_per_node: int | None,
            environ: Mapping[str, str], cpu_count: int | None) -> Packing:
    """The seats of one node on `machine` (LaunchError when they cannot be made)."""
    gpus = machine.gpus_per_node if gpus_per_node is None else gpus_per_node
    if tasks_per_node > 1 and not machine.shares_nodes:
        raise LaunchError(f"tasks_per_node {tasks_per_node}: {machine.name} runs one "
                          "launch per node (expected 1)")
    if gpus % tasks_per_node:
        raise LaunchError(f"gpus_per_node {gpus} does not divide among tasks_per_node "
                          f"{tasks_per_node}")
    cores = node_cores(machine, environ, cpu_count)
    if not machine.cores and cores < tasks_per_node:
        cores = 0  # fewer CPUs than seats where read at run time: the tasks share them
    split = split_cores(machine, cores, tasks_per_node)
    if cores and tasks_per_node > 1 and not split[0]:
        raise LaunchError(f"tasks_per_node {tasks_per_node}: more than the {cores} "
                          f"usable cores of a {machine.name} node")
    return Packing(machine, tasks_per_node, gpus,
                   tuple(tuple(d) for d in split_devices(machine, gpus, tasks_per_node)),
                   tuple(tuple(c) for c in split))


@dataclass(frozen=True)
class Seat:
    """What one task holds: hosts, and on a shared node its devices and cores.

    units : the pool's indices held (host index x tasks_per_node + seat)
    """

    hosts: list[str]
    devices: tuple[str, ...] = ()
    cores: tuple[int, ...] = ()
    units: tuple[int, ...] = ()


Placement = Seat | None
"""The seat a task runs in, or None where the scheduler places it."""


class SeatPool:
    """Disjoint seats of an allocation's hosts for the running tasks.

    Each host has tasks_per_node seats (one when tasks hold whole nodes);
    acquire() hands out the first free ones in allocation order (a heap:
    the cost of a launch does not grow with the pool), release() puts them
    back. quarantine() takes a host out for good.
    """

    def __init__(self, hosts: Sequence[str], source: str,
                 pack: Packing | None = None) -> None:
        self.hosts = list(dict.fromkeys(hosts))
        self.index = {host: i for i, host in enumerate(self.hosts)}
        self.source = source
        self.pack = pack or Packing()
        self.per = self.pack.tasks_per_node
        self.heap = list(range(len(self.hosts) * self.per))
        self.held: set[int] = set()
        self.bad: set[int] = set()  # quarantined host indices

    @property
    def free(self) -> list[str]:
        """The free seats' hosts, in allocation order (one name per seat)."""
        return [self.hosts[u // self.per] for u in sorted(self.heap)]

    @property
    def usable(self) -> int:
        """Hosts not quarantined."""
        return len(self.hosts) - len(self.bad)

    def check(self, parallelism: int, concurrency: int) -> None:
        """Raise LaunchError if the hosts cannot hold the tasks."""
        _too_small(parallelism, concurrency, self.usable,
                   f"{self.source} lists" if self.source != "this host" else "this host has",
                   self.per)

    def fits(self, parallelism: int) -> int:
        """How many tasks of `parallelism` hosts (or seats) the usable hosts hold at once."""
        return _fits(parallelism, self.usable, self.per)

    def others(self, hosts: Collection[str]) -> int:
        """Hosts not quarantined, `hosts` aside (room for a point tried elsewhere)."""
        return self.usable - len({h for h in hosts if self.index[h] not in self.bad})

    def room(self, parallelism: int) -> int:
        """How many tasks of `parallelism` hosts (or seats) could start now."""
        return len(self.heap) // parallelism

    def acquire(self, parallelism: int, avoid: Collection[str] = ()) -> Seat | None:
        """The first free seat (`parallelism` whole hosts when per = 1), now held.

        Hosts in `avoid` are passed over (a point tried again elsewhere):
        None when the free seats are all on them.
        """
        units: list[int] = []
        skipped: list[int] = []
        while self.heap and len(units) < parallelism:
            unit = heapq.heappop(self.heap)
            (skipped if self.hosts[unit // self.per] in avoid else units).append(unit)
        for unit in skipped:
            heapq.heappush(self.heap, unit)
        if len(units) < parallelism:
            for unit in units:
                heapq.heappush(self.heap, unit)
            if avoid:
                return None
            raise LaunchError(f"no {parallelism} free nodes: {len(units)} of "
                              f"{self.usable} are free")
        self.held.update(units)
        k = units[0] % self.per
        hosts = [self.hosts[u // self.per] for u in units]
        if not self.pack.packs:
            return Seat(hosts, units=tuple(units))
        return Seat(hosts, self.pack.devices[k], self.pack.cores[k], tuple(units))

    def release(self, seat: Seat) -> None:
        """Give back a seat that acquire() handed out."""
        wrong = [u for u in seat.units if u not in self.held]
        if wrong or not seat.units:
            raise LaunchError("release of nodes not held: " + ",".join(seat.hosts))
        for unit in seat.units:
            self.held.discard(unit)
            if unit // self.per not in self.bad:
                heapq.heappush(self.heap, unit)

    def quarantine(self, host: str) -> None:
        """Hand out no more seats of `host` (its running tasks keep theirs)."""
        index = self.index[host]
        self.bad.add(index)
        self.heap = [u for u in self.heap if u // self.per != index]
        heapq.heapify(self.heap)



class Launcher:
    """No launcher: the task runs its program directly (LAUNCH is empty).

    Attributes
    ----------
    name : the cfg value that selects this launcher
    program : the executable looked up on PATH ("" for none)
    reason : why this launcher was chosen, for the log
    scheduler, size_variables : the batch system, and its variables
        holding the job's node count (checked when there is no pool)
    pool : the seats handed to tasks, or None where the scheduler places
    pack : how tasks share a node (seats, devices, cores)
    """

    name = "none"
    program = ""
    scheduler = ""
    size_variables: tuple[str, ...] = ()  # where the job's node count is read

    def __init__(self, launcher_args: Sequence[str] = (), ppn: int = 1,
                 environ: Mapping[str, str] | None = None,
                 reason: str = "", pack: Packing | None = None) -> None:
        self.launcher_args = list(launcher_args)
        self.ppn = ppn
        self.environ = dict(environ or {})
        self.reason = reason
        self.pack = pack or Packing()
        self.pool: SeatPool | None = None
        if self.pack.packs and self.name == "none":  # a workstation's seats
            self.pool = SeatPool([socket.gethostname()], "this host", self.pack)

    def __str__(self) -> str:
        return f"launcher: {self.name}: {self.reason}"

    @property
    def hosts(self) -> list[str]:
        """All the hosts of the pool (none without one)."""
        return self.pool.hosts if self.pool else []

    @property
    def free(self) -> list[str]:
        """The pool's free seats' hosts, in allocation order."""
        return self.pool.free if self.pool else []

    def ranks(self, parallelism: int) -> int:
        """Ranks of one task: PARALLELISM nodes x ppn."""
        return parallelism * self.ppn

    def check(self, parallelism: int, concurrency: int) -> None:
        """Raise LaunchError if the allocation cannot hold the tasks.

        The pool's hosts count where there is a pool; else the job's node
        count from the first of `size_variables` that is set.
        """
        if self.pool:
            self.pool.check(parallelism, concurrency)
            return
        source, have = _int_env(self.environ, self.size_variables)
        if have is None:
            _too_small(parallelism, concurrency, 2**62, "", self.pack.tasks_per_node)
        else:
            _too_small(parallelism, concurrency, have,
                       f"the {self.scheduler} job has ({source})", self.pack.tasks_per_node)

    def fits(self, parallelism: int) -> int | None:
        """How many tasks of `parallelism` nodes the allocation holds at once (None:
        unknown, no pool and no node count in the job's variables)."""
        if self.pool:
            return self.pool.fits(parallelism)
        _, have = _int_env(self.environ, self.size_variables)
        return None if have is None else _fits(parallelism, have, self.pack.tasks_per_node)

    def room(self, parallelism: int) -> int | None:
        """How many tasks could start now (None: no pool, the scheduler places)."""
        return self.pool.room(parallelism) if self.pool else None

    def acquire(self, parallelism: int, avoid: Collection[str] = ()) -> Placement:
        """Reserve a seat for one task, off the hosts in `avoid` (None: the
        scheduler places it, or no free seat is off them)."""
        return self.pool.acquire(parallelism, avoid) if self.pool else None

    def release(self, placement: Placement) -> None:
        """Give back what acquire() reserved."""
        if self.pool and placement:
            self.pool.release(placement)

    def prefix(self, parallelism: int, placement: Placement) -> list[str]:
        """The argv words that launch what follows on the task's nodes."""
        return []

    def launch(self, parallelism: int, placement: Placement) -> Launch:
        """The argv prefix and the environment of one task.

        The environment names the task's hosts (TASK_HOSTS) and, on a
        shared node, pins its devices with the machine's variable.
        """
        env = {"TASK_HOSTS": ",".join(placement.hosts) if placement else ""}
        machine = self.pack.machine
        if placement and placement.devices and machine.device_variable:
            env[machine.device_variable] = ",".join(placement.devices)
            env.update(machine.device_env)
        return Launch(self.prefix(parallelism, placement), env)


class AprunLauncher(Launcher):
    """ALPS aprun (Cobalt on Theta): ALPS places each aprun itself."""

    name = "aprun"
    program = "aprun"
    scheduler = COBALT.name
    size_variables = COBALT.size_variables

    def prefix(self, parallelism: int, placement: Placement) -> list[str]:
        return ["aprun", "-n", str(self.ranks(parallelism)),
                "-N", str(self.ppn)] + self.launcher_args


class SrunLauncher(Launcher):
    """Slurm srun: each task a job step on its own nodes.

    In a job, the pool is SLURM_JOB_NODELIST and each step is confined to
    its group with --nodelist; --exact gives the step only the CPUs its
    ranks ask for (add e.g. --cpus-per-task in launcher_args).
    """

    name = "srun"
    program = "srun"
    scheduler = SLURM.name
    size_variables = SLURM.size_variables

    def __init__(self, launcher_args: Sequence[str] = (), ppn: int = 1,
                 environ: Mapping[str, str] | None = None,
                 reason: str = "", pack: Packing | None = None) -> None:
        super().__init__(launcher_args, ppn, environ, reason, pack)
        nodelist, variable = SLURM.nodes(self.environ)
        if nodelist:
            self.pool = SeatPool(expand_hostlist(nodelist), variable, self.pack)

    def prefix(self, parallelism: int, placement: Placement) -> list[str]:
        words = ["srun", "--nodes", str(parallelism),
                 "--ntasks", str(self.ranks(parallelism)),
                 "--ntasks-per-node", str(self.ppn), "--exact"]
        if placement:
            words += ["--nodelist", ",".join(placement.hosts)]
            if placement.cores:
                words.append(f"--cpus-per-task={max(1, len(placement.cores) // self.ppn)}")
            if placement.devices and not self.pack.machine.device_variable:
                share = len(placement.devices)
                words.append(f"--gpus-per-task={share // self.ppn}" if share % self.ppn == 0
                             else f"--gpus={share}")
        return words + self.launcher_args


class MpiexecLauncher(Launcher):
    """mpiexec (Cray PALS on PBS; MPICH's Hydra takes the same flags).

    In a PBS job, the pool is the unique hosts of PBS_NODEFILE, in file
    order.  The flags -n, --ppn and --hosts h1,h2 mean the same to PALS
    and to Hydra (which accepts one or two dashes).
    """

    name = "mpiexec"
    program = "mpiexec"

    def __init__(self, launcher_args: Sequence[str] = (), ppn: int = 1,
                 environ: Mapping[str, str] | None = None,
                 reason: str = "", pack: Packing | None = None) -> None:
        super().__init__(launcher_args, ppn, environ, reason, pack)
        self.nodefile, variable = PBS.nodes(self.environ)
        if self.nodefile:
            self.pool = SeatPool(read_nodefile(self.nodefile), variable, self.pack)

    def prefix(self, parallelism: int, placement: Placement) -> list[str]:
        words = ["mpiexec", "-n", str(self.ranks(parallelism)),
                 "--ppn", str(self.ppn)]
        if placement:
            words += ["--hosts", ",".join(placement.hosts)]
            if placement.cores and self.pack.machine.cores:  # PALS only (Hydra has no list:)
                words += ["--cpu-bind", cpu_bind_list(list(placement.cores), self.ppn)]
        return words + self.launcher_args


CLASSES: dict[str, type[Launcher]] = {
    "none": Launcher,
    "aprun": AprunLauncher,
    "srun": SrunLauncher,
    "mpiexec": MpiexecLauncher,
}

# The one list of launcher names (Config.py asks for it).
LAUNCHERS = ("auto", *CLASSES)



def read_nodefile(path: str) -> list[str]:
    """The unique host names of a PBS_NODEFILE, in file order."""
    try:
        with open(path) as fp:
            lines = fp.read().split()
    except OSError as e:
        raise LaunchError(f"PBS_NODEFILE {path}: cannot read: "
                          f"{e.strerror}") from None
    hosts = list(dict.fromkeys(lines))
    if not hosts:
        raise LaunchError(f"PBS_NODEFILE {path}: lists no hosts")
    return hosts


def _split_top(text: str) -> list[str]:
    """Split a hostlist at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0 or depth > 1:
            raise LaunchError(f"SLURM_JOB_NODELIST {text!r}: bad brackets")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise LaunchError(f"SLURM_JOB_NODELIST {text!r}: bad brackets")
    return parts + [text[start:]]


def _expand_range(text: str, ranges: str) -> list[str]:
    """The numbers of a bracket's ranges ("1-3,07"), zero-padded as given."""
    numbers = []
    for item in ranges.split(","):
        low, dash, high = item.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise LaunchError(f"SLURM_JOB_NODELIST {text!r}: bad range "
                              f"{item!r}")
        width = len(low)
        numbers += [str(n).zfill(width)
                    for n in range(int(low), int(high or low) + 1)]
    return numbers


def expand_hostlist(text: str) -> list[str]:
    """Slurm's compact host list ("nid[001-003,007],login1") as names."""
    hosts = []
    for part in _split_top(text.strip()):
        if not part:
            continue
        pieces = re.split(r"\[([^\]]*)\]", part)
        choices = [[p] if i % 2 == 0 else _expand_range(text, p)
                   for i, p in enumerate(pieces)]
        hosts += ["".join(c) for c in itertools.product(*choices)]
    return hosts


def choose_launcher(name: str, launcher_args: Sequence[str], ppn: int,
                    environ: Mapping[str, str],
                    which: Which = shutil.which, *,
                    machine: Machine | None = None, tasks_per_node: int = 1,
                    gpus_per_node: int | None = None,
                    cpu_count: int | None = None) -> Launcher:
    """The launcher for cfg `launcher`, `launcher_args`, `ppn` on `machine`.

    Parameters
    ----------
    name : auto, none, aprun, srun or mpiexec (auto on a named machine:
        the machine's launcher)
    launcher_args : extra flags appended to the launcher's own
    ppn : ranks per node
    environ : the environment (batch job variables, node lists)
    which : finds a program on PATH (shutil.which)
    machine, tasks_per_node, gpus_per_node : how tasks share a node
        (Machines.py record, cfg keys); cpu_count: this host's CPUs

    Raises
    ------
    LaunchError : unknown name, bad ppn, a requested launcher not found,
        an unreadable node list, seats that cannot be made
    """
    _check_launch_settings(name, launcher_args, ppn)
    machine = machine or MACHINES["local"]
    pack = packing(machine, tasks_per_node, gpus_per_node, environ, cpu_count)
    if name == "none":
        return Launcher(launcher_args, ppn, environ,
                        "requested (launcher: none)", pack)
    if name == "auto" and not machine.generic:
        program = CLASSES[machine.launcher].program
        path = which(program) if program else ""
        if path is None:
            raise LaunchError(f"launcher {machine.launcher} of machine {machine.name} "
                              f"but {program} is not on PATH")
        return CLASSES[machine.launcher](
            launcher_args, ppn, environ,
            f"machine {machine.name} launches with {machine.launcher}"
            + (f", {program} found at {path}" if program else ""), pack)
    if name != "auto":
        program = CLASSES[name].program
        path = which(program)
        if path is None:
            raise LaunchError(f"launcher {name} requested but {program} "
                              "is not on PATH")
        return CLASSES[name](launcher_args, ppn, environ,
                             f"requested (launcher: {name}), "
                             f"{program} found at {path}", pack)
    return _of_the_job(launcher_args, ppn, environ, which, pack)


def _check_launch_settings(name: str, launcher_args: Sequence[str], ppn: int) -> None:
    """Refuse an unknown launcher name, a bad ppn or launcher_args (LaunchError)."""
    if name not in LAUNCHERS:
        raise LaunchError(f"launcher {name!r}: expected one of "
                          + ", ".join(LAUNCHERS))
    if isinstance(ppn, bool) or not isinstance(ppn, int) or ppn < 1:
        raise LaunchError(f"ppn {ppn!r}: expected an integer >= 1")
    if isinstance(launcher_args, str) or \
       not all(isinstance(a, str) for a in launcher_args):
        raise LaunchError(f"launcher_args {launcher_args!r}: "
                          "expected a list of strings")


def _of_the_job(launcher_args: Sequence[str], ppn: int, environ: Mapping[str, str],
                which: Which, pack: Packing) -> Launcher:
    """`launcher: auto` on a generic machine: the launcher of the first batch job's
    scheduler found (Schedulers.SCHEDULERS order), else none, saying why."""
    notes = []
    for scheduler in SCHEDULERS:  # auto: the launcher of the first job's scheduler
        job, chosen = scheduler.job(environ), scheduler.launcher
        if not job:
            continue
        path = which(chosen)
        job = f"{scheduler.name} job {job} ({scheduler.job_variable})"
        if path is None:
            notes.append(f"{job} but {chosen} is not on PATH")
            continue
        return CLASSES[chosen](launcher_args, ppn, environ,
                               f"{job} and {chosen} found at {path}", pack)
    if not notes:
        notes.append(f"no batch job ({job_variables()} unset)")
    return Launcher(launcher_args, ppn, environ, "; ".join(notes), pack)
