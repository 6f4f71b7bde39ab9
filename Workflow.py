# WORKFLOW PY
# The search loop: start POINTS_INIT tasks; sleep until a task exits, a
# signal arrives or a deadline passes (never a fixed-interval poll); record
# each outcome in results.csv first (written; fsynced on a thread of its
# own, Results.Syncer), tell the search, refill the free lanes; stop issuing
# on POINTS_MAX, on too many failures, when a task could not end before
# the job's end (Walltime.py), on a signal, or when not one task can start
# (StopReason.py names why); then drain. At
# Walltime.stop_time (kill_grace + REPORT_TIME before the job's end) it
# stops its running tasks itself, recorded `killed`, before the scheduler
# does. Every progress_interval seconds it reads the running tasks' new
# output (Progress.py), journals their intermediate values in progress.csv
# and stops those the pruner gives up on. Every status_interval seconds it
# prints one `status:` line (Tally.py). A task that fails at once on hosts
# of the pool has its point tried once more on other hosts, and a host
# whose tasks keep failing at once is quarantined (Issues.py, BadNodes.py).
# When the system allows no more processes, it runs with the lanes in use.
# Task numbers are claimed by mkdir of their folders (TaskNumbers.py). In a
# joined search (Joined.py) JoinedLoop.py holds the loop's steps: each task
# takes a ticket toward POINTS_MAX first, and every SYNC_INTERVAL the loop
# syncs with the other drivers' new rows (_sync); it ends when every
# ticket's task has finished, so that a driver that dies late still has its
# points run.
#
# Call order: run() -> _open -> points.start -> _loop; each turn:
#   _handle_signal, _check_stop -> _launch (_want; Issuer.choose: which
#   points; _make: one task each, its number, in a free lane (TASK_SLOT)
#   on its seat; Spawner.run: all of them started at once; _sort_launches:
#   in issue order, each started or its lane and number back; then _watch
#   each, started.csv) -> _settle (the turn's rows to the
#   Syncer), _sweep (leftovers of tasks that ended; at most every
#   SWEEP_INTERVAL), _look, _status:
#   after the launches, so that no replacement waits for them ->
#   running.wait (select) -> _check_points, _check_syncs, _handle_signal,
#   deadlines, walltime -> _record (results.csv written, then the search,
#   then the log and best.json) -> _sync (a joined search);
# then _close -> _finish (summary, best, the resume line, the exit code).
# Threading: all of it on the caller's thread, but for the Spawner's
# threads, which run one Task.launch each (the task's own folder, files,
# Popen and pidfd) while the loop waits for the turn's launches to return.
# The points' thread (Proposer) only calls wake(); the Syncer's only
# fsyncs the journals the loop has written to (closed, so done, before the
# journals); signal handlers only take note (Signals.Noted) and wake
# select() through the wakeup fd.

import functools
import math
import shlex
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import Layout
import Signals
import Walltime
from BadNodes import BadNodes
from Best import Keeper
from Config import Config
from Heap import start_up_frozen
from Issues import Issue, Issuer, Points
from Joined import Joined
from JoinedLoop import JoinedLoop
from Launcher import Launcher
from Leftovers import Leftovers
from Objectives import FAIL, Told
from Progress import ProgressReader
from Pruner import Pruner
from PruneRule import Verdict
from Results import Journal, Journals, Syncer, results_row, started_row
from RunningTasks import RunningTasks
from Spawner import Raised, Spawner
from Status import Status
from StopReason import Ended, Stopping, StopReason
from Tally import Best, Standing, Tally, status_line
from Task import NoProcessLeft, Outcome, Task
from TaskNumbers import TaskNumbers
from utils import debug, format_params, json_dumps, say, shout

Ready = tuple[Issue, Task, Any]  # a task made for its issue, with its ticket (a joined search)
# seconds between sweeps for leftovers: one reads every child's /proc entry (2 ms of the
# loop's CPU at 1,024 tasks, 4 ms of its time beside a CPU hog), so not after every exit
SWEEP_INTERVAL = 0.5


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


class Workflow:
    """Runs one search to its end and returns the exit code."""

    def __init__(self, config: Config, plan: Plan, points: Points, launcher: Launcher,
                 environ: dict[str, str], journals: Journals,
                 joined: Joined | None = None) -> None:
        self.config = config
        self.plan = plan
        self.points = points
        self.launcher = launcher
        # every task's: the driver's environment and the metrics its result must hold
        self.environ = environ | {"TASK_METRICS": " ".join(config.goals.metric_names())}
        self.wake_read, self.wake_write = socket.socketpair()
        self.running = RunningTasks(self.wake_read, config.kill_grace,
                                    config.task_timeout or 0.0)
        self.issuer = Issuer(points, launcher, plan.parallelism,
                             BadNodes(config.bad_node_failures, config.bad_node_seconds),
                             reissue=plan.reissue)
        self.free_slots = list(range(plan.concurrency - 1, -1, -1))  # lanes: TASK_SLOT
        self.lanes_capped = False  # the system allowed fewer processes than CONCURRENCY
        self.numbers = TaskNumbers(plan.output, plan.first_id)
        self.launched: set[int] = set()  # this driver's tasks (others' run between, --join)
        self.issued = 0
        self.tally = Tally()
        self.failures = 0
        self.began = time.time()
        self.next_status = math.inf  # when to print the next status line
        self.stopping: Stopping | None = None  # why no more tasks are issued
        self.stop_at = Walltime.stop_time(plan.end_time, config.kill_grace)
        self.walltime_passed = False  # stop_at came: the running tasks were stopped
        self.signals = Signals.Noted()
        self.grace_skipped = False
        self.io_error: OSError | None = None
        self.points_error = ""  # the search could not propose points: why
        self.no_process = ""  # not even one task could start (EAGAIN): why
        self.next_launch = 0.0
        self.leftovers: Leftovers | None = None
        self.journals = journals  # opened by the caller, closed by the run
        self.syncer: Syncer | None = None  # fsyncs the journals' rows (a thread; _open)
        self.spawner = Spawner()  # starts a turn's tasks at once (its threads: the first turn)
        self.progress = ProgressReader(config.progress_pattern)
        self.next_look = math.inf  # when to read the running tasks' new output
        self.ended: list[int] = []  # tasks that ended, whose output's last lines are unread
        self.goals = config.goals  # the objectives and constraints (Objectives.py)
        self.pruner = Pruner(config.pruner, config.direction) if config.pruner else None
        self.best_file = Keeper(plan.output, self.goals)  # OUTPUT/best.json
        self.unswept = False  # tasks ended since the last sweep for what they left behind
        self.next_sweep = 0.0  # the earliest time of the next sweep
        self.unsettled = False  # rows recorded since the last _settle
        # a joined search: this driver's steps in it
        self.joint = JoinedLoop(joined, points, self.issuer, self._points_failed,
                                self.pruner) if joined is not None else None
        if self.pruner is not None:
            for task_id, step, value in plan.progress:  # what an earlier run recorded
                self.pruner.observe(task_id, step, value)

    # -- set-up and tear-down -------------------------------------------
    def _open(self) -> None:
        # from now on orphans of tasks become our children
        self.leftovers = Leftovers(self.plan.output)
        self.syncer = Syncer()
        for end in (self.wake_read, self.wake_write):
            end.setblocking(False)
        signal.set_wakeup_fd(self.wake_write.fileno(), warn_on_full_buffer=False)
        self.signals.catch()  # one that came before: the loop starts stopped, no task

    def _close(self) -> None:
        """Stop the points' thread and process, close the files; signals are still only noted."""
        signal.set_wakeup_fd(-1)
        self.spawner.close()  # no launch is under way: the loop's own run() returned
        self.running.kill_all()  # never leave a task behind (the loop failed)
        if self.leftovers is not None:
            stopped = self.leftovers.finish(self.launched)
            if stopped:
                say(f"stopped {stopped} process(es) the tasks left behind")
        self.points.close()  # joins its thread and ends its fitting process
        self.progress.close()
        if self.syncer is not None:
            self.syncer.close()  # every row requested is synced: the summary may follow
            self._check_syncs()
        self.running.close()
        self.wake_read.close()
        self.wake_write.close()
        self.journals.close()
        if self.joint is not None:
            self.joint.close()

    def wake(self) -> None:
        """Wake the loop from another thread (new points are ready)."""
        try:
            self.wake_write.send(b"p")
        except (BlockingIOError, OSError):
            pass

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
            if self.joint is not None:
                self._sync()  # what the others (and earlier runs) recorded, before any point
            try:
                self.points.start()
            except Exception as err:  # noqa: BLE001 - e.g. its process killed by a stop signal
                self._points_failed(err)
            with start_up_frozen():  # no full collection walks start-up's objects (Heap.py)
                self._loop()
        finally:
            self._close()
        code = self._finish()
        self.signals.restore()  # the caller's, once the summary and the resume line are out
        return code

    def _loop(self) -> None:
        while True:
            self._handle_signal()  # one that came as the points' thread started, too
            self._check_stop()
            if self.stopping is None:
                unstarted = self._launch()
                if unstarted:  # recorded as failed at once; the failure policy decides
                    self._record(unstarted)
                    continue
                self._check_stop()  # launching may have met a full disk
            if self.unsettled:
                self._settle()
            if not self.running and (self.stopping is not None or self._issued_all()) \
                    and not self._waiting():
                self._look()  # the last lines of the tasks that ended last
                return
            # after the launches (lanes refilled): no replacement waits for these
            if self.unswept and time.time() >= self.next_sweep:
                self._sweep()
            if time.time() >= self.next_look:
                self._look()
            if time.time() >= self.next_status:
                self._status()
            finished = self.running.wait(self._timeout())
            self._check_points()
            self._check_syncs()
            self._handle_signal()
            self.running.fire_deadlines()
            self._check_walltime()
            if finished:
                self._record(finished)
                self.unswept = True
            if self.joint is not None and self.joint.due():
                self._sync()

    def _settle(self) -> None:
        """What a turn's records leave for after its launches: the fsync of its rows
        (written before the launches, they survive the driver's own death; the fsync,
        on the Syncer's thread, guards them against the OS's)."""
        self.unsettled = False
        assert self.syncer is not None
        self.syncer.request([self.journals.results, self.journals.started])

    def _check_syncs(self) -> None:
        """Stop as on a full disk when a journal's fsync failed."""
        failed = self.syncer.failure() if self.syncer is not None else None
        if failed is not None and self.io_error is None:
            self._cannot_write(*failed)

    def _sweep(self) -> None:
        """Kill what ended tasks left outside their process group; reap such orphans."""
        self.unswept = False
        self.next_sweep = time.time() + SWEEP_INTERVAL
        if self.leftovers is not None:
            tasks = list(self.running)
            self.leftovers.sweep({t.id for t in tasks}, {t.pid for t in tasks})

    def _issued_all(self) -> bool:
        if self.joint is not None:
            return self.joint.issued_all()
        return self.plan.done_before + self.issued >= self.plan.points_max

    def _left(self) -> int:
        """How many tasks may still be issued (in a joined search: at most)."""
        if self.joint is not None:
            return self.joint.left()
        return self.plan.points_max - self.plan.done_before - self.issued

    def _waiting(self) -> bool:
        """A joined search's tickets are unfinished: wait in case their driver dies."""
        return self.joint is not None and self.joint.waiting(self.stopping, self.stop_at)

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
        if self.no_process:
            return StopReason.PROCESSES.says(error=self.no_process)
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
        if self.unswept:
            soonest = min(soonest, self.next_sweep)
        soonest = min(soonest, self.next_status)
        if self.joint is not None:
            soonest = min(soonest, self.joint.next_sync)
        if soonest == math.inf:
            return None
        return max(0.0, soonest - time.time())

    # -- launching ----------------------------------------------------------
    def _launch(self) -> list[Task]:
        """Start tasks in the free lanes; return those whose script could not start."""
        issues = self._choose(self._want())
        ready: list[Ready] = []
        for number, issue in enumerate(issues):
            try:
                made = self._make(issue)
            except OSError as err:  # OUTPUT's fault, not the task's: stop the run
                self.issuer.give_up(issues[number:])
                self._cannot_write_task(self.numbers.next_id, err)
                break
            if made is None:  # another driver took its ticket first
                self.issuer.give_up([issue])
                continue
            ready.append((issue, *made))
        raised = self.spawner.run([self._launch_call(task) for _, task, _ in ready])
        launched, unstarted, no_process = self._sort_launches(ready, raised)
        for task in launched:  # after the launches: none waits for another's bookkeeping
            self._watch(task)
        if no_process:
            self._no_process_left(no_process)
        if launched:
            columns = self.journals.started.columns
            self._journal(self.journals.started, [started_row(t, columns) for t in launched],
                          durable=False)
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
        """Which points start now (none when the search fails to give them)."""
        if want <= 0:
            return []
        try:
            return self.issuer.choose(want)
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self._points_failed(err)
            return []

    def _sort_launches(self, ready: list[Ready], raised: list[Raised]
                       ) -> tuple[list[Task], list[Task], str]:
        """In issue order: (the tasks started, those whose script could not start, why a
        task could not start for want of processes); the others' lanes and numbers back."""
        launched: list[Task] = []
        unstarted: list[Task] = []
        no_process = ""
        later: list[Issue] = []  # issues for want of processes: back in their order
        for (issue, task, claim), error in zip(ready, raised):
            if error is None:
                self._started(task, claim)
                (unstarted if task.cannot_start else launched).append(task)
                continue
            self._unmake(issue, task, claim)
            if isinstance(error, NoProcessLeft):  # run with the lanes that could start
                later.append(issue)
                no_process = str(error)
            elif isinstance(error, OSError):  # OUTPUT's fault, not the task's: stop the run
                self.issuer.give_up([issue])
                if self.io_error is None:
                    self._cannot_write_task(task.id, error)
            else:
                raise error  # unforeseen: the loop ends (the tasks' leftovers are stopped)
        self.issuer.put_back(later)
        return launched, unstarted, no_process

    def _make(self, issue: Issue) -> tuple[Task, Any] | None:
        """The task for `issue`, in a free lane, with its number and (a joined search) its
        ticket: (task, ticket); None when another driver took the ticket first (raises
        OSError: OUTPUT cannot take its folder)."""
        task_id = self.numbers.take()
        claim = self.joint.ticket(issue, task_id) if self.joint is not None else None
        if self.joint is not None and claim is None:
            self.numbers.give_back(task_id)
            return None
        task = Task(id=task_id, point=issue.point,
                    params=self.config.problem.params(issue.point), slot=self.free_slots.pop(),
                    placement=issue.seat, origin=issue.origin, first_hosts=issue.first_hosts)
        return task, claim

    def _launch_call(self, task: Task) -> Callable[[], None]:
        """The call that starts `task` (on a Spawner thread: it touches only the task)."""
        launch = self.launcher.launch(self.plan.parallelism, task.placement)
        env = self.environ | launch.env
        env["LAUNCH"] = task.launch_line = shlex.join(launch.argv)
        return functools.partial(task.launch, self.config.script, self.plan.parallelism,
                                 self.plan.output, env)

    def _unmake(self, issue: Issue, task: Task, claim: Any) -> None:
        """A task that did not start (NoProcessLeft, OSError): its lane and number back."""
        self.free_slots.append(task.slot)
        issue.claim = claim or issue.claim  # a held point keeps its ticket
        self.numbers.give_back(task.id)  # its number is free again

    def _started(self, task: Task, claim: Any) -> None:
        """A task that started (or whose script could not: a failed row)."""
        self.numbers.started(task.id)
        self.launched.add(task.id)
        self.issued += 1
        if self.joint is not None and claim is not None:
            self.joint.started(task.id, claim)

    def _cannot_write_task(self, task_id: int, err: OSError) -> None:
        """OUTPUT cannot take a task's files: the run stops (said once)."""
        self.io_error = err
        shout(f"cannot write task {Layout.task_name(task_id)}'s files in "
              f"{self.plan.output}: {err.strerror or err}; stopping")

    def _watch(self, task: Task) -> None:
        """Watch a task that started: its exit, its deadlines, its output."""
        self.running.add(task)
        self.progress.watch(task.id, task.output_file(self.plan.output))
        if self.next_look == math.inf:
            self.next_look = time.time() + self.config.progress_interval
        say("started: ", task.name, "pid", task.pid,
            format_params(task.params, task.params.values()))
        debug(f"  {task.name}: LAUNCH={task.launch_line!r} "
              f"cwd={task.task_dir(self.plan.output)} argv:",
              shlex.join([self.config.script, str(self.plan.parallelism),
                          json_dumps(task.params)]))

    def _no_process_left(self, why: str) -> None:
        """The system allows no more processes: the lanes are those in use (said once);
        with none in use, the run stops."""
        if not self.running:
            self.no_process = why
            return
        lanes = self.plan.concurrency - len(self.free_slots)  # those of the tasks now
        self.free_slots.clear()
        if not self.lanes_capped:
            self.lanes_capped = True
            shout(f"note: a task could not start ({why}: the system allows no more processes); "
                  f"running {lanes} lane(s) at once instead of CONCURRENCY="
                  f"{self.plan.concurrency}")

    # -- finishing tasks ----------------------------------------------------
    def _record(self, finished: list[Task]) -> None:
        """Journal first, then tell the search, then report."""
        # a pruned task's last value is its objective: read its last lines now; the
        # others' wait for the next look (off the path from a task's end to the next launch)
        self._progress([(t.id, step, value) for t in finished if t.stop_reason is Status.PRUNED
                        for step, value in self.progress.unwatch(t.id)])
        self.ended += [t.id for t in finished if t.stop_reason is not Status.PRUNED]
        outcomes = [(task, task.outcome(self.plan.output, self.config.metrics, self.goals))
                    for task in finished]
        may_retry = self.stopping is None or self.stopping.reason is StopReason.POINTS_MAX
        for task, outcome in outcomes:
            if outcome.status is Status.PRUNED and self.pruner is not None:
                outcome.objective = self.pruner.last_value(task.id)
            self.issuer.judge(task, outcome, may_retry)
        rows = [results_row(t, o, self.config.metrics) for t, o in outcomes]
        if not self._journal(self.journals.results, rows, durable=False):
            self._lose(outcomes)
            return
        self._try_again([t for t, _ in outcomes if t.retried])
        if self.joint is not None:
            for task, outcome in outcomes:
                self.joint.recorded(task.id, outcome.status)
        self._tell(outcomes)
        for task, outcome in outcomes:
            self._free(task)
            self._count(task, outcome)
            task.log_end(outcome, self.plan.output)
        self.best_file.keep(self._whole().front)  # the next tasks see it (written as it changes)
        say("tasks_running: ", len(self.running))

    def _tell(self, outcomes: list[tuple[Task, Outcome]]) -> None:
        """Tell the search the values, the infeasible points and the points dropped
        (Objectives.py: a failure tried again elsewhere is none of them)."""
        told: list[tuple[list[Any], Told]] = []
        failed: list[list[Any]] = []
        dropped: list[list[Any]] = []
        for task, outcome in outcomes:
            if task.retried:
                continue
            verdict, values = self.goals.verdict(outcome.status, outcome.objective,
                                                 outcome.metrics)
            if values is not None:
                told.append((task.point, self.goals.told(values)))
            else:
                (failed if verdict == FAIL else dropped).append(task.point)
        try:
            if told:
                self.points.tell([p for p, _ in told], [v for _, v in told])
            if failed:
                self.points.fail(failed)
            if dropped:
                self.points.drop(dropped)
        except Exception as err:  # noqa: BLE001 - any error of the search stops the run
            self._points_failed(err)

    def _try_again(self, tasks: list[Task]) -> None:
        """Points that failed at once run again elsewhere, in place of their first try."""
        if tasks:
            self.issuer.try_again(tasks, self.joint.claims if self.joint is not None else {})
            self.issued -= len(tasks)
            if self.stopping is not None and self.stopping.reason is StopReason.POINTS_MAX:
                self.stopping = None

    def _free(self, task: Task) -> None:
        """A task is over: its seat and its lane are free again."""
        self.launcher.release(task.placement)
        self.free_slots.append(task.slot)

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
        values = self.goals.verdict(outcome.status, outcome.objective, outcome.metrics)[1]
        best = Best(values, task.id, task.params, outcome.metrics) if values is not None \
            else None
        self.tally.add(outcome.status, task.end - task.start, best, self.goals,
                       superseded=task.retried)
        if outcome.status.is_failure and not task.retried:  # its second try's may count
            self.failures += 1

    # -- status lines and journals --------------------------------------------
    def _whole(self) -> Tally:
        """This run's tally joined with the earlier runs' (after a resume) and, in a joined
        search, with the other drivers'."""
        whole = self.tally.joined(self.plan.earlier, self.goals)
        if self.joint is not None:
            whole = whole.joined(self.joint.others, self.goals)
        return whole

    def _done(self) -> int:
        """Tasks of the whole search done toward POINTS_MAX."""
        if self.joint is not None:
            return self.joint.done()
        return self.plan.done_before + self.tally.finished

    def status_line(self) -> str:
        """`status: done N/POINTS_MAX, running, failed, [pruned,] best, elapsed, ETA`."""
        now = time.time()
        return status_line(self._whole(), Standing(
            done=self._done(), points_max=self.plan.points_max,
            concurrency=self.plan.concurrency, ages=[now - t.start for t in self.running],
            issuing=self.stopping is None, pruning=self.config.pruner is not None,
            elapsed=now - self.began, several=self.goals.several))

    def _status(self) -> None:
        """Print a status line (at every log level: a batch log at WARNING keeps them)."""
        self.next_status = time.time() + self.config.status_interval
        line = self.status_line()
        if self.joint is not None:
            line += self.joint.status_words(len(self.running))
        shout(line)

    def _journal(self, journal: Journal, rows: list[dict[str, Any]],
                 durable: bool = True) -> bool:
        """Append rows (all or none), fsynced at once if `durable` (else on the
        Syncer's thread: _settle); a full disk stops the run cleanly.

        Returns whether the rows were written.
        """
        try:
            journal.write(rows)
            if durable:
                journal.sync()
            else:
                self.unsettled = True  # fsynced on the Syncer's thread after the launches
        except OSError as err:
            self._cannot_write(journal, err)
            return False
        return True

    def _cannot_write(self, journal: Journal, err: OSError) -> None:
        """A journal met a full disk (or an I/O error): say so once, stop the run."""
        if self.io_error is None:
            self.io_error = err
            shout(f"cannot write {journal.path}: {err.strerror}; stopping")
        self.running.stop_all(Status.KILLED)

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

    def _handle_signal(self) -> None:
        """Act on the stop signals noted: stop the tasks; a second one skips the grace."""
        if not self.signals.count:
            return
        if self.stopping is None or self.stopping.reason is not StopReason.SIGNAL:
            self.stopping = StopReason.SIGNAL.says(name=self.signals.name)
            shout(f"received {self.signals.name}: issuing no more tasks; stopping "
                  f"{len(self.running)} running task(s) (grace {self.config.kill_grace:g} s)")
            self.running.stop_all(Status.KILLED)
        if self.signals.count > 1 and self.running and not self.grace_skipped:
            self.grace_skipped = True
            shout(f"received a second signal: skipping the grace period, SIGKILL to "
                  f"{len(self.running)} task(s)")
        if self.signals.count > 1:
            self.running.kill_all()

    # -- a joined search: the other drivers ----------------------------------
    def _sync(self) -> None:
        """Read the other drivers' new rows; issue again the tickets of those gone."""
        assert self.joint is not None
        if self.joint.sync() and self.stopping is not None \
                and self.stopping.reason is StopReason.POINTS_MAX:
            self.stopping = None

    # -- the end --------------------------------------------------------------
    def _finish(self) -> int:
        """The summary, the best result and how the run ended; return the exit code."""
        shout(self.tally.summary_line())
        if self.points.share.issued:
            shout(self.points.share.line())
        if self.issuer.summary():
            shout(self.issuer.summary())
        if self.joint is not None:
            shout(self.joint.summary_line(self.plan.points_max, self.issued))
        for line in self._whole().best_lines(self.goals):  # the whole search's, earlier runs too
            shout(line)
        lines, code = Ended(
            signal_number=self.signals.number, walltime=self.walltime_passed or (
                self.stopping is not None and self.stopping.reason.is_walltime),
            io_error=self.io_error is not None,
            cannot_go_on=bool(self.points_error or self.no_process),
            failures=self.failures, max_failures=self.config.max_failures,
            output=self.plan.output, resume_command=self.plan.resume_command).last_lines()
        for line in lines:
            shout(line)
        return code
