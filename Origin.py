# ORIGIN PY
# The one vocabulary of where a task's point came from: started.csv's
# `origin` column. The Proposer says random or model for each point it
# hands out; the loop says again (a point an earlier run lost, issued on
# resume) and elsewhere (a point that failed at once on some hosts, tried
# once more on others: BadNodes.py). Every file asks this one.

from enum import StrEnum


class Origin(StrEnum):
    """Where a point came from (started.csv's `origin`)."""

    RANDOM = "random"  # drawn at random (the initial design, or a bridge while a fit runs)
    MODEL = "model"  # chosen by the surrogate model
    AGAIN = "again"  # issued again: its task was lost by an earlier run (resume)
    ELSEWHERE = "elsewhere"  # failed at once on its hosts: tried once more on others
