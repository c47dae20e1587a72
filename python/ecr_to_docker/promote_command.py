"""`ecr-to-docker promote`: turn arguments and environment into a checked request, run
the promotion, and write the result. Everything a user can get wrong is found here,
before any network call."""

import contextlib
import gc
import ipaddress
import json
import os
import re
import stat
import time
import urllib.parse

from ecr_to_docker import cli, copier, ecr_host, ecr_login, logs, parallel, reference
from ecr_to_docker.credentials import Credentials
from ecr_to_docker.deadline import Deadline, plain_number, retry_settings, seconds_from
from ecr_to_docker.errors import EcrToDockerError, InvalidInputError, RegistryError
from ecr_to_docker.promotion_request import PromotionRequest
from ecr_to_docker.timings import Timings

log = logs.get("promote")

USERNAME_VARIABLE = "DOCKERHUB_USERNAME"
PASSWORD_VARIABLE = "DOCKERHUB_PASSWORD"
NAMESPACE_VARIABLE = "DOCKERHUB_NAMESPACE"


_MAX_IMAGE_LIST_BYTES = 1024 * 1024

# Which outcome decides a batch's exit code: an error outranks a refusal, a refusal
# outranks success; among errors, the least expected ones come first.
_EXIT_CODE_SEVERITY = (0, 3, 5, 4, 2, 6, 1)

# A batch runs --jobs copies at once, and up to this many times as many images: the others
# are having their checks made or their tags written, which are a few small requests each,
# so that a copy slot that frees up is taken at once by an image that is ready to copy.
IMAGES_IN_FLIGHT_PER_COPY = 2


def run(args):
    timings = Timings()
    try:
        with timings.phase("validate"):
            requests, report_path, batch = build_requests(args)
    except InvalidInputError as error:
        report_refused_input(args, error, timings)
        raise
    # The promotion and its HTTP client are imported only below: input that is refused
    # does not wait for them to load.
    if not batch:
        return _run_single(requests[0], report_path, timings)
    return _run_batch(requests, report_path, timings, _jobs(args))


def _run_single(request, report_path, timings):
    from ecr_to_docker.promotion import Promotion

    promotion = Promotion(request, timings)
    try:
        result = promotion.run()
    except BaseException as error:
        # A failure, or a signal (then: how far the promotion got).
        result = (
            _failed(promotion, error)
            if isinstance(error, Exception)
            else _stopped(promotion, error)
        )
        error.result = result
        if report_path:
            write_report(report_path, result, timings)
        raise
    result["exit_code"] = 0
    if report_path:
        write_report(report_path, result, timings)
    return result, 0


def _run_batch(requests, report_path, timings, jobs):
    from ecr_to_docker.promotion import STOPPING, CopySlots, Promotion, stop_writing

    # A long batch keeps allocating; let the cycle collector run again (see __main__.run).
    gc.enable()
    STOPPING.clear()  # for callers that run more than one batch in a process
    log.info(
        "promoting %d images, copying up to %d at a time", len(requests), min(jobs, len(requests))
    )
    image_timings = [Timings() for _ in requests]

    copy_slots = CopySlots(jobs)
    promotions = [
        Promotion(request, image_timing, copy_slots=copy_slots)
        for request, image_timing in zip(requests, image_timings, strict=True)
    ]

    # What each image has reached so far; read if the batch is stopped midway.
    outcomes = [None] * len(promotions)
    # Images whose turn came after --timeout had run out: failed at once, said in one line.
    not_started = []

    def step(index):
        promotion = promotions[index]
        image_timings[index].restart()
        deadline = requests[index].deadline
        if deadline.remaining() <= 0:
            not_started.append(index)
            error = RegistryError(
                f"not started: the run's time budget of {deadline.seconds:g}s (--timeout) "
                "was used up before its turn"
            )
            outcomes[index] = _failed(promotion, error)
            image_timings[index].stop()
            return outcomes[index]
        try:
            result = promotion.run()
            result["exit_code"] = 0
        except Exception as error:  # each image reports its own outcome, whatever it is
            log.error("%s: %s", requests[index].source, logs.redact(error))
            result = _failed(promotion, error)
        image_timings[index].stop()
        outcomes[index] = result
        return result

    try:
        results = _promote_all(promotions, step, timings, jobs, stop=STOPPING)
    except BaseException as stopped:
        # A signal (or a failure of our own) in the middle of the batch: the workers
        # write no more tags, and each image says what it reached, so that the caller
        # knows which tags are there ("tagged": written, not read back; "tagging": the
        # write was under way, so the tag may be there).
        stop_writing()
        results = _reached(promotions, outcomes, stopped)
        stopped.result = results
        counts = _summary(results)
        if report_path:
            exit_code = getattr(stopped, "exit_code", 1)
            _write_batch_report(report_path, results, image_timings, timings, exit_code, counts)
        raise
    # Stopped without a signal reaching us (a caller set STOPPING), images that never
    # started say so, as after a signal.
    results = _reached(promotions, results, RuntimeError("the run was stopped"))
    if not_started:
        count = len(not_started)
        log.error(
            "%s not started: the run's time budget (--timeout) was used up before %s turn",
            "1 image was" if count == 1 else f"{count} images were",
            "its" if count == 1 else "their",
        )
    counts = _summary(results)
    exit_code = max((r["exit_code"] for r in results), key=_severity)
    if report_path:
        _write_batch_report(report_path, results, image_timings, timings, exit_code, counts)
    return results, exit_code


def _reached(promotions, outcomes, stopped_by):
    """Each image's outcome, or, for one that has none, how far it got before the run was
    stopped by `stopped_by`."""
    return [
        outcome if outcome is not None else _stopped(promotion, stopped_by)
        for promotion, outcome in zip(promotions, outcomes, strict=True)
    ]


def _promote_all(promotions, step, timings, jobs, stop):
    # Each image is read back right after its own pause, as in a single run, so that an
    # image finished early is verified long before a slow one can use up --timeout.
    with timings.phase("promote"):
        return parallel.run_bounded(
            [lambda i=i: step(i) for i in range(len(promotions))],
            IMAGES_IN_FLIGHT_PER_COPY * jobs,
            stop=stop,
        )


# How the summary counts each status; a stopped batch's unfinished images are "interrupted".
_SUMMARY_KEYS = {"tagged": "interrupted", "tagging": "interrupted", "invalid": "failed"}


def _summary(results):
    """Count the outcomes and log the summary line."""
    counts = dict.fromkeys(("promoted", "identical", "dry-run", "refused", "failed"), 0)
    counts["interrupted"] = 0
    for result in results:
        status = _SUMMARY_KEYS.get(result["status"], result["status"])
        counts[status if status in counts else "failed"] += 1
    log.info(
        "summary: %d promoted, %d identical, %d refused, %d failed%s%s",
        counts["promoted"],
        counts["identical"],
        counts["refused"],
        counts["failed"],
        f", {_plural(counts['dry-run'], 'dry run')}" if counts["dry-run"] else "",
        f", {counts['interrupted']} interrupted" if counts["interrupted"] else "",
    )
    return counts


def _plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _write_batch_report(path, results, image_timings, timings, exit_code, counts=None):
    images = [
        dict(result, timings=image_timing.as_dict())
        for result, image_timing in zip(results, image_timings, strict=True)
    ]
    report = {"images": images, "exit_code": exit_code}
    if counts is not None:
        report["summary"] = counts
    write_report(path, report, timings)


def _failed(promotion, error):
    if isinstance(error, EcrToDockerError):
        status, exit_code, message = error.status, error.exit_code, str(error)
    else:
        status, exit_code = "failed", 1
        message = f"unexpected error: {type(error).__name__}: {error}"
    result = dict(promotion.result, status=status, error=logs.redact(message))
    result["exit_code"] = exit_code
    return result


def _stopped(promotion, signal_error):
    return dict(
        promotion.result,
        status=promotion.result["status"] or "interrupted",
        error=f"stopped by {signal_error}",
        exit_code=getattr(signal_error, "exit_code", 1),
    )


def _severity(exit_code):
    return (
        _EXIT_CODE_SEVERITY.index(exit_code)
        if exit_code in _EXIT_CODE_SEVERITY
        else len(_EXIT_CODE_SEVERITY)
    )


def build_requests(args, environ=None):
    """Validated PromotionRequests, the report path, and whether this is a batch (whose
    output is a list). Raises InvalidInputError, before any network call, on the first
    problem in any of the images."""
    environ = os.environ if environ is None else environ
    pairs = _source_destination_pairs(args, environ)
    batch = len(pairs) > 1 or bool(getattr(args, "from_file", None))
    if batch and args.destination:
        raise InvalidInputError(
            "--destination applies to a single SOURCE; for several images give each "
            "destination in --from-file ('SOURCE DEST' per line) or rely on the default"
        )
    if getattr(args, "jobs", None) is not None:
        _jobs(args)

    # The images first: a mistyped SOURCE is the likeliest mistake, and its message is
    # the most useful one to see first.
    # Every image is looked at, so that a long list is fixed in one go, not line by line.
    sources, problems = [], []
    # Destination tag -> the source that claimed it first. Lines with their own DEST are
    # checked here, with the other lines' problems; default destinations further down.
    destinations = {}
    for where, source_text, destination_text, line_problem in pairs:
        if line_problem:
            problems.append(f"{where}{line_problem}")
            continue
        try:
            source = reference.parse(source_text, what="SOURCE")
            registry = ecr_host.resolve(
                source.registry,
                args.ecr_registry_id,
                args.aws_region,
                registry_id_named=cli.named(args, "ecr_registry_id", "--ecr-registry-id"),
                region_named=cli.named(args, "aws_region", "--aws-region"),
            )
            # A line's own DEST needs nothing else to be checked; the default waits for
            # the environment checks below.
            own_destination = (
                _destination(destination_text, source, environ, what="DEST" if where else None)
                if destination_text
                else None
            )
            if not source.tag and not destination_text and (batch or not args.destination):
                # Known now, without the environment: said with the other lines' problems.
                hint = "list" if where else "batch" if batch else "single"
                raise InvalidInputError(_DIGEST_ONLY_HINT[hint])
            if own_destination is not None:
                _claim(destinations, own_destination, source_text)
        except InvalidInputError as error:
            problems.append(f"{where}{error}")
            continue
        sources.append((where, source_text, source, registry, own_destination))
    _refuse(problems)

    timeout = seconds_from(args.timeout, cli.named(args, "timeout", "--timeout"))
    _check_aws_environment(environ)
    credentials = _destination_credentials(environ)
    report_path = _report_path(
        args.report, getattr(args, "from_file", None), *_report_flags(args)
    )
    insecure_flag = cli.named(args, "insecure_registry", "--insecure-registry")
    insecure = frozenset(_host(item, insecure_flag) for item in args.insecure_registry or [])
    crane = copier.find_crane()
    retry_settings()  # refuse a malformed tuning variable now, not mid-run
    deadline = Deadline(timeout)
    logins = ecr_login.LoginCache()

    requests = []
    for where, source_text, source, registry, destination in sources:
        try:
            if destination is None:
                destination = _destination(args.destination, source, environ)
                _claim(destinations, destination, source_text)
        except InvalidInputError as error:
            problems.append(f"{where}{error}")
            continue
        requests.append(
            PromotionRequest(
                source=source,
                destination=destination,
                ecr=registry,
                destination_credentials=credentials,
                if_exists=args.if_exists,
                dry_run=bool(args.dry_run),
                insecure_hosts=insecure,
                crane=crane,
                deadline=deadline,
                ecr_logins=logins,
            )
        )

    _refuse(problems)
    logs.register_secret(
        credentials.password,
        username=credentials.username,
        plain_words=_plain_words(credentials, environ),
    )
    # Last, as it loads the AWS SDK: an AWS profile or config file that cannot work is
    # bad input too, found before any network call.
    ecr_login.check_configuration()
    return requests, report_path, batch


def _claim(destinations, destination, source_text):
    """Record that `source_text` publishes to `destination`, or refuse a tag claimed twice:
    the same tag however its registry is spelt (a default port, an alias), as two images of
    one batch racing for one tag would replace each other's."""
    key = (
        reference.same_registry_key(destination.registry),
        destination.repository,
        destination.tag,
    )
    if key in destinations:
        raise InvalidInputError(
            f"{destination} is also the destination of {destinations[key]}: each "
            "destination tag can be published once"
        )
    destinations[key] = source_text


# What a source given by digest alone needs: a tag to publish under, given where it can be.
_DIGEST_ONLY_HINT = {
    "single": "the SOURCE is given by digest only: give --destination with the tag to "
    "publish under",
    "list": "the SOURCE is given by digest only: add a DEST with the tag to publish under "
    "after it on this line",
    "batch": "the SOURCE is given by digest only: in a batch, list it in --from-file with a "
    "DEST with the tag to publish under",
}


def _refuse(problems, shown=10):
    if not problems:
        return
    if len(problems) == 1:
        raise InvalidInputError(problems[0])
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    raise InvalidInputError(
        f"{len(problems)} images cannot be promoted as given: " + "; ".join(problems[:shown]) + more
    )


def _source_destination_pairs(args, environ):
    """(where, source, destination or None, problem or None) for each image, `where`
    prefixing messages; `problem` says why a line of an image list cannot be read."""
    pairs = [("", source, None, None) for source in args.sources]
    if not pairs and not getattr(args, "from_file", None):
        pairs = [
            ("", source, None, None) for source in _split(environ.get("ECR_TO_DOCKER_SOURCE", ""))
        ]
    if getattr(args, "from_file", None):
        pairs += _read_image_list(args.from_file)
    if not pairs:
        raise InvalidInputError(
            "no SOURCE given: name the ECR image to promote, e.g. "
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:1.2.3"
        )
    return pairs


# Anything in a line of an image list but text, spaces and tabs: control characters and
# the Unicode line and paragraph separators.
_ODD_CHARACTER = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _read_image_list(path):
    # A regular file only: a FIFO would block the run before its deadline starts, and a
    # device such as /dev/zero would be read until memory runs out.
    try:
        status = os.stat(path)
    except OSError as error:
        raise InvalidInputError(f"--from-file {path!r} cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise InvalidInputError(f"--from-file {path!r} is not a regular file")
    if status.st_size > _MAX_IMAGE_LIST_BYTES:
        raise InvalidInputError(
            f"--from-file {path!r} is larger than {_MAX_IMAGE_LIST_BYTES // 1024} KiB"
        )
    try:
        # utf-8-sig: files saved by Windows editors start with a byte-order mark. No
        # newline translation: a line ends at "\n" (or "\r\n") and nowhere else.
        with open(path, encoding="utf-8-sig", newline="") as image_list:
            lines = image_list.read().split("\n")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"--from-file {path!r} cannot be read: {error}") from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        line = line[:-1] if line.endswith("\r") else line
        where = f"line {number} of {path}: "
        # str.splitlines() and str.split() would also break at a vertical tab, a form
        # feed or U+2028, turning one line's DEST into another image's SOURCE.
        odd = _ODD_CHARACTER.search(line)
        if odd:
            problem = (
                f"holds the control character {odd.group()!r}; separate SOURCE and DEST "
                "with spaces or tabs, one image per line"
            )
            pairs.append((where, None, None, problem))
            continue
        content = line.split("#", 1)[0].strip(" \t")
        if not content:
            continue
        fields = re.split(r"[ \t]+", content)
        if len(fields) > 2:
            problem = f"expected 'SOURCE [DEST]', found {len(fields)} fields"
            pairs.append((where, None, None, problem))
            continue
        pairs.append((where, fields[0], fields[1] if len(fields) == 2 else None, None))
    if not pairs:
        raise InvalidInputError(f"--from-file {path!r} names no image")
    return pairs


def _jobs(args):
    text, name = args.jobs, cli.named(args, "jobs", "--jobs")
    try:
        jobs = int(plain_number(text))
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} {text!r} is not a whole number") from None
    if not 1 <= jobs <= 32:
        raise InvalidInputError(f"{name} must be between 1 and 32, not {jobs}")
    return jobs


def _destination_credentials(environ):
    username = environ.get(USERNAME_VARIABLE, "")
    password = environ.get(PASSWORD_VARIABLE, "")
    missing = [
        name
        for name, value in ((USERNAME_VARIABLE, username), (PASSWORD_VARIABLE, password))
        if not value.strip()
    ]
    if missing:
        raise InvalidInputError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: export the "
            "Docker Hub username and password (or access token); in Jenkins the ecrToDocker "
            "step binds them from the dockerCredentialsId credential"
        )
    for name, value in ((USERNAME_VARIABLE, username), (PASSWORD_VARIABLE, password)):
        # Bytes that are not UTF-8 reach Python as lone surrogates, which no HTTP header
        # can carry. Neither the value nor the offending byte is shown.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(
                f"{name} is not valid UTF-8 text; set it again from the credential's source"
            ) from None
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
    credentials = Credentials(username, password)
    if logs.too_short_to_hide(password):
        log.warning(
            "%s is shorter than %d characters: values this short are not hidden in logs "
            "(they cannot be told apart from ordinary words); use a Docker Hub access token",
            PASSWORD_VARIABLE,
            logs.MIN_SECRET_LENGTH,
        )
    elif logs.too_plain_to_hide(password, _plain_words(credentials, environ)):
        log.warning(
            "%s is the username, the namespace or a word of this tool's results: it is not "
            "hidden in logs (that would garble them); use a Docker Hub access token",
            PASSWORD_VARIABLE,
        )
    return credentials


def _plain_words(credentials, environ):
    """Values the output holds openly, which a password equal to them cannot be hidden
    from."""
    return {credentials.username, environ.get(NAMESPACE_VARIABLE, "").strip()} - {""}


def _destination(text, source, environ, what=None):
    """`what`: how the user gave `text`, for messages (--destination, or a list's DEST)."""
    what = what or "--destination"
    if text:
        destination = reference.parse(text, what=what, require_tag_or_digest=False)
        if destination.digest:
            raise InvalidInputError(
                f"{what} must name a tag, not a digest: the point "
                "of a promotion is a tag others can pull"
            )
        if destination.tag:
            return destination
        if not source.tag:
            raise InvalidInputError(
                f"the SOURCE is given by digest only, so {what} "
                "must include the tag to publish under"
            )
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
    # Not repeated in the message: the ecrToDocker step reads it from a Secret text
    # credential, and prints the message where Jenkins no longer masks that secret.
    reference.validate_path_component(namespace, what=NAMESPACE_VARIABLE, show=False)
    if not source.tag:
        raise InvalidInputError(_DIGEST_ONLY_HINT["single"])
    image_name = source.repository.rsplit("/", 1)[-1]
    try:
        return reference.parse(
            f"docker.io/{namespace}/{image_name}:{source.tag}", what="destination"
        )
    except InvalidInputError:
        # The reason would repeat the namespace, which comes from a secret credential.
        raise InvalidInputError(
            f"the default destination docker.io/<{NAMESPACE_VARIABLE}>/{image_name}:"
            f"{source.tag} is not a valid reference (longer than 255 characters?); check "
            f"{NAMESPACE_VARIABLE} (its value is not shown) or give --destination"
        ) from None


def _report_path(path, image_list=None, flag="--report", list_flag="--from-file"):
    """The report's path, proven writable now: finding out after the promotion would
    leave a published image with a failed run."""
    if not path:
        return None
    if path.endswith(os.sep) or os.path.isdir(path):
        raise InvalidInputError(f"{flag} {path!r} is a directory; name a file")
    if image_list and _same_file(path, image_list):
        # The report replaces its file at the end: the release's list would be lost.
        raise InvalidInputError(
            f"{flag} {path!r} is the image list given to {list_flag}; name another file"
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InvalidInputError(f"{flag} {path!r}: the directory {directory} does not exist")
    if os.path.lexists(path) and not os.path.isfile(path):
        # Replacing a device or socket with a regular file could break the agent
        # (think ECR_TO_DOCKER_REPORT=/dev/null run as root).
        raise InvalidInputError(f"{flag} {path!r} exists and is not a regular file")
    try:
        # Both names must be writable: the temporary file and the report it becomes.
        for name in (_temporary_report_path(path), path):
            if os.path.exists(name):
                if not os.access(name, os.W_OK):
                    raise PermissionError(13, "Permission denied")
                continue
            with open(name, "x", encoding="utf-8"):
                pass
            os.remove(name)
    except OSError as error:
        raise InvalidInputError(f"{flag} {path!r} cannot be written: {error.strerror}") from None
    return path


def _report_flags(args):
    """How the report and the image list were given (flags or variables), for messages."""
    return cli.named(args, "report", "--report"), cli.named(args, "from_file", "--from-file")


def report_refused_input(args, error, timings=None):
    """Write --report for input that was refused too, when the report's own path is
    usable: a pipeline that reads or archives the report finds the reason there."""
    timings = timings or Timings()
    if not getattr(args, "report", None):
        return
    try:
        path = _report_path(args.report, getattr(args, "from_file", None), *_report_flags(args))
    except InvalidInputError:
        return  # the report's path may be what was refused
    result = {"status": error.status, "error": logs.redact(error), "exit_code": error.exit_code}
    write_report(path, result, timings)


def _same_file(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def _temporary_report_path(path):
    # Short and in the same directory: the rename that completes the report must stay on
    # one file system, and a long report name must not grow past the name limit.
    return os.path.join(os.path.dirname(os.path.abspath(path)), f".ecr-to-docker-{os.getpid()}.tmp")


def write_report(path, result, timings):
    """The JSON result plus timings, written whole or not at all (temp file + rename)."""
    from ecr_to_docker import __version__

    report = dict(
        result,
        timings=timings.as_dict(),
        version=__version__,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    temporary = _temporary_report_path(path)
    try:
        with open(temporary, "w", encoding="utf-8") as report_file:
            report_file.write(json.dumps(logs.redact_values(report), indent=2) + "\n")
        os.replace(temporary, path)
    except OSError as error:
        # The promotion's own outcome stands; the report is a by-product.
        log.error("the report %s could not be written: %s", path, error.strerror)
        with contextlib.suppress(OSError):
            os.remove(temporary)


def _check_aws_environment(environ):
    """AWS settings that would only fail inside the AWS SDK, after other requests are
    under way."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR"):
        endpoint = environ.get(name, "")
        if endpoint and not _is_endpoint_url(endpoint):
            raise InvalidInputError(
                f"{name} must be an http(s)://host[:port] URL without credentials"
            )
    # The SDK reads static keys only as a pair; one of the two alone is a mistake, not a
    # reason to look for credentials elsewhere.
    given = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if environ.get(name)]
    if len(given) == 1:
        missing = ({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} - set(given)).pop()
        raise InvalidInputError(
            f"{given[0]} is set but {missing} is not: give both, or neither to use a profile "
            "or role"
        )
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        logs.register_secret(environ.get(name, ""))


_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def _is_endpoint_url(text):
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - reading it is the check: urllib raises on a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username or parts.password is not None:
        return False
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))


def _host(text, flag="--insecure-registry"):
    host = text.strip().lower()
    for scheme in ("http://", "https://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    host = host.rstrip("/")
    if not reference.is_host(host):
        raise InvalidInputError(f"{flag} {text!r} must be a host[:port]")
    return host


def _split(text):
    return [item for item in text.replace(",", " ").split() if item]
