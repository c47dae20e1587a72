"""`make standins`: the demo's stand-ins, left running so that you can try the command
by hand. Prints the environment to export, seeds a sample image, and waits for Ctrl-C.

The credentials printed are the stand-ins' own fixed test values, not secrets of yours.
"""

import os
import shlex
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standins.stack import HUB_NAMESPACE, StandInStack  # noqa: E402


def main():
    stack = StandInStack().start()
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
        print("# or several images at once (each line of the list names its DEST):")
        print(f"ecr-to-docker promote --from-file {image_list} --jobs 2")
        print(
            "# To push images of your own to the ECR stand-in, log crane in to "
            f"{stack.ecr.host} as AWS with the password {stack.ecr_password} "
            "(a fixed test value)."
        )
        print("# Press Ctrl-C here to stop the stand-ins.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        stack.stop()
        print("stand-ins stopped")


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
