"""The least any promotion built on the AWS SDK and crane can take: the ECR token, fetched
in a fresh process the way `ecr-to-docker promote` fetches it, then crane's copy, and
nothing else (no check of the destination, no pinning, no read-back).

Timed beside the other tools, so that the targets can be read against what the required
SDK and copy engine cost on this machine: one image, or a list of them copied JOBS at a
time with one token for all (the batch's floor). Not a tool anyone should use: it
overwrites whatever the tags held.

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

from ecr_to_docker import ecr_login
from ecr_to_docker.deadline import Deadline
from ecr_to_docker.ecr_host import EcrRegistry


def _auth(username, password):
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def main(pairs, jobs):
    environment = os.environ
    registry = EcrRegistry(
        environment["ECR_TO_DOCKER_ECR_REGISTRY_ID"], environment["ECR_TO_DOCKER_AWS_REGION"]
    )
    login = ecr_login.login(registry, Deadline(60))
    config_directory = tempfile.mkdtemp(prefix="token-then-crane-")
    source, destination = pairs[0]
    try:
        with open(os.path.join(config_directory, "config.json"), "w") as config:
            json.dump(
                {
                    "auths": {
                        source.split("/", 1)[0]: _auth(
                            login.credentials.username, login.credentials.password
                        ),
                        destination.split("/", 1)[0]: _auth(
                            environment["DOCKERHUB_USERNAME"], environment["DOCKERHUB_PASSWORD"]
                        ),
                    }
                },
                config,
            )
        crane_environment = dict(environment, DOCKER_CONFIG=config_directory)

        def copy(pair):
            command = [environment["CRANE"], "copy", "--insecure", *pair]
            return subprocess.run(command, env=crane_environment).returncode

        if len(pairs) == 1:
            return copy(pairs[0])
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return max(pool.map(copy, pairs))
    finally:
        shutil.rmtree(config_directory, ignore_errors=True)


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
