"""An S3 bucket with the settings every bucket here needs: private, encrypted, versioned, TLS-only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from constructs import Construct

from modules import checkov, lifecycle, policy


@dataclass(frozen=True)
class SecureBucketProps:
    name: str
    # None means SSE-S3: required for targets of S3 server access logs and ALB access logs.
    kms_key_arn: str | None = None
    force_destroy: bool = False
    # Where S3 server access logs go; None only for the log archive itself.
    access_log_target: SecureBucket | None = None
    access_log_prefix: str = ""
    noncurrent_version_expiration_days: int = 90
    current_version_expiration_days: int | None = None
    # Deny every request not made over TLS (off only where an emulator cannot evaluate it).
    deny_insecure_transport: bool = True
    # Extra bucket-policy statements, built from the bucket ARN.
    policy_statements: Callable[[str], list[dict[str, Any]]] = field(default=lambda arn: [])
    prevent_destroy: bool = False


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, id)
        self.bucket = S3Bucket(self, "bucket", bucket=props.name, force_destroy=props.force_destroy)
        lifecycle.prevent_destroy(self.bucket, props.prevent_destroy)
        self.name = self.bucket.id
        self.arn = self.bucket.arn
        checkov.skip(self.bucket, "CKV_AWS_144", "Cross-region replication is a disaster-recovery decision outside this stack")
        checkov.skip(self.bucket, "CKV2_AWS_62", "Nothing consumes bucket events")

        S3BucketOwnershipControls(self, "ownership", bucket=self.name, rule={"object_ownership": "BucketOwnerEnforced"})
        public_access = S3BucketPublicAccessBlock(
            self, "public-access", bucket=self.name, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        )
        S3BucketVersioningA(self, "versioning", bucket=self.name, versioning_configuration={"status": "Enabled"})
        if props.kms_key_arn:
            sse = {"sse_algorithm": "aws:kms", "kms_master_key_id": props.kms_key_arn}
        else:
            sse = {"sse_algorithm": "AES256"}
        S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=self.name,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=sse, bucket_key_enabled=bool(props.kms_key_arn))],
        )
        if props.access_log_target is not None:
            target = props.access_log_target
            if target.policy is None:
                raise ValueError("an access log target needs a policy admitting the logging service")
            # S3 checks the target's policy admits the logging service when logging is switched on.
            S3BucketLoggingA(self, "logging", bucket=self.name, target_bucket=target.name,
                             target_prefix=props.access_log_prefix, depends_on=[target.policy])
        else:
            checkov.skip(self.bucket, "CKV_AWS_18", "This is the log archive; logging it into itself would loop")

        expiration = ([S3BucketLifecycleConfigurationRuleExpiration(days=props.current_version_expiration_days)]
                      if props.current_version_expiration_days else None)
        S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=self.name,
            rule=[S3BucketLifecycleConfigurationRule(
                id="retention",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                abort_incomplete_multipart_upload=[S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                    days_after_initiation=7)],
                noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=props.noncurrent_version_expiration_days)],
                expiration=expiration,
            )],
        )
        tls_only = [policy.deny_insecure_transport(self.arn)] if props.deny_insecure_transport else []
        statements = tls_only + props.policy_statements(self.arn)
        # A policy needs at least one statement; with none (an emulator bucket with nothing to
        # admit) the bucket has no policy at all.
        self.policy: S3BucketPolicy | None = None
        if statements:
            self.policy = S3BucketPolicy(
                self, "policy", bucket=self.name, policy=policy.document(*statements),
                # A policy put before the public-access block can be refused as "public".
                depends_on=[public_access],
            )
