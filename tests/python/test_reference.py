"""Reference parsing follows the OCI distribution grammar, and refuses the rest clearly."""

import pytest
from ecr_to_docker import reference
from ecr_to_docker.errors import InvalidInputError
from hypothesis import given
from hypothesis import strategies as st

DIGEST = "sha256:" + "0123456789abcdef" * 4
ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"


@pytest.mark.parametrize(
    "text, registry, repository, tag, digest",
    [
        (f"{ECR}/edp/my-app:1.2.3", ECR, "edp/my-app", "1.2.3", None),
        (f"{ECR}/app@{DIGEST}", ECR, "app", None, DIGEST),
        (f"{ECR}/app:1.0@{DIGEST}", ECR, "app", "1.0", DIGEST),
        ("localhost:5000/a/b:latest", "localhost:5000", "a/b", "latest", None),
        ("127.0.0.1:5000/a__b/c-d.e:T_1", "127.0.0.1:5000", "a__b/c-d.e", "T_1", None),
        ("nginx:1", "docker.io", "library/nginx", "1", None),
        ("docker.io/org/app:1", "docker.io", "org/app", "1", None),
        ("index.docker.io/org/app:1", "docker.io", "org/app", "1", None),
        ("registry-1.docker.io/org/app:1", "docker.io", "org/app", "1", None),
        ("a/b---c:" + "x" * 128, "docker.io", "a/b---c", "x" * 128, None),
    ],
    ids=[
        "ecr",
        "ecr-digest",
        "tag-and-digest",
        "localhost",
        "separators",
        "hub-official",
        "hub",
        "hub-index-alias",
        "hub-api-alias",
        "128-char-tag",
    ],
)
def test_valid_references_parse_into_their_parts(text, registry, repository, tag, digest):
    parsed = reference.parse(text)

    assert (parsed.registry, parsed.repository, parsed.tag, parsed.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        (f"{ECR}/App:1", "must be lowercase"),
        (f"{ECR}/app:" + "x" * 129, "not a valid tag"),
        (f"{ECR}/app:.hidden", "not a valid tag"),
        (f"{ECR}/app:-dash", "not a valid tag"),
        (f"{ECR}/app:1;rm", "not a valid tag"),
        (f"{ECR}/app:$(id)", "not a valid tag"),
        (f"{ECR}/app:1\n", "whitespace or control"),
        (f" {ECR}/app:1", "whitespace or control"),
        (f"{ECR}/app", "neither a tag nor a digest"),
        (f"{ECR}/app@sha256:abc", "not a well-formed digest"),
        (f"{ECR}/app@sha256:" + "A" * 64, "not a well-formed digest"),
        (f"{ECR}/app@md5:" + "a" * 32, "not a well-formed digest"),
        (f"{ECR}/app@sha512:" + "a" * 128, "crane copies only by sha256"),
        (f"{ECR}/a..b:1", "is not valid"),
        (f"{ECR}/a/:1", "is not valid"),
        (f"{ECR}//a:1", "is not valid"),
        ("bad_host.com/a:1", "not a valid host"),
        (f"{ECR}/" + "a" * 250 + ":1", "longer than 255"),
    ],
    ids=[
        "empty",
        "uppercase",
        "129-char-tag",
        "tag-dot",
        "tag-dash",
        "tag-shell",
        "tag-subst",
        "newline",
        "leading-space",
        "no-tag",
        "short-digest",
        "uppercase-digest",
        "md5",
        "sha512",
        "double-dot",
        "trailing-slash",
        "double-slash",
        "underscore-host",
        "too-long",
    ],
)
def test_invalid_references_are_refused_with_a_message_that_says_why(text, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        reference.parse(text)


_component = st.from_regex(r"[a-z0-9]{1,5}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,5}){0,2}", fullmatch=True)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}", fullmatch=True)
_digest = st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(lambda hexits: f"sha256:{hexits}")


@given(
    path=st.lists(_component, min_size=1, max_size=3),
    tag=st.one_of(st.none(), _tag),
    digest=st.one_of(st.none(), _digest),
)
def test_every_valid_reference_round_trips(path, tag, digest):
    if tag is None and digest is None:
        tag = "latest"
    text = f"{ECR}/{'/'.join(path)}"
    text += f":{tag}" if tag else ""
    text += f"@{digest}" if digest else ""

    parsed = reference.parse(text)

    assert str(parsed) == text
    assert reference.parse(str(parsed)) == parsed


@given(st.text(min_size=1, max_size=40))
def test_arbitrary_text_either_parses_or_raises_invalid_input(text):
    try:
        parsed = reference.parse(f"{ECR}/app:{text}")
    except InvalidInputError:
        return
    assert parsed.tag == text
    assert all(ch.isascii() and (ch.isalnum() or ch in "_.-") for ch in text)


@pytest.mark.parametrize(
    "first, second, same",
    [
        ("docker.io", "registry-1.docker.io:443", True),
        ("myreg.example:0443", "myreg.example", True),
        ("myreg.example:80", "myreg.example:443", True),
        ("127.0.0.1:05443", "localhost:5443", True),
        ("[::1]:5443", "127.0.0.1:5443", True),
        ("myreg.example:5000", "myreg.example:5001", False),
        ("[2001:db8::1]:443", "[2001:db8::1]", True),
        ("[2001:db8::1]", "[2001:db8::2]", False),
        ("a.example", "b.example", False),
    ],
)
def test_same_registry_key(first, second, same):
    assert (reference.same_registry_key(first) == reference.same_registry_key(second)) == same
