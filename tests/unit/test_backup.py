"""AWS Backup: vault, key, plan, lock, selections and the optional copy to a second region.

Each AWS rule these tests hold the synthesized JSON (or the configuration) to is named with its
document; moto and ``terraform validate`` enforce none of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from config.environments import DEV, PROD, STAGING
from config.model import ConfigError, VaultLockConfig, restored_bucket_pattern, validate

APP_STACKS = ["ajuda-dev", "ajuda-staging", "ajuda-prod", "ajuda-local"]
RETENTION = {"ajuda-dev": (DEV.backup.daily_retention_days, DEV.backup.monthly_retention_days),
             "ajuda-staging": (STAGING.backup.daily_retention_days, STAGING.backup.monthly_retention_days),
             "ajuda-prod": (35, 365), "ajuda-local": (35, 365)}


def _ref(resource_type: str, logical_id: str, attribute: str) -> str:
    return f"${{{resource_type}.{logical_id}.{attribute}}}"


def _logical_id(synthesized, stack: str, resource_type: str, name_contains: str) -> str:
    (logical_id,) = [k for k in synthesized.resources(stack, resource_type) if name_contains in k]
    return logical_id


def _rules(synthesized, stack: str) -> dict[str, dict]:
    return {rule["rule_name"]: rule for rule in synthesized.one(stack, "aws_backup_plan")["rule"]}


def _minutes_of_day(cron: str) -> int:
    minute, hour = re.fullmatch(r"cron\((\d+) (\d+) .*\)", cron).groups()
    return int(hour) * 60 + int(minute)


def _window(window: str) -> tuple[int, int]:
    """'17:00-18:00' or 'sun:18:30-sun:19:30' -> (start, end) in minutes of the day."""
    start, end = (part.split(":")[-2:] for part in window.split("-"))
    return int(start[0]) * 60 + int(start[1]), int(end[0]) * 60 + int(end[1])


@pytest.mark.parametrize("stack", APP_STACKS)
def test_vault_is_encrypted_with_its_own_rotating_customer_managed_key(synthesized, stack):
    """"Encryption for backups in AWS Backup"
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html): recovery points of fully
    managed resources (S3) are encrypted with the vault's key, and the backup role must be allowed to
    use it, including kms:CreateGrant for the AWS service doing the copy."""
    vault = synthesized.one(stack, "aws_backup_vault")
    assert vault["name"] == f"{stack}-backup"
    key_id = _logical_id(synthesized, stack, "aws_kms_key", "backup_vault-key")
    assert vault["kms_key_arn"] == _ref("aws_kms_key", key_id, "arn")
    key = synthesized.resources(stack, "aws_kms_key")[key_id]
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    role = _ref("aws_iam_role", _logical_id(synthesized, stack, "aws_iam_role", "backup_role"), "arn")
    assert statements["BackupRoleUsesKey"]["Principal"] == {"AWS": role}
    assert {"kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"} <= set(statements["BackupRoleUsesKey"]["Action"])
    assert statements["BackupRoleGrants"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # Not the stack's data key: the vault key's policy names no CloudWatch Logs principal.
    assert "CloudWatchLogs" not in statements


@pytest.mark.parametrize("stack", APP_STACKS)
def test_daily_and_monthly_rules_keep_points_as_configured(synthesized, stack):
    """"BackupRule" (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupRule.html):
    StartWindowMinutes "must be at least 60 minutes to avoid errors"; DeleteAfterDays is the retention."""
    rules = _rules(synthesized, stack)
    assert set(rules) == {"daily", "monthly"}
    vault = _ref("aws_backup_vault", _logical_id(synthesized, stack, "aws_backup_vault", "backup_vault"), "name")
    daily, monthly = RETENTION[stack]
    assert rules["daily"]["lifecycle"]["delete_after"] == daily
    assert rules["monthly"]["lifecycle"]["delete_after"] == monthly
    for rule in rules.values():
        assert rule["target_vault_name"] == vault
        assert rule["start_window"] >= 60
        assert rule["completion_window"] > rule["start_window"]
        assert rule["schedule_expression_timezone"] == "Etc/UTC"
        # No cold storage: RDS snapshots cannot move there, and cold points must stay 90 days.
        assert "cold_storage_after" not in rule["lifecycle"]
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", rules["daily"]["schedule"])
    assert re.fullmatch(r"cron\(\d+ \d+ 1 \* \? \*\)", rules["monthly"]["schedule"])


@pytest.mark.parametrize("stack", APP_STACKS)
def test_rds_automated_backups_coexist_with_snapshot_rules(synthesized, stack):
    """"Point-in-time recovery" (https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html):
    continuous backup of RDS takes over the instance's automated backups. The rules take snapshots
    only, so the instance keeps its own automated backups and point-in-time restore (the drill's)."""
    for rule in _rules(synthesized, stack).values():
        assert rule["enable_continuous_backup"] is False
    assert synthesized.one(stack, "aws_db_instance")["backup_retention_period"] >= 1


@pytest.mark.parametrize("stack", APP_STACKS)
def test_backups_start_clear_of_the_database_windows(synthesized, stack):
    """"Backup plan options and configuration"
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/plan-options-and-configuration.html):
    database backups cannot start during, or in the hour before, the maintenance window; RDS also
    cannot snapshot during its own backup window. The whole start window must end an hour before both."""
    instance = synthesized.one(stack, "aws_db_instance")
    for rule in _rules(synthesized, stack).values():
        start = _minutes_of_day(rule["schedule"])
        latest = start + rule["start_window"]
        for window in (instance["backup_window"], instance["maintenance_window"]):
            begin, end = _window(window)
            assert latest + 60 <= begin or start >= end, (rule["rule_name"], window)


def test_prod_vault_is_locked_in_compliance_mode_around_every_rule(synthesized):
    """"AWS Backup Vault Lock" (https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html):
    a lock with ChangeableForDays is compliance mode, at least 3 days (72-hour cooling-off); a
    locked vault fails every job whose retention is outside MinRetentionDays..MaxRetentionDays."""
    lock = synthesized.one("ajuda-prod", "aws_backup_vault_lock_configuration")
    assert lock["backup_vault_name"] == _ref("aws_backup_vault", _logical_id(
        synthesized, "ajuda-prod", "aws_backup_vault", "backup_vault"), "name")
    assert (lock["min_retention_days"], lock["max_retention_days"], lock["changeable_for_days"]) == (7, 400, 3)
    for rule in _rules(synthesized, "ajuda-prod").values():
        assert lock["min_retention_days"] <= rule["lifecycle"]["delete_after"] <= lock["max_retention_days"]
    assert synthesized.one("ajuda-prod", "aws_backup_vault")["force_destroy"] is False


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging"])
def test_disposable_environments_have_no_lock_and_may_be_destroyed(synthesized, stack):
    assert not synthesized.resources(stack, "aws_backup_vault_lock_configuration")
    assert synthesized.one(stack, "aws_backup_vault")["force_destroy"] is True


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-prod"])
def test_selection_backs_up_exactly_the_database_and_the_documents_bucket(synthesized, stack):
    """"Creating Amazon S3 backups" (https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html):
    S3 Versioning must be enabled on the bucket, and the role needs AWSBackupServiceRolePolicyForS3Backup
    and AWSBackupServiceRolePolicyForS3Restore."""
    selection = synthesized.one(stack, "aws_backup_selection")
    db = _logical_id(synthesized, stack, "aws_db_instance", "database")
    bucket = _logical_id(synthesized, stack, "aws_s3_bucket", "documents")
    assert sorted(selection["resources"]) == sorted([_ref("aws_db_instance", db, "arn"), _ref("aws_s3_bucket", bucket, "arn")])
    role_id = _logical_id(synthesized, stack, "aws_iam_role", "backup_role")
    assert selection["iam_role_arn"] == _ref("aws_iam_role", role_id, "arn")
    assert selection["plan_id"] == _ref("aws_backup_plan", _logical_id(synthesized, stack, "aws_backup_plan", "backup"), "id")
    versioning = [v for v in synthesized.resources(stack, "aws_s3_bucket_versioning").values()
                  if v["bucket"] == _ref("aws_s3_bucket", bucket, "id")]
    assert [v["versioning_configuration"]["status"] for v in versioning] == ["Enabled"]
    attached = {a["policy_arn"].rsplit("/", 1)[1] for a in synthesized.resources(stack, "aws_iam_role_policy_attachment").values()
                if a["role"] == _ref("aws_iam_role", role_id, "name")}
    assert attached == {"AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores",
                        "AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore"}


@pytest.mark.parametrize("stack", APP_STACKS)
def test_only_aws_backup_of_this_account_assumes_the_role(synthesized, stack):
    role = synthesized.one(stack, "aws_iam_role", "backup_role")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    assert list(trust["Condition"]["StringEquals"]) == ["aws:SourceAccount"]


def test_emulator_leaves_out_only_the_selection(synthesized):
    """moto 5.2.5 has backup vaults, plans and vault locks but no CreateBackupSelection."""
    assert not synthesized.resources("ajuda-local", "aws_backup_selection")
    for resource_type in ("aws_backup_vault", "aws_backup_plan", "aws_backup_vault_lock_configuration"):
        assert synthesized.resources("ajuda-local", resource_type), resource_type


@pytest.mark.parametrize("stack", APP_STACKS)
def test_no_second_region_by_default(synthesized, stack):
    assert len(synthesized.resources(stack, "aws_backup_vault")) == 1
    assert len(synthesized.stack(stack)["provider"]["aws"]) == 1
    for rule in _rules(synthesized, stack).values():
        assert "copy_action" not in rule


@pytest.fixture(scope="module")
def copied(synthesized):
    """prod with the one setting that turns the copy on (the provider package is already loaded)."""
    from cdktf import Testing

    from stacks.application import ApplicationStack

    env = replace(PROD, backup=replace(PROD.backup, copy_region="ap-southeast-2"))
    return json.loads(Testing.synth(ApplicationStack(Testing.app(), "copy", validate(env))))


def test_copy_region_setting_copies_every_point_to_a_vault_there(copied):
    """"Creating backup copies across AWS Regions"
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html): the copy goes to a
    vault in the destination Region; KMS keys are regional, so the copy has a key of that Region."""
    providers = {p.get("alias"): p for p in copied["provider"]["aws"]}
    assert providers["backup-copy"]["region"] == "ap-southeast-2" and providers[None]["region"] == "us-east-1"
    vaults = copied["resource"]["aws_backup_vault"]
    (copy_id,) = [k for k, v in vaults.items() if v["name"] == "ajuda-prod-backup-copy"]
    copy_vault = vaults[copy_id]
    assert copy_vault["provider"] == "aws.backup-copy"
    key_id = copy_vault["kms_key_arn"].split(".")[1]
    assert copied["resource"]["aws_kms_key"][key_id]["provider"] == "aws.backup-copy"
    for rule in copied["resource"]["aws_backup_plan"][next(iter(copied["resource"]["aws_backup_plan"]))]["rule"]:
        (action,) = rule["copy_action"]
        assert action["destination_vault_arn"] == f"${{aws_backup_vault.{copy_id}.arn}}"
        assert action["lifecycle"]["delete_after"] == rule["lifecycle"]["delete_after"]


# --- configuration ---------------------------------------------------------------------------------

def _lock(**changes) -> VaultLockConfig:
    return replace(PROD.backup.lock, **changes)


@pytest.mark.parametrize("backup_change,setting", [
    # "AWS Backup Vault Lock" (https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html):
    # the 72-hour cooling-off period means ChangeableForDays >= 3.
    (dict(lock=_lock(changeable_for_days=2)), "prod.backup.lock.changeable_for_days"),
    # PutBackupVaultLockConfiguration: "The shortest minimum retention period you can specify is 1 day".
    (dict(lock=_lock(min_retention_days=0)), "prod.backup.lock.min_retention_days"),
    (dict(lock=_lock(max_retention_days=36501)), "prod.backup.lock.max_retention_days"),
    (dict(lock=_lock(min_retention_days=50, max_retention_days=40)), "prod.backup.lock.max_retention_days"),
    # A locked vault fails jobs whose retention is outside the lock's range.
    (dict(daily_retention_days=5), "prod.backup.daily_retention_days"),
    (dict(monthly_retention_days=401), "prod.backup.monthly_retention_days"),
    (dict(force_destroy=True), "prod.backup.force_destroy"),
    # "BackupRule": StartWindowMinutes must be at least 60.
    (dict(start_window_minutes=30), "prod.backup.start_window_minutes"),
    (dict(completion_window_minutes=60), "prod.backup.completion_window_minutes"),
    (dict(daily_schedule="0 13 * * *"), "prod.backup.daily_schedule"),
    (dict(copy_region="us-east-1"), "prod.backup.copy_region"),
    (dict(copy_region="mars-1"), "prod.backup.copy_region"),
])
def test_bad_backup_settings_are_refused_naming_the_setting(backup_change, setting):
    env = replace(PROD, backup=replace(PROD.backup, **backup_change))
    with pytest.raises(ConfigError) as caught:
        validate(env)
    assert f"{setting}:" in str(caught.value)


def test_a_valid_copy_region_and_the_longest_lock_are_accepted():
    validate(replace(PROD, backup=replace(PROD.backup, copy_region="ap-southeast-2",
                                          lock=_lock(max_retention_days=36500, changeable_for_days=3))))


# --- the restore drill's task role ------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-prod"])
def test_drill_task_role_reaches_restored_copies_and_never_the_live_bucket(synthesized, stack):
    from fnmatch import fnmatchcase

    from config.model import restored_bucket_name
    from tools.restore_drill import drill_names

    role = synthesized.one(stack, "aws_iam_role", "drill-task-role")
    assert role["name"] == f"{stack}-restore-drill"
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    statements = {s["Sid"]: s for s in json.loads(synthesized.one(stack, "aws_iam_role_policy", "drill-task-policy")["policy"])["Statement"]}
    bucket_pattern = statements["RestoredBuckets"]["Resource"].removeprefix("arn:aws:s3:::")
    live = synthesized.one(stack, "aws_s3_bucket", "documents")["bucket"]
    _, restored = drill_names(stack, live, datetime(2026, 11, 25, 14, 0, tzinfo=UTC), suffix="beef")
    assert fnmatchcase(restored, bucket_pattern) and not fnmatchcase(live, bucket_pattern)
    assert fnmatchcase(restored_bucket_name("a" * 63, "drill-202611251400-beef"), restored_bucket_pattern("a" * 63))
    assert statements["RestoredObjects"]["Resource"] == statements["RestoredBuckets"]["Resource"] + "/*"
    key = _ref("aws_kms_key", _logical_id(synthesized, stack, "aws_kms_key", "encryption_key"), "arn")
    assert statements["DocumentsKey"]["Resource"] == key
