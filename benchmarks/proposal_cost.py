# PROPOSAL COST PY
# Benchmark: what one proposal costs as the results grow, with no tasks
# (the CPU the fitting process spends per fit, and what the driver spends
# per fit under the Proposer's lock). The default search (GP, LCB), 6
# dimensions, told N random results, with 1,023 points pending (1,024
# slots); Search.propose(snapshot, k) CPU at each N (median of the repeats;
# the first proposal transforms every result and is shown apart), and a
# 1,000-point batch after one fit (a burst of exits at 1,024 slots). The driver's side:
# the snapshot copied under the lock and pickled to the fitting process,
# whole (before issue 22's Proposer.Held) and since the results the
# fitting process holds (4 new ones).
#   python3 benchmarks/proposal_cost.py [--results 500 2000 5000 10000] [--k 4] ...

import argparse
import os
import pickle
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, banner, seeded_search, space6, table

from Search import Search

QUICK_ARGS = ["--results", "20", "40", "--pending", "8", "--repeats", "2",
              "--batch", "20", "--batch-results", "20", "--batch-pending", "8"]
NEW_RESULTS = 4  # results told between two fits (the since-snapshot carries these)


def with_pending(results: int, pending: int, seed: int = 1) -> Search:
    """seeded_search(space6(), results) with `pending` random points pending."""
    search = seeded_search(space6(), results)
    rng = np.random.RandomState(seed)
    search.register([list(map(float, x)) for x in rng.rand(pending, 6)])
    return search


def propose_ms(search: Search, k: int) -> float:
    """CPU ms of one `search.propose(search.snapshot(), k)` (on one BLAS thread)."""
    snap = search.snapshot()
    began = time.process_time()
    search.propose(snap, k)
    return 1000 * (time.process_time() - began)


def driver_ms(search: Search, since: int, repeats: int) -> tuple[float, int]:
    """Median CPU ms of one snapshot under the lock plus its pickle, and the pickle's bytes."""
    costs, size = [], 0
    for _ in range(repeats):
        began = time.process_time()
        size = len(pickle.dumps((search.snapshot(since=since), 4), pickle.HIGHEST_PROTOCOL))
        costs.append(1000 * (time.process_time() - began))
    return statistics.median(costs), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, nargs="+", default=[500, 2000, 5000, 10000],
                        help="results told before proposing (default 500 2000 5000 10000)")
    parser.add_argument("--pending", type=int, default=1023,
                        help="points pending, as at 1,024 slots (default 1023)")
    parser.add_argument("--k", type=int, default=4, help="points per proposal (default 4)")
    parser.add_argument("--repeats", type=int, default=9,
                        help="proposals per setting, median shown (default 9)")
    parser.add_argument("--batch", type=int, default=1000,
                        help="points of the one large batch (default 1000)")
    parser.add_argument("--batch-results", type=int, default=400,
                        help="results before the large batch (default 400)")
    parser.add_argument("--batch-pending", type=int, default=1000,
                        help="points pending before the large batch (default 1000)")
    args = parser.parse_args(QUICK_ARGS + sys.argv[1:] if QUICK else None)
    banner("proposal_cost: CPU of one proposal by results, 6-D, GP + LCB, "
           f"{args.pending} pending")
    rows = []
    for results in args.results:
        search = with_pending(results, args.pending)
        first = propose_ms(search, args.k)
        costs = [propose_ms(search, args.k) for _ in range(args.repeats)]
        whole, whole_bytes = driver_ms(search, 0, args.repeats)
        since, since_bytes = driver_ms(search, results - NEW_RESULTS, args.repeats)
        rows.append([f"{results:,}", f"{statistics.median(costs):.1f}", f"{max(costs):.1f}",
                     f"{first:.1f}", f"{whole:.2f} ({whole_bytes // 1024} KiB)",
                     f"{since:.2f} ({since_bytes // 1024} KiB)"])
        print(f"  {results:,} results done", flush=True)
    print()
    print(table(["results", f"propose k={args.k}: CPU ms median", "max", "first",
                 "driver per fit: whole snapshot + pickle ms",
                 f"since the fitter's results (+{NEW_RESULTS}) ms"], rows))
    search = with_pending(args.batch_results, args.batch_pending)
    propose_ms(search, args.k)  # the first fit (kernel from scratch), as the loop's is
    batch = propose_ms(search, args.batch)
    print()
    print(f"a {args.batch:,}-point batch at {args.batch_results:,} results and "
          f"{args.batch_pending:,} pending: {batch / 1000:.2f} s of CPU")
    print("CPU: time.process_time of this process around Search.propose (the fitting "
          "process's work per fit); 'first' transforms every result, later ones only the "
          "new (Acquisition.GPProposal); driver per fit: Search.snapshot under the "
          "Proposer's lock plus its pickle to the fitting process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
