# TEST MACHINES
# The table of (machine, cfg) -> (argv, environment) for every preset, one
# task per GPU (tasks_per_node = the machine's devices), from the lines the
# facilities document (Polaris' set_affinity_gpu_polaris.sh, Aurora's
# 12-rank --cpu-bind list, Frontier's -c 7 per GCD, Perlmutter's
# --gpus-per-task=1); the auto choice; the launch limits.

import shlex

import pytest

import Machines
from Launcher import LaunchError, choose_launcher


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
