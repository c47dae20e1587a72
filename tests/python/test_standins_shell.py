"""`make standins`: what it prints is what a reader of the README pastes, so it is run here
as printed: the exports, the promotion (twice: the second is refused), the batch and the
Jenkins credentials command."""

import os
import shlex
import signal
import subprocess
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _shell(environment, line):
    return subprocess.run(
        ["bash", "-c", line], env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_printed_commands_work_as_printed():
    process = subprocess.Popen(
        [sys.executable, os.path.join(TESTS, "standins_shell.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = []
        for line in process.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("# Press Ctrl-C"):
                break
        exports = [line for line in printed if line.startswith("export ")]
        commands = [line for line in printed if line and not line.startswith(("#", "export "))]
        assert len(commands) == 3, printed
        single, batch, jenkins = commands

        environment = {"HOME": os.environ.get("HOME", "/root"), "TMPDIR": "/tmp"}
        # Each command runs after the exports, in a shell of its own, as pasted.
        prefix = "; ".join(exports) + "; "
        first = _shell(environment, prefix + single)
        second = _shell(environment, prefix + single)
        listed = _shell(environment, prefix + batch)
        credentials = _shell(environment, prefix + jenkins)

        assert first.returncode == 0, first.stderr
        assert second.returncode == 3, second.stderr
        assert "already exists" in second.stderr
        assert listed.returncode == 0, listed.stderr
        assert credentials.returncode == 0, credentials.stderr
        assert "created" in credentials.stdout
        password = next(line for line in exports if "DOCKERHUB_PASSWORD=" in line)
        stored = shlex.split(password.split("=", 1)[1])[0]
        assert stored not in credentials.stdout + credentials.stderr
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert "stand-ins stopped" in rest
