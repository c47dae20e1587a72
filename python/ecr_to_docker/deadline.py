"""The time budget of a whole run (--timeout), shared by every request and subprocess."""

import time

from ecr_to_docker.errors import RegistryError


class Deadline:
    def __init__(self, seconds):
        self.seconds = seconds
        self._ends_at = time.monotonic() + seconds

    def remaining(self):
        return self._ends_at - time.monotonic()

    def bound(self, seconds, what):
        """`seconds`, cut to what is left of the budget; fails when nothing is left."""
        left = self.remaining()
        if left <= 0:
            raise RegistryError(
                f"{what}: the run's time budget of {self.seconds:g}s (--timeout) is used up"
            )
        return min(seconds, left)
