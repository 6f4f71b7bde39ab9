# STOP EARLY PY
# Imported first by main.py, for its effect: from here on a stop signal
# (SIGINT, SIGTERM, SIGHUP) ends the driver at once with exit code 128+N,
# even during the seconds the imports of skopt and scikit-learn take, and
# even when it came ignored (Signals.py).

import Signals

Signals.raise_on_stop()
