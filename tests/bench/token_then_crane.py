"""The least any promotion built on the AWS SDK and crane can take: the ECR token, fetched
in a fresh process the way `ecr-to-docker promote` fetches it, then crane's copy, and
nothing else (no check of the destination, no pinning, no read-back).

Timed beside the other tools, so that the large-image target can be read against what the
required SDK and copy engine cost on this machine. Not a tool anyone should use: it
overwrites whatever the tag held.

    python token_then_crane.py SOURCE DESTINATION
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

from ecr_to_docker import ecr_login
from ecr_to_docker.deadline import Deadline
from ecr_to_docker.ecr_host import EcrRegistry


def _auth(username, password):
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def main(source, destination):
    environment = os.environ
    registry = EcrRegistry(
        environment["ECR_TO_DOCKER_ECR_REGISTRY_ID"], environment["ECR_TO_DOCKER_AWS_REGION"]
    )
    login = ecr_login.login(registry, Deadline(60))
    config_directory = tempfile.mkdtemp(prefix="token-then-crane-")
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
        completed = subprocess.run(
            [environment["CRANE"], "copy", "--insecure", source, destination],
            env=dict(environment, DOCKER_CONFIG=config_directory),
        )
        return completed.returncode
    finally:
        shutil.rmtree(config_directory, ignore_errors=True)


if __name__ == "__main__":
    exit_code = main(*sys.argv[1:3])
    sys.stdout.flush()
    # As the command does: the interpreter's teardown of botocore's modules is not part of
    # what a promotion has to spend.
    os._exit(exit_code)
