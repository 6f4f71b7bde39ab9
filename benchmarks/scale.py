# SCALE PY
# Benchmark 2: utilization of the slots with real sleep tasks, driven by the
# product's loop, Search and Proposer: 1,024 concurrent tasks of 20-40 s
# (6,000 tasks) and 16 concurrent tasks of 1 s (2,000 tasks), 6 dimensions.
# A task's run time is what the task measured itself (first line to last),
# so a late reap or a slow spawn counts as idle. Also: the share of the
# points issued after the initial design that the model chose, and how
# stale they were; --hogs N runs N busy processes beside the driver.
#   python3 benchmarks/scale.py [--runs 1024x6000x20-40 16x2000x1-1] [--hogs N]

import argparse
import heapq
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (
    QUICK,
    SHARE_HEADER,
    SHARE_NOTE,
    banner,
    clean_up,
    cpu_hogs,
    max_rss_mib,
    ms,
    proposer_factory,
    read_tasks,
    replacements,
    run_loop,
    seeded_search,
    share_columns,
    space6,
    table,
)


def parse_run(text: str) -> tuple[int, int, float, float]:
    """CONCURRENCYxTASKSxMIN-MAX (seconds), e.g. 16x2000x1-1."""
    try:
        concurrency, tasks, span = text.split("x")
        low, high = span.split("-")
        return int(concurrency), int(tasks), float(low), float(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CONCURRENCYxTASKSxMIN-MAX, got {text!r}")


def ideal_wall(durations: list[float], concurrency: int) -> float:
    """Wall time of a driver with zero overhead issuing the same tasks in order."""
    free = [0.0] * concurrency
    end = 0.0
    for duration in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + duration)
        end = max(end, start + duration)
    return end


def busy_within(tasks: list[dict], low: float, high: float) -> float:
    """Task-measured run time falling inside [low, high]."""
    return sum(max(0.0, min(t["t1"], high) - max(t["t0"], low)) for t in tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", nargs="+", type=parse_run,
                        default=[parse_run("1024x6000x20-40"), parse_run("16x2000x1-1")],
                        help="CONCURRENCYxTASKSxMIN-MAX seconds "
                             "(default 1024x6000x20-40 16x2000x1-1)")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    parser.add_argument("--hogs", type=int, default=0,
                        help="busy processes beside the driver during each run (default 0)")
    parser.add_argument("--hogs-apart", action="store_true",
                        help="each hog in a session of its own, as the driver's tasks run "
                             "(default: in the driver's session)")
    args = parser.parse_args(["--runs", "4x30x0.1-0.3"] + sys.argv[1:] if QUICK else None)
    banner("scale: slot utilization with real sleep tasks (the product's loop, Search, "
           f"Proposer), {args.hogs} CPU hog(s) beside the driver"
           + (", each in a session of its own" if args.hogs and args.hogs_apart else ""))
    root = tempfile.mkdtemp(prefix="async-local-scale-")
    rows, extra = [], []
    for concurrency, count, low, high in args.runs:
        name = f"{concurrency}x{count}x{low:g}-{high:g}"
        out = os.path.join(root, name)
        print(f"running {count} tasks, {concurrency} at a time, {low:g}-{high:g} s each ...",
              flush=True)
        search = seeded_search(space6(), 0)
        with cpu_hogs(args.hogs, args.hogs_apart):
            stats = run_loop(proposer_factory(search), space6(), concurrency, count, out,
                             (low, high), out + ".log")
        tasks = read_tasks(out)
        busy = sum(t["t1"] - t["t0"] for t in tasks)
        wall = stats["wall"]
        utilization = busy / (concurrency * wall)
        ideal = ideal_wall([t["t1"] - t["t0"] for t in sorted(tasks, key=lambda t: t["id"])],
                           concurrency)
        bound = busy / (concurrency * ideal)
        last_issue = max(t["start"] for t in tasks)
        steady = busy_within(tasks, stats["began"], last_issue) / (
            concurrency * (last_issue - stats["began"]))
        to_spawn, to_run = replacements(tasks)
        rows.append([name, len(tasks), f"{utilization:.4f}", f"{bound:.4f}",
                     f"{utilization / bound:.4f}", f"{steady:.4f}", f"{len(tasks) / wall:.1f}",
                     f"{wall:.1f}", f"{max_rss_mib():.0f}"])
        extra.append([name, ms(to_spawn, 50), ms(to_spawn, 99), ms(to_spawn, 100),
                      f"{ms(to_run, 50)} / {ms(to_run, 99)}",
                      f"{1000 * stats['cpu'] / len(tasks):.1f}",
                      f"{1000 * stats['loop_cpu'] / len(tasks):.2f}",
                      f"{stats['fits']} ({stats['urgent_fits']})", stats["waits"],
                      stats["spared"], *share_columns(stats)])
    print()
    print("utilization = sum of task-measured run times / (concurrency x wall time)")
    print("zero-overhead bound = the same with the wall time of an ideal driver (same tasks, "
          "same order, no gap): the drain at the end, when no task is left to issue, idles "
          "slots for any driver")
    print("steady = utilization from the start until the last task was issued (all slots "
          "should be busy)")
    print(table(["run", "tasks", "utilization", "zero-overhead bound", "ratio", "steady",
                 "tasks/s", "wall s", "driver RSS MiB"], rows))
    print()
    print(table(["run", "latency p50 ms", "p99 ms", "max ms", "to first line p50 / p99 ms",
                 "driver CPU ms/task",
                 "loop CPU ms/task", "fits (urgent)",
                 "waits", "spare", *SHARE_HEADER], extra))
    print("latency: a task's own last timestamp -> its successor spawned (the driver's start, "
          "just before its Popen); to first line: -> the successor's own first timestamp "
          "(its start-up included); driver CPU includes "
          "the model-fitting process, loop CPU does not (the driver's own process: its loop "
          "and the Proposer's thread); urgent fits: those at a fair share of the cores, the "
          "others yield them (FitPriority.py); waits: takes that left slots idle")
    print(SHARE_NOTE)
    clean_up(root, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
