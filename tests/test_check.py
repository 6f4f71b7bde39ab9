# TEST CHECK
# `main.sh --check`: for every machine preset, the plan printed for the
# first round is what the launcher gives the loop's tasks in a job of the
# same nodes (built here from a real node list, the way a job does); the
# documented Polaris and Aurora bindings; refusals (one line, exit 2);
# nothing written, nothing started.

import os
import shlex

import pytest
from conftest import run_main, write_cfg

import Machines
import Schedulers
from Launcher import choose_launcher


def which_all(program):
    return f"/usr/bin/{program}"


def per_node(machine):
    """Tasks per node of the preset's natural packing: one per device where it shares."""
    return machine.gpus_per_node if machine.shares_nodes and machine.gpus_per_node else 1


def check(tmp_path, cfg, args, env=None):
    path = write_cfg(tmp_path, cfg)
    return run_main(["--check", "-c", str(path), *args], env=env, via="main.py", cwd=tmp_path)


def job_plan(tmp_path, machine, per, nodes, concurrency):
    """The slot lines a job on nodes node1..nodeN gives the loop's first round."""
    hosts = [f"node{i + 1}" for i in range(nodes)]
    nodefile = tmp_path / "nodefile"
    nodefile.write_text("".join(f"{h}\n" for h in hosts))
    env = {"PBS_NODEFILE": str(nodefile), "SLURM_JOB_NODELIST": ",".join(hosts),
           "COBALT_JOBSIZE": str(nodes)}
    env.update({s.job_variable: "1" for s in Schedulers.SCHEDULERS if s.machine == machine.name})
    launcher = choose_launcher("auto", [], 1, env, which_all, machine=machine,
                               tasks_per_node=per, cpu_count=os.cpu_count())
    lines = []
    for slot in range(concurrency):
        launch = launcher.launch(1, launcher.acquire(1))
        hosts_text = launch.env.pop("TASK_HOSTS") or \
            (f"(placed by {launch.argv[0]})" if launch.argv else "this host")
        pinning = "".join(f" {k}={shlex.quote(v)}" for k, v in launch.env.items())
        lines.append(f"slot {slot}: {hosts_text}  "
                     f"LAUNCH={shlex.quote(shlex.join(launch.argv))}"
                     + (f" {pinning}" if pinning else ""))
    return lines


@pytest.mark.parametrize("name", list(Machines.MACHINES))
def test_every_preset_plans_what_a_job_gets(tmp_path, name):
    machine = Machines.MACHINES[name]
    per = per_node(machine)
    concurrency = 2 * per
    done = check(tmp_path, {"machine": name, "tasks_per_node": per},
                 ["--nodes", "2", "1", str(concurrency), str(2 * concurrency)])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    where = "this host" if name == "local" else "2 made-up node(s)"
    assert (f"check: OK: {concurrency} task(s) at once, {2 * concurrency} in all, each on "
            f"1 node(s); the first round on {where}:") in lines
    plan = [line for line in lines if line.startswith("slot ")]
    assert plan == job_plan(tmp_path, machine, per, 2, concurrency)
    assert sorted(os.listdir(tmp_path)) == ["cfg.json", "nodefile"]  # wrote nothing


def test_polaris_and_aurora_bindings(tmp_path):
    done = check(tmp_path, {"machine": "polaris", "tasks_per_node": 4},
                 ["--nodes", "2", "1", "8", "16"])
    plan = [line for line in done.stdout.splitlines() if line.startswith("slot ")]
    assert plan[0] == ("slot 0: node1  LAUNCH='mpiexec -n 1 --ppn 1 --hosts node1 "
                       "--cpu-bind list:0-7'  CUDA_VISIBLE_DEVICES=3")
    assert plan[7] == ("slot 7: node2  LAUNCH='mpiexec -n 1 --ppn 1 --hosts node2 "
                       "--cpu-bind list:24-31'  CUDA_VISIBLE_DEVICES=0")
    done = check(tmp_path, {"machine": "aurora", "tasks_per_node": 12}, ["1", "12", "24"])
    plan = [line for line in done.stdout.splitlines() if line.startswith("slot ")]
    assert len(plan) == 12
    assert plan[11] == ("slot 11: node1  LAUNCH='mpiexec -n 1 --ppn 1 --hosts node1 "
                        "--cpu-bind list:93-100'  ZE_AFFINITY_MASK=5.1 "
                        "ZE_ENABLE_PCI_ID_DEVICE_ORDER=1")


def test_in_a_job_the_plan_is_on_its_nodes(tmp_path):
    done = check(tmp_path, {"machine": "slurm", "launcher": "srun"}, ["1", "2", "4"],
                 env={"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "c[1-2]"})
    assert done.returncode == 0, done.stderr
    assert "the first round on the batch job's nodes:" in done.stdout
    assert "slot 1: c2  LAUNCH='srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact " \
        "--nodelist c2'" in done.stdout.splitlines()


@pytest.mark.parametrize("cfg,args,error", [
    ({"machine": "polaris", "tasks_per_node": 4}, ["--nodes", "1", "1", "8", "8"],
     ("main.sh: error: launcher: CONCURRENCY 8 needs 2 nodes at tasks_per_node 4 but "
      "--nodes lists 1 (NODES x tasks_per_node = 4)")),
    ({"machine": "theta"}, ["--nodes", "2000", "1", "1001", "1001"],
     ("main.sh: error: machine theta: CONCURRENCY 1001 is more than the 1000 simultaneous "
      "launches machine theta allows")),
    ({"machine": "polaris", "tasks_per_node": 3}, ["1", "3", "3"],
     "main.sh: error: launcher: gpus_per_node 4 does not divide among tasks_per_node 3"),
    ({"script": "no-such-task.sh"}, ["1", "1", "1"], None),
])
def test_refusals_are_one_line(tmp_path, cfg, args, error):
    done = check(tmp_path, cfg, args)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    if error is not None:
        assert done.stderr.strip() == error
    assert "slot " not in done.stdout
    assert sorted(os.listdir(tmp_path)) == ["cfg.json"]


def test_nodes_needs_check(tmp_path):
    done = run_main(["--nodes", "2"], via="main.py", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "main.sh: error: --nodes N draws the plan of --check: " \
        "give it with --check\n"


def test_check_through_main_sh(tmp_path):
    done = run_main(["--check", "1", "2", "4"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "slot 1: this host  LAUNCH=''" in done.stdout.splitlines()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("cfg,args,last", [
    ("digits-polaris.json", ["--nodes", "2", "1", "8", "64"],
     ("slot 7: node2  LAUNCH='mpiexec -n 1 --ppn 1 --hosts node2 --cpu-bind list:24-31'  "
      "CUDA_VISIBLE_DEVICES=0")),
    ("digits-aurora.json", ["1", "12", "48"],
     ("slot 11: node1  LAUNCH='mpiexec -n 1 --ppn 1 --hosts node1 --cpu-bind list:93-100'  "
      "ZE_AFFINITY_MASK=5.1 ZE_ENABLE_PCI_ID_DEVICE_ORDER=1")),
])
def test_the_example_cfgs_of_the_docs(cfg, args, last):
    done = run_main(["--check", "-c", cfg, *args])  # in the bundle, as the docs run it
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("slot ")][-1] == last
