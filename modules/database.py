"""RDS PostgreSQL 16: the application database and the pgvector store, reachable only from the app."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from config import catalog
from config.model import DatabaseConfig
from config.naming import ResourceNames
from modules import checkov, firewall, lifecycle, log_group, policy

POSTGRES_PORT = catalog.POSTGRES_PORT
# Parameters PostgreSQL reads only at start; RDS refuses "immediate" for them.
STATIC_PARAMETERS = {"rds.force_ssl"}
LOG_EXPORTS = ("postgresql", "upgrade")


def memory_parameters(instance_class: str) -> dict[str, str]:
    """pgvector-relevant memory settings (kB) scaled to the instance class.

    maintenance_work_mem: pgvector builds an HNSW index far faster when the graph fits in it
    (pgvector README, "Index build time"); 64 MB per GiB of RAM gives 1 GB on db.r7g.large while
    leaving room for autovacuum workers, which each take the same amount.
    work_mem: every sort/hash node of every connection may take it; 1 MB per GiB (16 MB on
    db.r7g.large) keeps the worst case (max_connections x a few nodes) inside RAM beside
    shared_buffers (25 % by RDS default).
    """
    gib = catalog.RDS_INSTANCE_MEMORY_GIB[instance_class]
    return {"maintenance_work_mem": str(gib * 64 * 1024), "work_mem": str(gib * 1024)}


@dataclass(frozen=True)
class DatabaseProps:
    config: DatabaseConfig
    name: str
    vpc_id: str
    subnet_ids: list[str]
    client_security_group_id: str
    kms_key_arn: str
    account_id: str
    log_retention_days: int = 30
    partition: str = "aws"
    prevent_destroy: bool = False


class Database(Construct):
    """Exposes ``instance``, ``address``, ``port``, ``database_name``, ``master_secret_arn`` and ``identifier``."""

    def __init__(self, scope: Construct, id: str, props: DatabaseProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        group = firewall.private_service_group(self, name=f"{props.name}-database", vpc_id=props.vpc_id, port=POSTGRES_PORT,
                                               service="PostgreSQL", client_group_id=props.client_security_group_id)
        subnets = DbSubnetGroup(self, "subnet-group", name=f"{props.name}-database", subnet_ids=props.subnet_ids,
                                description="Database subnets (no route to the internet)")
        parameters = {
            "rds.force_ssl": "1",
            # Query logging for incident review: statements slower than 1 s, and who connected when.
            "log_min_duration_statement": "1000",
            # Not "ddl": PostgreSQL logs CREATE/ALTER ROLE ... PASSWORD '...' verbatim and cannot
            # redact it, and the log is exported to CloudWatch (RDS User Guide, "Turning on query
            # logging": anything but none needs extra steps against password exposure). The same
            # statement text is echoed under an ERROR when such a statement fails, so
            # log_min_error_statement is raised above ERROR: errors are still logged with their
            # message, user and database, only the failing statement's text is left out. The
            # audit trail of schema and role changes is the database stack's plan/apply history
            # and Alembic's revisions; pgaudit (which redacts role passwords) is the next step.
            "log_statement": "none",
            "log_min_error_statement": "panic",
            "log_connections": "1",
            "log_disconnections": "1",
            **memory_parameters(cfg.instance_class),
        }
        parameter_group = DbParameterGroup(
            self, "parameters", name=f"{props.name}-postgres16", family="postgres16",
            description="Open WebUI on PostgreSQL 16 with pgvector",
            parameter=[DbParameterGroupParameter(name=k, value=v, apply_method="pending-reboot" if k in STATIC_PARAMETERS else "immediate")
                       for k, v in sorted(parameters.items())],
        )
        parameter_group.add_override("lifecycle", {"create_before_destroy": True})

        monitoring_role_arn = None
        if cfg.monitoring_interval_seconds:
            role = IamRole(self, "monitoring-role", name=f"{props.name}-rds-monitoring",
                           assume_role_policy=policy.assume_role_policy("monitoring.rds.amazonaws.com",
                                                                        source_account=props.account_id))
            IamRolePolicyAttachment(self, "monitoring-policy", role=role.name,
                                    policy_arn=f"arn:{props.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")
            monitoring_role_arn = role.arn

        identifier = ResourceNames(props.name).database_identifier
        # RDS creates /aws/rds/instance/<id>/<log> itself when it does not exist: unencrypted and kept
        # forever, outside Terraform. Created here first, with the stack key and a retention.
        export_groups = [log_group.encrypted_log_group(
            self, f"{log_type}-log-group", name=f"/aws/rds/instance/{identifier}/{log_type}",
            retention_days=props.log_retention_days, kms_key_arn=props.kms_key_arn,
            what=f"PostgreSQL {log_type} logs", setting="service.log_retention_days",
        ) for log_type in LOG_EXPORTS]
        # RDS PostgreSQL gp3 under 400 GB has a fixed 3,000 IOPS baseline and rejects an explicit value.
        explicit_iops = cfg.iops if cfg.allocated_storage_gb >= catalog.GP3_PROVISIONED_THRESHOLD_GB else None
        self.instance = DbInstance(
            self, "instance",
            identifier=identifier,
            engine="postgres",
            engine_version=cfg.engine_version,
            instance_class=cfg.instance_class,
            multi_az=cfg.multi_az,
            allocated_storage=cfg.allocated_storage_gb,
            max_allocated_storage=cfg.max_allocated_storage_gb,
            storage_type="gp3",
            iops=explicit_iops,
            storage_encrypted=True,
            kms_key_id=props.kms_key_arn,
            db_name=cfg.database_name,
            username=cfg.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=props.kms_key_arn,
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            publicly_accessible=False,
            port=POSTGRES_PORT,
            parameter_group_name=parameter_group.name,
            backup_retention_period=cfg.backup_retention_days,
            backup_window="17:00-18:00",  # 02:00 in Dili (UTC+9): the quietest hour
            maintenance_window="sun:18:30-sun:19:30",
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            deletion_protection=cfg.deletion_protection,
            skip_final_snapshot=not cfg.final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if cfg.final_snapshot else None,
            performance_insights_enabled=cfg.performance_insights,
            performance_insights_kms_key_id=props.kms_key_arn if cfg.performance_insights else None,
            performance_insights_retention_period=7 if cfg.performance_insights else None,
            monitoring_interval=cfg.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role_arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            depends_on=export_groups,
            apply_immediately=False,
        )
        lifecycle.prevent_destroy(self.instance, props.prevent_destroy)
        if not cfg.multi_az:
            checkov.skip(self.instance, "CKV_AWS_157", "Single-AZ by configuration in this environment to save cost")
        if not cfg.deletion_protection:
            checkov.skip(self.instance, "CKV_AWS_293", "Deletion protection off by configuration: disposable environment")
        if not cfg.monitoring_interval_seconds:
            checkov.skip(self.instance, "CKV_AWS_118", "Enhanced monitoring off by configuration in this environment")
        if not cfg.performance_insights:
            checkov.skip(self.instance, "CKV_AWS_353", "Performance Insights off by configuration in this environment")

        self.address = self.instance.address
        self.port = str(POSTGRES_PORT)
        self.database_name = cfg.database_name
        self.master_secret_arn = self.instance.master_user_secret.get(0).secret_arn
        self.identifier = identifier
