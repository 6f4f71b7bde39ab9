# PROBLEM PY
# The search space (the bounding box of the original), built from the
# cfg "problem" object: name -> [choices] | {"choices": [...]} | {"low": L,
# "high": H, "prior": P, "type": "int" | "real"}; either object may say when
# the parameter is active ("when", Conditions.py), and the cfg's "forbid"
# adds the points never proposed. A point is always the full list of values
# in dimension order, an inactive parameter at its fixed value (the first
# choice, or the low bound): the models see points of one length, and two
# points that differ only in inactive values are one point. admit() and
# admit_rows() make points so and say which are allowed; params() leaves
# the inactive parameters out of what a task is given.

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from skopt.space import Categorical, Dimension, Integer, Real, Space

from Conditions import Conditions, value_text
from utils import UsageError, to_plain

# The original's space, used when the cfg has no "problem".
DEFAULT_PROBLEM: dict[str, Any] = {
    "drop": {"low": 0.0, "high": 0.9},
    "batch_size": [16, 32, 64, 128, 256, 512],
}

PRIORS = ("uniform", "log-uniform")
TYPES = ("int", "real")
RESERVED_NAMES = ("id", "status", "objective", "seconds", "start", "end",
                  "slot", "pid", "exit_code", "reason", "origin")
# Bounds of a range: integers exact in a float (skopt transforms them to
# floats), reals far from float overflow (skopt computes high - low).
MAX_INTEGER = 2**53
MAX_REAL = 1e100
WHEN = "when"  # the key of a parameter's condition
# Random points drawn to check that the forbidden clauses leave some point.
FORBID_PROBES = 2000


def is_number(value: Any) -> bool:
    """A JSON number: an int or a float, not a boolean (Config.py asks too)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_NONE = object()


def _choices(name: str, spec: list[Any]) -> Categorical:
    """A categorical set: values that stay distinct as numbers and as CSV text."""
    where = f"problem.{name}"
    if not spec:
        raise UsageError(f"{where}: empty list of choices; expected at least one value")
    by_text: dict[str, Any] = {}
    by_value: dict[Any, Any] = {}
    for choice in spec:
        if not isinstance(choice, (str, int, float, bool)):
            raise UsageError(f"{where}: choice {choice!r} is not a string, number or boolean")
        if isinstance(choice, float) and not math.isfinite(choice):
            raise UsageError(f"{where}: choice {choice!r} is not a finite number")
        # results.csv holds str(choice); resume maps that text back to the choice
        twin = by_text.get(str(choice), by_value.get(choice, _NONE))
        if twin is not _NONE:
            raise UsageError(f"{where}: choices {twin!r} and {choice!r} are the same once "
                             f"written to results.csv ({str(choice)!r}); expected distinct "
                             "choices")
        by_text[str(choice)] = by_value[choice] = choice
    return Categorical(spec, name=name)


def _bound(where: str, value: Any, kind: str) -> int | float:
    """A range bound checked for its type: whole for int, finite and moderate."""
    if not is_number(value):
        raise UsageError(f"{where}: expected a number, got {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_REAL:
        raise UsageError(f"{where}: expected a number within ±{MAX_REAL:g}, got {value!r}")
    if kind == "real":
        return float(value)
    if value != int(value):
        raise UsageError(f'{where}: "type": "int" needs a whole number, got {value!r}')
    if abs(value) > MAX_INTEGER:
        raise UsageError(f"{where}: expected an integer within ±2**53 ({MAX_INTEGER}), "
                         f"got {int(value)}")
    return int(value)


def _range(name: str, spec: dict[str, Any]) -> Dimension:
    """A range {"low": L, "high": H, "prior": P, "type": "int" | "real"}."""
    where = f"problem.{name}"
    unknown = sorted(set(spec) - {"low", "high", "prior", "type", WHEN})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; expected low, high, prior, type, "
                         f"{WHEN}")
    for bound in ("low", "high"):
        if bound not in spec:
            raise UsageError(f"{where}: missing {bound!r}")
        if not is_number(spec[bound]):
            raise UsageError(f"{where}.{bound}: expected a number, got {spec[bound]!r}")
    kind = _range_type(where, spec)
    low, high = (_bound(f"{where}.{b}", spec[b], kind) for b in ("low", "high"))
    prior = spec.get("prior", "uniform")
    if prior not in PRIORS:
        raise UsageError(f"{where}.prior: expected one of {', '.join(PRIORS)}, got {prior!r}")
    if low >= high:
        raise UsageError(f"{where}: empty or inverted range low={low} >= high={high}")
    if prior == "log-uniform" and low <= 0:
        raise UsageError(f"{where}: log-uniform prior needs low > 0, got low={low}")
    try:
        if kind == "int":
            return Integer(low, high, prior=prior, name=name)
        return Real(low, high, prior=prior, name=name)
    except (ValueError, ArithmeticError) as err:  # e.g. a log of a subnormal low
        raise UsageError(f"{where}: skopt cannot use the range low={low} high={high} "
                         f"prior={prior}: {err}") from None


def _range_type(where: str, spec: dict[str, Any]) -> str:
    """A range's "type": as given, else "int" when both bounds are integers, else "real"."""
    kind = spec.get("type")
    if kind is None:
        integers = [isinstance(spec[b], int) for b in ("low", "high")]
        if integers[0] != integers[1]:
            raise UsageError(f'{where}: one integer and one real bound (low={spec["low"]!r}, '
                             f'high={spec["high"]!r}); write both alike, or add "type": "int" '
                             'or "type": "real"')
        return "int" if integers[0] else "real"
    if kind not in TYPES:
        raise UsageError(f"{where}.type: expected one of {', '.join(TYPES)}, got {kind!r}")
    return str(kind)


def _dimension(name: str, spec: Any) -> Dimension:
    """Build one skopt dimension from its cfg value, or raise UsageError."""
    if isinstance(spec, list):
        return _choices(name, spec)
    if not isinstance(spec, dict):
        raise UsageError(f"problem.{name}: expected a list of choices or an object "
                         f'{{"low": L, "high": H}} or {{"choices": [...]}}, got {spec!r}')
    if "choices" in spec:
        unknown = sorted(set(spec) - {"choices", WHEN})
        if unknown:
            raise UsageError(f"problem.{name}: unknown key {unknown[0]!r}; expected choices, "
                             f"{WHEN}")
        if not isinstance(spec["choices"], list):
            raise UsageError(f"problem.{name}.choices: expected a list of choices, got "
                             f"{spec['choices']!r}")
        return _choices(name, spec["choices"])
    return _range(name, spec)


class Problem:
    """The named search space.

    Parameters
    ----------
    spec : mapping
        The cfg "problem" object, in order: name -> dimension spec.
    """

    def __init__(self, spec: Mapping[str, Any] | None = None) -> None:
        spec = DEFAULT_PROBLEM if spec is None else spec
        if not isinstance(spec, Mapping) or not spec:
            raise UsageError("problem: expected a non-empty object of name -> dimension")
        for name in spec:
            if not name or name in RESERVED_NAMES or not name.isidentifier():
                raise UsageError(f"problem: parameter name {name!r} is not allowed; expected an "
                                 f"identifier other than {', '.join(RESERVED_NAMES)}")
        self.spec: dict[str, Any] = dict(spec)
        self.names: list[str] = list(spec)
        self.space = Space([_dimension(n, s) for n, s in spec.items()])
        self.rules = Conditions(self.space.dimensions, {
            n: s[WHEN] for n, s in spec.items() if isinstance(s, dict) and WHEN in s})
        self.fixed: list[Any] = [d.categories[0] if isinstance(d, Categorical) else d.low
                                 for d in self.space.dimensions]

    def forbid(self, clauses: Any) -> list[dict[str, Any]]:
        """Keep the cfg's "forbid" clauses (checked); refuse clauses that forbid every point."""
        kept = self.rules.add_forbidden(clauses)
        if kept:
            probes = self.space.rvs(n_samples=FORBID_PROBES, random_state=np.random.RandomState(0))
            if not any(self.admit(probes)[1]):
                raise UsageError(f"forbid: each of {FORBID_PROBES} random points of the problem "
                                 "is forbidden; expected clauses that leave points to try")
        return kept

    # -- which points, which parameters ---------------------------------------
    def admit(self, points: Sequence[Sequence[Any]]) -> tuple[list[list[Any]], list[bool]]:
        """The points with their inactive parameters at the fixed values, and whether each is
        allowed (matches no forbid clause). Points of a plain box come back as they are."""
        if not self.rules.restricts:
            return [list(p) for p in points], [True] * len(points)
        dims = self.space.dimensions
        columns = {i: np.array([value_text(dims[i], p[i]) for p in points], dtype=str)
                   for i in self.rules.read}
        active, allowed = self.rules.masks(columns, len(points))
        canonical = [[v if on else fixed for v, on, fixed in zip(p, row, self.fixed)]
                     for p, row in zip(points, active)]
        return canonical, allowed.tolist()

    def admit_rows(self, space: Space, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """admit() of points given as rows of `space`'s transform (the GP's candidates,
        thousands at a time: each dimension's columns decoded at once)."""
        if not self.rules.restricts:
            return rows, np.ones(len(rows), dtype=bool)
        parts, start = [], 0
        for dim in space.dimensions:
            parts.append((start, start + dim.transformed_size))
            start += dim.transformed_size
        columns = {}
        for i in self.rules.read:
            dim, (begin, end) = space.dimensions[i], parts[i]
            block = rows[:, begin:end] if end - begin > 1 else rows[:, begin]
            columns[i] = np.array([value_text(dim, v) for v in dim.inverse_transform(block)],
                                  dtype=str)
        active, allowed = self.rules.masks(columns, len(rows))
        fixed = space.transform([self.fixed])[0]
        rows = rows.copy()
        for i in self.rules.conditions:
            begin, end = parts[i]
            rows[~active[:, i], begin:end] = fixed[begin:end]
        return rows, allowed

    def canonical(self, point: Sequence[Any]) -> list[Any]:
        """The point with its inactive parameters at their fixed values."""
        return self.admit([point])[0][0]

    def allowed(self, point: Sequence[Any]) -> bool:
        """True when the point matches no forbid clause."""
        return self.admit([point])[1][0]

    def params(self, point: list[Any]) -> dict[str, Any]:
        """Return {name: plain value} of a point's active parameters (a task's PARAMS)."""
        plain = dict(zip(self.names, to_plain(list(point))))
        if not self.rules.conditions:
            return plain
        columns = {i: np.array([value_text(self.space.dimensions[i], point[i])], dtype=str)
                   for i in self.rules.read}
        active = self.rules.masks(columns, 1)[0][0]
        return {n: v for (n, v), on in zip(plain.items(), active) if on}

    def point(self, row: Mapping[str, str]) -> list[Any]:
        """Return the point recorded as text in a results row (as read by csv); the empty
        cell of an inactive parameter is its fixed value."""
        values = []
        for index, dim in enumerate(self.space.dimensions):
            text = row[dim.name]
            if text == "" and index in self.rules.conditions:
                values.append(self.fixed[index])
            elif isinstance(dim, Categorical):
                by_text = {str(c): c for c in dim.categories}
                if text not in by_text:
                    raise ValueError(f"{dim.name}={text!r} is not one of {dim.categories}")
                values.append(by_text[text])
            elif isinstance(dim, Integer):
                values.append(int(float(text)))
            else:
                values.append(float(text))
        return self.canonical(values) if self.rules.conditions else values

    def contains(self, point: list[Any]) -> bool:
        """True when a point lies inside the space."""
        return point in self.space
