# TEST PACKING
# Tasks smaller than a node, with real task processes on this host
# (machine local): tasks_per_node slots, each with its own devices
# (CUDA_VISIBLE_DEVICES) and cores, TASK_SLOT and TASK_HOSTS in the
# environment; the allocation check and the bad settings, one line each.

import socket
from pathlib import Path

import pytest
from conftest import meet, read_results, run_main, write_cfg, write_script

# Each task notes its slot, hosts and devices, then waits until the first AT_ONCE run at once.
NOTE_AND_MEET = meet("$TASK_ID $TASK_SLOT ${TASK_HOSTS:-none} ${CUDA_VISIBLE_DEVICES-unset}",
                     '"$AT_ONCE"') + '\necho 1 > "$TASK_RESULT"\n'


def run_packed(tmp_path: Path, concurrency: int, points: int, parallelism: int = 1,
               **cfg: object):
    meet = tmp_path / "meet"
    meet.mkdir()
    script = write_script(tmp_path, f'MEET={str(meet)!r}\nAT_ONCE={min(4, concurrency)}\n'
                          + NOTE_AND_MEET)
    cfg_file = write_cfg(tmp_path, {"script": str(script), "machine": "local", **cfg})
    out = tmp_path / "out"
    result = run_main(["-c", str(cfg_file), "-o", str(out), str(parallelism),
                       str(concurrency), str(points)])
    return result, out, meet


def test_four_tasks_share_a_node_each_with_its_own_device(tmp_path: Path) -> None:
    result, out, meet = run_packed(tmp_path, 4, 8, tasks_per_node=4, gpus_per_node=4)
    assert result.returncode == 0, result.stderr
    notes = {}
    for path in meet.iterdir():
        task_id, slot, hosts, devices = path.read_text().split()
        notes[int(task_id)] = (int(slot), hosts, devices)
    assert len(notes) == 8
    assert {hosts for _, hosts, _ in notes.values()} == {socket.gethostname()}
    assert {d for _, _, d in notes.values()} <= {"0", "1", "2", "3"}
    rows = {int(r["id"]): r for r in read_results(out)}
    # any two tasks that ran at the same time held different devices and slots
    for a in notes:
        for b in notes:
            if a < b and float(rows[a]["start"]) < float(rows[b]["end"]) and \
                    float(rows[b]["start"]) < float(rows[a]["end"]):
                assert notes[a][2] != notes[b][2]
                assert notes[a][0] != notes[b][0]
    first = sorted(notes)[:4]  # met at the barrier: all four devices at once
    assert sorted(notes[i][2] for i in first) == ["0", "1", "2", "3"]
    assert sorted(int(r["slot"]) for r in rows.values() if int(r["id"]) in first) == \
        [int(notes[i][0]) for i in sorted(first, key=lambda i: notes[i][0])]


def test_the_log_first_names_the_machine(tmp_path: Path) -> None:
    result, _, _ = run_packed(tmp_path, 1, 4, tasks_per_node=1)
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert lines[0] == "machine: local (requested (machine: local))"


def test_whole_nodes_get_no_device_variable(tmp_path: Path) -> None:
    result, _, meet = run_packed(tmp_path, 4, 4)
    assert result.returncode == 0, result.stderr
    assert {p.read_text().split()[3] for p in meet.iterdir()} == {"unset"}


@pytest.mark.parametrize("parallelism,concurrency,cfg,message", [
    (2, 1, {"tasks_per_node": 2}, "launcher: tasks_per_node 2 needs PARALLELISM 1, got 2"),
    (1, 5, {"tasks_per_node": 4},
     ("launcher: CONCURRENCY 5 needs 2 nodes at tasks_per_node 4 but this host has 1 "
      "(NODES x tasks_per_node = 4)")),
    (1, 2, {"tasks_per_node": 2, "gpus_per_node": 3},
     "launcher: gpus_per_node 3 does not divide among tasks_per_node 2"),
    (1, 1, {"tasks_per_node": 0},
     "cfg key 'tasks_per_node': expected a value >= 1, got 0"),
    (1, 1, {"gpus_per_node": -1},
     "cfg key 'gpus_per_node': expected a value >= 0, got -1"),
    (1, 1, {"machine": "summit"}, "cfg key 'machine': expected one of"),
])
def test_bad_packing_is_one_line(tmp_path: Path, parallelism: int, concurrency: int,
                                 cfg: dict, message: str) -> None:
    result, out, meet = run_packed(tmp_path, concurrency, concurrency, parallelism, **cfg)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not any(meet.iterdir())
