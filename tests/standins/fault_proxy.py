"""An HTTP reverse proxy that injects faults into chosen requests, on 127.0.0.1.

It sits in front of one upstream (moto's ECR API, a registry, the token service) and
forwards everything else unchanged: the Host header stays the proxy's, so the registry
builds its upload `Location`s with the proxy's address (an absolute one that still names
the upstream is rewritten too); `WWW-Authenticate` and `Docker-Content-Digest` pass as
they are.

A `Rule` picks requests by method, by a regular expression over the decoded path and
query, and optionally by a header; from the `nth` matching request on, `times` of them
(every one when None) get the rule's action instead of a plain forward:

- `Answer`: the proxy answers itself (a 429 with a body and a Retry-After, a 503, ...);
- `ResetConnection` / `StallResponse`: connection-level faults, made by toxiproxy. The
  request is sent upstream through a toxiproxy route whose toxic resets the connection
  or swallows the response, and the proxy hands that fate on to the client;
- `Hold`: wait for the test (to deliver a signal, or to line up two runs) and forward.

Every manifest PUT that is passed on upstream is recorded with the digest of its body,
so a test can tell what a tag was ever set to, not only what it holds at the end; with
`collect_tokens`, every token a token service hands out is kept, so a test can look for
it in what the client printed.
"""

import hashlib
import json
import re
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple
from urllib.parse import unquote

from standins.network import LOOPBACK

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
_MANIFEST_PUT = re.compile(r"^/v2/(?P<repository>.+)/manifests/(?P<reference>[^/?]+)$")
# How long the proxy waits on its upstream before it gives up on a request itself.
UPSTREAM_TIMEOUT = 120


# -- actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Answer in the upstream's place, without forwarding the request."""

    status: int
    body: bytes = b""
    headers: Tuple[Tuple[str, str], ...] = ()

    def describe(self):
        return f"answer {self.status}"


@dataclass(frozen=True)
class ResetConnection:
    """The request reaches the upstream; the connection is reset before any answer."""

    def describe(self):
        return "connection reset"


@dataclass(frozen=True)
class StallResponse:
    """The request reaches the upstream; its answer never arrives."""

    def describe(self):
        return "response stalled"


@dataclass(frozen=True)
class ReplaceStatus:
    """The request reaches the upstream; its answer comes back with another status."""

    status: int

    def describe(self):
        return f"status replaced by {self.status}"


class Hold:
    """Stop the matching request until `release` is set (or `limit` seconds pass), then
    forward it. `arrived` is set when a matching request is being held; with `party`,
    a threading.Barrier, the held requests are let go together once all have arrived."""

    def __init__(self, limit=60, party=None):
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.limit = limit
        self.party = party

    def wait(self):
        self.arrived.set()
        if self.party is not None:
            try:
                self.party.wait(timeout=self.limit)
            except threading.BrokenBarrierError:
                pass
        else:
            self.release.wait(self.limit)

    def describe(self):
        return "held"


# -- rules --------------------------------------------------------------------------------


@dataclass
class Rule:
    method: str
    path: str  # regular expression, matched whole against the decoded path and query
    action: object
    header: Optional[Tuple[str, str]] = None  # (name, regular expression)
    nth: int = 1
    times: Optional[int] = None  # None: every matching request from the nth on
    seen: int = 0
    applied: int = 0

    def matches(self, method, target, headers):
        if method != self.method or not re.fullmatch(self.path, unquote(target)):
            return False
        if self.header is not None:
            name, pattern = self.header
            if not re.fullmatch(pattern, headers.get(name, "")):
                return False
        return True

    def take(self):
        """Count one matching request; True when it is one the action applies to."""
        self.seen += 1
        if self.seen < self.nth:
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        self.applied += 1
        return True


@dataclass
class Exchange:
    method: str
    target: str
    outcome: str  # the upstream's status, or what the proxy did instead
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ManifestWrite:
    repository: str
    reference: str
    digest: str
    outcome: str


# -- the proxy ----------------------------------------------------------------------------


class FaultProxy:
    def __init__(self, upstream, name, fault_routes=None):
        """`upstream`: host:port; `fault_routes`: {"reset": host:port, "stall": host:port},
        toxiproxy routes to the same upstream (see standins.toxiproxy)."""
        self.name = name
        self.upstream = upstream
        self.fault_routes = dict(fault_routes or {})
        self.rules = []
        self.exchanges = []
        self.manifest_writes = []
        self.collect_tokens = False
        self.tokens = set()
        self._lock = threading.Lock()
        self._server = _QuietServer((LOOPBACK, 0), _handler_for(self))
        self.port = self._server.server_address[1]
        self.host = f"{LOOPBACK}:{self.port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name=f"fault-proxy-{name}"
        )

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def add(self, rule):
        with self._lock:
            self.rules.append(rule)
        return rule

    def _choose(self, method, target, headers):
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, target, headers) and rule.take():
                    return rule.action
        return None

    def _record(self, method, target, outcome):
        with self._lock:
            self.exchanges.append(Exchange(method, target, outcome))

    def _record_manifest_write(self, target, body, outcome):
        match = _MANIFEST_PUT.match(target.split("?", 1)[0])
        if match:
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            with self._lock:
                self.manifest_writes.append(
                    ManifestWrite(match["repository"], match["reference"], digest, outcome)
                )

    def _record_tokens(self, payload):
        try:
            document = json.loads(payload)
        except ValueError:
            return
        if isinstance(document, dict):
            with self._lock:
                self.tokens.update(
                    document[key]
                    for key in ("token", "access_token")
                    if isinstance(document.get(key), str)
                )

    def issued_tokens(self):
        with self._lock:
            return set(self.tokens)

    def tag_writes(self, repository, tag):
        """Digests of every PUT of `repository:tag` that reached the upstream."""
        with self._lock:
            return [
                write.digest
                for write in self.manifest_writes
                if write.repository == repository and write.reference == tag
            ]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that reset or drop connections are part of the game here.
        pass


def _handler_for(proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self._handle()

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def log_message(self, *args):
            pass

        def finish(self):
            try:
                super().finish()
            except OSError:
                pass  # the connection was reset on purpose

        def _handle(self):
            body = self._read_body()
            action = proxy._choose(self.command, self.path, self.headers)
            if isinstance(action, Answer):
                proxy._record(self.command, self.path, action.describe())
                return self._answer(action)
            if isinstance(action, Hold):
                proxy._record(self.command, self.path, action.describe())
                action.wait()
                action = None
            route = proxy.upstream
            if isinstance(action, (ResetConnection, StallResponse)):
                kind = "reset" if isinstance(action, ResetConnection) else "stall"
                route = proxy.fault_routes[kind]
            self._forward(route, body, action)

        def _read_body(self):
            length = self.headers.get("Content-Length")
            if length is not None:
                return self.rfile.read(int(length))
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        # Trailers end with an empty line.
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return b""

        def _answer(self, answer):
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        def _forward(self, route, body, action):
            host, port = route.rsplit(":", 1)
            upstream = HTTPConnection(host, int(port), timeout=UPSTREAM_TIMEOUT)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers.pop("Content-Length", None)
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                if self.command == "PUT":
                    proxy._record_manifest_write(self.path, body, "sent")
                if isinstance(action, StallResponse):
                    return self._stall(upstream)
                response = upstream.getresponse()
            except (OSError, HTTPException) as error:
                proxy._record(self.command, self.path, f"upstream failed: {type(error).__name__}")
                return self._reset()
            status = action.status if isinstance(action, ReplaceStatus) else None
            try:
                self._relay(response, status)
            finally:
                upstream.close()

        def _relay(self, response, status=None):
            payload = b"" if self.command == "HEAD" else response.read()
            status = status or response.status
            proxy._record(self.command, self.path, str(status))
            if proxy.collect_tokens and response.status == 200:
                proxy._record_tokens(payload)
            self.send_response_only(status, response.reason if status == response.status else None)
            for name, value in response.getheaders():
                lower = name.lower()
                if lower in _HOP_BY_HOP or lower == "content-length":
                    continue
                if lower == "location":
                    value = value.replace(f"http://{proxy.upstream}", proxy.url)
                self.send_header(name, value)
            # A HEAD's Content-Length describes the body a GET would have returned.
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def _stall(self, upstream):
            """Nothing comes back; wait until the client gives up, then close both."""
            proxy._record(self.command, self.path, "stalled")
            deadline = time.monotonic() + UPSTREAM_TIMEOUT
            while time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.2)
                if readable:
                    try:
                        if not self.connection.recv(1, socket.MSG_PEEK):
                            break
                    except OSError:
                        break
            upstream.close()
            self.close_connection = True

        def _reset(self):
            """Pass a reset on: close the client's connection with an RST, not a FIN."""
            self.close_connection = True
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            except OSError:
                pass

    return Handler
