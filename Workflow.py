# WORKFLOW PY
# The search loop: start POINTS_INIT tasks; sleep until a task exits, a
# signal arrives or a deadline passes (never a fixed-interval poll); record
# each outcome in results.csv first, tell the search, refill the free
# lanes; stop issuing on POINTS_MAX, on too many failures, when a task
# could not end before the job's end (Walltime.py) or on a signal
# (StopReason.py names why); then drain. At Walltime.stop_time (kill_grace
# + REPORT_TIME before the job's end) it stops its running tasks itself,
# recorded `killed`, before the scheduler does. Every progress_interval
# seconds it reads the running tasks' new output (Progress.py), journals
# their intermediate values in progress.csv and stops those the pruner
# gives up on. Every status_interval seconds it prints one `status:` line
# (Tally.py). A task that fails at once on hosts of the pool has its point
# tried once more on other hosts, and a host whose tasks keep failing at
# once is quarantined (BadNodes.py). In a joined search (Joined.py) each
# task takes a ticket toward POINTS_MAX first, and every SYNC_INTERVAL the
# loop reads the other drivers' new rows (_sync): their results are told
# to the search, their running points are pending, and the tickets of
# drivers that are gone are issued again; it ends when every ticket's task
# has finished, so that a driver that dies late still has its points run.
#
# Call order: run() -> _open -> points.start -> _loop, each turn:
#   _check_stop -> _launch (_want, _choose: which points; _start: one task
#   each, in a free lane (TASK_SLOT) on a seat of the launcher's pool) ->
#   running.wait (select) -> _handle_signal, deadlines, walltime ->
#   _record (results.csv, then the search, then the log) -> _look ->
#   _sync (a joined search)
# then _close -> _finish (summary, best, the resume line, the exit code).
# Threading: everything here runs on the caller's thread; the points'
# thread (Proposer) only calls wake(), and signal handlers only take note
# (_on_signal) and wake select() through the wakeup fd.

import math
import os
import shlex
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import Layout
import Signals
import Walltime
from BadNodes import BadNodes
from Config import Config
from Direction import minimized
from Joined import SYNC_INTERVAL, Joined, Lost
from Launcher import Launcher, Placement
from Leftovers import Leftovers
from Origin import Origin
from Progress import ProgressReader
from Pruner import Pruner
from PruneRule import Verdict
from Results import Journal, Journals, results_row, started_row
from RunningTasks import RunningTasks
from Status import Status
from StopReason import Stopping, StopReason
from Tally import Best, Standing, Tally, status_line
from Task import Outcome, Task
from Tickets import Claim
from utils import debug, format_params, json_dumps, say, shout

# Seconds within which a repeated signal counts as the same one (see _on_signal).
SIGNAL_ECHO = 0.5


class Points(Protocol):
    """Where new points come from (Proposer, or a benchmark's baseline)."""

    origins: list[Origin]  # where each point the last take() returned came from

    def start(self) -> None: ...
    def take(self, k: int) -> list[list[Any]]: ...
    def tell(self, points: list[list[Any]], values: list[float]) -> None: ...
    def fail(self, points: list[list[Any]]) -> None: ...
    def drop(self, points: list[list[Any]]) -> None: ...
    def pend(self, points: list[list[Any]]) -> None: ...  # evaluated elsewhere (Joined.py)
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
    earlier: Tally | None = None  # what earlier runs of this search recorded (resume)
    resume_command: str = ""  # the exact command that continues this search (Resume.py)


@dataclass
class Retry:
    """A point whose task failed at once on `hosts`: to run once more elsewhere."""

    point: list[Any]
    hosts: tuple[str, ...]
    claim: Claim | None = None  # its first try's ticket (a joined search)


@dataclass
class Issue:
    """One task about to start: its point, where it came from, its seat and, for a
    second try, the hosts its first try failed on; in a joined search, the claim its
    ticket is taken again after (a second try's, a lost ticket's)."""

    point: list[Any]
    origin: Origin
    seat: Placement = None
    first_hosts: tuple[str, ...] = ()
    claim: Claim | None = None


class Workflow:
    """Runs one search to its end and returns the exit code."""

    def __init__(self, config: Config, plan: Plan, points: Points, launcher: Launcher,
                 environ: dict[str, str], journals: Journals,
                 joined: Joined | None = None) -> None:
        self.config = config
        self.plan = plan
        self.points = points
        self.launcher = launcher
        self.environ = environ
        self.names = config.problem.names
        self.wake_read, self.wake_write = socket.socketpair()
        self.running = RunningTasks(self.wake_read, config.kill_grace,
                                    config.task_timeout or 0.0)
        self.free_slots = list(range(plan.concurrency - 1, -1, -1))  # lanes: TASK_SLOT
        self.next_id = plan.first_id
        self.launched: set[int] = set()  # this driver's tasks (others' run between, --join)
        self.issued = 0
        self.tally = Tally()
        self.failures = 0
        self.began = time.time()
        self.next_status = math.inf  # when to print the next status line
        self.stopping: Stopping | None = None  # why no more tasks are issued
        self.stop_at = Walltime.stop_time(plan.end_time, config.kill_grace)
        self.walltime_passed = False  # stop_at came: the running tasks were stopped
        self.signal_number = 0
        self.signal_count = 0
        self.signal_time = 0.0
        self.grace_skipped = False
        self.old_handlers: dict[int, Any] = {}
        self.io_error: OSError | None = None
        self.points_error = ""  # the search could not propose points: why
        self.next_launch = 0.0
        self.leftovers: Leftovers | None = None
        self.journals = journals  # opened by the caller, closed by the run
        self.progress = ProgressReader(config.progress_pattern)
        self.next_look = math.inf  # when to read the running tasks' new output
        self.ended: list[int] = []  # tasks that ended, whose output's last lines are unread
        self.pruner = Pruner(config.pruner, config.direction) if config.pruner else None
        self.bad_nodes = BadNodes(config.bad_node_failures, config.bad_node_seconds)
        self.retries: list[Retry] = []  # points that failed at once, for other hosts
        self.retried = 0  # such points (this run)
        self.joined = joined  # a joined search: this driver's part in it
        self.claims: dict[int, Claim] = {}  # task -> its ticket's claim (a joined search)
        self.lost: list[Lost] = []  # tickets of drivers that are gone, to take again
        self.next_sync = 0.0  # when to read the other drivers' journals next
        if self.pruner is not None:
            for task_id, step, value in plan.progress:  # what an earlier run recorded
                self.pruner.observe(task_id, step, value)

    # -- set-up and tear-down -------------------------------------------
    def _open(self) -> None:
        # from now on orphans of tasks become our children
        self.leftovers = Leftovers(self.plan.output)
        for end in (self.wake_read, self.wake_write):
            end.setblocking(False)
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
        self.running.kill_all()  # never leave a task behind (the loop failed)
        if self.leftovers is not None:
            stopped = self.leftovers.finish(self.launched)
            if stopped:
                say(f"stopped {stopped} process(es) the tasks left behind")
        self.points.close()  # joins its thread and ends its fitting process
        self.progress.close()
        self.running.close()
        self.wake_read.close()
        self.wake_write.close()
        self.journals.close()
        if self.joined is not None:
            self.joined.close()

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
            if self.joined is not None:
                self._sync()  # what the others (and earlier runs) recorded, before any point
            try:
                self.points.start()
            except Exception as err:  # noqa: BLE001 - e.g. its process killed by a stop signal
                self._points_failed(err)
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
            self._handle_signal()  # one that came as the points' thread started, too
            self._check_stop()
            if self.stopping is None:
                unstarted = self._launch()
                if unstarted:  # recorded as failed at once; the failure policy decides
                    self._record(unstarted)
                    self._handle_signal()
                    continue
                self._check_stop()  # launching may have met a full disk
            if not self.running and (self.stopping is not None or self._issued_all()) \
                    and not self._waiting():
                self._look()  # the last lines of the tasks that ended last
                return
            if time.time() >= self.next_status:  # after the launches: lanes refilled
                self._status()
            finished = self.running.wait(self._timeout())
            self._check_points()
            self._handle_signal()
            self.running.fire_deadlines()
            self._check_walltime()
            if finished:
                self._sweep()
                self._record(finished)
            if time.time() >= self.next_look:
                self._look()
            if self.joined is not None and time.time() >= self.next_sync:
                self._sync()

    def _sweep(self) -> None:
        """Kill what ended tasks left outside their process group; reap such orphans."""
        if self.leftovers is not None:
            tasks = list(self.running)
            self.leftovers.sweep({t.id for t in tasks}, {t.pid for t in tasks})

    def _issued_all(self) -> bool:
        if self.joined is not None:
            return self.joined.tickets.exhausted and not self.lost and not self.retries
        return self.plan.done_before + self.issued >= self.plan.points_max

    def _left(self) -> int:
        """How many tasks may still be issued (in a joined search: at most)."""
        if self.joined is not None:
            tickets = self.joined.tickets
            return tickets.points_max - tickets.cursor + len(self.lost) + len(self.retries)
        return self.plan.points_max - self.plan.done_before - self.issued

    def _waiting(self) -> bool:
        """A joined search this driver has nothing to run for, with tickets unfinished:
        it waits (as long as it could issue) in case their driver dies."""
        if self.joined is None or (self.stopping is not None and
                                   self.stopping.reason is not StopReason.POINTS_MAX):
            return False
        if self.stop_at is not None and time.time() >= self.stop_at:
            return False  # the job ends: the ones that stay take the tickets over
        return not self.joined.settled()

    def _check_stop(self) -> None:
        if self.stopping is None:
            self.stopping = self._why_stop()
            if self.stopping is not None and self.stopping.reason is not StopReason.POINTS_MAX:
                shout("stop issuing tasks:", self.stopping)

    def _why_stop(self) -> Stopping | None:
        """Why no more tasks should be issued now (None: they should)."""
        if self.io_error is not None:
            return StopReason.DISK.says(output=self.plan.output, error=self.io_error)
        if self.points_error:
            return StopReason.POINTS.says(error=self.points_error)
        if self._issued_all():
            return StopReason.POINTS_MAX.says()
        if self.failures > self.config.max_failures:
            return StopReason.FAILURES.says(failures=self.failures,
                                            max_failures=self.config.max_failures)
        if self.stop_at is None:
            return None
        if time.time() >= self.stop_at:
            return self._walltime_left()
        if self._longest() and time.time() + self._longest() > self.stop_at:
            return StopReason.WALLTIME_SHORT.says(left=self._seconds_left(),
                                                  longest=self._longest(),
                                                  report=Walltime.REPORT_TIME)
        return None

    def _longest(self) -> float:
        """The longest task so far, earlier runs of this search too (resume)."""
        earlier = self.plan.earlier
        return max(self.tally.longest, earlier.longest if earlier is not None else 0.0)

    def _seconds_left(self) -> float:
        assert self.plan.end_time is not None
        return self.plan.end_time - time.time()

    def _walltime_left(self) -> Stopping:
        """`walltime: the job ends in N s` (why the run stops)."""
        return StopReason.WALLTIME.says(left=self._seconds_left())

    def _check_walltime(self) -> None:
        """At stop_at, stop the running tasks: `killed`, issued again on resume."""
        if self.stop_at is None or self.walltime_passed or time.time() < self.stop_at:
            return
        self._check_stop()
        stopping = [task for task in self.running if not task.stop_reason]
        self.walltime_passed = True
        if stopping:
            shout(f"{self._walltime_left()}: stopping {len(stopping)} running task(s) "
                  f"(grace {self.config.kill_grace:g} s); recorded killed, a resume issues "
                  "them again")
            self.running.stop_all(Status.KILLED)

    def _timeout(self) -> float | None:
        """Seconds until the next deadline (None: sleep until an event)."""
        soonest = self.running.next_deadline()
        if self.stop_at is not None and not self.walltime_passed:
            soonest = min(soonest, self.stop_at)
        if self.stopping is None and self.free_slots and self.next_launch > time.time():
            soonest = min(soonest, self.next_launch)
        if self.running:
            soonest = min(soonest, self.next_look)
        if self.joined is not None:
            soonest = min(soonest, self.next_sync)
        soonest = min(soonest, self.next_status)
        if soonest == math.inf:
            return None
        return max(0.0, soonest - time.time())

    # -- launching ----------------------------------------------------------
    def _launch(self) -> list[Task]:
        """Start tasks in the free lanes; return those whose script could not start."""
        want = self._want()
        issues = self._choose(want) if want > 0 else []
        launched: list[Task] = []
        unstarted: list[Task] = []
        for number, issue in enumerate(issues):
            try:
                task = self._start(issue)
            except OSError as err:  # OUTPUT's fault, not the task's: stop the run
                self._unissue(issues[number:])
                self.io_error = err
                shout(f"cannot write task {Layout.task_name(self.next_id)}'s files in "
                      f"{self.plan.output}: {err.strerror or err}; stopping")
                break
            if task is None:  # another driver took its ticket first
                self._unissue([issue])
                continue
            (unstarted if task.cannot_start else launched).append(task)
        if launched:
            columns = self.journals.started.columns
            self._journal(self.journals.started, [started_row(t, columns) for t in launched])
            say("tasks_running: ", len(self.running))
        if issues and self.config.launch_delay:
            self.next_launch = time.time() + self.config.launch_delay
        return unstarted

    def _want(self) -> int:
        """How many tasks to start now: free lanes and seats, POINTS_MAX, launch_delay."""
        want = min(len(self.free_slots), self._left())
        room = self.launcher.room(self.plan.parallelism)
        if room is not None:  # fewer than the lanes once a host is quarantined
            want = min(want, room)
        if want > 0 and self.config.launch_delay:
            return 1 if time.time() >= self.next_launch else 0
        return want

    def _choose(self, want: int) -> list[Issue]:
        """Up to `want` points with a seat each: second tries (off the hosts they failed
        on), then points an earlier run lost, then new points of the search."""
        issues = self._second_tries(want)
        while self.plan.reissue and len(issues) < want:
            issues.append(Issue(self.plan.reissue.pop(0), Origin.AGAIN))
        unknown: list[Claim] = []  # lost tickets whose point is not known: new points
        while self.lost and len(issues) + len(unknown) < want:
            lost = self.lost.pop(0)
            if lost.point is None:
                unknown.append(lost.claim)
            else:
                issues.append(Issue(lost.point, Origin.AGAIN, claim=lost.claim))
        if len(issues) < want:
            try:
                taken = self.points.take(want - len(issues))
            except Exception as err:  # noqa: BLE001 - any error of the search stops the run
                self._put_back(issues)
                self._points_failed(err)
                return []
            new = [Issue(p, o) for p, o in zip(taken, self.points.origins, strict=True)]
            for issue, claim in zip(new, unknown, strict=False):
                issue.claim = claim
            issues += new
        for issue in issues:
            if issue.origin is not Origin.ELSEWHERE:
                issue.seat = self.launcher.acquire(self.plan.parallelism)
        return issues

    def _second_tries(self, want: int) -> list[Issue]:
        """Points that failed at once, each with a seat off its first hosts while enough
        other hosts are left (a later quarantine may leave none)."""
        issues: list[Issue] = []
        for retry in list(self.retries):
            if len(issues) == want:
                break
            avoid = retry.hosts if self._elsewhere(retry.hosts) else ()
            seat = self.launcher.acquire(self.plan.parallelism, avoid)
            if seat is not None:
                self.retries.remove(retry)
                issues.append(Issue(retry.point, Origin.ELSEWHERE, seat, retry.hosts,
                                    retry.claim))
        return issues

    def _put_back(self, issues: list[Issue]) -> None:
        """Issues that will not start now: seats back, points back in their queues."""
        for issue in issues:
            self.launcher.release(issue.seat)
        self.retries[:0] = [Retry(i.point, i.first_hosts, i.claim) for i in issues
                            if i.origin is Origin.ELSEWHERE]
        self.plan.reissue[:0] = [i.point for i in issues
                                 if i.origin is Origin.AGAIN and i.claim is None]
        self.lost[:0] = [Lost(i.claim, i.point if i.origin is Origin.AGAIN else None)
                         for i in issues if i.claim is not None and
                         i.origin is not Origin.ELSEWHERE]

    def _unissue(self, issues: list[Issue]) -> None:
        """Issues that will never start (OUTPUT cannot take their files)."""
        for issue in issues:
            self.launcher.release(issue.seat)
        self.points.drop([i.point for i in issues])

    def _start(self, issue: Issue) -> Task | None:
        """Start one task for `issue` in a free lane (OSError: OUTPUT cannot take its files;
        None: in a joined search, another driver took its ticket first)."""
        task_id = self._task_folder()
        claim = self._ticket(issue, task_id) if self.joined is not None else None
        if self.joined is not None and claim is None:
            os.rmdir(Layout.task_dir(self.plan.output, task_id))
            return None
        task = Task(id=task_id, point=issue.point,
                    params=self.config.problem.params(issue.point), slot=self.free_slots.pop(),
                    placement=issue.seat, origin=issue.origin, first_hosts=issue.first_hosts)
        launch = self.launcher.launch(self.plan.parallelism, task.placement)
        env = self.environ | launch.env
        env["LAUNCH"] = shlex.join(launch.argv)
        try:
            task.launch(self.config.script, self.plan.parallelism, self.plan.output, env)
        except OSError:
            self.free_slots.append(task.slot)
            raise
        self.next_id = task_id + 1
        self.launched.add(task_id)
        self.issued += 1
        if claim is not None:
            self.claims[task.id] = claim
        if not task.cannot_start:
            self._watch(task, env["LAUNCH"])
        return task

    def _task_folder(self) -> int:
        """Make the next task's folder (mkdir: a number another driver took is skipped)."""
        while True:
            folder = Layout.task_dir(self.plan.output, self.next_id)
            os.makedirs(os.path.dirname(folder), exist_ok=True)
            try:
                os.mkdir(folder)
                return self.next_id
            except FileExistsError:
                self.next_id += 1

    def _ticket(self, issue: Issue, task_id: int) -> Claim | None:
        """Claim a ticket for task `task_id` (None: every ticket, or this one, is taken)."""
        assert self.joined is not None
        tickets = self.joined.tickets
        if issue.claim is None:
            return tickets.claim_new(task_id)
        claim = issue.claim.next(self.joined.name, task_id)
        return claim if tickets.claim(claim) else None

    def _watch(self, task: Task, launch: str) -> None:
        """Watch a task that started: its exit, its deadlines, its output."""
        self.running.add(task)
        self.progress.watch(task.id, task.output_file(self.plan.output))
        if self.next_look == math.inf:
            self.next_look = time.time() + self.config.progress_interval
        say("started: ", task.name, "pid", task.pid, format_params(self.names, task.point))
        debug(f"  {task.name}: LAUNCH={launch!r} cwd={task.task_dir(self.plan.output)} argv:",
              shlex.join([self.config.script, str(self.plan.parallelism),
                          json_dumps(task.params)]))

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
        rows = [results_row(t, o, self.config.metrics) for t, o in outcomes]
        if not self._journal(self.journals.results, rows):
            self._lose(outcomes)
            return
        self._retry([t for t, _ in outcomes if t.retried])
        if self.joined is not None:
            for task, outcome in outcomes:
                self.joined.record(task.id, outcome.status)
        self._tell(outcomes)
        for task, outcome in outcomes:
            self._free(task)
            self._count(task, outcome)
            self._report(task, outcome)
        say("tasks_running: ", len(self.running))

    def _tell(self, outcomes: list[tuple[Task, Outcome]]) -> None:
        """Tell the search the values, the failures and the points dropped."""
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

    def _free(self, task: Task) -> None:
        """A task is over: its seat and its lane are free again."""
        self.launcher.release(task.placement)
        self.free_slots.append(task.slot)

    def _judge_hosts(self, task: Task, outcome: Outcome) -> None:
        """Strikes and quarantine of the task's hosts; mark a point to try elsewhere."""
        pool = self.launcher.pool
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
        if self._elsewhere(hosts) and (self.stopping is None or
                                       self.stopping.reason is StopReason.POINTS_MAX):
            task.retried = True
            outcome.reason += f"; failed at once on {','.join(hosts)}: tried again elsewhere"

    def _elsewhere(self, hosts: Sequence[str]) -> bool:
        """Enough usable hosts of the pool, `hosts` aside, for one task."""
        pool = self.launcher.pool
        return pool is not None and pool.others(hosts) >= self.plan.parallelism

    def _retry(self, tasks: list[Task]) -> None:
        """Queue the points of tasks that failed at once, for other hosts."""
        for task in tasks:
            assert task.placement is not None  # only a task of the pool is retried
            self.retries.append(Retry(task.point, tuple(task.placement.hosts),
                                      self.claims.get(task.id)))
            self.issued -= 1  # the second try is issued in its place
            self.retried += 1
        if tasks and self.stopping is not None and \
                self.stopping.reason is StopReason.POINTS_MAX:
            self.stopping = None

    def _lose(self, outcomes: list[tuple[Task, Outcome]]) -> None:
        """Tasks whose rows could not be written: not counted, issued again on resume."""
        try:
            self.points.drop([t.point for t, _ in outcomes])
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self._points_failed(err)
        for task, outcome in outcomes:
            self._free(task)
            shout(f"TASK {task.name} ended ({outcome.status}) but its row could not be "
                  "recorded: a resumed run issues it again")
        say("tasks_running: ", len(self.running))

    def _count(self, task: Task, outcome: Outcome) -> None:
        best = Best(outcome.objective, task.id, task.params, outcome.metrics) \
            if outcome.objective is not None else None
        self.tally.add(outcome.status, task.end - task.start, best, self.config.direction,
                       superseded=task.retried)
        if outcome.status.is_failure and not task.retried:  # its second try's may count
            self.failures += 1

    # -- status lines ---------------------------------------------------------
    def _whole(self) -> Tally:
        """This run's tally joined with the earlier runs' (after a resume) and, in a joined
        search, with the other drivers'."""
        whole = self.tally.joined(self.plan.earlier, self.config.direction)
        if self.joined is not None:
            whole = whole.joined(self.joined.others, self.config.direction)
        return whole

    def _done(self) -> int:
        """Tasks of the whole search done toward POINTS_MAX."""
        if self.joined is not None:
            return self.joined.finished()
        return self.plan.done_before + self.tally.finished

    def status_line(self) -> str:
        """`status: done N/POINTS_MAX, running, failed, [pruned,] best, elapsed, ETA`."""
        now = time.time()
        return status_line(self._whole(), Standing(
            done=self._done(), points_max=self.plan.points_max,
            concurrency=self.plan.concurrency, ages=[now - t.start for t in self.running],
            issuing=self.stopping is None, pruning=self.config.pruner is not None,
            elapsed=now - self.began))

    def _status(self) -> None:
        """Print a status line (at every log level: a batch log at WARNING keeps them)."""
        self.next_status = time.time() + self.config.status_interval
        line = self.status_line()
        if self.joined is not None:
            line += f", drivers alive {len(self.joined.alive_drivers())}"
        shout(line)

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
            self.running.stop_all(Status.KILLED)
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
        if stop:
            running = {task.id: task for task in self.running}
            for task_id, verdict in stop:
                task = running[task_id]
                say("pruning: ", task.name, f"at step {verdict.step}:", verdict.reason)
                self.running.stop(task, Status.PRUNED)

    def _progress(self, found: list[tuple[int, int, float]]) -> list[tuple[int, Verdict]]:
        """Journal intermediate values, then show them to the pruner.

        All the values of one read are recorded before any decision; then
        each running task the read brought a value of is judged once, on its
        latest step and best so far. Returns the running tasks to stop, with
        the verdict; a task that ended or is being stopped only adds to the
        history.
        """
        if not found:
            return []
        now = f"{time.time():.3f}"
        self._journal(self.journals.progress,
                      [{"id": i, "step": s, "value": repr(v), "time": now} for i, s, v in found])
        if self.pruner is None or self.io_error is not None:
            return []
        deciding = {task.id for task in self.running if not task.stop_reason}
        recorded = [task_id for task_id, step, value in found  # the whole read first
                    if self.pruner.observe(task_id, step, value)]
        verdicts = [(task_id, self.pruner.decide(task_id))
                    for task_id in dict.fromkeys(recorded) if task_id in deciding]
        return [(task_id, verdict) for task_id, verdict in verdicts if verdict is not None]

    # -- a joined search: the other drivers ----------------------------------
    def _sync(self) -> None:
        """Tell the search what the other drivers recorded; queue the lost tickets."""
        assert self.joined is not None
        self.next_sync = time.time() + SYNC_INTERVAL
        seen = self.joined.sync()
        try:
            if seen.pending:
                self.points.pend(seen.pending)
            if seen.told:
                self.points.tell([p for p, _ in seen.told], [v for _, v in seen.told])
            if seen.failed:
                self.points.fail(seen.failed)
            if seen.dropped:
                self.points.drop(seen.dropped)
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self._points_failed(err)
        if seen.lags:
            debug(f"others: told {len(seen.lags)} result(s), seconds after their end: "
                  + " ".join(f"{lag:.3f}" for lag in seen.lags))
        lost = self.joined.lost()
        if not lost:
            return
        shout(f"taking over {len(lost)} ticket(s) of driver(s) that are gone "
              f"({', '.join(sorted({x.claim.driver for x in lost}))}): their tasks "
              f"{', '.join(Layout.task_name(x.claim.task) for x in lost[:10])} are issued again")
        self.lost += lost
        if self.stopping is not None and self.stopping.reason is StopReason.POINTS_MAX:
            self.stopping = None

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
        self.points_error = f"{type(err).__name__}: {text[:300]}" if text else type(err).__name__
        self.running.stop_all(Status.KILLED)

    # -- stopping: signals ----------------------------------------------------
    def _handle_signal(self) -> None:
        if not self.signal_count:
            return
        if self.stopping is None or self.stopping.reason is not StopReason.SIGNAL:
            name = signal.Signals(self.signal_number).name
            self.stopping = StopReason.SIGNAL.says(name=name)
            shout(f"received {name}: issuing no more tasks; stopping {len(self.running)} "
                  f"running task(s) (grace {self.config.kill_grace:g} s)")
            self.running.stop_all(Status.KILLED)
        if self.signal_count > 1 and self.running and not self.grace_skipped:
            self.grace_skipped = True
            shout(f"received a second signal: skipping the grace period, SIGKILL to "
                  f"{len(self.running)} task(s)")
        if self.signal_count > 1:
            self.running.kill_all()

    # -- the end --------------------------------------------------------------
    def _finish(self) -> int:
        """The summary, the best result and how the run ended; return the exit code."""
        shout(self.tally.summary_line())
        if self.retried or self.bad_nodes.quarantined:
            shout(f"bad nodes: {self.retried} point(s) that failed at once were tried again "
                  f"elsewhere; {self.bad_nodes.summary() or 'no node quarantined'}")
        if self.joined is not None:
            shout(f"joined search: done {self._done()}/{self.plan.points_max} by every "
                  f"driver; this one ran {self.issued} task(s)")
        best = self._whole().best  # of the whole search, earlier runs too
        if best is not None:
            shout(best.line())
        resume = f"to resume: {self.plan.resume_command}"
        if self.signal_number:
            shout("Workflow stopped!")
            shout(resume)
            return 128 + self.signal_number
        if self.walltime_passed or (self.stopping is not None and
                                    self.stopping.reason.is_walltime):
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
