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
        print("# Press Ctrl-C here to stop the stand-ins.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        stack.stop()
        print("stand-ins stopped")


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
