# SHIM PY
# Test shims for what cannot run here: Cobalt's qsub and cqwait (Theta),
# ALPS aprun, and PBS Pro's qsub and qstat (Polaris, Aurora).
# tests/shims/NAME runs 'shim.py NAME ARGS...': the shim appends its argv
# (NAME first) as one JSON list to the file named by $SHIM_LOG, then does
# the work here:
#   qsub    runs the job at once, with the job's environment (COBALT_* for
#           Cobalt, COBALT_ENDTIME from --time; PBS_JOBID and a PBS_NODEFILE
#           of the selected nodes, named from $SHIM_PBS_HOSTS or
#           pbs-node-1..., for PBS), output to the
#           job's log, and prints the job id.  PBS form: options, -- and the
#           command (run in $HOME, as PBS does); else the Cobalt form.
#           A PBS job also gets SHIM_PBS_STIME (its start, epoch seconds)
#           and SHIM_PBS_WALLTIME (its -l walltime=), for qstat. A PBS job
#           array (-J 0-N) prints ID[].shim-pbs and runs its jobs at once,
#           each with PBS_ARRAY_INDEX, PBS_JOBID ID[I].shim-pbs and its log
#           (-o's ^array_index^ replaced by I), each on the same nodes.
#   qstat   `qstat -f -F json JOBID` in PBS Pro's JSON form, only the fields
#           Walltime.py reads: "Jobs": {JOBID: {"stime": ctime text of
#           $SHIM_PBS_STIME, "Resource_List": {"walltime": $SHIM_PBS_WALLTIME}}}
#           (no walltime key when that is unset); a JOBID other than
#           $PBS_JOBID is "Unknown Job Id", exit code 153, as PBS Pro says.
#   cqwait  nothing to wait for: qsub ran the job before it returned.
#   aprun   runs the command as -n ranks at once, each with ALPS_APP_PE and
#           PMI_RANK set; exits with the largest exit code of the ranks.
#   pals    a stand-in for Cray PALS's mpiexec (Polaris, Aurora), which
#           tests/pals/mpiexec puts first on PATH: takes only the flags the
#           driver gives PALS (-n, --ppn, --hosts, --cpu-bind), refuses a
#           malformed `list:` binding or one whose rank count is not --ppn,
#           then runs the ranks with MPICH's Hydra mpiexec (the next on
#           PATH), each with PALS_STANDIN_CPU_BIND set to its cores (no
#           binding is done: this host has not Polaris's cores).
# These are shims for tests, not schedulers.

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import NoReturn

HERE = os.path.dirname(os.path.abspath(__file__))


def record(argv: list[str]) -> None:
    """Append argv (program name first) to $SHIM_LOG as one JSON line."""
    log = os.environ.get("SHIM_LOG")
    if log:
        with open(log, "a") as fp:
            fp.write(json.dumps(argv) + "\n")


def fail(message: str) -> NoReturn:
    """Exit 2 with the shim's error, like a scheduler refusing a command."""
    print(f"{NAME} (shim): error: {message}", file=sys.stderr)
    sys.exit(2)


def run(command: list[str], env: dict[str, str], log: str, cwd: str) -> int:
    """Run a job's command now, its output appended to log: exit code."""
    with open(log, "ab") as out:
        return subprocess.call(command, env=env, cwd=cwd, stdout=out,
                               stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)

COBALT_OPTIONS = ("--project", "--queue", "--nodecount", "--time",
                  "--output", "--error", "--env")
PBS_OPTIONS = ("-A", "-q", "-l", "-N", "-j", "-o", "-e", "-v", "-W", "-J")


def options(args: list[str], known: tuple[str, ...]
            ) -> tuple[list[tuple[str, str]], list[str]]:
    """Split args into (option, value) pairs and the command."""
    pairs = []
    while args and args[0].startswith("-"):
        if args[0] == "--":
            return pairs, args[1:]
        if args[0] not in known or len(args) < 2:
            fail(f"unknown option or missing value: {args[0]}")
        pairs.append((args[0], args[1]))
        args = args[2:]
    return pairs, args


def duration(text: str) -> int:
    """Seconds of a --time or walltime= value: [[HH:]MM:]SS (Cobalt: plain minutes)."""
    parts = [int(p) for p in text.split(":")]
    if len(parts) == 1:
        return parts[0] * 60
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))


def cobalt(args: list[str]) -> int:
    """Cobalt: qsub --option value ... COMMAND ARGS."""
    pairs, command = options(args, COBALT_OPTIONS)
    given = dict(pairs)
    for option in COBALT_OPTIONS:
        if option not in given:
            fail(f"this shim wants {option}")
    if not command:
        fail("no command")
    job = str(os.getpid())
    env = dict(os.environ, COBALT_JOBID=job,
               COBALT_PARTSIZE=given["--nodecount"],
               COBALT_JOBSIZE=given["--nodecount"],
               COBALT_STARTTIME=str(int(time.time())),
               COBALT_ENDTIME=str(int(time.time() + duration(given["--time"]))))
    for pair in re.split(r"(?<!\\):", given["--env"]):
        name, _, value = pair.partition("=")
        env[name] = value.replace("\\:", ":")
    print(job)
    sys.stdout.flush()
    run(command, env, given["--output"], os.getcwd())
    return 0


def pbs(args: list[str]) -> int:
    """PBS Pro: qsub -X value ... -- COMMAND ARGS."""
    pairs, command = options(args, PBS_OPTIONS)
    if not command:
        fail("no command after --")
    given = dict(pairs)
    nodes = None
    for option, value in pairs:
        match = re.match(r"select=(\d+)", value)
        if option == "-l" and match:
            nodes = int(match.group(1))
    if nodes is None or "-o" not in given:
        fail("this shim wants -l select=N:... and -o LOG")
    indexes = array_indexes(given["-J"]) if "-J" in given else [None]
    job = f"{os.getpid()}{'' if indexes == [None] else '[]'}.shim-pbs"
    names = os.environ.get("SHIM_PBS_HOSTS", "")
    hosts = names.split(",") if names else \
        [f"pbs-node-{i}" for i in range(1, nodes + 1)]
    with tempfile.NamedTemporaryFile("w", prefix="nodefile.", delete=False,
                                     dir=os.path.dirname(given["-o"])) as fp:
        fp.write("".join(f"{h}\n" for h in hosts[:nodes]))
    env = dict(os.environ, PBS_JOBID=job, PBS_NODEFILE=fp.name,
               PBS_O_WORKDIR=os.getcwd(), SHIM_PBS_STIME=str(int(time.time())))
    for option, value in pairs:
        if option == "-l" and value.startswith("walltime="):
            env["SHIM_PBS_WALLTIME"] = value.partition("=")[2]
    for pair in given.get("-v", "").split(","):
        name, _, value = pair.partition("=")
        if name:
            env[name] = value
    print(job)
    sys.stdout.flush()
    jobs = []
    for index in indexes:
        element = dict(env) if index is None else dict(
            env, PBS_ARRAY_INDEX=str(index), PBS_JOBID=job.replace("[]", f"[{index}]"))
        log = given["-o"].replace("^array_index^", str(index))
        with open(log, "ab") as out:
            jobs.append(subprocess.Popen(command, env=element, cwd=os.path.expanduser("~"),
                                         stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL))
    code = max(j.wait() for j in jobs)
    os.unlink(fp.name)
    return code if given.get("-W") == "block=true" else 0


def array_indexes(text: str) -> list[int]:
    """The indexes of a PBS job array's -J FIRST-LAST."""
    match = re.fullmatch(r"(\d+)-(\d+)", text)
    if match is None:
        fail(f"this shim takes -J FIRST-LAST, not {text!r}")
    return list(range(int(match.group(1)), int(match.group(2)) + 1))


def qstat(args: list[str]) -> int:
    """PBS Pro's `qstat -f -F json JOBID`: the job's start and walltime."""
    if args[:3] != ["-f", "-F", "json"] or len(args) != 4:
        fail("this shim takes: qstat -f -F json JOBID")
    job = args[3]
    if job != os.environ.get("PBS_JOBID") or "SHIM_PBS_STIME" not in os.environ:
        print(f"qstat: Unknown Job Id {job}", file=sys.stderr)
        return 153
    record: dict = {"job_state": "R", "stime": time.ctime(int(os.environ["SHIM_PBS_STIME"])),
                    "Resource_List": {"ncpus": 1, "place": "scatter"}}
    if os.environ.get("SHIM_PBS_WALLTIME"):
        record["Resource_List"]["walltime"] = os.environ["SHIM_PBS_WALLTIME"]
    print(json.dumps({"timestamp": int(time.time()), "pbs_version": "shim",
                      "pbs_server": "shim-pbs", "Jobs": {job: record}}, indent=4))
    return 0


def qsub(args: list[str]) -> int:
    """PBS if the command follows --, else Cobalt."""
    return pbs(args) if "--" in args else cobalt(args)


# aprun options that take a value; the others are flags
VALUED = {"-n", "-N", "-d", "-cc", "-j", "-e", "-L", "-S", "-sl", "-sn",
          "-ss", "-m", "-p", "-t", "-F", "-r", "-a"}
FLAGS = {"-b", "-q", "-T"}


def aprun(args: list[str]) -> int:
    """Run the command as -n ranks."""
    given = {}
    while args and args[0].startswith("-"):
        if args[0] in FLAGS:
            args = args[1:]
        elif args[0] in VALUED and len(args) >= 2:
            given[args[0]] = args[1]
            args = args[2:]
        else:
            fail(f"unknown option or missing value: {args[0]}")
    if not args:
        fail("no command")
    ranks = int(given.get("-n", "1"))
    children = [subprocess.Popen(args, env=dict(os.environ,
                                                ALPS_APP_PE=str(rank),
                                                PMI_RANK=str(rank),
                                                PMI_SIZE=str(ranks)))
                for rank in range(ranks)]
    return max(child.wait() for child in children)


CORES = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


def pals(args: list[str]) -> int:
    """Check PALS's flags, then run the ranks with Hydra."""
    given: dict[str, str] = {}
    while args and args[0].startswith("-"):
        flag, _, value = args[0].partition("=")
        if flag not in ("-n", "--ppn", "--hosts", "--cpu-bind"):
            fail(f"pals stand-in: unknown option {flag}")
        if not value:
            if len(args) < 2:
                fail(f"pals stand-in: {flag} needs a value")
            value, args = args[1], args[1:]
        given[flag] = value
        args = args[1:]
    if not args or "-n" not in given or "--hosts" not in given:
        fail("pals stand-in: usage: mpiexec -n N [--ppn P] --hosts H [--cpu-bind list:...] CMD")
    ppn = int(given.get("--ppn", "1"))
    bind = given.get("--cpu-bind", "")
    ranks: list[str] = []
    if bind:
        kind, _, lists = bind.partition(":")
        ranks = lists.split(":")
        if kind != "list" or not all(CORES.fullmatch(r) for r in ranks) or len(ranks) != ppn:
            fail(f"pals stand-in: --cpu-bind {bind}: expected list: and {ppn} core list(s)")
    itself = os.path.realpath(os.path.join(HERE, "pals"))
    hydra = shutil.which("mpiexec", path=os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if os.path.realpath(p) != itself))
    if hydra is None:
        fail("pals stand-in: no Hydra mpiexec on PATH")
    env = dict(os.environ, PALS_STANDIN_CPU_BIND=":".join(ranks))
    return subprocess.call([hydra, "-n", given["-n"], "--ppn", str(ppn),
                            "--hosts", given["--hosts"], *args], env=env)


def cqwait(args: list[str]) -> int:
    """The jobs have ended: qsub ran them."""
    if not args:
        fail("usage: cqwait JOBID...")
    return 0


SHIMS = {"qsub": qsub, "qstat": qstat, "cqwait": cqwait, "aprun": aprun, "pals": pals}
NAME = sys.argv[1] if len(sys.argv) > 1 else "shim"

if __name__ == "__main__":
    if NAME not in SHIMS:
        fail(f"usage: shim.py {{{'|'.join(SHIMS)}}} ARGS...")
    record(sys.argv[1:])
    sys.exit(SHIMS[NAME](sys.argv[2:]))
