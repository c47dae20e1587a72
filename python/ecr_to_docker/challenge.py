"""Parsing of WWW-Authenticate headers (RFC 7235).

A header may carry several challenges, each a scheme followed by either a token68 or
comma-separated auth-params; parameter values may be quoted strings containing commas and
escaped quotes. Registries in the wild send all of these forms.
"""

import re
from dataclasses import dataclass, field

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME = re.compile(rf"\s*({_TOKEN})")
_PARAM = re.compile(rf"\s*({_TOKEN})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|({_TOKEN}))")
_TOKEN68 = re.compile(r"\s*([A-Za-z0-9._~+/-]+=*)\s*(?=,|$)")
_SEPARATOR = re.compile(r"\s*,")


@dataclass
class Challenge:
    scheme: str  # lowercased: "basic", "bearer"
    params: dict = field(default_factory=dict)  # names lowercased
    token68: str = None


def parse(header):
    """All challenges in a header, in order. Unparseable trailing text is ignored."""
    challenges = []
    position = 0
    while position < len(header):
        separator = _SEPARATOR.match(header, position)
        if separator:
            position = separator.end()
            continue
        scheme = _SCHEME.match(header, position)
        if not scheme:
            break
        challenge = Challenge(scheme=scheme.group(1).lower())
        position = scheme.end()
        position = _parse_params(header, position, challenge)
        challenges.append(challenge)
    return challenges


def _parse_params(header, position, challenge):
    param = _PARAM.match(header, position)
    if not param:
        token68 = _TOKEN68.match(header, position)
        if token68 and not _PARAM.match(header, position):
            challenge.token68 = token68.group(1)
            return token68.end()
        return position
    while param:
        name, quoted, plain = param.groups()
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
        challenge.params[name.lower()] = value
        position = param.end()
        # After a comma comes either another param or the next challenge's scheme.
        separator = _SEPARATOR.match(header, position)
        if not separator:
            break
        param = _PARAM.match(header, separator.end())
        if param:
            position = separator.end()
    return position


def find(header, scheme):
    for challenge in parse(header or ""):
        if challenge.scheme == scheme:
            return challenge
    return None
