"""Faults at every phase of a promotion: the tag is never overwritten, the digest never
changes, no secret leaks, and each run ends the way its fault's kind says.

Every service the promotion talks to sits behind a fault proxy (standins.fault_proxy):
HTTP answers (429, 5xx, 401, 403) come from the proxy itself, connection resets and
stalled answers from toxiproxy routes the proxy sends the chosen request along. Each
(phase, fault) cell runs twice: the fault once (transient) and the fault on every
matching request from then on (persistent).

The cells run at the same time (most of their time is spent waiting on retries and
timeouts), each with its own repository and proxies; the parametrized tests then check
one cell each. When the whole matrix ran, RELIABILITY.md gets its table (build/ under
`make test`, docs/ under `make reliability`).
"""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional, Tuple

import pytest
from standins import evidence
from standins.fault_proxy import Answer, ResetConnection, Rule, StallResponse
from standins.stack import HUB_NAMESPACE

pytestmark = pytest.mark.slow

TAG = "1.0"
RETRIES = "2"
BACKOFF = "0.05"
# A run's --timeout. A stalled answer is given up on after a read timeout of 60 s (30 s
# for the ECR API), so a run that must outlive one stall needs more than that; a run
# that must fail on stalls needs little.
TIMEOUT = 60
TIMEOUT_OUTLIVING_A_STALL = 75
TIMEOUT_FOR_PERSISTENT_STALLS = 10


# -- phases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    service: str  # which proxy: ecr_api, ecr, token, hub
    method: str
    path: str  # regular expression; {source} and {destination} are the repositories
    words: Tuple[str, ...]  # one of these names the phase in the error message
    nth: int = 1
    header: Optional[Tuple[str, str]] = None
    bearer: bool = False  # a registry that hands out tokens: a 401 means "fetch a new one"
    crane: bool = False  # requests crane makes, with its own retries and timeouts

    def rule(self, action, persistent, source, destination):
        return Rule(
            self.method,
            self.path.format(source=re.escape(source), destination=re.escape(destination)),
            action,
            header=self.header,
            nth=self.nth,
            times=None if persistent else 1,
        )


_TAG_HEAD = r"/v2/{destination}/manifests/" + re.escape(TAG)
PHASES = [
    Phase(
        "ecr-token",
        "ecr_api",
        "POST",
        r"/",
        ("ECR login",),
        header=("X-Amz-Target", r"AmazonEC2ContainerRegistry_V20150921\.GetAuthorizationToken"),
    ),
    Phase(
        "source-resolution",
        "ecr",
        "GET",
        r"/v2/{source}/manifests/" + re.escape(TAG),
        ("reading the source manifest",),
    ),
    # Only the tool's own request: crane asks for "push,pull" later, in its own words.
    Phase(
        "destination-token",
        "token",
        "GET",
        r"/token\?scope=repository:{destination}:pull,push&service=.*",
        ("token request", "token service"),
    ),
    Phase(
        "destination-check", "hub", "HEAD", _TAG_HEAD, ("checking the destination",), bearer=True
    ),
    Phase(
        "blob-upload",
        "hub",
        "PATCH",
        r"/v2/{destination}/blobs/uploads/.*",
        ("copy to", "copy of"),
        bearer=True,
        crane=True,
    ),
    Phase(
        "manifest-push",
        "hub",
        "PUT",
        r"/v2/{destination}/manifests/sha256:[0-9a-f]{{64}}",
        ("copy to", "copy of"),
        bearer=True,
        crane=True,
    ),
    Phase(
        "second-check",
        "hub",
        "HEAD",
        _TAG_HEAD,
        ("second check of the destination tag",),
        nth=2,
        bearer=True,
    ),
    Phase(
        "tagging",
        "hub",
        "PUT",
        r"/v2/{destination}/manifests/" + re.escape(TAG),
        ("writing the tag",),
        bearer=True,
    ),
    Phase(
        "verification",
        "hub",
        "HEAD",
        _TAG_HEAD,
        ("verifying the destination tag",),
        nth=3,
        bearer=True,
    ),
]


# -- faults, in each service's own dialect ----------------------------------------------


def _json(document):
    return json.dumps(document).encode()


def _registry_error(code, message):
    return _json({"errors": [{"code": code, "message": message, "detail": None}]})


_AWS_JSON = "application/x-amz-json-1.1"
_BODIES = {
    # (service kind, status) -> (content type, body)
    ("aws", 429): (_AWS_JSON, _json({"__type": "ThrottlingException", "message": "Rate exceeded"})),
    ("aws", 401): (
        _AWS_JSON,
        _json(
            {"__type": "UnrecognizedClientException", "message": "The security token is invalid."}
        ),
    ),
    ("aws", 403): (
        _AWS_JSON,
        _json(
            {
                "__type": "AccessDeniedException",
                "message": "not authorized: ecr:GetAuthorizationToken",
            }
        ),
    ),
    ("registry", 429): (
        "application/json",
        _registry_error("TOOMANYREQUESTS", "You have reached your rate limit."),
    ),
    ("registry", 401): (
        "application/json",
        _registry_error("UNAUTHORIZED", "authentication required"),
    ),
    ("registry", 403): (
        "application/json",
        _registry_error("DENIED", "requested access to the resource is denied"),
    ),
    ("token", 429): ("application/json", _json({"details": "too many requests"})),
    ("token", 401): ("application/json", _json({"details": "incorrect username or password"})),
    ("token", 403): ("application/json", _json({"details": "access denied"})),
}


@dataclass(frozen=True)
class Fault:
    name: str
    status: Optional[int] = None  # None: a connection-level fault
    as_json: bool = True
    retry_after: Optional[str] = None
    connection: Optional[str] = None  # "reset" or "stall"

    def action(self, service, routes):
        if self.connection == "reset":
            return ResetConnection()
        if self.connection == "stall":
            return StallResponse()
        kind = {"ecr_api": "aws", "token": "token"}.get(service, "registry")
        if self.status >= 500 or not self.as_json:
            # What a load balancer in front says: plain text.
            content_type = "text/plain; charset=utf-8"
            body = f"{self.status} {_REASONS[self.status]}\n".encode()
        else:
            content_type, body = _BODIES[(kind, self.status)]
        headers = [("Content-Type", content_type)]
        if self.retry_after is not None:
            headers.append(("Retry-After", self.retry_after))
        if self.status == 401 and service == "hub":
            headers.append(
                (
                    "WWW-Authenticate",
                    f'Bearer realm="{routes.token.url}/token",'
                    'service="registry.standin",error="invalid_token"',
                )
            )
        elif self.status == 401 and service == "ecr":
            headers.append(("WWW-Authenticate", 'Basic realm="ecr"'))
        return Answer(self.status, body, tuple(headers))


_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    401: "Unauthorized",
    403: "Forbidden",
}

FAULTS = [
    Fault("429-json-retry-after", 429, retry_after="1"),
    Fault("429-json", 429),
    Fault("429-text-retry-after", 429, as_json=False, retry_after="1"),
    Fault("429-text", 429, as_json=False),
    Fault("500", 500),
    Fault("502", 502),
    Fault("503", 503),
    Fault("connection-reset", connection="reset"),
    Fault("stalled-response", connection="stall"),
    Fault("401", 401),
    Fault("403", 403),
]


# -- cells and what each must end in ----------------------------------------------------


@dataclass(frozen=True)
class Cell:
    phase: Phase
    fault: Fault
    persistent: bool

    @property
    def variant(self):
        return "persistent" if self.persistent else "transient"

    @property
    def id(self):
        return f"{self.phase.name}-{self.fault.name}-{self.variant}"

    @property
    def timeout(self):
        if self.fault.connection == "stall":
            return TIMEOUT_FOR_PERSISTENT_STALLS if self.persistent else TIMEOUT_OUTLIVING_A_STALL
        return TIMEOUT

    @property
    def expected_exit(self):
        fault, phase = self.fault, self.phase
        if fault.status == 403:
            return 4  # a refusal is an answer, not a hiccup: never retried
        if fault.status == 401:
            # Where tokens are handed out, a 401 means "fetch a new token", once.
            return 0 if phase.bearer and not self.persistent else 4
        if self.persistent and fault.connection == "reset" and phase.name == "manifest-push":
            # The reset cuts the answer, not the request: the manifest is stored, and the
            # promotion's second run of crane finds it there and finishes.
            return 0
        if self.persistent and fault.connection == "reset" and phase.name == "tagging":
            # The same for the tag: it was written, and the read before writing it again
            # finds our digest there, so the write is not repeated.
            return 0
        if self.persistent:
            return 5
        if fault.connection == "stall" and phase.crane:
            # crane puts no timeout on a single request: one stalled answer during the
            # copy holds it until --timeout stops it.
            return 5
        return 0


CELLS = [
    Cell(phase, fault, persistent)
    for phase in PHASES
    for fault in FAULTS
    for persistent in (False, True)
]


@dataclass
class CellOutcome:
    run: evidence.ObservedRun
    source_digest: str
    tag_writes: list
    wrote: str
    final_digest: Optional[str]
    leaked: bool

    @property
    def tag_was_ever_other(self):
        digests = set(self.tag_writes) | ({self.final_digest} - {None})
        return bool(digests - {self.source_digest})

    @property
    def message(self):
        lines = self.run.error_lines()
        return lines[-1].split(" ERROR ", 1)[1] if lines else ""


def _names_phase(cell, outcome):
    return any(word in outcome.message for word in cell.phase.words)


def _run_cell(stack, cell):
    source = f"src/{cell.id}"
    destination = f"{HUB_NAMESPACE}/{cell.id}"
    source_digest, _, _ = stack.source_pusher().push_image(source, TAG, [4096, 2048], seed=cell.id)
    with stack.routes() as routes:
        proxy = getattr(routes, cell.phase.service)
        proxy.add(
            cell.phase.rule(
                cell.fault.action(cell.phase.service, routes), cell.persistent, source, destination
            )
        )
        environment = stack.environment(
            **routes.environment_overrides(),
            ECR_TO_DOCKER_RETRIES=RETRIES,
            ECR_TO_DOCKER_RETRY_BACKOFF=BACKOFF,
        )
        run = evidence.run_cli(
            [
                "promote",
                routes.source(source, TAG),
                "--destination",
                routes.destination(cell.id, TAG),
                "--timeout",
                str(cell.timeout),
            ],
            environment,
        )
        tag_writes = routes.hub.tag_writes(destination, TAG)
    wrote, final_digest = evidence.destination_state(stack.hub, destination, TAG)
    return CellOutcome(
        run, source_digest, tag_writes, wrote, final_digest, run.leaked(evidence.secrets_of(stack))
    )


def _selected_cells(session):
    ids = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if item.module.__name__ == __name__ and callspec and "cell" in callspec.params:
            ids.add(callspec.params["cell"].id)
    return [cell for cell in CELLS if cell.id in ids]


def _duration_rank(cell):
    # The longest runs first, so that the waiting overlaps the rest.
    if cell.fault.connection == "stall":
        return 0 if not cell.persistent else 1
    if cell.phase.crane and cell.persistent:
        return 2
    return 3


@pytest.fixture(scope="module")
def matrix(request, fault_stack):
    cells = sorted(_selected_cells(request.session), key=_duration_rank)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = {cell.id: pool.submit(_run_cell, fault_stack, cell) for cell in cells}
        outcomes = {cell_id: future.result() for cell_id, future in futures.items()}
    if len(outcomes) == len(CELLS):
        evidence.update_section("faults", _faults_section(outcomes, time.monotonic() - started))
    return outcomes


# -- the specification, one cell at a time ----------------------------------------------

# Cells whose exit code is known to differ from the rule, with the reason and whether the
# difference is certain (strict) or depends on timing. crane's other gaps (a plain-text
# 429, a single 401 on a blob upload) are covered by the promotion running the copy once
# more.
_CRANE_PATCH_401_PERSISTENT = (
    "crane (v0.20.3) answers a 401 on a blob PATCH by fetching a new token and resending, "
    "but the body is a stream it cannot resend, so it fails with 'ContentLength=N with Body "
    "length 0' and never says 401; the promotion can only report a registry failure (5), "
    "not the refused credentials (4)"
)
EXIT_CODE_DEVIATIONS = {
    "blob-upload-401-persistent": (_CRANE_PATCH_401_PERSISTENT, True),
}


def _with_deviations(cells):
    for cell in cells:
        marks = []
        if cell.id in EXIT_CODE_DEVIATIONS:
            reason, strict = EXIT_CODE_DEVIATIONS[cell.id]
            marks.append(pytest.mark.xfail(strict=strict, reason=reason))
        yield pytest.param(cell, marks=marks, id=cell.id)


@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_a_fault_in_any_phase_never_overwrites_changes_a_digest_or_leaks(cell, matrix):
    outcome = matrix[cell.id]
    run = outcome.run

    assert not outcome.tag_was_ever_other, (outcome.tag_writes, outcome.final_digest)
    assert outcome.final_digest in (None, outcome.source_digest)
    assert not outcome.leaked
    assert run.temporary_files() == []
    assert not run.crane_still_running()
    if run.returncode == 0:
        assert run.crane_pids, "the command lines were watched while crane ran"


@pytest.mark.parametrize("cell", list(_with_deviations(CELLS)))
def test_a_fault_ends_in_success_or_the_exit_code_of_its_kind_naming_the_phase(cell, matrix):
    outcome = matrix[cell.id]
    run = outcome.run

    assert run.returncode == cell.expected_exit, run.stderr[-3000:]
    if cell.expected_exit == 0:
        assert outcome.final_digest == outcome.source_digest
    else:
        assert _names_phase(cell, outcome), f"{cell.phase.words} not in {outcome.message!r}"
        assert json.loads(run.stdout)["exit_code"] == cell.expected_exit
    # --timeout bounds the whole run, whatever the retries do.
    assert run.seconds < cell.timeout + 5


def test_a_rate_limit_during_the_copy_is_a_registry_failure_not_refused_credentials(fault_stack):
    # A config-only image keeps crane's whole output inside the window the product reads,
    # so the outcome does not depend on the order of crane's lines.
    name = "copy-rate-limited"
    fault_stack.source_pusher().push_image(f"src/{name}", TAG, [], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(
            Rule(
                "POST",
                rf"/v2/{HUB_NAMESPACE}/{name}/blobs/uploads/",
                Fault("429-text", 429, as_json=False).action("hub", routes),
            )
        )
        run = evidence.run_cli(
            [
                "promote",
                routes.source(f"src/{name}", TAG),
                "--destination",
                routes.destination(name, TAG),
            ],
            fault_stack.environment(
                **routes.environment_overrides(),
                ECR_TO_DOCKER_RETRIES=RETRIES,
                ECR_TO_DOCKER_RETRY_BACKOFF=BACKOFF,
            ),
        )

    assert "429 Too Many Requests" in run.stderr
    assert run.returncode == 5, run.error_lines()


def test_a_retry_after_longer_than_the_run_has_left_is_not_waited_for(fault_stack):
    name = "retry-after-too-long"
    fault_stack.source_pusher().push_image(f"src/{name}", TAG, [4096], seed=name)
    with fault_stack.routes() as routes:
        routes.hub.add(
            Rule(
                "HEAD",
                rf"/v2/{HUB_NAMESPACE}/{name}/manifests/1\.0",
                Fault("429-json", 429, retry_after="3600").action("hub", routes),
            )
        )
        run = evidence.run_cli(
            [
                "promote",
                routes.source(f"src/{name}", TAG),
                "--destination",
                routes.destination(name, TAG),
                "--timeout",
                "60",
            ],
            fault_stack.environment(
                **routes.environment_overrides(),
                ECR_TO_DOCKER_RETRIES=RETRIES,
                ECR_TO_DOCKER_RETRY_BACKOFF=BACKOFF,
            ),
        )

    assert run.returncode == 5, run.stderr
    assert run.seconds < 20
    assert "checking the destination" in run.stderr and "429" in run.stderr
    assert not fault_stack.hub.has_repository(f"{HUB_NAMESPACE}/{name}")


# -- the table --------------------------------------------------------------------------

_NOISE = [
    (re.compile(r"127\.0\.0\.1:\d+"), "<proxy>"),
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:…"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<upload>"),
    (re.compile(r"_state=[A-Za-z0-9_%=-]+"), "_state=…"),
    (re.compile(r"read timeout=[0-9.]+"), "read timeout=…"),
    (re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d "), ""),
    (re.compile(r"\|"), "/"),
]


def _short(message, limit=140):
    for pattern, replacement in _NOISE:
        message = pattern.sub(replacement, message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _faults_section(outcomes, seconds):
    lines = [
        "## Faults, phase by phase",
        "",
        "How the faults are made: every service (the ECR API, the ECR registry, the token",
        "service, the Docker Hub registry) is reached through a fault proxy",
        "(`tests/standins/fault_proxy.py`). The proxy answers 429, 5xx, 401 and 403 itself;",
        "a connection reset and a stalled answer come from",
        "[toxiproxy](https://github.com/Shopify/toxiproxy) v2.12.0 (`reset_peer` and `timeout`",
        "toxics on the answer's direction, so the request did reach the registry), through",
        "which the proxy sends the one request it picked. The phase's request is: ECR token =",
        "`GetAuthorizationToken`; source resolution = the source manifest GET by tag;",
        "destination token = the tool's `pull,push` token request; destination check, second",
        "check and verification = the 1st, 2nd and 3rd HEAD of the destination tag; blob",
        "upload = crane's `PATCH` of a blob; manifest push = crane's manifest `PUT` by digest;",
        "tagging = the tool's manifest `PUT` by tag.",
        "",
        "The expected exit code is in bold where the run ended otherwise; *s* is the run's",
        "wall time (it must stay within `--timeout` plus 5 s).",
        "",
        "*transient*: only the first such request fails; *persistent*: it and every later",
        f"one fail. Retries: `ECR_TO_DOCKER_RETRIES={RETRIES}`, "
        f"`ECR_TO_DOCKER_RETRY_BACKOFF={BACKOFF}`;",
        f"`--timeout {TIMEOUT}`; {TIMEOUT_OUTLIVING_A_STALL} for a transient stall, which costs "
        "a read",
        "timeout of 60 s (30 s for the ECR API) before the retry, and "
        f"{TIMEOUT_FOR_PERSISTENT_STALLS} for a persistent",
        "stall. 429 bodies are JSON in the service's own format or plain text; 5xx bodies are",
        "plain text; `Retry-After: 1` where named. crane sets no timeout on a single request,",
        "so a stall during the copy holds it until `--timeout` stops it: exit 5 even when",
        'transient. A 401 from a registry that hands out tokens means "fetch a new token"',
        "(once); a 401 from the ECR API, the Basic-auth ECR registry or the token service, and",
        "any 403, is a refusal and ends in 4 at once.",
        "",
        "Columns: *wrote to destination* is read from the registry's storage; *tag ever",
        "other* counts every `PUT` of the tag that reached the registry plus what it holds",
        "at the end; *temp credentials gone*: the run's private TMPDIR is empty afterwards;",
        "*secret leaked*: any secret (the passwords, their Basic-auth forms, the AWS secret",
        "key, every token the token service handed out) in stdout, stderr, the `--report`",
        "file, or the command line of the tool or of crane.",
        "",
        "Reading the table: a failure exit does not always mean nothing was published. When",
        "a stall outlasts the tagging answer or the fault hits the verification, the tag may hold",
        "the source digest although the run ended in 5 or 4; a rerun then needs",
        "`--if-exists skip-identical`, since the default refuses an existing tag with 3.",
        "",
        "| phase | fault | variant | exit (expected) | wrote to destination | tag ever other "
        "than source digest | temp credentials gone | secret leaked | s | message |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    all_as_expected = True
    notes = sorted(set(reason for reason, _ in EXIT_CODE_DEVIATIONS.values()))
    for cell in CELLS:
        outcome = outcomes[cell.id]
        run = outcome.run
        as_expected = run.returncode == cell.expected_exit
        all_as_expected &= as_expected
        exit_text = f"{run.returncode}" + ("" if as_expected else f" (**{cell.expected_exit}**)")
        if cell.id in EXIT_CODE_DEVIATIONS:
            exit_text += f" [{notes.index(EXIT_CODE_DEVIATIONS[cell.id][0]) + 1}]"
        lines.append(
            f"| {cell.phase.name} | {cell.fault.name} | "
            f"{cell.variant} | {exit_text} | "
            f"{outcome.wrote} | {'**yes**' if outcome.tag_was_ever_other else 'no'} | "
            f"{'yes' if not run.temporary_files() else '**no**'} | "
            f"{'**yes**' if outcome.leaked else 'no'} | {run.seconds:.0f} | "
            f"{_short(outcome.message) if run.returncode else ''} |"
        )
    if notes:
        lines += ["", "Known deviations from the rule (marked as expected failures):", ""]
        lines += [f"{number}. {note}." for number, note in enumerate(notes, 1)]
    else:
        lines += ["", "No cell deviates from the rule."]
    overwrote = sum(outcomes[c.id].tag_was_ever_other for c in CELLS)
    leaked = sum(outcomes[c.id].leaked for c in CELLS)
    lines += [
        "",
        f"{len(CELLS)} runs in {seconds:.0f} s: {overwrote} overwrote or changed a digest, "
        f"{leaked} leaked a secret; exit codes "
        + ("all as expected." if all_as_expected else "not all as expected (bold above)."),
    ]
    return "\n".join(lines) + "\n"


def test_an_ecr_token_refused_during_the_copy_is_fetched_again_once_and_the_copy_resumes(
    fault_stack,
):
    # The ECR stand-in cannot expire a token, so the proxy plays the expiry: the first
    # blob download of the copy is answered 401, as ECR answers an expired token.
    name = "ecr-token-expires"
    digest, _, _ = fault_stack.source_pusher().push_image(
        f"src/{name}", TAG, [64 * 1024, 64 * 1024], seed=name
    )
    with fault_stack.routes() as routes:
        routes.ecr.add(Rule("GET", rf"/v2/src/{name}/blobs/sha256:[0-9a-f]+", Answer(401), times=1))
        run = evidence.run_cli(
            [
                "promote",
                routes.source(f"src/{name}", TAG),
                "--destination",
                routes.destination(name, TAG),
            ],
            fault_stack.environment(**routes.environment_overrides()),
        )
        token_calls = [
            exchange for exchange in routes.ecr_api.exchanges if exchange.method == "POST"
        ]

    assert run.returncode == 0, run.stderr[-3000:]
    assert "refused the ECR token during the copy; logging in again" in run.stderr
    assert len(token_calls) == 2  # the first login, and the one after the refusal
    _, final = evidence.destination_state(fault_stack.hub, f"{HUB_NAMESPACE}/{name}", TAG)
    assert final == digest
