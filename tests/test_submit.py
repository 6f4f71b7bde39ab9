# TEST SUBMIT
# submit-theta.sh, submit-pbs.sh and submit-slurm.sh: a table pins every
# submit command line (-n prints it); Cobalt and PBS jobs then really run
# through the qsub, cqwait and aprun shims of tests/shims, which record their
# argv; the aprun lines are pinned by a table too.  Real Slurm: test_slurm.py.

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from launch_helpers import (
    MAIN,
    RANK_PROGRAM,
    ROOT,
    clean_env,
    launch_line,
    printed,
    rank_lines,
    results,
    task_text,
    write_cfg,
)


def submit(script: str, args: list[str], env: dict[str, str], cwd: Path
           ) -> subprocess.CompletedProcess:
    """Run a submit script; its output as text."""
    return subprocess.run([str(ROOT / script)] + args, env=env, cwd=cwd,
                          check=False,
                          capture_output=True, text=True, timeout=120)


def shim_calls(tmp_path: Path) -> list[list[str]]:
    """The argv of each shim call, in order."""
    log = tmp_path / "shim.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def job_sh(cwd: Path, *words: str) -> str:
    """The /bin/sh line that PBS and Slurm jobs run."""
    return f"cd {cwd} && exec {shlex.join(words)}"


# script, options, NODES PARALLELISM, main args, environment, the submit
# command line ({L}: the log, {O}: the output folder, {M}: main.sh and its
# arguments, {J}: the /bin/sh line that runs them in the submit folder)
COMMANDS = [
    ("submit-theta.sh", ["-A", "CSC249"], "4 2", [], {},
     ("qsub --project CSC249 --queue default --nodecount 4 --time 00:02:00 "
     "--output {L} --error {L} --env OUTPUT={O} {M}")),
    ("submit-theta.sh", [], "4 2", [], {"PROJECT": "fromenv"},
     ("qsub --project fromenv --queue default --nodecount 4 --time 00:02:00 "
     "--output {L} --error {L} --env OUTPUT={O} {M}")),
    ("submit-theta.sh", ["-q", "debug-cache-quad", "-w", "01:00:00", "-A",
                         "P", "-t", "7", "-W"], "128 8", ["-c", "uno-1.json"],
     {"DRYRUN": "1"},
     ("qsub --project P --queue debug-cache-quad --nodecount 128 "
     "--time 01:00:00 --output {L} --error {L} "
     "--env OUTPUT={O}:DRYRUN=1 {M}")),
    ("submit-theta.sh", ["-A", "P"], "5 2", [],
     {"PYTHON": sys.executable, "BENCHMARKS": "/b"},
     ("qsub --project P --queue default --nodecount 5 --time 00:02:00 "
     "--output {L} --error {L} "
     f"--env OUTPUT={{O}}:PYTHON={sys.executable}:BENCHMARKS=/b {{M}}")),
    ("submit-pbs.sh", ["-A", "CSC249"], "4 2", [], {},
     ("qsub -A CSC249 -q debug -l select=4:system=polaris -l place=scatter "
     "-l walltime=00:02:00 -l filesystems=home:eagle -N async-local -j oe "
     "-o {L} -v OUTPUT={O} -- /bin/sh -c {J}")),
    ("submit-pbs.sh", ["-q", "prod", "-w", "03:00:00", "-W", "-t", "100"],
     "10 1", ["-c", "cfg.json"],
     {"PROJECT": "P", "PBS_SYSTEM": "aurora", "DRYRUN": "1"},
     ("qsub -A P -q prod -l select=10:system=aurora -l place=scatter -l walltime=03:00:00 "
     "-l filesystems=home:flare -N async-local -j oe -o {L} "
     "-v OUTPUT={O},DRYRUN=1 -W block=true -- /bin/sh -c {J}")),
    ("submit-pbs.sh", ["-A", "P", "-s", "sophia"], "2 2", [], {},
     ("qsub -A P -q debug -l select=2:system=sophia -l place=scatter -l walltime=00:02:00 "
     "-l filesystems=home -N async-local -j oe -o {L} -v OUTPUT={O} "
     "-- /bin/sh -c {J}")),
    ("submit-pbs.sh", ["-A", "P", "-f", "home:eagle:grand"], "2 1", [],
     {"PBS_FILESYSTEMS": "home"},
     ("qsub -A P -q debug -l select=2:system=polaris -l place=scatter -l walltime=00:02:00 "
     "-l filesystems=home:eagle:grand -N async-local -j oe -o {L} "
     "-v OUTPUT={O} -- /bin/sh -c {J}")),
    ("submit-pbs.sh", ["-A", "P"], "2 1", [], {"PBS_FILESYSTEMS": "home"},
     ("qsub -A P -q debug -l select=2:system=polaris -l place=scatter -l walltime=00:02:00 "
     "-l filesystems=home -N async-local -j oe -o {L} "
     "-v OUTPUT={O} -- /bin/sh -c {J}")),
    ("submit-slurm.sh", [], "4 2", [], {},
     ("sbatch --parsable --nodes 4 --time 00:02:00 --signal=B:TERM@60 --exclusive "
     "--job-name async-local --output {L} --export=ALL,OUTPUT={O} "
     "--wrap {J}")),
    ("submit-slurm.sh", ["-A", "m1234", "-q", "regular", "-C", "gpu", "-w",
                         "00:30:00", "-W"], "8 4", ["-c", "c.json"],
     {"DRYRUN": "1"},
     ("sbatch --parsable --nodes 8 --time 00:30:00 --signal=B:TERM@60 --account m1234 "
     "--partition regular --constraint gpu --exclusive "
     "--job-name async-local --output {L} --export=ALL,OUTPUT={O},DRYRUN=1 "
     "--wait --wrap {J}")),
    ("submit-slurm.sh", ["-t", "3"], "1 1", [], {"PROJECT": "csc000"},
     ("sbatch --parsable --nodes 1 --time 00:02:00 --signal=B:TERM@60 --account csc000 "
     "--exclusive --job-name async-local --output {L} "
     "--export=ALL,OUTPUT={O} --wrap {J}")),
    ("submit-slurm.sh", [], "2 1", ["-c", "my cfg.json"], {},
     ("sbatch --parsable --nodes 2 --time 00:02:00 --signal=B:TERM@60 --exclusive "
     "--job-name async-local --output {L} --export=ALL,OUTPUT={O} "
     "--wrap {J}")),
]


@pytest.mark.parametrize("script,options,numbers,main_args,env,expected",
                         COMMANDS)
def test_command_table(tmp_path, script, options, numbers, main_args, env,
                       expected):
    nodes, parallelism = numbers.split()
    args = ["-n"] + options + [nodes, parallelism] + main_args
    if "-c" in main_args:  # the cfg main.sh's checks read before submitting
        (tmp_path / main_args[main_args.index("-c") + 1]).write_text("{}")
    result = submit(script, args, clean_env(tmp_path, python=False, **env), tmp_path)
    assert result.returncode == 0, result.stderr
    values = printed(result.stdout)
    output = values["OUTPUT"]
    assert output.startswith(f"{tmp_path}/output/")
    assert values["LOG"] == output + ".txt"
    assert (values["NODES"], values["PARALLELISM"]) == (nodes, parallelism)
    words = [MAIN] + main_args + \
        [values["PARALLELISM"], values["CONCURRENCY"], values["TASKS"]]
    line = shlex.split(expected.format(L=values["LOG"], O=output,
                                       M="{M}", J="{J}"))
    line = [w for word in line for w in
            (words if word == "{M}" else
             [job_sh(tmp_path, *words)] if word == "{J}" else [word])]
    assert shlex.split(values["SUBMIT"]) == line
    assert not (tmp_path / "output").exists()
    assert shim_calls(tmp_path) == []


@pytest.mark.parametrize("nodes,parallelism,tasks,concurrency,total", [
    ("1", "1", None, "1", "10"),
    ("4", "1", None, "4", "40"),
    ("4", "2", None, "2", "20"),
    ("5", "2", None, "2", "20"),
    ("512", "64", None, "8", "80"),
    ("6", "3", "9", "2", "9"),
])
def test_concurrency_and_tasks(tmp_path, nodes, parallelism, tasks,
                               concurrency, total):
    args = ["-n"] + (["-t", tasks] if tasks else []) + [nodes, parallelism]
    result = submit("submit-slurm.sh", args, clean_env(tmp_path, python=False), tmp_path)
    assert result.returncode == 0, result.stderr
    values = printed(result.stdout)
    assert (values["CONCURRENCY"], values["TASKS"]) == (concurrency, total)
    idle = int(nodes) % int(parallelism)
    assert ("node(s) idle" in result.stderr) == bool(idle)


@pytest.mark.parametrize("script,args,env,message", [
    ("submit-theta.sh", ["4", "2"], {},
     "no project: give -A PROJECT or set PROJECT"),
    ("submit-pbs.sh", ["4", "2"], {},
     "no project: give -A PROJECT or set PROJECT"),
    ("submit-slurm.sh", ["4"], {}, "expected NODES PARALLELISM"),
    ("submit-slurm.sh", ["four", "2"], {},
     "NODES 'four': expected an integer >= 1"),
    ("submit-slurm.sh", ["4", "0"], {},
     "PARALLELISM '0': expected an integer >= 1"),
    ("submit-slurm.sh", ["2", "4"], {},
     "PARALLELISM 4: expected at most NODES 2"),
    ("submit-slurm.sh", ["-t", "-1", "2", "1"], {},
     "TASKS '-1': expected an integer >= 1"),
    ("submit-slurm.sh", ["-w", "soon", "2", "1"], {},
     "WALLTIME 'soon': expected HH:MM:SS"),
    ("submit-slurm.sh", ["-x", "2", "1"], {}, "unknown option -x"),
    ("submit-theta.sh", ["-s", "polaris", "2", "1"], {"PROJECT": "P"},
     "unknown option -s"),
    ("submit-pbs.sh", ["-A"], {}, "option -A needs a value"),
    ("submit-pbs.sh", ["-A", "P", "2", "1"], {"PYTHON": "/a,b/python3"},
     "PYTHON '/a,b/python3': cannot hold ',' for PBS"),
    ("submit-theta.sh", ["-A", "P", "2", "1"], {"BENCHMARKS": "/x:y"},
     "BENCHMARKS '/x:y': cannot hold ':' for Cobalt"),
])
def test_bad_input(tmp_path, script, args, env, message):
    result = submit(script, args, clean_env(tmp_path, python=False, **env), tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{script}: error: {message}")
    assert not (tmp_path / "output").exists()
    assert shim_calls(tmp_path) == []


@pytest.mark.parametrize("script", ["submit-theta.sh", "submit-pbs.sh",
                                    "submit-slurm.sh"])
def test_help(tmp_path, script):
    result = submit(script, ["-h"], clean_env(tmp_path, python=False), tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(
        f"usage: {script} [-q QUEUE] [-w WALLTIME] [-A PROJECT] [-W]")
    assert "NODES PARALLELISM [main args...]" in result.stdout
    assert shim_calls(tmp_path) == []


# aprun through the shim: cfg ppn and launcher_args, PARALLELISM,
# NODES, the aprun command line before the rank program
APRUN = [
    (1, [], 1, 2, "aprun -n 1 -N 1"),
    (2, [], 1, 2, "aprun -n 2 -N 2"),
    (1, [], 2, 4, "aprun -n 2 -N 1"),
    (4, ["-cc", "depth", "-d", "16", "-j", "1"], 2, 2,
     "aprun -n 8 -N 4 -cc depth -d 16 -j 1"),
]


@pytest.mark.parametrize("ppn,launcher_args,parallelism,nodes,expected",
                         APRUN)
def test_theta_aprun_shims(tmp_path, ppn, launcher_args, parallelism, nodes,
                           expected):
    cfg = write_cfg(tmp_path, ppn=ppn, launcher_args=launcher_args)
    result = submit("submit-theta.sh",
                    ["-A", "P", "-W", "-t", "3", str(nodes), str(parallelism),
                     "-c", cfg], clean_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = printed(result.stdout)
    output = Path(values["OUTPUT"])
    calls = shim_calls(tmp_path)
    # qsub as printed, then aprun once per task, then cqwait for the job
    assert calls[0] == shlex.split(values["SUBMIT"])
    assert calls[-1] == ["cqwait", values["JOB"]]
    aprun = calls[1:-1]
    assert aprun == [shlex.split(expected) + [RANK_PROGRAM]] * 3
    log = Path(values["LOG"]).read_text()
    assert f"Cobalt job {values['JOB']} (COBALT_JOBID) and aprun found" in log
    assert " s from now; from COBALT_ENDTIME)" in log
    assert f"submit-theta.sh: job {values['JOB']}: OK" in result.stdout
    rows = results(output)
    assert sorted(int(r["id"]) for r in rows) == [0, 1, 2]
    assert {r["status"] for r in rows} == {"ok"}
    for row in rows:
        text = task_text(output, row["id"])
        assert launch_line(text) == expected
        ranks = rank_lines(text)
        assert sorted(int(r["rank"]) for r in ranks) == \
            list(range(parallelism * ppn))
    assert (output / "submit.txt").read_text().startswith(
        f"OUTPUT={output}\n")


def test_theta_dryrun_default_task(tmp_path):
    # the original's run: task.sh under DRYRUN=1, 2 x 10 tasks
    env = clean_env(tmp_path, PROJECT="P", DRYRUN="1")
    result = submit("submit-theta.sh", ["-W", "2", "1"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = printed(result.stdout)
    output = Path(values["OUTPUT"])
    assert values["CONCURRENCY"] == "2" and values["TASKS"] == "20"
    rows = results(output)
    assert len(rows) == 20 and {r["status"] for r in rows} == {"ok"}
    assert [c[0] for c in shim_calls(tmp_path)] == ["qsub", "cqwait"]
    assert "DRYRUN: would run: aprun -n 1 -N 1 " in task_text(output, 0)


@pytest.mark.parametrize("wait", [True, False])
def test_pbs_shim(tmp_path, wait):
    # PBS starts the job in $HOME: the job must change to the folder first
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(tmp_path, PROJECT="P", DRYRUN="1", HOME=str(home))
    args = (["-W"] if wait else []) + ["-t", "6", "4", "2"]
    result = submit("submit-pbs.sh", args, env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = printed(result.stdout)
    output = Path(values["OUTPUT"])
    assert output.parent == tmp_path / "output"
    # qsub, then the job's driver asks qstat when the job ends
    assert shim_calls(tmp_path) == [["qsub"] + shlex.split(values["SUBMIT"])[1:],
                                    ["qstat", "-f", "-F", "json", values["JOB"]]]
    assert ("-W" in shim_calls(tmp_path)[0]) == wait
    assert values["JOB"].endswith(".shim-pbs")
    rows = results(output)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    assert not (home / "output").exists()
    log = Path(values["LOG"]).read_text()
    assert "main.sh: OK" in log
    assert f" s from now; from qstat -f -F json {values['JOB']})" in log
    if shutil.which("mpiexec", path=env["PATH"]):
        assert f"PBS job {values['JOB']} (PBS_JOBID) and mpiexec" in log
        groups = set()
        for row in rows:
            text = task_text(output, row["id"])
            line = [x for x in text.splitlines() if x.startswith("DRYRUN:")]
            words = line[0].split()
            groups.add(words[words.index("--hosts") + 1])
        assert groups <= {"pbs-node-1,pbs-node-2", "pbs-node-3,pbs-node-4"}


def test_pbs_job_array_plan(tmp_path):
    """-a 3 -n: the qsub line asks for a job array (-J 0-2), each job's log named by its
    index; each job joins the one new search."""
    env = clean_env(tmp_path, python=False, PROJECT="P")
    result = submit("submit-pbs.sh", ["-n", "-a", "3", "-t", "6", "2", "1"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    values = printed(result.stdout)
    output = values["OUTPUT"]
    assert (values["JOBS"], values["CONCURRENCY"], values["TASKS"]) == ("3", "2", "6")
    assert values["LOG"] == output + ".job-^array_index^.txt"
    line = shlex.split(values["SUBMIT"])
    assert line[line.index("-J") + 1] == "0-2"
    assert line[-1] == job_sh(tmp_path, MAIN, "--join", "-o", output, "1", "2", "6")
    assert shim_calls(tmp_path) == [] and not (tmp_path / "output").exists()


def test_pbs_job_array_runs(tmp_path):
    """-a 3 for real, through the qsub shim (tests/shims/qsub, a test shim that runs the
    array's jobs at once): three drivers, one log each, one search of TASKS unique rows."""
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(tmp_path, PROJECT="P", DRYRUN="1", HOME=str(home))
    result = submit("submit-pbs.sh", ["-W", "-a", "3", "-t", "6", "2", "1"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = printed(result.stdout)
    output = Path(values["OUTPUT"])
    assert values["JOB"].endswith("[].shim-pbs")
    logs = sorted(output.parent.glob(f"{output.name}.job-*.txt"))
    assert [p.name for p in logs] == [f"{output.name}.job-{i}.txt" for i in range(3)]
    assert all("main.sh: OK" in p.read_text() for p in logs)
    drivers = sorted(p.name for p in (output / "drivers").iterdir())
    job = values["JOB"].split("[")[0]
    assert [d.split("-")[0] for d in drivers] == [f"{job}[{i}].shim" for i in range(3)]
    rows = [r for path in [output, *(output / "drivers").iterdir()]
            if (path / "results.csv").exists() for r in results(path)]
    assert sorted(int(r["id"]) for r in rows) == sorted({int(r["id"]) for r in rows})
    assert [r["status"] for r in rows] == ["ok"] * 6


def test_submit_failure(tmp_path):
    # a scheduler that refuses the job: its exit code, no JOB
    env = clean_env(tmp_path, PROJECT="P")
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    qsub = tmp_path / "qsub"
    qsub.write_text("#!/bin/sh\necho 'qsub: no such queue' >&2\nexit 3\n")
    qsub.chmod(0o755)
    for args in (["2", "1"], ["-W", "2", "1"]):
        result = submit("submit-theta.sh", args, env, tmp_path)
        assert result.returncode == 1
        assert "qsub: no such queue" in result.stderr
        assert "submit-theta.sh: FAIL: qsub exited with code: 3" in \
            result.stderr
        assert "JOB=" not in result.stdout


# -- WALLTIME's default, resuming in a new job (-r), GPUs for Slurm's steps ----------------

WARNING = "warning: WALLTIME left at its default 00:02:00 (the original's 2 minutes)"


@pytest.mark.parametrize("script,options", [
    ("submit-theta.sh", ["-A", "P"]), ("submit-pbs.sh", ["-A", "P"]), ("submit-slurm.sh", [])])
def test_default_walltime_warns(tmp_path, script, options):
    env = clean_env(tmp_path, python=False)
    result = submit(script, ["-n"] + options + ["2", "1"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"{script}: {WARNING}: give -w HH:MM:SS\n"
    result = submit(script, ["-n", "-w", "00:02:00"] + options + ["2", "1"], env, tmp_path)
    assert result.returncode == 0 and result.stderr == ""


def search_folder(tmp_path: Path) -> Path:
    """A folder that holds a search (what -r wants, and main.sh --resume takes up)."""
    folder = tmp_path / "output" / "first"
    folder.mkdir(parents=True)
    recorded = (ROOT / "tests" / "fixtures" / "output-b28be32" / "run.json").read_text()
    (folder / "run.json").write_text(recorded.replace("@BUNDLE@", str(ROOT)))
    (tmp_path / "c.json").write_text("{}")
    return folder


@pytest.mark.parametrize("script,options,main_args,expected", [
    ("submit-slurm.sh", [], [],
     ("sbatch --parsable --nodes 3 --time 01:00:00 --signal=B:TERM@60 --exclusive "
     "--job-name async-local --output {L} --export=ALL,OUTPUT={O} --wrap {J}")),
    ("submit-pbs.sh", ["-A", "P"], ["-c", "c.json", "1", "3", "40"],
     ("qsub -A P -q debug -l select=3:system=polaris -l place=scatter "
     "-l walltime=01:00:00 -l filesystems=home:eagle -N async-local -j oe -o {L} "
     "-v OUTPUT={O} -- /bin/sh -c {J}")),
    ("submit-theta.sh", ["-A", "P"], ["1", "3", "30"],
     ("qsub --project P --queue default --nodecount 3 --time 01:00:00 "
     "--output {L} --error {L} --env OUTPUT={O} {M}")),
])
def test_resume_in_a_new_job(tmp_path, script, options, main_args, expected):
    folder = search_folder(tmp_path)
    args = ["-n", "-w", "01:00:00", "-r", "output/first"] + options + ["3"] + main_args
    result = submit(script, args, clean_env(tmp_path, python=False), tmp_path)
    assert result.returncode == 0, result.stderr
    values = printed(result.stdout)
    assert values["OUTPUT"] == values["RESUME"] == str(folder)
    assert values["LOG"].startswith(f"{folder}.resume-") and values["LOG"].endswith(".txt")
    assert "PARALLELISM" not in values and "TASKS" not in values
    words = [MAIN, "--resume", "-o", str(folder)] + main_args
    line = shlex.split(expected.format(L=values["LOG"], O=folder, M="{M}", J="{J}"))
    line = [w for word in line for w in
            (words if word == "{M}" else
             [job_sh(tmp_path, *words)] if word == "{J}" else [word])]
    assert shlex.split(values["SUBMIT"]) == line
    assert sorted(p.name for p in folder.iterdir()) == ["run.json"]  # -n writes nothing


@pytest.mark.parametrize("args,message", [
    (["-r", "output/none", "2"], ("OUTPUT 'output/none': expected a search folder "
     "(run.json or results.csv)")),
    (["-r", "output/first"], "expected NODES [main args...] after -r OUTPUT"),
    (["-r", "output/first", "-t", "5", "2"], "-t: not with -r"),
    (["-r", "output/first", "x"], "NODES 'x': expected an integer >= 1"),
])
def test_resume_bad_input(tmp_path, args, message):
    search_folder(tmp_path)
    result = submit("submit-slurm.sh", args, clean_env(tmp_path, python=False), tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"submit-slurm.sh: error: {message}")


def test_pbs_resume_runs_the_search_on(tmp_path):
    # a first job of 6 tasks, then -r: the same search on to 10 tasks in a new job
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(tmp_path, PROJECT="P", DRYRUN="1", HOME=str(home))
    first = submit("submit-pbs.sh", ["-W", "-w", "00:10:00", "-t", "6", "2", "1"], env,
                   tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    output = Path(printed(first.stdout)["OUTPUT"])
    again = submit("submit-pbs.sh", ["-W", "-w", "00:10:00", "-r", str(output), "2",
                                     "1", "2", "10"], env, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    values = printed(again.stdout)
    assert values["OUTPUT"] == str(output)
    log = Path(values["LOG"])
    assert log.name.startswith(f"{output.name}.resume-")
    assert "main.sh: OK" in log.read_text()
    assert f"submit-pbs.sh: job {values['JOB']}: OK" in again.stdout
    rows = results(output)
    assert sorted(int(r["id"]) for r in rows) == list(range(10))
    assert {r["status"] for r in rows} == {"ok"}
    records = sorted(p.name for p in output.glob("submit*.txt"))
    assert records[0] == "submit.resume-" + log.name.split(".resume-")[1]
    assert records[1:] == ["submit.txt"]


@pytest.mark.parametrize("options,env,cfg,gpus", [
    ([], {}, None, None),
    (["-g", "4"], {}, None, "4"),
    (["-g", "0"], {"GPUS_PER_NODE": "4"}, None, None),
    ([], {"GPUS_PER_NODE": "8"}, {"gpus_per_node": 4}, "8"),
    ([], {}, {"gpus_per_node": 4}, "4"),
    ([], {}, {"gpus_per_node": 0}, None),
    ([], {}, {"machine": "perlmutter"}, "4"),  # Slurm pins its GPUs: the job asks for them
    ([], {}, {"machine": "perlmutter", "gpus_per_node": 2}, "2"),
    ([], {}, {"machine": "frontier"}, None),  # ROCR_VISIBLE_DEVICES: no --gpus needed
])
def test_slurm_gpus_for_the_steps(tmp_path, options, env, cfg, gpus):
    main_args = []
    if cfg is not None:
        (tmp_path / "c.json").write_text(json.dumps(cfg))
        main_args = ["-c", "c.json"]
    result = submit("submit-slurm.sh", ["-n", "-w", "1:00:00"] + options + ["2", "1"] +
                    main_args, clean_env(tmp_path, **env), tmp_path)
    assert result.returncode == 0, result.stderr
    words = shlex.split(printed(result.stdout)["SUBMIT"])
    if gpus is None:
        assert "--gpus-per-node" not in words
    else:
        assert words[words.index("--gpus-per-node") + 1] == gpus


def test_slurm_bad_gpus(tmp_path):
    result = submit("submit-slurm.sh", ["-n", "-g", "four", "2", "1"],
                    clean_env(tmp_path, python=False), tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == \
        "submit-slurm.sh: error: GPUS 'four': expected an integer >= 0"


# main.sh's checks before submitting: what the job would refuse is refused here, with
# main.sh's one line, exit 2, nothing submitted and no output folder
PRE_CHECKS = [
    (["-c", "nonexist.json"], None,
     "main.sh: error: cfg file nonexist.json: cannot read it: No such file or directory"),
    (["-c", "c.json"], {"script": "not-executable.sh"}, None),
    (["-c", "c.json"], {"machine": "polaris", "tasks_per_node": 3},
     "main.sh: error: launcher: gpus_per_node 4 does not divide among tasks_per_node 3"),
    (["-c", "c.json"], {"machine": "theta", "tasks_per_node": 2},
     "main.sh: error: launcher: tasks_per_node 2: theta runs one launch per node (expected 1)"),
    (["-c", "c.json", "1", "2", "4"], {}, None),  # numbers twice: main.sh's usage error
]


@pytest.mark.parametrize("script,options", [("submit-theta.sh", ["-A", "P"]),
                                            ("submit-pbs.sh", ["-A", "P"]),
                                            ("submit-slurm.sh", [])])
@pytest.mark.parametrize("main_args,cfg,error", PRE_CHECKS)
@pytest.mark.parametrize("dry", [True, False])
def test_refused_before_submitting(tmp_path, script, options, main_args, cfg, error, dry):
    if cfg is not None:
        (tmp_path / "c.json").write_text(json.dumps(cfg))
        (tmp_path / "not-executable.sh").write_text("#!/bin/sh\n")
    args = (["-n"] if dry else []) + options + ["-w", "00:10:00", "2", "1"] + main_args
    result = submit(script, args, clean_env(tmp_path), tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("main.sh: error: ")
    if error is not None:
        assert lines[0] == error
    assert "SUBMIT" not in result.stdout
    assert not (tmp_path / "output").exists()
    assert shim_calls(tmp_path) == []


@pytest.mark.parametrize("script,options,cfg,slot", [
    ("submit-pbs.sh", ["-A", "P"], {"machine": "polaris", "tasks_per_node": 4},
     ("slot 7: node2  LAUNCH='mpiexec -n 1 --ppn 1 --hosts node2 --cpu-bind list:24-31'  "
      "CUDA_VISIBLE_DEVICES=0")),
    ("submit-slurm.sh", [], {},
     ("slot 7: node8  LAUNCH='srun --nodes 1 --ntasks 1 --ntasks-per-node 1 --exact "
      "--nodelist node8'")),
    ("submit-theta.sh", ["-A", "P"], {}, "slot 7: (placed by aprun)  LAUNCH='aprun -n 1 -N 1'"),
])
def test_dry_run_prints_the_plan(tmp_path, script, options, cfg, slot):
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    result = submit(script, ["-n"] + options + ["-w", "00:10:00", "8", "1", "-c", "c.json"],
                    clean_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("slot ")][-1] == slot
    assert lines.index(slot) < lines.index(next(x for x in lines if x.startswith("SUBMIT: ")))
