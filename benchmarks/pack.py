# PACK PY
# Benchmark: the GPUs of a Polaris-shaped allocation kept busy. The
# product's loop, Search and Proposer run real sleep tasks (20-40 s) on a
# PBS allocation of NODES stand-in hosts (a PBS_NODEFILE; the launcher's
# line is built for each task, as on Polaris, but the task runs here), with
# machine polaris: single-GPU tasks packed 4 per node, and whole-node tasks
# (tasks_per_node 1) that use one GPU of the four they hold.
#   device utilization = GPU-seconds used by tasks (each uses one GPU, by
#     its own clock) / (NODES x 4 GPUs x the time until the last task was
#     issued): the drain at the end idles devices for any driver
#   device conflicts   = tasks that began on a (host, CUDA_VISIBLE_DEVICES)
#     another task still held: must be 0
#   latency            = a task's own last timestamp -> its successor spawned
#     in its slot (as benchmarks/scale.py)
#   loop CPU / task    = the driver's CPU (its loop, not the model fits) per
#     task; pool us / replacement = release + acquire + launch line of one
#     slot, alone, at each size: both must stay flat as the slots grow
#   The 4,096-slot run is for the CPU columns: on 2 cores its 4,096 first
#   spawns take a good part of its 2 rounds, which its utilization shows.
#   model chose / staleness: as benchmarks/scale.py; --hogs N runs N busy
#     processes beside the driver (on a GPU machine it shares its node)
#   python3 benchmarks/pack.py [--runs 128x4x4096 128x1x512 1024x4x8192] [--sleep 20-40]
#       [--hogs N]

import argparse
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
    cpu_seconds,
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

from Launcher import choose_launcher
from Machines import MACHINES

MACHINE = MACHINES["polaris"]
GPUS = MACHINE.gpus_per_node


def parse_run(text: str) -> tuple[int, int, int]:
    """NODESxTASKS_PER_NODExTASKS, e.g. 128x4x2048."""
    try:
        nodes, per, tasks = (int(x) for x in text.split("x"))
        return nodes, per, tasks
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NODESxTASKS_PER_NODExTASKS, got {text!r}")


def polaris_launcher(folder: str, nodes: int, per: int):
    """The launcher of a PBS job on `nodes` Polaris nodes, `per` tasks on each."""
    nodefile = os.path.join(folder, f"nodefile-{nodes}")
    with open(nodefile, "w") as stream:
        stream.writelines(f"x{3000 + n // 64}c0s{n % 64 // 8}b0n{n % 8}\n" for n in range(nodes))
    environ = {"PBS_JOBID": "1.polaris-pbs", "PBS_NODEFILE": nodefile}
    return choose_launcher("mpiexec", [], 1, environ, lambda _: "/usr/bin/mpiexec",
                           machine=MACHINE, tasks_per_node=per, cpu_count=None)


def conflicts(tasks: list[dict]) -> int:
    """Tasks that began on a (host, device) an earlier task still held (packed runs)."""
    by_device: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for task in tasks:
        if task.get("devices", "-") != "-":
            by_device.setdefault((task["hosts"], task["devices"]), []).append(
                (task["t0"], task["t1"]))
    found = 0
    for spans in by_device.values():
        spans.sort()
        busy_until = -1.0
        for start, end in spans:
            found += start < busy_until  # began while an earlier task held the device
            busy_until = max(busy_until, end)
    return found


def pool_cost(nodes: int, per: int, cycles: int) -> float:
    """Microseconds of release + acquire + launch line of one slot, the pool full."""
    with tempfile.TemporaryDirectory() as folder:
        launcher = polaris_launcher(folder, nodes, per)
        held = [launcher.acquire(1) for _ in range(nodes * per)]
        began = cpu_seconds()
        for n in range(cycles):
            launcher.release(held[n % len(held)])
            held[n % len(held)] = slot = launcher.acquire(1)
            launcher.launch(1, slot)
        return 1e6 * (cpu_seconds() - began) / cycles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", nargs="+", type=parse_run,
                        default=[parse_run("128x4x4096"), parse_run("128x1x512"),
                                 parse_run("1024x4x8192")],
                        help="NODESxTASKS_PER_NODExTASKS (default 128x4x4096 128x1x512 "
                             "1024x4x8192)")
    parser.add_argument("--sleep", default="20-40", help="task seconds MIN-MAX (20-40)")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    parser.add_argument("--hogs", type=int, default=0,
                        help="busy processes beside the driver during each run (default 0)")
    args = parser.parse_args(["--runs", "2x4x16", "2x1x4", "--sleep", "0.1-0.3"]
                             + sys.argv[1:] if QUICK else None)
    low, high = (float(x) for x in args.sleep.split("-"))
    banner("pack: GPU utilization on a Polaris-shaped allocation (machine polaris, "
           f"real sleep tasks, the product's loop, Search and Proposer), {args.hogs} CPU "
           "hog(s) beside the driver")
    root = tempfile.mkdtemp(prefix="async-local-pack-")
    rows = []
    for nodes, per, count in args.runs:
        name = f"{nodes} nodes x {per} per node"
        out = os.path.join(root, f"{nodes}x{per}x{count}")
        slots = nodes * per
        print(f"running {count} tasks of {low:g}-{high:g} s on {name} ({slots} at a time) ...",
              flush=True)
        launcher = polaris_launcher(root, nodes, per)
        with cpu_hogs(args.hogs):
            stats = run_loop(proposer_factory(seeded_search(space6(), 0)), space6(), slots,
                             count, out, (low, high), out + ".log", launcher)
        tasks = read_tasks(out)
        last_issue = max(t["start"] for t in tasks)
        used = sum(max(0.0, min(t["t1"], last_issue) - max(t["t0"], stats["began"]))
                   for t in tasks)
        utilization = used / (nodes * GPUS * (last_issue - stats["began"]))
        to_spawn, _ = replacements(tasks)
        rows.append([name, slots, len(tasks), f"{utilization:.4f}", conflicts(tasks),
                     f"{ms(to_spawn, 50)} / {ms(to_spawn, 99)}",
                     f"{1000 * stats['loop_cpu'] / len(tasks):.2f}",
                     f"{pool_cost(nodes, per, 20000 if QUICK else 200000):.1f}",
                     f"{stats['wall']:.0f}", f"{max_rss_mib():.0f}", *share_columns(stats)])
    print()
    print(table(["allocation", "slots", "tasks", "device utilization", "device conflicts",
                 "latency p50 / p99 ms", "loop CPU ms/task", "pool us/replacement", "wall s",
                 "driver RSS MiB", *SHARE_HEADER], rows))
    print("device utilization: GPU-seconds used (one GPU per task) / (nodes x 4 GPUs x time "
          "until the last task was issued); whole-node tasks hold 4 GPUs and use 1")
    print("latency: a task's own last timestamp -> its successor spawned in the same slot")
    print(SHARE_NOTE)
    clean_up(root, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
