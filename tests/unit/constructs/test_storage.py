"""modules/storage.py on its own: in a Region with the legacy ELB log-delivery account and in one without."""

from __future__ import annotations

import json

import pytest
from constructs import Construct

from config import catalog
from config.model import StorageConfig
from modules.storage import ALB_LOG_PREFIX, Storage, StorageProps
from tests.unit.constructs.conftest import ACCOUNT, KMS_KEY_ARN, Resources, synth

# Opened in 2023, after ELB began delivering logs as a service principal: no regional ELB account.
NEW_REGION = "ap-southeast-4"
OLD_REGION = "eu-west-1"


def _storage(stack: Construct, id: str, region: str) -> None:
    Storage(stack, id, StorageProps(
        config=StorageConfig(documents_bucket_name=f"edge-{region}", log_archive_retention_days=21), name="edge",
        region=region, account_id=ACCOUNT, kms_key_arn=KMS_KEY_ARN))


@pytest.fixture(scope="module")
def storage() -> Resources:
    def build(stack: Construct) -> None:
        _storage(stack, "old", OLD_REGION)
        _storage(stack, "new", NEW_REGION)
    return synth(build)


def _archive_statements(storage: Resources, region: str) -> dict[str, dict]:
    archive = storage.one("aws_s3_bucket", bucket=f"edge-{region}-logs")
    (bucket_policy,) = storage.where("aws_s3_bucket_policy",
                                     bucket=f"${{{storage.address('aws_s3_bucket', archive)}.id}}")
    return {s["Sid"]: s for s in json.loads(bucket_policy["policy"])["Statement"]}


def test_alb_log_delivery_principal_by_region(storage: Resources) -> None:
    """ELB User Guide, "Enable access logs for your Application Load Balancer" (bucket policy),
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html:
    Regions available before August 2022 deliver as the regional ELB account, later ones as the
    logdelivery.elasticloadbalancing.amazonaws.com service principal."""
    assert NEW_REGION not in catalog.ELB_ACCOUNT_BY_REGION and OLD_REGION in catalog.ELB_ACCOUNT_BY_REGION
    old, new = _archive_statements(storage, OLD_REGION), _archive_statements(storage, NEW_REGION)
    assert old["AlbAccessLogsRegionalAccount"]["Principal"] == {
        "AWS": f"arn:aws:iam::{catalog.ELB_ACCOUNT_BY_REGION[OLD_REGION]}:root"}
    assert "AlbAccessLogsRegionalAccount" not in new
    for statements in (old, new):
        assert statements["AlbAccessLogs"]["Resource"].endswith(f"/{ALB_LOG_PREFIX}/AWSLogs/{ACCOUNT}/*")


def test_log_archive_expires_after_its_own_retention_and_documents_never(storage: Resources) -> None:
    """Amazon S3 User Guide, "Lifecycle configuration elements",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html: Expiration
    Days removes current objects that many days after creation."""
    by_bucket = {c["bucket"]: c["rule"][0] for c in storage.of_type("aws_s3_bucket_lifecycle_configuration")}
    for region in (OLD_REGION, NEW_REGION):
        archive = storage.one("aws_s3_bucket", bucket=f"edge-{region}-logs")
        documents = storage.one("aws_s3_bucket", bucket=f"edge-{region}")
        assert by_bucket[f"${{{storage.address('aws_s3_bucket', archive)}.id}}"]["expiration"] == [{"days": 21}]
        assert "expiration" not in by_bucket[f"${{{storage.address('aws_s3_bucket', documents)}.id}}"]
