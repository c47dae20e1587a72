"""WWW-Authenticate parsing (RFC 7235), on the forms registries actually send."""

import pytest
from ecr_to_docker import challenge


@pytest.mark.parametrize(
    "header, expected",
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:org/app:pull,push"',
            [
                (
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:org/app:pull,push",
                    },
                    None,
                )
            ],
        ),
        (
            'Bearer realm="https://auth.example/token",service="registry"',
            [("bearer", {"realm": "https://auth.example/token", "service": "registry"}, None)],
        ),
        (
            'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",'
            'service="ecr.amazonaws.com"',
            [
                (
                    "basic",
                    {
                        "realm": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
                        "service": "ecr.amazonaws.com",
                    },
                    None,
                )
            ],
        ),
        ("basic realm=simple", [("basic", {"realm": "simple"}, None)]),
        (
            'Basic realm="a, b", Bearer realm="r"',
            [("basic", {"realm": "a, b"}, None), ("bearer", {"realm": "r"}, None)],
        ),
        (
            'Bearer realm="say \\"hi\\"",  error="insufficient_scope"',
            [("bearer", {"realm": 'say "hi"', "error": "insufficient_scope"}, None)],
        ),
        ('Bearer  REALM = "x" , Service = y', [("bearer", {"realm": "x", "service": "y"}, None)]),
        ("Bearer", [("bearer", {}, None)]),
        (
            "Negotiate YIIB==, Basic realm=r",
            [("negotiate", {}, "YIIB=="), ("basic", {"realm": "r"}, None)],
        ),
        ("", []),
    ],
    ids=[
        "docker-hub",
        "no-scope",
        "ecr-basic",
        "unquoted",
        "comma-in-quotes",
        "escaped-quote",
        "spaces-and-case",
        "bare-scheme",
        "token68",
        "empty",
    ],
)
def test_challenges_are_parsed_with_their_parameters(header, expected):
    parsed = [(c.scheme, c.params, c.token68) for c in challenge.parse(header)]

    assert parsed == expected


def test_find_picks_the_scheme_asked_for():
    header = 'Basic realm="b", Bearer realm="t",service="s"'

    assert challenge.find(header, "bearer").params == {"realm": "t", "service": "s"}
    assert challenge.find(header, "digest") is None
    assert challenge.find(None, "basic") is None
