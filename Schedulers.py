# SCHEDULERS PY
# One record per batch scheduler: the variables its jobs set (job id, node
# list, size, CPUs, end time), how else the job's end is found, the generic
# machine record (Machines.py) and the launcher of its jobs. The one home
# of these facts: Machines.detect, Launcher's `auto`, Walltime and the
# launchers' node pools ask here, and SCHEDULERS is the one detection
# order (first match wins). Adding a scheduler is a record here, its
# generic record in Machines.py and a row in tests/test_machines.py.
#
# Each record cites the scheduler documentation it was read from.

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scheduler:
    """What the driver reads from one batch scheduler's jobs.

    name : as the log names it ("Slurm")
    machine : its generic record in Machines.py
    launcher : the launcher of `launcher: auto` in its jobs
    job_variable : set in every job: the job id
    node_variables : the job's hosts, first set wins (a host list, or the
        path of a file with one host per line when `node_file`)
    node_file : node_variables name a file, not a list
    size_variables : the job's node count, first set wins
    core_variables : a node's CPUs, first set wins ("" where the machine
        record or the launcher knows them)
    end_variable : epoch seconds of the job's end ("" where none is set)
    end_command : the command that tells the job's end when end_variable
        is not set ("{job}" is the job id; Walltime.py reads its answer)
    """

    name: str
    machine: str
    launcher: str
    job_variable: str
    node_variables: tuple[str, ...] = ()
    node_file: bool = False
    size_variables: tuple[str, ...] = ()
    core_variables: tuple[str, ...] = ()
    end_variable: str = ""
    end_command: tuple[str, ...] = ()

    def job(self, environ: Mapping[str, str]) -> str:
        """This scheduler's job id in `environ` ("" when not in one of its jobs)."""
        return environ.get(self.job_variable, "")

    def nodes(self, environ: Mapping[str, str]) -> tuple[str, str]:
        """(the job's host list or node file, the variable it came from); ("", "") if none."""
        for variable in self.node_variables:
            if environ.get(variable, "").strip():
                return environ[variable], variable
        return "", ""


# Cobalt (ALCF Theta, retired 2023): https://trac.mcs.anl.gov/projects/cobalt and the
# Theta job-scheduling page: COBALT_JOBID, COBALT_PARTSIZE / COBALT_JOBSIZE (nodes),
# COBALT_ENDTIME (epoch seconds).
COBALT = Scheduler("Cobalt", "cobalt", "aprun", "COBALT_JOBID",
                   size_variables=("COBALT_JOBSIZE", "COBALT_PARTSIZE"),
                   end_variable="COBALT_ENDTIME")
# Slurm: https://slurm.schedmd.com/sbatch.html#SECTION_OUTPUT-ENVIRONMENT-VARIABLES
# (SLURM_JOB_NODELIST, SLURM_NODELIST its older name, SLURM_JOB_NUM_NODES / SLURM_NNODES,
# SLURM_CPUS_ON_NODE, SLURM_JOB_CPUS_PER_NODE "8(x2)"); SLURM_JOB_END_TIME from 23.02 on,
# else squeue's %e (https://slurm.schedmd.com/squeue.html#OPT_EndTime).
SLURM = Scheduler("Slurm", "slurm", "srun", "SLURM_JOB_ID",
                  node_variables=("SLURM_JOB_NODELIST", "SLURM_NODELIST"),
                  size_variables=("SLURM_JOB_NUM_NODES", "SLURM_NNODES"),
                  core_variables=("SLURM_CPUS_ON_NODE", "SLURM_JOB_CPUS_PER_NODE"),
                  end_variable="SLURM_JOB_END_TIME",
                  end_command=("squeue", "-h", "-j", "{job}", "-o", "%e"))
# PBS Pro (ALCF Polaris, Aurora): PBS Professional User's Guide, "Environment variables":
# PBS_JOBID, PBS_NODEFILE (one line per rank: hosts repeat), NCPUS; no end time in the
# environment: qstat's "stime" + Resource_List.walltime.
PBS = Scheduler("PBS", "pbs", "mpiexec", "PBS_JOBID",
                node_variables=("PBS_NODEFILE",), node_file=True,
                core_variables=("NCPUS",),
                end_command=("qstat", "-f", "-F", "json", "{job}"))

# The one detection order: the first scheduler whose job variable is set.
SCHEDULERS = (COBALT, SLURM, PBS)


def detect(environ: Mapping[str, str]) -> Scheduler | None:
    """The scheduler whose job this is (its job variable set), else None."""
    return next((s for s in SCHEDULERS if s.job(environ)), None)


def ending(environ: Mapping[str, str]) -> Scheduler | None:
    """The scheduler that can tell this job's end: detect()'s, else the first
    whose end variable alone is set (a job wrapper that passes on only that)."""
    return detect(environ) or next(
        (s for s in SCHEDULERS if s.end_variable and environ.get(s.end_variable)), None)


def for_machine(name: str) -> Scheduler | None:
    """The scheduler whose generic machine record is `name` (None: a named machine, local)."""
    return next((s for s in SCHEDULERS if s.machine == name), None)


def job_variables() -> str:
    """The job variables, in detection order, for "none of them set" messages."""
    return ", ".join(s.job_variable for s in SCHEDULERS)
