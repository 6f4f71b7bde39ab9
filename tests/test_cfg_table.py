# TEST CFG TABLE PY
# Issue 14's table: every cfg key (read from Config's table of keys, so a key
# added later is covered too) x NaN, +Infinity, -Infinity, huge, wrong type
# ends in one line `main.sh: error: ...` naming the key, exit code 2, and no
# OUTPUT. Each key of the table has its row in README's cfg table and each
# row a key; so do the pruner's settings and rules.

import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from conftest import BUNDLE, run_main
from test_validation import main_in_process, refused, snapshot

import Config
import Problem
import Pruner
from utils import UsageError

HUGE_INT = "9" * 400  # int() of it works; float() of it overflows
BAD_NUMBERS = {"NaN": "NaN", "+Infinity": "Infinity", "-Infinity": "-Infinity",
               "huge int": HUGE_INT, "5000 digits": "7" * 5000, "1e400": "1e400",
               "-1e400": "-1e400", "1e300": "1e300", "2**64": str(2**64)}
# A value of each JSON kind, to give every key one of a kind it does not take.
OF_KIND = {"boolean": "true", "string": '"x"', "integer": "7", "number": "0.5",
           "array": '["x"]', "object": '{"x": 1}', "null": "null"}
PYTHON_KINDS = {bool: {"boolean"}, str: {"string"}, int: {"integer"}, float: {"integer", "number"},
                list: {"array"}, dict: {"object"}, type(None): {"null"}}


def json_kinds(annotation: typing.Any) -> set[str]:
    """The JSON kinds a field of this type is read from (empty: not a plain type)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set().union(*(json_kinds(a) for a in typing.get_args(annotation)))
    return PYTHON_KINDS.get(typing.get_origin(annotation) or annotation, set())


def cfg_keys() -> dict[str, set[str]]:
    hints = typing.get_type_hints(Config.Config)
    return {name: json_kinds(hints[name]) for name in Config.cfg_keys()}


def nest(path: list[str], text: str) -> str:
    """JSON text of {path[0]: {path[1]: ... text}}, braces doubled for format()."""
    for key in reversed(path):
        text = f'{{{{"{key}": {text}}}}}'
    return text


def not_a_bound(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float)) \
        or abs(value) > Problem.MAX_REAL


def not_a_choice(value: Any) -> bool:
    return not isinstance(value, (str, int, float, bool))


def refused_by(check: Callable[[str, Any], Any]) -> Callable[[Any], bool]:
    """Whether `check` refuses a value (to leave out of the table those it takes)."""
    def refuses(value: Any) -> bool:
        try:
            check("key", value)
        except UsageError:
            return True
        return False
    return refuses


def table() -> list[tuple[str, str, str]]:
    """(case id, cfg text, the name the line must hold)."""
    cases = []
    for key, kinds in cfg_keys().items():
        for name, text in BAD_NUMBERS.items():
            if name == "1e300" and "number" not in kinds and kinds:
                continue  # a wrong type below, when the key takes no number
            cases.append((f"{key}={name}", f'{{"{key}": {text}}}', key))
        for kind, text in OF_KIND.items():
            if kind not in kinds:
                cases.append((f"{key}={kind}", f'{{"{key}": {text}}}', key))
    # where a key holds an object: bad values inside it (a choice may be anything finite)
    nested: dict[str, tuple[str, Callable[[Any], bool]]] = {
        "problem.a.low": ('{{"problem": {{"a": {{"low": {}, "high": 1.0}}}}}}', not_a_bound),
        "problem.a.high": ('{{"problem": {{"a": {{"low": 0.0, "high": {}}}}}}}', not_a_bound),
        "problem.c[1]": ('{{"problem": {{"c": [1, {}]}}}}', not_a_choice),
    }
    for sub, checks in (([], Config.OPTIMIZER_KWARGS),
                        (["acq_func_kwargs"], Config.ACQ_FUNC_KWARGS),
                        (["acq_optimizer_kwargs"], Config.ACQ_OPTIMIZER_KWARGS)):
        for name, check in checks.items():
            path = ["optimizer", *sub, name]
            nested[".".join(path)] = (nest(path, "{}"), refused_by(check))
    for where, (template, refuses) in nested.items():
        for name, text in BAD_NUMBERS.items():
            if name != "1e300" or refuses(1e300):
                cases.append((f"{where}={name}", template.format(text), where.split("[")[0]))
        for kind, text in OF_KIND.items():
            if refuses(json.loads(text)):
                cases.append((f"{where}={kind}", template.format(text), where.split("[")[0]))
    return cases


TABLE = table()


def test_the_table_covers_every_key() -> None:
    keys = set(cfg_keys())
    assert {"problem", "optimizer", "kill_grace", "task_timeout", "ppn"} <= keys
    assert keys <= {key for _, _, key in TABLE}
    assert keys == {f.name for f in fields(Config.Config)} - {"path"}


def documented_table(header: str) -> str:
    """The AsciiDoc table (README.adoc or docs/) whose header row starts with `header`."""
    for page in [BUNDLE / "README.adoc", *sorted((BUNDLE / "docs").rglob("*.adoc"))]:
        text = page.read_text()
        start = text.find("\n" + header)
        if start >= 0:
            return text[start:text.index("|===", start)]
    raise AssertionError(f"no table with the header {header!r} in README.adoc or docs/")


def rows(table: str) -> list[str]:
    return re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)


def test_each_key_has_its_readme_row_and_each_row_a_key() -> None:
    assert sorted(rows(documented_table("| key | type | default | meaning"))) == \
        sorted(Config.cfg_keys())


def test_each_pruner_setting_and_rule_has_its_readme_row() -> None:
    table = documented_table("| `pruner` key | default | meaning")
    assert sorted(rows(table)) == sorted(Config.PRUNER_KEYS)
    rule_row = next(line for line in table.splitlines() if line.startswith("| `rule` |"))
    assert re.findall(r"`(\w+)`", rule_row.split("|")[3]) == list(Pruner.RULES)


@pytest.mark.parametrize("key, says", [
    ("pruner_rule", "unknown key 'pruner_rule'; did you mean 'pruner'? (keys: bad_node_failures, "),
    ("max_failure", "unknown key 'max_failure'; did you mean 'max_failures'? (keys: "),
    ("Walltime", "unknown key 'Walltime'; did you mean 'walltime'? (keys: "),
    ("zzz", "unknown key 'zzz'; expected one of bad_node_failures, bad_node_seconds, "),
])
def test_a_mistyped_key_names_the_nearest_one_first(tmp_path: Path, key: str, says: str,
                                                   capsys, monkeypatch) -> None:
    cfg = tmp_path / "x.json"
    cfg.write_text(json.dumps({key: 1}))
    done = main_in_process(["-c", str(cfg), "-o", str(tmp_path / "out")], capsys, monkeypatch)
    refused(done, f"cfg file {cfg}: {says}")
    assert done.stderr.rstrip().endswith("warm_start)" if "did you" in says else "warm_start")


@pytest.mark.parametrize("text, key", [(t, k) for _, t, k in TABLE], ids=[i for i, _, _ in TABLE])
def test_bad_value_is_one_line_and_exit_2(tmp_path: Path, text: str, key: str, capsys,
                                          monkeypatch) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(text)
    output = tmp_path / "out"
    done = main_in_process(["-c", str(cfg), "-o", str(output), "1", "1", "1"], capsys,
                           monkeypatch)
    refused(done, f"cfg file {cfg}: ")
    assert key in done.stderr
    assert not output.exists()


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> Path:
    """An OUTPUT holding a finished search of 2 tasks."""
    output = tmp_path_factory.mktemp("earlier") / "out"
    done = run_main(["-o", str(output), "1", "2", "2"], via="main.py", env={"TASK_DELAY": "0"})
    assert done.returncode == 0, done.stderr
    return output


@pytest.mark.parametrize("key", sorted(cfg_keys()))
def test_bad_value_on_resume_leaves_output_as_it_was(earlier: Path, tmp_path: Path, key: str,
                                                     capsys, monkeypatch) -> None:
    """--resume with a bad value: the one line, and OUTPUT byte for byte as it was."""
    before = snapshot(earlier)
    for text in ("NaN", "-Infinity", HUGE_INT, "[{}]"):
        cfg = tmp_path / "c.json"
        cfg.write_text(f'{{"{key}": {text}}}')
        done = main_in_process(["--resume", "-c", str(cfg), "-o", str(earlier), "1", "2", "4"],
                               capsys, monkeypatch)
        refused(done, f"cfg file {cfg}: ")
        assert key in done.stderr
    assert snapshot(earlier) == before


def test_the_cases_are_json_python_reads(tmp_path: Path) -> None:
    """Each case is one Python's json accepts (as today): the refusal is ours."""
    for case, text, _ in TABLE:
        if "5000 digits" not in case:
            json.loads(text)


@pytest.mark.parametrize("text, says", [
    ('{"kill_grace": NaN}', "cfg key 'kill_grace': expected a finite number, got NaN"),
    ('{"kill_grace": ' + HUGE_INT + '}', "cfg key 'kill_grace': expected an integer within"),
    ("[" * 200_000, "JSON nested too deeply"),
], ids=["NaN", "huge", "nested"])
def test_through_main_sh(tmp_path: Path, text: str, says: str) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(text)
    done = run_main(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "1", "1"])
    refused(done, says)
    assert not (tmp_path / "out").exists()
