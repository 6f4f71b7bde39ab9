# TEST VALIDATION PY
# Every bad input is refused before the first task starts: one line
# `main.sh: error: ...` on stderr, exit code 2, no traceback, and an
# existing OUTPUT left byte for byte as it was.

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import read_results, run_main
from skopt.space import Integer, Real

import main
from Problem import Problem

JSON_WITH_A_HOLE = '{\n  "kill_grace": 1,\n  "task_timeout": \n}\n'

# (arguments, cfg (dict, raw text, or None), what the one line must say)
BAD_ARGS = [
    (["x"], None, "argument PARALLELISM: expected a whole number, got 'x'"),
    (["0"], None, "argument PARALLELISM: expected a number > 0, got 0"),
    (["--", "-3"], None, "argument PARALLELISM: expected a number > 0, got -3"),
    (["1", "0"], None, "argument POINTS_INIT: expected a number > 0, got 0"),
    (["1", "2", "1.5"], None, "argument POINTS_MAX: expected a whole number, got '1.5'"),
    (["1", "2", "3", "4"], None, "unrecognized arguments: 4"),
    (["1", "2", "٢"], None, "argument POINTS_MAX: expected a whole number, got '٢'"),
    (["1", "1_000"], None, "argument POINTS_INIT: expected a whole number, got '1_000'"),
    (["+1"], None, "argument PARALLELISM: expected a whole number, got '+1'"),
    (["1", "2", "1000001"], None, "argument POINTS_MAX: expected a number <= 1000000, got 1000001"),
    (["1", "2", "9" * 5000], None, "expected a number <= 1000000, got a 5000-digit number"),
    (["--bogus"], None, "unrecognized arguments: --bogus"),
]
BAD_CFG = [
    (JSON_WITH_A_HOLE, "invalid JSON at line 4 column 1"),
    ("[1, 2]", "expected a JSON object, got list"),
    ({"max_failure": 1}, "unknown key 'max_failure'"),
    ({"kill_grace": "10"}, "cfg key 'kill_grace': expected a number, got '10'"),
    ({"kill_grace": -1}, "cfg key 'kill_grace': expected a value >= 0, got -1"),
    ({"task_timeout": 0}, "cfg key 'task_timeout': expected a value > 0, got 0"),
    ({"walltime": True}, "cfg key 'walltime': expected a number, got True"),
    ({"max_failures": 1.5}, "cfg key 'max_failures': expected an integer, got 1.5"),
    ({"max_failures": -1}, "cfg key 'max_failures': expected a value >= 0, got -1"),
    ({"ppn": 0}, "cfg key 'ppn': expected a value >= 1, got 0"),
    ({"launcher": "pbs"}, ("cfg key 'launcher': expected one of auto, none, aprun, srun, "
                           "mpiexec, got 'pbs'")),
    ({"launcher_args": "-n 4"}, "cfg key 'launcher_args': expected a list of strings"),
    ({"pending_lie": "sometimes"}, "cfg key 'pending_lie': expected one of"),
    ({"log_level": "LOUD"}, "cfg key 'log_level': expected one of"),
    ({"problem": {}}, "problem: expected a non-empty object"),
    ({"problem": {"a": []}}, "problem.a: empty list of choices"),
    ({"problem": {"a": {"low": 1, "high": 1}}}, ("problem.a: empty or inverted range "
                                                 "low=1 >= high=1")),
    ({"problem": {"a": {"low": 2.0, "high": 1.0}}}, "problem.a: empty or inverted range"),
    ({"problem": {"a": {"low": 0, "high": 1, "prior": "log-uniform"}}},
     "problem.a: log-uniform prior needs low > 0, got low=0"),
    ({"problem": {"a": {"low": -1e-3, "high": 1.0, "prior": "log-uniform"}}},
     "log-uniform prior needs low > 0"),
    ({"problem": {"a": {"low": "0", "high": 1}}}, "problem.a.low: expected a number, got '0'"),
    ({"problem": {"a": {"low": 0, "hi": 1}}}, "problem.a: unknown key 'hi'"),
    ({"optimizer": {"acq_func": "nope"}}, "cfg key 'optimizer.acq_func': expected one of LCB"),
    ({"optimizer": {"n_initial_pointz": 3}},
     ("cfg key 'optimizer.n_initial_pointz': unknown setting; expected one of base_estimator, "
      "n_initial_points, initial_point_generator")),
    ('{"kill_grace": NaN}', "cfg key 'kill_grace': expected a finite number, got NaN"),
    ('{"task_timeout": Infinity}',
     "cfg key 'task_timeout': expected a finite number, got Infinity"),
    ('{"launch_delay": 1e400}', "cfg key 'launch_delay': expected a finite number, got 1e400"),
    ('{"kill_grace": ' + "1" * 400 + "}", ("cfg key 'kill_grace': expected an integer within "
                                           "±9223372036854775807, got a 400-digit integer")),
    ({"kill_grace": 1e8}, "cfg key 'kill_grace': expected a value <= 1e+07, got 100000000.0"),
    ({"walltime": 0}, "cfg key 'walltime': expected a value > 0, got 0"),
    ({"max_failures": 10**10}, "cfg key 'max_failures': expected a value <= 1000000000"),
    ({"ppn": 5000}, "cfg key 'ppn': expected a value <= 4096, got 5000"),
    ('{"kill_grace": 1, "kill_grace": 2}', "key 'kill_grace' appears twice"),
    ('{"problem": {"a": [1, 2], "a": [3]}}', "cfg key 'problem': key 'a' appears twice"),
    ("[" * 200_000, "JSON nested too deeply"),
    ('{"problem": ' + "[" * 500 + "]" * 500 + "}",
     "cfg key 'problem" + "[0]" * 32 + "': JSON nested too deeply (more than 32 levels)"),
    (b'{"script": "t\xe9.sh"}', "not UTF-8 text (byte 0xe9 at offset 13)"),
    ('{"problem": {"a": {"low": NaN, "high": 1.0}}}',
     "cfg key 'problem.a.low': expected a finite number, got NaN"),
    ('{"problem": {"a": {"low": 0.0, "high": Infinity}}}',
     "cfg key 'problem.a.high': expected a finite number, got Infinity"),
    ('{"problem": {"v": ["a", NaN]}}', "cfg key 'problem.v[1]': expected a finite number"),
    ({"problem": {"a": {"low": 0, "high": 10**23}}},
     "cfg key 'problem.a.high': expected an integer within ±9223372036854775807"),
    ({"problem": {"a": {"low": 0, "high": 2**60}}},
     "problem.a.high: expected an integer within ±2**53 (9007199254740992), got 2**60"
     .replace("2**60", str(2**60))),
    ({"problem": {"a": {"low": 0.0, "high": 1e300}}},
     "problem.a.high: expected a number within ±1e+100, got 1e+300"),
    ({"problem": {"a": {"low": 1e-320, "high": 1e-300, "prior": "log-uniform"}}},
     "problem.a: skopt cannot use the range low=1e-320 high=1e-300 prior=log-uniform"),
    ({"problem": {"v": ["1", 1]}}, "problem.v: choices '1' and 1 are the same once written"),
    ({"problem": {"v": [1, 1.0]}}, "problem.v: choices 1 and 1.0 are the same"),
    ({"problem": {"v": [True, "True"]}}, "problem.v: choices True and 'True' are the same"),
    ({"problem": {"a": {"low": 1, "high": 6.0}}},
     ('problem.a: one integer and one real bound (low=1, high=6.0); write both alike, or add '
      '"type": "int" or "type": "real"')),
    ({"problem": {"a": {"low": 1.5, "high": 6, "type": "int"}}},
     'problem.a.low: "type": "int" needs a whole number, got 1.5'),
    ({"problem": {"a": {"low": 1, "high": 6, "type": "float"}}},
     "problem.a.type: expected one of int, real, got 'float'"),
    ({"optimizer": {"n_initial_points": 0}},
     "cfg key 'optimizer.n_initial_points': expected a value >= 1, got 0"),
    ({"optimizer": {"acq_func_kwargs": {"kappa": "x"}}},
     "cfg key 'optimizer.acq_func_kwargs.kappa': expected a number, got 'x'"),
    ({"optimizer": {"acq_func_kwargs": {"kapa": 2}}},
     "cfg key 'optimizer.acq_func_kwargs.kapa': unknown setting; expected one of kappa, xi"),
    ({"optimizer": {"acq_optimizer_kwargs": {"n_points": "many"}}},
     "cfg key 'optimizer.acq_optimizer_kwargs.n_points': expected an integer"),
    ({"optimizer": {"acq_func": "EIps"}}, "cfg key 'optimizer.acq_func': expected one of"),
    ({"optimizer": {"base_estimator": "SVM"}},
     "cfg key 'optimizer.base_estimator': expected one of RF, ET, GP, GBRT, DUMMY"),
    ({"optimizer": {"base_estimator": 5}}, "cfg key 'optimizer': skopt.Optimizer rejects"),
    ({"optimizer": {"random_state": 2**40}},
     "cfg key 'optimizer.random_state': expected a value <= 4294967295"),
    ({"optimizer": {"base_estimator": "RF", "acq_optimizer": "lbfgs"}},
     "cfg key 'optimizer': skopt.Optimizer rejects"),
    ({"optimizer": None}, "cfg key 'optimizer': expected an object"),
    ({"optimizer": {"acq_func_kwargs": []}},
     "cfg key 'optimizer.acq_func_kwargs': expected an object, got []"),
    ({"optimizer": {"initial_point_generator": "lhs", "n_initial_points": 5000}},
     ("cfg key 'optimizer.n_initial_points': expected a value <= 1000 with "
     "initial_point_generator 'lhs', got 5000")),
    ({"optimizer": {"initial_point_generator": "latin"}},
     "cfg key 'optimizer.initial_point_generator': expected one of random, sobol"),
    ({"optimizer": {"avoid_duplicates": "yes"}},
     "cfg key 'optimizer.avoid_duplicates': expected true or false, got 'yes'"),
    ({"problem": None}, "problem: expected a non-empty object"),
    ({"script": "missing.sh"}, "missing.sh does not exist"),
    ({"script": "plain.sh"}, "plain.sh is not executable (chmod +x)"),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """An OUTPUT holding a finished search of 2 tasks."""
    output = tmp_path_factory.mktemp("finished") / "out"
    done = run_main(["-o", str(output), "1", "2", "2"], env={"TASK_DELAY": "0"})
    assert done.returncode == 0, done.stderr
    return output


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(done: subprocess.CompletedProcess, says: str) -> None:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("main.sh: error: ") and says in lines[0], lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert "search start" not in done.stdout


def write_cfg_text(folder: Path, cfg) -> Path:
    path = folder / "bad.json"
    if isinstance(cfg, bytes):
        path.write_bytes(cfg)
    else:
        path.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    (folder / "plain.sh").write_text("#!/bin/sh\n")
    (folder / "plain.sh").chmod(0o644)
    return path


class Result:
    """What main.main() did, in the shape of a CompletedProcess."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def main_in_process(argv: list[str], capsys, monkeypatch) -> Result:
    """Run main.main() here (the tables are long; a process each would be slow)."""
    monkeypatch.setattr(sys, "argv", ["main.py", *argv])
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main.main()
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    out = capsys.readouterr()
    return Result(code, out.out, out.err)


@pytest.mark.parametrize("args, cfg, says", BAD_ARGS,
                         ids=[" ".join(a)[:30] for a, _, _ in BAD_ARGS])
def test_bad_arguments(finished: Path, args, cfg, says, capsys, monkeypatch) -> None:
    before = snapshot(finished)
    refused(main_in_process(["--resume", "-o", str(finished), *args], capsys, monkeypatch),
            says)
    assert snapshot(finished) == before


@pytest.mark.parametrize("cfg, says", BAD_CFG, ids=[s[:50] for _, s in BAD_CFG])
def test_bad_cfg(finished: Path, tmp_path: Path, cfg, says, capsys, monkeypatch) -> None:
    before = snapshot(finished)
    path = write_cfg_text(tmp_path, cfg)
    done = main_in_process(["--resume", "-c", str(path), "-o", str(finished), "1", "2", "4"],
                           capsys, monkeypatch)
    refused(done, says)
    assert f"cfg file {path}: " in done.stderr
    assert snapshot(finished) == before


def test_bad_cfg_through_main_sh(tmp_path: Path) -> None:
    """The same one line through main.sh, which adds its FAIL line on stdout."""
    path = write_cfg_text(tmp_path, JSON_WITH_A_HOLE)
    done = run_main(["-c", str(path), "-o", str(tmp_path / "out")])
    refused(done, "invalid JSON at line 4 column 1")
    assert "main.sh: FAIL: python exited with code: 2" in done.stdout
    assert not (tmp_path / "out").exists()


def test_missing_cfg_file(tmp_path: Path) -> None:
    refused(run_main(["-c", str(tmp_path / "nope.json"), "-o", str(tmp_path / "out")],
                     via="main.py"), "cannot read it: No such file or directory")


def test_a_cfg_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    """Issue 18: a FIFO nobody writes hung the driver for ever; a folder is no cfg either."""
    fifo = tmp_path / "cfg.json"
    os.mkfifo(fifo)
    refused(run_main(["-c", str(fifo), "-o", str(tmp_path / "out")], timeout=60),
            f"cfg file {fifo}: cannot read it: not a regular file")
    refused(run_main(["-c", str(tmp_path), "-o", str(tmp_path / "out")], via="main.py",
                     timeout=60), f"cfg file {tmp_path}: cannot read it: not a regular file")
    assert not (tmp_path / "out").exists()


def test_a_cfg_copy_that_is_a_fifo_is_refused_on_resume(finished: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    shutil.copytree(finished, output)
    copy = output / "cfg.json"
    copy.unlink(missing_ok=True)
    os.mkfifo(copy)
    refused(run_main(["--resume", "-o", str(output)], via="main.py", timeout=60),
            f"cfg file {copy}: cannot read it: not a regular file")


@pytest.mark.parametrize("key", ["script", "warm_start", "warm_start folder"])
def test_files_the_cfg_names_that_are_fifos_are_refused(tmp_path: Path, key: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if key == "warm_start folder":
        (tmp_path / "earlier").mkdir()
        fifo = tmp_path / "earlier" / "results.csv"
        os.mkfifo(fifo)
    named = {"script": str(fifo), "warm_start": [str(fifo)],
             "warm_start folder": [str(tmp_path / "earlier")]}[key]
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({key.split()[0]: named}))
    refused(run_main(["-c", str(cfg), "-o", str(tmp_path / "out")], via="main.py", timeout=60),
            f"{fifo} is not a regular file")


def test_existing_search_needs_resume(finished: Path) -> None:
    before = snapshot(finished)
    refused(run_main(["-o", str(finished)], via="main.py"),
            "already holds a search (run.json, results.csv, started.csv); use --resume")
    assert snapshot(finished) == before


def test_resume_of_a_folder_without_a_search(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    refused(run_main(["--resume", "-o", str(tmp_path)], via="main.py"),
            "--resume given, but it holds no search")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_output_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    refused(run_main(["-o", str(tmp_path / "out")], via="main.py"),
            "exists and is not a folder")


def test_output_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes through permissions: use a read-only mount
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                                  str(folder)], capture_output=True, text=True, check=False)
        if mounted.returncode:
            pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    else:
        folder.chmod(0o555)
    try:
        refused(run_main(["-o", str(folder / "out")], via="main.py"),
                f"{folder} is not writable")
        assert not (folder / "out").exists()
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_points_init_above_points_max_is_allowed_and_explained(tmp_path: Path) -> None:
    done = run_main(["-o", str(tmp_path / "out"), "1", "5", "3"], via="main.py",
                    env={"TASK_DELAY": "0"})
    assert done.returncode == 0, done.stderr
    assert "note: POINTS_INIT=5 > POINTS_MAX=3: only 3 task(s) will run, all at once" \
        in done.stdout
    assert "CONCURRENCY=3 POINTS_MAX=3" in done.stdout


def test_empty_output_option_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    """`-o ""` is a mistake (an unset variable), not a request for a new folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTPUT", raising=False)
    refused(main_in_process(["-o", "", "1", "1", "1"], capsys, monkeypatch),
            "argument -o/--output: expected a folder path, got ''")
    assert list(tmp_path.iterdir()) == []


def test_empty_cfg_option_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    refused(main_in_process(["-c", "", "-o", str(tmp_path / "out")], capsys, monkeypatch),
            "argument -c/--cfg: expected the path of a cfg file, got ''")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["a\nb", "tab\there", "bell\x07", "\n", "line\u2028sep"])
def test_output_with_a_control_character_is_refused(tmp_path: Path, name: str, capsys,
                                                    monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for argv, env in ((["-o", str(tmp_path / name)], None), ([], str(tmp_path / name))):
        if env is None:
            monkeypatch.delenv("OUTPUT", raising=False)
        else:
            monkeypatch.setenv("OUTPUT", env)
        done = main_in_process([*argv, "1", "1", "1"], capsys, monkeypatch)
        refused(done, "expected a path without control characters (newline, tab, ...)")
        assert repr(str(tmp_path / name)) in done.stderr
        assert list(tmp_path.iterdir()) == []


def test_a_cfg_path_with_a_newline_is_named_on_one_line(tmp_path: Path, capsys,
                                                        monkeypatch) -> None:
    done = main_in_process(["-c", str(tmp_path / "a\nb.json"), "-o", str(tmp_path / "out")],
                           capsys, monkeypatch)
    refused(done, "a\\nb.json: cannot read it")
    assert not (tmp_path / "out").exists()


def python_without_packages(folder: Path) -> Path:
    """This Python, but blind to its site-packages (-S): no skopt, no numpy."""
    wrapper = folder / "bare-python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.parametrize("python, says", [
    ("/bin/false", "PYTHON=/bin/false: does not run as Python (exit code 1)"),
    ("/no/such/python", "PYTHON=/no/such/python: no such program"),
    ("/bin/echo", "PYTHON=/bin/echo: does not run as Python (exit code 0"),
    ("bare", "has no module skopt, sklearn, numpy, matplotlib (install: "),
])
def test_a_python_that_will_not_do_is_one_line(tmp_path: Path, python: str, says: str) -> None:
    if python == "bare":
        python = str(python_without_packages(tmp_path))
    done = run_main(["-o", str(tmp_path / "out"), "1", "1", "1"], env={"PYTHON": python})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith(f"main.sh: error: PYTHON={python}: ") and says in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_range_type_int_takes_whole_reals_and_real_takes_integers() -> None:
    space = Problem({"a": {"low": 1.0, "high": 6.0, "type": "int"},
                     "b": {"low": 1, "high": 6, "type": "real"},
                     "c": {"low": 1, "high": 6}, "d": {"low": 1.0, "high": 6.0}}).space
    kinds = [(type(d), d.low, d.high) for d in space.dimensions]
    assert kinds == [(Integer, 1, 6), (Real, 1.0, 6.0), (Integer, 1, 6), (Real, 1.0, 6.0)]
    assert all(type(d.low) is int for d in space.dimensions if isinstance(d, Integer))


def test_a_typed_int_range_hands_tasks_integers(tmp_path: Path) -> None:
    """`{"low": 1.0, "high": 6.0, "type": "int"}`: tasks see 3, never 4.63 (issue 13)."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"problem": {"n": {"low": 1.0, "high": 6.0, "type": "int"},
                                           "x": {"low": 0.0, "high": 1.0}}}))
    done = run_main(["-c", str(cfg), "-o", str(tmp_path / "out"), "1", "3", "3"],
                    via="main.py", env={"TASK_DELAY": "0"})
    assert done.returncode == 0, done.stderr
    values = [row["n"] for row in read_results(tmp_path / "out")]
    assert len(values) == 3 and all(v.isdigit() and 1 <= int(v) <= 6 for v in values), values


def test_output_with_unusual_but_printable_characters_is_fine(tmp_path: Path) -> None:
    output = tmp_path / "é 中\u00a0x"
    done = run_main(["-o", str(output), "1", "1", "1"], via="main.py", env={"TASK_DELAY": "0"})
    assert done.returncode == 0, done.stderr
    assert (output / "results.csv").exists()
