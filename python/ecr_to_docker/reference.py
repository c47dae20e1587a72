"""Image references, validated by the OCI distribution grammar before any network call.

A reference is `[registry/]repository[:tag][@digest]`. Parsing is strict: a reference the
registry would reject, or that could be read two ways, is refused here with a message that
says what is wrong, instead of surfacing later as a confusing registry error.
"""

import re
from dataclasses import dataclass
from typing import Optional

from ecr_to_docker.errors import InvalidInputError

DOCKER_HUB = "docker.io"
# The host that serves Docker Hub's registry API, and the key docker config files use for it.
DOCKER_HUB_API_HOST = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"(?P<algorithm>sha256|sha512):(?P<hex>[0-9a-f]+)")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]{1,5})?"
)
_MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: Optional[str] = None
    digest: Optional[str] = None

    @property
    def api_host(self):
        """The host[:port] to send registry API requests to."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def config_key(self):
        """The key under which docker config files hold this registry's credentials."""
        return DOCKER_HUB_CONFIG_KEY if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self):
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest):
        return f"{self.name}@{digest}"

    def __str__(self):
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def validate_digest(digest, what="digest"):
    match = _DIGEST.fullmatch(digest)
    if not match or len(match["hex"]) != _DIGEST_HEX_LENGTH[match["algorithm"]]:
        raise InvalidInputError(
            f"{what} {digest!r} is not a well-formed digest: expected sha256: followed by "
            "64 lowercase hexadecimal characters"
        )
    if match["algorithm"] != "sha256":
        # crane (go-containerregistry) parses only sha256 digests in a reference.
        raise InvalidInputError(
            f"{what} {digest!r} is a {match['algorithm']} digest, and crane copies only by "
            "sha256: give the image's sha256 digest or its tag"
        )
    return digest


def validate_tag(tag, what="tag"):
    if not _TAG.fullmatch(tag):
        raise InvalidInputError(
            f"{what} {tag!r} is not a valid tag: use 1 to 128 characters of letters, digits, "
            "'_', '.' and '-', not starting with '.' or '-'"
        )
    return tag


def validate_path_component(component, what, show=True):
    """`show`: whether a message may repeat the value. Not for one read from a secret
    credential: what was pasted there by mistake may be a token."""
    named = f"{what} {component!r}" if show else what
    if component != component.lower() and _PATH_COMPONENT.fullmatch(component.lower()):
        raise InvalidInputError(f"{named} must be lowercase")
    if not _PATH_COMPONENT.fullmatch(component):
        raise InvalidInputError(
            f"{named} is not valid: use lowercase letters and digits, "
            "separated by single '.', '_', '__' or runs of '-'"
        )
    return component


def parse(text, what="image reference", require_tag_or_digest=True):
    """Parse and validate a reference. Docker Hub names are normalised (library/, docker.io)."""
    if not isinstance(text, str) or not text:
        raise InvalidInputError(f"{what} is empty: give an image such as registry/repository:tag")
    if text != text.strip() or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise InvalidInputError(f"{what} {text!r} contains whitespace or control characters")
    if "://" in text:
        raise InvalidInputError(
            f"{what} {text!r} has a URL scheme: write the image as host/repository:tag"
        )
    if "@" in text.split("/", 1)[0]:
        # Never echo it: what stands before the "@" may be a password.
        raise InvalidInputError(
            f"{what} has credentials before its host: give the image as host/repository:tag "
            "and credentials through the environment"
        )

    remainder, digest = text, None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        validate_digest(digest, what=f"digest of {what}")

    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        validate_tag(tag, what=f"tag of {what}")

    registry, repository = _split_registry(remainder)
    if not repository:
        raise InvalidInputError(f"{what} {text!r} has no repository")
    for component in repository.split("/"):
        validate_path_component(component, what=f"repository path component of {what}")
    if len(f"{registry}/{repository}") > _MAX_NAME_LENGTH:
        raise InvalidInputError(f"{what} {text!r} is longer than {_MAX_NAME_LENGTH} characters")
    if require_tag_or_digest and not (tag or digest):
        raise InvalidInputError(
            f"{what} {text!r} has neither a tag nor a digest: say which image to use, "
            "e.g. repository:1.2.3 (there is no implicit 'latest')"
        )
    return ImageReference(registry=registry, repository=repository, tag=tag, digest=digest)


def same_registry_key(registry):
    """A key under which every spelling of one registry compares equal, for telling that
    two destinations are the same tag: the default ports dropped (:443 for HTTPS, and :80
    too, since a plain-HTTP registry's default is that), Docker Hub's aliases merged.

    Conservative by design: a registry that serves HTTPS on port 80 is taken to be the
    same as the one on 443, which can only make a batch refuse a pair of lines it could
    have promoted, never promote two images to one tag. For the same reason the port is
    compared as a number (05443 is 5443), and the loopback names are one host."""
    host, port = registry.lower(), ""
    separator = host.rfind(":")
    if separator > host.rfind("]"):  # a port, not a colon inside an IPv6 address
        host, port = host[:separator], host[separator + 1 :]
    if port.isdigit():
        port = str(int(port))
    if port in ("443", "80"):
        port = ""
    if host in _LOOPBACK_NAMES:
        host = "localhost"
    host = DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host
    return f"{host}:{port}" if port else host


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]"}


def is_host(text):
    """Whether `text` is a valid host[:port], with the port in range."""
    if not _HOST.fullmatch(text):
        return False
    _, colon, port = text.partition(":")
    return not colon or 1 <= int(port) <= 65535


def _split_registry(name):
    first, slash, rest = name.partition("/")
    # As in Docker: the first component is a registry host when it looks like one.
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not is_host(first):
            raise InvalidInputError(f"registry host {first!r} is not a valid host[:port]")
        registry = first.lower()
        if registry in _DOCKER_HUB_ALIASES:
            registry = DOCKER_HUB
        repository = rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry == DOCKER_HUB and repository and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository
