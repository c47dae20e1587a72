"""What hiding secrets must not do: garble the output, or point at the secret.

Secrets are hidden wherever they occur in a log line or a JSON value. A value short enough
to be an ordinary word, a version or a digest prefix would make that hiding both garble the
output and give the secret away ("app:<hidden>" beside a tag everyone knows). These runs
promote for real against the stand-ins, as Docker Hub users with such passwords.
"""

import base64
import json
import shutil

import pytest
from conftest import run_cli
from standins.stack import HUB_NAMESPACE, StandInStack

TAG = "1.0.0"
ORDINARY_PASSWORDS = {
    "user-sha256": "sha256",
    "user-status": "status",
    "user-version": TAG,
    "user-promoted": "promoted",
    "user-namespace": HUB_NAMESPACE,
}


@pytest.fixture(scope="module")
def ordinary_password_stack():
    stack = StandInStack(more_hub_users=ORDINARY_PASSWORDS).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.mark.parametrize("user", sorted(ORDINARY_PASSWORDS))
def test_a_password_that_is_an_ordinary_word_leaves_the_output_whole(
    ordinary_password_stack, user
):
    stack, password = ordinary_password_stack, ORDINARY_PASSWORDS[user]
    digest, _, _ = stack.source_pusher().push_image(f"edp/{user}", TAG, [4096], seed=user)
    destination = stack.destination(user, TAG)

    run = run_cli(
        ["promote", stack.source(f"edp/{user}", TAG), "--destination", destination],
        stack.environment(DOCKERHUB_USERNAME=user, DOCKERHUB_PASSWORD=password),
    )
    shutil.rmtree(run.tmpdir, ignore_errors=True)

    result = json.loads(run.stdout)
    assert run.returncode == 0, run.stderr
    assert result["status"] == "promoted"
    assert result["source_digest"] == result["destination_digest"] == digest
    assert result["destination"] == f"{stack.hub.host}/{HUB_NAMESPACE}/{user}:{TAG}"
    assert "<hidden>" not in run.stdout + run.stderr
    if len(password) < 8:
        assert "shorter than 8 characters" in run.stderr
    else:
        assert "is the username, the namespace or a word of this tool's results" in run.stderr
    # Its Basic-auth form is long, and hidden whatever the password's length.
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert pair not in run.stdout + run.stderr


def test_a_short_password_is_not_hidden_but_its_basic_auth_form_is():
    from ecr_to_docker import logs

    logs.register_secret("abc12", username="robot")
    pair = base64.b64encode(b"robot:abc12").decode()

    assert logs.redact(f"header Basic {pair}") == "header Basic <hidden>"
    assert logs.redact("tag abc12") == "tag abc12"


def test_json_keys_are_never_hidden():
    from ecr_to_docker import logs

    logs.register_secret("status-secret-value")

    assert logs.redact_values({"status-secret-value": "status-secret-value"}) == {
        "status-secret-value": "<hidden>"
    }


def test_a_password_is_hidden_in_the_forms_a_server_may_echo_it_in():
    import urllib.parse

    from ecr_to_docker import logs

    password = "p4$$ `w0rd' with: all"
    logs.register_secret(password, username="robot")
    pair = f"robot:{password}".encode()
    echoed = [
        urllib.parse.quote(password, safe=""),
        urllib.parse.quote_plus(password),
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(pair).decode().rstrip("="),
        base64.urlsafe_b64encode(pair).decode().rstrip("="),
    ]

    for form in echoed:
        assert logs.redact(f"the server said {form}.") == "the server said <hidden>.", form
