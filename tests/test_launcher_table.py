# TEST LAUNCHER TABLE
# Pins every launcher command line, the auto choice and its reason,
# the PBS node pool, and the too-small and not-installed errors.

import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from Launcher import (
    AprunLauncher,
    Launcher,
    LaunchError,
    MpiexecLauncher,
    Seat,
    SrunLauncher,
    choose_launcher,
    expand_hostlist,
)

PATHS = {"aprun": "/opt/cray/alps/bin/aprun", "srun": "/usr/bin/srun",
         "mpiexec": "/opt/cray/pals/bin/mpiexec"}


def which_all(program):
    """Every launcher is installed."""
    return PATHS.get(program)


def which_none(program):
    """No launcher is installed."""
    return


# One row per launcher and option set:
# launcher, launcher_args, ppn, PARALLELISM, hosts (PBS placement), LAUNCH
COMMANDS = [
    ("none", [], 1, 1, None, ""),
    ("none", ["--cpu-bind", "depth"], 4, 2, None, ""),
    ("aprun", [], 1, 1, None, "aprun -n 1 -N 1"),
    ("aprun", [], 1, 4, None, "aprun -n 4 -N 1"),
    ("aprun", [], 64, 2, None, "aprun -n 128 -N 64"),
    ("aprun", ["-cc", "depth", "-d", "4", "-j", "1"], 16, 8, None,
     "aprun -n 128 -N 16 -cc depth -d 4 -j 1"),
    ("srun", [], 1, 1, None,
     "srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact"),
    ("srun", [], 1, 4, None,
     "srun --nodes 4 --ntasks 4 --ntasks-per-node 1 --exact"),
    ("srun", [], 8, 2, None,
     "srun --nodes 2 --ntasks 16 --ntasks-per-node 8 --exact"),
    ("srun", [], 1, 1, ["vm-1"],
     "srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact --nodelist vm-1"),
    ("srun", [], 2, 2, ["nid001234", "nid001235"],
     ("srun --nodes 2 --ntasks 4 --ntasks-per-node 2 --exact "
      "--nodelist nid001234,nid001235")),
    ("srun", ["-c", "7", "--gpus-per-task=1", "--gpu-bind=closest"], 8, 1,
     ["frontier00001"],
     ("srun --nodes 1 --ntasks 8 --ntasks-per-node 8 --exact "
      "--nodelist frontier00001 -c 7 --gpus-per-task=1 --gpu-bind=closest")),
    ("srun", ["--cpu-bind=cores", "--gpus-per-task=1"], 4, 3, None,
     ("srun --nodes 3 --ntasks 12 --ntasks-per-node 4 --exact "
     "--cpu-bind=cores --gpus-per-task=1")),
    ("mpiexec", [], 1, 1, None, "mpiexec -n 1 --ppn 1"),
    ("mpiexec", [], 4, 2, None, "mpiexec -n 8 --ppn 4"),
    ("mpiexec", [], 1, 1, ["x3001c0s7b0n0"],
     "mpiexec -n 1 --ppn 1 --hosts x3001c0s7b0n0"),
    ("mpiexec", [], 4, 2, ["x3001c0s7b0n0", "x3001c0s7b1n0"],
     "mpiexec -n 8 --ppn 4 --hosts x3001c0s7b0n0,x3001c0s7b1n0"),
    ("mpiexec", ["--depth=8", "--cpu-bind", "depth"], 4, 1, ["n1"],
     "mpiexec -n 4 --ppn 4 --hosts n1 --depth=8 --cpu-bind depth"),
    ("mpiexec", ["-launcher", "fork"], 2, 2, ["localhost", "127.0.0.1"],
     "mpiexec -n 4 --ppn 2 --hosts localhost,127.0.0.1 -launcher fork"),
]


@pytest.mark.parametrize("name,args,ppn,parallelism,hosts,expected",
                         COMMANDS)
def test_command_line(name, args, ppn, parallelism, hosts, expected):
    launcher = choose_launcher(name, args, ppn, {}, which_all)
    assert launcher.name == name
    launch = launcher.launch(parallelism, Seat(hosts) if hosts else None)
    assert all(isinstance(w, str) for w in launch.argv)
    assert shlex.join(launch.argv) == expected
    # whole nodes: no device variable; the hosts ("" where the scheduler places)
    assert launch.env == {"TASK_HOSTS": ",".join(hosts or [])}


def test_one_registry():
    # Config validates `launcher` against the registry's names, not its own copy
    import Config
    import Launcher
    assert Config.LAUNCHERS is Launcher.LAUNCHERS
    assert Launcher.LAUNCHERS == ("auto", *Launcher.CLASSES)


# env, installed programs, chosen launcher, reason
AUTO = [
    ({}, which_all, "none",
     "no batch job (COBALT_JOBID, SLURM_JOB_ID, PBS_JOBID unset)"),
    ({"HOME": "/home/u"}, which_none, "none",
     "no batch job (COBALT_JOBID, SLURM_JOB_ID, PBS_JOBID unset)"),
    ({"COBALT_JOBID": "412345"}, which_all, "aprun",
     ("Cobalt job 412345 (COBALT_JOBID) and aprun found at "
     "/opt/cray/alps/bin/aprun")),
    ({"SLURM_JOB_ID": "77"}, which_all, "srun",
     "Slurm job 77 (SLURM_JOB_ID) and srun found at /usr/bin/srun"),
    ({"PBS_JOBID": "123.polaris-pbs-01"}, which_all, "mpiexec",
     ("PBS job 123.polaris-pbs-01 (PBS_JOBID) and mpiexec found at "
     "/opt/cray/pals/bin/mpiexec")),
    ({"COBALT_JOBID": "1"}, which_none, "none",
     "Cobalt job 1 (COBALT_JOBID) but aprun is not on PATH"),
    ({"SLURM_JOB_ID": "77"}, which_none, "none",
     "Slurm job 77 (SLURM_JOB_ID) but srun is not on PATH"),
    ({"PBS_JOBID": "9.pbs"}, which_none, "none",
     "PBS job 9.pbs (PBS_JOBID) but mpiexec is not on PATH"),
    # Slurm job whose PATH has only mpiexec: srun missing, no PBS job
    ({"SLURM_JOB_ID": "5"}, lambda p: PATHS[p] if p == "mpiexec" else None,
     "none", "Slurm job 5 (SLURM_JOB_ID) but srun is not on PATH"),
    # Cobalt first, then Slurm, then PBS
    ({"COBALT_JOBID": "1", "SLURM_JOB_ID": "2", "PBS_JOBID": "3"},
     which_all, "aprun",
     ("Cobalt job 1 (COBALT_JOBID) and aprun found at "
     "/opt/cray/alps/bin/aprun")),
    ({"SLURM_JOB_ID": "2", "PBS_JOBID": "3"}, which_all, "srun",
     "Slurm job 2 (SLURM_JOB_ID) and srun found at /usr/bin/srun"),
    ({"COBALT_JOBID": "1", "PBS_JOBID": "3"},
     lambda p: PATHS[p] if p == "mpiexec" else None, "mpiexec",
     ("PBS job 3 (PBS_JOBID) and mpiexec found at "
     "/opt/cray/pals/bin/mpiexec")),
    ({"SLURM_JOB_ID": ""}, which_all, "none",
     "no batch job (COBALT_JOBID, SLURM_JOB_ID, PBS_JOBID unset)"),
]


@pytest.mark.parametrize("environ,which,name,reason", AUTO)
def test_auto(environ, which, name, reason):
    launcher = choose_launcher("auto", [], 1, environ, which)
    assert launcher.name == name
    assert launcher.reason == reason
    assert str(launcher) == f"launcher: {name}: {reason}"


@pytest.mark.parametrize("name,cls", [("none", Launcher),
                                      ("aprun", AprunLauncher),
                                      ("srun", SrunLauncher),
                                      ("mpiexec", MpiexecLauncher)])
def test_requested(name, cls):
    launcher = choose_launcher(name, [], 1, {"SLURM_JOB_ID": "1"}, which_all)
    assert type(launcher) is cls
    if name == "none":
        assert launcher.reason == "requested (launcher: none)"
    else:
        assert launcher.reason == (f"requested (launcher: {name}), "
                                   f"{name} found at {PATHS[name]}")


@pytest.mark.parametrize("name", ["aprun", "srun", "mpiexec"])
def test_requested_missing(name):
    with pytest.raises(LaunchError) as info:
        choose_launcher(name, [], 1, {}, which_none)
    assert str(info.value) == (f"launcher {name} requested but {name} "
                               "is not on PATH")


@pytest.mark.parametrize("name,args,ppn,message", [
    ("slurm", [], 1, ("launcher 'slurm': expected one of "
     "auto, none, aprun, srun, mpiexec")),
    ("srun", [], 0, "ppn 0: expected an integer >= 1"),
    ("srun", [], "2", "ppn '2': expected an integer >= 1"),
    ("srun", "--exact", 1,
     "launcher_args '--exact': expected a list of strings"),
    ("srun", [1], 1, "launcher_args [1]: expected a list of strings"),
])
def test_bad_settings(name, args, ppn, message):
    with pytest.raises(LaunchError) as info:
        choose_launcher(name, args, ppn, {}, which_all)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def nodefile(tmp_path, text):
    path = tmp_path / "nodefile"
    path.write_text(text)
    return {"PBS_JOBID": "1.pbs", "PBS_NODEFILE": str(path)}


def test_pbs_pool(tmp_path):
    # PBS lists a host once per rank on some systems: unique, in order
    env = nodefile(tmp_path, "n3\nn3\nn1\nn1\nn4\nn2\nn2\nn5\n")
    launcher = choose_launcher("auto", [], 2, env, which_all)
    assert launcher.hosts == ["n3", "n1", "n4", "n2", "n5"]
    launcher.check(2, 2)
    a = launcher.acquire(2)
    b = launcher.acquire(2)
    assert (a.hosts, b.hosts) == (["n3", "n1"], ["n4", "n2"])
    assert launcher.prefix(2, a) == \
        ["mpiexec", "-n", "4", "--ppn", "2", "--hosts", "n3,n1"]
    with pytest.raises(LaunchError) as info:
        launcher.acquire(2)
    assert str(info.value) == "no 2 free nodes: 1 of 5 are free"
    launcher.release(a)
    assert launcher.free == ["n3", "n1", "n5"]
    c = launcher.acquire(2)
    assert c.hosts == ["n3", "n1"]
    assert not set(c.hosts) & set(b.hosts)
    launcher.release(b)
    launcher.release(c)
    assert launcher.free == ["n3", "n1", "n4", "n2", "n5"]
    with pytest.raises(LaunchError):
        launcher.release(c)
    with pytest.raises(LaunchError):
        launcher.release(Seat(["elsewhere"]))
    launcher.release(None)


def test_pbs_pool_cycles(tmp_path):
    # many tasks through a pool of 6 nodes: groups never overlap
    env = nodefile(tmp_path, "".join(f"h{i}\n" for i in range(6)))
    launcher = choose_launcher("mpiexec", [], 1, env, which_all)
    launcher.check(2, 3)
    running = [launcher.acquire(2) for _ in range(3)]
    for step in range(20):
        done = running.pop(step % len(running))
        launcher.release(done)
        running.append(launcher.acquire(2))
        held = [h for group in running for h in group.hosts]
        assert len(held) == len(set(held)) == 6


@pytest.mark.parametrize("lines,parallelism,concurrency,message", [
    ("n1\nn2\nn3\nn4\n", 2, 8,
     ("CONCURRENCY 8 needs 16 nodes at PARALLELISM 2 but PBS_NODEFILE "
     "lists 4")),
    ("localhost\n" * 8, 1, 2,
     ("CONCURRENCY 2 needs 2 nodes at PARALLELISM 1 but PBS_NODEFILE "
     "lists 1")),
    ("n1\nn2\nn3\n", 4, 1,
     ("CONCURRENCY 1 needs 4 nodes at PARALLELISM 4 but PBS_NODEFILE "
     "lists 3")),
])
def test_pbs_too_small(tmp_path, lines, parallelism, concurrency, message):
    launcher = choose_launcher("auto", [], 1, nodefile(tmp_path, lines),
                               which_all)
    with pytest.raises(LaunchError) as info:
        launcher.check(parallelism, concurrency)
    assert str(info.value) == message


def test_pbs_nodefile_errors(tmp_path):
    env = {"PBS_JOBID": "1", "PBS_NODEFILE": str(tmp_path / "missing")}
    with pytest.raises(LaunchError) as info:
        choose_launcher("auto", [], 1, env, which_all)
    assert str(info.value).startswith(
        f"PBS_NODEFILE {env['PBS_NODEFILE']}: cannot read: ")
    with pytest.raises(LaunchError) as info:
        choose_launcher("auto", [], 1, nodefile(tmp_path, "\n\n"), which_all)
    assert str(info.value).endswith(": lists no hosts")


@pytest.mark.parametrize("text,hosts", [
    ("vm-1", ["vm-1"]),
    ("vm-[1-2]", ["vm-1", "vm-2"]),
    ("nid[001234-001236,001240]",
     ["nid001234", "nid001235", "nid001236", "nid001240"]),
    ("frontier[00009-00011],login1",
     ["frontier00009", "frontier00010", "frontier00011", "login1"]),
    ("a,b[8-10]", ["a", "b8", "b9", "b10"]),
    ("x[1-2]y[3,5]", ["x1y3", "x1y5", "x2y3", "x2y5"]),
    ("c[1,1,2]", ["c1", "c1", "c2"]),
])
def test_expand_hostlist(text, hosts):
    assert expand_hostlist(text) == hosts


@pytest.mark.parametrize("text", ["n[1-2", "n1-2]", "n[a-b]", "n[[1]]",
                                  "n[1-]"])
def test_expand_hostlist_bad(text):
    with pytest.raises(LaunchError) as info:
        expand_hostlist(text)
    assert str(info.value).startswith(f"SLURM_JOB_NODELIST {text!r}: bad ")


def test_slurm_pool():
    env = {"SLURM_JOB_ID": "8", "SLURM_JOB_NODELIST": "nid[001-004],nid007",
           "SLURM_JOB_NUM_NODES": "5"}
    launcher = choose_launcher("auto", [], 1, env, which_all)
    assert launcher.name == "srun"
    assert launcher.hosts == ["nid001", "nid002", "nid003", "nid004",
                              "nid007"]
    launcher.check(2, 2)
    with pytest.raises(LaunchError) as info:
        launcher.check(2, 3)
    assert str(info.value) == ("CONCURRENCY 3 needs 6 nodes at PARALLELISM "
                               "2 but SLURM_JOB_NODELIST lists 5")
    a = launcher.acquire(2)
    b = launcher.acquire(2)
    assert shlex.join(launcher.prefix(2, b)) == (
        "srun --nodes 2 --ntasks 2 --ntasks-per-node 1 --exact "
        "--nodelist nid003,nid004")
    launcher.release(a)
    assert launcher.acquire(3).hosts == ["nid001", "nid002", "nid007"]
    launcher.release(b)


def test_mpiexec_without_nodefile():
    # mpiexec outside PBS (a workstation): no pool, no hosts
    launcher = choose_launcher("mpiexec", [], 2, {}, which_all)
    launcher.check(4, 100)
    assert launcher.acquire(4) is None
    assert shlex.join(launcher.prefix(4, None)) == \
        "mpiexec -n 8 --ppn 2"
    launcher.release(None)


@pytest.mark.parametrize("name,environ,parallelism,concurrency,message", [
    ("srun", {"SLURM_JOB_ID": "1", "SLURM_JOB_NUM_NODES": "4"}, 2, 3,
     ("CONCURRENCY 3 needs 6 nodes at PARALLELISM 2 but the Slurm job has "
     "(SLURM_JOB_NUM_NODES) 4")),
    ("srun", {"SLURM_JOB_ID": "1", "SLURM_JOB_NODELIST": "n[1-3]",
              "SLURM_JOB_NUM_NODES": "3"}, 2, 2,
     ("CONCURRENCY 2 needs 4 nodes at PARALLELISM 2 but SLURM_JOB_NODELIST "
      "lists 3")),
    ("srun", {"SLURM_JOB_ID": "1", "SLURM_NNODES": "1"}, 1, 2,
     ("CONCURRENCY 2 needs 2 nodes at PARALLELISM 1 but the Slurm job has "
     "(SLURM_NNODES) 1")),
    ("aprun", {"COBALT_JOBID": "1", "COBALT_PARTSIZE": "128"}, 64, 4,
     ("CONCURRENCY 4 needs 256 nodes at PARALLELISM 64 but the Cobalt job "
     "has (COBALT_PARTSIZE) 128")),
    ("aprun", {"COBALT_JOBSIZE": "8", "COBALT_PARTSIZE": "128"}, 4, 4,
     ("CONCURRENCY 4 needs 16 nodes at PARALLELISM 4 but the Cobalt job "
     "has (COBALT_JOBSIZE) 8")),
    ("none", {}, 0, 1, "PARALLELISM 0: expected an integer >= 1"),
    ("srun", {}, 1, 0, "CONCURRENCY 0: expected an integer >= 1"),
])
def test_too_small(name, environ, parallelism, concurrency, message):
    launcher = choose_launcher(name, [], 1, environ, which_all)
    with pytest.raises(LaunchError) as info:
        launcher.check(parallelism, concurrency)
    assert str(info.value) == message


@pytest.mark.parametrize("name,environ", [
    ("srun", {"SLURM_JOB_NUM_NODES": "4"}),
    ("srun", {}),
    ("aprun", {"COBALT_PARTSIZE": "4"}),
    ("none", {}),
])
def test_fits(name, environ):
    launcher = choose_launcher(name, [], 1, environ, which_all)
    launcher.check(2, 2)
    assert launcher.acquire(2) is None
    launcher.release(None)
