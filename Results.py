# RESULTS PY
# results.csv (and started.csv, progress.csv) as append-only journals: each
# batch of rows is written, flushed and fsynced before anything else
# happens; reading back tolerates a torn last line left by a crash.

import csv
import io
import os
from collections.abc import Iterable, Sequence
from typing import Any

from utils import warn

FIXED_BEFORE = ["id", "status", "objective", "seconds"]
FIXED_AFTER = ["start", "end", "slot", "pid", "exit_code", "reason"]
STARTED_FIXED = ["id", "start", "slot", "pid"]
# started.csv's last column: where the task's point came from (folders written
# before it have none): drawn at random, chosen by a model, or issued again
STARTED_AFTER = ["origin"]
ORIGINS = ("random", "model", "again")
# progress.csv: a task's intermediate values as the driver read them (Progress.py):
# task id, step, value, and when it was read (epoch seconds)
PROGRESS_FILE = "progress.csv"
PROGRESS_COLUMNS = ["id", "step", "value", "time"]
STATUSES = ("ok", "failed", "timeout", "killed")


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


def started_names(header: Sequence[str]) -> list[str]:
    """The parameter names of a started.csv header (with or without `origin`)."""
    end = len(header) - len(STARTED_AFTER) if list(header[-1:]) == STARTED_AFTER else len(header)
    return list(header[len(STARTED_FIXED):end])


def superseded_failures(rows: Sequence[dict[str, str]], issued: Sequence[dict[str, str]],
                        names: Sequence[str], failures: Sequence[str]) -> set[int]:
    """Ids of failed rows (status in `failures`) whose point a later task ran again.

    `rows` are results.csv's, `issued` started.csv's (a task that could not
    start has a results row only). Such a failure says nothing any more: it
    is neither told to the search nor counted toward POINTS_MAX.
    """
    latest: dict[tuple[str, ...], int] = {}
    for row in [*issued, *rows]:
        key = tuple(row[n] for n in names)
        latest[key] = max(latest.get(key, -1), int(row["id"]))
    return {int(r["id"]) for r in rows if r["status"] in failures
            and latest[tuple(r[n] for n in names)] != int(r["id"])}


def journal_header(path: str) -> list[str] | None:
    """The header of an existing journal (its first line), None when it has none yet."""
    try:
        with open(path, newline="") as stream:
            line = stream.readline()
    except FileNotFoundError:
        return None
    if not line.endswith("\n"):
        return None
    return next(csv.reader([line]))


class Journal:
    """An append-only CSV file: each batch of rows is one write, then fsync.

    Parameters
    ----------
    path : str
        The CSV file; created with its header when missing or empty. A torn
        last line left by a crash is cut off first (with a warning), so that
        the next row starts on a line of its own.
    columns : list of str
        The header; an existing file must have the same one.

    Notes
    -----
    A batch that cannot be written whole (disk full, quota) is cut off again
    before the error is raised: the file only ever holds complete rows.
    """

    def __init__(self, path: str, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            cut_torn_tail(self._fd, path)
            if os.fstat(self._fd).st_size == 0:
                self._write(",".join(columns) + "\n")
        except OSError:
            os.close(self._fd)
            raise

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows and make them durable (one write and one fsync for the batch)."""
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
            os.fsync(self._fd)
        except OSError:
            try:  # leave no part of the batch behind
                os.ftruncate(self._fd, size)
            except OSError:
                pass
            raise

    def sync(self) -> None:
        """fsync the file (every append already does)."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (rows are already durable)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def cut_torn_tail(fd: int, path: str) -> None:
    """Cut a last line without its newline (torn by a crash) off an open file."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    data = os.pread(fd, size, 0)
    cut = data.rfind(b"\n") + 1
    warn(f"{path}: cutting off a torn last line left by a crash: {data[cut:][:80]!r}")
    os.ftruncate(fd, cut)
    os.fsync(fd)


def read_journal(path: str, repair: bool = False) -> tuple[list[str], list[dict[str, str]]]:
    """Read a journal: its header and its complete rows.

    A last line without its newline is a row torn by a crash: it is skipped
    with a warning (and cut off the file when `repair`, so that appending can
    go on). A row with the wrong number of fields is skipped with a warning.
    """
    with open(path, "rb") as stream:
        data = stream.read()
    torn = b""
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        data, torn = data[:cut], data[cut:]
        warn(f"{path}: ignoring a torn last line left by a crash: {torn[:80]!r}")
        if repair:
            with open(path, "r+b") as stream:
                stream.truncate(len(data))
                os.fsync(stream.fileno())
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    header = next(reader, [])
    rows: list[dict[str, str]] = []
    for number, fields in enumerate(reader, start=2):
        if len(fields) != len(header):
            warn(f"{path}: line {number}: expected {len(header)} fields, got {len(fields)}; "
                 "skipping it")
            continue
        rows.append(dict(zip(header, fields)))
    return header, rows
