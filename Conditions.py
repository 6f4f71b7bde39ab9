# CONDITIONS PY
# Which parameters of a point are active, and which points are forbidden:
# the cfg problem's `"when": {"optimizer": ["sgd"]}` (a parameter is active
# when each named parent, itself active, takes one of the listed values;
# conditions chain) and the cfg's `"forbid": [{"optimizer": "adam",
# "batch_size": [8]}, ...]` (a point matching every entry of a clause is
# never proposed; an inactive parameter matches no entry).
#
# Call order: Conditions(dimensions, whens) once, from Problem (which checks
# the dimensions first); add_forbidden(clauses) once, from the cfg's
# "forbid"; then masks(columns) for a batch of points, given as one column
# of value texts per parameter a rule reads (Problem turns points, or the
# GP's transformed rows, into columns). No state changes after the cfg is
# read: safe from any thread and in the fit process.

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from skopt.space import Categorical, Dimension, Integer

from utils import UsageError

# A rule: parameter index -> the texts (str(value), as results.csv holds them) it takes.
Rule = dict[int, frozenset[str]]


def value_text(dim: Dimension, value: Any) -> str:
    """A value as results.csv holds it (numpy or plain alike); integers as whole numbers."""
    if isinstance(dim, Integer):
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def _allowed_texts(where: str, dim: Dimension, given: Any) -> frozenset[str]:
    """The texts of a value or list of values of a categorical or integer parameter."""
    values = given if isinstance(given, list) else [given]
    if not values:
        raise UsageError(f"{where}: empty list; expected a value of {dim.name} or a list of them")
    texts = set()
    for value in values:
        if isinstance(dim, Categorical):
            # a choice of the same JSON kind (true is not 1): results.csv tells them apart
            same = [c for c in dim.categories
                    if c == value and isinstance(c, bool) == isinstance(value, bool)]
            if not same:
                raise UsageError(f"{where}: {value!r} is not one of the choices of {dim.name} "
                                 f"{list(dim.categories)!r}")
            texts.add(str(same[0]))
            continue
        whole = isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) and value == int(value)
        if not whole or not dim.low <= value <= dim.high:
            raise UsageError(f"{where}: {value!r} is not a whole number in the range of "
                             f"{dim.name} [{dim.low}, {dim.high}]")
        texts.add(str(int(value)))
    return frozenset(texts)


def _rule(where: str, entries: Any, dims: dict[str, tuple[int, Dimension]]) -> Rule:
    """A `when` object or a forbid clause: {parameter: value or [values]}, checked."""
    if not isinstance(entries, Mapping) or not entries:
        raise UsageError(f"{where}: expected a non-empty object of parameter -> value or list "
                         f"of values, got {entries!r}")
    rule: Rule = {}
    for name, given in entries.items():
        if name not in dims:
            raise UsageError(f"{where}: unknown parameter {name!r}; expected one of "
                             f"{', '.join(dims)}")
        index, dim = dims[name]
        if not isinstance(dim, (Categorical, Integer)):
            raise UsageError(f"{where}.{name}: {name} is a real parameter; conditions and "
                             "forbid clauses name categorical or integer parameters (reals are "
                             "never equal)")
        rule[index] = _allowed_texts(f"{where}.{name}", dim, given)
    return rule


class Conditions:
    """The activity rules and forbidden clauses of a problem.

    Parameters
    ----------
    dimensions : sequence of skopt dimensions
        The problem's, in order (their names are the parameters').
    whens : mapping
        Parameter name -> its cfg `when` object (only the conditional ones).
    """

    def __init__(self, dimensions: Sequence[Dimension], whens: Mapping[str, Any]) -> None:
        self.dimensions = list(dimensions)
        self.by_name = {d.name: (i, d) for i, d in enumerate(self.dimensions)}
        conditions = {self.by_name[n][0]: _rule(f"problem.{n}.when", w, self.by_name)
                      for n, w in whens.items()}
        self.order = _parents_first(conditions, [d.name for d in self.dimensions])
        self.conditions = conditions  # child index -> its rule
        self.forbidden: list[Rule] = []

    @property
    def restricts(self) -> bool:
        """True when some point is not what a plain box would make of it."""
        return bool(self.conditions or self.forbidden)

    @property
    def read(self) -> list[int]:
        """The parameters a rule reads (the columns masks() needs)."""
        rules = list(self.conditions.values()) + self.forbidden
        return sorted({i for rule in rules for i in rule})

    def add_forbidden(self, clauses: Any) -> list[dict[str, Any]]:
        """Check the cfg's "forbid" list and keep its clauses; return it as given."""
        if not isinstance(clauses, list):
            raise UsageError(f"forbid: expected a list of objects of parameter -> value or "
                             f"list of values, got {clauses!r}")
        self.forbidden = [_rule(f"forbid[{n}]", c, self.by_name) for n, c in enumerate(clauses)]
        return list(clauses)

    def masks(self, columns: Mapping[int, np.ndarray], count: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        """Which parameters are active (count x dimensions) and which points are allowed.

        `columns[i]` holds the value texts of parameter i (value_text) for
        each of the `count` points, for every i in `read`.
        """
        active = np.ones((count, len(self.dimensions)), dtype=bool)
        for child in self.order:
            for parent, texts in self.conditions[child].items():
                active[:, child] &= active[:, parent] & np.isin(columns[parent], list(texts))
        allowed = np.ones(count, dtype=bool)
        for clause in self.forbidden:
            match = np.ones(count, dtype=bool)
            for index, texts in clause.items():
                match &= active[:, index] & np.isin(columns[index], list(texts))
            allowed &= ~match
        return active, allowed


def _parents_first(conditions: Mapping[int, Rule], names: list[str]) -> list[int]:
    """The conditional parameters, each after its parents; a cycle is a UsageError."""
    order: list[int] = []
    state: dict[int, str] = {}  # "open" while its parents are visited, then "done"

    def visit(child: int, path: list[int]) -> None:
        if state.get(child) == "done":
            return
        if state.get(child) == "open":
            cycle = " -> ".join(names[i] for i in path[path.index(child):] + [child])
            raise UsageError(f"problem.{names[child]}.when: the conditions form a cycle "
                             f"({cycle}); expected each parameter's parents to be decided "
                             "before it")
        state[child] = "open"
        for parent in conditions[child]:
            if parent in conditions:
                visit(parent, path + [child])
        state[child] = "done"
        order.append(child)

    for child in conditions:
        visit(child, [])
    return order
