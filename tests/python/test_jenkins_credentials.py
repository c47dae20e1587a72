"""`ecr-to-docker jenkins-credentials`: the two credentials of the ecrToDocker stage.

End-to-end tests run the real CLI as a subprocess against `standins.jenkins`, an HTTP
stand-in of Jenkins' credential-store endpoints (a real Jenkins is not part of the test
run; see docs/jenkins-credentials.md). The stand-in
enforces Basic auth with the API token, the CSRF crumb and permissions, keeps the exact XML
it is sent, and, like Jenkins, never shows a stored secret back.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from ecr_to_docker import jenkins_credential_xml as credential_xml
from hypothesis import given
from hypothesis import strategies as st
from standins import jenkins as standin

PYTHON_SOURCES = Path(__file__).resolve().parents[2] / "python"

ADMIN = "admin"
TOKEN = "11c3f0e2a9d84b7f-api-token"
DOCKER_USER = "edp-pusher"
PASSWORD = "dckr_pat_<&>\"'-Grüße-\U0001f511"
NAMESPACE = "acmeplatformteam"

UP_CLASS = "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl"
TEXT_CLASS = "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl"
GLOBAL_CREATE = "/credentials/store/system/domain/_/createCredentials"

USERS = {
    ADMIN: standin.ALL_PERMISSIONS,
    "no-read": frozenset(),
    "reader": {standin.OVERALL_READ, standin.JOB_READ},
    "viewer": {standin.OVERALL_READ, standin.JOB_READ, standin.VIEW},
    "creator": {standin.OVERALL_READ, standin.JOB_READ, standin.VIEW, standin.CREATE},
}


@pytest.fixture
def jenkins():
    stand_in = standin.JenkinsStandIn()
    for name, permissions in USERS.items():
        stand_in.add_user(name, TOKEN, permissions)
    stand_in.add_folder("team/app").add_job("team/pipeline").start()
    yield stand_in
    stand_in.stop()


def environment(**overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ECR_TO_DOCKER_", "JENKINS_", "DOCKERHUB_"))
    }
    env.update(
        PYTHONPATH=str(PYTHON_SOURCES),
        JENKINS_USER=ADMIN,
        JENKINS_API_TOKEN=TOKEN,
        DOCKERHUB_USERNAME=DOCKER_USER,
        DOCKERHUB_PASSWORD=PASSWORD,
        DOCKERHUB_NAMESPACE=NAMESPACE,
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class Run:
    def __init__(self, completed):
        self.arguments = completed.args
        self.exit_code = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.result = json.loads(completed.stdout) if completed.stdout.strip() else None

    def action(self, credential_id):
        return self.entry(credential_id)["action"]

    def entry(self, credential_id):
        (entry,) = [e for e in self.result["credentials"] if e["id"] == credential_id]
        return entry


def run_cli(url, *args, **env_overrides):
    completed = subprocess.run(
        [sys.executable, "-m", "ecr_to_docker", "jenkins-credentials", "--jenkins-url", url, *args],
        env=environment(**env_overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Run(completed)


def parsed(stored_credential):
    """The values a Jenkins XML parser gets out of the bytes the command sent."""
    return {child.tag: child.text for child in ET.fromstring(stored_credential.body)}


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# -- the stand-in behaves as the tests assume ---------------------------------------------


def test_the_stand_in_refuses_a_post_without_the_crumb(jenkins):
    auth = (ADMIN, TOKEN)
    xml = credential_xml.to_xml(credential_xml.secret_text("x", "y")).encode()
    headers = {"Content-Type": "text/xml"}

    without = requests.post(jenkins.url + GLOBAL_CREATE[1:], data=xml, headers=headers, auth=auth)
    crumb = requests.get(jenkins.url + "crumbIssuer/api/json", auth=auth).json()
    with_crumb = requests.post(
        jenkins.url + GLOBAL_CREATE[1:],
        data=xml,
        auth=auth,
        headers={**headers, crumb["crumbRequestField"]: crumb["crumb"]},
    )

    assert without.status_code == 403
    assert with_crumb.status_code == 200


def test_the_stand_in_refuses_a_wrong_token_with_401(jenkins):
    answer = requests.get(jenkins.url + "me/api/json", auth=(ADMIN, "not-the-token"))

    assert answer.status_code == 401


def test_the_stand_in_never_shows_a_stored_secret(jenkins):
    jenkins.seed(
        credential_xml.to_xml(
            credential_xml.username_password("dockerCredentialsId", DOCKER_USER, "s3cr3t-value")
        )
    )

    answer = requests.get(
        jenkins.url + "credentials/store/system/domain/_/credential/dockerCredentialsId/config.xml",
        auth=(ADMIN, TOKEN),
    )

    assert answer.status_code == 200
    assert "s3cr3t-value" not in answer.text
    assert ET.fromstring(answer.content).find("password/secret-redacted") is not None


# -- the credential XML ------------------------------------------------------------------


SPECIAL_VALUES = {
    "less-than": "a<b",
    "greater-than": "a>b",
    "ampersand": "a&b&amp;",
    "double-quote": 'a"b',
    "single-quote": "a'b",
    "cdata-end": "a]]>b",
    "entity-lookalike": "&lt;&#60;",
    "non-ascii": "pässwörd-密码-\U0001f511",
    "spaces-and-newline": "  two\nlines  ",
}


@pytest.mark.parametrize("value", SPECIAL_VALUES.values(), ids=SPECIAL_VALUES.keys())
def test_a_password_reaches_jenkins_exactly_as_given(value):
    xml = credential_xml.to_xml(credential_xml.username_password("id", "user", value))

    password = ET.fromstring(xml.encode("utf-8")).findtext("password")

    assert password == value


@pytest.mark.parametrize("value", SPECIAL_VALUES.values(), ids=SPECIAL_VALUES.keys())
def test_a_description_reaches_jenkins_exactly_as_given(value):
    credential = credential_xml.Credential(
        kind=credential_xml.SECRET_TEXT,
        id="id",
        description=value,
        secret_fields=(("secret", "s"),),
    )

    root = ET.fromstring(credential_xml.to_xml(credential).encode("utf-8"))

    assert root.findtext("description") == value


@given(st.text(st.characters(blacklist_categories=("Cs",))).filter(credential_xml.is_xml_safe))
def test_any_value_xml_can_carry_survives_the_trip(value):
    xml = credential_xml.to_xml(credential_xml.secret_text("id", value))

    assert ET.fromstring(xml.encode("utf-8")).findtext("secret") == value


@pytest.mark.parametrize(
    "value",
    ["carriage\rreturn", "nul\x00", "escape\x1b[0m", "not-utf8-\udcff"],
    ids=["carriage-return", "nul", "escape", "surrogate-escaped-byte"],
)
def test_values_xml_cannot_carry_unchanged_are_recognised(value):
    assert not credential_xml.is_xml_safe(value)


def test_what_jenkins_shows_is_compared_field_by_field_without_the_secret():
    wanted = credential_xml.username_password("dockerCredentialsId", "new-user", "pw")
    shown = (
        f'<{UP_CLASS} plugin="credentials@1337"><scope>GLOBAL</scope>'
        "<id>dockerCredentialsId</id><description>old</description>"
        "<username>old-user</username><password><secret-redacted/></password>"
        f"<usernameSecret>false</usernameSecret></{UP_CLASS}>"
    )

    current = credential_xml.from_xml(shown)

    assert credential_xml.differences(wanted, current) == ["description", "username"]


# -- creating ----------------------------------------------------------------------------


def test_it_creates_both_credentials_in_the_global_store_as_jenkins_expects_them(jenkins):
    run = run_cli(jenkins.url)

    assert run.exit_code == 0, run.stderr
    docker = jenkins.store()["dockerCredentialsId"]
    repo = jenkins.store()["repoCredentialsID"]
    assert docker.kind == UP_CLASS
    assert parsed(docker) == {
        "scope": "GLOBAL",
        "id": "dockerCredentialsId",
        "description": "dockerCredentialsId",
        "username": DOCKER_USER,
        "password": PASSWORD,
        "usernameSecret": "false",
    }
    assert repo.kind == TEXT_CLASS
    assert parsed(repo) == {
        "scope": "GLOBAL",
        "id": "repoCredentialsID",
        "description": "repoCredentialsID",
        "secret": NAMESPACE,
    }
    assert [r.path for r in jenkins.writes()] == [GLOBAL_CREATE, GLOBAL_CREATE]
    assert run.result["credentials"] == [
        {
            "id": "dockerCredentialsId",
            "kind": "usernamePassword",
            "action": "created",
            "changed": [],
            "secret": "written",
        },
        {
            "id": "repoCredentialsID",
            "kind": "secretText",
            "action": "created",
            "changed": [],
            "secret": "written",
        },
    ]
    assert run.result["folder"] is None and run.result["domain"] == "_"


def test_every_request_carries_the_api_token_and_every_post_the_crumb(jenkins):
    run_cli(jenkins.url)

    assert {request.user for request in jenkins.requests} == {ADMIN}
    # The stand-in answers 403 to a POST without the user's crumb.
    assert [request.status for request in jenkins.writes()] == [200, 200]


def test_special_characters_and_non_ascii_are_escaped_in_the_xml_jenkins_receives(jenkins):
    namespace = "ns-<&>\"'-ünïcode"

    run = run_cli(jenkins.url, DOCKERHUB_NAMESPACE=namespace)

    assert run.exit_code == 0, run.stderr
    body = jenkins.store()["dockerCredentialsId"].body
    assert b"&lt;&amp;&gt;" in body
    assert "Grüße".encode("utf-8") in body
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert parsed(jenkins.store()["dockerCredentialsId"])["password"] == PASSWORD
    assert parsed(jenkins.store()["repoCredentialsID"])["secret"] == namespace


def test_it_creates_them_in_a_folder_store_and_leaves_the_global_store_alone(jenkins):
    run = run_cli(jenkins.url, "--folder", "team/app")

    assert run.exit_code == 0, run.stderr
    assert set(jenkins.store("team/app")) == {"dockerCredentialsId", "repoCredentialsID"}
    assert jenkins.store() == {}
    assert {r.path for r in jenkins.writes()} == {
        "/job/team/job/app/credentials/store/folder/domain/_/createCredentials"
    }
    assert run.result["folder"] == "team/app"


def test_a_folder_name_with_spaces_and_non_ascii_is_found(jenkins):
    jenkins.add_folder("Platform Tëam/app")

    run = run_cli(jenkins.url, "--folder", "/Platform Tëam/app/")

    assert run.exit_code == 0, run.stderr
    assert set(jenkins.store("Platform Tëam/app")) == {"dockerCredentialsId", "repoCredentialsID"}


def test_overridden_ids_are_used_as_id_and_description(jenkins):
    run = run_cli(
        jenkins.url, "--docker-credentials-id", "hub-push", "--repo-credentials-id", "hub-namespace"
    )

    assert run.exit_code == 0, run.stderr
    assert parsed(jenkins.store()["hub-push"])["description"] == "hub-push"
    assert parsed(jenkins.store()["hub-namespace"])["description"] == "hub-namespace"


# -- running again ------------------------------------------------------------------------


def test_a_rerun_rewrites_the_secrets_because_jenkins_cannot_show_them(jenkins):
    run_cli(jenkins.url)
    first = {key: value.body for key, value in jenkins.store().items()}

    run = run_cli(jenkins.url)

    assert run.exit_code == 0, run.stderr
    assert [run.action("dockerCredentialsId"), run.action("repoCredentialsID")] == [
        "updated",
        "updated",
    ]
    assert run.entry("dockerCredentialsId")["changed"] == []
    assert run.entry("dockerCredentialsId")["secret"] == "written"
    assert {key: value.body for key, value in jenkins.store().items()} == first
    assert "not compared" in run.stderr


def test_a_rerun_carries_a_rotated_password_to_jenkins(jenkins):
    run_cli(jenkins.url)

    run = run_cli(jenkins.url, DOCKERHUB_PASSWORD="rotated-token-2")

    assert run.exit_code == 0, run.stderr
    assert parsed(jenkins.store()["dockerCredentialsId"])["password"] == "rotated-token-2"


def test_with_keep_existing_secrets_a_rerun_leaves_matching_credentials_alone(jenkins):
    run_cli(jenkins.url)
    writes_before = len(jenkins.writes())

    run = run_cli(jenkins.url, "--keep-existing-secrets")

    assert run.exit_code == 0, run.stderr
    assert [run.action("dockerCredentialsId"), run.action("repoCredentialsID")] == [
        "unchanged",
        "unchanged",
    ]
    assert run.entry("repoCredentialsID")["secret"] == "kept"
    assert len(jenkins.writes()) == writes_before


def test_keep_existing_secrets_cannot_see_a_rotated_password(jenkins):
    run_cli(jenkins.url)

    run = run_cli(jenkins.url, "--keep-existing-secrets", DOCKERHUB_PASSWORD="rotated-token-2")

    assert run.action("dockerCredentialsId") == "unchanged"
    assert parsed(jenkins.store()["dockerCredentialsId"])["password"] == PASSWORD


def test_a_credential_whose_visible_fields_differ_is_updated_even_when_keeping_secrets(jenkins):
    jenkins.seed(
        credential_xml.to_xml(
            credential_xml.Credential(
                kind=credential_xml.USERNAME_PASSWORD,
                id="dockerCredentialsId",
                description="clicked by hand",
                public_fields=(("username", "someone-else"),),
                secret_fields=(("password", "old"),),
            )
        )
    )

    run = run_cli(jenkins.url, "--keep-existing-secrets")

    assert run.exit_code == 0, run.stderr
    assert run.action("dockerCredentialsId") == "updated"
    assert run.entry("dockerCredentialsId")["changed"] == ["description", "username"]
    assert parsed(jenkins.store()["dockerCredentialsId"])["password"] == PASSWORD
    assert run.action("repoCredentialsID") == "created"


def test_a_credential_of_the_wrong_kind_under_the_id_is_replaced(jenkins):
    jenkins.seed(credential_xml.to_xml(credential_xml.secret_text("dockerCredentialsId", "x")))

    run = run_cli(jenkins.url)

    assert run.exit_code == 0, run.stderr
    assert run.entry("dockerCredentialsId")["changed"] == ["kind"]
    assert jenkins.store()["dockerCredentialsId"].kind == UP_CLASS


def test_reruns_never_make_a_second_copy(jenkins):
    for _ in range(3):
        assert run_cli(jenkins.url, "--folder", "team/app").exit_code == 0

    assert sorted(jenkins.store("team/app")) == ["dockerCredentialsId", "repoCredentialsID"]


# -- dry run ------------------------------------------------------------------------------


def test_a_dry_run_says_what_it_would_create_and_writes_nothing(jenkins):
    run = run_cli(jenkins.url, "--dry-run")

    assert run.exit_code == 0, run.stderr
    assert run.result["dry_run"] is True
    assert run.action("dockerCredentialsId") == "would create"
    assert run.entry("dockerCredentialsId")["secret"] == "would be written"
    assert jenkins.writes() == [] and jenkins.store() == {}


def test_a_dry_run_says_what_it_would_update_and_what_it_would_leave(jenkins):
    run_cli(jenkins.url)
    writes_before = len(jenkins.writes())

    default = run_cli(jenkins.url, "--dry-run")
    keeping = run_cli(jenkins.url, "--dry-run", "--keep-existing-secrets")

    assert default.action("dockerCredentialsId") == "would update"
    assert keeping.action("dockerCredentialsId") == "unchanged"
    assert len(jenkins.writes()) == writes_before


# -- secrets stay secret ------------------------------------------------------------------


def secret_forms(jenkins_user):
    forms = {TOKEN, PASSWORD, NAMESPACE}
    for user, secret in ((jenkins_user, TOKEN), (DOCKER_USER, PASSWORD)):
        pair = f"{user}:{secret}".encode()
        forms |= {base64.b64encode(pair).decode(), base64.urlsafe_b64encode(pair).decode()}
    forms.add(PASSWORD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return forms


@pytest.mark.parametrize(
    "args, user",
    [
        ([], ADMIN),
        (["--folder", "team/app"], ADMIN),
        (["--dry-run"], ADMIN),
        ([], "creator"),
        ([], "viewer"),
        ([], "ghost"),
    ],
    ids=["created", "folder", "dry-run", "update-refused", "create-refused", "unknown-user"],
)
def test_no_secret_appears_on_the_command_line_stdout_or_stderr_even_verbose(jenkins, args, user):
    if user == "creator":
        run_cli(jenkins.url)  # so that the creator has to update

    run = run_cli(jenkins.url, "-v", *args, JENKINS_USER=user)

    output = run.stdout + run.stderr
    assert "DEBUG" in run.stderr
    for secret in secret_forms(user):
        assert secret not in output
        assert not any(secret in argument for argument in run.arguments)


# -- errors -------------------------------------------------------------------------------


ERROR_CASES = {
    "unreachable": (dict(url="closed"), 5, "cannot reach Jenkins"),
    "timed-out": (dict(delay=2, args=["--timeout", "0.5"]), 5, "did not answer within 0.5 s"),
    "jenkins-failing": (dict(fail=500), 5, "HTTP 500"),
    "not-jenkins-base-url": (dict(url="sub-path"), 5, "no Jenkins answers at"),
    "no-credentials-plugin": (dict(plugin=False), 1, "is the Credentials plugin installed"),
    "wrong-token": (dict(env={"JENKINS_API_TOKEN": "wrong-token"}), 4, "HTTP 401"),
    "unknown-user": (dict(env={"JENKINS_USER": "ghost"}), 4, "HTTP 401"),
    "no-overall-read": (dict(env={"JENKINS_USER": "no-read"}), 7, "Overall/Read"),
    "no-credentials-view": (dict(env={"JENKINS_USER": "reader"}), 7, "Credentials/View"),
    "no-credentials-create": (dict(env={"JENKINS_USER": "viewer"}), 7, "Credentials/Create"),
    "no-credentials-update": (
        dict(env={"JENKINS_USER": "creator"}, seeded=True),
        7,
        "Credentials/Update",
    ),
    "folder-not-found": (dict(args=["--folder", "team/missing"]), 8, "no folder 'team/missing'"),
    "folder-is-a-job": (dict(args=["--folder", "team/pipeline"]), 8, "not a folder"),
}


@pytest.mark.parametrize("case, exit_code, message", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_each_failure_has_its_own_exit_code_and_a_clear_message(jenkins, case, exit_code, message):
    if case.get("seeded"):
        run_cli(jenkins.url)
    writes_before = [w for w in jenkins.writes() if w.status == 200]
    jenkins.fail_with_status = case.get("fail")
    jenkins.delay_seconds = case.get("delay", 0)
    jenkins.credentials_plugin = case.get("plugin", True)
    url = {"closed": closed_port_url(), "sub-path": jenkins.url + "not/jenkins/"}.get(
        case.get("url"), jenkins.url
    )

    run = run_cli(url, *case.get("args", []), **case.get("env", {}))

    assert run.exit_code == exit_code, run.stderr
    assert message in run.stderr
    assert run.result["exit_code"] == exit_code
    assert [w for w in jenkins.writes() if w.status == 200] == writes_before


@pytest.mark.parametrize(
    "variable",
    [
        "JENKINS_USER",
        "JENKINS_API_TOKEN",
        "DOCKERHUB_USERNAME",
        "DOCKERHUB_PASSWORD",
        "DOCKERHUB_NAMESPACE",
    ],
)
def test_a_missing_environment_variable_is_named_before_any_request(jenkins, variable):
    run = run_cli(jenkins.url, **{variable: None})

    assert run.exit_code == 2
    assert variable in run.stderr
    assert jenkins.requests == []


INVALID_INPUT = {
    "not-http": (["--jenkins-url", "ftp://jenkins.example.com/"], {}, "http:// or https://"),
    "no-host": (["--jenkins-url", "http://"], {}, "http:// or https://"),
    "user-in-url": (
        ["--jenkins-url", "http://admin:hunter2@127.0.0.1:1/"],
        {},
        "must not contain a user or password",
    ),
    "bad-credential-id": (["--docker-credentials-id", "docker creds"], {}, "not a valid"),
    "same-ids": (["--repo-credentials-id", "dockerCredentialsId"], {}, "different IDs"),
    "bad-timeout": (["--timeout", "soon"], {}, "--timeout"),
    "empty-folder-part": (["--folder", "team//app"], {}, "empty part"),
    # "." and ".." would be resolved away in the URL: credentials in another folder.
    "dot-dot-folder-part": (["--folder", "team/.."], {}, "--folder 'team/..' has a '.' or '..'"),
    "dot-folder-part": (["--folder", "./team"], {}, "has a '.' or '..' part"),
    "dot-dot-id": (["--docker-credentials-id", ".."], {}, "not '.' or '..' alone"),
    "dot-id": (["--repo-credentials-id", "."], {}, "not '.' or '..' alone"),
    "folder-from-environment": (
        [],
        {"ECR_TO_DOCKER_FOLDER": "a/../b"},
        "ECR_TO_DOCKER_FOLDER 'a/../b' has a '.' or '..' part",
    ),
    "id-from-environment": (
        [],
        {"ECR_TO_DOCKER_DOCKER_CREDENTIALS_ID": "a b"},
        "ECR_TO_DOCKER_DOCKER_CREDENTIALS_ID 'a b' is not a valid",
    ),
    "carriage-return-in-password": (
        [],
        {"DOCKERHUB_PASSWORD": "abc\rdef"},
        "DOCKERHUB_PASSWORD contains a control character",
    ),
}


@pytest.mark.parametrize("args, env, message", INVALID_INPUT.values(), ids=INVALID_INPUT.keys())
def test_invalid_input_is_refused_with_exit_2_before_any_request(jenkins, args, env, message):
    run = run_cli(jenkins.url, *args, **env)

    assert run.exit_code == 2, run.stderr
    assert message in run.stderr
    assert jenkins.requests == []
    assert "hunter2" not in run.stdout + run.stderr
    assert "abc\rdef" not in run.stdout + run.stderr
