"""The Terraform state bucket and DynamoDB lock table (created once per account by the bootstrap stack)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable, DynamodbTableAttribute
from constructs import Construct

from config.model import StateBackendConfig
from modules import checkov, lifecycle
from modules.secure_bucket import SecureBucket, SecureBucketConfig


@dataclass(frozen=True)
class StateBackendProps:
    config: StateBackendConfig
    # State is precious: old versions are kept a year so any past state can be restored.
    noncurrent_version_expiration_days: int = 365
    deny_insecure_transport: bool = True


class StateBackend(Construct):
    """Exposes ``bucket_name`` and ``lock_table_name``."""

    def __init__(self, scope: Construct, id: str, props: StateBackendProps) -> None:
        super().__init__(scope, id)
        bucket = SecureBucket(self, "bucket", SecureBucketConfig(
            name=props.config.bucket,
            force_destroy=props.config.force_destroy,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
            deny_insecure_transport=props.deny_insecure_transport,
            prevent_destroy=props.config.prevent_destroy,
        ))
        checkov.skip(bucket.bucket, "CKV_AWS_18", "Terraform state access is audited by CloudTrail data events, not S3 logs")
        checkov.skip(bucket.bucket, "CKV_AWS_145", "SSE-S3: a KMS key here would be a second bootstrap dependency")
        table = DynamodbTable(
            self, "lock-table", name=props.config.lock_table, billing_mode="PAY_PER_REQUEST", hash_key="LockID",
            attribute=[DynamodbTableAttribute(name="LockID", type="S")],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=False,
        )
        lifecycle.prevent_destroy(table, props.config.prevent_destroy)
        checkov.skip(table, "CKV_AWS_119", "Lock entries are transient; the AWS-owned key is enough")
        self.bucket_name = bucket.name
        self.lock_table_name = table.name
