"""A customer-managed KMS key for one stack's data: S3 documents, RDS, logs, secrets, ECR, SNS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules import lifecycle, policy


@dataclass(frozen=True)
class EncryptionKeyProps:
    alias: str  # without the "alias/" prefix
    account_id: str
    region: str
    partition: str = "aws"
    deletion_window_days: int = 30
    # A key policy of its own (JSON) instead of the default below, for a key with a narrower use.
    key_policy: str | None = None
    # The stack key: CloudWatch Logs of this account and region, and the alarm topic's notifications;
    # keys with a narrower use leave it out.
    logs: bool = True
    # More key policy statements, e.g. for a service role that encrypts with the key.
    statements: tuple[dict[str, Any], ...] = ()
    description: str = "data at rest"
    provider: TerraformProvider | None = None  # another region's provider, for a key there
    prevent_destroy: bool = False


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, id: str, props: EncryptionKeyProps) -> None:
        super().__init__(scope, id)
        account_root = f"arn:{props.partition}:iam::{props.account_id}:root"
        logs_principal = f"logs.{props.region}.amazonaws.com"
        statements = [
            # IAM policies in this account decide who else may use the key (the AWS default).
            policy.statement("AccountAdministration", ["kms:*"], ["*"], principal={"AWS": account_root}),
        ]
        if props.logs:
            # CloudWatch Logs encrypts with the key only for log groups of this account and region.
            statements.append(policy.statement(
                "CloudWatchLogs",
                ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                ["*"],
                principal={"Service": logs_principal},
                condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                       f"arn:{props.partition}:logs:{props.region}:{props.account_id}:log-group:*"}},
            ))
            # CloudWatch alarms publish to the SNS topic encrypted with this key; without this grant
            # SNS refuses the publish and CloudWatch drops every notification. Only for alarms of
            # this account and region (confused deputy).
            statements.append(policy.statement(
                "CloudWatchAlarmsToEncryptedTopic", ["kms:Decrypt", "kms:GenerateDataKey*"], ["*"],
                principal={"Service": "cloudwatch.amazonaws.com"},
                condition={"StringEquals": {"aws:SourceAccount": props.account_id},
                           "ArnLike": {"aws:SourceArn":
                                       f"arn:{props.partition}:cloudwatch:{props.region}:{props.account_id}:alarm:*"}},
            ))
        key_policy = policy.document(*statements, *props.statements)
        self.key = KmsKey(
            self, "key",
            provider=props.provider,
            description=f"{props.alias}: {props.description}",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=props.key_policy or key_policy,
        )
        lifecycle.prevent_destroy(self.key, props.prevent_destroy)
        KmsAlias(self, "alias", name=f"alias/{props.alias}", target_key_id=self.key.key_id, provider=props.provider)
        self.arn = self.key.arn
