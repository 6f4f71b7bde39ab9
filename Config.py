# CONFIG PY
# The cfg file (JSON): read it, check every key before the first task
# starts, and fill in the defaults of the original workflow.

import json
import os
from dataclasses import dataclass, field
from typing import Any

from Problem import Problem
from utils import UsageError

HERE = os.path.dirname(os.path.abspath(__file__))

# The original's optimizer settings: they reproduce its sample output.
DEFAULT_OPTIMIZER: dict[str, Any] = {
    "base_estimator": "RF",
    "acq_optimizer": "sampling",
    "acq_func": "LCB",
    "acq_func_kwargs": {},
    "random_state": 42,
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING")
LAUNCHERS = ("auto", "none", "aprun", "srun", "mpiexec")
LIES = ("max", "mean", "min", "none")


@dataclass
class Config:
    """Everything a run takes from its cfg file, checked and defaulted."""

    path: str | None = None
    script: str = os.path.join(HERE, "task.sh")
    log_level: str = "INFO"
    launch_delay: float = 0.0
    problem: Problem = field(default_factory=Problem)
    optimizer: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OPTIMIZER))
    kill_grace: float = 10.0
    task_timeout: float | None = None
    walltime: float | None = None
    max_failures: int = 0
    launcher: str = "auto"
    launcher_args: list[str] = field(default_factory=list)
    ppn: int = 1
    pending_lie: str = "max"

    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues."""
        return {"problem": self.problem.spec, "optimizer": self.optimizer,
                "script": self.script, "pending_lie": self.pending_lie}


def _number(key: str, value: Any, positive: bool = True, integer: bool = False) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "an integer" if integer else "a number"
        raise UsageError(f"cfg key {key!r}: expected {what}, got {value!r}")
    if positive and value <= 0:
        raise UsageError(f"cfg key {key!r}: expected a value > 0, got {value!r}")
    if value < 0:
        raise UsageError(f"cfg key {key!r}: expected a value >= 0, got {value!r}")
    return value


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"cfg key {key!r}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _optimizer(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"cfg key 'optimizer': expected an object of skopt.Optimizer "
                         f"arguments, got {value!r}")
    for reserved in ("dimensions",):
        if reserved in value:
            raise UsageError(f"cfg key 'optimizer.{reserved}': set by 'problem', not here")
    merged = dict(DEFAULT_OPTIMIZER)
    merged.update(value)
    return merged


def _script(value: Any, base: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"cfg key 'script': expected a path, got {value!r}")
    path = os.path.normpath(os.path.join(base, value))
    if not os.path.isfile(path):
        raise UsageError(f"cfg key 'script': task script {path} does not exist")
    if not os.access(path, os.X_OK):
        raise UsageError(f"cfg key 'script': task script {path} is not executable (chmod +x)")
    return path


def _string_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"cfg key {key!r}: expected a list of strings, got {value!r}")
    return list(value)


def load_config(path: str | None) -> Config:
    """Read and check the cfg file at `path` (None: the built-in defaults).

    Raises
    ------
    UsageError
        One line naming the file or key and what was expected.
    """
    if path is None:
        return Config()
    try:
        with open(path) as stream:
            text = stream.read()
    except OSError as err:
        raise UsageError(f"cfg file {path}: cannot read it: {err.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"cfg file {path}: invalid JSON at line {err.lineno} column "
                         f"{err.colno}: {err.msg}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"cfg file {path}: expected a JSON object, got {type(raw).__name__}")
    try:
        return _from_object(raw, os.path.dirname(os.path.abspath(path)), path)
    except UsageError as err:
        raise UsageError(f"cfg file {path}: {err}") from None


def _from_object(raw: dict[str, Any], base: str, path: str) -> Config:
    config = Config(path=os.path.abspath(path))
    known = set(Config.__dataclass_fields__) - {"path"}
    for key in raw:
        if key not in known:
            raise UsageError(f"unknown key {key!r}; expected one of {', '.join(sorted(known))}")
    if "script" in raw:
        config.script = _script(raw["script"], base)
    if "log_level" in raw:
        config.log_level = _choice("log_level", raw["log_level"], LOG_LEVELS)
    if "launch_delay" in raw:
        config.launch_delay = float(_number("launch_delay", raw["launch_delay"], positive=False))
    if "problem" in raw:
        config.problem = Problem(raw["problem"])
    if "optimizer" in raw:
        config.optimizer = _optimizer(raw["optimizer"])
    if "kill_grace" in raw:
        config.kill_grace = float(_number("kill_grace", raw["kill_grace"], positive=False))
    if "task_timeout" in raw:
        config.task_timeout = float(_number("task_timeout", raw["task_timeout"]))
    if "walltime" in raw:
        config.walltime = float(_number("walltime", raw["walltime"]))
    if "max_failures" in raw:
        config.max_failures = _number("max_failures", raw["max_failures"], positive=False,
                                      integer=True)
    if "launcher" in raw:
        config.launcher = _choice("launcher", raw["launcher"], LAUNCHERS)
    if "launcher_args" in raw:
        config.launcher_args = _string_list("launcher_args", raw["launcher_args"])
    if "ppn" in raw:
        config.ppn = _number("ppn", raw["ppn"], integer=True)
    if "pending_lie" in raw:
        config.pending_lie = _choice("pending_lie", raw["pending_lie"], LIES)
    return config
