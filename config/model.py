"""Typed model of one deployment environment, and its validation.

Plain Python data only: this module must never import cdktf or ``modules`` so that configuration
loads and validates in milliseconds, before any Terraform file is written. Every error names the
setting it is about (``prod.database.instance_class: ...``).
"""

from __future__ import annotations

import ipaddress
import re
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Union

from config import capacity, catalog, naming
from config.naming import ResourceNames


class ConfigError(ValueError):
    """A configuration value AWS or Terraform would reject, reported before synthesis."""


@dataclass(frozen=True)
class NetworkConfig:
    """VPC over two availability zones with three tiers of subnets."""

    vpc_cidr: str
    public_subnet_cidrs: tuple[str, ...]  # ALB and NAT gateways
    app_subnet_cidrs: tuple[str, ...]  # ECS tasks, Redis
    database_subnet_cidrs: tuple[str, ...]  # RDS only
    availability_zone_suffixes: tuple[str, ...] = ("a", "b")
    # One NAT gateway per AZ survives an AZ outage; a single one halves the fixed cost.
    nat_gateway_per_az: bool = True
    flow_logs: bool = True
    flow_log_retention_days: int = 90


@dataclass(frozen=True)
class ServiceConfig:
    """The Open WebUI ECS Fargate service."""

    cluster_name: str = "open-webui-cluster"
    service_name: str = "open-webui-service"
    cpu: int = 1024
    memory: int = 2048
    desired_count: int = 2
    min_count: int = 2
    max_count: int = 4
    use_fargate_spot: bool = False
    # Open WebUI imports its ML stack and loads the embedding model before /health answers;
    # measured cold starts are 60-120 s on 1 vCPU, so give the ALB health check 3x headroom.
    health_check_grace_period_seconds: int = 300
    log_group_name: str = "/ecs/open-webui"
    log_retention_days: int = 90
    image_repository_name: str = "ajuda-digital"
    image_tag: str = "v0.12.4"
    enable_execute_command: bool = False
    cpu_target_percent: int = 60
    requests_per_target: int = 1000
    # The image's content digest ("sha256:<64 hex>"): when set, the task pulls repository@digest,
    # so what runs is exactly the reviewed image even if a tag were ever re-pointed.
    image_digest: str | None = None
    # ECS rolling update: how far above desired_count a release may run (the capacity arithmetic's surge).
    deployment_maximum_percent: int = 200
    # Upper bound of one model call, streamed answer included (Open WebUI's AIOHTTP_CLIENT_TIMEOUT,
    # unbounded when unset). The target group's deregistration delay and the container's
    # stopTimeout are sized from it so a deploy or scale-in never cuts an answer (README).
    longest_answer_seconds: int = 105

    @property
    def drain_seconds(self) -> int:
        """Deregistration delay and stopTimeout: the longest answer plus the shutdown margin."""
        return self.longest_answer_seconds + catalog.SHUTDOWN_MARGIN_SECONDS


@dataclass(frozen=True)
class DatabaseConfig:
    """RDS PostgreSQL: the application database and the pgvector store in one."""

    # Major version only: RDS applies minor upgrades itself (auto_minor_version_upgrade), and the
    # provider then keeps "16" against the actual 16.x instead of planning a downgrade.
    engine_version: str = "16"
    instance_class: str = "db.r7g.large"
    multi_az: bool = True
    allocated_storage_gb: int = 200
    max_allocated_storage_gb: int = 500
    iops: int = 3000
    database_name: str = "openwebui"
    master_username: str = "ajuda_admin"
    app_username: str = "openwebui_app"
    backup_retention_days: int = 14
    deletion_protection: bool = True
    final_snapshot: bool = True
    performance_insights: bool = True
    monitoring_interval_seconds: int = 60
    # Open WebUI's SQLAlchemy pool per task (DATABASE_POOL_SIZE / DATABASE_POOL_MAX_OVERFLOW).
    pool_size: int = 10
    pool_max_overflow: int = 10
    # The pgvector client's own pool (PGVECTOR_POOL_SIZE / PGVECTOR_POOL_MAX_OVERFLOW).
    vector_pool_size: int = 3
    vector_pool_max_overflow: int = 2


@dataclass(frozen=True)
class StorageConfig:
    """S3 bucket for uploaded documents and files."""

    documents_bucket_name: str
    force_destroy: bool = False
    noncurrent_version_expiration_days: int = 90
    # How long the log archive keeps load balancer and S3 server access logs (S3 lifecycle expiration).
    log_archive_retention_days: int = 90


@dataclass(frozen=True)
class CacheConfig:
    """ElastiCache (Valkey) for Open WebUI's websocket manager and shared app state."""

    node_type: str = "cache.t4g.small"
    # <major>.<minor>, the only form the provider accepts for Valkey. Minor upgrades are made here,
    # reviewed, because an upgrade behind Terraform's back would plan a downgrade (a replacement).
    engine_version: str = "8.0"
    num_cache_clusters: int = 2


@dataclass(frozen=True)
class AuthConfig:
    """Google OAuth plus email/password login."""

    google_oauth: bool = True
    google_client_id: str | None = None
    email_signup: bool = False
    default_user_role: str = "pending"
    # The operator's account, created by Open WebUI at start-up while no user exists (its password
    # is generated in Secrets Manager): without it the first person to sign up becomes the admin.
    admin_email: str | None = None
    # Google accounts allowed to sign in, by e-mail domain. Empty means nobody is allowed unless
    # oauth_any_domain says explicitly that any Google account may sign up (then only as pending).
    oauth_allowed_domains: tuple[str, ...] = ()
    oauth_any_domain: bool = False
    # Functions, Tools and tool servers: Python an admin uploads runs inside the task, with the
    # task role (README: What an admin can run). Off unless an environment needs them.
    admin_plugins: bool = False


@dataclass(frozen=True)
class DomainConfig:
    """Public name of the site; without one the ALB serves plain HTTP on its own DNS name."""

    name: str | None = None
    # Route 53 zone in which the ACM DNS-validation records are created.
    hosted_zone_id: str | None = None


@dataclass(frozen=True)
class DeployAccessConfig:
    """Who may change an account through Terraform: GitHub Actions via OIDC, and a break-glass role.

    Synthesized as the ``ci-access`` stack (modules/github_oidc.py); the state bucket admits only
    these roles. GitHub environment of an application environment: ``github_environment_prefix``
    + its name (ajuda-prod); its apply role: ``apply_role_prefix`` + its name.
    """

    github_repository: str  # "<owner>/<name>"
    environments: tuple[str, ...] = ("dev", "staging", "prod")
    plan_role_name: str = "ajuda-github-plan"
    apply_role_prefix: str = "ajuda-github-apply-"
    # Assumed by a person, with MFA, for the bootstrap and ci-access stacks and for emergencies.
    break_glass_role_name: str = "ajuda-break-glass"
    github_environment_prefix: str = "ajuda-"
    # Where the pipeline keeps saved plans between plan and approved apply, in the state bucket.
    plans_prefix: str = "plans"

    def apply_role_name(self, environment: str) -> str:
        return f"{self.apply_role_prefix}{environment}"

    def github_environment(self, environment: str) -> str:
        return f"{self.github_environment_prefix}{environment}"

    @property
    def role_names(self) -> tuple[str, ...]:
        """Every role that may use the state bucket."""
        return (self.plan_role_name, *(self.apply_role_name(e) for e in self.environments), self.break_glass_role_name)


@dataclass(frozen=True)
class StateBackendConfig:
    """Where Terraform keeps state (S3) and takes its lock (DynamoDB)."""

    bucket: str
    lock_table: str
    region: str = "us-east-1"
    key_prefix: str = "ajuda-digital"
    # Let destroy empty the bucket of old state versions (disposable emulator accounts only).
    force_destroy: bool = False
    # The deploy roles; when set, the state bucket refuses every other principal.
    access: DeployAccessConfig | None = None
    # Terraform refuses any plan that would destroy the state bucket or lock table.
    prevent_destroy: bool = False
    # Renaming an environment moves its state keys (EnvironmentConfig.state_key_name); only with
    # this set, after copying the state objects to the new keys (README "Renaming an environment").
    allow_key_change: bool = False


@dataclass(frozen=True)
class EmulatorConfig:
    """Points every AWS API call (provider and backend) at a local emulator.

    Each flag switches off one resource the emulator cannot create; nothing else changes.
    """

    endpoint: str
    waf: bool = False  # moto's WAFv2 lacks AWS managed rule groups
    certificate: bool = False  # no DNS to validate an ACM certificate against
    cache: bool = False  # moto cannot describe a replication group's member clusters
    # moto applies a bucket policy's Deny without evaluating its condition, so the TLS-only
    # statement would refuse every request, TLS or not.
    tls_only_bucket_policy: bool = False
    # The same gap: the state bucket's deny-all-but-the-deploy-roles statement would refuse everyone.
    state_bucket_principals: bool = False
    # moto's AWS Backup has vaults, plans and vault locks but no CreateBackupSelection.
    backup_selection: bool = False


@dataclass(frozen=True)
class OperationsConfig:
    """Alarms, their notification target, and edge protection."""

    alarm_email: str | None = None
    waf: bool = True
    waf_rate_limit_per_5_minutes: int = 2000
    waf_log_retention_days: int = 90
    # Load balancer deletion protection (the database has its own switch).
    deletion_protection: bool = True
    # Terraform refuses any plan that would destroy or replace the database, the documents bucket
    # or the KMS key (lifecycle.prevent_destroy): a renamed database or bucket fails the plan.
    prevent_destroy: bool = False


@dataclass(frozen=True)
class VaultLockConfig:
    """AWS Backup Vault Lock in compliance mode: after ``changeable_for_days`` nobody can lift it."""

    min_retention_days: int
    max_retention_days: int
    changeable_for_days: int = 3


@dataclass(frozen=True)
class BackupConfig:
    """AWS Backup for the database and the documents bucket: one vault, a daily and a monthly rule.

    Schedules are UTC; they must stay clear of the RDS backup and maintenance windows
    (``modules/database.py``), which AWS Backup will not start a database job in or an hour before.
    """

    enabled: bool = True
    daily_retention_days: int = 35
    monthly_retention_days: int = 365
    daily_schedule: str = "cron(0 13 * * ? *)"  # 22:00 in Dili, 4 h before the RDS backup window
    monthly_schedule: str = "cron(0 13 1 * ? *)"
    start_window_minutes: int = 60
    completion_window_minutes: int = 360
    lock: VaultLockConfig | None = None
    # Region of a second vault every recovery point is copied to; None = no copy.
    copy_region: str | None = None
    # Let destroy delete the recovery points (disposable environments only).
    force_destroy: bool = False


@dataclass(frozen=True)
class ChatModel:
    """One model users can pick: a Bedrock model or inference profile id and the name users see.

    The name is also the model's id on the gateway and in Open WebUI (DEFAULT_MODELS is a
    comma-separated list of them), so it is short, unique and free of commas.
    """

    id: str
    name: str


@dataclass(frozen=True)
class ModelsConfig:
    """What the model gateway (LiteLLM on ECS) offers, and what it may call on Amazon Bedrock."""

    chat_models: tuple[ChatModel, ...] = (
        ChatModel(id="us.amazon.nova-lite-v1:0", name="Nova Lite"),
        ChatModel(id="us.amazon.nova-pro-v1:0", name="Nova Pro"),
        ChatModel(id="us.anthropic.claude-3-5-haiku-20241022-v1:0", name="Claude 3.5 Haiku"),
    )
    default_model: str = "Nova Lite"  # a chat model's name
    embedding_model: str = "amazon.titan-embed-text-v2:0"
    embedding_dimension: int = 1024  # Titan Text Embeddings V2: 1024, 512 or 256
    # Bedrock is regional and not in every Region; it may differ from the stack's region.
    bedrock_region: str = "us-east-1"
    # Requests per minute each model accepts across the gateway (LiteLLM deployment "rpm"); 0 = no cap.
    # Per-USER limits are not offered: LiteLLM keeps them on virtual keys/end users in its database.
    requests_per_minute: int = 0


@dataclass(frozen=True)
class GatewayConfig:
    """The model gateway's ECS service: in the app subnets, behind an internal load balancer."""

    cpu: int = 512
    memory: int = 1024
    desired_count: int = 2
    port: int = 4000
    log_group_name: str = "/ecs/model-gateway"
    image_repository_name: str = "ajuda-model-gateway"
    image_tag: str = "litellm-1.108.7"


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    region: str
    network: NetworkConfig
    service: ServiceConfig
    database: DatabaseConfig
    storage: StorageConfig
    cache: CacheConfig
    auth: AuthConfig
    domain: DomainConfig
    state: StateBackendConfig
    operations: OperationsConfig = field(default_factory=OperationsConfig)
    emulator: EmulatorConfig | None = None
    # Environments whose database stack (postgresql provider) is synthesized.
    database_stack: bool = True
    backup: BackupConfig = field(default_factory=BackupConfig)
    # The name the environment's Terraform state keys were created under ("<key_prefix>/ajuda-<name>...").
    # A different `name` would start from empty state beside the old resources, so it is refused
    # unless state.allow_key_change says the move is intended.
    state_key_name: str | None = None
    models: ModelsConfig = field(default_factory=ModelsConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)

    @property
    def stack_name(self) -> str:
        return naming.stack_name(self.name)

    @property
    def names(self) -> ResourceNames:
        return ResourceNames.of(self.name)

    @property
    def partition(self) -> str:
        """The ARN partition of the region ("aws", "aws-cn", "aws-us-gov")."""
        return catalog.partition(self.region)

    @property
    def https(self) -> bool:
        return self.domain.name is not None and (self.emulator is None or self.emulator.certificate)

    @property
    def tls_only_bucket_policy(self) -> bool:
        return self.emulator is None or self.emulator.tls_only_bucket_policy

    @property
    def state_bucket_admits_deploy_roles_only(self) -> bool:
        return self.state.access is not None and (self.emulator is None or self.emulator.state_bucket_principals)

    @property
    def cache_enabled(self) -> bool:
        return self.emulator is None or self.emulator.cache

    @property
    def backup_selection_enabled(self) -> bool:
        return self.backup.enabled and (self.emulator is None or self.emulator.backup_selection)

    @property
    def waf_enabled(self) -> bool:
        return self.operations.waf and (self.emulator is None or self.emulator.waf)


# --- validation -------------------------------------------------------------------------------

_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PG_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# Docker's tag grammar; the `image_tag` Terraform variable's validation is generated from these two.
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
# Tags that move between builds, compared case-insensitively ("Latest" floats as much as "latest").
FLOATING_IMAGE_TAGS = ("latest", "main", "master", "dev", "nightly", "stable", "edge")
_AZ_SUFFIX = re.compile(r"^[a-z]$")
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html (and CreateService)
_ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
_LOG_GROUP = re.compile(r"^/[A-Za-z0-9._/#-]{1,511}$")
_STATE_KEY_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
# https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/engine-versions.html; the provider
# (hashicorp/aws 5.100.0, aws_elasticache_replication_group.engine_version) accepts <major>.<minor>.
_VALKEY_VERSION = re.compile(r"^[7-9]\.\d+$")
# Terraform and most AWS APIs take 32-bit integers.
_MAX_INT = 2**31 - 1
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GOOGLE_CLIENT_ID = re.compile(r"^[0-9]+-[a-z0-9]+\.apps\.googleusercontent\.com$")
_LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, ok: bool, setting: str, message: str) -> bool:
        if not ok:
            self.messages.append(f"{setting}: {message}")
        return ok


def _network(cidr: str, setting: str, errors: _Errors) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except (ValueError, TypeError) as exc:
        errors.check(False, setting, f"{cidr!r} is not a valid CIDR block ({exc})")
        return None
    if not errors.check(isinstance(net, ipaddress.IPv4Network), setting, f"{cidr!r} must be IPv4"):
        return None
    return net  # type: ignore[return-value]


def image_tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not an immutable release tag, or None. The one rule for configuration and Terraform."""
    if re.fullmatch(IMAGE_TAG_PATTERN, tag) is None:
        return "must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    if tag.lower() in FLOATING_IMAGE_TAGS:
        return f"is a floating tag ({', '.join(FLOATING_IMAGE_TAGS)}, any case); use an immutable release tag"
    return None


def _validate_network(p: str, n: NetworkConfig, errors: _Errors) -> None:
    vpc = _network(n.vpc_cidr, f"{p}.vpc_cidr", errors)
    if vpc is not None:
        errors.check(16 <= vpc.prefixlen <= 24, f"{p}.vpc_cidr", f"{n.vpc_cidr} must be between /16 and /24 (AWS VPC limits)")
    zones = len(n.availability_zone_suffixes)
    errors.check(zones == 2, f"{p}.availability_zone_suffixes", f"exactly two availability zones are required, got {zones}")
    errors.check(len(set(n.availability_zone_suffixes)) == zones, f"{p}.availability_zone_suffixes", "zones must differ")
    for i, suffix in enumerate(n.availability_zone_suffixes):
        errors.check(_AZ_SUFFIX.fullmatch(suffix) is not None, f"{p}.availability_zone_suffixes[{i}]",
                     f"{suffix!r} is not an availability zone letter (the 'a' of us-east-1a)")
    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for tier in ("public_subnet_cidrs", "app_subnet_cidrs", "database_subnet_cidrs"):
        cidrs = getattr(n, tier)
        errors.check(len(cidrs) == zones, f"{p}.{tier}", f"needs one subnet per availability zone ({zones}), got {len(cidrs)}")
        for i, cidr in enumerate(cidrs):
            setting = f"{p}.{tier}[{i}]"
            net = _network(cidr, setting, errors)
            if net is None:
                continue
            if vpc is not None and not net.subnet_of(vpc):
                errors.check(False, setting, f"{cidr} does not fit inside the VPC {n.vpc_cidr}")
            errors.check(net.prefixlen <= 28, setting, f"{cidr} is smaller than /28, the smallest subnet AWS allows")
            for other_setting, other in subnets:
                errors.check(not net.overlaps(other), setting, f"{cidr} overlaps {other_setting} ({other})")
            subnets.append((setting, net))
    errors.check(n.flow_log_retention_days in _LOG_RETENTION_DAYS, f"{p}.flow_log_retention_days",
                 f"{n.flow_log_retention_days} is not a CloudWatch Logs retention value")


def _validate_fargate_size(p: str, cpu: int, memory: int, errors: _Errors) -> None:
    allowed = catalog.FARGATE_MEMORY_BY_CPU.get(cpu)
    if allowed is None:
        errors.check(False, f"{p}.cpu", f"{cpu} is not a Fargate CPU size (one of {sorted(catalog.FARGATE_MEMORY_BY_CPU)})")
    else:
        errors.check(memory in allowed, f"{p}.memory",
                     f"{memory} MiB is not accepted by Fargate with cpu={cpu} (allowed: {allowed[0]}..{allowed[-1]} in steps of {allowed[1] - allowed[0]})")


def _validate_image(p: str, repository_name: str, tag: str, errors: _Errors) -> None:
    errors.check(re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", repository_name) is not None,
                 f"{p}.image_repository_name", f"{repository_name!r} is not a valid ECR repository name")
    tag_problem = image_tag_problem(tag)
    errors.check(tag_problem is None, f"{p}.image_tag", f"{tag!r} {tag_problem}")


def _validate_service(p: str, s: ServiceConfig, errors: _Errors) -> None:
    _validate_fargate_size(p, s.cpu, s.memory, errors)
    errors.check(s.desired_count >= 1, f"{p}.desired_count", f"must be at least 1, got {s.desired_count}")
    errors.check(1 <= s.min_count <= s.desired_count <= s.max_count, f"{p}.min_count",
                 f"need 1 <= min_count ({s.min_count}) <= desired_count ({s.desired_count}) <= max_count ({s.max_count})")
    errors.check(0 <= s.health_check_grace_period_seconds <= 2_147_483_647, f"{p}.health_check_grace_period_seconds", "out of range")
    for name in ("cluster_name", "service_name"):
        errors.check(_ECS_NAME.fullmatch(getattr(s, name)) is not None, f"{p}.{name}",
                     "must be 1-255 letters, digits, hyphens and underscores (ECS)")
    errors.check(_LOG_GROUP.fullmatch(s.log_group_name) is not None, f"{p}.log_group_name",
                 "must start with '/' and hold 2-512 of letters, digits and '._/#-' (CloudWatch Logs)")
    errors.check(s.log_retention_days in _LOG_RETENTION_DAYS, f"{p}.log_retention_days",
                 f"{s.log_retention_days} is not a CloudWatch Logs retention value")
    _validate_image(p, s.image_repository_name, s.image_tag, errors)
    errors.check(s.image_digest is None or _IMAGE_DIGEST.fullmatch(s.image_digest) is not None, f"{p}.image_digest",
                 f"{s.image_digest!r} must be an image digest: sha256: followed by 64 lower-case hex digits")
    errors.check(s.deployment_maximum_percent > 100, f"{p}.deployment_maximum_percent",
                 "must be above 100: with minimum healthy 100 % a rolling update needs room to start new tasks")
    errors.check(10 <= s.cpu_target_percent <= 90, f"{p}.cpu_target_percent", "must be between 10 and 90")
    errors.check(s.requests_per_target >= 1, f"{p}.requests_per_target", "must be positive")
    longest_allowed = catalog.FARGATE_MAX_STOP_TIMEOUT_SECONDS - catalog.SHUTDOWN_MARGIN_SECONDS
    errors.check(1 <= s.longest_answer_seconds <= longest_allowed, f"{p}.longest_answer_seconds",
                 f"{s.longest_answer_seconds} s: must be 1..{longest_allowed} s, so that a stopped task's "
                 f"stopTimeout (answer + {catalog.SHUTDOWN_MARGIN_SECONDS} s) stays within Fargate's "
                 f"{catalog.FARGATE_MAX_STOP_TIMEOUT_SECONDS} s (README: Deploys never cut an answer)")


def image_reference(repository_url: str, service: ServiceConfig) -> str:
    """What the task pulls: repository@digest when the digest is pinned, else repository:tag."""
    if service.image_digest:
        return f"{repository_url}@{service.image_digest}"
    return f"{repository_url}:{service.image_tag}"


def _validate_database(p: str, d: DatabaseConfig, errors: _Errors) -> None:
    errors.check(d.engine_version == "16", f"{p}.engine_version",
                 f"{d.engine_version!r}: give the major version only, '16' (parameter group family postgres16). RDS "
                 "upgrades minors itself, and a pinned minor makes every later plan a downgrade")
    errors.check(d.instance_class in catalog.RDS_INSTANCE_MEMORY_GIB, f"{p}.instance_class",
                 f"{d.instance_class!r} is not a known RDS instance class (known: {', '.join(sorted(catalog.RDS_INSTANCE_MEMORY_GIB))})")
    errors.check(20 <= d.allocated_storage_gb <= 65536, f"{p}.allocated_storage_gb", "gp3 storage must be 20..65536 GB")
    errors.check(d.allocated_storage_gb <= d.max_allocated_storage_gb <= 65536, f"{p}.max_allocated_storage_gb",
                 "must be at least allocated_storage_gb and at most 65536")
    # RDS PostgreSQL gp3 below 400 GB has a fixed 3,000 IOPS baseline and rejects an explicit value.
    if d.allocated_storage_gb < catalog.GP3_PROVISIONED_THRESHOLD_GB:
        errors.check(d.iops == catalog.GP3_BASELINE_IOPS, f"{p}.iops",
                     f"gp3 volumes under {catalog.GP3_PROVISIONED_THRESHOLD_GB} GB have a fixed {catalog.GP3_BASELINE_IOPS} IOPS; got {d.iops}")
    else:
        errors.check(12000 <= d.iops <= 64000, f"{p}.iops", "gp3 volumes of 400 GB and more take 12000..64000 IOPS")
    for name in ("database_name", "master_username", "app_username"):
        value = getattr(d, name)
        errors.check(_PG_IDENTIFIER.fullmatch(value) is not None, f"{p}.{name}",
                     f"{value!r} must be a lower-case PostgreSQL identifier")
    errors.check(d.master_username not in catalog.RDS_RESERVED_USERNAMES, f"{p}.master_username",
                 f"{d.master_username!r} is reserved by RDS")
    for name in ("master_username", "app_username"):
        # https://www.postgresql.org/docs/16/sql-createrole.html: the pg_ prefix is reserved for system roles.
        errors.check(not getattr(d, name).startswith("pg_"), f"{p}.{name}", "role names starting with 'pg_' are reserved by PostgreSQL")
    errors.check(d.app_username != d.master_username, f"{p}.app_username", "the app must not use the master role")
    errors.check(1 <= d.backup_retention_days <= 35, f"{p}.backup_retention_days", "must be 1..35 days")
    errors.check(d.monitoring_interval_seconds in (0, 1, 5, 10, 15, 30, 60), f"{p}.monitoring_interval_seconds",
                 "must be one of 0, 1, 5, 10, 15, 30, 60")
    errors.check(d.pool_size >= 1 and d.pool_max_overflow >= 0, f"{p}.pool_size", "pool_size >= 1 and pool_max_overflow >= 0")


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would reject ``name`` as a general purpose bucket name, or None."""
    if not _BUCKET.fullmatch(name or ""):
        return "must be 3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "must not look like an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        return "uses a prefix or suffix S3 reserves"
    return None


# The restore drill's copies: "<bucket, cut to fit>-drill-<yyyymmddhhmm>-<4 hex>" (63 characters at most).
RESTORED_BUCKET_TAG_LENGTH = len("drill-202611251400-abcd")


def restored_bucket_name(bucket: str, tag: str) -> str:
    return f"{bucket[:63 - RESTORED_BUCKET_TAG_LENGTH - 1]}-{tag}"


def restored_bucket_pattern(bucket: str) -> str:
    """An IAM resource pattern matching every restored copy of ``bucket`` and never ``bucket`` itself."""
    return f"{bucket[:63 - RESTORED_BUCKET_TAG_LENGTH - 1]}*-drill-*"


def _validate_bucket(setting: str, name: str, errors: _Errors) -> None:
    problem = bucket_name_problem(name)
    errors.check(problem is None, setting, f"{name!r} {problem}")


def global_bucket_names(env: EnvironmentConfig) -> list[str]:
    """The S3 bucket names an environment's application stack creates (names are global across AWS)."""
    return [env.storage.documents_bucket_name, f"{env.storage.documents_bucket_name}-logs"]


def _validate_auth(p: str, env: EnvironmentConfig, errors: _Errors) -> None:
    a = env.auth
    if a.google_oauth:
        if errors.check(bool(a.google_client_id), f"{p}.google_client_id", "is required when google_oauth is on"):
            errors.check(_GOOGLE_CLIENT_ID.fullmatch(a.google_client_id or "") is not None, f"{p}.google_client_id",
                         f"{a.google_client_id!r} does not look like a Google OAuth client id (NNN-xxx.apps.googleusercontent.com)")
        # Google refuses plain-HTTP redirect URIs for anything but localhost.
        errors.check(env.https, f"{p}.google_oauth",
                     "needs HTTPS: set domain.name (and domain.hosted_zone_id) or turn google_oauth off")
    errors.check(a.default_user_role in ("pending", "user"), f"{p}.default_user_role", "must be 'pending' or 'user'")
    errors.check(a.admin_email is not None and _EMAIL.fullmatch(a.admin_email) is not None, f"{p}.admin_email",
                 f"{a.admin_email!r} must be the operator's e-mail address: without it the first sign-up becomes the admin")
    for i, domain in enumerate(a.oauth_allowed_domains):
        errors.check(_DOMAIN.fullmatch(domain) is not None, f"{p}.oauth_allowed_domains[{i}]", f"{domain!r} is not a DNS name")
    if a.google_oauth:
        errors.check(bool(a.oauth_allowed_domains) != a.oauth_any_domain, f"{p}.oauth_allowed_domains",
                     "name the Google domains that may sign in, or set oauth_any_domain (not both)")
        errors.check(not a.oauth_any_domain or a.default_user_role == "pending", f"{p}.oauth_any_domain",
                     "any Google account may sign up only as 'pending' (default_user_role), for an admin to approve")


_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9_.-]{1,100}$")
_IAM_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


def _known_region(setting: str, region: str, errors: _Errors) -> bool:
    """True when ``region`` is in the region catalog; otherwise records why, naming ``setting``."""
    return errors.check(region in catalog.PARTITION_BY_REGION, setting,
                        f"{region!r} is not an AWS Region (known: config/catalog.py PARTITION_BY_REGION)")


def _validate_deploy_access(p: str, a: DeployAccessConfig, errors: _Errors) -> None:
    errors.check(_GITHUB_REPOSITORY.fullmatch(a.github_repository) is not None, f"{p}.github_repository",
                 f"{a.github_repository!r} must be <owner>/<repository>")
    errors.check(bool(a.environments) and all(_ENV_NAME.fullmatch(e) for e in a.environments), f"{p}.environments",
                 f"{a.environments!r} must name at least one environment")
    for name in a.role_names:
        # IAM role names: 1-64 characters of letters, digits and +=,.@_- (IAM User Guide, IAM quotas).
        errors.check(_IAM_ROLE_NAME.fullmatch(name) is not None, f"{p}.role_names",
                     f"{name!r} is not an IAM role name (1-64 of letters, digits, +=,.@_-)")
    errors.check(len(set(a.role_names)) == len(a.role_names), f"{p}.role_names", "every role needs its own name")


_GATEWAY_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")


def _validate_bedrock_model(setting: str, model_id: str, kind: str, region: str, errors: _Errors) -> None:
    """Known id of the right kind (config/catalog.py), invokable from ``region``: only then do the
    task role's ARNs (catalog.bedrock_resource_arns) name a model that exists there."""
    found = catalog.bedrock_model_kind(model_id)
    if not errors.check(found is not None, setting,
                        f"{model_id!r} is not a known Bedrock model or inference profile id (config/catalog.py)"):
        return
    if not errors.check(found == kind, setting, f"{model_id!r} is a {found} model, expected a {kind} model"):
        return
    regions = catalog.bedrock_regions_for(model_id)
    errors.check(region in regions, setting,
                 f"{model_id!r} cannot be invoked from bedrock_region {region!r}, so the gateway's allowed ARNs "
                 f"would not cover it (invokable from: {', '.join(sorted(regions)) or 'no Region on demand; use an inference profile'})")


def _validate_models(p: str, m: ModelsConfig, errors: _Errors) -> None:
    if not _known_region(f"{p}.bedrock_region", m.bedrock_region, errors):
        return
    errors.check(len(m.chat_models) >= 1, f"{p}.chat_models", "needs at least one chat model")
    names: list[str] = []
    for i, model in enumerate(m.chat_models):
        setting = f"{p}.chat_models[{i}]"
        if not errors.check(isinstance(model, ChatModel), setting, f"expected a ChatModel, got {model!r}"):
            continue
        _validate_bedrock_model(f"{setting}.id", model.id, catalog.BEDROCK_CHAT, m.bedrock_region, errors)
        errors.check(_GATEWAY_MODEL_NAME.fullmatch(model.name) is not None, f"{setting}.name",
                     f"{model.name!r} must be 1-63 letters, digits, spaces, '.', '_' or '-' (it is the model's id "
                     "in Open WebUI, and DEFAULT_MODELS separates ids with commas)")
        errors.check(model.name not in names, f"{setting}.name", f"{model.name!r} is used twice")
        names.append(model.name)
    errors.check(m.default_model in names, f"{p}.default_model",
                 f"{m.default_model!r} is not the name of a configured chat model ({', '.join(names)})")
    _validate_bedrock_model(f"{p}.embedding_model", m.embedding_model, catalog.BEDROCK_EMBEDDING, m.bedrock_region, errors)
    embedding = catalog.BEDROCK_FOUNDATION_MODELS.get(m.embedding_model)
    if embedding is not None and embedding.kind == catalog.BEDROCK_EMBEDDING:
        errors.check(m.embedding_dimension in embedding.dimensions, f"{p}.embedding_dimension",
                     f"{m.embedding_model} produces {', '.join(map(str, embedding.dimensions))} dimensions, "
                     f"not {m.embedding_dimension}")
    errors.check(m.requests_per_minute >= 0, f"{p}.requests_per_minute", "must be 0 (no cap) or positive")


def _validate_gateway(p: str, g: GatewayConfig, errors: _Errors) -> None:
    _validate_fargate_size(p, g.cpu, g.memory, errors)
    errors.check(g.desired_count >= 1, f"{p}.desired_count", f"must be at least 1, got {g.desired_count}")
    errors.check(1024 <= g.port <= 65535, f"{p}.port", f"{g.port} must be an unprivileged TCP port (1024-65535)")
    errors.check(g.log_group_name.startswith("/"), f"{p}.log_group_name", "must start with '/'")
    _validate_image(p, g.image_repository_name, g.image_tag, errors)


def _validate_environment(env: EnvironmentConfig, p: str) -> list[str]:
    """``p``: the environment's key in environments.py, which names its settings even when renamed."""
    errors = _Errors()
    errors.check(_ENV_NAME.fullmatch(env.name) is not None, f"{p}.name", "must be a short lower-case name")
    region_known = _known_region(f"{p}.region", env.region, errors)
    if _known_region(f"{p}.state.region", env.state.region, errors) and region_known:
        errors.check(catalog.partition(env.state.region) == env.partition, f"{p}.state.region",
                     f"{env.state.region!r} is in partition {catalog.partition(env.state.region)}, the environment's "
                     f"region {env.region!r} in {env.partition}: one set of credentials cannot reach both")
    _validate_network(f"{p}.network", env.network, errors)
    _validate_service(f"{p}.service", env.service, errors)
    _validate_database(f"{p}.database", env.database, errors)
    for bucket in global_bucket_names(env):
        _validate_bucket(f"{p}.storage.documents_bucket_name", bucket, errors)
    errors.check(env.storage.noncurrent_version_expiration_days >= 1, f"{p}.storage.noncurrent_version_expiration_days",
                 "must be at least 1 day (S3 lifecycle)")
    errors.check(env.storage.log_archive_retention_days >= 1, f"{p}.storage.log_archive_retention_days",
                 "must be at least 1 day (S3 lifecycle)")
    peak_problem = capacity.problem(env.database, env.service)
    errors.check(peak_problem is None, f"{p}.database.pool_size", str(peak_problem))
    errors.check(_VALKEY_VERSION.fullmatch(env.cache.engine_version) is not None, f"{p}.cache.engine_version",
                 f"{env.cache.engine_version!r} must be a Valkey <major>.<minor> version such as '8.0'")
    errors.check(env.cache.node_type in catalog.ELASTICACHE_NODE_TYPES, f"{p}.cache.node_type",
                 f"{env.cache.node_type!r} is not a known ElastiCache node type")
    errors.check(1 <= env.cache.num_cache_clusters <= 6, f"{p}.cache.num_cache_clusters", "must be 1..6")
    _validate_auth(f"{p}.auth", env, errors)
    _validate_models(f"{p}.models", env.models, errors)
    _validate_gateway(f"{p}.gateway", env.gateway, errors)
    if env.domain.name is not None:
        errors.check(_DOMAIN.fullmatch(env.domain.name) is not None, f"{p}.domain.name", f"{env.domain.name!r} is not a DNS name")
        errors.check(env.emulator is not None or bool(env.domain.hosted_zone_id), f"{p}.domain.hosted_zone_id",
                     "is required with domain.name (the ACM certificate is validated through Route 53)")
    if env.domain.hosted_zone_id is not None:
        errors.check(_HOSTED_ZONE_ID.fullmatch(env.domain.hosted_zone_id) is not None, f"{p}.domain.hosted_zone_id",
                     f"{env.domain.hosted_zone_id!r} is not a Route 53 hosted zone id (Z...)")
    _validate_bucket(f"{p}.state.bucket", env.state.bucket, errors)
    errors.check(re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", env.state.lock_table) is not None, f"{p}.state.lock_table",
                 f"{env.state.lock_table!r} is not a DynamoDB table name")
    if env.state.access is not None:
        _validate_deploy_access(f"{p}.state.access", env.state.access, errors)
    errors.check(_STATE_KEY_PREFIX.fullmatch(env.state.key_prefix) is not None, f"{p}.state.key_prefix",
                 f"{env.state.key_prefix!r} must be path segments of letters, digits and '_.-' separated by single '/'")
    if errors.check(bool(env.state_key_name), f"{p}.state_key_name",
                    f"record the name the state keys are created under: {env.name!r} for a new environment"):
        errors.check(env.state_key_name == env.name or env.state.allow_key_change, f"{p}.name",
                     f"renaming environment {env.state_key_name!r} to {env.name!r} moves its state keys, so Terraform "
                     "would plan every resource anew beside the old ones. Keep the name, or move the state objects "
                     "and set state.allow_key_change")
    ops = env.operations
    errors.check(ops.alarm_email is None or _EMAIL.fullmatch(ops.alarm_email) is not None, f"{p}.operations.alarm_email",
                 f"{ops.alarm_email!r} is not an e-mail address")
    errors.check(100 <= ops.waf_rate_limit_per_5_minutes <= 2_000_000_000, f"{p}.operations.waf_rate_limit_per_5_minutes",
                 "WAF rate limits must be at least 100")
    errors.check(ops.waf_log_retention_days in _LOG_RETENTION_DAYS, f"{p}.operations.waf_log_retention_days",
                 f"{ops.waf_log_retention_days} is not a CloudWatch Logs retention value")
    _validate_backup(f"{p}.backup", env, errors)
    if env.emulator is not None:
        errors.check(re.fullmatch(r"https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+", env.emulator.endpoint) is not None,
                     f"{p}.emulator.endpoint", f"{env.emulator.endpoint!r} must be a loopback http(s)://host:port")
    return errors.messages


# AWS Backup limits: "Backup Vault Lock" (https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html)
# and PutBackupVaultLockConfiguration (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html).
BACKUP_LOCK_MIN_CHANGEABLE_DAYS = 3  # the 72-hour cooling-off period
BACKUP_LOCK_MAX_RETENTION_DAYS = 36500
BACKUP_MIN_START_WINDOW_MINUTES = 60
_BACKUP_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")


def _validate_backup(p: str, env: EnvironmentConfig, errors: _Errors) -> None:
    b = env.backup
    if not b.enabled:
        return
    rules = {"daily_retention_days": b.daily_retention_days, "monthly_retention_days": b.monthly_retention_days}
    for name, days in rules.items():
        errors.check(days >= 1, f"{p}.{name}", f"must be at least 1 day, got {days}")
    for name in ("daily_schedule", "monthly_schedule"):
        value = getattr(b, name)
        errors.check(_BACKUP_CRON.fullmatch(value) is not None, f"{p}.{name}",
                     f"{value!r} is not an AWS Backup cron expression (cron(min hour dom month dow year))")
    errors.check(b.start_window_minutes >= BACKUP_MIN_START_WINDOW_MINUTES, f"{p}.start_window_minutes",
                 f"AWS Backup needs at least {BACKUP_MIN_START_WINDOW_MINUTES} minutes, got {b.start_window_minutes}")
    errors.check(b.completion_window_minutes > b.start_window_minutes, f"{p}.completion_window_minutes",
                 "must be longer than start_window_minutes")
    if b.copy_region is not None:
        if _known_region(f"{p}.copy_region", b.copy_region, errors):
            errors.check(catalog.partition(b.copy_region) == env.partition, f"{p}.copy_region",
                         f"{b.copy_region!r} is in another partition than the environment's region {env.region!r}")
        errors.check(b.copy_region != env.region, f"{p}.copy_region", "must differ from the environment's region")
    lock = b.lock
    if lock is None:
        return
    errors.check(lock.min_retention_days >= 1, f"{p}.lock.min_retention_days", "the shortest minimum retention AWS accepts is 1 day")
    errors.check(lock.max_retention_days <= BACKUP_LOCK_MAX_RETENTION_DAYS, f"{p}.lock.max_retention_days",
                 f"AWS accepts at most {BACKUP_LOCK_MAX_RETENTION_DAYS} days")
    errors.check(lock.min_retention_days <= lock.max_retention_days, f"{p}.lock.max_retention_days",
                 "must be at least min_retention_days")
    errors.check(lock.changeable_for_days >= BACKUP_LOCK_MIN_CHANGEABLE_DAYS, f"{p}.lock.changeable_for_days",
                 f"AWS enforces a 72-hour cooling-off period: at least {BACKUP_LOCK_MIN_CHANGEABLE_DAYS} days (compliance mode)")
    # A locked vault fails every backup or copy job whose retention lies outside [min, max].
    for name, days in rules.items():
        errors.check(lock.min_retention_days <= days <= lock.max_retention_days, f"{p}.{name}",
                     f"{days} days is outside the vault lock's {lock.min_retention_days}..{lock.max_retention_days}: "
                     "the locked vault would fail every such job")
    errors.check(not b.force_destroy, f"{p}.force_destroy", "a locked vault's recovery points cannot be deleted")
def _check_value(value: object, hint: object, setting: str, errors: list[str]) -> None:
    """Check one value against its annotation: Optional, tuple elements and nested settings included."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return
        (hint,) = [option for option in options if option is not type(None)]
        origin = typing.get_origin(hint)
    if is_dataclass(hint):
        if isinstance(value, hint):  # type: ignore[arg-type]
            _check_types(value, setting, errors)
        else:
            errors.append(f"{setting}: expected an object of settings, got {value!r}")
    elif origin is tuple:
        if not isinstance(value, tuple):
            errors.append(f"{setting}: expected a list, got {value!r}")
            return
        (element, _) = typing.get_args(hint)
        for i, item in enumerate(value):
            _check_value(item, element, f"{setting}[{i}]", errors)
    elif hint is bool:
        if not isinstance(value, bool):
            errors.append(f"{setting}: expected true/false, got {value!r}")
    elif hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{setting}: expected a whole number, got {value!r}")
        elif not 0 <= value <= _MAX_INT:
            errors.append(f"{setting}: {value} is out of range (0..{_MAX_INT})")
    elif hint is str:
        if not isinstance(value, str):
            errors.append(f"{setting}: expected text, got {value!r}")
        elif not (value and value.isascii() and value.isprintable()):
            errors.append(f"{setting}: {value!r} must be non-empty printable ASCII text")
    else:  # a new annotation this checker does not know yet must not pass unchecked
        errors.append(f"{setting}: no type check for {hint!r} (config/model.py _check_value)")


def _check_types(obj: object, path: str, errors: list[str]) -> None:
    """Reject values of the wrong type (e.g. a string where a count belongs) with the setting's name."""
    hints = typing.get_type_hints(type(obj))
    for f in fields(obj):  # type: ignore[arg-type]
        _check_value(getattr(obj, f.name), hints[f.name], f"{path}.{f.name}", errors)


def _backend_identity(state: StateBackendConfig) -> tuple[str, str, bool, bool]:
    return state.lock_table, state.region, state.force_destroy, state.prevent_destroy


def _validate_together(envs: dict[str, EnvironmentConfig]) -> list[str]:
    """Rules across environments: unique names, and globally unique S3 bucket names."""
    errors = _Errors()
    # A renamed environment is the one in the wrong when its new name is taken.
    names = {env.name: key for key, env in envs.items() if env.name == key}
    buckets: dict[str, list[str]] = {}
    backends: dict[str, StateBackendConfig] = {}
    for key, env in envs.items():
        owner = names.setdefault(env.name, key)
        errors.check(owner == key, f"{key}.name", f"{env.name!r} is already the name of environment {owner!r}")
        for bucket in global_bucket_names(env):
            buckets.setdefault(bucket, []).append(f"{key}.storage.documents_bucket_name")
    for bucket, settings in buckets.items():
        for setting in settings:
            others = [other for other in settings if other != setting]
            errors.check(not others, setting, f"bucket {bucket!r} is also {', '.join(others)}'s: S3 bucket names are global")
    for key, env in envs.items():
        state = env.state
        owners = buckets.get(state.bucket)
        errors.check(owners is None, f"{key}.state.bucket", f"bucket {state.bucket!r} is already {', '.join(owners or [])}'s")
        # Environments may share one state backend (one bootstrap), but then all of it.
        shared = backends.setdefault(state.bucket, state)
        errors.check(_backend_identity(shared) == _backend_identity(state), f"{key}.state.bucket",
                     f"bucket {state.bucket!r} is another environment's state bucket with different lock_table, "
                     "region, force_destroy or prevent_destroy")
    return errors.messages


def validate_environments(envs: dict[str, EnvironmentConfig], wanted: list[str]) -> list[EnvironmentConfig]:
    """The ``wanted`` environments (keys of ``envs``), validated on their own and against all the others.

    Raises one ConfigError listing every problem; type errors first, since the other rules read the values.
    """
    type_errors: list[str] = []
    for key, env in envs.items():
        _check_types(env, key, type_errors)
    messages = type_errors or _validate_together(envs)
    if not type_errors:
        for key in wanted:
            messages += _validate_environment(envs[key], key)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return [envs[key] for key in wanted]


def validate(env: EnvironmentConfig) -> EnvironmentConfig:
    """Return ``env`` unchanged or raise one ConfigError listing every problem found."""
    name = env.name if isinstance(env.name, str) else "environment"
    return validate_environments({name: env}, [name])[0]
