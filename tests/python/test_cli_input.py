"""Bad input: a clear message, exit code 2, and not a single connection made.

Every network endpoint the tool could use points at a listener that only counts
connections, so "before any network call" is measured, not assumed.
"""

import json
import os
import socket
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from ecr_to_docker import cli, promote_command
from ecr_to_docker.deadline import retry_settings
from ecr_to_docker.errors import InvalidInputError

ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"


class ConnectionCounter:
    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.host = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.connections = 0
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while self._running:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self._running = False
        self._thread.join()
        self.socket.close()


@pytest.fixture(scope="module")
def trap():
    counter = ConnectionCounter()
    yield counter
    counter.close()


@pytest.fixture
def run(trap, tmp_path):
    def invoke(*arguments, env=None, drop=()):
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "AWS_ENDPOINT_URL": f"http://{trap.host}",
            "AWS_ACCESS_KEY_ID": "not-a-key-id",
            "AWS_SECRET_ACCESS_KEY": "not-a-secret-access-key",
            "HTTPS_PROXY": f"http://{trap.host}",
            "HTTP_PROXY": f"http://{trap.host}",
            "DOCKERHUB_USERNAME": "someone",
            "DOCKERHUB_PASSWORD": "secret-password-value",
            "DOCKERHUB_NAMESPACE": "team",
            "CRANE": os.environ.get("CRANE", "/bin/true"),
        }
        environment.update(env or {})
        for name in drop:
            environment.pop(name, None)
        before = trap.connections
        completed = subprocess.run(
            [sys.executable, "-m", "ecr_to_docker", *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return SimpleNamespace(
            code=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
            connections=trap.connections - before,
        )

    return invoke


@pytest.mark.parametrize(
    "arguments, env, drop, message",
    [
        ([f"{ECR}/Edp/App:1"], {}, (), "must be lowercase"),
        ([f"{ECR}/app:" + "x" * 129], {}, (), "not a valid tag"),
        ([f"{ECR}/app:1;id"], {}, (), "not a valid tag"),
        ([f"{ECR}/app:1\n"], {}, (), "whitespace or control"),
        ([f"{ECR}/app@sha256:1234"], {}, (), "not a well-formed digest"),
        ([f"{ECR}/app"], {}, (), "neither a tag nor a digest"),
        ([f"{ECR}/app@sha256:" + "a" * 64], {}, (), "SOURCE is given by digest only"),
        (["127.0.0.1:5000/app:1"], {}, (), "give --ecr-registry-id and --aws-region"),
        (["12345.dkr.ecr.eu-central-1.amazonaws.com/app:1"], {}, (), "looks like an ECR host"),
        (["123456789012.dkr.ecr.moon.amazonaws.com/app:1"], {}, (), "looks like an ECR host"),
        ([f"{ECR}/app:1"], {}, ("DOCKERHUB_USERNAME",), "DOCKERHUB_USERNAME is not set"),
        ([f"{ECR}/app:1"], {}, ("DOCKERHUB_PASSWORD",), "DOCKERHUB_PASSWORD is not set"),
        ([f"{ECR}/app:1"], {"DOCKERHUB_PASSWORD": ""}, (), "DOCKERHUB_PASSWORD is not set"),
        ([f"{ECR}/app:1"], {}, ("DOCKERHUB_NAMESPACE",), "DOCKERHUB_NAMESPACE is not set"),
        ([f"{ECR}/app:1"], {"DOCKERHUB_NAMESPACE": "Team"}, (), "must be lowercase"),
        ([f"{ECR}/app:1"], {"DOCKERHUB_NAMESPACE": "team;rm -rf /"}, (), "is not valid"),
        ([f"{ECR}/app:1"], {"DOCKERHUB_NAMESPACE": "te\nam"}, (), "is not valid"),
        ([f"{ECR}/app:1"], {"DOCKERHUB_NAMESPACE": "$(id)"}, (), "is not valid"),
        (
            [f"{ECR}/app:1", "--destination", f"docker.io/team/app@sha256:{'a' * 64}"],
            {},
            (),
            "must name a tag",
        ),
        ([f"{ECR}/app:1", "--destination", "docker.io/Team/app:1"], {}, (), "must be lowercase"),
        ([f"{ECR}/app:1", "--timeout", "soon"], {}, (), "not a number of seconds"),
        ([f"{ECR}/app:1", "--timeout", "-5"], {}, (), "above 0 and at most 604800"),
        ([f"{ECR}/app:1", "--timeout", "nan"], {}, (), "above 0 and at most 604800"),
        ([f"{ECR}/app:1", "--timeout", "1e10"], {}, (), "above 0 and at most 604800"),
        ([f"{ECR}/app:1", "--report", "/nonexistent/dir/r.json"], {}, (), "does not exist"),
        ([f"{ECR}/app:1", "--ecr-registry-id", "42"], {}, (), "--ecr-registry-id '42' is not"),
        ([f"{ECR}/app:1"], {"CRANE": "/nonexistent/crane"}, (), "go install github.com/google"),
        ([], {}, (), "no SOURCE given"),
        (
            [
                "localhost:99999/app:1",
                "--ecr-registry-id",
                "123456789012",
                "--aws-region",
                "eu-west-1",
            ],
            {},
            (),
            "not a valid host[:port]",
        ),
        ([f"https://{ECR}/app:1"], {}, (), "has a URL scheme"),
        ([f"user:hunter2hunter2@{ECR}/app:1"], {}, (), "credentials before its host"),
        ([f"{ECR}/app:1"], {"AWS_ENDPOINT_URL": "not a url"}, (), "AWS_ENDPOINT_URL must be"),
        ([f"{ECR}/app:1"], {"AWS_ENDPOINT_URL": "http://[::1"}, (), "AWS_ENDPOINT_URL must be"),
        ([f"{ECR}/app:1"], {"ECR_TO_DOCKER_DRY_RUN": "enabled"}, (), "ECR_TO_DOCKER_DRY_RUN="),
        (
            [f"{ECR}/app:1"],
            {"ECR_TO_DOCKER_IF_EXISTS": "skip_identical"},
            (),
            "is not one of fail, skip-identical",
        ),
        ([f"{ECR}/app:1", "--report", "/tmp/" + "r" * 256], {}, (), "cannot be written"),
        ([f"{ECR}/app:1", "--report", "/tmp/no-such-directory/"], {}, (), "is a directory"),
        ([f"{ECR}/app:1", "--report", "/dev/null"], {}, (), "not a regular file"),
        ([f"{ECR}/app:1", "--from-file", "/dev/zero"], {}, (), "not a regular file"),
        (
            [f"{ECR}/a:1", f"{ECR}/b:1", "--destination", "docker.io/x/y:1"],
            {},
            (),
            "applies to a single SOURCE",
        ),
        ([f"{ECR}/a:1", f"{ECR}/x/a:1"], {}, (), "each destination tag can be published once"),
        ([f"{ECR}/a:1", f"{ECR}/B:1"], {}, (), "must be lowercase"),
        ([f"{ECR}/a:1", "--jobs", "0"], {}, (), "--jobs must be between 1 and 32"),
        ([f"{ECR}/a:1", "--from-file", "/nonexistent"], {}, (), "cannot be read"),
        (
            [f"{ECR}/a:1", f"{ECR}/b:1"],
            {"ECR_TO_DOCKER_JOBS": "0"},
            (),
            "ECR_TO_DOCKER_JOBS must be between 1 and 32",
        ),
        ([f"{ECR}/a:1"], {"ECR_TO_DOCKER_TIMEOUT": "soon"}, (), "ECR_TO_DOCKER_TIMEOUT 'soon'"),
        (
            [f"{ECR}/a:1"],
            {"ECR_TO_DOCKER_AWS_REGION": "mars-1"},
            (),
            "ECR_TO_DOCKER_AWS_REGION 'mars-1' is not an AWS region",
        ),
        (
            [f"{ECR}/a:1"],
            {"ECR_TO_DOCKER_RETRIES": "many"},
            (),
            "ECR_TO_DOCKER_RETRIES must be a whole number from 0 to 20, not 'many'",
        ),
        ([f"{ECR}/a:1"], {"ECR_TO_DOCKER_RETRIES": "21"}, (), "ECR_TO_DOCKER_RETRIES must be"),
        # Other scripts' digits and '_' separators: int() takes them, nobody means them.
        ([f"{ECR}/a:1"], {"ECR_TO_DOCKER_RETRIES": "\u0663"}, (), "ECR_TO_DOCKER_RETRIES must be"),
        ([f"{ECR}/a:1"], {"ECR_TO_DOCKER_TIMEOUT": "1_0"}, (), "ECR_TO_DOCKER_TIMEOUT '1_0'"),
        (
            [f"{ECR}/a:1", f"{ECR}/b:1"],
            {"ECR_TO_DOCKER_JOBS": "\uff13"},
            (),
            "ECR_TO_DOCKER_JOBS '\uff13' is not a whole number",
        ),
        (
            [f"{ECR}/a:1"],
            {"ECR_TO_DOCKER_INSECURE_REGISTRY": "bad host"},
            (),
            "ECR_TO_DOCKER_INSECURE_REGISTRY 'bad host' must be a host[:port]",
        ),
        (
            [f"{ECR}/a:1", "--insecure-registry", "bad host"],
            {"ECR_TO_DOCKER_INSECURE_REGISTRY": "good:5000"},
            (),
            "--insecure-registry 'bad host' must be a host[:port]",
        ),
        (
            [f"{ECR}/a:1"],
            {"ECR_TO_DOCKER_RETRY_BACKOFF": "nan"},
            (),
            "ECR_TO_DOCKER_RETRY_BACKOFF must be a number of seconds from 0 to 60, not 'nan'",
        ),
    ],
    ids=[
        "uppercase-repo",
        "129-char-tag",
        "shell-in-tag",
        "newline-in-tag",
        "short-digest",
        "no-tag",
        "digest-without-destination",
        "foreign-host",
        "bad-account",
        "bad-region",
        "no-username",
        "no-password",
        "empty-password",
        "no-namespace",
        "uppercase-namespace",
        "shell-in-namespace",
        "newline-in-namespace",
        "substitution-in-namespace",
        "digest-destination",
        "uppercase-destination",
        "timeout-word",
        "timeout-negative",
        "timeout-nan",
        "timeout-beyond-a-week",
        "report-directory-missing",
        "short-registry-id",
        "crane-missing",
        "no-source",
        "port-out-of-range",
        "url-scheme",
        "credentials-in-reference",
        "endpoint-not-url",
        "endpoint-bad-ipv6",
        "dry-run-unknown-word",
        "if-exists-unknown",
        "report-name-too-long",
        "report-trailing-slash",
        "report-device",
        "list-device",
        "two-sources-one-destination",
        "two-sources-same-destination",
        "second-source-invalid",
        "zero-jobs",
        "missing-list",
        "zero-jobs-from-environment",
        "timeout-word-from-environment",
        "region-from-environment",
        "retries-word",
        "retries-too-many",
        "retries-arabic-digit",
        "timeout-underscore",
        "jobs-fullwidth-digit",
        "insecure-registry-from-environment",
        "insecure-registry-flag-over-environment",
        "backoff-nan",
    ],
)
def test_bad_input_exits_2_with_a_clear_message_before_any_connection(
    run, arguments, env, drop, message
):
    result = run("promote", *arguments, env=env, drop=drop)

    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert result.connections == 0
    assert "secret-password-value" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["promote", f"{ECR}/app:1", "--if-exists", "overwrite"],
        ["promote", "--bogus"],
        ["frobnicate"],
        [],
        ["promote", f"{ECR}/app:1", "--destination", ""],
        ["promote", f"{ECR}/app:1", "--report", " "],
    ],
    ids=[
        "bad-choice",
        "unknown-flag",
        "unknown-command",
        "no-command",
        "empty-destination",
        "blank-report",
    ],
)
def test_usage_errors_exit_2(run, arguments):
    result = run(*arguments)

    assert result.code == 2
    assert result.connections == 0
    # Callers read the status from stdout, whatever the usage error was.
    assert json.loads(result.stdout)["status"] == "invalid"


def test_help_names_every_environment_fallback_and_the_exit_codes(run):
    result = run("promote", "--help")

    assert result.code == 0
    for variable in (
        "ECR_TO_DOCKER_DESTINATION",
        "ECR_TO_DOCKER_IF_EXISTS",
        "ECR_TO_DOCKER_DRY_RUN",
        "ECR_TO_DOCKER_REPORT",
        "ECR_TO_DOCKER_ECR_REGISTRY_ID",
        "ECR_TO_DOCKER_AWS_REGION",
        "ECR_TO_DOCKER_INSECURE_REGISTRY",
        "ECR_TO_DOCKER_TIMEOUT",
        "ECR_TO_DOCKER_VERBOSE",
        "ECR_TO_DOCKER_SOURCE",
    ):
        assert (
            variable in result.stdout.replace("\n", " ").replace("  ", " ")
            or variable in result.stdout
        )
    assert "3  the destination tag already exists" in result.stdout


def test_flags_fall_back_to_their_environment_variables(run):
    result = run(
        "promote", env={"ECR_TO_DOCKER_SOURCE": f"{ECR}/app:1", "ECR_TO_DOCKER_TIMEOUT": "x"}
    )

    assert result.code == 2
    # The value came from the variable, and the message names it.
    assert "ECR_TO_DOCKER_TIMEOUT 'x'" in result.stderr


def _args(**overrides):
    values = dict(
        sources=[f"{ECR}/edp/app:1.0"],
        destination=None,
        if_exists="fail",
        dry_run=False,
        report=None,
        ecr_registry_id=None,
        aws_region=None,
        insecure_registry=[],
        timeout="60",
    )
    values.update(overrides)
    return SimpleNamespace(**values)


ENVIRONMENT = {
    "DOCKERHUB_USERNAME": "u",
    "DOCKERHUB_PASSWORD": "p",
    "DOCKERHUB_NAMESPACE": "team",
    "CRANE": "/bin/true",
}


@pytest.mark.parametrize(
    "source, destination, namespace, expected",
    [
        (f"{ECR}/edp/app:1.0", None, "team", "docker.io/team/app:1.0"),
        (f"{ECR}/a/b/c/deep:2", None, "team", "docker.io/team/deep:2"),
        (f"{ECR}/edp/app:1.0", None, "team\n", "docker.io/team/app:1.0"),
        (f"{ECR}/edp/app:1.0", None, "  team ", "docker.io/team/app:1.0"),
        (f"{ECR}/edp/app:1.0", "docker.io/other/name", "team", "docker.io/other/name:1.0"),
        (f"{ECR}/edp/app:1.0", "ghcr.io/o/n:v2", "team", "ghcr.io/o/n:v2"),
        (f"{ECR}/edp/app@sha256:{'b' * 64}", "docker.io/o/n:v3", "team", "docker.io/o/n:v3"),
    ],
    ids=[
        "default",
        "deep-path",
        "trailing-newline-namespace",
        "spaces-namespace",
        "explicit-no-tag",
        "explicit",
        "digest-source",
    ],
)
def test_the_destination_is_resolved_from_source_namespace_and_flag(
    monkeypatch, source, destination, namespace, expected
):
    monkeypatch.setenv("CRANE", "/bin/true")
    environ = dict(ENVIRONMENT, DOCKERHUB_NAMESPACE=namespace)

    [request], _, _ = promote_command.build_requests(
        _args(sources=[source], destination=destination), environ
    )

    assert str(request.destination) == expected


def test_a_password_ending_in_a_newline_loses_only_the_newline(monkeypatch):
    monkeypatch.setenv("CRANE", "/bin/true")
    environ = dict(ENVIRONMENT, DOCKERHUB_PASSWORD=" pass word \n")

    [request], _, _ = promote_command.build_requests(_args(), environ)

    assert request.destination_credentials.password == " pass word "


def test_a_password_that_is_a_json_word_leaves_the_output_valid_json(run):
    result = run("promote", f"{ECR}/App:1", env={"DOCKERHUB_PASSWORD": "false"})

    assert result.code == 2
    assert json.loads(result.stdout)["status"] == "invalid"


def test_an_image_list_with_a_byte_order_mark_and_crlf_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("CRANE", "/bin/true")
    image_list = tmp_path / "images.txt"
    image_list.write_bytes(
        f"\ufeff{ECR}/edp/a:1 docker.io/team/a:1\r\n# comment\r\n{ECR}/edp/b:2\r\n".encode()
    )

    requests, _, batch = promote_command.build_requests(
        _args(sources=[], from_file=str(image_list), jobs="2"), ENVIRONMENT
    )

    assert batch
    assert [str(r.destination) for r in requests] == ["docker.io/team/a:1", "docker.io/team/b:2"]


def test_a_username_with_a_colon_is_refused(monkeypatch):
    monkeypatch.setenv("CRANE", "/bin/true")
    with pytest.raises(InvalidInputError, match="must not contain ':'"):
        promote_command.build_requests(_args(), dict(ENVIRONMENT, DOCKERHUB_USERNAME="a:b"))


def test_input_is_checked_before_the_http_client_or_the_aws_sdk_is_loaded():
    # Refused input should not wait for requests or botocore to load, and a promotion
    # loads them only once its input is known to be sound.
    probe = (
        "import sys, ecr_to_docker.__main__, ecr_to_docker.promote_command; "
        "print(sorted({'requests', 'urllib3', 'botocore', 'boto3'} & set(sys.modules)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"AWS_PROFILE": "no-such-profile"}, "check AWS_PROFILE"),
        ({"AWS_DEFAULT_PROFILE": "no-such-profile"}, "check AWS_DEFAULT_PROFILE"),
        ({"AWS_CONFIG_FILE": "{garbage}"}, "the AWS configuration cannot be used"),
        ({"AWS_SHARED_CREDENTIALS_FILE": "{garbage}"}, "the AWS configuration cannot be used"),
        ({"AWS_SECRET_ACCESS_KEY": ""}, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY"),
        ({"AWS_ACCESS_KEY_ID": ""}, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID"),
        ({"AWS_ENDPOINT_URL": "http://exa mple.com"}, "AWS_ENDPOINT_URL must be"),
        ({"AWS_ENDPOINT_URL_ECR": "http://%41:1"}, "AWS_ENDPOINT_URL_ECR must be"),
    ],
    ids=[
        "missing-profile",
        "missing-default-profile",
        "unparsable-config",
        "unparsable-credentials",
        "key-id-without-secret",
        "secret-without-key-id",
        "endpoint-with-space",
        "service-endpoint-escaped",
    ],
)
def test_an_aws_configuration_that_cannot_work_exits_2_before_any_connection(
    run, tmp_path, setting, message
):
    garbage = tmp_path / "garbage.ini"
    garbage.write_text("[[[ this is not\n= an ini file\n")
    env = {name: value.format(garbage=garbage) for name, value in setting.items()}

    result = run("promote", f"{ECR}/app:1", env=env)

    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert result.connections == 0
    assert "Traceback" not in result.stderr
    assert "not-a-secret-access-key" not in result.stdout + result.stderr


def _promote_list(run, tmp_path, text):
    """`promote --from-file` of an image list holding `text`; the run and the list's path."""
    image_list = tmp_path / "release.txt"
    image_list.write_text(text)
    return run("promote", "--from-file", str(image_list)), image_list


def test_every_bad_line_of_an_image_list_is_named_at_once(run, tmp_path):
    result, image_list = _promote_list(
        run,
        tmp_path,
        f"{ECR}/good:1.0\n{ECR}/Bad:1.0\n{ECR}/no-tag\n{ECR}/fine:2.0  docker.io/Team/x:1\n"
        f"{ECR}/three:1.0 docker.io/team/three:1.0 extra\n",
    )

    assert result.code == 2, result.stderr
    assert "4 images cannot be promoted as given" in result.stderr
    assert "found 3 fields" in result.stderr
    for line in (2, 3, 4, 5):
        assert f"line {line} of {image_list}" in result.stderr
    assert result.connections == 0


def test_a_destination_named_twice_is_said_with_the_other_bad_lines(run, tmp_path):
    result, image_list = _promote_list(
        run,
        tmp_path,
        f"{ECR}/api:1.0 docker.io/team/api:1.0\n{ECR}/Bad:1.0\n"
        f"{ECR}/web:1.0 docker.io/team/api:1.0\n",
    )

    assert result.code == 2, result.stderr
    assert "2 images cannot be promoted as given" in result.stderr
    assert f"line 2 of {image_list}" in result.stderr
    assert f"line 3 of {image_list}: docker.io/team/api:1.0 is also the destination" in (
        result.stderr
    )
    assert result.connections == 0


@pytest.mark.parametrize(
    "first, second",
    [
        ("docker.io/team/app:1", "index.docker.io/team/app:1"),
        ("docker.io/team/app:1", "registry-1.docker.io/team/app:1"),
        ("registry.example.com/team/app:1", "registry.example.com:443/team/app:1"),
        ("Registry.Example.com/team/app:1", "registry.example.com/team/app:1"),
        ("registry.example.com:0443/team/app:1", "registry.example.com/team/app:1"),
        ("127.0.0.1:5443/team/app:1", "127.0.0.1:05443/team/app:1"),
        ("localhost:5443/team/app:1", "127.0.0.1:5443/team/app:1"),
    ],
    ids=[
        "index-alias",
        "registry-1-alias",
        "default-port",
        "host-case",
        "default-port-leading-zero",
        "port-leading-zero",
        "loopback-names",
    ],
)
def test_one_tag_spelt_two_ways_in_one_list_is_refused(run, tmp_path, first, second):
    result, _ = _promote_list(run, tmp_path, f"{ECR}/a:1 {first}\n{ECR}/b:1 {second}\n")

    assert result.code == 2, result.stderr
    assert "each destination tag can be published once" in result.stderr
    assert "line 2" in result.stderr
    assert result.connections == 0


def test_a_digest_only_line_without_dest_says_to_add_one_with_the_other_bad_lines(
    run, tmp_path
):
    result, _ = _promote_list(
        run,
        tmp_path,
        f"{ECR}/app@sha256:{'a' * 64}\n{ECR}/Bad:1\n"
        f"{ECR}/other@sha256:{'b' * 64} docker.io/team/other\n",
    )

    assert result.code == 2, result.stderr
    assert "add a DEST with the tag to publish under after it on this line" in result.stderr
    assert "line 3 of" in result.stderr and "so DEST must include the tag" in result.stderr
    assert "3 images cannot be promoted as given" in result.stderr
    assert result.connections == 0


def test_a_digest_only_source_among_several_says_to_list_it_with_a_dest(run):
    result = run("promote", f"{ECR}/a:1", f"{ECR}/app@sha256:{'a' * 64}")

    assert result.code == 2, result.stderr
    assert "list it in --from-file with a DEST" in result.stderr
    assert result.connections == 0



def test_refused_input_is_written_to_the_report_too(run, tmp_path):
    # A pipeline that reads or archives the report finds why the run stopped.
    report = tmp_path / "report.json"

    result = run("promote", f"{ECR}/Edp/App:1", "--report", str(report))

    assert result.code == 2
    assert result.connections == 0
    written = json.loads(report.read_text())
    assert written["status"] == "invalid"
    assert written["exit_code"] == 2
    assert "must be lowercase" in written["error"]
    assert "secret-password-value" not in report.read_text()
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_report_that_would_replace_the_image_list_is_refused(run, tmp_path):
    image_list = tmp_path / "release.txt"
    text = f"{ECR}/a:1\n{ECR}/b:1\n"
    image_list.write_text(text)

    result = run("promote", "--from-file", str(image_list), "--report", str(image_list))

    assert result.code == 2
    assert "is the image list given to --from-file" in result.stderr
    assert image_list.read_text() == text


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\r"])
def test_a_line_with_a_control_character_is_refused_not_split(run, tmp_path, separator):
    # Python's splitlines() breaks lines at these too: one line's DEST would become
    # another image's SOURCE, and that SOURCE would go to the default destination.
    image_list = tmp_path / "release.txt"
    image_list.write_text(
        f"{ECR}/edp/a:1 docker.io/team/a:1\n{ECR}/edp/b:1{separator}docker.io/team/b:1\n",
        encoding="utf-8",
        newline="",
    )

    result = run("promote", "--from-file", str(image_list))

    assert result.code == 2, result.stderr
    assert f"line 2 of {image_list}: holds the control character" in result.stderr
    assert result.connections == 0


def test_tabs_separate_source_and_dest(monkeypatch, tmp_path):
    monkeypatch.setenv("CRANE", "/bin/true")
    image_list = tmp_path / "images.txt"
    image_list.write_text(f"\t{ECR}/edp/a:1\t\tdocker.io/team/a:1\t# tab-separated\n")

    requests, _, _ = promote_command.build_requests(
        _args(sources=[], from_file=str(image_list), jobs="2"), ENVIRONMENT
    )

    assert [str(r.destination) for r in requests] == ["docker.io/team/a:1"]


@pytest.mark.parametrize("variable", ["DOCKERHUB_USERNAME", "DOCKERHUB_PASSWORD"])
def test_credentials_that_are_not_utf8_are_refused_without_showing_them(trap, tmp_path, variable):
    # subprocess takes bytes for the environment; a str would be encoded as UTF-8 first.
    environment = {
        b"PATH": os.environ["PATH"].encode(),
        b"HOME": str(tmp_path).encode(),
        b"AWS_ENDPOINT_URL": f"http://{trap.host}".encode(),
        b"AWS_ACCESS_KEY_ID": b"not-a-key-id",
        b"AWS_SECRET_ACCESS_KEY": b"not-a-secret-access-key",
        b"DOCKERHUB_USERNAME": b"someone",
        b"DOCKERHUB_PASSWORD": b"secret-password-value",
        b"DOCKERHUB_NAMESPACE": b"team",
        b"CRANE": os.environ.get("CRANE", "/bin/true").encode(),
    }
    environment[variable.encode()] = b"secret-\xff-value-xyz"
    before = trap.connections

    completed = subprocess.run(
        [sys.executable, "-m", "ecr_to_docker", "promote", f"{ECR}/app:1"],
        env=environment,
        capture_output=True,
        timeout=60,
    )

    assert completed.returncode == 2, completed.stderr
    assert f"{variable} is not valid UTF-8".encode() in completed.stderr
    assert b"value-xyz" not in completed.stdout + completed.stderr
    assert trap.connections == before


def test_a_blank_variable_counts_as_unset(run, tmp_path):
    # ECR_TO_DOCKER_REPORT=' ' would otherwise name a report file ' ' (and a report is
    # written for refused input too).
    result = run("promote", f"{ECR}/Edp/App:1", env={"ECR_TO_DOCKER_REPORT": "  "})

    assert result.code == 2
    assert "must be lowercase" in result.stderr
    assert not os.path.exists("  ") and not os.path.exists(tmp_path / "  ")


def test_spaces_around_a_variable_are_not_part_of_its_value(monkeypatch):
    # A value pasted into a Jenkins parameter often ends in a space.
    monkeypatch.setenv("CRANE", "/bin/true")
    for name, value in (
        ("ECR_TO_DOCKER_AWS_REGION", " eu-west-3 "),
        ("ECR_TO_DOCKER_ECR_REGISTRY_ID", "123456789012 "),
        ("ECR_TO_DOCKER_IF_EXISTS", "skip-identical "),
    ):
        monkeypatch.setenv(name, value)
    args = cli.build_parser().parse_args(["promote", f"{ECR}/app:1"])

    assert (args.aws_region, args.ecr_registry_id) == ("eu-west-3", "123456789012")
    assert args.if_exists == "skip-identical"


def test_a_report_refused_through_its_variable_is_named_by_it(run, tmp_path):
    image_list = tmp_path / "images.txt"
    image_list.write_text(f"{ECR}/app:1\n")

    result = run(
        "promote",
        env={"ECR_TO_DOCKER_FROM_FILE": str(image_list), "ECR_TO_DOCKER_REPORT": str(image_list)},
    )

    assert result.code == 2
    assert "ECR_TO_DOCKER_REPORT" in result.stderr
    assert "given to ECR_TO_DOCKER_FROM_FILE" in result.stderr
    assert image_list.read_text() == f"{ECR}/app:1\n"


def test_blank_retry_variables_count_as_unset():
    blank = {"ECR_TO_DOCKER_RETRIES": " ", "ECR_TO_DOCKER_RETRY_BACKOFF": ""}

    assert retry_settings(blank) == (4, 0.5)
    assert retry_settings({"ECR_TO_DOCKER_RETRIES": "0"}) == (0, 0.5)


@pytest.mark.parametrize(
    "command, variable",
    [
        (
            ["promote", f"{ECR}/app:1", "--dry-run", "--timeout", "soon"],
            "ECR_TO_DOCKER_JENKINS_DRY_RUN",
        ),
        (["jenkins-credentials", "--jenkins-url", "ftp://x"], "ECR_TO_DOCKER_DRY_RUN"),
    ],
    ids=["promote", "jenkins-credentials"],
)
def test_a_bad_value_in_the_other_commands_variable_is_none_of_its_business(
    run, command, variable
):
    result = run(*command, env={variable: "maybe"})

    assert result.code == 2
    assert variable not in result.stderr


def test_an_invalid_namespace_is_not_repeated_in_the_message(run):
    # A token pasted into the namespace credential by mistake must not reach the log.
    result = run("promote", f"{ECR}/app:1", env={"DOCKERHUB_NAMESPACE": "dckr_pat_Q2xNz8vX9kLm"})

    assert result.code == 2
    assert "DOCKERHUB_NAMESPACE must be lowercase" in result.stderr
    assert "Q2xNz8vX9kLm" not in result.stdout + result.stderr


def test_a_bad_variable_value_found_while_reading_the_options_is_reported_too(run, tmp_path):
    report = tmp_path / "report.json"

    result = run(
        "promote", f"{ECR}/app:1", "--report", str(report), env={"ECR_TO_DOCKER_IF_EXISTS": "x"}
    )

    assert result.code == 2
    assert json.loads(report.read_text())["status"] == "invalid"


def test_an_overlong_namespace_is_not_shown_either(run):
    namespace = "a" * 250

    result = run("promote", f"{ECR}/app:1", env={"DOCKERHUB_NAMESPACE": namespace})

    assert result.code == 2
    assert "its value is not shown" in result.stderr
    assert namespace not in result.stdout + result.stderr
