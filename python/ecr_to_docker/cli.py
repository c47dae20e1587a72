"""Command-line parsing. Only argparse and the standard library are imported here, so
that `--help` and bad-usage answers are instant; the commands import what they need.

Every flag has an environment fallback, ECR_TO_DOCKER_<FLAG>, named in its help text.
The command never prompts.
"""

import argparse
import os

ENV_PREFIX = "ECR_TO_DOCKER_"

EPILOG = """\
retries:
  reads are retried on connection errors, 429 and 5xx, ECR_TO_DOCKER_RETRIES times
  (default 4): the first retry at once, retry n after ECR_TO_DOCKER_RETRY_BACKOFF x 2^(n-1)
  seconds (default 0.5: 0, 1, 2, 4 s); a Retry-After is honoured within --timeout

exit codes:
  0  promoted; or already there with the same digest under --if-exists skip-identical;
     or a dry run that found nothing in the way
  2  invalid input or usage, found before any network call
  3  the destination tag already exists: refused, the tag was not written
  4  authentication or authorization failed
  5  registry or network failure (rate limit after retries, 5xx, timeout, a host that
     does not resolve, a TLS error), or a source image that does not exist
  6  verification failed: after the copy the destination tag does not hold the source
     digest, or a platform is missing
  1  anything unexpected
  130, 143  stopped by SIGINT or SIGTERM (128 + the signal's number; SIGHUP, SIGQUIT,
            SIGUSR1, SIGUSR2 and SIGALRM too); temporary credentials were removed, and
            the result says how far each image got
"""

# The top level names each command's own codes only in outline: each command's --help has
# them in full.
TOP_EPILOG = """\
exit codes (each command's --help says more):
  0  done
  2  invalid input or usage, found before any network call
  3  promote: the destination tag already exists, and was not written
  4  authentication or authorization failed
  5  registry, Jenkins or network failure
  6  promote: verification failed after the copy
  7  jenkins-credentials: the Jenkins user lacks a permission
  8  jenkins-credentials: the --folder does not exist
  1  anything unexpected
  128+n  stopped by signal n (130: SIGINT, 143: SIGTERM)
"""

_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("", "0", "false", "no", "off")
# Problems found in ECR_TO_DOCKER_* variables while the parser is built; reported by
# check_environment_values() once logging is set up, as usage errors (exit 2).
_environment_problems = {}  # variable -> what is wrong with its value


def env_name(flag):
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with usage errors also reported as the JSON result on stdout."""

    def error(self, message):
        import json
        import sys

        sys.stdout.write(
            json.dumps({"status": "invalid", "error": message, "exit_code": 2}, indent=2) + "\n"
        )
        super().error(message)


def _add_problem(variable, problem):
    # Both commands read some variables (-v); each problem is worth saying once.
    _environment_problems.setdefault(variable, problem)


def check_environment_values(parser, command):
    """Refuse a bad value in a variable that `command` reads; the other command's
    variables are none of its business."""
    from ecr_to_docker.errors import InvalidInputError

    read = {
        getattr(action, "env_variable", None)
        for subparsers in parser._subparsers._group_actions
        for action in subparsers.choices[command]._actions
    }
    problems = [problem for variable, problem in _environment_problems.items() if variable in read]
    if problems:
        raise InvalidInputError("; ".join(problems))


def _given_on_command_line(namespace):
    if not hasattr(namespace, "given_flags"):
        namespace.given_flags = set()
    return namespace.given_flags


def named(args, dest, flag, variable=None):
    """How the user gave the value of `flag`, for a message about it: the flag, or the
    variable it fell back to (`variable`, when not the flag's own ECR_TO_DOCKER_ name)."""
    variable = variable or env_name(flag)
    if dest in getattr(args, "given_flags", ()) or not os.environ.get(variable, "").strip():
        return flag
    return variable


class EnvDefault(argparse.Action):
    """An option whose default comes from ECR_TO_DOCKER_<FLAG> when that is set."""

    def __init__(self, option_strings, dest, default=None, help=None, env=None, **kwargs):
        variable = env or env_name(option_strings[-1])
        self.env_variable = variable
        # Set but blank counts as not set: the Jenkins step passes every variable, blank
        # when unused.
        if os.environ.get(variable, "").strip():
            # Spaces around a value are a copy-paste accident, not part of it.
            default = os.environ[variable].strip()
            choices = kwargs.get("choices")
            if choices and default not in choices:
                _add_problem(
                    variable, f"{variable}={default!r} is not one of {', '.join(choices)}"
                )
        help = f"{help} [env: {variable}]" if help else f"[env: {variable}]"
        super().__init__(option_strings, dest, default=default, help=help, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if isinstance(values, str) and not values.strip():
            # An empty flag is most often an unset shell variable; guessing would publish
            # somewhere the caller did not mean.
            parser.error(f"{option_string} was given an empty value")
        setattr(namespace, self.dest, values)
        _given_on_command_line(namespace).add(self.dest)


class EnvDefaultList(EnvDefault):
    """A repeatable option; its environment fallback is a comma-separated list."""

    def __init__(self, option_strings, dest, default=None, **kwargs):
        super().__init__(option_strings, dest, default=default, **kwargs)
        if isinstance(self.default, str):
            self.default = [item.strip() for item in self.default.split(",") if item.strip()]

    def __call__(self, parser, namespace, values, option_string=None):
        if not values.strip():
            parser.error(f"{option_string} was given an empty value")
        current = getattr(namespace, self.dest, None)
        # The environment's list is replaced, not extended, by the first flag given.
        if current is self.default or current is None:
            current = []
        setattr(namespace, self.dest, [*current, values])
        _given_on_command_line(namespace).add(self.dest)


class EnvFlag(argparse.Action):
    """A switch that is also on when ECR_TO_DOCKER_<FLAG> is 1, true, yes or on.

    Any other word is an error rather than "off": ECR_TO_DOCKER_DRY_RUN=enabled must not
    quietly publish for real."""

    def __init__(self, option_strings, dest, help=None, env=None, **kwargs):
        variable = env or env_name(option_strings[-1])
        self.env_variable = variable
        word = os.environ.get(variable, "").strip().lower()
        default = word in _TRUE_WORDS
        if word not in _TRUE_WORDS + _FALSE_WORDS:
            _add_problem(
                variable,
                f"{variable}={os.environ[variable]!r} is neither true/1/yes/on nor "
                "false/0/no/off",
            )
        help = f"{help} [env: {variable}]"
        super().__init__(option_strings, dest, nargs=0, default=default, help=help, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)


def _add_verbose(parser, what="each HTTP request, retry and crane line"):
    parser.add_argument(
        "-v",
        "--verbose",
        action=EnvFlag,
        help=f"log {what} (debug level; secrets stay hidden)",
    )


def _add_promote(subparsers):
    parser = subparsers.add_parser(
        "promote",
        help="copy an ECR image to Docker Hub, refusing to overwrite an existing tag",
        description=(
            "Copy an image from Amazon ECR to Docker Hub (or another registry) with its "
            "digest unchanged. A destination tag that already exists is never overwritten. "
            "Docker Hub credentials come only from the environment: DOCKERHUB_USERNAME, "
            "DOCKERHUB_PASSWORD (a password or access token) and DOCKERHUB_NAMESPACE. AWS "
            "credentials come from the AWS SDK's usual chain; AWS_ENDPOINT_URL is honoured."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sources",
        metavar="SOURCE",
        nargs="*",
        help=(
            "ECR image with a tag or digest, e.g. "
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com/edp/my-app:1.2.3; several may be "
            "given (space- or comma-separated in the variable) "
            f"[env: {ENV_PREFIX}SOURCE]"
        ),
    )
    parser.add_argument(
        "--from-file",
        action=EnvDefault,
        metavar="FILE",
        help="read images from FILE, one 'SOURCE [DEST]' per line; '#' starts a comment",
    )
    parser.add_argument(
        "--jobs",
        action=EnvDefault,
        default="4",
        metavar="N",
        help="how many images to copy at once when there are several (default 4, at most 32)",
    )
    parser.add_argument(
        "--destination",
        action=EnvDefault,
        metavar="DEST",
        help=(
            "destination image (with a single SOURCE only); default "
            "docker.io/$DOCKERHUB_NAMESPACE/<last part of the source repository>:<source tag>"
        ),
    )
    parser.add_argument(
        "--if-exists",
        action=EnvDefault,
        default="fail",
        choices=("fail", "skip-identical"),
        help=(
            "what to do when the destination tag exists: fail (exit 3, the default), or "
            "skip-identical (exit 0 when it already has the source digest, else exit 3)"
        ),
    )
    parser.add_argument(
        "--dry-run",
        action=EnvFlag,
        help="log in and check everything, but write nothing",
    )
    parser.add_argument(
        "--report",
        action=EnvDefault,
        metavar="FILE",
        help="also write the JSON result, with timings, to FILE",
    )
    parser.add_argument(
        "--ecr-registry-id",
        action=EnvDefault,
        metavar="ID",
        help="AWS account of the source registry; required when the host is not an ECR host",
    )
    parser.add_argument(
        "--aws-region",
        action=EnvDefault,
        metavar="REGION",
        help="region of the source registry; required when the host is not an ECR host",
    )
    parser.add_argument(
        "--insecure-registry",
        action=EnvDefaultList,
        default=[],
        metavar="HOST",
        help="registry host[:port] to reach over plain HTTP (repeatable; env: comma-separated)",
    )
    parser.add_argument(
        "--timeout",
        action=EnvDefault,
        default="1800",
        metavar="SECONDS",
        help="upper bound for the whole run, in seconds (default 1800, at most a week)",
    )
    _add_verbose(parser)


def _add_jenkins_credentials(subparsers):
    parser = subparsers.add_parser(
        "jenkins-credentials",
        help="create or update the two Jenkins credentials the ecrToDocker step uses",
        description=(
            "Create or update, in Jenkins, the 'Username with password' credential holding "
            "the Docker Hub account and the 'Secret text' credential holding the Docker Hub "
            "namespace. Jenkins user and API token come from JENKINS_USER and "
            "JENKINS_API_TOKEN; the values from DOCKERHUB_USERNAME, DOCKERHUB_PASSWORD and "
            "DOCKERHUB_NAMESPACE. Jenkins never shows a stored secret, so an existing "
            "credential is rewritten unless --keep-existing-secrets is given."
        ),
        epilog="""\
exit codes:
  0  both credentials created, updated or unchanged; or a dry run that could read them
  2  invalid input: a missing environment variable, a bad URL, ID, folder or timeout
  4  Jenkins refused JENKINS_USER / JENKINS_API_TOKEN (HTTP 401)
  5  Jenkins unreachable, timed out, or failing (5xx)
  7  the Jenkins user lacks a permission (HTTP 403): Overall/Read, Job/Read (for
     --folder), Credentials/View,
     Credentials/Create or Credentials/Update
  8  the --folder does not exist in Jenkins, or is not a folder
  1  anything unexpected
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jenkins-url", action=EnvDefault, metavar="URL", help="Jenkins base URL")
    parser.add_argument(
        "--folder",
        action=EnvDefault,
        metavar="PATH",
        help="folder whose credential store to use, e.g. team/app (default: the global store)",
    )
    parser.add_argument(
        "--docker-credentials-id",
        action=EnvDefault,
        default="dockerCredentialsId",
        metavar="ID",
        help="ID of the username/password credential (default dockerCredentialsId)",
    )
    parser.add_argument(
        "--repo-credentials-id",
        action=EnvDefault,
        default="repoCredentialsID",
        metavar="ID",
        help="ID of the secret-text credential (default repoCredentialsID)",
    )
    # Variables of their own: ECR_TO_DOCKER_DRY_RUN and ECR_TO_DOCKER_TIMEOUT belong to
    # `promote`, where the timeout bounds a whole run rather than one request.
    parser.add_argument(
        "--dry-run",
        action=EnvFlag,
        env=f"{ENV_PREFIX}JENKINS_DRY_RUN",
        help="say what would be done, change nothing",
    )
    parser.add_argument(
        "--keep-existing-secrets",
        action=EnvFlag,
        help=(
            "leave an existing credential alone when everything Jenkins shows of it (kind, "
            "scope, description, username) already matches; its stored secret cannot be "
            "compared and is then not replaced"
        ),
    )
    parser.add_argument(
        "--timeout",
        action=EnvDefault,
        env=f"{ENV_PREFIX}JENKINS_TIMEOUT",
        default="30",
        metavar="SECONDS",
        help="timeout of each HTTP request to Jenkins, in seconds (default 30)",
    )
    _add_verbose(parser, "each HTTP request to Jenkins and each retry")


def build_parser():
    from ecr_to_docker import __version__

    parser = ArgumentParser(
        prog="ecr-to-docker",
        description="Promote container images from Amazon ECR to Docker Hub, safely.",
        epilog=TOP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=ArgumentParser
    )
    _add_promote(subparsers)
    _add_jenkins_credentials(subparsers)
    return parser
