"""`ecr-to-docker promote`: turn arguments and environment into a checked request, run
the promotion, and write the result. Everything a user can get wrong is found here,
before any network call."""

import json
import os
import time

from ecr_to_docker import copier, ecr_host, logs, reference
from ecr_to_docker.deadline import Deadline
from ecr_to_docker.errors import EcrToDockerError, InvalidInputError
from ecr_to_docker.http_session import retry_settings
from ecr_to_docker.promotion import Promotion, PromotionRequest
from ecr_to_docker.registry import Credentials
from ecr_to_docker.timings import Timings

log = logs.get("promote")

USERNAME_VARIABLE = "DOCKERHUB_USERNAME"
PASSWORD_VARIABLE = "DOCKERHUB_PASSWORD"
NAMESPACE_VARIABLE = "DOCKERHUB_NAMESPACE"


def run(args):
    timings = Timings()
    with timings.phase("validate"):
        request, report_path = build_request(args)

    promotion = Promotion(request, timings)
    try:
        result = promotion.run()
    except EcrToDockerError as error:
        result = dict(promotion.result, status=error.status, error=logs.redact(error))
        result["exit_code"] = error.exit_code
        error.result = result
        if report_path:
            write_report(report_path, result, timings)
        raise
    result["exit_code"] = 0
    if report_path:
        write_report(report_path, result, timings)
    return result, 0


def build_request(args, environ=None):
    """A validated PromotionRequest and the report path, or InvalidInputError."""
    environ = os.environ if environ is None else environ
    sources = list(args.sources) or _split(environ.get("ECR_TO_DOCKER_SOURCE", ""))
    if not sources:
        raise InvalidInputError("no SOURCE given: name the ECR image to promote, e.g. "
                                "123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:1.2.3")
    if len(sources) > 1:
        raise InvalidInputError("give exactly one SOURCE per run")
    source = reference.parse(sources[0], what="SOURCE")

    timeout = _positive_number(args.timeout, "--timeout")
    registry = ecr_host.resolve(source.registry, args.ecr_registry_id, args.aws_region)
    credentials = _destination_credentials(environ)
    destination = _destination(args.destination, source, environ)
    report_path = _report_path(args.report)
    insecure = frozenset(_host(item) for item in args.insecure_registry or [])
    crane = copier.find_crane()
    retry_settings()  # refuse a malformed tuning variable now, not mid-run

    logs.register_secret(credentials.password, username=credentials.username)
    request = PromotionRequest(
        source=source,
        destination=destination,
        ecr=registry,
        destination_credentials=credentials,
        if_exists=args.if_exists,
        dry_run=bool(args.dry_run),
        insecure_hosts=insecure,
        crane=crane,
        deadline=Deadline(timeout),
    )
    return request, report_path


def _destination_credentials(environ):
    username = environ.get(USERNAME_VARIABLE, "")
    password = environ.get(PASSWORD_VARIABLE, "")
    missing = [name for name, value in ((USERNAME_VARIABLE, username), (PASSWORD_VARIABLE, password))
               if not value.strip()]
    if missing:
        raise InvalidInputError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: export the "
            "Docker Hub username and password (or access token); in Jenkins the ecrToDocker "
            "step binds them from the dockerCredentialsId credential"
        )
    # Secret values pasted into Jenkins often end in a newline, which no Docker Hub
    # username or password can contain; the middle of a password is left untouched.
    if username != username.strip():
        log.warning("%s has surrounding whitespace; it was removed", USERNAME_VARIABLE)
        username = username.strip()
    if password != password.rstrip("\r\n"):
        logs.register_secret(password)
        log.warning("%s ends with a line break; it was removed", PASSWORD_VARIABLE)
        password = password.rstrip("\r\n")
    if ":" in username:
        raise InvalidInputError(f"{USERNAME_VARIABLE} must not contain ':'")
    return Credentials(username, password)


def _destination(text, source, environ):
    if text:
        destination = reference.parse(text, what="--destination", require_tag_or_digest=False)
        if destination.digest:
            raise InvalidInputError("--destination must name a tag, not a digest: the point "
                                    "of a promotion is a tag others can pull")
        if destination.tag:
            return destination
        if not source.tag:
            raise InvalidInputError("the SOURCE is given by digest only, so --destination "
                                    "must include the tag to publish under")
        return reference.ImageReference(destination.registry, destination.repository, source.tag)

    namespace = environ.get(NAMESPACE_VARIABLE, "")
    if namespace != namespace.strip():
        log.warning("%s has surrounding whitespace; it was removed", NAMESPACE_VARIABLE)
        namespace = namespace.strip()
    if not namespace:
        raise InvalidInputError(
            f"{NAMESPACE_VARIABLE} is not set and no --destination was given: export the Docker "
            "Hub namespace (user or organization) to publish into; in Jenkins the ecrToDocker "
            "step binds it from the repoCredentialsID credential"
        )
    reference.validate_path_component(namespace, what=NAMESPACE_VARIABLE)
    if not source.tag:
        raise InvalidInputError("the SOURCE is given by digest only: give --destination with "
                                "the tag to publish under")
    image_name = source.repository.rsplit("/", 1)[-1]
    return reference.parse(f"docker.io/{namespace}/{image_name}:{source.tag}", what="destination")


def _report_path(path):
    if not path:
        return None
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InvalidInputError(f"--report {path!r}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise InvalidInputError(f"--report {path!r}: the directory {directory} is not writable")
    if os.path.isdir(path):
        raise InvalidInputError(f"--report {path!r} is a directory; name a file")
    return path


def write_report(path, result, timings):
    """The JSON result plus timings, written whole or not at all (temp file + rename)."""
    from ecr_to_docker import __version__

    report = dict(result, timings=timings.as_dict(), version=__version__,
                  finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as report_file:
        report_file.write(logs.redact(json.dumps(report, indent=2)) + "\n")
    os.replace(temporary, path)


def _positive_number(text, flag):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{flag} {text!r} is not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise InvalidInputError(f"{flag} must be a positive number of seconds, not {text!r}")
    return value


def _host(text):
    host = text.strip().lower()
    for scheme in ("http://", "https://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    host = host.rstrip("/")
    if not host or "/" in host:
        raise InvalidInputError(f"--insecure-registry {text!r} must be a host[:port]")
    return host


def _split(text):
    return [item for item in text.replace(",", " ").split() if item]
