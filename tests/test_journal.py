# TEST JOURNAL
# The one reader of the journals (Results.parse_journal) and the Journal
# writer on an existing file: a torn last record is set apart wherever the
# crash cut it (inside a quoted value too), a line that does not parse is
# named and never hides the rows after it, and a file with another header
# is refused before anything is written; the Syncer fsyncs what it is asked
# to on its own thread and keeps the first failure for the loop.

import errno
import os
import threading
from pathlib import Path

import pytest

from Results import Journal, JournalError, Syncer, parse_journal, read_journal

HEADER = b"id,status,v\n"


def ids(data: bytes) -> list[str]:
    return [row["id"] for row in parse_journal(data).rows]


def test_plain_rows_and_a_quoted_newline() -> None:
    data = HEADER + b'0,ok,a\n1,ok,"x\ny"\n2,ok,c\n'
    parsed = parse_journal(data)
    assert [r["v"] for r in parsed.rows] == ["a", "x\ny", "c"]
    assert parsed.torn == b"" and parsed.bad_lines == [] and parsed.complete == len(data)


@pytest.mark.parametrize("tail", [b"3,o", b'3,ok,"x\n', b'3,ok,"x\ny', b'3,ok,"x\n\n'])
def test_a_torn_last_record_is_set_apart(tail: bytes) -> None:
    """Cut anywhere, just after a newline inside a quoted value too."""
    good = HEADER + b'0,ok,a\n1,ok,"p\nq"\n'
    parsed = parse_journal(good + tail)
    assert [r["id"] for r in parsed.rows] == ["0", "1"]
    assert parsed.torn == tail and parsed.complete == len(good)
    assert parsed.bad_lines == []


def test_a_stray_quote_hides_no_later_row() -> None:
    data = HEADER + b'0,ok,a\n"1,ok,b\n2,ok,c\n3,ok,"d\ne"\n4,ok,f\n'
    parsed = parse_journal(data)
    assert [r["id"] for r in parsed.rows] == ["0", "2", "3", "4"]
    assert parsed.bad_lines == [3] and parsed.torn == b""


def test_a_stray_quote_on_the_last_line_is_bad_not_torn() -> None:
    data = HEADER + b'0,ok,a\n1,ok,b"\n2,ok,c\n'
    parsed = parse_journal(data)
    assert ids(data) == ["0", "2"] and parsed.bad_lines == [3] and parsed.torn == b""


def test_the_reader_names_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(HEADER + b'0,ok,a\n0,ok\n"2,ok,c\n3,ok,d\n')
    _, rows = read_journal(str(path))
    assert [r["id"] for r in rows] == ["0", "3"]
    err = capsys.readouterr().err
    assert "line(s) 3, 4 do not parse" in err and "the rows after them are read" in err


def test_the_writer_cuts_a_torn_quoted_record_and_appends_on_a_line_of_its_own(
        tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(HEADER + b'0,ok,a\n1,ok,"x\n')
    journal = Journal(str(path), ["id", "status", "v"])
    journal.append([{"id": 2, "status": "ok", "v": "b"}])
    journal.close()
    assert path.read_bytes() == HEADER + b"0,ok,a\n2,ok,b\n"


def test_the_writer_keeps_rows_after_a_stray_quote(tmp_path: Path) -> None:
    data = HEADER + b'0,ok,a\n"1,ok,b\n2,ok,c\n'
    path = tmp_path / "results.csv"
    path.write_bytes(data)
    Journal(str(path), ["id", "status", "v"]).close()
    assert path.read_bytes() == data


def test_the_writer_refuses_another_header(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(HEADER + b"0,ok,a\n")
    with pytest.raises(JournalError, match="has the columns 'id,status,v', this run "
                       "writes 'id,status,w'"):
        Journal(str(path), ["id", "status", "w"])
    assert path.read_bytes() == HEADER + b"0,ok,a\n"


def test_the_reader_reads_a_value_over_the_csv_field_limit(tmp_path: Path) -> None:
    """Every row the writer can write reads back: a categorical value of 200 KB
    (csv's default field limit is 131072 characters)."""
    path = tmp_path / "results.csv"
    journal = Journal(str(path), ["id", "status", "v"])
    big = "c" * 200_000
    journal.append([{"id": 0, "status": "ok", "v": big}])
    journal.close()
    assert read_journal(str(path))[1] == [{"id": "0", "status": "ok", "v": big}]
    Journal(str(path), ["id", "status", "v"]).close()  # reopened for appending


def test_the_syncer_fsyncs_on_its_thread_and_keeps_the_first_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = Journal(str(tmp_path / "good.csv"), ["id"])
    bad = Journal(str(tmp_path / "bad.csv"), ["id"])
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = "bad" if fd == bad._fd else "good"
        synced.append((name, threading.current_thread() is threading.main_thread()))
        if name == "bad":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    syncer = Syncer()
    good.write([{"id": 1}])
    bad.write([{"id": 1}])
    syncer.request([good, bad])
    syncer.request([good])
    syncer.close()  # returns once all it was asked is done
    assert ("good", False) in synced and ("bad", False) in synced
    assert not any(on_loop for _, on_loop in synced)
    failed = syncer.failure()
    assert failed is not None and failed[0] is bad and failed[1].errno == errno.EIO
    assert read_journal(good.path)[1] == [{"id": "1"}]  # written whatever the fsync did
    good.close()
    bad.close()
