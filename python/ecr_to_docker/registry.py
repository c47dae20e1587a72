"""A small client for the registry HTTP API: log in, HEAD, GET and PUT manifests.

Only what the promotion policy needs is here; moving blobs is crane's job. Every answer
that is not clearly "yes" or "no" fails closed: for a manifest HEAD only 200 (present) and
404 (absent) are answers, everything else raises.
"""

import base64
import dataclasses
import hashlib
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Optional

import requests
import urllib3

from ecr_to_docker import challenge, logs
from ecr_to_docker.credentials import Credentials  # noqa: F401 - part of this API
from ecr_to_docker.errors import (
    AuthenticationError,
    RegistryError,
    TagWriteUnconfirmed,
)
from ecr_to_docker.http_session import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    RETRY_STATUSES,
    build_session,
    retry_after_seconds,
    timeout_for,
)

log = logs.get("registry")

# How long a token lasts when its answer does not say (the token specification's default).
DEFAULT_TOKEN_SECONDS = 60
# Longer lifetimes are read as this one: nothing here waits on a token for more than a day.
LONGEST_TOKEN_SECONDS = 24 * 3600

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
INDEX_MEDIA_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
_ACCEPT = ", ".join(MANIFEST_MEDIA_TYPES)
# Whatever a destination tag may hold, also kinds this tool never copies (signed schema 1,
# OCI artifacts): a registry may answer 404 for a manifest of a type it was not asked for,
# and a tag that holds one is taken, all the same.
_ACCEPT_ANY = ", ".join(
    (
        *MANIFEST_MEDIA_TYPES,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.oci.artifact.manifest.v1+json",
    )
)
# Registry error bodies are read only up to this size: they are diagnostics, not data.
_MAX_ERROR_BODY = 2048
_MAX_MANIFEST = 4 * 1024 * 1024
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


_PING_LOCK = threading.Lock()
_PING_ANSWERS = {}


class TokenExpired(Exception):
    """A 401 to a write: the Bearer token ran out (during a long copy). `refusal` is what
    to raise if a new token gets the same answer."""

    def __init__(self, refusal):
        super().__init__(str(refusal))
        self.refusal = refusal


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    size: Optional[int] = None


@dataclass(frozen=True)
class Manifest:
    digest: str
    body: bytes
    media_type: str


class RegistryClient:
    """One registry, one repository, one set of credentials, scoped to `actions`."""

    def __init__(self, host, repository, credentials, deadline, *, insecure=False, role):
        self.host = host
        self.repository = repository
        self.role = role  # "source" or "destination", for messages
        self._credentials = credentials
        self._deadline = deadline
        self._base = f"{'http' if insecure else 'https'}://{host}"
        self._session = build_session(deadline)
        self._authorization = None
        self._bearer = None
        self._actions = ()
        self._token = None
        self._token_expires = 0.0  # time.monotonic() when self._token stops being valid
        self._accept = _ACCEPT_ANY if role == "destination" else _ACCEPT

    # -- authentication ---------------------------------------------------------------

    def login(self, actions):
        """Authenticate for `actions` (e.g. pull, push) on the repository, as the registry
        asks: no auth, Basic, or a Bearer token from its token service."""
        self._actions = tuple(actions)
        status, header = self._ping()
        if status == 200:
            return

        bearer = challenge.find(header, "bearer")
        if bearer is not None:
            self._bearer = bearer
            self._fetch_token()
        elif challenge.find(header, "basic") is not None:
            if self._credentials is None:
                raise AuthenticationError(
                    f"the {self.role} registry {self.host} asks for a username and password, "
                    "and none was given"
                )
            self._authorization = self._credentials.basic_header()
            logs.register_secret(self._authorization.split(" ", 1)[1])
        else:
            raise AuthenticationError(
                f"the {self.role} registry {self.host} asks for an authentication scheme this "
                f"tool does not support: {header[:200]!r}"
            )

    def _ping(self):
        """The registry's answer to GET /v2/: its status and WWW-Authenticate header.

        How a registry wants to be authenticated does not change within a run, so the
        images of a batch ask once per registry rather than once each."""
        with _PING_LOCK:
            known = _PING_ANSWERS.get(self._base)
        if known is not None:
            return known
        response = self._send("GET", "/v2/", what="registry login", authenticate=False)
        if response.status_code not in (200, 401):
            raise self._failure(response, "registry login")
        answer = (response.status_code, response.headers.get("WWW-Authenticate", ""))
        with _PING_LOCK:
            _PING_ANSWERS[self._base] = answer
        return answer

    def _fetch_token(self):
        realm = self._bearer.params.get("realm")
        if not realm:
            raise RegistryError(
                f"the {self.role} registry {self.host} sent a Bearer challenge without a realm"
            )
        scope = f"repository:{self.repository}:{','.join(self._actions)}"
        params = {"scope": scope}
        if self._bearer.params.get("service"):
            params["service"] = self._bearer.params["service"]
        headers = {}
        if self._credentials is not None:
            headers["Authorization"] = self._credentials.basic_header()
        what = f"token request to {realm.split('?', 1)[0]}"
        requested_at = time.monotonic()
        response = _request(
            self._session,
            self._deadline,
            "GET",
            realm,
            what,
            headers=headers,
            params=params,
            follow_redirects=True,
        )

        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"the {self.role} registry's token service refused the credentials "
                f"(HTTP {response.status_code}): check the username and password or access "
                "token (for Docker Hub: DOCKERHUB_USERNAME and DOCKERHUB_PASSWORD)"
            )
        if response.status_code != 200:
            raise self._failure(response, what)
        try:
            body = response.json()
        except ValueError:
            body = None
        token = None
        if isinstance(body, dict):
            token = body.get("token") or body.get("access_token")
        if not token or not isinstance(token, str):
            raise RegistryError(f"{what} answered without a token")
        logs.register_secret(token)
        self._check_granted_access(token, scope)
        self._authorization = f"Bearer {token}"
        self._token = token
        self._token_expires = requested_at + _token_lifetime(body)
        log.debug("got a %s token for %s", ",".join(self._actions), self.repository)

    def renew_token(self):
        """A new Bearer token for the same scope (after TokenExpired)."""
        self._fetch_token()

    def token_lasting(self, seconds):
        """The Bearer token this client holds for the repository, if the registry hands out
        tokens and this one stays valid for at least `seconds` more; otherwise None."""
        if self._token is None or self._token_expires - time.monotonic() < seconds:
            return None
        return self._token

    def _check_granted_access(self, token, scope):
        """Token services grant what they can and stay silent about the rest, so a token
        asked for pull,push may carry only pull. When the token is a JWT that lists its
        grants, read them: a missing push means these credentials cannot promote here."""
        granted = _jwt_granted_actions(token, self.repository)
        if granted is None:
            return
        missing = [action for action in self._actions if action not in granted]
        if missing:
            raise AuthenticationError(
                f"the credentials may not {'/'.join(missing)} {self.host}/{self.repository}: "
                "use an account or access token with write access to that namespace "
                "(for Docker Hub, check DOCKERHUB_NAMESPACE and the token's permissions)"
            )

    # -- manifests --------------------------------------------------------------------

    def _manifest_path(self, reference):
        return f"/v2/{self.repository}/manifests/{reference}"

    def head_manifest(self, reference, what) -> Optional[ManifestInfo]:
        """The manifest's digest and type; None only when the registry clearly says 404.

        A 404 with the registry's own header is taken as it is, without a GET to confirm
        it: Docker Hub counts manifest GETs against the account's pull limit, and not all
        registries name a missing manifest MANIFEST_UNKNOWN (Harbor says NOT_FOUND)."""
        response = self._send(
            "HEAD",
            self._manifest_path(reference),
            what=what,
            headers={"Accept": self._accept},
        )
        if response.status_code == 404:
            self._check_registry_404(
                response,
                lambda: self._unknown_by_error_code(reference, what),
                what,
                "refusing to treat the tag as absent",
            )
            return None
        if response.status_code != 200:
            raise self._failure(response, what)
        digest = response.headers.get("Docker-Content-Digest")
        if not digest:
            raise RegistryError(
                f"{what}: {self.host} answered 200 without a Docker-Content-Digest header, so "
                "which image the tag points at cannot be told; refusing to go on"
            )
        if not _DIGEST.fullmatch(digest):
            raise RegistryError(
                f"{what}: {self.host} answered with a malformed digest {digest[:100]!r}"
            )
        size = response.headers.get("Content-Length", "")
        return ManifestInfo(
            digest=digest,
            media_type=_media_type(response),
            # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
            size=int(size) if re.fullmatch(r"[0-9]{1,12}", size) else None,
        )

    def _check_registry_404(self, response, names_it_unknown, what, consequence):
        """Return when a 404 is a registry's own "no such manifest": it carries the
        registry's header, or `names_it_unknown()` finds the registry's error code. A
        proxy's or web server's "not found" says nothing about the manifest, and raises."""
        if _looks_like_a_web_page(response):
            raise RegistryError(
                f"{what}: {self.host} answered 404 with a web page, not as a registry "
                f"does; {consequence}"
            )
        if _answered_by_a_registry(response) or names_it_unknown():
            return
        raise RegistryError(
            f"{what}: {self.host} answered 404 without the marks of a registry's answer "
            "(no Docker-Distribution-API-Version header, no MANIFEST_UNKNOWN error), as a "
            f"proxy or a default web backend does; {consequence}"
        )

    def _unknown_by_error_code(self, reference, what):
        """Whether a GET of the manifest is a registry's 404 naming the manifest or the
        repository unknown: its body says what a HEAD's cannot.

        The GET is not redirected: a redirect could lead to another tag's or another
        server's 404, which says nothing about this tag. The answer must be JSON, as a
        registry's errors are, and not a web page that happens to hold such a text."""
        unredirected_get = self._send(
            "GET",
            self._manifest_path(reference),
            what=what,
            headers={"Accept": self._accept},
            follow_redirects=False,
        )
        return _unknown_manifest(unredirected_get)

    def get_manifest(self, reference, what) -> Optional[Manifest]:
        """The manifest under a tag or digest, with the digest of its bytes; None only when
        a registry clearly says 404.

        One GET, no HEAD before it: the digest is that of the bytes received, so whatever
        the tag points at later, these bytes are the image from here on. Asked by digest,
        the bytes must hash to it; asked by tag, the registry's Docker-Content-Digest, when
        it sends one, must match them."""
        response = self._send(
            "GET",
            self._manifest_path(reference),
            what=what,
            headers={"Accept": _ACCEPT},
        )
        if response.status_code == 404:
            if response.redirected:
                raise RegistryError(
                    f"{what}: {self.host} redirected the request to a 404, which says "
                    "nothing about this manifest; check the registry host"
                )
            # The body is here already: it can name the manifest unknown without a 2nd GET.
            self._check_registry_404(
                response, lambda: _unknown_manifest(response), what, "check the registry host"
            )
            return None
        if response.status_code != 200:
            raise self._failure(response, what)
        body = response.content
        if len(body) > _MAX_MANIFEST:
            raise RegistryError(f"{what}: the manifest is larger than {_MAX_MANIFEST} bytes")
        if _DIGEST.fullmatch(reference):
            expected = reference
        else:
            expected = response.headers.get("Docker-Content-Digest")
            if expected is not None and not _DIGEST.fullmatch(expected):
                raise RegistryError(
                    f"{what}: {self.host} answered with a malformed digest {expected[:100]!r}"
                )
        algorithm = expected.split(":", 1)[0] if expected else "sha256"
        digest = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"
        if expected and digest != expected:
            raise RegistryError(
                f"{what}: the manifest served does not match its digest {expected}"
            )
        return Manifest(digest=digest, body=body, media_type=_media_type(response))

    def put_manifest(self, reference, body, media_type, what):
        """PUT the manifest under `reference`, once. An answer that leaves open whether it
        was written (429, 5xx, none at all) raises TagWriteUnconfirmed, and a 401 from a
        registry that hands out tokens raises TokenExpired: either way the caller reads
        the tag before deciding to write again."""
        try:
            response = self._send(
                "PUT",
                self._manifest_path(reference),
                what=what,
                headers={"Content-Type": media_type},
                data=body,
                renew_expired_token=False,
            )
        except RegistryError as error:
            raise TagWriteUnconfirmed(str(error)) from None
        if response.status_code == 401 and self._bearer is not None:
            raise TokenExpired(self._failure(response, what))
        if response.status_code in RETRY_STATUSES:
            raise TagWriteUnconfirmed(
                str(self._failure(response, what)),
                retry_after=retry_after_seconds(response),
                cause=f"HTTP {response.status_code}",
            )
        # 201 is what the API specifies; any 2xx says the write was taken, and the tag is
        # read back afterwards in any case.
        if not 200 <= response.status_code < 300:
            raise self._failure(response, what)
        return response.headers.get("Docker-Content-Digest")

    # -- plumbing ---------------------------------------------------------------------

    def _send(
        self,
        method,
        path,
        what,
        authenticate=True,
        headers=None,
        data=None,
        follow_redirects=None,
        renew_expired_token=True,
    ):
        """`follow_redirects`: by default only a GET follows them (a registry may send a
        manifest from another host). `renew_expired_token`: on a 401, fetch a new token
        and send again; a write turns it off, to look at the tag again in between."""
        if follow_redirects is None:
            follow_redirects = method == "GET"
        arguments = (method, path, what, authenticate, headers, data, follow_redirects)
        response = self._send_once(*arguments)
        # Tokens are short-lived (Docker Hub's last five minutes); a 401 after a long
        # copy means "expired", so fetch a new one once and try again.
        if (
            response.status_code == 401
            and authenticate
            and renew_expired_token
            and self._bearer is not None
        ):
            log.info("the %s registry token expired; fetching a new one", self.role)
            self._fetch_token()
            response = self._send_once(*arguments)
        return response

    def _send_once(self, method, path, what, authenticate, headers, data, follow_redirects):
        headers = dict(headers or {})
        if authenticate and self._authorization:
            headers["Authorization"] = self._authorization
        answer = _request(
            self._session,
            self._deadline,
            method,
            self._base + path,
            what,
            headers=headers,
            data=data,
            follow_redirects=follow_redirects,
        )
        log.debug("%s %s%s -> %s", method, self.host, path, answer.status_code)
        return answer

    def _failure(self, response, what):
        status = response.status_code
        detail = _error_detail(response)
        if status in (401, 403):
            return AuthenticationError(
                f"{what}: the {self.role} registry {self.host} answered {status}{detail}: the "
                f"credentials may not {'/'.join(self._actions) or 'access'} {self.repository}"
            )
        if status == 429:
            return RegistryError(
                f"{what}: the {self.role} registry {self.host} is rate limiting (429) and the "
                f"retries are used up{detail}; try again later"
            )
        return RegistryError(
            f"{what}: the {self.role} registry {self.host} answered {status}{detail}"
        )


def _looks_like_a_web_page(response):
    content_type = _media_type(response).lower()
    return content_type in ("text/html", "application/xhtml+xml")


def _token_lifetime(body):
    """Seconds a token lasts from when it was asked for: the answer's `expires_in`, or the
    token specification's default of 60 when it gives none that can be read."""
    lifetime = body.get("expires_in")
    if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool) and lifetime > 0:
        # Compared before any conversion: an integer of hundreds of digits is no float.
        return float(min(lifetime, LONGEST_TOKEN_SECONDS))
    return DEFAULT_TOKEN_SECONDS


@dataclass(frozen=True)
class Answer:
    """An HTTP answer with its body read (see _read_answer): all the policy reads of it."""

    method: str
    status_code: int
    headers: object  # requests' case-insensitive dict
    content: bytes
    # Reached through a redirect: a 404 then may be another resource's, not this one's.
    redirected: bool = False

    def json(self):
        return json.loads(self.content)


# The most of a body that is read: one byte more than the largest manifest accepted, so
# that get_manifest can tell one that is too large. Error bodies and tokens are far
# smaller; a larger body is cut there, not held in memory whole.
_MAX_BODY = _MAX_MANIFEST + 1
_READ_CHUNK = 64 * 1024


_REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5


def _request(
    session, deadline, method, url, what, *, headers, data=None, params=None, follow_redirects
):
    """Send one request and read its answer (see _read_answer), following redirects
    here rather than in requests, which reads a redirect's body whole and untimed.
    Credentials are not sent on to another host or from HTTPS down to HTTP."""
    headers = dict(headers or {})
    for hop in range(MAX_REDIRECTS + 1):
        host = urllib.parse.urlsplit(url).netloc
        try:
            response = session.request(
                method,
                url,
                headers=headers,
                data=data,
                params=params,
                timeout=timeout_for(deadline, what),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as error:
            if _timed_out(error):
                raise RegistryError(
                    f"{what}: {host} did not answer in time (connect timeout "
                    f"{CONNECT_TIMEOUT}s, read timeout {READ_TIMEOUT}s, and never past "
                    "--timeout); if it is only slow, give a longer --timeout"
                ) from None
            raise RegistryError(f"{what}: cannot reach {host}: {_describe(error)}") from None
        answer = _read_answer(response, method, deadline, host, what)
        location = answer.headers.get("Location")
        if not (follow_redirects and answer.status_code in _REDIRECTS and location):
            return dataclasses.replace(answer, redirected=True) if hop else answer
        target = urllib.parse.urljoin(response.url, location)
        if not _same_origin_or_upgrade(response.url, target):
            headers.pop("Authorization", None)
        url, params = target, None  # the query, if any, is in the Location
    raise RegistryError(f"{what}: more than {MAX_REDIRECTS} redirects, the last from {host}")


def _same_origin_or_upgrade(old, new):
    old, new = urllib.parse.urlsplit(old), urllib.parse.urlsplit(new)
    if old.hostname != new.hostname:
        return False
    if old.scheme == new.scheme:
        return old.port == new.port
    # http to https on the same host and default ports, as requests allows too
    return (old.scheme, new.scheme) == ("http", "https") and old.port in (None, 80) and (
        new.port in (None, 443)
    )


def _read_answer(response, method, deadline, host, what):
    """Read the body of `response` (sent with stream=True): at most _MAX_BODY bytes, and
    never past the run's deadline, which a body sent a few bytes at a time would
    otherwise outlast (the read timeout only bounds each wait for the next bytes)."""
    chunks, size = [], 0
    try:
        while size < _MAX_BODY:
            if deadline.remaining() <= 0:
                raise RegistryError(
                    f"{what}: {host} was still sending its answer when the run's time budget "
                    f"({deadline.seconds:g}s, --timeout) ran out"
                )
            chunk = response.raw.read1(_READ_CHUNK, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        raise RegistryError(f"{what}: {host} broke off its answer: {_describe(error)}") from None
    finally:
        response.close()
    return Answer(method, response.status_code, response.headers, b"".join(chunks)[:_MAX_BODY])


def _media_type(response):
    """The answer's Content-Type without its parameters (such as a charset)."""
    return response.headers.get("Content-Type", "").split(";")[0].strip()


def _is_json(response):
    content_type = _media_type(response).lower()
    return content_type == "application/json" or content_type.endswith("+json")


def _unknown_manifest(response):
    """A registry's 404 naming the manifest or the repository unknown, as JSON."""
    return (
        response.status_code == 404
        and _is_json(response)
        and bool(_error_codes(response) & {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})
    )


def _answered_by_a_registry(response):
    # The distribution API's own header, sent with every answer by the reference registry,
    # Docker Hub, ECR and the other registries this tool is meant for.
    return "Docker-Distribution-API-Version" in response.headers


def _error_codes(response):
    """The `code`s of a registry error body, empty when there is none to read."""
    try:
        body = json.loads(response.content[:_MAX_ERROR_BODY])
        return {str(error.get("code", "")) for error in body.get("errors") or []}
    except (ValueError, AttributeError, TypeError):
        return set()


def _timed_out(error):
    """Whether the request failed for want of an answer in time. With retries configured,
    requests reports a read timeout that used up the retries as a ConnectionError holding
    urllib3's MaxRetryError, not as requests.Timeout."""
    if isinstance(error, requests.Timeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    # urllib3 makes a refused connection and a name that does not resolve subclasses of
    # its connect timeout: they are no timeout, and a longer --timeout would not help.
    return isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )


def _describe(error):
    # requests wraps urllib3's errors several levels deep; the innermost says what happened.
    text = str(error)
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.SSLError):
        if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
            return (
                f"{text[:200]} (the registry does not speak TLS here; if it serves plain "
                "HTTP, name its host in --insecure-registry)"
            )
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return (
                f"{text[:200]} (its certificate is not trusted: give the CA bundle in "
                "REQUESTS_CA_BUNDLE, and in SSL_CERT_FILE for crane)"
            )
    return text[:300]


def _error_detail(response):
    """The registry's own words about an error, as a short suffix; empty if it gave none."""
    if response.method == "HEAD":
        return ""
    try:
        body = json.loads(response.content[:_MAX_ERROR_BODY])
        errors = body.get("errors") or []
        messages = [f"{e.get('code', '')} {e.get('message', '')}".strip() for e in errors[:3]]
    except (ValueError, AttributeError, TypeError):
        # A diagnostic only: a body we cannot read (HTML, truncated JSON) adds nothing.
        return ""
    return f" ({'; '.join(messages)[:300]})" if messages else ""


def _jwt_granted_actions(token, repository):
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return None
    access = claims.get("access") if isinstance(claims, dict) else None
    if not isinstance(access, list):
        return None
    granted = set()
    for entry in access:
        if (
            isinstance(entry, dict)
            and entry.get("type") == "repository"
            and entry.get("name") == repository
        ):
            actions = entry.get("actions") or []
            if not isinstance(actions, list):
                return None  # grants we cannot read: the registry itself will tell
            granted.update(action for action in actions if isinstance(action, str))
    return granted


def blob_bytes(manifest_bytes):
    """What the blobs of an image manifest add up to (config and layers), in bytes; None
    for an index, whose platforms' sizes only their own manifests tell, or when a size is
    missing, negative or not a whole number."""
    document = json.loads(manifest_bytes)
    if not isinstance(document, dict) or "manifests" in document:
        return None
    blobs = [document.get("config")] + list(document.get("layers") or [])
    sizes = [blob.get("size") if isinstance(blob, dict) else None for blob in blobs]
    if not all(_is_size(size) for size in sizes):
        return None
    return sum(sizes)


def _is_size(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_source_manifest(manifest_bytes, content_type, what):
    """The media type of a source manifest and, for an index, the digests it names;
    raises RegistryError for bytes that are not a manifest this tool copies, before any
    copy starts.

    Some registries serve a manifest with a generic Content-Type; its own mediaType field
    says then what it is."""
    try:
        document = json.loads(manifest_bytes)
    except ValueError:  # also bytes that are not UTF-8
        raise RegistryError(f"{what}: the registry served bytes that are not JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"{what}: the registry served JSON that is not a manifest")
    declared = document.get("mediaType")
    media_type = next(
        (kind for kind in (content_type, declared) if kind in MANIFEST_MEDIA_TYPES), None
    )
    if media_type is None:
        shown = content_type or declared or "none given"
        raise RegistryError(
            f"{what}: the manifest is of type {str(shown)[:100]!r}; only Docker schema 2 and "
            "OCI images and indexes are copied (push the image with a current Docker or "
            "buildx to the source repository)"
        )
    if media_type in INDEX_MEDIA_TYPES:
        entries = document.get("manifests")
        if not isinstance(entries, list) or not all(
            isinstance(entry, dict)
            and isinstance(entry.get("digest"), str)
            and _DIGEST.fullmatch(entry["digest"])
            for entry in entries
        ):
            raise RegistryError(
                f"{what}: the index does not list its manifests as digests, as an index must"
            )
        return media_type, [entry["digest"] for entry in entries]
    if not isinstance(document.get("config"), dict) or not isinstance(
        document.get("layers", []), list
    ):
        raise RegistryError(
            f"{what}: the image manifest has no config or no list of layers, as one must"
        )
    return media_type, []
