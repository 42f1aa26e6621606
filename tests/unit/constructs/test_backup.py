"""modules/backup.py on its own at its plainest: no vault lock, no copy region, no selection."""

from __future__ import annotations

import json

import pytest
from constructs import Construct

from config.model import BackupConfig
from config.naming import ResourceNames
from modules.backup import Backup, BackupProps
from tests.unit.constructs.conftest import ACCOUNT, KMS_KEY_ARN, REGION, Resources, synth


def _props(config: BackupConfig, **extra: object) -> BackupProps:
    return BackupProps(config=config, name="edge", region=REGION, account_id=ACCOUNT,
                       database_arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:edge-postgres",
                       documents_bucket_arn="arn:aws:s3:::edge-documents", documents_bucket_name="edge-documents",
                       kms_key_arn=KMS_KEY_ARN, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def plain() -> Resources:
    return synth(lambda stack: Backup(stack, "backup", _props(BackupConfig(daily_retention_days=7,
                                                                            monthly_retention_days=90),
                                                               selection=False)))


def test_no_lock_no_copy_no_selection(plain: Resources) -> None:
    assert plain.of_type("aws_backup_vault_lock_configuration") == []
    assert plain.of_type("aws_backup_selection") == []
    (vault,) = plain.of_type("aws_backup_vault")
    assert vault["name"] == "edge-backup"
    (backup_plan,) = plain.of_type("aws_backup_plan")
    assert all("copy_action" not in rule for rule in backup_plan["rule"])


def test_rules_keep_points_as_configured_without_continuous_backup(plain: Resources) -> None:
    """AWS Backup Developer Guide, "Creating a backup plan",
    https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-a-backup-plan.html: DeleteAfterDays
    is the retention of each recovery point the rule creates."""
    (backup_plan,) = plain.of_type("aws_backup_plan")
    retention = {rule["rule_name"]: rule["lifecycle"]["delete_after"] for rule in backup_plan["rule"]}
    assert retention == {"daily": 7, "monthly": 90}
    assert all(rule["enable_continuous_backup"] is False for rule in backup_plan["rule"])


def test_vault_key_is_its_own_and_the_drill_role_has_the_shared_name(plain: Resources) -> None:
    (key,) = plain.of_type("aws_kms_key")
    statements = {s["Sid"] for s in json.loads(key["policy"])["Statement"]}
    assert {"BackupRoleUsesKey", "BackupRoleGrants"} <= statements and "CloudWatchLogs" not in statements
    assert plain.one("aws_iam_role", name=ResourceNames("edge").restore_drill_role)


def test_copy_region_without_its_provider_is_refused() -> None:
    def build(stack: Construct) -> None:
        Backup(stack, "backup", _props(BackupConfig(copy_region="eu-central-1")))

    with pytest.raises(ValueError, match="copy_region needs copy_provider"):
        synth(build)
