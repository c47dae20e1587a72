"""A yardstick for the benchmark: the logins, made in a fresh process the way
`ecr-to-docker promote` makes them, then crane's copy, and nothing else (no check of the
destination, no pinning, no read-back). crane gets its credentials the way our command
gives them: a private 0600 configuration, none of our secrets in its environment.

- one image: the ECR token, then crane with the destination's password, so that crane
  asks the destination's token service itself and this process loads no HTTP client.
- a list (a batch), JOBS copies at a time: one ECR token and a token per destination
  repository, asked side by side before any copy, each handed to crane, with one Go
  thread per copy, as our command runs copies side by side.

Not a tool anyone should use: it overwrites whatever the tags held.

    python token_then_crane.py SOURCE DESTINATION
    python token_then_crane.py --from-file LIST JOBS    # LIST: one "SOURCE DESTINATION" a line
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from ecr_to_docker import copier, ecr_login, parallel
from ecr_to_docker.credentials import Credentials
from ecr_to_docker.deadline import Deadline
from ecr_to_docker.ecr_host import EcrRegistry


def _host(reference):
    return reference.split("/", 1)[0]


def _destination_token(destination, credentials, deadline):
    """A pull,push token for the destination's repository, as the command asks for it."""
    from ecr_to_docker.registry import RegistryClient

    repository = destination.split("/", 1)[1].rsplit(":", 1)[0]
    client = RegistryClient(
        _host(destination), repository, credentials, deadline, insecure=True, role="destination"
    )
    client.login(("pull", "push"))
    return client.token_lasting(0)


def main(pairs, jobs, batch):
    environment = os.environ
    deadline = Deadline(600)
    registry = EcrRegistry(
        environment["ECR_TO_DOCKER_ECR_REGISTRY_ID"], environment["ECR_TO_DOCKER_AWS_REGION"]
    )
    hub = Credentials(environment["DOCKERHUB_USERNAME"], environment["DOCKERHUB_PASSWORD"])
    if batch:
        logins = [lambda: ecr_login.login(registry, deadline)]
        logins += [lambda pair=pair: _destination_token(pair[1], hub, deadline) for pair in pairs]
        login, *tokens = parallel.run_bounded(logins, min(len(logins), 4 * jobs))
    else:
        login, tokens = ecr_login.login(registry, deadline), [None]

    def copy(pair_and_token):
        (source, destination), token = pair_and_token
        credentials = {_host(source): login.credentials}
        if token is None:  # a single image, or a token service that gave no token
            credentials[_host(destination)] = hub
        tokens_by_host = {_host(destination): token} if token is not None else {}
        with copier.private_docker_config(credentials, tokens_by_host) as directory:
            copier.copy(
                copier.find_crane(),
                source,
                destination,
                directory,
                deadline,
                insecure=True,
                go_threads=1 if jobs > 1 else None,
            )

    work = list(zip(pairs, tokens, strict=True))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(copy, work))  # re-raises the first failed copy
    return 0


def _arguments(argv):
    if argv and argv[0] == "--from-file":
        with open(argv[1]) as listing:
            pairs = [tuple(line.split()) for line in listing if line.strip()]
        jobs = int(argv[2])
        if not pairs or jobs < 1:
            sys.exit("an empty list, or JOBS below 1")
        return pairs, jobs, True
    return [(argv[0], argv[1])], 1, False


if __name__ == "__main__":
    exit_code = main(*_arguments(sys.argv[1:4]))
    sys.stdout.flush()
    # As the command does: the interpreter's teardown of botocore's modules is not part of
    # what a promotion has to spend.
    os._exit(exit_code)
