"""ECR login through boto3: an authorization token for the source registry's account,
asked of the region the registry lives in (not the agent's default region)."""

import base64
import threading
from dataclasses import dataclass

from ecr_to_docker import logs, parallel
from ecr_to_docker.errors import AuthenticationError, InvalidInputError, RegistryError
from ecr_to_docker.http_session import retry_settings
from ecr_to_docker.registry import Credentials

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
    proxy_endpoint: str


def login(registry, deadline) -> EcrLogin:
    # boto3 is imported here, not at the top: it takes a good part of a second to load,
    # and --help or invalid input should not pay for it.
    import boto3
    import botocore.config
    import botocore.exceptions

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
        client = boto3.session.Session().client("ecr", config=config)
        return client.get_authorization_token(registryIds=[registry.account])

    try:
        response = parallel.call_with_deadline(
            get_token,
            deadline.remaining(),
            lambda: RegistryError(f"{what} did not answer within the run's time budget"),
        )
    except botocore.exceptions.ProfileNotFound as error:
        raise InvalidInputError(f"{what}: {error}; check AWS_PROFILE") from None
    except botocore.exceptions.NoCredentialsError:
        raise AuthenticationError(
            f"{what}: no AWS credentials found; give them as the AWS SDK expects "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance or pod role)"
        ) from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _AUTH_ERROR_CODES or status in (401, 403):
            raise AuthenticationError(
                f"{what} was refused ({code}): check the AWS credentials "
                "and their ecr:GetAuthorizationToken permission"
            ) from None
        raise RegistryError(f"{what} failed ({code or status})") from None
    except botocore.exceptions.BotoCoreError as error:
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
    return EcrLogin(Credentials(username, password), data[0].get("proxyEndpoint", ""))


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
