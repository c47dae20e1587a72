"""A stand-in for the few Jenkins endpoints the `jenkins-credentials` command uses.

`make test` installs only from Debian, PyPI, Maven Central and the Go module proxy, where
neither Jenkins nor its Credentials plugin is published, so this plays their part,
modelled on the Credentials plugin's CredentialsStoreAction:

- HTTP Basic with a user's API token on every request; a wrong token is a 401;
- a CSRF crumb from `crumbIssuer/api/json`; a POST without the `Jenkins-Crumb` header that
  goes with the user is a 403;
- permissions per user (Overall/Read, Job/Read, Credentials/View, /Create, /Update); a
  missing one is a 403;
- folders as `job/<a>/job/<b>/`, a 404 for one that does not exist;
- the global store `credentials/store/system/domain/_/` and folder stores
  `job/.../credentials/store/folder/domain/_/`, with `createCredentials` (409 when the ID
  exists), `credential/<id>/config.xml` (GET and POST) and `credential/<id>/api/json`;
- GET config.xml answers with every secret replaced by `<secret-redacted/>`, as the
  plugin does, so a client can never read a secret back.

It keeps the exact bytes it was sent, so tests can assert on the XML a Jenkins would get.
Bound to 127.0.0.1 on a port the system picks; `start()` / `stop()`.
"""

import base64
import dataclasses
import hashlib
import json
import os
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"
CRUMB_FIELD = "Jenkins-Crumb"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
PIPELINE_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
USERNAME_PASSWORD_CLASS = "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl"
SECRET_TEXT_CLASS = "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl"
# The fields each class keeps as hudson.util.Secret, which Jenkins never shows.
SECRET_FIELDS = {USERNAME_PASSWORD_CLASS: ("password",), SECRET_TEXT_CLASS: ("secret",)}
PLUGINS = {
    USERNAME_PASSWORD_CLASS: "credentials@1337.v60b_d7b_c7b_c9f",
    SECRET_TEXT_CLASS: "plain-credentials@183.va_de8f1dd5a_2b_",
}

OVERALL_READ = "Overall/Read"
JOB_READ = "Job/Read"
VIEW = "Credentials/View"
CREATE = "Credentials/Create"
UPDATE = "Credentials/Update"
ALL_PERMISSIONS = frozenset({OVERALL_READ, JOB_READ, VIEW, CREATE, UPDATE})

DOMAIN_WRAPPER_CLASS = "com.cloudbees.plugins.credentials.CredentialsStoreAction$DomainWrapper"


@dataclasses.dataclass
class User:
    name: str
    token: str
    permissions: frozenset


@dataclasses.dataclass
class Stored:
    """A credential as received: the raw body, and the parsed document."""

    body: bytes
    root: ET.Element

    def field(self, name):
        return self.root.findtext(name)

    @property
    def kind(self):
        return self.root.tag


@dataclasses.dataclass
class Request:
    method: str
    path: str
    user: str
    status: int


class JenkinsStandIn:
    def __init__(self):
        self.users = {}
        self.items = {}  # full name -> class
        self.stores = {None: {}}  # None: the global store; else a folder's full name
        self.requests = []
        # Test knobs: answer every request with this status, or only after a delay.
        self.fail_with_status = None
        self.credentials_plugin = True
        self.delay_seconds = 0
        self._secret = os.urandom(16)  # what the crumbs are derived from
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.url = None

    # -- set-up --------------------------------------------------------------------------

    def add_user(self, name, token, permissions=ALL_PERMISSIONS):
        self.users[name] = User(name, token, frozenset(permissions))
        return self

    def add_folder(self, full_name):
        parts = full_name.split("/")
        for depth in range(1, len(parts) + 1):
            name = "/".join(parts[:depth])
            self.items.setdefault(name, FOLDER_CLASS)
            self.stores.setdefault(name, {})
        return self

    def add_job(self, full_name, item_class=PIPELINE_CLASS):
        self.items[full_name] = item_class
        return self

    def seed(self, xml_text, folder=None):
        """Put a credential in a store, as if made by hand."""
        body = xml_text.encode("utf-8")
        root = ET.fromstring(body)
        self.stores[folder][root.findtext("id")] = Stored(body, root)

    def start(self):
        stand_in = self

        class Handler(_Handler):
            jenkins = stand_in

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    # -- what tests look at --------------------------------------------------------------

    def store(self, folder=None):
        return self.stores[folder]

    def writes(self):
        return [request for request in self.requests if request.method == "POST"]

    def crumb_for(self, user):
        return hashlib.sha256(self._secret + user.encode()).hexdigest()

    # -- request handling ----------------------------------------------------------------

    def handle(self, method, raw_path, headers, body):
        """Returns (status, content type, body bytes)."""
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        user = self._authenticate(headers)
        if isinstance(user, tuple):
            return user
        if self.fail_with_status:
            return _text(self.fail_with_status, "Oops! A problem occurred.")
        if OVERALL_READ not in user.permissions:
            return _denied(user, OVERALL_READ)
        if method == "POST" and headers.get(CRUMB_FIELD) != self.crumb_for(user.name):
            return _text(403, "No valid crumb was included in the request")

        path = urllib.parse.urlsplit(raw_path).path
        segments = [urllib.parse.unquote(part) for part in path.strip("/").split("/") if part]

        if segments == ["crumbIssuer", "api", "json"] and method == "GET":
            return _json(
                {
                    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                    "crumb": self.crumb_for(user.name),
                    "crumbRequestField": CRUMB_FIELD,
                }
            )
        if segments == ["me", "api", "json"] and method == "GET":
            return _json({"_class": "hudson.model.User", "id": user.name, "fullName": user.name})
        if segments == ["api", "json"] and method == "GET":
            return _json({"_class": "hudson.model.Hudson", "mode": "NORMAL"})

        folder = []
        while len(segments) >= 2 and segments[0] == "job":
            folder.append(segments[1])
            segments = segments[2:]
        if folder:
            full_name = "/".join(folder)
            # Jenkins answers 404, not 403, for items a user may not see.
            if full_name not in self.items or JOB_READ not in user.permissions:
                return _text(404, "Not Found")
            if segments == ["api", "json"] and method == "GET":
                return _json(
                    {
                        "_class": self.items[full_name],
                        "name": folder[-1],
                        "fullName": full_name,
                        "jobs": [],
                    }
                )
            if self.items[full_name] != FOLDER_CLASS or segments[:3] != [
                "credentials",
                "store",
                "folder",
            ]:
                return _text(404, "Not Found")
            return self._store_request(method, full_name, segments[3:], user, headers, body)
        if segments[:3] == ["credentials", "store", "system"]:
            return self._store_request(method, None, segments[3:], user, headers, body)
        return _text(404, "Not Found")

    def _authenticate(self, headers):
        value = headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return _text(403, "Authentication required")
        try:
            name, _, token = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        except ValueError:
            return _text(400, "Bad Authorization header")
        user = self.users.get(name)
        if user is None or user.token != token:
            return _text(401, f"Invalid password/token for user: {name}")
        return user

    def _store_request(self, method, folder, segments, user, headers, body):
        if segments[:2] != ["domain", "_"] or not self.credentials_plugin:
            return _text(404, "Not Found")
        store = self.stores[folder]
        rest = segments[2:]
        if rest == ["api", "json"] and method == "GET":
            if VIEW not in user.permissions:
                return _denied(user, VIEW)
            return _json(
                {
                    "_class": DOMAIN_WRAPPER_CLASS,
                    "credentials": [{"id": key} for key in store],
                }
            )
        if rest == ["createCredentials"] and method == "POST":
            if CREATE not in user.permissions:
                return _denied(user, CREATE)
            parsed = _parse_credential(headers, body)
            if isinstance(parsed, tuple):
                return parsed
            with self._lock:
                if parsed.field("id") in store:
                    return _text(409, "Conflict")
                store[parsed.field("id")] = parsed
            return _text(200, "")
        if len(rest) >= 2 and rest[0] == "credential":
            credential_id, tail = rest[1], rest[2:]
            if credential_id not in store:
                return _text(404, "Not Found")
            if tail == ["api", "json"] and method == "GET":
                if VIEW not in user.permissions:
                    return _denied(user, VIEW)
                return _json(
                    {
                        "_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction"
                        "$CredentialsWrapper",
                        "id": credential_id,
                        "description": store[credential_id].field("description"),
                        "displayName": credential_id,
                    }
                )
            if tail == ["config.xml"] and method == "GET":
                if VIEW not in user.permissions:
                    return _denied(user, VIEW)
                return 200, "application/xml;charset=UTF-8", _redacted(store[credential_id])
            if tail == ["config.xml"] and method == "POST":
                if UPDATE not in user.permissions:
                    return _denied(user, UPDATE)
                parsed = _parse_credential(headers, body)
                if isinstance(parsed, tuple):
                    return parsed
                with self._lock:
                    del store[credential_id]
                    store[parsed.field("id")] = parsed
                return _text(200, "")
        return _text(404, "Not Found")


class _Handler(BaseHTTPRequestHandler):
    jenkins = None  # set on the subclass made by JenkinsStandIn.start

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, content_type, payload = self.jenkins.handle(
            self.command, self.path, self.headers, body
        )
        self.jenkins.requests.append(
            Request(
                self.command, urllib.parse.urlsplit(self.path).path, _user_of(self.headers), status
            )
        )
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Jenkins"')
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def _user_of(headers):
    value = headers.get("Authorization", "")
    try:
        return base64.b64decode(value[6:]).decode("utf-8").partition(":")[0]
    except ValueError:
        return ""


def _parse_credential(headers, body):
    content_type = headers.get("Content-Type") or ""
    if not content_type.startswith(("application/xml", "text/xml")):
        return _text(400, "No Content-Type header set" if not content_type else "Bad Request")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return _text(500, "Failed to parse credential")
    if root.tag not in SECRET_FIELDS or not (root.findtext("id") or "").strip():
        return _text(500, f"Unable to convert {root.tag}")
    return Stored(body, root)


def _redacted(stored):
    """config.xml as Jenkins shows it: the plugin attribute added, secrets redacted."""
    root = ET.fromstring(stored.body)
    root.set("plugin", PLUGINS.get(root.tag, "credentials@1337.v60b_d7b_c7b_c9f"))
    for name in SECRET_FIELDS.get(root.tag, ()):
        field = root.find(name)
        if field is not None:
            field.text = None
            ET.SubElement(field, "secret-redacted")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _text(status, text):
    return status, "text/plain;charset=UTF-8", text.encode("utf-8")


def _json(value):
    return 200, "application/json;charset=UTF-8", json.dumps(value).encode("utf-8")


def _denied(user, permission):
    return _text(403, f"{user.name} is missing the {permission} permission")
