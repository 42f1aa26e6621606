"""Values AWS changes behind Terraform's back (engine versions), the connection arithmetic at the
deployment surge, and the data-loss guard, in the synthesized JSON.

The real-Terraform proofs (a minor upgrade plans nothing; a replacing change fails the prod-shaped
plan) are in tests/emulator/test_data_loss_guard.py.
"""

from __future__ import annotations

import re

import pytest

from config import capacity, catalog
from config.environments import DEV, PROD, STAGING

APP_STACKS = {"ajuda-prod": PROD, "ajuda-staging": STAGING, "ajuda-dev": DEV}


@pytest.mark.parametrize("stack", ["ajuda-prod", "ajuda-staging", "ajuda-dev", "ajuda-local"])
def test_rds_engine_version_is_the_major_only_with_automatic_minor_upgrades(synthesized, stack):
    """hashicorp/aws 5.100.0 docs, aws_db_instance `engine_version`: "If `auto_minor_version_upgrade` is
    enabled, you can provide a prefix of the version such as `8.0` (for `8.0.36`). The actual engine
    version used is returned in the attribute `engine_version_actual`"
    (https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/db_instance).
    Amazon RDS User Guide, "Automatically upgrading the minor engine version"
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Maintenance.html):
    RDS moves the instance to a new minor version on its own, so a pinned "16.10" would be planned
    back down ("16.11" -> "16.10") after the first such upgrade, and RDS refuses downgrades."""
    db = synthesized.one(stack, "aws_db_instance")
    assert db["auto_minor_version_upgrade"] is True
    assert db["engine_version"] == "16"
    family = synthesized.one(stack, "aws_db_parameter_group")["family"]
    assert family == f"postgres{db['engine_version']}"


@pytest.mark.parametrize("stack", ["ajuda-prod", "ajuda-staging", "ajuda-dev"])
def test_valkey_engine_version_is_major_minor_and_upgraded_only_by_review(synthesized, stack):
    """hashicorp/aws 5.100.0 docs, aws_elasticache_replication_group `engine_version`: "If the version
    is 7 or higher, the major and minor version should be set, e.g., `7.2`"; the provider reads the
    actual version back as <major>.<minor> and treats a lower configured version as a downgrade that
    forces a new resource (internal/service/elasticache/engine_version.go).
    ElastiCache API ModifyReplicationGroup, AutoMinorVersionUpgrade: opting in lets AWS move the group
    to the next minor version in an upgrade campaign
    (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ModifyReplicationGroup.html).
    Both together would replace the cache after AWS's first minor upgrade, so minor upgrades are a
    reviewed change of cache.engine_version instead."""
    group = synthesized.one(stack, "aws_elasticache_replication_group")
    assert group["engine"] == "valkey"
    assert re.fullmatch(r"[7-9]\.\d+", group["engine_version"])
    assert group["auto_minor_version_upgrade"] == "false"


# --- connection arithmetic at the deployment surge ----------------------------------------------

@pytest.mark.parametrize("stack", sorted(APP_STACKS))
def test_role_connection_limit_covers_the_release_peak(synthesized, stack):
    env = APP_STACKS[stack]
    service = synthesized.one(stack, "aws_ecs_service", "service_")
    assert service["deployment_maximum_percent"] == env.service.deployment_maximum_percent == 200
    limit = synthesized.one(f"{stack}-database", "postgresql_role")["connection_limit"]
    per_task = capacity.connections_per_task(env.database)
    # 2 x max_count tasks during the rolling update, plus the migration task.
    assert limit == (2 * env.service.max_count + 1) * per_task
    assert limit <= catalog.rds_connection_budget(env.database.instance_class)


@pytest.mark.parametrize("stack", sorted(APP_STACKS))
def test_connections_alarm_fires_while_a_release_still_fits(synthesized, stack):
    """Amazon CloudWatch metric DatabaseConnections counts client connections; RDS keeps
    superuser_reserved_connections (3) + rds.rds_superuser_reserved_connections (2) from ordinary roles
    (https://aws.amazon.com/premiumsupport/knowledge-center/rds-postgresql-error-connection-slots/)."""
    env = APP_STACKS[stack]
    alarms = {a["alarm_name"]: a for a in synthesized.resources(stack, "aws_cloudwatch_metric_alarm").values()}
    threshold = alarms[f"{stack}-rds-connections"]["threshold"]
    per_task = capacity.connections_per_task(env.database)
    budget = catalog.rds_default_max_connections(env.database.instance_class) - 5
    release_adds = (env.service.max_count + 1) * per_task
    # At the threshold, a release's extra tasks still fit: the alarm comes before exhaustion ...
    assert threshold + release_adds == budget
    # ... and the service at max_count, between releases, stays quiet.
    assert env.service.max_count * per_task < threshold


# --- data-loss guard --------------------------------------------------------------------------

def _prevent_destroy(resource: dict) -> bool:
    return resource.get("lifecycle", {}).get("prevent_destroy") is True


def _documents_bucket(synthesized, stack: str) -> dict:
    return synthesized.one(stack, "aws_s3_bucket", "documents")


def test_prod_data_carries_prevent_destroy(synthesized):
    assert _prevent_destroy(synthesized.one("ajuda-prod", "aws_db_instance"))
    assert _prevent_destroy(_documents_bucket(synthesized, "ajuda-prod"))
    assert _prevent_destroy(synthesized.one("ajuda-prod", "aws_kms_key", "encryption_key"))
    assert not _prevent_destroy(synthesized.one("ajuda-prod", "aws_s3_bucket", "log-archive"))


def test_account_state_backend_carries_prevent_destroy(synthesized):
    assert _prevent_destroy(synthesized.one("bootstrap", "aws_s3_bucket"))
    assert _prevent_destroy(synthesized.one("bootstrap", "aws_dynamodb_table"))
    # The state bucket's own key: without it no state object can be read.
    assert _prevent_destroy(synthesized.one("bootstrap", "aws_kms_key"))


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-local"])
def test_disposable_environments_stay_destroyable(synthesized, stack):
    guarded = [name for resources in synthesized.stack(stack)["resource"].values()
               for name, body in resources.items() if _prevent_destroy(body)]
    assert guarded == []


def test_local_bootstrap_stays_destroyable_for_local_sh_down(synthesized):
    for resource_type in ("aws_s3_bucket", "aws_dynamodb_table"):
        assert not _prevent_destroy(synthesized.one("local-bootstrap", resource_type))
