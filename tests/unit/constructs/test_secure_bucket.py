"""modules/secure_bucket.py on its own: a bucket with no extra statements, with and without TLS-only."""

from __future__ import annotations

import json

import pytest
from constructs import Construct

from modules.secure_bucket import SecureBucket, SecureBucketProps
from tests.unit.constructs.conftest import KMS_KEY_ARN, Resources, checkov_skips, synth


def _plain_buckets(stack: Construct) -> None:
    """No extra statements: one TLS-only, one with nothing in its policy at all (an emulator's)."""
    SecureBucket(stack, "tls-only", SecureBucketProps(name="edge-tls-only", kms_key_arn=KMS_KEY_ARN))
    SecureBucket(stack, "bare", SecureBucketProps(name="edge-bare", deny_insecure_transport=False))


@pytest.fixture(scope="module")
def buckets() -> Resources:
    return synth(_plain_buckets)


def _of(buckets: Resources, resource_type: str, bucket_name: str) -> list[dict]:
    bucket = buckets.one("aws_s3_bucket", bucket=bucket_name)
    reference = f"${{{buckets.address('aws_s3_bucket', bucket)}.id}}"
    return buckets.where(resource_type, bucket=reference)


def test_bucket_without_extra_statements_has_only_the_tls_statement(buckets: Resources) -> None:
    """Every bucket denies plain-HTTP requests (Amazon S3 User Guide, "Bucket policy examples",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html: deny on
    aws:SecureTransport false)."""
    (bucket_policy,) = _of(buckets, "aws_s3_bucket_policy", "edge-tls-only")
    (statement,) = json.loads(bucket_policy["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_with_no_statement_at_all_gets_no_policy(buckets: Resources) -> None:
    """A policy's Statement element is required (IAM User Guide, "IAM JSON policy elements:
    Statement", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html):
    an empty list is no policy, so none is written."""
    assert _of(buckets, "aws_s3_bucket_policy", "edge-bare") == []
    for policy in buckets.of_type("aws_s3_bucket_policy"):
        assert json.loads(policy["policy"])["Statement"]


def test_kms_or_sse_s3_as_asked(buckets: Resources) -> None:
    """Without a KMS key the bucket uses SSE-S3 (AES256), the only encryption ALB log delivery accepts
    (ELB User Guide, "Access logs for your Application Load Balancer",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html)."""
    (kms,) = _of(buckets, "aws_s3_bucket_server_side_encryption_configuration", "edge-tls-only")
    (sse_s3,) = _of(buckets, "aws_s3_bucket_server_side_encryption_configuration", "edge-bare")
    kms_rule, s3_rule = kms["rule"][0], sse_s3["rule"][0]
    assert kms_rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms",
                                                                  "kms_master_key_id": KMS_KEY_ARN}
    assert kms_rule["bucket_key_enabled"] is True
    assert s3_rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    assert s3_rule["bucket_key_enabled"] is False


def test_bucket_without_log_target_is_not_logged_and_says_why(buckets: Resources) -> None:
    assert buckets.of_type("aws_s3_bucket_logging") == []
    assert "CKV_AWS_18" in checkov_skips(buckets.one("aws_s3_bucket", bucket="edge-bare"))


def test_no_current_version_expiration_unless_asked(buckets: Resources) -> None:
    """Only noncurrent versions expire by default; documents themselves are kept."""
    for lifecycle in buckets.of_type("aws_s3_bucket_lifecycle_configuration"):
        (rule,) = lifecycle["rule"]
        assert "expiration" not in rule and rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 90


def test_access_log_target_without_a_policy_is_refused() -> None:
    def build(stack: Construct) -> None:
        target = SecureBucket(stack, "archive", SecureBucketProps(name="edge-archive", deny_insecure_transport=False))
        SecureBucket(stack, "logged", SecureBucketProps(name="edge-logged", access_log_target=target))

    with pytest.raises(ValueError, match="access log target needs a policy"):
        synth(build)
