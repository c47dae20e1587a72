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


def plain_number(text):
    """`text` without surrounding spaces when it is written the plain way: ASCII digits,
    no '_' separators. Python's int() and float() also take other scripts' digits and
    '1_0', which nobody means in a timeout or a retry count; None otherwise."""
    text = str(text).strip()
    return text if text.isascii() and "_" not in text else None


def seconds_from(text, flag):
    """A positive number of seconds, at most a week, given as `flag`; or InvalidInputError."""
    try:
        value = float(plain_number(text))
    except (TypeError, ValueError):
        raise InvalidInputError(f"{flag} {text!r} is not a number of seconds") from None
    if not 0 < value <= LONGEST_SECONDS:  # also false for NaN and infinity
        raise InvalidInputError(
            f"{flag} must be a number of seconds above 0 and at most {LONGEST_SECONDS} "
            f"(a week), not {text!r}"
        )
    return value


# ECR_TO_DOCKER_RETRIES and ECR_TO_DOCKER_RETRY_BACKOFF: default, lowest, highest, kind.
_RETRY_VARIABLES = (
    ("ECR_TO_DOCKER_RETRIES", 4, 0, 20, int, "a whole number"),
    ("ECR_TO_DOCKER_RETRY_BACKOFF", 0.5, 0, 60, float, "a number of seconds"),
)


def retry_settings(environ=None):
    """Retries and backoff factor: 4 and 0.5 s (urllib3 retries the first time at once,
    then after 1, 2 and 4 s), or what ECR_TO_DOCKER_RETRIES and
    ECR_TO_DOCKER_RETRY_BACKOFF say. A blank variable counts as unset, as every other
    variable of ours does (the Jenkins step passes them blank when unused)."""
    environ = os.environ if environ is None else environ
    values = []
    for variable, default, lowest, highest, kind, what in _RETRY_VARIABLES:
        text = environ.get(variable, "").strip()
        try:
            value = kind(plain_number(text)) if text else default
        except (TypeError, ValueError):
            value = None
        if value is None or not lowest <= value <= highest:
            raise InvalidInputError(
                f"{variable} must be {what} from {lowest} to {highest}, not {text!r}; "
                f"leave it unset for the default ({default})"
            )
        values.append(value)
    return tuple(values)
