"""ECR login through the AWS SDK: an authorization token for the source registry's
account, asked of the region the registry lives in (not the agent's default region).

The client comes from botocore, the core of boto3, with its whole chain of credentials
(environment, profiles, SSO, web identity and instance or pod roles), AWS_ENDPOINT_URL,
retries and signing. boto3 itself adds resources and S3 transfers that this command never
uses, and importing it loads them: about 0.04 s of every run's start, before the first
byte can be copied.
"""

import base64
import os
import threading
from dataclasses import dataclass

from ecr_to_docker import logs, parallel
from ecr_to_docker.credentials import Credentials
from ecr_to_docker.deadline import retry_settings
from ecr_to_docker.errors import AuthenticationError, InvalidInputError, RegistryError

log = logs.get("ecr")

_AUTH_ERROR_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
}


@dataclass(frozen=True)
class EcrLogin:
    credentials: Credentials


def login(registry, deadline) -> EcrLogin:
    # botocore is imported here, not at the top: it takes a tenth of a second to load,
    # and --help or invalid input should not pay for it.
    import botocore.config
    from botocore import exceptions as sdk_errors

    what = f"ECR login to account {registry.account} in {registry.region}"
    timeout = deadline.bound(30, what)
    config = botocore.config.Config(
        region_name=registry.region,
        connect_timeout=min(10, timeout),
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": retry_settings()[0] + 1},
        use_fips_endpoint=registry.fips,
        use_dualstack_endpoint=registry.dualstack,
    )

    def get_token():
        try:
            # Building the client also loads the credentials (running a
            # credential_process, reading an SSO cache or a web identity token).
            client = ecr_client(config)
        except ValueError as error:
            # botocore's word for an endpoint URL or a model or credential file it cannot
            # read; what the message names is enough to find it.
            raise InvalidInputError(
                f"{what}: the AWS SDK cannot use its configuration: "
                f"{type(error).__name__}: {error}; check AWS_ENDPOINT_URL, AWS_DATA_PATH and "
                "the AWS config and credentials files"
            ) from None
        return client.get_authorization_token(registryIds=[registry.account])

    try:
        response = parallel.call_with_deadline(
            get_token,
            deadline.remaining(),
            lambda: RegistryError(f"{what} did not answer within the run's time budget"),
        )
    except (
        sdk_errors.ProfileNotFound,
        sdk_errors.ConfigParseError,
        sdk_errors.ConfigNotFound,
        sdk_errors.PartialCredentialsError,
        sdk_errors.InvalidConfigError,
        sdk_errors.InvalidSTSRegionalEndpointsConfigError,
    ) as error:
        raise InvalidInputError(f"{what}: {_configuration_problem(error)}") from None
    except (
        sdk_errors.CredentialRetrievalError,
        sdk_errors.UnknownCredentialError,
        sdk_errors.SSOError,
        sdk_errors.TokenRetrievalError,
    ) as error:
        raise AuthenticationError(
            f"{what}: the AWS credentials could not be obtained: {error}"
        ) from None
    except sdk_errors.NoCredentialsError:
        raise AuthenticationError(
            f"{what}: no AWS credentials found; give them as the AWS SDK expects "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance or pod role)"
        ) from None
    except sdk_errors.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _AUTH_ERROR_CODES or status in (401, 403):
            raise AuthenticationError(
                f"{what} was refused ({code}): check the AWS credentials "
                "and their ecr:GetAuthorizationToken permission"
            ) from None
        raise RegistryError(f"{what} failed ({code or status})") from None
    except sdk_errors.BotoCoreError as error:
        raise RegistryError(f"{what} failed: {type(error).__name__}: {error}") from None

    data = response.get("authorizationData") or []
    if not data or not data[0].get("authorizationToken"):
        raise RegistryError(f"{what}: the answer held no authorization token")
    token = data[0]["authorizationToken"]
    logs.register_secret(token)
    try:
        decoded = base64.b64decode(token).decode()
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(
            f"{what}: the authorization token is not base64 of user:password"
        ) from None
    # The password part may itself contain colons; only the first one separates.
    username, separator, password = decoded.partition(":")
    if not separator or not password:
        raise RegistryError(f"{what}: the authorization token is not of the form user:password")
    logs.register_secret(password, username=username)
    log.info("logged in to ECR (account %s, region %s)", registry.account, registry.region)
    log.debug("the ECR token is for %s", data[0].get("proxyEndpoint", "an unnamed endpoint"))
    return EcrLogin(Credentials(username, password))


def check_configuration():
    """Refuse, before any network call, an AWS profile that does not exist or a config
    or credentials file that does not parse. Only local files are read: credentials
    themselves may come from the network (roles, SSO) and are left to the login."""
    from botocore import exceptions as sdk_errors

    try:
        with _SESSION_LOCK:
            _ecr_session().get_scoped_config()
    except (sdk_errors.ProfileNotFound, sdk_errors.ConfigParseError) as error:
        raise InvalidInputError(_configuration_problem(error)) from None


def _configuration_problem(error):
    from botocore import exceptions as sdk_errors

    if isinstance(error, sdk_errors.ProfileNotFound):
        variable = next(
            (name for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if os.environ.get(name)),
            "AWS_PROFILE",
        )
        return f"{error}; check {variable} and the AWS config and credentials files"
    return f"the AWS configuration cannot be used: {error}"


def ecr_client(config):
    # A botocore session is not safe to share between threads, and a batch may log in
    # to two registries at once.
    with _SESSION_LOCK:
        return _ecr_session().create_client("ecr", config=config)


_SESSION = None
_SESSION_LOCK = threading.Lock()


def _ecr_session():
    """One botocore session for the process: the config files are read and the models
    loaded once. Called with _SESSION_LOCK held."""
    global _SESSION
    if _SESSION is None:
        import botocore.session

        _SESSION = botocore.session.Session()
    return _SESSION


class LoginCache:
    """One ECR login per registry (account, region, endpoint form) for a whole batch.

    The first image of a registry logs in while the others wait for it; a failed login is
    remembered too, so twenty images of one misconfigured account make one failed call,
    not twenty.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}

    def login(self, registry, deadline) -> EcrLogin:
        with self._lock:
            entry = self._entries.setdefault(registry, _CacheEntry())
        with entry.lock:
            if entry.login is None and entry.error is None:
                try:
                    entry.login = login(registry, deadline)
                except (AuthenticationError, RegistryError) as error:
                    entry.error = error
            if entry.error is not None:
                raise type(entry.error)(str(entry.error))
            return entry.login

    def refresh(self, registry, deadline, stale) -> EcrLogin:
        """A new login, unless another image of the batch has already replaced `stale`."""
        with self._lock:
            entry = self._entries.setdefault(registry, _CacheEntry())
        with entry.lock:
            if entry.login is None or entry.login is stale:
                entry.login, entry.error = login(registry, deadline), None
            return entry.login


class _CacheEntry:
    def __init__(self):
        self.lock = threading.Lock()
        self.login = None
        self.error = None
