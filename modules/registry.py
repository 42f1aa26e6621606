"""ECR repository for the ajuda-digital image: immutable tags, scanned on push, old images expired."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import EcrRepository, EcrRepositoryEncryptionConfiguration
from constructs import Construct


@dataclass(frozen=True)
class RegistryProps:
    repository_name: str
    kms_key_arn: str
    # Release tags kept for rollback; untagged layers go after a week.
    keep_tagged_images: int = 30
    untagged_expiry_days: int = 7
    force_delete: bool = False


class Registry(Construct):
    """Exposes ``repository_url`` and ``repository_arn``."""

    def __init__(self, scope: Construct, id: str, props: RegistryProps) -> None:
        super().__init__(scope, id)
        repository = EcrRepository(
            self, "repository", name=props.repository_name, image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configuration=[EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=props.kms_key_arn)],
            force_delete=props.force_delete,
        )
        rules = [
            {"rulePriority": 1, "description": f"Expire untagged images after {props.untagged_expiry_days} days",
             "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                           "countNumber": props.untagged_expiry_days},
             "action": {"type": "expire"}},
            {"rulePriority": 2, "description": f"Keep the newest {props.keep_tagged_images} images",
             "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": props.keep_tagged_images},
             "action": {"type": "expire"}},
        ]
        EcrLifecyclePolicy(self, "lifecycle", repository=repository.name, policy=json.dumps({"rules": rules}))
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
