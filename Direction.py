# DIRECTION PY
# Which way the objective is better: the one home of its sign. cfg
# `direction` is "min" (default: a loss) or "max" (an accuracy). The search
# always minimizes `minimized(value)`; results.csv, the console, the report
# and the plots show the value as the task wrote it, ranked by `better`.

from collections.abc import Iterable

DIRECTIONS = ("min", "max")
DEFAULT = "min"


def minimized(value: float, direction: str = DEFAULT) -> float:
    """The number the search (and the pruner) minimizes for an objective `value`."""
    return -value if direction == "max" else value


def better(a: float, b: float, direction: str = DEFAULT) -> bool:
    """True when objective `a` is strictly better than `b`."""
    return minimized(a, direction) < minimized(b, direction)


def best(values: Iterable[float], direction: str = DEFAULT) -> float:
    """The best of `values` (not empty)."""
    return min(values, key=lambda v: minimized(v, direction))


def rank_key(value: float, direction: str = DEFAULT) -> float:
    """A sort key putting the best objective first."""
    return minimized(value, direction)


def wording(direction: str = DEFAULT) -> str:
    """How to read the objective: "lower is better" or "higher is better"."""
    return "higher is better" if direction == "max" else "lower is better"
