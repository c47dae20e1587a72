"""`make demo`: a real promotion between real registries on this machine.

Starts the stand-ins (moto's ECR API, an ECR-like registry, a Docker Hub-like registry
with its token service), seeds a multi-platform image into the ECR stand-in, promotes it
with the real CLI, then runs the same promotion again to show the refusal. Everything it
started is stopped at the end.
"""

import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standins.stack import StandInStack  # noqa: E402

REPOSITORY = "edp/demo-app"
TAG = "1.0.0"


def banner(text):
    print(f"\n=== {text}", flush=True)


def promote(stack, environment):
    command = [
        "ecr-to-docker",
        "promote",
        stack.source(REPOSITORY, TAG),
        "--destination",
        stack.destination("demo-app", TAG),
    ]
    print("$ " + " ".join(shlex.quote(part) for part in command), flush=True)
    completed = subprocess.run(
        [sys.executable, "-m", "ecr_to_docker", *command[1:]],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    print(completed.stdout, end="", flush=True)
    print(f"exit code: {completed.returncode}", flush=True)
    return completed.returncode


def main():
    banner("starting the stand-ins on 127.0.0.1")
    stack = StandInStack().start()
    try:
        print(f"ECR API (moto):           {stack.moto_url}")
        print(f"ECR registry stand-in:    {stack.ecr.url}  (Basic auth, as ECR)")
        print(f"Docker Hub stand-in:      {stack.hub.url}")
        print(f"  and its token service:  {stack.token_server.realm}")

        banner(f"seeding {REPOSITORY}:{TAG}: linux/amd64 + linux/arm64 + an attestation")
        digest, _, children = stack.source_pusher().push_index(
            REPOSITORY, TAG, ["linux/amd64", "linux/arm64"], [512 * 1024, 64 * 1024], seed="demo"
        )
        print(f"source digest: {digest} ({len(children)} child manifests)")

        environment = stack.environment()
        print("the environment the command runs with (AWS_* point at the stand-ins):")
        for name in sorted(environment):
            if name.startswith(("AWS_", "ECR_TO_DOCKER_", "DOCKERHUB_NAMESPACE")):
                if "SECRET" not in name:
                    print(f"  {name}={environment[name]}")
        print("  DOCKERHUB_USERNAME, DOCKERHUB_PASSWORD, AWS_SECRET_ACCESS_KEY: set, not shown")
        print("(`make standins` keeps stand-ins like these running to try commands by hand)")

        banner("first run: the tag is free, so the image is promoted")
        first = promote(stack, environment)

        banner("second run: the same image again; the tag exists now, so it is refused (exit 3)")
        second = promote(stack, environment)

        banner(f"a new build is pushed to ECR under the same tag {TAG}")
        rebuilt, _, _ = stack.source_pusher().push_index(
            REPOSITORY, TAG, ["linux/amd64", "linux/arm64"], [512 * 1024], seed="demo-rebuilt"
        )
        print(f"source digest is now: {rebuilt}")

        banner("third run: Docker Hub's tag holds the first build; it is not overwritten (exit 3)")
        third = promote(stack, environment)

        banner("result")
        print(f"first run:  exit code {first} (0 = promoted, digest {digest})")
        print(f"second run: exit code {second} (3 = refused: same image, tag already published)")
        print(
            f"third run:  exit code {third} (3 = refused: a different image would have "
            "replaced a published tag)"
        )
        return 0 if (first, second, third) == (0, 3, 3) else 1
    finally:
        banner("stopping the stand-ins")
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
