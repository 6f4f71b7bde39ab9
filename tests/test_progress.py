# TEST PROGRESS PY
# Progress.py on real files: explicit PROGRESS lines and progress_pattern
# matches, read a piece at a time (lines torn across reads), only new
# bytes read, long lines skipped within a bounded buffer, FIFOs never
# block, bad patterns named.

import os
from pathlib import Path

import pytest

import Progress
from Progress import ProgressReader, compile_pattern

KERAS = r"val_loss: ([-+0-9.eE]+|nan|inf)"


def append(path: Path, text: str) -> None:
    with open(path, "a") as stream:
        stream.write(text)


def test_explicit_lines_and_pattern_matches_read_as_they_come(tmp_path: Path, capsys) -> None:
    out = tmp_path / "0000.txt"
    out.write_text("TASK: 1\n")
    reader = ProgressReader(KERAS)
    reader.watch(0, str(out))
    assert reader.read(0) == []
    append(out, "Epoch 1/3 - loss: 0.9 - val_loss: 0.8\nEpoch 2/3 - loss: 0.7 - val_lo")
    assert reader.read(0) == [(1, 0.8)]
    append(out, "ss: 0.6\n")  # the line's other half
    assert reader.read(0) == [(2, 0.6)]
    append(out, "PROGRESS 7 0.5\nval_loss: 0.4\n")  # both kinds: the first kind is kept
    assert reader.read(0) == [(3, 0.4)]  # a match is the step after the last one
    assert capsys.readouterr().err == (
        "warning: progress: task 0000 prints both PROGRESS lines and lines that match "
        "progress_pattern: its progress_pattern matches are used, its PROGRESS lines ignored "
        "(so for any task that prints both; said once)\n")
    append(out, "val_loss: nan\nval_loss: 0.3\nPROGRESS 9 0.1\n")
    assert reader.read(0) == [(5, 0.3)]  # a diverged epoch still counts as a step
    other = tmp_path / "0001.txt"
    other.write_text("PROGRESS 1 0.9\nval_loss: 0.8\nPROGRESS 2 0.7\n")
    reader.watch(1, str(other))
    assert reader.read(1) == [(1, 0.9), (2, 0.7)]  # PROGRESS first: the pattern's ignored
    assert capsys.readouterr().err == ""  # said once
    reader.close()


def test_keras_progress_bars_redrawn_after_carriage_returns(tmp_path: Path) -> None:
    """Keras redraws its bar with \\b and \\r, the val_loss at the end of the epoch."""
    out = tmp_path / "0005.txt"
    bar = "".join(f"\r{n:4d}/2000 [====>....] - ETA: 3s - loss: 0.{n:04d}" + "\b" * 60
                  for n in range(0, 2000, 2))
    assert len(bar) > Progress.LINE_CAP  # one "line" by newlines alone: too long to keep
    out.write_text("Epoch 1/2\n" + bar + "\r2000/2000 [====] - 9s - loss: 0.2 - val_loss: 0.25\n"
                   "Epoch 2/2\n" + bar + "\r2000/2000 [====] - 9s - loss: 0.1 - val_loss: 0.125\n")
    reader = ProgressReader(KERAS)
    reader.watch(5, str(out))
    assert reader.read(5) == [(1, 0.25), (2, 0.125)]
    reader.close()


def test_steps_must_grow_values_must_be_finite(tmp_path: Path) -> None:
    out = tmp_path / "0001.txt"
    out.write_text("PROGRESS 0 2.0\nPROGRESS 2 1.5\nPROGRESS 2 1.0\nPROGRESS 1 0.1\n"
                   "PROGRESS 3 nan\nPROGRESS 4 inf\nPROGRESS x 1\nPROGRESS 5 0.9 extra\n"
                   "PROGRESS 6 0.8\r\n0: PROGRESS 7 0.1\n[0] PROGRESS 8 0.05\nXPROGRESS 9 0\n"
                   "PROGRESS 10 0.7")
    reader = ProgressReader()  # no pattern: explicit lines only
    reader.watch(1, str(out))
    assert reader.read(1) == [(0, 2.0), (2, 1.5), (6, 0.8), (7, 0.1), (8, 0.05)]  # 3, 4: nan, inf
    assert reader.unwatch(1) == [(10, 0.7)]  # the last line counts once the task ended
    assert reader.watches == {}


def test_only_new_bytes_are_read_and_only_files_that_grew(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    reader = ProgressReader()
    paths = []
    for task_id in range(3):
        path = tmp_path / f"{task_id:04d}.txt"
        path.write_text("x" * 1000 + "\nPROGRESS 1 0.5\n")
        reader.watch(task_id, str(path))
        paths.append(path)
    reads: list[tuple[int, int]] = []
    real_pread = os.pread

    def counting_pread(fd: int, size: int, offset: int) -> bytes:
        data = real_pread(fd, size, offset)
        reads.append((offset, len(data)))
        return data

    monkeypatch.setattr(os, "pread", counting_pread)
    assert sorted(reader.read_grown()) == [(0, 1, 0.5), (1, 1, 0.5), (2, 1, 0.5)]
    first = sum(n for _, n in reads)
    assert first == 3 * 1016
    reads.clear()
    assert reader.read_grown() == []
    assert reads == []  # nothing grew: nothing read
    append(paths[1], "PROGRESS 2 0.25\n")
    assert reader.read_grown() == [(1, 2, 0.25)]
    assert sum(n for _, n in reads) == len("PROGRESS 2 0.25\n")
    assert all(offset >= 1016 for offset, _ in reads)  # never from the start again
    reader.close()


def test_a_long_line_is_skipped_and_the_buffer_stays_bounded(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(Progress, "LINE_CAP", 100)
    out = tmp_path / "0002.txt"
    out.write_text("")
    reader = ProgressReader()
    reader.watch(2, str(out))
    for _ in range(50):  # a 5,000-byte line arrives in pieces
        append(out, "PROGRESS 1 " + "9" * 89)
        assert reader.read(2) == []
        assert len(reader.watches[2].partial) <= 100
    append(out, "\nPROGRESS 2 0.5\n")
    assert reader.read(2) == [(2, 0.5)]
    append(out, "PROGRESS 3 " + "1" * 200 + "\nPROGRESS 4 0.25\n")  # long within one read
    assert reader.read(2) == [(4, 0.25)]
    reader.close()


def test_a_fifo_never_blocks_and_is_not_followed(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "0003.txt"
    os.mkfifo(fifo)
    reader = ProgressReader()
    reader.watch(3, str(fifo))  # would block forever without O_NONBLOCK
    assert 3 not in reader.watches
    assert reader.read(3) == [] and reader.read_grown() == [] and reader.unwatch(3) == []
    reader.watch(4, str(tmp_path / "missing.txt"))
    assert 4 not in reader.watches


@pytest.mark.parametrize("text, why", [
    ("val_loss: [0-9.]+", "exactly one group"),
    ("(a)(b)", "exactly one group"),
    ("val_loss: ([0-9.]+", "does not compile"),
])
def test_bad_patterns_say_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        compile_pattern(text)


def test_a_pattern_with_one_optional_group_that_does_not_take_part() -> None:
    assert compile_pattern(r"loss(?:: ([0-9.]+))?").groups == 1
