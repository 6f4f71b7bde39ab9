# UTILS PY
# Misc. Python utilities shared by several files:
# plain JSON of numpy values, one-line user errors, file tails.

import json
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


def say(*words: Any) -> None:
    """Print a progress line and flush it at once (output may be a batch log)."""
    print(*words, flush=True)


def warn(message: str) -> None:
    """Print a warning line on stderr."""
    print("warning: " + message, file=sys.stderr, flush=True)


def format_params(names: Iterable[str], values: Iterable[Any]) -> str:
    """Format a point as `name=value name=value` for progress lines."""
    return " ".join(f"{n}={v}" for n, v in zip(names, values))
