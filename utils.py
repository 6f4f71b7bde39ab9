# UTILS PY
# Misc. Python utilities shared by several files:
# plain JSON of numpy values, one-line user errors, file tails.

import json
import logging
import sys
from collections import deque
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


def tail(path: str, lines: int = 5) -> list[str]:
    """Return the last `lines` lines of a text file (empty if it cannot be read)."""
    try:
        with open(path, errors="replace") as stream:
            return [line.rstrip("\n") for line in deque(stream, maxlen=lines)]
    except OSError:
        return []


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
