# WORKFLOW PY
# The search loop: start POINTS_INIT tasks; sleep until a task exits, a
# signal arrives or a deadline passes (never a fixed-interval poll); record
# each outcome in results.csv first, tell the search, refill the free slots;
# stop issuing on POINTS_MAX, on too many failures, when a task could not
# end before the job's end (Walltime.py) or on a signal; then drain. At
# Walltime.stop_time (kill_grace + REPORT_TIME before the job's end) it
# stops its running tasks itself, recorded `killed`, before the scheduler
# does. Every progress_interval seconds it reads the
# running tasks' new output (Progress.py), journals their intermediate
# values in progress.csv and stops those the pruner gives up on. Every
# status_interval seconds it prints one `status:` line (done, running,
# failed, best, elapsed, ETA). A task that fails at once on hosts of the
# pool has its point tried once more on other hosts, and a host whose tasks
# keep failing at once is quarantined (BadNodes.py).

import heapq
import math
import selectors
import shlex
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import Best
import Eta
import Signals
import Walltime
from BadNodes import BadNodes
from Config import Config
from Direction import better, minimized
from Leftovers import Leftovers
from Progress import ProgressReader
from Pruner import Pruner
from Results import Journal, Journals
from Status import Status
from Task import Outcome, Task
from utils import debug, format_params, json_dumps, say, shout

# Seconds within which a repeated signal counts as the same one (see _on_signal).
SIGNAL_ECHO = 0.5


class Points(Protocol):
    """Where new points come from (Proposer, or a benchmark's baseline)."""

    def start(self) -> None: ...
    def take(self, k: int) -> list[list[Any]]: ...
    def tell(self, points: list[list[Any]], values: list[float]) -> None: ...
    def fail(self, points: list[list[Any]]) -> None: ...
    def drop(self, points: list[list[Any]]) -> None: ...
    def failure(self) -> BaseException | None: ...  # why no more points can come
    def close(self) -> None: ...


@dataclass
class Plan:
    """How many tasks, how wide, where."""

    parallelism: int
    concurrency: int
    points_max: int
    output: str
    first_id: int = 0
    done_before: int = 0  # tasks finished by an earlier run (resume)
    reissue: list[list[Any]] = field(default_factory=list)  # points lost by an earlier run
    end_time: float | None = None  # the batch job's end (walltime), epoch seconds
    # intermediate values (id, step, value) of tasks an earlier run finished (resume)
    progress: list[tuple[int, int, float]] = field(default_factory=list)
    earlier: "Tally | None" = None  # what earlier runs of this search recorded (resume)
    resume_command: str = ""  # the exact command that continues this search (Resume.py)


@dataclass
class Retry:
    """A point whose task failed at once on `hosts`: to run once more elsewhere."""

    point: list[Any]
    hosts: tuple[str, ...]


@dataclass
class Tally:
    """Counts, task times and the best result, for the summary and status lines."""

    counts: dict[Status, int] = field(default_factory=lambda: dict.fromkeys(Status, 0))
    best: tuple[float, int, dict[str, Any]] | None = None
    longest: float = 0.0
    seconds: float = 0.0  # the durations of the finished tasks, summed
    finished: int = 0  # tasks that count toward POINTS_MAX

    def add(self, status: Status, seconds: float, objective: float | None, task_id: int,
            params: dict[str, Any], direction: str, superseded: bool = False) -> None:
        """Count one finished task (the best is an ok task's value, by `direction`).

        A superseded one (its point runs again elsewhere, BadNodes.py) is a
        recorded row, but not a task toward POINTS_MAX: its second try is.
        """
        self.counts[status] += 1
        self.longest = max(self.longest, seconds)
        if status.is_done and not superseded:
            self.seconds += seconds
            self.finished += 1
        if status is Status.OK and objective is not None and \
                (self.best is None or better(objective, self.best[0], direction)):
            self.best = (objective, task_id, params)


class Workflow:
    """Runs one search to its end and returns the exit code."""

    def __init__(self, config: Config, plan: Plan, points: Points, launcher: Any,
                 environ: dict[str, str], journals: Journals) -> None:
        self.config = config
        self.plan = plan
        self.points = points
        self.launcher = launcher
        self.environ = environ
        self.names = config.problem.names
        self.running: dict[int, Task] = {}  # by pidfd
        self.free_slots = list(range(plan.concurrency - 1, -1, -1))
        self.next_id = plan.first_id
        self.issued = 0
        self.tally = Tally()
        self.failures = 0
        self.began = time.time()
        self.next_status = math.inf  # when to print the next status line
        self.stopping = ""  # why no more tasks are issued
        self.stop_at = Walltime.stop_time(plan.end_time, config.kill_grace)
        self.walltime_passed = False  # stop_at came: the running tasks were stopped
        self.signal_number = 0
        self.signal_count = 0
        self.signal_time = 0.0
        self.grace_skipped = False
        self.old_handlers: dict[int, Any] = {}
        self.io_error: OSError | None = None
        self.points_error = ""  # the search could not propose points: why
        self.deadlines: list[tuple[float, int, int]] = []  # (when, task id, pidfd)
        self.next_launch = 0.0
        self.selector = selectors.DefaultSelector()
        self.leftovers: Leftovers | None = None
        self.wake_read, self.wake_write = socket.socketpair()
        self.journals = journals  # opened by the caller, closed by the run
        self.progress = ProgressReader(config.progress_pattern)
        self.next_look = math.inf  # when to read the running tasks' new output
        self.ended: list[int] = []  # tasks that ended, whose output's last lines are unread
        self.pruner = Pruner(config.pruner, config.direction) if config.pruner else None
        self.bad_nodes = BadNodes(config.bad_node_failures, config.bad_node_seconds)
        self.retries: list[Retry] = []  # points that failed at once, for other hosts
        self.retried = 0  # such points (this run)
        earlier = plan.earlier.best if plan.earlier is not None else None
        self.best = Best.Keeper(plan.output, config.direction, earlier and earlier[0])
        if self.pruner is not None:
            for task_id, step, value in plan.progress:  # what an earlier run recorded
                self.pruner.observe(task_id, step, value, decide=False)

    # -- set-up and tear-down -------------------------------------------
    def _open(self) -> None:
        # from now on orphans of tasks become our children
        self.leftovers = Leftovers(self.plan.output)
        for end in (self.wake_read, self.wake_write):
            end.setblocking(False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, None)
        signal.set_wakeup_fd(self.wake_write.fileno(), warn_on_full_buffer=False)
        for number in Signals.STOP_SIGNALS:
            self.old_handlers[number] = signal.getsignal(number)
        earlier = Signals.catch(self._on_signal)
        if earlier:  # a stop signal came before the loop: start stopped, no task
            self._on_signal(earlier, None)
            self._handle_signal()

    def _close(self) -> None:
        """Stop the points' thread and process, close the files; signals are still only noted."""
        signal.set_wakeup_fd(-1)
        for task in self.running.values():  # never leave a task behind (the loop failed)
            task.signal_group(signal.SIGKILL)
        if self.leftovers is not None:
            stopped = self.leftovers.finish(set(range(self.plan.first_id, self.next_id)))
            if stopped:
                say(f"stopped {stopped} process(es) the tasks left behind")
        self.points.close()  # joins its thread and ends its fitting process
        self.progress.close()
        self.selector.close()
        self.wake_read.close()
        self.wake_write.close()
        self.journals.close()

    def wake(self) -> None:
        """Wake the loop from another thread (new points are ready)."""
        try:
            self.wake_write.send(b"p")
        except (BlockingIOError, OSError):
            pass

    def _on_signal(self, number: int, frame: Any) -> None:
        # One Ctrl-C or one scheduler SIGTERM may arrive twice: sent to the
        # whole process group and forwarded by main.sh too. Within
        # SIGNAL_ECHO seconds of the last one, it is the same request.
        now = time.monotonic()
        if self.signal_count and now - self.signal_time < SIGNAL_ECHO:
            return
        self.signal_time = now
        self.signal_count += 1
        self.signal_number = self.signal_number or number
        # the loop acts on it when select() returns (the wakeup fd fires)

    # -- the loop ---------------------------------------------------------
    def run(self) -> int:
        """Run the search to its end; return the exit code."""
        say("search start:", f"PARALLELISM={self.plan.parallelism}",
            f"CONCURRENCY={self.plan.concurrency}", f"POINTS_MAX={self.plan.points_max}",
            f"OUTPUT={self.plan.output}")
        self._open()
        self.began = time.time()
        self.next_status = self.began + self.config.status_interval
        try:
            self.points.start()
            self._loop()
        finally:
            self._close()
        code = self._finish()
        # the caller's handlers once the summary and the resume line are out
        for number, handler in self.old_handlers.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        return code

    def _loop(self) -> None:
        while True:
            self._check_stop()
            if not self.stopping:
                unstarted = self._launch()
                if unstarted:  # recorded as failed at once; the failure policy decides
                    self._record(unstarted)
                    self._handle_signal()
                    continue
                self._check_stop()  # launching may have met a full disk
            if not self.running and (self.stopping or self._issued_all()):
                self._look()  # the last lines of the tasks that ended last
                return
            if time.time() >= self.next_status:  # after the launches: slots refilled
                self._status()
            timeout = self._timeout()
            events = self.selector.select(timeout)
            finished: list[Task] = []
            for key, _ in events:
                if key.data is None:
                    self._drain_wake()
                else:
                    task = key.data
                    if task.reap():
                        self.selector.unregister(key.fileobj)
                        del self.running[key.fd]
                        finished.append(task)
            self._check_points()
            self._handle_signal()
            self._fire_deadlines()
            self._check_walltime()
            if finished:
                self._sweep()
                self._record(finished)
            if time.time() >= self.next_look:
                self._look()

    def _sweep(self) -> None:
        """Kill what ended tasks left outside their process group; reap such orphans."""
        if self.leftovers is not None:
            tasks = self.running.values()
            self.leftovers.sweep({t.id for t in tasks}, {t.pid for t in tasks})

    def _issued_all(self) -> bool:
        return self.plan.done_before + self.issued >= self.plan.points_max

    def _check_stop(self) -> None:
        if self.stopping:
            return
        if self.io_error is not None:
            self.stopping = f"cannot write to {self.plan.output}: {self.io_error}"
        elif self.points_error:
            self.stopping = self.points_error
        elif self._issued_all():
            self.stopping = "POINTS_MAX reached"
        elif self.failures > self.config.max_failures:
            self.stopping = (f"{self.failures} failed task(s), more than max_failures="
                             f"{self.config.max_failures}")
        elif self.stop_at is not None and time.time() >= self.stop_at:
            self.stopping = self._walltime_left()
        elif self.stop_at is not None and self._longest() and \
                time.time() + self._longest() > self.stop_at:
            self.stopping = (f"{self._walltime_left()}, less than the longest task so far "
                             f"({self._longest():.0f} s) + kill_grace + "
                             f"{Walltime.REPORT_TIME:g} s")
        else:
            return
        if self.stopping != "POINTS_MAX reached":
            shout("stop issuing tasks:", self.stopping)

    def _longest(self) -> float:
        """The longest task so far, earlier runs of this search too (resume)."""
        earlier = self.plan.earlier
        return max(self.tally.longest, earlier.longest if earlier is not None else 0.0)

    def _walltime_left(self) -> str:
        """`walltime: the job ends in N s` (why the run stops)."""
        assert self.plan.end_time is not None
        return f"walltime: the job ends in {self.plan.end_time - time.time():.0f} s"

    def _check_walltime(self) -> None:
        """At stop_at, stop the running tasks: `killed`, issued again on resume."""
        if self.stop_at is None or self.walltime_passed or time.time() < self.stop_at:
            return
        self._check_stop()
        stopping = [task for task in self.running.values() if not task.stop_reason]
        self.walltime_passed = True
        if stopping:
            shout(f"{self._walltime_left()}: stopping {len(stopping)} running task(s) "
                  f"(grace {self.config.kill_grace:g} s); recorded killed, a resume issues "
                  "them again")
            self._stop_all(Status.KILLED)

    def _timeout(self) -> float | None:
        """Seconds until the next deadline (None: sleep until an event)."""
        soonest = math.inf
        if self.stop_at is not None and not self.walltime_passed:
            soonest = self.stop_at
        while self.deadlines and self.deadlines[0][2] not in self.running:
            heapq.heappop(self.deadlines)
        if self.deadlines:
            soonest = self.deadlines[0][0]
        if not self.stopping and self.free_slots and self.next_launch > time.time():
            soonest = min(soonest, self.next_launch)
        if self.running:
            soonest = min(soonest, self.next_look)
        soonest = min(soonest, self.next_status)
        if soonest == math.inf:
            return None
        return max(0.0, soonest - time.time())

    def _drain_wake(self) -> None:
        try:
            while self.wake_read.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    # -- launching ----------------------------------------------------------
    def _launch(self) -> list[Task]:
        """Start tasks in the free slots; return those whose script could not start."""
        want = min(len(self.free_slots),
                   self.plan.points_max - self.plan.done_before - self.issued)
        room = self.launcher.room(self.plan.parallelism)
        if room is not None:  # fewer than the slots once a host is quarantined
            want = min(want, room)
        if want <= 0:
            return []
        if self.config.launch_delay:
            if time.time() < self.next_launch:
                return []
            want = 1
        points: list[list[Any]] = []
        placements: list[Any] = []  # of the second tries, placed off their first hosts
        firsts: list[tuple[str, ...]] = []
        for retry in list(self.retries):
            if len(points) == want:
                break
            # elsewhere, while enough other hosts are left (a later quarantine may leave none)
            avoid = retry.hosts if self._elsewhere(retry.hosts) else ()
            placement = self.launcher.acquire(self.plan.parallelism, avoid)
            if placement is not None:
                self.retries.remove(retry)
                points.append(retry.point)
                placements.append(placement)
                firsts.append(retry.hosts)
        origins = ["elsewhere"] * len(points)
        while self.plan.reissue and len(points) < want:
            points.append(self.plan.reissue.pop(0))
            origins.append("again")
        if len(points) < want:
            try:
                taken = self.points.take(want - len(points))
            except Exception as err:  # noqa: BLE001 - any error of the search stops the run
                for placement in placements:
                    self.launcher.release(placement)
                self.retries[:0] = [Retry(p, h) for p, h in zip(points, firsts)]
                self.plan.reissue[:0] = points[len(firsts):]
                self._points_failed(err)
                return []
            points += taken
            # where each point came from, when the points say (the Proposer does)
            said = getattr(self.points, "origins", [])
            origins += said if len(said) == len(taken) else [""] * len(taken)
        if not points:
            return []
        launched: list[Task] = []
        unstarted: list[Task] = []
        for number, point in enumerate(points):
            task = Task(id=self.next_id, point=point,
                        params=self.config.problem.params(point), slot=self.free_slots.pop())
            task.origin = origins[number]
            if number < len(placements):
                task.placement, task.first_hosts = placements[number], firsts[number]
            else:
                task.placement = self.launcher.acquire(self.plan.parallelism)
            launch = self.launcher.launch(self.plan.parallelism, task.placement)
            env = dict(self.environ)
            env.update(launch.env)
            env["LAUNCH"] = shlex.join(launch.argv)
            try:
                task.launch(self.config.script, self.plan.parallelism, self.plan.output, env)
            except OSError as err:  # OUTPUT's fault, not the task's: stop the run
                self.launcher.release(task.placement)
                for placement in placements[number + 1:]:
                    self.launcher.release(placement)
                self.free_slots.append(task.slot)
                self.points.drop(points[number:])
                self.io_error = err
                shout(f"cannot write task {task.name}'s files in {self.plan.output}: "
                      f"{err.strerror or err}; stopping")
                break
            self.next_id += 1
            self.issued += 1
            if task.cannot_start:
                unstarted.append(task)
                continue
            self.running[task.pidfd] = task
            self.selector.register(task.pidfd, selectors.EVENT_READ, task)
            self.progress.watch(task.id, task.output_file(self.plan.output))
            if self.next_look == math.inf:
                self.next_look = time.time() + self.config.progress_interval
            if self.config.task_timeout:
                heapq.heappush(self.deadlines,
                               (task.start + self.config.task_timeout, task.id, task.pidfd))
            launched.append(task)
            say("started: ", task.name, "pid", task.pid, format_params(self.names, point))
            debug(f"  {task.name}: LAUNCH={env['LAUNCH']!r} cwd={task.task_dir(self.plan.output)} argv:",
                  shlex.join([self.config.script, str(self.plan.parallelism),
                              json_dumps(task.params)]))
        if launched:
            self._journal(self.journals.started, [self._started_row(t) for t in launched])
            say("tasks_running: ", len(self.running))
        if self.config.launch_delay:
            self.next_launch = time.time() + self.config.launch_delay
        return unstarted

    def _started_row(self, task: Task) -> dict[str, Any]:
        row = {"id": task.id, "start": f"{task.start:.3f}", "slot": task.slot, "pid": task.pid}
        row.update(task.params)
        if "origin" in self.journals.started.columns:
            row["origin"] = task.origin
        return row

    # -- finishing tasks ----------------------------------------------------
    def _record(self, finished: list[Task]) -> None:
        """Journal first, then tell the search, then report."""
        # a pruned task's last value is its objective: read its last lines now; the
        # others' wait for the next look (off the path from a task's end to the next launch)
        self._progress([(t.id, step, value) for t in finished if t.stop_reason is Status.PRUNED
                        for step, value in self.progress.unwatch(t.id)])
        self.ended += [t.id for t in finished if t.stop_reason is not Status.PRUNED]
        outcomes = [(task, task.outcome(self.plan.output, self.config.metrics))
                    for task in finished]
        for task, outcome in outcomes:
            if outcome.status is Status.PRUNED and self.pruner is not None:
                outcome.objective = self.pruner.last_value(task.id)
            self._judge_hosts(task, outcome)
        if not self._journal(self.journals.results, [self._result_row(t, o) for t, o in outcomes]):
            self._lose(outcomes)
            return
        self._retry([t for t, _ in outcomes if t.retried])
        self.best.offer((t.id, o.objective, t.params, o.metrics) for t, o in outcomes
                        if o.status is Status.OK and o.objective is not None)
        told = [(t.point, minimized(o.objective, self.config.direction)) for t, o in outcomes
                if o.status.has_value and o.objective is not None]
        failed = [t.point for t, o in outcomes if o.status.is_failure and not t.retried]
        dropped = [t.point for t, o in outcomes if not o.status.is_done or
                   (not o.status.has_value and not o.status.is_failure)]
        try:
            if told:
                self.points.tell([p for p, _ in told], [v for _, v in told])
            if failed:
                self.points.fail(failed)
            if dropped:
                self.points.drop(dropped)
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self._points_failed(err)
        for task, outcome in outcomes:
            self.launcher.release(task.placement)
            self.free_slots.append(task.slot)
            self._count(task, outcome)
            self._report(task, outcome)
        say("tasks_running: ", len(self.running))

    def _judge_hosts(self, task: Task, outcome: Outcome) -> None:
        """Strikes and quarantine of the task's hosts; mark a point to try elsewhere."""
        pool = getattr(self.launcher, "pool", None)
        if pool is None or not task.placement or not self.bad_nodes.on or task.process is None:
            return
        hosts = list(task.placement.hosts)
        if outcome.status is not Status.FAILED or \
                not self.bad_nodes.at_once(task.end - task.start):
            self.bad_nodes.cleared(hosts)
            return
        if task.first_hosts:  # failed at once on two sets of hosts: the point is bad
            self.bad_nodes.cleared(list(task.first_hosts))
            return
        for host in self.bad_nodes.failed_at_once(hosts, pool.usable, self.plan.parallelism):
            pool.quarantine(host)
            shout(f"node {host} quarantined: {self.bad_nodes.quarantined[host]} task(s) in a "
                  f"row failed on it within {self.bad_nodes.seconds:g} s of their start; "
                  f"{pool.usable} host(s) left")
        if self._elsewhere(hosts) and self.stopping in ("", "POINTS_MAX reached"):
            task.retried = True
            outcome.reason += f"; failed at once on {','.join(hosts)}: tried again elsewhere"

    def _elsewhere(self, hosts: Sequence[str]) -> bool:
        """Enough usable hosts of the pool, `hosts` aside, for one task."""
        return self.launcher.pool.others(hosts) >= self.plan.parallelism

    def _retry(self, tasks: list[Task]) -> None:
        """Queue the points of tasks that failed at once, for other hosts."""
        for task in tasks:
            self.retries.append(Retry(task.point, tuple(task.placement.hosts)))
            self.issued -= 1  # the second try is issued in its place
            self.retried += 1
        if tasks and self.stopping == "POINTS_MAX reached":
            self.stopping = ""

    def _lose(self, outcomes: list[tuple[Task, Outcome]]) -> None:
        """Tasks whose rows could not be written: not counted, issued again on resume."""
        try:
            self.points.drop([t.point for t, _ in outcomes])
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self._points_failed(err)
        for task, outcome in outcomes:
            self.launcher.release(task.placement)
            self.free_slots.append(task.slot)
            shout(f"TASK {task.name} ended ({outcome.status}) but its row could not be "
                  "recorded: a resumed run issues it again")
        say("tasks_running: ", len(self.running))

    def _count(self, task: Task, outcome: Outcome) -> None:
        self.tally.add(outcome.status, task.end - task.start, outcome.objective, task.id,
                       task.params, self.config.direction, superseded=task.retried)
        if outcome.status.is_failure and not task.retried:  # its second try's may count
            self.failures += 1

    # -- status lines ---------------------------------------------------------
    def _whole(self) -> Tally:
        """This run's tally joined with the earlier runs' (after a resume)."""
        earlier = self.plan.earlier
        if earlier is None:
            return self.tally
        whole = Tally(counts={s: n + earlier.counts[s] for s, n in self.tally.counts.items()},
                      longest=max(self.tally.longest, earlier.longest),
                      seconds=self.tally.seconds + earlier.seconds,
                      finished=self.tally.finished + earlier.finished, best=earlier.best)
        mine = self.tally.best
        if mine is not None and (whole.best is None or
                                 better(mine[0], whole.best[0], self.config.direction)):
            whole.best = mine
        return whole

    def status_line(self) -> str:
        """`status: done N/POINTS_MAX, running, failed, [pruned,] best, elapsed, ETA`."""
        now = time.time()
        whole = self._whole()
        done = self.plan.done_before + self.tally.finished
        unstarted = self.plan.points_max - done - len(self.running)
        if self.stopping:
            unstarted = 0
        eta = Eta.estimate(unstarted, self.plan.concurrency, Eta.mean(whole.seconds, whole.finished),
                           [now - t.start for t in self.running.values()])
        words = [f"done {done}/{self.plan.points_max}", f"running {len(self.running)}",
                 f"failed {sum(n for s, n in whole.counts.items() if s.is_failure)}"]
        if self.config.pruner is not None or whole.counts[Status.PRUNED]:
            words.append(f"pruned {whole.counts[Status.PRUNED]}")
        if whole.best is not None:
            words.append(f"best {whole.best[0]:.6g} (task {whole.best[1]:04d})")
        else:
            words.append("best none yet")
        words += [f"elapsed {Eta.duration(now - self.began)}", f"ETA {Eta.duration(eta)}"]
        return "status: " + ", ".join(words)

    def _status(self) -> None:
        """Print a status line (at every log level: a batch log at WARNING keeps them)."""
        self.next_status = time.time() + self.config.status_interval
        shout(self.status_line())

    def _report(self, task: Task, outcome: Outcome) -> None:
        seconds = task.end - task.start
        params = format_params(self.names, task.point)
        if outcome.status is Status.OK:
            say("finished:", task.name, "pid", task.pid, f"objective={outcome.objective:.6g}",
                f"seconds={seconds:.2f}", params)
            return
        if outcome.status is Status.PRUNED:
            say("pruned:  ", task.name, "pid", task.pid, f"last value={outcome.objective}",
                f"seconds={seconds:.2f}", params)
            return
        pid = f"pid {task.pid}" if task.process else "not started"
        shout(f"TASK {task.name} {outcome.status.upper()}: {outcome.reason} after {seconds:.2f} s"
              f" ({pid}, {params})")
        lines = task.output_tail(self.plan.output)
        if lines:
            shout(f"  last lines of {task.output_file(self.plan.output)}:")
            for line in lines:
                shout("  | " + line)

    def _result_row(self, task: Task, outcome: Outcome) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": task.id, "status": outcome.status.value,
            "objective": "" if outcome.objective is None else repr(outcome.objective),
            "seconds": f"{task.end - task.start:.3f}"}
        row.update(task.params)
        row.update({"start": f"{task.start:.3f}", "end": f"{task.end:.3f}", "slot": task.slot,
                    "pid": task.pid if task.process else "",
                    "exit_code": "" if task.returncode is None
                    else task.returncode, "reason": outcome.reason})
        row.update({m: repr(outcome.metrics[m]) if m in outcome.metrics else ""
                    for m in self.config.metrics})
        return row

    def _journal(self, journal: Journal, rows: list[dict[str, Any]]) -> bool:
        """Append rows durably (all or none); a full disk stops the run cleanly.

        Returns whether the rows were written.
        """
        try:
            journal.append(rows)
        except OSError as err:
            if self.io_error is None:
                self.io_error = err
                shout(f"cannot write {journal.path}: {err.strerror}; stopping")
            self._stop_all(Status.KILLED)
            return False
        return True

    # -- intermediate values and pruning ---------------------------------------
    def _look(self) -> None:
        """Read the new output of running and ended tasks; stop those the pruner gives up on."""
        self.next_look = time.time() + self.config.progress_interval if self.running \
            else math.inf
        found = [(task_id, step, value) for task_id in self.ended
                 for step, value in self.progress.unwatch(task_id)]
        self.ended.clear()
        stop = self._progress(found + self.progress.read_grown())
        if stop and self.pruner is not None:
            running = {task.id: task for task in self.running.values()}
            for task_id, step in stop:
                task = running[task_id]
                say("pruning: ", task.name, f"at step {step}:", self.pruner.explain(task_id))
                self._stop(task, Status.PRUNED)

    def _progress(self, found: list[tuple[int, int, float]]) -> list[tuple[int, int]]:
        """Journal intermediate values, then show them to the pruner.

        Returns the (task id, step) of running tasks to stop; a task that
        ended or is being stopped only adds to the history.
        """
        if not found:
            return []
        now = f"{time.time():.3f}"
        self._journal(self.journals.progress,
                      [{"id": i, "step": s, "value": repr(v), "time": now} for i, s, v in found])
        if self.pruner is None or self.io_error is not None:
            return []
        deciding = {task.id for task in self.running.values() if not task.stop_reason}
        stop = []
        for task_id, step, value in found:
            if self.pruner.observe(task_id, step, value, decide=task_id in deciding):
                deciding.discard(task_id)
                stop.append((task_id, step))
        return stop

    def _check_points(self) -> None:
        """Stop when the points' thread or fitting process has failed."""
        if not self.points_error:
            err = self.points.failure()
            if err is not None:
                self._points_failed(err)

    def _points_failed(self, err: BaseException) -> None:
        """The search cannot go on (a model fit raised): stop as on a full disk."""
        if self.points_error:
            return
        text = " ".join(str(err).split())
        text = f"{type(err).__name__}: {text[:300]}" if text else type(err).__name__
        self.points_error = f"cannot propose points: {text}"
        self._stop_all(Status.KILLED)

    # -- stopping: signals, timeouts ----------------------------------------
    def _handle_signal(self) -> None:
        if not self.signal_count:
            return
        if not self.stopping or not self.stopping.startswith("signal"):
            name = signal.Signals(self.signal_number).name
            self.stopping = f"signal {name}"
            shout(f"received {name}: issuing no more tasks; stopping {len(self.running)} "
                f"running task(s) (grace {self.config.kill_grace:g} s)")
            self._stop_all(Status.KILLED)
        if self.signal_count > 1 and self.running and not self.grace_skipped:
            self.grace_skipped = True
            shout(f"received a second signal: skipping the grace period, SIGKILL to "
                f"{len(self.running)} task(s)")
        if self.signal_count > 1:
            for task in self.running.values():
                task.signal_group(signal.SIGKILL)

    def _stop_all(self, reason: Status) -> None:
        for task in self.running.values():
            self._stop(task, reason)

    def _stop(self, task: Task, reason: Status) -> None:
        """SIGTERM the task's group now, SIGKILL it after the grace period."""
        if task.stop_reason:
            return
        task.stop_reason = reason
        task.signal_group(signal.SIGTERM)
        task.kill_at = time.time() + self.config.kill_grace
        heapq.heappush(self.deadlines, (task.kill_at, task.id, task.pidfd))

    def _fire_deadlines(self) -> None:
        now = time.time()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, task_id, fd = heapq.heappop(self.deadlines)
            task = self.running.get(fd)
            if task is None or task.id != task_id:
                continue
            if not task.stop_reason:
                shout(f"TASK {task.name} ran past task_timeout={self.config.task_timeout:g} s;"
                    " stopping it")
                self._stop(task, Status.TIMEOUT)
            elif now >= task.kill_at:
                task.signal_group(signal.SIGKILL)

    # -- the end --------------------------------------------------------------
    def _finish(self) -> int:
        counts = self.tally.counts
        shout("summary:", " ".join(f"{k.value}={v}" for k, v in counts.items()))
        if self.retried or self.bad_nodes.quarantined:
            shout(f"bad nodes: {self.retried} point(s) that failed at once were tried again "
                  f"elsewhere; {self.bad_nodes.summary() or 'no node quarantined'}")
        best = self._whole().best  # of the whole search, earlier runs too
        if best is not None:
            value, task_id, params = best
            shout(f"best: task {task_id:04d} objective={value:.6g}",
                format_params(params, params.values()))
        resume = f"to resume: {self.plan.resume_command}"
        if self.signal_number:
            shout("Workflow stopped!")
            shout(resume)
            return 128 + self.signal_number
        if self.stopping.startswith("walltime") or self.walltime_passed:
            shout(f"stopped before the end of walltime; {resume}")
        if self.io_error is not None or self.points_error or \
                self.failures > self.config.max_failures:
            shout("Workflow failed!")
            if self.io_error is not None:
                shout(f"after making room in {self.plan.output}, {resume}")
            elif self.points_error:
                shout(resume)
            return 1
        if self.failures:
            shout(f"Workflow success! ({self.failures} failed task(s), within "
                  f"max_failures={self.config.max_failures})")
        else:
            shout("Workflow success!")
        return 0

