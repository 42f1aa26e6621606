"""AWS Backup for the database and the documents bucket: a vault under its own key, daily and monthly rules.

RDS keeps its own automated backups beside these (point-in-time restore inside
``database.backup_retention_days``, what the restore drill uses); AWS Backup adds snapshots kept
longer, in a vault that a compliance-mode lock makes undeletable. The rules take snapshot backups
only: continuous backup for RDS would take over the instance's automated backups and change its
retention behind Terraform's back.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.backup_plan import (
    BackupPlan,
    BackupPlanRule,
    BackupPlanRuleCopyAction,
    BackupPlanRuleCopyActionLifecycle,
    BackupPlanRuleLifecycle,
)
from cdktf_cdktf_provider_aws.backup_selection import BackupSelection
from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_lock_configuration import BackupVaultLockConfiguration
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from config.model import BackupConfig, restored_bucket_pattern
from config.naming import ResourceNames
from modules import policy
from modules.encryption import EncryptionKey, EncryptionKeyProps

# "Creating Amazon S3 backups" (https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html)
# names the two S3 policies; the other two are AWS Backup's default service role's.
MANAGED_POLICIES = {
    "backup": "service-role/AWSBackupServiceRolePolicyForBackup",
    "restore": "service-role/AWSBackupServiceRolePolicyForRestores",
    "s3-backup": "AWSBackupServiceRolePolicyForS3Backup",
    "s3-restore": "AWSBackupServiceRolePolicyForS3Restore",
}
# What AWS Backup does with a vault's key on the role's behalf ("Encryption for backups in AWS Backup").
VAULT_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


@dataclass(frozen=True)
class BackupProps:
    config: BackupConfig
    name: str
    region: str
    account_id: str
    database_arn: str
    documents_bucket_arn: str
    documents_bucket_name: str
    kms_key_arn: str  # the stack key: documents (and their restored copies) are encrypted with it
    # False only where the emulator lacks CreateBackupSelection (EmulatorConfig.backup_selection).
    selection: bool = True
    # Provider of config.copy_region; required when a copy region is set.
    copy_provider: TerraformProvider | None = None
    partition: str = "aws"


class Backup(Construct):
    """Exposes ``vault_name``."""

    def __init__(self, scope: Construct, id: str, props: BackupProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        role = IamRole(self, "role", name=f"{props.name}-backup",
                       assume_role_policy=policy.assume_role_policy("backup.amazonaws.com", source_account=props.account_id))
        for key, name in MANAGED_POLICIES.items():
            IamRolePolicyAttachment(self, f"policy-{key}", role=role.name,
                                    policy_arn=policy.managed_policy_arn(name, props.partition))

        self.vault = self._vault("vault", f"{props.name}-backup", props.region, props.account_id, role.arn, cfg, None)
        if cfg.lock is not None:
            # changeable_for_days set = compliance mode: after it passes, nobody (root included) can
            # shorten retention, delete a recovery point or remove the lock.
            BackupVaultLockConfiguration(
                self, "lock", backup_vault_name=self.vault.name,
                min_retention_days=cfg.lock.min_retention_days, max_retention_days=cfg.lock.max_retention_days,
                changeable_for_days=cfg.lock.changeable_for_days,
            )

        copy_vault_arn = None
        if cfg.copy_region is not None:
            if props.copy_provider is None:
                raise ValueError("copy_region needs copy_provider: a provider for that region")
            # KMS keys are regional: the copy is encrypted by a key of its own region.
            copy_vault = self._vault("copy-vault", f"{props.name}-backup-copy", cfg.copy_region, props.account_id,
                                     role.arn, cfg, props.copy_provider)
            copy_vault_arn = copy_vault.arn

        rules = {"daily": (cfg.daily_schedule, cfg.daily_retention_days),
                 "monthly": (cfg.monthly_schedule, cfg.monthly_retention_days)}
        self.plan = BackupPlan(self, "plan", name=f"{props.name}-backup", rule=[
            BackupPlanRule(
                rule_name=rule_name, target_vault_name=self.vault.name, schedule=schedule,
                schedule_expression_timezone="Etc/UTC",
                start_window=cfg.start_window_minutes, completion_window=cfg.completion_window_minutes,
                enable_continuous_backup=False,
                lifecycle=BackupPlanRuleLifecycle(delete_after=retention),
                recovery_point_tags={"backup-rule": rule_name},
                copy_action=[BackupPlanRuleCopyAction(
                    destination_vault_arn=copy_vault_arn,
                    lifecycle=BackupPlanRuleCopyActionLifecycle(delete_after=retention))] if copy_vault_arn else None,
            )
            for rule_name, (schedule, retention) in rules.items()
        ])
        if props.selection:
            BackupSelection(self, "selection", name=f"{props.name}-data", plan_id=self.plan.id, iam_role_arn=role.arn,
                            resources=[props.database_arn, props.documents_bucket_arn])

        self._drill_task_role(props)
        self.vault_name = self.vault.name

    def _drill_task_role(self, props: BackupProps) -> None:
        """Task role of the restore drill's Open WebUI task: the restored buckets only, never the live one."""
        restored = f"arn:{props.partition}:s3:::{restored_bucket_pattern(props.documents_bucket_name)}"
        role = IamRole(self, "drill-task-role", name=ResourceNames(props.name).restore_drill_role,
                       description="Restore drill task (tools/restore_drill.py): reads and writes restored copies only",
                       assume_role_policy=policy.assume_role_policy("ecs-tasks.amazonaws.com", source_account=props.account_id))
        IamRolePolicy(self, "drill-task-policy", role=role.id, name="restored-documents", policy=policy.document(
            policy.statement("RestoredBuckets", ["s3:ListBucket"], [restored]),
            policy.statement("RestoredObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [f"{restored}/*"]),
            policy.statement("DocumentsKey", ["kms:Decrypt", "kms:GenerateDataKey"], [props.kms_key_arn]),
        ))

    def _vault(self, id: str, name: str, region: str, account_id: str, role_arn: str, cfg: BackupConfig,
               provider: TerraformProvider | None) -> BackupVault:
        key = EncryptionKey(self, f"{id}-key", EncryptionKeyProps(
            alias=name, account_id=account_id, region=region, logs=False, provider=provider,
            description="AWS Backup recovery points",
            statements=(
                policy.statement("BackupRoleUsesKey", VAULT_KEY_ACTIONS, ["*"], principal={"AWS": role_arn}),
                # AWS Backup hands the key to the storage service through grants for AWS resources only.
                policy.statement("BackupRoleGrants", ["kms:CreateGrant"], ["*"], principal={"AWS": role_arn},
                                 condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            ),
        ))
        return BackupVault(self, id, name=name, kms_key_arn=key.arn, force_destroy=cfg.force_destroy, provider=provider)
