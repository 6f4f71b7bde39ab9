# MODEL SHARE PY
# How many of the points a search issued its model chose, and whether the
# model keeps up with the tasks. The Proposer adds the origins of each take
# (random or model, and whether the search had left its initial random
# design); the summary and the report print line() ("model chose N of M
# points"); lagging(final) says that too few of the points issued after
# the initial design came from the model, why (the fitting process got
# little CPU, or a fit takes longer than the tasks) and what to do about
# it: during a run once JUDGE_DURING such points were issued (the random
# points that bridge the first fit weigh little by then), at its end once
# JUDGE_AFTER were. A plain counter: the caller holds whatever lock guards it.

from collections.abc import Iterable
from dataclasses import dataclass

from Origin import Origin

KEEP_UP_SHARE = 0.9  # of the points after the initial design the model should choose
JUDGE_AFTER = 8  # points issued after the initial design before the end of a run is judged
JUDGE_DURING = 500  # and before a run under way is
STARVED_CPU = 0.5  # a fit that got less than this share of a core was starved


@dataclass
class ModelShare:
    """Counts of the points issued, and of those the model chose.

    Attributes
    ----------
    chosen, issued : int
        Model-chosen points, and all points the search issued.
    chosen_late, issued_late : int
        The same, counting only the points issued after the initial design.
    fits : int
        Fits that landed.
    fit_seconds, fit_cpu : float
        Their wall and CPU seconds (the ratio: the share of a core the
        fitting process got).
    """

    chosen: int = 0
    issued: int = 0
    chosen_late: int = 0
    issued_late: int = 0
    fits: int = 0
    fit_seconds: float = 0.0
    fit_cpu: float = 0.0

    def add(self, origins: Iterable[str], after_design: bool) -> None:
        """Count the origins (Origin.MODEL, Origin.RANDOM) of points issued together."""
        for origin in origins:
            model = origin == Origin.MODEL
            self.chosen += model
            self.issued += 1
            if after_design:
                self.chosen_late += model
                self.issued_late += 1

    def add_fit(self, seconds: float, cpu: float) -> None:
        """Count one fit's wall and CPU seconds."""
        self.fits += 1
        self.fit_seconds += seconds
        self.fit_cpu += cpu

    def line(self) -> str:
        """'model chose N of M points', for the summary and the report."""
        return f"model chose {self.chosen} of {self.issued} points"

    def lagging(self, final: bool) -> str | None:
        """Why and what to do, if the model chose too few points after the design; else None.

        Parameters
        ----------
        final : bool
            The run ended (judged from JUDGE_AFTER points on, else from
            JUDGE_DURING on).
        """
        if self.issued_late < (JUDGE_AFTER if final else JUDGE_DURING) \
                or self.chosen_late >= KEEP_UP_SHARE * self.issued_late:
            return None
        said = (f"the model chose only {self.chosen_late} of the {self.issued_late} points "
                "issued after the initial design; the others were random")
        if self.fits and self.fit_cpu < STARVED_CPU * self.fit_seconds:
            return (f"{said}: the model fitting process got {self.fit_cpu / self.fit_seconds:.0%} "
                    "of a core (the tasks or other work hold the driver's cores); leave the "
                    "driver a core of its own (fewer tasks on its node, or run it elsewhere)")
        took = (f"a fit takes {self.fit_seconds / self.fits:.2f} s" if self.fits
                else "the first fit had not landed")
        return (f"{said}: tasks end faster than the model is fitted ({took}); use fewer, "
                "longer tasks (more work per task) or fewer concurrent tasks")


def count_origins(origins: Iterable[str]) -> ModelShare:
    """The counts of a started.csv's `origin` column (model and random points only)."""
    share = ModelShare()
    share.add((o for o in origins if o in (Origin.MODEL, Origin.RANDOM)), after_design=False)
    return share
