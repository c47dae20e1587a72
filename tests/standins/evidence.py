"""What the reliability tests observe about one run of the CLI, and the document they write.

A run is observed from outside: its exit code and output, every command line of it and
of its children while it ran (crane's included), what its private TMPDIR holds after it
ended, whether a crane it started is still alive, and what the destination registry holds
on disk.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from standins import processes
from standins import stack as standin

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUBLISHED_DOCUMENT = os.path.join(REPOSITORY_ROOT, "docs", "RELIABILITY.md")
# `make test` writes its copy under build/, so that a test run leaves the checkout as it
# was (the retry counts and times differ from run to run); `make reliability` sets
# UPDATE_EVIDENCE=1 and refreshes the published one.
DOCUMENT = (
    PUBLISHED_DOCUMENT
    if os.environ.get("UPDATE_EVIDENCE") == "1"
    else os.path.join(REPOSITORY_ROOT, "build", "RELIABILITY.md")
)
REGENERATE = "make reliability"


def secrets_of(stack):
    """Every secret a run against `stack` handles: the Docker Hub password, the ECR
    password, their Basic-auth forms, the AWS secret key, and every Docker Hub token the
    token service has handed out so far (the fault stack's token proxy keeps them)."""
    from standins.fault_stack import AWS_SECRET_ACCESS_KEY

    hub_pair = f"{standin.HUB_USER}:{standin.HUB_PASSWORD}".encode()
    ecr_pair = f"AWS:{stack.ecr_password}".encode()
    return [
        standin.HUB_PASSWORD,
        base64.b64encode(hub_pair).decode(),
        base64.urlsafe_b64encode(hub_pair).decode(),
        stack.ecr_password,
        base64.b64encode(ecr_pair).decode(),
        AWS_SECRET_ACCESS_KEY,
        *stack.token_proxy.issued_tokens(),
    ]


@dataclass
class ObservedRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    command_lines: set
    crane_pids: set
    leftovers: list  # every path the run's private TMPDIR held after it ended
    report: str  # the --report file's text, "" when none was written

    def leaked(self, secrets):
        texts = [self.stdout, self.stderr, self.report, *self.command_lines]
        return any(secret in text for secret in secrets for text in texts)

    def temporary_files(self):
        return self.leftovers

    def crane_still_running(self):
        return any(processes.is_running(pid) for pid in self.crane_pids)

    def error_lines(self):
        return [line for line in self.stderr.splitlines() if " ERROR " in line]


@dataclass
class Started:
    """A CLI process running in the background, watched until `finish()`."""

    process: subprocess.Popen
    tmpdir: str
    report_path: str
    started: float
    command_lines: set = field(default_factory=set)
    crane_pids: set = field(default_factory=set)
    watched: threading.Event = field(default_factory=threading.Event)

    def finish(self, timeout=300):
        stdout, stderr = self.process.communicate(timeout=timeout)
        seconds = time.monotonic() - self.started
        self.watched.wait(10)
        report = ""
        if os.path.exists(self.report_path):
            with open(self.report_path, encoding="utf-8") as report_file:
                report = report_file.read()
        shutil.rmtree(os.path.dirname(self.report_path), ignore_errors=True)
        leftovers = sorted(
            os.path.relpath(os.path.join(directory, name), self.tmpdir)
            for directory, directories, files in os.walk(self.tmpdir)
            for name in directories + files
        )
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        return ObservedRun(
            self.process.returncode,
            stdout,
            stderr,
            seconds,
            self.command_lines,
            self.crane_pids,
            leftovers,
            report,
        )


def start_cli(arguments, environment):
    """Start `python -m ecr_to_docker ARGUMENTS` with a private TMPDIR and a report file."""
    tmpdir = tempfile.mkdtemp(prefix="cli-tmp-")
    report_path = os.path.join(tempfile.mkdtemp(prefix="cli-report-"), "report.json")
    process = subprocess.Popen(
        [sys.executable, "-m", "ecr_to_docker", *arguments, "--report", report_path],
        env=dict(environment, TMPDIR=tmpdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = Started(process, tmpdir, report_path, time.monotonic())
    _watcher.add(started)
    return started


def run_cli(arguments, environment, timeout=300):
    return start_cli(arguments, environment).finish(timeout)


def start_promotion(routes, stack, source, destination, tag, *extra, retries="2"):
    """Start `promote SOURCE:TAG --destination DESTINATION:TAG` through the fault proxy's
    `routes`, with short retry waits so that a retried fault costs the test little."""
    environment = stack.environment(
        **routes.environment_overrides(),
        ECR_TO_DOCKER_RETRIES=retries,
        ECR_TO_DOCKER_RETRY_BACKOFF="0.05",
    )
    arguments = [
        "promote",
        routes.source(source, tag),
        "--destination",
        routes.destination(destination, tag),
        "--timeout",
        "60",
        *extra,
    ]
    return start_cli(arguments, environment)


class _Watcher:
    """One thread that scans /proc for every run being watched, however many run at once:
    it records the command lines of each run and of its children, and crane's ids."""

    def __init__(self):
        self._lock = threading.Lock()
        self._runs = {}  # pid of the CLI -> Started
        self._thread = None

    def add(self, started):
        with self._lock:
            self._runs[started.process.pid] = started
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._scan, daemon=True)
                self._thread.start()

    def _scan(self):
        while True:
            with self._lock:
                for pid, started in list(self._runs.items()):
                    if started.process.poll() is not None:
                        del self._runs[pid]
                        started.watched.set()
                if not self._runs:
                    self._thread = None
                    return
                runs = dict(self._runs)
            for pid, parent, name in processes.all_processes():
                started = runs.get(pid) or runs.get(parent)
                if started is None:
                    continue
                if name == "crane":
                    started.crane_pids.add(pid)
                text = processes.command_line(pid)
                if text:
                    started.command_lines.add(text)
            time.sleep(0.02)


_watcher = _Watcher()


def crane_children_of(pid):
    return set(processes.children_named(pid, "crane"))


# -- the destination, read from the registry's storage ----------------------------------


def destination_state(registry, repository, tag):
    """(what was written, the digest the tag holds or None), read from disk so that no
    request of ours can change the answer."""
    if not registry.has_repository(repository):
        return "no", None
    manifests = registry.storage_path("repositories", repository, "_manifests")
    link = os.path.join(manifests, "tags", tag, "current", "link")
    if os.path.exists(link):
        with open(link) as current:
            return "yes: image, tagged", current.read().strip()
    if os.path.isdir(os.path.join(manifests, "revisions")):
        return "yes: image, untagged", None
    return "yes: blobs only, untagged", None


# -- the document -----------------------------------------------------------------------

_SECTION = re.compile(
    r"<!-- (?P<name>[a-z-]+):begin -->\n(?P<body>.*?)<!-- (?P=name):end -->\n", re.S
)
SECTION_ORDER = ("faults", "concurrency", "signals")

_HEADER = """# Reliability under faults, concurrency and aborts

This file is written by the tests; do not edit it by hand. Regenerate it with

    {regenerate}

Each section is rewritten by the module that measures it, and only when that module ran
all of its cases.

## The promise and the rule

A published tag is never overwritten, the digest never changes, and no secret leaks.
Under every fault below: no case may overwrite a tag, change a digest or leak a secret; a
transient fault that clears within the retry budget ends in success; anything else ends
in the exit code of its kind (3 tag exists, 4 authentication, 5 registry or network,
6 verification) with a message that names the phase.

"""


def update_section(name, body):
    sections = {}
    # The other sections come from the document as it is, or from the published one for a
    # first copy under build/.
    existing = DOCUMENT if os.path.exists(DOCUMENT) else PUBLISHED_DOCUMENT
    if os.path.exists(existing):
        with open(existing, encoding="utf-8") as document:
            for match in _SECTION.finditer(document.read()):
                sections[match["name"]] = match["body"]
    sections[name] = body.rstrip("\n") + "\n"
    parts = [_HEADER.format(regenerate=REGENERATE)]
    for section in SECTION_ORDER:
        text = sections.get(section, f"(The {section} section has not been generated yet.)\n")
        parts.append(f"<!-- {section}:begin -->\n{text}<!-- {section}:end -->\n")
    os.makedirs(os.path.dirname(DOCUMENT), exist_ok=True)
    with open(DOCUMENT + ".tmp", "w", encoding="utf-8") as document:
        document.write("\n".join(parts))
    os.replace(DOCUMENT + ".tmp", DOCUMENT)
