# RESULTS PY
# results.csv (and started.csv, progress.csv) as append-only journals: each
# batch of rows is written to the file (one write(2): in the kernel's page
# cache, it survives the driver killed outright) before anything else
# happens, and fsynced (it survives the OS's crash too) either at once
# (append) or on a thread of its own (write, then Syncer.request: the loop
# never waits for the disk; Syncer.close returns once all is synced).
# Threading: a Journal's calls come from one thread at a time, except that
# the Syncer's thread may fsync it while the loop writes.
# The one parser of them (parse_journal; History.py reads rows for the
# search through it): a record ends at a newline outside quotes, a torn
# last record left by a crash is set apart (and cut off before appending),
# and a line that does not parse is named and skipped alone, never hiding
# the rows after it. The rows of a finished and of a started task are
# built here, beside their columns (results_row, started_row).

import csv
import io
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import Layout
from Task import Outcome, Task
from utils import warn

# The longest field a journal row may hold when read back: the writer sets no
# limit (a categorical value of any length), csv's reader stops at 131072
# characters by default. Raised here, the one place journals are parsed.
FIELD_LIMIT = 2**31 - 1

FIXED_BEFORE = ["id", "status", "objective", "seconds"]
FIXED_AFTER = ["start", "end", "slot", "pid", "exit_code", "reason"]
STARTED_FIXED = ["id", "start", "slot", "pid"]
# started.csv's last column: where the task's point came from (Origin.py;
# folders written before it have none)
STARTED_AFTER = ["origin"]
# progress.csv: a task's intermediate values as the driver read them (Progress.py):
# task id, step, value, and when it was read (epoch seconds)
PROGRESS_COLUMNS = ["id", "step", "value", "time"]


def results_columns(names: Sequence[str], metrics: Sequence[str] = ()) -> list[str]:
    """Header of results.csv for parameters `names` and cfg `metrics` (last, when any)."""
    return FIXED_BEFORE + list(names) + FIXED_AFTER + list(metrics)


def split_results_header(header: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """The parameter names and the metric names of a results.csv header (None: not one).

    The fixed columns after the parameters are found from the right, so a
    header with no metrics (every folder written before cfg `metrics`) reads
    as before.
    """
    header = list(header)
    if header[:len(FIXED_BEFORE)] != FIXED_BEFORE:
        return None
    width = len(FIXED_AFTER)
    for at in range(len(header) - width, len(FIXED_BEFORE) - 1, -1):
        if header[at:at + width] == FIXED_AFTER:
            return header[len(FIXED_BEFORE):at], header[at + width:]
    return None


def started_columns(names: Sequence[str]) -> list[str]:
    """Header of started.csv for parameters `names`."""
    return STARTED_FIXED + list(names) + STARTED_AFTER


def results_row(task: Task, outcome: Outcome, metrics: Sequence[str]) -> dict[str, Any]:
    """The results.csv row of a finished task (columns: results_columns)."""
    row: dict[str, Any] = {
        "id": task.id, "status": outcome.status.value,
        "objective": "" if outcome.objective is None else repr(outcome.objective),
        "seconds": f"{task.end - task.start:.3f}"}
    row.update(task.params)
    row.update({"start": f"{task.start:.3f}", "end": f"{task.end:.3f}", "slot": task.slot,
                "pid": task.pid if task.process else "",
                "exit_code": "" if task.returncode is None else task.returncode,
                "reason": outcome.reason})
    row.update({m: repr(outcome.metrics[m]) if m in outcome.metrics else "" for m in metrics})
    return row


def started_row(task: Task, columns: Sequence[str]) -> dict[str, Any]:
    """The started.csv row of a task that started (`columns`: the journal's header,
    an older folder's without `origin`)."""
    row: dict[str, Any] = {"id": task.id, "start": f"{task.start:.3f}", "slot": task.slot,
                           "pid": task.pid}
    row.update(task.params)
    if STARTED_AFTER[0] in columns:
        row[STARTED_AFTER[0]] = task.origin.value
    return row


def started_names(header: Sequence[str]) -> list[str]:
    """The parameter names of a started.csv header (with or without `origin`)."""
    end = len(header) - len(STARTED_AFTER) if list(header[-1:]) == STARTED_AFTER else len(header)
    return list(header[len(STARTED_FIXED):end])


def journal_header(path: str) -> list[str] | None:
    """The header of an existing journal (its first line), None when it has none yet."""
    try:
        with open(path, newline="") as stream:
            line = stream.readline()
    except FileNotFoundError:
        return None
    if not line.endswith("\n"):
        return None
    return _fields(line.encode("utf-8"))


class JournalError(ValueError):
    """An existing journal that this run cannot append to (its header differs)."""


@dataclass
class Parsed:
    """What parse_journal found in a journal's bytes."""

    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)  # line numbers skipped, unparseable
    complete: int = 0  # bytes up to the end of the last complete record
    torn: bytes = b""  # an unfinished last record (a crash while writing it)


def _fields(record: bytes) -> list[str]:
    """The fields of one journal record (the one csv parse of a journal)."""
    csv.field_size_limit(FIELD_LIMIT)
    return next(csv.reader([record.decode("utf-8", errors="replace")]), [])


def parse_journal(data: bytes) -> Parsed:
    """Split a journal's bytes into its header and rows.

    A record ends at a newline with an even number of quote characters
    before it (a quoted value may hold a newline). A record that does not
    close before the end of the data, with no good row after it, is the
    torn tail of a crash. Any other line that does not give a row of the
    header's width (a stray quote, a cut or doubled line) is named in
    `bad_lines` and skipped alone: reading starts again at the next line,
    so one bad line never hides the rows after it.
    """
    lines = data.split(b"\n")  # the last item: what follows the last newline
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    if len(lines) < 2:  # not even a whole header line
        return Parsed([], torn=data)
    parsed = Parsed(_fields(lines[0]), complete=starts[1])
    width = len(parsed.header)
    last = len(lines) - 1  # lines[last] has no newline after it
    i = 1
    unclosed_from = -1  # the first of the lines skipped since the last good row, if unclosed
    while i < last:
        end, quotes = i, lines[i].count(b'"')
        while quotes % 2 and end + 1 < last:
            end += 1
            quotes += lines[end].count(b'"')
        closed = quotes % 2 == 0
        fields = _fields(b"\n".join(lines[i:end + 1])) if closed else []
        if closed and len(fields) == width:
            parsed.rows.append(dict(zip(parsed.header, fields)))
            unclosed_from = -1
            i = end + 1
            continue
        if not closed and unclosed_from < 0:
            unclosed_from = i
        parsed.bad_lines.append(i + 1)
        i += 1
    parsed.complete = starts[last]
    if unclosed_from >= 0:  # no good row after it: the torn record of a crash
        parsed.bad_lines = [n for n in parsed.bad_lines if n <= unclosed_from]
        parsed.complete = starts[unclosed_from]
    parsed.torn = data[parsed.complete:]
    return parsed


class Journal:
    """An append-only CSV file: each batch of rows is one write; fsync at once or later.

    Parameters
    ----------
    path : str
        The CSV file; created with its header when missing or empty. A torn
        last line left by a crash is cut off first (with a warning), so that
        the next row starts on a line of its own.
    columns : list of str
        The header; an existing file with another one raises JournalError.

    Notes
    -----
    A batch that cannot be written whole (disk full, quota) is cut off again
    before the error is raised: the file only ever holds complete rows. A
    row written and not yet synced is in the file for every reader and
    survives the driver's death (SIGKILL); only a crash of the OS, which
    ends the tasks too, can lose it.
    """

    def __init__(self, path: str, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(self._fd).st_size
            if size == 0:
                self._write(",".join(columns) + "\n")
                self.sync()
            else:
                self._check_and_cut(size)
        except (OSError, JournalError):
            os.close(self._fd)
            raise

    def _check_and_cut(self, size: int) -> None:
        """Refuse another header; cut a torn last record (a crash's) off the file."""
        parsed = parse_journal(os.pread(self._fd, size, 0))
        if parsed.header != self.columns:
            raise JournalError(f"{self.path} has the columns {','.join(parsed.header)!r}, "
                               f"this run writes {','.join(self.columns)!r}")
        if parsed.torn:
            warn(f"{self.path}: cutting off a torn last line left by a crash: "
                 f"{parsed.torn[:80]!r}")
            os.ftruncate(self._fd, parsed.complete)
            os.fsync(self._fd)

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows and make them durable (one write and one fsync for the batch)."""
        self.write(rows)
        self.sync()

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows in one write(2), all or none; `sync` makes them durable."""
        text = io.StringIO()
        plain = csv.DictWriter(text, fieldnames=self.columns, lineterminator="\n",
                               extrasaction="raise")
        # csv quotes a field holding "\n" but not one holding a lone "\r" when
        # rows end in "\n"; such a row is written with every field quoted, so
        # a value with a carriage return reads back whole.
        quoted = csv.DictWriter(text, fieldnames=self.columns, lineterminator="\n",
                                extrasaction="raise", quoting=csv.QUOTE_ALL)
        for row in rows:
            has_cr = any(isinstance(v, str) and "\r" in v for v in row.values())
            (quoted if has_cr else plain).writerow(row)
        if text.tell():
            self._write(text.getvalue())

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        size = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            try:  # leave no part of the batch behind
                os.ftruncate(self._fd, size)
            except OSError:
                pass
            raise

    def sync(self) -> None:
        """fsync the rows written so far."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (its Syncer, if any, closed first)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Syncer:
    """fsyncs journals on a thread of its own, so that the loop never waits for the disk.

    The loop writes rows (Journal.write), then asks for their fsync
    (request); requests that come while an fsync runs are served by one more
    fsync of each journal. An fsync that fails is kept for the loop to act
    on (failure); the journals go on being synced.
    """

    def __init__(self) -> None:
        self._due: dict[int, Journal] = {}  # by id: the journals written since their last fsync
        self._failed: tuple[Journal, OSError] | None = None
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name="fsync", daemon=True)
        self._thread.start()

    def request(self, journals: Iterable[Journal]) -> None:
        """fsync these journals (written to by now) soon; never blocks."""
        with self._cond:
            self._due.update((id(journal), journal) for journal in journals)
            self._cond.notify()

    def failure(self) -> tuple[Journal, OSError] | None:
        """The first journal whose fsync failed, and why (None: none did)."""
        with self._cond:
            return self._failed

    def close(self) -> None:
        """Return once every journal requested has been synced; end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._due or self._closing)
                if not self._due:
                    return
                due, self._due = list(self._due.values()), {}
            for journal in due:
                try:
                    journal.sync()
                except OSError as err:
                    with self._cond:
                        self._failed = self._failed or (journal, err)


def read_journal(path: str) -> tuple[list[str], list[dict[str, str]]]:
    """Read a journal: its header and its complete rows.

    A torn last record (a crash while it was written) is skipped with a
    warning; so is each line that does not parse, named by its number.
    """
    with open(path, "rb") as stream:
        parsed = parse_journal(stream.read())
    if parsed.torn:
        warn(f"{path}: ignoring a torn last line left by a crash: {parsed.torn[:80]!r}")
    if parsed.bad_lines:
        shown = ", ".join(map(str, parsed.bad_lines[:10]))
        more = f" and {len(parsed.bad_lines) - 10} more" if len(parsed.bad_lines) > 10 else ""
        warn(f"{path}: line(s) {shown}{more} do not parse as rows of "
             f"{len(parsed.header)} fields; skipping them (the rows after them are read)")
    return parsed.header, parsed.rows


class JournalTail:
    """A journal another driver appends to, read by its new bytes only.

    Each read_new() reads from where the last one stopped to the end of the
    file and returns the complete rows found there; a last record without
    its newline yet (being written) waits for the next read.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0  # bytes of complete records read so far
        self.head = b""  # the header line

    def read_new(self) -> list[dict[str, str]]:
        """The rows appended since the last read (none while the file is missing)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return []
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size - self.offset, self.offset) if size > self.offset else b""
        finally:
            os.close(fd)
        if not data:
            return []
        parsed = parse_journal(self.head + data)
        if not self.head:
            if not parsed.header:
                return []
            self.head = data[:data.index(b"\n") + 1]
            self.offset = parsed.complete
        else:
            self.offset += parsed.complete - len(self.head)
        return parsed.rows


@dataclass
class Journals:
    """The three journals a run appends to, opened before its first task."""

    results: Journal
    started: Journal
    progress: Journal

    def close(self) -> None:
        for journal in (self.results, self.started, self.progress):
            journal.close()


def open_journals(output: str, names: Sequence[str], metrics: Sequence[str]) -> Journals:
    """Open (or create) OUTPUT's journals for parameters `names` and cfg `metrics`.

    Raises JournalError (another header) or OSError (cannot be written);
    whatever was opened is closed again.
    """
    opened: list[Journal] = []
    try:
        opened.append(Journal(Layout.path(output, Layout.RESULTS), results_columns(names, metrics)))
        started = Layout.path(output, Layout.STARTED)
        columns = started_columns(names)
        if journal_header(started) == columns[:-len(STARTED_AFTER)]:  # an older folder's
            columns = columns[:-len(STARTED_AFTER)]
        opened.append(Journal(started, columns))
        opened.append(Journal(Layout.path(output, Layout.PROGRESS), PROGRESS_COLUMNS))
    except (OSError, JournalError):
        for journal in opened:
            journal.close()
        raise
    return Journals(*opened)
