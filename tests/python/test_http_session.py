"""The environment's proxy and CA settings are read once per host, and still followed."""

import pytest
import requests
from ecr_to_docker.http_session import _Session

URLS = [
    "http://127.0.0.1:5000/v2/",
    "http://registry.example/v2/",
    "https://registry.example/v2/",
    "https://registry.example:8443/v2/x/manifests/1",
    "https://mirror.internal/v2/",
    "https://auth.example/token?scope=repository:a/b:pull",
]
ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.example:3128"},
    {"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": "127.0.0.1,.internal"},
    {"https_proxy": "http://proxy.example:3128", "no_proxy": "*"},
    {"ALL_PROXY": "socks5://proxy.example:1080", "REQUESTS_CA_BUNDLE": "/etc/agent-ca.pem"},
]


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda e: ",".join(e) or "none")
def test_settings_read_once_per_host_are_those_requests_would_use(monkeypatch, environment):
    for name in list(ENVIRONMENTS[1]) + ["HTTP_PROXY", "NO_PROXY", "ALL_PROXY"]:
        for variant in (name, name.lower()):
            monkeypatch.delenv(variant, raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ours, plain = _Session(), requests.Session()
    for url in URLS * 2:  # the second round comes from the cache
        for stream in (None, True):  # the registry client streams every answer
            expected = plain.merge_environment_settings(url, {}, stream, None, None)
            assert ours.merge_environment_settings(url, {}, stream, None, None) == expected, url


def test_the_cached_settings_cannot_be_changed_by_a_caller(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = _Session()
    first = session.merge_environment_settings("https://r.example/v2/", {}, None, None, None)
    first["proxies"]["https"] = "http://elsewhere:1"
    again = session.merge_environment_settings("https://r.example/v2/", {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.example:3128"
