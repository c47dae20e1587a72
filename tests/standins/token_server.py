"""A token service that behaves like Docker Hub's, for the Docker Hub stand-in registry.

Basic auth in, a signed JWT out whose `access` claim lists what was granted. As on Docker
Hub: a wrong password gets 401; a namespace the user does not own gets a token with empty
access (not an error); anonymous requests get empty access. `fail_with` makes it answer
every request with a given status, to play an outage.
"""

import base64
import datetime
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from standins.network import LOOPBACK

TOKEN_LIFETIME = 300


class TokenServer:
    def __init__(
        self, users, namespaces, service="registry.standin", issuer="standin-token-service"
    ):
        """`users`: {username: password}; `namespaces`: {namespace: {usernames}}."""
        self.users = dict(users)
        self.namespaces = {name: set(owners) for name, owners in namespaces.items()}
        self.service = service
        self.issuer = issuer
        self.fail_with = None
        self.token_lifetime = TOKEN_LIFETIME
        self.requests = []  # (user or None, scope list, status): never passwords
        self._directory = tempfile.mkdtemp(prefix="standin-token-")
        self._key, certificate = _self_signed_certificate()
        self.certificate_path = os.path.join(self._directory, "token-ca.pem")
        with open(self.certificate_path, "wb") as pem:
            pem.write(certificate.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.realm = f"http://{LOOPBACK}:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        # The signing key and certificate: read by the registry at its start only.
        shutil.rmtree(self._directory, ignore_errors=True)

    def registry_auth_config(self):
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": self.certificate_path,
        }

    def issue(self, user, scopes):
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            namespace = name.split("/", 1)[0]
            owned = user is not None and user in self.namespaces.get(namespace, set())
            granted = [a for a in actions.split(",") if a in ("pull", "push")] if owned else []
            access.append({"type": "repository", "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + self.token_lifetime,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        # The key object, not its PEM: PyJWT would parse and check a PEM key again for
        # every token, tens of milliseconds each, which would slow every tool under test.
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"x5c": [self._x5c]})

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                scopes = query.get("scope", [])
                if url.path != "/token":
                    return self._answer(404, {"details": "not found"})
                if server.fail_with:
                    server.requests.append((None, scopes, server.fail_with))
                    return self._answer(server.fail_with, {"details": "service unavailable"})
                user = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    try:
                        pair = base64.b64decode(header[6:]).decode()
                    except ValueError:
                        return self._answer(400, {"details": "bad authorization header"})
                    name, _, password = pair.partition(":")
                    if server.users.get(name) != password:
                        server.requests.append((name, scopes, 401))
                        return self._answer(401, {"details": "incorrect username or password"})
                    user = name
                token = server.issue(user, scopes)
                server.requests.append((user, scopes, 200))
                issued = datetime.datetime.now(datetime.timezone.utc).isoformat()
                self._answer(
                    200,
                    {
                        "token": token,
                        "access_token": token,
                        "expires_in": server.token_lifetime,
                        "issued_at": issued,
                    },
                )

            def _answer(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


def _self_signed_certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "standin-token-service")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate
