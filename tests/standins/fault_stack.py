"""The stand-ins with fault proxies in front of every service the promotion talks to.

The Docker Hub stand-in's token realm names a fault proxy in front of the token service
(that is the address the registry hands out in its challenge, so it has to be set when
the registry starts). The other services get fresh proxies for each run (`routes()`), so
that runs going on at the same time never count or fault each other's requests; the
token proxy is shared, and its rules name the run's repository in the scope they match.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from standins.fault_proxy import FaultProxy
from standins.network import LOOPBACK
from standins.stack import (
    HUB_NAMESPACE,
    StandInStack,
)
from standins.toxiproxy import Toxiproxy

# Distinctive, so that finding it in an output means it leaked (moto accepts any key).
AWS_SECRET_ACCESS_KEY = "fault-stack-aws-secret-access-key"


@dataclass
class Routes:
    """One run's way to the stand-ins: a proxy per service."""

    ecr_api: FaultProxy
    ecr: FaultProxy
    token: FaultProxy  # shared by every run
    hub: FaultProxy

    def source(self, repository, tag):
        return f"{self.ecr.host}/{repository}:{tag}"

    def destination(self, repository, tag):
        return f"{self.hub.host}/{HUB_NAMESPACE}/{repository}:{tag}"

    def environment_overrides(self):
        return {
            "AWS_ENDPOINT_URL": self.ecr_api.url,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET_ACCESS_KEY,
            "ECR_TO_DOCKER_INSECURE_REGISTRY": f"{self.ecr.host},{self.hub.host}",
        }


class FaultStack(StandInStack):
    def __init__(self):
        super().__init__()
        self.toxiproxy = None
        self.token_proxy = None
        self._fault_routes = {}
        self._lock = threading.Lock()  # runs set up their routes from several threads

    def start(self):
        self.toxiproxy = Toxiproxy().start()
        try:
            return super().start()
        except BaseException:
            self.stop()
            raise

    def _hub_token_auth(self):
        # The registry sends clients to the token service through a fault proxy, so that
        # token requests can fail too.
        self.token_proxy = self._proxy("token", f"{LOOPBACK}:{self.token_server.port}")
        self.token_proxy.collect_tokens = True
        self.token_proxy.start()
        return dict(self.token_server.registry_auth_config(), realm=f"{self.token_proxy.url}/token")

    def stop(self):
        super().stop()
        for part in (self.token_proxy, self.toxiproxy):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    pass

    @contextmanager
    def routes(self):
        host, port = self.moto.get_host_and_port()
        proxies = [
            self._proxy("ecr-api", f"{host}:{port}"),
            self._proxy("ecr", self.ecr.host),
            self._proxy("hub", self.hub.host),
        ]
        for proxy in proxies:
            proxy.start()
        try:
            yield Routes(proxies[0], proxies[1], self.token_proxy, proxies[2])
        finally:
            for proxy in proxies:
                proxy.stop()

    def _proxy(self, name, upstream):
        # One pair of toxiproxy routes per upstream, shared by all of its proxies: a
        # connection-level fault is a property of the route a request is sent along.
        with self._lock:
            if upstream not in self._fault_routes:
                self._fault_routes[upstream] = self.toxiproxy.fault_routes(name, upstream)
            return FaultProxy(upstream, name, self._fault_routes[upstream])
