"""Logging to stderr, one line per step, with every known secret replaced by <hidden>.

Secrets are registered here as soon as they are read (from the environment, from a token
response), and every log record and every error message that reaches the user passes
through `redact`. Registering also covers the forms a secret travels in: the base64 of
`user:password` that HTTP Basic and docker config files use.
"""

import base64
import bisect
import logging
import sys
import threading
import urllib.parse

LOGGER_NAME = "ecr_to_docker"
HIDDEN = "<hidden>"
# Shorter values cannot be told apart from the words, versions and digests our own output
# is made of: hiding "1.0.0" or "sha256" would garble every line that holds them, and
# would point at the password while doing so. Registry tokens, AWS keys and Docker Hub
# passwords are all longer.
MIN_SECRET_LENGTH = 8

# Every form of every secret, and the same grouped by length. A batch registers a token
# per destination repository, thousands in a long list; a text cannot hold a secret longer
# than itself, so the digests, references and statuses that make up most of the output
# are checked against the few short secrets only, not against every token. Secrets are
# only ever added: lists that grow by append can be read while another thread adds.
_secrets = set()
_secrets_by_length = {}  # length -> list of secrets of that length
_lengths = []  # the lengths that have secrets, ascending
_registering = threading.Lock()


def _add_secrets(forms):
    global _lengths
    with _registering:
        for form in forms:
            if not form or form in _secrets:
                continue
            _secrets.add(form)
            bucket = _secrets_by_length.get(len(form))
            if bucket is None:
                _secrets_by_length[len(form)] = bucket = []
                # A new list of lengths, swapped in whole, for readers in other threads.
                lengths = list(_lengths)
                bisect.insort(lengths, len(form))
                _lengths = lengths
            bucket.append(form)


# Words every result may hold: a password equal to one would, hidden, turn the result's
# status into "<hidden>" (and tell the reader the password).
OUTPUT_WORDS = frozenset(
    ("promoted", "identical", "dry-run", "refused", "failed", "interrupted", "tagging")
    + ("tagged", "invalid")
)


def register_secret(value, username=None, plain_words=()):
    """Remember a secret so that it is never printed; also its Basic-auth encodings, which
    are hidden whatever the secret itself is. The value itself is not hidden when it is
    too plain to be (see too_plain_to_hide): `plain_words` are other values the output
    holds openly (a namespace, a username)."""
    if not value:
        return
    if not too_plain_to_hide(value, plain_words):
        # Also as a server may echo it back: URL-encoded, or base64 on its own.
        _add_secrets(_encodings(value))
    if username is not None:
        pair = f"{username}:{value}"
        _add_secrets(form for form in _encodings(pair) if form != pair)


def _encodings(value):
    """`value` and the forms it takes on the wire: URL-encoded (form or path style), and
    base64 (standard or URL-safe, with or without its padding)."""
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(value.encode()).decode()
        forms.update((encoded, encoded.rstrip("=")))
    return forms


def too_short_to_hide(value):
    return 0 < len(value) < MIN_SECRET_LENGTH


def too_plain_to_hide(value, plain_words=()):
    """Whether hiding `value` would garble the output and point at it: too short, or
    equal to a word the output holds anyway."""
    return too_short_to_hide(value) or value in OUTPUT_WORDS or value in set(plain_words)


def redact(text):
    text = str(text)
    lengths = _lengths
    # Longest first, so that a secret containing another one is hidden whole; none longer
    # than the text can be in it.
    for length in reversed(lengths[: bisect.bisect_right(lengths, len(text))]):
        for secret in _secrets_by_length[length]:
            if secret in text:
                text = text.replace(secret, HIDDEN)
    return text


def redact_values(value):
    """A copy of a JSON-like value with every string value redacted. Keys are the tool's
    own field names, never secrets, and stay as they are for the programs that read them."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_values(item) for item in value]
    return value


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
    # urllib3 warns about each retry in its own words; ours (http_session) say it once.
    # botocore warns with whole tracebacks (a failed credential refresh, say) about
    # failures that the ECR login then reports in one line.
    for name in ("urllib3", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)


def get(name):
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
