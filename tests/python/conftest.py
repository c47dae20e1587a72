"""Fixtures: the real stand-ins (moto, two distribution registries, a token service) and
a runner for the real CLI as a subprocess, the way Jenkins and people run it."""

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

import pytest
from standins import processes
from standins.fault_stack import FaultStack
from standins.stack import StandInStack

_unique = itertools.count(1)


@pytest.fixture(scope="module")
def fault_stack():
    """The stand-ins behind fault proxies, one per test module that asks for them."""
    stack = FaultStack().start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack():
    stands = StandInStack().start()
    try:
        yield stands
    finally:
        stands.stop()


@pytest.fixture
def repo_name(request):
    """A repository name no other test uses, readable in logs."""
    base = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())
    base = "-".join(part for part in base.split("-") if part)[:40].strip("-")
    return f"{base}-{next(_unique)}"


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    command_lines: set  # every /proc/*/cmdline seen while it ran
    tmpdir: str

    @property
    def result(self):
        return json.loads(self.stdout)


def start_command(arguments, environment, **options):
    """Start `python -m ecr_to_docker ARGUMENTS`, for a test that acts on the run while it
    goes on; output piped as text unless `options` say otherwise."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **options}
    return subprocess.Popen(
        [sys.executable, "-m", "ecr_to_docker", *arguments], env=environment, **options
    )


def run_cli(arguments, environment, watch_processes=False, timeout=120):
    """Run `python -m ecr_to_docker ARGUMENTS` with a private TMPDIR."""
    tmpdir = tempfile.mkdtemp(prefix="cli-tmp-")
    environment = dict(environment, TMPDIR=tmpdir)
    process = subprocess.Popen(
        [sys.executable, "-m", "ecr_to_docker", *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = set()
    watcher = None
    if watch_processes:
        watcher = threading.Thread(target=_watch_command_lines, args=(process, seen), daemon=True)
        watcher.start()
    stdout, stderr = process.communicate(timeout=timeout)
    if watcher:
        watcher.join()
    return CliRun(process.returncode, stdout, stderr, seen, tmpdir)


def _watch_command_lines(process, seen):
    # Every process on the machine, not only the run's own: a secret must not reach any.
    while process.poll() is None:
        for pid, _, _ in processes.all_processes():
            text = processes.command_line(pid)
            if text:
                seen.add(text)


@pytest.fixture
def cli(stack):
    runs = []

    def run(*arguments, env=None, **options):
        result = run_cli([str(a) for a in arguments], stack.environment(**(env or {})), **options)
        runs.append(result)
        return result

    yield run
    # Each run's TMPDIR, once the test has looked into it.
    for result in runs:
        shutil.rmtree(result.tmpdir, ignore_errors=True)
