"""The `jenkins-credentials` command: create or update, in Jenkins, the two credentials the
ecrToDocker stage reads.

- a "Username with password" credential, ID and description `dockerCredentialsId`: the
  Docker Hub account that pushes (DOCKERHUB_USERNAME, DOCKERHUB_PASSWORD);
- a "Secret text" credential, ID and description `repoCredentialsID`: the Docker Hub
  namespace to push into (DOCKERHUB_NAMESPACE).

Both go into the global store's global domain (`_`), or into a folder's store.

Jenkins never returns a stored secret (its config.xml shows `<secret-redacted/>`), so an
existing credential can only be compared on what Jenkins shows: kind, scope, description,
username. By default an existing credential is therefore always rewritten with the values
from the environment, so that a rotated password or token always reaches Jenkins; with
--keep-existing-secrets one whose visible fields already match is left alone and reported
"unchanged", without any claim about its secret.

The connection, authentication, CSRF crumb and folder-store calls are python-jenkins'; the
global store, for which it has no helper, is reached through the same client object.
"""

import contextlib
import dataclasses
import json
import os
import re
import urllib.parse

import jenkins
import requests

from ecr_to_docker import cli, errors, logs
from ecr_to_docker import jenkins_credential_xml as credential_xml
from ecr_to_docker.deadline import seconds_from

log = logs.get("jenkins_credentials")

JENKINS_USER = "JENKINS_USER"
JENKINS_API_TOKEN = "JENKINS_API_TOKEN"
DOCKERHUB_USERNAME = "DOCKERHUB_USERNAME"
DOCKERHUB_PASSWORD = "DOCKERHUB_PASSWORD"
DOCKERHUB_NAMESPACE = "DOCKERHUB_NAMESPACE"
REQUIRED_ENVIRONMENT = (
    JENKINS_USER,
    JENKINS_API_TOKEN,
    DOCKERHUB_USERNAME,
    DOCKERHUB_PASSWORD,
    DOCKERHUB_NAMESPACE,
)

# The global domain; the only one the ecrToDocker stage looks in.
DOMAIN = "_"
# The only item class python-jenkins' folder credential calls accept (`assert_folder`).
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
# What the credentials plugin accepts as an ID (IdCredentials' check).
CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_.-]+")
# python-jenkins words a refused request "Possibly authentication failed [401]: ...".
_STATUS_IN_MESSAGE = re.compile(r"authentication failed \[(\d{3})\]")

KIND_NAMES = {
    credential_xml.USERNAME_PASSWORD: "Username with password",
    credential_xml.SECRET_TEXT: "Secret text",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    jenkins_url: str
    jenkins_user: str
    jenkins_token: str
    folder: object  # str or None: None is the global store
    timeout: float
    dry_run: bool
    keep_existing_secrets: bool
    credentials: tuple


# ---------------------------------------------------------------------------------------
# Input: everything is checked before the first request.


def read_settings(args, environ=None):
    environ = os.environ if environ is None else environ
    values = _read_environment(environ)
    docker_id = _credential_id(
        args.docker_credentials_id,
        cli.named(args, "docker_credentials_id", "--docker-credentials-id"),
    )
    repo_id = _credential_id(
        args.repo_credentials_id, cli.named(args, "repo_credentials_id", "--repo-credentials-id")
    )
    if docker_id == repo_id:
        raise errors.InvalidInputError(
            f"--docker-credentials-id and --repo-credentials-id are both '{docker_id}'; "
            "the two credentials need different IDs"
        )
    return Settings(
        jenkins_url=_jenkins_url(
            args.jenkins_url, cli.named(args, "jenkins_url", "--jenkins-url")
        ),
        jenkins_user=values[JENKINS_USER],
        jenkins_token=values[JENKINS_API_TOKEN],
        folder=_folder(args.folder, cli.named(args, "folder", "--folder")),
        timeout=seconds_from(
            args.timeout,
            cli.named(args, "timeout", "--timeout", f"{cli.ENV_PREFIX}JENKINS_TIMEOUT"),
        ),
        dry_run=bool(args.dry_run),
        keep_existing_secrets=bool(getattr(args, "keep_existing_secrets", False)),
        credentials=(
            credential_xml.username_password(
                docker_id, values[DOCKERHUB_USERNAME], values[DOCKERHUB_PASSWORD]
            ),
            credential_xml.secret_text(repo_id, values[DOCKERHUB_NAMESPACE]),
        ),
    )


def _read_environment(environ):
    values = {name: environ.get(name, "") for name in REQUIRED_ENVIRONMENT}
    # Registered before anything else can print them, including the checks below.
    logs.register_secret(values[JENKINS_API_TOKEN], username=values[JENKINS_USER] or None)
    logs.register_secret(values[DOCKERHUB_PASSWORD], username=values[DOCKERHUB_USERNAME] or None)
    # The namespace is stored as secret text in Jenkins, but it is public on Docker Hub
    # and never printed here; hiding it would garble every message containing a short
    # namespace such as "ns".
    # python-jenkins logs these headers' values at start-up; they may carry a token.
    for line in environ.get("JENKINS_API_EXTRA_HEADERS", "").split("\n"):
        if ":" in line:
            logs.register_secret(line.split(":", 1)[1].strip())

    missing = [name for name in REQUIRED_ENVIRONMENT if values[name] == ""]
    if missing:
        raise errors.InvalidInputError(
            f"missing environment variable{'s' if len(missing) > 1 else ''}: "
            f"{', '.join(missing)}. Set {'them' if len(missing) > 1 else 'it'} in the "
            "environment (for example with withCredentials in a pipeline); secrets are "
            "never taken from arguments"
        )
    for name, value in values.items():
        if not credential_xml.is_xml_safe(value):
            # The value itself is never shown, only where it came from.
            raise errors.InvalidInputError(
                f"{name} contains a control character, a carriage return or bytes that are "
                "not UTF-8; Jenkins' XML cannot carry it unchanged. Check how it was set"
            )
    for name in (DOCKERHUB_USERNAME, DOCKERHUB_PASSWORD, DOCKERHUB_NAMESPACE):
        if values[name] != values[name].strip():
            log.warning("%s starts or ends with whitespace; it is stored as given", name)
    return values


def _jenkins_url(value, flag="--jenkins-url"):
    if not value:
        raise errors.InvalidInputError(
            "--jenkins-url is required (or ECR_TO_DOCKER_JENKINS_URL), "
            "e.g. https://jenkins.example.com/"
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise errors.InvalidInputError(f"{flag} contains whitespace or control characters")
    parts = urllib.parse.urlsplit(value)
    if parts.username is not None or parts.password is not None:
        # Not echoed: the part before @ may be a token.
        raise errors.InvalidInputError(
            f"{flag} must not contain a user or password; "
            "set JENKINS_USER and JENKINS_API_TOKEN instead"
        )
    try:
        parts.port  # noqa: B018 - reading it is the check: urllib raises on a bad port
    except ValueError:
        raise errors.InvalidInputError(f"{flag} {value!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidInputError(
            f"{flag} {value!r} is not an http:// or https:// URL with a host"
        )
    if parts.query or parts.fragment:
        raise errors.InvalidInputError(
            f"{flag} {value!r} must be Jenkins' base URL, without ? or #"
        )
    return value.rstrip("/") + "/"


def _folder(value, flag="--folder"):
    if value is None or value.strip("/") == "":
        return None
    segments = value.strip("/").split("/")
    if any(segment.strip() == "" for segment in segments):
        raise errors.InvalidInputError(
            f"{flag} {value!r} has an empty part; give the folder's full name, e.g. team/app"
        )
    # Each part becomes a segment of the URL path (job/<part>/): "." and ".." would be
    # resolved away on the way, and the credentials land in another folder than the one
    # named and reported.
    if any(segment in (".", "..") for segment in segments):
        raise errors.InvalidInputError(
            f"{flag} {value!r} has a '.' or '..' part; give the folder's full name, "
            "e.g. team/app"
        )
    return "/".join(segments)


def _credential_id(value, flag):
    # "." and ".." would be path segments of the credential's URL, resolved away on the
    # way to Jenkins (credential/../config.xml is the domain's configuration).
    if not value or not CREDENTIAL_ID.fullmatch(value) or value in (".", ".."):
        raise errors.InvalidInputError(
            f"{flag} {value!r} is not a valid Jenkins credential ID: use letters, digits, "
            "'_', '-' and '.', and not '.' or '..' alone"
        )
    return value


# ---------------------------------------------------------------------------------------
# Talking to Jenkins: what python-jenkins and requests raise, turned into our conditions.


class _Jenkins:
    """The python-jenkins client, and how its failures read to the person running us."""

    def __init__(self, settings):
        self.settings = settings
        self.server = jenkins.Jenkins(
            settings.jenkins_url,
            username=settings.jenkins_user,
            password=settings.jenkins_token,
            timeout=settings.timeout,
        )
        # -v shows each request; the session is python-jenkins' own, so this also covers
        # the requests its helpers make (crumb, folder checks).
        session = getattr(self.server, "_session", None)
        if session is not None:
            session.hooks["response"].append(_log_response)

    @contextlib.contextmanager
    def call(self, doing, needs, not_found=None):
        """Run python-jenkins calls for one step; `doing` and `needs` word the errors.

        `not_found`, when given, is the exception to raise for an HTTP 404.
        """
        url = self.settings.jenkins_url
        try:
            yield self.server
        except errors.EcrToDockerError:
            raise
        except (jenkins.TimeoutException, requests.exceptions.Timeout):
            raise errors.JenkinsUnreachableError(
                f"Jenkins at {url} did not answer within {self.settings.timeout:g} s while "
                f"{doing}; check that it is up, or raise --timeout"
            ) from None
        except requests.exceptions.SSLError:
            raise errors.JenkinsUnreachableError(
                f"TLS with Jenkins at {url} failed while {doing}; check the certificate "
                "(REQUESTS_CA_BUNDLE names a CA bundle to trust)"
            ) from None
        except requests.exceptions.ConnectionError:
            raise errors.JenkinsUnreachableError(
                f"cannot reach Jenkins at {url} while {doing}; check --jenkins-url, the "
                "network and that Jenkins is running"
            ) from None
        except (jenkins.JenkinsException, requests.exceptions.HTTPError, ValueError) as error:
            raise self._condition(error, doing, needs, not_found) from None
        except requests.exceptions.RequestException as error:
            raise errors.JenkinsUnreachableError(
                f"talking to Jenkins at {url} failed while {doing}: {type(error).__name__}"
            ) from None

    def _condition(self, error, doing, needs, not_found):
        url = self.settings.jenkins_url
        status = _http_status(error)
        log.debug(
            "python-jenkins raised %s while %s: %s", type(error).__name__, doing, _first_line(error)
        )
        if status == 401:
            return errors.JenkinsAuthenticationError(
                f"Jenkins at {url} refused {JENKINS_USER}={self.settings.jenkins_user!r} with "
                f"the token in {JENKINS_API_TOKEN} (HTTP 401) while {doing}; check the user "
                "name, or create a new API token on the user's Security page"
            )
        if status == 403:
            return errors.JenkinsPermissionError(
                f"Jenkins user {self.settings.jenkins_user!r} is not allowed to do this "
                f"(HTTP 403) while {doing}: it needs the {needs} permission; ask a Jenkins "
                "administrator to grant it"
            )
        if status == 404 and not_found is not None:
            return not_found
        if status is not None and status >= 500:
            return errors.JenkinsUnreachableError(
                f"Jenkins at {url} failed (HTTP {status}) while {doing}; see Jenkins' log, "
                "then run this again"
            )
        if isinstance(error, (jenkins.BadHTTPException, jenkins.EmptyResponseException)) or (
            isinstance(error, ValueError) and not isinstance(error, jenkins.JenkinsException)
        ):
            return errors.JenkinsUnreachableError(
                f"{url} did not answer like Jenkins while {doing}; check --jenkins-url"
            )
        if status == 404:
            return errors.EcrToDockerError(
                f"Jenkins at {url} has no such page (HTTP 404) while {doing}; is the "
                "Credentials plugin installed, and is --jenkins-url Jenkins' base URL?"
            )
        if status is not None:
            return errors.EcrToDockerError(
                f"Jenkins at {url} refused the request (HTTP {status}) while {doing}"
            )
        return errors.EcrToDockerError(
            f"Jenkins at {url}: {_first_line(error)} (while {doing}); run this again"
        )


def _http_status(error):
    """The HTTP status behind a python-jenkins or requests exception, if there is one.

    python-jenkins raises its own exceptions from inside `except HTTPError`, so the
    response is usually one link down the context chain.
    """
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if response is not None and getattr(response, "status_code", None):
            return response.status_code
        if isinstance(current, jenkins.NotFoundException):
            return 404
        current = current.__cause__ or current.__context__
    match = _STATUS_IN_MESSAGE.search(str(error))
    return int(match.group(1)) if match else None


def _first_line(error):
    lines = str(error).strip().splitlines()
    return logs.redact(lines[0] if lines else type(error).__name__)


def _log_response(response, *args, **kwargs):
    log.debug(
        "%s %s -> HTTP %s", response.request.method, response.request.url, response.status_code
    )


# ---------------------------------------------------------------------------------------
# The two kinds of store.


class GlobalStore:
    """Jenkins' own store, `credentials/store/system/domain/_/`.

    python-jenkins has helpers for folder stores only; these requests go through its
    `jenkins_open`, so they get the same authentication, crumb and error handling.
    """

    def __init__(self, client):
        self.client = client
        self.label = f"the global store (domain {DOMAIN})"

    def _url(self, tail):
        return urllib.parse.urljoin(
            self.client.server.server, f"credentials/store/system/domain/{DOMAIN}/{tail}"
        )

    def _credential_url(self, credential_id):
        return self._url(f"credential/{urllib.parse.quote(credential_id, safe='')}/config.xml")

    def ids(self):
        with self.client.call(f"listing {self.label}", "Credentials/View") as server:
            answer = server.jenkins_open(
                requests.Request("GET", self._url("api/json?tree=credentials[id]"))
            )
            return {entry["id"] for entry in json.loads(answer).get("credentials", [])}

    def config(self, credential_id):
        with self.client.call(f"reading '{credential_id}'", "Credentials/View") as server:
            return server.jenkins_open(requests.Request("GET", self._credential_url(credential_id)))

    def create(self, credential):
        with self.client.call(f"creating '{credential.id}'", "Credentials/Create") as server:
            server.jenkins_open(_post(self._url("createCredentials"), credential))

    def update(self, credential):
        with self.client.call(f"updating '{credential.id}'", "Credentials/Update") as server:
            server.jenkins_open(_post(self._credential_url(credential.id), credential))


class FolderStore:
    """A folder's store, through python-jenkins' folder credential calls."""

    def __init__(self, client, folder):
        self.client = client
        self.folder = folder
        self.label = f"folder '{folder}' (domain {DOMAIN})"

    def check_folder(self):
        not_found = errors.JenkinsFolderNotFoundError(
            f"Jenkins at {self.client.settings.jenkins_url} has no folder '{self.folder}' "
            "(or the user may not see it); give its full name as in the URL path, "
            "e.g. team/app for job/team/job/app"
        )
        with self.client.call(
            f"looking up folder '{self.folder}'", "Job/Read", not_found=not_found
        ) as server:
            item_class = server.get_job_info(self.folder).get("_class")
        if item_class != FOLDER_CLASS:
            raise errors.JenkinsFolderNotFoundError(
                f"'{self.folder}' in Jenkins is a {item_class}, not a folder; give a folder "
                "created with New Item > Folder"
            )

    def ids(self):
        with self.client.call(f"listing {self.label}", "Credentials/View") as server:
            return {entry["id"] for entry in server.list_credentials(self.folder, DOMAIN)}

    def config(self, credential_id):
        with self.client.call(f"reading '{credential_id}'", "Credentials/View") as server:
            return server.get_credential_config(credential_id, self.folder, DOMAIN)

    def create(self, credential):
        with self.client.call(f"creating '{credential.id}'", "Credentials/Create") as server:
            server.create_credential(self.folder, credential_xml.to_xml(credential), DOMAIN)

    def update(self, credential):
        with self.client.call(f"updating '{credential.id}'", "Credentials/Update") as server:
            server.reconfig_credential(self.folder, credential_xml.to_xml(credential), DOMAIN)


def _post(url, credential):
    return requests.Request(
        "POST",
        url,
        data=credential_xml.to_xml(credential).encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )


# ---------------------------------------------------------------------------------------
# The command.


def run(args):
    settings = read_settings(args)
    client = _Jenkins(settings)
    log.info("connecting to Jenkins at %s as %s", settings.jenkins_url, settings.jenkins_user)
    not_jenkins = errors.JenkinsUnreachableError(
        f"no Jenkins answers at {settings.jenkins_url} (HTTP 404 for the current user's "
        "page); check --jenkins-url, which is Jenkins' base URL"
    )
    with client.call(
        "checking the Jenkins user and token", "Overall/Read", not_found=not_jenkins
    ) as server:
        me = server.get_whoami()
    log.info("authenticated as %s", me.get("id", settings.jenkins_user))

    if settings.folder is None:
        store = GlobalStore(client)
    else:
        store = FolderStore(client, settings.folder)
        store.check_folder()
    existing = store.ids()
    log.info("%s holds %d credential(s)", store.label, len(existing))

    entries = [_apply(store, credential, existing, settings) for credential in settings.credentials]
    return {
        "jenkins_url": settings.jenkins_url,
        "folder": settings.folder,
        "domain": DOMAIN,
        "dry_run": settings.dry_run,
        "credentials": entries,
    }, 0


def _apply(store, wanted, existing, settings):
    """Create, update or leave one credential; the result entry says which."""
    changed = []
    if wanted.id not in existing:
        action, secret = "create", "write"
    else:
        text = store.config(wanted.id)
        try:
            current = credential_xml.from_xml(text)
        except credential_xml.UnreadableCredentialXmlError as error:
            raise errors.EcrToDockerError(
                f"Jenkins answered with an unreadable config.xml for '{wanted.id}' ({error})"
            ) from None
        changed = credential_xml.differences(wanted, current)
        if changed or not settings.keep_existing_secrets:
            action, secret = "update", "write"
        else:
            action, secret = "unchanged", "keep"

    if not settings.dry_run:
        if action == "create":
            store.create(wanted)
        elif action == "update":
            store.update(wanted)

    done = {"create": "created", "update": "updated", "unchanged": "unchanged"}[action]
    secret_word = {"write": "written", "keep": "kept"}[secret]
    if settings.dry_run and action != "unchanged":
        done, secret_word = f"would {action}", f"would be {secret_word}"
    log.info(
        "%s '%s' in %s: %s%s; secret %s%s",
        KIND_NAMES[wanted.kind],
        wanted.id,
        store.label,
        done,
        f" ({', '.join(changed)} differed)" if changed else "",
        secret_word,
        "" if action == "create" else " (Jenkins never shows a stored secret: not compared)",
    )
    return {
        "id": wanted.id,
        "kind": wanted.kind,
        "action": done,
        "changed": changed,
        "secret": secret_word,
    }
