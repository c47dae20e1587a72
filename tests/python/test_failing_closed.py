"""Answers that are not a clear "yes" or "no" stop the promotion before anything is copied,
and the run's time budget holds even against a registry that never answers."""

import hashlib
import json
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import start_command
from standins import processes
from standins.stack import HUB_NAMESPACE


class _LoopbackServer:
    """A server of this test's own on 127.0.0.1; `_handler()` gives its handler class."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _Answering(BaseHTTPRequestHandler):
    def _answer(self, status, headers=None, body=b""):
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args):
        pass


# A registry's own words for a manifest it does not have.
_MANIFEST_UNKNOWN = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}'


class OddRegistry(_LoopbackServer):
    """A registry-shaped server whose repository name chooses how it misbehaves."""

    def _handler(self):
        class Handler(_Answering):
            def do_GET(self):
                if self.path == "/v2/":
                    return self._answer(200, {"Docker-Distribution-API-Version": "registry/2.0"})
                unknown = _MANIFEST_UNKNOWN
                behaviour = _behaviour(self.path)
                if behaviour == "unmarked404-json-body":
                    # A registry that marks its answer only in the body.
                    return self._answer(404, {"Content-Type": "application/json"}, unknown)
                if behaviour == "redirect404":
                    # To another tag's 404, which says nothing about this one.
                    elsewhere = "/v2/ns/unmarked404-json-body/manifests/no-such-tag"
                    return self._answer(307, {"Location": elsewhere})
                if behaviour == "html404-json-body":
                    return self._answer(404, {"Content-Type": "text/html"}, unknown)
                if behaviour == "huge404":
                    # The registry's words, then far more than any error body holds, and
                    # not JSON: no registry answers that.
                    body = unknown + b"x" * (64 * 1024 * 1024)
                    return self._answer(404, {"Content-Type": "application/json"}, body)
                if behaviour == "trickle404":
                    return self._trickle(unknown + b" " * 10_000)
                if behaviour == "trickle-redirect":
                    return self._trickle(b" " * 10_000, status=307, location="/v2/")
                if behaviour == "trickle503":
                    return self._trickle(b" " * 10_000, status=503)
                self._answer(404, {"Content-Type": "text/plain"}, b"404 page not found\n")

            def do_HEAD(self):
                behaviour = _behaviour(self.path)
                if behaviour == "plain404":
                    # What Go servers and ingress default backends answer.
                    self._answer(404, {"Content-Type": "text/plain"}, b"404 page not found\n")
                elif behaviour in (
                    "bare404",
                    "redirect404",
                    "html404-json-body",
                    "huge404",
                    "trickle404",
                    "trickle-redirect",
                    "trickle503",
                ):
                    self._answer(404)
                elif behaviour == "unmarked404-json-body":
                    self._answer(404, {"Content-Type": "application/json"})
                elif behaviour == "odd-length":
                    # Present, with a length in digits that are not ASCII digits.
                    digest = "sha256:" + "ab" * 32
                    self._answer(200, {"Docker-Content-Digest": digest, "Content-Length": "²"})
                elif behaviour == "html404":
                    self._answer(404, {"Content-Type": "text/html"}, b"<html>Not Found</html>")
                elif behaviour == "nodigest":
                    self._answer(200, {"Content-Type": "application/json"})
                elif behaviour == "baddigest":
                    self._answer(200, {"Docker-Content-Digest": "md5:0123"})
                elif behaviour == "hang":
                    time.sleep(30)
                    self._answer(404)
                else:
                    self._answer(404)

            def _trickle(self, body, piece=10, pause=0.5, status=404, location=None):
                """The whole body, a few bytes at a time, each wait shorter than any
                read timeout."""
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for start in range(0, len(body), piece):
                        self.wfile.write(body[start : start + piece])
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:
                    pass  # the client gave up, as it should

        return Handler


def _behaviour(path):
    return path.split("/")[3] if path.count("/") > 3 else ""


@pytest.fixture(scope="module")
def odd_registry():
    registry = OddRegistry()
    yield registry
    registry.stop()


@pytest.mark.parametrize(
    "behaviour, message",
    [
        ("html404", "answered 404 with a web page"),
        ("plain404", "answered 404 without the marks of a registry's answer"),
        ("bare404", "answered 404 without the marks of a registry's answer"),
        ("redirect404", "answered 404 without the marks of a registry's answer"),
        ("html404-json-body", "answered 404 without the marks of a registry's answer"),
        ("nodigest", "without a Docker-Content-Digest header"),
        ("baddigest", "malformed digest"),
    ],
)
def test_an_unclear_answer_about_the_destination_tag_stops_before_the_copy(
    stack, cli, repo_name, odd_registry, behaviour, message
):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    insecure = f"{stack.ecr.host},{odd_registry.host}"

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{odd_registry.host}/ns/{behaviour}:1.0",
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": insecure},
    )

    assert run.returncode == 5
    assert message in run.stderr
    assert "copying" not in run.stderr
    assert json.loads(run.stdout)["status"] == "failed"


class OddSource(_LoopbackServer):
    """A source registry whose repository name chooses how its manifest GET answers."""

    MANIFEST = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + "1" * 64,
                "size": 2,
            },
            "layers": [],
        }
    ).encode()

    # Answers of 200 with MANIFEST under a Docker-Content-Digest that does not fit it.
    DIGEST_HEADERS = {
        "wrong-digest": "sha256:" + "0" * 64,  # bytes that are not the image it names
        "empty-digest-header": "",
        "sha512-named": "sha512:" + hashlib.sha512(MANIFEST).hexdigest(),
    }

    # Answers of 200 whose bytes are no manifest this tool copies: (Content-Type, body).
    BODIES = {
        "schema1": (
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            b'{"schemaVersion": 1, "name": "src/schema1", "tag": "1.0", "fsLayers": []}',
        ),
        "not-json": ("application/vnd.oci.image.manifest.v1+json", b"\xff not json"),
        "json-list": ("application/vnd.oci.image.manifest.v1+json", b"[]"),
        "index-without-digests": (
            "application/vnd.oci.image.index.v1+json",
            b'{"schemaVersion": 2, "manifests": [{"size": 10}]}',
        ),
        "layers-not-a-list": (
            "application/vnd.oci.image.manifest.v1+json",
            b'{"schemaVersion": 2, "config": {"digest": "sha256:'
            + b"1" * 64
            + b'", "size": 2}, "layers": 5}',
        ),
    }

    def _handler(self):
        manifest = self.MANIFEST

        class Handler(_Answering):
            def do_GET(self):
                registry = {"Docker-Distribution-API-Version": "registry/2.0"}
                if self.path == "/v2/":
                    return self._answer(200, registry)
                behaviour = _behaviour(self.path)
                if behaviour in OddSource.DIGEST_HEADERS:
                    headers = {
                        **registry,
                        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                        "Docker-Content-Digest": OddSource.DIGEST_HEADERS[behaviour],
                    }
                    return self._answer(200, headers, manifest)
                if behaviour == "html404":
                    return self._answer(404, {"Content-Type": "text/html"}, b"<html>gone</html>")
                if behaviour == "redirect404":
                    # To another manifest's 404, which says nothing about this one.
                    return self._answer(307, {"Location": "/v2/src/gone/manifests/1.0"})
                if behaviour == "gone":
                    headers = {**registry, "Content-Type": "application/json"}
                    return self._answer(404, headers, _MANIFEST_UNKNOWN)
                if behaviour in OddSource.BODIES:
                    content_type, body = OddSource.BODIES[behaviour]
                    return self._answer(200, {**registry, "Content-Type": content_type}, body)
                self._answer(404, {"Content-Type": "text/plain"}, b"404 page not found\n")

        return Handler


@pytest.fixture(scope="module")
def odd_source():
    source = OddSource()
    yield source
    source.stop()


@pytest.mark.parametrize(
    "behaviour, message",
    [
        ("wrong-digest", "does not match its digest"),
        ("html404", "answered 404 with a web page"),
        ("plain404", "answered 404 without the marks of a registry's answer"),
        ("redirect404", "redirected the request to a 404"),
        ("gone", "does not exist: check the repository and tag"),
        ("empty-digest-header", "malformed digest"),
        ("schema1", "only Docker schema 2 and OCI images and indexes are copied"),
        ("not-json", "bytes that are not JSON"),
        ("json-list", "JSON that is not a manifest"),
        ("index-without-digests", "does not list its manifests as digests"),
        ("layers-not-a-list", "no config or no list of layers"),
        ("sha512-named", "crane copies only by sha256 digests"),
    ],
)
def test_a_source_manifest_that_cannot_be_trusted_stops_before_anything_is_copied(
    stack, cli, repo_name, odd_source, behaviour, message
):
    run = cli(
        "promote",
        f"{odd_source.host}/src/{behaviour}:1.0",
        "--destination",
        stack.destination(repo_name, "1.0"),
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": f"{odd_source.host},{stack.hub.host}"},
    )

    assert run.returncode == 5, run.stderr
    assert message in run.stderr
    assert "copying" not in run.stderr
    assert json.loads(run.stdout)["status"] == "failed"
    assert not stack.hub.has_repository(f"{HUB_NAMESPACE}/{repo_name}")


def test_an_existing_tag_with_an_odd_content_length_is_still_refused_with_3(
    stack, cli, repo_name, odd_registry
):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{odd_registry.host}/ns/odd-length:1.0",
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": f"{stack.ecr.host},{odd_registry.host}"},
    )

    assert run.returncode == 3, run.stderr
    assert "already exists" in run.stderr


def test_a_404_whose_body_names_the_manifest_unknown_counts_as_absent(
    stack, cli, repo_name, odd_registry
):
    # No Docker-Distribution-API-Version header on the HEAD, but the registry's error code
    # in the body of a GET: a registry's answer, so the tag is free and the copy starts
    # (and then fails: this stand-in takes no uploads).
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{odd_registry.host}/ns/unmarked404-json-body:1.0",
        env={
            "ECR_TO_DOCKER_INSECURE_REGISTRY": f"{stack.ecr.host},{odd_registry.host}",
            "ECR_TO_DOCKER_RETRIES": "0",
        },
    )

    assert "is free" in run.stderr
    assert "copying" in run.stderr
    assert run.returncode == 5


def test_the_timeout_bounds_the_run_against_a_registry_that_never_answers(
    stack, cli, repo_name, odd_registry
):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    started = time.monotonic()

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{odd_registry.host}/ns/hang:1.0",
        "--timeout",
        "3",
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": f"{stack.ecr.host},{odd_registry.host}"},
    )
    elapsed = time.monotonic() - started

    assert run.returncode == 5
    assert "did not answer in time" in run.stderr and "--timeout" in run.stderr, run.stderr
    # The budget plus interpreter start and clean-up; not one full wait per retry.
    assert elapsed < 8, f"took {elapsed:.1f}s with --timeout 3"


def test_a_refused_connection_is_not_reported_as_a_slow_registry(stack, cli, repo_name):
    # urllib3 counts a refused connection as a kind of connect timeout; the message must
    # not send the user to a longer --timeout.
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{unused.getsockname()[1]}"

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{closed}/ns/app:1.0",
        env={
            "ECR_TO_DOCKER_INSECURE_REGISTRY": f"{stack.ecr.host},{closed}",
            "ECR_TO_DOCKER_RETRIES": "0",
        },
    )

    assert run.returncode == 5, run.stderr
    assert f"cannot reach {closed}" in run.stderr
    assert "did not answer in time" not in run.stderr


def test_an_aborted_batch_stops_every_copy_and_removes_every_credentials_directory(
    stack, repo_name, tmp_path
):
    # A stand-in for crane that copies nothing and takes its time, so that the abort
    # lands while both copies are running.
    slow_crane = tmp_path / "slow-crane"
    slow_crane.write_text("#!/bin/sh\nexec sleep 120\n")
    slow_crane.chmod(0o755)
    image_list = tmp_path / "images.txt"
    with image_list.open("w") as lines:
        for name in ("one", "two"):
            stack.source_pusher().push_image(f"{repo_name}/{name}", "1", [4096], seed=name)
            source = stack.source(f"{repo_name}/{name}", "1")
            lines.write(f"{source} {stack.destination(f'{repo_name}-{name}', '1')}\n")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = start_command(
        ["promote", "--jobs", "2", "--from-file", str(image_list)],
        stack.environment(CRANE=str(slow_crane), TMPDIR=str(temporary)),
    )
    sleepers = processes.wait_for_children(process.pid, "sleep", count=2)

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 143, stderr
    # A batch says what each image reached: here, both copies were still running.
    assert [result["status"] for result in json.loads(stdout)] == ["interrupted"] * 2
    assert list(temporary.iterdir()) == []
    for pid in sleepers:
        assert not processes.is_running(pid)


def test_a_plain_http_registry_not_named_insecure_fails_with_the_way_out(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        stack.destination(repo_name, "1.0"),
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": stack.ecr.host, "ECR_TO_DOCKER_RETRIES": "0"},
    )

    assert run.returncode == 5, run.stderr
    assert "--insecure-registry" in run.stderr
    assert json.loads(run.stdout)["status"] == "failed"


class GarbageTokenService(_LoopbackServer):
    """A token-auth registry whose token service answers nonsense, chosen by repository:
    the scope's repository name picks the body."""

    BODIES = {
        "a-list": b'["a"]',
        "a-number": b'{"token": 12345}',
        "a-boolean": b'{"token": true}',
        "a-list-token": b'{"token": ["abc"]}',
        "null": b"null",
    }

    def _handler(self):
        service = self

        class Handler(_Answering):
            def do_GET(self):
                if self.path == "/v2/":
                    challenge = f'Bearer realm="http://{service.host}/token",service="odd"'
                    return self._answer(401, {"WWW-Authenticate": challenge})
                if self.path.startswith("/token"):
                    name = self.path.split("repository%3Ans%2F", 1)[-1].split("%3A", 1)[0]
                    body = GarbageTokenService.BODIES.get(name, b"{}")
                    return self._answer(200, {"Content-Type": "application/json"}, body)
                self._answer(404)

        return Handler


@pytest.fixture(scope="module")
def garbage_tokens():
    service = GarbageTokenService()
    yield service
    service.stop()


@pytest.mark.parametrize("body", sorted(GarbageTokenService.BODIES))
def test_a_token_service_answering_nonsense_is_a_registry_failure_not_a_crash(
    stack, cli, repo_name, garbage_tokens, body
):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{garbage_tokens.host}/ns/{body}:1.0",
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": f"{stack.ecr.host},{garbage_tokens.host}"},
    )

    assert run.returncode == 5, run.stderr
    assert "answered without a token" in run.stderr
    assert "unexpected error" not in run.stderr
    assert "copying" not in run.stderr


@pytest.mark.parametrize("behaviour", ["trickle404", "trickle-redirect", "trickle503"])
def test_an_error_body_sent_a_few_bytes_at_a_time_cannot_outlast_the_timeout(
    stack, cli, repo_name, odd_registry, behaviour
):
    # A 404's body, a redirect's (which requests would read whole before following
    # it), and a 503's that is about to be retried (which urllib3 would read to its end).
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    started = time.monotonic()

    run = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        f"{odd_registry.host}/ns/{behaviour}:1.0",
        "--timeout",
        "4",
        env={"ECR_TO_DOCKER_INSECURE_REGISTRY": f"{stack.ecr.host},{odd_registry.host}"},
    )
    elapsed = time.monotonic() - started

    assert run.returncode == 5, run.stderr
    assert "copying" not in run.stderr
    assert elapsed < 10, f"took {elapsed:.1f}s with --timeout 4"  # the body takes 500 s


def test_a_huge_error_body_is_cut_not_held_whole(stack, repo_name, odd_registry):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    environment = stack.environment(
        ECR_TO_DOCKER_INSECURE_REGISTRY=f"{stack.ecr.host},{odd_registry.host}"
    )
    destination = f"{odd_registry.host}/ns/huge404:1.0"
    process = start_command(
        ["promote", stack.source(repo_name, "1.0"), "--destination", destination],
        environment,
        stdout=subprocess.DEVNULL,
    )
    peak_kib = 0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.01)
    stderr = process.stderr.read()
    process.wait()

    assert process.returncode == 5, stderr
    assert "copying" not in stderr
    assert "without the marks of a registry's answer" in stderr
    assert peak_kib * 1024 < 80 * 1024 * 1024, f"peak {peak_kib} KiB for a 64 MiB body"
