# CONFIG PY
# The cfg file (JSON): read it, check every key before the first task
# starts, and fill in the defaults of the original workflow. The check_*
# validators here are the ones every cfg key uses (one wording, one set of
# bounds). Config, at the end, is the table of the keys: one field per key,
# its default and its check (`checked_by`), checked in field order; a new key
# is one row there and one row of README's cfg table (tests/test_cfg_table.py
# pairs them).

import difflib
import inspect
import json
import math
import os
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from skopt import Optimizer

import Direction
import Layout
import Progress
from Launcher import LAUNCHERS
from Machines import MACHINE_NAMES
from Objectives import (
    DEFAULT_INFEASIBLE,
    INFEASIBLE_CHOICES,
    Constraint,
    Objective,
    Objectives,
)
from Problem import RESERVED_NAMES, Problem, is_number
from Pruner import RULES
from PruneRule import PrunerSettings
from Status import Status
from Surrogates import make_optimizer
from utils import UsageError, open_regular

HERE = os.path.dirname(os.path.abspath(__file__))

# The original's optimizer settings: they reproduce its sample output.
DEFAULT_OPTIMIZER: dict[str, Any] = {
    "base_estimator": "GP",
    "acq_optimizer": "sampling",
    "acq_func": "LCB",
    "acq_func_kwargs": {},
    "random_state": 42,
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING")
LIES = ("max", "mean", "min", "none")

# Bounds of every duration and count in a cfg (README, "The cfg file").
# A longer duration is a typo (1e7 s is 116 days) and keeps deadlines finite;
# a larger count is one too.
MAX_SECONDS = 1e7
MAX_COUNT = 10**9
MAX_PPN = 4096
MAX_GPUS = 1024  # devices of one node (Aurora has 12 tiles)
MIN_INTERVAL = 0.01  # a shorter period of a periodic check is a busy loop
INT64 = 2**63 - 1  # no integer anywhere in a cfg is larger (numpy, skopt)
MAX_NUMBER = 1e300  # a constraint's bound: any finite number, far from overflow
MAX_DEPTH = 32  # JSON nesting (a cfg needs 4; Python's recursion limit is near 1000)


# -- validators: each returns the checked value or raises a one-line UsageError

def shown(value: Any) -> str:
    """A value as a user wrote it, short enough for one line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"a {len(str(abs(value)))}-digit integer"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def has_control_character(text: str) -> bool:
    """True when `text` holds a control character or a line break (\\n, \\t, U+2028...)."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def check_number(key: str, value: Any, low: float = 0.0, high: float = MAX_SECONDS,
                 above: bool = False) -> float:
    """A finite JSON number (not a boolean) in [low, high]; (low, high] when `above`.

    Defaults fit a duration in seconds: 0 to MAX_SECONDS.
    """
    if not is_number(value):
        raise UsageError(f"cfg key {key!r}: expected a number, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"cfg key {key!r}: expected a finite number, got {shown(value)}")
    if above and value <= low:
        raise UsageError(f"cfg key {key!r}: expected a value > {low:g}, got {shown(value)}")
    if value < low:
        raise UsageError(f"cfg key {key!r}: expected a value >= {low:g}, got {shown(value)}")
    if value > high:
        raise UsageError(f"cfg key {key!r}: expected a value <= {high:g}, got {shown(value)}")
    return float(value)


def check_integer(key: str, value: Any, low: int = 0, high: int = MAX_COUNT) -> int:
    """A JSON integer (not a boolean, not 1.0) in [low, high]."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"cfg key {key!r}: expected an integer, got {shown(value)}")
    if value < low:
        raise UsageError(f"cfg key {key!r}: expected a value >= {low}, got {shown(value)}")
    if value > high:
        raise UsageError(f"cfg key {key!r}: expected a value <= {high}, got {shown(value)}")
    return value


def check_positive(key: str, value: Any) -> float:
    """A duration in seconds > 0 (and at most MAX_SECONDS)."""
    return check_number(key, value, above=True)


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of the strings `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"cfg key {key!r}: expected one of {', '.join(choices)}, "
                         f"got {shown(value)}")
    return value


def check_interval(key: str, value: Any, high: float = MAX_SECONDS) -> float:
    """The period of something the driver does again and again: MIN_INTERVAL to `high` s."""
    return check_number(key, value, MIN_INTERVAL, high)


def check_bool(key: str, value: Any) -> bool:
    """A JSON true or false."""
    if not isinstance(value, bool):
        raise UsageError(f"cfg key {key!r}: expected true or false, got {shown(value)}")
    return value


def check_string(key: str, value: Any, what: str = "a string") -> str:
    """A non-empty string without control characters (it goes into one line of a log)."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"cfg key {key!r}: expected {what}, got {shown(value)}")
    if has_control_character(value):
        raise UsageError(f"cfg key {key!r}: expected {what} without control characters, "
                         f"got {shown(value)}")
    return value


def check_string_list(key: str, value: Any) -> list[str]:
    """A JSON list of strings (possibly empty)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"cfg key {key!r}: expected a list of strings, got {shown(value)}")
    return list(value)


def optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """`check`, but null (None) is fine too: `optional(check_positive)(key, value)`."""
    return lambda key, value: None if value is None else check(key, value)


# -- reading the JSON text: finite numbers, no repeated key, bounded nesting

class _Unfit:
    """A JSON number Python would read as NaN, an infinity, or too large an int."""

    def __init__(self, text: str, expected: str) -> None:
        self.text, self.expected = text, expected


class _Object(dict):  # type: ignore[type-arg]
    """A JSON object, remembering the first key it saw twice."""

    repeated: str | None = None


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Unfit(text, "a finite number")


def _parse_int(text: str) -> Any:
    if len(text.lstrip("-")) > 19 or abs(int(text)) > INT64:
        return _Unfit(text if len(text) <= 30 else f"a {len(text.lstrip('-'))}-digit integer",
                      f"an integer within ±{INT64}")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object()
    for key, value in pairs:
        if key in result and result.repeated is None:
            result.repeated = key
        result[key] = value
    return result


def parse_json(text: str) -> Any:
    """JSON text as Python values; NaN, infinities and huge numbers as markers."""
    return json.loads(text, parse_constant=lambda word: _Unfit(word, "a finite number"),
                      parse_float=_parse_float, parse_int=_parse_int,
                      object_pairs_hook=_object)


def check_values(raw: Any) -> None:
    """Refuse the first marked number, repeated key or too deep a nesting, naming where."""
    stack: list[tuple[str, Any, int]] = [("", raw, 0)]
    while stack:
        where, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UsageError(f"cfg key {where!r}: JSON nested too deeply (more than "
                             f"{MAX_DEPTH} levels)")
        if isinstance(value, _Unfit):
            raise UsageError(f"cfg key {where!r}: expected {value.expected}, got {value.text}")
        if isinstance(value, dict):
            repeated = getattr(value, "repeated", None)
            if repeated is not None:
                place = f"cfg key {where!r}: " if where else ""
                raise UsageError(f"{place}key {repeated!r} appears twice")
            items = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        stack.extend((w, v, depth + 1) for w, v in reversed(items))


def plain(value: Any) -> Any:
    """The parsed JSON with plain dicts (run.json and resume compare them)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def read_cfg_bytes(path: str) -> bytes:
    """The cfg file's bytes; only a regular file is read (a FIFO nobody writes never blocks)."""
    try:
        with os.fdopen(open_regular(path), "rb") as stream:
            return stream.read()
    except OSError as err:
        raise UsageError(f"cfg file {path}: cannot read it: {err.strerror}") from None


def read_cfg_text(path: str) -> dict[str, Any]:
    """The cfg file's JSON object, every number in it finite and no key repeated."""
    data = read_cfg_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"cfg file {path}: not UTF-8 text (byte 0x{data[err.start]:02x} at "
                         f"offset {err.start})") from None
    try:
        raw = parse_json(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"cfg file {path}: invalid JSON at line {err.lineno} column "
                         f"{err.colno}: {err.msg}") from None
    except RecursionError:
        raise UsageError(f"cfg file {path}: JSON nested too deeply (more than {MAX_DEPTH} "
                         "levels)") from None
    if not isinstance(raw, dict):
        kind = "number" if isinstance(raw, _Unfit) else type(raw).__name__
        raise UsageError(f"cfg file {path}: expected a JSON object, got {kind}")
    try:
        check_values(raw)
    except UsageError as err:
        raise UsageError(f"cfg file {path}: {err}") from None
    return plain(raw)


# -- the optimizer: skopt.Optimizer's arguments, checked before anything runs

# Acquisition functions the search can use (EIps/PIps need a task's run time
# as a second value, which tasks do not report; PVRS needs a GP and takes
# minutes per point).
ACQ_FUNCS = ("LCB", "EI", "PI", "gp_hedge", "MES")
INITIAL_POINT_GENERATORS = ("random", "sobol", "halton", "hammersly", "lhs", "grid")
# skopt draws a designed (not random) initial phase whole when it builds the
# Optimizer, and the search builds one per proposal: lhs takes 1.6 s for 1000.
MAX_DESIGNED_POINTS = 1000
# skopt.Optimizer arguments a cfg does not set (the space is the problem's).
RESERVED = ("dimensions", "space_constraint", "n_random_starts")
MAX_SEED = 2**32 - 1
MAX_JOBS = 4096
MAX_CANDIDATES = 10**7


def _jobs(key: str, value: Any) -> int:
    jobs = check_integer(key, value, -MAX_JOBS, MAX_JOBS)
    if jobs == 0:
        raise UsageError(f"cfg key {key!r}: expected a number of jobs (>= 1, or -1 for all "
                         "cores), got 0")
    return jobs


# key -> check of the numeric settings skopt reads only later, mid-run.
ACQ_FUNC_KWARGS: dict[str, Callable[[str, Any], Any]] = {
    "kappa": lambda k, v: check_number(k, v, 0.0, 1e6),
    "xi": lambda k, v: check_number(k, v, 0.0, 1e6),
    "eta": lambda k, v: check_number(k, v, 0.0, 1e6, above=True),
    "n_min_samples": lambda k, v: check_integer(k, v, 1, 10**6),
    "n_thompson": lambda k, v: check_integer(k, v, 1, 10**6),
}
ACQ_OPTIMIZER_KWARGS: dict[str, Callable[[str, Any], Any]] = {
    "n_points": lambda k, v: check_integer(k, v, 1, MAX_CANDIDATES),
    "n_restarts_optimizer": lambda k, v: check_integer(k, v, 1, 10**4),
    "n_jobs": _jobs,
}
OPTIMIZER_KWARGS: dict[str, Callable[[str, Any], Any]] = {
    "n_initial_points": lambda k, v: check_integer(k, v, 1, MAX_COUNT),
    "random_state": optional(lambda k, v: check_integer(k, v, 0, MAX_SEED)),
    "n_jobs": _jobs,
    "model_queue_size": optional(lambda k, v: check_integer(k, v, 1, MAX_COUNT)),
    "acq_func": lambda k, v: check_choice(k, v, ACQ_FUNCS),
    "initial_point_generator": lambda k, v: check_choice(k, v, INITIAL_POINT_GENERATORS),
    "avoid_duplicates": check_bool,
}


def _settings(key: str, value: Any, checks: dict[str, Callable[[str, Any], Any]]) -> None:
    if not isinstance(value, dict):
        raise UsageError(f"cfg key {key!r}: expected an object, got {shown(value)}")
    for name, setting in value.items():
        if name not in checks:
            raise UsageError(f"cfg key '{key}.{name}': unknown setting; expected one of "
                             f"{', '.join(checks)}")
        checks[name](f"{key}.{name}", setting)


def check_optimizer(value: Any, problem: Problem) -> dict[str, Any]:
    """The cfg "optimizer" merged over the defaults, and built once on `problem`.

    Settings skopt only reads when it picks a point (acq_func_kwargs,
    acq_optimizer_kwargs) are checked here, so a bad one never stops a run
    half-way; building the Optimizer checks the rest (no model is fitted).
    """
    if not isinstance(value, dict):
        raise UsageError(f"cfg key 'optimizer': expected an object of skopt.Optimizer "
                         f"arguments, got {shown(value)}")
    for name in RESERVED:
        if name in value:
            raise UsageError(f"cfg key 'optimizer.{name}': not a setting of this "
                             "workflow (the space is 'problem'; use n_initial_points)")
    settings = [p for p in inspect.signature(Optimizer).parameters if p not in RESERVED]
    for name in value:
        if name not in settings:
            raise UsageError(f"cfg key 'optimizer.{name}': unknown setting; expected one of "
                             f"{', '.join(settings)}")
    merged = dict(DEFAULT_OPTIMIZER)
    merged.update(value)
    for name, check in OPTIMIZER_KWARGS.items():
        if name in merged:
            check(f"optimizer.{name}", merged[name])
    if merged.get("initial_point_generator", "random") != "random" \
            and merged.get("n_initial_points", 10) > MAX_DESIGNED_POINTS:
        raise UsageError(f"cfg key 'optimizer.n_initial_points': expected a value <= "
                         f"{MAX_DESIGNED_POINTS} with initial_point_generator "
                         f"{merged['initial_point_generator']!r}, got "
                         f"{shown(merged['n_initial_points'])}")
    for name, checks in (("acq_func_kwargs", ACQ_FUNC_KWARGS),
                         ("acq_optimizer_kwargs", ACQ_OPTIMIZER_KWARGS)):
        if merged.get(name) is not None:
            _settings(f"optimizer.{name}", merged[name], checks)
    make_optimizer(problem, merged)
    return merged


def file_kind(path: str) -> str:
    """What is wrong with `path` as a file to read: "" (a regular file), "does not exist",
    or "is not a regular file" (a FIFO, a folder: reading it could block or fail)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "does not exist"
    return "" if stat.S_ISREG(mode) else "is not a regular file"


def check_script(value: Any, base: str) -> str:
    """The task script: an executable file, relative to the cfg file's folder."""
    check_string("script", value, "a path")
    path = os.path.normpath(os.path.join(base, value))
    kind = file_kind(path)
    if kind:
        raise UsageError(f"cfg key 'script': task script {path} {kind}")
    if not os.access(path, os.X_OK):
        raise UsageError(f"cfg key 'script': task script {path} is not executable (chmod +x)")
    return path


# -- intermediate values and pruning (Progress.py, Pruner.py)

PRUNER_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "rule": lambda k, v: check_choice(k, v, tuple(RULES)),
    "min_steps": lambda k, v: check_integer(k, v, 1, MAX_COUNT),
    "reduction_factor": lambda k, v: check_number(k, v, 1.0, 1e3, above=True),
    "min_tasks": lambda k, v: check_integer(k, v, 1, MAX_COUNT),
}


def check_pruner(value: Any) -> PrunerSettings | None:
    """The cfg "pruner" object (null: no pruning), its defaults filled in."""
    if value is None:
        return None
    if not isinstance(value, dict) or "rule" not in value:
        raise UsageError(f"cfg key 'pruner': expected an object with a \"rule\" "
                         f"({', '.join(RULES)}), got {shown(value)}")
    _settings("pruner", value, PRUNER_KEYS)
    return PrunerSettings(**value)


def check_progress_pattern(value: Any) -> str | None:
    """A regular expression with one group around the value (null: none)."""
    if value is None:
        return None
    check_string("progress_pattern", value, "a regular expression")
    try:
        Progress.compile_pattern(value)
    except ValueError as err:
        raise UsageError(f"cfg key 'progress_pattern': {shown(value)} {err}") from None
    return value


# -- watching and steering: status lines, direction, metrics, warm start

def check_metric_name(key: str, name: Any, problem: Problem) -> str:
    """A metric's name (a results.csv column): an identifier, not a parameter's or fixed one's."""
    if not isinstance(name, str) or not name.isidentifier() or name in RESERVED_NAMES \
            or name in problem.names:
        raise UsageError(f"cfg key {key!r}: metric name {shown(name)} is not allowed; expected "
                         "an identifier other than a parameter's name or "
                         f"{', '.join(RESERVED_NAMES)}")
    return name


def check_metrics(value: Any, config: "Config") -> list[str]:
    """Names of extra values a task reports (results.csv columns): distinct identifiers,
    followed by the metrics the cfg's objectives and constraints name (Objectives.py)."""
    names = check_string_list("metrics", value)
    for name in names:
        check_metric_name("metrics", name, config.problem)
        if names.count(name) > 1:
            raise UsageError(f"cfg key 'metrics': metric name {name!r} appears twice")
    return list(dict.fromkeys(names + config.goals.metric_names()))


def check_objectives(value: Any, config: "Config") -> list[Objective]:
    """Several objectives: `[{"name": "val_loss", "direction": "min"}, ...]`, distinct names."""
    if not isinstance(value, list) or not value:
        raise UsageError("cfg key 'objectives': expected a non-empty list of objects "
                         f"{{\"name\": METRIC, \"direction\": \"min\"}}, got {shown(value)}")
    if config.pruner is not None:
        raise UsageError("cfg keys 'objectives' and 'pruner': expected one of them (a pruner "
                         "compares one intermediate value, not several objectives)")
    objectives = []
    for index, item in enumerate(value):
        key = f"objectives[{index}]"
        _settings(key, item, {"name": lambda k, v: check_metric_name(k, v, config.problem),
                              "direction": choice(Direction.DIRECTIONS)})
        if "name" not in item:
            raise UsageError(f"cfg key {key!r}: expected a \"name\" (a metric of the task's "
                             f"result), got {shown(item)}")
        objectives.append(Objective(item["name"], item.get("direction", Direction.DEFAULT)))
    names = [o.name for o in objectives]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"cfg key 'objectives': objective {name!r} appears twice")
    return objectives


def check_direction(value: Any, config: "Config") -> str:
    """"min" or "max": the single objective's direction (not with `objectives`)."""
    if config.objectives:
        raise UsageError("cfg keys 'direction' and 'objectives': expected one of them (each "
                         "objective says its own direction)")
    return check_choice("direction", value, Direction.DIRECTIONS)


def check_constraints(value: Any, problem: Problem) -> list[Constraint]:
    """Bounds on metrics: `[{"metric": "gpu_mem_gb", "max": 40}, ...]`, `min` and/or `max`."""
    if not isinstance(value, list):
        raise UsageError("cfg key 'constraints': expected a list of objects "
                         f"{{\"metric\": NAME, \"max\": NUMBER}}, got {shown(value)}")
    constraints = []
    for index, item in enumerate(value):
        key = f"constraints[{index}]"
        bound = lambda k, v: check_number(k, v, -MAX_NUMBER, MAX_NUMBER)
        _settings(key, item, {"metric": lambda k, v: check_metric_name(k, v, problem),
                              "min": bound, "max": bound})
        if "metric" not in item or not ("min" in item or "max" in item):
            raise UsageError(f"cfg key {key!r}: expected a \"metric\" and a \"min\" or "
                             f"\"max\", got {shown(item)}")
        low, high = item.get("min"), item.get("max")
        if low is not None and high is not None and low > high:
            raise UsageError(f"cfg key {key!r}: expected min <= max, got {shown(item)}")
        constraints.append(Constraint(item["metric"], low, high))
    return constraints


def check_infeasible(value: Any) -> list[Status]:
    """The failure statuses counted as infeasible (the others are forgotten by the search)."""
    choices = [s.value for s in INFEASIBLE_CHOICES]
    names = check_string_list("infeasible", value)
    for name in names:
        if name not in choices or names.count(name) > 1:
            raise UsageError(f"cfg key 'infeasible': expected distinct statuses among "
                             f"{', '.join(choices)}, got {shown(value)}")
    return [Status(name) for name in names]


def check_warm_start(value: Any, base: str) -> list[str]:
    """Earlier OUTPUT folders or results.csv files (relative to the cfg file's folder)."""
    paths = []
    for text in check_string_list("warm_start", value):
        check_string("warm_start", text, "a path")
        path = os.path.normpath(os.path.join(base, text))
        if os.path.isdir(path):
            path = Layout.path(path, Layout.RESULTS)
        kind = file_kind(path)
        if kind:
            raise UsageError(f"cfg key 'warm_start': {path} {kind}; expected an "
                             "earlier OUTPUT folder or its results.csv")
        paths.append(path)
    return paths


# -- the table of cfg keys: Config's fields, each with its default and check

@dataclass(frozen=True)
class Reading:
    """What a key's check may need besides its value.

    Parameters
    ----------
    base : str
        The folder relative paths in the cfg are taken from.
    config : Config
        The keys checked so far (those before this one in the table).
    """

    base: str
    config: "Config"


# check(name, value, reading) -> the checked value, or a one-line UsageError
Check = Callable[[str, Any, Reading], Any]


def checked_by(check: Callable[[str, Any], Any], absent: Any = MISSING) -> dict[str, Any]:
    """The metadata that makes a Config field a cfg key: one row of the table.

    `check(name, value)` returns the checked value or raises a one-line
    UsageError. `absent`, when given, is checked in place of a key the cfg
    does not set (the optimizer is built on the problem either way).
    """
    return {"check": lambda name, value, _: check(name, value), "absent": absent}


def checked_in(check: Callable[[Any, Reading], Any], absent: Any = MISSING) -> dict[str, Any]:
    """As checked_by, for a check that needs the cfg's folder or the keys before it."""
    return {"check": lambda _, value, reading: check(value, reading), "absent": absent}


def choice(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    """A check: one of the strings `choices`."""
    return lambda name, value: check_choice(name, value, choices)


def between(low: int, high: int) -> Callable[[str, Any], int]:
    """A check: an integer in [low, high]."""
    return lambda name, value: check_integer(name, value, low, high)


@dataclass
class Config:
    """Everything a run takes from its cfg file, checked and defaulted: the table of keys."""

    path: str | None = None  # the cfg file (not a key)
    script: str = field(default=os.path.join(HERE, "task.sh"), metadata=checked_in(
        lambda value, reading: check_script(value, reading.base)))
    log_level: str = field(default="INFO", metadata=checked_by(choice(LOG_LEVELS)))
    # None: the machine's (Machines.py), else 0
    launch_delay: float | None = field(default=None, metadata=checked_by(check_number))
    # null is no problem at all (Problem(None) would be the default one)
    problem: Problem = field(default_factory=Problem, metadata=checked_by(
        lambda _, value: Problem({} if value is None else value)))
    optimizer: dict[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_OPTIMIZER), metadata=checked_in(
            lambda value, reading: check_optimizer(value, reading.config.problem), absent={}))
    kill_grace: float = field(default=10.0, metadata=checked_by(check_number))
    task_timeout: float | None = field(default=None, metadata=checked_by(optional(check_positive)))
    walltime: float | None = field(default=None, metadata=checked_by(optional(check_positive)))
    max_failures: int = field(default=0, metadata=checked_by(check_integer))
    # failures at once in a row that quarantine a host (0: never)
    bad_node_failures: int = field(default=2, metadata=checked_by(check_integer))
    # a failure this soon after the start is "at once"
    bad_node_seconds: float = field(default=60.0, metadata=checked_by(check_positive))
    launcher: str = field(default="auto", metadata=checked_by(choice(LAUNCHERS)))
    launcher_args: list[str] = field(default_factory=list, metadata=checked_by(check_string_list))
    ppn: int = field(default=1, metadata=checked_by(between(1, MAX_PPN)))
    # a Machines.py record, or auto
    machine: str = field(default="auto", metadata=checked_by(choice(MACHINE_NAMES)))
    # tasks sharing a node (> 1 needs PARALLELISM 1)
    tasks_per_node: int = field(default=1, metadata=checked_by(between(1, MAX_PPN)))
    # None: the machine's
    gpus_per_node: int | None = field(default=None,
                                      metadata=checked_by(optional(between(0, MAX_GPUS))))
    pending_lie: str = field(default="max", metadata=checked_by(choice(LIES)))
    progress_pattern: str | None = field(default=None, metadata=checked_by(
        lambda _, value: check_progress_pattern(value)))
    progress_interval: float = field(default=Progress.DEFAULT_INTERVAL, metadata=checked_by(
        lambda name, value: check_interval(name, value, high=3600.0)))
    pruner: PrunerSettings | None = field(default=None, metadata=checked_by(
        lambda _, value: check_pruner(value)))
    status_interval: float = field(default=60.0, metadata=checked_by(check_interval))
    objectives: list[Objective] = field(default_factory=list, metadata=checked_in(
        lambda value, reading: check_objectives(value, reading.config)))
    direction: str = field(default=Direction.DEFAULT, metadata=checked_in(
        lambda value, reading: check_direction(value, reading.config)))
    constraints: list[Constraint] = field(default_factory=list, metadata=checked_in(
        lambda value, reading: check_constraints(value, reading.config.problem)))
    infeasible: list[Status] = field(default_factory=lambda: list(DEFAULT_INFEASIBLE),
                                     metadata=checked_by(lambda _, value: check_infeasible(value)))
    # the metrics the objectives and constraints name are added (absent: those alone)
    metrics: list[str] = field(default_factory=list, metadata=checked_in(
        lambda value, reading: check_metrics(value, reading.config), absent=[]))
    warm_start: list[str] = field(default_factory=list, metadata=checked_in(
        lambda value, reading: check_warm_start(value, reading.base)))

    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues.

        `direction`, `metrics`, `objectives`, `constraints` and `infeasible`
        only when set: folders recorded before these keys existed resume under
        their defaults.
        """
        settings: dict[str, Any] = {"problem": self.problem.spec, "optimizer": self.optimizer,
                                    "script": self.script, "pending_lie": self.pending_lie}
        if self.direction != Direction.DEFAULT:
            settings["direction"] = self.direction
        if self.metrics:
            settings["metrics"] = self.metrics
        if self.objectives:
            settings["objectives"] = [{"name": o.name, "direction": o.direction}
                                      for o in self.objectives]
        if self.constraints:
            settings["constraints"] = [
                {"metric": c.metric} | ({} if c.low is None else {"min": c.low})
                | ({} if c.high is None else {"max": c.high}) for c in self.constraints]
        if self.infeasible != list(DEFAULT_INFEASIBLE):
            settings["infeasible"] = [s.value for s in self.infeasible]
        return settings

    @property
    def goals(self) -> Objectives:
        """The objectives, constraints and infeasible statuses as one record (Objectives.py)."""
        objectives = tuple(self.objectives) or (Objective(Objectives().result_key,
                                                          self.direction),)
        return Objectives(objectives, tuple(self.constraints), tuple(self.infeasible),
                          several=bool(self.objectives))


def recorded_goals(run: dict[str, Any]) -> Objectives:
    """The objectives a recorded run's settings (run.json) name, checked as a cfg's keys;
    the default single objective where they are missing or do not check (a report goes on)."""
    try:
        return _from_object({k: run[k] for k in GOAL_KEYS if k in run}, ".", "run.json").goals
    except UsageError:
        return Config().goals


# the keys recorded_goals reads back from run.json
GOAL_KEYS = ("problem", "objectives", "direction", "constraints", "infeasible")


def cfg_keys() -> list[str]:
    """The cfg keys, in the order they are checked (Config's fields with a check)."""
    return [f.name for f in fields(Config) if "check" in f.metadata]


def unknown_key(name: str, known: list[str]) -> str:
    """Why `name` is refused: the nearest known name first, when one is close."""
    near = difflib.get_close_matches(name, known, n=1)
    if near:
        return f"unknown key {name!r}; did you mean {near[0]!r}? (keys: {', '.join(known)})"
    return f"unknown key {name!r}; expected one of {', '.join(known)}"


def load_config(path: str | None, base: str | None = None) -> Config:
    """Read and check the cfg file at `path` (None: the built-in defaults).

    Relative paths in it (`script`, `warm_start`) are taken from `base`,
    by default the cfg file's folder (a copy kept in OUTPUT names the
    original's folder).

    Raises
    ------
    UsageError
        One line naming the file or key and what was expected.
    """
    if path is None:
        return Config()
    if not path:
        raise UsageError("argument -c/--cfg: expected the path of a cfg file, got ''")
    raw = read_cfg_text(path)
    try:
        return _from_object(raw, base or os.path.dirname(os.path.abspath(path)), path)
    except UsageError as err:
        raise UsageError(f"cfg file {path}: {err}") from None


def _from_object(raw: dict[str, Any], base: str, path: str) -> Config:
    """Check each key of the table that `raw` sets (or must check when absent), in order."""
    known = sorted(cfg_keys())
    for name in raw:
        if name not in known:
            raise UsageError(unknown_key(name, known))
    config = Config(path=os.path.abspath(path))
    reading = Reading(base, config)
    for row in fields(Config):
        if "check" not in row.metadata:
            continue
        if row.name in raw:
            value = raw[row.name]
        elif row.metadata["absent"] is not MISSING:
            value = row.metadata["absent"]
        else:
            continue
        setattr(config, row.name, row.metadata["check"](row.name, value, reading))
    return config
