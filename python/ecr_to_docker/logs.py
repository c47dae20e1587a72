"""Logging to stderr, one line per step, with every known secret replaced by <hidden>.

Secrets are registered here as soon as they are read (from the environment, from a token
response), and every log record and every error message that reaches the user passes
through `redact`. Registering also covers the forms a secret travels in: the base64 of
`user:password` that HTTP Basic and docker config files use.
"""

import base64
import logging
import sys

LOGGER_NAME = "ecr_to_docker"
HIDDEN = "<hidden>"

_secrets = set()


def register_secret(value, username=None):
    """Remember a secret so that it is never printed; also its Basic-auth encodings."""
    if not value:
        return
    _secrets.add(value)
    if username is not None:
        pair = f"{username}:{value}".encode()
        _secrets.add(base64.b64encode(pair).decode())
        _secrets.add(base64.urlsafe_b64encode(pair).decode())


def redact(text):
    text = str(text)
    # Longest first, so that a secret containing another one is hidden whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record):
        return redact(super().format(record))


def setup(verbose=False):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("ecr-to-docker: %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Third-party loggers stay at WARNING even with -v: urllib3's debug lines are ours to
    # write (with secrets hidden), and botocore's debug output would include signed
    # requests.
    root.setLevel(logging.WARNING)
    logging.getLogger(LOGGER_NAME).setLevel(logging.DEBUG if verbose else logging.INFO)


def get(name):
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
