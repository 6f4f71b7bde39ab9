# PROBLEM PY
# The search space (the bounding box of the original), built from the
# cfg "problem" object: name -> [choices] | {"low": L, "high": H, "prior": P}.

from collections.abc import Mapping
from typing import Any

from skopt.space import Categorical, Dimension, Integer, Real, Space

from utils import UsageError, to_plain

# The original's space, used when the cfg has no "problem".
DEFAULT_PROBLEM: dict[str, Any] = {
    "drop": {"low": 0.0, "high": 0.9},
    "batch_size": [16, 32, 64, 128, 256, 512],
}

PRIORS = ("uniform", "log-uniform")
RESERVED_NAMES = ("id", "status", "objective", "seconds", "start", "end",
                  "slot", "pid", "exit_code", "reason")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _dimension(name: str, spec: Any) -> Dimension:
    """Build one skopt dimension from its cfg value, or raise UsageError."""
    where = f"problem.{name}"
    if isinstance(spec, list):
        if not spec:
            raise UsageError(f"{where}: empty list of choices; expected at least one value")
        for choice in spec:
            if not isinstance(choice, (str, int, float, bool)):
                raise UsageError(f"{where}: choice {choice!r} is not a string, number or boolean")
        if len(set(map(repr, spec))) != len(spec):
            raise UsageError(f"{where}: repeated choices in {spec!r}")
        return Categorical(spec, name=name)
    if not isinstance(spec, dict):
        raise UsageError(f"{where}: expected a list of choices or an object "
                         f'{{"low": L, "high": H}}, got {spec!r}')
    unknown = sorted(set(spec) - {"low", "high", "prior"})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; expected low, high, prior")
    for bound in ("low", "high"):
        if bound not in spec:
            raise UsageError(f"{where}: missing {bound!r}")
        if not _is_number(spec[bound]):
            raise UsageError(f"{where}.{bound}: expected a number, got {spec[bound]!r}")
    low, high = spec["low"], spec["high"]
    prior = spec.get("prior", "uniform")
    if prior not in PRIORS:
        raise UsageError(f"{where}.prior: expected one of {', '.join(PRIORS)}, got {prior!r}")
    if low >= high:
        raise UsageError(f"{where}: empty or inverted range low={low} >= high={high}")
    if prior == "log-uniform" and low <= 0:
        raise UsageError(f"{where}: log-uniform prior needs low > 0, got low={low}")
    if isinstance(low, int) and isinstance(high, int):
        return Integer(low, high, prior=prior, name=name)
    return Real(float(low), float(high), prior=prior, name=name)


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

    def params(self, point: list[Any]) -> dict[str, Any]:
        """Return {name: plain value} of a point (a list in dimension order)."""
        return dict(zip(self.names, to_plain(list(point))))

    def point(self, row: Mapping[str, str]) -> list[Any]:
        """Return the point recorded as text in a results row (as read by csv)."""
        values = []
        for dim in self.space.dimensions:
            text = row[dim.name]
            if isinstance(dim, Categorical):
                by_text = {str(c): c for c in dim.categories}
                if text not in by_text:
                    raise ValueError(f"{dim.name}={text!r} is not one of {dim.categories}")
                values.append(by_text[text])
            elif isinstance(dim, Integer):
                values.append(int(float(text)))
            else:
                values.append(float(text))
        return values

    def contains(self, point: list[Any]) -> bool:
        """True when a point lies inside the space."""
        return point in self.space
