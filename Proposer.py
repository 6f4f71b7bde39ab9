# PROPOSER PY
# Keeps the next points ready: a background thread has the model fitted
# while tasks run (in a separate process, so the loop never waits for its
# GIL; a batch job that yields the cores to the loop and its tasks unless
# the fit is urgent: FitPriority), so that a finished
# task's slot is refilled at once instead of after a refit. The random
# initial phase stays synchronous (it is cheap). It counts the points the
# model chose (ModelShare) and says once in the log if it cannot keep up.
#
# Threads and processes, and who touches what:
#   loop thread      (Workflow) calls take / tell / fail / drop / failure /
#                    close; never waits for a fit.
#   lock             (Proposer.lock, a Condition) guards the Search and
#                    every field below; the loop and the thread hold it only
#                    to copy or change state, never during a fit.
#   proposer thread  waits on the lock for work (demand, reserve, stale
#                    points), takes a Search.snapshot(since) under it (the
#                    results the fitter holds left out: Held), sets the
#                    fitting process's priority by whether the fit is urgent
#                    (_urgent; take raises it when it becomes so), and fits
#                    outside it: Fitter.propose(snapshot, k); back under the
#                    lock it registers the points as pending, keeps them
#                    ready and wakes the loop (notify).
#   fitting process  one process (forkserver, a batch job in a session of
#                    its own whose nice value the driver sets, 0 for an
#                    urgent fit and 19 for one that can wait: FitPriority),
#                    started with FitSettings
#                    (problem, optimizer settings, lie: immutable, sent
#                    once); for each snapshot received (the results it has
#                    not had yet: Held) it returns Search.propose(snapshot
#                    made whole, k) and its CPU time. It ends
#                    when the driver closes it, or dies with the driver. If
#                    it breaks, the thread fits in the driver instead.
#
# Of Search, the Proposer uses under the lock: snapshot, register, ask,
# ask_random, tell, fail, drop, in_random_phase, pending, version and
# optimizer.Xi; outside it (thread or process) only propose(snapshot, k),
# which reads nothing but the settings and the snapshot.
#
# The order in which take(k) draws points:
#   1. ready   points proposed in the background (oldest first);
#   2. random  during the initial random phase, drawn on the spot (ask);
#   3. spare   the other candidates of the last fit, not pending, when the
#              ready ones ran out before the next fit landed;
#   4. bridge  while the very first fit after the random phase runs: the
#              initial design's next random points (never on a resume);
# and whatever is still missing is the demand the thread proposes next.

import dataclasses
import math
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any

from FitPriority import YIELDING, SessionNice, start_apart
from ModelShare import ModelShare
from Objectives import Told
from Origin import Origin
from Problem import Problem
from Search import Search, Snapshot
from Signals import STOP_SIGNALS
from utils import debug, warn

MIN_RESERVE = 2


@dataclass(frozen=True)
class FitSettings:
    """What the fitting process needs to propose points: sent once, never changed.

    Parameters
    ----------
    problem : Problem
        The search space.
    optimizer : tuple of (name, value)
        The keyword arguments of skopt.Optimizer, as the driver's Search
        has them (its random state included).
    lie : str
        The constant liar's value for pending points.
    objectives : int
        How many objectives a result has.
    """

    problem: Problem
    optimizer: tuple[tuple[str, Any], ...]
    lie: str
    objectives: int

    @classmethod
    def of(cls, search: Search) -> "FitSettings":
        """The settings of a Search (not its history)."""
        return cls(search.problem, tuple(search.kwargs.items()), search.lie, search.objectives)

    def search(self) -> Search:
        """A Search with these settings and no history: all propose() needs."""
        return Search(self.problem, dict(self.optimizer), self.lie, objectives=self.objectives)


def _exit_with(driver: int) -> None:
    """Wait for the driver process to end (even by SIGKILL), then end this one."""
    try:
        descriptor = os.pidfd_open(driver)
    except OSError:
        os._exit(0)
    select.select([descriptor], [], [])
    os._exit(0)


def _serve(settings: FitSettings, conn: Connection, driver: int) -> None:
    """The fitting process: one reply per (snapshot, k) received, until the pipe closes.

    It keeps the results received (Held): each snapshot brings the newer ones.

    Stop signals are the driver's to handle: it ends this process when it
    closes; a watcher thread ends it when the driver dies without closing
    (SIGKILL), so that no fitting process outlives its driver (so leaving
    the driver's session, FitPriority.start_apart, changes nothing else). A
    reply is ("points", points, cpu seconds) or ("error", the exception, cpu
    seconds).
    """
    threading.Thread(target=_exit_with, args=(driver,), name="driver-watch",
                     daemon=True).start()
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    start_apart()
    search = settings.search()
    held = Held()
    while True:
        try:
            snap, k = conn.recv()
        except (EOFError, OSError):
            return
        began = time.process_time()
        try:
            reply: tuple[str, Any, float] = ("points", search.propose(held.whole(snap), k), 0.0)
        except Exception as err:  # noqa: BLE001 - handed to the driver, which stops the run
            reply = ("error", err, 0.0)
        reply = (reply[0], reply[1], time.process_time() - began)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - an exception that cannot be sent as it is
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}"),
                       reply[2]))


class Held:
    """The results a fitter has been sent, so that the next snapshot need carry only newer ones.

    At 10,000 results a whole snapshot took 8 ms to copy under the lock and
    6 ms to send (the loop waited for both: the lock in take and tell, the
    GIL at its wake-ups); from the results the fitter holds on, both cost
    what the new results and the pending points cost (issue 22). Both ends
    keep one: the driver's serves the fits in the thread (and the fallback
    when the process fails), the fitting process's its own.
    """

    def __init__(self) -> None:
        self.X: list[list[Any]] = []
        self.y: list[float] = []
        self.vectors: list[tuple[float, ...]] = []  # several objectives' results

    def __len__(self) -> int:
        return len(self.y)

    def whole(self, snap: Snapshot) -> Snapshot:
        """`snap` with the results held before its own, which are held from now on.

        A snapshot with every result (first 0) replaces those held. Raises
        ValueError when `snap` starts elsewhere than where they end.
        """
        if snap.first == 0:
            self.X, self.y, self.vectors = [], [], []
        elif snap.first != len(self.y):
            raise ValueError(f"a snapshot from result {snap.first}, but {len(self.y)} are held")
        self.X += snap.X
        self.y += snap.y
        self.vectors += snap.vectors
        return dataclasses.replace(snap, X=self.X, y=self.y, vectors=self.vectors, first=0)


class Fitter:
    """Runs `Search.propose` in one separate process (forkserver), else in-thread.

    Parameters
    ----------
    search : Search
        Its settings (FitSettings) go to the process once; each call sends
        only the snapshot.
    in_process : bool
        False: propose in the calling thread (tests, or no process to be had).

    Notes
    -----
    One thread calls propose() at a time (the proposer thread). stop() may
    come from another thread: it kills the process, and a fit under way
    returns [] at once. close() also closes the pipe: call it once no
    thread is in propose().
    """

    def __init__(self, search: Search, in_process: bool = True) -> None:
        self.search = search
        self.held = Held()  # the results sent so far (the fitting process holds them too)
        self.cpu = 0.0  # CPU seconds spent in the fitting process
        self.stopped = False
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None
        if in_process:
            context = multiprocessing.get_context("forkserver")
            self.conn, theirs = context.Pipe()
            process = context.Process(target=_serve, name="fitter", daemon=True,
                                      args=(FitSettings.of(search), theirs, os.getpid()))
            # the stop signals wait until the process runs: sent to the whole group
            # they would kill the forkserver as it starts; it and the process
            # inherit them blocked (the driver stops them by closing their pipes).
            # multiprocessing unblocks them once it has started its resource
            # tracker (which ignores them): that one is started first.
            resource_tracker.ensure_running()
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            try:
                process.start()
                self.process = process
            except OSError as err:  # no process to be had (a process limit): fit here
                warn(f"cannot start the model fitting process ({err.strerror or err}); "
                     "fitting in the driver")
                self.conn.close()
                self.conn = None
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                theirs.close()

    @property
    def pid(self) -> int | None:
        """The fitting process's pid (None: fitting in the driver)."""
        return self.process.pid if self.process is not None else None

    def propose(self, snap: Snapshot, k: int) -> list[list[Any]]:
        """`k` points from one fit to `snap` ([] once stopped).

        `snap` may leave out the results sent before (`search.snapshot(len(fitter.held))`):
        the fit sees them all the same.
        """
        whole = self.held.whole(snap)
        conn = self.conn
        if conn is not None:
            try:
                conn.send((snap, k))
                kind, value, cpu = conn.recv()
            except (EOFError, OSError) as err:
                if self.stopped:  # stop() ended the process under this fit
                    return []
                warn(f"the model fitting process failed ({err or type(err).__name__}); "
                     "fitting in the driver from now on")
                self._end_process()
                self.conn = None
                conn.close()
            else:
                self.cpu += cpu
                if kind == "error":
                    raise value
                return value
        if self.stopped:
            return []
        return self.search.propose(whole, k)

    def stop(self) -> None:
        """End the fitting process at once (it holds nothing worth waiting for)."""
        self.stopped = True
        self._end_process()

    def close(self) -> None:
        """stop(), and close the pipe (no thread may be in propose() any more)."""
        self.stop()
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def _end_process(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.kill()
        except (OSError, ValueError, AttributeError):
            pass  # never started, or already gone
        process.join(timeout=60)


class Proposer:
    """Points ready before they are needed.

    Parameters
    ----------
    search : Search
        The ask/tell state; touched only under this object's lock.
    notify : callable
        Called (from the thread) when new points are ready, to wake the loop.
    in_process : bool
        Fit in a separate process (default); False fits in the thread.

    Notes
    -----
    `take(k)` never waits: it returns the ready points (random points are
    drawn on the spot during the initial phase, and while the very first
    fit after it runs) and records how many more the loop wants. The
    thread then proposes that many from one model fit, plus a reserve:
    twice the points the loop wanted during one fit (a moving estimate),
    plus two, so that a burst of exits during a fit finds points ready.
    Ready points made before newer results arrived are replaced by fresh
    ones when the thread has nothing more urgent to do. Each fit also
    ranks as many spare points (the next candidates of the same batch, not
    pending, so no lie is told about them): when the ready points run out
    before the next fit lands, the loop gets spare points rather than wait.
    """

    def __init__(self, search: Search, notify: Callable[[], None],
                 in_process: bool = True) -> None:
        self.search = search
        self.notify = notify
        self.in_process = in_process
        self.fitter: Fitter | None = None
        self.lock = threading.Condition()
        self.ready: deque[tuple[list[Any], int]] = deque()
        self.demand = 0
        self.reserve = MIN_RESERVE
        self.taken_since_fit = 0
        self.taken_per_fit = 0.0  # moving average
        self.waits = 0  # takes that found fewer points ready than asked for
        self.served_random = False  # points of the random initial phase were handed out
        self.bridged = 0  # random points handed out while the first fit ran
        self.spare: list[list[Any]] = []  # more points of the last fit, not pending
        self.spare_version = 0  # the results that fit saw
        self.spared = 0  # spare points handed out
        self.closing = False
        self.error: BaseException | None = None
        self.fits = 0
        self.urgent_fits = 0  # fits urgent as they started or raised since (FitPriority)
        self.urgent = False  # the fit under way is (or has become) urgent
        self.nice: SessionNice | None = None  # the fitting process's priority
        self.origins: list[Origin] = []  # of the points the last take returned: random or model
        self.staleness: list[int] = []  # of the same: results told since their fit (random: 0)
        self.share = ModelShare()  # of every point taken
        self.lag_said = False  # the log said the model does not keep up
        self._thread = threading.Thread(target=self._run, name="proposer", daemon=True)

    def start(self) -> None:
        """Start the background thread (and the fitting process)."""
        self.fitter = Fitter(self.search, self.in_process)
        if self.fitter.pid is not None:
            self.nice = SessionNice(self.fitter.pid)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and the fitting process; forget the points nobody took.

        The fitting process goes first, so that a fit under way ends at once
        and the thread can be joined: nothing of the Proposer runs afterwards.
        """
        with self.lock:
            self.closing = True
            self._say_lag(final=True)
            self.search.drop([p for p, _ in self.ready])
            self.ready.clear()
            self.lock.notify_all()
        if self.fitter is not None:
            self.fitter.stop()
        if self._thread.is_alive():
            self._thread.join()
        if self.fitter is not None:
            self.fitter.close()

    def failure(self) -> BaseException | None:
        """The error that stopped the thread (a model fit raised), else None."""
        with self.lock:
            return self.error

    @property
    def fit_cpu(self) -> float:
        """CPU seconds spent fitting in the separate process (not in this one's rusage)."""
        return self.fitter.cpu if self.fitter is not None else 0.0

    # -- the loop's side --------------------------------------------------
    def tell(self, points: list[list[Any]], values: list[Told]) -> None:
        """Hand finished results to the search (one batch, no fit here)."""
        with self.lock:
            self.search.tell(points, values)
            self.lock.notify_all()

    def fail(self, points: list[list[Any]]) -> None:
        """Points whose tasks failed."""
        with self.lock:
            self.search.fail(points)
            self.lock.notify_all()

    def drop(self, points: list[list[Any]]) -> None:
        """Pending points that will not be evaluated."""
        with self.lock:
            self.search.drop(points)

    def pend(self, points: list[list[Any]]) -> None:
        """Points another driver of a joined search runs: pending until told."""
        with self.lock:
            self.search.register(points)

    def take(self, k: int) -> list[list[Any]]:
        """Up to `k` points now; the rest is proposed in the background."""
        with self.lock:
            if self.error is not None:
                raise self.error
            after_design = not self.search.in_random_phase
            points: list[list[Any]] = []
            staleness: list[int] = []
            while self.ready and len(points) < k:
                point, version = self.ready.popleft()
                points.append(point)
                staleness.append(self.search.version - version)
            origins = [Origin.MODEL] * len(points)
            if len(points) < k and self.search.in_random_phase:
                drawn = self.search.ask(k - len(points))
                points += drawn
                origins += [Origin.RANDOM] * len(drawn)
                staleness += [0] * len(drawn)
                self.served_random = True
            while self.spare and len(points) < k:  # the ready points ran out: no wait
                point = self.spare.pop(0)
                if point not in self.search.pending and point not in self.search.optimizer.Xi:
                    self.search.register([point])
                    self.spared += 1
                    points.append(point)
                    origins.append(Origin.MODEL)
                    staleness.append(self.search.version - self.spare_version)
            if len(points) < k and self.served_random and not self.fits:
                # the first fit is under way: bridge with the initial design's next
                # random points rather than leave slots idle (never on a resume)
                bridge = self.search.ask_random(k - len(points))
                self.search.register(bridge)
                self.bridged += len(bridge)
                points += bridge
                origins += [Origin.RANDOM] * len(bridge)
                staleness += [0] * len(bridge)
            self.origins = origins
            self.staleness = staleness
            self.share.add(origins, after_design)
            self.taken_since_fit += len(points)
            self.demand = k - len(points)
            if self.demand:
                self.waits += 1
            if not self.urgent and self.fits and self._running_low():
                self._raise_fit()
            self.lock.notify_all()
            return points

    def _say_lag(self, final: bool) -> None:
        """Say once in the log that the model does not keep up (under the lock)."""
        if not self.lag_said:
            lag = self.share.lagging(final)
            if lag is not None:
                self.lag_said = True
                warn(lag)

    # -- the thread's side ------------------------------------------------
    def _work(self) -> tuple[int, int]:
        """How many points to add, and how many stale ones to replace."""
        if self.search.in_random_phase:
            return 0, 0
        need = self.demand + self.reserve - len(self.ready)
        if need > 0:
            return need, 0
        stale = sum(1 for _, version in self.ready if version < self.search.version)
        return 0, stale

    def _raise_fit(self) -> None:
        """The fit under way has become urgent: a fair share of the cores (under the lock).
        A change the kernel refuses for now (one in 100 ms) is tried at the next take."""
        self._set_priority(urgent=True)
        self.urgent = self.nice is None or self.nice.nice != YIELDING
        self.urgent_fits += self.urgent

    def _set_priority(self, urgent: bool) -> None:
        """The fitting process's share of the cores for the fit under way (under the lock;
        nothing once it has failed: its pid may be another process's by then)."""
        if self.in_process and self.fitter is not None and self.fitter.pid is None:
            self.nice = None  # the process failed: fits run in this one now
        if self.nice is not None:
            self.nice.fit(urgent)

    def _urgent(self, need: int) -> bool:
        """Whether the next fit is urgent (under the lock): the loop is waiting for points,
        or fewer are ready than it took during the last fit, so that they may run out
        before this one lands. Replacing stale points never is."""
        return need > 0 and self._running_low()

    def _running_low(self) -> bool:
        """The loop is waiting for points, or fewer are ready than it took during the last
        fit (under the lock)."""
        return self.demand > 0 or len(self.ready) <= self.taken_per_fit

    def _size_reserve(self, taken: int) -> None:
        """Keep twice the points the loop wanted during one fit, plus two.

        The estimate follows a rise at once and a fall slowly, so a burst of
        exits finds points ready the next time too.
        """
        if taken >= self.taken_per_fit:
            self.taken_per_fit = float(taken)
        else:
            self.taken_per_fit = 0.8 * self.taken_per_fit + 0.2 * taken
        self.reserve = max(MIN_RESERVE, math.ceil(2 * self.taken_per_fit) + 2)

    def _run(self) -> None:
        try:
            while True:
                with self.lock:
                    need, stale = self._work()
                    while not self.closing and not need and not stale:
                        self.lock.wait()
                        need, stale = self._work()
                    if self.closing:
                        return
                    assert self.fitter is not None
                    snap = self.search.snapshot(since=len(self.fitter.held))
                    self.urgent = self._urgent(need)
                    self.urgent_fits += self.urgent
                    self._set_priority(self.urgent)
                    self.taken_since_fit = 0
                    demand_before = self.demand
                    old = [p for p, v in self.ready if v < self.search.version] if stale else []
                    for point in old:  # the fresh points replace these, so do not lie about them
                        snap.pending.remove(point)
                began, cpu = time.perf_counter(), time.thread_time()
                fitter_cpu = self.fitter.cpu
                count = need or stale
                points = self.fitter.propose(snap, count + self.reserve)
                points, spare = points[:count], points[count:]
                seconds = time.perf_counter() - began
                cpu = time.thread_time() - cpu + self.fitter.cpu - fitter_cpu
                debug(f"proposer: fit {self.fits + 1} on {len(self.fitter.held)} results, "
                      f"{len(snap.pending)} pending, {len(snap.failed)} failed: "
                      f"{len(points)} point(s) in {seconds:.2f} s")
                with self.lock:
                    self.fits += 1
                    if self.closing:
                        return
                    still_ready = [p for p, _ in self.ready]
                    replaced = [p for p in old if p in still_ready]
                    self.search.drop(replaced)
                    self.ready = deque((p, v) for p, v in self.ready if p not in replaced)
                    self.search.register(points)
                    self.ready.extend((p, snap.version) for p in points)
                    self.spare = spare
                    self.spare_version = snap.version
                    self._size_reserve(self.taken_since_fit + max(0, self.demand - demand_before))
                    self.share.add_fit(seconds, cpu)
                    self._say_lag(final=False)
                self.notify()
        except BaseException as err:  # noqa: BLE001 - handed to the loop, which stops the run
            with self.lock:
                self.error = err
            self.notify()
