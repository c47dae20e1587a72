"""Account and region are read from every form of ECR host."""

import pytest
from ecr_to_docker import ecr_host
from ecr_to_docker.errors import InvalidInputError


@pytest.mark.parametrize(
    "host, account, region, fips, dualstack",
    [
        (
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
            "123456789012",
            "eu-central-1",
            False,
            False,
        ),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            "123456789012",
            "us-gov-west-1",
            True,
            False,
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "123456789012",
            "cn-north-1",
            False,
            False,
        ),
        ("123456789012.dkr-ecr.us-east-1.on.aws", "123456789012", "us-east-1", False, True),
        ("123456789012.dkr-ecr-fips.us-east-2.on.aws", "123456789012", "us-east-2", True, True),
        (
            "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
            "123456789012",
            "cn-northwest-1",
            False,
            True,
        ),
        (
            "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
            "123456789012",
            "us-iso-east-1",
            False,
            False,
        ),
        (
            "123456789012.dkr.ecr.ap-southeast-4.amazonaws.com",
            "123456789012",
            "ap-southeast-4",
            False,
            False,
        ),
        ("123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM", "123456789012", "eu-west-1", False, False),
    ],
    ids=[
        "standard",
        "fips",
        "china",
        "dualstack",
        "dualstack-fips",
        "dualstack-china",
        "iso",
        "new-region",
        "uppercase",
    ],
)
def test_ecr_hosts_give_account_and_region(host, account, region, fips, dualstack):
    parsed = ecr_host.parse_host(host)

    assert parsed == ecr_host.EcrRegistry(account, region, fips, dualstack)


@pytest.mark.parametrize("host", ["docker.io", "127.0.0.1:5000", "ghcr.io", "public.ecr.aws"])
def test_other_hosts_are_not_ecr_hosts(host):
    assert ecr_host.parse_host(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "12345678901.dkr.ecr.eu-central-1.amazonaws.com",
        "1234567890123.dkr.ecr.eu-central-1.amazonaws.com",
        "123456789012.dkr.ecr.central.amazonaws.com",
        "123456789012.dkr.ecr.eu-central-1.example.com",
        "123456789012.dkr-ecr.eu-central-1.amazonaws.com",
    ],
    ids=["short-account", "long-account", "bad-region", "foreign-suffix", "mixed-forms"],
)
def test_a_nearly_ecr_host_is_an_error_not_a_foreign_registry(host):
    with pytest.raises(InvalidInputError):
        ecr_host.parse_host(host)


def test_explicit_account_and_region_override_the_host():
    resolved = ecr_host.resolve(
        "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
        registry_id="210987654321",
        region="us-west-2",
    )

    assert (resolved.account, resolved.region) == ("210987654321", "us-west-2")


def test_a_non_ecr_host_needs_both_overrides():
    with pytest.raises(InvalidInputError, match="--ecr-registry-id and --aws-region"):
        ecr_host.resolve("127.0.0.1:5000", registry_id="123456789012")

    assert ecr_host.resolve("127.0.0.1:5000", "123456789012", "eu-west-3").region == "eu-west-3"


@pytest.mark.parametrize("registry_id, region", [("12345", None), (None, "Europe"), ("abc", "x")])
def test_malformed_overrides_are_refused(registry_id, region):
    with pytest.raises(InvalidInputError):
        ecr_host.resolve("123456789012.dkr.ecr.eu-central-1.amazonaws.com", registry_id, region)
