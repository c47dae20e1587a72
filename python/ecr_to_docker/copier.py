"""The blob and manifest copy, done by crane with credentials of its own.

crane gets a private DOCKER_CONFIG: a fresh 0700 directory holding only a 0600
config.json with the two registries' credentials. The agent's own docker configuration
(credential helpers, credsStore) is never consulted, and no secret is put on crane's
command line or in its environment. The directory is removed on every exit path; signals
reach here as an exception (see __main__), so `finally` covers SIGTERM and SIGINT too.
"""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from contextlib import contextmanager

from ecr_to_docker import logs, parallel
from ecr_to_docker.errors import CopyRefusedError, InvalidInputError, RegistryError

log = logs.get("copy")

CRANE_VERSION = "v0.20.3"
CRANE_PACKAGE = "github.com/google/go-containerregistry/cmd/crane"
CRANE_INSTALL_HINT = (
    f"install it with 'go install {CRANE_PACKAGE}@{CRANE_VERSION}' "
    "and put it on PATH, or point CRANE at the binary"
)
PROGRESS_INTERVAL = 30
# Variables that must not reach crane: secrets, and places it could find other credentials.
_WITHHELD_ENVIRONMENT = (
    "DOCKERHUB_USERNAME",
    "DOCKERHUB_PASSWORD",
    "DOCKERHUB_NAMESPACE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "JENKINS_API_TOKEN",
    "REGISTRY_AUTH_FILE",
    "DOCKER_AUTH_CONFIG",
)
_AUTH_MARKERS = ("UNAUTHORIZED", "DENIED", "401 Unauthorized", "403 Forbidden")
_DENIED_MARKERS = ("DENIED", "403 Forbidden")
_URL_HOST = re.compile(r"https?://([^/\s]+)/")

# Every crane process and credentials directory alive now, so that an abort can reach
# those of worker threads too (see stop_all).
_active_lock = threading.Lock()
_active_processes = set()
_active_directories = set()
_stopping = threading.Event()


def find_crane():
    path = os.environ.get("CRANE") or shutil.which("crane")
    if not path or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        where = f"CRANE={path}" if os.environ.get("CRANE") else "crane on PATH"
        raise InvalidInputError(
            f"crane is needed for the copy but {where} was not found: {CRANE_INSTALL_HINT}"
        )
    return path


@contextmanager
def private_docker_config(credentials_by_key, tokens_by_key=None):
    """A temporary DOCKER_CONFIG directory with `auths` for the given config keys: a
    username and password, or, from `tokens_by_key`, a registry's Bearer token that crane
    sends as it is instead of asking the registry's token service for one."""
    with _active_lock:
        if _stopping.is_set():
            raise RegistryError("not writing credentials: the run is being stopped")
        directory = tempfile.mkdtemp(prefix="ecr-to-docker-")  # mkdtemp makes it 0700
        _active_directories.add(directory)
    try:
        auths = {}
        for key, credentials in credentials_by_key.items():
            pair = f"{credentials.username}:{credentials.password}".encode()
            auths[key] = {"auth": base64.b64encode(pair).decode()}
        for key, token in (tokens_by_key or {}).items():
            auths[key] = {"registrytoken": token}
        descriptor = os.open(
            os.path.join(directory, "config.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )
        with os.fdopen(descriptor, "w") as config_file:
            json.dump({"auths": auths}, config_file)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        with _active_lock:
            _active_directories.discard(directory)


def copy(
    crane,
    source,
    destination,
    config_directory,
    deadline,
    insecure=False,
    label=None,
    go_threads=None,
):
    """Copy every platform of `source` to `destination` (both pinned by digest).

    `go_threads`: GOMAXPROCS for crane, unless the caller's environment already sets it."""
    arguments = [crane, "copy", source, destination]
    if insecure:
        arguments.append("--insecure")
    environment = {k: v for k, v in os.environ.items() if k not in _WITHHELD_ENVIRONMENT}
    environment["DOCKER_CONFIG"] = config_directory
    if go_threads is not None:
        environment.setdefault("GOMAXPROCS", str(go_threads))
    label = label or destination

    started = time.monotonic()
    with _active_lock:
        if _stopping.is_set():
            raise RegistryError(f"copy of {label} not started: the run is being stopped")
        process = subprocess.Popen(
            arguments,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            # Its own process group, so that an abort can stop crane and all it started.
            start_new_session=True,
        )
        _active_processes.add(process)
    last_lines = deque(maxlen=20)
    reader = threading.Thread(target=_read_lines, args=(process.stderr, last_lines), daemon=True)
    reader.start()
    try:
        while True:
            budget = deadline.remaining()
            if budget <= 0:
                raise RegistryError(
                    f"copy of {label} did not finish within the run's time budget "
                    f"({deadline.seconds:g}s, --timeout); stopped it"
                )
            # crane's stderr closes when it exits. Waiting on the reader notices that at
            # once, where Popen.wait(timeout) polls with sleeps of up to 50 ms.
            parallel.join(reader, timeout=min(PROGRESS_INTERVAL, budget))
            if not reader.is_alive():
                process.wait()
                break
            if deadline.remaining() > 0:  # else the budget, not progress, is the news
                log.info("still copying %s (%ds so far)", label, time.monotonic() - started)
    finally:
        if process.poll() is None:
            _stop(process)
        reader.join(timeout=5)
        with _active_lock:
            _active_processes.discard(process)

    if process.returncode != 0 and _stopping.is_set():
        # Stopped by stop_all(): crane's own last words are about the signal, not a fault.
        raise RegistryError(f"copy of {label} stopped: the run is being stopped")
    if process.returncode != 0:
        # crane logs harmless refusals along the way: a cross-registry blob mount is
        # always answered UNAUTHORIZED, then the blob is uploaded instead. Only the other
        # lines say why the copy failed, and whether for want of rights.
        telling = [line for line in last_lines if "retrying without mount" not in line]
        detail = logs.redact(" | ".join(telling or last_lines))[-800:]
        detail = detail or f"exit code {process.returncode}"
        refusals = [line for line in telling if any(m in line for m in _AUTH_MARKERS)]
        if refusals:
            raise CopyRefusedError(
                f"copy to {label} was refused by a registry: {detail}",
                host=_host_named_in(refusals[-1]),
                denied=any(marker in refusals[-1] for marker in _DENIED_MARKERS),
            )
        raise RegistryError(f"copy to {label} failed: {detail}")
    return time.monotonic() - started


def stopping():
    """Whether stop_all() has been called: no copy should start or be retried."""
    return _stopping.is_set()


def stop_all():
    """Stop every crane process and remove every credentials directory, whichever thread
    started them; no new copy starts afterwards. For aborts (SIGTERM, SIGINT)."""
    with _active_lock:
        _stopping.set()
        processes = list(_active_processes)
        directories = list(_active_directories)
    for process in processes:
        if process.poll() is None:
            _stop(process)
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)


def _host_named_in(line):
    """The registry host of the request crane's error line is about, if it names one."""
    match = _URL_HOST.search(line)
    return match.group(1) if match else None


def _read_lines(stream, last_lines):
    for line in stream:
        line = line.rstrip()
        if line:
            last_lines.append(line)
            log.debug("crane: %s", line)


def _stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
