"""Wall time of each phase of a run, for the report."""

import threading
import time
from contextlib import contextmanager


class Timings:
    def __init__(self):
        self._started = time.monotonic()
        self._stopped = None
        self._phases = {}
        self._lock = threading.Lock()

    def restart(self):
        """Count the total from now (an image of a batch that waited for its turn)."""
        self._started = time.monotonic()

    def stop(self):
        """End the total now, whenever the timings are read."""
        self._stopped = time.monotonic()

    @contextmanager
    def phase(self, name):
        started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._phases[name] = round(time.monotonic() - started, 4)

    def as_dict(self):
        with self._lock:
            phases = dict(self._phases)
        ended = self._stopped if self._stopped is not None else time.monotonic()
        phases["total"] = round(ended - self._started, 4)
        return phases
