"""The limits of a whole run: its time budget (--timeout), shared by every request and
subprocess, and how often a failed request is tried again."""

import os
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


# The longest time limit taken: a week. Far above any promotion, and far below what the
# timeouts of threads and sockets can hold (a few billion seconds).
LONGEST_SECONDS = 7 * 24 * 3600


def seconds_from(text, flag):
    """A positive number of seconds, at most a week, given as `flag`; or InvalidInputError."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{flag} {text!r} is not a number of seconds") from None
    if not 0 < value <= LONGEST_SECONDS:  # also false for NaN and infinity
        raise InvalidInputError(
            f"{flag} must be a number of seconds above 0 and at most {LONGEST_SECONDS} "
            f"(a week), not {text!r}"
        )
    return value


def retry_settings(environ=None):
    """Retries and backoff factor: 4 and 0.5 s (urllib3 retries the first time at once,
    then after 1, 2 and 4 s), or what ECR_TO_DOCKER_RETRIES and
    ECR_TO_DOCKER_RETRY_BACKOFF say."""
    environ = os.environ if environ is None else environ
    try:
        retries = int(environ.get("ECR_TO_DOCKER_RETRIES", "4"))
        backoff = float(environ.get("ECR_TO_DOCKER_RETRY_BACKOFF", "0.5"))
    except ValueError:
        raise InvalidInputError(
            "ECR_TO_DOCKER_RETRIES must be a whole number and ECR_TO_DOCKER_RETRY_BACKOFF a "
            "number of seconds"
        ) from None
    if not (0 <= retries <= 20 and 0 <= backoff <= 60):
        raise InvalidInputError(
            "ECR_TO_DOCKER_RETRIES must be 0-20 and ECR_TO_DOCKER_RETRY_BACKOFF 0-60"
        )
    return retries, backoff
