"""The tools compared, each given what it needs the way its users give it: credentials in
its own configuration file (never on a command line), plain HTTP for the two loopback
registries, and nothing else from this machine's configuration."""

import base64
import json
import os
import shutil
import subprocess
import tempfile

from standins.stack import HUB_PASSWORD, HUB_USER

TOKEN_THEN_CRANE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "token_then_crane.py")

# Per image, what a hand-written pipeline stage does: log in to both registries with a
# fresh docker configuration, look at the destination tag, copy. There is no AWS CLI
# here, so the ECR password is the one the stand-in's token carries, given like the
# output of `aws ecr get-login-password`; the stage's ECR token call is therefore not in
# this loop's time, which makes the loop cheaper than the real stage.
CRANE_STAGE_LOOP = r"""
set -euo pipefail
while read -r source destination; do
    DOCKER_CONFIG="$(mktemp -d)"
    export DOCKER_CONFIG
    crane auth login "$ECR_HOST" -u AWS --password-stdin <<<"$ECR_PASSWORD" 2>/dev/null
    crane auth login "$HUB_HOST" -u "$HUB_USER" --password-stdin <<<"$HUB_PASSWORD" 2>/dev/null
    if crane digest --insecure "$destination" >/dev/null 2>&1; then
        echo "$destination already exists" >&2
        exit 3
    fi
    crane copy --insecure "$source" "$destination" 2>/dev/null
    rm -rf "$DOCKER_CONFIG"
done < "$1"
"""

# Per image, one run of the floor (token_then_crane.py): both logins, then the copy.
FLOOR_SINGLE_LOOP = r"""
set -euo pipefail
while read -r source destination; do
    "$FLOOR_PYTHON" "$FLOOR_SCRIPT" "$source" "$destination" >/dev/null 2>&1
done < "$1"
"""

# Per image, one run of our command: ECR login, both checks, copy, tag, verification.
OURS_SINGLE_LOOP = r"""
set -euo pipefail
while read -r source destination; do
    ecr-to-docker promote "$source" --destination "$destination" >/dev/null 2>&1
done < "$1"
"""


def _basic(username, password):
    return base64.b64encode(f"{username}:{password}".encode()).decode()


class Tools:
    def __init__(self, stack, workdir):
        self.stack = stack
        self.workdir = workdir
        self.crane_path = os.environ.get("CRANE") or shutil.which("crane")
        self.home = os.path.join(workdir, "home")
        os.makedirs(self.home)
        # crane reads $DOCKER_CONFIG/config.json; skopeo takes the same file as --authfile.
        self.docker_config = os.path.join(workdir, "docker-config")
        os.makedirs(self.docker_config, mode=0o700)
        self.auth_file = os.path.join(self.docker_config, "config.json")
        descriptor = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as auth:
            json.dump(
                {
                    "auths": {
                        stack.ecr.host: {"auth": _basic("AWS", stack.ecr_password)},
                        stack.hub.host: {"auth": _basic(HUB_USER, HUB_PASSWORD)},
                    }
                },
                auth,
            )
        self.regctl_home = os.path.join(workdir, "regctl-home")
        os.makedirs(self.regctl_home)
        self._configure_regctl()
        self._scripts = {}
        for name, text in (
            ("crane-stage-loop", CRANE_STAGE_LOOP),
            ("ours-single-loop", OURS_SINGLE_LOOP),
            ("floor-single-loop", FLOOR_SINGLE_LOOP),
        ):
            path = os.path.join(workdir, f"{name}.sh")
            with open(path, "w") as script:
                script.write(text)
            self._scripts[name] = path

    # -- environments -----------------------------------------------------------------

    def plain_environment(self, **extra):
        environment = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": self.home}
        environment.update(extra)
        return environment

    def ours_environment(self):
        return self.stack.environment()

    # -- one image --------------------------------------------------------------------

    def ours(self, source, destination, report_path):
        return (
            [
                "ecr-to-docker",
                "promote",
                source,
                "--destination",
                destination,
                "--report",
                report_path,
            ],
            self.ours_environment(),
        )

    def crane(self, source, destination):
        return (
            [self.crane_path, "copy", "--insecure", source, destination],
            self.plain_environment(DOCKER_CONFIG=self.docker_config),
        )

    def skopeo(self, source, destination):
        # skopeo remembers where it saw each blob (a cache under /var/lib/containers for
        # root) and would mount from there instead of uploading. A fresh HOME, read as a
        # rootless user's, gives each run an empty cache, as on a fresh build agent.
        home = tempfile.mkdtemp(prefix="skopeo-home-", dir=self.workdir)
        return (
            [
                "skopeo",
                "copy",
                "--all",
                "--preserve-digests",
                "--quiet",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--authfile",
                self.auth_file,
                f"docker://{source}",
                f"docker://{destination}",
            ],
            self.plain_environment(HOME=home, _CONTAINERS_ROOTLESS_UID="65534"),
        )

    def regctl(self, source, destination):
        return (
            ["regctl", "image", "copy", source, destination],
            self.plain_environment(HOME=self.regctl_home),
        )

    def token_then_crane(self, source, destination):
        # The command's own interpreter, so that it imports the same SDK from the same place.
        python = os.path.join(os.path.dirname(shutil.which("ecr-to-docker")), "python")
        environment = self.ours_environment()
        environment["CRANE"] = self.crane_path
        return ([python, TOKEN_THEN_CRANE, source, destination], environment)

    def single_image_command(self, tool, source, destination, report_path):
        if tool == "ours":
            return self.ours(source, destination, report_path)
        if tool == "floor":
            return self.token_then_crane(source, destination)
        return getattr(self, tool)(source, destination)

    # -- many images ------------------------------------------------------------------

    def ours_batch(self, list_path, report_path, jobs):
        return (
            [
                "ecr-to-docker",
                "promote",
                "--from-file",
                list_path,
                "--jobs",
                str(jobs),
                "--report",
                report_path,
            ],
            self.ours_environment(),
        )

    def token_then_crane_batch(self, list_path, jobs):
        """The batch's floor: one ECR token, then every copy, `jobs` at a time, no checks."""
        command, environment = self.token_then_crane("--from-file", list_path)
        return command + [str(jobs)], environment

    def floor_single_loop(self, list_path):
        """A loop of single runs at the floor: what single runs could cost at the least."""
        (python, script, *_), environment = self.token_then_crane("", "")
        environment = dict(environment, FLOOR_PYTHON=python, FLOOR_SCRIPT=script)
        return (["bash", self._scripts["floor-single-loop"], list_path], environment)

    def ours_single_loop(self, list_path):
        return (["bash", self._scripts["ours-single-loop"], list_path], self.ours_environment())

    def crane_stage_loop(self, list_path):
        return (
            ["bash", self._scripts["crane-stage-loop"], list_path],
            self.plain_environment(
                ECR_HOST=self.stack.ecr.host,
                ECR_PASSWORD=self.stack.ecr_password,
                HUB_HOST=self.stack.hub.host,
                HUB_USER=HUB_USER,
                HUB_PASSWORD=HUB_PASSWORD,
                TMPDIR=self.workdir,
            ),
        )

    # -- checks and facts -------------------------------------------------------------

    def digest_of(self, reference):
        """The digest a tag resolves to, read with crane (outside any measured window)."""
        completed = subprocess.run(
            [self.crane_path, "digest", "--insecure", reference],
            env=self.plain_environment(DOCKER_CONFIG=self.docker_config),
            capture_output=True,
            text=True,
        )
        return completed.stdout.strip() if completed.returncode == 0 else None

    def versions(self):
        def first_line(command, environment=None):
            try:
                completed = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    env=environment or self.plain_environment(),
                )
            except OSError as error:
                return f"unavailable ({error})"
            text = (completed.stdout or completed.stderr).strip()
            return text.splitlines()[0] if text else "unknown"

        return {
            "ecr-to-docker": first_line(["ecr-to-docker", "--version"]),
            "crane": first_line([self.crane_path, "version"]),
            "skopeo": first_line(["skopeo", "--version"]),
            "regctl": first_line(["regctl", "version", "--format", "{{.VCSTag}}"]),
            "registry": first_line(["/usr/bin/docker-registry", "--version"]),
        }

    def _configure_regctl(self):
        environment = self.plain_environment(HOME=self.regctl_home)
        logins = (
            (self.stack.ecr.host, "AWS", self.stack.ecr_password),
            (self.stack.hub.host, HUB_USER, HUB_PASSWORD),
        )
        for host, username, password in logins:
            subprocess.run(
                ["regctl", "registry", "set", "--skip-check", "--tls", "disabled", host],
                env=environment,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                ["regctl", "registry", "login", host, "-u", username, "--pass-stdin"],
                input=password,
                text=True,
                env=environment,
                check=True,
                capture_output=True,
            )
