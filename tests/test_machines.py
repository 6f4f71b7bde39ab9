# TEST MACHINES
# The table of (machine, cfg) -> (argv, environment) for every preset, one
# task per GPU (tasks_per_node = the machine's devices), from the lines the
# facilities document (Polaris' set_affinity_gpu_polaris.sh, Aurora's
# 12-rank --cpu-bind list, Frontier's -c 7 per GCD, Perlmutter's
# --gpus-per-task=1); the auto choice; the launch limits. The scheduler
# records (Schedulers.py): one detection order for the machine, the
# launcher and the walltime, each scheduler's variables, and its job's end.

import json
import shlex
import time

import pytest

import Machines
import Schedulers
import Walltime
from Launcher import LaunchError, choose_launcher

STAMP = "%Y-%m-%dT%H:%M:%S"


def which_all(program):
    return f"/usr/bin/{program}"


def nodefile(tmp_path, hosts):
    path = tmp_path / "nodefile"
    path.write_text("".join(f"{h}\n" for h in hosts))
    return str(path)


# machine, tasks_per_node, slot taken (the k-th acquire), LAUNCH, device env
TABLE = [
    ("polaris", 4, 0, "mpiexec -n 1 --ppn 1 --hosts n1 --cpu-bind list:0-7",
     {"CUDA_VISIBLE_DEVICES": "3"}),
    ("polaris", 4, 3, "mpiexec -n 1 --ppn 1 --hosts n1 --cpu-bind list:24-31",
     {"CUDA_VISIBLE_DEVICES": "0"}),
    ("polaris", 2, 1, "mpiexec -n 1 --ppn 1 --hosts n1 --cpu-bind list:16-31",
     {"CUDA_VISIBLE_DEVICES": "1,0"}),
    ("aurora", 12, 0, "mpiexec -n 1 --ppn 1 --hosts n1 --cpu-bind list:1-8",
     {"ZE_AFFINITY_MASK": "0.0", "ZE_ENABLE_PCI_ID_DEVICE_ORDER": "1"}),
    ("aurora", 12, 11, "mpiexec -n 1 --ppn 1 --hosts n1 --cpu-bind list:93-100",
     {"ZE_AFFINITY_MASK": "5.1", "ZE_ENABLE_PCI_ID_DEVICE_ORDER": "1"}),
    ("aurora", 6, 3, "mpiexec -n 1 --ppn 1 --hosts n1 --cpu-bind list:53-69",
     {"ZE_AFFINITY_MASK": "3.0,3.1", "ZE_ENABLE_PCI_ID_DEVICE_ORDER": "1"}),
    ("frontier", 8, 0, ("srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact "
                        "--nodelist n1 --cpus-per-task=7"), {"ROCR_VISIBLE_DEVICES": "4"}),
    ("frontier", 8, 7, ("srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact "
                        "--nodelist n1 --cpus-per-task=7"), {"ROCR_VISIBLE_DEVICES": "1"}),
    ("perlmutter", 4, 2, ("srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact "
                          "--nodelist n1 --cpus-per-task=32 --gpus-per-task=1"), {}),
]


@pytest.mark.parametrize("name,per,k,launch,devices", TABLE)
def test_one_task_per_device(tmp_path, name, per, k, launch, devices):
    machine = Machines.MACHINES[name]
    env = {"PBS_JOBID": "1", "PBS_NODEFILE": nodefile(tmp_path, ["n1", "n2"]),
           "SLURM_JOB_ID": "1", "SLURM_JOB_NODELIST": "n[1-2]"}
    launcher = choose_launcher("auto", [], 1, env, which_all, machine=machine,
                               tasks_per_node=per)
    assert launcher.name == machine.launcher
    slots = [launcher.acquire(1) for _ in range(per)]
    assert {s.hosts[0] for s in slots} == {"n1"}
    held = [d for s in slots for d in s.devices]
    assert len(held) == len(set(held)) == machine.gpus_per_node  # disjoint, all used
    cores = [c for s in slots for c in s.cores]
    assert len(cores) == len(set(cores)) and not set(cores) & set(machine.reserved)
    got = launcher.launch(1, slots[k])
    assert shlex.join(got.argv) == launch
    assert got.env == {"TASK_HOSTS": "n1", **devices}
    assert launcher.acquire(1).hosts == ["n2"]  # n1 full: the next node


def test_theta_runs_one_aprun_per_node():
    with pytest.raises(LaunchError) as info:
        choose_launcher("auto", [], 1, {}, which_all, machine=Machines.MACHINES["theta"],
                        tasks_per_node=2)
    assert str(info.value) == "tasks_per_node 2: theta runs one launch per node (expected 1)"


@pytest.mark.parametrize("environ,name,why", [
    ({"PBS_O_HOST": "polaris-login-02", "PBS_JOBID": "1"}, "polaris",
     "auto: PBS_O_HOST=polaris-login-02"),
    ({"PBS_O_HOST": "aurora-uan-0010"}, "aurora", "auto: PBS_O_HOST=aurora-uan-0010"),
    ({"LMOD_SYSTEM_NAME": "frontier", "SLURM_JOB_ID": "3"}, "frontier",
     "auto: LMOD_SYSTEM_NAME=frontier"),
    ({"NERSC_HOST": "perlmutter"}, "perlmutter", "auto: NERSC_HOST=perlmutter"),
    ({"HOSTNAME": "thetamom1", "COBALT_JOBID": "9"}, "theta", "auto: HOSTNAME=thetamom1"),
    ({"SLURM_JOB_ID": "3"}, "slurm", "auto: SLURM_JOB_ID set, no named machine recognised"),
    ({"PBS_JOBID": "3"}, "pbs", "auto: PBS_JOBID set, no named machine recognised"),
    ({"COBALT_JOBID": "3"}, "cobalt", "auto: COBALT_JOBID set, no named machine recognised"),
    ({}, "local", "auto: no batch job (COBALT_JOBID, SLURM_JOB_ID, PBS_JOBID unset)"),
])
def test_auto(environ, name, why):
    machine, reason = Machines.choose("auto", environ)
    assert (machine.name, reason) == (name, why)


def test_limits():
    notes, refusal = Machines.limits(Machines.MACHINES["theta"], 10, 1001)
    assert refusal == ("CONCURRENCY 1001 is more than the 1000 simultaneous launches "
                       "machine theta allows")
    notes, refusal = Machines.limits(Machines.MACHINES["frontier"], 50_000, 200)
    assert not refusal and len(notes) == 2
    assert "MaxStepCount" in notes[0] and "100 simultaneous" in notes[1]
    assert Machines.limits(Machines.MACHINES["polaris"], 10**6, 10**4) == ([], "")


# scheduler, a job's environment, its hosts (or node file) and the variable that
# gave them, its size variable, its CPU variable, the end command's answer, the end
SCHEDULER_JOBS = [
    (Schedulers.COBALT, {"COBALT_JOBID": "9", "COBALT_PARTSIZE": "128", "COBALT_JOBSIZE": "8",
                         "COBALT_ENDTIME": "1796500000"},
     ("", ""), "COBALT_JOBSIZE", "", None, (1796500000.0, "COBALT_ENDTIME")),
    (Schedulers.SLURM, {"SLURM_JOB_ID": "7", "SLURM_NODELIST": "n[1-2]", "SLURM_NNODES": "2",
                        "SLURM_JOB_CPUS_PER_NODE": "8(x2)", "SLURM_JOB_END_TIME": "1796500000"},
     ("n[1-2]", "SLURM_NODELIST"), "SLURM_NNODES", "SLURM_JOB_CPUS_PER_NODE", None,
     (1796500000.0, "SLURM_JOB_END_TIME")),
    (Schedulers.SLURM, {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "n1",
                        "SLURM_JOB_NUM_NODES": "1", "SLURM_CPUS_ON_NODE": "8"},
     ("n1", "SLURM_JOB_NODELIST"), "SLURM_JOB_NUM_NODES", "SLURM_CPUS_ON_NODE",
     "2026-12-06T10:00:00\n",
     (time.mktime(time.strptime("2026-12-06T10:00:00", STAMP)), "squeue -h -j 7 -o %e")),
    (Schedulers.PBS, {"PBS_JOBID": "1.pbs", "PBS_NODEFILE": "@NODEFILE@", "NCPUS": "8"},
     ("@NODEFILE@", "PBS_NODEFILE"), "", "NCPUS",
     json.dumps({"Jobs": {"1.pbs": {"stime": "Sun Dec  6 10:00:00 2026",
                                    "Resource_List": {"walltime": "01:00:00"}}}}),
     (time.mktime(time.strptime("Sun Dec 6 10:00:00 2026", "%a %b %d %H:%M:%S %Y")) + 3600,
      "qstat -f -F json 1.pbs")),
]


@pytest.mark.parametrize("scheduler,environ,nodes,size,cpus,answer,end", SCHEDULER_JOBS)
def test_scheduler_record(tmp_path, scheduler, environ, nodes, size, cpus, answer, end):
    """Each scheduler's job is detected from its variables, alike by the machine, the
    launcher and the walltime; its hosts, size, CPUs and end come from its record."""
    path = nodefile(tmp_path, ["n1"])
    environ = {k: v.replace("@NODEFILE@", path) for k, v in environ.items()}
    nodes = tuple(v.replace("@NODEFILE@", path) for v in nodes)
    assert Schedulers.detect(environ) is Schedulers.ending(environ) is scheduler
    machine, _ = Machines.choose("auto", environ)
    assert machine.name == scheduler.machine and machine.launcher == scheduler.launcher
    launcher = choose_launcher("auto", [], 1, environ, which_all)
    assert launcher.name == scheduler.launcher
    assert f"{scheduler.name} job {environ[scheduler.job_variable]} " \
        f"({scheduler.job_variable})" in launcher.reason
    assert scheduler.nodes(environ) == nodes
    assert next((v for v in scheduler.size_variables if v in environ), "") == size
    assert next((v for v in scheduler.core_variables if v in environ), "") == cpus
    assert Machines.node_cores(machine, environ, 1) == (8 if cpus else 0)
    calls = []

    def runner(argv, env):
        calls.append(argv)
        return answer
    assert Walltime.scheduler_end(environ, runner) == end
    assert len(calls) == (answer is not None)


@pytest.mark.parametrize("environ,name", [
    ({"COBALT_JOBID": "1", "SLURM_JOB_ID": "2", "PBS_JOBID": "3"}, "Cobalt"),
    ({"SLURM_JOB_ID": "2", "PBS_JOBID": "3"}, "Slurm"),
    ({"PBS_JOBID": "3", "COBALT_ENDTIME": "1796500000"}, "PBS"),  # the job's, not a stray end
    ({"COBALT_ENDTIME": "1796500000"}, "Cobalt"),  # only the end: it still tells the end
    ({"SLURM_JOB_END_TIME": "1796500000"}, "Slurm"),
])
def test_one_detection_order(environ, name):
    """The machine, the launcher and the walltime agree on the job's scheduler."""
    scheduler = Schedulers.ending(environ)
    assert scheduler is not None and scheduler.name == name
    detected = Schedulers.detect(environ)
    if detected is not None:
        assert detected is scheduler
        assert Machines.choose("auto", environ)[0].name == scheduler.machine
        assert choose_launcher("auto", [], 1, environ, which_all).name == scheduler.launcher


def test_the_walltime_asks_the_launchers_scheduler():
    """Cobalt and Slurm variables at once: the job is Cobalt's for the launcher, so its
    end is COBALT_ENDTIME (Walltime once asked Slurm first, and squeue)."""
    environ = {"COBALT_JOBID": "1", "COBALT_ENDTIME": "1796500000", "SLURM_JOB_ID": "2"}
    assert choose_launcher("auto", [], 1, environ, which_all).name == "aprun"
    assert Walltime.scheduler_end(environ, lambda argv, env: "UNLIMITED") == \
        (1796500000.0, "COBALT_ENDTIME")
