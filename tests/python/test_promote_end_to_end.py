"""The promotion, end to end: the real CLI, real crane, moto's ECR API, and two real
distribution registries on loopback (Basic auth as ECR, token auth as Docker Hub)."""

import json
import os
import shutil
import signal

import pytest
from conftest import start_command
from standins import processes
from standins import stack as standin
from standins.token_server import TOKEN_LIFETIME

MiB = 1024 * 1024


def secrets_of(stack):
    import base64

    pair = f"{standin.HUB_USER}:{standin.HUB_PASSWORD}".encode()
    ecr_pair = f"AWS:{stack.ecr_password}".encode()
    return [
        standin.HUB_PASSWORD,
        base64.b64encode(pair).decode(),
        stack.ecr_password,
        base64.b64encode(ecr_pair).decode(),
        "testing-secret-key-value",
    ]


def hub_digest(stack, repository, tag):
    """What the Docker Hub stand-in's tag points at, asked independently of the tool."""
    pusher = stack.hub_pusher_for(repository)
    response = pusher.session.head(
        f"{stack.hub.url}/v2/{repository}/manifests/{tag}",
        headers={
            "Accept": ", ".join(
                [
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.index.v1+json",
                ]
            )
        },
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def destination_repository(name):
    return f"{standin.HUB_NAMESPACE}/{name}"


def promote(cli, stack, repository, tag, *options, **settings):
    """`ecr-to-docker promote` of REPOSITORY:TAG in the ECR stand-in to the same name on
    the Docker Hub stand-in."""
    return cli(
        "promote",
        stack.source(repository, tag),
        "--destination",
        stack.destination(repository, tag),
        *options,
        **settings,
    )


# -- the digest is kept --------------------------------------------------------------


def test_a_docker_v2_image_is_promoted_with_its_digest_unchanged(stack, cli, repo_name):
    digest, _, _ = stack.source_pusher().push_image(
        f"edp/{repo_name}", "1.2.3", [MiB, 4096], seed=repo_name
    )

    run = cli(
        "promote",
        stack.source(f"edp/{repo_name}", "1.2.3"),
        "--destination",
        stack.destination(repo_name, "1.2.3"),
    )

    assert run.returncode == 0, run.stderr
    assert run.result["status"] == "promoted"
    assert run.result["source_digest"] == digest
    assert run.result["destination_digest"] == digest
    assert run.result["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert hub_digest(stack, destination_repository(repo_name), "1.2.3") == digest


def test_an_oci_image_is_promoted_with_its_digest_unchanged(stack, cli, repo_name):
    digest, _, _ = stack.source_pusher().push_image(
        repo_name, "v1", [MiB], seed=repo_name, oci=True
    )

    run = promote(cli, stack, repo_name, "v1")

    assert run.returncode == 0, run.stderr
    assert run.result["media_type"] == "application/vnd.oci.image.index.v1+json".replace(
        "index", "manifest"
    )
    assert hub_digest(stack, destination_repository(repo_name), "v1") == digest


def test_a_multi_platform_index_keeps_its_digest_and_every_child(stack, cli, repo_name):
    digest, _, children = stack.source_pusher().push_index(
        repo_name,
        "2.0",
        ["linux/amd64", "linux/arm64", "linux/s390x"],
        [256 * 1024],
        seed=repo_name,
    )

    run = promote(cli, stack, repo_name, "2.0")

    assert run.returncode == 0, run.stderr
    assert run.result["destination_digest"] == digest
    assert run.result["manifests"] == children
    assert len(children) == 4  # three platforms and the unknown/unknown attestation
    assert hub_digest(stack, destination_repository(repo_name), "2.0") == digest
    for child in children:
        assert hub_digest(stack, destination_repository(repo_name), child) == child


def test_a_source_given_by_digest_is_promoted_under_the_destination_tag(stack, cli, repo_name):
    digest, _, _ = stack.source_pusher().push_image(repo_name, "build-7", [4096], seed=repo_name)

    run = cli(
        "promote",
        f"{stack.ecr.host}/{repo_name}@{digest}",
        "--destination",
        stack.destination(repo_name, "release"),
    )

    assert run.returncode == 0, run.stderr
    assert hub_digest(stack, destination_repository(repo_name), "release") == digest


# -- never overwrite -----------------------------------------------------------------


def test_an_existing_tag_with_another_digest_is_refused_and_left_unchanged(stack, cli, repo_name):
    source_digest, _, _ = stack.source_pusher().push_image(repo_name, "1.0", [4096], seed="new")
    planted, _, _ = stack.hub_pusher_for(destination_repository(repo_name)).push_image(
        destination_repository(repo_name), "1.0", [4096], seed="old"
    )
    blobs_before = stack.hub.blob_count()

    run = promote(cli, stack, repo_name, "1.0")

    assert run.returncode == 3
    assert run.result["status"] == "refused"
    message = run.stderr
    assert f"{stack.destination(repo_name, '1.0')} already exists" in message
    assert planted in message and source_digest in message
    assert hub_digest(stack, destination_repository(repo_name), "1.0") == planted
    assert stack.hub.blob_count() == blobs_before


def test_an_identical_rerun_is_refused_by_default_and_accepted_with_skip_identical(
    stack, cli, repo_name
):
    digest, _, _ = stack.source_pusher().push_image(repo_name, "3.1", [4096], seed=repo_name)
    arguments = [
        "promote",
        stack.source(repo_name, "3.1"),
        "--destination",
        stack.destination(repo_name, "3.1"),
    ]
    assert cli(*arguments).returncode == 0

    default = cli(*arguments)
    skip = cli(*arguments, "--if-exists", "skip-identical")
    from_environment = cli(*arguments, env={"ECR_TO_DOCKER_IF_EXISTS": "skip-identical"})

    assert default.returncode == 3
    assert "--if-exists skip-identical" in default.stderr
    assert skip.returncode == 0, skip.stderr
    assert skip.result["status"] == "identical"
    assert skip.result["destination_digest"] == digest
    assert from_environment.returncode == 0


def test_skip_identical_still_refuses_a_tag_holding_another_image(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed="mine")
    stack.hub_pusher_for(destination_repository(repo_name)).push_image(
        destination_repository(repo_name), "1.0", [4096], seed="theirs"
    )

    run = promote(cli, stack, repo_name, "1.0", "--if-exists", "skip-identical")

    assert run.returncode == 3


def test_a_dry_run_checks_everything_and_writes_nothing(stack, cli, repo_name):
    digest, _, _ = stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = promote(cli, stack, repo_name, "1.0", "--dry-run")

    assert run.returncode == 0, run.stderr
    assert run.result["status"] == "dry-run"
    assert run.result["source_digest"] == digest
    assert not stack.hub.has_repository(destination_repository(repo_name))


# -- credentials and failures: nothing copied -----------------------------------------


def test_a_wrong_docker_hub_password_exits_4_and_copies_nothing(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = promote(cli, stack, repo_name, "1.0", env={"DOCKERHUB_PASSWORD": "not-the-password"})

    assert run.returncode == 4
    assert "refused the credentials" in run.stderr
    assert not stack.hub.has_repository(destination_repository(repo_name))


def test_a_namespace_the_user_cannot_push_to_exits_4_and_copies_nothing(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    foreign = f"{stack.hub.host}/{standin.OTHER_NAMESPACE}/{repo_name}:1.0"

    run = cli("promote", stack.source(repo_name, "1.0"), "--destination", foreign)

    assert run.returncode == 4
    assert "may not pull/push" in run.stderr
    assert not stack.hub.has_repository(f"{standin.OTHER_NAMESPACE}/{repo_name}")


def test_a_failing_token_service_exits_5_and_copies_nothing(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    stack.token_server.fail_with = 503
    try:
        run = promote(cli, stack, repo_name, "1.0")
    finally:
        stack.token_server.fail_with = None

    assert run.returncode == 5
    assert "503" in run.stderr
    assert "retrying" in run.stderr  # 503 is retried before giving up
    assert not stack.hub.has_repository(destination_repository(repo_name))


@pytest.mark.parametrize(
    "lifetime, crane_asks_for_tokens",
    [(300, False), (60, True)],
    ids=["token-outlasts-the-copy", "token-too-short-for-the-copy"],
)
def test_crane_is_handed_our_destination_token_only_when_it_outlasts_the_copy(
    stack, cli, repo_name, lifetime, crane_asks_for_tokens
):
    # Ours is the one token request for pull,push on the repository; crane, given the
    # password, asks again for each blob it sends ("push,pull" in its words).
    digest, _, _ = stack.source_pusher().push_image(repo_name, "1.0", [4096] * 3, seed=repo_name)
    requests_before = len(stack.token_server.requests)
    stack.token_server.token_lifetime = lifetime
    try:
        run = promote(cli, stack, repo_name, "1.0")
    finally:
        stack.token_server.token_lifetime = TOKEN_LIFETIME
    token_requests = stack.token_server.requests[requests_before:]

    assert run.returncode == 0, run.stderr
    assert hub_digest(stack, destination_repository(repo_name), "1.0") == digest
    our_scope = [f"repository:{destination_repository(repo_name)}:pull,push"]
    ours = [scopes for _, scopes, _ in token_requests if scopes == our_scope]
    assert len(ours) == 1, token_requests
    assert all(user == standin.HUB_USER for user, _, _ in token_requests)
    assert (len(token_requests) > 1) == crane_asks_for_tokens, token_requests


def test_a_missing_source_image_is_a_clear_error_that_is_neither_success_nor_refusal(
    stack, cli, repo_name
):
    run = promote(cli, stack, repo_name, "9.9.9")

    assert run.returncode == 5
    assert "does not exist" in run.stderr
    assert not stack.hub.has_repository(destination_repository(repo_name))


def test_wrong_aws_credentials_exit_4(stack, cli, repo_name):
    # moto accepts any key unless told otherwise; a region with no ECR answers like AWS
    # does for an unknown client. Use a broken endpoint instead: the ECR API refusing.
    run = promote(
        cli,
        stack,
        repo_name,
        "1.0",
        env={
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )

    assert run.returncode == 4
    assert "no AWS credentials" in run.stderr


@pytest.mark.parametrize("kind", ["web-identity", "assume-role-profile"])
def test_credentials_that_come_through_sts_log_in(stack, cli, repo_name, tmp_path, kind):
    # A pod role (IRSA: a web identity token) and a profile that assumes a role both ask
    # STS for the keys first; moto answers STS as it answers ECR.
    stack.source_pusher().push_image(repo_name, "1.0", [2048], seed=repo_name)
    role = "arn:aws:iam::123456789012:role/promoter"
    env = {
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if kind == "web-identity":
        token = tmp_path / "token"
        token.write_text("a-web-identity-token-from-the-cluster")
        env.update(AWS_ROLE_ARN=role, AWS_WEB_IDENTITY_TOKEN_FILE=str(token))
    else:
        config = tmp_path / "config"
        config.write_text(f"[profile promoter]\nrole_arn = {role}\nsource_profile = base\n")
        credentials = tmp_path / "credentials"
        credentials.write_text(
            "[base]\naws_access_key_id = base-key-id\n"
            "aws_secret_access_key = base-secret-access-key\n"
        )
        env.update(
            AWS_PROFILE="promoter",
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        )

    run = promote(cli, stack, repo_name, "1.0", "--dry-run", env=env)

    assert run.returncode == 0, run.stderr
    assert "logged in to ECR" in run.stderr
    assert "Traceback" not in run.stderr
    assert "base-secret-access-key" not in run.stdout + run.stderr


def _credential_process_profile(tmp_path, script):
    """An AWS profile whose keys come from `python3 SCRIPT` (the AWS SDK's credential_process),
    and the environment that selects it."""
    program = tmp_path / "credentials.py"
    program.write_text(script)
    config = tmp_path / "config"
    config.write_text(f"[profile promoter]\ncredential_process = python3 {program}\n")
    return {
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PROFILE": "promoter",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials-file"),
    }


def test_keys_from_a_credential_process_log_in(stack, cli, repo_name, tmp_path):
    stack.source_pusher().push_image(repo_name, "1.0", [2048], seed=repo_name)
    env = _credential_process_profile(
        tmp_path,
        "import json\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': 'process-key-id',\n"
        "                  'SecretAccessKey': 'process-secret-access-key'}))\n",
    )

    run = promote(cli, stack, repo_name, "1.0", "--dry-run", env=env)

    assert run.returncode == 0, run.stderr
    assert "logged in to ECR" in run.stderr
    assert "process-secret-access-key" not in run.stdout + run.stderr


def test_a_failing_credential_process_is_exit_4(stack, cli, repo_name, tmp_path):
    stack.source_pusher().push_image(repo_name, "1.0", [2048], seed=repo_name)
    env = _credential_process_profile(
        tmp_path, "import sys\nsys.exit('the SSO session has expired; log in again')\n"
    )

    run = promote(cli, stack, repo_name, "1.0", env=env)

    assert run.returncode == 4, run.stderr
    assert "AWS credentials could not be obtained" in run.stderr
    assert "the SSO session has expired" in run.stderr
    assert "Traceback" not in run.stderr
    assert not stack.hub.has_repository(destination_repository(repo_name))


def test_a_process_the_command_did_not_start_is_left_alone(tmp_path):
    # A wrapper that starts a job in the background and then execs the command: the job
    # is a child of the command's process, but not one of its own.
    import subprocess
    import sys

    pid_file = tmp_path / "pid"
    wrapper = (
        f"sleep 60 >/dev/null 2>&1 & echo $! > {pid_file}; "
        f"exec {sys.executable} -m ecr_to_docker promote 'not a reference'"
    )
    completed = subprocess.run(["bash", "-c", wrapper], capture_output=True, text=True)

    assert completed.returncode == 2, completed.stderr
    background = int(pid_file.read_text())
    try:
        assert processes.is_running(background)
        assert "stopped a program" not in completed.stderr
    finally:
        os.kill(background, signal.SIGTERM)


def test_a_credential_process_that_hangs_is_stopped_with_the_run(stack, cli, repo_name, tmp_path):
    # botocore starts it and waits for it without a time limit; --timeout ends the run,
    # and the process must not outlive it on the agent.
    stack.source_pusher().push_image(repo_name, "1.0", [2048], seed=repo_name)
    pid_file = tmp_path / "pid"
    env = _credential_process_profile(
        tmp_path,
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(600)\n",
    )

    run = promote(cli, stack, repo_name, "1.0", "--timeout", "4", env=env)

    assert run.returncode == 5, run.stderr
    assert "did not answer within the run's time budget" in run.stderr
    assert "stopped a program this run had started" in run.stderr
    hung = int(pid_file.read_text())
    assert processes.wait_until_gone(hung, seconds=5), "the credential_process outlived the run"
    assert not stack.hub.has_repository(destination_repository(repo_name))


# -- the environment it runs in --------------------------------------------------------


def test_a_password_full_of_shell_and_config_characters_works(stack, cli, repo_name):
    for character in "$`'\"\\:! ":
        assert character in standin.HUB_PASSWORD
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)

    run = promote(cli, stack, repo_name, "1.0")

    assert run.returncode == 0, run.stderr


def test_the_ecr_token_is_asked_of_the_source_region_not_the_default_one(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    assert standin.DEFAULT_REGION != standin.ECR_REGION

    run = promote(cli, stack, repo_name, "1.0", "-v")

    assert run.returncode == 0, run.stderr
    # moto answers in the region the request was signed for, and names it in the endpoint.
    endpoint = f"https://{standin.ECR_ACCOUNT}.dkr.ecr.{standin.ECR_REGION}.amazonaws.com"
    assert f"the ECR token is for {endpoint}" in run.stderr


def test_a_broken_credential_helper_in_the_agents_docker_config_does_not_matter(
    stack, cli, repo_name
):
    docker_directory = os.path.join(stack.home, ".docker")
    os.makedirs(docker_directory, exist_ok=True)
    with open(os.path.join(docker_directory, "config.json"), "w") as config:
        json.dump({"credsStore": "does-not-exist", "credHelpers": {stack.hub.host: "nope"}}, config)
    try:
        stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
        run = promote(cli, stack, repo_name, "1.0")
    finally:
        shutil.rmtree(docker_directory)

    assert run.returncode == 0, run.stderr


def test_no_secret_appears_in_output_report_or_any_command_line(stack, cli, repo_name, tmp_path):
    stack.source_pusher().push_image(repo_name, "1.0", [2 * MiB], seed=repo_name)
    report = tmp_path / "report.json"

    runs = [
        promote(
            cli,
            stack,
            repo_name,
            "1.0",
            "-v",
            "--report",
            report,
            watch_processes=True,
            env={"AWS_SECRET_ACCESS_KEY": "testing-secret-key-value"},
        ),
        promote(
            cli,
            stack,
            repo_name,
            "1.0",
            "-v",
            watch_processes=True,
            env={"DOCKERHUB_PASSWORD": standin.HUB_PASSWORD + "x"},
        ),
    ]

    assert runs[0].returncode == 0 and runs[1].returncode == 4
    assert any("crane copy" in line for line in runs[0].command_lines), "the watcher saw crane run"
    texts = [report.read_text()]
    for run in runs:
        texts += [run.stdout, run.stderr, *run.command_lines]
    for secret in secrets_of(stack) + [standin.HUB_PASSWORD + "x"]:
        for text in texts:
            assert secret not in text


def test_the_private_docker_config_is_gone_after_success_and_after_failure(stack, cli, repo_name):
    stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    arguments = [
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        stack.destination(repo_name, "1.0"),
    ]

    success, refusal = cli(*arguments), cli(*arguments)

    assert (success.returncode, refusal.returncode) == (0, 3)
    for run in (success, refusal):
        assert os.listdir(run.tmpdir) == []


@pytest.mark.parametrize(
    "signal_number",
    [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1],
    ids=["sigterm", "sigint", "sighup", "sigquit", "sigusr1"],
)
def test_a_signal_during_the_copy_stops_crane_and_removes_the_credentials(
    stack, repo_name, tmp_path, signal_number
):
    stack.source_pusher().push_image(repo_name, "1.0", [24 * MiB] * 4, seed=repo_name)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    process = start_command(
        [
            "promote",
            stack.source(repo_name, "1.0"),
            "--destination",
            stack.destination(repo_name, "1.0"),
            "--report",
            str(tmp_path / "report.json"),
        ],
        stack.environment(TMPDIR=str(tmpdir)),
    )
    crane_pid = processes.wait_for_children(process.pid, "crane")[0]

    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 128 + signal_number, stderr
    # The result and the report say how far it got: the copy, so no tag.
    result = json.loads(stdout)
    assert (result["status"], result["exit_code"]) == ("interrupted", 128 + signal_number)
    assert result["source_digest"] is not None
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "interrupted"
    assert list(tmpdir.iterdir()) == []
    assert not processes.is_running(crane_pid)
    assert hub_digest(stack, destination_repository(repo_name), "1.0") is None


def test_a_hangup_ignored_by_whoever_started_the_command_stays_ignored(stack, repo_name):
    # As under nohup: the promotion goes on to the end.
    digest, _, _ = stack.source_pusher().push_image(
        repo_name, "1.0", [24 * MiB] * 2, seed=repo_name
    )
    process = start_command(
        [
            "promote",
            stack.source(repo_name, "1.0"),
            "--destination",
            stack.destination(repo_name, "1.0"),
        ],
        stack.environment(),
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    processes.wait_for_children(process.pid, "crane")

    process.send_signal(signal.SIGHUP)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert hub_digest(stack, destination_repository(repo_name), "1.0") == digest


def test_the_report_holds_the_result_and_timings(stack, cli, repo_name, tmp_path):
    digest, _, _ = stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    report = tmp_path / "promotion.json"

    run = promote(cli, stack, repo_name, "1.0", "--report", report)

    assert run.returncode == 0, run.stderr
    content = json.loads(report.read_text())
    assert content["status"] == "promoted"
    assert content["destination_digest"] == digest
    assert {"ecr_login", "source_resolve", "destination_check", "copy", "verify", "total"} <= set(
        content["timings"]
    )
    assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name]


def test_the_default_destination_is_docker_hub_under_the_namespace(stack, cli, repo_name):
    stack.source_pusher().push_image(f"team/{repo_name}", "1.0", [4096], seed=repo_name)

    # --dry-run with the real Docker Hub unreachable: the destination is computed and
    # printed before anything fails, and the failure must be a network one (5), not "absent".
    run = cli(
        "promote",
        stack.source(f"team/{repo_name}", "1.0"),
        "--timeout",
        "5",
        env={"HTTPS_PROXY": "http://127.0.0.1:9"},
    )

    assert run.result["destination"] == f"docker.io/{standin.HUB_NAMESPACE}/{repo_name}:1.0"
    assert run.returncode == 5


def test_a_proxy_is_used_unless_no_proxy_says_otherwise(stack, cli, repo_name):
    digest, _, _ = stack.source_pusher().push_image(repo_name, "1.0", [4096], seed=repo_name)
    dead_proxy = {"HTTP_PROXY": "http://127.0.0.1:9", "ECR_TO_DOCKER_RETRIES": "0"}

    bypassed = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        stack.destination(repo_name, "1.0"),
        env=dict(dead_proxy, NO_PROXY="127.0.0.1"),
    )
    through_proxy = cli(
        "promote",
        stack.source(repo_name, "1.0"),
        "--destination",
        stack.destination(f"{repo_name}-b", "1.0"),
        env=dead_proxy,
    )

    assert bypassed.returncode == 0, bypassed.stderr
    assert bypassed.result["destination_digest"] == digest
    # Every registry request goes to the (dead) proxy: a network failure, never "absent".
    assert through_proxy.returncode == 5, through_proxy.stderr
    assert "127.0.0.1:9" in through_proxy.stderr or "proxy" in through_proxy.stderr.lower()
