# SPAWN COST PY
# Benchmark: what a wake-up's spawns cost the loop, beside CPU hogs. The
# loop sleeps, then starts a batch of k tasks the way Task.launch does
# (subprocess.Popen of benchmarks/sleep-task.sh: argv, cwd, env, output
# file, a session of its own: a vfork, whose caller waits until the child
# has exec'd). Per spawn, the time Popen held its caller; per wake-up,
# when the last of its spawns was done (the k-th replacement waits for
# the k-1 before it). Ways to spawn: `serial` (the loop's), `threads` (a
# pool of 4 threads: the GIL is free while a vfork waits, so they overlap),
# `pinned` (the calling thread pinned to its CPU around each Popen; the
# child inherits the pin: a probe of the scheduler, never for tasks),
# `slice` (the calling thread asks for a 0.1 ms slice, sched_setattr,
# reset on fork). The hogs run in the spawner's session, or each in its
# own (--hogs-apart); --fitter adds a busy SCHED_BATCH process, as the
# fitting process is, in the spawner's session or in its own. First it
# checks that the GIL is free while a vfork waits: a second thread noting
# the time in a loop, does it run inside the spawns (beside one hog)?
#   python3 benchmarks/spawn_cost.py [--hogs 0 1] [--ways serial threads pinned slice]

import argparse
import bisect
import concurrent.futures
import contextlib
import ctypes
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, SLEEP_TASK, banner, clean_up, cpu_hogs, ms, table

WAYS = ("serial", "threads", "pinned", "slice")
THREADS = 4  # the `threads` way's pool
LIBC = ctypes.CDLL(None, use_errno=True)  # sched_getcpu, syscall (os has neither here)
SCHED_ATTR = struct.Struct("IIQiIQQQII")  # struct sched_attr (Linux 4.13+: 56 bytes)
SYS_SCHED_SETATTR, SYS_SCHED_GETATTR = 314, 315  # x86_64
RESET_ON_FORK = 0x01  # SCHED_FLAG_RESET_ON_FORK: the child gets the default slice back
SHORT_SLICE_NS = 100_000  # the shortest slice Linux 6.12+ grants a SCHED_OTHER thread
FITTERS = ("none", "driver", "own")  # where --fitter's busy process runs
Spawned = tuple[float, float, subprocess.Popen]  # Popen began, seconds it held, the process


@contextlib.contextmanager
def busy_fitter(where: str) -> Iterator[None]:
    """A busy SCHED_BATCH process (as the fitting process) in this session or its own."""
    if where == "none":
        yield
        return
    code = "import os; os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))\nwhile 1: pass"
    fitter = subprocess.Popen([sys.executable, "-c", code], start_new_session=where == "own")
    try:
        yield
    finally:
        fitter.kill()
        fitter.wait()


@contextlib.contextmanager
def short_slice() -> Iterator[None]:
    """This thread asks for SHORT_SLICE_NS (EEVDF's custom slice), its children do not."""
    old = ctypes.create_string_buffer(SCHED_ATTR.size)
    if LIBC.syscall(SYS_SCHED_GETATTR, 0, old, SCHED_ATTR.size, 0):
        raise OSError(ctypes.get_errno(), "sched_getattr")
    size, policy, _, nice, priority, *_ = SCHED_ATTR.unpack(old.raw)
    new = SCHED_ATTR.pack(size, policy, RESET_ON_FORK, nice, priority, SHORT_SLICE_NS,
                          0, 0, 0, 0)
    if LIBC.syscall(SYS_SCHED_SETATTR, 0, ctypes.c_char_p(new), 0):
        raise OSError(ctypes.get_errno(), "sched_setattr (Linux 6.12+ takes a slice)")
    try:
        yield
    finally:
        LIBC.syscall(SYS_SCHED_SETATTR, 0, ctypes.c_char_p(old.raw), 0)


class Spawner:
    """Starts sleep-task.sh as Task.launch does, in folders under `root`."""

    def __init__(self, root: str, sleep: float) -> None:
        self.root = root
        self.count = 0
        self.env = dict(os.environ, OUTPUT=root, SLEEP_MIN=f"{sleep:.3f}", TASK_SLOT="0",
                        PARALLELISM="1", LAUNCH="")

    def spawn(self) -> Spawned:
        """Start one task."""
        self.count += 1
        folder = os.path.join(self.root, f"{self.count:06d}")
        os.makedirs(folder)
        env = dict(self.env, TASK_ID=str(self.count),
                   TASK_RESULT=os.path.join(folder, "result"))
        with open(os.path.join(folder, "out.txt"), "xb") as log:
            began = time.perf_counter()
            process = subprocess.Popen([SLEEP_TASK, "1", '{"x0": 0.5}'], cwd=folder, env=env,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            return began, time.perf_counter() - began, process

    def pinned(self) -> Spawned:
        """spawn() with this thread pinned to the CPU it runs on (the child inherits it)."""
        whole = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {LIBC.sched_getcpu()})
        try:
            return self.spawn()
        finally:
            os.sched_setaffinity(0, whole)


def gil_free_during_spawns(spawner: Spawner, count: int) -> tuple[int, int]:
    """Spawn `count` tasks beside one hog while a second thread notes the time in a loop:
    (vfork calls longer than 1 ms, those inside which the second thread ran Python).

    The calls are timed by wrapping subprocess's private `_fork_exec` (CPython's C
    fork_exec: all of Popen's vfork and its wait) for this probe only.
    """
    stamps: list[float] = []
    windows: list[tuple[float, float]] = []
    done = threading.Event()
    fork_exec = subprocess._fork_exec  # type: ignore[attr-defined]

    def timed(*args: object) -> int:
        began = time.perf_counter()
        try:
            return fork_exec(*args)
        finally:
            windows.append((began, time.perf_counter()))

    def note() -> None:
        while not done.is_set():
            stamps.append(time.perf_counter())

    with cpu_hogs(1):
        watcher = threading.Thread(target=note)
        watcher.start()
        subprocess._fork_exec = timed  # type: ignore[attr-defined]
        try:
            for _ in range(count):
                spawner.spawn()[2].wait()
        finally:
            subprocess._fork_exec = fork_exec  # type: ignore[attr-defined]
            done.set()
            watcher.join()
    margin = 0.0002  # seconds at each end of a call: its C code before and after the vfork
    long = [(a, b) for a, b in windows if b - a > 0.001]
    ran = sum(bisect.bisect_left(stamps, b - margin) > bisect.bisect_left(stamps, a + margin)
              for a, b in long)
    return len(long), ran


def run_batches(spawner: Spawner, way: str, batch: int, batches: int, pause: float
                ) -> tuple[list[float], list[float]]:
    """Spawn `batches` batches of `batch` tasks; (each Popen's seconds, each batch's span:
    from its wake-up until its last spawn returned)."""
    held, spans = [], []
    one: Callable[[], Spawned] = spawner.pinned if way == "pinned" else spawner.spawn
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(THREADS)) \
            if way == "threads" else None
        if way == "slice":
            stack.enter_context(short_slice())
        for _ in range(batches):
            time.sleep(pause)  # the loop asleep in select until tasks end
            began = time.perf_counter()
            if pool:
                spawned = list(pool.map(lambda _: one(), range(batch)))
            else:
                spawned = [one() for _ in range(batch)]
            spans.append(max(start + seconds for start, seconds, _ in spawned) - began)
            held += [seconds for _, seconds, _ in spawned]
            for _, _, process in spawned:
                process.wait()
    return held, spans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hogs", nargs="+", type=int, default=[0, 1],
                        help="busy processes beside the spawner, one setting per row (0 1)")
    parser.add_argument("--hogs-apart", action="store_true",
                        help="each hog in a session of its own (default: the spawner's)")
    parser.add_argument("--fitter", choices=FITTERS, default="none",
                        help="a busy SCHED_BATCH process in the spawner's session (driver) or "
                             "its own (own); default none")
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    parser.add_argument("--batch", type=int, default=8, help="spawns per wake-up (8)")
    parser.add_argument("--batches", type=int, default=40, help="wake-ups per row (40)")
    parser.add_argument("--pause", type=float, default=0.3,
                        help="seconds asleep between wake-ups (0.3; the tasks sleep 0.1)")
    args = parser.parse_args((["--hogs", "0", "1", "--batches", "3"] + sys.argv[1:])
                             if QUICK else None)
    banner(f"spawn_cost: {args.batch} spawns per wake-up (Popen of sleep-task.sh, as "
           f"Task.launch), hogs {'apart' if args.hogs_apart else 'in its session'}, "
           f"fitter: {args.fitter}")
    header = ["hogs", "way", "Popen p50 ms", "p99", "max", "wake-up span p50 ms", "p99", "max"]
    root = tempfile.mkdtemp(prefix="async-local-spawn-")
    rows = []
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    try:
        long, ran = gil_free_during_spawns(Spawner(os.path.join(root, "gil"), 0.0), 40)
        print(f"GIL: a second thread ran Python inside {ran} of the {long} vforks longer than "
              "1 ms (beside one hog): the GIL is " + ("free" if ran else "held")
              + " while a vfork waits", flush=True)
        for hogs in args.hogs:
            for way in args.ways:
                spawner = Spawner(os.path.join(root, f"{hogs}-{way}"), 0.1)
                with cpu_hogs(hogs, args.hogs_apart), busy_fitter(args.fitter):
                    held, spans = run_batches(spawner, way, args.batch, args.batches, args.pause)
                rows.append([hogs, way, *(ms(np.asarray(held), q) for q in (50, 99, 100)),
                             *(ms(np.asarray(spans), q) for q in (50, 99, 100))])
                print(table(header, rows[-1:]).splitlines()[-1], flush=True)
    finally:
        clean_up(root, False)
    print()
    print(table(header, rows))
    print(f"Popen: how long one spawn held its caller; wake-up span: from the wake-up until "
          f"its last spawn returned ({args.batch} per wake-up, {args.batches} wake-ups). "
          f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
