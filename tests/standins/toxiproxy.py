"""toxiproxy (Shopify's TCP fault proxy), started on loopback for connection-level faults.

Each upstream gets two routes: one whose connections are reset (TCP RST) as soon as the
upstream starts to answer, and one whose answers are swallowed so that the client waits
until its own timeout. The fault proxy (standins.fault_proxy) sends the one request a
test picks through such a route, so the fault hits exactly that request.
"""

import json
import os
import shutil
import tempfile
import urllib.request

from standins.network import LOOPBACK, free_port, start_server, stop_server

INSTALL_HINT = (
    "toxiproxy-server is needed for the connection-level faults: install it with "
    "'GOBIN=$PWD/.tools/bin/.toxiproxy go install "
    "github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0 && "
    "mv .tools/bin/.toxiproxy/server .tools/bin/toxiproxy-server' (make setup does), "
    "or point TOXIPROXY_SERVER at the binary"
)


def find_server():
    return os.environ.get("TOXIPROXY_SERVER") or shutil.which("toxiproxy-server")


class Toxiproxy:
    def __init__(self, binary=None):
        self.binary = binary or find_server()
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise RuntimeError(INSTALL_HINT)
        self.port = free_port()
        self.api = f"http://{LOOPBACK}:{self.port}"
        self._process = None
        self._log = None

    def start(self):
        self._log = tempfile.TemporaryFile()
        self._process = start_server(
            [self.binary, "-host", LOOPBACK, "-port", str(self.port)],
            self._log,
            f"{self.api}/version",
        )
        return self

    def stop(self):
        stop_server(self._process)
        if self._log is not None:
            self._log.close()

    def fault_routes(self, name, upstream):
        """{"reset": host:port, "stall": host:port}, both leading to `upstream`."""
        return {
            "reset": self._route(f"{name}-reset", upstream, "reset_peer", {"timeout": 0}),
            # timeout 0: the answer is dropped and the connection is left open.
            "stall": self._route(f"{name}-stall", upstream, "timeout", {"timeout": 0}),
        }

    def _route(self, name, upstream, toxic, attributes):
        listen = f"{LOOPBACK}:{free_port()}"
        self._post(
            "/proxies", {"name": name, "listen": listen, "upstream": upstream, "enabled": True}
        )
        # Downstream: the request reaches the upstream whole, and the fault hits its answer,
        # the harder case for a client (a write may have happened).
        self._post(
            f"/proxies/{name}/toxics",
            {
                "name": toxic,
                "type": toxic,
                "stream": "downstream",
                "toxicity": 1.0,
                "attributes": attributes,
            },
        )
        return listen

    def _post(self, path, document):
        request = urllib.request.Request(
            self.api + path,
            data=json.dumps(document).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
