"""The exception hierarchy. Each subclass names a condition and carries its exit code.

`__main__` is the only place where these become exit codes; everything else raises.
Messages must never contain a secret: they are redacted once more before printing, but
the code that raises is expected to not put one there in the first place.
"""


class EcrToDockerError(Exception):
    """Base class: something went wrong that we can explain. Exit code 1."""

    exit_code = 1
    # Short word for the JSON result's "status" field.
    status = "failed"


class InvalidInputError(EcrToDockerError):
    """Bad arguments or environment, found before any network call."""

    exit_code = 2
    status = "invalid"


class TagExistsError(EcrToDockerError):
    """The destination tag already exists; a published tag is never overwritten."""

    exit_code = 3
    status = "refused"


class AuthenticationError(EcrToDockerError):
    """Credentials were refused, or they may not do what the promotion needs."""

    exit_code = 4


class CopyRefusedError(AuthenticationError):
    """A registry refused crane during the copy. `host` is the registry it names, when it
    does; `denied` tells a 403 (a verdict on the credentials) from a 401 (perhaps a token
    that expired)."""

    def __init__(self, message, host=None, denied=False):
        super().__init__(message)
        self.host = host
        self.denied = denied


class RegistryError(EcrToDockerError):
    """A registry, token service or the network failed: 5xx, rate limit, timeout."""

    exit_code = 5


class SourceNotFoundError(RegistryError):
    """The source image is not in the source registry."""


class TagWriteUnconfirmed(RegistryError):
    """The tag write got no clear answer (429, 5xx, a lost connection): it may or may not
    have landed. `retry_after` is the registry's Retry-After in seconds, when it sent one."""

    def __init__(self, message, retry_after=None, cause=None):
        super().__init__(message)
        self.retry_after = retry_after
        self.cause = cause or "no answer"  # short, for a log line: "HTTP 503"


class VerificationError(EcrToDockerError):
    """After the copy, the destination does not hold exactly the source image."""

    exit_code = 6


# Conditions of the `jenkins-credentials` command, which talks to Jenkins instead of
# registries and so needs a few codes of its own.


class JenkinsUnreachableError(EcrToDockerError):
    exit_code = 5


class JenkinsAuthenticationError(EcrToDockerError):
    exit_code = 4


class JenkinsPermissionError(EcrToDockerError):
    exit_code = 7


class JenkinsFolderNotFoundError(EcrToDockerError):
    exit_code = 8
