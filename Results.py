# RESULTS PY
# results.csv (and started.csv) as append-only journals: each batch of rows
# is written, flushed and fsynced before anything else happens; reading
# back tolerates a torn last line left by a crash.

import csv
import io
import os
from collections.abc import Iterable, Sequence
from typing import Any

from utils import warn

FIXED_BEFORE = ["id", "status", "objective", "seconds"]
FIXED_AFTER = ["start", "end", "slot", "pid", "exit_code", "reason"]
STARTED_FIXED = ["id", "start", "slot", "pid"]
STATUSES = ("ok", "failed", "timeout", "killed")


def results_columns(names: Sequence[str]) -> list[str]:
    """Header of results.csv for parameters `names`."""
    return FIXED_BEFORE + list(names) + FIXED_AFTER


def started_columns(names: Sequence[str]) -> list[str]:
    """Header of started.csv for parameters `names`."""
    return STARTED_FIXED + list(names)


class Journal:
    """An append-only CSV file: rows are appended, flushed and fsynced.

    Parameters
    ----------
    path : str
        The CSV file; created with its header when missing or empty.
    columns : list of str
        The header; an existing file must have the same one.
    """

    def __init__(self, path: str, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        self._file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - open for the run
        self._writer = csv.DictWriter(self._file, fieldnames=columns, lineterminator="\n",
                                      extrasaction="raise")
        if self._file.tell() == 0:
            self._writer.writeheader()
            self.sync()

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows and make them durable (one fsync for the batch)."""
        for row in rows:
            self._writer.writerow(row)
        self.sync()

    def sync(self) -> None:
        """Flush Python's buffer and fsync the file."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file (rows are already durable)."""
        self._file.close()


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
