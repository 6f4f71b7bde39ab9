# PROGRESS PY
# Intermediate results: finds `step value` pairs in the output files
# (NNNN.txt) of running tasks, reading only the bytes they added since the
# last look. A task reports them two ways:
#   PROGRESS <step> <value>    an explicit line (any script; step: an integer;
#                              a launcher's rank label before it is fine)
#   cfg "progress_pattern"     a regular expression with one group, matched
#                              against each output line; each match is the
#                              value of the task's next step (Keras prints
#                              "val_loss: 0.123" once per epoch).
# A task's values come from one of the two: the kind its first value came
# in; lines of the other kind are ignored, and said so once per run.
# The model may run on other nodes: its output reaches NNNN.txt through the
# launcher (srun, mpiexec, aprun), so a file is all this reads. The cost per
# look is bounded per task: one fstat, and a read of at most READ_CAP new
# bytes; a line longer than LINE_CAP is skipped, never buffered whole.

import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

import Layout
from Results import read_journal
from Status import parse_status
from utils import debug, warn

# Seconds between two looks at the running tasks' outputs (cfg progress_interval).
DEFAULT_INTERVAL = 5.0
READ_CAP = 4 << 20  # bytes read per task per look (the rest waits for the next look)
LINE_CAP = 1 << 16  # longest output line looked at; longer ones are skipped
# an explicit line, possibly behind a launcher's rank label ("0: ", "[0] ")
LINE_END = re.compile(rb"[\r\n]")  # a progress bar redraws its line after a \r
EXPLICIT = re.compile(r"(?:^|[\s:\]])PROGRESS\s+([-+]?\d+)\s+(\S+)\s*$")
EXPLICIT_SOURCE, PATTERN_SOURCE = "PROGRESS lines", "progress_pattern matches"


def compile_pattern(text: str) -> re.Pattern[str]:
    """The cfg progress_pattern compiled; ValueError says what is wrong with it."""
    try:
        pattern = re.compile(text)
    except re.error as err:
        raise ValueError(f"does not compile: {err}") from None
    if pattern.groups != 1:
        raise ValueError(f"expected exactly one group (...) around the value, "
                         f"got {pattern.groups}")
    return pattern


def read_history(output: str, results: list[dict[str, str]]) -> list[tuple[int, int, float]]:
    """The recorded intermediate values (id, step, value) that a resumed search keeps.

    Those of tasks that ended (a row in `results`, the rows of results.csv,
    with a status that is done), in the order they were journaled. A task
    that was interrupted is issued again under a new number: its partial
    curve would count twice, so it is left out.
    """
    path = Layout.path(output, Layout.PROGRESS)
    if not os.path.exists(path):
        return []
    done = {int(r["id"]) for r in results if parse_status(r["status"]).is_done}
    history = []
    for row in read_journal(path)[1]:
        try:
            task_id, step, value = int(row["id"]), int(row["step"]), float(row["value"])
        except (KeyError, ValueError):
            warn(f"{path}: skipping a row that is not id,step,value: {row}")
            continue
        if task_id in done:
            history.append((task_id, step, value))
    return history


def read_curves(output: str) -> dict[int, list[tuple[int, float]]]:
    """Every task's recorded intermediate values, task id -> [(step, value), ...].

    From OUTPUT/progress.csv in journal order ({} when there is none); for
    the report and its plot, which show interrupted tasks too.
    """
    path = Layout.path(output, Layout.PROGRESS)
    if not os.path.exists(path):
        return {}
    curves: dict[int, list[tuple[int, float]]] = {}
    for row in read_journal(path)[1]:
        try:
            curves.setdefault(int(row["id"]), []).append((int(row["step"]),
                                                          float(row["value"])))
        except (KeyError, ValueError):
            continue
    return curves


def finite(text: str) -> float | None:
    """The number in `text`, or None when it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class Watch:
    """What is known of one running task's output file."""

    task_id: int
    fd: int
    offset: int = 0  # bytes consumed so far
    partial: bytearray = field(default_factory=bytearray)  # a line without its newline yet
    skipping: bool = False  # inside a line longer than LINE_CAP
    last_step: int | None = None  # the task's last reported step
    source: str = ""  # EXPLICIT_SOURCE or PATTERN_SOURCE: where its values come from


class ProgressReader:
    """Reads the new lines of running tasks' outputs and finds their progress.

    Parameters
    ----------
    pattern : str or None
        The cfg progress_pattern (None: only explicit PROGRESS lines count).

    Notes
    -----
    Lines end at a newline or a carriage return (progress bars). Steps are
    integers >= 0 that grow: a step at or below the task's last one is
    ignored. A pattern match is step last+1 (the first one is step 1). A
    value that is not a finite number (nan, inf) uses up its step but is
    not reported. A task that prints both kinds keeps the kind of its
    first value (the first such task is named in a warning).
    """

    def __init__(self, pattern: str | None = None) -> None:
        self.pattern = compile_pattern(pattern) if pattern else None
        self.watches: dict[int, Watch] = {}
        self.mixed_said = False  # the warning about a task printing both kinds

    def watch(self, task_id: int, path: str) -> None:
        """Start following the output file of task `task_id` (from its start).

        Opened without blocking; anything but a regular file (a FIFO, a
        device) is not followed, with a warning.
        """
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            warn(f"progress: cannot read {path}: {err.strerror}; not following it")
            return
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            warn(f"progress: {path} is not a regular file; not following it")
            return
        self.watches[task_id] = Watch(task_id, fd)

    def read(self, task_id: int) -> list[tuple[int, float]]:
        """The (step, value) pairs task `task_id` printed since the last read."""
        watch = self.watches.get(task_id)
        if watch is None:
            return []
        return list(self._pairs(watch, self._new_lines(watch)))

    def read_grown(self) -> list[tuple[int, int, float]]:
        """(task id, step, value) of every followed file that grew since the last read."""
        found = []
        for watch in self.watches.values():
            try:
                size = os.fstat(watch.fd).st_size
            except OSError:
                continue
            if size > watch.offset:
                found += [(watch.task_id, s, v)
                          for s, v in self._pairs(watch, self._new_lines(watch))]
        return found

    def unwatch(self, task_id: int) -> list[tuple[int, float]]:
        """Read what is left (a last line without newline counts), then stop following."""
        watch = self.watches.get(task_id)
        if watch is None:
            return []
        lines = list(self._new_lines(watch, limit=None))
        if watch.partial and not watch.skipping:
            lines.append(bytes(watch.partial))
        pairs = list(self._pairs(watch, lines))
        os.close(watch.fd)
        del self.watches[task_id]
        return pairs

    def close(self) -> None:
        """Stop following every file."""
        for watch in self.watches.values():
            os.close(watch.fd)
        self.watches.clear()

    # -- reading ------------------------------------------------------------
    def _new_lines(self, watch: Watch, limit: int | None = READ_CAP) -> Iterator[bytes]:
        """Complete new lines (at most `limit` new bytes read; None: to the end)."""
        left = math.inf if limit is None else limit
        while left > 0:
            try:
                chunk = os.pread(watch.fd, int(min(left, READ_CAP)), watch.offset)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                debug(f"progress: task {watch.task_id:04d}: read error: {err.strerror}")
                return
            if not chunk:
                return
            watch.offset += len(chunk)
            left -= len(chunk)
            yield from self._split(watch, chunk)

    @staticmethod
    def _split(watch: Watch, chunk: bytes) -> Iterator[bytes]:
        start = 0
        for found in LINE_END.finditer(chunk):
            end = found.start()
            if watch.skipping:
                watch.skipping = False
            elif watch.partial:
                watch.partial += chunk[start:end]
                if len(watch.partial) <= LINE_CAP:
                    yield bytes(watch.partial)
                watch.partial.clear()
            elif end - start <= LINE_CAP:
                yield chunk[start:end]
            start = end + 1
        if not watch.skipping and start < len(chunk):
            watch.partial += chunk[start:]
            if len(watch.partial) > LINE_CAP:
                watch.partial.clear()
                watch.skipping = True

    def _pairs(self, watch: Watch, lines: Iterator[bytes] | list[bytes]
               ) -> Iterator[tuple[int, float]]:
        for raw in lines:
            line = raw.decode("utf-8", errors="replace")
            step: int | None = None
            value: float | None = None
            explicit = EXPLICIT.search(line)
            match = self.pattern.search(line) if self.pattern is not None and not explicit \
                else None
            if match and match.group(1) is None:
                match = None
            source = EXPLICIT_SOURCE if explicit else PATTERN_SOURCE if match else ""
            if not source or not self._keeps(watch, source):
                continue
            if explicit:
                step, value = int(explicit.group(1)), finite(explicit.group(2))
            elif match:
                step, value = (watch.last_step or 0) + 1, finite(match.group(1))
            if step is None or step < 0 or \
                    (watch.last_step is not None and step <= watch.last_step):
                continue
            watch.last_step = step  # a step whose value is not finite is gone, not redone
            if value is not None:
                yield step, value

    def _keeps(self, watch: Watch, source: str) -> bool:
        """Whether a value of `source` counts for the task: the kind of its first value."""
        if not watch.source:
            watch.source = source
        if source == watch.source:
            return True
        if not self.mixed_said:
            self.mixed_said = True
            warn(f"progress: task {watch.task_id:04d} prints both PROGRESS lines and lines that "
                 f"match progress_pattern: its {watch.source} are used, its {source} ignored "
                 "(so for any task that prints both; said once)")
        return False
