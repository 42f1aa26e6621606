"""Each kind of log keeps its own retention setting (README "Configuration", log retention)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from cdktf import App

from config.environments import PROD
from config.model import ConfigError, EnvironmentConfig, validate


def _error(env: EnvironmentConfig) -> str:
    with pytest.raises(ConfigError) as caught:
        validate(env)
    return str(caught.value)


def test_waf_log_retention_must_be_a_cloudwatch_value() -> None:
    """CloudWatch Logs API Reference, "PutRetentionPolicy",
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html:
    retentionInDays takes only 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
    1827, 2192, 2557, 2922, 3288 or 3653."""
    for days in (0, 10, 366):
        env = replace(PROD, operations=replace(PROD.operations, waf_log_retention_days=days))
        assert f"prod.operations.waf_log_retention_days: {days} is not a CloudWatch Logs retention value" in _error(env)
    validate(replace(PROD, operations=replace(PROD.operations, waf_log_retention_days=400)))


def test_log_archive_retention_must_be_a_positive_number_of_days() -> None:
    """Amazon S3 API Reference, "LifecycleExpiration",
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html: Days must be a
    non-zero positive integer."""
    env = replace(PROD, storage=replace(PROD.storage, log_archive_retention_days=0))
    assert "prod.storage.log_archive_retention_days: must be at least 1 day" in _error(env)
    env = replace(PROD, storage=replace(PROD.storage, log_archive_retention_days=-1))
    assert "prod.storage.log_archive_retention_days: -1 is out of range" in _error(env)
    # Not restricted to CloudWatch's values: S3 lifecycle takes any day count.
    validate(replace(PROD, storage=replace(PROD.storage, log_archive_retention_days=10)))


@pytest.fixture(scope="module")
def distinct_retentions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """prod's application stack with three different retentions (one extra synthesis, ~5 s)."""
    from stacks.application import ApplicationStack

    env = replace(PROD, service=replace(PROD.service, log_retention_days=30),
                  storage=replace(PROD.storage, log_archive_retention_days=45),
                  operations=replace(PROD.operations, waf_log_retention_days=60))
    validate(env)
    outdir = tmp_path_factory.mktemp("retention")
    app = App(outdir=str(outdir))
    ApplicationStack(app, env.stack_name, env)
    app.synth()
    document: dict[str, Any] = json.loads((outdir / "stacks" / env.stack_name / "cdk.tf.json").read_text())
    return document["resource"]


def test_each_retention_setting_reaches_only_its_own_logs(distinct_retentions: dict[str, Any]) -> None:
    """Task logs (service), the ALB/S3 access-log archive (storage) and WAF logs (operations) each
    follow their own setting."""
    groups = {g["name"]: g["retention_in_days"] for g in distinct_retentions["aws_cloudwatch_log_group"].values()}
    assert groups[PROD.service.log_group_name] == 30
    assert groups["aws-waf-logs-ajuda-prod"] == 60
    archive = next(k for k, b in distinct_retentions["aws_s3_bucket"].items()
                   if b["bucket"] == f"{PROD.storage.documents_bucket_name}-logs")
    (lifecycle,) = [c for c in distinct_retentions["aws_s3_bucket_lifecycle_configuration"].values()
                    if c["bucket"] == f"${{aws_s3_bucket.{archive}.id}}"]
    assert [rule["expiration"][0]["days"] for rule in lifecycle["rule"]] == [45]
