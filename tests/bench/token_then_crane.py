"""The least a promotion built on the AWS SDK and crane can take: the logins, made in a
fresh process the way `ecr-to-docker promote` makes them, then crane's copy, and nothing
else (no check of the destination, no pinning, no read-back). Each case takes the cheaper
of two ways to give crane the destination:

- one image: the ECR token, then crane with the destination's password. crane asks the
  token service itself; loading an HTTP client to ask first would cost this process more
  than it saves crane.
- a list (a batch), JOBS copies at a time: one ECR token and a token per destination
  repository, asked side by side, handed to crane as our command hands them, one Go
  thread per copy. Each crane would otherwise ask the token service about six times.

Timed beside the other tools, so that the targets can be read against what the logins
and the copy engine cost on this machine. Not a tool anyone should use: it overwrites
whatever the tags held.

    python token_then_crane.py SOURCE DESTINATION
    python token_then_crane.py --from-file LIST JOBS    # LIST: one "SOURCE DESTINATION" a line
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ecr_to_docker import ecr_login, parallel
from ecr_to_docker.credentials import Credentials
from ecr_to_docker.deadline import Deadline
from ecr_to_docker.ecr_host import EcrRegistry


def _base64(text):
    return base64.b64encode(text.encode()).decode()


def _destination_token(destination, deadline):
    """A pull,push token for the destination's repository, as the command asks for it."""
    from ecr_to_docker.registry import RegistryClient

    host, path = destination.split("/", 1)
    repository = path.rsplit(":", 1)[0]
    environment = os.environ
    credentials = Credentials(environment["DOCKERHUB_USERNAME"], environment["DOCKERHUB_PASSWORD"])
    client = RegistryClient(
        host, repository, credentials, deadline, insecure=True, role="destination"
    )
    client.login(("pull", "push"))
    return host, client.token_lasting(0)


def main(pairs, jobs):
    environment = os.environ
    deadline = Deadline(60)
    registry = EcrRegistry(
        environment["ECR_TO_DOCKER_ECR_REGISTRY_ID"], environment["ECR_TO_DOCKER_AWS_REGION"]
    )
    if len(pairs) == 1:
        login = ecr_login.login(registry, deadline)
        destination_key = pairs[0][1].split("/", 1)[0]
        password = f"{environment['DOCKERHUB_USERNAME']}:{environment['DOCKERHUB_PASSWORD']}"
        destination_auths = [(destination_key, {"auth": _base64(password)})]
    else:
        logins = [lambda: ecr_login.login(registry, deadline)]
        logins += [lambda pair=pair: _destination_token(pair[1], deadline) for pair in pairs]
        login, *tokens = parallel.run_bounded(logins, min(len(logins), 4 * jobs))
        destination_auths = [(key, {"registrytoken": token}) for key, token in tokens]
    source_key = pairs[0][0].split("/", 1)[0]
    source_auth = {"auth": _base64(f"{login.credentials.username}:{login.credentials.password}")}
    crane_environment = dict(environment)
    if jobs > 1:  # as the command runs copies side by side: one Go thread each
        crane_environment.setdefault("GOMAXPROCS", "1")

    def copy(pair_and_auth):
        (source, destination), (destination_key, destination_auth) = pair_and_auth
        directory = tempfile.mkdtemp(prefix="token-then-crane-")
        try:
            with open(os.path.join(directory, "config.json"), "w") as config:
                auths = {source_key: source_auth, destination_key: destination_auth}
                json.dump({"auths": auths}, config)
            command = [environment["CRANE"], "copy", "--insecure", source, destination]
            return subprocess.run(
                command, env=dict(crane_environment, DOCKER_CONFIG=directory)
            ).returncode
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    work = list(zip(pairs, destination_auths, strict=True))
    if len(work) == 1:
        return copy(work[0])
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return max(pool.map(copy, work))


def _arguments(argv):
    if argv[0] == "--from-file":
        with open(argv[1]) as listing:
            pairs = [tuple(line.split()) for line in listing if line.strip()]
        return pairs, int(argv[2])
    return [(argv[0], argv[1])], 1


if __name__ == "__main__":
    exit_code = main(*_arguments(sys.argv[1:4]))
    sys.stdout.flush()
    # As the command does: the interpreter's teardown of botocore's modules is not part of
    # what a promotion has to spend.
    os._exit(exit_code)
