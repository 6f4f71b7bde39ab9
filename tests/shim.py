# SHIM PY
# Test shims for what cannot run here: Cobalt's qsub and cqwait (Theta),
# ALPS aprun, and PBS Pro's qsub (Polaris, Aurora).  tests/shims/NAME runs
# 'shim.py NAME ARGS...': the shim appends its argv (NAME first) as one JSON
# list to the file named by $SHIM_LOG, then does the work here:
#   qsub    runs the job at once, with the job's environment (COBALT_* for
#           Cobalt; PBS_JOBID and a PBS_NODEFILE of the selected nodes, named
#           from $SHIM_PBS_HOSTS or pbs-node-1..., for PBS), output to the
#           job's log, and prints the job id.  PBS form: options, -- and the
#           command (run in $HOME, as PBS does); else the Cobalt form.
#   cqwait  nothing to wait for: qsub ran the job before it returned.
#   aprun   runs the command as -n ranks at once, each with ALPS_APP_PE and
#           PMI_RANK set; exits with the largest exit code of the ranks.
# These are shims for tests, not schedulers.

import json
import os
import re
import subprocess
import sys
import tempfile
from typing import NoReturn


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
PBS_OPTIONS = ("-A", "-q", "-l", "-N", "-j", "-o", "-e", "-v", "-W")


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
               COBALT_JOBSIZE=given["--nodecount"])
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
    job = f"{os.getpid()}.shim-pbs"
    names = os.environ.get("SHIM_PBS_HOSTS", "")
    hosts = names.split(",") if names else \
        [f"pbs-node-{i}" for i in range(1, nodes + 1)]
    with tempfile.NamedTemporaryFile("w", prefix="nodefile.", delete=False,
                                     dir=os.path.dirname(given["-o"])) as fp:
        fp.write("".join(f"{h}\n" for h in hosts[:nodes]))
    env = dict(os.environ, PBS_JOBID=job, PBS_NODEFILE=fp.name,
               PBS_O_WORKDIR=os.getcwd())
    for pair in given.get("-v", "").split(","):
        name, _, value = pair.partition("=")
        if name:
            env[name] = value
    print(job)
    sys.stdout.flush()
    code = run(command, env, given["-o"], os.path.expanduser("~"))
    os.unlink(fp.name)
    return code if given.get("-W") == "block=true" else 0


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


def cqwait(args: list[str]) -> int:
    """The jobs have ended: qsub ran them."""
    if not args:
        fail("usage: cqwait JOBID...")
    return 0


SHIMS = {"qsub": qsub, "cqwait": cqwait, "aprun": aprun}
NAME = sys.argv[1] if len(sys.argv) > 1 else "shim"

if __name__ == "__main__":
    if NAME not in SHIMS:
        fail(f"usage: shim.py {{{'|'.join(SHIMS)}}} ARGS...")
    record(sys.argv[1:])
    sys.exit(SHIMS[NAME](sys.argv[2:]))
