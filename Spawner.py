# SPAWNER PY
# Starts one turn's tasks at once: the loop hands it one call per task
# (Task.launch: its folder, its output file, Popen, pidfd_open) and gets
# back, in the same order, what each call raised (Raised; None: it returned).
# Popen is a vfork whose caller waits until the child runs the script, and a
# child waits for a core behind the tasks started before it; the GIL is
# free while it waits, so the calls of one turn overlap on a small pool of
# threads instead of queueing (benchmarks/spawn_cost.py: a wake-up's 8
# spawns done in half the time beside a CPU hog).
#
# Threading: run() and close() are the loop's; run() returns once every
# call has returned; each call runs on one pool thread and touches only its own
# task. Everything else (ids, lanes, seats, tickets, rows) stays on the
# loop's thread, in issue order. The threads start with the first turn
# of several tasks (a pids limit counts threads: those that cannot start
# are done without); with none, or for a single call, the calls run on
# the loop's thread.

import queue
import threading
from collections.abc import Callable, Sequence

SPAWN_THREADS = 4  # a wake-up's spawns overlap on this many threads
Raised = BaseException | None  # what a call raised, or None (it returned)


class Spawner:
    """Runs a turn's launch calls on a small pool of threads (started by the first turn
    of several calls)."""

    def __init__(self, threads: int = SPAWN_THREADS) -> None:
        self.wanted = threads
        self.calls: queue.SimpleQueue[tuple[Callable[[], None], int, queue.SimpleQueue]
                                      | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []

    def run(self, calls: Sequence[Callable[[], None]]) -> list[Raised]:
        """Run every call; return what each raised (None: it returned), in their order."""
        if len(calls) > 1 and self.wanted:
            self._start_threads()
        if len(calls) == 1 or not self.threads:
            return [_raised(call) for call in calls]
        done: queue.SimpleQueue[tuple[int, Raised]] = queue.SimpleQueue()
        for number, call in enumerate(calls):
            self.calls.put((call, number, done))
        raised: list[Raised] = [None] * len(calls)
        for _ in calls:
            number, error = done.get()
            raised[number] = error
        return raised

    def close(self) -> None:
        """End the pool's threads (no run() may be under way)."""
        for _ in self.threads:
            self.calls.put(None)
        for thread in self.threads:
            thread.join()
        self.threads = []

    def _start_threads(self) -> None:
        """Start the pool's threads, once (a pids limit counts threads: fewer, or none)."""
        for _ in range(self.wanted):
            thread = threading.Thread(target=self._serve, name="spawn", daemon=True)
            try:
                thread.start()
            except RuntimeError:
                break
            self.threads.append(thread)
        self.wanted = 0

    def _serve(self) -> None:
        while (item := self.calls.get()) is not None:
            call, number, done = item
            done.put((number, _raised(call)))


def _raised(call: Callable[[], None]) -> Raised:
    """What `call` raised, or None."""
    try:
        call()
    except Exception as err:  # noqa: BLE001 - handed back to the loop, which sorts them
        return err
    return None
