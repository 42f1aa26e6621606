"""A CloudWatch Logs group encrypted with the stack key, kept for a configured number of days."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from modules import checkov

# checkov's CKV_AWS_338 asks for a year; shorter retention is a per-environment decision.
YEAR_DAYS = 365


def encrypted_log_group(scope: Construct, id: str, *, name: str, retention_days: int, kms_key_arn: str,
                        what: str, setting: str) -> CloudwatchLogGroup:
    """``what``/``setting`` explain a retention under a year in the checkov skip (e.g. "WAF logs", "service.log_retention_days")."""
    group = CloudwatchLogGroup(scope, id, name=name, retention_in_days=retention_days, kms_key_id=kms_key_arn)
    if retention_days < YEAR_DAYS:
        checkov.skip(group, "CKV_AWS_338", f"{what} kept {retention_days} days by configuration ({setting})")
    return group
