# STOP REASON PY
# The one vocabulary of why a search stops issuing tasks, and the text each
# prints (`stop issuing tasks: ...`, `Workflow failed!`). The loop
# (Workflow.py) keeps one Stopping, the first reason that came; only a
# signal replaces it (it also stops the running tasks), and a point to try
# again elsewhere reopens POINTS_MAX. How the run ended (its last lines
# and its exit code) is decided here too (Ended.last_lines).
#
#   reason          printed as                                  exit code
#   POINTS_MAX      (not printed)                               0
#   FAILURES        N failed task(s), more than max_failures=M  1
#   WALLTIME(_SHORT) walltime: the job ends in N s[, less ...]  0 (resume line)
#   SIGNAL          signal SIGTERM (received SIGTERM: ...)      128+N
#   DISK            cannot write to OUTPUT: error               1
#   POINTS          cannot propose points: error                1
#   PROCESSES       cannot start a task: error (... processes)  1 (resume line)

from dataclasses import dataclass
from enum import Enum


class StopReason(Enum):
    """Why no more tasks are issued; the value formats the text it prints."""

    POINTS_MAX = "POINTS_MAX reached"
    FAILURES = "{failures} failed task(s), more than max_failures={max_failures}"
    WALLTIME = "walltime: the job ends in {left:.0f} s"
    WALLTIME_SHORT = ("walltime: the job ends in {left:.0f} s, less than the longest task so "
                      "far ({longest:.0f} s) + kill_grace + {report:g} s")
    SIGNAL = "signal {name}"
    DISK = "cannot write to {output}: {error}"
    POINTS = "cannot propose points: {error}"
    PROCESSES = "cannot start a task: {error} (the system allows no more processes)"

    def says(self, **details: object) -> "Stopping":
        """This reason with the text it prints, `details` filled in."""
        return Stopping(self, self.value.format(**details))

    @property
    def is_walltime(self) -> bool:
        """The batch job is about to end: the resume line says so."""
        return self in (StopReason.WALLTIME, StopReason.WALLTIME_SHORT)


@dataclass(frozen=True)
class Stopping:
    """Why the search stopped issuing tasks, and the text printed for it."""

    reason: StopReason
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Ended:
    """How a run ended, for its last lines and its exit code."""

    signal_number: int  # the stop signal (0: none)
    walltime: bool  # stopped for the batch job's end
    io_error: bool  # OUTPUT could not be written
    cannot_go_on: bool  # the search could not propose points, or no task could start
    failures: int
    max_failures: int
    output: str
    resume_command: str

    def last_lines(self) -> tuple[list[str], int]:
        """The lines that end the log, and the exit code: 128+N, 1 or 0."""
        resume = f"to resume: {self.resume_command}"
        if self.signal_number:
            return ["Workflow stopped!", resume], 128 + self.signal_number
        lines = [f"stopped before the end of walltime; {resume}"] if self.walltime else []
        if self.io_error:
            return lines + ["Workflow failed!", f"after making room in {self.output}, {resume}"], 1
        if self.cannot_go_on:
            return lines + ["Workflow failed!", resume], 1
        if self.failures > self.max_failures:
            return lines + ["Workflow failed!"], 1
        if self.failures:
            return lines + [(f"Workflow success! ({self.failures} failed task(s), within "
                             f"max_failures={self.max_failures})")], 0
        return lines + ["Workflow success!"], 0
