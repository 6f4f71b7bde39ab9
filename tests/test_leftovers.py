# TEST LEFTOVERS PY
# Processes a task puts in another session (`setsid cmd &`, a double-fork
# daemon) never outlive their task: the driver, their subreaper, stops them
# when the task ends, and by the end of the run at the latest; orphans that
# exit on their own leave no zombie behind.

from pathlib import Path

from conftest import read_results, run_task, write_script
from test_signals import alive

# Task 0 leaves a setsid'd sleep and a double-forked daemon behind (its own
# session, its parent gone) and succeeds. Task 1 (started only after task
# 0 has ended, concurrency 1) succeeds only if they are gone by then.
LEAVING_TASK = """
if [ "$TASK_ID" = 0 ]; then
  setsid sleep 300 > /dev/null 2>&1 < /dev/null &
  echo "$!" >> "$OUTPUT/pids"
  ( setsid sh -c 'echo "$$" >> "$OUTPUT/pids"; exec sleep 301' > /dev/null 2>&1 < /dev/null & )
  until [ "$(wc -l < "$OUTPUT/pids")" -ge 2 ]; do sleep 0.01; done
  echo 1 > "$TASK_RESULT"
  exit 0
fi
for pid in $(cat "$OUTPUT/pids"); do
  for _ in $(seq 500); do  # a zombie (state Z) is as good as gone: its reaper is the driver
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || true
    case "$state" in ""|Z|X) break ;; esac
    sleep 0.01
  done
  case "$state" in ""|Z|X) ;; *) echo "task 0 left $pid behind (state $state)"; exit 5 ;; esac
done
echo 2 > "$TASK_RESULT"
"""


def test_processes_in_another_session_are_stopped_when_their_task_ends(tmp_path: Path) -> None:
    script = write_script(tmp_path, LEAVING_TASK)
    done, out = run_task(tmp_path, script, 2)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["status"] for r in read_results(out)] == ["ok", "ok"]
    pids = [int(p) for p in (out / "pids").read_text().split()]
    assert len(pids) == 2
    assert not any(alive(p) for p in pids)
    assert not any(Path(f"/proc/{p}").exists() for p in pids), "a zombie was left unreaped"


# Every task leaves a daemon behind and ends at once: the end-of-run sweep
# must leave none of them running.
DAEMON_TASK = """
( setsid sh -c 'echo "$$" >> "$OUTPUT/pids"; exec sleep 302' > /dev/null 2>&1 < /dev/null & )
until grep -q . "$OUTPUT/pids" 2>/dev/null; do sleep 0.01; done
echo 1 > "$TASK_RESULT"
"""


def test_no_task_process_outlives_the_run(tmp_path: Path) -> None:
    script = write_script(tmp_path, DAEMON_TASK)
    done, out = run_task(tmp_path, script, 6, concurrency=3)
    assert done.returncode == 0, done.stdout + done.stderr
    pids = [int(p) for p in (out / "pids").read_text().split()]
    assert pids and not any(alive(p) for p in pids), pids
