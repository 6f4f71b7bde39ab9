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
# A SystemExit raised by a handler can be lost (Python drops an exception
# raised at some points: while compiling a module being imported, in a
# finalizer). So a signal is also remembered: the loop starts stopped when
# one came before it (no task is started), and the exit code after the loop
# is 128+N when one came during the report.
#
# The first handler is put in place by StopEarly.py, which main.py imports
# before anything else: skopt and scikit-learn take seconds to import, and
# a handler is set even when the signal came ignored (a background job of
# a script starts with SIGINT ignored).

import signal
import sys
import time
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Seconds within which a repeated signal counts as the same one (Noted.note).
SIGNAL_ECHO = 0.5


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
_received = 0  # the first stop signal outside the loop (since it ended)


def _code() -> int:
    return _run_code if _run_code > 128 else 128 + _received


def _interrupt(number: int, frame: Any) -> None:
    # One signal is enough: ignore the next ones (an echo through main.sh, a
    # storm) while this one unwinds and the interpreter shuts down (it resets
    # a Python handler to the default action then, but leaves SIG_IGN alone).
    global _received
    for each in STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    _received = _received or number
    try:
        print(f"main.sh: stopped by {signal.Signals(number).name}", file=sys.stderr, flush=True)
    except OSError:
        pass  # the terminal is gone (SIGHUP)
    raise Interrupted(_received, _code())


def raise_on_stop() -> None:
    """From now on a stop signal raises Interrupted (outside the search loop only)."""
    for number in STOP_SIGNALS:
        signal.signal(number, _interrupt)


def catch(handler: Any) -> int:
    """The search loop's handler for every stop signal (it must only take note).

    Returns the stop signal that came before (0: none): the loop then stops at once.
    """
    for number in STOP_SIGNALS:
        signal.signal(number, handler)
    return _received


class Noted:
    """The search loop's stop signals: its handler only takes note of them.

    The loop acts on them when select() returns (the wakeup fd fires):
    `number` is the first signal (0: none yet), `count` how many requests
    came (a second one skips the grace period).
    """

    def __init__(self) -> None:
        self.number = 0
        self.count = 0
        self.time = 0.0
        self.before: dict[int, Any] = {}  # the handlers to put back afterwards

    def catch(self) -> None:
        """Take note of the stop signals from now on (of one that came before, too)."""
        for number in STOP_SIGNALS:
            self.before[number] = signal.getsignal(number)
        earlier = catch(self.note)
        if earlier:  # a stop signal came before the loop: it starts stopped
            self.note(earlier, None)

    def note(self, number: int, frame: Any) -> None:
        # One Ctrl-C or one scheduler SIGTERM may arrive twice: sent to the
        # whole process group and forwarded by main.sh too. Within
        # SIGNAL_ECHO seconds of the last one, it is the same request.
        now = time.monotonic()
        if self.count and now - self.time < SIGNAL_ECHO:
            return
        self.time = now
        self.count += 1
        self.number = self.number or number

    @property
    def name(self) -> str:
        return signal.Signals(self.number).name

    def restore(self) -> None:
        """Put back the handlers that were in place before catch()."""
        for number, handler in self.before.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def loop_ended(code: int) -> None:
    """The search loop is over with `code` and its threads are gone: back to raising."""
    global _run_code, _received
    _run_code, _received = code, 0
    raise_on_stop()


def exit_code(code: int) -> int:
    """The program's exit code: `code`, unless a stop signal came after the loop."""
    return _code() if _received else code

