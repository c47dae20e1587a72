"""The promotion policy: what is checked, in which order, and when to refuse.

1. In parallel: log in to ECR and pin the source to its digest; log in to the
   destination with the pull,push scope the copy will need and look at the tag.
2. The tag exists: refuse (exit 3), unless it already holds the source digest and the
   caller accepts that (--if-exists skip-identical).
3. crane copies every platform, pushing the manifest by digest only, so the tag is not
   touched yet; then the tag is checked again and only then written.
4. Verify: the tag now resolves to the source digest, and an index's children are there.

NOTE: the registry API has no conditional write, so between the second check and the tag
write another writer can still slip in. The window is one HTTP round trip instead of the
whole copy; when it happens, the other writer's image is replaced by ours and the
verification below still reports what the tag holds.
"""

import contextlib
import threading
import time
from dataclasses import dataclass

from ecr_to_docker import copier, ecr_login, logs, parallel
from ecr_to_docker.deadline import retry_settings
from ecr_to_docker.errors import (
    CopyRefusedError,
    RegistryError,
    SourceNotFoundError,
    TagExistsError,
    TagWriteUnconfirmed,
    VerificationError,
)
from ecr_to_docker.http_session import backoff_seconds
from ecr_to_docker.promotion_request import PromotionRequest
from ecr_to_docker.registry import (
    Credentials,
    ManifestInfo,
    RegistryClient,
    TokenExpired,
    blob_bytes,
    read_source_manifest,
)
from ecr_to_docker.timings import Timings

log = logs.get("promote")

# Set when the run is being stopped (a signal during a batch): no promotion starts a copy
# or a tag write after that, so that what the run reports as written stays true, and no
# image of the batch is started any more.
STOPPING = threading.Event()


def stop_writing():
    STOPPING.set()


def _unless_stopping():
    if STOPPING.is_set():
        raise RuntimeError("the run is being stopped")


# The pause before the tag is read back, as a multiple of our own write window (from the
# start of the second check to the end of the tag write). A writer that passed its second
# check inside our window lands its write within about one such window after ours; twice
# that leaves room for a slower path. Bounded below so that a loopback run still yields to
# the scheduler, and above so that a stalled answer cannot make the pause itself long.
SETTLE_WINDOWS = 2.0
MIN_SETTLE_SECONDS = 0.005
MAX_SETTLE_SECONDS = 2.0


def settle_seconds(write_windows):
    """How long to wait before reading back tags written in windows of these lengths."""
    longest = max(write_windows, default=0.0)
    return min(MAX_SETTLE_SECONDS, max(MIN_SETTLE_SECONDS, SETTLE_WINDOWS * longest))


class CopySlots:
    """How many crane runs a batch allows at once (--jobs)."""

    def __init__(self, jobs):
        self.jobs = jobs
        self._semaphore = threading.BoundedSemaphore(jobs)

    def acquire(self, timeout):
        return self._semaphore.acquire(timeout=timeout)

    def release(self):
        self._semaphore.release()

    @property
    def crane_threads(self):
        """GOMAXPROCS for each crane, or None to leave Go's default (one per core).

        Copies running side by side already keep the cores busy; each with a scheduler
        sized to every core, they contend with each other and with whatever else the agent
        runs. One thread of Go code each made the benchmark's batch of 20 on 2 cores about
        3 % faster when both settings were timed side by side (the benchmark now times only
        this one); a single copy keeps Go's default."""
        return 1 if self.jobs > 1 else None


@dataclass
class SourceImage:
    digest: str
    media_type: str
    manifest: bytes
    children: list
    credentials: Credentials
    login: ecr_login.EcrLogin


class Promotion:
    """One image's promotion; `result` holds what is known so far, even after a failure."""

    def __init__(self, request: PromotionRequest, timings: Timings, copy_slots=None):
        self.request = request
        self.timings = timings
        # A batch's CopySlots, bounding its crane runs (--jobs), not its images.
        self.copy_slots = copy_slots
        # When the tag written by this promotion may be read back (see settle_seconds).
        self.verify_due = None
        self.result = {
            "status": None,
            "source": str(request.source),
            "source_digest": None,
            "destination": str(request.destination),
            "destination_digest": None,
            "media_type": None,
            "manifests": [],
            "dry_run": request.dry_run,
        }

    def run(self):
        request = self.request
        source, destination_check = parallel.run_all(self._resolve_source, self._check_destination)
        destination_client, existing = destination_check

        if existing is not None:
            return self._tag_exists(source, existing, "before-copy")
        log.info("destination %s is free", request.destination)

        if request.dry_run:
            log.info("dry run: would copy %s to %s", request.source, request.destination)
            self.result["status"] = "dry-run"
            return self.result

        with self._copy_slot():
            _unless_stopping()
            self._copy(source, destination_client)

        window_started = time.monotonic()
        with self.timings.phase("destination_recheck"):
            existing = destination_client.head_manifest(
                request.destination.tag, what="second check of the destination tag"
            )
        if existing is not None:
            # Someone else wrote the tag while we copied.
            return self._tag_exists(source, existing, "after-copy")

        _unless_stopping()
        # Until the answer is in, the tag may or may not have been written.
        self.result["status"] = "tagging"
        with self.timings.phase("tag"):
            window_started = self._write_tag(destination_client, source, window_started)
        # Written, not yet read back (what a stopped run reports for this image); set
        # before it is logged, so that a run stopped right after the line says "tagged".
        self.result["status"] = "tagged"
        written_at = time.monotonic()
        self.verify_due = written_at + settle_seconds([written_at - window_started])
        log.info("tagged %s", request.destination)

        # A writer that passed its second check just before our write lands its own write
        # a moment later. Reading the tag back only after a pause lets that write show, so
        # that the run that lost the race says so (exit 6) instead of reporting success
        # for an image that is no longer there.
        # In a batch the pause holds no copy slot: other images copy meanwhile.
        with self.timings.phase("settle"):
            time.sleep(self.pause_left())
        return self._finish(destination_client, source)

    def _write_tag(self, client, source, window_started):
        """Write the tag; returns when the write window that succeeded began.

        A write whose answer leaves open whether it landed (429, 5xx, a lost connection)
        is written again only after the backoff and a fresh look at the tag, so that
        between our last check and our write there is never more than one round trip:
        the tag holding the source digest means the write (ours or an identical one)
        landed; any other digest means another writer came first, and the promotion is
        refused as if the second check had found it."""
        request = self.request
        retries, backoff = retry_settings()
        retry_number = 0
        token_renewed = False
        while True:
            try:
                client.put_manifest(
                    request.destination.tag,
                    source.manifest,
                    source.media_type,
                    what=f"writing the tag {request.destination}",
                )
                return window_started
            except TokenExpired as expired:
                # The token ran out during the copy; the write was refused, not made. A new
                # token costs a round trip to the token service, so the tag is looked at
                # again (below) before the next write: one round trip at most between.
                if token_renewed:
                    raise expired.refusal from None
                token_renewed = True
                log.info("the destination token expired before the tag write; renewing it")
                client.renew_token()
            except TagWriteUnconfirmed as unconfirmed:
                retry_number += 1
                wait = unconfirmed.retry_after
                if wait is None:
                    wait = backoff_seconds(retry_number, backoff)
                if retry_number > retries or wait >= request.deadline.remaining():
                    why = (
                        "no retries are left"
                        if retry_number > retries
                        else f"the {wait:.0f}s wait asked for is more than --timeout leaves"
                    )
                    return self._settle_unconfirmed_write(client, source, unconfirmed, why)
                log.warning(
                    "the tag write got %s; reading the tag again in %.1fs before writing it "
                    "again (%d retries left)",
                    unconfirmed.cause,
                    wait,
                    retries - retry_number,
                )
                time.sleep(wait)
            _unless_stopping()
            window_started = time.monotonic()
            if self._write_landed(client, source, "reading the tag again before writing it again"):
                return window_started

    def _write_landed(self, client, source, what):
        """Read the tag after a write that got no clear answer: True when it holds our
        image, False when it is absent. Another image there is refused (this raises),
        whatever --if-exists says: another writer came first."""
        existing = client.head_manifest(self.request.destination.tag, what=what)
        if existing is None:
            return False
        if existing.digest != source.digest:
            self._tag_exists(source, existing, "after-unconfirmed-write")  # raises
        log.info("the tag holds %s: the write had landed", source.digest)
        return True

    def _settle_unconfirmed_write(self, client, source, unconfirmed, why):
        """No further write: read the tag once, so that a write that landed is not
        reported as a failure (a rerun would then be refused with 3). Returns when the
        write window began if our image is there; raises otherwise."""
        if copier.stopping():
            raise unconfirmed
        log.warning(
            "the tag write got %s and %s; reading the tag to see whether it landed",
            unconfirmed.cause,
            why,
        )
        window_started = time.monotonic()
        try:
            what = "reading the tag after a write without answer"
            landed = self._write_landed(client, source, what)
        except RegistryError as error:  # not a refusal: that is no RegistryError
            raise TagWriteUnconfirmed(
                f"{unconfirmed}; {why}, and reading the tag failed too ({error}): the tag may "
                "or may not hold the image"
            ) from None
        if landed:
            return window_started
        raise TagWriteUnconfirmed(
            f"{unconfirmed}; {why}, and the tag is still absent: the image was copied by "
            "digest only, untagged"
        )

    @contextlib.contextmanager
    def _copy_slot(self):
        """Hold one of the batch's copy slots while crane runs (no-op for a single run)."""
        if self.copy_slots is None:
            yield
            return
        with self.timings.phase("copy_queue"):
            acquired = self.copy_slots.acquire(timeout=max(0.0, self.request.deadline.remaining()))
        if not acquired:
            raise RegistryError(
                f"{self.request.destination} was still waiting for its turn to copy when the "
                f"run's time budget of {self.request.deadline.seconds:g}s (--timeout) ran out"
            )
        try:
            yield
        finally:
            self.copy_slots.release()

    def pause_left(self):
        """Seconds until the written tag may be read back; never more than half of what
        the run has left, so that the read-back itself still fits in --timeout."""
        left = max(0.0, self.verify_due - time.monotonic())
        return min(left, max(0.0, self.request.deadline.remaining() / 2))

    def _finish(self, destination_client, source):
        """Verify the written tag (after the settle pause) and report the promotion."""
        self._verify(destination_client, source)
        self.result["status"] = "promoted"
        log.info(
            "promoted %s to %s (%s)", self.request.source, self.request.destination, source.digest
        )
        return self.result

    # -- steps ------------------------------------------------------------------------

    def _resolve_source(self):
        request = self.request
        with self.timings.phase("ecr_login"):
            login = self._login()

        with self.timings.phase("source_resolve"):
            client = RegistryClient(
                request.source.api_host,
                request.source.repository,
                login.credentials,
                request.deadline,
                insecure=request.source.api_host in request.insecure_hosts,
                role="source",
            )
            client.login(["pull"])
            reference = request.source.digest or request.source.tag
            # The bytes and their digest in one GET: the digest is pinned from here on, so
            # a tag moved mid-run cannot slip another image through.
            source_manifest = client.get_manifest(
                reference, what=f"reading the source manifest {request.source}"
            )
            if source_manifest is None:
                raise SourceNotFoundError(
                    f"the source image {request.source} does not exist: check the repository "
                    "and tag, and that the build pushed it"
                )
            digest, manifest = source_manifest.digest, source_manifest.body
            if not digest.startswith("sha256:"):
                # crane (go-containerregistry) parses only sha256 digests in a reference.
                raise RegistryError(
                    f"the source registry names {request.source} by the digest {digest}; "
                    "crane copies only by sha256 digests, so this image cannot be promoted"
                )
            media_type, children = read_source_manifest(
                manifest,
                source_manifest.media_type,
                what=f"the source manifest {request.source} ({digest})",
            )
        self.result.update(source_digest=digest, media_type=media_type, manifests=children)
        kind = f"an index of {len(children)} manifests" if children else "a single image"
        log.info("source %s is %s (%s)", request.source, digest, kind)
        return SourceImage(digest, media_type, manifest, children, login.credentials, login)

    def _check_destination(self):
        request = self.request
        with self.timings.phase("destination_login"):
            client = RegistryClient(
                request.destination.api_host,
                request.destination.repository,
                request.destination_credentials,
                request.deadline,
                insecure=request.destination.api_host in request.insecure_hosts,
                role="destination",
            )
            # The scope the copy will need: a 401/403 now means "cannot promote here".
            client.login(["pull", "push"])
        with self.timings.phase("destination_check"):
            existing = client.head_manifest(
                request.destination.tag, what=f"checking the destination {request.destination}"
            )
        return client, existing

    def _tag_exists(self, source, existing: ManifestInfo, moment):
        request = self.request
        self.result["destination_digest"] = existing.digest
        if existing.digest == source.digest and request.if_exists == "skip-identical":
            log.info("%s already holds %s; nothing to do", request.destination, source.digest)
            self.result["status"] = "identical"
            return self.result
        same = existing.digest == source.digest
        hint = (
            " It is already the same image: pass --if-exists skip-identical to accept that."
            if same
            else " Publish under a new tag instead."
        )
        raise TagExistsError(
            f"{request.destination} already exists on the destination with digest "
            f"{existing.digest} (the source {request.source} is {source.digest}); a published "
            f"tag is never overwritten, so {_NOT_WRITTEN[moment]}.{hint}"
        )

    def _copy(self, source, destination_client):
        request = self.request
        log.info("copying %s to %s with crane", request.source, request.destination)
        token = self._token_for_crane(source, destination_client)
        with self.timings.phase("copy"):
            try:
                seconds = self._run_crane(source, destination_token=token)
            except (CopyRefusedError, RegistryError) as error:
                # Copying by digest is safe to repeat, and crane gives up on some faults
                # that a second run gets past: a 429 without a registry error body, a
                # token that expired mid-upload, or an ECR token that expired during a
                # long copy (ECR tokens last twelve hours). One more run; blobs already
                # at the destination are not sent again. A 403 is a verdict on the
                # credentials, not a hiccup: it is not retried.
                refused = isinstance(error, CopyRefusedError)
                if (
                    (refused and error.denied)
                    or request.deadline.remaining() <= 1
                    or copier.stopping()
                ):
                    raise
                if refused and error.host == request.source.api_host:
                    log.warning(
                        "the source registry refused the ECR token during the copy; "
                        "logging in again"
                    )
                    source.credentials = self._login_again(source.login).credentials
                log.warning(
                    "the copy failed (%s); trying once more%s",
                    _shortened(error),
                    ", with the password for the destination" if token else "",
                )
                seconds = self._run_crane(source)
        log.info("copied in %.1fs", seconds)

    def _token_for_crane(self, source, destination_client):
        """The destination token we hold, for crane to use instead of the password, when
        the copy surely ends before the token does; else None.

        With the password crane asks the token service again for every blob it sends
        (six times for an image of five blobs, on Docker Hub a round trip each). With
        our token it asks none, but it cannot renew it either: a copy that outlasts the
        token fails with a 401, and the second run (see _copy) uses the password. That
        costs the blob in flight, so the token is handed over only for an image whose
        blobs can be sent at the slowest rate we plan for while it is still valid, with a
        minute to spare. An index, whose size the pinned manifest does not tell, is
        copied with the password."""
        size = blob_bytes(source.manifest)
        if size is None:
            return None
        # Capped before dividing: a manifest may claim sizes no float holds.
        size = min(size, 1 << 50)
        needed = MIN_TOKEN_SECONDS_FOR_COPY + size / SLOWEST_PLANNED_BYTES_PER_SECOND
        return destination_client.token_lasting(needed)

    def _run_crane(self, source, destination_token=None):
        request = self.request
        credentials = {request.source.config_key: source.credentials}
        tokens = {}
        if destination_token is not None:
            tokens[request.destination.config_key] = destination_token
        elif request.destination_credentials is not None:
            credentials[request.destination.config_key] = request.destination_credentials
        insecure = bool(
            {request.source.api_host, request.destination.api_host} & request.insecure_hosts
        )
        with copier.private_docker_config(credentials, tokens) as config_directory:
            return copier.copy(
                request.crane,
                request.source.with_digest(source.digest),
                # By digest: the blobs and manifest arrive, the tag is not written yet.
                request.destination.with_digest(source.digest),
                config_directory,
                request.deadline,
                insecure=insecure,
                label=str(request.destination),
                go_threads=self.copy_slots.crane_threads if self.copy_slots else None,
            )

    def _login(self):
        request = self.request
        if request.ecr_logins is not None:
            return request.ecr_logins.login(request.ecr, request.deadline)
        return ecr_login.login(request.ecr, request.deadline)

    def _login_again(self, stale):
        request = self.request
        if request.ecr_logins is not None:
            return request.ecr_logins.refresh(request.ecr, request.deadline, stale)
        return ecr_login.login(request.ecr, request.deadline)

    def _verify(self, client, source):
        request = self.request
        with self.timings.phase("verify"):
            tagged = client.head_manifest(
                request.destination.tag, what="verifying the destination tag"
            )
            digest = tagged.digest if tagged else None
            self.result["destination_digest"] = digest
            if digest != source.digest:
                raise VerificationError(
                    f"after the copy {request.destination} resolves to {digest or 'nothing'}, "
                    f"not the source digest {source.digest}: something else changed the tag "
                    "meanwhile; find out what before publishing again"
                )
            missing = [
                child
                for child in source.children
                if client.head_manifest(child, what=f"verifying the child manifest {child}") is None
            ]
        if missing:
            raise VerificationError(
                f"after the copy {request.destination} lacks {len(missing)} of the index's "
                f"{len(source.children)} manifests: {', '.join(missing)}; the registry "
                "accepted the index without them or has lost them since: check that repository"
            )
        log.info(
            "verified: %s is %s%s",
            request.destination,
            digest,
            f", all {len(source.children)} child manifests present" if source.children else "",
        )


# When crane may be handed our destination token (Promotion._token_for_crane): the token
# must outlast the copy at 1 MiB/s by a minute. Docker Hub's tokens last five minutes, so
# images up to about 240 MiB qualify; larger ones are copied with the password.
MIN_TOKEN_SECONDS_FOR_COPY = 60
SLOWEST_PLANNED_BYTES_PER_SECOND = 1 << 20

# What a refusal leaves behind, by the moment the existing tag was found.
_NOT_WRITTEN = {
    "before-copy": "nothing was copied",
    # The tag appeared while crane copied: the blobs and the manifest are there by
    # digest, untagged, which changes no tag.
    "after-copy": "the tag was not written (the image was copied by digest only, untagged)",
    # Our write got no clear answer and the tag now holds another image: if our write
    # landed at all, the other writer replaced it.
    "after-unconfirmed-write": "the tag was not written again (the first write got no clear "
    "answer, and the tag now holds another image)",
}


def _shortened(error):
    text = str(error)
    return text if len(text) <= 200 else text[:200] + "..."
