"""A customer-managed KMS key for one stack's data: S3 documents, RDS, logs, secrets, ECR, SNS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules import policy


@dataclass(frozen=True)
class EncryptionKeyConfig:
    alias: str  # without the "alias/" prefix
    account_id: str
    region: str
    partition: str = "aws"
    deletion_window_days: int = 30
    # A key policy of its own (JSON) instead of the default below, for a key with a narrower use.
    key_policy: Optional[str] = None


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, id: str, config: EncryptionKeyConfig) -> None:
        super().__init__(scope, id)
        account_root = f"arn:{config.partition}:iam::{config.account_id}:root"
        logs_principal = f"logs.{config.region}.amazonaws.com"
        key_policy = policy.document(
            # IAM policies in this account decide who else may use the key (the AWS default).
            policy.statement("AccountAdministration", ["kms:*"], ["*"], principal={"AWS": account_root}),
            # CloudWatch Logs encrypts with the key only for log groups of this account and region.
            policy.statement(
                "CloudWatchLogs",
                ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                ["*"],
                principal={"Service": logs_principal},
                condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                       f"arn:{config.partition}:logs:{config.region}:{config.account_id}:log-group:*"}},
            ),
        )
        self.key = KmsKey(
            self, "key",
            description=f"{config.alias}: data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=config.deletion_window_days,
            policy=config.key_policy or key_policy,
        )
        KmsAlias(self, "alias", name=f"alias/{config.alias}", target_key_id=self.key.key_id)
        self.arn = self.key.arn
