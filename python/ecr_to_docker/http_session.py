"""One requests session per registry, with bounded and logged retries.

Retries follow urllib3's `Retry`: idempotent methods only, on connection errors, 429 and
5xx, with exponential backoff, honouring `Retry-After`. Each retry is logged as a warning,
and a `Retry-After` longer than the run has left is not waited for: the run fails at once
instead of sleeping past its own deadline.
"""

import threading
import urllib.parse

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from ecr_to_docker import logs
from ecr_to_docker.deadline import retry_settings

log = logs.get("http")

RETRY_STATUSES = (429, 500, 502, 503, 504)
# Reads only. The one write this client makes is the tag, and repeating it blindly would
# widen the window in which another writer's tag gets replaced from one round trip to the
# whole backoff (or Retry-After); the promotion repeats it itself, after reading the tag
# again (promotion.Promotion._write_tag).
RETRY_METHODS = frozenset({"GET", "HEAD"})
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
BACKOFF_MAX = 10


class LoggedRetry(Retry):
    """A Retry that says each time it retries, and never waits past the run's deadline."""

    deadline = None  # set per session; class attribute so that `new()` copies keep it

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.deadline = self.deadline
        return retry

    def increment(self, method=None, url=None, response=None, error=None, **kwargs):
        retry = super().increment(method, url, response, error, **kwargs)
        # Host and path only: query strings may carry scopes or, on some services,
        # signatures. Both registries are asked at once, so the host says which one.
        pool = kwargs.get("_pool")
        host = f"{pool.host}:{pool.port}" if pool is not None and pool.port else ""
        path = host + (url or "").split("?", 1)[0]
        cause = f"HTTP {response.status}" if response is not None else type(error).__name__

        wait = retry.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = retry.get_backoff_time()
        if self.deadline is not None and wait >= self.deadline.remaining():
            # Waiting longer than the run has left cannot help. Giving up here hands the
            # last answer (say, the 429) back to the caller, which reports it.
            log.warning(
                "not retrying %s %s after %s: waiting %.1fs would pass the run's deadline",
                method,
                path,
                cause,
                wait,
            )
            raise MaxRetryError(kwargs.get("_pool"), url, error or ResponseError(cause))

        left = retry.total if isinstance(retry.total, int) else "?"
        log.warning(
            "retrying %s %s after %s in %.1fs (%s retries left)", method, path, cause, wait, left
        )
        if response is not None:
            # urllib3 reads the answer being retried to its end, to reuse the connection;
            # only each wait for the next bytes is timed, so a body sent a byte at a time
            # would hold the run past its deadline. Closing the connection ends that read
            # at once; the retry opens a new one.
            response.close()
        return retry


class _Session(requests.Session):
    """A session that reads the proxy and CA-bundle settings of the environment once per
    host. requests reads them again for every request, scanning the whole environment two
    or three times; on a CI agent with a large environment that costs more than a registry
    request on loopback. The environment does not change during a run."""

    def __init__(self):
        super().__init__()
        self._settings_by_host = {}
        self._settings_lock = threading.Lock()

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = urllib.parse.urlsplit(url)[:2]  # scheme and host[:port]
        with self._settings_lock:
            settings = self._settings_by_host.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, None, verify, cert)
            with self._settings_lock:
                self._settings_by_host[key] = settings
        # `stream` is the caller's own (or the session's), never the environment's.
        stream = self.stream if stream is None else stream
        return dict(settings, proxies=dict(settings["proxies"]), stream=stream)

    def get_redirect_target(self, response):
        # requests reads a redirect's whole body, untimed and unbounded, before following
        # it, and even when told not to follow it. Redirects are followed by the registry
        # client instead (registry._request), which reads every body in bounded pieces.
        return None


def build_session(deadline, retries=None, backoff=None):
    if retries is None or backoff is None:
        retries, backoff = retry_settings()
    retry = LoggedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_max=BACKOFF_MAX,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        respect_retry_after_header=True,
        # The final answer (say, the last 503) is returned to the caller, which then
        # reports it with its own words, rather than raised as an opaque RetryError.
        raise_on_status=False,
    )
    retry.deadline = deadline
    session = _Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = _user_agent()
    # An always-present no-op auth stops requests from reading ~/.netrc, which would
    # replace the Authorization header we set; proxies and CA bundles from the
    # environment still apply, as agents behind a proxy need them.
    session.auth = _keep_request_as_is
    return session


def backoff_seconds(retry_number, backoff=None):
    """The wait before retry number `retry_number` (1, 2, ...): the schedule urllib3's
    Retry follows for the other requests (at once, then doubling from twice `backoff`)."""
    if backoff is None:
        backoff = retry_settings()[1]
    if retry_number <= 1:
        return 0.0
    return min(BACKOFF_MAX, backoff * 2 ** (retry_number - 1))


def retry_after_seconds(response):
    """The Retry-After of a response in seconds, None when it has none or it cannot be
    read (then the backoff applies)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(Retry().parse_retry_after(value)))
    except Exception:  # noqa: BLE001 - urllib3 raises its own InvalidHeader, or ValueError
        return None


def timeout_for(deadline, what):
    return (deadline.bound(CONNECT_TIMEOUT, what), deadline.bound(READ_TIMEOUT, what))


def _user_agent():
    from ecr_to_docker import __version__

    return f"ecr-to-docker/{__version__} python-requests/{requests.__version__}"


def _keep_request_as_is(request):
    return request
