"""`make standins`: the demo's stand-ins, left running so that you can try the command
by hand. Prints the environment to export, seeds a sample image, and waits for Ctrl-C.
A stand-in of Jenkins' credential stores runs too, for `ecr-to-docker jenkins-credentials`.

The credentials printed are the stand-ins' own fixed test values, not secrets of yours.
"""

import os
import shlex
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standins.jenkins import JenkinsStandIn  # noqa: E402
from standins.stack import HUB_NAMESPACE, StandInStack  # noqa: E402

JENKINS_USER = "admin"
JENKINS_TOKEN = "jenkins-api-token-of-the-stand-in"


def main():
    stack = StandInStack().start()
    jenkins = JenkinsStandIn().add_user(JENKINS_USER, JENKINS_TOKEN).add_folder("team").start()
    try:
        digest, _, _ = stack.source_pusher().push_index(
            "edp/sample", "1.0.0", ["linux/amd64", "linux/arm64"], [256 * 1024], seed="sample"
        )
        # Two more images and a list of all three, to try a batch.
        for name in ("api", "web"):
            stack.source_pusher().push_image(f"edp/{name}", "1.0.0", [128 * 1024], seed=name)
        image_list = os.path.join(stack.home, "release.txt")
        with open(image_list, "w") as release:
            release.write("# SOURCE DEST, one image per line\n")
            for name in ("sample", "api", "web"):
                release.write(
                    f"{stack.source(f'edp/{name}', '1.0.0')} "
                    f"{stack.destination(f'batch-{name}', '1.0.0')}\n"
                )
        environment = stack.environment()
        print("# The stand-ins are running on 127.0.0.1. In another shell, paste:")
        for name in sorted(environment):
            if name.startswith(("AWS_", "DOCKERHUB_", "ECR_TO_DOCKER_")):
                print(f"export {name}={shlex.quote(environment[name])}")
        print(f"export PATH={shlex.quote(os.environ.get('PATH', ''))}")
        print("# then, for example:")
        source = stack.source("edp/sample", "1.0.0")
        destination = stack.destination("sample", "1.0.0")
        print(f"ecr-to-docker promote {source} --destination {destination}")
        print(f"# ({source} is {digest}; Docker Hub namespace {HUB_NAMESPACE})")
        print("# Run it a second time to see the refusal: the tag exists now (exit 3).")
        print("# or several images at once (each line of the list names its DEST):")
        print(f"ecr-to-docker promote --from-file {image_list} --jobs 2")
        print(
            "# To push images of your own to the ECR stand-in (plain HTTP, hence --insecure;\n"
            "# a throwaway DOCKER_CONFIG keeps the login out of ~/.docker):\n"
            f"#   export DOCKER_CONFIG=$(mktemp -d)\n"
            f"#   echo {stack.ecr_password} |\n"
            f"#     crane auth login {stack.ecr.host} -u AWS --password-stdin\n"
            f"#   crane copy --insecure SOME-IMAGE {stack.ecr.host}/edp/mine:1.0.0\n"
            "# (the password is the stand-in's fixed test value)."
        )
        print(
            "# The two Jenkins credentials of the ecrToDocker step, in a stand-in of\n"
            "# Jenkins' credential stores (the DOCKERHUB_* values above are what it stores):\n"
            f"JENKINS_USER={JENKINS_USER} JENKINS_API_TOKEN={JENKINS_TOKEN} "
            f"ecr-to-docker jenkins-credentials --jenkins-url {jenkins.url} --folder team"
        )
        print("# Press Ctrl-C here to stop the stand-ins.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        jenkins.stop()
        stack.stop()
        print("stand-ins stopped")


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
