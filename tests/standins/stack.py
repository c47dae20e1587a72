"""All the stand-ins together: moto's ECR API, an ECR-like registry with Basic auth, and a
Docker Hub-like registry with a token service. Everything listens on 127.0.0.1 only."""

import logging
import os
import shutil
import tempfile

from moto.server import ThreadedMotoServer

from standins.images import ImagePusher
from standins.network import LOOPBACK, free_port
from standins.registry import DistributionRegistry
from standins.token_server import TokenServer

ECR_ACCOUNT = "123456789012"
# Deliberately not the agent's default region (AWS_DEFAULT_REGION below).
ECR_REGION = "eu-west-3"
DEFAULT_REGION = "us-east-1"
HUB_USER = "promoter"
# Every character a shell or a config format might trip over.
HUB_PASSWORD = "p4$$ `w0rd' \"with\\ :all! the-things"
HUB_NAMESPACE = "edp-demo"
OTHER_USER = "stranger"
OTHER_PASSWORD = "stranger-secret-value"
OTHER_NAMESPACE = "someone-else"


class StandInStack:
    def __init__(self, more_hub_users=None):
        """`more_hub_users`: {user: password} of further Docker Hub users who may push
        into HUB_NAMESPACE, as its owner may."""
        self.ecr_password = f"{ECR_ACCOUNT}-auth-token"  # what moto's ECR token carries
        self.more_hub_users = dict(more_hub_users or {})
        self.moto = None
        self.ecr = None
        self.token_server = None
        self.hub = None
        self.home = tempfile.mkdtemp(prefix="standin-home-")

    def start(self):
        # The ECR API server would otherwise log each request to stderr.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        try:
            self.moto = ThreadedMotoServer(ip_address=LOOPBACK, port=free_port(), verbose=False)
            self.moto.start()
            self.ecr = DistributionRegistry(
                "ecr", htpasswd_users={"AWS": self.ecr_password}
            ).start()
            self.token_server = TokenServer(
                users={HUB_USER: HUB_PASSWORD, OTHER_USER: OTHER_PASSWORD, **self.more_hub_users},
                namespaces={
                    HUB_NAMESPACE: {HUB_USER, *self.more_hub_users},
                    OTHER_NAMESPACE: {OTHER_USER},
                },
            ).start()
            self.hub = DistributionRegistry("hub", token_auth=self._hub_token_auth()).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _hub_token_auth(self):
        """The Docker Hub stand-in's token settings; a subclass may route the realm."""
        return self.token_server.registry_auth_config()

    def stop(self):
        for part in (self.hub, self.token_server, self.ecr, self.moto):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    pass
        shutil.rmtree(self.home, ignore_errors=True)

    @property
    def moto_url(self):
        host, port = self.moto.get_host_and_port()
        return f"http://{host}:{port}"

    def source_pusher(self):
        return ImagePusher(self.ecr.url, "AWS", self.ecr_password)

    def hub_pusher_for(self, repository):
        """A pusher into the Docker Hub stand-in (to plant an existing tag), with a token."""
        token = self.token_server.issue(HUB_USER, [f"repository:{repository}:pull,push"])
        pusher = ImagePusher(self.hub.url)
        pusher.session.headers["Authorization"] = f"Bearer {token}"
        return pusher

    def environment(self, **overrides):
        """What the CLI needs to run against the stand-ins, as a fresh environment."""
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "DOCKERHUB_USERNAME": HUB_USER,
            "DOCKERHUB_PASSWORD": HUB_PASSWORD,
            "DOCKERHUB_NAMESPACE": HUB_NAMESPACE,
            "ECR_TO_DOCKER_ECR_REGISTRY_ID": ECR_ACCOUNT,
            "ECR_TO_DOCKER_AWS_REGION": ECR_REGION,
            "ECR_TO_DOCKER_INSECURE_REGISTRY": f"{self.ecr.host},{self.hub.host}",
        }
        for name in ("CRANE", "PYTHONPATH", "VIRTUAL_ENV"):
            if os.environ.get(name):
                environment[name] = os.environ[name]
        environment.update(overrides)
        return {k: v for k, v in environment.items() if v is not None}

    def source(self, repository, tag):
        return f"{self.ecr.host}/{repository}:{tag}"

    def destination(self, repository, tag):
        return f"{self.hub.host}/{HUB_NAMESPACE}/{repository}:{tag}"
