"""Wall time of each phase of a run, for the report."""

import threading
import time
from contextlib import contextmanager


class Timings:
    def __init__(self):
        self._started = time.monotonic()
        self._phases = {}
        self._lock = threading.Lock()

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
        phases["total"] = round(time.monotonic() - self._started, 4)
        return phases
