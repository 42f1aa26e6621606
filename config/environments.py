"""The environments, as data. Everything that differs between dev, staging and prod is here.

``prod`` reproduces the production deployment this project was built from (us-east-1; ALB in front of
two 1 vCPU / 2 GB Fargate tasks on port 8080; RDS PostgreSQL 16 with pgvector; S3; Google sign-in:
README "What it builds" lists every piece);
``dev`` and ``staging`` are the same shape, smaller. ``local`` is ``prod`` pointed at the local AWS
emulator; the few resources the emulator cannot create are switched off in ``EmulatorConfig``.
Values marked OPERATOR are account-specific: set them before the first real deployment.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TypedDict

from config.model import (
    AuthConfig,
    BackupConfig,
    CacheConfig,
    DatabaseConfig,
    DeployAccessConfig,
    DomainConfig,
    EmulatorConfig,
    EnvironmentConfig,
    NetworkConfig,
    OperationsConfig,
    ServiceConfig,
    StateBackendConfig,
    StorageConfig,
    VaultLockConfig,
)

EMULATOR_ENDPOINT_VARIABLE = "AJUDA_EMULATOR_ENDPOINT"
DEFAULT_EMULATOR_ENDPOINT = "http://127.0.0.1:5000"

# OPERATOR: one state bucket and lock table per AWS account, created by the `bootstrap` stack.
# OPERATOR: the GitHub repository whose workflow deploys (README: CI roles).
# prevent_destroy: the bucket holds prod's state (dev and staging share it), so it is guarded for all three.
_ACCOUNT_STATE = StateBackendConfig(bucket="ajuda-digital-terraform-state", lock_table="ajuda-digital-terraform-locks",
                                    access=DeployAccessConfig(github_repository="ajuda-digital/infrastructure"),
                                    prevent_destroy=True)
# OPERATOR: the Google OAuth client (Google Cloud Console -> APIs & Services -> Credentials).
_GOOGLE_CLIENT_ID = "000000000000-ajudadigitaloauthclient.apps.googleusercontent.com"
# OPERATOR: the operator's own account, the site's first admin (password: <stack>/webui-admin-password
# in Secrets Manager), and the Google domains whose accounts may sign in.
_ADMIN_EMAIL = "admin@ajudadigital.tl"
_GOOGLE_DOMAINS = ("ajudadigital.tl",)

# The release each environment runs. A release is a pull request that changes one of these lines;
# its plan shows the new task definition and `scripts/release.sh <env>` (CI's apply job) rolls it
# out. Add the digest (`docker buildx imagetools inspect` or ECR's imageDigest) to pin the exact
# image: ("v0.13.0", "sha256:..."). README: Releasing.
RELEASES: dict[str, tuple[str, str | None]] = {
    "dev": ("v0.12.4", None),
    "staging": ("v0.12.4", None),
    "prod": ("v0.12.4", None),
}


class _Release(TypedDict):
    image_tag: str
    image_digest: str | None


def _release(env_name: str) -> _Release:
    tag, digest = RELEASES[env_name]
    return {"image_tag": tag, "image_digest": digest}


def _small_service(env_name: str, log_retention_days: int) -> ServiceConfig:
    """One Spot task; names suffixed so the environment can share an account with prod."""
    return ServiceConfig(
        cluster_name=f"open-webui-cluster-{env_name}", service_name=f"open-webui-service-{env_name}",
        log_group_name=f"/ecs/open-webui-{env_name}", image_repository_name=f"ajuda-digital-{env_name}",
        desired_count=1, min_count=1, max_count=2, use_fargate_spot=True, log_retention_days=log_retention_days,
        **_release(env_name),
    )


def _network(second_octet: int, nat_gateway_per_az: bool) -> NetworkConfig:
    base = f"10.{second_octet}"
    return NetworkConfig(
        vpc_cidr=f"{base}.0.0/16",
        public_subnet_cidrs=(f"{base}.0.0/24", f"{base}.1.0/24"),
        app_subnet_cidrs=(f"{base}.10.0/23", f"{base}.12.0/23"),
        database_subnet_cidrs=(f"{base}.20.0/24", f"{base}.21.0/24"),
        nat_gateway_per_az=nat_gateway_per_az,
    )


PROD = EnvironmentConfig(
    name="prod",
    region="us-east-1",
    network=_network(10, nat_gateway_per_az=True),
    service=ServiceConfig(desired_count=2, min_count=2, max_count=6, log_retention_days=365, **_release("prod")),
    database=DatabaseConfig(instance_class="db.r7g.large", multi_az=True, allocated_storage_gb=200, iops=3000),
    storage=StorageConfig(documents_bucket_name="openwebui-ajudadigital", log_archive_retention_days=365),
    cache=CacheConfig(node_type="cache.t4g.small", num_cache_clusters=2),
    auth=AuthConfig(google_oauth=True, google_client_id=_GOOGLE_CLIENT_ID, admin_email=_ADMIN_EMAIL,
                    oauth_allowed_domains=_GOOGLE_DOMAINS),
    # OPERATOR: the public name and its Route 53 hosted zone.
    domain=DomainConfig(name="chat.ajudadigital.tl", hosted_zone_id="Z0AJUDADIGITALPROD"),
    state=_ACCOUNT_STATE,
    operations=OperationsConfig(alarm_email="ops@ajudadigital.tl", prevent_destroy=True, waf_log_retention_days=365),
    # Daily points for 35 days, monthly for a year, in a vault nobody can empty (compliance lock).
    backup=BackupConfig(daily_retention_days=35, monthly_retention_days=365,
                        lock=VaultLockConfig(min_retention_days=7, max_retention_days=400, changeable_for_days=3)),
    state_key_name="prod",
)

_SMALL_DATABASE = DatabaseConfig(
    instance_class="db.t4g.medium",
    multi_az=False,
    allocated_storage_gb=50,
    max_allocated_storage_gb=100,
    backup_retention_days=3,
    deletion_protection=False,
    final_snapshot=False,
    performance_insights=False,
    monitoring_interval_seconds=0,
    pool_size=5,
    pool_max_overflow=5,
)

STAGING = replace(
    PROD,
    name="staging",
    network=_network(20, nat_gateway_per_az=False),
    service=_small_service("staging", log_retention_days=30),
    database=_SMALL_DATABASE,
    storage=StorageConfig(documents_bucket_name="openwebui-ajudadigital-staging", force_destroy=True,
                          log_archive_retention_days=30),
    cache=CacheConfig(node_type="cache.t4g.micro", num_cache_clusters=1),
    domain=DomainConfig(name="staging.chat.ajudadigital.tl", hosted_zone_id="Z0AJUDADIGITALPROD"),
    operations=OperationsConfig(alarm_email="ops@ajudadigital.tl", waf=True, deletion_protection=False,
                                waf_log_retention_days=30),
    backup=BackupConfig(daily_retention_days=7, monthly_retention_days=90, force_destroy=True),
    state_key_name="staging",
)

DEV = replace(
    STAGING,
    name="dev",
    network=_network(30, nat_gateway_per_az=False),
    service=_small_service("dev", log_retention_days=14),
    storage=StorageConfig(documents_bucket_name="openwebui-ajudadigital-dev", force_destroy=True,
                          log_archive_retention_days=14),
    domain=DomainConfig(name="dev.chat.ajudadigital.tl", hosted_zone_id="Z0AJUDADIGITALPROD"),
    operations=OperationsConfig(alarm_email=None, waf=False, deletion_protection=False, waf_log_retention_days=14),
    state_key_name="dev",
)


def _local() -> EnvironmentConfig:
    """``prod``'s shape against the emulator: the same resources, minus the listed exceptions."""
    endpoint = os.environ.get(EMULATOR_ENDPOINT_VARIABLE, DEFAULT_EMULATOR_ENDPOINT)
    return replace(
        PROD,
        name="local",
        database=replace(PROD.database, deletion_protection=False, final_snapshot=False),
        storage=replace(PROD.storage, documents_bucket_name="openwebui-ajudadigital-local", force_destroy=True),
        # Google cannot call back into an emulator, and there is no DNS to validate a certificate.
        auth=AuthConfig(google_oauth=False, email_signup=True, admin_email=_ADMIN_EMAIL),
        state=StateBackendConfig(bucket="ajuda-digital-local-state", lock_table="ajuda-digital-local-locks",
                                 force_destroy=True, access=_ACCOUNT_STATE.access),
        # `scripts/local.sh down` must be able to destroy everything.
        operations=replace(PROD.operations, deletion_protection=False, prevent_destroy=False),
        emulator=EmulatorConfig(endpoint=endpoint),
        database_stack=False,
        state_key_name="local",
    )


def all_environments() -> dict[str, EnvironmentConfig]:
    return {env.name: env for env in (DEV, STAGING, PROD, _local())}
