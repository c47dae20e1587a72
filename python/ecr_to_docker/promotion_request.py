"""What one image's promotion is asked to do, checked and complete: built from the
arguments before any network call, and light to import for that reason."""

from dataclasses import dataclass
from typing import FrozenSet, Optional

from ecr_to_docker.credentials import Credentials
from ecr_to_docker.deadline import Deadline
from ecr_to_docker.ecr_host import EcrRegistry
from ecr_to_docker.ecr_login import LoginCache
from ecr_to_docker.reference import ImageReference


@dataclass(frozen=True)
class PromotionRequest:
    source: ImageReference
    destination: ImageReference  # always with a tag
    ecr: EcrRegistry
    destination_credentials: Optional[Credentials]
    if_exists: str  # "fail" or "skip-identical"
    dry_run: bool
    insecure_hosts: FrozenSet[str]
    crane: str
    deadline: Deadline
    # Shared by the images of one run, so that each ECR registry is logged in to once.
    ecr_logins: Optional[LoginCache] = None
