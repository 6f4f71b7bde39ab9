# CONFIG PY
# The cfg file (JSON): read it, check every key before the first task
# starts, and fill in the defaults of the original workflow. The check_*
# validators here are the ones every cfg key uses (one wording, one set of
# bounds): a new key adds a field to Config and one block to _from_object.

import inspect
import json
import math
import os
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skopt import Optimizer

import Direction
import Layout
import Progress
from Launcher import LAUNCHERS
from Machines import MACHINE_NAMES
from Problem import RESERVED_NAMES, Problem, is_number
from Pruner import RULES
from PruneRule import PrunerSettings
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
MAX_DEPTH = 32  # JSON nesting (a cfg needs 4; Python's recursion limit is near 1000)


@dataclass
class Config:
    """Everything a run takes from its cfg file, checked and defaulted."""

    path: str | None = None
    script: str = os.path.join(HERE, "task.sh")
    log_level: str = "INFO"
    launch_delay: float | None = None  # None: the machine's (Machines.py), else 0
    problem: Problem = field(default_factory=Problem)
    optimizer: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OPTIMIZER))
    kill_grace: float = 10.0
    task_timeout: float | None = None
    walltime: float | None = None
    max_failures: int = 0
    bad_node_failures: int = 2  # failures at once in a row that quarantine a host (0: never)
    bad_node_seconds: float = 60.0  # a failure this soon after the start is "at once"
    launcher: str = "auto"
    launcher_args: list[str] = field(default_factory=list)
    ppn: int = 1
    machine: str = "auto"  # Machines.py record, or auto
    tasks_per_node: int = 1  # tasks sharing a node (> 1 needs PARALLELISM 1)
    gpus_per_node: int | None = None  # None: the machine's
    pending_lie: str = "max"
    progress_pattern: str | None = None
    progress_interval: float = Progress.DEFAULT_INTERVAL
    pruner: PrunerSettings | None = None
    status_interval: float = 60.0
    direction: str = Direction.DEFAULT
    metrics: list[str] = field(default_factory=list)
    warm_start: list[str] = field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues.

        `direction` and `metrics` only when set: folders recorded before
        these keys existed resume under their defaults.
        """
        settings = {"problem": self.problem.spec, "optimizer": self.optimizer,
                    "script": self.script, "pending_lie": self.pending_lie}
        if self.direction != Direction.DEFAULT:
            settings["direction"] = self.direction
        if self.metrics:
            settings["metrics"] = self.metrics
        return settings


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

def check_metrics(value: Any, problem: Problem) -> list[str]:
    """Names of extra values a task reports (results.csv columns): distinct identifiers."""
    names = check_string_list("metrics", value)
    for name in names:
        if not name.isidentifier() or name in RESERVED_NAMES or name in problem.names:
            raise UsageError(f"cfg key 'metrics': metric name {name!r} is not allowed; expected "
                             "an identifier other than a parameter's name or "
                             f"{', '.join(RESERVED_NAMES)}")
        if names.count(name) > 1:
            raise UsageError(f"cfg key 'metrics': metric name {name!r} appears twice")
    return names


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
    config = Config(path=os.path.abspath(path))
    known = set(Config.__dataclass_fields__) - {"path"}
    for key in raw:
        if key not in known:
            raise UsageError(f"unknown key {key!r}; expected one of {', '.join(sorted(known))}")
    if "script" in raw:
        config.script = check_script(raw["script"], base)
    if "log_level" in raw:
        config.log_level = check_choice("log_level", raw["log_level"], LOG_LEVELS)
    if "launch_delay" in raw:
        config.launch_delay = check_number("launch_delay", raw["launch_delay"])
    if "problem" in raw:
        # null is no problem at all (Problem(None) would be the default one)
        config.problem = Problem({} if raw["problem"] is None else raw["problem"])
    config.optimizer = check_optimizer(raw.get("optimizer", {}), config.problem)
    if "kill_grace" in raw:
        config.kill_grace = check_number("kill_grace", raw["kill_grace"])
    if "task_timeout" in raw:
        config.task_timeout = optional(check_positive)("task_timeout", raw["task_timeout"])
    if "walltime" in raw:
        config.walltime = optional(check_positive)("walltime", raw["walltime"])
    if "max_failures" in raw:
        config.max_failures = check_integer("max_failures", raw["max_failures"])
    if "bad_node_failures" in raw:
        config.bad_node_failures = check_integer("bad_node_failures", raw["bad_node_failures"])
    if "bad_node_seconds" in raw:
        config.bad_node_seconds = check_positive("bad_node_seconds", raw["bad_node_seconds"])
    if "launcher" in raw:
        config.launcher = check_choice("launcher", raw["launcher"], LAUNCHERS)
    if "launcher_args" in raw:
        config.launcher_args = check_string_list("launcher_args", raw["launcher_args"])
    if "ppn" in raw:
        config.ppn = check_integer("ppn", raw["ppn"], 1, MAX_PPN)
    if "machine" in raw:
        config.machine = check_choice("machine", raw["machine"], MACHINE_NAMES)
    if "tasks_per_node" in raw:
        config.tasks_per_node = check_integer("tasks_per_node", raw["tasks_per_node"], 1, MAX_PPN)
    if "gpus_per_node" in raw:
        config.gpus_per_node = optional(lambda k, v: check_integer(k, v, 0, MAX_GPUS))(
            "gpus_per_node", raw["gpus_per_node"])
    if "pending_lie" in raw:
        config.pending_lie = check_choice("pending_lie", raw["pending_lie"], LIES)
    if "progress_pattern" in raw:
        config.progress_pattern = check_progress_pattern(raw["progress_pattern"])
    if "progress_interval" in raw:
        config.progress_interval = check_interval("progress_interval", raw["progress_interval"],
                                                  high=3600.0)
    if "pruner" in raw:
        config.pruner = check_pruner(raw["pruner"])
    if "status_interval" in raw:
        config.status_interval = check_interval("status_interval", raw["status_interval"])
    if "direction" in raw:
        config.direction = check_choice("direction", raw["direction"], Direction.DIRECTIONS)
    if "metrics" in raw:
        config.metrics = check_metrics(raw["metrics"], config.problem)
    if "warm_start" in raw:
        config.warm_start = check_warm_start(raw["warm_start"], base)
    return config
