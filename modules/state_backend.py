"""The Terraform state bucket and DynamoDB lock table (created once per account by the bootstrap stack).

State objects are encrypted with a customer-managed KMS key that only S3 may use (README "What
Terraform state may contain"): reading state needs both S3 access to the object and kms:Decrypt
on the key, and the key decrypts nothing that does not come through this region's S3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable, DynamodbTableAttribute
from constructs import Construct

from config.model import StateBackendConfig
from modules import checkov, lifecycle, policy
from modules.encryption import EncryptionKey, EncryptionKeyProps
from modules.secure_bucket import SecureBucket, SecureBucketProps

# Key administration without use: an administrator can manage (and schedule deletion of) the key
# but not decrypt with it through this statement.
KEY_ADMINISTRATION_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*",
    "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:Update*",
)
# What S3 asks of KMS to write and read SSE-KMS objects (with an S3 Bucket Key).
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")


def state_key_alias(bucket: str) -> str:
    """The state key's alias, which every S3 backend names (``kms_key_id``): known before the key exists."""
    # Aliases allow letters, digits, / _ -; bucket names may also contain dots.
    return f"alias/{bucket.replace('.', '-')}"


def state_key_policy(account_id: str, region: str, partition: str = "aws") -> str:
    account_root = {"AWS": f"arn:{partition}:iam::{account_id}:root"}
    return policy.document(
        # The account's IAM policies decide who administers the key; without this statement the
        # key could become unmanageable.
        policy.statement("KeyAdministration", KEY_ADMINISTRATION_ACTIONS, ["*"], principal=account_root),
        # Encryption and decryption only on behalf of S3 in the state's region, for principals of
        # this account that IAM also allows: the key decrypts state objects and nothing else.
        policy.statement("StateObjectsThroughS3", KEY_USE_ACTIONS, ["*"], principal=account_root,
                         condition={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com",
                                                     "kms:CallerAccount": account_id}}),
    )


@dataclass(frozen=True)
class StateBackendProps:
    config: StateBackendConfig
    # State is precious: old versions are kept a year so any past state can be restored.
    noncurrent_version_expiration_days: int = 365
    deny_insecure_transport: bool = True
    # When set, every other principal is denied the bucket (the deploy and break-glass roles).
    admitted_role_arns: tuple[str, ...] = field(default_factory=tuple)


class StateBackend(Construct):
    """Exposes ``bucket_name`` and ``lock_table_name``."""

    def __init__(self, scope: Construct, id: str, props: StateBackendProps) -> None:
        super().__init__(scope, id)
        account_id = DataAwsCallerIdentity(self, "account").account_id
        key = EncryptionKey(self, "key", EncryptionKeyProps(
            alias=state_key_alias(props.config.bucket).removeprefix("alias/"), account_id=account_id,
            region=props.config.region, key_policy=state_key_policy(account_id, props.config.region),
            prevent_destroy=props.config.prevent_destroy,
        ))
        bucket = SecureBucket(self, "bucket", SecureBucketProps(
            name=props.config.bucket,
            kms_key_arn=key.arn,
            force_destroy=props.config.force_destroy,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
            deny_insecure_transport=props.deny_insecure_transport,
            policy_statements=lambda arn: ([policy.deny_all_principals_but(arn, props.admitted_role_arns)]
                                           if props.admitted_role_arns else []),
            prevent_destroy=props.config.prevent_destroy,
        ))
        checkov.skip(bucket.bucket, "CKV_AWS_18", "Terraform state access is audited by CloudTrail data events, not S3 logs")
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
        self.kms_key_arn = key.arn
