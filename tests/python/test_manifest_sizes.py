"""Tables for the two numbers that decide whether crane is handed our destination token:
how many bytes an image's blobs add up to, and how long a token service says its token
lasts. Anything unclear answers "unknown", and then crane gets the password."""

import json

import pytest
from ecr_to_docker.registry import (
    DEFAULT_TOKEN_SECONDS,
    LONGEST_TOKEN_SECONDS,
    _token_lifetime,
    blob_bytes,
)


def _manifest(config=None, layers=(), **more):
    document = {"schemaVersion": 2, **more}
    if config is not None:
        document["config"] = config
    document["layers"] = list(layers)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "manifest, expected",
    [
        (_manifest({"size": 100}, [{"size": 1000}, {"size": 24}]), 1124),
        (_manifest({"size": 7}), 7),
        (json.dumps({"schemaVersion": 2, "manifests": [{"size": 500}]}).encode(), None),
        (_manifest(None, [{"size": 1}]), None),
        (_manifest({"size": "100"}, [{"size": 1}]), None),
        (_manifest({"size": 100}, [{"size": True}]), None),
        (_manifest({"size": 100}, [{"size": 1.5}]), None),
        (_manifest({"size": 100}, [{}]), None),
        (_manifest({"size": 100}, [{"size": -10**12}]), None),
        (_manifest({"size": 100}, ["sha256:abc"]), None),
        (b"[1, 2]", None),
    ],
    ids=[
        "image",
        "config-only",
        "index",
        "no-config",
        "size-as-text",
        "size-as-boolean",
        "size-as-fraction",
        "size-missing",
        "size-negative",
        "layer-not-an-object",
        "not-an-object",
    ],
)
def test_blob_bytes(manifest, expected):
    assert blob_bytes(manifest) == expected


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"expires_in": 300}, 300),
        ({"expires_in": 2.5}, 2.5),
        ({}, DEFAULT_TOKEN_SECONDS),
        ({"expires_in": 0}, DEFAULT_TOKEN_SECONDS),
        ({"expires_in": -5}, DEFAULT_TOKEN_SECONDS),
        ({"expires_in": "300"}, DEFAULT_TOKEN_SECONDS),
        ({"expires_in": True}, DEFAULT_TOKEN_SECONDS),
        ({"expires_in": None}, DEFAULT_TOKEN_SECONDS),
        ({"expires_in": 10**400}, LONGEST_TOKEN_SECONDS),
        ({"expires_in": float("inf")}, LONGEST_TOKEN_SECONDS),
        ({"expires_in": float("nan")}, DEFAULT_TOKEN_SECONDS),
    ],
)
def test_token_lifetime(body, expected):
    assert _token_lifetime(body) == expected
