# UTILS PY
# Misc. Python utilities shared by several files: plain JSON of numpy
# values, one-line user errors, what a number is (ASCII decimal), bounded
# reads of files a task may have replaced (never blocking, never whole).

import json
import logging
import math
import os
import re
import stat
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np


class UsageError(ValueError):
    """Bad input from the user: reported as one line, exit code 2."""


def to_plain(value: Any) -> Any:
    """Return `value` with numpy scalars and arrays turned into plain Python."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_dumps(value: Any) -> str:
    """JSON text of `value` with numpy types made plain (compact, key order kept)."""
    return json.dumps(to_plain(value))


# The syntax of a number in a result file (and wherever a number is read
# from text): ASCII digits, an optional sign, point and exponent. float()
# also takes `1_000`, non-ASCII digits (`٣`), `nan` and `infinity`.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NOT_FINITE = ("nan", "inf", "infinity")


def decimal_number(text: str) -> float:
    """The finite number `text` writes in ASCII decimal syntax (`7`, `-1.5`, `2e-3`).

    Raises
    ------
    ValueError
        "not a number: 'TEXT'" or "not finite: 'TEXT'" (nan, inf, 1e999).
    """
    word = text.strip(" \t\r\n")
    if not DECIMAL.fullmatch(word):
        if word.lower().lstrip("+-") in NOT_FINITE:
            raise ValueError(f"not finite: {word!r}")
        raise ValueError(f"not a number: {word[:60]!r}")
    value = float(word)
    if not math.isfinite(value):
        raise ValueError(f"not finite: {word[:60]!r}")
    return value


class NotRegularFile(OSError):
    """A path that is a FIFO, a device, a folder...: never read it."""

    def __init__(self, path: str) -> None:
        super().__init__(0, "not a regular file", path)


def open_regular(path: str) -> int:
    """A descriptor of the regular file at `path`, opened for reading without blocking.

    The file is opened non-blocking (a FIFO opens at once, a device does not
    become our terminal) and refused unless fstat says it is a regular file.

    Raises
    ------
    OSError
        It cannot be opened; NotRegularFile when it is no regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
    except OSError:
        os.close(fd)
        raise
    return fd


def read_regular(path: str, limit: int, from_end: bool = False) -> bytes:
    """Up to `limit` bytes of a regular file: its first ones, or its last with `from_end`.

    Never blocks and never reads more than `limit`, whatever a task left
    at `path` (see open_regular).

    Raises
    ------
    OSError
        It cannot be opened or read; NotRegularFile when it is no regular file.
    """
    fd = open_regular(path)
    try:
        info = os.fstat(fd)
        if from_end and info.st_size > limit:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
        chunks: list[bytes] = []
        left = limit
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


TAIL_BYTES = 64 * 1024  # a failing task's last lines come from this much of its end
LINE_CHARS = 500  # each printed line is cut to this many characters


def tail(path: str, lines: int = 5, limit: int = TAIL_BYTES, width: int = LINE_CHARS) -> list[str]:
    """The last `lines` lines of a text file, from its last `limit` bytes only.

    Each line is cut to `width` characters (marked `[... N more]`). Empty
    when the file cannot be read or is not a regular file.
    """
    try:
        data = read_regular(path, limit, from_end=True)
    except OSError:
        return []
    text = data.decode(errors="replace")
    found = text.split("\n")
    if found and found[-1] == "":
        found.pop()
    found = found[-lines:]
    return [line if len(line) <= width else f"{line[:width]}[... {len(line) - width} more]"
            for line in found]


LOG = logging.getLogger("async-local")


def set_log_level(level: str) -> None:
    """Send the driver's lines to stdout at `level` (DEBUG, INFO or WARNING).

    INFO shows the progress (`started:`, `finished:`, `tasks_running:`);
    WARNING only failures, stops and the end of the run; DEBUG adds each
    task's command line and each model fit.
    """
    handler = logging.StreamHandler(sys.stdout)  # flushed after every line
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOG.handlers[:] = [handler]
    LOG.propagate = False
    LOG.setLevel(level)


def say(*words: Any) -> None:
    """A progress line (shown at INFO and DEBUG)."""
    LOG.info(" ".join(map(str, words)))


def shout(*words: Any) -> None:
    """A line a user must see at every log level: failures, stops, the end."""
    LOG.warning(" ".join(map(str, words)))


def debug(*words: Any) -> None:
    """A detail shown at DEBUG only."""
    if LOG.isEnabledFor(logging.DEBUG):
        LOG.debug(" ".join(map(str, words)))


def warn(message: str) -> None:
    """Print a warning line on stderr."""
    print("warning: " + message, file=sys.stderr, flush=True)


def format_params(names: Iterable[str], values: Iterable[Any]) -> str:
    """Format a point as `name=value name=value` for progress lines."""
    return " ".join(f"{n}={v}" for n, v in zip(names, values))


set_log_level("INFO")


def int_or_none(text: str) -> int | None:
    """The whole number in `text` (a journal field), or None when it holds none."""
    try:
        return int(text)
    except ValueError:
        return None


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first), [] when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            return stream.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return []
