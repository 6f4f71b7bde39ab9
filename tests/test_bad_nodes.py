# TEST BAD NODES
# A node whose tasks keep failing at once is quarantined and the points that
# failed on it run again elsewhere (BadNodes.py, Workflow). The policy and
# the pool on their own, then the search on the real 2-node Slurm cluster
# with one broken node: a stand-in, the job step itself fails on vm-2.

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BUNDLE, read_results, write_cfg, write_script

from BadNodes import BadNodes
from Launcher import Packing, SeatPool


def test_two_failures_at_once_in_a_row_quarantine_a_host() -> None:
    bad = BadNodes(failures=2, seconds=60)
    assert bad.at_once(3) and not bad.at_once(61)
    assert bad.failed_at_once(["n3"], usable=8, needed=1) == []
    assert bad.failed_at_once(["n3"], usable=8, needed=1) == ["n3"]
    assert bad.summary() == "quarantined: n3 (2 failures at once)"


def test_any_other_ending_clears_a_hosts_strikes() -> None:
    bad = BadNodes(failures=2, seconds=60)
    bad.failed_at_once(["n3"], usable=8, needed=1)
    bad.cleared(["n3"])  # an ok task on n3: not a bad node
    assert bad.failed_at_once(["n3"], usable=8, needed=1) == []
    assert not bad.quarantined


def test_failures_on_many_hosts_at_once_quarantine_none() -> None:
    """A broken script fails everywhere: that is for max_failures, not for quarantine."""
    bad = BadNodes(failures=2, seconds=60)
    for host in ["n1", "n2", "n3", "n1", "n2", "n3"]:
        assert bad.failed_at_once([host], usable=8, needed=1) == []
    assert not bad.quarantined


def test_the_hosts_a_task_needs_are_never_quarantined() -> None:
    bad = BadNodes(failures=1, seconds=60)
    assert bad.failed_at_once(["n1", "n2"], usable=3, needed=2) == ["n1"]
    assert BadNodes(failures=1, seconds=60).failed_at_once(["n1"], usable=1, needed=1) == []


def test_off_with_zero_failures() -> None:
    assert not BadNodes(failures=0, seconds=60).at_once(0.1)


def test_the_pool_places_a_second_try_off_its_first_hosts() -> None:
    pool = SeatPool(["n1", "n2", "n3"], "test", Packing())
    assert pool.acquire(1, avoid={"n1"}).hosts == ["n2"]
    assert pool.room(1) == 2
    first = pool.acquire(1)
    assert first.hosts == ["n1"]  # the pool's order is kept for the others
    assert pool.acquire(1, avoid={"n3"}) is None  # only n3 is free
    assert pool.room(1) == 1


def test_a_quarantined_host_takes_no_more_tasks() -> None:
    pool = SeatPool(["n1", "n2", "n3"], "test", Packing())
    held = pool.acquire(1)
    pool.quarantine("n1")
    assert pool.usable == 2 and pool.room(1) == 2
    assert pool.others(["n1", "n2"]) == 1  # n1 is out already: only n3 is elsewhere
    pool.release(held)  # its running task ends: the seat does not come back
    assert [pool.acquire(1).hosts, pool.acquire(1).hosts] == [["n2"], ["n3"]]
    assert pool.room(1) == 0


def slurm_ready() -> bool:
    if not shutil.which("salloc"):
        return False
    done = subprocess.run(["sinfo", "-h", "-o", "%D"], capture_output=True, text=True,
                          check=False)
    return done.returncode == 0 and done.stdout.strip() not in ("", "1")


# the broken-node stand-in: a job step on vm-2 fails at once, as on a node with a dead GPU
STEP = r'''
$LAUNCH bash -c 'case " $BROKEN " in *" $SLURMD_NODENAME "*) exit 1;; esac' ||
  { echo "step failed on $TASK_HOSTS"; exit 1; }
sleep 0.5
echo 1 > "$TASK_RESULT"
'''


def run_on_slurm(tmp_path: Path, broken: str,
                 points_max: int) -> tuple[subprocess.CompletedProcess, Path]:
    script = write_script(tmp_path, f"export BROKEN='{broken}'\n" + STEP)
    cfg = write_cfg(tmp_path, {"script": str(script), "machine": "slurm",
                               "problem": {"x": {"low": 0.0, "high": 1.0}}})
    output = tmp_path / "out"
    done = subprocess.run(["salloc", "-N2", "--exclusive", "-t", "5",
                           str(BUNDLE / "main.sh"), "-c", str(cfg), "-o", str(output),
                           "1", "2", str(points_max)],
                          capture_output=True, text=True, timeout=300, check=False)
    return done, output


@pytest.mark.skipif(not slurm_ready(), reason="no 2-node Slurm cluster (tests/slurm-start.sh)")
def test_one_broken_node_does_not_end_the_search(tmp_path: Path) -> None:
    """max_failures 0, one broken node of two: vm-2 is quarantined after two failures at
    once, every point that failed on it runs again on vm-1, and the search succeeds."""
    done, output = run_on_slurm(tmp_path, "vm-2", points_max=6)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text[-4000:]
    assert "node vm-2 quarantined: 2 task(s) in a row failed on it" in text
    assert "bad nodes: 2 point(s) that failed at once were tried again elsewhere; " \
        "quarantined: vm-2 (2 failures at once)" in text
    rows = read_results(output)
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(ok) == 6 and len(failed) == 2
    assert {r["x"] for r in failed} <= {r["x"] for r in ok}  # each ran again, and ended ok
    assert all("failed at once on vm-2: tried again elsewhere" in r["reason"] for r in failed)


@pytest.mark.skipif(not slurm_ready(), reason="no 2-node Slurm cluster (tests/slurm-start.sh)")
def test_a_point_that_fails_everywhere_still_fails(tmp_path: Path) -> None:
    """Every step fails (a broken script, not a node): the points tried again fail again,
    those failures count, and max_failures 0 ends the search."""
    done, output = run_on_slurm(tmp_path, "vm-1 vm-2", points_max=4)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text[-4000:]
    assert "Workflow failed!" in text
    rows = read_results(output)
    assert {r["status"] for r in rows} == {"failed"}
    tried = [r for r in rows if "tried again elsewhere" in r["reason"]]
    assert tried
    for first in tried:  # its second try, if it ran, failed as well, and was counted
        again = [r for r in rows if r["x"] == first["x"] and r["id"] != first["id"]]
        assert all("tried again" not in r["reason"] for r in again)


class NoNewPoints:
    """A search with no point to give: the loop only places second tries here."""

    def take(self, k: int) -> list:
        raise AssertionError("only the second try was to be launched")


def test_a_second_try_takes_its_first_host_when_no_other_is_left(tmp_path: Path) -> None:
    """A point waits to run again off h1, then h2 is quarantined: it must run on h1 (the
    only host left) rather than wait for ever."""
    from Config import Config
    from Issues import Retry
    from Launcher import MpiexecLauncher
    from Problem import Problem
    from Results import open_journals
    from Workflow import Plan, Workflow

    nodefile = tmp_path / "nodefile"
    nodefile.write_text("h1\nh2\n")
    launcher = MpiexecLauncher(environ={"PBS_NODEFILE": str(nodefile)})
    launcher.pool.quarantine("h2")
    script = write_script(tmp_path, 'echo 1 > "$TASK_RESULT"')
    config = Config(script=str(script), problem=Problem({"x": {"low": 0.0, "high": 1.0}}))
    output = tmp_path / "out"
    output.mkdir()
    plan = Plan(parallelism=1, concurrency=2, points_max=2, output=str(output))
    journals = open_journals(str(output), config.problem.names, [])
    workflow = Workflow(config, plan, NoNewPoints(), launcher, {"PATH": "/usr/bin:/bin"},
                        journals)
    workflow.issuer.retries.append(Retry([0.5], ("h1",)))
    workflow._launch()
    try:
        [task] = list(workflow.running)
        assert task.placement.hosts == ["h1"] and task.first_hosts == ("h1",)
        assert not workflow.issuer.retries
    finally:
        for task in workflow.running:
            task.process.wait(timeout=60)
        journals.close()
