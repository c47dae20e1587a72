"""Which AWS account and region an ECR registry host belongs to.

Every public host form is recognised: standard and FIPS endpoints, dual-stack (IPv6)
endpoints, the China partition and the isolated partitions.
"""

import re
from dataclasses import dataclass
from typing import Optional

from ecr_to_docker.errors import InvalidInputError
from ecr_to_docker.reference import DOCKER_HUB

_ECR_HOST = re.compile(
    r"(?P<account>[0-9]{12})\.dkr(?P<dualstack_sep>[.-])ecr(?P<fips>-fips)?\."
    r"(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]+)\."
    r"(?P<suffix>amazonaws\.com|amazonaws\.com\.cn|on\.aws|on\.amazonwebservices\.com\.cn"
    r"|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)"
)
_DUALSTACK_SUFFIXES = {"on.aws", "on.amazonwebservices.com.cn"}
_LOOKS_LIKE_ECR = re.compile(r"\.dkr[.-]ecr")
_ACCOUNT = re.compile(r"[0-9]{12}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")


@dataclass(frozen=True)
class EcrRegistry:
    account: str
    region: str
    fips: bool = False
    dualstack: bool = False


def parse_host(host) -> Optional[EcrRegistry]:
    """The registry a host names, None when it is not an ECR host at all.

    A host that is almost an ECR host (an account of 11 digits, a region that does not
    parse) is an error rather than None, so that a typo is not mistaken for a non-ECR
    registry.
    """
    host = host.lower()
    # The default HTTPS port names the same registry.
    if host.endswith(":443"):
        host = host[: -len(":443")]
    match = _ECR_HOST.fullmatch(host)
    if match:
        dualstack = match["suffix"] in _DUALSTACK_SUFFIXES
        # Dual-stack hosts use "dkr-ecr", the others "dkr.ecr".
        if (match["dualstack_sep"] == "-") != dualstack:
            raise InvalidInputError(f"{host!r} mixes the dual-stack and standard ECR host forms")
        return EcrRegistry(
            account=match["account"],
            region=match["region"],
            fips=bool(match["fips"]),
            dualstack=dualstack,
        )
    if _LOOKS_LIKE_ECR.search(host.lower()):
        raise InvalidInputError(
            f"{host!r} looks like an ECR host but its account or region does not parse: "
            "expected <12-digit account>.dkr.ecr.<region>.amazonaws.com"
        )
    return None


def resolve(
    host,
    registry_id=None,
    region=None,
    registry_id_named="--ecr-registry-id",
    region_named="--aws-region",
) -> EcrRegistry:
    """Account and region for the source host; the explicit values win when given.
    `*_named`: how the user gave them (a flag or its variable), for the messages."""
    if registry_id is not None and not _ACCOUNT.fullmatch(registry_id):
        raise InvalidInputError(
            f"{registry_id_named} {registry_id!r} is not a 12-digit AWS account"
        )
    if region is not None and not _REGION.fullmatch(region):
        raise InvalidInputError(
            f"{region_named} {region!r} is not an AWS region such as eu-central-1"
        )

    parsed = parse_host(host)
    if parsed is None:
        # References name Docker Hub as docker.io whatever alias they were written with.
        if host == DOCKER_HUB:
            raise InvalidInputError(
                f"the SOURCE is a Docker Hub image ({host}); give the ECR image to promote "
                "(did you swap the source and the destination?)"
            )
        if not (registry_id and region):
            raise InvalidInputError(
                f"{host!r} is not an ECR registry host, so the account and region cannot be "
                "read from it: give --ecr-registry-id and --aws-region (or "
                "ECR_TO_DOCKER_ECR_REGISTRY_ID and ECR_TO_DOCKER_AWS_REGION)"
            )
        return EcrRegistry(account=registry_id, region=region)
    return EcrRegistry(
        account=registry_id or parsed.account,
        region=region or parsed.region,
        fips=parsed.fips,
        dualstack=parsed.dualstack,
    )
