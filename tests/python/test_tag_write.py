"""The tag write: sent once, and sent again only after the tag has been read anew.

A write whose answer leaves open whether it landed (429, 5xx, a lost connection) must not
simply be repeated: during the wait before the repeat, another promotion may publish the
tag, and a blind repeat would replace that published image. These runs go through a fault
proxy in front of the real Docker Hub stand-in, which records every tag write that
reached the registry.
"""

import json
import time

from standins import evidence
from standins.fault_proxy import Answer, ReplaceStatus, ResetConnection, Rule
from standins.stack import HUB_NAMESPACE

TAG = "1.0"


def _promote(routes, stack, source, destination, retries="2"):
    return evidence.start_promotion(routes, stack, source, destination, TAG, retries=retries)


def _tag_put(repository, action):
    return Rule("PUT", rf"/v2/{repository}/manifests/1\.0", action, times=1)


def _wait_for_exchange(proxy, method, path_end, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e.method == method and e.target.endswith(path_end) for e in proxy.exchanges):
            return
        time.sleep(0.01)
    raise AssertionError(f"no {method} ...{path_end} reached the proxy in {timeout}s")


def test_a_tag_published_by_another_run_while_ours_waits_to_retry_is_refused_not_replaced(
    fault_stack,
):
    name = "published-during-retry-wait"
    repository = f"{HUB_NAMESPACE}/{name}"
    ours, _, _ = fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed="ours")
    theirs, _, _ = fault_stack.source_pusher().push_image(f"b/{name}", TAG, [4096], seed="theirs")
    with fault_stack.routes() as our_routes, fault_stack.routes() as their_routes:
        # Our tag write is answered 429 with a long Retry-After...
        our_routes.hub.add(
            _tag_put(repository, Answer(429, b"slow down", (("Retry-After", "3"),)))
        )
        started = _promote(our_routes, fault_stack, f"a/{name}", name)
        _wait_for_exchange(our_routes.hub, "PUT", f"/manifests/{TAG}")
        # ...and while it waits, another promotion publishes the tag.
        other = _promote(their_routes, fault_stack, f"b/{name}", name).finish()
        run = started.finish()
        our_writes = our_routes.hub.tag_writes(repository, TAG)
    _, final = evidence.destination_state(fault_stack.hub, repository, TAG)

    assert other.returncode == 0, other.stderr
    assert run.returncode == 3, run.stderr
    assert "the tag was not written again" in run.stderr
    assert final == theirs != ours
    assert our_writes == []  # the 429'd write never reached the registry, and none followed
    assert json.loads(run.stdout)["status"] == "refused"


def test_a_tag_write_whose_answer_is_lost_is_not_sent_twice(fault_stack):
    name = "tag-write-answer-lost"
    repository = f"{HUB_NAMESPACE}/{name}"
    digest, _, _ = fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        # The write reaches the registry; the connection is reset before its answer.
        routes.hub.add(_tag_put(repository, ResetConnection()))
        run = _promote(routes, fault_stack, f"a/{name}", name).finish()
        writes = routes.hub.tag_writes(repository, TAG)
    _, final = evidence.destination_state(fault_stack.hub, repository, TAG)

    assert run.returncode == 0, run.stderr
    assert "the write had landed" in run.stderr
    assert writes == [digest]
    assert final == digest


def test_a_tag_write_answered_503_is_sent_again_once_the_tag_is_still_free(fault_stack):
    name = "tag-write-503"
    repository = f"{HUB_NAMESPACE}/{name}"
    digest, _, _ = fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(_tag_put(repository, Answer(503, b"try again")))
        run = _promote(routes, fault_stack, f"a/{name}", name).finish()
        writes = routes.hub.tag_writes(repository, TAG)
        tag_requests = [
            e.method for e in routes.hub.exchanges if e.target.endswith(f"/manifests/{TAG}")
        ]
    _, final = evidence.destination_state(fault_stack.hub, repository, TAG)

    assert run.returncode == 0, run.stderr
    assert "reading the tag again" in run.stderr
    assert writes == [digest]
    assert final == digest
    # check, second check, the 503'd write, the fresh look, the write, the read-back
    assert tag_requests == ["HEAD", "HEAD", "PUT", "HEAD", "PUT", "HEAD"]


def test_a_write_without_answer_and_no_retry_left_is_settled_by_one_read(fault_stack):
    name = "tag-write-lost-no-retry"
    repository = f"{HUB_NAMESPACE}/{name}"
    digest, _, _ = fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(_tag_put(repository, ResetConnection()))
        run = _promote(routes, fault_stack, f"a/{name}", name, retries="0").finish()
        writes = routes.hub.tag_writes(repository, TAG)
    _, final = evidence.destination_state(fault_stack.hub, repository, TAG)

    assert run.returncode == 0, run.stderr
    assert "no retries are left" in run.stderr
    assert "the write had landed" in run.stderr
    assert writes == [digest] and final == digest


def test_a_write_refused_with_a_wait_longer_than_the_timeout_says_the_tag_is_absent(fault_stack):
    name = "tag-write-long-retry-after"
    repository = f"{HUB_NAMESPACE}/{name}"
    fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(_tag_put(repository, Answer(503, b"later", (("Retry-After", "99999"),))))
        run = _promote(routes, fault_stack, f"a/{name}", name).finish()
        writes = routes.hub.tag_writes(repository, TAG)
    _, final = evidence.destination_state(fault_stack.hub, repository, TAG)

    assert run.returncode == 5, run.stderr
    assert "more than --timeout leaves" in run.stderr
    assert "the tag is still absent" in run.stderr
    assert writes == [] and final is None



_EXPIRED = Answer(
    401,
    b'{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}',
    (("Content-Type", "application/json"),),
)


def test_a_tag_write_refused_401_gets_a_new_token_and_a_fresh_look_before_writing(fault_stack):
    # The token ran out during the copy. Renewing it takes a round trip to the token
    # service, so the tag is read again before the write is sent again.
    name = "tag-write-token-expired"
    repository = f"{HUB_NAMESPACE}/{name}"
    digest, _, _ = fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(_tag_put(repository, _EXPIRED))
        run = _promote(routes, fault_stack, f"a/{name}", name).finish()
        tag_path = f"/v2/{repository}/manifests/{TAG}"
        calls = [(e.method, e.target) for e in routes.hub.exchanges if e.target == tag_path]
        writes = routes.hub.tag_writes(repository, TAG)

    assert run.returncode == 0, run.stderr
    assert "renewing it" in run.stderr
    first_put = calls.index(("PUT", tag_path))
    assert calls[first_put + 1 :][:2] == [("HEAD", tag_path), ("PUT", tag_path)]
    assert writes == [digest]


def test_a_tag_write_refused_401_again_with_a_new_token_is_exit_4(fault_stack):
    name = "tag-write-refused-401"
    repository = f"{HUB_NAMESPACE}/{name}"
    fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(Rule("PUT", rf"/v2/{repository}/manifests/1\.0", _EXPIRED))
        run = _promote(routes, fault_stack, f"a/{name}", name).finish()
        writes = routes.hub.tag_writes(repository, TAG)

    assert run.returncode == 4, run.stderr
    assert writes == []


def test_a_tag_write_answered_202_counts_as_written_and_is_read_back(fault_stack):
    # The API says 201; a registry that accepts the write with another 2xx has taken it.
    name = "tag-write-202"
    repository = f"{HUB_NAMESPACE}/{name}"
    digest, _, _ = fault_stack.source_pusher().push_image(f"a/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(_tag_put(repository, ReplaceStatus(202)))
        run = _promote(routes, fault_stack, f"a/{name}", name).finish()

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["destination_digest"] == digest
