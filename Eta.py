# ETA PY
# How long a search has left, from the task times seen so far: the one
# estimate behind the driver's `status:` lines and `./report.sh` on a
# running search, and the one way both write a duration.

import math
from collections.abc import Iterable


def estimate(unstarted: int, concurrency: int, mean_seconds: float | None,
             running_ages: Iterable[float]) -> float | None:
    """Seconds until the search ends, or None before any task has finished.

    Parameters
    ----------
    unstarted : int
        Tasks still to issue (POINTS_MAX minus the finished and running ones).
    concurrency : int
        Tasks at once.
    mean_seconds : float or None
        The mean duration of the tasks finished so far (None: none yet).
    running_ages : iterable of float
        How long each running task has run.

    Notes
    -----
    Each running task is taken to need the mean duration (at least what it
    has run already, so a straggler adds nothing more), each unstarted one
    the mean; the work left is spread over the slots, but the search cannot
    end before its longest running task does.
    """
    if mean_seconds is None or not math.isfinite(mean_seconds):
        return None
    left = [max(0.0, mean_seconds - age) for age in running_ages]
    work = max(0, unstarted) * mean_seconds + sum(left)
    return max(work / max(1, concurrency), max(left, default=0.0))


def mean(total_seconds: float, count: int) -> float | None:
    """The mean task duration from a running sum (None when no task finished)."""
    return total_seconds / count if count else None


def duration(seconds: float | None) -> str:
    """A duration for a log line: `42s`, `5m12s`, `3h05m`, `2d04h` (`?` when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
