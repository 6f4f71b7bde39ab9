# OUTPUT LOCK
# One driver per OUTPUT. A driver takes OUTPUT/driver.lock before it writes
# anything there and removes it when it ends; a second driver (a run or a
# --resume) on a live OUTPUT is refused with one line naming the first one's
# host and pid. No flock: Lustre, GPFS and NFS may lack it. The lock is made
# the NFS-safe way: write a file of our own, hard-link it to driver.lock
# (atomic on every POSIX file system, NFS included), and trust the link
# count, not link()'s return, which a retransmitted NFS request can get
# wrong. Where hard links are refused, O_CREAT|O_EXCL does the same.
#
# A lock whose driver is gone never blocks a resume: on the same host, its
# pid is not running, or runs another program (a start time that differs);
# on another host, its heartbeat is old (the driver touches the lock every
# HEARTBEAT seconds from a daemon thread; STALE_AFTER without one is a dead
# driver). Threading: acquire() and release() run on the main thread; the
# heartbeat thread only calls os.utime on the lock. release() joins it, even
# when a stop signal's exception cuts the join short (it is raised after): a
# daemon thread that wakes while the interpreter finalizes can abort it
# (Python 3.11: "Fatal Python error: PyThreadState_Get ... finalizing").

import errno
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import Layout
from utils import UsageError, proc_stat, warn

# a lock (or heartbeat file) on another host untouched this long is a dead driver's:
# the lease; $ASYNC_LOCAL_LEASE (seconds) shortens it for tests
STALE_AFTER = float(os.environ.get("ASYNC_LOCAL_LEASE") or 600.0)
HEARTBEAT = min(60.0, STALE_AFTER / 10)  # seconds between two touches by its driver
JOIN_LIMIT = 10.0  # seconds release() waits for the heartbeat thread (a hung file system)


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (in clock ticks since boot), None if unknown."""
    fields = proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def holder_alive(holder: dict[str, Any], age: float) -> tuple[bool, str]:
    """Whether the driver that wrote `holder` still runs, and why we think so."""
    if holder.get("host") != socket.gethostname():
        if age < STALE_AFTER:
            return True, f"its heartbeat is {age:.0f} s old"
        return False, f"its heartbeat is {age:.0f} s old (> {STALE_AFTER:.0f} s)"
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False, "it names no pid"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, f"pid {pid} is not running"
    except PermissionError:
        pass
    started = holder.get("started")
    if started is not None and process_start(pid) not in (None, started):
        return False, f"pid {pid} is now another process"
    return True, f"pid {pid} is running"


def read_holder(path: str) -> tuple[dict[str, Any], float]:
    """The lock's content and its age in seconds ({} for an unreadable one)."""
    try:
        with open(path) as stream:
            age = time.time() - os.fstat(stream.fileno()).st_mtime
            holder = json.loads(stream.read() or "{}")
    except (OSError, ValueError):
        return {}, 0.0
    return (holder if isinstance(holder, dict) else {}), age


def held_by_another(output: str) -> bool:
    """True when a live driver other than this process holds OUTPUT's lock: its
    search is running (the driver's own end-of-run report is not)."""
    holder, age = read_holder(Layout.path(output, Layout.LOCK))
    if not holder or (holder.get("host"), holder.get("pid")) == (socket.gethostname(),
                                                                 os.getpid()):
        return False
    return holder_alive(holder, age)[0]


def _link(own: str, path: str) -> bool:
    """Make `path` our lock; False when another one is there."""
    try:
        os.link(own, path)
    except FileExistsError:
        return False
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        try:  # a file system without hard links
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as stream, open(own) as mine:
            stream.write(mine.read())
        return True
    if os.stat(own).st_nlink == 2:
        return True
    with open(own) as mine, open(path) as theirs:  # link() said yes: check it is ours
        return mine.read() == theirs.read()


class InUse(UsageError):
    """OUTPUT's lock is held by a live driver; `holder`: what its lock says."""

    def __init__(self, holder: dict[str, Any], message: str) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass
class OutputLock:
    """A held lock on an OUTPUT folder; release() it when the driver ends."""

    path: str
    content: str
    _stop: threading.Event = field(default_factory=threading.Event)
    _heartbeat: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        """Touch the lock every HEARTBEAT seconds until release()."""
        self._heartbeat = threading.Thread(target=self._beat, name="lock-heartbeat",
                                           daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                os.utime(self.path)
            except OSError:
                pass  # the folder went away; the run will say so

    def release(self) -> None:
        """Stop the heartbeat thread and remove the lock if it is still ours."""
        self._stop.set()
        cut: BaseException | None = None
        give_up = time.monotonic() + JOIN_LIMIT
        while self._heartbeat is not None and self._heartbeat.is_alive() and \
                time.monotonic() < give_up:
            try:
                self._heartbeat.join(max(0.0, give_up - time.monotonic()))
            except BaseException as err:  # noqa: BLE001 - a stop signal: raised below
                cut = cut or err
        self._remove()
        if cut is not None:
            raise cut

    def _remove(self) -> None:
        try:
            with open(self.path) as stream:
                if stream.read() == self.content:
                    os.unlink(self.path)
        except OSError:
            pass


def holder_content(**more: Any) -> str:
    """What a lock or heartbeat file says: this process's host, pid, start time and since
    when, with `more` (a joined driver's name)."""
    pid = os.getpid()
    return json.dumps({"host": socket.gethostname(), "pid": pid,
                       "started": process_start(pid),
                       "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **more}) + "\n"


def beat(path: str, content: str) -> OutputLock:
    """Write the heartbeat file `path` (a joined driver's) and keep touching it until
    release(), which removes it."""
    with open(path, "w") as stream:
        stream.write(content)
        stream.flush()
        os.fsync(stream.fileno())
    lock = OutputLock(path, content)
    lock.start_heartbeat()
    return lock


def is_alive(path: str) -> bool:
    """Whether the driver whose lock or heartbeat file is `path` still runs (no file: no)."""
    if not os.path.exists(path):
        return False
    holder, age = read_holder(path)
    return bool(holder) and holder_alive(holder, age)[0]


def acquire(output: str, **more: Any) -> OutputLock:
    """Take OUTPUT's lock (OUTPUT exists), or raise UsageError naming its holder.

    `more` goes into the lock's content (a joined driver: its name).
    """
    path = Layout.path(output, Layout.LOCK)
    host, pid = socket.gethostname(), os.getpid()
    content = holder_content(**more)
    own = f"{path}.{host}.{pid}"
    with open(own, "w") as stream:
        stream.write(content)
        stream.flush()
        os.fsync(stream.fileno())
    try:
        for _ in range(3):
            if _link(own, path):
                lock = OutputLock(path, content)
                lock.start_heartbeat()
                return lock
            holder, age = read_holder(path)
            alive, why = holder_alive(holder, age)
            who = f"the driver pid {holder.get('pid')} on host {holder.get('host')}" \
                if holder else "another driver"
            if alive:
                raise InUse(holder, f"OUTPUT {output}: in use by {who} (since "
                                 f"{holder.get('since', '?')}; {why}); wait for it to end, "
                                 f"or remove {path} if that driver is gone")
            warn(f"OUTPUT {output}: taking over the lock of {who}, which is gone ({why})")
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        raise UsageError(f"OUTPUT {output}: could not take {path}: other drivers keep "
                         "taking it")
    finally:
        try:
            os.unlink(own)
        except OSError:
            pass
