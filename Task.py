# TASK PY
# One task: runs the task script as a background process in its own
# session (argv only, never a shell) and its own working directory
# (Layout.task_dir), owns its output file NNNN.txt there, kills its whole
# process group, reads back NNNN.result and logs how it ended.

import errno
import json
import math
import os
import platform
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import Layout
from Launcher import Placement
from Objectives import OBJECTIVE, SINGLE, Objectives
from Origin import Origin
from Status import Status
from utils import (
    UsageError,
    decimal_number,
    format_params,
    json_dumps,
    read_regular,
    say,
    shout,
    tail,
)

RESULT_BYTES = 65536  # a result file is a number or a small JSON object: read no more


class NoProcessLeft(Exception):
    """The task could not start for want of processes (EAGAIN: a pids cgroup, `ulimit -u`).

    Not the task's fault nor OUTPUT's: its folder is removed again, as if it
    had not been issued.
    """


@dataclass
class Outcome:
    """How a task ended: its Status, value and why."""

    status: Status
    objective: float | None = None
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # cfg `metrics` it reported


def read_result(path: str, metrics: Sequence[str] = (), key: str = OBJECTIVE
                ) -> tuple[float | None, str, dict[str, float]]:
    """Read a task's result file: (value, "", metrics) or (None, why it is not a result, {}).

    The file must be a regular file (a FIFO or device left there is refused
    without blocking) holding one number in ASCII decimal syntax
    (utils.decimal_number), or a JSON object (result_object, its objective
    under `key`); only its first RESULT_BYTES are read.
    """
    name = os.path.basename(path)
    try:
        data = read_regular(path, RESULT_BYTES)
    except FileNotFoundError:
        return None, f"no result file {name}", {}
    except OSError as err:
        return None, f"cannot read {name}: {err.strerror}", {}
    word = data.decode(errors="replace").strip()
    if not word:
        return None, f"empty result file {name}", {}
    try:
        if word.startswith("{"):
            value, found = result_object(word, metrics, key)
            return value, "", found
        return decimal_number(word), "", {}
    except ValueError as err:
        return None, f"result is {err}", {}


def result_object(text: str, metrics: Sequence[str], key: str = OBJECTIVE
                  ) -> tuple[float, dict[str, float]]:
    """The objective and the named `metrics` of a JSON result `{"objective": 0.1, "val_acc": 0.9}`.

    The objective, under `key` ("objective"; with cfg `objectives`, the
    first one's name: Objectives.result_key), must be a finite number; each
    of `metrics` found as a finite number is kept (a missing one leaves its
    results.csv cell empty); other keys are ignored.

    Raises
    ------
    ValueError
        Not a JSON object, or no finite number under `key` (the message
        completes "result is ...").
    """
    def not_finite(word: str) -> float:
        raise ValueError(f"not finite: {word!r} in a JSON object")

    try:
        found = json.loads(text, parse_constant=not_finite)
    except json.JSONDecodeError as err:
        raise ValueError(f"not a JSON object: {err.msg} at character {err.pos}") from None
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - the caller words ValueErrors

    def number(value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        value = float(value)
        return value if math.isfinite(value) else None

    objective = number(found.get(key))
    if objective is None:
        raise ValueError(f"a JSON object without a finite number under {json.dumps(key)} "
                         f"(got {str(found.get(key))[:60]!r})")
    return objective, {m: v for m in metrics if (v := number(found.get(m))) is not None}


def require_pidfd() -> None:
    """Refuse a kernel without pidfd_open (Linux < 5.3): the loop sleeps on pidfds.

    Raises
    ------
    UsageError
        One line naming the kernel and what is needed.
    """
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (OSError, AttributeError) as err:
        why = getattr(err, "strerror", None) or "not available"
        raise UsageError(f"this kernel (Linux {platform.release()}) gives no pidfd_open ({why}): "
                         "async-local needs Linux 5.3 or newer") from None


def why_not_started(err: BaseException, argv: list[str]) -> str:
    """One line saying why starting `argv` failed (the errno, in the task's terms)."""
    script = argv[0]
    number = getattr(err, "errno", None)
    if number == errno.ENOENT and getattr(err, "filename", script) == script:
        if not os.path.lexists(script):
            return f"cannot start: the task script {script} is gone"
        try:
            first = read_regular(script, 256).split(b"\n", 1)[0].decode(errors="replace")
        except OSError:
            first = ""
        if first.startswith("#!"):
            return f"cannot start: its interpreter is missing ({first[:200]})"
    if number == errno.ENOEXEC:
        return f"cannot start: {script} is not an executable format (no #! line?)"
    if number == errno.E2BIG:
        size = sum(len(a.encode()) + 1 for a in argv)
        return (f"cannot start: the parameters are too long for a command line "
                f"(E2BIG: {size} bytes of arguments)")
    text = getattr(err, "strerror", None) or str(err)
    where = getattr(err, "filename", None)
    return f"cannot start: {text}" + (f": {where}" if where else "")


def signal_name(number: int) -> str:
    """SIGTERM for 15, and so on."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class Task:
    """One execution of the objective function.

    Parameters
    ----------
    id : int
        The task number (NNNN in its file names).
    point : list
        The point in dimension order (as the Search knows it).
    params : dict
        The point as {name: plain value}: the JSON handed to the script.
    slot : int
        The concurrency lane it runs in (TASK_SLOT, results.csv's `slot`: the timeline).
    placement : Seat or None
        The seat the launcher acquired for it (Launcher.py; None where the
        scheduler places it).
    """

    id: int
    point: list[Any]
    params: dict[str, Any]
    slot: int
    placement: Placement = None
    process: subprocess.Popen | None = None
    pidfd: int = -1
    start: float = 0.0
    end: float = 0.0
    stop_reason: Status | None = None  # TIMEOUT, KILLED or PRUNED once the driver stops it
    kill_at: float = math.inf  # when SIGKILL follows SIGTERM
    returncode: int | None = None
    cannot_start: str = ""  # why the script could not be started (then no process)
    origin: Origin = Origin.RANDOM  # where its point came from: started.csv's `origin`
    first_hosts: tuple[str, ...] = ()  # a second try: the hosts its first try failed on at once
    retried: bool = False  # failed at once: its point is tried again elsewhere (BadNodes.py)
    launch_line: str = ""  # its LAUNCH: the launcher's command line (the debug log)

    @property
    def name(self) -> str:
        return Layout.task_name(self.id)

    def task_dir(self, output: str) -> str:
        return Layout.task_dir(output, self.id)

    def output_file(self, output: str) -> str:
        return Layout.output_file(output, self.id)

    def result_file(self, output: str) -> str:
        return Layout.result_file(output, self.id)

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else -1

    def launch(self, script: str, parallelism: int, output: str, env: dict[str, str]) -> None:
        """Start the script in the background: `SCRIPT PARALLELISM PARAMS`.

        It runs in its own new working directory (Layout.task_dir), which
        holds its output NNNN.txt and its result NNNN.result. Raises
        NoProcessLeft when the system allows no more processes, OSError when
        OUTPUT cannot take the task's files. It runs on a Spawner thread
        (Spawner.py) beside the other launches of its turn: it touches only
        this task and its own files.
        """
        env = dict(env)
        env.update(TASK_ID=str(self.id), TASK_RESULT=self.result_file(output),
                   PARALLELISM=str(parallelism), OUTPUT=output, TASK_SLOT=str(self.slot))
        argv = [script, str(parallelism), json_dumps(self.params)]
        folder = self.task_dir(output)
        os.makedirs(folder, exist_ok=True)  # made by the loop; an OSError is OUTPUT's: raised
        with open(self.output_file(output), "xb") as log:
            self.start = time.time()
            try:  # a session of its own: its own CPU group (in the loop's, the replacement
                # p99 doubled beside a hog) and no terminal to stop on (scale-results.md)
                self.process = subprocess.Popen(argv, cwd=folder, env=env,
                                                stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
            except BlockingIOError as err:  # EAGAIN: the system allows no more processes
                log.close()
                os.remove(self.output_file(output))
                os.rmdir(folder)
                raise NoProcessLeft(err.strerror or str(err)) from None
            except (OSError, subprocess.SubprocessError) as err:  # the script's fault
                self.end = time.time()
                self.cannot_start = why_not_started(err, argv)
                return
        try:
            self.pidfd = os.pidfd_open(self.process.pid)
        except OSError as err:  # no descriptor left to watch it: it cannot run
            self.signal_group(signal.SIGKILL)
            self.process.wait()
            self.process, self.end = None, time.time()
            self.cannot_start = f"cannot watch the task: {err.strerror}"

    def reap(self) -> bool:
        """Collect the exit status if the process has ended (never blocks)."""
        assert self.process is not None
        code = self.process.poll()
        if code is None:
            return False
        self.end = time.time()
        self.returncode = code
        self.signal_group(signal.SIGKILL)  # leftovers of the task die with it
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        return True

    def signal_group(self, number: int) -> None:
        """Send a signal to the task's whole process group (its own session)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, number)
        except (ProcessLookupError, PermissionError):
            pass

    def outcome(self, output: str, metrics: Sequence[str] = (),
                goals: Objectives = SINGLE) -> Outcome:
        """Classify the finished task: ok with its value (and `metrics`), or why not.

        A result without one of the `goals`' objectives is not ok; an ok one
        that breaks a constraint says so in its reason (it is infeasible).
        """
        if self.cannot_start:
            return Outcome(Status.FAILED, None, self.cannot_start)
        code = self.returncode
        if self.stop_reason:
            how = f"killed by {signal_name(-code)}" if code is not None and code < 0 \
                else f"exit code {code}"
            return Outcome(self.stop_reason, None, f"{self.stop_reason.stopped_as} ({how})")
        if code is not None and code < 0:
            return Outcome(Status.FAILED, None, f"killed by {signal_name(-code)}")
        if code:
            return Outcome(Status.FAILED, None, f"exit code {code}")
        value, why, found = read_result(self.result_file(output), metrics, goals.result_key)
        if value is None:
            return Outcome(Status.FAILED, None, why)
        missing = goals.missing(found)
        if missing:
            return Outcome(Status.FAILED, None, f"result has no finite {', '.join(missing)} "
                           "(an objective)")
        broken = goals.broken(found)
        why = "infeasible: breaks " + ", ".join(c.wording() for c in broken) if broken else ""
        return Outcome(Status.OK, value, why, found)

    def log_end(self, outcome: Outcome, output: str) -> None:
        """The log lines of the task's end: one for ok and pruned, else why and its last lines."""
        seconds = self.end - self.start
        params = format_params(self.params, self.params.values())
        if outcome.status is Status.OK:
            say("finished:", self.name, "pid", self.pid, f"objective={outcome.objective:.6g}",
                f"seconds={seconds:.2f}", params, *([f"({outcome.reason})"] if outcome.reason
                                                    else []))
            return
        if outcome.status is Status.PRUNED:
            say("pruned:  ", self.name, "pid", self.pid, f"last value={outcome.objective}",
                f"seconds={seconds:.2f}", params)
            return
        pid = f"pid {self.pid}" if self.process else "not started"
        shout(f"TASK {self.name} {outcome.status.upper()}: {outcome.reason} after {seconds:.2f} s"
              f" ({pid}, {params})")
        lines = self.output_tail(output)
        if lines:
            shout(f"  last lines of {self.output_file(output)}:")
            for line in lines:
                shout("  | " + line)

    def output_tail(self, output: str, lines: int = 5) -> list[str]:
        """The last lines of the task's output file."""
        return tail(self.output_file(output), lines)


def find_leftovers(output: str, ids: set[int]) -> dict[int, list[int]]:
    """Processes still running tasks of an earlier driver, by process group.

    Parameters
    ----------
    output : str
        The OUTPUT folder the tasks ran in.
    ids : set of int
        The numbers of the tasks that may still run.

    Returns
    -------
    dict
        Process group -> its pids, for every process whose environment holds
        this OUTPUT and one of these TASK_IDs (the driver gave both to the
        task, and its processes inherit them), so that a pid reused by an
        unrelated process is never hit.
    """
    want = os.path.realpath(output).encode()
    tags = {str(i).encode() for i in ids}
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as stream:
                items = stream.read().split(b"\0")
            env = dict(item.split(b"=", 1) for item in items if b"=" in item)
            if env.get(b"TASK_ID") not in tags or \
                    os.path.realpath(env.get(b"OUTPUT", b"")) != want:
                continue
            group = os.getpgid(int(entry))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        found.setdefault(group, []).append(int(entry))
    return found


def stop_groups(groups: dict[int, list[int]], grace: float) -> None:
    """SIGTERM process groups, wait up to `grace` s for their processes, SIGKILL the rest."""
    pidfds = []
    for pids in groups.values():
        for pid in pids:
            try:
                pidfds.append(os.pidfd_open(pid))
            except OSError:
                pass
    for group in groups:
        try:
            os.killpg(group, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    with selectors.DefaultSelector() as selector:
        for fd in pidfds:
            selector.register(fd, selectors.EVENT_READ)
        alive = len(pidfds)
        while alive and time.monotonic() < deadline:
            for key, _ in selector.select(deadline - time.monotonic()):
                selector.unregister(key.fd)
                alive -= 1
    for fd in pidfds:
        os.close(fd)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
