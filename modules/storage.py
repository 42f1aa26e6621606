"""Buckets: the documents bucket Open WebUI stores files in, and the log archive beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from config import catalog
from config.model import StorageConfig
from modules import checkov, policy
from modules.secure_bucket import SecureBucket, SecureBucketProps

ALB_LOG_PREFIX = "alb"
S3_ACCESS_LOG_PREFIX = "s3-access"


@dataclass(frozen=True)
class StorageProps:
    config: StorageConfig
    name: str
    region: str
    account_id: str
    kms_key_arn: str
    deny_insecure_transport: bool = True
    partition: str = "aws"
    # Guard the documents bucket (the log archive is disposable).
    prevent_destroy: bool = False


class Storage(Construct):
    """Exposes ``documents`` and ``log_archive`` (each a SecureBucket with ``name`` and ``arn``)."""

    def __init__(self, scope: Construct, id: str, props: StorageProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        access_log_prefix = f"{S3_ACCESS_LOG_PREFIX}/{cfg.documents_bucket_name}/"
        self.log_archive = SecureBucket(self, "log-archive", SecureBucketProps(
            name=f"{cfg.documents_bucket_name}-logs",
            force_destroy=cfg.force_destroy,
            deny_insecure_transport=props.deny_insecure_transport,
            current_version_expiration_days=cfg.log_archive_retention_days,
            noncurrent_version_expiration_days=30,
            policy_statements=lambda arn: _log_delivery_statements(arn, props.region, props.account_id, access_log_prefix,
                                                                        props.partition),
        ))
        checkov.skip(self.log_archive.bucket, "CKV_AWS_145",
                     "ALB access logs are delivered only to buckets encrypted with SSE-S3, not SSE-KMS")
        self.documents = SecureBucket(self, "documents", SecureBucketProps(
            name=cfg.documents_bucket_name,
            kms_key_arn=props.kms_key_arn,
            force_destroy=cfg.force_destroy,
            deny_insecure_transport=props.deny_insecure_transport,
            access_log_target=self.log_archive,
            access_log_prefix=access_log_prefix,
            noncurrent_version_expiration_days=cfg.noncurrent_version_expiration_days,
            prevent_destroy=props.prevent_destroy,
        ))


def _log_delivery_statements(bucket_arn: str, region: str, account_id: str, access_log_prefix: str,
                             partition: str) -> list[dict[str, Any]]:
    """Who may write into the log archive: S3 server access logging and the ALB, for this account only."""
    alb_objects = f"{bucket_arn}/{ALB_LOG_PREFIX}/AWSLogs/{account_id}/*"
    statements = [
        policy.statement("S3ServerAccessLogs", ["s3:PutObject"], [f"{bucket_arn}/{access_log_prefix}*"],
                         principal={"Service": "logging.s3.amazonaws.com"},
                         condition={"StringEquals": {"aws:SourceAccount": account_id}}),
        policy.statement("AlbAccessLogs", ["s3:PutObject"], [alb_objects],
                         principal={"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    ]
    legacy_account = catalog.ELB_ACCOUNT_BY_REGION.get(region)
    if legacy_account:
        # Regions older than August 2022 deliver ALB logs as the regional ELB account, not a service principal.
        statements.append(policy.statement("AlbAccessLogsRegionalAccount", ["s3:PutObject"], [alb_objects],
                                           principal={"AWS": f"arn:{partition}:iam::{legacy_account}:root"}))
    return statements
