# HEAP PY
# The driver's garbage collector while the search loop runs. Start-up
# leaves about 100,000 objects that live as long as the driver (numpy,
# scipy, scikit-learn, skopt, the search): a full collection walked them
# all, 139-280 ms on the shared 2-core machine, and the loop stood still
# for it 1-4 times a run of 1,500-3,000 tasks (issue 22: the replacement
# latency's p99). They are collected once and frozen (gc.freeze) as the
# loop starts, so that a collection walks only what the run makes; they
# are thawed when it ends. Called by Workflow.run, on the loop's thread,
# before the first task of the run starts.

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def start_up_frozen() -> Iterator[None]:
    """Collect once, then keep the objects alive now out of every collection in the block.

    A caller that froze the heap already keeps it so (nothing is thawed here then).
    """
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
