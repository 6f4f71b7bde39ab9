# SIGNALS PY
# The driver's signals: which ones stop a run, and what they do when.
#
#   SIGINT (Ctrl-C), SIGTERM (a batch system), SIGHUP (the ssh session or
#   terminal closed) all stop a run the same way; the exit code is 128+N.
#
#   phase                          a stop signal ...
#   checks and set-up (main.py,    raises Interrupted (a SystemExit): one
#     from its first line)           line, exit 128+N, no task has started
#   the search loop (Workflow)     is counted (no raise): the loop stops the
#                                    tasks, records them `killed`, drains, and
#                                    prints the summary and the resume line
#   after the loop: the report     raises Interrupted once the loop's threads
#     (main.py)                      and fitting process are gone: the report
#                                    is cut short, exit 128+N (of the signal
#                                    that stopped the run, if one did)
#
# Importing this module installs the first handler. main.py imports it
# before anything else: the driver runs as a background job of main.sh,
# which starts it with SIGINT ignored, and skopt and scikit-learn take
# seconds to import. When main.sh started this process (MAIN_SH_PID), it is
# told with SIGUSR1 that the handlers are in place, so that it sends a
# signal that arrived before then again (an ignored signal is lost).

import os
import signal
import sys
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
READY_SIGNAL = signal.SIGUSR1  # to main.sh: the handlers are in place
MAIN_SH_VARIABLE = "MAIN_SH_PID"


class Interrupted(SystemExit):
    """A stop signal outside the search loop: exits with its code, no traceback.

    A SystemExit, so that no `except Exception` eats it, and so that it
    ends the program cleanly wherever it is raised (even among the imports).

    Parameters
    ----------
    number : int
        The signal.
    code : int
        The exit code: 128 + the signal, or the code of a run a signal stopped.
    """

    def __init__(self, number: int, code: int) -> None:
        super().__init__(code)
        self.number = number


_run_code = 0  # the exit code of the search loop, once it has ended


def _interrupt(number: int, frame: Any) -> None:
    # One signal is enough: ignore the next ones (an echo through main.sh, a
    # second Ctrl-C) while this one unwinds.
    for each in STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    try:
        print(f"main.sh: stopped by {signal.Signals(number).name}", file=sys.stderr, flush=True)
    except OSError:
        pass  # the terminal is gone (SIGHUP)
    raise Interrupted(number, _run_code if _run_code > 128 else 128 + number)


def raise_on_stop() -> None:
    """From now on a stop signal raises Interrupted (outside the search loop only)."""
    for number in STOP_SIGNALS:
        signal.signal(number, _interrupt)


def catch(handler: Any) -> None:
    """The search loop's handler for every stop signal (it must only take note)."""
    for number in STOP_SIGNALS:
        signal.signal(number, handler)


def loop_ended(code: int) -> None:
    """The search loop is over with `code` and its threads are gone: back to raising."""
    global _run_code
    _run_code = code
    raise_on_stop()


def _tell_main_sh() -> None:
    """Tell main.sh (when it started this process) that the handlers are in place."""
    parent = os.environ.pop(MAIN_SH_VARIABLE, "")  # not for the tasks
    if parent.isdigit() and int(parent) == os.getppid():
        try:
            os.kill(int(parent), READY_SIGNAL)
        except OSError:
            pass


raise_on_stop()
_tell_main_sh()
