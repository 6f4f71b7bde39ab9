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
# progress.csv: a task's intermediate values as the driver read them (Progress.py):
# task id, step, value, and when it was read (epoch seconds)
PROGRESS_FILE = "progress.csv"
PROGRESS_COLUMNS = ["id", "step", "value", "time"]
STATUSES = ("ok", "failed", "timeout", "killed")


def results_columns(names: Sequence[str]) -> list[str]:
    """Header of results.csv for parameters `names`."""
    return FIXED_BEFORE + list(names) + FIXED_AFTER


def started_columns(names: Sequence[str]) -> list[str]:
    """Header of started.csv for parameters `names`."""
    return STARTED_FIXED + list(names)


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
