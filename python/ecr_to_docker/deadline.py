"""The time budget of a whole run (--timeout), shared by every request and subprocess."""

import time

from ecr_to_docker.errors import InvalidInputError, RegistryError


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


def seconds_from(text, flag):
    """A positive, finite number of seconds given as `flag`, or InvalidInputError."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{flag} {text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):  # also false for NaN
        raise InvalidInputError(f"{flag} must be a positive number of seconds, not {text!r}")
    return value
