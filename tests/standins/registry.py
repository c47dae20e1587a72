"""The reference distribution registry (Debian's docker-registry), started on loopback.

Two modes: htpasswd Basic auth (the ECR stand-in: ECR itself answers with a Basic
challenge) and token auth against a token service (the Docker Hub stand-in).
"""

import os
import shutil
import tempfile

import bcrypt

from standins.network import LOOPBACK, free_port, start_server, stop_server

REGISTRY_BINARY = os.environ.get("DOCKER_REGISTRY_BINARY", "/usr/bin/docker-registry")


class DistributionRegistry:
    def __init__(self, name, *, htpasswd_users=None, token_auth=None):
        """`htpasswd_users`: {user: password}; `token_auth`: dict(realm, service, issuer,
        rootcertbundle). Exactly one of them."""
        self.name = name
        self.port = free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        self.url = f"http://{self.host}"
        self._htpasswd_users = htpasswd_users
        self._token_auth = token_auth
        self._directory = tempfile.mkdtemp(prefix=f"standin-{name}-")
        self.log_path = os.path.join(self._directory, "registry.log")
        self._process = None

    def start(self):
        if not os.path.exists(REGISTRY_BINARY):
            raise RuntimeError(f"{REGISTRY_BINARY} is missing: apt-get install docker-registry")
        config_path = os.path.join(self._directory, "config.yml")
        with open(config_path, "w") as config:
            config.write(self._config())
        self._log = open(self.log_path, "ab")
        self._process = start_server(
            [REGISTRY_BINARY, "serve", config_path], self._log, f"{self.url}/v2/"
        )
        return self

    def stop(self):
        stop_server(self._process)
        if self._process is not None:
            self._log.close()
        shutil.rmtree(self._directory, ignore_errors=True)

    def storage_path(self, *parts):
        return os.path.join(self._directory, "storage", "docker", "registry", "v2", *parts)

    def has_repository(self, repository):
        """Whether anything at all was ever written to `repository` (read from disk, so
        no request of ours can change the answer)."""
        return os.path.exists(self.storage_path("repositories", repository))

    def blob_count(self):
        count = 0
        for _, _, files in os.walk(self.storage_path("blobs")):
            count += files.count("data")
        return count

    def access_log_lines(self):
        with open(self.log_path, "rb") as log:
            return [line.decode(errors="replace") for line in log if b"response completed" in line]

    def _config(self):
        storage = os.path.join(self._directory, "storage")
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  formatter: text",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
            "  secret: stand-in-not-secret",
            "auth:",
        ]
        if self._htpasswd_users is not None:
            htpasswd = os.path.join(self._directory, "htpasswd")
            with open(htpasswd, "w") as passwords:
                for user, password in self._htpasswd_users.items():
                    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
                    passwords.write(f"{user}:{hashed}\n")
            lines += ["  htpasswd:", f"    realm: {self.name}", f"    path: {htpasswd}"]
        else:
            token = self._token_auth
            lines += [
                "  token:",
                f"    realm: {token['realm']}",
                f"    service: {token['service']}",
                f"    issuer: {token['issuer']}",
                f"    rootcertbundle: {token['rootcertbundle']}",
            ]
        return "\n".join(lines) + "\n"
