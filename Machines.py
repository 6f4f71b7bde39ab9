# MACHINES PY
# One small record per machine: its launcher, GPUs per node, the variable
# and order that pin a task to its devices, its cores (NUMA domains and
# the cores the system keeps) and its launch limits.
# Each record cites the facility documentation it was read from. Adding a
# machine is adding a record here and a row in tests/test_machines.py.
#
# cfg `machine: auto` picks a record with detect(): a named machine only
# where its own variable says so, else the generic record of the batch
# system the job runs under (Schedulers.py tells which), else `local`.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import Schedulers


@dataclass(frozen=True)
class Machine:
    """What the driver needs to know about one machine.

    name : the cfg `machine` value
    launcher : the launcher of `launcher: auto` on this machine
    gpus_per_node : the default of cfg `gpus_per_node`
    device_variable : the variable that pins a packed task to its devices
        ("" where Slurm pins them itself with --gpus-per-task)
    device_order : the devices in the order of the core domains they sit
        next to (slot k of a node gets the k-th share of this list)
    device_env : variables every task gets where devices are pinned
    cores : CPUs per node as the launcher counts them (0: read at run time)
    domains : core domains (sockets, NUMA or L3 regions) the cores form,
        in equal consecutive blocks
    reserved : cores the system keeps for itself (never given to a task)
    shares_nodes : whether two launches may share a node (ALPS: no)
    max_steps : launches one job may make (Slurm MaxStepCount), 0 none
    simultaneous : launches that may run at once, 0 no limit
    simultaneous_hard : True: more is refused; False: a warning
    launch_delay : the default of cfg `launch_delay` (pacing)
    detected_by : (variable, text it contains) pairs that name it for auto
    """

    name: str
    launcher: str
    gpus_per_node: int = 0
    device_variable: str = "CUDA_VISIBLE_DEVICES"
    device_order: tuple[str, ...] = ()
    device_env: Mapping[str, str] = field(default_factory=dict)
    cores: int = 0
    domains: int = 1
    reserved: tuple[int, ...] = ()
    shares_nodes: bool = True
    max_steps: int = 0
    simultaneous: int = 0
    simultaneous_hard: bool = False
    launch_delay: float = 0.0
    detected_by: tuple[tuple[str, str], ...] = ()

    @property
    def generic(self) -> bool:
        """A batch system's record, not a named machine's."""
        return not self.detected_by


SLURM_MAX_STEPS = 40_000  # slurm.conf MaxStepCount default (https://slurm.schedmd.com/slurm.conf.html#OPT_MaxStepCount)
# ALPS: at most 1,000 simultaneous aprun per job (Theta documentation below)
ALPS_SIMULTANEOUS = 1_000

MACHINES: dict[str, Machine] = {m.name: m for m in (
    # https://docs.alcf.anl.gov/polaris/running-jobs/ and its set_affinity_gpu_polaris.sh:
    # 4 A100, 32 cores in 4 NUMA domains of 8; GPU 3 sits nearest cores 0-7 (the script
    # gives local rank 0 GPU 3), so the device order is reversed. PBS Pro, mpiexec is PALS.
    Machine("polaris", "mpiexec", gpus_per_node=4, device_order=("3", "2", "1", "0"),
            cores=32, domains=4,
            detected_by=(("PBS_O_HOST", "polaris"),)),
    # https://docs.alcf.anl.gov/aurora/running-jobs-aurora/ (GPU tile binding with
    # ZE_AFFINITY_MASK=gpu.tile, gpu_tile_compact.sh): 6 PVC x 2 tiles = 12, 2 sockets of
    # 52 cores, cores 0 and 52 reserved for the OS; the documented 12-rank binding is
    # --cpu-bind=list:1-8:9-16:17-24:25-32:33-40:41-48:53-60:61-68:69-76:77-84:85-92:93-100.
    Machine("aurora", "mpiexec", gpus_per_node=12, device_variable="ZE_AFFINITY_MASK",
            device_order=tuple(f"{g}.{t}" for g in range(6) for t in range(2)),
            device_env={"ZE_ENABLE_PCI_ID_DEVICE_ORDER": "1"},
            cores=104, domains=2, reserved=(0, 52),
            detected_by=(("PBS_O_HOST", "aurora"),)),
    # https://docs.olcf.ornl.gov/systems/frontier_user_guide.html: 4 MI250X = 8 GCDs,
    # 64 cores in 8 L3 regions; low-noise mode reserves core 0 of each region (56 usable,
    # hence -c 7); GCDs nearest the regions 0..7 are 4,5,2,3,6,7,0,1. OLCF asks for a pause
    # between many sruns and warns past ~100 simultaneous job steps (the 0.1 s is ours).
    Machine("frontier", "srun", gpus_per_node=8, device_variable="ROCR_VISIBLE_DEVICES",
            device_order=("4", "5", "2", "3", "6", "7", "0", "1"),
            cores=64, domains=8, reserved=tuple(range(0, 64, 8)),
            max_steps=SLURM_MAX_STEPS, simultaneous=100, launch_delay=0.1,
            detected_by=(("LMOD_SYSTEM_NAME", "frontier"),)),
    # https://docs.nersc.gov/jobs/affinity/ and https://docs.nersc.gov/systems/perlmutter/
    # running-jobs/: GPU nodes have 4 A100 and 64 cores x 2 threads (srun -c counts the
    # 128 threads: -c 32 for 4 tasks); Slurm pins GPUs itself: --gpus-per-task=1.
    Machine("perlmutter", "srun", gpus_per_node=4, device_variable="",
            device_order=("0", "1", "2", "3"), cores=128, domains=4,
            max_steps=SLURM_MAX_STEPS,
            detected_by=(("NERSC_HOST", "perlmutter"),)),
    # https://docs.alcf.anl.gov/theta/queueing-and-running-jobs/job-and-queue-scheduling/
    # (retired 2023): Cobalt + ALPS, 64-core KNL, no GPUs; one aprun per node, at most
    # 1,000 simultaneous apruns per job.
    Machine("theta", "aprun", cores=64, shares_nodes=False,
            simultaneous=ALPS_SIMULTANEOUS, simultaneous_hard=True,
            detected_by=(("HOSTNAME", "theta"),)),
    # generic batch systems (Schedulers.py): GPUs only as cfg gpus_per_node says; cores
    # read at run time (the scheduler's core_variables); Slurm pins GPUs itself
    # (https://slurm.schedmd.com/srun.html#OPT_gpus-per-task with --exact).
    Machine(Schedulers.SLURM.machine, Schedulers.SLURM.launcher, device_variable="",
            max_steps=SLURM_MAX_STEPS),
    Machine(Schedulers.PBS.machine, Schedulers.PBS.launcher),
    Machine(Schedulers.COBALT.machine, Schedulers.COBALT.launcher, shares_nodes=False,
            simultaneous=ALPS_SIMULTANEOUS, simultaneous_hard=True),
    Machine("local", "none"),
)}

MACHINE_NAMES = ("auto", *MACHINES)


def detect(environ: Mapping[str, str]) -> tuple[Machine, str]:
    """The machine `auto` picks, and why (for the log's first line)."""
    for machine in MACHINES.values():
        for variable, text in machine.detected_by:
            value = environ.get(variable, "")
            if text in value.lower():
                return machine, f"{variable}={value}"
    scheduler = Schedulers.detect(environ)
    if scheduler is not None:
        return (MACHINES[scheduler.machine],
                f"{scheduler.job_variable} set, no named machine recognised")
    return MACHINES["local"], f"no batch job ({Schedulers.job_variables()} unset)"


def choose(name: str, environ: Mapping[str, str]) -> tuple[Machine, str]:
    """The record of cfg `machine` and why it was chosen."""
    if name == "auto":
        machine, why = detect(environ)
        return machine, f"auto: {why}"
    return MACHINES[name], "requested (machine: " + name + ")"


def node_cores(machine: Machine, environ: Mapping[str, str], cpu_count: int | None) -> int:
    """CPUs of one node: the record's, else the batch system's variable, else this host's."""
    if machine.cores:
        return machine.cores
    scheduler = Schedulers.for_machine(machine.name)
    for variable in scheduler.core_variables if scheduler else ():
        text = environ.get(variable, "").strip().split("(")[0].split(",")[0]  # "8(x2)"
        if text.isdigit() and int(text) > 0:
            return int(text)
    return (cpu_count or 0) if machine.name == "local" else 0


def split_cores(machine: Machine, cores: int, tasks_per_node: int) -> list[list[int]]:
    """The cores of each of a node's `tasks_per_node` slots (empty lists: unknown).

    Reserved cores are never given out. Slots follow the core domains: a
    slot takes whole domains when the domains divide among the slots,
    else each domain is split among its slots, else the usable cores are
    split evenly; every slot gets the same number of cores.
    """
    if not cores:
        return [[] for _ in range(tasks_per_node)]
    size = cores // machine.domains
    domains = [[c for c in range(d * size, (d + 1) * size) if c not in machine.reserved]
               for d in range(machine.domains)]
    if machine.domains % tasks_per_node == 0:
        per = machine.domains // tasks_per_node
        return [[c for d in domains[k * per:(k + 1) * per] for c in d]
                for k in range(tasks_per_node)]
    if tasks_per_node % machine.domains == 0:
        per = tasks_per_node // machine.domains
        width = min(len(d) for d in domains) // per
        return [d[j * width:(j + 1) * width] for d in domains for j in range(per)]
    usable = [c for d in domains for c in d]
    width = len(usable) // tasks_per_node
    return [usable[k * width:(k + 1) * width] for k in range(tasks_per_node)]


def split_devices(machine: Machine, gpus_per_node: int, tasks_per_node: int
                  ) -> list[list[str]]:
    """The devices of each slot of a node, in the machine's order."""
    order = list(machine.device_order)
    if len(order) != gpus_per_node:
        order = [str(i) for i in range(gpus_per_node)]
    share = gpus_per_node // tasks_per_node
    return [order[k * share:(k + 1) * share] for k in range(tasks_per_node)]


def cpu_bind_list(cores: list[int], ranks: int) -> str:
    """PALS `list:` binding: the slot's cores split among its ranks ("0-7" or "0-3:4-7")."""
    width = max(1, len(cores) // ranks)
    parts = []
    for r in range(ranks):
        mine = cores[r * width:(r + 1) * width] or cores[-1:]
        parts.append(_ranges(mine))
    return "list:" + ":".join(parts)


def _ranges(cores: list[int]) -> str:
    """0,1,2,3,8 as 0-3,8 (PALS list syntax: a rank's cores joined by commas)."""
    out: list[str] = []
    start = prev = cores[0]
    for c in cores[1:] + [-2]:
        if c == prev + 1:
            prev = c
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = c
    return ",".join(out)


def limits(machine: Machine, points_max: int, concurrency: int) -> tuple[list[str], str]:
    """The machine's launch limits against this run: (one-line warnings, a refusal or "")."""
    notes = []
    if machine.max_steps and points_max > machine.max_steps:
        notes.append(f"note: POINTS_MAX={points_max} is more than the {machine.max_steps} "
                     f"job steps one Slurm job may start (MaxStepCount, machine "
                     f"{machine.name}): later tasks fail to launch unless the site set it "
                     "higher; run the rest with --resume in a new job")
    if machine.simultaneous and concurrency > machine.simultaneous:
        text = (f"CONCURRENCY {concurrency} is more than the {machine.simultaneous} "
                f"simultaneous launches machine {machine.name} allows")
        if machine.simultaneous_hard:
            return notes, text
        notes.append(f"note: {text} without trouble (its documentation); consider "
                     "launch_delay or fewer tasks at once")
    return notes, ""
