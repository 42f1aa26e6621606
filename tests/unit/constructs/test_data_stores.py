"""modules/database.py and modules/cache.py on their own, at their smallest: one zone, no extras."""

from __future__ import annotations

import pytest
from constructs import Construct

from config.model import CacheConfig, DatabaseConfig
from config.naming import ResourceNames
from modules.cache import Cache, CacheProps
from modules.database import Database, DatabaseProps
from tests.unit.constructs.conftest import (
    ACCOUNT,
    CLIENT_GROUP,
    KMS_KEY_ARN,
    SUBNETS,
    VPC_ID,
    Resources,
    checkov_skips,
    synth,
)

SMALL = DatabaseConfig(instance_class="db.t4g.medium", multi_az=False, allocated_storage_gb=50, max_allocated_storage_gb=100,
                       deletion_protection=False, final_snapshot=False, performance_insights=False,
                       monitoring_interval_seconds=0)
LARGE = DatabaseConfig(allocated_storage_gb=400, max_allocated_storage_gb=1000, iops=12000)


def _database(stack: Construct, id: str, name: str, config: DatabaseConfig) -> None:
    Database(stack, id, DatabaseProps(config=config, name=name, vpc_id=VPC_ID, subnet_ids=SUBNETS,
                                      client_security_group_id=CLIENT_GROUP, kms_key_arn=KMS_KEY_ARN,
                                      account_id=ACCOUNT, log_retention_days=14))


@pytest.fixture(scope="module")
def stores() -> Resources:
    def build(stack: Construct) -> None:
        _database(stack, "small", "small", SMALL)
        _database(stack, "large", "large", LARGE)
        Cache(stack, "cache", CacheProps(config=CacheConfig(node_type="cache.t4g.micro", num_cache_clusters=1),
                                         name="small", vpc_id=VPC_ID, subnet_ids=SUBNETS,
                                         client_security_group_id=CLIENT_GROUP, kms_key_arn=KMS_KEY_ARN))
    return synth(build)


def test_instance_identifier_is_the_one_the_database_stack_looks_up(stores: Resources) -> None:
    small = stores.one("aws_db_instance", identifier=ResourceNames("small").database_identifier)
    assert small["port"] == 5432 and small["publicly_accessible"] is False


def test_gp3_under_400_gb_takes_no_iops_and_from_400_gb_does(stores: Resources) -> None:
    """Amazon RDS User Guide, "Amazon RDS DB instance storage" (gp3),
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html: below 400 GiB an RDS
    for PostgreSQL gp3 volume has a fixed 3,000 IOPS baseline and provisioned IOPS are not accepted."""
    small = stores.one("aws_db_instance", identifier="small-postgres")
    large = stores.one("aws_db_instance", identifier="large-postgres")
    assert "iops" not in small and large["iops"] == 12000


def test_single_zone_database_without_extras_says_why_in_its_skips(stores: Resources) -> None:
    """No monitoring interval, no monitoring role (Amazon RDS User Guide, "Setting up and enabling
    Enhanced Monitoring", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html:
    the role is needed only when Enhanced Monitoring is on)."""
    small = stores.one("aws_db_instance", identifier="small-postgres")
    assert small["multi_az"] is False and small["monitoring_interval"] == 0 and "monitoring_role_arn" not in small
    assert {"CKV_AWS_157", "CKV_AWS_293", "CKV_AWS_118", "CKV_AWS_353"} <= checkov_skips(small)
    large = stores.one("aws_db_instance", identifier="large-postgres")
    assert large["monitoring_role_arn"].startswith("${aws_iam_role.")
    assert not {"CKV_AWS_157", "CKV_AWS_293", "CKV_AWS_118", "CKV_AWS_353"} & checkov_skips(large)
    assert len(stores.of_type("aws_iam_role")) == 1


def test_log_exports_go_to_groups_created_first_with_the_given_retention(stores: Resources) -> None:
    """Amazon RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.html#USER_LogAccess.Concepts.PostgreSQL.PublishtoCloudWatchLogs:
    RDS writes to /aws/rds/instance/<identifier>/<log type>."""
    small = stores.one("aws_db_instance", identifier="small-postgres")
    for log_type in small["enabled_cloudwatch_logs_exports"]:
        group = stores.one("aws_cloudwatch_log_group", name=f"/aws/rds/instance/small-postgres/{log_type}")
        assert group["retention_in_days"] == 14 and group["kms_key_id"] == KMS_KEY_ARN
        assert f"{stores.address('aws_cloudwatch_log_group', group)}" in small["depends_on"]


def test_single_node_cache_has_no_failover_and_says_why(stores: Resources) -> None:
    """Amazon ElastiCache API Reference, "CreateReplicationGroup",
    https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html:
    AutomaticFailoverEnabled needs at least one read replica (NumCacheClusters of 2 or more)."""
    (group,) = stores.of_type("aws_elasticache_replication_group")
    assert group["num_cache_clusters"] == 1
    assert group["automatic_failover_enabled"] is False and group["multi_az_enabled"] is False
    assert group["transit_encryption_enabled"] is True and group["port"] == 6379
    assert "CKV2_AWS_50" in checkov_skips(group)


def test_data_stores_admit_only_the_client_group_on_their_own_port(stores: Resources) -> None:
    ingress = [r for r in stores.of_type("aws_vpc_security_group_ingress_rule")]
    assert sorted(r["from_port"] for r in ingress) == [5432, 5432, 6379]
    assert all(r["referenced_security_group_id"] == CLIENT_GROUP and "cidr_ipv4" not in r for r in ingress)
    assert all(r["from_port"] == r["to_port"] for r in ingress)
